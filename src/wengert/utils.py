"""``wg.utils``: Keras's data helpers, on arrays: ``to_categorical`` and ``pad_sequences``.

Both take Python lists or arrays and return NumPy arrays, as Keras does for
NumPy input; they prepare data for ``fit`` and record nothing on a tape.
"""

from __future__ import annotations

from .backend import xp
from .tensor import Tensor

__all__ = ["to_categorical", "pad_sequences"]


def to_categorical(y, num_classes=None, dtype="float32"):
    """One-hot rows for integer class labels (Keras's ``to_categorical``).

    Args:
        y: class indices in [0, num_classes), any shape; a trailing axis of size 1
            is dropped (labels (n, 1) give (n, num_classes)).  Integral floats are
            accepted.
        num_classes: the number of classes; default the largest label + 1.
        dtype: the result's dtype.

    Returns:
        An array of y's shape plus a last axis of ``num_classes``.

    Raises:
        ValueError: a label that is negative, not whole, or not below ``num_classes``.

    Example:
        >>> import wengert as wg
        >>> wg.utils.to_categorical([0, 2, 1])
        array([[1., 0., 0.],
               [0., 0., 1.],
               [0., 1., 0.]], dtype=float32)
        >>> wg.utils.to_categorical([[1], [0]], num_classes=3).shape
        (2, 3)
    """
    labels = xp.asarray(y._value if isinstance(y, Tensor) else y)
    if labels.dtype.kind not in "iuf" and labels.size:
        raise ValueError(f"to_categorical: labels must be integers, got {labels.dtype}")
    if labels.dtype.kind == "f" and not bool(xp.all(labels == xp.round(labels))):
        raise ValueError("to_categorical: labels must be whole numbers (class indices)")
    labels = labels.astype("int64")
    shape = labels.shape[:-1] if labels.ndim > 1 and labels.shape[-1] == 1 else labels.shape
    labels = labels.reshape(-1)
    if num_classes is None:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    num_classes = int(num_classes)
    bad = (labels < 0) | (labels >= num_classes)
    if bad.any():
        raise ValueError(
            f"to_categorical: label {int(labels[bad][0])} is outside [0, {num_classes}) "
            f"for num_classes={num_classes}"
        )
    categorical = xp.zeros((labels.size, num_classes), dtype=dtype)
    categorical[xp.arange(labels.size), labels] = 1
    return categorical.reshape(shape + (num_classes,))


def pad_sequences(
    sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre", value=0.0
):
    """Sequences of different lengths as one (samples, maxlen) array (Keras's ``pad_sequences``).

    Each sequence longer than ``maxlen`` loses steps from the front ("pre") or
    the back ("post"); a shorter one is filled with ``value`` before ("pre") or
    after ("post") it.  Steps may themselves be arrays (all of one shape), which
    become trailing axes.

    Args:
        sequences: a list of sequences (lists or arrays).
        maxlen: the length of the result; default the longest sequence's.
        dtype: the result's dtype (``object`` for strings of any length).
        padding: "pre" or "post": where the filling goes.
        truncating: "pre" or "post": which end of a long sequence is cut.
        value: the filling.

    Returns:
        An array of shape (len(sequences), maxlen, *step shape).

    Raises:
        ValueError: a bad ``padding``/``truncating``, a sequence that is not a
            sequence, steps of different shapes, or a string ``value`` for a
            non-string ``dtype``.

    Example:
        >>> import wengert as wg
        >>> wg.utils.pad_sequences([[1, 2, 3], [4, 5], [6]])
        array([[1, 2, 3],
               [0, 4, 5],
               [0, 0, 6]], dtype=int32)
        >>> wg.utils.pad_sequences([[1, 2, 3], [4]], maxlen=2, padding="post", truncating="post")
        array([[1, 2],
               [4, 0]], dtype=int32)
    """
    for what, given in (("padding", padding), ("truncating", truncating)):
        if given not in ("pre", "post"):
            raise ValueError(f"pad_sequences: {what} must be 'pre' or 'post', got {given!r}")
    if not hasattr(sequences, "__len__"):
        raise ValueError(
            f"pad_sequences: sequences must be a list of sequences, got {type(sequences).__name__}"
        )
    lengths, step_shape = [], None
    for i, s in enumerate(sequences):
        if not hasattr(s, "__len__"):
            raise ValueError(
                f"pad_sequences: sequence {i} is not a sequence: {s!r} ({type(s).__name__})"
            )
        lengths.append(len(s))
        if step_shape is None and len(s):  # the first non-empty sequence sets the step shape
            step_shape = xp.asarray(s).shape[1:]
    step_shape = step_shape or ()
    if maxlen is None:
        maxlen = max(lengths, default=0)
    maxlen = int(maxlen)
    if maxlen < 0:
        raise ValueError(f"pad_sequences: maxlen must be >= 0, got {maxlen}")
    is_text = xp.dtype(dtype).kind in "OUS"
    if isinstance(value, str) and not is_text:
        raise ValueError(
            f"pad_sequences: value {value!r} is a string but dtype is {xp.dtype(dtype)}; "
            "use dtype=object for strings of any length"
        )
    padded = xp.full((len(lengths), maxlen) + step_shape, value, dtype=dtype)
    for i, s in enumerate(sequences):
        if not len(s) or not maxlen:
            continue
        kept = xp.asarray(s[-maxlen:] if truncating == "pre" else s[:maxlen], dtype=dtype)
        if kept.shape[1:] != step_shape:
            raise ValueError(
                f"pad_sequences: sequence {i} has steps of shape {kept.shape[1:]}, but the "
                f"first non-empty sequence's are {step_shape}"
            )
        if padding == "post":
            padded[i, : len(kept)] = kept
        else:
            padded[i, -len(kept) :] = kept
    return padded
