"""Attention layers (Keras 3's): ``MultiHeadAttention``, ``Attention`` (Luong, dot
product) and ``AdditiveAttention`` (Bahdanau).

Keras semantics throughout (keras/src/layers/attention/): weights in Keras's layout, so
``get_weights``/``set_weights`` exchange arrays with Keras; a position that may not be
attended to gets a large negative number added to its score before the softmax (Keras's
Softmax layer adds ``-1e9``, ``-3e4`` in float16), not ``-inf``, so a query with nothing
to attend to averages the values instead of turning into NaN.  Padding masks come from
the inputs (``Embedding(mask_zero=True)``, ``Masking``) or from the call's arguments, and
the output carries the query's mask on.

``load_torch_state_dict``/``torch_state_dict`` convert the parameters of PyTorch's
``nn.MultiheadAttention`` (``num_heads * key_dim == embed_dim``, value_dim == key_dim).
"""

from __future__ import annotations

import math
import string

from .. import initializers
from ..array_ops import expand_dims, reshape, transpose
from ..backend import xp
from ..math_ops import matmul, reduce_sum, tanh
from ..nn_ops import softmax
from ..random import Generator, get_global_generator
from ..tensor import Tensor, wrap
from .base import Layer, get_mask, serialize_initializer, set_mask
from .einsum_dense import EinsumDense
from .rnn import _as_torch_tensors

__all__ = [
    "MultiHeadAttention",
    "Attention",
    "AdditiveAttention",
    "load_torch_state_dict",
    "torch_state_dict",
]


# -- shared pieces ---------------------------------------------------------------------------
def _large_negative(dtype) -> float:
    """What Keras's Softmax adds to a masked score: -1e9, or -3e4 where float16 (its
    largest finite value is 65504) would turn -1e9 into -inf."""
    return -3e4 if xp.dtype(dtype) == xp.float16 else -1e9


def _bool_mask(mask):
    """A padding or attention mask as a NumPy bool array (nonzero = may attend)."""
    if mask is None:
        return None
    m = xp.asarray(mask._value if isinstance(mask, Tensor) else mask)
    return m if m.dtype == xp.bool_ else m != 0


def _causal_mask(t: int, s: int):
    """(t, s) lower-triangular: query i may attend to keys j <= i (Keras's cumsum form)."""
    return xp.tril(xp.ones((t, s), dtype=bool))


def _new_generator(seed) -> Generator:
    """A dropout stream of the layer's own (a checkpoint saves and restores it)."""
    if seed is None:
        seed = int(get_global_generator().uniform((), 0, 2**62, "int64"))
    return Generator(seed)


def _dropout(x: Tensor, rate: float, generator: Generator) -> Tensor:
    """Inverted dropout of attention probabilities, as wg.layers.Dropout draws it."""
    keep = generator._rng.random(x.shape) >= rate
    return x * wrap((keep / (1.0 - rate)).astype(x.dtype), "dropout_mask")


def _fresh(initializer):
    """A copy of ``initializer`` for one more weight, as Keras clones it per projection:
    an unseeded one then draws new values for each (a seeded one repeats its values)."""
    return initializer.clone() if isinstance(initializer, initializers.Initializer) else initializer


