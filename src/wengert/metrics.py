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

A metric may also keep its state as Keras 3's do, in Variables made with
``add_variable`` in ``__init__`` (see ``Metric``); the confusion-matrix metrics
(``Precision``, ``Recall``, ``AUC``, ``F1Score``) do, and follow Keras's counting.
"""

from __future__ import annotations

import math

from . import losses as _losses
from .backend import as_dtype, xp
from .core import all_paused
from .layers.base import custom_class, get_mask
from .tensor import Tensor, Variable

__all__ = [
    "Metric",
    "Mean",
    "MeanMetricWrapper",
    "Accuracy",
    "BinaryAccuracy",
    "CategoricalAccuracy",
    "SparseCategoricalAccuracy",
    "AutoAccuracy",
    "MeanSquaredError",
    "MeanAbsoluteError",
    "RootMeanSquaredError",
    "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError",
    "BinaryCrossentropy",
    "CategoricalCrossentropy",
    "SparseCategoricalCrossentropy",
    "Precision",
    "Recall",
    "AUC",
    "FBetaScore",
    "F1Score",
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


class _MetricType(type):
    """Metrics' metaclass: finishes construction by calling ``reset_state`` on a metric
    that made no variables in ``__init__``.

    Two styles of metric meet here.  wengert's own create their state in
    ``reset_state`` (``self.total = 0.0``), so it must run once the object is built.
    Keras 3's create variables in ``__init__`` with ``add_variable``, and their
    ``reset_state`` assigns to those variables, so it must not run before they
    exist (Keras never calls it at construction).
    """

    def __call__(cls, *args, **kwargs):
        metric = super().__call__(*args, **kwargs)
        if not getattr(metric, "_variables", None):
            metric.reset_state()
        return metric


class Metric(metaclass=_MetricType):
    """Base class of stateful metrics.

    Subclasses implement ``update_state`` and ``result``; ``metric(y_true, y_pred)``
    updates and returns the result.  State is kept in either of two ways:

    - wengert's: plain attributes created in ``reset_state``, which runs once
      ``__init__`` has finished and again at every reset (``Mean``'s total and count);
    - Keras 3's: Variables created in ``__init__`` with ``add_variable`` (alias
      ``add_weight``) and updated with ``assign_add``; the default ``reset_state``
      sets them all to zeros.

    ``result`` returns a Python float (wengert's metrics) or a scalar Tensor (fit
    logs either as a float).

    Args:
        name: the metric's name (the key in training logs).
        dtype: the dtype of variables made by ``add_variable`` (default float32).

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
        >>> class Total(wg.metrics.Metric):  # Keras's way
        ...     def __init__(self, name="total", **kwargs):
        ...         super().__init__(name=name, **kwargs)
        ...         self.total = self.add_variable(shape=(), initializer="zeros", name="total")
        ...     def update_state(self, y_true, y_pred, sample_weight=None):
        ...         self.total.assign_add(wg.reduce_sum(wg.cast(y_pred, "float32")))
        ...     def result(self):
        ...         return self.total
        >>> float(Total()([0, 0], [1.5, 2.0]))
        3.5
    """

    def __init__(self, name=None, dtype=None):
        self.name = name or _losses._snake(type(self).__name__)
        self.dtype = dtype
        self._variables = []

    def add_variable(self, shape, initializer="zeros", dtype=None, aggregation="sum", name=None):
        """Create a non-trainable state Variable (Keras 3's ``Metric.add_variable``).

        Args:
            shape: the variable's shape (``()`` for a scalar).
            initializer: an initializer name or object ("zeros", "ones", ...).
            dtype: the variable's dtype; default the metric's ``dtype``, else float32.
            aggregation: accepted for Keras compatibility (wengert runs on one device).
            name: the variable's name, shown as ``<metric name>/<name>``.

        Returns:
            The Variable; ``reset_state`` by default sets it to zeros.

        Example:
            >>> import wengert as wg
            >>> m = wg.metrics.Metric(name="m")
            >>> m.add_variable((2,), name="counts").numpy()
            array([0., 0.], dtype=float32)
        """
        from . import initializers

        if not hasattr(self, "_variables"):
            raise RuntimeError(
                f"{type(self).__name__}.add_variable: call super().__init__() in __init__ first"
            )
        dtype = as_dtype(dtype or self.dtype or "float32")
        shape = tuple(int(d) for d in shape)
        value = initializers.get(initializer)(shape, dtype=dtype)
        variable = Variable(
            _array(value).astype(dtype), trainable=False, name=f"{self.name}/{name or 'variable'}"
        )
        self._variables.append(variable)
        return variable

    def add_weight(self, shape=(), initializer="zeros", dtype=None, name=None):
        """``add_variable`` under its older name (Keras keeps both).

        Example:
            >>> import wengert as wg
            >>> float(wg.metrics.Metric(name="m").add_weight(name="count"))
            0.0
        """
        return self.add_variable(shape, initializer, dtype=dtype, name=name)

    @property
    def variables(self) -> list:
        """The Variables made by ``add_variable``, in order of creation."""
        return list(getattr(self, "_variables", []))

    def reset_state(self) -> None:
        """Forget everything accumulated: by default, set every variable to zeros."""
        for v in self.variables:
            v.assign(xp.zeros(v.shape, v.dtype))

    def reset_states(self) -> None:
        """``reset_state`` under TensorFlow 2's older name (a subclass overrides
        ``reset_state``; this calls it).

        Example:
            >>> import wengert as wg
            >>> m = wg.metrics.Mean()
            >>> m.update_state([1.0, 3.0]); m.reset_states(); float(m.result())
            0.0
        """
        self.reset_state()

    def update_state(self, *args, **kwargs) -> None:
        """Accumulate one batch."""
        raise NotImplementedError(f"{type(self).__name__} must implement update_state")

    def result(self):
        """The metric's value: a Python float, or a scalar Tensor."""
        raise NotImplementedError(f"{type(self).__name__} must implement result")

    def __call__(self, *args, **kwargs):
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


