"""Habits carried over from PyTorch tutorials: each behaves as TensorFlow 2 / Keras would,
or fails with an error that says what to write instead."""

import re

import numpy as np
import pytest

import wengert as wg
from wengert import backend

# -- 1. in-place operators on a Variable -------------------------------------------------------

# TensorFlow's messages (BaseResourceVariable.__iadd__ and friends in resource_variable_ops.py),
# with wg for tf; TensorFlow's `-=` message says `out = variable * value`, a typo not kept.
INPLACE = [
    (
        "__iadd__",
        "`variable += value` with `wg.Variable`s is not supported. Use "
        "`variable.assign_add(value)` to modify the variable, or `out = variable + value` if "
        "you need to get a new output Tensor.",
    ),
    (
        "__isub__",
        "`variable -= value` with `wg.Variable`s is not supported. Use "
        "`variable.assign_sub(value)` to modify the variable, or `out = variable - value` if "
        "you need to get a new output Tensor.",
    ),
    (
        "__imul__",
        "`var *= value` with `wg.Variable`s is not supported. Use `var.assign(var * value)` to "
        "modify the variable, or `out = var * value` if you need to get a new output Tensor.",
    ),
    (
        "__itruediv__",
        "`var /= value` with `wg.Variable`s is not supported. Use `var.assign(var / value)` to "
        "modify the variable, or `out = var / value` if you need to get a new output Tensor.",
    ),
    (
        "__ipow__",
        "`var **= value` with `wg.Variable`s is not supported. Use `var.assign(var ** value)` "
        "to modify the variable, or `out = var ** value` if you need to get a new output Tensor.",
    ),
]


@pytest.mark.parametrize("method, message", INPLACE)
def test_inplace_operator_on_variable_raises_tensorflows_error(method, message):
    v = wg.Variable([1.0, 2.0])
    with pytest.raises(RuntimeError) as info:
        getattr(v, method)(0.5)
    assert str(info.value) == message
    np.testing.assert_array_equal(v.numpy(), [1.0, 2.0])


def test_every_inplace_operator_of_a_variable_raises_and_leaves_it_unchanged():
    v = wg.Variable([4, 6])
    for statement in ["v += 1", "v -= 1", "v *= 2", "v /= 2", "v //= 2", "v %= 4", "v **= 2",
                      "v @= v", "v &= 1", "v |= 1", "v ^= 1"]:  # fmt: skip
        with pytest.raises(RuntimeError, match="with `wg.Variable`s is not supported"):
            exec(statement, {}, {"v": v})
    np.testing.assert_array_equal(v.numpy(), [4, 6])


def test_training_loop_with_assign_sub_updates_the_variable():
    w = wg.Variable(3.0)
    lr = 0.25
    for _ in range(2):
        with wg.GradientTape() as tape:
            loss = w * w
        g = tape.gradient(loss, w)
        with pytest.raises(RuntimeError, match=re.escape("variable.assign_sub(value)")):
            w -= lr * g  # the torch habit: refused, not a silent rebinding
        w.assign_sub(lr * g)
    # w <- w - 0.25 * 2w = w / 2, twice
    assert float(w) == 0.75
    assert isinstance(w, wg.Variable)


def test_inplace_operators_on_tensors_still_make_new_tensors():
    t = wg.constant([1.0, 2.0])
    before = t
    t += 1
    t *= 2
    assert t is not before
    np.testing.assert_array_equal(t.numpy(), [4.0, 6.0])
    np.testing.assert_array_equal(before.numpy(), [1.0, 2.0])


# -- 2. reductions of bool tensors -------------------------------------------------------------


@pytest.mark.parametrize("op", ["reduce_mean", "reduce_sum", "reduce_prod"])
def test_bool_reduction_is_a_type_error_naming_op_dtype_and_cast(op):
    correct = wg.constant([True, False, True, False])
    with pytest.raises(TypeError) as info:
        getattr(wg, op)(correct)
    assert str(info.value) == (
        f"{op}: got a tensor of dtype bool (shape [4]); {op} takes numbers only, as in "
        f"TensorFlow: cast it first, e.g. wg.{op}(wg.cast(x, 'float32'))"
    )


