"""``Layer``: configuration in ``__init__``, weights in ``build``, the math in ``call``.

Weights and sublayers are found by walking a layer's attributes (in the order
they were set), so a user's layer needs no registration calls: assign a
``Variable``, a ``Layer`` or a ``wengert.module.Module`` to ``self.something``
and it is tracked.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
import operator
import re
import weakref
from collections import defaultdict

from ..backend import as_dtype, xp
from ..core import operand
from ..module import Module, _module_layers
from ..tensor import Tensor, Variable

__all__ = ["Layer", "InputSpec", "Input", "InputLayer", "Wrapper", "get_mask", "set_mask"]

# The training flag of the outermost call, inherited by nested layers that are
# called without an explicit ``training=`` (Keras's call context).
_training = contextvars.ContextVar("wengert_training", default=None)
# Inside some layer's call: only the outermost call clears the losses add_loss collected.
_in_call = contextvars.ContextVar("wengert_in_call", default=False)
_add_loss_used = [False]  # until add_loss is first called, no call walks layers to clear
# True while layers are called on zeros only to learn output shapes (defining a functional
# model, compute_output_shape, building a model): a stateful layer must neither keep such
# a batch size nor store such states (Keras 3 traces these calls symbolically instead).
_shape_probe = contextvars.ContextVar("wengert_shape_probe", default=False)


@contextlib.contextmanager
def shape_probe():
    """Mark the calls inside as shape probes (see ``_shape_probe``)."""
    token = _shape_probe.set(True)
    try:
        yield
    finally:
        _shape_probe.reset(token)


def probing_shapes() -> bool:
    """Whether the current call only probes output shapes."""
    return _shape_probe.get()


_name_counts: dict = defaultdict(int)


# -- padding masks ---------------------------------------------------------------------------
# Keras attaches a padding mask to a layer's output (``_keras_mask``); tensors here have
# fixed slots, so the mask travels beside the tensor.  A layer that supports masking
# passes its input's mask on to its output (Layer.__call__); Embedding(mask_zero=True)
# and Masking make one; recurrent layers, GlobalAveragePooling1D, losses and metrics
# read it.

# id(tensor) -> (weak reference to the tensor, bool mask array)
_MASKS: dict = {}


def _forget(key):
    def callback(ref):
        entry = _MASKS.get(key)
        if entry is not None and entry[0] is ref:
            del _MASKS[key]

    return callback


def set_mask(tensor: Tensor, mask) -> None:
    """Attach a boolean padding mask (True = a real step) to ``tensor`` (None removes it).

    Args:
        tensor: a layer's output.
        mask: a boolean array or Tensor (batch, time), or None.

    Example:
        >>> import wengert as wg
        >>> from wengert.layers.embedding import get_mask, set_mask
        >>> t = wg.zeros((2, 3, 4))
        >>> set_mask(t, [[True, True, False], [True, False, False]])
        >>> get_mask(t).sum(axis=1)
        array([2, 1])
    """
    key = id(tensor)
    if mask is None:
        _MASKS.pop(key, None)
        return
    m = xp.asarray(mask._value if isinstance(mask, Tensor) else mask)
    if m.dtype != xp.bool_:
        m = m != 0
    _MASKS[key] = (weakref.ref(tensor, _forget(key)), m)


def get_mask(tensor):
    """The padding mask attached to ``tensor`` by ``set_mask`` (a bool array), or None.

    Example:
        >>> import wengert as wg
        >>> from wengert.layers.embedding import get_mask
        >>> print(get_mask(wg.zeros((2, 3))))
        None
    """
    entry = _MASKS.get(id(tensor))
    if entry is None or entry[0]() is not tensor:
        return None
    return entry[1]


def _snake(name: str) -> str:
    """Keras's automatic names: Conv2D -> conv2d, BatchNormalization -> batch_normalization."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def _marking_built(build):
    """``build`` that leaves the layer built, as Keras wraps every layer's build: a layer
    built by hand (``layer.build(shape)``) is not built again by its first call."""

    @functools.wraps(build)
    def build_then_mark(self, *args, **kwargs):
        build(self, *args, **kwargs)
        self.built = True
        if getattr(self, "_build_input_shape", None) is None and args:
            self._build_input_shape = args[0]  # what Model.save records

    build_then_mark._marks_built = True
    return build_then_mark


def unique_name(base: str) -> str:
    """Keras-style automatic names: dense, dense_1, dense_2, ..."""
    n = _name_counts[base]
    _name_counts[base] += 1
    return base if n == 0 else f"{base}_{n}"


class InputSpec:
    """What a built layer accepts: rank bounds and fixed sizes of some axes.

    Example:
        >>> spec = InputSpec(min_ndim=2, axes={-1: 3})
        >>> spec.check("dense", (5, 3))
    """

    def __init__(self, ndim=None, min_ndim=None, axes=None):
        self.ndim = ndim
        self.min_ndim = min_ndim
        self.axes = dict(axes or {})

    def check(self, layer_name: str, shape: tuple) -> None:
        """Raise ValueError naming the layer and the shapes if ``shape`` does not fit."""
        where = f"Input 0 of layer '{layer_name}' is incompatible with the layer"
        if self.ndim is not None and len(shape) != self.ndim:
            raise ValueError(
                f"{where}: expected ndim={self.ndim}, found ndim={len(shape)}. "
                f"Full shape received: {shape}"
            )
        if self.min_ndim is not None and len(shape) < self.min_ndim:
            raise ValueError(
                f"{where}: expected min_ndim={self.min_ndim}, found "
                f"ndim={len(shape)}. Full shape received: {shape}"
            )
        for axis, size in self.axes.items():
            if size is not None and -len(shape) <= axis < len(shape) and shape[axis] != size:
                raise ValueError(
                    f"{where}: expected axis {axis} of input shape to have value "
                    f"{size}, but received input with shape {shape}"
                )