def _plain_state(metric) -> dict:
    """A metric's running state as plain data, for fit's mid-epoch checkpoints: its
    numeric attributes, and each Variable attribute's value as nested lists."""
    state = {}
    for k, v in vars(metric).items():
        if isinstance(v, Variable):
            state[k] = v.numpy().tolist()
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            state[k] = v
    return state


def _restore_plain_state(metric, state: dict) -> None:
    """Put ``_plain_state``'s dict back: Variable attributes are assigned, others set."""
    for k, v in state.items():
        current = getattr(metric, k, None)
        if isinstance(current, Variable):
            current.assign(xp.asarray(v, dtype=current.dtype))
        elif isinstance(v, list):
            # A Variable the metric makes on its first batch (F1, multi-label AUC): made
            # now, so that the first batch after a resume finds it and does not start over.
            value = xp.asarray(v, dtype=as_dtype(metric.dtype or "float32"))
            variable = metric.add_variable(value.shape, name=k)
            variable.assign(value)
            setattr(metric, k, variable)
        else:
            setattr(metric, k, v)


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
        if isinstance(y_pred, Tensor) and y_pred.dtype.kind == "f":
            # Float targets of another precision (float64 data, float32 model) meet the
            # predictions in theirs, as Keras's loaded data would: a user's function of
            # (y_true - y_pred) works.  Integer labels stay as they are.
            labels = _array(y_true)
            if labels.dtype.kind == "f" and labels.dtype != y_pred.dtype:
                y_true = labels.astype(y_pred.dtype)
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


# -- losses as metrics: their mean over the samples seen ------------------------------------


class MeanSquaredError(MeanMetricWrapper):
    """The mean squared error over all samples seen.

    Args:
        name: the metric's name.
        dtype: accepted for Keras compatibility.

    Example:
        >>> import wengert as wg
        >>> wg.metrics.MeanSquaredError()([[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 0.0]])
        0.5
    """

    def __init__(self, name="mean_squared_error", dtype=None):
        super().__init__(_losses.mean_squared_error, name, dtype)


class MeanAbsoluteError(MeanMetricWrapper):
    """The mean absolute error over all samples seen.

    Args:
        name: the metric's name.
        dtype: accepted for Keras compatibility.

    Example:
        >>> import wengert as wg
        >>> wg.metrics.MeanAbsoluteError()([[0.0], [0.0]], [[1.0], [-3.0]])
        2.0
    """

    def __init__(self, name="mean_absolute_error", dtype=None):
        super().__init__(_losses.mean_absolute_error, name, dtype)


class RootMeanSquaredError(MeanMetricWrapper):
    """The square root of the mean squared error over all samples seen.

    Args:
        name: the metric's name.
        dtype: accepted for Keras compatibility.

    Example:
        >>> import wengert as wg
        >>> wg.metrics.RootMeanSquaredError()([[0.0], [0.0]], [[3.0], [-4.0]])  # sqrt(25 / 2)
        3.5355339059327378
    """

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(_losses.mean_squared_error, name, dtype)

    def result(self) -> float:
        """sqrt(total / count), or 0.0 before any update."""
        return math.sqrt(super().result())


class MeanAbsolutePercentageError(MeanMetricWrapper):
    """The mean absolute percentage error over all samples seen (Keras's "mape").

    Args:
        name: the metric's name.
        dtype: accepted for Keras compatibility.

    Example:
        >>> import wengert as wg
        >>> wg.metrics.MeanAbsolutePercentageError()([[2.0], [4.0]], [[1.0], [5.0]])
        37.5
    """

    def __init__(self, name="mean_absolute_percentage_error", dtype=None):
        super().__init__(_losses.mean_absolute_percentage_error, name, dtype)


