"""``wg.losses``: Keras's losses, as per-sample functions and as reducing objects.

A per-sample function such as ``mean_squared_error(y_true, y_pred)`` returns
one value per sample (the mean over the last axis where Keras takes it).  A
loss object such as ``MeanSquaredError()`` applies that function, weights it by
``sample_weight`` and reduces it: by default to the mean over samples
("sum_over_batch_size"), else "sum" or "none".

Logits go through the fused, stable primitives of ``wg.nn``; probabilities are
clipped to [EPSILON, 1 - EPSILON] (EPSILON = 1e-7) before their log, as Keras
does, so a confident wrong prediction costs about 16, never infinity.  The
loss is computed in y_pred's floating dtype; y_true is cast to it.
"""

from __future__ import annotations

import math
import re

from .array_ops import broadcast_to, cast, expand_dims, one_hot, squeeze
from .backend import as_dtype, xp
from .core import operand
from .layers.base import custom_class, get_mask, set_mask
from .math_ops import abs as tensor_abs
from .math_ops import (
    clip_by_value,
    less_equal,
    log,
    maximum,
    reduce_max,
    reduce_mean,
    reduce_sum,
    sqrt,
    square,
    where,
)
from .nn_ops import (
    sigmoid_cross_entropy_with_logits,
    softmax_cross_entropy_with_logits,
    softplus,
    sparse_softmax_cross_entropy_with_logits,
)
from .tensor import Tensor, wrap

__all__ = [
    "EPSILON",
    "Loss",
    "LossFunctionWrapper",
    "UnknownFunctionError",
    "MeanSquaredError",
    "MeanAbsoluteError",
    "BinaryCrossentropy",
    "CategoricalCrossentropy",
    "SparseCategoricalCrossentropy",
    "Huber",
    "KLDivergence",
    "Hinge",
    "SquaredHinge",
    "CategoricalHinge",
    "LogCosh",
    "Poisson",
    "CosineSimilarity",
    "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError",
    "mean_squared_error",
    "mean_absolute_error",
    "binary_crossentropy",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
    "huber",
    "kl_divergence",
    "hinge",
    "squared_hinge",
    "categorical_hinge",
    "log_cosh",
    "poisson",
    "cosine_similarity",
    "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error",
    "get",
    "serialize",
    "deserialize",
]

EPSILON = 1e-7  # Keras's backend.epsilon(): the clip for probabilities
REDUCTIONS = ("sum_over_batch_size", "sum", "none", "mean", "mean_with_sample_weight")


# -- shapes and dtypes ---------------------------------------------------------------


def _shape_str(t) -> str:
    return f"{t.dtype}{list(t.shape)}"


def _predictions(y_pred, name: str) -> Tensor:
    y_pred = operand(y_pred)
    if y_pred._value.dtype.kind != "f":
        if y_pred._value.dtype.kind not in "iub":
            raise TypeError(f"{name}: y_pred must be numeric, got {_shape_str(y_pred)}")
        y_pred = cast(y_pred, "float32")  # Keras computes losses in floats
    return y_pred


def _targets(y_true, y_pred: Tensor, name: str = "loss") -> Tensor:
    """y_true in y_pred's dtype (converted directly, so float64 targets keep their digits)."""
    if isinstance(y_true, Tensor):
        if y_true.dtype.kind not in "fiub":
            raise TypeError(f"{name}: y_true must be numeric, got {_shape_str(y_true)}")
        return y_true if y_true.dtype == y_pred.dtype else cast(y_true, y_pred.dtype)
    array = xp.asarray(y_true)
    if array.dtype.kind not in "fiub":
        raise TypeError(f"{name}: y_true must be numeric, got {array.dtype}{list(array.shape)}")
    return operand(array, y_pred.dtype)


def squeeze_or_expand_to_same_rank(x1: Tensor, x2: Tensor, expand_rank_1: bool = True):
    """Keras's rank fix-up: drop (or, for rank 1, add) a trailing axis of size 1.

    Args:
        x1: a Tensor.
        x2: a Tensor.
        expand_rank_1: give a rank-1 tensor a trailing axis instead of
            squeezing its partner's.

    Returns:
        (x1, x2), one of them reshaped when their ranks differ by one and the
        longer one ends in 1.

    Example:
        >>> import wengert as wg
        >>> from wengert.losses import squeeze_or_expand_to_same_rank
        >>> a, b = squeeze_or_expand_to_same_rank(wg.zeros((4,)), wg.zeros((4, 1)))
        >>> a.shape, b.shape
        ((4, 1), (4, 1))
    """
    r1, r2 = len(x1.shape), len(x2.shape)
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = expand_dims(x2, -1)
        else:
            x1 = squeeze(x1, -1)
    elif r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = expand_dims(x1, -1)
        else:
            x2 = squeeze(x2, -1)
    return x1, x2


def _pair(y_true, y_pred, name: str):
    """Float y_true and y_pred of one shape, or a ValueError naming the loss and both shapes."""
    y_pred = _predictions(y_pred, name)
    y_true = _targets(y_true, y_pred, name)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"{name}: y_true shape {list(y_true.shape)} and y_pred shape "
            f"{list(y_pred.shape)} do not match"
        )
    return y_true, y_pred


def _mean_last(values: Tensor, axis=-1) -> Tensor:
    return values if values.ndim == 0 else reduce_mean(values, axis=axis)


# -- per-sample functions ---------------------------------------------------------------


def mean_squared_error(y_true, y_pred) -> Tensor:
    """Mean of (y_true - y_pred)^2 over the last axis: one value per sample.

    Args:
        y_true: targets, the shape of y_pred.
        y_pred: predictions (batch, ..., d).

    Returns:
        A Tensor of shape y_pred.shape[:-1].

    Example:
        >>> import wengert as wg
        >>> wg.losses.mean_squared_error([[0.0, 1.0]], [[1.0, 1.0]]).numpy()
        array([0.5], dtype=float32)
    """
    y_true, y_pred = _pair(y_true, y_pred, "mean_squared_error")
    return _mean_last(square(y_pred - y_true))


