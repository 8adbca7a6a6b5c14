"""``Module`` and ``name_scope``: TensorFlow's ``tf.Module`` and ``tf.name_scope``.

A ``Module`` is a named container of Variables, other Modules and Keras layers, found by
walking its attributes: no registration calls, and no names reserved (a Module may set
``self.layers``, ``self.weights`` or ``self.input``, which a Keras ``Layer`` keeps for its
own use).  It is a class of its own, not a base of ``wg.layers.Layer`` (Keras 3's layers
are not ``tf.Module`` s either), but the two nest both ways: a Module's ``variables``
include those of the layers it holds, and a layer or model that holds a Module trains its
variables.

Example:
    >>> import wengert as wg
    >>> from wengert.module import Module, name_scope
    >>> class Dense(Module):
    ...     def __init__(self, n_in, n_out, name=None):
    ...         super().__init__(name=name)
    ...         with self.name_scope:
    ...             self.w = wg.Variable(wg.ones([n_in, n_out]), name="w")
    ...             self.b = wg.Variable(wg.zeros([n_out]), name="b")
    ...     def __call__(self, x):
    ...         return wg.matmul(x, self.w) + self.b
    >>> with name_scope("net"):
    ...     d = Dense(3, 2)
    >>> [v.name for v in d.variables], d(wg.ones([1, 3])).numpy()
    (['net/dense/b', 'net/dense/w'], array([[3., 3.]], dtype=float32))
"""

from __future__ import annotations

import functools
import re
import threading

from .tensor import Variable, _set_name_scope, current_name_scope

__all__ = ["Module", "name_scope"]

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# tf.Module's camel_to_snake: "SequentialModule" -> "sequential_module", "MLP" -> "mlp".
_CAMEL = re.compile(r"((?<=[a-z0-9])[A-Z]|(?!^)[A-Z](?=[a-z]))")


def camel_to_snake(value: str) -> str:
    """A class name as tf.Module names its instances by default.

    Example:
        >>> camel_to_snake("SequentialModule"), camel_to_snake("HTTPServer")
        ('sequential_module', 'http_server')
    """
    return _CAMEL.sub(r"_\1", value).lower()


class name_scope:  # noqa: N801 (TensorFlow's name)
    """A context manager that puts ``name + "/"`` before the names of Variables made inside.

    As ``tf.name_scope`` in eager mode: scopes nest ("outer/inner/"), a name that ends in
    "/" is taken whole (not nested), "" clears the scope, and names are never made unique.
    Entering returns the full scope ("outer/inner/").  One object may be entered again and
    again (a Module's ``name_scope`` is).  The scope is per thread.

    Args:
        name: the scope's name (a str).

    Raises:
        ValueError: ``name`` is not a str (None included), as TensorFlow's.

    Example:
        >>> import wengert as wg
        >>> from wengert.module import name_scope
        >>> with name_scope("outer"):
        ...     with name_scope("inner") as scope:
        ...         v = wg.Variable(1.0, name="v")
        >>> scope, v.name, wg.Variable(2.0, name="v").name
        ('outer/inner/', 'outer/inner/v', 'v')
    """

    def __init__(self, name: str):
        if not isinstance(name, str):  # TensorFlow raises ValueError here, None included
            raise ValueError(
                f"name_scope: the name must be a str, got {type(name).__name__} {name!r}"
            )
        self._name = name
        # The scopes to go back to, innermost last: one stack per thread, so that a
        # module's scope may be entered by several threads at once.
        self._local = threading.local()

    @property
    def name(self) -> str:
        """The name this scope was made with."""
        return self._name

    def __enter__(self) -> str:
        old, name = current_name_scope(), self._name
        if not name or name.endswith("/"):
            scope = name
        else:
            scope = f"{old}{name}/"
        stack = self._local.__dict__.setdefault("stack", [])
        stack.append(_set_name_scope(scope))
        return scope

    def __exit__(self, *exc) -> bool:
        _set_name_scope(self._local.stack.pop())
        return False

    def __repr__(self) -> str:
        return f"name_scope({self._name!r})"


