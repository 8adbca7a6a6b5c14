"""Recurrent layers: a cell plus one loop.

A cell (``SimpleRNNCell``, ``LSTMCell``, ``GRUCell``, or your own Layer with a
``state_size`` and ``call(inputs, states) -> (output, new_states)``) computes
one time step; ``RNN(cell)`` runs it over the time axis, recording each step's
ops on the tape.  ``SimpleRNN``, ``LSTM`` and ``GRU`` are ``RNN`` with their
cell, and with Keras's default activations they take the fused path instead:
one matmul projects every step's input, and the recurrence with its
hand-written backpropagation through time is one tape operation
(``wengert.rnn_ops``).  Other activations, and recurrent dropout while
training, fall back to the cell loop (correct, slower).

Keras semantics throughout: inputs are (batch, time, features); weights use
Keras's layout and gate order (LSTM i, f, c, o; GRU z, r, h), so
``get_weights``/``set_weights`` exchange arrays with Keras, and
``load_torch_state_dict``/``torch_state_dict`` convert PyTorch's nn.RNN,
nn.LSTM and nn.GRU parameters; ``mask=`` (or a mask left on the inputs by
``Embedding(mask_zero=True)``) makes padded steps carry the state over and
repeat the previous output.  ``stateful=True`` carries each sample's final
states into the next call, for a long sequence fed in consecutive chunks.
"""

from __future__ import annotations

import copy

from .. import activations, initializers
from ..array_ops import concat, expand_dims, getitem, reshape, stack, transpose, unstack
from ..backend import xp
from ..core import operand
from ..math_ops import matmul, where
from ..random import Generator, get_global_generator
from ..rnn_ops import (
    gru_sequence,
    gru_step,
    lstm_sequence,
    lstm_step,
    simple_rnn_sequence,
    simple_rnn_step,
)
from ..tensor import Tensor, Variable, wrap
from .base import (
    InputSpec,
    Layer,
    Wrapper,
    layer_from_spec,
    layer_spec,
    probing_shapes,
    serialize_initializer,
)
from .embedding import get_mask, set_mask

__all__ = [
    "SimpleRNNCell",
    "LSTMCell",
    "GRUCell",
    "StackedRNNCells",
    "RNN",
    "SimpleRNN",
    "LSTM",
    "GRU",
    "Bidirectional",
    "TimeDistributed",
    "load_torch_state_dict",
    "torch_state_dict",
]


def _activation_name(fn):
    try:
        return activations.serialize(fn)
    except ValueError:
        return None  # a user's function: the cell loop handles it


# -- cells ----------------------------------------------------------------------------------------
class _Cell(Layer):
    """Keras's dropout for recurrent cells: one mask per sequence, the same at every step."""

    def __init__(self, units, dropout=0.0, recurrent_dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if int(units) <= 0:
            raise ValueError(
                f"{type(self).__name__}: units must be a positive integer, got {units!r}"
            )
        for what, rate in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            if not 0 <= float(rate) < 1:
                raise ValueError(f"{type(self).__name__}: {what} must be in [0, 1), got {rate!r}")
        self.units = int(units)
        self.dropout = float(dropout)
        self.recurrent_dropout = float(recurrent_dropout)
        self.seed = seed
        self.generator = Generator(
            seed if seed is not None else int(get_global_generator().uniform((), 0, 2**62, "int64"))
        )
        self._dropout_mask = None
        self._recurrent_dropout_mask = None

    def _mask(self, shape, rate):
        keep = self.generator._rng.random(shape) >= rate
        return wrap((keep / (1.0 - rate)).astype(self.dtype), "dropout_mask")

    def get_dropout_mask(self, step_input):
        """The input dropout mask of the current sequence (scaled by 1 / (1 - dropout))."""
        if self._dropout_mask is None:
            self._dropout_mask = self._mask(step_input.shape, self.dropout)
        return self._dropout_mask

    def get_recurrent_dropout_mask(self, state):
        """The recurrent dropout mask of the current sequence."""
        if self._recurrent_dropout_mask is None:
            self._recurrent_dropout_mask = self._mask(state.shape, self.recurrent_dropout)
        return self._recurrent_dropout_mask

    def reset_dropout_mask(self):
        """Forget the input dropout mask: the next sequence draws a new one."""
        self._dropout_mask = None

    def reset_recurrent_dropout_mask(self):
        """Forget the recurrent dropout mask."""
        self._recurrent_dropout_mask = None

    def _dropped(self, inputs, h, training):
        if training and self.dropout > 0:
            inputs = inputs * self.get_dropout_mask(inputs)
        if training and self.recurrent_dropout > 0:
            h = h * self.get_recurrent_dropout_mask(h)
        return inputs, h

    def _weights(self, input_dim, gates, bias_shape, bias_initializer):
        self.kernel = self.add_weight(
            (input_dim, gates * self.units), self.kernel_initializer, name="kernel"
        )
        self.recurrent_kernel = self.add_weight(
            (self.units, gates * self.units), self.recurrent_initializer, name="recurrent_kernel"
        )
        if self.use_bias:
            self.bias = self.add_weight(bias_shape, bias_initializer, name="bias")
        self.built = True

    def get_initial_state(self, batch_size):
        """Zero states, one (batch_size, size) tensor per entry of ``state_size``."""
        sizes = self.state_size if isinstance(self.state_size, list) else [self.state_size]
        return [wrap(xp.zeros((batch_size, s), self.dtype)) for s in sizes]

    def _common_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "use_bias": self.use_bias,
            "kernel_initializer": serialize_initializer(self.kernel_initializer),
            "recurrent_initializer": serialize_initializer(self.recurrent_initializer),
            "bias_initializer": serialize_initializer(self.bias_initializer),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
        }


class SimpleRNNCell(_Cell):
    """One step of a fully connected RNN: ``h' = activation(x @ kernel + h @ recurrent + bias)``.

    Args:
        units: the size of the state and the output.
        activation: default "tanh".
        use_bias: add a bias.
        kernel_initializer: of the (input, units) kernel.
        recurrent_initializer: of the (units, units) recurrent kernel.
        bias_initializer: of the (units,) bias.
        dropout: fraction of the inputs to drop (training only; one mask per sequence).
        recurrent_dropout: fraction of the state to drop in the recurrence.
        seed: seed of the dropout masks.
        **kwargs: Layer arguments.

    Example:
        >>> import wengert as wg
        >>> from wengert.layers.rnn import SimpleRNNCell
        >>> cell = SimpleRNNCell(3)
        >>> out, states = cell(wg.ones((2, 4)), states=[wg.zeros((2, 3))])
        >>> out.shape, len(states)
        ((2, 3), 1)
    """

    def __init__(
        self,
        units,
        activation="tanh",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        **kwargs,
    ):
        super().__init__(units, dropout, recurrent_dropout, seed, **kwargs)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.state_size = self.units
        self.output_size = self.units

    def build(self, input_shape):
        self._weights(input_shape[-1], 1, (self.units,), self.bias_initializer)

    def call(self, inputs, states, training=None):
        h = states[0] if isinstance(states, (list, tuple)) else states
        inputs, h = self._dropped(inputs, h, training)
        x = matmul(inputs, self.kernel)
        if self.use_bias:
            x = x + self.bias
        out = simple_rnn_step(x, h, self.recurrent_kernel, self.activation)
        return out, [out]

    def get_config(self) -> dict:
        return {**self._common_config(), "activation": activations.serialize(self.activation)}


