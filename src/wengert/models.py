"""Models: ``Model`` (subclass it) and ``Sequential``; ``fit`` = tape + loss + optimizer.

A training step is the custom loop a user would write::

    with GradientTape() as tape:
        loss = loss_fn(y, model(x, training=True))
    optimizer.apply_gradients(zip(tape.gradient(loss, vars), vars))

``fit`` adds batching, metrics, callbacks and checkpoints around it.  Its
position (epoch, batch) and every random stream it uses are saved in a
training checkpoint, so a resumed run produces the same bits as one that was
never interrupted.
"""

from __future__ import annotations

import itertools
import math
import os
import warnings

from . import array_ops, checkpoints, core, losses, metrics, optimizers
from . import callbacks as callbacks_module
from . import random as random_module
from .backend import xp
from .layers.base import (
    InputLayer,
    Layer,
    SymbolicTensor,
    _is_symbolic,
    _map_structure,
    child_layers,
    custom_object_scope,
    get_mask,
    layer_class,
    layers_in_modules,
    set_mask,
    shape_probe,
)
from .module import Module
from .random import Generator, get_global_generator
from .tape import GradientTape
from .tensor import Tensor, wrap

__all__ = ["Model", "Sequential"]


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite; the message names epoch and batch."""


def _array(x):
    if x is None:
        return None
    if isinstance(x, Tensor):
        return x._value
    return xp.asarray(x)


def _batch_size_of(data) -> int:
    """The number of samples in a batch (of the first input, when there are several)."""
    return len(_leaves(data)[0])


class Model(Layer):
    """A layer with training: ``compile``, ``fit``, ``evaluate``, ``predict``, checkpoints.

    Subclass it and define ``call``; layers assigned to attributes are tracked.

    Example:
        >>> import wengert as wg
        >>> class TwoLayer(wg.Model):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.hidden = wg.layers.Dense(8, activation="relu")
        ...         self.out = wg.layers.Dense(1)
        ...     def call(self, x):
        ...         return self.out(self.hidden(x))
        >>> model = TwoLayer()
        >>> model(wg.ones((2, 3))).shape
        (2, 1)
    """

    def __new__(cls, *args, **kwargs):
        # Keras's functional API: Model(inputs, outputs) builds a model from a graph of
        # layer calls.
        if cls is Model and ("inputs" in kwargs or (args and _is_symbolic(args[0]))):
            cls = Functional
        return super().__new__(cls)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.optimizer = None
        self.compiled_loss = None
        self.compiled_metrics = []
        self._metric_weighted = []  # per compiled metric: does it take sample weights
        self._loss_tracker = metrics.Mean(name="loss")  # the epoch's running mean loss
        self._output_loss_trackers = []  # each output's, with one loss per output
        self._output_metrics = []  # (output key, metric) for models with several outputs
        self._output_weighted_metrics = []  # the same, for compile's weighted_metrics
        self._all_output_names = []  # every output's name, for losses and targets by name
        self._loss_weights = None
        self.stop_training = False
        self._paused = False  # pause_training(): leave fit with the epoch unfinished
        self.history = None
        self._position = (0, 0)  # next (epoch, batch) that fit will run
        self._resume = False  # set by load_checkpoint: the next fit continues at _position
        self._shuffle = None  # fit's shuffling stream
        self._epoch_start_state = None  # its state when the current epoch began
        self._epoch_totals = None  # running loss and metric state of an unfinished epoch
        self._ending_epoch = None  # (epoch, logs) while callbacks see an epoch's end
        self._batching = None  # [samples, batch size] of the fit a position belongs to

    # -- compile ------------------------------------------------------------------------
    def compile(
        self,
        optimizer="rmsprop",
        loss=None,
        metrics=None,
        weighted_metrics=None,
        run_eagerly=None,
        jit_compile=None,
        loss_weights=None,
    ):
        """Choose the optimizer, the loss and the metrics that ``fit``/``evaluate`` use.

        Args:
            optimizer: an optimizer object or name ("sgd", "adam", ...).
            loss: a loss object, function or name ("sparse_categorical_crossentropy", ...);
                for a model with several outputs, a list (in the outputs' order) or a
                dict (by output name) of them: the loss is their weighted sum, and each
                is logged as ``<output name>_loss``, as in Keras.
            loss_weights: the weights of the outputs' losses (a list or dict like ``loss``).
            metrics: a list of metric objects or names ("accuracy", ...), computed
                without sample weights, as in Keras.  For several outputs: a dict by
                output name, a list of lists (in the outputs' order), or one flat list
                applied to every output, as tf.keras reads it (Keras 3 instead pairs a
                flat list's entries with the outputs; write a list of lists to be read
                the same by both); each is logged as ``<output name>_<metric name>``.
            weighted_metrics: metrics that ``sample_weight`` and ``class_weight``
                weight, given as ``metrics`` is (for several outputs, each output's by
                its own sample weights); one whose name ``metrics`` already took is
                logged as ``weighted_<name>`` (``<output>_weighted_<name>``), as in Keras 3.
            run_eagerly: ignored (wengert always runs eagerly).
            jit_compile: ignored.
        """
        self.optimizer = optimizers.get(optimizer)
        if isinstance(loss, (list, tuple, dict)):
            # One loss per output (a model with several outputs), as Keras; None (or, in a
            # dict, no entry) leaves an output without a loss.
            self.compiled_loss = _map_structure(
                loss, lambda entry: None if entry is None else losses.get(entry)
            )
            self._loss_weights = loss_weights
            outputs = getattr(self, "_outputs", None)
            if isinstance(loss, dict) and isinstance(outputs, (list, tuple)):
                names = self._output_names(len(_leaves(outputs)))  # list outputs, by name
            else:
                names = list(loss) if isinstance(loss, dict) else self._output_names(len(loss))
            self._all_output_names = names
            self.compiled_loss = self._by_output(self.compiled_loss, "the losses", partial=True)
            self._loss_weights = self._by_output(self._loss_weights, "the loss weights")
            keyed = (
                self.compiled_loss.items()
                if isinstance(self.compiled_loss, dict)
                else zip(names, self.compiled_loss)
            )
            mean = type(self._loss_tracker)  # (`metrics` is compile's argument here)
            self._output_loss_trackers = [mean(name=f"{n}_loss") for n, f in keyed if f is not None]
            if not self._output_loss_trackers:  # no output has a loss: add_loss alone
                self.compiled_loss = None
        else:
            self.compiled_loss = losses.get(loss) if loss is not None else None
            self._loss_weights = loss_weights
            outs = len(getattr(self, "outputs", None) or []) if isinstance(self, Functional) else 0
            mean = type(self._loss_tracker)
            self._all_output_names = self._output_names(outs) if outs > 1 else []
            self._output_loss_trackers = (
                [mean(name=f"{n}_loss") for n in self._all_output_names]
                if outs > 1 and loss is not None
                else []
            )
        self._output_metrics, self._output_weighted_metrics = [], []
        if len(self._all_output_names) > 1 and (metrics or weighted_metrics):
            taken = {}  # names so far, shared so weighted ones step aside (Keras 3)
            self._output_metrics = self._metrics_per_output(metrics, "metrics", taken)
            self._output_weighted_metrics = self._metrics_per_output(
                weighted_metrics, "weighted_metrics", taken
            )
            metrics = weighted_metrics = None
        plain = [self._metric(m) for m in (metrics or [])]
        weighted = [self._metric(m) for m in (weighted_metrics or [])]
        taken = {m.name for m in plain}
        for m in weighted:
            if m.name in taken:
                m.name = f"weighted_{m.name}"
        self.compiled_metrics = plain + weighted
        self._metric_weighted = [False] * len(plain) + [True] * len(weighted)
        # Keras's rule for names that still repeat: the later ones get _1, _2, ...
        seen = {}
        for m in self.compiled_metrics:
            if m.name in seen:
                seen[m.name] += 1
                m.name = f"{m.name}_{seen[m.name]}"
            else:
                seen[m.name] = 0

    def _metrics_per_output(self, spec, argument: str, taken: dict) -> list:
        """[(output key, metric)] from compile's ``metrics`` or ``weighted_metrics`` for
        several outputs: a dict by output name, a list of lists in the outputs' order, or
        one list for every output.  Each metric is logged as ``<output name>_<metric
        name>``, made unique against the names in ``taken`` by Keras 3's rule
        (``CompileMetrics.result``): a weighted metric whose name is taken becomes
        ``<output name>_weighted_<metric name>``; a name still taken gets _1, _2, ..."""
        names = self._all_output_names
        outs = getattr(self, "_outputs", None)
        structure = (
            self.compiled_loss if isinstance(self.compiled_loss, (list, tuple, dict)) else outs
        )
        keys = list(structure) if isinstance(structure, dict) else list(range(len(names)))
        nested = isinstance(spec, (list, tuple)) and any(isinstance(m, (list, tuple)) for m in spec)
        unknown = sorted(set(spec) - set(names) - set(keys)) if isinstance(spec, dict) else []
        if unknown or (nested and len(spec) > len(names)):
            raise ValueError(
                f"compile: {argument} "
                + (f"names {unknown}" if unknown else f"has {len(spec)} lists")
                + f", but the model's outputs are {names}"
            )
        chosen = []
        for key, name in zip(keys, names):
            if isinstance(spec, dict):
                mine = spec.get(name, spec.get(key, []))
            elif nested:
                mine = spec[key] if key < len(spec) else []
            else:
                mine = spec or []
            loss = (
                self.compiled_loss[key] if structure is self.compiled_loss else self.compiled_loss
            )
            for m in mine if isinstance(mine, (list, tuple)) else [mine]:
                if m is None:  # no metric for this output
                    continue
                if isinstance(m, metrics.Metric):  # one object per output: a fresh copy each
                    m = type(m).from_config(m.get_config())
                metric = self._metric(m, loss)
                full = f"{name}_{metric.name}"
                if full in taken and argument == "weighted_metrics":
                    full = f"{name}_weighted_{metric.name}"
                taken[full] = taken.get(full, 0) + 1
                metric.name = full if taken[full] == 1 else f"{full}_{taken[full] - 1}"
                chosen.append((key, metric))
        return chosen

    def _needs_targets(self) -> bool:
        """Whether the compiled loss or metrics read targets (a model whose loss comes from
        add_loss alone trains on x only, as in Keras)."""
        return (
            self.compiled_loss is not None
            or bool(self.compiled_metrics)
            or (self.optimizer is None)
        )

    def _output_names(self, n: int) -> list:
        """The names of the model's n outputs: its output layers' (functional), else
        output_1, output_2, ..."""
        outs = getattr(self, "_outputs", None)
        leaves = _leaves(outs) if outs is not None else []
        if len(leaves) == n and all(isinstance(o, SymbolicTensor) for o in leaves):
            return [o.call.layer.name for o in leaves]
        return [f"output_{i + 1}" for i in range(n)]

    def _metric(self, m, loss=None):
        if isinstance(m, str) and m.lower() in ("accuracy", "acc"):
            return metrics.resolve_accuracy(loss or self.compiled_loss, name=m)
        return metrics.get(m)

    def get_layer(self, name=None, index=None) -> Layer:
        """The layer called ``name``, or at ``index`` in ``layers`` (Keras's).

        Example:
            >>> import wengert as wg
            >>> model = wg.Sequential([wg.layers.Input((2,)), wg.layers.Dense(1, name="out")])
            >>> model.get_layer("out") is model.get_layer(index=0)
            True
        """
        if index is not None:
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"Model '{self.name}': no layer named {name!r}")

    # -- steps (Keras's protocol: override train_step to customise fit) -----------------
    @property
    def metrics(self) -> list:
        """What ``fit`` and ``evaluate`` report and reset each epoch: the running mean loss
        ("loss"), then the compiled metrics.  A subclass with its own trackers returns
        them instead, as in Keras."""
        out = [self._loss_tracker, *self._output_loss_trackers]
        out += [m for _, m in self._output_metrics + self._output_weighted_metrics]
        out += self.compiled_metrics
        # Metric objects a subclass keeps in its attributes are tracked too, as Keras 3
        # does, so fit resets them each epoch.
        for name, value in vars(self).items():
            if name[0] != "_" and isinstance(value, metrics.Metric) and value not in out:
                out.append(value)
        return out

    def reset_metrics(self) -> None:
        """Reset every metric in ``self.metrics``."""
        for m in self.metrics:
            m.reset_state()

    def reset_states(self) -> None:
        """Zero the states of every stateful recurrent layer inside (``stateful=True``),
        as at the start of a new set of sequences (TensorFlow's Keras)."""
        for layer in _all_sublayers(self):
            if getattr(layer, "stateful", False) and hasattr(layer, "reset_states"):
                layer.reset_states()

    reset_state = reset_states  # Keras 3's name

    @classmethod
    def from_config(cls, config: dict, custom_objects=None):
        """A model from ``get_config()``'s output; a functional model's config (its graph of
        calls) gives a functional model, as ``keras.Model.from_config`` does.
        ``custom_objects`` maps the names of your own layer classes to them."""
        if custom_objects:
            with custom_object_scope(custom_objects):
                return cls.from_config(config)
        if cls is Model and "calls" in config:
            return Functional.from_config(config)
        return super().from_config(config)

    @property
    def metrics_names(self) -> list:
        """The names of ``metrics``, in the order ``evaluate`` returns their values."""
        return [m.name for m in self.metrics]

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The compiled loss of ``(y, y_pred)`` plus the layers' regularization penalties."""
        loss = self._loss(y, y_pred, sample_weight)
        penalties = self.losses  # regularization, added to the loss as Keras does
        if penalties:
            added = sum(penalties[1:], penalties[0])
            loss = added if loss is None else loss + added
        return loss

    def compute_metrics(self, x, y, y_pred, sample_weight=None) -> dict:
        """Update the compiled metrics with a batch; return ``get_metrics_result()``."""
        _update_metrics(self.compiled_metrics, self._metric_weighted, y, y_pred, sample_weight)
        if self._output_metrics or self._output_weighted_metrics:
            y = self._by_output(y, "y")
        for key, metric in self._output_metrics:  # each output's own, on its targets
            metric.update_state(y[key], y_pred[key])
        if self._output_weighted_metrics:
            weights = self._weights_by_output(sample_weight, y_pred)
            for key, metric in self._output_weighted_metrics:  # by that output's weights
                if weights[key] is None:
                    metric.update_state(y[key], y_pred[key])
                else:
                    metric.update_state(y[key], y_pred[key], sample_weight=weights[key])
        return self.get_metrics_result()

    def get_metrics_result(self) -> dict:
        """``{name: result}`` of every metric in ``self.metrics``, as Python floats."""
        return _plain_logs({m.name: m.result() for m in self.metrics})

    def train_step(self, data) -> dict:
        """One optimizer step on a batch; returns the epoch's logs so far, as Keras.

        ``data`` is ``(x, y)`` or ``(x, y, sample_weight)``.  Override it (Keras's
        "customising what happens in fit"): compute a loss under a ``GradientTape``,
        apply the gradients, update the metrics in ``self.metrics`` and return a dict
        of their results; ``fit`` keeps the batching, callbacks and checkpoints.
        """
        x, y, sample_weight = _unpack(data)
        with GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(x, y, y_pred, sample_weight)
        # Read after the forward pass: a subclassed model creates its weights on first call.
        variables = self.trainable_weights
        grads = tape.gradient(loss, variables)
        self.optimizer.apply_gradients(zip(grads, variables))
        self._track_losses(loss, _batch_size_of(x))
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def _track_losses(self, loss, batch_size) -> None:
        self._loss_tracker.update_state(loss, sample_weight=batch_size)
        for tracker, part in zip(
            self._output_loss_trackers, getattr(self, "_last_output_losses", [])
        ):
            tracker.update_state(part, sample_weight=batch_size)

    def test_step(self, data) -> dict:
        """``evaluate``'s step on a batch ``(x, y[, sample_weight])``; returns the logs so far."""
        x, y, sample_weight = _unpack(data)
        y_pred = self(x, training=False)
        loss = self.compute_loss(x, y, y_pred, sample_weight, training=False)
        self._track_losses(loss, _batch_size_of(x))
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def predict_step(self, data):
        """``predict``'s step on a batch of inputs (or ``(x, ...)``): the outputs."""
        x = _unpack(data)[0] if isinstance(data, tuple) else data
        return self(x, training=False)

    def _loss(self, y, y_pred, sample_weight=None):
        if self.compiled_loss is None:
            if self.losses:  # a model whose loss comes from add_loss alone (Keras)
                return None
            raise ValueError(
                f"Model '{self.name}': no loss: call compile(loss=...) or add one with "
                "add_loss before training"
            )
        if isinstance(self.compiled_loss, (list, tuple, dict)) or isinstance(
            y_pred, (list, tuple, dict)
        ):
            return self._output_losses(y, y_pred, sample_weight)
        if sample_weight is None:
            return self.compiled_loss(y, y_pred)
        return self.compiled_loss(y, y_pred, sample_weight=sample_weight)

    def _output_losses(self, y, y_pred, sample_weight):
        """The weighted sum of each output's loss; each is kept for its tracker."""
        spec, weights = self.compiled_loss, self._loss_weights
        if not isinstance(spec, (list, tuple, dict)):  # one loss for every output (Keras)
            spec = (
                {k: spec for k in y_pred}
                if isinstance(y_pred, dict)
                else [spec] * len(_leaves(y_pred))
            )
        keys = list(spec) if isinstance(spec, dict) else range(len(spec))
        if isinstance(spec, dict) != isinstance(y_pred, dict) or len(_leaves(y_pred)) != len(keys):
            raise ValueError(
                f"Model '{self.name}': {len(keys)} losses for outputs "
                f"{_describe_structure(y_pred)}; give one loss per output, in the outputs' "
                "structure (a list, or a dict by output name)"
            )
        y = self._by_output(y, "y", partial=any(spec[k] is None for k in keys))
        if isinstance(y, dict) != isinstance(y_pred, dict):
            raise ValueError(
                f"Model '{self.name}': targets {_describe_structure(y)} for outputs "
                f"{_describe_structure(y_pred)}; give them in the outputs' structure, or a dict "
                "by output name"
            )
        sample_weight = self._weights_by_output(sample_weight, y_pred)
        total, parts = None, []
        for key in keys:
            fn, per_sample = spec[key], sample_weight[key]
            if fn is None:  # an output without a loss (Keras's None)
                continue
            # each output's loss reduces its own weights as Keras 3's does (by default
            # "sum_over_batch_size": sum(weight * loss) / batch size)
            part = (
                fn(y[key], y_pred[key])
                if per_sample is None
                else fn(y[key], y_pred[key], sample_weight=per_sample)
            )
            w = 1.0 if weights is None else float(weights[key])
            part = part * w  # logged weighted, as Keras 3's per-output losses are
            parts.append(part)
            total = part if total is None else total + part
        self._last_output_losses = parts
        return total

    def _weights_by_output(self, sample_weight, outputs, what: str = "sample_weight"):
        """Each output's sample weights, in the structure of ``outputs`` (a list, or a dict
        by output name), as Keras 3 gives them to each output's loss and weighted metrics:
        one array weights every output; a list, or a dict by output name, gives one per
        output (None: that output unweighted).  Structures and sample counts that do not
        match raise ValueError, naming the output."""
        keys = list(outputs) if isinstance(outputs, dict) else list(range(len(outputs)))
        names = keys if isinstance(outputs, dict) else self._output_names(len(keys))
        if not isinstance(sample_weight, (list, tuple, dict)):
            given = {key: sample_weight for key in keys}
        else:
            given = self._by_output(sample_weight, what)
            if isinstance(given, dict) != isinstance(outputs, dict) or (
                set(given) != set(keys) if isinstance(given, dict) else len(given) != len(keys)
            ):
                raise ValueError(
                    f"Model '{self.name}': {what} is {_describe_structure(given)} for the "
                    f"{len(keys)} outputs {names}; give one array per output (None for one "
                    "left unweighted), in the outputs' structure or a dict by output name, "
                    "or one array for every output"
                )
        for key, name in zip(keys, names):
            w, samples = _array(given[key]), _array(outputs[key]).shape[0]
            if w is not None and w.ndim and len(w) != samples:
                raise ValueError(
                    f"Model '{self.name}': output '{name}' has {samples} samples but its "
                    f"{what} has {len(w)}"
                )
        return given if isinstance(outputs, dict) else [given[key] for key in keys]

    def _sample_weight_for(self, y, sample_weight, what: str):
        """The sample weights that fit, evaluate and *_on_batch pass to the steps, as
        arrays.  With several outputs, as Keras 3's data adapters: a list or dict holds
        one array per output; one array is repeated for every output and must hold one
        weight per sample."""
        if sample_weight is None or not isinstance(y, (list, tuple, dict)):
            return _array(sample_weight)
        if isinstance(sample_weight, dict):
            weights = {k: _array(v) for k, v in sample_weight.items()}
        elif isinstance(sample_weight, (list, tuple)) and not all(
            isinstance(v, (int, float)) for v in sample_weight
        ):  # (a list of numbers is one array)
            weights = [_array(v) for v in sample_weight]
        else:
            weights = _array(sample_weight)
            if weights.ndim > 2 or (weights.ndim == 2 and weights.shape[1] != 1):
                raise ValueError(
                    f"{what}: one sample_weight array for a model with several outputs holds "
                    f"one weight per sample, shape ({_count(y)},); got shape "
                    f"{tuple(weights.shape)} (give one array per output for other shapes)"
                )
        return self._weights_by_output(weights, self._by_output(y, "y"))

    def _by_output(self, value, what: str, partial: bool = False):
        """A dict keyed by output name, for a model whose outputs are a list: as that list
        (Keras matches losses, weights and targets by output name).  With ``partial``,
        outputs the dict leaves out get None (an output without a loss needs no target)."""
        outputs = getattr(self, "_outputs", None)
        names = self._all_output_names
        if isinstance(value, dict) and isinstance(outputs, dict) and partial:
            return {k: value.get(k) for k in outputs}
        if not isinstance(value, dict) or isinstance(outputs, dict):
            return value
        unknown = sorted(set(value) - set(names))
        if not names or unknown or (set(value) != set(names) and not partial):
            if names:
                raise ValueError(
                    f"Model '{self.name}': {what} given by name {sorted(value)}, but the "
                    f"outputs are {names}" + (f" ({unknown} are not among them)" if unknown else "")
                )
            return value
        return [value.get(n) for n in names]

    # -- fit ------------------------------------------------------------------------------
    def fit(
        self,
        x=None,
        y=None,
        batch_size=None,
        epochs=1,
        verbose="auto",
        callbacks=None,
        validation_split=0.0,
        validation_data=None,
        shuffle=True,
        initial_epoch=None,
        seed=None,
        raise_on_nan=True,
        sample_weight=None,
        class_weight=None,
        validation_batch_size=None,
        validation_freq=1,
        steps_per_epoch=None,
        validation_steps=None,
    ):
        """Train for ``epochs`` epochs on ``(x, y)`` in batches; returns a ``History``.

        Args:
            x: inputs (array or Tensor), first axis = samples; or a source of batches
                (``wg.data.Dataset``, ``wg.datasets.Batches``, a generator, any iterable
                of ``(x, y)``, ``(x, y, sample_weight)`` or ``x`` batches, as Keras takes
                a dataset), iterated afresh each epoch, or ``steps_per_epoch`` batches at
                a time.
            y: targets, first axis = samples.
            batch_size: samples per step (default 32); not with a source of batches,
                which gives its own (ValueError, as TF Keras).
            epochs: the epoch to stop after (counting from 0, as Keras).
            verbose: 0 silent, 1 progress bar on a terminal, 2 one line per epoch; "auto" = 1.
            callbacks: a list of ``wg.callbacks.Callback``.
            validation_split: fraction of the data (the last samples) held out for validation.
            validation_data: ``(x_val, y_val)`` or ``(x_val, y_val, sample_weight)`` to
                evaluate after each epoch.
            shuffle: reshuffle the training samples each epoch.
            initial_epoch: the epoch to start from.  Default: 0, as in Keras (each call
                trains anew), except right after ``load_checkpoint``: then the epoch and
                batch where the saved run stood, with its history continued.
            seed: seed of the shuffling stream (default: drawn from ``wg.random``).
            sample_weight: one weight per training sample, for the loss and the
                ``weighted_metrics`` (not the plain ``metrics``, as in Keras).  For
                several outputs: one array for every output, or a list (the outputs'
                order) or dict (by output name) of one array per output, None for one
                left unweighted; each output's loss and weighted metrics use its own.
            class_weight: ``{class index: weight}``: each sample weighted by its class
                (integer labels, or the argmax of one-hot ones), times ``sample_weight``.
                A single output only, as in Keras 3.  With a source of batches, applied
                to each ``(x, y[, sample_weight])`` batch, as Keras does.
            validation_batch_size: batch size of the validation pass (default batch_size).
            validation_freq: validate every this many epochs (an int), or after the
                epochs listed (1-based, as Keras).
            raise_on_nan: stop with ``NonFiniteLossError`` naming epoch and batch when the
                loss is not finite.  False, or a ``TerminateOnNaN`` among the callbacks:
                no error (the callback then stops training, as in Keras).
            steps_per_epoch: with a source of batches, this many batches make an epoch
                (the source is then read on across epochs, as Keras reads a generator; a
                re-iterable one, such as a ``wg.data.Dataset``, starts a fresh pass once
                all its batches have been read, as Keras 3).  Required for an infinite
                source (``cardinality()`` of -1, as ``ds.repeat()``).  A generator that
                runs out stops training with a warning, as in Keras.
            validation_steps: the number of validation batches per validation pass
                (default: all of them); required for an infinite validation source.

        A callback that sets ``model.stop_training`` ends training after the current
        batch; the epoch's logs (validation included) and ``on_epoch_end`` still follow,
        as in Keras.  ``pause_training()`` instead leaves the epoch unfinished, to be
        continued exactly from a checkpoint.

        Returns:
            The ``History`` callback, whose ``history`` dict lists each epoch's logs.
        """
        if self.optimizer is None:
            raise ValueError(f"Model '{self.name}': call compile(optimizer, loss) before fit")
        source = _batch_source(x)
        steps_per_epoch = _steps_arg(steps_per_epoch, "fit", "steps_per_epoch")
        validation_steps = _steps_arg(validation_steps, "fit", "validation_steps")
        val_source = None
        if validation_data is not None and not isinstance(validation_data, (tuple, list)):
            val_source = _batch_source(validation_data)
        if val_source is not None and validation_steps is None and _is_infinite(val_source):
            raise ValueError(
                "fit: When passing an infinitely repeating dataset as validation_data, please "
                "specify `validation_steps` (the number of batches of each validation pass)"
            )
        if source is not None:
            if y is not None or sample_weight is not None:
                raise ValueError(
                    "fit: a source of batches carries its own targets and weights; pass no "
                    "y or sample_weight with it"
                )
            if batch_size is not None:
                raise ValueError(
                    "fit: batch_size should not be specified when x is a dataset/generator: "
                    "it gives its own batches (set their size where it is made, e.g. "
                    "Dataset.batch(n))"
                )
            if validation_split:
                raise ValueError("fit: validation_split needs arrays, not a source of batches")
            if steps_per_epoch is None and _is_infinite(source):
                raise ValueError(
                    "fit: When passing an infinitely repeating dataset, please specify a "
                    "`steps_per_epoch` (the number of batches that make an epoch)"
                )
            return self._fit(
                source, None, None, None, batch_size, epochs, verbose, callbacks,
                validation_data, False, initial_epoch, seed, raise_on_nan,
                validation_batch_size, validation_freq, steps_per_epoch,
                class_weight, validation_steps,
            )  # fmt: skip
        x = _inputs(x)
        y = _inputs(y) if y is not None else None
        if x is None:
            raise ValueError("fit: x is required")
        if y is None and type(self).train_step is Model.train_step and self._needs_targets():
            raise ValueError(
                "fit: y is required (without y, a train_step of your own gets each batch of "
                "x as its data, as in Keras)"
            )
        if y is not None and _count(x) != _count(y):
            raise ValueError(f"fit: x has {_count(x)} samples but y has {_count(y)}")
        if isinstance(y, (list, tuple, dict)):
            if class_weight is not None:  # (Keras 3 refuses it too)
                raise ValueError(
                    "fit: class_weight is only supported for a model with a single output; "
                    "give each output's weights as sample_weight (a list or dict by output)"
                )
            w = self._sample_weight_for(y, sample_weight, "fit")
        else:
            w = None if y is None else _sample_weights(y, _array(sample_weight), None)
        if validation_data is None and validation_split:
            if not 0 < validation_split < 1:
                raise ValueError(f"fit: validation_split must be in (0, 1), got {validation_split}")
            if y is None:
                raise ValueError("fit: validation_split needs y")
            split = int(math.floor(_count(x) * (1 - validation_split)))
            held_out = (_rows(x, slice(split, None)), _rows(y, slice(split, None))) + (
                () if w is None else (_rows(w, slice(split, None)),)
            )
            x, y, validation_data = (
                _rows(x, slice(None, split)),
                _rows(y, slice(None, split)),
                held_out,
            )
            w = None if w is None else _rows(w, slice(None, split))
        if class_weight is not None and y is not None and not isinstance(y, (list, tuple, dict)):
            # the training part only: as in Keras 3, validation losses are not class-weighted
            w = _sample_weights(y, w, class_weight)
        return self._fit(
            None, x, y, w, batch_size, epochs, verbose, callbacks, validation_data, shuffle,
            initial_epoch, seed, raise_on_nan, validation_batch_size, validation_freq, None,
            None, validation_steps,
        )  # fmt: skip

    def _fit(
        self, source, x, y, w, batch_size, epochs, verbose, callbacks, validation_data, shuffle,
        initial_epoch, seed, raise_on_nan, validation_batch_size, validation_freq,
        steps_per_epoch, class_weight=None, validation_steps=None,
    ):  # fmt: skip
        """fit's loop, over arrays (x, y, w) or over a source of batches."""
        batch_size = 32 if batch_size is None else int(batch_size)
        # A source's reading state: ``feed``, the pass being read (with steps_per_epoch it
        # goes on across epochs); ``read_any``, whether this call has had a batch yet;
        # ``ran_dry``, whether the epoch got no batch at all.
        feed, read_any, ran_dry, one_shot = None, False, False, False
        if source is None:
            n = _count(x)
            steps = max(1, math.ceil(n / batch_size))
            self._check_stateful_batches("fit", n, batch_size)
        else:
            n = 0
            card = _cardinality(source)
            steps = steps_per_epoch or (card if card is not None and card >= 0 else None)
            # An iterator (a generator) is read once; anything else can be passed over again.
            one_shot = hasattr(source, "__next__")
        verbose = 1 if verbose == "auto" else int(verbose)

        resuming = self._resume and initial_epoch is None
        self._resume = False
        if self._shuffle is None or (seed is not None and not resuming):
            self._shuffle = Generator(
                seed
                if seed is not None
                else int(get_global_generator().uniform((), 0, 2**62, "int64"))
            )
        if resuming:
            start_epoch, start_batch = self._position
            saved = self._batching
            if source is None and start_batch and saved and saved != [n, batch_size]:
                raise ValueError(
                    f"fit: the checkpoint stopped after batch {start_batch} of an epoch of "
                    f"{saved[0]} samples in batches of {saved[1]}; resume with the same data "
                    f"and batch_size (got {n} samples in batches of {batch_size})"
                )
            if source is not None and start_batch:
                warnings.warn(
                    f"fit: a source of batches cannot be replayed from batch {start_batch}; "
                    f"epoch {start_epoch + 1} starts again from its first batch",
                    stacklevel=3,
                )
                start_batch = 0
        else:
            start_epoch, start_batch = int(initial_epoch or 0), 0

        self._batching = None if source is not None else [n, batch_size]

        def epoch_batches(order, first, epoch):
            """(batch index, the data train_step gets) for the batches of one epoch."""
            nonlocal feed, read_any, ran_dry
            if source is None:
                for batch in range(first, steps):
                    idx = order[batch * batch_size : (batch + 1) * batch_size]
                    xb = _batch_of(x, idx)
                    if y is None:  # x alone: the data a custom train_step gets (a VAE's)
                        yield batch, xb
                    elif w is None:
                        yield batch, (xb, _batch_of(y, idx))
                    else:
                        yield batch, (xb, _batch_of(y, idx), _batch_of(w, idx))
                return
            fresh = feed is None or steps_per_epoch is None
            if fresh:
                feed = iter(source)
            count = 0
            while steps_per_epoch is None or count < steps_per_epoch:
                try:
                    item = next(feed)
                except StopIteration:
                    if count == 0 and not fresh and not one_shot:
                        # the last epoch used the pass up: a fresh one, as Keras 3 starts
                        feed, fresh = iter(source), True
                        continue
                    break
                data = self._source_data(item, "fit", not read_any, class_weight)
                read_any = True
                count += 1
                yield count - 1, data
            else:
                return  # steps_per_epoch batches: the next epoch reads on
            feed = None  # used up: a re-iterable source starts a fresh pass next epoch
            if count and steps_per_epoch is None:
                return  # one whole pass
            if not read_any:
                raise ValueError("fit: the source of batches gave no batches")
            ran_dry = not count
            read = f"{count} of {steps_per_epoch}" if steps_per_epoch else f"{count}"
            if ran_dry or one_shot:
                # Keras's message.  A partial epoch still ends (logs, on_epoch_end); an
                # empty one does not (ran_dry).
                need = (
                    "at least `steps_per_epoch * epochs` batches"
                    if steps_per_epoch
                    else "one pass per epoch (a re-iterable source, such as a wg.data.Dataset)"
                )
                warnings.warn(
                    "fit: Your input ran out of data; interrupting training: the source of "
                    f"batches ran out after {read} batches of epoch {epoch + 1}. Make sure "
                    f"that it can generate {need}; a generator is read only once.",
                    stacklevel=4,
                )
                self.stop_training = True
            else:
                warnings.warn(
                    f"fit: the source of batches ran out after {read} batches of epoch "
                    f"{epoch + 1}; the epoch ends short and the next starts a fresh pass "
                    "(as Keras 3)",
                    stacklevel=4,
                )

        history = (
            self.history
            if resuming and isinstance(self.history, callbacks_module.History)
            else callbacks_module.History()
        )
        # History last, as in Keras: it records what the other callbacks add to the logs.
        cbs = list(callbacks or [])
        if verbose:
            cbs.append(callbacks_module.ProgressLogger(verbose))
        cbs.append(history)
        cb = callbacks_module.CallbackList(
            cbs,
            model=self,
            params={"epochs": epochs, "steps": steps, "verbose": verbose, "batch_size": batch_size},
        )
        self.history = history
        self.stop_training = False
        self._paused = False
        raise_on_nan = raise_on_nan and not any(
            isinstance(c, callbacks_module.TerminateOnNaN) for c in cbs
        )
        cb.on_train_begin()
        epoch = start_epoch
        last_epoch_logs = {}
        try:
            for epoch in range(start_epoch, epochs):
                if start_batch == 0 or self._epoch_start_state is None:
                    self._epoch_start_state = self._shuffle.get_state()
                else:  # resuming mid-epoch: replay the same permutation
                    self._shuffle.set_state(self._epoch_start_state)
                order = self._shuffle.permutation(n) if shuffle else xp.arange(n)
                if source is not None:
                    order = None  # the source orders its own batches
                self.reset_metrics()
                if start_batch and self._epoch_totals is not None:  # resume the epoch's logs too
                    _restore_totals(self, self._epoch_totals)
                cb.on_epoch_begin(epoch)
                logs = {}
                for batch, data in epoch_batches(order, start_batch, epoch):
                    cb.on_train_batch_begin(batch)
                    logs = _plain_logs(self.train_step(data))
                    loss_value = logs.get("loss", 0.0)
                    if not math.isfinite(loss_value) and raise_on_nan:
                        raise NonFiniteLossError(
                            f"Model '{self.name}': the loss became {loss_value} at epoch "
                            f"{epoch + 1}, batch {batch + 1} (pass raise_on_nan=False to continue)"
                        )
                    self._position = (epoch, batch + 1)
                    # The metrics' running state is what a checkpoint of this position holds:
                    # taken from them when one is saved now (_totals_now), kept when paused.
                    self._epoch_totals = _LIVE
                    cb.on_train_batch_end(batch, dict(logs))
                    if self.stop_training or self._paused:
                        break
                if self._paused and (steps is None or self._position[1] < steps):
                    self._epoch_totals = self._totals_now()
                    break  # paused mid-epoch: the epoch stays unfinished, to be resumed
                if source is not None and ran_dry:
                    # no batch this epoch: no logs, no on_epoch_end (Keras's warning);
                    # on_train_end gets the last epoch's logs
                    logs = last_epoch_logs
                    break
                start_batch = 0
                self._position = (epoch + 1, 0)
                self._epoch_totals = None
                # The last step's logs (the metrics' running values), or the metrics themselves
                # when no step ran this call (resumed right at an epoch's end).
                logs = dict(logs) if logs else self.get_metrics_result()
                due = (
                    (epoch + 1) % validation_freq == 0
                    if isinstance(validation_freq, int)
                    else epoch + 1 in validation_freq
                )
                if validation_data is not None and due:
                    parts = (
                        list(validation_data)
                        if isinstance(validation_data, (tuple, list))
                        else [validation_data]  # a source of batches, or x alone
                    )
                    x_val, y_val, *w_val = parts + [None] * (2 - len(parts))
                    val = self.evaluate(
                        x_val,
                        y_val,
                        batch_size=validation_batch_size or batch_size,
                        verbose=0,
                        return_dict=True,
                        sample_weight=w_val[0] if w_val else None,
                        callbacks=cb,  # as Keras: the test hooks of fit's callbacks run
                        steps=validation_steps,
                    )
                    logs.update({f"val_{k}": v for k, v in val.items()})
                self._ending_epoch = (epoch, logs)  # save_checkpoint adds it to the history
                try:
                    cb.on_epoch_end(epoch, logs)
                finally:
                    self._ending_epoch = None
                last_epoch_logs = logs
                if self.stop_training or self._paused:
                    break
        finally:
            if self._epoch_totals is _LIVE:  # left mid-epoch (an error): keep the state now
                self._epoch_totals = self._totals_now()
        cb.on_train_end(logs if epochs > start_epoch else None)
        return history

    # -- evaluate / predict ----------------------------------------------------------------
    def evaluate(
        self,
        x=None,
        y=None,
        batch_size=None,
        verbose="auto",
        sample_weight=None,
        return_dict=False,
        callbacks=None,
        steps=None,
    ):
        """Loss and metrics on ``(x, y)``: ``[loss, *metrics]`` (or just the loss) as Keras.

        With ``return_dict=True``, a dict ``{"loss": ..., metric name: ...}``.  The
        callbacks' ``on_test_*`` hooks run around the batches.  ``x`` may be a source of
        ``(x, y[, sample_weight])`` batches, as for ``fit``, read one batch at a time.
        ``steps``: evaluate on this many batches (default: all of them, the whole pass
        of a source); required for an infinite source (``ds.repeat()``), as in Keras.
        """
        steps = _steps_arg(steps, "evaluate", "steps")
        source = _batch_source(x)
        if source is not None:
            card = _source_steps(source, steps, "evaluate")
            items = iter(source) if steps is None else itertools.islice(source, steps)
            batches = (self._source_data(item, "evaluate", i == 0) for i, item in enumerate(items))
            return self._evaluate(batches, None, callbacks, return_dict, card, steps)
        x = _inputs(x)
        y = _inputs(y) if y is not None else None
        if y is None and type(self).test_step is Model.test_step and self._needs_targets():
            raise ValueError(
                "evaluate: y is required (without y, a test_step of your own gets each batch "
                "of x as its data)"
            )
        if y is not None and _count(x) != _count(y):
            raise ValueError(f"evaluate: x has {_count(x)} samples but y has {_count(y)}")
        w = self._sample_weight_for(y, sample_weight, "evaluate")
        if w is not None and not isinstance(w, (list, dict)) and len(w) != _count(x):
            raise ValueError(f"evaluate: x has {_count(x)} samples but sample_weight has {len(w)}")
        batch_size = 32 if batch_size is None else int(batch_size)
        self._check_stateful_batches("evaluate", _count(x), batch_size)
        n = _count(x) if steps is None else min(_count(x), steps * batch_size)
        batches = []
        for start in range(0, n, batch_size):
            part = slice(start, start + batch_size)
            xb = _batch_of(x, part)
            if y is None:
                batches.append(xb)
                continue
            yb = _batch_of(y, part)
            batches.append((xb, yb) if w is None else (xb, yb, _batch_of(w, part)))
        return self._evaluate(batches, batch_size, callbacks, return_dict, len(batches), steps)

    def _evaluate(self, batches, batch_size, callbacks, return_dict, steps, wanted=None):
        """The test loop over ``batches`` (any iterable, read lazily): ``steps`` is what
        the callbacks are told (None: unknown); ``wanted``, the steps asked for."""
        cb = self._callback_list(callbacks, "evaluate", batch_size, steps)
        self.reset_metrics()  # the model's own metric objects, reset (as Keras)
        cb.on_test_begin()
        logs = {}
        count = 0
        for batch, data in enumerate(batches):
            cb.on_test_batch_begin(batch)
            logs = _plain_logs(self.test_step(data))
            cb.on_test_batch_end(batch, dict(logs))
            count = batch + 1
        if wanted is not None and count < wanted:
            warnings.warn(
                f"evaluate: Your input ran out of data: {count} of the {wanted} steps asked "
                "for (steps=...)",
                stacklevel=3,
            )
        result = logs if logs else self.get_metrics_result()
        cb.on_test_end(dict(result))
        return _logs_result(result, return_dict)

    def train_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """One ``train_step`` on one batch; its logs as ``evaluate`` returns them (Keras's).

        Example:
            >>> import numpy as np, wengert as wg
            >>> model = wg.Sequential([wg.layers.Input((2,)), wg.layers.Dense(1)])
            >>> model.compile("sgd", "mse")
            >>> isinstance(model.train_on_batch(np.ones((4, 2)), np.zeros((4, 1))), float)
            True
        """
        logs = _plain_logs(self.train_step(self._batch_data(x, y, sample_weight, "train_on_batch")))
        return _logs_result(logs, return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """One ``test_step`` on one batch, metrics reset first; its logs (Keras's).

        Example:
            >>> import numpy as np, wengert as wg
            >>> model = wg.Sequential([wg.layers.Input((2,)), wg.layers.Dense(1)])
            >>> model.compile("sgd", "mse")
            >>> model.test_on_batch(np.zeros((4, 2)), np.zeros((4, 1)))
            0.0
        """
        self.reset_metrics()
        logs = _plain_logs(self.test_step(self._batch_data(x, y, sample_weight, "test_on_batch")))
        return _logs_result(logs, return_dict)

    def _batch_data(self, x, y, sample_weight, what):
        """A step's data from one batch: x, (x, y) or (x, y, sample_weight), as Tensors (x
        and y may be lists or dicts: several inputs or outputs)."""
        if y is None:
            return _tensors(_inputs(x))
        y = _inputs(y)
        w = self._sample_weight_for(y, sample_weight, what)
        data = (_tensors(_inputs(x)), _tensors(y))
        return data if w is None else data + (_tensors(w),)

    def _source_data(self, item, what: str, first: bool, class_weight=None):
        """A step's data from a source's batch, with fit's checks: targets present where
        the loss needs them, a batch that is one sample (no .batch()) caught on the first,
        and ``class_weight`` turned into the batch's sample weights (as Keras does)."""
        data = _as_batch(item)
        x, y, w = _unpack(data) if isinstance(data, tuple) else (data, None, None)
        step = Model.train_step if what == "fit" else Model.test_step
        method = "train_step" if what == "fit" else "test_step"
        if first and getattr(type(self), method) is step:
            if y is None and self._needs_targets():
                raise ValueError(
                    f"{what}: y is required: the source of batches gives x alone; make it "
                    f"give (x, y) or (x, y, sample_weight) batches (without y, a {method} "
                    "of your own gets each batch of x as its data, as in Keras)"
                )
            self._check_batched(x, what)
        if class_weight is None:
            return data
        if y is None:
            raise ValueError(f"{what}: class_weight needs targets, but the source gives x alone")
        if isinstance(y, (list, tuple, dict)):  # (Keras 3 refuses it too)
            raise ValueError(
                f"{what}: class_weight is only supported for a model with a single output; "
                "give each output's weights as sample weights in the batches instead"
            )
        weights = _sample_weights(_array(y), _array(w), class_weight)
        return (x, y, wrap(weights, "batch"))

    def _check_batched(self, x, what: str) -> None:
        """A ValueError when each input of a source's batch has one axis fewer than the
        model's declared input: single samples, from a dataset that was not batched."""
        inputs = getattr(self, "_inputs", None)
        if inputs is not None:
            shapes = [(None,) + tuple(getattr(i, "shape", ())) for i in _leaves(inputs)]
        elif getattr(self, "_input_shape", None) is not None:
            shapes = [tuple(self._input_shape)]
        else:
            return  # (a subclassed model declares no input shape)
        leaves = [a for a in _leaves(x) if a is not None]
        if len(leaves) != len(shapes) or not all(
            len(_array(a).shape) == len(shape) - 1 for a, shape in zip(leaves, shapes)
        ):
            return
        got = tuple(_array(leaves[0]).shape)
        raise ValueError(
            f"{what}: the source's batches of x have shape {got}, one axis fewer than the "
            f"model's input {shapes[0]}: did you forget .batch()? A source gives batches, "
            "not single samples"
        )

    def predict_on_batch(self, x):
        """``predict_step`` on one batch, as an ndarray.

        Example:
            >>> import numpy as np, wengert as wg
            >>> model = wg.Sequential([wg.layers.Input((2,)), wg.layers.Dense(1)])
            >>> model.predict_on_batch(np.zeros((3, 2))).shape
            (3, 1)
        """
        return _array(self.predict_step(wrap(_array(x), "batch")))

    def pause_training(self) -> None:
        """Leave ``fit`` after the current batch with the epoch unfinished.

        Unlike ``stop_training``, the epoch does not end (no epoch logs, no
        ``on_epoch_end``): ``save_checkpoint`` records the exact position, and ``fit``
        after ``load_checkpoint`` finishes the epoch as if never interrupted.  For signal
        handlers (``wengert train`` uses it on SIGINT/SIGTERM).

        Example:
            >>> import numpy as np, wengert as wg
            >>> model = wg.Sequential([wg.layers.Input((1,)), wg.layers.Dense(1)])
            >>> model.compile(optimizer="sgd", loss="mse")
            >>> class PauseAfterOne(wg.callbacks.Callback):
            ...     def on_train_batch_end(self, batch, logs=None):
            ...         self.model.pause_training()
            >>> x = np.zeros((4, 1), "float32")
            >>> history = model.fit(x, x, batch_size=2, verbose=0, callbacks=[PauseAfterOne()])
            >>> history.history  # the epoch is unfinished: no row yet
            {}
        """
        self._paused = True

    def predict(self, x, batch_size=None, verbose=0, callbacks=None, steps=None):
        """The model's outputs for ``x`` (inference mode), as an ndarray.

        The callbacks' ``on_predict_*`` hooks run around the batches (a batch's logs hold
        its ``"outputs"``, as in Keras).  ``steps``: predict this many batches (default:
        all of them); required for an infinite source (``ds.repeat()``), as in Keras.
        """
        batch_size = 32 if batch_size is None else int(batch_size)
        steps = _steps_arg(steps, "predict", "steps")
        source = _batch_source(x)
        if source is not None:  # a wg.data.Dataset, a generator, a PyDataset: its batches
            limit = steps
            steps = _source_steps(source, limit, "predict")
            items = iter(source) if limit is None else itertools.islice(source, limit)
            batches = (_as_batch(item) for item in items)
        else:
            x = _inputs(x)
            n = _count(x)
            if steps is not None:
                n = min(n, steps * batch_size)
                x = _rows(x, slice(0, n))
            self._check_stateful_batches("predict", n, batch_size)
            batches = (_batch_of(x, slice(s, s + batch_size)) for s in range(0, n, batch_size))
            steps = -(-n // batch_size)
        cb = self._callback_list(callbacks, "predict", batch_size, steps)
        cb.on_predict_begin()
        outs = []
        for batch, data in enumerate(batches):
            cb.on_predict_batch_begin(batch)
            outs.append(_map_structure(self.predict_step(data), _array))
            cb.on_predict_batch_end(batch, {"outputs": outs[-1]})
        cb.on_predict_end()
        if not outs and source is not None:
            raise ValueError("predict: the source of batches gave no batches")
        if not outs:  # no samples: the outputs' shape from one sample of zeros, none of them
            zeros = _map_structure(x, lambda a: wrap(xp.zeros((1,) + a.shape[1:], self.dtype)))
            one = _map_structure(self.predict_step(zeros), _array)
            return _map_structure(one, lambda a: xp.zeros((0,) + a.shape[1:], a.dtype))
        # Each output's batches joined (several outputs keep their list or dict).
        joined = iter([xp.concatenate(parts) for parts in zip(*(_leaves(out) for out in outs))])
        return _map_structure(outs[0], lambda _: next(joined))

    def _callback_list(self, callbacks, what, batch_size, steps):
        """``callbacks`` (a list, or fit's own CallbackList) ready to call for ``what``."""
        if isinstance(callbacks, callbacks_module.CallbackList):
            return callbacks
        return callbacks_module.CallbackList(
            list(callbacks or []),
            model=self,
            params={"steps": steps, "verbose": 0, "batch_size": batch_size, "what": what},
        )

    # -- building and summary ----------------------------------------------------------------
    def _build_on_first_call(self, input_shape) -> None:
        pass  # a model's sublayers build themselves during this very call

    def build(self, input_shape) -> None:
        """Create the weights by calling the model once on zeros of ``input_shape``."""
        if not self.built:
            shape = tuple(1 if s is None else s for s in input_shape)
            with shape_probe():  # a stateful layer keeps neither this batch nor its states
                self(xp.zeros(shape, dtype=self.dtype), training=False)
        self.built = True

    def summary(self, print_fn=print) -> None:
        """Print the layers, their output shapes and parameter counts (and, for a
        functional model, what each layer is connected to, as Keras prints it)."""
        rows = self._summary_rows()
        widths = [max(len(r[i]) for r in rows) + 2 for i in range(len(rows[0]))]
        line = "-" * sum(widths)
        out = [f'Model: "{self.name}"', line]
        out.append("".join(c.ljust(w) for c, w in zip(rows[0], widths)).rstrip())
        out.append("=" * sum(widths))
        for r in rows[1:]:
            out.append("".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
        out.append("=" * sum(widths))
        trainable = sum(v.size for v in self.trainable_weights)
        frozen = sum(v.size for v in self.non_trainable_weights)
        out.append(f"Total params: {trainable + frozen:,}")
        out.append(f"Trainable params: {trainable:,}")
        out.append(f"Non-trainable params: {frozen:,}")
        print_fn("\n".join(out))

    def _summary_rows(self) -> list:
        rows = [("Layer (type)", "Output Shape", "Param #")]
        unknown = self._unknown_axes()
        for layer in self._summary_layers():
            shape = getattr(layer, "_output_shape", None)
            if shape is not None:
                free = unknown.get(id(layer), ())
                shape = (None,) + tuple(None if i in free else d for i, d in enumerate(shape) if i)
            rows.append(
                (
                    f"{layer.name} ({type(layer).__name__})",
                    "?" if shape is None else str(shape),
                    f"{layer.count_params():,}",
                )
            )
        # A Module the model holds (wg.Module) has no output shape; one row gives its
        # parameters (its layers' included), so that the rows add up to the total.
        seen = set()
        for _, obj in self._walk():
            if isinstance(obj, Module) and id(obj) not in seen:
                seen.add(id(obj))
                count = sum(v.size for v in obj.variables)
                rows.append((f"{obj.name} ({type(obj).__name__})", "?", f"{count:,}"))
        return rows

    def _summary_layers(self):
        return self.layers

    def _unknown_axes(self) -> dict:
        """{id(layer): output axes whose size follows an input axis declared None}: found
        by running the model on zeros with those axes 61 long, then 97 long (Keras prints
        None for them; the build ran with 1)."""
        declared = getattr(self, "_input_shape", None)
        if not declared or None not in declared[1:]:
            return {}
        layers = self._summary_layers()
        kept = [getattr(layer, "_output_shape", None) for layer in layers]
        # The probe's calls replace the losses the last real call left (add_loss, activity).
        every = [self, *_all_sublayers(self)]
        losses_kept = [(lay._added_losses, lay._activity_losses) for lay in every]
        seen = []
        try:
            with core.all_paused(), shape_probe():  # a look at shapes, never recorded
                for n in (61, 97):  # coprime, so strides and pooling cannot hide a None
                    shape = tuple(
                        1 if i == 0 else (n if d is None else d) for i, d in enumerate(declared)
                    )
                    self(xp.zeros(shape, self.dtype), training=False)
                    seen.append([getattr(layer, "_output_shape", None) for layer in layers])
        except Exception:  # noqa: BLE001 - a summary must not fail for want of a probe
            return {}
        finally:
            for layer, shape in zip(layers, kept):
                layer._output_shape = shape
            for layer, (added, activity) in zip(every, losses_kept):
                layer._added_losses, layer._activity_losses = added, activity
        return {
            id(layer): {i for i, (p, q) in enumerate(zip(a, b)) if p != q}
            for layer, a, b in zip(layers, *seen)
            if a is not None and b is not None and len(a) == len(b)
        }

    # -- weights and checkpoints -----------------------------------------------------------
    def _named_weights(self) -> dict:
        """{structural path: variable}: stable names that do not depend on global counters."""
        return {path: var for path, var, _ in self._variables()}

    def save_weights(self, filepath, overwrite=True) -> None:
        """Save the weights to one file (.npz, or .safetensors), atomically.

        ``overwrite=False`` refuses (``FileExistsError``) a path that already exists.
        """
        self._require_built("save_weights")
        if not overwrite and os.path.lexists(filepath):
            raise FileExistsError(
                f"Model '{self.name}'.save_weights: {os.fspath(filepath)!r} exists "
                "and overwrite=False"
            )
        arrays = {
            k: v.numpy() if v.ndim else xp.asarray(v.numpy())
            for k, v in self._named_weights().items()
        }
        checkpoints.save(filepath, arrays, {"kind": "weights", "model": type(self).__name__})

    def load_weights(self, filepath) -> None:
        """Load weights saved by ``save_weights`` (names, shapes and dtypes are checked), or
        the weights of a file ``save`` or ``save_checkpoint`` wrote, as Keras reads a
        ``.keras`` file's."""
        self._require_built("load_weights")
        arrays, meta = checkpoints.load(filepath)
        whole = meta.get("kind") in ("model", "training_state")
        self._restore(arrays, "model/" if whole else "")  # (optimizer/ arrays are left out)

    def _restore(self, arrays: dict, prefix: str) -> None:
        for var, value in self._checked_weights(arrays, prefix):
            var.assign(value)

    def _checked_weights(self, arrays: dict, prefix: str) -> list:
        """[(variable, array)] for every weight, once ``arrays`` is checked to hold exactly them."""
        mine = {f"{prefix}{k}": v for k, v in self._named_weights().items()}
        wanted = {k: (v.shape, v.dtype) for k, v in mine.items()}
        subset = {k: a for k, a in arrays.items() if k.startswith(prefix)}
        checkpoints.check(subset, wanted, what=f"model '{self.name}'")
        return [(v, subset[k]) for k, v in mine.items()]

    def _check_stateful_batches(self, what: str, n: int, batch_size: int) -> None:
        """A stateful RNN takes one batch size (Keras errors at the first short batch);
        refuse a last short batch before the first step rather than after some."""
        if n % batch_size and any(
            getattr(layer, "stateful", False) for layer in _all_sublayers(self)
        ):
            raise ValueError(
                f"{what}: {n} samples do not split into batches of {batch_size}, and this "
                "model has stateful recurrent layers, which keep one batch size; give a "
                f"multiple of {batch_size} samples or a batch size that divides {n}"
            )

    def _require_built(self, what):
        # A model without weights is fine to save once built (a model of ops alone); one
        # whose layers have not made theirs yet is not.
        unbuilt = not self.weights and not all(layer.built for layer in _all_sublayers(self))
        if not self.built or unbuilt:
            raise ValueError(
                f"Model '{self.name}'.{what}: the model has no weights yet; call it "
                "on data or build(input_shape) first"
            )

    def _generators(self) -> dict:
        """Every random stream training uses, by a stable name."""
        gens = {}

        def streams_of(path, layer):
            # A layer's own streams: ``generator`` (the built-in layers' name, kept as
            # the key of old checkpoints) and any other public attribute holding one,
            # such as a GAN's ``self.seed_generator = wg.random.SeedGenerator(1337)``.
            for attr, value in vars(layer).items():
                if attr[0] != "_" and isinstance(value, Generator):
                    gens[f"{path}" if attr == "generator" else f"{path}.{attr}"] = value

        def walk(path, layer, seen):
            # Every sublayer, to any depth, looking through Modules ("layer:block.dense"
            # for a Dense held by a Module in ``self.block``); the names of the first two
            # levels are those older files hold.
            streams_of(f"layer:{path}", layer)
            subs = [(p, o) for p, o in layer._walk() if isinstance(o, Layer)]
            for sub_path, sub in subs + layers_in_modules(layer):
                if id(sub) not in seen:
                    seen.add(id(sub))
                    walk(f"{path}.{sub_path}", sub, seen)

        streams_of("model", self)
        seen = {id(self)}
        for path, obj in [(p, o) for p, o in self._walk() if isinstance(o, Layer)] + (
            layers_in_modules(self)
        ):
            if id(obj) not in seen:
                seen.add(id(obj))
                walk(path, obj, seen)
        if self._shuffle is not None:
            gens["fit:shuffle"] = self._shuffle
        gens["wengert.random"] = get_global_generator()
        return gens

    def save(self, filepath, overwrite=True, include_optimizer=True) -> None:
        """Save the whole model to one file: what ``wg.models.load_model`` rebuilds it from.

        The file holds the architecture (``get_config()`` and the input shape it was built
        for), the weights and, once compiled, the compile arguments (optimizer, loss,
        metrics) and, with ``include_optimizer``, the optimizer's state, as a Keras
        ``.keras`` file does.  It is a checkpoint file (.npz, or .safetensors by its
        suffix): plain data, written atomically, never pickled.  A subclassed model needs
        a ``get_config`` that its constructor accepts back, as in Keras.

        Example:
            >>> import os, tempfile, numpy as np, wengert as wg
            >>> model = wg.Sequential([wg.layers.Input((3,)), wg.layers.Dense(2)])
            >>> model.compile("adam", "mse")
            >>> with tempfile.TemporaryDirectory() as d:
            ...     model.save(os.path.join(d, "model.npz"))
            ...     again = wg.models.load_model(os.path.join(d, "model.npz"))
            >>> x = np.ones((1, 3), "float32")
            >>> bool((again.predict(x) == model.predict(x)).all()), again.optimizer.name
            (True, 'Adam')
        """
        self._require_built("save")
        if not overwrite and os.path.lexists(filepath):
            raise FileExistsError(
                f"Model '{self.name}'.save: {os.fspath(filepath)!r} exists and overwrite=False"
            )
        arrays = {
            f"model/{k}": (v.numpy() if v.ndim else xp.asarray(v.numpy()))
            for k, v in self._named_weights().items()
        }
        shape = getattr(self, "_build_input_shape", None)
        meta = {
            "kind": "model",
            "class_name": type(self).__name__,
            "module": type(self).__module__,
            "config": self.get_config(),
            "build_input_shape": None if shape is None else list(shape),
            "compile": self._compile_config(),
        }
        if include_optimizer and self.optimizer is not None and self.optimizer.built:
            for k, a in self.optimizer.get_state().items():
                arrays[f"optimizer/{k}"] = xp.asarray(a)
        checkpoints.save(filepath, arrays, meta)

    def _compile_config(self):
        """The compile arguments as plain data, or None (uncompiled, or a custom loss or
        metric that cannot be written down: load_model then returns it uncompiled)."""
        if self.optimizer is None:
            return None
        try:
            spec = {
                "optimizer": optimizers.serialize(self.optimizer),
                "loss": _per_output(self.compiled_loss, losses.serialize),
                "loss_weights": self._loss_weights,
                "metrics": [
                    metrics.serialize(m)
                    for m, w in zip(self.compiled_metrics, self._metric_weighted)
                    if not w
                ],
                "weighted_metrics": [
                    metrics.serialize(m)
                    for m, w in zip(self.compiled_metrics, self._metric_weighted)
                    if w
                ],
            }
            spec["output_metrics"] = [[k, metrics.serialize(m)] for k, m in self._output_metrics]
            spec["output_weighted_metrics"] = [
                [k, metrics.serialize(m)] for k, m in self._output_weighted_metrics
            ]
            # What cannot be read back (a lambda loss) is not saved.  A function of the
            # user's own is saved by name, for load_model's custom_objects to supply again:
            # it is read back here with the model's own functions in scope.
            own = {
                w.fn.__name__: w.fn
                for w in _leaves(self.compiled_loss) + list(self.compiled_metrics)
                if isinstance(w, losses.FunctionWrapperConfig) and hasattr(w.fn, "__name__")
            }
            with custom_object_scope(own):
                _compiled_from(spec)
            return spec
        except (TypeError, ValueError, KeyError) as exc:
            warnings.warn(
                f"Model '{self.name}'.save: the compile arguments cannot be saved ({exc}); "
                "load_model will return the model uncompiled",
                stacklevel=3,
            )
            return None

    def _totals_now(self):
        """The unfinished epoch's metric state as plain data (None between epochs)."""
        if self._epoch_totals is _LIVE:  # inside fit: the metrics hold it right now
            return {"metrics": [_numeric_state(m) for m in self.metrics]}
        return self._epoch_totals

    def save_checkpoint(self, filepath, metadata=None) -> None:
        """Save the whole training state: weights, optimizer slots, position and random streams.

        ``metadata``: a JSON-serialisable dict stored with it (``load_checkpoint``
        returns it among the file's metadata), e.g. which run the checkpoint belongs to.

        Loading it with ``load_checkpoint`` and calling ``fit`` again continues exactly where
        this run stands: the weights come out bit-identical to an uninterrupted run.  The
        random streams include those of ops given a ``seed`` (``wg.random.normal(...,
        seed=1)``), and a checkpoint saved by a callback at the end of an epoch includes
        that epoch in its history.
        """
        self._require_built("save_checkpoint")
        arrays = {
            f"model/{k}": (v.numpy() if v.ndim else xp.asarray(v.numpy()))
            for k, v in self._named_weights().items()
        }
        if self.optimizer is not None and getattr(self.optimizer, "built", True):
            for k, a in self.optimizer.get_state().items():
                arrays[f"optimizer/{k}"] = xp.asarray(a)
        history, epochs = None, []
        if isinstance(self.history, callbacks_module.History):
            history = {k: list(v) for k, v in self.history.history.items()}
            epochs = list(self.history.epoch)
            if self._ending_epoch is not None:  # on_epoch_end, before History records it
                epoch, logs = self._ending_epoch
                if epoch not in epochs:
                    epochs.append(epoch)
                    for k, v in logs.items():
                        history.setdefault(k, []).append(v)
        meta = {
            "kind": "training_state",
            "model": type(self).__name__,
            "position": list(self._position),
            "epoch_start_state": self._epoch_start_state,
            "epoch_totals": self._totals_now(),
            "generators": {k: g.get_state() for k, g in self._generators().items()},
            "op_streams": random_module._op_stream_states(),
            "history": history,
            "history_epochs": epochs,
            "batching": self._batching,
        }
        clash = sorted(set(metadata or {}) & (set(meta) | {"format", "format_version"}))
        if clash:
            raise ValueError(f"save_checkpoint: metadata keys {clash} are wengert's own")
        checkpoints.save(filepath, arrays, {**meta, **(metadata or {})})

    def load_checkpoint(self, filepath) -> dict:
        """Restore a training state saved by ``save_checkpoint``; returns its metadata.

        Everything is checked before anything changes: a file that does not fit this
        model (its weights, its optimizer's slots, a malformed position or random state,
        tensors that belong to neither) raises ``CheckpointError`` and leaves the model,
        its optimizer and the random streams as they were.  What the file does not hold
        (a history, a shuffling stream) is reset, not kept from before.
        """
        self._require_built("load_checkpoint")
        arrays, meta = checkpoints.load(filepath)

        def refuse(why):
            return checkpoints.CheckpointError(f"{os.fspath(filepath)}: {why}")

        if meta.get("kind") != "training_state":
            raise refuse(f"not a training checkpoint (kind={meta.get('kind')!r})")
        stray = sorted(k for k in arrays if not k.startswith(("model/", "optimizer/")))
        if stray:
            raise refuse(f"unexpected tensors {stray} (neither model/ nor optimizer/)")
        weights = self._checked_weights(arrays, "model/")
        position = meta.get("position")
        if not (
            isinstance(position, list)
            and len(position) == 2
            and all(type(p) is int and p >= 0 for p in position)
        ):
            raise refuse(f"position must be [epoch, batch], two integers >= 0, got {position!r}")
        totals = meta.get("epoch_totals")
        if totals is not None and not _valid_totals(totals):
            raise refuse(f"malformed epoch_totals {totals!r}")
        history = meta.get("history") or {}
        if not isinstance(history, dict) or not all(isinstance(v, list) for v in history.values()):
            raise refuse("malformed history: expected a dict of lists")
        states = meta.get("generators", {})
        if not isinstance(states, dict):
            raise refuse("malformed generators: expected a dict of states")
        start_state = meta.get("epoch_start_state")
        try:
            for state in [*states.values()] + ([] if start_state is None else [start_state]):
                Generator(0).set_state(state)
            for name, g in self._generators().items():  # a SeedGenerator needs its pair too
                if name in states and isinstance(g, random_module.SeedGenerator):
                    random_module.SeedGenerator(0).set_state(states[name])
            op_streams = random_module._checked_op_streams(meta.get("op_streams", []))
        except (TypeError, ValueError, KeyError) as exc:
            raise refuse(f"malformed random state: {exc}") from exc
        opt_state = {
            k[len("optimizer/") :]: a for k, a in arrays.items() if k.startswith("optimizer/")
        }
        if opt_state:
            if self.optimizer is None:
                raise refuse("has optimizer state but the model is not compiled")
            if not getattr(self.optimizer, "built", True):
                self.optimizer.build(self.trainable_weights)
            before = self.optimizer.get_state()
            try:
                self.optimizer.set_state(opt_state)
            except ValueError as exc:
                self.optimizer.set_state(before)
                raise refuse(str(exc)) from exc
        elif self.optimizer is not None and position != [0, 0]:
            raise refuse(
                f"holds no optimizer state, but training stood at epoch {position[0] + 1}, "
                f"batch {position[1]}: resuming would restart the optimizer"
            )
        elif self.optimizer is not None and getattr(self.optimizer, "built", False):
            # Saved before the optimizer's first step: it starts afresh, as it did then.
            fresh = type(self.optimizer).from_config(self.optimizer.get_config())
            fresh.build(self.trainable_weights)
            self.optimizer.set_state(fresh.get_state())
        # Checked: now change the model.
        for var, value in weights:
            var.assign(value)
        self._position = tuple(position)
        batching = meta.get("batching")
        self._batching = batching if isinstance(batching, list) else None
        self._resume = True
        self._epoch_start_state = start_state
        self._epoch_totals = totals
        self._shuffle = Generator(0) if "fit:shuffle" in states else None
        for name, g in self._generators().items():
            if name in states:
                g.set_state(states[name])
        random_module._restore_op_streams(op_streams)
        self.history = None
        if history:
            self.history = callbacks_module.History()
            self.history.history = {k: list(v) for k, v in history.items()}
            self.history.epoch = list(meta.get("history_epochs") or [])
        return meta


def _valid_totals(totals) -> bool:
    """An unfinished epoch's running loss and metric states, as fit saved them."""
    number = (int, float)
    old_layout = "loss_sum" in totals if isinstance(totals, dict) else False
    return (
        isinstance(totals, dict)
        and (
            not old_layout
            or (
                isinstance(totals.get("loss_sum"), number)
                and type(totals.get("seen")) is int
                and totals["seen"] >= 0
            )
        )
        and isinstance(totals.get("metrics"), list)
        and all(
            isinstance(m, dict) and all(_numbers(v) for v in m.values()) for m in totals["metrics"]
        )
    )


def _numbers(value) -> bool:
    """A number, or a (nested) list of numbers: a metric's state as plain data."""
    if isinstance(value, list):
        return all(_numbers(v) for v in value)
    return isinstance(value, (int, float))


def load_model(filepath, custom_objects=None, compile=True) -> Model:
    """A model saved by ``Model.save``: rebuilt from its config, with its weights and (when
    ``compile``) its compile arguments and optimizer state.

    Args:
        filepath: the file ``save`` wrote.
        custom_objects: ``{name: class or function}`` for classes of your own (a subclass
            of ``wg.Model`` defined in the running program is also found by its name) and
            for loss and metric functions of your own that the model was compiled with.
        compile: compile the model as it was saved (when it was).

    Raises:
        CheckpointError: the file is unreadable, not a saved model, or its weights or
            optimizer state do not fit the rebuilt model.
        TypeError: the model's class cannot be rebuilt from its config.

    Example:
        >>> import os, tempfile, wengert as wg
        >>> model = wg.Sequential([wg.layers.Input((2,)), wg.layers.Dense(1)])
        >>> with tempfile.TemporaryDirectory() as d:
        ...     model.save(os.path.join(d, "m.npz"))
        ...     wg.models.load_model(os.path.join(d, "m.npz")).count_params()
        3
    """
    arrays, meta = checkpoints.load(filepath)

    def refuse(why):
        return checkpoints.CheckpointError(f"{os.fspath(filepath)}: {why}")

    if meta.get("kind") != "model":
        raise refuse(
            f"not a saved model (kind={meta.get('kind')!r}); weights load with "
            "model.load_weights, a training state with model.load_checkpoint"
        )
    name = meta.get("class_name")
    try:
        with custom_object_scope(custom_objects):
            cls = layer_class(name, Model, module=meta.get("module"))
            model = cls.from_config(meta.get("config") or {})
    except TypeError as exc:
        raise TypeError(
            f"load_model: cannot rebuild {name} from its config ({exc}); give the class a "
            "get_config whose items its constructor accepts (and a from_config if not)"
        ) from exc
    shape = meta.get("build_input_shape")
    if not model.built and shape is not None:
        model.build(tuple(shape))
    stray = sorted(k for k in arrays if not k.startswith(("model/", "optimizer/")))
    if stray:
        raise refuse(f"unexpected tensors {stray}")
    model._restore(arrays, "model/")
    spec = meta.get("compile") if compile else None
    if spec:
        try:
            with custom_object_scope(custom_objects):  # functions of the user's own, by name
                compiled = _compiled_from(spec)
                per_output = [
                    [(key, metrics.deserialize(m)) for key, m in spec.get(part, [])]
                    for part in ("output_metrics", "output_weighted_metrics")
                ]
        except losses.UnknownFunctionError as exc:
            warnings.warn(
                f"load_model: {os.fspath(filepath)}: the model is returned uncompiled: {exc}",
                stacklevel=2,
            )
            return model
        except (KeyError, TypeError, ValueError) as exc:
            raise refuse(f"malformed compile arguments: {exc}") from exc
        try:
            model.compile(**compiled)
        except (KeyError, TypeError, ValueError) as exc:
            raise refuse(f"malformed compile arguments: {exc}") from exc
        model._output_metrics, model._output_weighted_metrics = per_output
        opt_state = {
            k[len("optimizer/") :]: a for k, a in arrays.items() if k.startswith("optimizer/")
        }
        if opt_state:
            model.optimizer.build(model.trainable_weights)
            try:
                model.optimizer.set_state(opt_state)
            except ValueError as exc:
                raise refuse(str(exc)) from exc
    return model


def _compiled_from(spec: dict) -> dict:
    """``compile``'s arguments from ``Model._compile_config``'s plain data."""
    return {
        "optimizer": optimizers.deserialize(spec["optimizer"]),
        "loss": _per_output(spec.get("loss"), losses.deserialize, saved=True),
        "loss_weights": spec.get("loss_weights"),
        "metrics": [metrics.deserialize(m) for m in spec.get("metrics", [])],
        "weighted_metrics": [metrics.deserialize(m) for m in spec.get("weighted_metrics", [])],
    }


def _update_metrics(metrics, weighted, y, y_pred, sample_weight) -> None:
    for m, takes_weights in zip(metrics, weighted):
        if sample_weight is None or not takes_weights:  # user metrics need not take weights
            m.update_state(y, y_pred)
        else:
            m.update_state(y, y_pred, sample_weight=sample_weight)


def _sample_weights(y, sample_weight, class_weight):
    """fit's per-sample weights: sample_weight times class_weight[label], or None."""
    if sample_weight is not None and len(sample_weight) != len(y):
        raise ValueError(f"fit: y has {len(y)} samples but sample_weight has {len(sample_weight)}")
    if class_weight is None:
        return sample_weight
    labels = xp.asarray(y)
    if labels.ndim > 1 and labels.shape[-1] > 1:
        labels = labels.argmax(-1)  # one-hot
    else:  # Keras rounds labels (0.9 is class 1), it does not truncate them
        labels = xp.round(labels)
    labels = labels.reshape(len(y), -1)[:, 0].astype(xp.int64)
    # classes the dict leaves out weigh 1, as in Keras
    table = xp.ones(int(max(max(class_weight, default=0), labels.max(initial=0))) + 1)
    for k, v in class_weight.items():
        table[int(k)] = float(v)
    weights = table[labels].astype(xp.float32)
    return weights if sample_weight is None else weights * sample_weight


_LIVE = object()  # _epoch_totals while fit runs: read the metrics themselves


def _all_sublayers(layer) -> list:
    out = []
    for sub in child_layers(layer):  # those inside Modules too
        out += [sub, *_all_sublayers(sub)]
    return out


def _per_output(loss, fn, saved=False):
    """``fn`` on a loss, or on each loss of a list or dict of them (one per output).  A
    saved single loss is a dict too; it is told apart by its "class_name"."""
    if loss is None:
        return None
    if isinstance(loss, (list, tuple)):  # None: an output without a loss
        return [None if item is None else fn(item) for item in loss]
    if isinstance(loss, dict) and not (saved and "class_name" in loss):
        return {key: None if item is None else fn(item) for key, item in loss.items()}
    return fn(loss)


def _describe_structure(value) -> str:
    if isinstance(value, dict):
        return f"a dict with keys {sorted(value)}"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of {len(value)}"
    return "one tensor"


def _inputs(x):
    """x as arrays: one array, or (for a model with several inputs) a list, tuple or dict of
    arrays.  A list counts as several inputs only when every item is an array or Tensor;
    a list of numbers or of lists is one array of samples, as before."""
    if isinstance(x, dict) or (
        isinstance(x, (list, tuple))
        and x
        and all(isinstance(item, (xp.ndarray, Tensor)) for item in x)
    ):
        arrays = _map_structure(x, _array)
        counts = {len(a) for a in _leaves(arrays)}
        if len(counts) != 1:
            raise ValueError(f"the inputs have different numbers of samples: {sorted(counts)}")
        return arrays
    return _array(x)


def _count(x) -> int:
    return len(_leaves(x)[0]) if isinstance(x, (list, tuple, dict)) else len(x)


def _rows(x, rows):
    return _map_structure(x, lambda a: None if a is None else a[rows])


def _batch_of(x, rows):
    """The Tensors of a batch of x's samples (each input of several; None stays None, an
    output left unweighted)."""
    return _map_structure(x, lambda a: None if a is None else wrap(a[rows], "batch"))


def _logs_result(logs: dict, return_dict: bool):
    """Logs as Keras's evaluate returns them: the dict, one number, or the list of values."""
    if return_dict:
        return logs
    values = list(logs.values())
    return values[0] if len(values) == 1 else values


def _batch_source(x):
    """``x`` when it is a source of batches (an iterable that is not itself data, or an
    indexable sequence of batches like Keras's PyDataset), else None."""
    if x is None or isinstance(x, (xp.ndarray, Tensor, list, tuple, dict, str, bytes)):
        return None
    if hasattr(x, "__iter__"):
        return x
    if hasattr(x, "__getitem__") and hasattr(x, "__len__"):
        return _IndexedBatches(x)
    return None


_INFINITE = -1  # a cardinality() of -1: wg.data.INFINITE_CARDINALITY (tf.data's too)


def _cardinality(source):
    """The number of batches in one pass of a source: ``cardinality()`` where it has one
    (wg.data.Dataset's, tf.data's), else ``len()``; -1 for an infinite source; None when
    unknown."""
    card = getattr(source, "cardinality", None)
    if callable(card):
        try:
            n = int(card())
        except (TypeError, ValueError):
            n = None
        if n is not None and n >= _INFINITE:
            return n
    try:
        return len(source) if hasattr(source, "__len__") else None
    except TypeError:  # (a len() that is not available, as an infinite dataset's)
        return None


def _is_infinite(source) -> bool:
    return _cardinality(source) == _INFINITE


def _source_steps(source, steps, what: str):
    """The number of batches evaluate or predict reads from ``source`` (None: unknown);
    an infinite source needs ``steps``, as in TF Keras."""
    card = _cardinality(source)
    if card == _INFINITE:
        if steps is None:
            raise ValueError(
                f"{what}: When passing an infinitely repeating dataset, please specify "
                "`steps` (the number of batches to read)"
            )
        return steps
    if steps is None:
        return card
    return steps if card is None else min(steps, card)


def _steps_arg(steps, what: str, name: str):
    """A steps argument as an int of at least 1, or None."""
    if steps is None:
        return None
    if isinstance(steps, bool) or not isinstance(steps, (int, xp.integer)):
        raise TypeError(f"{what}: {name} must be an integer, got {type(steps).__name__}")
    if steps < 1:
        raise ValueError(f"{what}: {name} must be at least 1, got {steps}")
    return int(steps)


class _IndexedBatches:
    """Keras's PyDataset protocol: ``len(data)`` batches, ``data[i]`` the i-th (a batch,
    not a sample: wrap a dataset of samples in wg.datasets.Batches), and ``on_epoch_end``
    called after each pass."""

    def __init__(self, data):
        self.data = data

    def __len__(self) -> int:
        return len(self.data)

    def __iter__(self):
        for i in range(len(self.data)):
            yield self.data[i]
        if hasattr(self.data, "on_epoch_end"):
            self.data.on_epoch_end()


def _as_batch(item):
    """A batch from a source as train_step/test_step take it: Tensors, in a tuple if it was
    (x and y may themselves be lists or dicts: several inputs or outputs).  A list at the
    top is read as a tuple, (x, y[, sample_weight]), as Keras's unpack_x_y_sample_weight
    reads it (and as torch's DataLoader yields batches)."""
    if isinstance(item, list):
        item = tuple(item)
    if isinstance(item, tuple):
        return tuple(None if a is None else _tensors(a) for a in item)
    return _tensors(item)


def _tensors(part):
    """A batch's arrays (or Tensors) as Tensors, the structure kept; None stays None (an
    output left unweighted)."""
    return _map_structure(part, lambda a: None if a is None else wrap(_array(a), "batch"))


def _unpack(data) -> tuple:
    """``(x, y, sample_weight)`` from a step's ``data``: ``x``, ``(x,)``, ``(x, y)`` or
    ``(x, y, sample_weight)`` (Keras's ``unpack_x_y_sample_weight``)."""
    if not isinstance(data, tuple):
        return data, None, None
    if not 1 <= len(data) <= 3:
        raise ValueError(
            f"a step's data must be x, (x,), (x, y) or (x, y, sample_weight); got a tuple of "
            f"{len(data)}"
        )
    return tuple(data) + (None,) * (3 - len(data))


def _plain_logs(logs) -> dict:
    """A step's logs as ``{name: float}``: Tensors and NumPy scalars made Python floats, and
    a metric whose result is a dict of several values flattened into them (as Keras)."""
    if not isinstance(logs, dict):
        raise TypeError(
            f"train_step/test_step must return a dict of logs, got {type(logs).__name__}"
        )
    plain = {}
    for k, v in logs.items():
        if isinstance(v, dict):
            plain.update(_plain_logs(v))
            continue
        if type(v) is float:  # the usual case, a metric's result
            plain[k] = v
            continue
        value = xp.asarray(v._value if isinstance(v, Tensor) else v)
        if value.size != 1:
            raise ValueError(
                f"the log {k!r} holds {value.size} numbers {value.ravel()[:4].tolist()}...; "
                "fit and evaluate log one number per name (give the metric an average, or "
                "one threshold)"
            )
        plain[k] = float(value.reshape(()))
    return plain


def _restore_totals(model, totals) -> None:
    """Put an unfinished epoch's saved metric states back into ``model.metrics``."""
    if "loss_sum" in totals:  # written before the loss had a Mean of its own
        model._loss_tracker.total = totals["loss_sum"]
        model._loss_tracker.count = float(totals["seen"])
        states, targets = totals["metrics"], model.compiled_metrics
    else:
        states, targets = totals["metrics"], model.metrics
    for m, state in zip(targets, states):
        metrics._restore_plain_state(m, state)


def _numeric_state(metric) -> dict:
    """A metric's running state as plain data (numbers; Variables as nested lists), to
    resume an epoch's logs."""
    return metrics._plain_state(metric)


class Sequential(Model):
    """A linear stack of layers.

    Args:
        layers: the layers, in order (an ``Input`` first fixes the input shape and builds).
        name: the model's name.

    Example:
        >>> import wengert as wg
        >>> model = wg.Sequential([wg.layers.Input((4,)), wg.layers.Dense(8, activation="relu"),
        ...                        wg.layers.Dense(2)])
        >>> model.count_params()
        58
    """

    def __init__(self, layers=None, name=None, trainable=True):
        super().__init__(name=name, trainable=trainable)
        self._layers = []
        self._input_shape = None
        self._input_layer = None  # the Input given first, kept for get_config
        for layer in layers or []:
            self.add(layer)

    def add(self, layer) -> None:
        """Append a layer (an ``Input`` sets the input shape)."""
        if isinstance(layer, InputLayer):
            if self._layers:
                raise ValueError("Sequential: an Input can only come first")
            self._input_shape = (None,) + layer.shape
            self._input_layer = layer
            self._build_now()
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add: expected a Layer, got {type(layer).__name__}")
        if getattr(layer, "_string_inputs", False):  # TextVectorization, StringLookup
            raise TypeError(
                f"Sequential.add: {type(layer).__name__} '{layer.name}' takes strings, and "
                "wengert has no string Tensors, so it cannot be part of a model; apply it to "
                "the data before the model (`x = layer(texts)`, then `model.fit(x, y)`, or in "
                "a data pipeline's map)"
            )
        self._layers.append(layer)
        if (
            self._input_shape is None
            and layer._input_shape_arg is not None
            and len(self._layers) == 1
        ):
            self._input_shape = (None,) + layer._input_shape_arg
        if self._input_shape is not None:
            self.built = False
            self._build_now()

    def _build_now(self):
        if self._layers and self._input_shape is not None:
            self.build(self._input_shape)

    def _convert_inputs(self, inputs):
        # An Input given first sets the inputs' dtype (as Keras 3, whose Sequential is a
        # functional model underneath): a float64 Input is not cast to float32.
        if self._input_layer is None or not isinstance(inputs, (Tensor, xp.ndarray)):
            return super()._convert_inputs(inputs)
        return _as_input(self._input_layer, core.operand(inputs))

    def pop(self) -> Layer:
        """Remove and return the last layer."""
        if not self._layers:
            raise IndexError("Sequential.pop: no layers")
        return self._layers.pop()

    @property
    def layers(self) -> list:
        return list(self._layers)

    def _walk(self, prefix: str = ""):
        for i, layer in enumerate(self._layers):
            yield f"{prefix}layers.{i}", layer

    def call(self, inputs, training=None):
        x = inputs
        for layer in self._layers:
            x = layer(x, training=training)
        return x

    def get_config(self) -> dict:
        # As Keras: an Input given first comes first, so from_config builds the model too.
        first = [] if self._input_layer is None else [self._input_layer]
        return {
            "name": self.name,
            "layers": [_spec_of(layer) for layer in first + self._layers],
        }

    @classmethod
    def from_config(cls, config: dict, custom_objects=None):
        if custom_objects:
            with custom_object_scope(custom_objects):
                return cls.from_config(config)
        built = [_from_spec(spec) for spec in config["layers"]]
        return cls(built, name=config.get("name"))


class Functional(Model):
    """A model defined by calling layers on its inputs (Keras's functional API):
    ``wg.Model(inputs, outputs)``.

    Layers called on ``wg.Input`` (and on what such calls return) record the calls; the
    model replays them on real data, each layer's weights shared wherever it is called.
    Inputs and outputs may be a tensor or a list or dict of them.

    Args:
        inputs: the ``wg.Input`` (or a list/dict of them).
        outputs: what the layers returned (or a list/dict of them).
        name: the model's name.

    Example:
        >>> import wengert as wg
        >>> inputs = wg.Input((4,))
        >>> hidden = wg.layers.Dense(8, activation="relu")(inputs)
        >>> outputs = wg.layers.Dense(1)(wg.layers.Concatenate()([hidden, inputs]))
        >>> model = wg.Model(inputs=inputs, outputs=outputs)
        >>> model(wg.ones((2, 4))).shape, model.count_params()
        ((2, 1), 53)
    """

    def __init__(self, inputs, outputs, name=None, trainable=True, **kwargs):
        super().__init__(name=name, trainable=trainable, **kwargs)
        for leaf in _leaves(inputs):
            if not isinstance(leaf, InputLayer):
                raise TypeError(
                    f"Model: inputs must be wg.Input (or lists/dicts of them), got "
                    f"{type(leaf).__name__}"
                )
        given = {id(leaf) for leaf in _leaves(inputs)}
        for leaf in _leaves(outputs):
            # what layers returned, or one of the model's own Inputs (passed through)
            if not isinstance(leaf, SymbolicTensor) and id(leaf) not in given:
                raise TypeError(
                    f"Model: outputs must be what layers called on the inputs returned (or "
                    f"one of the inputs), got {type(leaf).__name__}"
                )
        self._inputs, self._outputs = inputs, outputs
        self._calls = _calls_in_order(outputs)
        known = {id(leaf) for leaf in _leaves(inputs)}
        for call in self._calls:
            for leaf in _leaves([call.inputs, call.kwargs]):
                if isinstance(leaf, InputLayer) and id(leaf) not in known:
                    raise ValueError(
                        f"Model: the outputs depend on input {leaf.name!r}, which is not "
                        "among the model's inputs"
                    )
        self._graph_layers = list({id(c.layer): c.layer for c in self._calls}.values())
        first = _leaves(inputs)[0]
        self._build_input_shape = (None,) + first.shape
        self.built = True

    @property
    def layers(self) -> list:
        """The model's InputLayers, then the layers of the graph in the order they are first
        called, as Keras lists them (so ``layers[i]`` is the same layer in both)."""
        return _leaves(self._inputs) + list(self._graph_layers)

    @property
    def inputs(self) -> list:
        """The model's inputs (``wg.Input``), as a list."""
        return _leaves(self._inputs)

    @property
    def outputs(self) -> list:
        """The model's outputs (symbolic), as a list."""
        return _leaves(self._outputs)

    def _walk(self, prefix: str = ""):
        for i, layer in enumerate(self._graph_layers):
            yield f"{prefix}layers.{i}", layer

    @property
    def input(self):
        """The model's Input(s): one, or the list or dict it was defined with (Keras)."""
        return self._inputs

    @property
    def output(self):
        """The model's output(s): one, or the list or dict it was defined with (Keras)."""
        return self._outputs

    def _convert_inputs(self, inputs):
        # Each input takes its own Input's dtype in call (a float64 Input stays float64),
        # not the model's, as in Keras 3.
        return _map_structure(inputs, lambda a: a if a is None else core.operand(a))

    def call(self, inputs, training=None):
        given = _leaves(self._inputs)
        if isinstance(inputs, dict):  # by key, or by the inputs' names (as Keras)
            keys = list(self._inputs) if isinstance(self._inputs, dict) else [i.name for i in given]
            if sorted(inputs) != sorted(keys):
                raise ValueError(
                    f"Model '{self.name}': expects inputs {sorted(keys)}, got {sorted(inputs)}"
                )
            actual = [inputs[k] for k in keys]
        else:
            actual = _leaves(inputs)
        if len(given) != len(actual):
            raise ValueError(
                f"Model '{self.name}': expects {len(given)} input(s), got {len(actual)}"
            )
        values = {id(symbol): _as_input(symbol, value) for symbol, value in zip(given, actual)}

        def value_of(leaf):
            if isinstance(leaf, SymbolicTensor):
                return values[(id(leaf.call), leaf.index)]
            return values[id(leaf)] if isinstance(leaf, InputLayer) else leaf

        for call in self._calls:  # in order: each call's inputs are known before it runs
            kwargs = _map_structure(dict(call.kwargs), value_of)
            given_training = kwargs.pop("training", training)  # fixed at definition, or fit's
            out = call.layer(
                _map_structure(call.inputs, value_of), training=given_training, **kwargs
            )
            for index, value in enumerate(_leaves(out)):
                values[(id(call), index)] = value
        return _map_structure(self._outputs, value_of)

    def _summary_rows(self) -> list:
        """One row per layer: its outputs' shapes as defined (None for unknown sizes), and
        Keras's "Connected to": ``layer[node][tensor]`` for each input of each call."""
        rows = [("Layer (type)", "Output Shape", "Param #", "Connected to")]
        node_of = {}  # id(call) -> its index among its layer's calls
        calls_of = {}  # id(layer) -> [call, ...]
        for call in self._calls:
            calls = calls_of.setdefault(id(call.layer), [])
            node_of[id(call)] = len(calls)
            calls.append(call)

        def source(leaf):
            if isinstance(leaf, SymbolicTensor):
                return f"{leaf.call.layer.name}[{node_of[id(leaf.call)]}][{leaf.index}]"
            return f"{leaf.name}[0][0]"  # a model input

        for leaf in _leaves(self._inputs):
            rows.append((f"{leaf.name} (InputLayer)", str((None,) + leaf.shape), "0", "-"))
        for layer in self._graph_layers:
            calls = calls_of.get(id(layer), [])
            shapes = [
                str(t.shape)
                for c in calls
                for t in _leaves(c.outputs)
                if isinstance(t, SymbolicTensor)
            ]
            inbound = [
                source(leaf)
                for c in calls
                for leaf in _leaves([c.inputs, c.kwargs])
                if isinstance(leaf, (SymbolicTensor, InputLayer))
            ]
            rows.append(
                (
                    f"{layer.name} ({type(layer).__name__})",
                    ", ".join(dict.fromkeys(shapes)) or "?",
                    f"{layer.count_params():,}",
                    ", ".join(inbound) or "-",
                )
            )
        return rows

    def get_config(self) -> dict:
        layers, calls = self._graph_layers, self._calls
        position = {id(layer): i for i, layer in enumerate(layers)}
        order = {id(call): i for i, call in enumerate(calls)}
        inputs = _leaves(self._inputs)
        where = {id(leaf): ["input", i] for i, leaf in enumerate(inputs)}

        def ref(leaf):
            if isinstance(leaf, SymbolicTensor):
                return ["call", order[id(leaf.call)], leaf.index]
            if id(leaf) in where:
                return where[id(leaf)]
            return leaf

        return {
            "name": self.name,
            "inputs": [_spec_of(i) for i in inputs],
            "input_structure": _map_structure(self._inputs, lambda leaf: where[id(leaf)]),
            "layers": [_spec_of(layer) for layer in layers],
            "calls": [
                {
                    "layer": position[id(c.layer)],
                    "inputs": _map_structure(c.inputs, ref),
                    "kwargs": _map_structure(c.kwargs, ref),
                }
                for c in calls
            ],
            "outputs": _map_structure(self._outputs, ref),
        }

    @classmethod
    def from_config(cls, config: dict, custom_objects=None):
        if custom_objects:
            with custom_object_scope(custom_objects):
                return cls.from_config(config)
        inputs = [_from_spec(spec) for spec in config["inputs"]]
        layers = [_from_spec(spec) for spec in config["layers"]]
        results = []

        def value(ref):
            if isinstance(ref, list) and len(ref) in (2, 3) and ref[0] in ("input", "call"):
                return inputs[ref[1]] if ref[0] == "input" else _leaves(results[ref[1]])[ref[2]]
            return ref

        for call in config["calls"]:
            args = _map_refs(call["inputs"], value)
            kwargs = _map_refs(call.get("kwargs", {}), value)
            results.append(layers[call["layer"]](args, **kwargs))
        return cls(
            _map_refs(config["input_structure"], value),
            _map_refs(config["outputs"], value),
            name=config.get("name"),
        )


def _as_input(symbol, value):
    """A functional model's input value in its ``Input``'s dtype, as Keras 3 converts each
    input: numbers to a float Input's dtype, integers to an integer Input's.  A float value
    for an integer Input is left for the layers to refuse, not truncated.  The value's
    padding mask stays with it."""
    if not isinstance(value, Tensor) or value.dtype == symbol.dtype:
        return value
    kinds = "biuf" if symbol.dtype.kind == "f" else "biu" if symbol.dtype.kind in "iu" else ""
    if value.dtype.kind not in kinds:
        return value
    cast = array_ops.cast(value, symbol.dtype)
    mask = get_mask(value)
    if mask is not None:
        set_mask(cast, mask)
    return cast


def _leaves(structure) -> list:
    if isinstance(structure, dict):
        return [leaf for v in structure.values() for leaf in _leaves(v)]
    if isinstance(structure, (list, tuple)):
        return [leaf for v in structure for leaf in _leaves(v)]
    return [structure]


def _map_refs(structure, fn):
    """``fn`` on each reference (a list ["input", i] or ["call", c, k]) of a saved graph."""
    if isinstance(structure, list) and structure and structure[0] in ("input", "call"):
        return fn(structure)
    if isinstance(structure, dict):
        return {k: _map_refs(v, fn) for k, v in structure.items()}
    if isinstance(structure, (list, tuple)):
        return type(structure)(_map_refs(v, fn) for v in structure)
    return structure


def _calls_in_order(outputs) -> list:
    """Every recorded call the outputs depend on, each after the calls it depends on."""
    order, seen = [], set()

    def visit(call):
        if id(call) in seen:
            return
        seen.add(id(call))
        for leaf in _leaves([call.inputs, call.kwargs]):
            if isinstance(leaf, SymbolicTensor):
                visit(leaf.call)
        order.append(call)

    for leaf in _leaves(outputs):
        if isinstance(leaf, SymbolicTensor):  # (an Input given as an output has no call)
            visit(leaf.call)
    return order


def _spec_of(layer) -> dict:
    kind = type(layer)
    return {"class_name": kind.__name__, "module": kind.__module__, "config": layer.get_config()}


def _from_spec(spec: dict):
    return layer_class(spec["class_name"], module=spec.get("module")).from_config(spec["config"])


_ = _batch_size_of