def mean_absolute_error(y_true, y_pred) -> Tensor:
    """Mean of |y_true - y_pred| over the last axis: one value per sample.

    Args:
        y_true: targets, the shape of y_pred.
        y_pred: predictions (batch, ..., d).

    Returns:
        A Tensor of shape y_pred.shape[:-1].

    Example:
        >>> import wengert as wg
        >>> wg.losses.mean_absolute_error([[0.0, 1.0]], [[2.0, 1.0]]).numpy()
        array([1.], dtype=float32)
    """
    y_true, y_pred = _pair(y_true, y_pred, "mean_absolute_error")
    return _mean_last(tensor_abs(y_pred - y_true))


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1) -> Tensor:
    """Binary cross-entropy, averaged over ``axis``: one value per sample.

    -(y log p + (1 - y) log(1 - p)) with p = y_pred clipped to [1e-7, 1 - 1e-7],
    or, with ``from_logits``, the stable form on logits (no clipping).

    Args:
        y_true: targets in [0, 1] (0/1 labels), the shape of y_pred.
        y_pred: probabilities, or logits when ``from_logits``.
        from_logits: y_pred holds logits.
        label_smoothing: squeeze targets toward 0.5: y (1 - s) + s / 2.
        axis: the axis averaged over.

    Returns:
        A Tensor of y_pred's shape without ``axis``.

    Example:
        >>> import wengert as wg
        >>> wg.losses.binary_crossentropy([[1.0, 0.0]], [[0.5, 0.5]]).numpy()
        array([0.6931472], dtype=float32)
    """
    y_true, y_pred = _pair(y_true, y_pred, "binary_crossentropy")
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        values = sigmoid_cross_entropy_with_logits(y_true, y_pred)
    else:
        p = clip_by_value(y_pred, EPSILON, 1.0 - EPSILON)
        values = -(y_true * log(p) + (1.0 - y_true) * log(1.0 - p))
    return _mean_last(values, axis)


def categorical_crossentropy(
    y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1
) -> Tensor:
    """Categorical cross-entropy -sum(y_true log p) over the class ``axis``.

    Probabilities are first renormalised to sum to 1 along ``axis`` and
    clipped to [1e-7, 1 - 1e-7], as Keras does; logits go through the fused
    ``softmax_cross_entropy_with_logits``.

    Args:
        y_true: one-hot (or soft) targets, the shape of y_pred.
        y_pred: class probabilities, or logits when ``from_logits``.
        from_logits: y_pred holds logits.
        label_smoothing: mix targets with the uniform distribution:
            y (1 - s) + s / classes.
        axis: the class axis.

    Returns:
        A Tensor of y_pred's shape without ``axis``.

    Example:
        >>> import wengert as wg
        >>> wg.losses.categorical_crossentropy([[0.0, 1.0]], [[0.5, 0.5]]).numpy()
        array([0.6931472], dtype=float32)
    """
    name = "categorical_crossentropy"
    y_true, y_pred = _pair(y_true, y_pred, name)
    if y_pred.ndim == 0:
        raise ValueError(f"{name}: y_pred needs a class axis, got a scalar")
    if label_smoothing:
        classes = y_pred.shape[axis]
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / classes
    if from_logits:
        return softmax_cross_entropy_with_logits(y_true, y_pred, axis=axis)
    p = y_pred / reduce_sum(y_pred, axis=axis, keepdims=True)
    p = clip_by_value(p, EPSILON, 1.0 - EPSILON)
    return -reduce_sum(y_true * log(p), axis=axis)


def _sparse_labels(y_true, y_pred: Tensor, name: str, ignore_class=None):
    """Integer labels of shape y_pred.shape[:-1], checked against the class count.

    With ``ignore_class``, labels equal to it are set to 0 and also returned is the
    boolean array of the others (True: a label that counts); else that array is None.
    """
    labels = y_true._value if isinstance(y_true, Tensor) else xp.asarray(y_true)
    if labels.dtype.kind == "f":
        rounded = xp.round(labels)
        if not bool(xp.all(rounded == labels)):
            bad = labels[rounded != labels].flat[0]
            raise ValueError(f"{name}: labels must be class indices, got label {float(bad)!r}")
        labels = rounded.astype("int64")
    elif labels.dtype.kind not in "iu":
        raise TypeError(f"{name}: labels must be integers, got {labels.dtype}")
    if labels.ndim == y_pred.ndim and labels.ndim > 0 and labels.shape[-1] == 1:
        labels = labels.reshape(labels.shape[:-1])
    if y_pred.ndim == 0 or labels.shape != y_pred.shape[:-1]:
        raise ValueError(
            f"{name}: y_true shape {list(labels.shape)} and y_pred shape {list(y_pred.shape)} "
            "do not match (expected y_true of y_pred's shape without the class axis)"
        )
    counted = None
    if ignore_class is not None:
        counted = labels != int(ignore_class)
        labels = xp.where(counted, labels, 0)
    classes = y_pred.shape[-1]
    bad = (labels < 0) | (labels >= classes)
    if bad.any():
        raise ValueError(
            f"{name}: label {int(labels[bad].flat[0])} is out of range [0, {classes}) "
            f"for y_pred with {classes} classes"
        )
    return wrap(labels, name), counted


def sparse_categorical_crossentropy(
    y_true, y_pred, from_logits=False, ignore_class=None, axis=-1
) -> Tensor:
    """Cross-entropy of integer class labels: -log p[label] per sample.

    Args:
        y_true: class indices, of y_pred's shape without the class axis (a
            trailing axis of size 1 is dropped); integral floats are accepted.
        y_pred: class probabilities (..., classes), or logits when ``from_logits``.
        from_logits: y_pred holds logits.
        ignore_class: a label (e.g. padding's) whose entries get loss 0 and no
            gradient; the result carries a mask of the others, so a ``Loss``
            averages over those only, as in Keras 3.
        axis: the class axis; only -1 (the last) is supported.

    Returns:
        A Tensor of y_true's shape.

    Raises:
        ValueError: a label outside [0, classes), or mismatched shapes.

    Example:
        >>> import wengert as wg
        >>> wg.losses.sparse_categorical_crossentropy([1], [[0.5, 0.5]]).numpy()
        array([0.6931472], dtype=float32)
    """
    name = "sparse_categorical_crossentropy"
    y_pred = _predictions(y_pred, name)
    if axis not in (-1, y_pred.ndim - 1):
        raise ValueError(f"{name}: only axis=-1 is supported, got axis={axis}")
    labels, counted = _sparse_labels(y_true, y_pred, name, ignore_class)
    if from_logits:
        loss = sparse_softmax_cross_entropy_with_logits(labels, y_pred)
    else:
        p = y_pred / reduce_sum(y_pred, axis=-1, keepdims=True)
        p = clip_by_value(p, EPSILON, 1.0 - EPSILON)
        loss = -reduce_sum(one_hot(labels, y_pred.shape[-1], dtype=y_pred.dtype) * log(p), axis=-1)
    if counted is None:
        return loss
    loss = where(counted, loss, 0.0)
    set_mask(loss, counted)
    return loss