def _forget_bias_ones(bias_initializer, units):
    def init(shape, dtype=None):
        def part(n):
            v = bias_initializer((n,), dtype=dtype)
            return v._value if isinstance(v, Tensor) else xp.asarray(v)

        return xp.concatenate([part(units), xp.ones(units, dtype), part(2 * units)])

    return init


class LSTMCell(_Cell):
    """One LSTM step (Hochreiter and Schmidhuber), Keras's layout: gates i, f, c, o in one kernel.

    ``z = x @ kernel + h @ recurrent_kernel + bias``; ``c' = f c + i g``;
    ``h' = o activation(c')`` with i, f, o the recurrent activation of their
    quarter of z and g the activation of its own.

    Args:
        units: the size of the output and of each state.
        activation: of the candidate and the output (default "tanh").
        recurrent_activation: of the gates (default "sigmoid").
        use_bias: add a bias.
        kernel_initializer: of the (input, 4 units) kernel.
        recurrent_initializer: of the (units, 4 units) recurrent kernel.
        bias_initializer: of the (4 units,) bias.
        unit_forget_bias: start the forget gate's bias at 1 (Jozefowicz et al.).
        dropout: fraction of the inputs to drop (training only; one mask per sequence).
        recurrent_dropout: fraction of the output state to drop in the recurrence.
        seed: seed of the dropout masks.
        **kwargs: Layer arguments.

    Example:
        >>> import wengert as wg
        >>> from wengert.layers.rnn import LSTMCell
        >>> cell = LSTMCell(3)
        >>> out, (h, c) = cell(wg.ones((2, 4)), states=[wg.zeros((2, 3)), wg.zeros((2, 3))])
        >>> out.shape, cell.kernel.shape, cell.bias.numpy()[3:6]
        ((2, 3), (4, 12), array([1., 1., 1.], dtype=float32))
    """

    def __init__(
        self,
        units,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        unit_forget_bias=True,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        **kwargs,
    ):
        super().__init__(units, dropout, recurrent_dropout, seed, **kwargs)
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.state_size = [self.units, self.units]
        self.output_size = self.units

    def build(self, input_shape):
        init = self.bias_initializer
        if self.unit_forget_bias:
            init = _forget_bias_ones(init, self.units)
        self._weights(input_shape[-1], 4, (4 * self.units,), init)

    def call(self, inputs, states, training=None):
        h, c = states
        inputs, h = self._dropped(inputs, h, training)
        x = matmul(inputs, self.kernel)
        if self.use_bias:
            x = x + self.bias
        h, c = lstm_step(x, h, c, self.recurrent_kernel, self.activation, self.recurrent_activation)
        return h, [h, c]

    def get_config(self) -> dict:
        return {
            **self._common_config(),
            "activation": activations.serialize(self.activation),
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "unit_forget_bias": self.unit_forget_bias,
        }


class GRUCell(_Cell):
    """One GRU step (Cho et al.), Keras's layout: gates z, r, h in one kernel.

    ``h' = z h + (1 - z) hh``; with ``reset_after=True`` (Keras's default and
    PyTorch's convention) ``hh = activation(x_h + r (h @ R_h + b_h))`` and the bias
    has two rows (input, recurrent); otherwise ``hh = activation(x_h + (r h) @ R_h)``
    and one.

    Args:
        units: the size of the state.
        activation: of the candidate (default "tanh").
        recurrent_activation: of the gates (default "sigmoid").
        use_bias: add biases.
        kernel_initializer: of the (input, 3 units) kernel.
        recurrent_initializer: of the (units, 3 units) recurrent kernel.
        bias_initializer: of the bias, (2, 3 units) or (3 units,).
        dropout: fraction of the inputs to drop (training only; one mask per sequence).
        recurrent_dropout: fraction of the state to drop in the recurrence.
        reset_after: see above.
        seed: seed of the dropout masks.
        **kwargs: Layer arguments.

    Example:
        >>> import wengert as wg
        >>> from wengert.layers.rnn import GRUCell
        >>> cell = GRUCell(3)
        >>> out, states = cell(wg.ones((2, 4)), states=[wg.zeros((2, 3))])
        >>> out.shape, cell.bias.shape
        ((2, 3), (2, 9))
    """

    def __init__(
        self,
        units,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        dropout=0.0,
        recurrent_dropout=0.0,
        reset_after=True,
        seed=None,
        **kwargs,
    ):
        super().__init__(units, dropout, recurrent_dropout, seed, **kwargs)
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.reset_after = bool(reset_after)
        self.state_size = self.units
        self.output_size = self.units

    def build(self, input_shape):
        shape = (2, 3 * self.units) if self.reset_after else (3 * self.units,)
        self._weights(input_shape[-1], 3, shape, self.bias_initializer)

    def _biases(self):
        if not self.use_bias:
            return None, None
        if self.reset_after:
            return getitem(self.bias, 0), getitem(self.bias, 1)
        return self.bias, None

    def call(self, inputs, states, training=None):
        h = states[0] if isinstance(states, (list, tuple)) else states
        inputs, h_in = self._dropped(inputs, h, training)
        input_bias, recurrent_bias = self._biases()
        x = matmul(inputs, self.kernel)
        if input_bias is not None:
            x = x + input_bias
        if h_in is not h:
            # Keras drops the state inside the gates but keeps it whole in z h.
            h = _gru_step_dropped(self, x, h, h_in, recurrent_bias)
        else:
            h = gru_step(
                x,
                h,
                self.recurrent_kernel,
                recurrent_bias,
                self.reset_after,
                self.activation,
                self.recurrent_activation,
            )
        return h, [h]

    def get_config(self) -> dict:
        return {
            **self._common_config(),
            "activation": activations.serialize(self.activation),
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "reset_after": self.reset_after,
        }


def _gru_step_dropped(cell, x, h, h_in, recurrent_bias):
    """A GRU step whose gates see the dropped state ``h_in`` (Keras's recurrent dropout)."""
    from ..array_ops import split

    act, ract = cell.activation, cell.recurrent_activation
    u = cell.units
    xz, xr, xh = split(x, 3, axis=-1)
    if cell.reset_after:
        m = matmul(h_in, cell.recurrent_kernel)
        if recurrent_bias is not None:
            m = m + recurrent_bias
        mz, mr, mh = split(m, 3, axis=-1)
        z = ract(xz + mz)
        r = ract(xr + mr)
        hh = act(xh + r * mh)
    else:
        r_zr, r_h = split(cell.recurrent_kernel, [2 * u, u], axis=-1)
        mz, mr = split(matmul(h_in, r_zr), 2, axis=-1)
        z = ract(xz + mz)
        r = ract(xr + mr)
        hh = act(xh + matmul(r * h_in, r_h))
    return z * h + (1.0 - z) * hh


# -- the loop -------------------------------------------------------------------------------------
def _sizes(cell) -> list:
    s = cell.state_size
    return [int(x) for x in s] if isinstance(s, (list, tuple)) else [int(s)]


def _output_size(cell) -> int:
    size = getattr(cell, "output_size", None)
    return int(size) if size is not None else _sizes(cell)[0]