def test_accuracy_after_cast_is_the_fraction():
    correct = wg.equal(wg.constant([1, 2, 3, 4]), wg.constant([1, 0, 3, 0]))
    accuracy = wg.reduce_mean(wg.cast(correct, "float32"))
    assert accuracy.dtype == np.float32 and float(accuracy) == 0.5
    assert int(wg.reduce_sum(wg.cast(correct, "int32"))) == 2


def test_integer_mean_stays_integer_and_truncates_toward_zero_as_tensorflow():
    # tf.reduce_mean's docstring: tf.reduce_mean(tf.constant([1, 0, 1, 0])) is int32 0
    m = wg.reduce_mean(wg.constant([1, 0, 1, 0]))
    assert m.dtype == np.int32 and int(m) == 0
    assert int(wg.reduce_mean(wg.constant([-3, 0]))) == -1
    np.testing.assert_array_equal(wg.reduce_mean([[1, 2], [5, 8]], axis=1).numpy(), [1, 6])


def test_bool_max_and_min_are_any_and_all():
    x = wg.constant([True, False])
    assert bool(wg.reduce_max(x)) is True and bool(wg.reduce_min(x)) is False


# -- 3. TensorFlow's dtype names ---------------------------------------------------------------


@pytest.mark.parametrize(
    "name, expected",
    [
        ("float", "float32"),
        (float, "float32"),
        ("double", "float64"),
        ("half", "float16"),
        ("float32", "float32"),
        ("float64", "float64"),
        (np.float64, "float64"),
        ("int32", "int32"),
        (bool, "bool"),
        (wg.float32, "float32"),
    ],
)
def test_as_dtype_reads_names_as_tensorflow(name, expected):
    assert backend.as_dtype(name) == np.dtype(expected)


def test_every_dtype_argument_takes_tensorflows_aliases():
    assert wg.constant([1], dtype="float").dtype == np.float32
    assert wg.constant([1], dtype=float).dtype == np.float32
    assert wg.constant([1], dtype="double").dtype == np.float64
    assert wg.constant([1], dtype="half").dtype == np.float16
    assert wg.constant(wg.constant([1.0]), dtype="float").dtype == np.float32
    assert wg.Variable([1.0], dtype="float").dtype == np.float32
    assert wg.convert_to_tensor([1.0], dtype="double").dtype == np.float64
    assert wg.convert_to_tensor(wg.constant([1.0]), dtype="float").dtype == np.float32
    assert wg.cast([1, 2], "float").dtype == np.float32
    assert wg.cast([1, 2], "double").dtype == np.float64
    assert wg.zeros((2,), "float").dtype == np.float32
    assert wg.ones((2,), "half").dtype == np.float16
    assert wg.zeros_like(wg.constant([1]), "float").dtype == np.float32
    assert wg.ones_like(wg.constant([1]), "double").dtype == np.float64
    assert wg.eye(2, dtype="float").dtype == np.float32
    assert wg.range(3, dtype="float").dtype == np.float32
    assert wg.one_hot([0, 1], 2, dtype="double").dtype == np.float64
    with pytest.raises(ValueError, match="requested dtype float64 for a Tensor of dtype float32"):
        wg.convert_to_tensor(wg.constant([1.0]), dtype="double")


# -- 4. indexing with range --------------------------------------------------------------------


def test_range_index_is_the_integer_array_numpy_reads_with_its_gradient():
    probs = np.array([[0.2, 0.3, 0.5], [0.1, 0.6, 0.3]], dtype=np.float32)
    logp = wg.Variable(np.log(probs))
    target = wg.constant([2, 1])
    with wg.GradientTape() as tape:
        picked = logp[range(2), target]  # the NLL of "What is torch.nn really?"
        loss = -wg.reduce_mean(picked)
    np.testing.assert_array_equal(picked.numpy(), np.log(probs)[range(2), [2, 1]])
    assert float(loss) == pytest.approx(-(np.log(0.5) + np.log(0.6)) / 2)
    np.testing.assert_array_equal(
        tape.gradient(loss, logp).numpy(), [[0.0, 0.0, -0.5], [0.0, -0.5, 0.0]]
    )