class Module:
    """A named container of Variables, Modules and layers, found through its attributes.

    ``variables``, ``trainable_variables`` and ``submodules`` walk every attribute (private
    ones too, as TensorFlow's), in sorted order, looking into lists, tuples and dicts: a
    module's own variables first, then each submodule's in turn.  A Keras layer or model
    found there gives its variables in its own order (``layer.variables``).  Each object
    is listed once, however many attributes reach it.

    Args:
        name: the module's name, a Python identifier; by default the class's name in
            snake_case ("SequentialModule" -> "sequential_module"), not made unique.

    Example:
        >>> import wengert as wg
        >>> from wengert.module import Module
        >>> class Scale(Module):
        ...     def __init__(self, name=None):
        ...         super().__init__(name=name)
        ...         self.a = wg.Variable(5.0, name="a")
        ...         self.c = wg.Variable(1.0, trainable=False, name="c")
        ...     def __call__(self, x):
        ...         return self.a * x + self.c
        >>> m = Scale()
        >>> m.name, float(m(wg.constant(2.0))), [v.name for v in m.trainable_variables]
        ('scale', 11.0, ['a'])
    """

    # Set once any Module exists: until then a Layer's walks over sublayers skip looking
    # for Modules among its attributes (layers.base.child_layers), a per-step cost.
    instantiated = False

    def __new__(cls, *args, **kwargs):
        Module.instantiated = True
        return super().__new__(cls)

    def __init__(self, name: str | None = None):
        if name is None:
            name = camel_to_snake(type(self).__name__)
        elif not (isinstance(name, str) and _IDENTIFIER.match(name)):
            raise ValueError(
                f"{name!r} is not a valid module name: module names must be valid Python "
                "identifiers (e.g. a valid class name)"
            )
        self._name = name
        # Made inside the scope current now, so that entering it later gives
        # "outer/<name>/" wherever that happens (tf.Module's rule).
        with name_scope(name) as scope:
            self._name_scope = name_scope(scope)

    @property
    def name(self) -> str:
        """The module's name (without the scopes it was made in)."""
        return self._name

    @property
    def name_scope(self) -> name_scope:
        """A ``name_scope`` for this module: Variables made inside get "<scope>/<name>/"."""
        return self._name_scope

    @property
    def variables(self) -> list:
        """Every Variable this module and its submodules and layers hold, each once.

        A list, as a layer's (TensorFlow's is a tuple), so that a module's variables and
        a Keras layer's add up: ``module.variables + layer.variables``.

        Example:
            >>> import wengert as wg
            >>> from wengert.module import Module
            >>> m = Module()
            >>> m.vs, m.d = [wg.Variable(1.0), wg.Variable(2.0)], {"k": wg.Variable(3.0)}
            >>> [float(v) for v in m.variables]  # attributes sorted: "d" before "vs"
            [3.0, 1.0, 2.0]
        """
        return [v for _, v, _ in self._variables()]

    @property
    def trainable_variables(self) -> list:
        """The Variables made ``trainable`` (a frozen layer's are left out), each once."""
        return [v for _, v, t in self._variables() if t]

    @property
    def non_trainable_variables(self) -> list:
        """The other Variables: made with ``trainable=False``, or in a frozen layer."""
        return [v for _, v, t in self._variables() if not t]

    @property
    def submodules(self) -> tuple:
        """The Modules and layers reachable through attributes: each level's own first.

        As ``tf.Module.submodules``: this module's direct submodules (attributes sorted),
        then for each of them in turn, its submodules, and so on.

        Example:
            >>> from wengert.module import Module
            >>> a, b, c = Module(name="a"), Module(name="b"), Module(name="c")
            >>> a.b, b.c = b, c
            >>> [m.name for m in a.submodules]
            ['b', 'c']
        """
        return tuple(_submodules(self, {id(self)}))

    def _variables(self, seen: set | None = None) -> list:
        """(path, variable, trainable) for each variable once, in ``variables`` order.

        Paths join attribute names, list indices and dict keys with "." (as a layer's);
        ``seen`` holds the ids of objects already listed (a layer that holds this module
        passes its own).
        """
        seen = {id(self)} if seen is None else seen
        return list(_module_variables(self, "", seen))

    @classmethod
    def with_name_scope(cls, method):
        """Decorate a method so that it runs inside the module's ``name_scope``.

        Example:
            >>> import wengert as wg
            >>> from wengert.module import Module
            >>> class Lazy(Module):
            ...     @Module.with_name_scope
            ...     def __call__(self, x):
            ...         if not hasattr(self, "w"):
            ...             self.w = wg.Variable(wg.ones([x.shape[-1]]), name="w")
            ...         return x * self.w
            >>> m = Lazy(name="lazy")
            >>> _ = m(wg.ones([2]))
            >>> m.w.name
            'lazy/w'
        """

        @functools.wraps(method)
        def method_with_name_scope(self, *args, **kwargs):
            with self.name_scope:
                return method(self, *args, **kwargs)

        return method_with_name_scope

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self._name!r}>"


