"""How layers are built and told whether they train, as Keras 3 does it: functional calls
build on the symbolic shape (unknown axes None), call()'s own ``training`` default applies
when no call gives one, and the convolutions refuse arguments they do not take."""

from __future__ import annotations

import numpy as np
import pytest

import wengert as wg
from wengert import layers


class _RecordsBuild(layers.Layer):
    def build(self, input_shape):
        self.seen = tuple(input_shape)
        self.w = self.add_weight((input_shape[-1], 2), "ones")

    def call(self, x):
        return wg.matmul(x, self.w)


def test_a_functional_call_builds_on_the_shape_the_user_gave():
    layer = _RecordsBuild()
    out = layer(wg.Input((None, 5)))
    assert layer.seen == (None, None, 5)  # not a probe's made-up sizes
    assert out.shape == (None, None, 2)
    inputs = wg.Input((7, 5))
    model = wg.Model(inputs, _RecordsBuild()(inputs))
    assert model.layers[-1].seen == (None, 7, 5)


def test_a_layer_refusing_an_unknown_axis_says_so_in_a_functional_model():
    with pytest.raises(ValueError, match=r"size of kernel axis 'b'.*input shape \(None, None, 3\)"):
        layers.EinsumDense("abc,bd->acd", (3, 4))(wg.Input((None, 3)))


class _Probe(layers.Layer):
    def call(self, x, training=None):
        self.training = training
        return x


class _AugmentsByDefault(layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.inner = _Probe()

    def call(self, x, training=True):
        self.training = training
        return self.inner(x)


def test_calls_signature_default_applies_when_no_call_gives_training():
    layer = _AugmentsByDefault()
    x = np.ones((2, 3), "float32")
    layer(x)
    assert layer.training is True and layer.inner.training is True  # nested layers inherit
    layer(x, training=False)
    assert layer.training is False and layer.inner.training is False
    after = _Probe()
    model = wg.Sequential([layers.Input((3,)), layer, after])
    model(x)
    assert layer.training is True
    # Deliberately narrower than Keras 3, whose call context would leak the resolved True
    # into the *following* layer: a default stays with the layer and its sublayers.
    assert after.training is None
    model.predict(x, verbose=0)
    assert layer.training is False and after.training is False


@pytest.mark.parametrize(
    "make",
    [
        lambda: layers.SeparableConv1D(4, 3, groups=2),
        lambda: layers.SeparableConv2D(4, 3, groups=2),
        lambda: layers.DepthwiseConv1D(3, groups=2),
        lambda: layers.DepthwiseConv2D(3, groups=2),
        lambda: layers.Conv1DTranspose(4, 3, groups=2),
        lambda: layers.Conv2DTranspose(4, 3, groups=2),
    ],
)
def test_convolutions_without_groups_refuse_them(make):
    with pytest.raises(ValueError, match=r"groups=2 is not supported"):
        make()


def test_groups_1_is_accepted_and_filters_none_refused_by_name():
    assert layers.DepthwiseConv2D(3, groups=1).kernel_size == (3, 3)
    for make in (layers.SeparableConv2D, layers.Conv2D, layers.Conv1DTranspose):
        with pytest.raises(ValueError, match=rf"{make.__name__} '.*': filters must be a positive"):
            make(None, 3)
