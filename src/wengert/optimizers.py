"""Optimizers: Keras's names and defaults, PyTorch's arithmetic.

Each optimizer makes its slots (momentum buffers, moment estimates) in ``build``
and writes its rule in ``update_step``; the rule is also in its docstring.  The
base class owns ``apply_gradients``: build on the first call, drop ``None``
gradients, clip, update each variable at the learning rate of the current step,
then count the step.

The arithmetic is ``torch.optim``'s step for step, so the same hyper-parameters
give the same path in both libraries (to rounding): epsilon sits where torch puts
it, SGD and RMSprop keep torch's momentum buffers, and ``weight_decay`` is torch's
*coupled* L2 term ``g <- g + wd * w`` in SGD, Adagrad, RMSprop and Adam, and the
*decoupled* ``w <- w - lr * wd * w`` only in AdamW.  (Keras 3 decays decoupled in
every optimizer; use AdamW for that.)  Only the defaults are Keras's, e.g.
``epsilon=1e-7`` where torch has 1e-8.

Updates work on raw arrays (no tape records them) in each variable's own dtype,
and hand the new value to the variable with ``Variable._replace``; slots are
private arrays updated in place, exposed through ``get_state``/``set_state``.
"""

from __future__ import annotations

import copy
import inspect
import math
import warnings

from . import backend, schedules
from .backend import xp
from .tape import GradientTape
from .tensor import Tensor, Variable

# Elements per chunk of an in-place update (256 KB of float32: stays in the L2 cache).
_UPDATE_CHUNK = 1 << 16

__all__ = [
    "Optimizer",
    "SGD",
    "Adagrad",
    "RMSprop",
    "Adam",
    "AdamW",
    "Adamax",
    "Nadam",
    "get",
    "serialize",
    "deserialize",
    "schedules",
]

# Every subclass, by class name, so that ``deserialize`` finds user optimizers too.
_REGISTRY: dict[str, type] = {}


class StepCount(int):
    """An optimizer's ``iterations``: a plain int that also answers TensorFlow's
    ``.numpy()`` (``optimizer.iterations`` is an int64 Variable there).

    Example:
        >>> import wengert as wg
        >>> wg.optimizers.SGD().iterations.numpy()
        np.int64(0)
    """

    def numpy(self):
        return xp.int64(self)