# -- walking -----------------------------------------------------------------------------------
def _layer_class():
    # Layer (layers/base.py) imports this module to track Modules, so look it up late.
    from .layers.base import Layer

    return Layer


def _leaves(path: str, value):
    """(path, leaf) for ``value`` and what its lists, tuples and dicts hold (tf.nest's
    order: sequences in order, dicts by sorted key)."""
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _leaves(f"{path}.{i}", item)
    elif isinstance(value, dict):
        try:
            keys = sorted(value)
        except TypeError:  # keys that do not sort: insertion order
            keys = list(value)
        for key in keys:
            yield from _leaves(f"{path}.{key}", value[key])
    else:
        yield path, value


def _children(module, seen: set):
    """(path, leaf) for the module's attributes not yet seen (marking them seen)."""
    state = vars(module)
    for key in sorted(state):
        for path, leaf in _leaves(key, state[key]):
            if id(leaf) in seen:
                continue
            seen.add(id(leaf))
            yield path, leaf


def _module_variables(module, prefix: str, seen: set):
    """tf.Module's walk: the module's own variables (attributes sorted), then each
    submodule's (a layer's in the layer's own order)."""
    layer_class = _layer_class()
    inner = []
    for path, leaf in _children(module, seen):
        if isinstance(leaf, Variable):
            yield f"{prefix}{path}", leaf, leaf.trainable
        elif isinstance(leaf, (Module, layer_class)):
            inner.append((f"{prefix}{path}", leaf))
    for path, sub in inner:
        if isinstance(sub, Module):
            yield from _module_variables(sub, f"{path}.", seen)
        else:
            for sub_path, var, trainable in sub._variables(seen):
                yield f"{path}.{sub_path}", var, trainable


def _module_layers(module, seen: set, prefix: str = ""):
    """(path, layer) for each Keras layer reached through the module's attributes, looking
    into the Modules it holds (to any depth) but not into the layers found; ``seen`` holds
    the ids of objects already visited (marked as they are found)."""
    layer_class = _layer_class()
    inner = []
    for path, leaf in _children(module, seen):
        if isinstance(leaf, layer_class):
            yield f"{prefix}{path}", leaf
        elif isinstance(leaf, Module):
            inner.append((f"{prefix}{path}.", leaf))
    for path, sub in inner:
        yield from _module_layers(sub, seen, path)


def _submodules(module, seen: set):
    layer_class = _layer_class()
    if isinstance(module, Module):
        direct = [leaf for _, leaf in _children(module, seen)]
    else:  # a layer: its attributes in the order they were set, as Keras walks them
        direct = []
        for _, obj in module._walk():
            if id(obj) not in seen:
                seen.add(id(obj))
                direct.append(obj)
    direct = [leaf for leaf in direct if isinstance(leaf, (Module, layer_class))]
    yield from direct
    for sub in direct:
        yield from _submodules(sub, seen)
