"""Every example in the classic modules' docstrings runs."""

import doctest
import importlib

import pytest

MODULES = [
    "wengert.classic",
    "wengert.classic.tlu",
    "wengert.classic.separability",
    "wengert.classic.perceptron",
    "wengert.classic.backprop",
    "wengert.classic.data",
    "wengert.classic.plot",
    "wengert.classic.cli",
]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.failed == 0