def huber(y_true, y_pred, delta=1.0) -> Tensor:
    """Huber loss, averaged over the last axis: quadratic near 0, linear beyond ``delta``.

    With e = y_pred - y_true: 0.5 e^2 where |e| <= delta, else
    delta (|e| - 0.5 delta).

    Args:
        y_true: targets, the shape of y_pred.
        y_pred: predictions (batch, ..., d).
        delta: where the quadratic turns linear.

    Returns:
        A Tensor of shape y_pred.shape[:-1].

    Example:
        >>> import wengert as wg
        >>> wg.losses.huber([[0.0, 0.0]], [[0.5, 3.0]]).numpy()
        array([1.3125], dtype=float32)
    """
    y_true, y_pred = _pair(y_true, y_pred, "huber")
    error = y_pred - y_true
    abs_error = tensor_abs(error)
    quadratic = 0.5 * square(error)
    linear = abs_error * float(delta) - 0.5 * float(delta) ** 2
    return _mean_last(where(less_equal(abs_error, float(delta)), quadratic, linear))


def kl_divergence(y_true, y_pred) -> Tensor:
    """Kullback-Leibler divergence sum(y_true log(y_true / y_pred)) over the last axis.

    Both distributions are clipped to [1e-7, 1] first, as Keras does, so a zero
    in either costs nothing infinite.

    Args:
        y_true: the target distribution, the shape of y_pred.
        y_pred: the predicted distribution (batch, ..., d).

    Returns:
        A Tensor of shape y_pred.shape[:-1].

    Example:
        >>> import wengert as wg
        >>> round(float(wg.losses.kl_divergence([[0.5, 0.5]], [[0.25, 0.75]])[0]), 6)
        0.143841
    """
    y_true, y_pred = _pair(y_true, y_pred, "kl_divergence")
    y_true = clip_by_value(y_true, EPSILON, 1.0)
    y_pred = clip_by_value(y_pred, EPSILON, 1.0)
    return reduce_sum(y_true * log(y_true / y_pred), axis=-1)


def _hinge_labels(y_true: Tensor) -> Tensor:
    """0/1 labels as -1/1; labels already -1/1 (or anything else) are left as they are."""
    labels = y_true._value
    if bool(xp.all((labels == 0) | (labels == 1))):
        return 2.0 * y_true - 1.0
    return y_true


def hinge(y_true, y_pred) -> Tensor:
    """Hinge loss mean(max(1 - y_true y_pred, 0)) over the last axis.

    Args:
        y_true: -1/1 labels (0/1 labels are mapped to -1/1, as Keras does).
        y_pred: scores (batch, ..., d).

    Returns:
        A Tensor of shape y_pred.shape[:-1].

    Example:
        >>> import wengert as wg
        >>> wg.losses.hinge([[1.0, 0.0]], [[0.5, -2.0]]).numpy()
        array([0.25], dtype=float32)
    """
    y_true, y_pred = _pair(y_true, y_pred, "hinge")
    return _mean_last(maximum(1.0 - _hinge_labels(y_true) * y_pred, 0.0))


def squared_hinge(y_true, y_pred) -> Tensor:
    """Squared hinge loss mean(max(1 - y_true y_pred, 0)^2) over the last axis.

    Args:
        y_true: -1/1 labels (0/1 labels are mapped to -1/1, as Keras does).
        y_pred: scores (batch, ..., d).

    Returns:
        A Tensor of shape y_pred.shape[:-1].

    Example:
        >>> import wengert as wg
        >>> wg.losses.squared_hinge([[1.0, 0.0]], [[0.5, -2.0]]).numpy()
        array([0.125], dtype=float32)
    """
    y_true, y_pred = _pair(y_true, y_pred, "squared_hinge")
    return _mean_last(square(maximum(1.0 - _hinge_labels(y_true) * y_pred, 0.0)))


def categorical_hinge(y_true, y_pred) -> Tensor:
    """Categorical hinge max(neg - pos + 1, 0) over the class axis.

    pos = sum(y_true y_pred) is the true class's score; neg = max((1 - y_true)
    y_pred) the best other class's.

    Args:
        y_true: one-hot targets (batch, ..., classes).
        y_pred: class scores of the same shape.

    Returns:
        A Tensor of shape y_pred.shape[:-1].

    Example:
        >>> import wengert as wg
        >>> wg.losses.categorical_hinge([[0.0, 1.0, 0.0]], [[0.5, 0.8, 0.1]]).numpy()
        array([0.7], dtype=float32)
    """
    y_true, y_pred = _pair(y_true, y_pred, "categorical_hinge")
    if y_pred.ndim == 0:
        raise ValueError("categorical_hinge: y_pred needs a class axis, got a scalar")
    positive = reduce_sum(y_true * y_pred, axis=-1)
    negative = reduce_max((1.0 - y_true) * y_pred, axis=-1)
    return maximum(negative - positive + 1.0, 0.0)


def log_cosh(y_true, y_pred) -> Tensor:
    """Mean of log(cosh(y_pred - y_true)) over the last axis.

    Computed as x + softplus(-2x) - log 2, which cannot overflow as cosh does.

    Args:
        y_true: targets, the shape of y_pred.
        y_pred: predictions (batch, ..., d).

    Returns:
        A Tensor of shape y_pred.shape[:-1].

    Example:
        >>> import wengert as wg
        >>> wg.losses.log_cosh([[0.0, 0.0]], [[0.0, 1000.0]]).numpy()  # log cosh x ~ |x| - log 2
        array([499.6534], dtype=float32)
    """
    y_true, y_pred = _pair(y_true, y_pred, "log_cosh")
    error = y_pred - y_true
    return _mean_last(error + softplus(-2.0 * error) - math.log(2.0))