class StackedRNNCells(Layer):
    """Several cells run as one, each step's output of one the input of the next (Keras's).

    ``RNN([cell_1, cell_2])`` stacks its cells this way.  The states are every cell's,
    in order; the output is the last cell's.

    Args:
        cells: the cells, first to last.
        **kwargs: Layer arguments.

    Example:
        >>> import wengert as wg
        >>> from wengert.layers.rnn import RNN, LSTMCell, GRUCell
        >>> layer = RNN([LSTMCell(4), GRUCell(3)], return_state=True)
        >>> out, *states = layer(wg.ones((2, 5, 6)))
        >>> out.shape, [s.shape for s in states]
        ((2, 3), [(2, 4), (2, 4), (2, 3)])
    """

    def __init__(self, cells, **kwargs):
        cells = list(cells)
        for cell in cells:
            if not hasattr(cell, "call") or not hasattr(cell, "state_size"):
                raise ValueError(
                    f"StackedRNNCells: each cell needs `call(inputs, states)` and a "
                    f"`state_size`; got {cell!r}"
                )
        if not cells:
            raise ValueError("StackedRNNCells: needs at least one cell")
        if isinstance(cells[0], Layer):
            kwargs.setdefault("dtype", cells[0].dtype)
        super().__init__(**kwargs)
        self.cells = cells

    @property
    def state_size(self) -> list:
        """Every cell's state sizes, first cell first."""
        return [size for cell in self.cells for size in _sizes(cell)]

    @property
    def output_size(self) -> int:
        """The last cell's output size."""
        return _output_size(self.cells[-1])

    @property
    def _output_state(self) -> int:
        """Which state is the output: the last cell's first."""
        return sum(len(_sizes(cell)) for cell in self.cells[:-1])

    def build(self, input_shape):
        batch, dim = input_shape[0], input_shape[-1]
        for cell in self.cells:
            if isinstance(cell, Layer) and not cell.built:
                cell.build((batch, dim))
                cell.built = True
            dim = _output_size(cell)

    def reset_dropout_mask(self) -> None:
        """Draw new dropout masks in every cell that has them (one per sequence)."""
        for cell in self.cells:
            for reset in ("reset_dropout_mask", "reset_recurrent_dropout_mask"):
                if hasattr(cell, reset):
                    getattr(cell, reset)()

    def call(self, inputs, states, training=None):
        x, new_states, i = inputs, [], 0
        for cell in self.cells:
            n = len(_sizes(cell))
            kwargs = {}
            if isinstance(cell, Layer) and cell._call_takes_training:
                kwargs["training"] = training
            x, new = cell(x, states=list(states[i : i + n]), **kwargs)
            new_states += list(new) if isinstance(new, (list, tuple)) else [new]
            i += n
        return x, new_states

    def get_config(self) -> dict:
        return {**super().get_config(), "cells": [layer_spec(c) for c in self.cells]}

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        return cls([layer_from_spec(spec) for spec in config.pop("cells")], **config)


