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
    for bad in (3, None):  # TensorFlow: ValueError, "name for name_scope must be a string"
        with pytest.raises(ValueError, match="str"):
            name_scope(bad)


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


# -- layers inside Modules inside models --------------------------------------------------------
class _Block(Module):
    def __init__(self, name=None):
        super().__init__(name=name)
        self.dense = wg.layers.Dense(4, kernel_regularizer=wg.regularizers.L2(1.0))
        self.drop = wg.layers.Dropout(0.5, seed=1)
        self.scale = wg.Variable(2.0, name="scale")

    def __call__(self, x, training=None):
        return self.drop(self.dense(x), training=training) * self.scale


class _Net(wg.models.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.block = _Block()
        self.out = wg.layers.Dense(1)

    def call(self, x, training=None):
        return self.out(self.block(x, training=training))


class _AddsLoss(wg.layers.Layer):
    def call(self, x):
        self.add_loss(wg.reduce_sum(x))
        return x


def test_layers_inside_a_module_count_for_losses_streams_summary_and_trainable():
    x = np.ones((2, 3), np.float32)
    net = _Net()
    net(x)
    kernel = net.block.dense.kernel.numpy()
    # the inner Dense's L2 penalty is the model's (and so fit's)
    (penalty,) = net.losses
    np.testing.assert_allclose(float(penalty), np.sum(kernel**2), rtol=1e-6)
    # weight order unchanged: the module's variables where the module is
    assert [tuple(w.shape) for w in net.weights] == [(), (3, 4), (4,), (4, 1), (1,)]
    # the inner Dropout's stream is one of the model's (Model.save's random streams)
    gens = net._generators()
    assert gens["layer:block.drop"] is net.block.drop.generator
    assert "wengert.random" in gens
    # summary: one row per Module, so that the rows add up to the total
    lines = []
    net.summary(print_fn=lines.append)
    text = lines[0]
    assert "block (_Block)" in text and "17" in text and "Total params: 22" in text
    # freezing the model freezes the layers inside the module, as any sublayer
    net.trainable = False
    assert not net.block.dense.trainable and not net.block.drop.trainable
    net.trainable = True
    assert net.block.dense.trainable

    # add_loss terms of a layer inside a module: collected, and cleared by the next call
    class Holder(wg.models.Model):
        def __init__(self):
            super().__init__()
            self.mod = Module()
            self.mod.inner = _AddsLoss()

        def call(self, x):
            return self.mod.inner(x)

    holder = Holder()
    holder(np.ones((1, 2), np.float32))
    holder(np.full((1, 2), 3.0, np.float32))
    assert [float(v) for v in holder.losses] == [6.0]


def test_fit_minimises_the_penalty_of_a_layer_inside_a_module():
    wg.random.set_seed(0)
    net = _Net()
    net.compile(optimizer=wg.optimizers.SGD(0.005), loss="mse")
    x, y = np.ones((4, 3), np.float32), np.zeros((4, 1), np.float32)
    pred = net(x)
    mse = float(np.mean(pred.numpy() ** 2))
    penalty = float(np.sum(net.block.dense.kernel.numpy() ** 2))
    total = float(net.compute_loss(x, y, pred))
    np.testing.assert_allclose(total, mse + penalty, rtol=1e-5)
    # fit's gradient includes the penalty's: 2 * kernel on top of the data term
    kernel = net.block.dense.kernel.numpy()
    with wg.GradientTape() as tape:
        loss = net.compute_loss(x, y, net(x, training=True))
    grad = tape.gradient(loss, net.block.dense.kernel).numpy()
    with wg.GradientTape() as tape:
        data_only = wg.reduce_mean(wg.square(net(x, training=True)))
    assert not np.allclose(grad, tape.gradient(data_only, net.block.dense.kernel).numpy())
    net.fit(x, y, epochs=3, batch_size=4, verbose=0)
    assert np.sum(net.block.dense.kernel.numpy() ** 2) < np.sum(kernel**2)


def test_plain_model_summary_is_unchanged():
    model = wg.Sequential([wg.layers.Input((3,)), wg.layers.Dense(2, name="d")])
    lines = []
    model.summary(print_fn=lines.append)
    rows = [line for line in lines[0].splitlines() if "(" in line and "Layer" not in line]
    assert len(rows) == 1 and rows[0].startswith("d (Dense)")


# -- restore(None) ----------------------------------------------------------------------------
def test_restore_none_is_an_initialization_only_status(tmp_path):
    v = wg.Variable(1.0)
    ckpt = train.Checkpoint(v=v)
    manager = train.CheckpointManager(ckpt, tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        status = ckpt.restore(manager.latest_checkpoint)  # TensorFlow's first-run idiom
        assert isinstance(status, train.InitializationOnlyStatus)
        assert status.expect_partial() is status
        for check in (
            status.assert_consumed,
            status.assert_nontrivial_match,
            status.assert_existing_objects_matched,
        ):
            with pytest.raises(AssertionError, match="save_path=None"):
                check()
        with pytest.raises(CheckpointError):
            ckpt.read(None).assert_consumed()
        del status
    assert float(v) == 1.0


# -- a crafted or garbled index -------------------------------------------------------------------
def test_a_crafted_index_cannot_make_the_manager_delete_files_elsewhere(tmp_path):
    folder, outside = tmp_path / "ckpts", tmp_path / "other"
    folder.mkdir()
    outside.mkdir()
    victim = outside / "thesis.tex"
    victim.write_text("precious")
    base = {
        "format": "wengert-checkpoint-index",
        "last_preserved_timestamp": None,
        "timestamps": [1.0],
    }
    ckpt = train.Checkpoint(v=wg.Variable(1.0))
    for name in ("../other/thesis.tex", str(victim), "..", "sub/ckpt-1.npz", "ckpt-1"):
        (folder / "checkpoint.json").write_text(
            json.dumps({**base, "latest": name, "checkpoints": [name]})
        )
        with pytest.raises(CheckpointError):
            train.latest_checkpoint(folder)
        with pytest.raises(CheckpointError):
            train.CheckpointManager(ckpt, folder, max_to_keep=1)
    assert victim.read_text() == "precious"
    # a plain name of another prefix in the index is dropped from the list, never deleted
    (folder / "other-1.npz").write_bytes(b"x")
    (folder / "checkpoint.json").write_text(
        json.dumps({**base, "latest": "other-1.npz", "checkpoints": ["other-1.npz"]})
    )
    manager = train.CheckpointManager(ckpt, folder, max_to_keep=1)
    manager.save()
    assert (folder / "other-1.npz").exists()
    assert [os.path.basename(p) for p in manager.checkpoints] == ["ckpt-1.npz"]
    with pytest.raises(ValueError, match="checkpoint_name"):
        train.CheckpointManager(ckpt, folder, checkpoint_name="../ckpt")


@pytest.mark.parametrize(
    "key, value",
    [
        ("latest", 5),
        ("latest", ["x"]),
        ("timestamps", ["abc"]),
        ("timestamps", [None]),
        ("timestamps", [True]),
        ("timestamps", [1e400]),
        ("last_preserved_timestamp", "abc"),
        ("last_preserved_timestamp", [1]),
    ],
)
def test_garbled_index_fields_raise_checkpoint_error(tmp_path, key, value):
    record = {
        "format": "wengert-checkpoint-index",
        "latest": "ckpt-1.npz",
        "checkpoints": ["ckpt-1.npz"],
        "timestamps": [1.0],
        "last_preserved_timestamp": None,
        key: value,
    }
    (tmp_path / "ckpt-1.npz").write_bytes(b"")
    (tmp_path / "checkpoint.json").write_text(json.dumps(record))
    with pytest.raises(CheckpointError):
        train.latest_checkpoint(tmp_path)
    with pytest.raises(CheckpointError):
        train.CheckpointManager(train.Checkpoint(v=wg.Variable(1.0)), tmp_path)


@pytest.mark.parametrize(
    "optimizer_variables",
    [["v"], "v", {"optimizer": "v"}, {"optimizer": [["v"]]}, {"optimizer": ["v", "v"]}],
)
def test_garbled_optimizer_metadata_raises_checkpoint_error(tmp_path, optimizer_variables):
    path = tmp_path / "craft.npz"
    meta = {"kind": "object_checkpoint", "optimizer_variables": optimizer_variables}
    checkpoints.save(path, {"v": np.array(1.0, np.float32)}, meta)
    v, opt = wg.Variable(0.0), wg.optimizers.Adam()
    with pytest.raises(CheckpointError, match="optimizer_variables"):
        train.Checkpoint(v=v, optimizer=opt).restore(path)
    assert float(v) == 0.0 and not opt.built


def _mutate(rnd, data: bytes) -> bytes:
    b = bytearray(data)
    kind = rnd.randrange(6)
    if kind == 0:
        for _ in range(rnd.randint(1, 4)):
            b[rnd.randrange(len(b))] = rnd.randrange(256)
    elif kind == 1:
        b = b[: rnd.randrange(len(b))]
    elif kind == 2:
        i = rnd.randrange(len(b))
        b[i:i] = bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 8)))
    elif kind == 3:
        i = rnd.randrange(len(b))
        del b[i : i + rnd.randint(1, 16)]
    elif kind == 4:
        b[rnd.randrange(len(b))] ^= 1 << rnd.randrange(8)
    else:
        i, j = rnd.randrange(len(b)), rnd.randrange(len(b))
        b[i : i + 4] = b[j : j + 4]
    return bytes(b)


