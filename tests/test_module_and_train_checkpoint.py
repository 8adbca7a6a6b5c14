"""tf.Module, tf.name_scope and tf.train's object checkpoints (wengert.module, wengert.train).

The modules follow TensorFlow's "Introduction to modules" guide (SimpleModule,
SequentialModule, FlexibleDenseModule); values are checked against NumPy computations of
the same math, and training that resumes from a checkpoint against training that never
stopped (bit for bit).
"""

from __future__ import annotations

import json
import os
import threading
import warnings

import numpy as np
import pytest

import wengert as wg
from wengert import checkpoints, train
from wengert.checkpoints import CheckpointError
from wengert.module import Module, camel_to_snake, name_scope


def _relu(a):
    return np.maximum(a, 0.0)


# -- the guide's modules ------------------------------------------------------------------------
class SimpleModule(Module):
    def __init__(self, name=None):
        super().__init__(name=name)
        self.a_variable = wg.Variable(5.0, name="train_me")
        self.non_trainable_variable = wg.Variable(5.0, trainable=False, name="do_not_train_me")

    def __call__(self, x):
        return self.a_variable * x + self.non_trainable_variable


class Dense(Module):
    def __init__(self, in_features, out_features, name=None):
        super().__init__(name=name)
        self.w = wg.Variable(wg.random.normal([in_features, out_features]), name="w")
        self.b = wg.Variable(wg.zeros([out_features]), name="b")

    def __call__(self, x):
        return wg.nn.relu(wg.matmul(x, self.w) + self.b)


class SequentialModule(Module):
    def __init__(self, name=None):
        super().__init__(name=name)
        self.dense_1 = Dense(in_features=3, out_features=3)
        self.dense_2 = Dense(in_features=3, out_features=2)

    def __call__(self, x):
        return self.dense_2(self.dense_1(x))


class FlexibleDenseModule(Module):
    def __init__(self, out_features, name=None):
        super().__init__(name=name)
        self.is_built = False
        self.out_features = out_features

    def __call__(self, x):
        if not self.is_built:
            self.w = wg.Variable(wg.random.normal([x.shape[-1], self.out_features]), name="w")
            self.b = wg.Variable(wg.zeros([self.out_features]), name="b")
            self.is_built = True
        return wg.nn.relu(wg.matmul(x, self.w) + self.b)


class MySequentialModule(Module):
    def __init__(self, name=None):
        super().__init__(name=name)
        self.dense_1 = FlexibleDenseModule(out_features=3)
        self.dense_2 = FlexibleDenseModule(out_features=2)

    def __call__(self, x):
        return self.dense_2(self.dense_1(x))


def test_simple_module_value_and_variables():
    m = SimpleModule(name="simple")
    assert float(m(wg.constant(5.0))) == 30.0
    assert m.name == "simple"
    assert [v.name for v in m.trainable_variables] == ["train_me"]
    assert [v.name for v in m.variables] == ["train_me", "do_not_train_me"]
    assert [v.name for v in m.non_trainable_variables] == ["do_not_train_me"]
    assert isinstance(m.variables, list)  # as a layer's (TensorFlow's is a tuple)


def test_sequential_module_values_variables_and_submodules():
    wg.random.set_seed(3)
    m = SequentialModule(name="the_model")
    x = np.array([[2.0, 2.0, 2.0]], np.float32)
    d1, d2 = m.dense_1, m.dense_2
    expected = _relu(_relu(x @ d1.w.numpy() + d1.b.numpy()) @ d2.w.numpy() + d2.b.numpy())
    np.testing.assert_allclose(m(wg.constant(x)).numpy(), expected, rtol=1e-6)
    # TensorFlow lists b before w (attributes sorted), module by module.
    assert [v.name for v in m.variables] == ["b", "w", "b", "w"]
    assert [v is u for v, u in zip(m.variables, (d1.b, d1.w, d2.b, d2.w))] == [True] * 4
    assert m.submodules == (d1, d2)
    assert (d1.name, d2.name) == ("dense", "dense")  # tf.Module does not make names unique