class RNN(Layer):
    """Run a cell over the time axis of (batch, time, features) inputs, step by step.

    Args:
        cell: a Layer with ``state_size`` (an int or a list of ints) and
            ``call(inputs, states) -> (output, new_states)`` (``states`` is a list).
        return_sequences: return every step's output (batch, time, units), not just the last.
        return_state: also return the final states: ``[output, *states]``.
        go_backwards: process the sequence backwards (outputs come in that reversed order).
        stateful: carry each call's final states over as the next call's initial
            states, sample ``i`` to sample ``i``, so that a sequence too long for one
            call can be fed in consecutive chunks (``fit(..., shuffle=False)``).
        unroll: ignored (the loop always runs in Python).
        zero_output_for_mask: masked steps output zeros instead of the previous output.
        **kwargs: Layer arguments.

    Call arguments: ``inputs``; ``initial_state`` (a list of (batch, size) tensors);
    ``mask`` (bool (batch, time): False marks padding; by default the mask an
    ``Embedding(mask_zero=True)`` or ``Masking`` left on the inputs); ``training``.

    Stateful layers, as in Keras 3: the first call fixes the batch size (another batch
    size is a ValueError) and makes ``states``, non-trainable Variables that are not
    weights (not saved, not in ``non_trainable_weights``).  Every call, in training or
    not, overwrites them with its final states (with a mask, those of each sample's
    last unmasked step); an explicit ``initial_state`` replaces them for that call.
    The next call reads them as constants, so gradients stop at the chunk's start:
    truncated backpropagation through time, with memory bounded by one chunk.
    ``reset_states()`` sets them to zeros, ``reset_states(arrays)`` to given values.

    Example:
        >>> import wengert as wg
        >>> from wengert.layers.rnn import RNN
        >>> class MinimalRNNCell(wg.layers.Layer):
        ...     def __init__(self, units):
        ...         super().__init__()
        ...         self.units = self.state_size = units
        ...     def build(self, input_shape):
        ...         self.kernel = self.add_weight((input_shape[-1], self.units))
        ...         self.recurrent_kernel = self.add_weight((self.units, self.units))
        ...     def call(self, inputs, states):
        ...         h = wg.matmul(inputs, self.kernel) + wg.matmul(states[0], self.recurrent_kernel)
        ...         return h, [h]
        >>> layer = RNN(MinimalRNNCell(4), return_sequences=True)
        >>> layer(wg.ones((2, 5, 3))).shape
        (2, 5, 4)

        A stateful layer continues where its last call stopped:

        >>> from wengert.layers.rnn import SimpleRNN
        >>> layer = SimpleRNN(2, stateful=True, kernel_initializer="ones")
        >>> first = layer(wg.ones((1, 3, 1)))
        >>> bool((layer(wg.ones((1, 3, 1))) != first).numpy().any())
        True
        >>> layer.reset_states()
        >>> bool((layer(wg.ones((1, 3, 1))) == first).numpy().all())
        True
    """

    _float_math = True  # integer inputs are cast to the layer's dtype

    def __init__(
        self,
        cell,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        zero_output_for_mask=False,
        **kwargs,
    ):
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(cell)  # as Keras: a list of cells runs as one
        if not hasattr(cell, "call") or not hasattr(cell, "state_size"):
            raise ValueError(
                f"RNN: the cell needs a `call(inputs, states)` method and a `state_size`; "
                f"got {cell!r}"
            )
        if isinstance(cell, Layer):
            kwargs.setdefault("dtype", cell.dtype)  # compute in the cell's dtype
        super().__init__(**kwargs)
        self.cell = cell
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.unroll = bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        # Private, so not tracked: Keras 3 keeps a stateful RNN's states out of its weights.
        self._states = None

    @property
    def state_size(self) -> list:
        """The sizes of the cell's states, as a list."""
        return _sizes(self.cell)

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(
                f"{type(self).__name__} '{self.name}': expected inputs of shape (batch, time, "
                f"features), got shape {tuple(input_shape)}"
            )
        if isinstance(self.cell, Layer):
            if not self.cell.built:
                self.cell.build((input_shape[0], input_shape[-1]))
                self.cell.built = True
        elif hasattr(self.cell, "build"):
            self.cell.build((input_shape[0], input_shape[-1]))
        self.input_spec = InputSpec(ndim=3, axes={-1: input_shape[-1]})
        self.built = True

    # -- arguments -----------------------------------------------------------------------------
    def _mask_array(self, inputs, mask):
        if mask is None:
            mask = get_mask(inputs)
        if mask is None:
            return None
        m = xp.asarray(mask._value if isinstance(mask, Tensor) else mask)
        if m.ndim == 3 and m.shape[-1] == 1:
            m = m[..., 0]
        if m.shape != tuple(inputs.shape[:2]):
            raise ValueError(
                f"{type(self).__name__} '{self.name}': mask must be (batch, time) = "
                f"{tuple(inputs.shape[:2])}, got shape {m.shape}"
            )
        return m if m.dtype == xp.bool_ else m != 0

    def get_initial_state(self, batch_size) -> list:
        """Zero initial states (the cell's ``get_initial_state`` when it has one)."""
        if hasattr(self.cell, "get_initial_state"):
            return list(self.cell.get_initial_state(batch_size))
        return [wrap(xp.zeros((batch_size, s), self.dtype)) for s in self.state_size]

    # -- states kept across calls (stateful=True) ------------------------------------------------
    @property
    def states(self):
        """A stateful layer's states (non-trainable Variables, one per ``state_size`` entry),
        or None before its first call and when not stateful."""
        return None if self._states is None else list(self._states)

    def _state_variables(self, batch):
        """The states this call starts from and updates: made (zeros) by the first call,
        which fixes the batch size; None when not stateful and in shape probes."""
        if not self.stateful or probing_shapes():
            return None
        if self._states is None:
            self._states = self._new_states(self.get_initial_state(batch))
        fixed = self._states[0].shape[0]
        if batch != fixed:
            raise ValueError(
                f"{type(self).__name__} '{self.name}': a stateful layer keeps the batch size "
                f"of its first call, {fixed}; got a batch of {batch} (each sample continues "
                "the sample at its index in the previous batch)"
            )
        return self._states

    def _new_states(self, values) -> list:
        arrays = [xp.asarray(v._value if isinstance(v, Tensor) else v) for v in values]
        return [
            Variable(a.astype(self.dtype), trainable=False, name=f"{self.name}/state_{k}")
            for k, a in enumerate(arrays)
        ]

    def reset_states(self, states=None) -> None:
        """Set a stateful layer's states to zeros, or to ``states`` (an array per state,
        each (batch, size); before the first call they fix the batch size).

        A layer that is not stateful has no states: ``reset_states()`` does nothing
        (as Keras 3) and ``reset_states(states)`` is an AttributeError (as Keras 2).

        Example:
            >>> import numpy as np, wengert as wg
            >>> from wengert.layers.rnn import LSTM
            >>> layer = LSTM(2, stateful=True)
            >>> layer.reset_states([np.ones((3, 2)), np.zeros((3, 2))])
            >>> [v.shape for v in layer.states], float(layer.states[0].numpy().sum())
            ([(3, 2), (3, 2)], 6.0)
        """
        if states is None:
            for v in self._states or []:
                v.assign(xp.zeros(v.shape, v.dtype))
            return
        if not self.stateful:
            raise AttributeError(
                f"{type(self).__name__} '{self.name}': reset_states(states) needs a stateful "
                "layer (stateful=True); pass initial_state= to a call instead"
            )
        values = list(states) if isinstance(states, (list, tuple)) else [states]
        values = [xp.asarray(v._value if isinstance(v, Tensor) else v) for v in values]
        sizes = self.state_size
        batch = self._states[0].shape[0] if self._states is not None else None
        expected = [(batch, size) for size in sizes]
        if len(values) != len(sizes):
            raise ValueError(
                f"{type(self).__name__} '{self.name}': reset_states expected {len(sizes)} "
                f"state(s) of shapes {expected}, got {len(values)}"
            )
        if batch is None and values[0].ndim:
            batch = values[0].shape[0]  # the first state sets it; the others must agree
        for k, (v, size) in enumerate(zip(values, sizes)):
            if v.shape != (batch, size):
                raise ValueError(
                    f"{type(self).__name__} '{self.name}': reset_states: state {k} must have "
                    f"shape (batch, size) = {(batch, size)}, got {v.shape}"
                )
        if self._states is None:
            self._states = self._new_states(values)
        else:
            for var, v in zip(self._states, values):
                var.assign(v.astype(var.dtype))

    def reset_state(self, states=None) -> None:
        """Keras 3's name for ``reset_states``."""
        self.reset_states(states)

    def _initial_states(self, inputs, initial_state) -> list:
        batch = inputs.shape[0]
        kept = self._state_variables(batch)
        if initial_state is None:
            if kept is not None:  # constants: no gradient flows back into the previous call
                return [wrap(v._value) for v in kept]
            return self.get_initial_state(batch)
        states = (
            list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
        )
        sizes = self.state_size
        if len(states) != len(sizes):
            raise ValueError(
                f"{type(self).__name__} '{self.name}': expected {len(sizes)} initial state(s) of "
                f"shapes {[(batch, s) for s in sizes]}, got {len(states)}"
            )
        out = []
        for k, (s, size) in enumerate(zip(states, sizes)):
            t = operand(s, self.dtype)
            if t.shape != (batch, size):
                raise ValueError(
                    f"{type(self).__name__} '{self.name}': initial_state[{k}] must have shape "
                    f"(batch, units) = {(batch, size)}, got {t.shape}"
                )
            if t.dtype != self.dtype:
                from ..array_ops import cast

                t = cast(t, self.dtype)
            out.append(t)
        return out

    # -- calling ---------------------------------------------------------------------------------
    def call(self, inputs, initial_state=None, mask=None, training=None):
        mask = self._mask_array(inputs, mask)
        states = self._initial_states(inputs, initial_state)
        return self._cell_loop(inputs, states, mask, training)

    def _cell_loop(self, inputs, states, mask, training):
        cell = self.cell
        for reset in ("reset_dropout_mask", "reset_recurrent_dropout_mask"):
            if hasattr(cell, reset):
                getattr(cell, reset)()
        n = inputs.shape[1]
        steps = unstack(inputs, axis=1) if n else []
        order = range(n - 1, -1, -1) if self.go_backwards else range(n)
        kwargs = {}
        if isinstance(cell, Layer) and cell._call_takes_training:
            kwargs["training"] = training
        # The state that is also the cell's output (state 0; a stack's: its last cell's).
        k = getattr(cell, "_output_state", 0)
        outputs = []
        for t in order:
            prev = states
            out, new = cell(steps[t], states=list(prev), **kwargs)
            new = list(new) if isinstance(new, (list, tuple)) else [new]
            if mask is not None:
                keep = wrap(mask[:, t][:, None])
                if self.zero_output_for_mask or prev[k].shape != out.shape:
                    out = where(keep, out, 0.0)
                else:
                    out = where(keep, out, prev[k])  # Keras: the previous output
                new = [where(keep, a, b) for a, b in zip(new, prev)]
            states = new
            outputs.append(out)
        if self.return_sequences:
            if outputs:
                seq = stack(outputs, axis=1)
            else:
                seq = wrap(xp.zeros((inputs.shape[0], 0, self.state_size[k]), self.dtype))
            return self._result(seq, states, mask)
        last = outputs[-1] if outputs else states[k]
        return self._result(last, states, mask)

    def _result(self, output, states, mask):
        if self.stateful and self._states is not None and not probing_shapes():
            for v, state in zip(self._states, states):
                v.assign(state.numpy())
        if self.return_sequences and mask is not None:
            set_mask(output, mask)
        if self.return_state:
            return [output] + list(states)
        return output

    def compute_mask(self, inputs, mask=None):
        """The output's mask: the input's when returning sequences, else None."""
        return mask if self.return_sequences else None

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "cell": layer_spec(self.cell),
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "stateful": self.stateful,
            "unroll": self.unroll,
            "zero_output_for_mask": self.zero_output_for_mask,
        }

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        return cls(layer_from_spec(config.pop("cell")), **config)