class Layer:
    """Base class of layers: ``__init__`` keeps config, ``build`` makes weights, ``call`` computes.

    Args:
        trainable: whether the layer's weights are updated by training.
        name: the layer's name (unique automatic names by default).
        dtype: the dtype of weights and computation (float32 by default).
        input_shape: optional shape of one sample, for the first layer of a Sequential.

    Example:
        >>> import wengert as wg
        >>> class Scale(wg.layers.Layer):
        ...     def build(self, input_shape):
        ...         self.scale = self.add_weight(shape=(input_shape[-1],), initializer="ones")
        ...     def call(self, inputs):
        ...         return inputs * self.scale
        >>> layer = Scale()
        >>> layer(wg.ones((2, 3))).shape, len(layer.trainable_weights)
        ((2, 3), 1)
    """

    # Integer or boolean inputs are cast to the layer's dtype (Dense, convolutions,
    # normalizations, recurrent layers); others (Embedding, shape ops) keep them.
    _float_math = False
    # Whether the layer hands its input's padding mask on to its output (Keras).
    supports_masking = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        build = cls.__dict__.get("build")
        if build is not None and not getattr(build, "_marks_built", False):
            cls.build = _marking_built(build)

    def __init__(
        self,
        trainable: bool = True,
        name: str | None = None,
        dtype=None,
        input_shape=None,
        input_dim=None,
        activity_regularizer=None,
        **kwargs,
    ):
        from .. import constraints, regularizers

        if input_shape is None and input_dim is not None:  # Keras's shorthand for (input_dim,)
            input_shape = (int(input_dim),)
        # Keras's <weight>_regularizer arguments (kernel_regularizer, bias_regularizer,
        # recurrent_regularizer, ...): add_weight applies the one named after the weight.
        self._weight_regularizers = {
            key[: -len("_regularizer")]: regularizers.get(kwargs.pop(key))
            for key in [k for k in kwargs if k.endswith("_regularizer")]
        }
        # ... and <weight>_constraint arguments, which add_weight gives the weight.
        self._weight_constraints = {
            key[: -len("_constraint")]: constraints.get(kwargs.pop(key))
            for key in [k for k in kwargs if k.endswith("_constraint")]
        }
        self._activity_regularizer = regularizers.get(activity_regularizer)
        self._regularized = []  # (variable, regularizer) pairs of this layer's own weights
        self._activity_losses = []
        self._added_losses = []  # add_loss's, from the current outermost call
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected arguments {sorted(kwargs)}")
        self.name = name or unique_name(_snake(type(self).__name__))
        self._trainable = bool(trainable)  # no sublayers yet to pass it on to
        self.dtype = as_dtype("float32" if dtype is None else dtype)
        self.built = False
        self.input_spec = None
        self._input_shape_arg = None if input_shape is None else tuple(input_shape)
        params = inspect.signature(self.call).parameters
        self._call_takes_training = "training" in params
        # call(training=True) in the signature: the value used when neither this call nor
        # an outer one gives training= (Keras 3: augmentation layers augment by default).
        default = params["training"].default if self._call_takes_training else None
        self._training_default = None if default is inspect.Parameter.empty else default
        self._call_takes_mask = "mask" in params  # Keras passes the input's mask to it
        # call()'s parameters after the inputs that a positional argument can fill
        # (layer(x, h) is call(x, h), as Keras 3 binds them).
        positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        self._call_positional = [n for n, p in params.items() if p.kind in positional][1:]

    @property
    def trainable(self) -> bool:
        """Whether training updates this layer's weights.  Setting it sets every sublayer's
        too, as in Keras: freezing a model freezes its BatchNormalization layers, which
        then run in inference mode."""
        return self._trainable

    @trainable.setter
    def trainable(self, value) -> None:
        self._trainable = bool(value)
        for layer in child_layers(self):  # those inside Modules too
            layer.trainable = value

    # -- weights ---------------------------------------------------------------------
    def add_weight(
        self,
        shape,
        initializer="glorot_uniform",
        dtype=None,
        trainable=True,
        name=None,
        regularizer=None,
        constraint=None,
    ) -> Variable:
        """Create a weight Variable, initialised by ``initializer`` (a name or an object).

        ``regularizer`` (default: the layer's ``<name>_regularizer`` argument) adds its
        penalty of the weight to ``losses``; ``constraint`` (default: the layer's
        ``<name>_constraint``) projects the weight after each optimizer update.
        """
        from .. import constraints, initializers, regularizers

        dtype = self.dtype if dtype is None else as_dtype(dtype)
        shape = tuple(int(s) for s in shape)
        value = initializers.get(initializer)(shape, dtype=dtype)
        value = value._value if isinstance(value, Tensor) else xp.asarray(value)
        variable = Variable(
            value.astype(dtype, copy=False),
            trainable=trainable,
            name=f"{self.name}/{name or 'weight'}",
        )
        if name is not None:
            # kernel_regularizer for "kernel"; recurrent_regularizer for "recurrent_kernel"
            if regularizer is None:
                regularizer = _for_weight(self._weight_regularizers, name)
            if constraint is None:
                constraint = _for_weight(self._weight_constraints, name)
        variable.constraint = constraints.get(constraint)
        regularizer = regularizers.get(regularizer)
        if regularizer is not None:
            self._regularized.append((variable, regularizer))
        return variable

    @property
    def losses(self) -> list:
        """The regularization penalties (scalar Tensors): each regularized weight's, computed
        now (so a tape records them), the last call's activity penalties, then every
        sublayer's, as Keras lists them.

        Example:
            >>> import wengert as wg
            >>> layer = wg.layers.Dense(1, kernel_initializer="ones", kernel_regularizer="l1")
            >>> _ = layer(wg.ones((1, 3)))
            >>> [round(float(p), 4) for p in layer.losses]  # 0.01 * (1 + 1 + 1)
            [0.03]
        """
        out = [reg(v) for v, reg in self._regularized]
        out += self._activity_losses
        out += self._added_losses
        for layer in child_layers(self):
            out += layer.losses
        return out

    def add_loss(self, loss) -> None:
        """Add a loss term (a scalar Tensor, or a list of them) computed in ``call``, as
        Keras's: it joins ``losses`` until the next outermost call, and ``fit`` adds it
        to the loss it minimises (a VAE's KL term, an activity penalty).

        Example:
            >>> import wengert as wg
            >>> class Penalised(wg.layers.Layer):
            ...     def call(self, x):
            ...         self.add_loss(0.5 * wg.reduce_sum(x))
            ...         return x
            >>> layer = Penalised()
            >>> _ = layer(wg.ones((2, 2)))
            >>> [float(v) for v in layer.losses]
            [2.0]
        """
        _add_loss_used[0] = True
        for term in loss if isinstance(loss, (list, tuple)) else [loss]:
            self._added_losses.append(operand(term))

    def _clear_added_losses(self) -> None:
        self._added_losses = []
        for layer in child_layers(self):
            layer._clear_added_losses()

    def _walk(self, prefix: str = ""):
        """Yield (path, object) for tracked Variables, Layers and Modules, in attribute order."""
        for attr, value in vars(self).items():
            if attr[0] == "_":
                continue
            # Checked here first: most attributes are numbers, names and functions, and a
            # training step walks the layers twice (weights, penalties).
            if isinstance(value, _TRACKED):
                yield f"{prefix}{attr}", value
            elif isinstance(value, _CONTAINERS):
                yield from _walk_value(f"{prefix}{attr}", value)

    def _variables(self, seen=None):
        """(path, variable, trainable) for every weight, each once, in Keras's order: the
        layer's own weights (those created trainable first), then each sublayer's.  The
        order never depends on what is frozen, so get_weights/set_weights lists match."""
        seen = set() if seen is None else seen
        own, sublayers = [], []
        for path, obj in self._walk():
            if isinstance(obj, Variable):
                if id(obj) not in seen:
                    seen.add(id(obj))
                    own.append((path, obj))
            elif isinstance(obj, (Layer, Module)):  # a Module's variables are tracked too
                sublayers.append((path, obj))
        own.sort(key=lambda item: not item[1].trainable)  # stable: creation order kept
        out = [(path, v, v.trainable and self.trainable) for path, v in own]
        for path, layer in sublayers:
            if id(layer) in seen:
                continue
            seen.add(id(layer))
            for sub_path, var, trainable in layer._variables(seen):
                out.append((f"{path}.{sub_path}", var, trainable and self.trainable))
        return out

    @property
    def weights(self) -> list:
        """All weights, layer by layer (each layer's trainable ones first), as Keras."""
        return [v for _, v, _ in self._variables()]

    @property
    def trainable_weights(self) -> list:
        """The weights training updates."""
        return [v for _, v, t in self._variables() if t]

    @property
    def non_trainable_weights(self) -> list:
        """The weights training leaves alone (frozen layers, running statistics)."""
        return [v for _, v, t in self._variables() if not t]

    trainable_variables = trainable_weights
    variables = weights

    @property
    def layers(self) -> list:
        """The sublayers this layer holds directly (in attributes, lists or dicts)."""
        out = []
        for attr, value in vars(self).items():
            if attr[0] == "_":
                continue
            if isinstance(value, Layer):
                out.append(value)
            elif isinstance(value, _CONTAINERS):
                items = value.values() if isinstance(value, dict) else value
                out += [item for item in items if isinstance(item, Layer)]
        return out

    def count_params(self) -> int:
        """The number of scalars in all weights."""
        return int(sum(v.size for v in self.weights))

    def get_weights(self) -> list:
        """The weights' values as a list of ndarrays (copies), in ``weights`` order."""
        return [v.numpy() if v.ndim else xp.asarray(v.numpy()) for v in self.weights]

    def set_weights(self, weights) -> None:
        """Set the weights from a list of arrays in ``weights`` order (shapes must match)."""
        mine = self.weights
        weights = list(weights)
        if len(weights) != len(mine):
            raise ValueError(
                f"Layer '{self.name}'.set_weights: expected {len(mine)} arrays "
                f"{[v.shape for v in mine]}, got {len(weights)}"
            )
        for v, w in zip(mine, weights):
            w = xp.asarray(w._value if isinstance(w, Tensor) else w)
            if w.shape != v.shape:
                raise ValueError(
                    f"Layer '{self.name}'.set_weights: weight {v.name!r} has shape {v.shape}, "
                    f"got an array of shape {w.shape}"
                )
            v.assign(w.astype(v.dtype))

    # -- calling -------------------------------------------------------------------------
    def build(self, input_shape) -> None:
        """Create the layer's weights for inputs of ``input_shape`` (batch axis included)."""
        self.built = True

    def call(self, inputs, training=None):
        """The layer's computation; subclasses override it."""
        return inputs

    def _build_on_first_call(self, input_shape) -> None:
        self.build(input_shape)

    def __call__(self, inputs, *args, training=None, **kwargs):
        if args:
            training, kwargs = self._bind_positional(args, training, kwargs)
        if _is_symbolic(inputs) or (kwargs and _is_symbolic(list(kwargs.values()))):
            # defining a functional model: record the call
            if training is not None:  # Keras keeps a training= given at definition
                kwargs = {**kwargs, "training": training}
            return self._symbolic_call(inputs, kwargs)
        mask = _mask_of(inputs)
        inputs = self._convert_inputs(inputs)
        if mask is not None and isinstance(inputs, Tensor) and get_mask(inputs) is None:
            set_mask(inputs, mask)  # converted (cast): the new tensor carries the mask
        shape = _shape_of(inputs)
        if not self.built:
            self._build_input_shape = shape  # Keras's build config: what save records
            self._build_on_first_call(shape)
            self.built = True
        if self.input_spec is not None and shape is not None:
            self.input_spec.check(self.name, shape)
        if training is None:
            training = _training.get()
            if training is None:
                training = self._training_default
        if _add_loss_used[0] and not _in_call.get():
            self._clear_added_losses()  # a new forward pass: last pass's terms go
        if mask is not None and self._call_takes_mask and "mask" not in kwargs:
            kwargs["mask"] = mask
        token = _training.set(training)
        call_token = _in_call.set(True)
        try:
            if self._call_takes_training:
                out = self.call(inputs, training=training, **kwargs)
            else:
                out = self.call(inputs, **kwargs)
        finally:
            _in_call.reset(call_token)
            _training.reset(token)
        self._output_shape = getattr(out, "shape", None)  # for summary()
        if self._activity_regularizer is not None:  # each output tensor, as Keras 3
            outs = out if isinstance(out, (list, tuple)) else [out]
            reg = self._activity_regularizer
            self._activity_losses = [reg(o) for o in outs if isinstance(o, Tensor)]
        if isinstance(out, Tensor) and get_mask(out) is None:
            out_mask = self.compute_mask(inputs, mask)
            if out_mask is not None:
                set_mask(out, out_mask)
        return out

    def _bind_positional(self, args, training, kwargs):
        """(training, kwargs) with the positional arguments after the inputs named by
        call()'s parameters, as Keras 3 binds them: ``rnn(x, h)`` passes ``h`` to
        ``call(x, hidden)``, never to ``training`` unless call() puts it there."""
        names = self._call_positional
        if len(args) > len(names):
            raise TypeError(
                f"{type(self).__name__} '{self.name}': call() takes {len(names)} positional "
                f"argument(s) after the inputs {names}, got {len(args)}"
            )
        kwargs = dict(kwargs)
        for name, value in zip(names, args):
            if name in kwargs or (name == "training" and training is not None):
                raise TypeError(f"{type(self).__name__} '{self.name}': got two values for {name!r}")
            if name == "training":
                training = value
            else:
                kwargs[name] = value
        return training, kwargs

    def _symbolic_call(self, inputs, kwargs):
        """Keras's functional API: called on model inputs (or on what layers called on them
        returned), a layer records the call and returns symbolic outputs.  It is built by
        calling it on zeros, which also gives the outputs' shapes: twice, with batches of 2
        and 3 (and axes of unknown size 31 and 47 long), and the output axes that change
        with them are unknown (None) too.  Every output must keep the batch axis first, as
        the values of a functional model do.  Nothing is recorded by any tape."""
        from ..core import all_paused

        # Built on the symbolic shape first, unknown axes None, as Keras builds: a layer's
        # own check of its input shape then speaks of the shape the user gave, not of a
        # probe's made-up sizes.
        if not self.built and isinstance(inputs, _SYMBOLIC) and not kwargs:
            shape = (None,) + tuple(inputs._sample_shape())
            self._build_input_shape = shape
            self._build_on_first_call(shape)
            self.built = True
        # Symbolic values may come as inputs or keyword arguments (initial_state=[h, c]).
        given = (inputs, {k: v for k, v in kwargs.items() if k != "training"})
        probes = []
        for batch, size in ((2, 31), (3, 47)):
            concrete, probe_kwargs = _map_structure(
                given,
                lambda leaf, b=batch, n=size: (
                    self._probe_value(leaf, b, n) if isinstance(leaf, _SYMBOLIC) else leaf
                ),
            )
            with all_paused(), shape_probe():
                out = self(concrete, training=False, **probe_kwargs)
            probes.append(out)
            for k, t in enumerate(_flat(out)):
                if isinstance(t, Tensor) and (t.ndim == 0 or t.shape[0] != batch):
                    raise ValueError(
                        f"{type(self).__name__} '{self.name}': output {k} has shape "
                        f"{tuple(t.shape)} for a batch of {batch}; in a functional model every "
                        "value keeps the batch axis first (an op across the batch, such as "
                        "a reduction over axis 0, belongs inside a layer's call or the loss)"
                    )
        first, last = _flat(probes[0]), _flat(probes[-1])
        if len(first) != len(last):
            raise ValueError(
                f"{type(self).__name__} '{self.name}': it returns {len(first)} outputs for a "
                f"batch of 2 but {len(last)} for a batch of 3; the number of a functional "
                "model's values cannot depend on the batch size"
            )
        call = SymbolicCall(self, inputs, kwargs)
        count = iter(range(1 << 30))

        def symbolic(t):
            i = next(count)
            dims = tuple(None if a != b else b for a, b in zip(first[i].shape[1:], t.shape[1:]))
            if first[i].ndim != t.ndim:
                raise ValueError(
                    f"{type(self).__name__} '{self.name}': output {i} has rank {first[i].ndim} "
                    f"for a batch of 2 but {t.ndim} for a batch of 3"
                )
            return SymbolicTensor((None,) + dims, t.dtype, call, i)

        call.outputs = _map_structure(
            probes[-1], lambda t: symbolic(t) if isinstance(t, Tensor) else t
        )
        # Keras's inbound nodes, for layer.input and layer.output (kept out of tracking)
        self.__dict__.setdefault("_symbolic_calls", []).append(call)
        return call.outputs

    @property
    def input(self):
        """What the layer's first call in a functional model took (Keras's ``layer.input``)."""
        return self._first_call("input").inputs

    @property
    def output(self):
        """What the layer's first call in a functional model returned (``layer.output``)."""
        return self._first_call("output").outputs

    def _first_call(self, what: str):
        calls = self.__dict__.get("_symbolic_calls")
        if not calls:
            raise AttributeError(
                f"{type(self).__name__} '{self.name}' has never been called on a model's "
                f"symbolic values, so it has no {what}"
            )
        return calls[0]

    def _probe_value(self, leaf, batch, size):
        """What a symbolic input is replaced with to find a call's output shapes: zeros of
        ``batch`` samples, axes of unknown size ``size`` long."""
        return leaf._zeros(batch, size)

    def compute_mask(self, inputs, mask=None):
        """The output's padding mask, as Keras asks a layer for it: the input's when the
        layer ``supports_masking``, else None.  Override it to make or change a mask.

        Example:
            >>> import wengert as wg
            >>> from wengert.layers.base import get_mask
            >>> class FirstTwo(wg.layers.Layer):
            ...     def compute_mask(self, inputs, mask=None):
            ...         return wg.constant([[True, True, False]])
            >>> get_mask(FirstTwo()(wg.ones((1, 3, 2))))
            array([[ True,  True, False]])
        """
        return mask if self.supports_masking else None

    def _convert_inputs(self, inputs):
        if isinstance(inputs, (list, tuple)):
            return type(inputs)(self._convert_inputs(x) for x in inputs)
        if isinstance(inputs, dict) or inputs is None:
            return inputs
        t = operand(inputs)
        # Floating inputs are computed in the layer's dtype, as Keras casts them; layers
        # that compute in floats take integer inputs too (Keras's ops promote them).
        kind = t.dtype.kind
        if (kind == "f" or (kind in "biu" and self._float_math)) and t.dtype != self.dtype:
            from ..array_ops import cast

            t = cast(t, self.dtype)
        return t

    def compute_output_shape(self, input_shape):
        """The output shape for ``input_shape``, found by calling the layer on zeros."""
        shape = tuple(1 if s is None else s for s in input_shape)
        with shape_probe():
            out = self(xp.zeros(shape, dtype=self.dtype), training=False)
        return (None,) + tuple(out.shape[1:])

    # -- configuration ---------------------------------------------------------------------
    def get_config(self) -> dict:
        """The constructor arguments that recreate this layer (without its weights)."""
        from .. import constraints, regularizers

        config = {"name": self.name, "trainable": self.trainable, "dtype": str(self.dtype)}
        for weight, reg in self._weight_regularizers.items():
            if reg is not None:
                config[f"{weight}_regularizer"] = regularizers.serialize(reg)
        if self._activity_regularizer is not None:
            config["activity_regularizer"] = regularizers.serialize(self._activity_regularizer)
        for weight, constraint in self._weight_constraints.items():
            if constraint is not None:
                config[f"{weight}_constraint"] = constraints.serialize(constraint)
        return config

    @classmethod
    def from_config(cls, config: dict):
        """Create a layer from ``get_config()``'s output."""
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r} built={self.built}>"


