"""``wg.metrics``: Keras-style stateful metrics that average over batches.

A metric accumulates with ``update_state(y_true, y_pred, sample_weight=None)``
and reports with ``result()``, a Python float (metrics are logged, never
differentiated); ``reset_state()`` starts over.  Averaging follows Keras 3:
each batch's values are first averaged per sample, then weighted by
``sample_weight`` (or counted once each), and ``result()`` is the weighted sum
over the weight total (0.0 before any update).

Metric arithmetic runs on arrays with no tape recording, so updating a metric
inside a ``GradientTape`` adds nothing to it.

"accuracy" means different things for different targets; ``resolve_accuracy``
picks the right one from the loss (or, as Keras 3 does, from the shapes).
"""

from __future__ import annotations

from . import losses as _losses
from .backend import xp
from .core import all_paused
from .layers.base import get_mask
from .tensor import Tensor

__all__ = [
    "Metric",
    "Mean",
    "MeanMetricWrapper",
    "Accuracy",
    "BinaryAccuracy",
    "CategoricalAccuracy",
    "SparseCategoricalAccuracy",
    "AutoAccuracy",
    "accuracy",
    "binary_accuracy",
    "categorical_accuracy",
    "sparse_categorical_accuracy",
    "resolve_accuracy",
    "get",
    "serialize",
    "deserialize",
]


def _array(x):
    if isinstance(x, Tensor):
        return x._value
    return xp.asarray(x)


def _same_rank(a, b):
    """Keras's squeeze_or_expand_to_same_rank, on arrays."""
    if a.ndim == b.ndim + 1 and a.shape[-1] == 1:
        if b.ndim == 1:
            b = b[:, None]
        else:
            a = a[..., 0]
    elif b.ndim == a.ndim + 1 and b.shape[-1] == 1:
        if a.ndim == 1:
            a = a[:, None]
        else:
            b = b[..., 0]
    return a, b


def _check_shapes(name: str, y_true, y_pred):
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"{name}: y_true shape {list(y_true.shape)} and y_pred shape "
            f"{list(y_pred.shape)} do not match"
        )


# -- per-sample accuracy functions (arrays in, float arrays out) ------------------------------


def accuracy(y_true, y_pred):
    """1.0 where y_pred equals y_true exactly, else 0.0 (elementwise).

    Args:
        y_true: targets.
        y_pred: predictions of the same shape (a trailing axis of 1 is reconciled).

    Returns:
        A float32 ndarray of the common shape.

    Example:
        >>> import wengert as wg
        >>> wg.metrics.accuracy([1, 2, 3], [1, 2, 4])
        array([1., 1., 0.], dtype=float32)
    """
    y_true, y_pred = _same_rank(_array(y_true), _array(y_pred))
    _check_shapes("accuracy", y_true, y_pred)
    return (y_true == y_pred).astype("float32")


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """1.0 where (y_pred > threshold) equals the 0/1 target, else 0.0 (elementwise).

    Args:
        y_true: 0/1 targets.
        y_pred: probabilities (or logits, with threshold 0).
        threshold: the decision threshold.

    Returns:
        A float32 ndarray of the common shape.

    Example:
        >>> import wengert as wg
        >>> wg.metrics.binary_accuracy([[1], [0], [1]], [[0.7], [0.2], [0.4]])
        array([[1.],
               [1.],
               [0.]], dtype=float32)
    """
    y_true, y_pred = _same_rank(_array(y_true), _array(y_pred))
    _check_shapes("binary_accuracy", y_true, y_pred)
    predicted = (y_pred > threshold).astype(y_true.dtype)
    return (y_true == predicted).astype("float32")


def sparse_categorical_accuracy(y_true, y_pred):
    """1.0 where argmax(y_pred) equals the integer label, else 0.0 (per sample).

    Args:
        y_true: class indices, y_pred's shape without the class axis (or with it as 1).
        y_pred: class scores (..., classes).

    Returns:
        A float32 ndarray of y_true's shape (without a trailing 1).

    Example:
        >>> import wengert as wg
        >>> wg.metrics.sparse_categorical_accuracy([2, 0], [[0.1, 0.2, 0.7], [0.1, 0.8, 0.1]])
        array([1., 0.], dtype=float32)
    """
    y_true, y_pred = _array(y_true), _array(y_pred)
    if y_true.ndim == y_pred.ndim and y_true.ndim > 0 and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    if y_pred.ndim == 0 or y_true.shape != y_pred.shape[:-1]:
        raise ValueError(
            f"sparse_categorical_accuracy: y_true shape {list(y_true.shape)} and y_pred shape "
            f"{list(y_pred.shape)} do not match (expected y_pred's shape without the class axis)"
        )
    return (y_true == xp.argmax(y_pred, axis=-1)).astype("float32")