def _batch_statistics(layer) -> bool:
    """Does ``layer`` (or a layer inside it) compute with its batch's statistics?"""
    from .normalization import BatchNormalization

    return any(
        isinstance(sub, BatchNormalization) for sub in [layer] + [o for _, o in layer._walk()]
    )


class _FusedRNN(RNN):
    """SimpleRNN, LSTM and GRU: a built-in cell, and the fused sequence op when it applies."""

    _CELL = None
    _GATES = 1

    def __init__(self, cell, fused="auto", **kwargs):
        if fused not in ("auto", True, False):
            raise ValueError(f"{type(self).__name__}: fused must be 'auto', True or False")
        super().__init__(cell, **kwargs)
        self.fused = fused

    # Keras exposes the cell's configuration on the layer.
    @property
    def units(self) -> int:
        """The number of units."""
        return self.cell.units

    @property
    def activation(self):
        """The cell's activation."""
        return self.cell.activation

    @property
    def use_bias(self) -> bool:
        """Whether the cell adds biases."""
        return self.cell.use_bias

    @property
    def dropout(self) -> float:
        """The cell's input dropout rate."""
        return self.cell.dropout

    @property
    def recurrent_dropout(self) -> float:
        """The cell's recurrent dropout rate."""
        return self.cell.recurrent_dropout

    @property
    def kernel(self):
        """The cell's input kernel."""
        return self.cell.kernel

    @property
    def recurrent_kernel(self):
        """The cell's recurrent kernel."""
        return self.cell.recurrent_kernel

    @property
    def bias(self):
        """The cell's bias (None without one)."""
        return getattr(self.cell, "bias", None)

    def _fusable(self) -> str | None:
        """Why the fused op cannot run this layer's cell, or None when it can."""
        raise NotImplementedError

    def _use_fused(self, training) -> bool:
        if self.fused is False:
            return False
        why = self._fusable()
        if why is None and training and self.cell.recurrent_dropout > 0:
            why = "recurrent_dropout needs the step-by-step loop while training"
        if why is not None and self.fused is True:
            raise ValueError(f"{type(self).__name__} '{self.name}': fused=True but {why}")
        return why is None

    def call(self, inputs, initial_state=None, mask=None, training=None):
        mask = self._mask_array(inputs, mask)
        states = self._initial_states(inputs, initial_state)
        if not self._use_fused(training):
            return self._cell_loop(inputs, states, mask, training)
        cell = self.cell
        x = inputs
        if training and cell.dropout > 0:
            cell.reset_dropout_mask()
            x = x * expand_dims(cell.get_dropout_mask(getitem(x, (slice(None), 0))), 1)
        b, n, f = x.shape
        g = self._GATES * cell.units
        # Every step's input projection in one matmul, time-major: (time * batch, features).
        # The bias rides along as a row of the kernel against a column of ones: one GEMM
        # instead of a GEMM and a broadcast add, and its gradient falls out of the same GEMM.
        x2 = reshape(transpose(x, [1, 0, 2]), (n * b, f))
        kernel = cell.kernel
        input_bias = self._input_bias()
        if input_bias is not None:
            x2 = concat([x2, wrap(xp.ones((n * b, 1), x2.dtype))], axis=1)
            kernel = concat([kernel, reshape(input_bias, (1, g))], axis=0)
        proj = reshape(matmul(x2, kernel), (n, b, g))
        mask_tm = None if mask is None else mask.T
        hs, *final = self._sequence(proj, states, mask_tm)
        # The mask in processing order, for zero_output_for_mask.
        keep = None if mask is None else (mask[:, ::-1] if self.go_backwards else mask)
        if self.return_sequences:
            out = transpose(hs, [1, 0, 2])
            if keep is not None and self.zero_output_for_mask:
                out = where(wrap(keep[:, :, None]), out, 0.0)
        else:
            out = final[0]
            if keep is not None and self.zero_output_for_mask and n:
                out = where(wrap(keep[:, -1:]), out, 0.0)
        return self._result(out, final, mask)

    def _input_bias(self):
        return self.cell.bias if self.cell.use_bias else None

    def get_config(self) -> dict:
        config = {**self.cell.get_config(), **super().get_config(), "fused": self.fused}
        del config["cell"]  # built from the cell's own arguments, which are all here
        config["name"] = self.name
        return config

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)


def _rnn_kwargs(kwargs):
    """Split a fused layer's keyword arguments between RNN/Layer and the cell."""
    layer_keys = {
        "return_sequences",
        "return_state",
        "go_backwards",
        "stateful",
        "unroll",
        "zero_output_for_mask",
        "name",
        "trainable",
        "dtype",
        "input_shape",
        "activity_regularizer",
    }
    layer = {k: v for k, v in kwargs.items() if k in layer_keys}
    cell = {k: v for k, v in kwargs.items() if k not in layer_keys}
    cell.pop("use_cudnn", None)  # Keras's switch for its fused path: accepted, meaningless here
    cell.pop("implementation", None)
    extra = {"dtype": layer.get("dtype"), "trainable": layer.get("trainable", True)}
    return layer, cell, extra


class SimpleRNN(_FusedRNN):
    """A fully connected RNN over (batch, time, features): ``RNN(SimpleRNNCell(...))``, fused.

    With activation "tanh" (the default) or "relu" the recurrence runs as one fused
    tape operation (PyTorch's nn.RNN has the same two); others use the cell loop.

    Args:
        units: the size of the state.
        activation: default "tanh".
        fused: "auto" (fused when possible), False (always the cell loop), True (fused or error).
        **kwargs: ``SimpleRNNCell`` arguments (use_bias, initializers, dropout,
            recurrent_dropout, seed) and ``RNN`` arguments (return_sequences,
            return_state, go_backwards, zero_output_for_mask) and Layer arguments.

    Example:
        >>> import wengert as wg
        >>> from wengert.layers.rnn import SimpleRNN
        >>> layer = SimpleRNN(4, return_sequences=True, return_state=True)
        >>> seq, h = layer(wg.ones((2, 5, 3)))
        >>> seq.shape, h.shape, [w.shape for w in layer.get_weights()]
        ((2, 5, 4), (2, 4), [(3, 4), (4, 4), (4,)])
    """

    _GATES = 1

    def __init__(self, units, activation="tanh", fused="auto", **kwargs):
        layer, cell_args, extra = _rnn_kwargs(kwargs)
        cell = SimpleRNNCell(units, activation=activation, **cell_args, **extra)
        super().__init__(cell, fused=fused, **layer)

    def _fusable(self):
        if _activation_name(self.cell.activation) not in ("tanh", "relu"):
            return "the fused SimpleRNN supports activation 'tanh' or 'relu'"
        return None

    def _sequence(self, proj, states, mask):
        return simple_rnn_sequence(
            proj,
            states[0],
            self.cell.recurrent_kernel,
            mask=mask,
            activation=_activation_name(self.cell.activation),
            go_backwards=self.go_backwards,
        )