class Optimizer:
    """Base class: owns ``apply_gradients``, clipping, the step count and the state.

    A subclass creates its slots in ``build(var_list)`` with ``add_slot`` and
    updates one variable in ``update_step(gradient, variable, learning_rate)``,
    where ``gradient`` is an array of the variable's dtype and shape.

    Args:
        learning_rate: a float >= 0; a ``schedules.LearningRateSchedule`` or any callable
            ``step -> float``, evaluated at ``iterations``; or a callable of no arguments
            (Keras 3's form), called at each step.
        weight_decay: L2 coefficient (coupled, as torch; decoupled in AdamW), or None.
        clipnorm: clip each gradient to this L2 norm.
        clipvalue: clip each gradient element to ``[-clipvalue, clipvalue]``.
        global_clipnorm: clip all gradients together to this global L2 norm.
        name: a name for reprs; the class name by default.

    Example:
        >>> import wengert as wg
        >>> class PlainGD(wg.optimizers.Optimizer):
        ...     def update_step(self, gradient, variable, learning_rate):
        ...         variable._replace(variable._value - learning_rate * gradient)
        >>> w = wg.Variable([1.0, 2.0])
        >>> _ = PlainGD(learning_rate=0.5).apply_gradients([(wg.constant([2.0, 2.0]), w)])
        >>> w.numpy()
        array([0., 1.], dtype=float32)
    """

    # AdamW sets this: weight decay shrinks the weights instead of adding to the gradient.
    _decoupled_weight_decay = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if not cls.__name__.startswith("_"):  # a private base is no optimizer of its own
            _REGISTRY[cls.__name__] = cls

    def __init__(
        self,
        learning_rate,
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        name: str | None = None,
        **kwargs,
    ):
        self.name = type(self).__name__ if name is None else str(name)
        self.learning_rate = learning_rate
        for key in kwargs:
            hint = ""
            if key == "lr":  # Keras 3 refuses it too; tf.keras 2 took it as a deprecated alias
                hint = f"; did you mean learning_rate={kwargs[key]!r}?"
            raise TypeError(f"{type(self).__name__}: unexpected argument {key!r}{hint}")
        self.weight_decay = self._optional(weight_decay, "weight_decay", positive=False)
        self.clipnorm = self._optional(clipnorm, "clipnorm")
        self.clipvalue = self._optional(clipvalue, "clipvalue")
        self.global_clipnorm = self._optional(global_clipnorm, "global_clipnorm")
        if self.clipnorm is not None and self.global_clipnorm is not None:
            raise ValueError(
                f"{type(self).__name__}: set at most one of clipnorm and global_clipnorm, got "
                f"clipnorm={clipnorm} and global_clipnorm={global_clipnorm}"
            )
        self.iterations = StepCount(0)
        self.built = False
        self._variables: list = []
        self._index: dict[int, int] = {}  # id(variable) -> position in build order
        self._slots: dict[str, list] = {}  # slot name -> one array per variable

    # -- arguments ----------------------------------------------------------
    def _check(self, what: str, value, low: float, high: float, high_open: bool = False) -> float:
        """``value`` as a float in ``[low, high]`` (or ``[low, high)``), else ValueError."""
        value = float(value)
        if not (low <= value and (value < high if high_open else value <= high)):
            interval = f"[{low}, {high})" if high_open else f"[{low}, {high}]"
            raise ValueError(f"{type(self).__name__}: {what} must be in {interval}, got {value}")
        return value

    def _optional(self, value, what: str, positive: bool = True) -> float | None:
        if value is None:
            return None
        value = float(value)
        if not (value > 0 if positive else value >= 0):
            raise ValueError(
                f"{type(self).__name__}: {what} must be {'> 0' if positive else '>= 0'} or "
                f"None, got {value}"
            )
        return value

    @property
    def learning_rate(self) -> float:
        """The learning rate of the next update: a schedule is evaluated at ``iterations``."""
        lr = self._learning_rate
        if not callable(lr):
            return lr
        return float(lr(self.iterations) if self._lr_takes_step else lr())

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        if isinstance(value, dict):
            value = schedules.deserialize(value)
        if (
            hasattr(value, "__iter__")
            and not callable(value)
            and not isinstance(value, (str, bytes, dict, xp.ndarray, Tensor))
        ):  # a list, generator, chain, map, dict view... of parameters
            self._refuse_parameter_list(value)
        if callable(value):
            self._lr_takes_step = self._takes_step(value)
        else:
            value = self._check("learning_rate", value, 0.0, math.inf)
        self._learning_rate = value

    def _takes_step(self, fn) -> bool:
        """Whether a callable learning rate takes the step (a schedule, or a function that
        needs an argument) or nothing (Keras 3's ``learning_rate=lambda: 0.1``)."""
        if isinstance(fn, schedules.LearningRateSchedule):
            return True
        try:
            signature = inspect.signature(fn)
        except (TypeError, ValueError):  # no signature to read: a schedule, as Keras's
            return True
        # As Keras 3: a callable that can be called with nothing is (lambda lr=lr: lr must
        # not get the step as its lr); only one that needs an argument gets the step.
        for args, takes_step in (((), False), ((0,), True)):
            try:
                signature.bind(*args)
                return takes_step
            except TypeError:
                pass
        raise TypeError(
            f"{type(self).__name__}: learning_rate {fn!r} has the signature {signature}; a "
            "callable learning rate takes the step (a schedule: step -> float) or no "
            "arguments (called at each step: lambda: 0.1)"
        )

    def _refuse_parameter_list(self, value) -> None:
        """torch.optim's ``SGD(model.parameters(), lr)``: a clear error, not float()'s."""
        name = type(self).__name__
        items = list(value)
        if any(isinstance(v, Variable) for v in items):
            raise TypeError(
                f"{name}: got a {type(value).__name__} of {len(items)} Variables as "
                "learning_rate; optimizers take no parameter list (torch.optim's "
                f"{name}(params, lr) habit), as in Keras: create {name}(learning_rate=...) and "
                "give it the variables with their gradients at each step, "
                "optimizer.apply_gradients(zip(grads, variables))"
            )
        raise TypeError(
            f"{name}: learning_rate must be a float, a schedule or a callable, got a "
            f"{type(value).__name__}"
        )

    # -- slots --------------------------------------------------------------
    def build(self, var_list) -> None:
        """Record the variables (their order gives the state keys); subclasses add slots.

        Does nothing once built.

        Args:
            var_list: the variables this optimizer will update.

        Example:
            >>> import wengert as wg
            >>> opt = wg.optimizers.Adam()
            >>> opt.build([wg.Variable([1.0, 2.0]), wg.Variable(3.0)])
            >>> sorted(opt.get_state())
            ['iterations', 'm/0', 'm/1', 'v/0', 'v/1']
        """
        if self.built:
            return
        var_list = list(var_list)
        for v in var_list:
            if not isinstance(v, Variable):
                raise TypeError(
                    f"{type(self).__name__}.build: expected Variables, got {type(v).__name__}"
                )
            if not backend.is_floating(v.dtype):
                raise ValueError(
                    f"{type(self).__name__}.build: variable {v.name!r} has dtype {v.dtype}; "
                    "only floating-point variables can be optimized"
                )
        self._variables = var_list
        self._index = {id(v): i for i, v in enumerate(var_list)}
        if len(self._index) != len(var_list):
            raise ValueError(f"{type(self).__name__}.build: a variable appears twice in var_list")
        self.built = True

    def add_slot(self, name: str, fill: float = 0.0) -> list:
        """Create one slot array per variable, filled with ``fill`` in the variable's dtype.

        Args:
            name: the slot's name (the state keys are ``f"{name}/{index}"``).
            fill: the initial value.

        Returns:
            The list of arrays, in build order.
        """
        arrays = [xp.full(v.shape, fill, dtype=v.dtype) for v in self._variables]
        self._slots[name] = arrays
        return arrays

    def _slot_index(self, variable) -> int:
        try:
            return self._index[id(variable)]
        except KeyError:
            raise ValueError(
                f"{type(self).__name__}: variable {getattr(variable, 'name', variable)!r} was "
                "not in the var_list the optimizer was built with"
            ) from None

    # -- one step -----------------------------------------------------------
    def apply_gradients(self, grads_and_vars) -> int:
        """Update each variable from its gradient; a ``None`` gradient skips its variable.

        Builds the optimizer on the first call (with every variable given, even
        those whose gradient is None), clips, evaluates the learning rate at
        ``iterations``, updates, then adds one to ``iterations``.  A call whose
        gradients are all None raises ValueError, and variables without a gradient
        get a warning naming them (as Keras: a loss not connected to the weights
        would otherwise train nothing, silently).

        Args:
            grads_and_vars: an iterable of ``(gradient, variable)`` pairs; a gradient
                is a Tensor, an array or None.

        Returns:
            ``iterations`` after the step.

        Example:
            >>> import wengert as wg
            >>> w, b = wg.Variable([1.0, 2.0]), wg.Variable(0.0)
            >>> opt = wg.optimizers.SGD(learning_rate=0.1)
            >>> opt.apply_gradients([(wg.constant([1.0, -1.0]), w), (wg.constant(2.5), b)])
            1
            >>> w.numpy(), float(b)
            (array([0.9, 2.1], dtype=float32), -0.25)
        """
        pairs = list(grads_and_vars)
        for pair in pairs:
            if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
                raise TypeError(
                    f"{type(self).__name__}.apply_gradients: expected (gradient, variable) "
                    f"pairs, got {type(pair).__name__}"
                )
        missing = [v for g, v in pairs if g is None]
        if pairs and len(missing) == len(pairs):
            raise ValueError(
                f"{type(self).__name__}.apply_gradients: no gradients provided for any "
                f"variable: {[getattr(v, 'name', '?') for v in missing]}"
            )
        if missing:
            warnings.warn(
                f"{type(self).__name__}.apply_gradients: gradients do not exist for "
                f"variables {[getattr(v, 'name', '?') for v in missing]} when minimizing "
                "the loss; they are left unchanged",
                stacklevel=2,
            )
        if not self.built:
            self.build([v for _, v in pairs])
        grads, variables = [], []
        for g, v in pairs:
            if g is None:
                continue
            self._slot_index(v)
            grads.append(self._as_array(g, v))
            variables.append(v)
        if not variables:
            return self.iterations
        grads = self._clip(grads)
        lr = self.learning_rate
        for g, v in zip(grads, variables):
            self.update_step(g, v, lr)
            if getattr(v, "constraint", None) is not None:  # Keras: projected after the update
                v.assign(v.constraint(v))
        self.iterations = StepCount(self.iterations + 1)
        return self.iterations

    def apply(self, grads, trainable_variables=None) -> int:
        """Keras 3's form of ``apply_gradients``: gradients and variables as two lists.

        Args:
            grads: one gradient (a Tensor, an array or None) per variable.
            trainable_variables: the variables, in the same order; omitted, the
                variables the optimizer was built with.

        Returns:
            ``iterations`` after the step.

        Example:
            >>> import wengert as wg
            >>> w = wg.Variable([1.0, 2.0])
            >>> opt = wg.optimizers.SGD(learning_rate=0.5)
            >>> opt.apply([wg.constant([2.0, 2.0])], [w])
            1
            >>> opt.apply([wg.constant([2.0, 2.0])])  # the variables it was built with
            2
            >>> w.numpy()
            array([-1.,  0.], dtype=float32)
        """
        name = f"{type(self).__name__}.apply"
        if trainable_variables is None:
            if not self.built:
                raise ValueError(
                    f"{name}: pass trainable_variables (the optimizer is not built yet, so it "
                    "has no variables of its own)"
                )
            trainable_variables = self._variables
        grads, trainable_variables = list(grads), list(trainable_variables)
        if len(grads) != len(trainable_variables):
            raise ValueError(
                f"{name}: got {len(grads)} gradients for {len(trainable_variables)} variables"
            )
        return self.apply_gradients(zip(grads, trainable_variables))

    @staticmethod
    def _subtract(variable, delta, held: int = 1) -> None:
        """``w <- w - delta``: in place when nothing else holds w's array, else a new array.

        A tape that saved the old value, or a view a user holds, keeps it
        (copy-on-write); ``held`` counts the caller's own local references to w.
        """
        if variable._exclusive(held):
            xp.subtract(variable._value, delta, out=variable._value)
        else:
            variable._replace(variable._value - delta)

    @staticmethod
    def _subtract_scaled(variable, factor: float, delta, held: int = 1) -> None:
        """``w <- w - factor * delta``, in place when safe (see ``_subtract``).

        In place it runs in chunks, so each chunk's product is still in cache when it
        is subtracted: about half the memory traffic of forming ``factor * delta``
        whole (a 1024x1024 SGD update took 0.31 ms instead of 0.58 here).
        """
        w = variable._value
        if w.size <= _UPDATE_CHUNK or not w.flags.c_contiguous or not variable._exclusive(held + 1):
            Optimizer._subtract(variable, factor * delta, held + 1)
            return
        flat, d = w.reshape(-1), xp.ravel(delta)
        product = xp.empty(_UPDATE_CHUNK, w.dtype)
        for a in range(0, flat.size, _UPDATE_CHUNK):
            part = product[: min(_UPDATE_CHUNK, flat.size - a)]
            xp.multiply(d[a : a + _UPDATE_CHUNK], factor, out=part)
            xp.subtract(flat[a : a + _UPDATE_CHUNK], part, out=flat[a : a + _UPDATE_CHUNK])

    @staticmethod
    def _scale(variable, factor: float, held: int = 1) -> None:
        """``w <- w * factor``, in place when safe (see ``_subtract``)."""
        if variable._exclusive(held):
            variable._value *= factor
        else:
            variable._replace(variable._value * factor)

    def _as_array(self, g, v):
        a = g._value if isinstance(g, Tensor) else xp.asarray(g)
        if a.shape != v.shape:
            raise ValueError(
                f"{type(self).__name__}.apply_gradients: gradient of shape {a.shape} for "
                f"variable {v.name!r} of shape {v.shape}"
            )
        return a if a.dtype == v.dtype else a.astype(v.dtype)

    def _clip(self, grads: list) -> list:
        """Clip by value, then by norm (each gradient's, or all together).

        The norm rule is torch's ``clip_grad_norm_``: ``g * c / (norm + 1e-6)`` when
        that factor is below 1 (Keras divides by ``max(norm, c)`` instead, a
        relative difference of 1e-6 / norm).
        """
        if self.clipvalue is not None:
            c = self.clipvalue
            grads = [xp.clip(g, -c, c) for g in grads]
        if self.clipnorm is not None:
            grads = [_scale_to_norm(g, _norm2(g), self.clipnorm) for g in grads]
        elif self.global_clipnorm is not None:
            total = sum(_norm2(g) for g in grads)
            grads = [_scale_to_norm(g, total, self.global_clipnorm) for g in grads]
        return grads

    def update_step(self, gradient, variable, learning_rate: float) -> None:
        """Update one variable (subclasses implement the rule).

        Args:
            gradient: an array of the variable's shape and dtype (already clipped).
            variable: the Variable to update.
            learning_rate: this step's learning rate.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement update_step")

    def minimize(self, loss, var_list, tape=None):
        """Compute the gradients of ``loss`` and apply them (TensorFlow's ``minimize``).

        Args:
            loss: a zero-argument callable returning the loss, or a loss Tensor
                recorded on ``tape``.
            var_list: the variables to update.
            tape: the GradientTape that recorded ``loss`` (needed when it is a Tensor).

        Returns:
            The loss.

        Example:
            >>> import wengert as wg
            >>> w = wg.Variable(3.0)
            >>> loss = wg.optimizers.SGD(learning_rate=0.25).minimize(lambda: w * w, [w])
            >>> float(loss), float(w)
            (9.0, 1.5)
        """
        if callable(loss):
            tape = tape if tape is not None else GradientTape()
            with tape:  # as TensorFlow: the variables are watched, even non-trainable ones
                if not callable(var_list):
                    tape.watch(list(var_list))
                loss = loss()
        elif tape is None:
            raise ValueError(
                f"{type(self).__name__}.minimize: pass a callable loss, or the tape that "
                "recorded the loss tensor"
            )
        # a callable var_list is evaluated after the loss, which may create the variables
        var_list = list(var_list() if callable(var_list) else var_list)
        grads = tape.gradient(loss, var_list)
        self.apply_gradients(zip(grads, var_list))
        return loss

    # -- state for checkpoints ----------------------------------------------
    def get_state(self) -> dict:
        """The step count and every slot, as arrays keyed ``"iterations"`` and ``"<slot>/<i>"``.

        ``i`` is the variable's position in the list the optimizer was built with.
        The arrays are copies.

        Returns:
            A dict from str to ndarray.

        Example:
            >>> import wengert as wg
            >>> w = wg.Variable([1.0, 2.0])
            >>> opt = wg.optimizers.SGD(momentum=0.9)
            >>> _ = opt.apply_gradients([(wg.constant([1.0, 1.0]), w)])
            >>> opt.get_state()
            {'iterations': array(1), 'momentum/0': array([1., 1.], dtype=float32)}
        """
        state = {"iterations": xp.asarray(self.iterations, dtype=backend.int64)}
        for name, arrays in self._slots.items():
            for i, a in enumerate(arrays):
                state[f"{name}/{i}"] = a.copy()
        return state

    def validate_state(self, state: dict, var_list=None) -> None:
        """Check, changing nothing, that ``set_state(state)`` would succeed.

        The keys, shapes and dtypes are those of ``get_state()``: "iterations" a
        non-negative integer scalar, each slot a real floating-point array of its
        variable's shape.  An optimizer not built yet is checked as if built on
        ``var_list`` (worked out on a copy: this one stays unbuilt); without ``var_list``
        it takes "iterations" only.

        Args:
            state: a dict as ``get_state`` returns.
            var_list: the variables an unbuilt optimizer would be built on (optional).

        Raises:
            ValueError: naming the keys, shapes or dtypes that do not fit.

        Example:
            >>> import numpy as np
            >>> import wengert as wg
            >>> opt = wg.optimizers.SGD(momentum=0.9)
            >>> w = wg.Variable([1.0, 2.0])
            >>> opt.validate_state({"iterations": np.int64(3), "momentum/0": np.zeros(2)}, [w])
            >>> opt.built
            False
            >>> opt.validate_state({"iterations": np.int64(-1)})
            Traceback (most recent call last):
            ...
            ValueError: SGD.set_state: iterations must be a non-negative integer, got -1
        """
        name = type(self).__name__
        if not isinstance(state, dict):
            raise ValueError(f"{name}.set_state: expected a dict, got {type(state).__name__}")
        probe = self if self.built or var_list is None else self._built_copy(var_list)
        expected = {"iterations": ()}
        for slot, arrays in probe._slots.items():
            for i, a in enumerate(arrays):
                expected[f"{slot}/{i}"] = a.shape
        missing = sorted(set(expected) - set(state))
        extra = sorted(set(state) - set(expected), key=str)
        present = sorted(set(expected) & set(state))
        shapes = [
            f"{k} has shape {xp.shape(state[k])}, expected {expected[k]}"
            for k in present
            if tuple(xp.shape(state[k])) != expected[k]
        ]
        dtypes = [
            f"{k} has dtype {xp.asarray(state[k]).dtype}, expected a floating-point array"
            for k in present
            if k != "iterations" and xp.asarray(state[k]).dtype.kind != "f"
        ]
        if missing or extra or shapes or dtypes:
            parts = []
            if missing:
                parts.append(f"missing keys {missing}")
            if extra:
                hint = "" if probe.built else " (build(var_list) the optimizer first)"
                parts.append(f"unexpected keys {extra}{hint}")
            parts.extend(shapes + dtypes)
            raise ValueError(f"{name}.set_state: " + "; ".join(parts))
        iterations = xp.asarray(state["iterations"])
        if iterations.dtype.kind not in "iu" or int(iterations) < 0:
            raise ValueError(
                f"{name}.set_state: iterations must be a non-negative integer, got {iterations}"
            )

    def _built_copy(self, var_list) -> Optimizer:
        """A shallow copy of this unbuilt optimizer, built on ``var_list``: its slots,
        state keys and shapes, while this one stays unbuilt."""
        probe = copy.copy(self)  # its own lists and dicts, so that building it is private
        probe._variables, probe._index, probe._slots = [], {}, {}
        probe.build(var_list)
        return probe

    def set_state(self, state: dict) -> None:
        """Restore ``get_state()``'s dict; later updates are then bit-identical.

        The optimizer must be built (``build(var_list)``) with variables of the same
        shapes first, unless the state holds only ``"iterations"``.

        Args:
            state: a dict from ``get_state``.

        Example:
            >>> import wengert as wg
            >>> w = wg.Variable([1.0, 2.0])
            >>> opt = wg.optimizers.Adam()
            >>> _ = opt.apply_gradients([(wg.constant([1.0, 1.0]), w)])
            >>> new = wg.optimizers.Adam()
            >>> new.build([w])
            >>> new.set_state(opt.get_state())
            >>> new.iterations
            1
        """
        self.validate_state(state)
        iterations = xp.asarray(state["iterations"])
        for slot, arrays in self._slots.items():
            for i, a in enumerate(arrays):
                arrays[i] = xp.array(state[f"{slot}/{i}"], dtype=a.dtype, copy=True)
        self.iterations = StepCount(iterations)

    # -- config -------------------------------------------------------------
    def get_config(self) -> dict:
        """The constructor's arguments (a schedule as ``schedules.serialize``'s dict).

        Returns:
            A dict that ``from_config`` accepts.

        Example:
            >>> import wengert as wg
            >>> cfg = wg.optimizers.SGD(momentum=0.9).get_config()
            >>> cfg["learning_rate"], cfg["momentum"], cfg["nesterov"]
            (0.01, 0.9, False)
        """
        lr = self._learning_rate
        if isinstance(lr, schedules.LearningRateSchedule):
            lr = schedules.serialize(lr)
        return {
            "name": self.name,
            "learning_rate": lr,
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "clipvalue": self.clipvalue,
            "global_clipnorm": self.global_clipnorm,
        }

    @classmethod
    def from_config(cls, config: dict) -> Optimizer:
        """A new, unbuilt optimizer from ``get_config()``'s dict.

        Args:
            config: the dict ``get_config`` returned.

        Returns:
            A new optimizer.

        Example:
            >>> import wengert as wg
            >>> opt = wg.optimizers.Adam.from_config(wg.optimizers.Adam(amsgrad=True).get_config())
            >>> opt.amsgrad
            True
        """
        return cls(**config)

    def __repr__(self) -> str:
        lr = self._learning_rate
        return f"<wg.optimizers.{type(self).__name__} {self.name!r}: learning_rate={lr!r}>"


def _norm2(g) -> float:
    """Squared L2 norm of an array, as a Python float (summed in float64: a float16
    gradient's square would overflow)."""
    g = g.astype(xp.float64) if g.dtype.itemsize < 8 and g.dtype.kind == "f" else g
    return float(xp.vdot(g, g).real)


def _scale_to_norm(g, norm2: float, max_norm: float):
    coef = max_norm / (math.sqrt(norm2) + 1e-6)
    # a NaN norm makes every gradient NaN, as torch's clip_grad_norm_ (never a silent skip)
    return g * coef if coef < 1.0 or math.isnan(coef) else g


class SGD(Optimizer):
    """Gradient descent, with momentum and Nesterov momentum (``torch.optim.SGD``).

    With gradient g, learning rate lr, momentum μ and a buffer b starting at 0::

        g <- g + weight_decay * w          (torch's coupled L2, when weight_decay)
        b <- μ b + g                       (when momentum > 0)
        w <- w - lr b                      (nesterov: w <- w - lr (g + μ b))

    Keras writes momentum as a velocity that holds the learning rate,
    ``v <- μ v - lr g; w <- w + v`` (Nesterov: ``w <- w + μ v - lr g``): the
    chapter's Δw(t) = -ε ∇E + α Δw(t-1).  With a constant learning rate the two
    are the same update (v = -lr b).  When a schedule changes lr, Keras's
    velocity still carries the old rates and torch's buffer does not; wengert
    follows torch, so schedules give torch's path too.

    Args:
        learning_rate: a float or a schedule.
        momentum: μ in [0, 1].
        nesterov: use Nesterov momentum.
        **kwargs: ``weight_decay``, ``clipnorm``, ``clipvalue``, ``global_clipnorm``, ``name``.

    Example:
        >>> import wengert as wg
        >>> w = wg.Variable([1.0])
        >>> opt = wg.optimizers.SGD(learning_rate=0.1, momentum=0.5)
        >>> for _ in range(2):
        ...     _ = opt.apply_gradients([(wg.constant([1.0]), w)])
        >>> w.numpy()  # 1 - 0.1 * 1 - 0.1 * (0.5 + 1)
        array([0.75], dtype=float32)
    """

    def __init__(self, learning_rate=0.01, momentum: float = 0.0, nesterov: bool = False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.momentum = self._check("momentum", momentum, 0.0, 1.0)
        self.nesterov = bool(nesterov)

    def build(self, var_list) -> None:
        if self.built:
            return
        super().build(var_list)
        self._buffers = self.add_slot("momentum") if self.momentum else None

    def update_step(self, gradient, variable, learning_rate: float) -> None:
        w, g, mu = variable._value, gradient, self.momentum
        if self.weight_decay:
            g = g + self.weight_decay * w
        if mu:
            b = self._buffers[self._slot_index(variable)]
            b *= mu
            b += g
            g = g + mu * b if self.nesterov else b
        self._subtract_scaled(variable, learning_rate, g)

    def get_config(self) -> dict:
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adagrad(Optimizer):
    """Adagrad: per-element rates that shrink as squared gradients add up (``torch.optim.Adagrad``).

    With an accumulator s starting at ``initial_accumulator_value``::

        g <- g + weight_decay * w          (torch's coupled L2, when weight_decay)
        s <- s + g^2
        w <- w - lr g / (sqrt(s) + epsilon)

    Keras's defaults (``initial_accumulator_value=0.1, epsilon=1e-7``) differ from
    torch's (0 and 1e-10); the rule is the same.

    Args:
        learning_rate: a float or a schedule.
        initial_accumulator_value: the accumulator's starting value (>= 0).
        epsilon: added to the root, as torch does.
        **kwargs: ``weight_decay``, ``clipnorm``, ``clipvalue``, ``global_clipnorm``, ``name``.

    Example:
        >>> import wengert as wg
        >>> w = wg.Variable([1.0])
        >>> opt = wg.optimizers.Adagrad(learning_rate=0.5, initial_accumulator_value=0.0,
        ...                             epsilon=0.0)
        >>> _ = opt.apply_gradients([(wg.constant([4.0]), w)])
        >>> w.numpy()  # 1 - 0.5 * 4 / sqrt(16)
        array([0.5], dtype=float32)
    """

    def __init__(
        self,
        learning_rate=0.001,
        initial_accumulator_value: float = 0.1,
        epsilon: float = 1e-7,
        **kwargs,
    ):
        super().__init__(learning_rate, **kwargs)
        self.initial_accumulator_value = self._check(
            "initial_accumulator_value", initial_accumulator_value, 0.0, math.inf
        )
        self.epsilon = self._check("epsilon", epsilon, 0.0, math.inf)

    def build(self, var_list) -> None:
        if self.built:
            return
        super().build(var_list)
        self._accumulators = self.add_slot("accumulator", self.initial_accumulator_value)

    def update_step(self, gradient, variable, learning_rate: float) -> None:
        w, g = variable._value, gradient
        if self.weight_decay:
            g = g + self.weight_decay * w
        s = self._accumulators[self._slot_index(variable)]
        s += g * g
        self._subtract(variable, learning_rate * (g / (xp.sqrt(s) + self.epsilon)))

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "initial_accumulator_value": self.initial_accumulator_value,
            "epsilon": self.epsilon,
        }


class RMSprop(Optimizer):
    """RMSprop: divide by a running root mean square of the gradients (``torch.optim.RMSprop``).

    With v, ḡ and b starting at 0 (Keras's ``rho`` is torch's ``alpha``)::

        g <- g + weight_decay * w          (torch's coupled L2, when weight_decay)
        v <- rho v + (1 - rho) g^2
        d = sqrt(v) + epsilon              (centered: ḡ <- rho ḡ + (1 - rho) g,
                                                      d = sqrt(v - ḡ^2) + epsilon)
        w <- w - lr g / d                  (momentum μ > 0: b <- μ b + g / d, w <- w - lr b)

    Keras puts epsilon inside the root and lr inside the momentum buffer; torch
    does neither, and wengert follows torch.

    Args:
        learning_rate: a float or a schedule.
        rho: the decay of the running averages, in [0, 1].
        momentum: μ in [0, 1].
        epsilon: added to the root.
        centered: divide by the estimated standard deviation instead of the RMS.
        **kwargs: ``weight_decay``, ``clipnorm``, ``clipvalue``, ``global_clipnorm``, ``name``.

    Example:
        >>> import wengert as wg
        >>> w = wg.Variable([1.0])
        >>> opt = wg.optimizers.RMSprop(learning_rate=0.1, rho=0.75, epsilon=0.0)
        >>> _ = opt.apply_gradients([(wg.constant([2.0]), w)])
        >>> w.numpy()  # 1 - 0.1 * 2 / sqrt(0.25 * 4)
        array([0.8], dtype=float32)
    """

    def __init__(
        self,
        learning_rate=0.001,
        rho: float = 0.9,
        momentum: float = 0.0,
        epsilon: float = 1e-7,
        centered: bool = False,
        **kwargs,
    ):
        super().__init__(learning_rate, **kwargs)
        self.rho = self._check("rho", rho, 0.0, 1.0)
        self.momentum = self._check("momentum", momentum, 0.0, 1.0)
        self.epsilon = self._check("epsilon", epsilon, 0.0, math.inf)
        self.centered = bool(centered)

    def build(self, var_list) -> None:
        if self.built:
            return
        super().build(var_list)
        self._velocities = self.add_slot("velocity")
        self._average_gradients = self.add_slot("average_gradient") if self.centered else None
        self._buffers = self.add_slot("momentum") if self.momentum else None

    def update_step(self, gradient, variable, learning_rate: float) -> None:
        w, g, rho = variable._value, gradient, self.rho
        if self.weight_decay:
            g = g + self.weight_decay * w
        i = self._slot_index(variable)
        v = self._velocities[i]
        v *= rho
        v += (1 - rho) * (g * g)
        if self.centered:
            a = self._average_gradients[i]
            a *= rho
            a += (1 - rho) * g
            d = xp.sqrt(v - a * a)
        else:
            d = xp.sqrt(v)
        d += self.epsilon
        if self.momentum:
            b = self._buffers[i]
            b *= self.momentum
            b += g / d
            self._subtract_scaled(variable, learning_rate, b)
        else:
            self._subtract(variable, learning_rate * (g / d))

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "rho": self.rho,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "centered": self.centered,
        }