def test_flexible_dense_module_builds_on_first_call():
    wg.random.set_seed(4)
    m = MySequentialModule(name="the_model")
    assert m.variables == []
    x = np.array([[2.0, 2.0, 2.0]], np.float32)
    y = m(wg.constant(x))
    assert len(m.variables) == 4
    assert [tuple(v.shape) for v in m.variables] == [(3,), (3, 3), (2,), (3, 2)]
    d1, d2 = m.dense_1, m.dense_2
    expected = _relu(_relu(x @ d1.w.numpy()) @ d2.w.numpy())  # biases start at zero
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-6)


def test_default_names_and_validation():
    assert SequentialModule().name == "sequential_module"
    assert Module().name == "module"
    assert (
        camel_to_snake("MLP") == "mlp" and camel_to_snake("Conv2D") == "conv2_d"
    )  # TF: "2D" -> "2_d"
    for bad in ["has space", "1abc", "a/b", ""]:
        with pytest.raises(ValueError, match="valid module name"):
            Module(name=bad)


def test_submodules_are_listed_level_by_level():
    a, b, c, d, e = (Module(name=n) for n in "abcde")
    a.z_b, a.y_d = b, d  # sorted attributes: y_d first
    b.c = c
    d.e = e
    a.again = [b]  # reached twice: listed once
    assert [m.name for m in a.submodules] == ["b", "d", "c", "e"]
    b.loop = a  # a cycle ends where it started
    assert [m.name for m in a.submodules] == ["b", "d", "c", "e"]


def test_containers_private_attributes_and_sharing():
    shared = wg.Variable(0.0, name="shared")

    class M(Module):
        def __init__(self):
            super().__init__()
            self.vs = [wg.Variable(1.0, name="l0"), wg.Variable(2.0, name="l1")]
            self.d = {"z": wg.Variable(3.0, name="dz"), "a": wg.Variable(4.0, name="da")}
            self.t = (wg.Variable(5.0, name="t0"),)
            self._hidden = wg.Variable(6.0, name="hidden")  # tracked, as in TensorFlow
            self.x, self.y = shared, shared

    # attributes sorted: _hidden, d (keys sorted), t, vs, x (y is the same variable)
    names = [v.name for v in M().trainable_variables]
    assert names == ["hidden", "da", "dz", "t0", "l0", "l1", "shared"]


@pytest.mark.parametrize("attr", ["layers", "weights", "input", "output", "losses", "built"])
def test_keras_reserved_names_are_free_in_a_module(attr):
    class M(Module):
        def __init__(self):
            super().__init__()
            setattr(self, attr, [FlexibleDenseModule(2), FlexibleDenseModule(1)])

        def __call__(self, x):
            for sub in getattr(self, attr):
                x = sub(x)
            return x

    m = M()
    assert m(wg.ones([1, 3])).shape == (1, 1)
    assert len(m.trainable_variables) == 4
    assert len(m.submodules) == 2


# -- name scopes ----------------------------------------------------------------------------------
def test_name_scope_nests_and_prefixes_variables():
    assert wg.Variable(1.0, name="v").name == "v"
    assert wg.Variable(1.0).name == "Variable"
    with name_scope("outer") as outer:
        assert outer == "outer/"
        assert wg.Variable(1.0, name="v").name == "outer/v"
        assert wg.Variable(1.0).name == "outer/Variable"
        with name_scope("inner") as inner:
            assert inner == "outer/inner/"
            assert wg.Variable(1.0, name="v").name == "outer/inner/v"
        with name_scope("top/"):  # a trailing "/" names the whole scope
            assert wg.Variable(1.0, name="v").name == "top/v"
        with name_scope(""):  # "" clears it
            assert wg.Variable(1.0, name="v").name == "v"
        assert wg.Variable(1.0, name="v").name == "outer/v"
    assert wg.Variable(1.0, name="v").name == "v"
    with pytest.raises(TypeError, match="str"):
        name_scope(3)


