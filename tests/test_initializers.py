"""``wg.initializers``: statistics, orthogonality, fans, seeding, get and configs.

Statistical checks use 200,000 samples and bounds of 5 standard errors, so a
correct initializer fails them with probability far below 1e-5.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import wengert as wg
import wengert.initializers as I

N = 200_000
TRUNC = 0.87962566103423978  # std of a unit normal truncated to [-2, 2]


def _values(init, shape=(400, 500), dtype="float64"):
    t = init(shape, dtype=dtype)
    assert isinstance(t, wg.Tensor) and t.shape == tuple(shape) and t.dtype == np.dtype(dtype)
    return t.numpy()


def assert_moments(x, mean, std):
    n = x.size
    assert abs(x.mean() - mean) < 5 * std / math.sqrt(n), (x.mean(), mean)
    # The sample std's standard error is about std / sqrt(2n) (exactly so for normals;
    # the uniform's is smaller).
    assert abs(x.std() - std) < 5 * std / math.sqrt(2 * n), (x.std(), std)


def test_constant_initializers():
    np.testing.assert_array_equal(_values(I.Zeros(), (2, 3)), np.zeros((2, 3)))
    np.testing.assert_array_equal(_values(I.Ones(), (4,)), np.ones(4))
    np.testing.assert_array_equal(_values(I.Constant(2.5), (2, 2)), np.full((2, 2), 2.5))
    np.testing.assert_array_equal(I.Constant([1.0, 2.0])((2, 2)).numpy(), [[1, 2], [1, 2]])
    assert I.Zeros()((3,), dtype="int32").dtype == np.int32
    assert I.Ones()((3,)).dtype == np.float32  # float32 by default
    np.testing.assert_array_equal(_values(I.Identity(3.0), (2, 3)), 3 * np.eye(2, 3))
    with pytest.raises(ValueError, match="Identity: needs a 2-D shape"):
        I.Identity()((2, 2, 2))
    with pytest.raises(ValueError, match=r"Constant: value of shape \(3,\)"):
        I.Constant([1.0, 2.0, 3.0])((2, 2))


def test_random_normal_and_uniform_statistics():
    assert_moments(_values(I.RandomNormal(1.0, 2.0, seed=1)), 1.0, 2.0)
    x = _values(I.RandomUniform(-3.0, 1.0, seed=2))
    assert x.min() >= -3.0 and x.max() < 1.0
    assert_moments(x, -1.0, 4.0 / math.sqrt(12))
    # Keras's defaults.
    assert_moments(_values(I.RandomNormal(seed=3)), 0.0, 0.05)
    x = _values(I.RandomUniform(seed=3))
    assert x.min() >= -0.05 and x.max() < 0.05


def test_truncated_normal_statistics():
    x = _values(I.TruncatedNormal(0.5, 2.0, seed=4))
    assert x.min() >= 0.5 - 4.0 and x.max() <= 0.5 + 4.0
    assert_moments(x, 0.5, 2.0 * TRUNC)


@pytest.mark.parametrize("mode", ["fan_in", "fan_out", "fan_avg"])
@pytest.mark.parametrize("distribution", ["truncated_normal", "untruncated_normal", "uniform"])
def test_variance_scaling_variance(mode, distribution):
    shape = (3, 3, 50, 60)  # conv kernel: receptive field 9, fans 450 and 540
    n = {"fan_in": 450, "fan_out": 540, "fan_avg": 495}[mode]
    x = _values(I.VarianceScaling(3.0, mode, distribution, seed=5), shape)
    # A (400, 500)-sized sample in spirit: 81,000 values; the bound scales with it.
    assert_moments(x, 0.0, math.sqrt(3.0 / n))
    std = math.sqrt(3.0 / n)
    if distribution == "uniform":
        assert np.abs(x).max() <= math.sqrt(3) * std
    elif distribution == "truncated_normal":
        assert np.abs(x).max() <= 2 * std / TRUNC


PRESETS = {
    # name: (class, scale, mode, distribution)
    "glorot_uniform": (I.GlorotUniform, 1.0, "fan_avg", "uniform"),
    "glorot_normal": (I.GlorotNormal, 1.0, "fan_avg", "truncated_normal"),
    "he_uniform": (I.HeUniform, 2.0, "fan_in", "uniform"),
    "he_normal": (I.HeNormal, 2.0, "fan_in", "truncated_normal"),
    "lecun_uniform": (I.LecunUniform, 1.0, "fan_in", "uniform"),
    "lecun_normal": (I.LecunNormal, 1.0, "fan_in", "truncated_normal"),
}


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_statistics_and_equivalence(name):
    cls, scale, mode, distribution = PRESETS[name]
    fan_in, fan_out = 400, 500
    n = {"fan_in": fan_in, "fan_avg": (fan_in + fan_out) / 2}[mode]
    x = _values(cls(seed=6))
    assert_moments(x, 0.0, math.sqrt(scale / n))
    if distribution == "uniform":
        limit = math.sqrt(3 * scale / n)  # Glorot: sqrt(6 / (fan_in + fan_out))
        assert np.abs(x).max() < limit and np.abs(x).max() > 0.99 * limit
    general = I.VarianceScaling(scale, mode, distribution, seed=6)
    np.testing.assert_array_equal(x, _values(general))
    assert isinstance(I.get(name), cls)
    assert cls(seed=6).get_config() == {"seed": 6}


def test_glorot_uniform_limit_by_hand():
    x = I.GlorotUniform(seed=0)((20, 30)).numpy()
    assert np.abs(x).max() <= math.sqrt(6 / 50)


def test_compute_fans():
    assert I.compute_fans(()) == (1, 1)
    assert I.compute_fans((7,)) == (7, 7)
    assert I.compute_fans((784, 128)) == (784, 128)
    assert I.compute_fans((5, 16, 32)) == (80, 160)  # 1-D conv
    assert I.compute_fans((3, 3, 16, 32)) == (144, 288)  # 2-D conv (h, w, in, out)
    assert I.compute_fans((2, 3, 3, 4, 8)) == (72, 144)  # 3-D conv


@pytest.mark.parametrize("shape", [(6, 3), (3, 6), (5, 5), (3, 3, 4, 8), (2, 40)], ids=str)
@pytest.mark.parametrize("gain", [1.0, 2.5])
def test_orthogonal(shape, gain):
    q = _values(I.Orthogonal(gain, seed=7), shape)
    flat = q.reshape(-1, shape[-1])
    rows, cols = flat.shape
    if rows >= cols:  # tall (or square): orthonormal columns
        np.testing.assert_allclose(flat.T @ flat, gain**2 * np.eye(cols), atol=1e-12)
    else:  # wide: orthonormal rows
        np.testing.assert_allclose(flat @ flat.T, gain**2 * np.eye(rows), atol=1e-12)
    assert I.Orthogonal(seed=7)(shape).dtype == np.float32
    with pytest.raises(ValueError, match="Orthogonal: needs a shape of rank 2"):
        I.Orthogonal()((4,))


def test_orthogonal_is_not_biased_to_positive_diagonal_signs():
    # Sign correction by R's diagonal makes Q Haar-distributed: its diagonal is
    # centred on 0 over many draws.
    diag = np.stack([I.Orthogonal(seed=s)((4, 4)).numpy().diagonal() for s in range(400)])
    assert abs(diag.mean()) < 5 * 0.5 / math.sqrt(diag.size)


RANDOM = [
    lambda s: I.RandomNormal(seed=s),
    lambda s: I.RandomUniform(seed=s),
    lambda s: I.TruncatedNormal(seed=s),
    lambda s: I.VarianceScaling(seed=s),
    lambda s: I.GlorotUniform(seed=s),
    lambda s: I.HeNormal(seed=s),
    lambda s: I.Orthogonal(seed=s),
]


@pytest.mark.parametrize("make", RANDOM)
def test_seed_reproducibility(make):
    a = make(11)((5, 4)).numpy()
    b = make(11)((5, 4)).numpy()
    np.testing.assert_array_equal(a, b)  # same seed, two objects
    init = make(11)
    np.testing.assert_array_equal(init((5, 4)).numpy(), init((5, 4)).numpy())  # Keras 3
    assert not np.array_equal(a, make(12)((5, 4)).numpy())
    # The same seed whatever the global state.
    wg.random.set_seed(99)
    np.testing.assert_array_equal(a, make(11)((5, 4)).numpy())
    # A Generator as seed is a stream: a new draw per call, reproducible from its seed.
    gen = make(wg.random.Generator(5))
    first, second = gen((5, 4)).numpy(), gen((5, 4)).numpy()
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(first, make(wg.random.Generator(5))((5, 4)).numpy())


def test_unseeded_initializers_follow_the_global_seed():
    wg.random.set_seed(123)
    a, b = I.GlorotUniform()((4, 4)).numpy(), I.GlorotUniform()((4, 4)).numpy()
    assert not np.array_equal(a, b)  # each object draws its own seed
    wg.random.set_seed(123)
    np.testing.assert_array_equal(a, I.GlorotUniform()((4, 4)).numpy())
    init = I.get("he_normal")
    first = init((3,)).numpy()
    with pytest.warns(UserWarning, match="unseeded and was called again"):
        again = init((3,)).numpy()
    np.testing.assert_array_equal(first, again)


def test_get_and_configs():
    for name, cls in [("zeros", I.Zeros), ("ones", I.Ones), ("orthogonal", I.Orthogonal),
                      ("random_normal", I.RandomNormal), ("truncated_normal", I.TruncatedNormal),
                      ("variance_scaling", I.VarianceScaling), ("GlorotUniform", I.GlorotUniform),
                      ("constant", I.Constant), ("identity", I.Identity)]:  # fmt: skip
        assert type(I.get(name)) is cls
    assert I.get(None) is None
    init = I.HeUniform(seed=1)
    assert I.get(init) is init
    assert isinstance(I.get(I.Ones), I.Ones)
    f = lambda shape, dtype=None: wg.zeros(shape)  # noqa: E731
    assert I.get(f) is f
    with pytest.raises(
        ValueError, match=r"unknown initializer 'glorot'.*glorot_uniform.*he_normal"
    ):
        I.get("glorot")
    with pytest.raises(ValueError, match="cannot interpret 3"):
        I.get(3)
    for init in [
        I.RandomNormal(0.5, 2.0, seed=3),
        I.RandomUniform(-1.0, 2.0, seed=3),
        I.TruncatedNormal(stddev=0.3, seed=3),
        I.VarianceScaling(2.0, "fan_out", "uniform", seed=3),
        I.Orthogonal(1.5, seed=3),
        I.LecunNormal(seed=3),
        I.Constant(4.0),
        I.Identity(2.0),
    ]:
        config = I.serialize(init)
        again = I.get(config)
        assert type(again) is type(init) and again.get_config() == init.get_config()
        np.testing.assert_array_equal(again((4, 4)).numpy(), init((4, 4)).numpy())
        assert type(init).from_config(init.get_config()).get_config() == init.get_config()
        assert init.clone().get_config() == init.get_config()
    assert I.get({"class_name": "he_normal", "config": {"seed": 2}}).seed == 2
    assert I.VarianceScaling(distribution="normal").distribution == "truncated_normal"
    assert I.RandomNormal().get_config()["seed"] is None  # unseeded stays unseeded
    assert I.RandomNormal(seed=np.int64(4)).get_config()["seed"] == 4


def test_argument_errors():
    with pytest.raises(ValueError, match="VarianceScaling: mode must be one of"):
        I.VarianceScaling(mode="fan_middle")
    with pytest.raises(ValueError, match="distribution must be one of"):
        I.VarianceScaling(distribution="cauchy")
    with pytest.raises(ValueError, match="scale must be positive"):
        I.VarianceScaling(scale=0.0)
    with pytest.raises(TypeError, match="RandomNormal: seed must be an int"):
        I.RandomNormal(seed=1.5)
    with pytest.raises(TypeError, match="GlorotUniform: random values need a floating-point"):
        I.GlorotUniform(seed=0)((2, 2), dtype="int32")
    with pytest.raises(ValueError, match="negative dimension"):
        I.Zeros()((2, -1))
