"""``wg.utils``: Keras's data helpers, on arrays: ``to_categorical``, ``pad_sequences``,
``timeseries_dataset_from_array`` and ``set_random_seed``.

They take Python lists or arrays and return NumPy arrays (or, for time series, a source of
batches that ``fit`` takes), as Keras does for NumPy input; they prepare data for ``fit``
and record nothing on a tape.
"""

from __future__ import annotations

import operator
import random as _python_random

from .backend import xp
from .tensor import Tensor

__all__ = ["to_categorical", "pad_sequences", "timeseries_dataset_from_array", "set_random_seed"]


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


def set_random_seed(seed):
    """Seed Python's ``random``, NumPy's global generator and wengert's (Keras's
    ``keras.utils.set_random_seed``): a program that draws only from these repeats itself.

    Example:
        >>> import wengert as wg
        >>> wg.utils.set_random_seed(3)
        >>> a = wg.random.uniform((2,)).numpy()
        >>> wg.utils.set_random_seed(3)
        >>> bool((wg.random.uniform((2,)).numpy() == a).all())
        True
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(
            f"set_random_seed: expected an integer seed, got {seed!r} ({type(seed).__name__})"
        )
    from . import random

    _python_random.seed(seed)
    xp.random.seed(seed % 2**32)
    random.set_seed(seed)


def _positive(name: str, value, at_least: int = 1) -> int:
    try:
        value = operator.index(value)
    except TypeError:
        value = None
    if value is None or value < at_least:
        raise ValueError(f"timeseries_dataset_from_array: {name} must be an integer >= {at_least}")
    return value


class TimeseriesDataset:
    """Windows of a time series in batches: what ``timeseries_dataset_from_array`` returns.

    ``len(ds)`` batches, ``ds[i]`` the i-th -- ``(windows, targets)`` or ``windows`` --
    and iteration over all of them, so ``model.fit(ds)`` takes it as Keras's PyDataset.
    The windows are gathered when a batch is asked for; the data is not copied.
    """

    def __init__(self, data, targets, starts, sequence_length, sampling_rate, batch_size):
        self.data, self.targets, self.starts = data, targets, starts
        self._offsets = xp.arange(sequence_length) * sampling_rate
        self.batch_size = batch_size

    def __len__(self) -> int:
        if self.batch_size is None:
            return len(self.starts)
        return -(-len(self.starts) // self.batch_size)

    def __getitem__(self, i):
        i = operator.index(i)
        if not -len(self) <= i < len(self):
            raise IndexError(f"TimeseriesDataset: batch {i} out of range for {len(self)}")
        i %= len(self)
        if self.batch_size is None:
            starts = self.starts[i]
        else:
            starts = self.starts[i * self.batch_size : (i + 1) * self.batch_size]
        windows = self.data[xp.asarray(starts)[..., None] + self._offsets]
        if self.targets is None:
            return windows
        return windows, self.targets[starts]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]


def timeseries_dataset_from_array(
    data,
    targets,
    sequence_length,
    sequence_stride=1,
    sampling_rate=1,
    batch_size=128,
    shuffle=False,
    seed=None,
    start_index=None,
    end_index=None,
):
    """Sliding windows over a time series, in batches (Keras's function of that name).

    Window ``k`` starts at ``start_index + s_k`` (``s_k = k * sequence_stride``) and holds
    ``sequence_length`` steps ``sampling_rate`` apart; its target is
    ``targets[start_index + s_k]`` (pass ``targets=data[offset:]`` to predict ahead).
    Arguments and checks as Keras 3.  With ``shuffle`` the window order is permuted once
    by ``numpy.random.RandomState(seed)`` -- the order Keras's first shuffle gives -- but
    not shuffled again within batches each epoch as Keras's tf.data pipeline does.

    Args:
        data: array-like of steps, (steps, ...).
        targets: array-like, one target per step of ``data`` (or None: windows only).
        sequence_length: steps per window.
        sequence_stride: steps between the starts of consecutive windows.
        sampling_rate: steps between the samples within a window.
        batch_size: windows per batch (None: single windows).
        shuffle: permute the windows.
        seed: the permutation's seed.
        start_index: the first step used (default 0).
        end_index: one past the last step used (default: all of them).

    Returns:
        A ``TimeseriesDataset``: ``len()`` batches of ``(windows, targets)`` (or windows)
        with windows of shape (batch, sequence_length, ...); ``model.fit`` takes it.

    Example:
        >>> import numpy as np
        >>> import wengert as wg
        >>> ds = wg.utils.timeseries_dataset_from_array(
        ...     np.arange(10), np.arange(10) * 10, sequence_length=3, batch_size=4)
        >>> len(ds)
        2
        >>> windows, targets = ds[0]
        >>> windows.tolist(), targets.tolist()
        ([[0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5]], [0, 10, 20, 30])
    """
    data = xp.asarray(data._value if isinstance(data, Tensor) else data)
    if targets is not None:
        targets = xp.asarray(targets._value if isinstance(targets, Tensor) else targets)
    n = len(data)
    sequence_length = _positive("sequence_length", sequence_length)
    sequence_stride = _positive("sequence_stride", sequence_stride)
    sampling_rate = _positive("sampling_rate", sampling_rate)
    if batch_size is not None:
        batch_size = _positive("batch_size", batch_size)
    where = "timeseries_dataset_from_array"
    if start_index:
        if not 0 <= start_index < n:
            raise ValueError(
                f"{where}: start_index={start_index} must be in [0, {n}) for data of length {n}"
            )
    if end_index:
        if start_index and end_index <= start_index:
            raise ValueError(
                f"{where}: end_index={end_index} must be above start_index={start_index}"
            )
        if not 0 < end_index < n:
            raise ValueError(
                f"{where}: end_index={end_index} must be in (0, {n}) for data of length {n} "
                "(as in Keras; leave it None to use every step)"
            )
    for name, value in (("sampling_rate", sampling_rate), ("sequence_stride", sequence_stride)):
        if value >= n:
            raise ValueError(f"{where}: {name}={value} must be below the data's length {n}")
    start = start_index or 0
    stop = n if end_index is None else end_index
    count = stop - start - (sequence_length - 1) * sampling_rate
    if targets is not None:
        count = min(count, len(targets) - start)
    starts = xp.arange(0, max(count, 0), sequence_stride)
    if shuffle:
        if seed is None:
            seed = int(xp.random.randint(1_000_000))
        xp.random.RandomState(seed).shuffle(starts)
    return TimeseriesDataset(
        data[start:stop],
        None if targets is None else targets[start:],
        starts,
        sequence_length,
        sampling_rate,
        batch_size,
    )