# -- MultiHeadAttention ----------------------------------------------------------------------
class MultiHeadAttention(Layer):
    """Multi-head scaled dot-product attention (Vaswani et al., 2017), as Keras 3's.

    Each head projects the query and key to ``key_dim`` features and the value to
    ``value_dim``; scores ``q k^T / sqrt(key_dim)``, masked, go through a softmax over the
    key positions (and dropout while training); the heads' weighted values are projected
    together to the output.  With ``value`` as ``key`` too (``key=None``) and the same
    tensor as query and value it is self-attention.

    Weights in Keras's layout: sublayers ``query_dense``, ``key_dense``, ``value_dense``
    with kernels (dim, num_heads, key_dim|value_dim) and biases (num_heads, key_dim|value_dim),
    and ``output_dense`` with kernel (num_heads, value_dim, output_dim) and bias (output_dim,).

    What may be attended to: the query's padding mask (rows), the value's and key's
    (columns), ``attention_mask`` (batch, T, S), and with ``use_causal_mask`` the lower
    triangle, all and-ed together as Keras's ``_compute_attention_mask`` does.  The
    padding masks are those of the inputs (``Embedding(mask_zero=True)``) unless
    ``query_mask``/``value_mask``/``key_mask`` are given.  The output carries the query's
    padding mask.

    Args:
        num_heads: the number of attention heads.
        key_dim: the size of each head's query and key.
        value_dim: the size of each head's value (default: key_dim).
        dropout: the dropout rate of the attention probabilities while training.
        use_bias: whether the projections have biases.
        output_shape: the output's feature shape (int or tuple; default: the query's
            last dimension).
        attention_axes: the axes attended over; only the default (None: every axis but
            the batch and feature axes, taken jointly) is supported.
        kernel_initializer, bias_initializer: of all four projections (each gets a copy).
        kernel_regularizer, bias_regularizer, kernel_constraint, bias_constraint: likewise.
        seed: seed of the dropout stream.
        **kwargs: Layer arguments (name, trainable, dtype, activity_regularizer).

    Call arguments:
        query: (batch, T, dim).  value: (batch, S, dim_v).  key: (batch, S, dim_k), default
        value.  query_mask (batch, T), value_mask, key_mask (batch, S): True = a real step.
        attention_mask: (batch, T, S) (or broadcastable; (batch, heads, T, S)), True = may
        attend.  return_attention_scores: also return the probabilities (batch, heads, T, S)
        (before dropout).  training: apply dropout.  use_causal_mask: query i sees keys <= i.

    Example:
        >>> import wengert as wg
        >>> mha = MultiHeadAttention(num_heads=2, key_dim=4)
        >>> x = wg.ones((3, 5, 8))
        >>> out, scores = mha(x, x, return_attention_scores=True)
        >>> out.shape, scores.shape, mha.query_dense.kernel.shape
        ((3, 5, 8), (3, 2, 5, 5), (8, 2, 4))
    """

    supports_masking = True  # the output carries the query's padding mask
    _float_math = True

    def __init__(
        self,
        num_heads,
        key_dim,
        value_dim=None,
        dropout=0.0,
        use_bias=True,
        output_shape=None,
        attention_axes=None,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        seed=None,
        flash_attention=None,
        **kwargs,
    ):
        if flash_attention:  # Keras 3.6's switch; None/False are the explicit-scores path
            raise NotImplementedError(
                "MultiHeadAttention: flash_attention=True is not available (wengert computes "
                "the attention scores explicitly); leave it None"
            )
        super().__init__(
            kernel_regularizer=kernel_regularizer,
            bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint,
            bias_constraint=bias_constraint,
            **kwargs,
        )
        for what, value in (("num_heads", num_heads), ("key_dim", key_dim)):
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(
                    f"MultiHeadAttention: {what} must be a positive integer, got {value!r}"
                )
        if value_dim is not None and (isinstance(value_dim, bool) or int(value_dim) <= 0):
            raise ValueError(
                f"MultiHeadAttention: value_dim must be a positive integer, got {value_dim!r}"
            )
        if not 0 <= float(dropout) < 1:
            raise ValueError(f"MultiHeadAttention: dropout must be in [0, 1), got {dropout!r}")
        self.num_heads = int(num_heads)
        self.key_dim = int(key_dim)
        self.value_dim = int(value_dim) if value_dim else self.key_dim
        self.dropout = float(dropout)
        self.use_bias = bool(use_bias)
        if output_shape:
            if isinstance(output_shape, int):
                output_shape = (output_shape,)
            try:
                output_shape = tuple(int(d) for d in output_shape)
            except TypeError:
                raise ValueError(
                    f"MultiHeadAttention: output_shape must be an int, tuple or list, got "
                    f"{output_shape!r}"
                ) from None
        # Not self._output_shape: Layer.__call__ keeps the last output's shape there.
        self._output_dims = output_shape or None
        if isinstance(attention_axes, int):
            attention_axes = (attention_axes,)
        elif attention_axes is not None and not isinstance(attention_axes, (list, tuple)):
            raise ValueError(
                "MultiHeadAttention: attention_axes must be an int, list or tuple, got "
                f"{attention_axes!r}"
            )
        self.attention_axes = None if attention_axes is None else tuple(attention_axes)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.seed = seed
        self.generator = _new_generator(seed) if self.dropout > 0 else None
        self._projections_made = False

    # -- weights ---------------------------------------------------------------------------
    def _build_on_first_call(self, input_shape) -> None:
        # The key and value projections need the value's and key's shapes, which only
        # call() sees: it builds the layer (Keras builds from all three shapes too).
        pass

    def build(self, query_shape, value_shape=None, key_shape=None):
        """Make the four projections for inputs of these shapes (value: the query's; key:
        the value's, when not given)."""
        query_shape = tuple(query_shape)
        value_shape = query_shape if value_shape is None else tuple(value_shape)
        key_shape = value_shape if key_shape is None else tuple(key_shape)
        if tuple(value_shape[1:-1]) != tuple(key_shape[1:-1]):
            raise ValueError(
                f"MultiHeadAttention '{self.name}': all axes of value and key but the last "
                f"must be equal; got value shape {value_shape} and key shape {key_shape}"
            )
        self._check_attention_axes(len(query_shape))
        n, kd, vd = self.num_heads, self.key_dim, self.value_dim
        common = dict(
            kernel_regularizer=self._weight_regularizers.get("kernel"),
            bias_regularizer=self._weight_regularizers.get("bias"),
            kernel_constraint=self._weight_constraints.get("kernel"),
            bias_constraint=self._weight_constraints.get("bias"),
            dtype=self.dtype,
        )

        def projection(name, shape, out, input_axes=1):
            # Keras's EinsumDense projections ("abc,cde->abde" for query/key/value,
            # "abcd,cde->abe" for the output), written for inputs of any rank.
            letters = string.ascii_lowercase[: input_axes + len(out)]
            contract, made = letters[:input_axes], letters[input_axes:]
            layer = EinsumDense(
                f"...{contract},{contract}{made}->...{made}",
                out,
                bias_axes=made if self.use_bias else None,
                kernel_initializer=_fresh(self.kernel_initializer),
                bias_initializer=_fresh(self.bias_initializer),
                name=name,
                **common,
            )
            layer.build(shape)
            return layer

        self.query_dense = projection("query", query_shape, (n, kd))
        self.key_dense = projection("key", key_shape, (n, kd))
        self.value_dense = projection("value", value_shape, (n, vd))
        out_dims = self._output_dims or (query_shape[-1],)
        self.output_dense = projection("attention_output", query_shape[:-1] + (n, vd), out_dims, 2)
        self._projections_made = True

    def _check_attention_axes(self, rank: int) -> None:
        """Only Keras's default (every axis but batch and features, jointly) is supported:
        named explicitly it is accepted too."""
        if self.attention_axes is None:
            return
        # Keras counts negative axes on the projected rank (the input's plus the heads).
        axes = tuple(a if a >= 0 else rank + a for a in self.attention_axes)
        if axes != tuple(range(1, rank - 1)):
            raise NotImplementedError(
                f"MultiHeadAttention '{self.name}': attention_axes={self.attention_axes} for "
                f"rank-{rank} inputs is not supported; only the default (None: axes "
                f"{tuple(range(1, rank - 1))}, every axis but batch and features) is"
            )

    # -- the computation -------------------------------------------------------------------
    def call(
        self,
        query,
        value=None,
        key=None,
        query_mask=None,
        value_mask=None,
        key_mask=None,
        attention_mask=None,
        return_attention_scores=False,
        training=None,
        use_causal_mask=False,
    ):
        if value is None:
            raise ValueError(
                f"MultiHeadAttention '{self.name}': call it as layer(query, value) (value "
                "is required; for self-attention pass the same tensor twice)"
            )
        # The padding masks the inputs carry, unless given (Keras fills <arg>_mask from
        # each tensor argument's mask; key_mask only for a key that is passed).
        if query_mask is None:
            query_mask = get_mask(query)
        if value_mask is None and isinstance(value, Tensor):
            value_mask = get_mask(value)
        if key_mask is None and isinstance(key, Tensor):
            key_mask = get_mask(key)
        value = self._convert_inputs(value)
        key = value if key is None else self._convert_inputs(key)
        self._check_inputs(query, value, key)
        if not self._projections_made:
            self.build(query.shape, value.shape, key.shape)
        mask = self._attention_mask(
            query, value, query_mask, value_mask, key_mask, attention_mask, use_causal_mask
        )

        batch, n = query.shape[0], self.num_heads
        t_dims, s_dims = tuple(query.shape[1:-1]), tuple(value.shape[1:-1])
        t, s = math.prod(t_dims), math.prod(s_dims)

        def heads_first(x, steps):
            # (batch, *steps, heads, size) -> (batch, heads, T, size): one matmul per head
            return transpose(reshape(x, (batch, steps, n, x.shape[-1])), (0, 2, 1, 3))

        q = heads_first(self.query_dense(query), t)
        k = heads_first(self.key_dense(key), s)
        v = heads_first(self.value_dense(value), s)
        # Keras scales the query (not the scores) by 1/sqrt(key_dim).
        q = q * (1.0 / math.sqrt(self.key_dim))
        scores = matmul(q, k, transpose_b=True)  # (batch, heads, T, S)
        if mask is not None:
            adder = (~mask).astype(scores.dtype) * scores.dtype.type(_large_negative(scores.dtype))
            scores = scores + wrap(adder)
        probs = softmax(scores, axis=-1)
        weights = probs
        if training and self.dropout > 0:
            weights = _dropout(probs, self.dropout, self.generator)
        out = transpose(matmul(weights, v), (0, 2, 1, 3))  # (batch, T, heads, value_dim)
        out = self.output_dense(reshape(out, (batch, *t_dims, n, self.value_dim)))
        if query_mask is not None:
            set_mask(out, _bool_mask(query_mask))
        if return_attention_scores:
            if len(t_dims) > 1:
                probs = reshape(probs, (batch, n, *t_dims, *s_dims))
            return out, probs
        return out

    def _check_inputs(self, query, value, key) -> None:
        where = f"MultiHeadAttention '{self.name}'"
        shapes = f"query {tuple(query.shape)}, value {tuple(value.shape)}, key {tuple(key.shape)}"
        if query.ndim < 3 or value.ndim != query.ndim or key.ndim != query.ndim:
            raise ValueError(
                f"{where}: query, value and key must have one rank >= 3 "
                f"(batch, steps..., features); got {shapes}"
            )
        if not query.shape[0] == value.shape[0] == key.shape[0]:
            raise ValueError(f"{where}: the batch sizes differ: {shapes}")
        if tuple(value.shape[1:-1]) != tuple(key.shape[1:-1]):
            raise ValueError(
                f"{where}: all axes of value and key but the last must be equal: {shapes}"
            )
        if self._projections_made:
            for name, x, layer in (
                ("query", query, self.query_dense),
                ("value", value, self.value_dense),
                ("key", key, self.key_dense),
            ):
                if x.shape[-1] != layer.kernel.shape[0]:
                    raise ValueError(
                        f"{where}: it was built for {name} features of size "
                        f"{layer.kernel.shape[0]}, got {shapes}"
                    )

    def _attention_mask(
        self, query, value, query_mask, value_mask, key_mask, attention_mask, use_causal
    ):
        """The combined (bool) mask, broadcastable to (batch, heads, T, S), or None:
        Keras's query (B, T, 1) & value (B, 1, S) & key (B, 1, S) & causal (1, T, S)
        & attention_mask, with a heads axis."""
        where = f"MultiHeadAttention '{self.name}'"
        batch = query.shape[0]
        t_dims, s_dims = tuple(query.shape[1:-1]), tuple(value.shape[1:-1])
        t, s = math.prod(t_dims), math.prod(s_dims)
        mask = None

        def padding(m, dims, name):
            m = _bool_mask(m)
            if m.shape != (batch, *dims):
                raise ValueError(
                    f"{where}: {name} must have shape {(batch, *dims)} (batch, steps), got "
                    f"{m.shape} for query {tuple(query.shape)} and value {tuple(value.shape)}"
                )
            return m.reshape(batch, -1)

        if query_mask is not None:
            mask = padding(query_mask, t_dims, "query_mask")[:, None, :, None]
        for m, name in ((value_mask, "value_mask"), (key_mask, "key_mask")):
            if m is not None:
                m = padding(m, s_dims, name)[:, None, None, :]
                mask = m if mask is None else mask & m
        if use_causal:
            if len(t_dims) != 1:
                raise NotImplementedError(
                    f"{where}: use_causal_mask needs one sequence axis, got query "
                    f"{tuple(query.shape)}"
                )
            m = _causal_mask(t, s)[None, None]
            mask = m if mask is None else mask & m
        if attention_mask is not None:
            m = given = _bool_mask(attention_mask)
            # (T.., S..), (B, T.., S..) or (B, heads, T.., S..), each axis of size 1 where
            # it broadcasts (Keras's (B, 1, S) padding mask); attention axes flattened
            k = len(t_dims) + len(s_dims)
            if m.ndim < k:
                m = m.reshape((1,) * (k - m.ndim) + m.shape)
            lead, trailing = m.shape[: m.ndim - k], m.shape[m.ndim - k :]
            try:
                fits = xp.broadcast_shapes(trailing, t_dims + s_dims) == t_dims + s_dims
            except ValueError:
                fits = False
            if not fits or len(lead) > 2:
                raise ValueError(
                    f"{where}: attention_mask must have shape (batch, T, S) = "
                    f"{(batch, *t_dims, *s_dims)} (or broadcast to it), got {given.shape} for "
                    f"query {tuple(query.shape)} and value {tuple(value.shape)}"
                )
            m = xp.broadcast_to(m, lead + t_dims + s_dims)
            # Keras inserts the missing axes before the heads axis: (B, T, S) -> (B, 1, T, S)
            m = m.reshape(lead + (t, s))
            m = m[None, None] if not lead else m[:, None] if len(lead) == 1 else m
            try:
                xp.broadcast_shapes(m.shape, (batch, self.num_heads, t, s))
            except ValueError:
                raise ValueError(
                    f"{where}: attention_mask of shape {given.shape} does not broadcast to "
                    f"(batch, heads, T, S) = {(batch, self.num_heads, t, s)}"
                ) from None
            mask = m if mask is None else mask & m
        return mask

    def compute_output_shape(self, query_shape, value_shape=None, key_shape=None):
        """The query's shape with the last axis replaced by output_shape (default: kept).

        Example:
            >>> MultiHeadAttention(2, 4, output_shape=6).compute_output_shape((None, 5, 8))
            (None, 5, 6)
        """
        query_shape = tuple(query_shape)
        if self._output_dims:
            return query_shape[:-1] + tuple(self._output_dims)
        return query_shape

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "num_heads": self.num_heads,
            "key_dim": self.key_dim,
            "value_dim": self.value_dim,
            "dropout": self.dropout,
            "use_bias": self.use_bias,
            "output_shape": None if self._output_dims is None else list(self._output_dims),
            "attention_axes": None if self.attention_axes is None else list(self.attention_axes),
            "kernel_initializer": serialize_initializer(self.kernel_initializer),
            "bias_initializer": serialize_initializer(self.bias_initializer),
            "seed": self.seed,
        }