def _fuzz_call(failures, trial, call) -> bool:
    """Whether ``call()`` succeeded; anything raised but a CheckpointError is a failure."""
    try:
        call()
    except CheckpointError:
        return False
    except Exception as e:  # noqa: BLE001 - what the fuzz test looks for
        failures.append((trial, type(e).__name__, str(e)[:100]))
        return False
    return True


def test_fuzzed_files_metadata_and_indexes_raise_only_checkpoint_error(tmp_path):
    import random

    def make():
        model = wg.Sequential([wg.layers.Dense(3), wg.layers.Dropout(0.5, seed=2)])
        model(wg.ones((1, 2)))
        return model

    model, opt = make(), wg.optimizers.Adam()
    with wg.GradientTape() as tape:
        loss = wg.reduce_sum(model(wg.ones((2, 2))))
    opt.apply_gradients(
        zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables)
    )
    saved = tmp_path / "saved"
    manager = train.CheckpointManager(train.Checkpoint(model=model, optimizer=opt), saved)
    path = manager.save()
    manager.save()
    good = open(path, "rb").read()
    good_index = (saved / "checkpoint.json").read_bytes()
    arrays, meta = checkpoints.load(path)
    meta_text = json.dumps({k: v for k, v in meta.items() if k not in ("format", "format_version")})
    target, index_dir = tmp_path / "fuzz.npz", tmp_path / "index"
    index_dir.mkdir()
    for name in ("ckpt-1.npz", "ckpt-2.npz"):
        (index_dir / name).write_bytes(good)
    rnd = random.Random(1)
    model2, opt2 = make(), wg.optimizers.Adam()
    before = model2.get_weights()
    stream = model2.layers[1].generator.get_state()
    failures, tried = [], 0
    for trial in range(4000):
        kind = trial % 3
        if kind == 0:
            target.write_bytes(_mutate(rnd, good))
            where = target
        elif kind == 1:  # a valid file with garbled metadata (past the zip's checksums)
            try:
                new_meta = json.loads(_mutate(rnd, meta_text.encode()).decode())
                checkpoints.save(target, arrays, new_meta)
            except Exception:  # noqa: BLE001 - not valid JSON or not savable: skip
                continue
            where = target
        else:
            (index_dir / "checkpoint.json").write_bytes(_mutate(rnd, good_index))
            where = index_dir
        tried += 1
        other = where if kind == 2 else saved
        restored = _fuzz_call(
            failures,
            trial,
            lambda m=model2, o=opt2, w=where: (
                train.Checkpoint(model=m, optimizer=o).restore(w).expect_partial()
            ),
        )
        _fuzz_call(failures, trial, lambda w=where: train.list_variables(w))
        _fuzz_call(failures, trial, lambda w=other: train.latest_checkpoint(w))
        _fuzz_call(failures, trial, lambda w=other: train.CheckpointManager(train.Checkpoint(), w))
        if not restored:  # a failed restore changes nothing
            assert all(np.array_equal(a, b) for a, b in zip(before, model2.get_weights()))
            assert model2.layers[1].generator.get_state() == stream
            assert not opt2.built
        else:  # start again from fresh objects
            model2, opt2 = make(), wg.optimizers.Adam()
            before = model2.get_weights()
            stream = model2.layers[1].generator.get_state()
    assert tried > 3000
    assert not failures, failures[:5]