class _MomentEstimates(Optimizer):
    """What Adam, Adamax and Nadam share: β1, β2 and epsilon (Keras's defaults), checked
    and in the config."""

    def __init__(
        self,
        learning_rate=0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        **kwargs,
    ):
        super().__init__(learning_rate, **kwargs)
        self.beta_1 = self._check("beta_1", beta_1, 0.0, 1.0, high_open=True)
        self.beta_2 = self._check("beta_2", beta_2, 0.0, 1.0, high_open=True)
        self.epsilon = self._check("epsilon", epsilon, 0.0, math.inf)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
        }


class Adam(_MomentEstimates):
    """Adam: steps scaled by bias-corrected moment estimates (``torch.optim.Adam``).

    At step t = iterations + 1, with m and v starting at 0::

        g <- g + weight_decay * w          (Adam: torch's coupled L2, when weight_decay)
        w <- w - lr * weight_decay * w     (AdamW instead: decoupled, before the step)
        m <- β1 m + (1 - β1) g
        v <- β2 v + (1 - β2) g^2
        v_max <- max(v_max, v)             (amsgrad; v_max replaces v below)
        w <- w - lr m̂ / (sqrt(v̂) + epsilon),   m̂ = m / (1 - β1^t),  v̂ = v / (1 - β2^t)

    This is torch's placement of epsilon (outside the bias correction); Keras
    adds it to sqrt(v) before correcting.  t counts optimizer steps, as Keras
    does; torch counts each parameter's own steps, which differs only for a
    variable that went without a gradient in some step.

    Args:
        learning_rate: a float or a schedule.
        beta_1: β1 in [0, 1).
        beta_2: β2 in [0, 1).
        epsilon: added to the root.
        amsgrad: use the running maximum of v (AMSGrad).
        **kwargs: ``weight_decay``, ``clipnorm``, ``clipvalue``, ``global_clipnorm``, ``name``.

    Example:
        >>> import wengert as wg
        >>> w = wg.Variable([1.0, 1.0])
        >>> opt = wg.optimizers.Adam(learning_rate=0.1)
        >>> _ = opt.apply_gradients([(wg.constant([3.0, -0.5]), w)])
        >>> w.numpy().round(4)  # the first step is lr * sign(g), up to epsilon
        array([0.9, 1.1], dtype=float32)
    """

    def __init__(
        self,
        learning_rate=0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        **kwargs,
    ):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, **kwargs)
        self.amsgrad = bool(amsgrad)

    def build(self, var_list) -> None:
        if self.built:
            return
        super().build(var_list)
        self._m = self.add_slot("m")
        self._v = self._v_max = self.add_slot("v")
        if self.amsgrad:
            self._v_max = self.add_slot("v_max")

    def update_step(self, gradient, variable, learning_rate: float) -> None:
        w, g, b1, b2 = variable._value, gradient, self.beta_1, self.beta_2
        if self.weight_decay:
            if self._decoupled_weight_decay:
                self._scale(variable, 1 - learning_rate * self.weight_decay)
            else:
                g = g + self.weight_decay * w
        i, t = self._slot_index(variable), self.iterations + 1
        m, v = self._m[i], self._v[i]
        # The same arithmetic as torch.optim.Adam, in one scratch array: a small model's
        # step is dominated by per-call costs, and each fresh temporary is one more.
        tmp = xp.multiply(g, 1 - b1, out=xp.empty_like(m))  # (an array even for scalars)
        m *= b1
        m += tmp
        xp.multiply(g, g, out=tmp)
        tmp *= 1 - b2
        v *= b2
        v += tmp
        if self.amsgrad:
            xp.maximum(self._v_max[i], v, out=self._v_max[i])
        xp.sqrt(self._v_max[i], out=tmp)  # the denominator
        tmp /= math.sqrt(1 - b2**t)
        tmp += self.epsilon
        xp.divide(m, tmp, out=tmp)
        tmp *= learning_rate / (1 - b1**t)
        self._subtract(variable, tmp)

    def get_config(self) -> dict:
        return {**super().get_config(), "amsgrad": self.amsgrad}