# -- Luong and Bahdanau attention ------------------------------------------------------------
class Attention(Layer):
    """Dot-product (Luong-style) attention of a query over a value, as Keras 3's.

    ``scores = query @ key^T`` (times the weight ``scale`` with ``use_scale``), or with
    ``score_mode="concat"`` ``concat_score_weight * sum(tanh(scale * (q + k)), -1)``;
    the value mask (and with ``use_causal_mask`` the lower triangle) subtracts 1e9 from
    the scores of the positions that may not be attended to; ``softmax`` over the value
    positions (dropout while training) weights the values.  Where the query mask is
    False the output is zero, and the output carries the query mask.

    Args:
        use_scale: learn a scalar ``scale`` of the scores (initialised to 1).
        score_mode: "dot" or "concat".
        dropout: dropout rate of the attention weights while training.
        seed: seed of the dropout stream.
        **kwargs: Layer arguments (name, trainable, dtype).

    Call arguments:
        inputs: ``[query, value]`` or ``[query, value, key]``: (batch, Tq, dim),
            (batch, Tv, dim_v), (batch, Tv, dim) (key defaults to value).
        mask: ``[query_mask, value_mask]`` (batch, Tq), (batch, Tv), True = a real step;
            by default the inputs' own padding masks.
        return_attention_scores: also return the weights (batch, Tq, Tv) (after dropout,
            as Keras's).
        training: apply dropout.
        use_causal_mask: query i attends to value positions j <= i only.

    Example:
        >>> import wengert as wg
        >>> q, v = wg.ones((2, 3, 4)), wg.ones((2, 5, 4))
        >>> out, w = Attention()([q, v], return_attention_scores=True)
        >>> out.shape, w.shape, float(w.numpy()[0, 0].sum())
        ((2, 3, 4), (2, 3, 5), 1.0)
    """

    supports_masking = True  # the output carries the query's padding mask
    _float_math = True

    def __init__(self, use_scale=False, score_mode="dot", dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if score_mode not in ("dot", "concat"):
            raise ValueError(
                f"{type(self).__name__}: score_mode must be 'dot' or 'concat', got {score_mode!r}"
            )
        if not 0 <= float(dropout) < 1:
            raise ValueError(f"{type(self).__name__}: dropout must be in [0, 1), got {dropout!r}")
        self.use_scale = bool(use_scale)
        self.score_mode = score_mode
        self.dropout = float(dropout)
        self.seed = seed
        self.generator = _new_generator(seed) if self.dropout > 0 else None

    def build(self, input_shape):
        """Make ``scale`` and ``concat_score_weight`` (scalars) as configured; takes the
        query's shape or Keras's list of the inputs' shapes."""
        self.scale = None
        self.concat_score_weight = None
        if self.use_scale:
            self.scale = self.add_weight((), "ones", name="scale")
        if self.score_mode == "concat":
            self.concat_score_weight = self.add_weight((), "ones", name="concat_score_weight")

    def _calculate_scores(self, query, key):
        """(batch, Tq, Tv) scores of each query against each key."""
        if self.score_mode == "dot":
            scores = matmul(query, key, transpose_b=True)
            return scores if self.scale is None else scores * self.scale
        pairs = expand_dims(query, -2) + expand_dims(key, -3)  # (batch, Tq, Tv, dim)
        if self.scale is not None:
            pairs = self.scale * pairs
        return self.concat_score_weight * reduce_sum(tanh(pairs), axis=-1)

    def _masked_out(self, scores) -> float:
        # Keras's Attention subtracts 1e9 (65504, the largest float16, in float16).
        return 65504.0 if scores.dtype == xp.float16 else 1.0e9

    def call(
        self,
        inputs,
        mask=None,
        training=None,
        return_attention_scores=False,
        use_causal_mask=False,
    ):
        query, value, key, q_mask, v_mask = self._validate(inputs, mask)
        scores = self._calculate_scores(query, key)
        allowed = None
        if v_mask is not None:
            allowed = v_mask[:, None, :]  # (batch, 1, Tv)
        if use_causal_mask:
            causal = _causal_mask(scores.shape[-2], scores.shape[-1])[None]
            allowed = causal if allowed is None else allowed & causal
        if allowed is not None:
            drop = (~allowed).astype(scores.dtype) * scores.dtype.type(self._masked_out(scores))
            scores = scores - wrap(drop)
        weights = softmax(scores, axis=-1)
        if training and self.dropout > 0:
            weights = _dropout(weights, self.dropout, self.generator)
        out = matmul(weights, value)
        if q_mask is not None:
            out = out * wrap(q_mask[:, :, None].astype(out.dtype))
            set_mask(out, q_mask)
        if return_attention_scores:
            return out, weights
        return out

    def _validate(self, inputs, mask):
        """query, value, key (converted) and the query and value masks (bool arrays)."""
        name = f"{type(self).__name__} '{self.name}'"
        if not isinstance(inputs, (list, tuple)) or not 2 <= len(inputs) <= 3:
            raise ValueError(
                f"{name}: call it on a list [query, value] or [query, value, key], got "
                f"{type(inputs).__name__}"
                + (f" of length {len(inputs)}" if isinstance(inputs, (list, tuple)) else "")
            )
        if mask is not None and (not isinstance(mask, (list, tuple)) or not 2 <= len(mask) <= 3):
            raise ValueError(
                f"{name}: mask must be a list [query_mask, value_mask], got "
                f"{type(mask).__name__}"
                + (f" of length {len(mask)}" if isinstance(mask, (list, tuple)) else "")
            )
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) == 3 else value
        shapes = f"query {tuple(query.shape)}, value {tuple(value.shape)}, key {tuple(key.shape)}"
        if not query.ndim == value.ndim == key.ndim == 3:
            raise ValueError(f"{name}: inputs must be (batch, steps, features); got {shapes}")
        if not query.shape[0] == value.shape[0] == key.shape[0]:
            raise ValueError(f"{name}: the batch sizes differ: {shapes}")
        if key.shape[1] != value.shape[1]:
            raise ValueError(f"{name}: key and value need the same number of steps: {shapes}")
        if query.shape[-1] != key.shape[-1]:
            raise ValueError(f"{name}: query and key need the same number of features: {shapes}")
        q_mask = v_mask = None
        if mask is not None:
            q_mask, v_mask = _bool_mask(mask[0]), _bool_mask(mask[1])
            for m, x, what in ((q_mask, query, "query"), (v_mask, value, "value")):
                if m is not None and m.shape != tuple(x.shape[:2]):
                    raise ValueError(
                        f"{name}: the {what} mask must have shape {tuple(x.shape[:2])} "
                        f"(batch, steps), got {m.shape}; {shapes}"
                    )
        return query, value, key, q_mask, v_mask

    def compute_mask(self, inputs, mask=None):
        """The query's mask (Keras's ``mask[0]``)."""
        if not mask:
            return None
        return None if mask[0] is None else _bool_mask(mask[0])

    def compute_output_shape(self, input_shape):
        """(batch, Tq, value features).

        Example:
            >>> Attention().compute_output_shape([(None, 3, 4), (None, 5, 6), (None, 5, 4)])
            (None, 3, 6)
        """
        return (*tuple(input_shape[0])[:-1], tuple(input_shape[1])[-1])

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "use_scale": self.use_scale,
            "score_mode": self.score_mode,
            "dropout": self.dropout,
            "seed": self.seed,
        }


