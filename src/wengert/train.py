"""``tf.train``'s object checkpoints: ``Checkpoint``, ``CheckpointManager`` and readers.

A ``Checkpoint`` saves the Variables reachable from the objects it is given (Variables,
``Module`` s, Keras layers and models, optimizers, and lists or dicts of them) into one
file, each under its path in the object graph: ``model/dense_1/w``, an optimizer's step
count as ``optimizer/iter`` and its slots beside the variable they belong to
(``model/dense_1/w/.OPTIMIZER_SLOT/optimizer/m``), as TensorFlow names them.  Files are
wengert checkpoints (``wengert.checkpoints``): ``.npz`` by default, written atomically,
never pickled.

Beside the variables, a checkpoint holds what resuming bit for bit needs: an optimizer's
learning rate when it is a float (``optimizer/learning_rate``), and the states of the
random streams the objects hold (a Dropout's ``generator``, any ``wg.random.Generator``
attribute, a model's fit shuffling stream), in the file's metadata under their paths.  The
global stream is left out, as TensorFlow leaves out its global generator.  Optimizers
are found through Modules and models too: a compiled model's is "model/optimizer".

Unlike TensorFlow, restoring is not deferred: the objects must exist, with their
variables built, when ``restore`` runs.  An unbuilt optimizer is the one exception: it is
built on the variables it was saved with.

Example:
    >>> import os, tempfile
    >>> import wengert as wg
    >>> from wengert import train
    >>> v = wg.Variable([1.0, 2.0])
    >>> ckpt = train.Checkpoint(v=v)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = ckpt.save(os.path.join(d, "ckpt"))
    ...     _ = v.assign([0.0, 0.0])
    ...     _ = ckpt.restore(path).assert_consumed()
    ...     print(os.path.basename(path), train.list_variables(path))
    ckpt-1.npz [('save_counter', []), ('v', [2])]
    >>> v.numpy()
    array([1., 2.], dtype=float32)
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import sys
import time
import warnings

from . import checkpoints
from .backend import xp
from .checkpoints import CheckpointError
from .layers.base import Layer
from .module import Module, _leaves
from .optimizers import Optimizer
from .random import Generator, SeedGenerator
from .tensor import Variable

__all__ = [
    "Checkpoint",
    "CheckpointAssertionError",
    "CheckpointLoadStatus",
    "CheckpointManager",
    "InitializationOnlyStatus",
    "latest_checkpoint",
    "list_variables",
    "load_variable",
]

_SUFFIXES = (".npz", ".safetensors")
_INDEX = "checkpoint.json"  # CheckpointManager's record of its files (TensorFlow's "checkpoint")
_INDEX_FORMAT = "wengert-checkpoint-index"
_SLOT = ".OPTIMIZER_SLOT"
# checkpoints._atomic_write's temporary files: ".<file name (200 chars at most)>.<random>.tmp"
_TEMPORARY = re.compile(r"\.(.{1,200})\.[A-Za-z0-9_]+\.tmp")


class CheckpointAssertionError(CheckpointError, AssertionError):
    """What ``assert_consumed`` raises: a CheckpointError that is also TensorFlow's
    AssertionError, so that either ``except`` catches it."""


# -- file names ----------------------------------------------------------------------------------
def _file_for_writing(path) -> str:
    """``path``, with ".npz" added unless it names a format already."""
    path = os.fspath(path)
    return path if path.endswith(_SUFFIXES) else path + ".npz"


def _file_for_reading(path) -> str:
    """The file ``path`` names: itself, else ``path + ".npz"``, else the latest checkpoint
    of the folder ``path`` (as TensorFlow's readers take a folder)."""
    path = os.fspath(path)
    if os.path.isdir(path):
        latest = latest_checkpoint(path)
        if latest is None:
            raise CheckpointError(f"no checkpoint in folder {path!r} (no {_INDEX} there)")
        return latest
    if os.path.exists(path) or path.endswith(_SUFFIXES):
        return path
    return path + ".npz"


def _load(path) -> tuple[dict, dict, str]:
    file = _file_for_reading(path)
    arrays, meta = checkpoints.load(file)
    return arrays, meta, file


# -- the object graph ----------------------------------------------------------------------------
def _supported(value) -> bool:
    if isinstance(value, (Variable, Module, Layer, Optimizer, Generator)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_supported(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _supported(v) for k, v in value.items())
    return False


class _FitShuffle:
    """A model's ``fit`` shuffling stream (``model._shuffle``), made when first needed: a
    checkpoint saves it when it exists and restores it, making it if need be, so that
    ``fit(shuffle=True)`` resumes bit for bit."""

    def __init__(self, model):
        self.model = model

    def exists(self) -> bool:
        return isinstance(getattr(self.model, "_shuffle", None), Generator)

    def get_state(self) -> dict:
        return self.model._shuffle.get_state()

    def set_state(self, state: dict) -> None:
        if not self.exists():
            self.model._shuffle = Generator(0)
        self.model._shuffle.set_state(state)


class _Graph:
    """What a checkpoint holds, found from the (name, object) pairs it is given.

    ``variables``: {path: Variable}; ``paths``: {id(variable): path} (a variable reached
    twice keeps its first path); ``optimizers``: [(path, Optimizer)], those given directly
    first, then those reached through Modules and layers (a compiled model's
    ``optimizer`` is "model/optimizer", as TensorFlow names it); ``generators``: {path:
    random stream}, the ``wg.random.Generator`` s the objects hold (a layer's
    ``generator``, any Generator attribute, a model's fit shuffling stream), never the
    global one, which TensorFlow's checkpoints leave out too.
    """

    def __init__(self, objects: list):
        self.variables, self.paths, self.optimizers, self.generators = {}, {}, [], {}
        self._nested = []  # optimizers reached through objects: added after direct ones
        self._visited = set()
        for name, obj in objects:
            leaf = isinstance(obj, (Variable, Generator))
            self._visit(name if leaf or not name else f"{name}/", obj)
        for path, optimizer in self._nested:
            self._add_optimizer(path, optimizer)

    def _add_variable(self, path: str, var) -> None:
        if id(var) in self.paths:
            return
        if path in self.variables:
            raise ValueError(f"Checkpoint: two variables are both named {path!r}")
        self.paths[id(var)] = path
        self.variables[path] = var

    def _add_optimizer(self, path: str, optimizer) -> None:
        if all(o is not optimizer for _, o in self.optimizers):
            self.optimizers.append((path.rstrip("/"), optimizer))

    def _add_generator(self, path: str, generator) -> None:
        if all(g is not generator for g in self.generators.values()):
            self.generators[path.rstrip("/")] = generator

    def _visit(self, path: str, obj) -> None:
        if isinstance(obj, Variable):
            self._add_variable(path, obj)
        elif isinstance(obj, (Module, Layer)):
            for sub_path, var, _ in obj._variables():
                self._add_variable(f"{path}{sub_path.replace('.', '/')}", var)
            self._extras(path, obj)
        elif isinstance(obj, Optimizer):
            self._add_optimizer(path, obj)
        elif isinstance(obj, Generator):
            self._add_generator(path, obj)
        elif isinstance(obj, (list, tuple)):
            for i, item in enumerate(obj):
                leaf = isinstance(item, (Variable, Generator))
                self._visit(f"{path}{i}" if leaf else f"{path}{i}/", item)
        elif isinstance(obj, dict):
            for key in sorted(obj):
                item = obj[key]
                leaf = isinstance(item, (Variable, Generator))
                self._visit(f"{path}{key}" if leaf else f"{path}{key}/", item)

    def _extras(self, path: str, obj) -> None:
        """The optimizers and random streams under a Module or layer (its variables come
        from its own ``_variables``): a Module's attributes, private ones too (as
        TensorFlow walks them), a layer's public ones, and what they hold in turn."""
        if id(obj) in self._visited:
            return
        self._visited.add(id(obj))
        if isinstance(obj, Module):
            state = vars(obj)
            items = [item for key in sorted(state) for item in _leaves(key, state[key])]
        else:
            items = [(k, v) for k, v in obj._walk() if isinstance(v, (Layer, Module))]
            items += [
                (k, v)
                for k, v in vars(obj).items()
                if k[0] != "_" and isinstance(v, (Generator, Optimizer))
            ]
        for key, value in items:
            sub = f"{path}{key.replace('.', '/')}"
            if isinstance(value, Optimizer):
                self._nested.append((sub, value))
            elif isinstance(value, Generator):
                self._add_generator(sub, value)
            elif isinstance(value, (Module, Layer)):
                self._extras(f"{sub}/", value)
        if isinstance(obj, Layer) and hasattr(obj, "_shuffle") and hasattr(obj, "_generators"):
            self.generators.setdefault(f"{path}_fit_shuffle", _FitShuffle(obj))


def _graph(objects: list) -> _Graph:
    return _Graph(objects)


def _optimizer_names(prefix: str, keys, owned: list, paths: dict) -> dict:
    """``{name in the file: key of optimizer.get_state()}``.  A slot of a variable that
    the checkpoint holds is named after it, as TensorFlow's: "<var path>/.OPTIMIZER_SLOT/
    <optimizer path>/<slot>"; the step count is "<optimizer path>/iter"."""
    names = {}
    for key in keys:
        slot, _, index = key.rpartition("/")
        if key == "iterations":
            names[f"{prefix}/iter"] = key
        elif (
            slot and index.isdigit() and int(index) < len(owned) and id(owned[int(index)]) in paths
        ):
            names[f"{paths[id(owned[int(index)])]}/{_SLOT}/{prefix}/{slot}"] = key
        else:
            names[f"{prefix}/{key}"] = key
    return names


def _as_array(var: Variable):
    a = var.numpy()
    return a if var.ndim else xp.asarray(a)


def _float_learning_rate(optimizer) -> float | None:
    """The optimizer's learning rate when it is a number (a schedule or callable: None)."""
    lr = getattr(optimizer, "_learning_rate", None)
    return None if callable(lr) or lr is None else float(lr)


def _generator_problem(generator, state) -> str | None:
    """Why ``generator.set_state(state)`` would fail (checked on a scratch stream), or None."""
    if isinstance(generator, SeedGenerator):
        pair = state.get("seed_generator") if isinstance(state, dict) else None
        ok = isinstance(pair, list) and len(pair) == 2
        if not (ok and all(type(v) is int and -(2**63) <= v < 2**63 for v in pair)):
            return "expected a SeedGenerator's state, with 'seed_generator': [seed, counter]"
        return None
    if not isinstance(state, dict):
        return f"expected a dict, got {type(state).__name__}"
    try:
        bits = Generator(0)._rng.bit_generator
        if isinstance(generator, Generator):
            bits = type(generator._rng.bit_generator)()
        bits.state = state
    except Exception as e:  # noqa: BLE001 - NumPy's setter raises several kinds
        return f"{type(e).__name__}: {e}"
    return None


def _is_number(value) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


def _checked_meta(meta, file: str) -> tuple[dict, dict]:
    """The metadata's ``optimizer_variables`` ({optimizer path: [variable path or None]})
    and ``generators`` ({path: state}), checked: CheckpointError if garbled."""

    def refuse(what):
        return CheckpointError(f"checkpoint {file!r} has malformed metadata: {what}")

    if not isinstance(meta, dict):
        raise refuse("expected a JSON object")
    lists = meta.get("optimizer_variables")
    lists = {} if lists is None else lists
    if not isinstance(lists, dict):
        raise refuse("optimizer_variables is not a dict")
    for prefix, names in lists.items():
        if not (isinstance(names, list) and all(n is None or isinstance(n, str) for n in names)):
            raise refuse(f"optimizer_variables[{prefix!r}] is not a list of str or None")
        given = [n for n in names if n is not None]
        if len(set(given)) != len(given):
            raise refuse(f"optimizer_variables[{prefix!r}] names a variable twice")
    states = meta.get("generators")
    states = {} if states is None else states
    if not isinstance(states, dict):
        raise refuse("generators is not a dict")
    return lists, states


# -- restore status ------------------------------------------------------------------------------
class CheckpointLoadStatus:
    """What ``Checkpoint.restore`` matched: check it with the ``assert_*`` methods.

    ``restore`` has already assigned every variable the file and the objects share.
    Values of the file that no object took ("unused"), and objects the file had no value
    for ("unrestored"), are allowed; the assertions refuse them.  If the file held values
    that no object took and none of ``assert_consumed``/``expect_partial`` is called, a
    warning names them when the status is dropped (TensorFlow's warning).

    Example:
        >>> import os, tempfile
        >>> import wengert as wg
        >>> from wengert import train
        >>> a, b = wg.Variable(1.0), wg.Variable(2.0)
        >>> with tempfile.TemporaryDirectory() as d:
        ...     path = train.Checkpoint(a=a, b=b).write(os.path.join(d, "two"))
        ...     status = train.Checkpoint(a=a).read(path)
        >>> _ = status.assert_existing_objects_matched()
        >>> status.assert_consumed()
        Traceback (most recent call last):
        ...
        wengert.train.CheckpointAssertionError: ... 'b' () float32 ...
    """

    def __init__(self, path: str, unused: dict, unrestored: list, matched: int):
        self._where = _caller()  # where the warning points: the user's restore call
        self._path = path
        self._unused = unused  # name -> (shape, dtype) of values no object took
        self._unrestored = unrestored  # paths of objects the file had no value for
        self._matched = matched
        self._quiet = not unused

    def _raise(self, problems: list) -> None:
        head = f"checkpoint {self._path!r} and the objects restored from it do not match:"
        raise CheckpointAssertionError("\n".join([head] + problems))

    def _unused_lines(self) -> list:
        if not self._unused:
            return []
        names = ", ".join(
            f"{name!r} {tuple(shape)} {dtype}" for name, (shape, dtype) in self._unused.items()
        )
        return [
            f"  values with no object to restore into: {names}",
            "  (wengert does not defer restoration: create and build every object - call a "
            "model or layer on data, build the optimizer - before restore; call "
            "expect_partial() if leaving them out is intended)",
        ]

    def _unrestored_lines(self) -> list:
        if not self._unrestored:
            return []
        return [
            f"  objects with no value in the checkpoint: {', '.join(map(repr, self._unrestored))}"
        ]

    def assert_consumed(self) -> CheckpointLoadStatus:
        """Raise unless every value was restored into an object and every object restored.

        Raises:
            CheckpointError: (also an AssertionError) naming what did not match.
        """
        self._quiet = True
        problems = self._unused_lines() + self._unrestored_lines()
        if problems:
            self._raise(problems)
        return self

    def assert_existing_objects_matched(self) -> CheckpointLoadStatus:
        """Raise unless every object (variable, optimizer) got a value from the file.

        Raises:
            CheckpointError: (also an AssertionError) naming the objects left out.
        """
        problems = self._unrestored_lines()
        if problems:
            self._raise(problems)
        return self

    def assert_nontrivial_match(self) -> CheckpointLoadStatus:
        """Raise unless at least one object besides ``save_counter`` was restored."""
        if not self._matched:
            self._raise(["  nothing was restored"] + self._unused_lines())
        return self

    def expect_partial(self) -> CheckpointLoadStatus:
        """Say that values left unused are intended: no warning about them."""
        self._quiet = True
        return self

    def run_restore_ops(self, session=None) -> None:
        """Nothing to run: restoring is eager (TensorFlow's graph-mode method)."""

    def __del__(self):
        if self._quiet or sys.is_finalizing():
            return
        message = (
            f"checkpoint {self._path!r}: values were not restored because no object takes "
            f"them: {sorted(self._unused)}.  wengert does not defer restoration; build the "
            "objects before restore, or call expect_partial() on the status to silence this"
        )
        # Dropped by the garbage collector, whose frame means nothing to the user: the
        # warning points at the restore() or read() call that made this status.
        filename, lineno, module = self._where
        warnings.warn_explicit(message, UserWarning, filename, lineno, module=module)


class InitializationOnlyStatus(CheckpointLoadStatus):
    """What ``Checkpoint.restore(None)`` returns (TensorFlow's): nothing was restored, the
    objects keep their initial values.  ``assert_consumed``, ``assert_existing_objects_
    matched`` and ``assert_nontrivial_match`` raise; ``expect_partial`` passes.

    Example:
        >>> import wengert as wg
        >>> from wengert import train
        >>> status = train.Checkpoint(v=wg.Variable(1.0)).restore(None)
        >>> _ = status.expect_partial()
        >>> status.assert_consumed()
        Traceback (most recent call last):
        ...
        wengert.train.CheckpointAssertionError: No checkpoint specified (save_path=None); ...
    """

    def __init__(self):
        super().__init__(None, {}, [], 0)

    def _fail(self):
        raise CheckpointAssertionError(
            "No checkpoint specified (save_path=None); nothing is being restored."
        )

    def assert_consumed(self) -> CheckpointLoadStatus:
        """Raise: nothing was restored."""
        self._fail()

    def assert_existing_objects_matched(self) -> CheckpointLoadStatus:
        """Raise: nothing was restored."""
        self._fail()

    def assert_nontrivial_match(self) -> CheckpointLoadStatus:
        """Raise: nothing was restored."""
        self._fail()

    def initialize_or_restore(self, session=None) -> None:
        """Nothing to run: the objects already hold their initial values."""


def _caller() -> tuple:
    """(file, line, module) of the innermost frame outside this file."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename == __file__:
        frame = frame.f_back
    if frame is None:
        return __file__, 0, __name__
    return frame.f_code.co_filename, frame.f_lineno, frame.f_globals.get("__name__", "")


# -- Checkpoint ----------------------------------------------------------------------------------
class Checkpoint:
    """Save and restore Variables, Modules, layers, models and optimizers (``tf.train.Checkpoint``).

    Every keyword argument (and every public attribute set later, such as
    ``ckpt.step = wg.Variable(1)``) names an object; ``root`` is an object whose variables
    go at the top level, unprefixed.  ``save`` numbers its files with ``save_counter``.

    Args:
        root: an object to save without a prefix (optional).
        **kwargs: name -> a Variable, Module, Layer or Model, optimizer, or a list, tuple
            or dict of those.

    Example:
        >>> import os, tempfile
        >>> import numpy as np
        >>> import wengert as wg
        >>> from wengert import train
        >>> model = wg.layers.Dense(2, kernel_initializer="ones")
        >>> _ = model(wg.ones((1, 3)))
        >>> ckpt = train.Checkpoint(model=model)
        >>> with tempfile.TemporaryDirectory() as d:
        ...     first = ckpt.save(os.path.join(d, "ckpt"))
        ...     _ = model.kernel.assign(np.zeros((3, 2)))
        ...     second = ckpt.save(os.path.join(d, "ckpt"))
        ...     _ = ckpt.restore(first).assert_consumed()
        ...     print([os.path.basename(p) for p in (first, second)], int(ckpt.save_counter))
        ['ckpt-1.npz', 'ckpt-2.npz'] 1
        >>> float(model.kernel[0, 0])
        1.0
    """

    def __init__(self, root=None, **kwargs):
        self.__dict__["_root"] = None
        self.__dict__["_save_counter"] = None
        if root is not None:
            self._check("root", root)
            if isinstance(root, (Variable, Optimizer)):
                raise TypeError(
                    f"Checkpoint: root={type(root).__name__} has no attributes to name what "
                    "it holds; give it as a keyword argument instead"
                )
            self.__dict__["_root"] = root
        for name, value in kwargs.items():
            setattr(self, name, value)

    def _check(self, name: str, value) -> None:
        if not _supported(value):
            raise TypeError(
                f"Checkpoint: {name}={type(value).__name__} is not something a checkpoint "
                "can hold: give a Variable, a Module, a Layer or Model, an optimizer, or a "
                "list or dict of them"
            )

    def __setattr__(self, name: str, value) -> None:
        if name == "save_counter":
            raise AttributeError("Checkpoint: save_counter is kept by the checkpoint itself")
        if not name.startswith("_"):
            self._check(name, value)
        object.__setattr__(self, name, value)

    @property
    def save_counter(self) -> Variable:
        """The number of ``save`` calls (an int64 Variable, restored with the rest)."""
        if self._save_counter is None:
            counter = Variable(0, dtype="int64", trainable=False, name="save_counter")
            self.__dict__["_save_counter"] = counter
        return self._save_counter

    def _objects(self) -> list:
        objects = [] if self._root is None else [("", self._root)]
        objects += [(k, v) for k, v in vars(self).items() if not k.startswith("_")]
        if self._save_counter is not None:
            objects.append(("save_counter", self._save_counter))
        return objects

    # -- writing ------------------------------------------------------------------------
    def _arrays(self) -> tuple[dict, dict]:
        graph = _graph(self._objects())
        arrays = {name: _as_array(var) for name, var in graph.variables.items()}
        built = {}

        def put(name, value):
            if name in arrays:
                raise ValueError(f"Checkpoint: two objects are both named {name!r}")
            arrays[name] = value

        for prefix, optimizer in graph.optimizers:
            state = optimizer.get_state()
            owned = list(optimizer._variables)
            for name, key in _optimizer_names(prefix, state, owned, graph.paths).items():
                put(name, state[key])
            lr = _float_learning_rate(optimizer)
            if lr is not None:  # a float learning rate (ReduceLROnPlateau changes it)
                put(f"{prefix}/learning_rate", xp.asarray(lr, dtype=xp.float64))
            if optimizer.built:
                built[prefix] = [graph.paths.get(id(v)) for v in owned]
        streams = {
            path: g.get_state()
            for path, g in graph.generators.items()
            if not isinstance(g, _FitShuffle) or g.exists()
        }
        meta = {"kind": "object_checkpoint", "optimizer_variables": built, "generators": streams}
        return arrays, meta

    def write(self, file_prefix) -> str:
        """Write every variable to ``file_prefix`` (".npz" added unless it has a suffix).

        ``save_counter`` is neither advanced nor created.  The folder is created if needed.

        Returns:
            The file written.
        """
        return self._write(file_prefix)

    def _write(self, path) -> str:
        file = _file_for_writing(path)
        arrays, meta = self._arrays()
        folder = os.path.dirname(file)
        if folder:
            os.makedirs(folder, exist_ok=True)
        checkpoints.save(file, arrays, meta)
        return file

    def save(self, file_prefix) -> str:
        """Add one to ``save_counter`` and write ``f"{file_prefix}-{save_counter}.npz"``.

        The folder's index is updated too, so ``latest_checkpoint(folder)`` finds the file.

        Returns:
            The file written.
        """
        counter = self.save_counter
        counter.assign_add(1)
        file = self._write(f"{os.fspath(file_prefix)}-{int(counter)}")
        folder = os.path.dirname(os.path.abspath(file))
        _write_index(folder, _INDEX, [os.path.basename(file)], [time.time()], None)
        return file

    # -- reading ------------------------------------------------------------------------
    def restore(self, save_path) -> CheckpointLoadStatus:
        """Restore every object from ``save_path`` (a file, its prefix, or a folder's latest),
        ``save_counter`` included.

        Nothing is deferred: objects must exist and be built.  An optimizer not built yet is
        built on the variables it was saved with.  Nothing is assigned unless every shape
        and dtype matches.

        Returns:
            A ``CheckpointLoadStatus``.

        Raises:
            CheckpointError: the file cannot be read, or a variable's shape or dtype
                differs from the checkpoint's (each named, with both shapes).
        """
        if save_path is None:  # TensorFlow's first-run idiom: restore(manager.latest_checkpoint)
            return InitializationOnlyStatus()
        self.save_counter  # noqa: B018 (created, so that it is restored too)
        return self._read(save_path)

    def read(self, save_path) -> CheckpointLoadStatus:
        """Restore from a file ``write`` made, as ``restore`` but not creating ``save_counter``."""
        if save_path is None:
            return InitializationOnlyStatus()
        return self._read(save_path)

    def _read(self, save_path) -> CheckpointLoadStatus:
        arrays, meta, file = _load(save_path)
        saved_lists, saved_streams = _checked_meta(meta, file)
        graph = _graph(self._objects())
        variables, paths = graph.variables, graph.paths
        # Everything is checked first; nothing (variables, optimizer slots and step
        # counts, learning rates, random streams, whether an optimizer is built) changes
        # unless everything fits.
        assignments, wrong, unrestored, consumed = [], [], [], set()
        for name, var in variables.items():
            if name not in arrays:
                if var is not self._save_counter:  # a file from write() has none: fine
                    unrestored.append(name)
                continue
            value = arrays[name]
            if tuple(value.shape) != tuple(var.shape) or value.dtype != var.dtype:
                wrong.append(
                    f"  variable {name!r} ({var.name!r}) has shape {tuple(var.shape)} "
                    f"{var.dtype}, the checkpoint holds shape {tuple(value.shape)} {value.dtype}"
                )
            assignments.append((var, value))
            consumed.add(name)
        plans = []  # (optimizer, variables to build it on or None, state, learning rate)
        for prefix, optimizer in graph.optimizers:
            # In place of TensorFlow's deferred restoration of slots: an optimizer not
            # built yet is built on the variables it was saved with, in the same order
            # (once everything is checked; a copy built on them gives the names now).
            wanted, build_on, view = saved_lists.get(prefix), None, optimizer
            if not optimizer.built and wanted is not None:
                if all(isinstance(p, str) and p in variables for p in wanted):
                    build_on = [variables[p] for p in wanted]
                    try:
                        view = optimizer._built_copy(build_on)
                    except (TypeError, ValueError) as e:
                        wrong.append(f"  optimizer {prefix!r}: {e}")
                        continue
            keys = view.get_state()
            names = _optimizer_names(prefix, keys, list(view._variables), paths)
            lr_name = f"{prefix}/learning_rate"
            lr = None
            if lr_name in arrays and _float_learning_rate(optimizer) is not None:
                value = arrays[lr_name]
                ok = value.shape == () and value.dtype.kind in "fiu"
                if not (ok and _is_number(float(value)) and float(value) >= 0):
                    wrong.append(
                        f"  optimizer {prefix!r}: the learning rate {lr_name!r} is not a "
                        f"number >= 0 (shape {tuple(value.shape)} {value.dtype})"
                    )
                else:
                    lr = float(value)
                    consumed.add(lr_name)
            present = [n for n in names if n in arrays]
            if not present:
                unrestored.append(prefix)
                if lr is not None:
                    plans.append((optimizer, None, None, lr))
                continue
            missing = [n for n in names if n not in arrays]
            if missing:
                wrong.append(
                    f"  optimizer {prefix!r}: the checkpoint lacks {missing} (was it saved "
                    "with the same variables?)"
                )
                continue
            state = {key: arrays[n] for n, key in names.items()}
            try:
                optimizer.validate_state(state, build_on)
            except (TypeError, ValueError) as e:
                wrong.append(f"  optimizer {prefix!r}: {e}")
                continue
            plans.append((optimizer, build_on, state, lr))
            consumed.update(present)
        streams, unused_streams = [], {}
        for path, generator in graph.generators.items():
            if path not in saved_streams:
                if not isinstance(generator, _FitShuffle):
                    unrestored.append(path)
                continue
            state = saved_streams[path]
            problem = _generator_problem(generator, state)
            if problem is not None:
                wrong.append(f"  random stream {path!r}: malformed state ({problem})")
            streams.append((generator, state))
        for path in saved_streams:
            if path not in graph.generators:
                unused_streams[str(path)] = ((), "random-stream-state")
        if wrong:
            raise CheckpointError(
                f"cannot restore {file!r}; nothing was restored:\n" + "\n".join(wrong)
            )
        # Checked: now change the objects.
        for var, value in assignments:
            var.assign(value)
        for optimizer, build_on, state, lr in plans:
            if build_on is not None:
                optimizer.build(build_on)
            if state is not None:
                optimizer.set_state(state)
            if lr is not None:
                optimizer.learning_rate = lr
        for generator, state in streams:
            generator.set_state(state)
        unused = {
            n: (a.shape, a.dtype)
            for n, a in arrays.items()
            if n not in consumed and not (n == "save_counter" and self._save_counter is None)
        }
        unused.update(unused_streams)
        matched = len([n for n in consumed if n != "save_counter"]) + len(streams)
        if unused:
            unbuilt = _unbuilt_layers(self._objects())
            if unbuilt:
                # TensorFlow would restore these once the layers build; wengert cannot, so
                # say it now rather than when the status is dropped (a kept status is quiet).
                warnings.warn(
                    f"checkpoint {file!r}: {len(unused)} values were not restored because "
                    f"{', '.join(unbuilt)} has no weights yet; wengert does not defer "
                    "restoration: build it first (call it on data) and restore again",
                    UserWarning,
                    stacklevel=3,
                )
        return CheckpointLoadStatus(file, unused, unrestored, matched)


def _unbuilt_layers(objects) -> list:
    """Names of the layers among ``objects`` (and inside them) that are not built yet."""
    names, todo, seen = [], list(objects), set()
    while todo:
        obj = todo.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, Layer):
            if not obj.built:
                names.append(f"{type(obj).__name__} '{obj.name}'")
            todo.extend(o for _, o in obj._walk() if isinstance(o, (Layer, Module)))
        elif isinstance(obj, Module):
            todo.extend(obj.submodules)
        elif isinstance(obj, (list, tuple)):
            todo.extend(obj)
        elif isinstance(obj, dict):
            todo.extend(obj.values())
    return sorted(names)


# -- CheckpointManager ---------------------------------------------------------------------------
def _write_index(folder: str, index: str, files: list, times: list, preserved) -> None:
    record = {
        "format": _INDEX_FORMAT,
        "latest": files[-1] if files else None,
        "checkpoints": files,
        "timestamps": times,
        "last_preserved_timestamp": preserved,
    }
    os.makedirs(folder, exist_ok=True)
    data = json.dumps(record, indent=1).encode()
    checkpoints.atomic_write_bytes(os.path.join(folder, index), data)


def _plain_name(name) -> bool:
    """Whether ``name`` is a checkpoint file's bare name (no folder, no "..", a known
    suffix): all an index may list, so that a crafted index cannot point a manager at
    files elsewhere."""
    return (
        isinstance(name, str)
        and name.endswith(_SUFFIXES)
        and name not in _SUFFIXES
        and os.path.basename(name) == name
        and "/" not in name
        and "\\" not in name
        and "\0" not in name
        and name not in (".", "..")
    )


def _read_index(folder: str, index: str = _INDEX) -> dict | None:
    """The folder's index, checked: file names bare (``_plain_name``), timestamps finite
    numbers, one per file; CheckpointError for anything else.  None if there is none."""
    path = os.path.join(os.fspath(folder), index)
    try:
        with open(path, "rb") as f:
            record = json.loads(f.read().decode())
    except FileNotFoundError:
        return None
    except (OSError, ValueError, RecursionError) as e:
        raise CheckpointError(f"cannot read the checkpoint index {path!r}: {e}") from e
    if not isinstance(record, dict):
        raise CheckpointError(f"{path!r} is not a wengert checkpoint index")
    files, times = record.get("checkpoints"), record.get("timestamps")
    preserved, latest = record.get("last_preserved_timestamp"), record.get("latest")
    ok = (
        record.get("format") == _INDEX_FORMAT
        and isinstance(files, list)
        and all(_plain_name(f) for f in files)
        and isinstance(times, list)
        and len(times) == len(files)
        and all(_is_number(t) for t in times)
        and (preserved is None or _is_number(preserved))
        and (latest is None or _plain_name(latest))
    )
    if not ok:
        raise CheckpointError(
            f"{path!r} is not a wengert checkpoint index (or lists files outside its folder)"
        )
    return record


def latest_checkpoint(checkpoint_dir, latest_filename: str | None = None) -> str | None:
    """The newest checkpoint file that ``Checkpoint.save`` or a ``CheckpointManager`` wrote
    in ``checkpoint_dir``, or None.

    Example:
        >>> import tempfile
        >>> from wengert import train
        >>> with tempfile.TemporaryDirectory() as d:
        ...     print(train.latest_checkpoint(d))
        None
    """
    folder = os.fspath(checkpoint_dir)
    record = _read_index(folder, latest_filename or _INDEX)
    if record is None or not record.get("latest"):
        return None
    path = os.path.join(folder, record["latest"])
    return path if os.path.exists(path) else None


class CheckpointManager:
    """Keep the last ``max_to_keep`` checkpoints of a ``Checkpoint`` in a folder.

    Each ``save`` writes ``<directory>/<checkpoint_name>-<n>.npz``, records it in the
    folder's index (``checkpoint.json``, written atomically) and deletes the oldest files
    beyond ``max_to_keep``.  A new manager on the same folder takes over the files its
    index lists.

    Args:
        checkpoint: the ``Checkpoint`` to save.
        directory: the folder (created when needed).
        max_to_keep: how many files to keep (None: all).
        keep_checkpoint_every_n_hours: also keep, for good, one file per this many hours.
        checkpoint_name: the files' prefix.

    Example:
        >>> import os, tempfile
        >>> import wengert as wg
        >>> from wengert import train
        >>> ckpt = train.Checkpoint(step=wg.Variable(0))
        >>> with tempfile.TemporaryDirectory() as d:
        ...     manager = train.CheckpointManager(ckpt, d, max_to_keep=2)
        ...     for _ in range(3):
        ...         _ = ckpt.step.assign_add(1)
        ...         _ = manager.save()
        ...     print([os.path.basename(p) for p in manager.checkpoints])
        ...     print(os.path.basename(train.latest_checkpoint(d)), sorted(os.listdir(d)))
        ['ckpt-2.npz', 'ckpt-3.npz']
        ckpt-3.npz ['checkpoint.json', 'ckpt-2.npz', 'ckpt-3.npz']
    """

    def __init__(
        self,
        checkpoint: Checkpoint,
        directory,
        max_to_keep: int | None = 5,
        keep_checkpoint_every_n_hours: float | None = None,
        checkpoint_name: str = "ckpt",
        step_counter=None,
        checkpoint_interval: int | None = None,
        init_fn=None,
    ):
        if not isinstance(checkpoint, Checkpoint):
            raise TypeError(
                f"CheckpointManager: expected a train.Checkpoint, got {type(checkpoint).__name__}"
            )
        if max_to_keep is not None and (int(max_to_keep) != max_to_keep or max_to_keep <= 0):
            raise ValueError(
                f"CheckpointManager: max_to_keep must be a positive integer or None, got "
                f"{max_to_keep!r}"
            )
        if not (
            isinstance(checkpoint_name, str)
            and checkpoint_name
            and os.path.basename(checkpoint_name) == checkpoint_name
            and checkpoint_name not in (".", "..")
        ):
            raise ValueError(
                f"CheckpointManager: checkpoint_name must be a file name without a folder, "
                f"got {checkpoint_name!r}"
            )
        if checkpoint_interval is not None and step_counter is None:
            raise ValueError("CheckpointManager: checkpoint_interval needs a step_counter")
        self._checkpoint = checkpoint
        self._directory = os.fspath(directory)
        self._max_to_keep = max_to_keep
        self._keep_hours = keep_checkpoint_every_n_hours
        self._name = checkpoint_name
        self._step_counter = step_counter
        self._interval = checkpoint_interval
        self._init_fn = init_fn
        self._last_step = None
        record = _read_index(self._directory) if os.path.isdir(self._directory) else None
        self._files: list = []  # (file name in the folder, time written), oldest first
        self._preserved = time.time()
        if record is not None:
            for name, stamp in zip(record["checkpoints"], record["timestamps"]):
                if os.path.exists(os.path.join(self._directory, name)):
                    self._files.append((name, float(stamp)))
            if record.get("last_preserved_timestamp") is not None:
                self._preserved = float(record["last_preserved_timestamp"])

    @property
    def directory(self) -> str:
        """The folder the checkpoints are in."""
        return self._directory

    @property
    def checkpoint(self) -> Checkpoint:
        """The ``Checkpoint`` this manager saves."""
        return self._checkpoint

    @property
    def checkpoints(self) -> list:
        """The kept checkpoint files, oldest first."""
        return [os.path.join(self._directory, name) for name, _ in self._files]

    @property
    def latest_checkpoint(self) -> str | None:
        """The newest kept checkpoint file, or None."""
        return self.checkpoints[-1] if self._files else None

    def save(self, checkpoint_number=None, check_interval: bool = True) -> str | None:
        """Save a checkpoint numbered ``checkpoint_number`` (default: ``save_counter``).

        ``save_counter`` goes up by one either way; ``checkpoint_number`` may be an int or
        a Variable (a step count).  With ``checkpoint_interval``, a save fewer steps after
        the last than that interval is skipped (returns None).

        Returns:
            The file written, or None when skipped.
        """
        if self._interval is not None and check_interval:
            step = int(self._step_counter)
            if self._last_step is not None and step < self._last_step + self._interval:
                return None
            self._last_step = step
        counter = self._checkpoint.save_counter
        counter.assign_add(1)
        number = int(counter if checkpoint_number is None else checkpoint_number)
        file = self._checkpoint._write(os.path.join(self._directory, f"{self._name}-{number}"))
        name = os.path.basename(file)
        self._files = [(n, t) for n, t in self._files if n != name]  # rewritten: newest now
        self._files.append((name, time.time()))
        self._record()  # before deleting, so that a crash leaves the new file findable
        self._sweep()
        self._record()
        self._remove_stale_temporaries()
        return file

    def _own(self, name: str) -> bool:
        """Whether ``name`` is one of this manager's files: "<checkpoint_name>-<int>.npz"
        (or .safetensors).  Only those are ever deleted."""
        return re.fullmatch(rf"{re.escape(self._name)}--?\d+\.(npz|safetensors)", name) is not None

    def _remove_stale_temporaries(self) -> None:
        """Delete what saves killed midway left: the atomic writer's temporary files
        (".<file name>.<random>.tmp", ``checkpoints._atomic_write``) of this manager's
        own file names, in its folder only."""
        try:
            names = os.listdir(self._directory)
        except OSError:
            return
        for name in names:
            found = _TEMPORARY.fullmatch(name)
            if found is None or not self._own(found.group(1)):
                continue
            with contextlib.suppress(OSError):
                os.remove(os.path.join(self._directory, name))

    def _record(self) -> None:
        _write_index(
            self._directory,
            _INDEX,
            [n for n, _ in self._files],
            [t for _, t in self._files],
            self._preserved,
        )

    def _sweep(self) -> None:
        if self._max_to_keep is None:
            return
        while len(self._files) > self._max_to_keep:
            name, stamp = self._files.pop(0)
            if self._keep_hours is not None and stamp - self._preserved >= 3600 * self._keep_hours:
                self._preserved = stamp  # kept for good, and no longer tracked
                continue
            if not (_plain_name(name) and self._own(name)):
                continue  # another prefix's file, or a name no index should hold: left alone
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(self._directory, name))

    def restore_or_initialize(self) -> str | None:
        """Restore the latest checkpoint and return its file, or call ``init_fn`` (if any)
        and return None when there is none."""
        latest = self.latest_checkpoint
        if latest is not None:
            self._checkpoint.restore(latest)
            if self._step_counter is not None:
                # As TensorFlow: the next save waits checkpoint_interval steps from here.
                self._last_step = int(self._step_counter)
            return latest
        if self._init_fn is not None:
            self._init_fn()
        return None


# -- readers -------------------------------------------------------------------------------------
def list_variables(ckpt_dir_or_file) -> list:
    """``[(name, shape)]`` for every value in a checkpoint, sorted by name (shapes as lists).

    Example:
        >>> import os, tempfile
        >>> import wengert as wg
        >>> from wengert import train
        >>> with tempfile.TemporaryDirectory() as d:
        ...     path = train.Checkpoint(w=wg.Variable(wg.zeros([2, 3]))).write(os.path.join(d, "c"))
        ...     train.list_variables(path)
        [('w', [2, 3])]
    """
    arrays, _, _ = _load(ckpt_dir_or_file)
    return [(name, list(arrays[name].shape)) for name in sorted(arrays)]


def load_variable(ckpt_dir_or_file, name: str):
    """The value (an ndarray) saved under ``name`` in a checkpoint.

    TensorFlow's suffixes (":0", "/.ATTRIBUTES/VARIABLE_VALUE") are taken off ``name``.

    Raises:
        CheckpointError: the file cannot be read or holds no such name.

    Example:
        >>> import os, tempfile
        >>> import wengert as wg
        >>> from wengert import train
        >>> with tempfile.TemporaryDirectory() as d:
        ...     path = train.Checkpoint(w=wg.Variable([1.0, 2.0])).write(os.path.join(d, "c"))
        ...     train.load_variable(path, "w")
        array([1., 2.], dtype=float32)
    """
    arrays, _, file = _load(ckpt_dir_or_file)
    key = name.removesuffix(":0").removesuffix("/.ATTRIBUTES/VARIABLE_VALUE")
    if key not in arrays:
        known = sorted(arrays)
        shown = ", ".join(map(repr, known[:10])) + (", ..." if len(known) > 10 else "")
        raise CheckpointError(f"checkpoint {file!r} holds no {name!r}; it holds {shown}")
    return arrays[key]