# -- a failed restore changes nothing ----------------------------------------------------------
@pytest.mark.parametrize(
    "name, value",
    [
        ("w/.OPTIMIZER_SLOT/optimizer/m", np.array(["a", "b"])),
        ("w/.OPTIMIZER_SLOT/optimizer/m", np.array([1j, 2j])),
        ("w/.OPTIMIZER_SLOT/optimizer/m", np.array([True, False])),
        ("w/.OPTIMIZER_SLOT/optimizer/m", np.array([1, 2])),
        ("optimizer/iter", np.array(1.5)),
        ("optimizer/iter", np.array(-3, np.int64)),
        ("optimizer/iter", np.array([1, 2])),
        ("optimizer/learning_rate", np.array(-1.0)),
        ("optimizer/learning_rate", np.array([0.1, 0.2])),
    ],
)
def test_a_bad_optimizer_state_restores_nothing(tmp_path, name, value):
    w = wg.Variable(np.ones(2, np.float32))
    opt = wg.optimizers.Adam()
    opt.apply_gradients([(wg.constant([1.0, 1.0]), w)])
    good = train.Checkpoint(w=w, optimizer=opt).write(tmp_path / "good")
    arrays, meta = checkpoints.load(good)
    meta = {k: v for k, v in meta.items() if k not in ("format", "format_version")}
    bad = tmp_path / "bad.npz"
    checkpoints.save(bad, {**arrays, name: value}, meta)
    # an unbuilt optimizer stays unbuilt, the variable unassigned
    w2, opt2 = wg.Variable(np.zeros(2, np.float32)), wg.optimizers.Adam()
    with pytest.raises(CheckpointError, match="nothing was restored"):
        train.Checkpoint(w=w2, optimizer=opt2).read(bad)
    assert not opt2.built and opt2.iterations == 0
    np.testing.assert_array_equal(w2.numpy(), [0.0, 0.0])
    # a built one keeps its slots, step count and learning rate
    w3, opt3 = wg.Variable(np.zeros(2, np.float32)), wg.optimizers.Adam(0.5)
    opt3.apply_gradients([(wg.constant([2.0, 2.0]), w3)])
    state, kept = opt3.get_state(), w3.numpy()
    with pytest.raises(CheckpointError):
        train.Checkpoint(w=w3, optimizer=opt3).read(bad)
    np.testing.assert_array_equal(w3.numpy(), kept)
    assert opt3.learning_rate == 0.5
    for key, array in opt3.get_state().items():
        np.testing.assert_array_equal(array, state[key])