class AdditiveAttention(Attention):
    """Additive (Bahdanau-style) attention, as Keras 3's:
    ``scores = sum(scale * tanh(query + key), axis=-1)``, ``scale`` a learned vector of
    the features (glorot-uniform) with ``use_scale`` (the default), else 1.  Masks,
    dropout and outputs as ``Attention``'s.

    Args:
        use_scale: learn the (dim,) ``scale`` vector.
        dropout: dropout rate of the attention weights while training.
        **kwargs: ``seed`` and Layer arguments.

    Example:
        >>> import wengert as wg
        >>> layer = AdditiveAttention()
        >>> layer([wg.ones((2, 3, 4)), wg.ones((2, 5, 4))]).shape, layer.scale.shape
        ((2, 3, 4), (4,))
    """

    def __init__(self, use_scale=True, dropout=0.0, **kwargs):
        super().__init__(use_scale=use_scale, dropout=dropout, **kwargs)

    def build(self, input_shape):
        """Make the (dim,) ``scale``: takes the query's shape or the inputs' shapes."""
        shape = input_shape[0] if isinstance(input_shape[0], (list, tuple)) else input_shape
        self.scale = None
        if self.use_scale:
            self.scale = self.add_weight((shape[-1],), "glorot_uniform", name="scale")

    def _calculate_scores(self, query, key):
        pairs = tanh(expand_dims(query, -2) + expand_dims(key, -3))  # (batch, Tq, Tv, dim)
        if self.scale is not None:
            pairs = self.scale * pairs
        return reduce_sum(pairs, axis=-1)

    def get_config(self) -> dict:
        config = super().get_config()
        del config["score_mode"]
        return config