class LSTM(_FusedRNN):
    """Long short-term memory over (batch, time, features): ``RNN(LSTMCell(...))``, fused.

    With Keras's default activations (tanh, sigmoid) the recurrence is one fused
    tape operation with a hand-written backward through time; otherwise, and with
    recurrent dropout while training, the cell loop runs.  Returns the last
    output (batch, units), every output with ``return_sequences``, and
    ``[output, h, c]`` with ``return_state``.

    Args:
        units: the size of the output and the states.
        activation: default "tanh".
        recurrent_activation: default "sigmoid".
        fused: "auto" (fused when possible), False (always the cell loop), True (fused or error).
        **kwargs: ``LSTMCell`` arguments (use_bias, initializers, unit_forget_bias,
            dropout, recurrent_dropout, seed), ``RNN`` arguments and Layer arguments.

    Example:
        >>> import wengert as wg
        >>> from wengert.layers.rnn import LSTM
        >>> layer = LSTM(8)
        >>> layer(wg.ones((2, 5, 3))).shape, [w.shape for w in layer.get_weights()]
        ((2, 8), [(3, 32), (8, 32), (32,)])
    """

    _GATES = 4

    def __init__(
        self, units, activation="tanh", recurrent_activation="sigmoid", fused="auto", **kwargs
    ):
        layer, cell_args, extra = _rnn_kwargs(kwargs)
        cell = LSTMCell(
            units,
            activation=activation,
            recurrent_activation=recurrent_activation,
            **cell_args,
            **extra,
        )
        super().__init__(cell, fused=fused, **layer)

    def _fusable(self):
        if _activation_name(self.cell.activation) != "tanh" or (
            _activation_name(self.cell.recurrent_activation) != "sigmoid"
        ):
            return "the fused LSTM needs activation 'tanh' and recurrent_activation 'sigmoid'"
        return None

    def _sequence(self, proj, states, mask):
        return lstm_sequence(
            proj,
            states[0],
            states[1],
            self.cell.recurrent_kernel,
            mask=mask,
            go_backwards=self.go_backwards,
        )


class GRU(_FusedRNN):
    """Gated recurrent unit over (batch, time, features): ``RNN(GRUCell(...))``, fused.

    ``reset_after=True`` (the default, as in Keras 2+ and PyTorch) keeps a second,
    recurrent bias row.  With Keras's default activations the recurrence is one
    fused tape operation; otherwise the cell loop runs.

    Args:
        units: the size of the state.
        activation: default "tanh".
        recurrent_activation: default "sigmoid".
        reset_after: apply the reset gate after the recurrent matmul.
        fused: "auto" (fused when possible), False (always the cell loop), True (fused or error).
        **kwargs: ``GRUCell`` arguments, ``RNN`` arguments and Layer arguments.

    Example:
        >>> import wengert as wg
        >>> from wengert.layers.rnn import GRU
        >>> layer = GRU(8, return_sequences=True)
        >>> layer(wg.ones((2, 5, 3))).shape, [w.shape for w in layer.get_weights()]
        ((2, 5, 8), [(3, 24), (8, 24), (2, 24)])
    """

    _GATES = 3

    def __init__(
        self,
        units,
        activation="tanh",
        recurrent_activation="sigmoid",
        reset_after=True,
        fused="auto",
        **kwargs,
    ):
        layer, cell_args, extra = _rnn_kwargs(kwargs)
        cell = GRUCell(
            units,
            activation=activation,
            recurrent_activation=recurrent_activation,
            reset_after=reset_after,
            **cell_args,
            **extra,
        )
        super().__init__(cell, fused=fused, **layer)

    @property
    def reset_after(self) -> bool:
        """Whether the reset gate applies after the recurrent matmul."""
        return self.cell.reset_after

    def _fusable(self):
        if _activation_name(self.cell.activation) != "tanh" or (
            _activation_name(self.cell.recurrent_activation) != "sigmoid"
        ):
            return "the fused GRU needs activation 'tanh' and recurrent_activation 'sigmoid'"
        return None

    def _input_bias(self):
        return self.cell._biases()[0]

    def _sequence(self, proj, states, mask):
        return gru_sequence(
            proj,
            states[0],
            self.cell.recurrent_kernel,
            self.cell._biases()[1],
            mask=mask,
            reset_after=self.cell.reset_after,
            go_backwards=self.go_backwards,
        )


# -- wrappers -------------------------------------------------------------------------------------
def _reverse_time(t):
    return getitem(t, (slice(None), slice(None, None, -1)))