def test_range_index_matches_numpy_for_steps_and_empty_ranges():
    a = np.arange(12.0, dtype=np.float32).reshape(4, 3)
    t = wg.constant(a)
    for key in [range(4), range(3, -1, -2), range(0), (range(1, 3), 0), (slice(None), range(2))]:
        np.testing.assert_array_equal(t[key].numpy(), a[key])


# -- 5. optimizer arguments --------------------------------------------------------------------


def test_zero_argument_learning_rate_is_called_each_step():
    rates = iter([0.5, 0.25])
    opt = wg.optimizers.SGD(learning_rate=lambda: next(rates))
    w = wg.Variable([1.0])
    opt.apply_gradients([(wg.constant([1.0]), w)])
    opt.apply_gradients([(wg.constant([1.0]), w)])
    np.testing.assert_array_equal(w.numpy(), [0.25])  # 1 - 0.5 - 0.25


def test_step_learning_rate_still_takes_the_step():
    opt = wg.optimizers.SGD(learning_rate=lambda step: 0.1 * (step + 1))
    w = wg.Variable([0.0])
    for _ in range(3):
        opt.apply_gradients([(wg.constant([1.0]), w)])
    np.testing.assert_allclose(w.numpy(), [-0.6])  # 0.1 + 0.2 + 0.3


def test_learning_rate_callable_of_two_arguments_is_a_clear_type_error():
    with pytest.raises(TypeError, match=r"takes the step .* or no arguments"):
        wg.optimizers.SGD(learning_rate=lambda a, b: 0.1)


@pytest.mark.parametrize("wrap", [list, tuple, iter])
def test_parameter_list_as_first_argument_is_refused(wrap):
    variables = [wg.Variable([1.0]), wg.Variable([2.0])]
    params = (v for v in variables) if wrap is iter else wrap(variables)
    with pytest.raises(TypeError) as info:
        wg.optimizers.SGD(params)
    message = str(info.value)
    assert "optimizers take no parameter list" in message
    assert "apply_gradients(zip(grads, variables))" in message
    assert "of 2 Variables" in message


def test_lr_is_refused_with_a_hint():
    with pytest.raises(TypeError) as info:
        wg.optimizers.SGD(lr=0.1)
    assert str(info.value) == "SGD: unexpected argument 'lr'; did you mean learning_rate=0.1?"
    with pytest.raises(TypeError, match="Adam: unexpected argument 'betas'$"):
        wg.optimizers.Adam(betas=(0.9, 0.999))


# -- 6. Dense(in, out) -------------------------------------------------------------------------


def test_dense_with_an_input_size_says_it_is_inferred():
    with pytest.raises(ValueError) as info:
        wg.layers.Dense(3, 2)
    assert str(info.value) == (
        "Dense(units, activation=...): the input size is inferred from the first call; got "
        "activation=2 (nn.Linear(3, 2) is Dense(2))"
    )
    assert wg.layers.Dense(2)(wg.ones((5, 3))).shape == (5, 2)


# -- 7. NCHW images into a channels_last Conv2D ------------------------------------------------


def test_conv2d_on_nchw_input_suggests_channels_first():
    x = wg.zeros((4, 1, 28, 28))
    with pytest.raises(ValueError) as info:
        wg.layers.Conv2D(8, 3)(x)
    message = str(info.value)
    assert "is larger than the input's spatial shape (1, 28)" in message
    assert message.endswith(
        "Is the input channels-first (PyTorch's layout: axis 1 of size 1 looks like the "
        "channels)? Then pass data_format='channels_first', or transpose it to channels-last "
        "with wg.transpose(x, [0, 2, 3, 1])"
    )
    assert wg.layers.Conv2D(8, 3, data_format="channels_first")(x).shape == (4, 8, 26, 26)
    assert wg.layers.Conv2D(8, 3)(wg.transpose(x, [0, 2, 3, 1])).shape == (4, 26, 26, 8)