def categorical_accuracy(y_true, y_pred):
    """1.0 where argmax(y_pred) equals argmax(y_true), else 0.0 (per sample).

    Args:
        y_true: one-hot (or soft) targets (..., classes).
        y_pred: class scores of the same shape.

    Returns:
        A float32 ndarray of shape y_pred.shape[:-1].

    Example:
        >>> import wengert as wg
        >>> y_pred = [[0.1, 0.2, 0.7], [0.6, 0.3, 0.1]]
        >>> wg.metrics.categorical_accuracy([[0, 0, 1], [0, 1, 0]], y_pred)
        array([1., 0.], dtype=float32)
    """
    y_true, y_pred = _array(y_true), _array(y_pred)
    _check_shapes("categorical_accuracy", y_true, y_pred)
    if y_pred.ndim == 0:
        raise ValueError("categorical_accuracy: y_pred needs a class axis, got a scalar")
    return (xp.argmax(y_true, axis=-1) == xp.argmax(y_pred, axis=-1)).astype("float32")


# -- stateful metrics ---------------------------------------------------------------------------


class Metric:
    """Base class of stateful metrics.

    Subclasses implement ``update_state``, ``result`` and ``reset_state``;
    ``metric(y_true, y_pred)`` updates and returns the result.

    Args:
        name: the metric's name (the key in training logs).
        dtype: accepted for Keras compatibility; results are Python floats.

    Example:
        >>> import wengert as wg
        >>> class Count(wg.metrics.Metric):
        ...     def reset_state(self):
        ...         self.n = 0
        ...     def update_state(self, y_true, y_pred, sample_weight=None):
        ...         self.n += len(y_true)
        ...     def result(self):
        ...         return float(self.n)
        >>> Count(name="count")([1, 2], [1, 2])
        2.0
    """

    def __init__(self, name=None, dtype=None):
        self.name = name or _losses._snake(type(self).__name__)
        self.dtype = dtype
        self.reset_state()

    def reset_state(self) -> None:
        """Forget everything accumulated."""
        raise NotImplementedError(f"{type(self).__name__} must implement reset_state")

    def update_state(self, *args, **kwargs) -> None:
        """Accumulate one batch."""
        raise NotImplementedError(f"{type(self).__name__} must implement update_state")

    def result(self) -> float:
        """The metric's value, a Python float."""
        raise NotImplementedError(f"{type(self).__name__} must implement result")

    def __call__(self, *args, **kwargs) -> float:
        """Update with one batch and return the result so far."""
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self) -> dict:
        """The constructor arguments, as a JSON-serialisable dict."""
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: dict):
        """A fresh metric (no state) built from ``get_config()``'s dict."""
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r} result={self.result()!r}>"


class Mean(Metric):
    """The (weighted) mean of the values given, over all batches.

    Args:
        name: the metric's name.
        dtype: accepted for Keras compatibility.

    Example:
        >>> import wengert as wg
        >>> m = wg.metrics.Mean()
        >>> m.update_state([1.0, 3.0])
        >>> m.update_state([5.0], sample_weight=[2.0])
        >>> m.result()  # (1 + 3 + 2 * 5) / (1 + 1 + 2)
        3.5
    """

    def __init__(self, name="mean", dtype=None):
        super().__init__(name, dtype)

    def reset_state(self) -> None:
        """Set the running total and count to 0."""
        self.total = 0.0
        self.count = 0.0

    def update_state(self, values, sample_weight=None) -> None:
        """Add ``values`` (averaged per sample over trailing axes), weighted by ``sample_weight``.

        Args:
            values: a batch of values (batch, ...), or a scalar.
            sample_weight: None, or weights broadcastable to the values' leading axes.
        """
        values = _array(values)
        if values.ndim == 0 and (sample_weight is None or xp.ndim(sample_weight) == 0):
            # One number (a batch's loss, weighted by the batch size): the step's hot path.
            weight = 1.0 if sample_weight is None else float(_array(sample_weight))
            self.total += float(values) * weight
            self.count += weight
            return
        values = values.astype("float64")
        if sample_weight is None:
            if values.ndim > 1:  # (an empty batch of any rank adds nothing)
                values = values.mean(axis=tuple(range(1, values.ndim)))
            self.total += float(values.sum())
            self.count += float(values.shape[0]) if values.ndim else 1.0
            return
        weights = _array(sample_weight).astype("float64")
        values, weights = _same_rank(values, weights)
        if values.ndim > weights.ndim:  # average values over the axes the weights lack
            values = values.mean(axis=tuple(range(weights.ndim, values.ndim)))
        try:
            weights = xp.broadcast_to(weights, values.shape)
        except ValueError:
            raise ValueError(
                f"{self.name}: sample_weight shape {list(weights.shape)} does not broadcast to "
                f"the values' shape {list(values.shape)}"
            ) from None
        self.total += float((values * weights).sum())
        self.count += float(weights.sum())

    def result(self) -> float:
        """total / count, or 0.0 when nothing (or zero weight) was seen."""
        return self.total / self.count if self.count else 0.0