class AdamW(Adam):
    """Adam with decoupled weight decay (``torch.optim.AdamW``).

    Before each Adam step (see ``Adam``) the weights shrink::

        w <- w - lr * weight_decay * w

    so the decay does not pass through the moment estimates (Loshchilov & Hutter).

    Args:
        learning_rate: a float or a schedule.
        weight_decay: the decoupled decay coefficient (>= 0; Keras's default 0.004).
        beta_1: β1 in [0, 1).
        beta_2: β2 in [0, 1).
        epsilon: added to the root.
        amsgrad: use the running maximum of v (AMSGrad).
        **kwargs: ``clipnorm``, ``clipvalue``, ``global_clipnorm``, ``name``.

    Example:
        >>> import wengert as wg
        >>> w = wg.Variable([1.0])
        >>> opt = wg.optimizers.AdamW(learning_rate=0.1, weight_decay=0.5)
        >>> _ = opt.apply_gradients([(wg.constant([2.0]), w)])
        >>> w.numpy()  # 1 * (1 - 0.1 * 0.5) - 0.1
        array([0.85], dtype=float32)
    """

    _decoupled_weight_decay = True

    def __init__(
        self,
        learning_rate=0.001,
        weight_decay: float = 0.004,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        **kwargs,
    ):
        super().__init__(
            learning_rate,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            amsgrad=amsgrad,
            weight_decay=weight_decay,
            **kwargs,
        )