class MeanSquaredLogarithmicError(MeanMetricWrapper):
    """The mean squared logarithmic error over all samples seen (Keras's "msle").

    Args:
        name: the metric's name.
        dtype: accepted for Keras compatibility.

    Example:
        >>> import wengert as wg
        >>> m = wg.metrics.MeanSquaredLogarithmicError()
        >>> round(m([[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [0.0, 0.0]]), 6)  # Keras's example
        0.120113
    """

    def __init__(self, name="mean_squared_logarithmic_error", dtype=None):
        super().__init__(_losses.mean_squared_logarithmic_error, name, dtype)


class BinaryCrossentropy(MeanMetricWrapper):
    """The mean binary cross-entropy over all samples seen.

    Args:
        name: the metric's name.
        dtype: accepted for Keras compatibility.
        from_logits: y_pred holds logits.
        label_smoothing: squeeze targets toward 0.5 by this much.

    Example:
        >>> import wengert as wg
        >>> m = wg.metrics.BinaryCrossentropy(from_logits=True)
        >>> round(m([[1.0], [0.0]], [[0.0], [0.0]]), 6)
        0.693147
    """

    def __init__(
        self, name="binary_crossentropy", dtype=None, from_logits=False, label_smoothing=0.0
    ):
        super().__init__(
            _losses.binary_crossentropy,
            name,
            dtype,
            from_logits=bool(from_logits),
            label_smoothing=float(label_smoothing),
        )


class CategoricalCrossentropy(MeanMetricWrapper):
    """The mean categorical cross-entropy over all samples seen.

    Args:
        name: the metric's name.
        dtype: accepted for Keras compatibility.
        from_logits: y_pred holds logits.
        label_smoothing: mix targets with the uniform distribution by this much.
        axis: the class axis.

    Example:
        >>> import wengert as wg
        >>> round(wg.metrics.CategoricalCrossentropy()([[0.0, 1.0]], [[0.5, 0.5]]), 6)
        0.693147
    """

    def __init__(
        self,
        name="categorical_crossentropy",
        dtype=None,
        from_logits=False,
        label_smoothing=0.0,
        axis=-1,
    ):
        super().__init__(
            _losses.categorical_crossentropy,
            name,
            dtype,
            from_logits=bool(from_logits),
            label_smoothing=float(label_smoothing),
            axis=axis,
        )


class SparseCategoricalCrossentropy(MeanMetricWrapper):
    """The mean cross-entropy of integer class labels over all samples seen.

    Args:
        name: the metric's name.
        dtype: accepted for Keras compatibility.
        from_logits: y_pred holds logits.
        axis: the class axis (only -1).

    Example:
        >>> import wengert as wg
        >>> round(wg.metrics.SparseCategoricalCrossentropy()([1], [[0.5, 0.5]]), 6)
        0.693147
    """

    def __init__(
        self, name="sparse_categorical_crossentropy", dtype=None, from_logits=False, axis=-1
    ):
        super().__init__(
            _losses.sparse_categorical_crossentropy,
            name,
            dtype,
            from_logits=bool(from_logits),
            axis=axis,
        )


# -- confusion-matrix metrics: counts at thresholds, Keras's way ----------------------------

NEG_INF = -1e10  # Keras's score for entries outside the top k: no threshold passes it


def _parse_thresholds(name: str, thresholds, default: float) -> list:
    """Keras's parse_init_thresholds: a list of floats in [0, 1], or [default]."""
    if thresholds is None:
        return [default]
    values = list(thresholds) if isinstance(thresholds, (list, tuple)) else [thresholds]
    bad = [t for t in values if t is None or not 0.0 <= float(t) <= 1.0]
    if bad or not values:
        raise ValueError(f"{name}: thresholds must be numbers in [0, 1], got {thresholds!r}")
    return [float(t) for t in values]


def _evenly_spaced(thresholds) -> bool:
    """Keras's test for the bucketed count: 3 or more thresholds at i / (n - 1), within 1e-7."""
    n = len(thresholds)
    even = xp.arange(n, dtype="float32") / (n - 1) if n > 1 else None
    return n >= 3 and bool(xp.allclose(thresholds, even, atol=_losses.EPSILON))


def _weights_like(name: str, sample_weight, shape: tuple):
    """Per-sample (or per-entry) weights broadcast to y_pred's shape, in float64."""
    if sample_weight is None:
        return xp.ones(shape)
    w = _array(sample_weight).astype("float64")
    if w.ndim == len(shape) + 1 and w.shape[-1] == 1:
        w = w[..., 0]
    if w.ndim < len(shape):  # one weight per sample weighs all its entries
        w = w.reshape(w.shape + (1,) * (len(shape) - w.ndim))
    try:
        return xp.broadcast_to(w, shape)
    except ValueError:
        raise ValueError(
            f"{name}: sample_weight shape {list(_array(sample_weight).shape)} does not "
            f"broadcast to y_pred's shape {list(shape)}"
        ) from None