_CONTAINERS = (list, tuple, dict)
_TRACKED = (Variable, Layer, Module)


def layers_in_modules(layer) -> list:
    """(path, sublayer) for the layers that ``layer`` holds through Modules: each Module
    among its tracked attributes is looked through (and the Modules inside it), stopping
    at the layers found.  Paths join attributes with "." ("block.dense")."""
    out, seen = [], {id(layer)}
    for path, obj in layer._walk():
        if isinstance(obj, Module) and id(obj) not in seen:
            seen.add(id(obj))
            out += _module_layers(obj, seen, f"{path}.")
    return out


def child_layers(layer) -> list:
    """The layers directly under ``layer``: ``layer.layers``, then those it holds through
    Modules (``layers_in_modules``), each once.  What every walk over sublayers uses
    (penalties, ``trainable``, random streams), so that a Dense inside a Module inside a
    model counts as the model's sublayer, as it does for the weights."""
    direct = layer.layers
    if not Module.instantiated or not _has_module(layer):  # the common case: Keras's walk
        return direct
    ids = {id(sub) for sub in direct}
    extra = [sub for _, sub in layers_in_modules(layer) if id(sub) not in ids]
    return direct + list({id(sub): sub for sub in extra}.values())


def _has_module(layer) -> bool:
    """Whether a public attribute (as ``_walk`` reads them) holds a Module."""
    for attr, value in vars(layer).items():
        if attr[0] == "_":
            continue
        if isinstance(value, Module):
            return True
        if isinstance(value, _CONTAINERS) and any(
            isinstance(obj, Module) for _, obj in _walk_value("", value)
        ):
            return True
    return False