class MeanMetricWrapper(_losses.FunctionWrapperConfig, Mean):
    """The mean of ``fn(y_true, y_pred, **kwargs)`` over all samples seen.

    Args:
        fn: a per-sample function (an accuracy or a loss function).
        name: the metric's name (defaults to the function's name).
        dtype: accepted for Keras compatibility.
        **kwargs: passed to ``fn``.

    Example:
        >>> import wengert as wg
        >>> m = wg.metrics.MeanMetricWrapper(wg.losses.mean_absolute_error)
        >>> m([[0.0], [0.0]], [[1.0], [3.0]])
        2.0
    """

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        self.fn = fn
        self._fn_kwargs = kwargs
        # A loss object has a name, not a __name__ (Keras names its metric the same way).
        default = getattr(fn, "name", None) or getattr(fn, "__name__", None) or "mean_metric"
        super().__init__(name or default, dtype)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        """Add ``fn(y_true, y_pred)``'s per-sample values, weighted by ``sample_weight``.

        Args:
            y_true: the batch's targets.
            y_pred: the batch's predictions.
            sample_weight: None, or one weight per sample.
        """
        with all_paused():  # a metric is never differentiated: record nothing
            values = self.fn(y_true, y_pred, **self._fn_kwargs)
        mask = get_mask(y_pred) if isinstance(y_pred, Tensor) else None
        if mask is not None:  # padded steps are left out, as Keras 3 does
            weight = mask.astype("float64")
            if sample_weight is not None:
                w = _array(sample_weight).astype("float64")
                sample_weight = w.reshape(w.shape + (1,) * (weight.ndim - w.ndim)) * weight
            else:
                sample_weight = weight
        super().update_state(values, sample_weight)

    @staticmethod
    def _functions() -> dict:
        return _FUNCTIONS


class Accuracy(MeanMetricWrapper):
    """How often predictions equal targets exactly (for class indices in both).

    Args:
        name: the metric's name.
        dtype: accepted for Keras compatibility.

    Example:
        >>> import wengert as wg
        >>> wg.metrics.Accuracy()([[1], [2], [3], [4]], [[0], [2], [3], [4]])
        0.75
    """

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(accuracy, name, dtype)


class BinaryAccuracy(MeanMetricWrapper):
    """How often (y_pred > threshold) matches 0/1 targets.

    Args:
        name: the metric's name.
        dtype: accepted for Keras compatibility.
        threshold: the decision threshold (0.5 for probabilities, 0 for logits).

    Example:
        >>> import wengert as wg
        >>> wg.metrics.BinaryAccuracy()([[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]])
        0.75
    """

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        super().__init__(binary_accuracy, name, dtype, threshold=threshold)
        self.threshold = threshold


class CategoricalAccuracy(MeanMetricWrapper):
    """How often argmax(y_pred) matches argmax of one-hot targets.

    Args:
        name: the metric's name.
        dtype: accepted for Keras compatibility.

    Example:
        >>> import wengert as wg
        >>> y_pred = [[0.1, 0.9, 0.8], [0.05, 0.95, 0]]
        >>> wg.metrics.CategoricalAccuracy()([[0, 0, 1], [0, 1, 0]], y_pred)
        0.5
    """

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(categorical_accuracy, name, dtype)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often argmax(y_pred) matches integer class labels.

    Args:
        name: the metric's name.
        dtype: accepted for Keras compatibility.

    Example:
        >>> import wengert as wg
        >>> wg.metrics.SparseCategoricalAccuracy()([[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]])
        0.5
    """

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(sparse_categorical_accuracy, name, dtype)


def _accuracy_for_shapes(y_true, y_pred):
    """Keras 3's rule for "accuracy": binary, sparse or categorical, from the shapes."""
    y_true, y_pred = _array(y_true), _array(y_pred)
    if y_pred.ndim and y_pred.shape[-1] == 1:
        return binary_accuracy
    if y_true.ndim < y_pred.ndim or (y_true.ndim and y_true.shape[-1] == 1 and y_pred.ndim):
        return sparse_categorical_accuracy
    return categorical_accuracy