def test_validate_state_checks_without_building():
    w = wg.Variable([1.0, 2.0])
    opt = wg.optimizers.Adam()
    good = {"iterations": np.int64(2), "m/0": np.zeros(2), "v/0": np.zeros(2)}
    opt.validate_state(good, [w])
    assert not opt.built and opt.get_state().keys() == {"iterations"}
    for bad in (
        {**good, "m/0": np.zeros(3)},
        {**good, "m/0": np.zeros(2, complex)},
        {**good, "iterations": np.float64(2)},
        {"iterations": np.int64(2), "m/0": np.zeros(2)},
    ):
        with pytest.raises(ValueError, match="set_state"):
            opt.validate_state(bad, [w])
    assert not opt.built
    opt.build([w])
    with pytest.raises(ValueError, match="dtype"):
        opt.set_state({**good, "v/0": np.zeros(2, bool)})


# -- what a checkpoint reaches ------------------------------------------------------------------
def test_optimizers_reached_through_a_module_or_a_compiled_model_are_saved(tmp_path):
    x, y = np.ones((8, 3), np.float32), np.zeros((8, 1), np.float32)
    model = wg.Sequential([wg.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, epochs=1, verbose=0)
    names = [
        n for n, _ in train.list_variables(train.Checkpoint(model=model).write(tmp_path / "a"))
    ]
    assert "model/optimizer/iter" in names
    assert "model/layers/0/kernel/.OPTIMIZER_SLOT/model/optimizer/m" in names

    class Trainer(Module):
        def __init__(self, model):
            super().__init__()
            self.model = model
            self._opt = wg.optimizers.SGD(momentum=0.9)  # private: TensorFlow tracks it too
            self.step = wg.Variable(0)

    trainer = Trainer(model)
    trainer._opt.build(model.trainable_variables)
    path = train.Checkpoint(trainer=trainer).write(tmp_path / "b")
    names = [n for n, _ in train.list_variables(path)]
    assert "trainer/_opt/iter" in names and "trainer/model/optimizer/iter" in names
    # given directly too, the optimizer keeps the shorter name (TensorFlow's first path)
    path = train.Checkpoint(model=model, optimizer=model.optimizer).write(tmp_path / "c")
    names = [n for n, _ in train.list_variables(path)]
    assert "optimizer/iter" in names and "model/optimizer/iter" not in names
    # and restores
    model2 = wg.Sequential([wg.layers.Dense(1)])
    model2.compile(optimizer="adam", loss="mse")
    model2(x[:1])
    train.Checkpoint(model=model2).read(tmp_path / "a.npz").assert_consumed()
    assert model2.optimizer.iterations == model.optimizer.iterations


def test_a_float_learning_rate_is_saved_and_restored_a_schedule_is_not(tmp_path):
    w = wg.Variable([1.0])
    opt = wg.optimizers.Adam(0.1)
    opt.apply_gradients([(wg.constant([1.0]), w)])
    opt.learning_rate = 0.001  # as ReduceLROnPlateau lowers it
    path = train.Checkpoint(w=w, optimizer=opt).write(tmp_path / "c")
    assert train.load_variable(path, "optimizer/learning_rate") == 0.001
    opt2 = wg.optimizers.Adam(0.1)
    train.Checkpoint(w=w, optimizer=opt2).read(path).assert_consumed()
    assert opt2.learning_rate == 0.001  # exactly: saved as float64
    schedule = wg.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
    sched = wg.optimizers.Adam(schedule)
    sched.build([w])
    path = train.Checkpoint(w=w, optimizer=sched).write(tmp_path / "s")
    assert "optimizer/learning_rate" not in dict(train.list_variables(path))


def test_fit_with_dropout_and_shuffling_resumes_bit_identically(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 5)).astype(np.float32)
    y = rng.normal(size=(64, 1)).astype(np.float32)

    def make(seed):
        wg.random.set_seed(seed)
        model = wg.Sequential(
            [
                wg.layers.Dense(8, activation="relu"),
                wg.layers.Dropout(0.3),  # its stream seeded from the global one
                wg.layers.Dense(1),
            ]
        )
        model.compile(optimizer=wg.optimizers.Adam(0.01), loss="mse")
        model(wg.ones((1, 5)))
        return model

    model = make(0)
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)  # shuffle=True
    path = train.Checkpoint(model=model, optimizer=model.optimizer).save(tmp_path / "c")
    names = [n for n, _ in train.list_variables(path)]
    assert not any("random" in n for n in names)  # streams live in the metadata
    _, meta = checkpoints.load(path)
    assert set(meta["generators"]) == {"model/layers/1/generator", "model/_fit_shuffle"}
    model.fit(x, y, epochs=4, initial_epoch=2, batch_size=16, verbose=0)

    resumed = make(5)  # other weights, streams and global seed
    status = train.Checkpoint(model=resumed, optimizer=resumed.optimizer).restore(path)
    status.assert_consumed()
    wg.random.set_seed(123)  # the global stream is not the checkpoint's: unused here
    resumed.fit(x, y, epochs=4, initial_epoch=2, batch_size=16, verbose=0)
    _assert_identical(_arrays(resumed.variables), _arrays(model.variables))