def poisson(y_true, y_pred) -> Tensor:
    """Poisson loss mean(y_pred - y_true log(y_pred + 1e-7)) over the last axis.

    The negative log-likelihood of counts y_true under rates y_pred, less the
    term log(y_true!) that does not depend on y_pred.

    Args:
        y_true: counts, the shape of y_pred.
        y_pred: rates (> 0) (batch, ..., d).

    Returns:
        A Tensor of shape y_pred.shape[:-1].

    Example:
        >>> import wengert as wg
        >>> wg.losses.poisson([[1.0, 0.0]], [[1.0, 2.0]]).numpy()  # ((1 - log 1) + 2) / 2
        array([1.5], dtype=float32)
    """
    y_true, y_pred = _pair(y_true, y_pred, "poisson")
    return _mean_last(y_pred - y_true * log(y_pred + EPSILON))


def _l2_normalize(x: Tensor, axis) -> Tensor:
    # x / max(|x|, eps), as Keras's normalize; the max under the root keeps 0's gradient finite.
    return x / sqrt(maximum(reduce_sum(square(x), axis=axis, keepdims=True), EPSILON**2))


def cosine_similarity(y_true, y_pred, axis=-1) -> Tensor:
    """The negative cosine similarity -sum(ŷ_true ŷ_pred) of L2-normalised vectors.

    Negative, as Keras's loss, so that minimising it aligns the vectors: -1 for
    the same direction, 0 orthogonal, 1 opposite.  A zero vector gives 0.

    Args:
        y_true: targets, the shape of y_pred.
        y_pred: predictions (batch, ..., d).
        axis: the axis the vectors lie along.

    Returns:
        A Tensor of y_pred's shape without ``axis``.

    Example:
        >>> import wengert as wg
        >>> wg.losses.cosine_similarity([[0.0, 1.0], [0.0, 2.0]], [[1.0, 0.0], [0.0, 3.0]]).numpy()
        array([-0., -1.], dtype=float32)
    """
    y_true, y_pred = _pair(y_true, y_pred, "cosine_similarity")
    if y_pred.ndim == 0:
        raise ValueError("cosine_similarity: y_pred needs a vector axis, got a scalar")
    return -reduce_sum(_l2_normalize(y_true, axis) * _l2_normalize(y_pred, axis), axis=axis)


def mean_absolute_percentage_error(y_true, y_pred) -> Tensor:
    """100 mean(|y_true - y_pred| / max(|y_true|, 1e-7)) over the last axis.

    Args:
        y_true: targets, the shape of y_pred.
        y_pred: predictions (batch, ..., d).

    Returns:
        A Tensor of shape y_pred.shape[:-1].

    Example:
        >>> import wengert as wg
        >>> wg.losses.mean_absolute_percentage_error([[2.0, 4.0]], [[1.0, 5.0]]).numpy()
        array([37.5], dtype=float32)
    """
    y_true, y_pred = _pair(y_true, y_pred, "mean_absolute_percentage_error")
    error = tensor_abs((y_true - y_pred) / maximum(tensor_abs(y_true), EPSILON))
    return 100.0 * _mean_last(error)


def mean_squared_logarithmic_error(y_true, y_pred) -> Tensor:
    """mean((log(1 + y_pred) - log(1 + y_true))^2) over the last axis.

    Both are first raised to at least 1e-7, as Keras does.

    Args:
        y_true: non-negative targets, the shape of y_pred.
        y_pred: predictions (batch, ..., d).

    Returns:
        A Tensor of shape y_pred.shape[:-1].

    Example:
        >>> import wengert as wg
        >>> wg.losses.mean_squared_logarithmic_error([[0.0]], [[1.718281828]]).numpy().round(6)
        array([1.], dtype=float32)
    """
    y_true, y_pred = _pair(y_true, y_pred, "mean_squared_logarithmic_error")
    first = log(maximum(y_pred, EPSILON) + 1.0)
    second = log(maximum(y_true, EPSILON) + 1.0)
    return _mean_last(square(first - second))


# -- reduction -------------------------------------------------------------------------------


def _check_reduction(reduction, name: str):
    if reduction is None:
        return "none"
    if reduction not in REDUCTIONS:
        raise ValueError(
            f"{name}: unknown reduction {reduction!r}; expected one of {', '.join(REDUCTIONS)}"
        )
    return reduction


def reduce_weighted_values(values, sample_weight=None, reduction="sum_over_batch_size", name=""):
    """Weight per-sample losses by ``sample_weight`` and reduce them as Keras does.

    Args:
        values: per-sample losses.
        sample_weight: None, a scalar, or weights whose shape is a prefix of
            the values' shape (per sample, per time step, ...); a trailing
            axis of size 1 is dropped, as Keras does.
        reduction: "sum_over_batch_size" (alias "mean"): sum / number of
            values; "sum"; "none" (or None): the weighted values;
            "mean_with_sample_weight": sum / sum of the weights.
        name: the loss's name, for error messages.

    Returns:
        A scalar Tensor, or the weighted values for "none".

    Example:
        >>> import wengert as wg
        >>> from wengert.losses import reduce_weighted_values
        >>> float(reduce_weighted_values(wg.constant([1.0, 3.0]), [1.0, 0.0]))
        0.5
    """
    reduction = _check_reduction(reduction, name or "reduce_weighted_values")
    values = operand(values)
    if values._value.dtype.kind not in "fc":  # integer losses (a custom call) weigh as floats
        values = cast(values, "float32")
    weights = None
    if sample_weight is not None:
        weights = _targets(sample_weight, values, name or "reduce_weighted_values")
        values, weights = squeeze_or_expand_to_same_rank(values, weights)
        # Per-sample weights (batch,) on losses with more axes (batch, time) weight
        # each sample's row, not the trailing axis that plain broadcasting would pick.
        while 0 < weights.ndim < values.ndim:
            weights = expand_dims(weights, -1)
        try:
            shape = xp.broadcast_shapes(values.shape, weights.shape)
        except ValueError:
            shape = None
        if shape is None or shape != values.shape:
            raise ValueError(
                f"{name}: sample_weight shape {list(weights.shape)} does not broadcast to the "
                f"per-sample losses' shape {list(values.shape)}"
            )
        values = values * weights
    if reduction == "none":
        return values
    total = reduce_sum(values)
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and weights is not None:
        divisor = reduce_sum(broadcast_to(weights, values.shape))
        # All weights 0 (or every step masked): 0, as Keras's divide_no_nan gives.
        return total / divisor if float(divisor._value) else total * 0.0
    count = values._value.size
    return total / float(count) if count else total  # an empty batch costs 0