def _confusion_counts(
    name: str,
    y_true,
    y_pred,
    thresholds,
    sample_weight=None,
    top_k=None,
    class_id=None,
    multi_label=False,
    label_weights=None,
    evenly=False,
    dtype="float32",
) -> dict:
    """Weighted true/false positives/negatives of the rule "positive when y_pred > t".

    Keras's update_confusion_matrix_variables: labels count as positive when
    nonzero; predictions are compared in the metrics' dtype; unless
    ``multi_label``, every entry of y_pred is one binary prediction.  With
    evenly spaced thresholds (``evenly``) predictions are clipped to [0, 1] and
    counted by bucket, Keras's O(N + T) path; otherwise compared with each threshold.

    Returns:
        {"true_positives": ..., "false_positives": ..., "true_negatives": ...,
        "false_negatives": ...}, arrays of shape (thresholds,), or
        (thresholds, labels) with ``multi_label``.
    """
    y_pred, y_true = _same_rank(_array(y_pred).astype(dtype), _array(y_true))
    _check_shapes(name, y_true, y_pred)
    if top_k is not None:  # only each row's k largest scores can pass a threshold
        top = xp.argsort(-y_pred, axis=-1, kind="stable")[..., :top_k]
        kept = xp.zeros(y_pred.shape, bool)
        xp.put_along_axis(kept, top, True, axis=-1)
        y_pred = xp.where(kept, y_pred, xp.asarray(NEG_INF, y_pred.dtype))
    if class_id is not None:
        if y_pred.ndim < 2 or not 0 <= class_id < y_pred.shape[-1]:
            raise ValueError(
                f"{name}: class_id {class_id} needs y_pred of shape (samples, classes) with "
                f"more than {class_id} classes, got shape {list(y_pred.shape)}"
            )
        y_true, y_pred = y_true[..., class_id, None], y_pred[..., class_id, None]
    weights = _weights_like(name, sample_weight, y_pred.shape)
    if multi_label:
        if y_pred.ndim != 2:
            raise ValueError(
                f"{name}: multi_label needs y_pred of shape (samples, labels), got "
                f"{list(y_pred.shape)}"
            )
    else:
        if label_weights is not None:
            weights = weights * xp.broadcast_to(label_weights, y_pred.shape)
        y_true, y_pred, weights = y_true.reshape(-1), y_pred.reshape(-1), weights.reshape(-1)
    positive = y_true != 0
    true_weights = xp.where(positive, weights, 0.0)
    false_weights = weights - true_weights
    n = len(thresholds)
    if evenly:
        # Prediction p passes thresholds 0 .. ceil(p (n - 1)) - 1: count each p once, in
        # its bucket, then sum the buckets from the top.  End points beyond [0, 1]
        # (AUC's -1e-7 and 1 + 1e-7) make bucket 0 hold p = 0 too.
        bucket = xp.ceil(xp.clip(y_pred, 0, 1) * y_pred.dtype.type(n - 1)).astype(int) - 1
        if thresholds[0] < 0:
            bucket = xp.maximum(bucket, 0)
        counted = bucket >= 0
        labels = y_pred.shape[1] if multi_label else 1
        bucket = bucket + n * xp.arange(labels)  # each label's buckets after the last's

        def passed(w):
            buckets = xp.bincount(bucket[counted], w[counted], minlength=n * labels)
            buckets = buckets.reshape(labels, n).T if multi_label else buckets
            return xp.cumsum(buckets[::-1], axis=0)[::-1]

    else:
        limits = xp.asarray(thresholds, dtype).reshape((n,) + (1,) * y_pred.ndim)
        above = y_pred > limits

        def passed(w):
            return (above * w).sum(axis=1)

    tp, fp = passed(true_weights), passed(false_weights)
    return {
        "true_positives": tp,
        "false_positives": fp,
        "true_negatives": false_weights.sum(axis=0) - fp,
        "false_negatives": true_weights.sum(axis=0) - tp,
    }


def _divide_no_nan(a, b):
    """a / b in float64, 0 where b is 0 (Keras's divide_no_nan)."""
    a, b = xp.asarray(a, "float64"), xp.asarray(b, "float64")
    return xp.divide(a, b, out=xp.zeros(xp.broadcast_shapes(a.shape, b.shape)), where=b != 0)