class Adamax(_MomentEstimates):
    """Adamax: Adam with an infinity norm in place of the root mean square (``torch.optim.Adamax``)

    At step t = iterations + 1, with m and u starting at 0::

        g <- g + weight_decay * w          (torch's coupled L2, when weight_decay)
        m <- β1 m + (1 - β1) g
        u <- max(β2 u, |g| + epsilon)
        w <- w - lr / (1 - β1^t) * m / u

    This is torch's placement of epsilon (inside the max); Keras takes
    ``u <- max(β2 u, |g|)`` and divides by ``u + epsilon``.

    Args:
        learning_rate: a float or a schedule.
        beta_1: β1 in [0, 1).
        beta_2: β2 in [0, 1).
        epsilon: the floor of u.
        **kwargs: ``weight_decay``, ``clipnorm``, ``clipvalue``, ``global_clipnorm``, ``name``.

    Example:
        >>> import wengert as wg
        >>> w = wg.Variable([1.0])
        >>> opt = wg.optimizers.Adamax(learning_rate=0.1, epsilon=0.0)
        >>> for g in (2.0, 1.0):
        ...     _ = opt.apply_gradients([(wg.constant([g]), w)])
        >>> # m = 0.9 * 0.2 + 0.1 * 1 = 0.28; u = max(0.999 * 2, 1) = 1.998
        >>> round(float(w[0]), 5), round(0.9 - 0.1 / (1 - 0.9**2) * 0.28 / 1.998, 5)
        (0.82624, 0.82624)
    """

    def build(self, var_list) -> None:
        if self.built:
            return
        super().build(var_list)
        self._m = self.add_slot("m")
        self._u = self.add_slot("u")

    def update_step(self, gradient, variable, learning_rate: float) -> None:
        w, g, b1 = variable._value, gradient, self.beta_1
        if self.weight_decay:
            g = g + self.weight_decay * w
        i, t = self._slot_index(variable), self.iterations + 1
        m, u = self._m[i], self._u[i]
        m *= b1
        m += (1 - b1) * g
        u *= self.beta_2
        xp.maximum(u, xp.abs(g) + self.epsilon, out=u)
        self._subtract(variable, (learning_rate / (1 - b1**t)) * (m / u))