class AutoAccuracy(MeanMetricWrapper):
    """ "accuracy" resolved from the first batch's shapes, as Keras 3 does.

    y_pred with a last axis of 1 means binary accuracy (threshold 0.5);
    y_true of lower rank, or with a last axis of 1, means sparse categorical;
    otherwise categorical.

    Args:
        name: the metric's name.
        dtype: accepted for Keras compatibility.

    Example:
        >>> import wengert as wg
        >>> m = wg.metrics.AutoAccuracy()
        >>> m([1, 0], [[0.2, 0.8], [0.3, 0.7]]), m.fn.__name__
        (0.5, 'sparse_categorical_accuracy')
    """

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(self._resolve, name, dtype)

    def _resolve(self, y_true, y_pred):
        self.fn = _accuracy_for_shapes(y_true, y_pred)
        return self.fn(y_true, y_pred)


_FUNCTIONS = {
    "accuracy": accuracy,
    "binary_accuracy": binary_accuracy,
    "categorical_accuracy": categorical_accuracy,
    "sparse_categorical_accuracy": sparse_categorical_accuracy,
    "mean_squared_error": _losses.mean_squared_error,
    "mean_absolute_error": _losses.mean_absolute_error,
    "binary_crossentropy": _losses.binary_crossentropy,
    "categorical_crossentropy": _losses.categorical_crossentropy,
    "sparse_categorical_crossentropy": _losses.sparse_categorical_crossentropy,
    "huber": _losses.huber,
}


def _loss_kind(loss):
    """("binary" | "categorical" | "sparse" | None, from_logits) for a loss."""
    if isinstance(loss, str):
        try:
            loss = _losses.get(loss)
        except ValueError:
            return None, False
    if isinstance(loss, type) and issubclass(loss, _losses.Loss):
        loss = loss()
    fn = loss.fn if isinstance(loss, _losses.LossFunctionWrapper) else loss
    kwargs = getattr(loss, "_fn_kwargs", {})
    from_logits = bool(kwargs.get("from_logits", False))
    kinds = {
        _losses.binary_crossentropy: "binary",
        _losses.categorical_crossentropy: "categorical",
        _losses.sparse_categorical_crossentropy: "sparse",
    }
    try:
        return kinds.get(fn), from_logits
    except TypeError:  # an unhashable callable
        return None, False


def resolve_accuracy(loss=None, y_true=None, y_pred=None, name="accuracy"):
    """The accuracy metric that "accuracy" (or "acc") means for a loss or for data shapes.

    A binary cross-entropy gives ``BinaryAccuracy`` (threshold 0 when it takes
    logits, since sigmoid(x) > 0.5 exactly when x > 0; Keras keeps 0.5, which is
    wrong on logits), categorical cross-entropy ``CategoricalAccuracy``, sparse
    categorical ``SparseCategoricalAccuracy``.  Any other loss: from the shapes
    of ``y_true``/``y_pred`` when given, else an ``AutoAccuracy`` that decides on
    its first batch (Keras 3's rule).

    Args:
        loss: a loss object, class, name or function, or None.
        y_true: an example batch of targets (optional).
        y_pred: an example batch of predictions (optional).
        name: the metric's name in logs.

    Returns:
        A new Metric.

    Example:
        >>> import wengert as wg
        >>> m = wg.metrics.resolve_accuracy(wg.losses.SparseCategoricalCrossentropy())
        >>> type(m).__name__, m.name
        ('SparseCategoricalAccuracy', 'accuracy')
        >>> wg.metrics.resolve_accuracy("binary_crossentropy").threshold
        0.5
    """
    kind, from_logits = _loss_kind(loss) if loss is not None else (None, False)
    if kind == "binary":
        return BinaryAccuracy(name=name, threshold=0.0 if from_logits else 0.5)
    if kind == "categorical":
        return CategoricalAccuracy(name=name)
    if kind == "sparse":
        return SparseCategoricalAccuracy(name=name)
    if y_true is not None and y_pred is not None:
        fn = _accuracy_for_shapes(y_true, y_pred)
        cls = {
            binary_accuracy: BinaryAccuracy,
            categorical_accuracy: CategoricalAccuracy,
            sparse_categorical_accuracy: SparseCategoricalAccuracy,
        }[fn]
        return cls(name=name)
    return AutoAccuracy(name=name)


