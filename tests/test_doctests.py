"""Every public docstring's example runs and prints what it says."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import wengert

MODULES = sorted(m.name for m in pkgutil.walk_packages(wengert.__path__, prefix="wengert.")) + [
    "wengert"
]


@pytest.mark.parametrize("name", MODULES)
def test_module_doctests(name):
    module = importlib.import_module(name)
    result = doctest.testmod(
        module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False
    )
    assert result.failed == 0, f"{result.failed} doctest(s) failed in {name}"


def test_public_functions_have_docstrings_with_examples():
    missing = []
    modules = ("wengert", "wengert.math", "wengert.nn", "wengert.linalg", "wengert.random")
    modules += ("wengert.ops",)
    for name in modules + ("wengert.image_ops",):
        module = importlib.import_module(name)
        # a module's own functions (its __all__) where it has one, else all it exposes
        for attr in getattr(module, "__all__", None) if name.endswith("_ops") else dir(module):
            if attr.startswith("_"):
                continue
            obj = getattr(module, attr)
            if not callable(obj) or getattr(obj, "__module__", "").split(".")[0] != "wengert":
                continue
            doc = obj.__doc__ or ""
            if ">>>" not in doc:
                missing.append(f"{name}.{attr}")
    assert not missing, f"public callables without a runnable example: {missing}"