# -- PyTorch's nn.MultiheadAttention ---------------------------------------------------------
def _array(value):
    if hasattr(value, "detach"):  # a torch.Tensor: no torch import needed to read it
        value = value.detach().cpu().numpy()
    return xp.asarray(value)


def _check_torch_compatible(layer, what: str, embed_dim: int) -> None:
    if not isinstance(layer, MultiHeadAttention):
        raise TypeError(f"{what}: expected a MultiHeadAttention, got {type(layer).__name__}")
    n, kd, vd = layer.num_heads, layer.key_dim, layer.value_dim
    out = layer._output_dims
    problems = []
    if n * kd != embed_dim:
        problems.append(f"num_heads * key_dim = {n} * {kd} != embed_dim {embed_dim}")
    if vd != kd:
        problems.append(f"value_dim {vd} != key_dim {kd} (PyTorch has one head size)")
    if out is not None and tuple(out) != (embed_dim,):
        problems.append(f"output_shape {tuple(out)} != ({embed_dim},)")
    if problems:
        raise ValueError(
            f"{what}: MultiHeadAttention '{layer.name}' does not match PyTorch's "
            f"nn.MultiheadAttention: {'; '.join(problems)}"
        )


def load_torch_state_dict(layer, state_dict) -> None:
    """Set a MultiHeadAttention's weights from PyTorch's ``nn.MultiheadAttention.state_dict()``.

    PyTorch keeps the query/key/value projections as rows of ``in_proj_weight`` (3E, E)
    (or ``q_proj_weight``, ``k_proj_weight``, ``v_proj_weight`` when kdim or vdim differ
    from E), head h owning rows h*head_dim..(h+1)*head_dim, and ``out_proj``; this
    transposes them into Keras's (dim, heads, key_dim) and (heads, value_dim, E) layout.
    It needs ``num_heads * key_dim == embed_dim`` and value_dim == key_dim; an unbuilt
    layer is built from the parameters' shapes.  ``add_bias_kv`` is not supported.

    Args:
        layer: a MultiHeadAttention.
        state_dict: the module's state dict (torch tensors or arrays).

    Example:
        >>> import numpy as np
        >>> mha = MultiHeadAttention(num_heads=2, key_dim=3)
        >>> sd = {"in_proj_weight": np.ones((18, 6)), "in_proj_bias": np.zeros(18),
        ...       "out_proj.weight": np.eye(6), "out_proj.bias": np.zeros(6)}
        >>> load_torch_state_dict(mha, sd)
        >>> mha.query_dense.kernel.shape, mha.output_dense.kernel.shape
        ((6, 2, 3), (2, 3, 6))
        >>> sorted(torch_state_dict(mha))
        ['in_proj_bias', 'in_proj_weight', 'out_proj.bias', 'out_proj.weight']
    """
    what = "load_torch_state_dict"
    if not isinstance(layer, MultiHeadAttention):
        raise TypeError(f"{what}: expected a MultiHeadAttention, got {type(layer).__name__}")
    if "bias_k" in state_dict or "bias_v" in state_dict:
        raise ValueError(f"{what}: add_bias_kv (bias_k, bias_v) has no Keras counterpart")
    if "out_proj.weight" not in state_dict:
        raise KeyError(
            f"{what}: no 'out_proj.weight' in the state dict (keys: {sorted(state_dict)})"
        )
    if "in_proj_weight" in state_dict:
        w = _array(state_dict["in_proj_weight"])
        e = w.shape[0] // 3
        wq, wk, wv = w[:e], w[e : 2 * e], w[2 * e :]
    elif "q_proj_weight" in state_dict:
        wq, wk, wv = (_array(state_dict[f"{p}_proj_weight"]) for p in "qkv")
    else:
        raise KeyError(
            f"{what}: neither 'in_proj_weight' nor 'q_proj_weight' in the state dict "
            f"(keys: {sorted(state_dict)})"
        )
    e = wq.shape[0]
    _check_torch_compatible(layer, what, e)
    has_bias = "in_proj_bias" in state_dict
    if has_bias != layer.use_bias:
        raise ValueError(
            f"{what}: MultiHeadAttention '{layer.name}' has use_bias={layer.use_bias} but the "
            f"state dict {'has' if has_bias else 'has no'} biases (PyTorch's bias=)"
        )
    if not layer._projections_made:
        layer.build((None, None, wq.shape[1]), (None, None, wv.shape[1]), (None, None, wk.shape[1]))
    n, h = layer.num_heads, layer.key_dim
    wo = _array(state_dict["out_proj.weight"])
    arrays = {
        layer.query_dense.kernel: wq.T.reshape(-1, n, h),
        layer.key_dense.kernel: wk.T.reshape(-1, n, h),
        layer.value_dense.kernel: wv.T.reshape(-1, n, h),
        layer.output_dense.kernel: wo.T.reshape(n, h, e),
    }
    if has_bias:
        b = _array(state_dict["in_proj_bias"])
        arrays[layer.query_dense.bias] = b[:e].reshape(n, h)
        arrays[layer.key_dense.bias] = b[e : 2 * e].reshape(n, h)
        arrays[layer.value_dense.bias] = b[2 * e :].reshape(n, h)
        arrays[layer.output_dense.bias] = _array(state_dict["out_proj.bias"])
    for variable, value in arrays.items():
        if tuple(value.shape) != tuple(variable.shape):
            raise ValueError(
                f"{what}: {variable.name} has shape {variable.shape}, the state dict gives "
                f"{tuple(value.shape)}"
            )
        variable.assign(xp.ascontiguousarray(value).astype(variable.dtype))