def test_generators_held_by_modules_and_given_directly_are_restored(tmp_path):
    mod = Module()
    mod._gen = wg.random.Generator(3)
    seed = wg.random.SeedGenerator(7)
    path = train.Checkpoint(mod=mod, seed=seed).write(tmp_path / "g")
    first = (mod._gen.normal((3,)).numpy(), seed.normal((3,)).numpy())
    mod2, seed2 = Module(), wg.random.SeedGenerator(1)
    mod2._gen = wg.random.Generator(99)
    train.Checkpoint(mod=mod2, seed=seed2).read(path).assert_consumed()
    np.testing.assert_array_equal(mod2._gen.normal((3,)).numpy(), first[0])
    np.testing.assert_array_equal(seed2.normal((3,)).numpy(), first[1])
    # a garbled stream state restores nothing
    arrays, meta = checkpoints.load(path)
    meta = {k: v for k, v in meta.items() if k not in ("format", "format_version")}
    meta["generators"]["mod/_gen"] = {"bit_generator": "PCG64", "state": "x"}
    checkpoints.save(tmp_path / "bad.npz", arrays, meta)
    before = seed2.get_state()
    with pytest.raises(CheckpointError, match="random stream 'mod/_gen'"):
        train.Checkpoint(mod=mod2, seed=seed2).read(tmp_path / "bad.npz")
    assert seed2.get_state() == before