# -- loss objects ------------------------------------------------------------------------------


class Loss:
    """Base class: ``loss(y_true, y_pred, sample_weight=None)`` -> a reduced Tensor.

    Subclasses implement ``call(y_true, y_pred)``, returning per-sample losses.
    As Keras 3's, ``call`` receives both as Tensors in the dtype the loss is computed
    in (``dtype``, else y_pred's float dtype, float32 for half or integer
    predictions), so float64 or integer targets meet float32 predictions without a
    cast; only a loss of integer class labels (sparse categorical cross-entropy)
    keeps them as given.

    Args:
        name: the loss's name.
        reduction: "sum_over_batch_size" (the mean over samples), "sum",
            "none" (per-sample values), "mean" or "mean_with_sample_weight".
        dtype: the floating dtype to compute in (default: y_pred's, at least float32).

    Example:
        >>> import wengert as wg
        >>> class Squared(wg.losses.Loss):
        ...     def call(self, y_true, y_pred):
        ...         return wg.square(y_pred - y_true)
        >>> float(Squared()(wg.constant([0.0, 0.0]), wg.constant([1.0, 3.0])))
        5.0
        >>> float(Squared()([0, 0], wg.constant([1.0, 3.0])))  # integer targets, converted
        5.0
    """

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        self.name = name or _snake(type(self).__name__)
        self.reduction = _check_reduction(reduction, self.name)
        if dtype is not None and as_dtype(dtype).kind != "f":
            raise TypeError(f"{self.name}: dtype must be a floating-point type, got {dtype!r}")
        self.dtype = None if dtype is None else as_dtype(dtype).name

    def _in_loss_dtype(self, y_true, y_pred):
        """``y_true`` and ``y_pred`` in the dtype the loss is computed in, as Keras 3's
        ``Loss.__call__`` converts both before ``call``.

        That dtype is ``dtype`` when given, else float32 for integer or half-precision
        predictions (float16 sums overflow at 65504, as Keras 3 avoids by computing
        losses in float32), else y_pred's own.  Integer class labels stay integers
        for a loss that indexes by them (``_takes_class_labels``).
        """
        y_pred = _predictions(y_pred, self.name)  # a float Tensor
        dt = y_pred._value.dtype
        dtype = self.dtype or (dt.name if dt.itemsize >= 4 else "float32")
        if dt != dtype:
            y_pred = cast(y_pred, dtype)
        if y_true is not None and not self._takes_class_labels():
            y_true = _targets(y_true, y_pred, self.name)
        return y_true, y_pred

    def _takes_class_labels(self) -> bool:
        """True for a loss whose y_true holds integer class indices, left unconverted."""
        return False

    def call(self, y_true, y_pred) -> Tensor:
        """Per-sample losses (subclasses implement this)."""
        raise NotImplementedError(f"{type(self).__name__} must implement call")

    def __call__(self, y_true, y_pred, sample_weight=None) -> Tensor:
        """The reduced loss: a scalar Tensor (per-sample values for reduction "none").

        A padding mask on ``y_pred`` (Embedding(mask_zero=True) ... TimeDistributed)
        leaves padded steps out, and the mean is over the real ones, as Keras 3 does.
        """
        mask = get_mask(y_pred) if isinstance(y_pred, Tensor) else None
        values = self.call(*self._in_loss_dtype(y_true, y_pred))
        own = get_mask(values)  # entries the loss itself left out (ignore_class)
        if own is not None:
            mask = own if mask is None or mask.shape != own.shape else mask & own
        if mask is not None:
            weight = mask.astype(values.dtype)
            if self.reduction in ("sum_over_batch_size", "mean"):
                weight = weight * (weight.size / (weight.sum() + 1e-7))
            if sample_weight is None:
                sample_weight = weight
            else:
                w = xp.asarray(
                    sample_weight._value if isinstance(sample_weight, Tensor) else sample_weight
                )
                w = (
                    w.reshape(w.shape + (1,) * (weight.ndim - w.ndim))
                    if w.ndim < weight.ndim
                    else w
                )
                sample_weight = w * weight
        try:
            return reduce_weighted_values(values, sample_weight, self.reduction, self.name)
        except ValueError as exc:
            if mask is None:
                raise
            raise ValueError(
                f"{self.name}: y_pred's padding mask {list(mask.shape)} does not fit the "
                f"per-sample losses {list(values.shape)}: the loss averages over the last axis, "
                "so give y_true and y_pred a trailing feature axis, e.g. (batch, steps, 1)"
            ) from exc

    def get_config(self) -> dict:
        """The constructor arguments, as a JSON-serialisable dict."""
        config = {"name": self.name, "reduction": self.reduction}
        if self.dtype is not None:
            config["dtype"] = self.dtype
        return config

    @classmethod
    def from_config(cls, config: dict):
        """A loss built from ``get_config()``'s dict."""
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _snake(name: str) -> str:
    """A class name in snake case by Keras's rule: ``MyMSE`` -> ``my_mse``."""
    name = re.sub(r"\W+", "", name)
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


class UnknownFunctionError(ValueError):
    """A saved loss or metric names a function that is neither built in nor among the
    custom objects in scope: pass it to ``load_model`` as ``custom_objects={name: fn}``.

    Example:
        >>> import wengert as wg
        >>> config = {"fn": "my_loss", "name": "my_loss", "reduction": "sum"}
        >>> try:
        ...     wg.losses.LossFunctionWrapper.from_config(config)
        ... except wg.losses.UnknownFunctionError as exc:
        ...     print("custom_objects={'my_loss'" in str(exc))
        True
    """


