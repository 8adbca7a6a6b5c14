"""``Embedding`` and ``Masking``, and the masks they hand to recurrent layers.

Keras attaches a padding mask to a layer's output (``_keras_mask``) and the
next layer that supports masking receives it as ``mask=``.  Tensors here have
fixed slots, so the mask travels beside the tensor instead: ``set_mask``
remembers it (for as long as the tensor lives) and ``get_mask`` finds it.
``Embedding(mask_zero=True)`` and ``Masking`` set one; the recurrent layers,
``Bidirectional`` and ``TimeDistributed`` read it when called without an
explicit ``mask=`` and pass it on when they return sequences; Dense, Activation,
Dropout and BatchNormalization pass it through (Layer.__call__), GlobalAveragePooling1D,
losses and metrics leave padded steps out.  That is all a
``Sequential`` needs: ``Embedding(mask_zero=True)`` then ``LSTM`` skips padding.
"""

from __future__ import annotations

import warnings

from .. import initializers
from ..array_ops import cast, gather
from ..backend import xp
from ..math_ops import not_equal
from ..tensor import Tensor, wrap
from .base import Layer, get_mask, serialize_initializer, set_mask

__all__ = ["Embedding", "Masking", "get_mask", "set_mask"]


class Embedding(Layer):
    """Turn integer indices into dense vectors: row ``i`` of an (input_dim, output_dim) table.

    Args:
        input_dim: the vocabulary size (indices run from 0 to input_dim - 1).
        output_dim: the size of each vector.
        embeddings_initializer: initializer of the table (Keras's default: uniform
            in [-0.05, 0.05]).
        mask_zero: index 0 is padding: the output carries a mask (see ``compute_mask``)
            that recurrent layers use to skip those steps; input_dim must count it.
        **kwargs: Layer arguments (name, trainable, dtype, input_shape).

    Example:
        >>> import wengert as wg
        >>> from wengert.layers.embedding import Embedding
        >>> emb = Embedding(10, 4, mask_zero=True)
        >>> x = wg.constant([[3, 1, 0, 0]])
        >>> emb(x).shape, emb.compute_mask(x).numpy()
        ((1, 4, 4), array([[ True,  True, False, False]]))
    """

    def __init__(
        self,
        input_dim,
        output_dim,
        embeddings_initializer="uniform",
        mask_zero=False,
        input_length=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if input_length is not None:  # as Keras 3: accepted, and ignored with a warning
            warnings.warn(
                "Embedding: the argument input_length is deprecated and ignored; remove it",
                DeprecationWarning,
                stacklevel=2,
            )
        if int(input_dim) <= 0 or int(output_dim) <= 0:
            raise ValueError(
                f"Embedding: input_dim and output_dim must be positive, got {input_dim!r} "
                f"and {output_dim!r}"
            )
        self.input_dim = int(input_dim)
        self.output_dim = int(output_dim)
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.mask_zero = bool(mask_zero)

    def build(self, input_shape):
        self.embeddings = self.add_weight(
            (self.input_dim, self.output_dim), self.embeddings_initializer, name="embeddings"
        )
        self.built = True

    def _indices(self, inputs) -> Tensor:
        idx = inputs
        if idx.dtype.kind == "f":
            idx = cast(idx, "int32")  # Keras casts float inputs (e.g. from fit) to ints
        elif idx.dtype.kind not in "iu":
            raise TypeError(
                f"Embedding '{self.name}': inputs must be integer indices, got {inputs.dtype}"
            )
        v = idx._value
        if v.size and (v.min() < 0 or v.max() >= self.input_dim):
            raise ValueError(
                f"Embedding '{self.name}': indices must be in [0, {self.input_dim}), got values "
                f"from {v.min()} to {v.max()} in an input of shape {inputs.shape}"
            )
        return idx

    def call(self, inputs):
        idx = self._indices(inputs)
        out = gather(self.embeddings, idx)
        if self.mask_zero:
            set_mask(out, idx._value != 0)
        return out

    def compute_mask(self, inputs, mask=None):
        """The padding mask of the output: ``inputs != 0`` with ``mask_zero``, else None."""
        if not self.mask_zero:
            return None
        return not_equal(inputs, 0)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "embeddings_initializer": serialize_initializer(self.embeddings_initializer),
            "mask_zero": self.mask_zero,
        }


class Masking(Layer):
    """Mark time steps whose features all equal ``mask_value`` as padding (and zero them).

    Args:
        mask_value: the padding value.
        **kwargs: Layer arguments.

    Example:
        >>> import wengert as wg
        >>> from wengert.layers.embedding import Masking, get_mask
        >>> out = Masking(0.0)(wg.constant([[[1.0], [0.0], [2.0]]]))
        >>> get_mask(out)
        array([[ True, False,  True]])
    """

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.mask_value = float(mask_value)

    def _keep(self, inputs):
        return xp.any(inputs._value != self.mask_value, axis=-1)

    def call(self, inputs):
        keep = self._keep(inputs)
        out = inputs * wrap(keep[..., None].astype(inputs.dtype))
        set_mask(out, keep)
        return out

    def compute_mask(self, inputs, mask=None):
        """``any(inputs != mask_value, axis=-1)``."""
        return wrap(self._keep(inputs))

    def get_config(self) -> dict:
        return {**super().get_config(), "mask_value": self.mask_value}
