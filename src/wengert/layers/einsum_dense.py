"""``EinsumDense``: Keras 3's dense layer of any rank, ``einsum(equation, inputs, kernel)``.

The equation is ``"<input>,<kernel>-><output>"``, one letter per axis, and may elide
leading (``"...b,bc->...c"``) or trailing (``"ab...,bc->ac..."``) input axes that pass
through to the output unchanged.  As in Keras, ``output_shape`` gives the sizes of the
output's axes but the first (the batch) and the elided ones; the kernel's shape is read
off the input's and output's sizes of its letters, and ``bias_axes`` names the output
letters that get a bias (the bias spans from the first of them to the end of the
output, with size 1 on the axes not named, so it broadcasts).
"""

from __future__ import annotations

import math
import re
import string

from .. import activations, initializers
from ..array_ops import reshape
from ..math_extra import einsum
from ..math_ops import matmul
from ..nn_ops import dense
from .base import InputSpec, Layer, serialize_initializer

__all__ = ["EinsumDense"]

_FORMS = (
    # (regex on the equation with "..." replaced by "0", which side is elided)
    (re.compile(r"([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)"), None),
    (re.compile(r"0([a-zA-Z]+),([a-zA-Z]+)->0([a-zA-Z]+)"), "left"),
    (re.compile(r"([a-zA-Z]{2,})0,([a-zA-Z]+)->([a-zA-Z]+)0"), "right"),
)


def _parse(equation: str, where: str):
    """(input, kernel, output subscripts, elided side: None, "left" or "right")."""
    compact = equation.replace(" ", "").replace("...", "0")
    for pattern, elided in _FORMS:
        found = pattern.fullmatch(compact)
        if found:
            specs = found.groups()
            for spec in specs:
                if len(set(spec)) != len(spec):
                    raise ValueError(
                        f"{where}: equation {equation!r} repeats a letter within {spec!r}; "
                        "each axis of an operand needs its own letter"
                    )
            return (*specs, elided)
    raise ValueError(
        f"{where}: invalid einsum equation {equation!r}; equations must be of the form "
        "'[X],[Y]->[Z]', '...[X],[Y]->...[Z]' or '[X]...,[Y]->[Z]...'"
    )