class Nadam(_MomentEstimates):
    """Nadam: Adam with Nesterov momentum and Keras's momentum schedule.

    At step t = iterations + 1, with m and v starting at 0, momentum coefficients
    μ_t = β1 (1 - 0.5 * 0.96^t) and their running product Π_t = μ_1 ... μ_t::

        g <- g + weight_decay * w          (torch's coupled L2, when weight_decay)
        m <- β1 m + (1 - β1) g
        v <- β2 v + (1 - β2) g^2
        m̂ = μ_{t+1} m / (1 - Π_t μ_{t+1}) + (1 - μ_t) g / (1 - Π_t)
        w <- w - lr m̂ / (sqrt(v / (1 - β2^t)) + epsilon)

    This is Keras 3's Nadam, and ``torch.optim.NAdam`` with ``momentum_decay=1``
    (torch's μ_t is β1 (1 - 0.5 * 0.96^(t * momentum_decay)), and its default
    momentum_decay of 0.004 makes the schedule 250 times slower).  Π_t depends
    only on t, so the optimizer's state is Adam's.

    Args:
        learning_rate: a float or a schedule.
        beta_1: β1 in [0, 1).
        beta_2: β2 in [0, 1).
        epsilon: added to the root.
        **kwargs: ``weight_decay``, ``clipnorm``, ``clipvalue``, ``global_clipnorm``, ``name``.

    Example:
        >>> import wengert as wg
        >>> w = wg.Variable([1.0])
        >>> opt = wg.optimizers.Nadam(learning_rate=0.1, epsilon=0.0)
        >>> _ = opt.apply_gradients([(wg.constant([2.0]), w)])
        >>> mu_1, mu_2 = 0.9 * (1 - 0.5 * 0.96), 0.9 * (1 - 0.5 * 0.96**2)
        >>> m_hat = mu_2 * 0.2 / (1 - mu_1 * mu_2) + 2.0  # m = 0.2, v̂ = g^2 = 4
        >>> round(float(w[0]), 5), round(1 - 0.1 * m_hat / 2, 5)
        (0.89372, 0.89372)
    """

    def build(self, var_list) -> None:
        if self.built:
            return
        super().build(var_list)
        self._m = self.add_slot("m")
        self._v = self.add_slot("v")
        self._momentum_product = (0, 1.0)  # (t, Π_t)

    def _momentum(self, t: int) -> float:
        return self.beta_1 * (1.0 - 0.5 * 0.96**t)

    def _product(self, t: int) -> float:
        """Π_t, multiplied on from the last step's (or recomputed after ``set_state``)."""
        step, product = self._momentum_product
        if step != t:
            if step != t - 1:
                step, product = 0, 1.0
            for i in range(step + 1, t + 1):
                product *= self._momentum(i)
            self._momentum_product = (t, product)
        return product

    def update_step(self, gradient, variable, learning_rate: float) -> None:
        w, g, b1, b2 = variable._value, gradient, self.beta_1, self.beta_2
        if self.weight_decay:
            g = g + self.weight_decay * w
        i, t = self._slot_index(variable), self.iterations + 1
        mu, mu_next = self._momentum(t), self._momentum(t + 1)
        product = self._product(t)
        m, v = self._m[i], self._v[i]
        m *= b1
        m += (1 - b1) * g
        v *= b2
        v += (1 - b2) * (g * g)
        denom = xp.sqrt(v / (1 - b2**t))
        denom += self.epsilon
        step = (learning_rate * (1 - mu) / (1 - product)) * g
        step += (learning_rate * mu_next / (1 - product * mu_next)) * m
        self._subtract(variable, step / denom)