# -- the manager ----------------------------------------------------------------------------------
def test_restore_or_initialize_sets_the_interval_baseline(tmp_path):
    step = wg.Variable(0, dtype="int64")
    manager = train.CheckpointManager(
        train.Checkpoint(step=step), tmp_path, step_counter=step, checkpoint_interval=10
    )
    for s in range(25):
        step.assign(s)
        manager.save()
    step2 = wg.Variable(0, dtype="int64")
    manager2 = train.CheckpointManager(
        train.Checkpoint(step=step2), tmp_path, step_counter=step2, checkpoint_interval=10
    )
    assert manager2.restore_or_initialize().endswith("ckpt-3.npz") and int(step2) == 20
    step2.assign(21)
    assert manager2.save() is None  # as TensorFlow: the last save was at step 20
    step2.assign(30)
    assert manager2.save() is not None


def test_the_manager_removes_its_own_stale_temporary_files(tmp_path):
    stale = [".ckpt-3.npz.abc123_x.tmp", ".ckpt-7.safetensors.q1w2e3r4.tmp"]
    kept = [".other-3.npz.abc123_x.tmp", ".fixed.npz.abcdefgh.tmp", "ckpt-3.npz.tmp", "notes.tmp"]
    for name in stale + kept:
        (tmp_path / name).write_bytes(b"partial")
    manager = train.CheckpointManager(train.Checkpoint(v=wg.Variable(1.0)), tmp_path)
    manager.save()
    left = set(os.listdir(tmp_path))
    assert not left & set(stale)
    assert set(kept) <= left


def test_the_unrestored_values_warning_points_at_the_restore_call(tmp_path):
    import gc

    a, b = wg.Variable(1.0), wg.Variable(2.0)
    path = train.Checkpoint(a=a, b=b).write(tmp_path / "two")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        status = train.Checkpoint(a=a).read(path)
        del status
        gc.collect()
    (warning,) = [w for w in caught if "not restored" in str(w.message)]
    assert warning.filename == __file__


def test_restoring_into_an_unbuilt_model_warns_at_once(tmp_path):
    # TensorFlow would defer these values until the layers build; wengert says so at once,
    # even when the status is kept (where a dropped status's warning would never come).
    built = wg.Sequential([wg.layers.Dense(3)])
    built(np.ones((1, 2), "float32"))
    path = train.Checkpoint(model=built).write(str(tmp_path / "m"))
    fresh = wg.Sequential([wg.layers.Dense(3)])
    with pytest.warns(UserWarning, match=r"not restored because .*Dense '.*' has no weights yet"):
        status = train.Checkpoint(model=fresh).read(path)
    status.expect_partial()
    fresh(np.ones((1, 2), "float32"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        train.Checkpoint(model=fresh).read(path).assert_consumed()
    np.testing.assert_array_equal(fresh.get_weights()[0], built.get_weights()[0])