def test_name_scope_is_restored_after_an_exception_and_reusable():
    scope = name_scope("s")
    with pytest.raises(RuntimeError):
        with scope:
            raise RuntimeError("boom")
    assert wg.Variable(1.0, name="v").name == "v"
    with scope, scope:  # entered twice: nests, as tf.name_scope objects do
        assert wg.Variable(1.0, name="v").name == "s/s/v"
    assert wg.Variable(1.0, name="v").name == "v"


def test_name_scope_is_per_thread():
    names = {}
    inside, done = threading.Event(), threading.Event()

    def other():
        inside.wait()
        names["other"] = wg.Variable(1.0, name="v").name
        done.set()

    t = threading.Thread(target=other)
    t.start()
    with name_scope("main"):
        inside.set()
        done.wait()
        names["main"] = wg.Variable(1.0, name="v").name
    t.join()
    assert names == {"other": "v", "main": "main/v"}


def test_module_name_scope_and_with_name_scope():
    class Lazy(Module):
        def __init__(self, name=None):
            super().__init__(name=name)
            with self.name_scope:
                self.v = wg.Variable(1.0, name="v")

        @Module.with_name_scope
        def __call__(self, x):
            """Doc kept by the decorator."""
            if not hasattr(self, "w"):
                self.w = wg.Variable(2.0, name="w")
            return x * self.w

    with name_scope("outer"):
        m = Lazy(name="lazy")
    assert m.name_scope.name == "outer/lazy/"
    assert m.v.name == "outer/lazy/v"
    m(wg.constant(1.0))  # called outside "outer": the module's scope is still whole
    assert m.w.name == "outer/lazy/w"
    assert Lazy.__call__.__doc__ == "Doc kept by the decorator."
    assert wg.Variable(1.0, name="v").name == "v"


def test_layer_weights_made_inside_a_scope():
    layer = wg.layers.Dense(2)
    layer(wg.ones([1, 3]))
    assert [v.name for v in layer.weights] == [f"{layer.name}/kernel", f"{layer.name}/bias"]

    class Block(Module):
        def __init__(self):
            super().__init__(name="block")
            self.dense = wg.layers.Dense(2, name="d")

        @Module.with_name_scope
        def __call__(self, x):
            return self.dense(x)

    block = Block()
    block(wg.ones([1, 3]))
    assert [v.name for v in block.variables] == ["block/d/kernel", "block/d/bias"]