def torch_state_dict(layer, as_tensors=False) -> dict:
    """A MultiHeadAttention's weights as PyTorch's ``nn.MultiheadAttention.state_dict()``
    (inverse of ``load_torch_state_dict``): ``in_proj_weight`` when query, key and value
    have the same size E, else ``q_proj_weight``/``k_proj_weight``/``v_proj_weight``
    (``kdim``/``vdim`` in PyTorch).

    Args:
        layer: a built MultiHeadAttention with num_heads * key_dim equal to the query size.
        as_tensors: return torch tensors (imports torch) instead of NumPy arrays.

    Returns:
        A dict; ``module.load_state_dict(...)`` loads it (as torch tensors).

    Example:
        >>> import wengert as wg
        >>> mha = MultiHeadAttention(num_heads=2, key_dim=2)
        >>> _ = mha(wg.ones((1, 3, 4)), wg.ones((1, 5, 6)))
        >>> {k: v.shape for k, v in sorted(torch_state_dict(mha).items())}
        {'in_proj_bias': (12,), 'k_proj_weight': (4, 6), 'out_proj.bias': (4,),
         'out_proj.weight': (4, 4), 'q_proj_weight': (4, 4), 'v_proj_weight': (4, 6)}
    """
    what = "torch_state_dict"
    if isinstance(layer, MultiHeadAttention) and not layer._projections_made:
        raise ValueError(f"{what}: MultiHeadAttention '{layer.name}' is not built")
    if not isinstance(layer, MultiHeadAttention):
        raise TypeError(f"{what}: expected a MultiHeadAttention, got {type(layer).__name__}")
    e = layer.query_dense.kernel.shape[0]
    _check_torch_compatible(layer, what, e)

    def rows(dense_layer):  # (dim, heads, size) -> (heads * size, dim)
        k = dense_layer.kernel.numpy()
        return xp.ascontiguousarray(k.reshape(k.shape[0], -1).T)

    wq, wk, wv = rows(layer.query_dense), rows(layer.key_dense), rows(layer.value_dense)
    out = {}
    if wq.shape == wk.shape == wv.shape:
        out["in_proj_weight"] = xp.concatenate([wq, wk, wv])
    else:
        out["q_proj_weight"], out["k_proj_weight"], out["v_proj_weight"] = wq, wk, wv
    if layer.use_bias:
        out["in_proj_bias"] = xp.concatenate(
            [
                d.bias.numpy().reshape(-1)
                for d in (layer.query_dense, layer.key_dense, layer.value_dense)
            ]
        )
    out["out_proj.weight"] = xp.ascontiguousarray(layer.output_dense.kernel.numpy().reshape(e, e).T)
    if layer.use_bias:
        out["out_proj.bias"] = layer.output_dense.bias.numpy().copy()
    return _as_torch_tensors(out) if as_tensors else out