class EinsumDense(Layer):
    """A dense layer whose map is an einsum: ``activation(einsum(equation, x, kernel) + bias)``.

    Args:
        equation: ``"ab,bc->ac"``, ``"...b,bc->...c"`` or ``"ab...,bc->ac..."`` forms (see
            the module docstring).
        output_shape: an int or a tuple, the sizes of the output's axes except the batch
            axis and the elided ones; ``None`` where the input gives the size.
        activation: an activation name or function (None: linear).
        bias_axes: a string of output letters to add a bias along (None: no bias).
        kernel_initializer: initializer of the kernel.
        bias_initializer: initializer of the bias.
        **kwargs: Layer arguments (name, dtype, kernel_regularizer, bias_regularizer,
            kernel_constraint, bias_constraint, activity_regularizer, ...).

    Example:
        >>> import wengert as wg
        >>> from wengert.layers.einsum_dense import EinsumDense
        >>> layer = EinsumDense("abc,cde->abde", output_shape=(None, 4, 8), bias_axes="de")
        >>> layer(wg.ones((2, 5, 16))).shape, layer.kernel.shape, layer.bias.shape
        ((2, 5, 4, 8), (16, 4, 8), (4, 8))
    """

    _float_math = True  # integer inputs are cast to the layer's dtype

    def __init__(
        self,
        equation,
        output_shape,
        activation=None,
        bias_axes=None,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        where = self._where()
        self.equation = str(equation)
        self._specs = _parse(self.equation, where)
        if isinstance(output_shape, int):
            self.partial_output_shape = (int(output_shape),)
        else:
            self.partial_output_shape = tuple(None if d is None else int(d) for d in output_shape)
        in_spec, kernel_spec, out_spec, _ = self._specs
        for letter in out_spec:
            if letter not in in_spec and letter not in kernel_spec:
                raise ValueError(
                    f"{where}: output letter {letter!r} of {self.equation!r} is in neither "
                    f"the input {in_spec!r} nor the kernel {kernel_spec!r}"
                )
        for letter in kernel_spec:
            if letter not in in_spec and letter not in out_spec:
                raise ValueError(
                    f"{where}: kernel letter {letter!r} of {self.equation!r} is in neither "
                    f"the input {in_spec!r} nor the output {out_spec!r}, so its size is unknown"
                )
        self.bias_axes = None if bias_axes is None else str(bias_axes)
        if self.bias_axes is not None:
            stray = [c for c in self.bias_axes if c not in out_spec]
            if stray or not self.bias_axes:
                raise ValueError(
                    f"{where}: bias_axes {bias_axes!r} must be letters of the output "
                    f"{out_spec!r} of {self.equation!r}"
                )
        self.activation = activations.get(activation)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)

    def _where(self) -> str:
        return f"{type(self).__name__} '{self.name}'"

    # -- shapes ------------------------------------------------------------------------------
    def _explicit(self, rank: int):
        """The equation with the elided axes given letters, for inputs of ``rank``:
        (input, kernel, output subscripts, number of elided axes)."""
        in_spec, kernel_spec, out_spec, side = self._specs
        elided = rank - len(in_spec)
        if elided < 0 or (side is None and elided):
            expected = f"{len(in_spec)}" if side is None else f"at least {len(in_spec)}"
            raise ValueError(
                f"{self._where()}: equation {self.equation!r} expects inputs of rank "
                f"{expected}, got rank {rank}"
            )
        spare = [c for c in string.ascii_letters if c not in in_spec + kernel_spec + out_spec]
        extra = "".join(spare[:elided])
        if side == "left":
            return extra + in_spec, kernel_spec, extra + out_spec, elided
        if side == "right":
            return in_spec + extra, kernel_spec, out_spec + extra, elided
        return in_spec, kernel_spec, out_spec, 0

    def _sizes(self, input_shape) -> dict:
        """Each letter's size: the input's, else the one ``output_shape`` gives."""
        in_spec, kernel_spec, out_spec, elided = self._explicit(len(input_shape))
        side = self._specs[3]
        # Keras: output_shape covers the output letters but the batch and the elided ones.
        named = self._specs[2] if side == "left" else self._specs[2][1:]
        if side != "left" and out_spec[0] != in_spec[0]:
            raise ValueError(
                f"{self._where()}: the output {self._specs[2]!r} of {self.equation!r} must "
                f"start with the input's batch letter {in_spec[0]!r}"
            )
        if len(self.partial_output_shape) != len(named):
            raise ValueError(
                f"{self._where()}: output_shape {self.partial_output_shape} must give "
                f"{len(named)} sizes, one per output axis {tuple(named)} of "
                f"{self.equation!r} (the batch and elided axes excluded)"
            )
        sizes = dict(zip(in_spec, input_shape))
        for letter, size in zip(named, self.partial_output_shape):
            known = sizes.get(letter)
            if letter in sizes and size is not None and known is not None and known != size:
                raise ValueError(
                    f"{self._where()}: input shape {tuple(input_shape)} and output_shape "
                    f"{self.partial_output_shape} disagree on axis {letter!r} of "
                    f"{self.equation!r}: {known} != {size}"
                )
            if letter not in sizes:
                sizes[letter] = size
        for letter in kernel_spec:
            if sizes[letter] is None:
                raise ValueError(
                    f"{self._where()}: the size of kernel axis {letter!r} of "
                    f"{self.equation!r} is unknown (input shape {tuple(input_shape)}, "
                    f"output_shape {self.partial_output_shape}); the kernel must be fully "
                    "specified"
                )
        return sizes

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        sizes = self._sizes(input_shape)
        in_spec, kernel_spec, out_spec, elided = self._explicit(len(input_shape))
        self.kernel = self.add_weight(
            tuple(sizes[c] for c in kernel_spec), self.kernel_initializer, name="kernel"
        )
        self.bias = None
        if self.bias_axes is not None:
            named_out = self._specs[2]
            first = min(named_out.index(c) for c in self.bias_axes)
            shape = [sizes[c] if c in self.bias_axes else 1 for c in named_out[first:]]
            if self._specs[3] == "right":
                shape += [1] * elided  # the elided axes follow
            self.bias = self.add_weight(tuple(shape), self.bias_initializer, name="bias")
        # The input axes the kernel shares are fixed from now on; so is the rank.
        fixed = {i: sizes[c] for i, c in enumerate(in_spec) if c in kernel_spec}
        self.input_spec = InputSpec(ndim=len(input_shape), axes=fixed)
        self._plan = self._matmul_plan(in_spec, kernel_spec, out_spec)
        self._explicit_equation = f"{in_spec},{kernel_spec}->{out_spec}"

    def compute_output_shape(self, input_shape):
        """The output's shape for ``input_shape`` (its batch and elided axes kept)."""
        input_shape = tuple(input_shape)
        sizes = self._sizes(input_shape)
        return tuple(sizes[c] for c in self._explicit(len(input_shape))[2])

    # -- the computation ---------------------------------------------------------------------
    @staticmethod
    def _matmul_plan(in_spec, kernel_spec, out_spec):
        """The number of contracted axes when the einsum is a matrix product on flattened
        axes, ``(*lead, *c) x (*c, *o) -> (*lead, *o)`` (Dense, and the projections of
        MultiHeadAttention): one BLAS call instead of an einsum.  None otherwise."""
        for n_contract in range(1, len(in_spec)):
            lead, contract = in_spec[:-n_contract], in_spec[-n_contract:]
            if kernel_spec[:n_contract] == contract and out_spec == lead + kernel_spec[n_contract:]:
                if not set(lead) & set(kernel_spec):
                    return n_contract
        return None

    def call(self, inputs):
        n_contract = self._plan
        bias = self.bias
        if n_contract is None:
            out = einsum(self._explicit_equation, inputs, self.kernel)
            if bias is not None:
                out = out + bias
            return self.activation(out)
        lead = tuple(inputs.shape[: inputs.ndim - n_contract])
        out_dims = tuple(self.kernel.shape[n_contract:])
        n_in = math.prod(self.kernel.shape[:n_contract])
        n_out = math.prod(out_dims)
        x = inputs if n_contract == 1 else reshape(inputs, lead + (n_in,))
        kernel = reshape(self.kernel, (n_in, n_out))
        if bias is not None and tuple(bias.shape) == out_dims:
            out = dense(x, kernel, reshape(bias, (n_out,)))
            bias = None
        else:
            out = matmul(x, kernel)
        out = out if len(out_dims) == 1 else reshape(out, lead + out_dims)
        if bias is not None:
            out = out + bias
        return self.activation(out)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "equation": self.equation,
            "output_shape": self.partial_output_shape,
            "activation": activations.serialize(self.activation),
            "bias_axes": self.bias_axes,
            "kernel_initializer": serialize_initializer(self.kernel_initializer),
            "bias_initializer": serialize_initializer(self.bias_initializer),
        }