# -- modules and Keras layers together -----------------------------------------------------------
def test_module_holding_keras_layers_trains():
    class Net(Module):
        def __init__(self):
            super().__init__()
            self.hidden = wg.layers.Dense(3, kernel_initializer="ones", name="hidden")
            self.out = wg.layers.Dense(1, kernel_initializer="ones", name="out")
            self.scale = wg.Variable(0.5, name="scale")

        def __call__(self, x):
            return self.scale * self.out(self.hidden(x))

    net = Net()
    x = np.array([[1.0, -2.0], [0.5, 3.0]], np.float32)
    y = np.array([[1.0], [2.0]], np.float32)
    net(wg.constant(x))
    # own variable first, then each layer's weights in the layer's order
    assert [v.name for v in net.variables] == [
        "scale", "hidden/kernel", "hidden/bias", "out/kernel", "out/bias"
    ]  # fmt: skip
    assert net.submodules == (net.hidden, net.out)
    w1, b1, w2, b2 = (v.numpy() for v in net.variables[1:])
    s = 0.5
    with wg.GradientTape() as tape:
        loss = wg.reduce_mean((net(wg.constant(x)) - y) ** 2)
    grads = tape.gradient(loss, net.trainable_variables)
    wg.optimizers.SGD(learning_rate=0.1).apply_gradients(zip(grads, net.trainable_variables))
    # the same step by hand
    h = x @ w1 + b1
    o = h @ w2 + b2
    r = 2 * (s * o - y) / len(x)
    d_s = float(np.sum(r * o))
    d_o = r * s
    d_w2, d_b2 = h.T @ d_o, d_o.sum(0)
    d_h = d_o @ w2.T
    d_w1, d_b1 = x.T @ d_h, d_h.sum(0)
    np.testing.assert_allclose(float(net.scale), s - 0.1 * d_s, rtol=1e-5)
    np.testing.assert_allclose(net.hidden.kernel.numpy(), w1 - 0.1 * d_w1, rtol=1e-5)
    np.testing.assert_allclose(net.hidden.bias.numpy(), b1 - 0.1 * d_b1, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(net.out.kernel.numpy(), w2 - 0.1 * d_w2, rtol=1e-5)
    np.testing.assert_allclose(net.out.bias.numpy(), b2 - 0.1 * d_b2, rtol=1e-5, atol=1e-7)

    net.hidden.trainable = False  # a frozen layer's weights leave trainable_variables
    assert [v.name for v in net.trainable_variables] == ["scale", "out/kernel", "out/bias"]
    assert len(net.non_trainable_variables) == 2


class Linear(Module):
    def __init__(self, w, b, name=None):
        super().__init__(name=name)
        self.w = wg.Variable(np.asarray(w, np.float32), name="w")
        self.b = wg.Variable(np.asarray(b, np.float32), name="b")

    def __call__(self, x):
        return wg.matmul(x, self.w) + self.b


class WithModule(wg.Model):
    def __init__(self):
        super().__init__()
        self.block = Linear([[0.5], [-1.0], [2.0]], [0.25])

    def call(self, x):
        return self.block(x)


def test_keras_model_holding_a_module_fits_it():
    model = WithModule()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 3)).astype(np.float32)
    y = rng.standard_normal((8, 1)).astype(np.float32)
    model(x[:1])
    assert model.trainable_variables == [model.block.b, model.block.w]
    assert model.count_params() == 4
    w0, b0 = model.block.w.numpy(), model.block.b.numpy()
    model.compile(optimizer=wg.optimizers.SGD(learning_rate=0.1), loss="mse")
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    r = 2 * (x @ w0 + b0 - y) / len(x)  # d mean((xw + b - y)^2)
    np.testing.assert_allclose(model.block.w.numpy(), w0 - 0.1 * x.T @ r, rtol=1e-5)
    np.testing.assert_allclose(model.block.b.numpy(), b0 - 0.1 * r.sum(0), rtol=1e-5)

    model.block.w.assign(np.zeros((3, 1)))
    model.trainable = False  # freezing the model freezes the module's variables
    assert model.trainable_variables == []
    model.trainable = True


def test_model_weights_files_include_a_module(tmp_path):
    model = WithModule()
    model(np.ones((1, 3), np.float32))
    path = tmp_path / "w.npz"
    model.save_weights(path)
    arrays, _ = checkpoints.load(path)
    assert sorted(arrays) == ["block.b", "block.w"]
    other = WithModule()
    other(np.ones((1, 3), np.float32))
    other.block.w.assign(np.zeros((3, 1)))
    other.load_weights(path)
    np.testing.assert_array_equal(other.block.w.numpy(), model.block.w.numpy())


def test_module_inside_layer_inside_module():
    class Holder(wg.layers.Layer):
        def __init__(self):
            super().__init__(name="holder")
            self.inner = Linear([[1.0]], [0.0], name="lin")

        def call(self, x):
            return self.inner(x)

    outer = Module(name="outer")
    outer.holder = Holder()
    assert [v.name for v in outer.variables] == ["b", "w"]
    assert outer.submodules == (outer.holder, outer.holder.inner)


# -- Checkpoint -----------------------------------------------------------------------------------
def _arrays(variables):
    return [np.array(v.numpy()) for v in variables]