class FunctionWrapperConfig:
    """``get_config``/``from_config`` for a class that wraps a function and its keyword
    arguments (``LossFunctionWrapper``, ``metrics.MeanMetricWrapper``).

    The wrapper itself records its function by name, as Keras does; reading it back finds
    a function of the user's own among the custom objects in scope (those given to
    ``load_model``, or a ``custom_object_scope``), else a built-in one (listed by its
    ``_functions()``).  Subclasses, which fix the function, record only their arguments.
    Mixed in before the base class, whose config it extends.
    """

    def get_config(self) -> dict:
        """The base class's config, the function's keyword arguments, and for the
        wrapper itself the function's name."""
        config = {**super().get_config(), **self._fn_kwargs}
        if type(self) is self._wrapper():
            config["fn"] = getattr(self.fn, "__name__", repr(self.fn))
        return config

    @classmethod
    def from_config(cls, config: dict):
        """An object rebuilt from its config (``fn`` by name: a custom object in scope,
        else a built-in function)."""
        config = dict(config)
        if cls is not cls._wrapper():
            return cls(**config)
        name = config.pop("fn")
        if not isinstance(name, str):  # an in-memory config holding the function itself
            return cls(name, **config)
        if not name.isidentifier():  # "<lambda>", a partial's repr: nothing to look up
            raise ValueError(
                f"{cls.__name__}.from_config: the function {name!r} has no name to be found "
                "by; define it with def to save it, and pass it to load_model in custom_objects"
            )
        # As Keras: the custom objects first (only ever looked up by name, never imported
        # or evaluated); custom_class's fallback, a class of that name, is no function.
        fn = custom_class(name, cls)
        if fn is None or isinstance(fn, type) or not callable(fn):
            fn = cls._functions().get(name)
        if fn is None:
            raise UnknownFunctionError(
                f"{cls.__name__}.from_config: unknown function {name!r}: not built in "
                f"({', '.join(sorted(cls._functions()))}); for a function of your own, pass "
                f"custom_objects={{{name!r}: the_function}} to load_model (or open a "
                "custom_object_scope)"
            )
        return cls(fn, **config)

    @classmethod
    def _wrapper(cls) -> type:
        """The wrapper class: the one in the MRO that mixes this class in directly."""
        return next(c for c in cls.__mro__ if FunctionWrapperConfig in c.__bases__)


class LossFunctionWrapper(FunctionWrapperConfig, Loss):
    """A loss object around a per-sample function ``fn(y_true, y_pred, **kwargs)``.

    Args:
        fn: the per-sample function.
        reduction: see ``Loss``.
        name: defaults to the function's name.
        **kwargs: passed to ``fn`` on every call.

    Example:
        >>> import wengert as wg
        >>> loss = wg.losses.LossFunctionWrapper(wg.losses.mean_absolute_error)
        >>> float(loss([[0.0], [0.0]], [[1.0], [3.0]]))
        2.0
    """

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs):
        super().__init__(name or getattr(fn, "__name__", "loss"), reduction, dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true, y_pred) -> Tensor:
        """``fn(y_true, y_pred, **kwargs)``."""
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def _takes_class_labels(self) -> bool:
        return self.fn is sparse_categorical_crossentropy

    @staticmethod
    def _functions() -> dict:
        return _FUNCTIONS


class _PlainLoss(LossFunctionWrapper):
    """A loss class around one per-sample function that takes no arguments of its own:
    Keras's constructor (reduction, name, dtype), the function and default name given by
    the subclass."""

    _fn = None
    _default_name = None

    def __init__(self, reduction="sum_over_batch_size", name=None, dtype=None):
        super().__init__(
            type(self)._fn, reduction=reduction, name=name or self._default_name, dtype=dtype
        )


class MeanSquaredError(_PlainLoss):
    """Mean of squared errors: ``mean_squared_error`` reduced over the batch.

    Args:
        reduction: see ``Loss``.
        name: the loss's name.

    Example:
        >>> import wengert as wg
        >>> float(wg.losses.MeanSquaredError()([[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 0.0]]))
        0.5
    """

    _fn = staticmethod(mean_squared_error)
    _default_name = "mean_squared_error"


class MeanAbsoluteError(_PlainLoss):
    """Mean of absolute errors: ``mean_absolute_error`` reduced over the batch.

    Args:
        reduction: see ``Loss``.
        name: the loss's name.

    Example:
        >>> import wengert as wg
        >>> float(wg.losses.MeanAbsoluteError()([[0.0], [0.0]], [[1.0], [-3.0]]))
        2.0
    """

    _fn = staticmethod(mean_absolute_error)
    _default_name = "mean_absolute_error"


class BinaryCrossentropy(LossFunctionWrapper):
    """Binary cross-entropy between 0/1 (or soft) targets and probabilities or logits.

    Args:
        from_logits: y_pred holds logits (computed stably; preferred).
        label_smoothing: squeeze targets toward 0.5 by this much.
        axis: the axis averaged over per sample.
        reduction: see ``Loss``.
        name: the loss's name.

    Example:
        >>> import wengert as wg
        >>> bce = wg.losses.BinaryCrossentropy(from_logits=True)
        >>> float(bce([[1.0], [0.0]], [[0.0], [0.0]]))
        0.6931471824645996
    """

    def __init__(
        self,
        from_logits=False,
        label_smoothing=0.0,
        axis=-1,
        reduction="sum_over_batch_size",
        name="binary_crossentropy",
        dtype=None,
    ):
        super().__init__(
            binary_crossentropy,
            reduction=reduction,
            name=name,
            dtype=dtype,
            from_logits=bool(from_logits),
            label_smoothing=float(label_smoothing),
            axis=axis,
        )
        self.from_logits = bool(from_logits)
        self.label_smoothing = float(label_smoothing)
        self.axis = axis