# Names ``get`` accepts (case-insensitive), each giving a default instance.
_NAMES = {
    "sgd": SGD,
    "adagrad": Adagrad,
    "rmsprop": RMSprop,
    "adam": Adam,
    "adamw": AdamW,
    "adamax": Adamax,
    "nadam": Nadam,
}


def serialize(optimizer: Optimizer) -> dict:
    """An optimizer's class and config as ``{"class_name": ..., "config": ...}`` (Keras's layout).

    Args:
        optimizer: an Optimizer.

    Returns:
        A dict that ``deserialize`` and ``get`` accept.

    Example:
        >>> import wengert as wg
        >>> wg.optimizers.serialize(wg.optimizers.SGD())["class_name"]
        'SGD'
    """
    if not isinstance(optimizer, Optimizer):
        raise TypeError(
            f"optimizers.serialize: expected an Optimizer, got {type(optimizer).__name__}"
        )
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


def deserialize(config: dict) -> Optimizer:
    """A new optimizer from ``serialize``'s dict, or from a bare ``get_config`` dict.

    A bare config names no class, so its ``name`` must be one of the built-in
    names (as it is unless the user renamed the optimizer).

    Args:
        config: ``{"class_name": name, "config": kwargs}`` or ``get_config()``'s dict.

    Returns:
        A new, unbuilt optimizer.

    Example:
        >>> import wengert as wg
        >>> opt = wg.optimizers.deserialize(wg.optimizers.Adam(beta_1=0.8).get_config())
        >>> type(opt).__name__, opt.beta_1
        ('Adam', 0.8)
    """
    if "class_name" in config:
        cls = _REGISTRY.get(config["class_name"])
        if cls is None:
            raise ValueError(
                f"optimizers.deserialize: unknown optimizer class {config['class_name']!r}; "
                f"known: {', '.join(sorted(_REGISTRY))}"
            )
        return cls.from_config(dict(config.get("config", {})))
    cls = _NAMES.get(str(config.get("name", "")).lower())
    if cls is None:
        raise ValueError(
            "optimizers.deserialize: a config without 'class_name' must have a 'name' among "
            f"{', '.join(sorted(_NAMES))}; got name={config.get('name')!r} (use "
            "optimizers.serialize to keep the class)"
        )
    return cls.from_config(dict(config))


def get(identifier) -> Optimizer:
    """An optimizer from an instance (returned as is), a name, or a config dict.

    Args:
        identifier: an Optimizer; a name ("sgd", "adagrad", "rmsprop", "adam", "adamw",
            "adamax", "nadam", any case) for a default instance; or a dict for ``deserialize``.

    Returns:
        An Optimizer.

    Example:
        >>> import wengert as wg
        >>> wg.optimizers.get("Adam")
        <wg.optimizers.Adam 'Adam': learning_rate=0.001>
        >>> wg.optimizers.get("adadelta")
        Traceback (most recent call last):
        ...
        ValueError: Unknown optimizer 'adadelta'; valid names: adagrad, adam, ...
    """
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        cls = _NAMES.get(identifier.lower())
        if cls is None:
            raise ValueError(
                f"Unknown optimizer {identifier!r}; valid names: {', '.join(sorted(_NAMES))}"
            )
        return cls()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    raise TypeError(
        "optimizers.get: expected an Optimizer, a name or a config dict, got "
        f"{type(identifier).__name__}"
    )