class _ThresholdMetric(Metric):
    """Precision's and Recall's machinery: thresholds, top_k, class_id and two counts."""

    _counts: tuple = ()  # the confusion counts kept, as variables of these names

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        super().__init__(name, dtype)
        if top_k is not None and (not isinstance(top_k, int) or top_k < 1):
            raise ValueError(f"{self.name}: top_k must be a positive int or None, got {top_k!r}")
        if class_id is not None and (not isinstance(class_id, int) or class_id < 0):
            raise ValueError(
                f"{self.name}: class_id must be a non-negative int or None, got {class_id!r}"
            )
        self.init_thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        # top_k alone: every kept prediction counts as positive, whatever its score
        default = 0.5 if top_k is None else NEG_INF
        self.thresholds = _parse_thresholds(self.name, thresholds, default)
        self._evenly = _evenly_spaced(self.thresholds)
        for count in self._counts:
            setattr(self, count, self.add_variable((len(self.thresholds),), name=count))

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        """Add the batch's weighted counts at each threshold.

        Args:
            y_true: labels, positive when nonzero.
            y_pred: scores of the same shape (a trailing axis of 1 is reconciled).
            sample_weight: None, or weights per sample (or per entry).
        """
        counts = _confusion_counts(
            self.name,
            y_true,
            y_pred,
            self.thresholds,
            sample_weight,
            top_k=self.top_k,
            class_id=self.class_id,
            evenly=self._evenly,
            dtype=self.true_positives.dtype,
        )
        for count in self._counts:
            getattr(self, count).assign_add(counts[count])

    def _ratio(self, other):
        """tp / (tp + other): a float for one threshold, else an array of one per threshold."""
        tp = self.true_positives.numpy()
        ratio = _divide_no_nan(tp, tp + other.numpy())
        return float(ratio[0]) if len(self.thresholds) == 1 else ratio

    def get_config(self) -> dict:
        """The constructor arguments."""
        return {
            **super().get_config(),
            "thresholds": self.init_thresholds,
            "top_k": self.top_k,
            "class_id": self.class_id,
        }


class Precision(_ThresholdMetric):
    """The fraction of predicted positives that are positive: tp / (tp + fp).

    An entry is predicted positive when its score is above the threshold;
    labels are positive when nonzero.  As Keras's ``Precision``.

    Args:
        thresholds: a threshold in [0, 1] or a list of them (then ``result`` gives
            one precision per threshold); None: 0.5, or with ``top_k`` none at all.
        top_k: count only each row's k highest scores as predicted positive.
        class_id: look only at this class (the last axis's index).
        name: the metric's name (default "precision").
        dtype: the counts' dtype (default float32).

    Example:
        >>> import wengert as wg
        >>> m = wg.metrics.Precision()
        >>> m([0, 1, 1, 1], [0.9, 0.2, 0.6, 0.7])  # tp = 2, fp = 1
        0.6666666666666666
        >>> wg.metrics.Precision(top_k=1)([[0, 1, 1]], [[0.3, 0.2, 0.7]])
        1.0
    """

    _counts = ("true_positives", "false_positives")

    def result(self):
        """tp / (tp + fp), 0.0 when nothing was predicted positive."""
        return self._ratio(self.false_positives)


class Recall(_ThresholdMetric):
    """The fraction of positives that are predicted positive: tp / (tp + fn).

    An entry is predicted positive when its score is above the threshold;
    labels are positive when nonzero.  As Keras's ``Recall``.

    Args:
        thresholds: a threshold in [0, 1] or a list of them (then ``result`` gives
            one recall per threshold); None: 0.5, or with ``top_k`` none at all.
        top_k: count only each row's k highest scores as predicted positive.
        class_id: look only at this class (the last axis's index).
        name: the metric's name (default "recall").
        dtype: the counts' dtype (default float32).

    Example:
        >>> import wengert as wg
        >>> wg.metrics.Recall()([0, 1, 1, 1], [0.9, 0.2, 0.6, 0.7])  # tp = 2, fn = 1
        0.6666666666666666
    """

    _counts = ("true_positives", "false_negatives")

    def result(self):
        """tp / (tp + fn), 0.0 when no label was positive."""
        return self._ratio(self.false_negatives)