_CLASSES = {
    cls.__name__: cls
    for cls in (
        Mean,
        MeanMetricWrapper,
        Accuracy,
        BinaryAccuracy,
        CategoricalAccuracy,
        SparseCategoricalAccuracy,
        AutoAccuracy,
    )
}
_NAMES = {
    "accuracy": Accuracy,
    "acc": Accuracy,
    "binary_accuracy": BinaryAccuracy,
    "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "mean": Mean,
}
# Losses as metrics: their mean over the samples seen.
_LOSS_NAMES = {
    "mse": _losses.mean_squared_error,
    "mean_squared_error": _losses.mean_squared_error,
    "mae": _losses.mean_absolute_error,
    "mean_absolute_error": _losses.mean_absolute_error,
    "binary_crossentropy": _losses.binary_crossentropy,
    "categorical_crossentropy": _losses.categorical_crossentropy,
    "sparse_categorical_crossentropy": _losses.sparse_categorical_crossentropy,
}


def _valid() -> str:
    return ", ".join(list(_NAMES) + list(_LOSS_NAMES) + list(_CLASSES))


def get(identifier):
    """A metric from a name, a config dict, a class, an object or a function.

    "accuracy"/"acc" give ``Accuracy`` (exact equality); a model should call
    ``resolve_accuracy(loss)`` for them instead, as Keras resolves them by
    the loss or the shapes.  Loss names ("mse", "mae", "binary_crossentropy",
    ...) give the mean of that loss over the samples seen.

    Args:
        identifier: a name, {"class_name": ..., "config": {...}}, a Metric
            class or object (objects are returned as is), or a per-sample
            function ``fn(y_true, y_pred)`` (wrapped in ``MeanMetricWrapper``).

    Returns:
        A Metric.

    Raises:
        ValueError: an unknown name (the message lists the valid ones).

    Example:
        >>> import wengert as wg
        >>> wg.metrics.get("sparse_categorical_accuracy").name
        'sparse_categorical_accuracy'
        >>> wg.metrics.get("mse").name
        'mse'
    """
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        if identifier in _NAMES:
            cls = _NAMES[identifier]
            return cls(name=identifier) if cls in (Accuracy, Mean) else cls()
        if identifier in _LOSS_NAMES:
            return MeanMetricWrapper(_LOSS_NAMES[identifier], name=identifier)
        if identifier in _CLASSES and identifier != "MeanMetricWrapper":
            return _CLASSES[identifier]()
        raise ValueError(f"metrics.get: unknown metric {identifier!r}; valid names: {_valid()}")
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if callable(identifier):
        return MeanMetricWrapper(identifier)
    raise ValueError(
        f"metrics.get: cannot interpret {identifier!r} (a {type(identifier).__name__}) as a "
        f"metric; valid names: {_valid()}"
    )


def serialize(metric) -> dict:
    """``{"class_name": ..., "config": {...}}`` for a metric (its configuration, not its state).

    Args:
        metric: a Metric.

    Returns:
        A JSON-serialisable dict that ``get``/``deserialize`` turn back into a fresh metric.

    Example:
        >>> import wengert as wg
        >>> wg.metrics.serialize(wg.metrics.BinaryAccuracy(threshold=0.0))["config"]["threshold"]
        0.0
    """
    if not isinstance(metric, Metric):
        raise ValueError(f"metrics.serialize: {metric!r} is not a Metric")
    return {"class_name": type(metric).__name__, "config": metric.get_config()}


def deserialize(config: dict):
    """A fresh metric from ``serialize``'s dict.

    Args:
        config: {"class_name": name, "config": constructor arguments}.

    Returns:
        A new Metric with no state.

    Example:
        >>> import wengert as wg
        >>> wg.metrics.deserialize({"class_name": "Mean", "config": {"name": "loss"}}).name
        'loss'
    """
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            f"metrics.deserialize: expected {{'class_name', 'config'}}, got {config!r}"
        )
    cls = _CLASSES.get(config["class_name"]) or _NAMES.get(config["class_name"])
    if cls is None:
        raise ValueError(
            f"metrics.deserialize: unknown metric {config['class_name']!r}; valid names: {_valid()}"
        )
    return cls.from_config(dict(config.get("config") or {}))