def _assert_identical(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.dtype == y.dtype and x.shape == y.shape
        assert x.tobytes() == y.tobytes()


def test_guide_checkpoint_write_list_and_restore(tmp_path):
    wg.random.set_seed(5)
    model = MySequentialModule(name="the_model")
    x = wg.constant([[2.0, 2.0, 2.0]])
    before = model(x).numpy()
    path = train.Checkpoint(model=model).write(tmp_path / "my_checkpoint")
    assert path == str(tmp_path / "my_checkpoint.npz")
    listed = train.list_variables(tmp_path / "my_checkpoint")  # the prefix finds the file
    assert listed == [
        ("model/dense_1/b", [3]), ("model/dense_1/w", [3, 3]),
        ("model/dense_2/b", [2]), ("model/dense_2/w", [3, 2]),
    ]  # fmt: skip
    np.testing.assert_array_equal(
        train.load_variable(path, "model/dense_1/w"), model.dense_1.w.numpy()
    )
    new_model = MySequentialModule()
    new_model(x)  # built first: restoring is not deferred
    status = train.Checkpoint(model=new_model).restore(tmp_path / "my_checkpoint")
    status.assert_consumed().assert_existing_objects_matched().assert_nontrivial_match()
    _assert_identical(_arrays(new_model.variables), _arrays(model.variables))
    np.testing.assert_array_equal(new_model(x).numpy(), before)


def test_save_numbers_files_and_save_counter(tmp_path):
    v = wg.Variable([1.0, 2.0])
    ckpt = train.Checkpoint(v=v)
    prefix = os.path.join(tmp_path, "sub", "ckpt")  # the folder is made
    first = ckpt.save(prefix)
    v.assign([3.0, 4.0])
    second = ckpt.save(prefix)
    assert (first, second) == (prefix + "-1.npz", prefix + "-2.npz")
    assert int(ckpt.save_counter) == 2
    assert train.latest_checkpoint(os.path.dirname(prefix)) == second
    assert train.list_variables(second) == [("save_counter", []), ("v", [2])]
    assert train.load_variable(second, "save_counter") == 2
    written = ckpt.write(tmp_path / "plain")  # write neither creates nor advances the counter
    assert int(ckpt.save_counter) == 2 and written.endswith("plain.npz")
    ckpt.restore(first).assert_consumed()
    assert v.numpy().tolist() == [1.0, 2.0] and int(ckpt.save_counter) == 1
    assert ckpt.save(prefix) == prefix + "-2.npz"  # numbering goes on from the restored count


def test_write_read_without_a_save_counter(tmp_path):
    v = wg.Variable(1.5)
    path = train.Checkpoint(v=v).write(tmp_path / "w")
    assert train.list_variables(path) == [("v", [])]
    other = wg.Variable(0.0)
    train.Checkpoint(v=other).read(path).assert_consumed()
    assert float(other) == 1.5
    fresh = train.Checkpoint(v=other)
    fresh.restore(path).assert_consumed()  # restore made a save_counter; the file has none
    assert int(fresh.save_counter) == 0


def test_checkpoint_paths_of_layers_models_lists_and_root(tmp_path):
    model = wg.Sequential([wg.layers.Input((3,)), wg.layers.Dense(2), wg.layers.Dense(1)])
    extra = [wg.Variable(1.0), {"k": wg.Variable(2.0)}]
    step = wg.Variable(7, dtype="int64")
    path = train.Checkpoint(model=model, extra=extra, step=step).write(tmp_path / "c")
    names = [n for n, _ in train.list_variables(path)]
    assert names == [
        "extra/0", "extra/1/k",
        "model/layers/0/bias", "model/layers/0/kernel",
        "model/layers/1/bias", "model/layers/1/kernel",
        "step",
    ]  # fmt: skip
    root_path = train.Checkpoint(root=SimpleModule(), step=step).write(tmp_path / "r")
    names = [n for n, _ in train.list_variables(root_path)]
    assert names == ["a_variable", "non_trainable_variable", "step"]
    assert train.load_variable(root_path, "step:0") == 7  # TensorFlow's ":0" is taken off


def _training_setup(seed):
    wg.random.set_seed(seed)
    model = wg.Sequential([wg.layers.Input((3,)), wg.layers.Dense(4, activation="tanh")])
    head = Linear(np.full((4, 1), 0.1), [0.0], name="head")
    opt = wg.optimizers.Adam(learning_rate=0.05)
    return model, head, opt


def _step(model, head, opt, x, y):
    variables = model.trainable_variables + head.trainable_variables
    with wg.GradientTape() as tape:
        loss = wg.reduce_mean((head(model(x)) - y) ** 2)
    opt.apply_gradients(zip(tape.gradient(loss, variables), variables))


def test_checkpoint_resumes_training_bit_identically(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((16, 3)).astype(np.float32)
    y = rng.standard_normal((16, 1)).astype(np.float32)
    model, head, opt = _training_setup(0)
    for _ in range(3):
        _step(model, head, opt, x, y)
    path = train.Checkpoint(model=model, head=head, optimizer=opt).save(tmp_path / "ckpt")
    names = [n for n, _ in train.list_variables(path)]
    assert "optimizer/iter" in names
    assert "model/layers/0/kernel/.OPTIMIZER_SLOT/optimizer/m" in names
    assert "head/w/.OPTIMIZER_SLOT/optimizer/v" in names
    saved = _arrays(model.variables + head.variables)
    for _ in range(3):
        _step(model, head, opt, x, y)
    expected = _arrays(model.variables + head.variables)

    model2, head2, opt2 = _training_setup(99)  # other initial weights
    model2(x[:1])
    assert not opt2.built  # built by restore on the variables it was saved with
    train.Checkpoint(model=model2, head=head2, optimizer=opt2).restore(path).assert_consumed()
    _assert_identical(_arrays(model2.variables + head2.variables), saved)
    assert opt2.iterations == 3
    for _ in range(3):
        _step(model2, head2, opt2, x, y)
    _assert_identical(_arrays(model2.variables + head2.variables), expected)


def test_restore_into_a_built_optimizer_matches_slots_by_variable(tmp_path):
    a, b = wg.Variable([1.0, 2.0]), wg.Variable(3.0)
    opt = wg.optimizers.SGD(learning_rate=0.1, momentum=0.9)
    opt.apply_gradients([(wg.constant([1.0, 1.0]), a), (wg.constant(2.0), b)])
    path = train.Checkpoint(a=a, b=b, opt=opt).write(tmp_path / "m")
    a2, b2 = wg.Variable([0.0, 0.0]), wg.Variable(0.0)
    opt2 = wg.optimizers.SGD(learning_rate=0.1, momentum=0.9)
    opt2.build([b2, a2])  # the other order: slots follow their variables, not positions
    train.Checkpoint(a=a2, b=b2, opt=opt2).read(path).assert_consumed()
    state = opt2.get_state()
    np.testing.assert_array_equal(state["momentum/1"], opt.get_state()["momentum/0"])
    np.testing.assert_array_equal(state["momentum/0"], opt.get_state()["momentum/1"])


def test_shape_mismatch_names_variable_and_shapes_and_assigns_nothing(tmp_path):
    path = train.Checkpoint(w=wg.Variable(np.ones((3, 2))), b=wg.Variable(1.0)).write(
        tmp_path / "s"
    )
    w, b = wg.Variable(np.zeros((2, 3))), wg.Variable(0.0)
    with pytest.raises(CheckpointError, match=r"'w'.*\(2, 3\).*\(3, 2\)"):
        train.Checkpoint(w=w, b=b).read(path)
    assert float(b) == 0.0  # nothing restored


def test_missing_and_unused_values(tmp_path):
    a, b = wg.Variable(1.0), wg.Variable(2.0)
    path = train.Checkpoint(a=a).write(tmp_path / "one")
    status = train.Checkpoint(a=wg.Variable(0.0), b=b).read(path)
    with pytest.raises(CheckpointError, match="no value in the checkpoint: 'b'"):
        status.assert_existing_objects_matched()
    with pytest.raises(AssertionError):  # TensorFlow's exception type works too
        status.assert_consumed()

    path = train.Checkpoint(a=a, b=b).write(tmp_path / "two")
    with pytest.warns(UserWarning, match=r"\['b'\]"):
        train.Checkpoint(a=wg.Variable(0.0)).read(path)  # status dropped unchecked
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        train.Checkpoint(a=wg.Variable(0.0)).read(path).expect_partial()
        status = train.Checkpoint(a=wg.Variable(0.0)).read(path)
        with pytest.raises(CheckpointError, match="does not defer restoration"):
            status.assert_consumed()
        del status


def test_restoring_an_unbuilt_model_says_to_build_it(tmp_path):
    wg.random.set_seed(2)
    model = MySequentialModule()
    model(wg.ones([1, 3]))
    path = train.Checkpoint(model=model).write(tmp_path / "m")
    status = train.Checkpoint(model=MySequentialModule()).read(path)
    with pytest.raises(CheckpointError, match=r"'model/dense_1/w' \(3, 3\) float32"):
        status.assert_consumed()
    with pytest.raises(CheckpointError, match="nothing was restored"):
        status.assert_nontrivial_match()


def test_garbled_and_missing_files_raise_checkpoint_error(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04 this is not a zip file")
    ckpt = train.Checkpoint(v=wg.Variable(1.0))
    with pytest.raises(CheckpointError):
        ckpt.restore(bad)
    with pytest.raises(CheckpointError):
        train.list_variables(bad)
    with pytest.raises(CheckpointError):
        ckpt.restore(tmp_path / "nothing_here")
    path = ckpt.write(tmp_path / "ok")
    with pytest.raises(CheckpointError, match="holds no 'u'"):
        train.load_variable(path, "u")
    with pytest.raises(CheckpointError, match="no checkpoint in folder"):
        train.list_variables(tmp_path)


def test_checkpoint_refuses_what_it_cannot_hold():
    with pytest.raises(TypeError, match="x=int"):
        train.Checkpoint(x=3)
    with pytest.raises(TypeError, match="t=Tensor"):
        train.Checkpoint(t=wg.constant(1.0))
    with pytest.raises(TypeError, match="keyword argument"):
        train.Checkpoint(root=wg.Variable(1.0))
    v = wg.Variable(1.0)
    with pytest.raises(ValueError, match="both named 'a/b'"):
        train.Checkpoint(a={"b": v}, **{"a/b": wg.Variable(2.0)}).write("unused")
    ckpt = train.Checkpoint()
    with pytest.raises(TypeError):
        ckpt.name = "not trackable"
    ckpt.step = wg.Variable(1)  # attributes set later are tracked
    with pytest.raises(AttributeError):
        ckpt.save_counter = wg.Variable(0)


# -- CheckpointManager ----------------------------------------------------------------------------
def test_manager_rotates_files_and_keeps_an_index(tmp_path):
    step = wg.Variable(0, dtype="int64")
    ckpt = train.Checkpoint(step=step)
    manager = train.CheckpointManager(ckpt, tmp_path / "run", max_to_keep=3)
    assert manager.latest_checkpoint is None and manager.checkpoints == []
    paths = []
    for _ in range(5):
        step.assign_add(1)
        paths.append(manager.save())
    d = str(tmp_path / "run")
    assert paths == [os.path.join(d, f"ckpt-{i}.npz") for i in range(1, 6)]
    assert manager.checkpoints == paths[2:]
    assert sorted(os.listdir(d)) == ["checkpoint.json", "ckpt-3.npz", "ckpt-4.npz", "ckpt-5.npz"]
    assert manager.latest_checkpoint == train.latest_checkpoint(d) == paths[-1]
    with open(os.path.join(d, "checkpoint.json")) as f:
        index = json.load(f)
    assert index["latest"] == "ckpt-5.npz"
    assert index["checkpoints"] == ["ckpt-3.npz", "ckpt-4.npz", "ckpt-5.npz"]
    assert train.load_variable(paths[-1], "step") == 5

    # a new manager takes over the folder's files and goes on rotating them
    ckpt2 = train.Checkpoint(step=wg.Variable(0, dtype="int64"))
    again = train.CheckpointManager(ckpt2, d, max_to_keep=3)
    assert again.checkpoints == paths[2:]
    assert again.restore_or_initialize() == paths[-1]
    assert int(ckpt2.step) == 5 and int(ckpt2.save_counter) == 5
    again.save(checkpoint_number=100)
    assert [os.path.basename(p) for p in again.checkpoints] == [
        "ckpt-4.npz", "ckpt-5.npz", "ckpt-100.npz"
    ]  # fmt: skip
    assert not os.path.exists(paths[2])
    assert int(ckpt2.save_counter) == 6  # advanced even with an explicit number


def test_manager_options(tmp_path):
    ckpt = train.Checkpoint(v=wg.Variable(1.0))
    keep_all = train.CheckpointManager(
        ckpt, tmp_path / "all", max_to_keep=None, checkpoint_name="m"
    )
    for _ in range(4):
        keep_all.save()
    assert [os.path.basename(p) for p in keep_all.checkpoints] == [
        f"m-{i}.npz" for i in range(1, 5)
    ]
    for bad in (0, -1, 2.5):
        with pytest.raises(ValueError, match="max_to_keep"):
            train.CheckpointManager(ckpt, tmp_path / "x", max_to_keep=bad)
    with pytest.raises(TypeError):
        train.CheckpointManager(object(), tmp_path / "x")
    called = []
    fresh = train.CheckpointManager(ckpt, tmp_path / "empty", init_fn=lambda: called.append(1))
    assert fresh.restore_or_initialize() is None and called == [1]
    step = wg.Variable(0)
    every = train.CheckpointManager(
        ckpt, tmp_path / "every", step_counter=step, checkpoint_interval=10
    )
    assert every.save() is not None
    step.assign(5)
    assert every.save() is None  # fewer than 10 steps since the last
    step.assign(10)
    assert every.save() is not None


def test_index_is_checked(tmp_path):
    (tmp_path / "checkpoint.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="checkpoint.json"):
        train.latest_checkpoint(tmp_path)
    (tmp_path / "checkpoint.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(CheckpointError, match="not a wengert checkpoint index"):
        train.CheckpointManager(train.Checkpoint(), tmp_path)
    assert train.latest_checkpoint(tmp_path / "nothing") is None


def test_one_module_scope_entered_by_two_threads():
    m = Module(name="shared")
    names, barrier = {}, threading.Barrier(2)

    def run(key):
        with m.name_scope:
            barrier.wait()  # both threads inside the same scope object at once
            with name_scope(key):
                names[key] = wg.Variable(1.0, name="v").name
            barrier.wait()
        names[key + "_after"] = wg.Variable(1.0, name="v").name

    threads = [threading.Thread(target=run, args=(k,)) for k in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert names == {"a": "shared/a/v", "b": "shared/b/v", "a_after": "v", "b_after": "v"}


def test_fit_resumes_from_a_checkpoint_of_model_and_optimizer(tmp_path):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((32, 3)).astype(np.float32)
    y = rng.standard_normal((32, 1)).astype(np.float32)

    class WithHead(WithModule):
        def __init__(self):
            super().__init__()
            self.head = wg.layers.Dense(1)

        def call(self, inputs):
            return self.head(self.block(inputs))

    def make(seed):
        wg.random.set_seed(seed)
        model = WithHead()
        model.compile(optimizer=wg.optimizers.RMSprop(learning_rate=0.01), loss="mse")
        model(x[:1])
        return model

    model = make(0)
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    ckpt = train.Checkpoint(model=model, optimizer=model.optimizer)
    manager = train.CheckpointManager(ckpt, tmp_path, max_to_keep=1)
    manager.save()
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)

    resumed = make(1)
    ckpt2 = train.Checkpoint(model=resumed, optimizer=resumed.optimizer)
    ckpt2.restore(train.latest_checkpoint(tmp_path)).assert_consumed()
    assert resumed.optimizer.iterations == 4
    assert len(resumed.variables) == 4  # the module's two and the head's two
    assert not np.array_equal(resumed.head.kernel.numpy(), make(1).head.kernel.numpy())
    resumed.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    _assert_identical(_arrays(resumed.variables), _arrays(model.variables))