class Bidirectional(Layer):
    """Run a recurrent layer forwards and a copy of it backwards, and merge their outputs.

    Args:
        layer: an ``RNN`` (SimpleRNN, LSTM, GRU, or ``RNN(cell)``); it becomes the
            forward layer.
        merge_mode: "concat" (default), "sum", "mul", "ave", or None (a list of both).
        weights: optional initial weights (forward layer's, then backward layer's).
        backward_layer: optional backward layer (default: the forward layer's config
            with ``go_backwards`` flipped).
        **kwargs: Layer arguments.

    With ``return_state`` the result is ``[output, *forward_states, *backward_states]``;
    ``initial_state`` takes the forward layer's states then the backward layer's.
    The backward outputs are reversed back into time order before merging.  A
    stateful layer makes both directions stateful, each keeping its own states
    (``states`` and ``reset_states`` list the forward layer's, then the backward's).

    Example:
        >>> import wengert as wg
        >>> from wengert.layers.rnn import LSTM, Bidirectional
        >>> layer = Bidirectional(LSTM(4, return_sequences=True))
        >>> layer(wg.ones((2, 5, 3))).shape, len(layer.get_weights())
        ((2, 5, 8), 6)
    """

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        if not isinstance(layer, RNN):
            raise ValueError(
                f"Bidirectional: expects a recurrent layer (RNN, LSTM, GRU, SimpleRNN), got "
                f"{type(layer).__name__}"
            )
        if merge_mode not in ("concat", "sum", "mul", "ave", None):
            raise ValueError(
                f"Bidirectional: merge_mode must be 'concat', 'sum', 'mul', 'ave' or None, "
                f"got {merge_mode!r}"
            )
        kwargs.setdefault("dtype", layer.dtype)  # compute in the wrapped layer's dtype
        super().__init__(**kwargs)
        base_name = layer.name
        self._own_backward = backward_layer is not None  # saved in the config if given
        if backward_layer is None:
            backward_layer = _flipped_copy(layer)
            backward_layer.name = f"backward_{base_name}"
        else:
            if not isinstance(backward_layer, RNN):
                raise ValueError("Bidirectional: backward_layer must be a recurrent layer")
            if backward_layer.go_backwards == layer.go_backwards:
                raise ValueError(
                    "Bidirectional: backward_layer.go_backwards must be the opposite of "
                    f"layer.go_backwards ({layer.go_backwards})"
                )
            for attr in ("return_sequences", "return_state", "stateful"):
                if getattr(backward_layer, attr) != getattr(layer, attr):
                    raise ValueError(
                        f"Bidirectional: forward and backward layers need the same {attr}"
                    )
        layer.name = f"forward_{base_name}"
        self.forward_layer = layer
        self.backward_layer = backward_layer
        # As Keras does: with sequences, a masked step outputs zeros in both directions.
        for sub in (layer, backward_layer):
            sub.zero_output_for_mask = sub.return_sequences
        self.merge_mode = merge_mode
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self._initial_weights = weights

    @property
    def stateful(self) -> bool:
        """Whether both directions keep their final states for the next call."""
        return self.forward_layer.stateful

    @property
    def states(self):
        """The forward layer's states then the backward layer's (None before the first call)."""
        if self.forward_layer.states is None or self.backward_layer.states is None:
            return None
        return self.forward_layer.states + self.backward_layer.states

    def reset_states(self, states=None) -> None:
        """Zero both directions' states, or set them: the forward layer's, then the backward's."""
        if states is None:
            self.forward_layer.reset_states()
            self.backward_layer.reset_states()
            return
        forward, backward = self._split_states(states, "states for reset_states")
        self.forward_layer.reset_states(forward)
        self.backward_layer.reset_states(backward)

    def _split_states(self, states, what: str):
        """(forward layer's states, backward layer's) from one list holding both."""
        states = list(states)
        n = len(self.forward_layer.state_size)
        if len(states) != 2 * n:
            raise ValueError(
                f"Bidirectional '{self.name}': expected {2 * n} {what} (forward then "
                f"backward), got {len(states)}"
            )
        return states[:n], states[n:]

    def reset_state(self, states=None) -> None:
        """Keras 3's name for ``reset_states``."""
        self.reset_states(states)

    def build(self, input_shape):
        shape = tuple(input_shape)
        for sub in (self.forward_layer, self.backward_layer):
            if not sub.built:
                sub.build(shape)
                sub.built = True
        self.built = True
        if self._initial_weights is not None:
            self.set_weights(self._initial_weights)
            self._initial_weights = None

    def call(self, inputs, initial_state=None, mask=None, training=None):
        if mask is None:
            mask = get_mask(inputs)
        forward_state = backward_state = None
        if initial_state is not None:
            forward_state, backward_state = self._split_states(initial_state, "initial states")
        y = self.forward_layer(inputs, initial_state=forward_state, mask=mask, training=training)
        y_rev = self.backward_layer(
            inputs, initial_state=backward_state, mask=mask, training=training
        )
        states = []
        if self.return_state:
            states = list(y[1:]) + list(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = _reverse_time(y_rev)
        if self.merge_mode == "concat":
            out = concat([y, y_rev], axis=-1)
        elif self.merge_mode == "sum":
            out = y + y_rev
        elif self.merge_mode == "mul":
            out = y * y_rev
        elif self.merge_mode == "ave":
            out = (y + y_rev) * 0.5
        else:
            out = [y, y_rev]
        if self.return_sequences and mask is not None:
            for o in out if self.merge_mode is None else [out]:
                set_mask(o, mask)
        if self.return_state:
            return (out if isinstance(out, list) else [out]) + states
        return out

    def get_config(self) -> dict:
        config = {
            **super().get_config(),
            "merge_mode": self.merge_mode,
            "layer": layer_spec(self.forward_layer),
        }
        if self._own_backward:
            config["backward_layer"] = layer_spec(self.backward_layer)
        return config

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        spec = config.pop("layer")
        spec = {**spec, "config": dict(spec["config"])}
        spec["config"]["name"] = spec["config"]["name"].removeprefix("forward_")
        if "backward_layer" in config:
            config["backward_layer"] = layer_from_spec(config["backward_layer"])
        return cls(layer_from_spec(spec), **config)


def _flipped_copy(layer):
    """A fresh layer like ``layer`` that runs the other way (Keras rebuilds it from its config)."""
    if isinstance(layer, _FusedRNN):
        config = layer.get_config()
        config["go_backwards"] = not layer.go_backwards
        return type(layer).from_config(config)
    if layer.built:
        raise ValueError(
            "Bidirectional: the layer is already built; pass an unbuilt layer or a backward_layer"
        )
    other = copy.deepcopy(layer)
    other.go_backwards = not layer.go_backwards
    # The copy must not replay the original's dropout masks (Keras's seeds differ too).
    for sub in [other] + [o for _, o in other._walk()]:
        if (
            isinstance(getattr(sub, "generator", None), Generator)
            and getattr(sub, "seed", 0) is None
        ):
            sub.generator = Generator(int(get_global_generator().uniform((), 0, 2**62, "int64")))
    return other


class TimeDistributed(Wrapper):
    """Apply a layer to every time step of (batch, time, ...) inputs, with shared weights.

    The steps are folded into the batch axis, so the wrapped layer runs once
    (one matmul for a Dense) rather than once per step.

    Args:
        layer: the layer to apply to each (batch, ...) slice.
        **kwargs: Layer arguments.

    Example:
        >>> import wengert as wg
        >>> from wengert.layers.rnn import TimeDistributed
        >>> layer = TimeDistributed(wg.layers.Dense(5))
        >>> layer(wg.ones((2, 7, 3))).shape
        (2, 7, 5)
    """

    def build(self, input_shape):
        # The wrapped layer builds on its first call, from the folded (batch * time, ...) shape.
        if len(input_shape) < 3:
            raise ValueError(
                f"TimeDistributed '{self.name}': expected inputs of shape (batch, time, ...), "
                f"got shape {tuple(input_shape)}"
            )
        self.built = True

    def call(self, inputs, training=None, mask=None):
        if mask is None:
            mask = get_mask(inputs)
        b, n = inputs.shape[:2]
        folded = reshape(inputs, (b * n,) + tuple(inputs.shape[2:]))
        if mask is not None:
            mask = xp.asarray(mask._value if isinstance(mask, Tensor) else mask, dtype=bool)
            if mask.shape[:2] != (b, n):
                raise ValueError(
                    f"TimeDistributed '{self.name}': the mask {list(mask.shape)} does not fit "
                    f"inputs {list(inputs.shape)}: expected (batch, time, ...) = ({b}, {n}, ...)"
                )
            if mask.ndim > 2:  # a mask inside each step (a word's characters): the layer's
                set_mask(folded, mask.reshape((b * n,) + mask.shape[2:]))
        if training and n and _batch_statistics(self.layer):
            # Batch normalization in training: each step normalised by its own batch's
            # statistics, the moving ones updated once per step, as Keras 3 loops.
            steps = []
            for t in range(n):
                step = getitem(inputs, (slice(None), t))
                if mask is not None:  # the step's own padding stays out of its statistics
                    set_mask(step, mask[:, t])
                steps.append(self.layer(step, training=True))
            y = stack(steps, axis=1)
            y = reshape(y, (b * n,) + tuple(y.shape[2:]))
        else:
            y = self.layer(folded, training=training)
        out = reshape(y, (b, n) + tuple(y.shape[1:]))
        inner = get_mask(y)
        if inner is not None:  # the wrapped layer's own output mask, per step
            set_mask(out, inner.reshape((b, n) + inner.shape[1:]))
        elif mask is not None:  # a step counts if anything in it does (as Keras 2)
            set_mask(out, mask if mask.ndim == 2 else mask.reshape(b, n, -1).any(-1))
        return out


# -- PyTorch's parameters -------------------------------------------------------------------------
def _array(value):
    if hasattr(value, "detach"):  # a torch.Tensor: no torch import needed to read it
        value = value.detach().cpu().numpy()
    return xp.asarray(value)


def _gru_order(units):
    """Rows of PyTorch's (r, z, n) blocks in Keras's (z, r, h) order; it is its own inverse."""
    return xp.concatenate(
        [xp.arange(units, 2 * units), xp.arange(units), xp.arange(2 * units, 3 * units)]
    )


def _directions(layer):
    if isinstance(layer, Bidirectional):
        return [(layer.forward_layer, ""), (layer.backward_layer, "_reverse")]
    if isinstance(layer, (SimpleRNN, LSTM, GRU)):
        return [(layer, "")]
    raise TypeError(
        f"expected a SimpleRNN, LSTM or GRU layer (or a Bidirectional of one), got "
        f"{type(layer).__name__}"
    )


def load_torch_state_dict(layer, state_dict, layer_index=0) -> None:
    """Set a layer's weights from a PyTorch nn.RNN / nn.LSTM / nn.GRU ``state_dict()``.

    PyTorch stores ``weight_ih_l{k}`` (gates * units, input), ``weight_hh_l{k}`` and two
    biases, gate order i, f, g, o (LSTM) or r, z, n (GRU); this transposes, reorders
    and (for LSTM and SimpleRNN) adds the two biases.  A Bidirectional layer takes
    the ``_reverse`` parameters for its backward layer.  Match the activation:
    nn.RNN's ``nonlinearity`` ("tanh" or "relu") is the SimpleRNN's activation.

    Args:
        layer: a SimpleRNN, LSTM, GRU (reset_after=True) or Bidirectional of one;
            built from the parameters' input size if it is not built yet.
        state_dict: the module's state dict (torch tensors or arrays).
        layer_index: which layer ``k`` of a multi-layer PyTorch module.

    Example:
        >>> import numpy as np, wengert as wg
        >>> from wengert.layers.rnn import LSTM, load_torch_state_dict, torch_state_dict
        >>> lstm = LSTM(2)
        >>> sd = {"weight_ih_l0": np.ones((8, 3)), "weight_hh_l0": np.zeros((8, 2)),
        ...       "bias_ih_l0": np.ones(8), "bias_hh_l0": np.ones(8)}
        >>> load_torch_state_dict(lstm, sd)
        >>> lstm.cell.kernel.shape, lstm.cell.bias.numpy()[:2]
        ((3, 8), array([2., 2.], dtype=float32))
        >>> sorted(torch_state_dict(lstm))
        ['bias_hh_l0', 'bias_ih_l0', 'weight_hh_l0', 'weight_ih_l0']
    """
    for sub, suffix in _directions(layer):
        key = f"_l{layer_index}{suffix}"
        if f"weight_ih{key}" not in state_dict:
            raise KeyError(
                f"load_torch_state_dict: no 'weight_ih{key}' in the state dict (keys: "
                f"{sorted(state_dict)})"
            )
        w_ih = _array(state_dict[f"weight_ih{key}"])
        w_hh = _array(state_dict[f"weight_hh{key}"])
        b_ih = state_dict.get(f"bias_ih{key}")
        b_hh = state_dict.get(f"bias_hh{key}")
        cell = sub.cell
        gates = sub._GATES
        units = cell.units
        if w_hh.shape != (gates * units, units):
            raise ValueError(
                f"load_torch_state_dict: {type(sub).__name__} '{sub.name}' has {units} units "
                f"({gates} gates) but weight_hh{key} has shape {w_hh.shape}"
            )
        if not sub.built:
            sub.build((None, None, w_ih.shape[1]))
            sub.built = True
        if w_ih.shape != (gates * units, cell.kernel.shape[0]):
            raise ValueError(
                f"load_torch_state_dict: {type(sub).__name__} '{sub.name}' takes "
                f"{cell.kernel.shape[0]} input features but weight_ih{key} has shape {w_ih.shape}"
            )
        if (b_ih is None) != (not cell.use_bias):
            raise ValueError(
                f"load_torch_state_dict: {type(sub).__name__} '{sub.name}' has "
                f"use_bias={cell.use_bias} but the state dict "
                f"{'has no' if b_ih is None else 'has'} biases"
            )
        if isinstance(sub, GRU):
            if not cell.reset_after:
                raise ValueError(
                    "load_torch_state_dict: PyTorch's GRU is Keras's reset_after=True; "
                    f"GRU '{sub.name}' has reset_after=False"
                )
            order = _gru_order(units)
            weights = [w_ih[order].T, w_hh[order].T]
            if cell.use_bias:
                weights.append(xp.stack([_array(b_ih)[order], _array(b_hh)[order]]))
        else:
            weights = [w_ih.T, w_hh.T]
            if cell.use_bias:
                weights.append(_array(b_ih) + _array(b_hh))
        sub.set_weights(weights)


def torch_state_dict(layer, layer_index=0, as_tensors=False) -> dict:
    """A layer's weights as a PyTorch nn.RNN / nn.LSTM / nn.GRU ``state_dict`` (inverse of
    ``load_torch_state_dict``).

    The LSTM's and SimpleRNN's one bias goes to ``bias_ih`` and ``bias_hh`` is zero.

    Args:
        layer: a built SimpleRNN, LSTM, GRU (reset_after=True) or Bidirectional of one.
        layer_index: the ``k`` of the keys ``weight_ih_l{k}`` and so on.
        as_tensors: return torch tensors (imports torch) instead of NumPy arrays.

    Returns:
        A dict of arrays; ``module.load_state_dict({k: torch.from_numpy(v) ...})`` loads it.

    Example:
        >>> import wengert as wg
        >>> from wengert.layers.rnn import GRU, torch_state_dict
        >>> gru = GRU(2)
        >>> _ = gru(wg.ones((1, 3, 4)))
        >>> {k: v.shape for k, v in sorted(torch_state_dict(gru).items())}
        {'bias_hh_l0': (6,), 'bias_ih_l0': (6,), 'weight_hh_l0': (6, 2), 'weight_ih_l0': (6, 4)}
    """
    out = {}
    for sub, suffix in _directions(layer):
        if not sub.built:
            raise ValueError(f"torch_state_dict: {type(sub).__name__} '{sub.name}' is not built")
        key = f"_l{layer_index}{suffix}"
        cell = sub.cell
        kernel = cell.kernel.numpy()
        rec = cell.recurrent_kernel.numpy()
        if isinstance(sub, GRU):
            if not cell.reset_after:
                raise ValueError(
                    f"torch_state_dict: GRU '{sub.name}' has reset_after=False, which PyTorch's "
                    "GRU cannot express"
                )
            order = _gru_order(cell.units)
            out[f"weight_ih{key}"] = xp.ascontiguousarray(kernel.T[order])
            out[f"weight_hh{key}"] = xp.ascontiguousarray(rec.T[order])
            if cell.use_bias:
                bias = cell.bias.numpy()
                out[f"bias_ih{key}"] = bias[0][order].copy()
                out[f"bias_hh{key}"] = bias[1][order].copy()
        else:
            out[f"weight_ih{key}"] = xp.ascontiguousarray(kernel.T)
            out[f"weight_hh{key}"] = xp.ascontiguousarray(rec.T)
            if cell.use_bias:
                out[f"bias_ih{key}"] = cell.bias.numpy()
                out[f"bias_hh{key}"] = xp.zeros_like(out[f"bias_ih{key}"])
    return _as_torch_tensors(out) if as_tensors else out


def _as_torch_tensors(arrays: dict) -> dict:
    """A state dict of arrays as PyTorch tensors (``torch_state_dict(as_tensors=True)``)."""
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - torch is a test extra
        raise ImportError(
            "torch_state_dict(as_tensors=True) needs PyTorch: pip install torch"
        ) from exc
    return {k: torch.from_numpy(v) for k, v in arrays.items()}