def _walk_value(path, value):
    if isinstance(value, _TRACKED):
        yield path, value
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _walk_value(f"{path}.{i}", item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _walk_value(f"{path}.{key}", item)


def _shape_of(inputs):
    if isinstance(inputs, Tensor):
        return inputs.shape
    if isinstance(inputs, (list, tuple)) and inputs and isinstance(inputs[0], Tensor):
        return inputs[0].shape
    return None


def _for_weight(by_weight: dict, name: str):
    """The layer argument meant for weight ``name``: ``<name>_...``, or for a
    ``<x>_kernel`` weight ``<x>_...`` (recurrent_kernel takes recurrent_regularizer)."""
    return by_weight.get(name, by_weight.get(name.removesuffix("_kernel")))


_custom_objects: contextvars.ContextVar = contextvars.ContextVar("custom_objects", default=None)


class custom_object_scope:  # noqa: N801 (Keras's name)
    """Within it, configs may name these classes: ``{name: class}`` (Keras's).

    ``wg.models.load_model(custom_objects=...)`` opens one while it rebuilds a model.

    Example:
        >>> import wengert as wg
        >>> from wengert.layers.base import custom_object_scope, layer_class
        >>> class Twice(wg.layers.Layer):
        ...     def call(self, x):
        ...         return x * 2.0
        >>> with custom_object_scope({"MyTwice": Twice}):
        ...     layer_class("MyTwice") is Twice
        True
    """

    def __init__(self, objects):
        self.objects = dict(objects or {})
        self._token = None

    def __enter__(self):
        self._token = _custom_objects.set({**(_custom_objects.get() or {}), **self.objects})
        return self

    def __exit__(self, *exc):
        _custom_objects.reset(self._token)


def layer_class(name: str, base=None, module: str | None = None) -> type:
    """The layer class a config calls ``name``: a custom object in scope; a class of the
    program's own from ``module`` (so a user's ``Dense`` is not taken for wengert's); one
    of ``wg.layers``; else any subclass of ``base`` (default Layer) defined so far with that
    name, the latest defined when several are (a notebook cell run twice).

    Example:
        >>> from wengert.layers.base import layer_class
        >>> layer_class("Dense").__name__
        'Dense'
    """
    from .. import layers as layers_module

    base = Layer if base is None else base
    custom = _custom_objects.get() or {}
    if name in custom:
        return custom[name]
    named = [cls for cls in _subclasses(base) if cls.__name__ == name]
    own = [cls for cls in named if module and cls.__module__ == module]
    if own and not module.startswith("wengert."):
        return own[-1]
    cls = getattr(layers_module, name, None)
    if isinstance(cls, type) and issubclass(cls, base):
        return cls
    if not named:
        raise ValueError(
            f"cannot rebuild a layer of class {name!r}: no such class is defined; pass it in "
            f"custom_objects={{{name!r}: the_class}} (or define it before loading)"
        )
    return (own or named)[-1]


def layer_spec(layer) -> dict:
    """A layer (or cell) as Keras serializes one inside another: class name, module, config."""
    kind = type(layer)
    return {"class_name": kind.__name__, "module": kind.__module__, "config": layer.get_config()}


def layer_from_spec(spec: dict):
    """The layer ``layer_spec`` described (its class found by ``layer_class``)."""
    return layer_class(spec["class_name"], module=spec.get("module")).from_config(spec["config"])


class Wrapper(Layer):
    """A layer that wraps another (Keras's ``keras.layers.Wrapper``): it keeps the wrapped
    layer as ``self.layer``, builds it, and saves it inside its own config.

    Example:
        >>> import wengert as wg
        >>> class Twice(wg.layers.Wrapper):
        ...     def call(self, inputs, training=None):
        ...         return 2.0 * self.layer(inputs, training=training)
        >>> Twice(wg.layers.Dense(3))(wg.ones((2, 4))).shape
        (2, 3)
    """

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(
                f"{type(self).__name__}: expects a Layer to wrap, got {type(layer).__name__}"
            )
        kwargs.setdefault("dtype", layer.dtype)
        super().__init__(**kwargs)
        self.layer = layer

    def build(self, input_shape):
        if not self.layer.built:
            self.layer.build(input_shape)
            self.layer.built = True
        self.built = True

    def get_config(self) -> dict:
        return {**super().get_config(), "layer": layer_spec(self.layer)}

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        return cls(layer_from_spec(config.pop("layer")), **config)


def custom_class(name: str, base: type):
    """A class called ``name`` for a config to rebuild, beyond the built-in ones: a custom
    object in scope, else the latest defined subclass of ``base`` with that name, else None.

    Example:
        >>> import wengert as wg
        >>> from wengert.layers.base import custom_class
        >>> class Clip(wg.constraints.Constraint):
        ...     pass
        >>> custom_class("Clip", wg.constraints.Constraint) is Clip
        True
    """
    custom = _custom_objects.get() or {}
    if name in custom:
        return custom[name]
    named = [cls for cls in _subclasses(base) if cls.__name__ == name]
    return named[-1] if named else None


def _subclasses(cls) -> list:
    """Every subclass of ``cls``, however deep, each after the class it derives from and
    siblings in the order they were defined."""
    out = []
    for sub in cls.__subclasses__():
        out.append(sub)
        out += _subclasses(sub)
    return out


def serialize_initializer(initializer):
    """An initializer as a layer's config holds it: ``initializers.serialize``'s dict, or
    a plain function as itself (its config then round-trips in memory, not through JSON).

    Example:
        >>> import wengert as wg
        >>> from wengert.layers.base import serialize_initializer
        >>> serialize_initializer(wg.initializers.Zeros())
        {'class_name': 'Zeros', 'config': {}}
    """
    from .. import initializers

    if isinstance(initializer, initializers.Initializer):
        return initializers.serialize(initializer)
    return initializer


class SymbolicCall:
    """One recorded call of a layer while a functional model is defined: the layer, its
    inputs (model inputs and symbolic tensors, in their structure) and keyword arguments."""

    __slots__ = ("layer", "inputs", "kwargs", "outputs")

    def __init__(self, layer, inputs, kwargs):
        self.layer, self.inputs, self.kwargs = layer, inputs, dict(kwargs)
        self.outputs = None  # the symbolic outputs, in their structure (for summary)


def _operator(name, reflected=False):
    """A Python operator on symbolic values, recorded as an OpLayer node (as Keras records
    ``x + 1`` on a KerasTensor) that applies the same operator to the tensors."""
    fn = getattr(operator, name)

    def method(self, *other):
        from .op_layer import symbolic_call

        return symbolic_call(fn, (*other, self) if reflected else (self, *other), {})

    return method


class _SymbolicOperators:
    """Arithmetic, comparisons and indexing on symbolic values build graph nodes: ``x + 1``,
    ``a * b``, ``-x``, ``x ** 2``, ``x[:, 0]``."""

    # NumPy defers to these operators (np.ones(2) + x is a graph node, not an object array).
    __array_ufunc__ = None

    __add__, __radd__ = _operator("add"), _operator("add", reflected=True)
    __sub__, __rsub__ = _operator("sub"), _operator("sub", reflected=True)
    __mul__, __rmul__ = _operator("mul"), _operator("mul", reflected=True)
    __truediv__, __rtruediv__ = _operator("truediv"), _operator("truediv", reflected=True)
    __floordiv__, __rfloordiv__ = _operator("floordiv"), _operator("floordiv", reflected=True)
    __mod__, __rmod__ = _operator("mod"), _operator("mod", reflected=True)
    __pow__, __rpow__ = _operator("pow"), _operator("pow", reflected=True)
    __matmul__, __rmatmul__ = _operator("matmul"), _operator("matmul", reflected=True)
    __and__, __rand__ = _operator("and_"), _operator("and_", reflected=True)
    __or__, __ror__ = _operator("or_"), _operator("or_", reflected=True)
    __xor__, __rxor__ = _operator("xor"), _operator("xor", reflected=True)
    __neg__, __pos__, __abs__, __invert__ = map(_operator, ("neg", "pos", "abs", "invert"))
    __lt__, __le__, __gt__, __ge__ = map(_operator, ("lt", "le", "gt", "ge"))
    __getitem__ = _operator("getitem")
    # Elementwise, as on Tensors (TensorFlow 2); hashing stays by identity.
    __eq__, __ne__ = _operator("eq"), _operator("ne")
    __hash__ = object.__hash__

    def __bool__(self):
        raise TypeError(
            f"{type(self).__name__}: a model's symbolic value has no truth value while the "
            "model is defined; use wg.where or a comparison op (a & b, not a and b)"
        )

    def __array__(self, dtype=None, copy=None):
        from ..tensor import SymbolicValueError

        raise SymbolicValueError(
            f"{type(self).__name__} is a value of a model being defined, not data: "
            "NumPy cannot take it; use wengert's ops, which record themselves as layers, "
            "or a layer such as wg.layers.Lambda(lambda t: ...)"
        )

    def __iter__(self):
        # Without this, __getitem__ would make Python iterate index by index for ever.
        raise TypeError(
            f"{type(self).__name__}: a model's symbolic value cannot be iterated (its batch "
            "size is unknown); index it (x[:, 0]) or use wg.unstack on an axis of known size"
        )


class SymbolicTensor(_SymbolicOperators):
    """What a layer returns when called on a model's inputs (Keras's KerasTensor): the shape
    (batch axis None) and dtype of a value, and the call whose ``index``-th output it is.

    Example:
        >>> import wengert as wg
        >>> x = wg.Input((3,))
        >>> y = wg.layers.Dense(2)(x)
        >>> y.shape
        (None, 2)
    """

    __slots__ = ("shape", "dtype", "call", "index")

    def __init__(self, shape, dtype, call, index):
        self.shape, self.dtype, self.call, self.index = tuple(shape), dtype, call, index

    @property
    def ndim(self) -> int:
        """The number of axes."""
        return len(self.shape)

    def _sample_shape(self) -> tuple:
        return self.shape[1:]

    def _zeros(self, batch: int = 1, size: int = 1) -> Tensor:
        from ..tensor import wrap

        dims = (batch,) + tuple(size if d is None else d for d in self.shape[1:])
        return wrap(xp.zeros(dims, self.dtype))

    def __repr__(self) -> str:
        return (
            f"<SymbolicTensor shape={self.shape}, dtype={self.dtype}, "
            f"from {self.call.layer.name!r}>"
        )


def _mask_of(inputs):
    """The padding mask of a layer's input; for a list of inputs, the list of theirs (None
    when none has one)."""
    if isinstance(inputs, Tensor):
        return get_mask(inputs)
    if isinstance(inputs, (list, tuple)):
        masks = [get_mask(t) if isinstance(t, Tensor) else None for t in inputs]
        return masks if any(m is not None for m in masks) else None
    return None


def _flat(value) -> list:
    """The leaves of a nested list/tuple/dict, in ``_map_structure``'s order."""
    out = []
    _map_structure(value, out.append)
    return out


def _map_structure(value, fn):
    """``fn`` applied to every leaf of a nested list/tuple/dict, the structure kept."""
    if isinstance(value, dict):
        return {k: _map_structure(v, fn) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_map_structure(v, fn) for v in value)
    return fn(value)


def _is_symbolic(value) -> bool:
    if isinstance(value, _SYMBOLIC):
        return True
    if isinstance(value, (list, tuple)):
        return any(_is_symbolic(v) for v in value)
    if isinstance(value, dict):
        return any(_is_symbolic(v) for v in value.values())
    return False


class InputLayer(_SymbolicOperators, Layer):
    """A model's input: the shape of one sample (no batch axis) and its dtype.

    It starts a ``Sequential`` model, or is called on by layers to define a functional
    one (``wg.Model(inputs, outputs)``), as Keras's ``Input``.

    Example:
        >>> import wengert as wg
        >>> model = wg.Sequential([wg.layers.Input(shape=(4,)), wg.layers.Dense(2)])
        >>> model.built
        True
    """

    def __init__(self, shape=None, dtype=None, name=None, batch_size=None):
        super().__init__(name=name, dtype=dtype)
        self.shape = tuple(shape)
        self.batch_size = batch_size
        self.built = True  # nothing to build, as Keras's InputLayer

    @property
    def input(self):
        """The Input itself: it is the symbolic value (Keras's ``InputLayer.output``)."""
        return self

    output = input

    def _sample_shape(self) -> tuple:
        return self.shape

    def _zeros(self, batch: int = 1, size: int = 1) -> Tensor:
        from ..tensor import wrap

        dims = (batch,) + tuple(size if d is None else d for d in self.shape)
        return wrap(xp.zeros(dims, self.dtype))

    def get_config(self) -> dict:
        return {
            "shape": self.shape,
            "name": self.name,
            "dtype": str(self.dtype),
            "batch_size": self.batch_size,
        }


def Input(  # noqa: N802 (Keras name)
    shape=None, batch_size=None, dtype=None, name=None, batch_shape=None
) -> InputLayer:
    """A model's input: the shape of one sample (no batch axis), or Keras's
    ``batch_shape`` (batch axis first).

    Example:
        >>> import wengert as wg
        >>> wg.layers.Input(shape=(28, 28)).shape
        (28, 28)
        >>> x = wg.Input(batch_shape=(16, 10, 5))
        >>> x.shape, x.batch_size
        ((10, 5), 16)
    """
    if batch_shape is not None:
        if shape is not None or batch_size is not None:
            raise ValueError(
                f"Input: give shape (and batch_size) or batch_shape, not both; got "
                f"shape={shape!r}, batch_size={batch_size!r}, batch_shape={batch_shape!r}"
            )
        batch_size, *rest = tuple(batch_shape)
        shape = tuple(rest)
    if shape is None:
        raise ValueError("Input: give the shape of one sample (shape=...) or batch_shape")
    if dtype == "string" or (dtype is not None and as_dtype(dtype).kind in "USO"):
        raise TypeError(
            f"Input: dtype={dtype!r}: wengert has no string Tensors, so a model cannot take "
            "strings; apply TextVectorization or StringLookup to the data before the model "
            "(`x = vectorizer(texts)`, then `model.fit(x, y)`, or in a data pipeline's map) "
            "and give the model an int64 Input for their output"
        )
    return InputLayer(shape=shape, dtype=dtype, name=name, batch_size=batch_size)


_SYMBOLIC = (SymbolicTensor, InputLayer)