def test_conv_hint_only_when_the_input_looks_channels_first():
    with pytest.raises(ValueError) as info:
        wg.layers.Conv2D(8, 5)(wg.zeros((2, 3, 3, 3)))
    assert "channels_first" not in str(info.value)
    with pytest.raises(ValueError, match=re.escape("wg.transpose(x, [0, 2, 1])")):
        wg.layers.Conv1D(4, 3)(wg.zeros((2, 2, 50)))


# -- 8. torch-style data sets ------------------------------------------------------------------


class PairDataset:
    """What a torch Dataset is: __len__, and __getitem__ returning an (x, y) sample."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i], int(self.y[i])


def test_batches_stack_dataset_samples_field_by_field_in_the_arrays_order():
    x = np.arange(30, dtype=np.float32).reshape(10, 3)
    y = np.arange(10) % 3
    from_arrays = list(wg.datasets.Batches(x, y, batch_size=4, seed=7))
    from_samples = list(wg.datasets.Batches(PairDataset(x, y), batch_size=4, seed=7))
    assert len(from_samples) == 3
    for (xa, ya), (xs, ys) in zip(from_arrays, from_samples):
        np.testing.assert_array_equal(xs, xa)
        np.testing.assert_array_equal(ys, ya)
        assert xs.dtype == np.float32


def test_batches_of_a_list_of_sample_tuples():
    samples = [(np.full(2, i, dtype=np.float32), i % 2, float(i)) for i in range(5)]
    out = list(wg.datasets.Batches(samples, batch_size=2, shuffle=False, drop_remainder=True))
    assert len(out) == 2
    (x0, y0, w0), (x1, y1, w1) = out
    np.testing.assert_array_equal(x0, [[0, 0], [1, 1]])
    np.testing.assert_array_equal(y0, [0, 1])
    np.testing.assert_array_equal(w1, [2.0, 3.0])


def test_a_training_loop_over_a_dataset():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 2)).astype(np.float32)
    y = (x @ np.array([2.0, -1.0], dtype=np.float32)).reshape(-1, 1)
    dataset = [(x[i], y[i]) for i in range(32)]
    w = wg.Variable(np.zeros((2, 1), dtype=np.float32))
    opt = wg.optimizers.SGD(learning_rate=0.1)
    for _ in range(30):
        for xb, yb in wg.datasets.Batches(dataset, batch_size=8, seed=1):
            with wg.GradientTape() as tape:
                loss = wg.reduce_mean(wg.square(xb @ w - yb))
            opt.apply_gradients(zip(tape.gradient(loss, [w]), [w]))
    np.testing.assert_allclose(w.numpy().ravel(), [2.0, -1.0], atol=1e-3)


def test_batches_sample_errors_are_clear():
    with pytest.raises(TypeError, match="sequence of sample tuples, which hold the targets"):
        wg.datasets.Batches([(np.zeros(2), 1)], y=[1])
    ragged = [(np.zeros(2), 1), (np.zeros(3), 0)]
    with pytest.raises(ValueError, match=r"cannot stack field 0 of the samples of batch 0"):
        list(wg.datasets.Batches(ragged, batch_size=2, shuffle=False))
    with pytest.raises(TypeError, match="samples that are dicts are not supported"):
        wg.datasets.Batches([{"x": 1, "y": 2}])


def test_batches_of_arrays_and_nested_lists_are_unchanged():
    out = list(wg.datasets.Batches([[1, 2], [3, 4], [5, 6]], batch_size=2, shuffle=False))
    np.testing.assert_array_equal(out[0], [[1, 2], [3, 4]])
    np.testing.assert_array_equal(out[1], [[5, 6]])


def test_numpy_counts_bools_though_wengert_reductions_refuse_them():
    flags = wg.constant([True, False, True])
    assert np.sum(flags) == 2 and np.prod(flags) == 0
    np.testing.assert_allclose(np.mean(flags), 2 / 3)


def test_layers_and_random_read_dtype_names_as_tensorflow():
    assert wg.layers.Dense(2, dtype="float").dtype == np.float32
    assert wg.layers.Dense(2, dtype="double").dtype == np.float64
    assert wg.random.normal((2,), dtype="float").dtype == np.float32


def test_points_written_as_tuples_are_still_an_array():
    points = [(0.0, 1.0), (2.0, 3.0), (4.0, 5.0)]
    (only,) = list(wg.datasets.Batches(points, batch_size=3, shuffle=False))
    np.testing.assert_array_equal(only, np.asarray(points))
    (xb, yb) = next(iter(wg.datasets.Batches(points, [0, 1, 0], batch_size=3, shuffle=False)))
    np.testing.assert_array_equal(xb, np.asarray(points))


def test_a_callable_learning_rate_that_can_take_nothing_gets_nothing():
    # lambda lr=lr: lr is Keras 3's zero-argument form: the step must not become its lr.
    v = wg.Variable([1.0])
    opt = wg.optimizers.SGD(learning_rate=lambda lr=0.1: lr)
    for _ in range(3):
        opt.apply_gradients([(wg.constant([1.0]), v)])
    np.testing.assert_allclose(v.numpy(), [0.7], rtol=1e-6)
    assert wg.optimizers.SGD(learning_rate=lambda step: 0.5 * (step + 1)).learning_rate == 0.5
    with pytest.raises(TypeError, match="no parameter list"):
        wg.optimizers.SGD(iter([v]))


@pytest.mark.parametrize(
    "op",
    [
        lambda t: wg.math.cumsum(t),
        lambda t: wg.math.add_n([t, t]),
        lambda t: wg.reduce_logsumexp(t),
    ],
    ids=["cumsum", "add_n", "reduce_logsumexp"],
)
def test_more_number_ops_refuse_bool_as_tensorflow(op):
    # mask.cumsum(0) counts in torch and NumPy; wengert's would have been a logical or
    with pytest.raises(TypeError, match="dtype bool.*cast it first"):
        op(wg.constant([True, False, True]))


def test_losses_and_metrics_read_dtype_names_as_tensorflow():
    assert wg.losses.MeanSquaredError(dtype="float")(np.ones(3), np.zeros(3)).dtype == np.float32
    metric = wg.metrics.Precision(dtype="float")
    metric.update_state([1, 0], [1, 1])
    assert {v.dtype for v in metric.variables} == {np.dtype("float32")}


def test_nn_dropout_keeps_the_expected_value_and_its_gradient_is_the_mask():
    x = wg.constant(np.ones((4000,)), dtype="float64")
    with wg.GradientTape() as tape:
        tape.watch(x)
        y = wg.nn.dropout(x, rate=0.25, seed=7)
        total = wg.reduce_sum(y)
    values = y.numpy()
    assert set(np.unique(values)) == {0.0, 4 / 3}
    assert abs((values == 0).mean() - 0.25) < 0.03
    np.testing.assert_array_equal(tape.gradient(total, x).numpy(), values)  # x is ones
    shared = wg.nn.dropout(wg.ones((5, 3)), 0.5, noise_shape=(5, 1), seed=1).numpy()
    assert all(len(set(row)) == 1 for row in shared.tolist())
    assert wg.nn.dropout(x, 0.0) is x
    with pytest.raises(ValueError, match=r"rate must be a number in \[0, 1\)"):
        wg.nn.dropout(x, 1.0)
    inputs = wg.Input((3,))
    assert wg.nn.dropout(inputs, 0.5).shape == (None, 3)  # records a layer, as keras.random's