class CategoricalCrossentropy(LossFunctionWrapper):
    """Cross-entropy between one-hot (or soft) targets and class probabilities or logits.

    Args:
        from_logits: y_pred holds logits (computed stably; preferred).
        label_smoothing: mix targets with the uniform distribution by this much.
        axis: the class axis.
        reduction: see ``Loss``.
        name: the loss's name.

    Example:
        >>> import wengert as wg
        >>> cce = wg.losses.CategoricalCrossentropy()
        >>> round(float(cce([[0.0, 1.0, 0.0]], [[0.05, 0.95, 0.0]])), 6)
        0.051293
    """

    def __init__(
        self,
        from_logits=False,
        label_smoothing=0.0,
        axis=-1,
        reduction="sum_over_batch_size",
        name="categorical_crossentropy",
        dtype=None,
    ):
        super().__init__(
            categorical_crossentropy,
            reduction=reduction,
            name=name,
            dtype=dtype,
            from_logits=bool(from_logits),
            label_smoothing=float(label_smoothing),
            axis=axis,
        )
        self.from_logits = bool(from_logits)
        self.label_smoothing = float(label_smoothing)
        self.axis = axis


class SparseCategoricalCrossentropy(LossFunctionWrapper):
    """Cross-entropy between integer class labels and class probabilities or logits.

    Args:
        from_logits: y_pred holds logits (computed stably; preferred).
        ignore_class: a label whose entries count for nothing, not even in the mean
            (Keras 3's; e.g. the padding label of a sequence).
        reduction: see ``Loss``.
        name: the loss's name.

    Example:
        >>> import wengert as wg
        >>> scce = wg.losses.SparseCategoricalCrossentropy(from_logits=True)
        >>> float(scce([0, 1], [[0.0, 0.0], [0.0, 0.0]]))
        0.6931471824645996
    """

    def __init__(
        self,
        from_logits=False,
        ignore_class=None,
        reduction="sum_over_batch_size",
        name="sparse_categorical_crossentropy",
        dtype=None,
    ):
        super().__init__(
            sparse_categorical_crossentropy,
            reduction=reduction,
            name=name,
            dtype=dtype,
            from_logits=bool(from_logits),
            ignore_class=None if ignore_class is None else int(ignore_class),
        )
        self.from_logits = bool(from_logits)
        self.ignore_class = None if ignore_class is None else int(ignore_class)


class Huber(LossFunctionWrapper):
    """Huber loss: squared error for |error| <= delta, linear beyond.

    Args:
        delta: where the quadratic turns linear.
        reduction: see ``Loss``.
        name: the loss's name.

    Example:
        >>> import wengert as wg
        >>> float(wg.losses.Huber(delta=1.0)([[0.0], [0.0]], [[0.5], [3.0]]))
        1.3125
    """

    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name="huber_loss", dtype=None):
        super().__init__(huber, reduction=reduction, name=name, dtype=dtype, delta=float(delta))
        self.delta = float(delta)


class KLDivergence(_PlainLoss):
    """Kullback-Leibler divergence between target and predicted distributions.

    Args:
        reduction: see ``Loss``.
        name: the loss's name.

    Example:
        >>> import wengert as wg
        >>> round(float(wg.losses.KLDivergence()([[0.5, 0.5]], [[0.25, 0.75]])), 6)
        0.143841
    """

    _fn = staticmethod(kl_divergence)
    _default_name = "kl_divergence"


class Hinge(_PlainLoss):
    """Hinge loss max(1 - y_true y_pred, 0) for -1/1 (or 0/1) labels.

    Args:
        reduction: see ``Loss``.
        name: the loss's name.

    Example:
        >>> import wengert as wg
        >>> float(wg.losses.Hinge()([[1.0], [-1.0]], [[0.5], [0.5]]))
        1.0
    """

    _fn = staticmethod(hinge)
    _default_name = "hinge"


class SquaredHinge(_PlainLoss):
    """Squared hinge loss max(1 - y_true y_pred, 0)^2 for -1/1 (or 0/1) labels.

    Args:
        reduction: see ``Loss``.
        name: the loss's name.

    Example:
        >>> import wengert as wg
        >>> float(wg.losses.SquaredHinge()([[1.0], [-1.0]], [[0.5], [0.5]]))
        1.25
    """

    _fn = staticmethod(squared_hinge)
    _default_name = "squared_hinge"


class CategoricalHinge(_PlainLoss):
    """Categorical hinge loss: the best wrong class's score should trail the true one's by 1.

    Args:
        reduction: see ``Loss``.
        name: the loss's name.

    Example:
        >>> import wengert as wg
        >>> float(wg.losses.CategoricalHinge()([[0.0, 1.0]], [[0.25, 1.0]]))
        0.25
    """

    _fn = staticmethod(categorical_hinge)
    _default_name = "categorical_hinge"


class LogCosh(_PlainLoss):
    """log(cosh(error)): about error^2 / 2 when small and |error| - log 2 when large.

    Args:
        reduction: see ``Loss``.
        name: the loss's name.

    Example:
        >>> import wengert as wg
        >>> round(float(wg.losses.LogCosh()([[0.0]], [[1.0]])), 6)  # log(cosh(1))
        0.433781
    """

    _fn = staticmethod(log_cosh)
    _default_name = "log_cosh"


class Poisson(_PlainLoss):
    """Poisson loss y_pred - y_true log(y_pred): counts against predicted rates.

    Args:
        reduction: see ``Loss``.
        name: the loss's name.

    Example:
        >>> import wengert as wg
        >>> float(wg.losses.Poisson()([[0.0], [0.0]], [[1.0], [3.0]]))
        2.0
    """

    _fn = staticmethod(poisson)
    _default_name = "poisson"


class CosineSimilarity(LossFunctionWrapper):
    """The negative cosine similarity of targets and predictions along ``axis`` (Keras's sign).

    Args:
        axis: the axis the vectors lie along.
        reduction: see ``Loss``.
        name: the loss's name.

    Example:
        >>> import wengert as wg
        >>> float(wg.losses.CosineSimilarity()([[0.0, 1.0], [1.0, 0.0]], [[0.0, 2.0], [0.0, 1.0]]))
        -0.5
    """

    def __init__(
        self, axis=-1, reduction="sum_over_batch_size", name="cosine_similarity", dtype=None
    ):
        super().__init__(cosine_similarity, reduction=reduction, name=name, dtype=dtype, axis=axis)
        self.axis = axis