class AUC(Metric):
    """The area under the ROC or precision-recall curve, approximated at thresholds.

    Keras's ``AUC``: predictions are counted at ``num_thresholds`` evenly spaced
    thresholds (with end points just below 0 and above 1), giving true and false
    positive and negative counts per threshold; the area is then a Riemann sum
    over them.  "interpolation" sums trapezoids on the ROC curve, and on the PR
    curve interpolates the counts, not precision (Davis & Goadrich 2006);
    "minoring" and "majoring" give lower and upper bounds.

    Args:
        num_thresholds: how many thresholds (> 1).
        curve: "ROC" or "PR".
        summation_method: "interpolation", "minoring" or "majoring".
        name: the metric's name (default "auc").
        dtype: the counts' dtype (default float32).
        thresholds: thresholds in [0, 1] to use instead of evenly spaced ones.
        multi_label: one curve per label (y_pred (samples, labels)), averaged;
            else every entry is one prediction of one curve.
        num_labels: the number of labels with ``multi_label`` (else found from the
            first batch).
        label_weights: weights of the labels: in the average with ``multi_label``,
            else of each label's entries in the counts.
        from_logits: y_pred holds logits (the sigmoid is applied first).

    Example:
        >>> import wengert as wg
        >>> m = wg.metrics.AUC(num_thresholds=3)  # thresholds -1e-7, 0.5, 1 + 1e-7
        >>> m([0, 0, 1, 1], [0.0, 0.5, 0.3, 0.9])
        0.75
        >>> m.reset_state()
        >>> m([0, 0, 1, 1], [0.0, 0.5, 0.3, 0.9], sample_weight=[1, 0, 0, 1])
        1.0
    """

    _COUNTS = ("true_positives", "false_positives", "true_negatives", "false_negatives")

    def __init__(
        self,
        num_thresholds=200,
        curve="ROC",
        summation_method="interpolation",
        name=None,
        dtype=None,
        thresholds=None,
        multi_label=False,
        num_labels=None,
        label_weights=None,
        from_logits=False,
    ):
        super().__init__(name, dtype)
        self.curve = {"roc": "ROC", "pr": "PR"}.get(str(curve).lower())
        if self.curve is None:
            raise ValueError(f"{self.name}: curve must be 'ROC' or 'PR', got {curve!r}")
        self.summation_method = str(summation_method).lower()
        if self.summation_method not in ("interpolation", "minoring", "majoring"):
            raise ValueError(
                f"{self.name}: summation_method must be 'interpolation', 'minoring' or "
                f"'majoring', got {summation_method!r}"
            )
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            inner = sorted(_parse_thresholds(self.name, thresholds, 0.5))
            self._evenly = _evenly_spaced([0.0, *inner, 1.0])
        else:
            if not isinstance(num_thresholds, int) or num_thresholds <= 1:
                raise ValueError(
                    f"{self.name}: num_thresholds must be an int > 1, got {num_thresholds!r}"
                )
            inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self._evenly = True
        self.num_thresholds = len(inner) + 2
        # End points below 0 and above 1, so that predictions of exactly 0 or 1 are counted.
        self._thresholds = [0.0 - _losses.EPSILON, *inner, 1.0 + _losses.EPSILON]
        self.multi_label = bool(multi_label)
        if num_labels is not None and not self.multi_label:
            raise ValueError(f"{self.name}: num_labels is needed only when multi_label is True")
        self.num_labels = num_labels
        self.label_weights = None if label_weights is None else xp.asarray(label_weights, "float64")
        self.from_logits = bool(from_logits)
        if not self.multi_label:
            self._build(())
        elif num_labels is not None:
            self._build((int(num_labels),))

    @property
    def thresholds(self) -> list:
        """The thresholds, end points included."""
        return list(self._thresholds)

    def _build(self, labels: tuple) -> None:
        for count in self._COUNTS:
            setattr(self, count, self.add_variable((self.num_thresholds, *labels), name=count))

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        """Add the batch's weighted counts at each threshold.

        Args:
            y_true: labels, positive when nonzero.
            y_pred: probabilities (or logits with ``from_logits``), y_true's shape.
            sample_weight: None, or weights per sample (or per entry).
        """
        y_pred = _array(y_pred)
        if self.from_logits:  # the sigmoid, as tanh: no overflow at large |x|
            y_pred = 0.5 + 0.5 * xp.tanh(0.5 * y_pred)
        if not self.variables:  # multi_label without num_labels: sized by the first batch
            if y_pred.ndim != 2:
                raise ValueError(
                    f"{self.name}: multi_label needs y_pred of shape (samples, labels), got "
                    f"{list(y_pred.shape)}"
                )
            self._build((y_pred.shape[1],))
        counts = _confusion_counts(
            self.name,
            y_true,
            y_pred,
            self._thresholds,
            sample_weight,
            multi_label=self.multi_label,
            label_weights=None if self.multi_label else self.label_weights,
            evenly=self._evenly,
            dtype=self.variables[0].dtype,
        )
        for count in self._COUNTS:
            getattr(self, count).assign_add(counts[count])

    def result(self) -> float:
        """The area under the curve (0.0 before any update)."""
        if not self.variables:
            return 0.0
        tp, fp, tn, fn = (getattr(self, c).numpy().astype("float64") for c in self._COUNTS)
        if self.curve == "PR" and self.summation_method == "interpolation":
            areas = self._interpolated_pr_areas(tp, fp, fn)
        else:
            recall = _divide_no_nan(tp, tp + fn)
            if self.curve == "ROC":
                x, y = _divide_no_nan(fp, fp + tn), recall
            else:
                x, y = recall, _divide_no_nan(tp, tp + fp)
            if self.summation_method == "interpolation":
                heights = (y[:-1] + y[1:]) / 2.0
            elif self.summation_method == "minoring":
                heights = xp.minimum(y[:-1], y[1:])
            else:
                heights = xp.maximum(y[:-1], y[1:])
            areas = (x[:-1] - x[1:]) * heights
        if not self.multi_label:
            return float(areas.sum())
        by_label = areas.sum(axis=0)
        if self.label_weights is None:
            return float(by_label.mean())
        return float(
            _divide_no_nan((by_label * self.label_weights).sum(), self.label_weights.sum())
        )

    @staticmethod
    def _interpolated_pr_areas(tp, fp, fn):
        """Davis & Goadrich's interpolation, in Keras's closed form.

        Between two thresholds tp and p = tp + fp vary linearly, so precision is
        (intercept + slope p) / p, whose integral over p is
        slope (dtp + intercept log(p_A / p_B)); divided by the positives' total.
        """
        p = tp + fp
        dtp, dp = tp[:-1] - tp[1:], p[:-1] - p[1:]
        slope = _divide_no_nan(dtp, xp.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        both = (p[:-1] > 0) & (p[1:] > 0)
        ratio = xp.where(both, _divide_no_nan(p[:-1], xp.maximum(p[1:], 0)), 1.0)
        return _divide_no_nan(
            slope * (dtp + intercept * xp.log(ratio)), xp.maximum(tp[1:] + fn[1:], 0)
        )

    def get_config(self) -> dict:
        """The constructor arguments."""
        config = {
            **super().get_config(),
            "num_thresholds": self.num_thresholds,
            "curve": self.curve,
            "summation_method": self.summation_method,
            "multi_label": self.multi_label,
            "num_labels": self.num_labels,
            "label_weights": None if self.label_weights is None else self.label_weights.tolist(),
            "from_logits": self.from_logits,
        }
        if self._init_from_thresholds:
            config["thresholds"] = self._thresholds[1:-1]
        return config


class FBetaScore(Metric):
    """The F-beta score (1 + β²) P R / (β² P + R) of precision P and recall R, per class.

    Keras's ``FBetaScore``, for y (samples, classes) (one-hot or multi-label):
    an entry is predicted positive when above ``threshold``, or, without one,
    when it is its row's largest (and not 0).

    Args:
        average: None (one score per class: an array, which fit cannot log; pick
            an average for ``compile``), "micro" (from counts over all classes),
            "macro" (the mean of the classes' scores) or "weighted" (their mean
            weighted by each class's positives).
        beta: β > 0: how many times as much recall counts as precision.
        threshold: a float in (0, 1], or None for each row's argmax.
        name: the metric's name.
        dtype: the counts' dtype (default float32).

    Example:
        >>> import wengert as wg
        >>> m = wg.metrics.FBetaScore(beta=2.0, threshold=0.5, average="micro")
        >>> round(m([[1, 0], [1, 1]], [[0.9, 0.2], [0.3, 0.8]]), 4)  # P = 1, R = 2/3
        0.7143
    """

    def __init__(self, average=None, beta=1.0, threshold=None, name="fbeta_score", dtype=None):
        super().__init__(name, dtype)
        if average not in (None, "micro", "macro", "weighted"):
            raise ValueError(
                f"{self.name}: average must be None, 'micro', 'macro' or 'weighted', got "
                f"{average!r}"
            )
        if not isinstance(beta, (int, float)) or beta <= 0:
            raise ValueError(f"{self.name}: beta must be a number > 0, got {beta!r}")
        if threshold is not None and (not isinstance(threshold, float) or not 0 < threshold <= 1):
            raise ValueError(
                f"{self.name}: threshold must be a float in (0, 1] or None, got {threshold!r}"
            )
        self.average = average
        self.beta = float(beta)
        self.threshold = threshold

    def _build(self, classes: int) -> None:
        shape = () if self.average == "micro" else (classes,)
        for count in (
            "true_positives",
            "false_positives",
            "false_negatives",
            "intermediate_weights",
        ):
            setattr(self, count, self.add_variable(shape, name=count))

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        """Add the batch's weighted counts per class.

        Args:
            y_true: 0/1 targets (samples, classes).
            y_pred: scores of the same shape.
            sample_weight: None, or one weight per sample.
        """
        dtype = as_dtype(self.dtype or "float32")  # compared in it, as Keras does
        y_true, y_pred = _array(y_true), _array(y_pred).astype(dtype)
        if y_pred.ndim != 2 or y_true.ndim != 2:
            raise ValueError(
                f"{self.name}: expects y_true and y_pred of shape (samples, classes), got "
                f"{list(y_true.shape)} and {list(y_pred.shape)}"
            )
        _check_shapes(self.name, y_true, y_pred)
        if not self.variables:
            self._build(y_pred.shape[1])
        if self.threshold is None:  # each row's largest, unless it is 0
            predicted = (y_pred >= y_pred.max(axis=-1, keepdims=True)) & (abs(y_pred) > 1e-9)
        else:
            predicted = y_pred > dtype.type(self.threshold)
        predicted, actual = predicted.astype("float64"), y_true.astype("float64")
        weights = (
            1.0 if sample_weight is None else _weights_like(self.name, sample_weight, y_pred.shape)
        )
        axis = None if self.average == "micro" else 0
        self.true_positives.assign_add((weights * predicted * actual).sum(axis=axis))
        self.false_positives.assign_add((weights * predicted * (1 - actual)).sum(axis=axis))
        self.false_negatives.assign_add((weights * (1 - predicted) * actual).sum(axis=axis))
        self.intermediate_weights.assign_add((weights * actual).sum(axis=axis))

    def result(self):
        """The score: a float when averaged, else an array of one per class."""
        if not self.variables:
            return 0.0
        eps = _losses.EPSILON
        tp, fp, fn, support = (v.numpy().astype("float64") for v in self.variables)
        precision, recall = tp / (tp + fp + eps), tp / (tp + fn + eps)
        b2 = self.beta**2
        score = (1 + b2) * precision * recall / (b2 * precision + recall + eps)
        if self.average == "weighted":
            return float((score * support / (support.sum() + eps)).sum())
        return score if self.average is None else float(score.mean())

    def get_config(self) -> dict:
        """The constructor arguments."""
        return {
            **super().get_config(),
            "average": self.average,
            "beta": self.beta,
            "threshold": self.threshold,
        }


class F1Score(FBetaScore):
    """The F1 score 2 P R / (P + R): ``FBetaScore`` with β = 1.

    Args:
        average: None (one score per class), "micro", "macro" or "weighted"; see
            ``FBetaScore``.
        threshold: a float in (0, 1], or None for each row's argmax.
        name: the metric's name.
        dtype: the counts' dtype (default float32).

    Example:
        >>> import wengert as wg
        >>> m = wg.metrics.F1Score(threshold=0.5)
        >>> y_true = [[1, 1, 1], [1, 0, 0], [1, 1, 0]]
        >>> m(y_true, [[0.2, 0.6, 0.7], [0.2, 0.6, 0.6], [0.6, 0.8, 0.0]]).round(4)
        array([0.5   , 0.8   , 0.6667])
    """

    def __init__(self, average=None, threshold=None, name="f1_score", dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self) -> dict:
        """The constructor arguments."""
        config = super().get_config()
        del config["beta"]
        return config


_FUNCTIONS = {
    "accuracy": accuracy,
    "binary_accuracy": binary_accuracy,
    "categorical_accuracy": categorical_accuracy,
    "sparse_categorical_accuracy": sparse_categorical_accuracy,
    **_losses._FUNCTIONS,
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
        MeanSquaredError,
        MeanAbsoluteError,
        RootMeanSquaredError,
        MeanAbsolutePercentageError,
        MeanSquaredLogarithmicError,
        BinaryCrossentropy,
        CategoricalCrossentropy,
        SparseCategoricalCrossentropy,
        Precision,
        Recall,
        AUC,
        FBetaScore,
        F1Score,
    )
}
_NAMES = {
    "accuracy": Accuracy,
    "acc": Accuracy,
    "binary_accuracy": BinaryAccuracy,
    "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "mean": Mean,
    "root_mean_squared_error": RootMeanSquaredError,
    "mape": MeanAbsolutePercentageError,
    "mean_absolute_percentage_error": MeanAbsolutePercentageError,
    "msle": MeanSquaredLogarithmicError,
    "mean_squared_logarithmic_error": MeanSquaredLogarithmicError,
    "precision": Precision,
    "recall": Recall,
    "auc": AUC,
    "f1_score": F1Score,
    "fbeta_score": FBetaScore,
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
    "kl_divergence": _losses.kl_divergence,
    "hinge": _losses.hinge,
    "squared_hinge": _losses.squared_hinge,
    "categorical_hinge": _losses.categorical_hinge,
    "poisson": _losses.poisson,
}


def _valid() -> str:
    return ", ".join(list(_NAMES) + list(_LOSS_NAMES) + list(_CLASSES))


def get(identifier):
    """A metric from a name, a config dict, a class, an object or a function.

    "accuracy"/"acc" give ``Accuracy`` (exact equality); a model should call
    ``resolve_accuracy(loss)`` for them instead, as Keras resolves them by
    the loss or the shapes.  Loss names ("mse", "mae", "binary_crossentropy",
    ...) give the mean of that loss over the samples seen; "precision", "recall",
    "auc", "root_mean_squared_error", "mape" and "msle" give those metric classes with
    default arguments, named as asked.

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
        >>> type(wg.metrics.get("auc")).__name__
        'AUC'
    """
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        if identifier in _NAMES:  # named as asked, as Keras's compile names it ("mape")
            return _NAMES[identifier](name=identifier)
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
    name = config["class_name"]
    cls = _CLASSES.get(name) or _NAMES.get(name) or custom_class(name, Metric)
    if cls is None:
        raise ValueError(f"metrics.deserialize: unknown metric {name!r}; valid names: {_valid()}")
    return cls.from_config(dict(config.get("config") or {}))