class MeanAbsolutePercentageError(_PlainLoss):
    """Mean absolute error relative to the target, in percent.

    Args:
        reduction: see ``Loss``.
        name: the loss's name.

    Example:
        >>> import wengert as wg
        >>> float(wg.losses.MeanAbsolutePercentageError()([[2.0], [4.0]], [[1.0], [5.0]]))
        37.5
    """

    _fn = staticmethod(mean_absolute_percentage_error)
    _default_name = "mean_absolute_percentage_error"


class MeanSquaredLogarithmicError(_PlainLoss):
    """Mean squared error of log(1 + y): relative errors for non-negative targets.

    Args:
        reduction: see ``Loss``.
        name: the loss's name.

    Example:
        >>> import wengert as wg
        >>> float(wg.losses.MeanSquaredLogarithmicError()([[0.0], [3.0]], [[0.0], [3.0]]))
        0.0
    """

    _fn = staticmethod(mean_squared_logarithmic_error)
    _default_name = "mean_squared_logarithmic_error"


# -- lookup ----------------------------------------------------------------------------------

_FUNCTIONS = {
    "mean_squared_error": mean_squared_error,
    "mean_absolute_error": mean_absolute_error,
    "binary_crossentropy": binary_crossentropy,
    "categorical_crossentropy": categorical_crossentropy,
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
    "huber": huber,
    "kl_divergence": kl_divergence,
    "hinge": hinge,
    "squared_hinge": squared_hinge,
    "categorical_hinge": categorical_hinge,
    "log_cosh": log_cosh,
    "poisson": poisson,
    "cosine_similarity": cosine_similarity,
    "mean_absolute_percentage_error": mean_absolute_percentage_error,
    "mean_squared_logarithmic_error": mean_squared_logarithmic_error,
}
_CLASSES = {
    cls.__name__: cls
    for cls in (
        MeanSquaredError,
        MeanAbsoluteError,
        BinaryCrossentropy,
        CategoricalCrossentropy,
        SparseCategoricalCrossentropy,
        Huber,
        KLDivergence,
        Hinge,
        SquaredHinge,
        CategoricalHinge,
        LogCosh,
        Poisson,
        CosineSimilarity,
        MeanAbsolutePercentageError,
        MeanSquaredLogarithmicError,
        LossFunctionWrapper,
    )
}
_NAMES = {
    "mean_squared_error": MeanSquaredError,
    "mse": MeanSquaredError,
    "MSE": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError,
    "mae": MeanAbsoluteError,
    "MAE": MeanAbsoluteError,
    "binary_crossentropy": BinaryCrossentropy,
    "bce": BinaryCrossentropy,
    "BCE": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "huber": Huber,
    "huber_loss": Huber,
    "kl_divergence": KLDivergence,
    "kld": KLDivergence,
    "KLD": KLDivergence,
    "hinge": Hinge,
    "squared_hinge": SquaredHinge,
    "categorical_hinge": CategoricalHinge,
    "log_cosh": LogCosh,
    "poisson": Poisson,
    "cosine_similarity": CosineSimilarity,
    "mean_absolute_percentage_error": MeanAbsolutePercentageError,
    "mape": MeanAbsolutePercentageError,
    "MAPE": MeanAbsolutePercentageError,
    "mean_squared_logarithmic_error": MeanSquaredLogarithmicError,
    "msle": MeanSquaredLogarithmicError,
    "MSLE": MeanSquaredLogarithmicError,
}


def _valid() -> str:
    return ", ".join(list(_NAMES) + [c for c in _CLASSES if c != "LossFunctionWrapper"])


def get(identifier):
    """A loss object from a name, a config dict, a class, an object or a function.

    Every answer reduces to a scalar, so a model can call it directly: a name
    ("mse", "binary_crossentropy", "SparseCategoricalCrossentropy", ...) gives
    a new loss object with default arguments; a function of (y_true, y_pred)
    returning per-sample values is wrapped in a ``LossFunctionWrapper`` (a
    function that already returns a scalar is left unchanged by the reduction).

    Args:
        identifier: a name, {"class_name": ..., "config": {...}}, a Loss
            class or object (objects are returned as is), or a callable.

    Returns:
        A ``Loss``.

    Raises:
        ValueError: an unknown name (the message lists the valid ones).

    Example:
        >>> import wengert as wg
        >>> wg.losses.get("mse")
        MeanSquaredError(name='mean_squared_error', reduction='sum_over_batch_size')
    """
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        cls = _NAMES.get(identifier) or _CLASSES.get(identifier)
        if cls is None or cls is LossFunctionWrapper:
            raise ValueError(f"losses.get: unknown loss {identifier!r}; valid names: {_valid()}")
        return cls()
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if callable(identifier):
        return LossFunctionWrapper(identifier)
    raise ValueError(
        f"losses.get: cannot interpret {identifier!r} (a {type(identifier).__name__}) as a "
        f"loss; valid names: {_valid()}"
    )


def serialize(loss) -> dict:
    """``{"class_name": ..., "config": {...}}`` for a loss object.

    Args:
        loss: a ``Loss``.

    Returns:
        A JSON-serialisable dict that ``get``/``deserialize`` turn back into one.

    Example:
        >>> import wengert as wg
        >>> wg.losses.serialize(wg.losses.Huber(delta=2.0))["config"]["delta"]
        2.0
    """
    if not isinstance(loss, Loss):
        raise ValueError(f"losses.serialize: {loss!r} is not a Loss")
    return {"class_name": type(loss).__name__, "config": loss.get_config()}


def deserialize(config: dict):
    """A loss object from ``serialize``'s dict.

    Args:
        config: {"class_name": name, "config": constructor arguments}.

    Returns:
        A new ``Loss``.

    Example:
        >>> import wengert as wg
        >>> wg.losses.deserialize({"class_name": "MeanAbsoluteError", "config": {}}).name
        'mean_absolute_error'
    """
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"losses.deserialize: expected {{'class_name', 'config'}}, got {config!r}")
    name = config["class_name"]
    cls = _CLASSES.get(name) or _NAMES.get(name) or custom_class(name, Loss)
    if cls is None:
        raise ValueError(f"losses.deserialize: unknown loss {name!r}; valid names: {_valid()}")
    return cls.from_config(dict(config.get("config") or {}))
