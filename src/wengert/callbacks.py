"""Callbacks for ``Model.fit``: History, EarlyStopping, ModelCheckpoint, LearningRateScheduler,
CSVLogger, TensorBoard, and the progress display.
"""

from __future__ import annotations

import csv
import math
import os
import sys
import time
import warnings

from .backend import xp

__all__ = [
    "Callback",
    "CallbackList",
    "History",
    "EarlyStopping",
    "ModelCheckpoint",
    "LearningRateScheduler",
    "ReduceLROnPlateau",
    "CSVLogger",
    "TensorBoard",
    "TerminateOnNaN",
    "ProgressLogger",
]


class Callback:
    """Base class: override the hooks you need; ``self.model`` is set by ``fit``.

    Example:
        >>> class Count(Callback):
        ...     def on_epoch_end(self, epoch, logs=None):
        ...         print("epoch", epoch, "done")
        >>> Count().on_epoch_end(0)
        epoch 0 done
    """

    model = None
    params: dict = {}

    def set_model(self, model) -> None:
        self.model = model

    def set_params(self, params: dict) -> None:
        self.params = params

    def on_train_begin(self, logs=None): ...
    def on_train_end(self, logs=None): ...
    def on_epoch_begin(self, epoch, logs=None): ...
    def on_epoch_end(self, epoch, logs=None): ...
    def on_batch_begin(self, batch, logs=None): ...
    def on_batch_end(self, batch, logs=None): ...
    def on_test_begin(self, logs=None): ...
    def on_test_end(self, logs=None): ...
    def on_test_batch_begin(self, batch, logs=None): ...
    def on_test_batch_end(self, batch, logs=None): ...
    def on_predict_begin(self, logs=None): ...
    def on_predict_end(self, logs=None): ...
    def on_predict_batch_begin(self, batch, logs=None): ...
    def on_predict_batch_end(self, batch, logs=None): ...

    # As Keras: the training-batch hooks call the older generic ones by default, so a
    # callback that overrides on_batch_end is called after every training batch.
    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs)


class CallbackList(Callback):
    """Calls each hook of a list of callbacks in order.

    Example:
        >>> CallbackList([]).on_epoch_end(0, {})
    """

    def __init__(self, callbacks=(), model=None, params=None):
        self.callbacks = list(callbacks)
        for cb in self.callbacks:
            if model is not None:
                cb.set_model(model)
            if params is not None:
                cb.set_params(params)

    def _each(name, n_args):
        def hook(self, *args):
            # As Keras: logs are always passed, positionally (None when there are none),
            # so a callback written `def on_train_begin(self, logs):` works.
            args = args + (None,) * (n_args - len(args))
            for cb in self.callbacks:
                getattr(cb, name)(*args)

        hook.__name__ = name
        return hook

    on_train_begin = _each("on_train_begin", 1)
    on_train_end = _each("on_train_end", 1)
    on_epoch_begin = _each("on_epoch_begin", 2)
    on_epoch_end = _each("on_epoch_end", 2)
    on_train_batch_begin = _each("on_train_batch_begin", 2)
    on_train_batch_end = _each("on_train_batch_end", 2)
    on_test_begin = _each("on_test_begin", 1)
    on_test_end = _each("on_test_end", 1)
    on_test_batch_begin = _each("on_test_batch_begin", 2)
    on_test_batch_end = _each("on_test_batch_end", 2)
    on_predict_begin = _each("on_predict_begin", 1)
    on_predict_end = _each("on_predict_end", 1)
    on_predict_batch_begin = _each("on_predict_batch_begin", 2)
    on_predict_batch_end = _each("on_predict_batch_end", 2)
    del _each


class History(Callback):
    """Records each epoch's logs: ``history.history["loss"]`` is the loss per epoch.

    Example:
        >>> h = History()
        >>> h.on_train_begin(); h.on_epoch_end(0, {"loss": 1.0}); h.history
        {'loss': [1.0]}
    """

    def __init__(self):
        self.history: dict = {}
        self.epoch: list = []

    def on_train_begin(self, logs=None):
        # Keep earlier epochs when fit is called again (resumed training extends history).
        if not hasattr(self, "history"):
            self.history = {}

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)


_HIGHER_IS_BETTER = ("acc", "auc", "precision", "recall", "fmeasure", "f1")
_LOWER_IS_BETTER = ("loss", "error", "crossentropy", "hinge", "mse", "mae", "divergence")


def _better(mode: str, monitor: str, who: str):
    """ "min" or "max" for a monitored log; "auto" decides by the log's name (Keras 3 asks
    the metric for its direction and refuses when it cannot tell, as this does)."""
    if mode == "auto":
        name = monitor.lower()
        if any(k in name for k in _HIGHER_IS_BETTER):
            mode = "max"
        elif any(k in name for k in _LOWER_IS_BETTER):
            mode = "min"
        else:
            raise ValueError(
                f"{who}: cannot tell whether {monitor!r} should go up or down; "
                "pass mode='min' or mode='max'"
            )
    if mode not in ("min", "max"):
        raise ValueError(f"{who}: mode must be 'auto', 'min' or 'max', got {mode!r}")
    return mode


def _monitored(logs, monitor: str, who: str):
    """The monitored value, or None with a warning when the logs lack it (as Keras)."""
    value = (logs or {}).get(monitor)
    if value is None:
        warnings.warn(
            f"{who}: monitored log {monitor!r} is not available; available logs: "
            f"{sorted(logs or {})}",
            stacklevel=3,
        )
    return value


class EarlyStopping(Callback):
    """Stop training when a monitored quantity has stopped improving.

    Args:
        monitor: the log to watch (default "val_loss").
        min_delta: the smallest change that counts as an improvement.
        patience: epochs without improvement before stopping (Keras 3's count: with
            patience 3 and a loss that only rises, 4 epochs run).
        verbose: 1 prints the epoch where training stopped.
        mode: "min", "max" or "auto" (by the log's name: up for accuracies, AUC,
            precision, recall; down for losses and errors; otherwise an error).
        baseline: a value to reach: epochs that do not beat it do not reset the
            patience count (the best epoch is still tracked and restored).
        restore_best_weights: at the end, restore the weights of the best epoch.
        start_from_epoch: epochs to wait before monitoring.

    A monitored log that is missing (say val_loss without validation data) gives a
    warning and that epoch is not counted, as in Keras.

    Example:
        >>> EarlyStopping(monitor="loss", patience=2).patience
        2
    """

    def __init__(
        self,
        monitor="val_loss",
        min_delta=0.0,
        patience=0,
        verbose=0,
        mode="auto",
        baseline=None,
        restore_best_weights=False,
        start_from_epoch=0,
    ):
        self.monitor = monitor
        self.min_delta = abs(float(min_delta))
        self.patience = int(patience)
        self.verbose = verbose
        self.mode = _better(mode, monitor, "EarlyStopping")
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = int(start_from_epoch)

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def _improved(self, value, reference) -> bool:
        if reference is None:
            return True
        if self.mode == "min":
            return value < reference - self.min_delta
        return value > reference + self.min_delta

    def on_epoch_end(self, epoch, logs=None):
        # Keras 3's rule: ``wait`` counts every monitored epoch and an improvement resets
        # it, so training stops after ``patience`` epochs without one.  The best epoch is
        # tracked whatever the baseline; only beating the baseline resets ``wait``.
        value = _monitored(logs, self.monitor, "EarlyStopping")
        if value is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._improved(value, self.best):
            self.best = value
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._improved(value, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self.best_weights is not None:
            self.model.set_weights(self.best_weights)
        if self.stopped_epoch and self.verbose:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")


class ModelCheckpoint(Callback):
    """Save the model at the end of each epoch (or every ``save_freq`` batches), as Keras.

    Args:
        filepath: the file; may contain ``{epoch}`` and log names, e.g. "ckpt-{epoch:02d}.npz".
        monitor: the log that decides "best".
        verbose: 1 prints a line per save.
        save_best_only: only save when the monitored value improves.
        save_weights_only: True: ``model.save_weights``; False (Keras's default): the
            whole model, ``model.save``, which ``wg.models.load_model`` reads back.
        mode: "min", "max" or "auto".
        save_freq: "epoch", or an integer: save after every that many batches.
        initial_value_threshold: with ``save_best_only``, a value the first save must beat.
        save_training_state: (wengert's) save the whole training state instead
            (``model.save_checkpoint``: optimizer slots, position, random streams), from
            which ``load_checkpoint`` and ``fit`` continue bit for bit.

    The file's folder is created when missing.  With ``save_best_only`` and the
    monitored log missing, it warns and saves (as Keras).

    Example:
        >>> ModelCheckpoint("model.npz").save_weights_only
        False
    """

    def __init__(
        self,
        filepath,
        monitor="val_loss",
        verbose=0,
        save_best_only=False,
        save_weights_only=False,
        mode="auto",
        save_freq="epoch",
        initial_value_threshold=None,
        save_training_state=False,
    ):
        if save_freq != "epoch" and not (isinstance(save_freq, int) and save_freq > 0):
            raise ValueError(
                f"ModelCheckpoint: save_freq must be 'epoch' or a positive integer, got "
                f"{save_freq!r}"
            )
        self.filepath = os.fspath(filepath)
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.save_freq = save_freq
        self.save_training_state = save_training_state
        self.mode = _better(mode, monitor, "ModelCheckpoint")
        self.best = math.inf if self.mode == "min" else -math.inf
        if initial_value_threshold is not None:
            self.best = float(initial_value_threshold)
        self._batches_seen = 0
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._batches_seen += 1
        if self._batches_seen % self.save_freq == 0:
            self._save(self._epoch, logs or {})

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, logs or {})

    def _save(self, epoch, logs):
        path = self.filepath.format(epoch=epoch + 1, **logs)
        if self.save_best_only:
            value = _monitored(logs, self.monitor, "ModelCheckpoint")
            if value is not None:  # without it, save anyway (as Keras)
                better = value < self.best if self.mode == "min" else value > self.best
                if not better:
                    return
                self.best = value
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        if self.save_training_state:
            self.model.save_checkpoint(path)
        elif self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)
        if self.verbose:
            print(f"Epoch {epoch + 1}: saved {path}")


class LearningRateScheduler(Callback):
    """Set the optimizer's learning rate at each epoch's start: ``lr = schedule(epoch, lr)``.

    Example:
        >>> LearningRateScheduler(lambda epoch, lr: lr * 0.5).schedule(0, 1.0)
        0.5
    """

    def __init__(self, schedule, verbose=0):
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        opt = self.model.optimizer
        try:
            lr = float(self.schedule(epoch, float(opt.learning_rate)))
        except TypeError:  # a schedule of the epoch alone (Keras accepts both)
            lr = float(self.schedule(epoch))
        if not math.isfinite(lr):
            raise ValueError(f"LearningRateScheduler: schedule returned {lr} at epoch {epoch}")
        opt.learning_rate = lr
        if self.verbose:
            print(f"Epoch {epoch + 1}: learning rate {lr:.6g}")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` when a monitored log stops improving.

    As Keras 3: after ``patience`` epochs without an improvement of at least
    ``min_delta``, ``lr = max(lr * factor, min_lr)``, then ``cooldown`` epochs during
    which no reduction happens.  The learning rate is logged as ``learning_rate``.

    Args:
        monitor: the log to watch (default "val_loss").
        factor: the multiplier, in [0, 1).
        patience: epochs without improvement before a reduction.
        verbose: 1 prints each reduction.
        mode: "min", "max" or "auto" ("max" for accuracies, else "min", as Keras).
        min_delta: the smallest change that counts as an improvement.
        cooldown: epochs to wait after a reduction before counting again.
        min_lr: the learning rate never goes below this.

    Example:
        >>> ReduceLROnPlateau(factor=0.5, patience=2).factor
        0.5
    """

    def __init__(
        self,
        monitor="val_loss",
        factor=0.1,
        patience=10,
        verbose=0,
        mode="auto",
        min_delta=1e-4,
        cooldown=0,
        min_lr=0.0,
    ):
        if not 0.0 <= float(factor) < 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor must be in [0, 1), got {factor}")
        self.monitor = monitor
        self.factor = float(factor)
        self.patience = int(patience)
        self.verbose = verbose
        if mode == "auto":  # Keras 3's rule for this callback: up for accuracies
            mode = "max" if "acc" in monitor else "min"
        self.mode = _better(mode, monitor, "ReduceLROnPlateau")
        self.min_delta = abs(float(min_delta))
        self.cooldown = int(cooldown)
        self.min_lr = float(min_lr)
        self._reset()

    def _reset(self):
        self.best = math.inf if self.mode == "min" else -math.inf
        self.wait = 0
        self.cooldown_counter = 0

    def on_train_begin(self, logs=None):
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        opt = self.model.optimizer
        if callable(getattr(opt, "_learning_rate", None)):
            raise TypeError(
                "ReduceLROnPlateau: the optimizer's learning rate is a schedule; the two "
                "would fight over it (use a constant learning rate)"
            )
        logs["learning_rate"] = float(opt.learning_rate)
        value = _monitored(logs, self.monitor, "ReduceLROnPlateau")
        if value is None:
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self.mode == "min":
            improved = value < self.best - self.min_delta
        else:
            improved = value > self.best + self.min_delta
        if improved:
            self.best = value
            self.wait = 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.patience:
                old = float(opt.learning_rate)
                if old > self.min_lr:
                    opt.learning_rate = max(old * self.factor, self.min_lr)
                    if self.verbose:
                        print(
                            f"Epoch {epoch + 1}: ReduceLROnPlateau reducing the learning "
                            f"rate to {opt.learning_rate:.6g}"
                        )
                    self.cooldown_counter = self.cooldown
                    self.wait = 0


class TerminateOnNaN(Callback):
    """Stop training when a batch's loss is NaN or infinite (without raising).

    Example:
        >>> TerminateOnNaN().__class__.__name__
        'TerminateOnNaN'
    """

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            self.model.stop_training = True


class CSVLogger(Callback):
    """Append each epoch's logs as a row of a CSV file.

    Example:
        >>> CSVLogger("log.csv").separator
        ','
    """

    def __init__(self, filename, separator=",", append=False):
        self.filename = os.fspath(filename)
        self.separator = separator
        self.append = append
        self.keys = None

    def on_train_begin(self, logs=None):
        exists = self.append and os.path.exists(self.filename)
        self.keys = None  # each run writes its own columns (a reused logger too)
        self._file = open(self.filename, "a" if self.append else "w", newline="")  # noqa: SIM115
        self._writer = None
        self._header_written = exists

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
        if self._writer is None:
            self._writer = csv.DictWriter(
                self._file,
                fieldnames=["epoch"] + self.keys,
                delimiter=self.separator,
                extrasaction="ignore",
            )
            if not self._header_written:
                self._writer.writeheader()
        self._writer.writerow({"epoch": epoch, **{k: logs.get(k, "NA") for k in self.keys}})
        self._file.flush()

    def on_train_end(self, logs=None):
        self._file.close()


class TensorBoard(Callback):
    """Write logs as TensorBoard event files through tensorboardX (an optional extra).

    Keras's constructor.  Each epoch's logs go to ``epoch/<name>`` at step ``epoch``;
    with ``update_freq`` an int N ("batch" means 1), every N-th training batch's logs go
    to ``batch/<name>`` at the batch count since training began (from 1, as Keras counts).
    ``histogram_freq=k`` writes each weight's histogram (``<weight>/histogram``) every k-th
    epoch, and ``write_steps_per_second`` adds ``steps_per_second``, as Keras's do.
    ``write_graph``, ``write_images``, ``profile_batch``, ``embeddings_freq`` and
    ``embeddings_metadata`` are accepted; set to anything but their defaults they warn
    once, as wengert writes no graph, weight images, profile or projector.

    Args:
        log_dir: the directory of the event files.
        histogram_freq: write weight histograms every this many epochs (0: never).
        write_graph: accepted (Keras's default True); no graph is written.
        write_images: accepted; True warns (weights are not written as images).
        write_steps_per_second: also write the training steps per second.
        update_freq: "epoch", or "batch" or an int N: also write every N-th batch's logs.
        profile_batch: accepted; nonzero warns (there is no profiler).
        embeddings_freq: accepted; nonzero warns (there is no projector).
        embeddings_metadata: accepted; anything but None warns.

    Example:
        >>> TensorBoard(log_dir="runs", update_freq="batch").update_freq
        1
    """

    def __init__(
        self,
        log_dir="logs",
        histogram_freq=0,
        write_graph=True,
        write_images=False,
        write_steps_per_second=False,
        update_freq="epoch",
        profile_batch=0,
        embeddings_freq=0,
        embeddings_metadata=None,
    ):
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = int(histogram_freq)
        self.write_graph = write_graph
        self.write_images = write_images
        self.write_steps_per_second = bool(write_steps_per_second)
        self.update_freq = 1 if update_freq == "batch" else update_freq
        if self.update_freq != "epoch" and (
            isinstance(self.update_freq, bool)
            or not isinstance(self.update_freq, int)
            or self.update_freq < 1
        ):
            raise ValueError(
                'TensorBoard: update_freq must be "epoch", "batch" or a positive number of '
                f"batches, got {update_freq!r}"
            )
        self.profile_batch = profile_batch
        self.embeddings_freq = embeddings_freq
        self.embeddings_metadata = embeddings_metadata
        ignored = {
            "write_images": (write_images, "weight images"),
            "profile_batch": (profile_batch, "a profile"),
            "embeddings_freq": (embeddings_freq, "embeddings for the projector"),
            "embeddings_metadata": (embeddings_metadata, "embeddings for the projector"),
        }
        for arg, (value, what) in ignored.items():
            if value not in (None, False, 0, "0", (0, 0), [0, 0]):
                warnings.warn(
                    f"TensorBoard: {arg}={value!r} is accepted for Keras compatibility, but "
                    f"wengert writes no {what}; it is ignored",
                    stacklevel=2,
                )
        self._writer = None
        self._step = 0

    def on_train_begin(self, logs=None):
        try:
            from tensorboardX import SummaryWriter
        except ImportError:
            raise ImportError(
                'TensorBoard needs tensorboardX: pip install "wengert[tensorboard]"'
            ) from None
        self._writer = SummaryWriter(self.log_dir)
        self._step = 0  # as Keras: batches are counted from the start of each fit
        self._batch_start = time.perf_counter()
        self._epoch_start = (self._batch_start, 0)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = (time.perf_counter(), self._step)

    def on_train_batch_begin(self, batch, logs=None):
        self._batch_start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self._step += 1
        if self.update_freq == "epoch" or self._step % self.update_freq:
            return
        logs = dict(logs or {})
        if self.write_steps_per_second:
            logs["steps_per_second"] = 1.0 / max(time.perf_counter() - self._batch_start, 1e-9)
        for k, v in logs.items():
            self._writer.add_scalar(f"batch/{k}", v, self._step)

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        if self.write_steps_per_second:
            began, first = self._epoch_start
            logs["steps_per_second"] = (self._step - first) / max(time.perf_counter() - began, 1e-9)
        for k, v in logs.items():
            self._writer.add_scalar(f"epoch/{k}", v, epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            for weight in self.model.weights:
                self._writer.add_histogram(f"{weight.name}/histogram", weight.numpy(), epoch)
        self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()


class ProgressLogger(Callback):
    """Progress display: a tqdm bar on a terminal (verbose=1), else one line per epoch.

    Example:
        >>> ProgressLogger(verbose=0).verbose
        0
    """

    def __init__(self, verbose=1, stream=None):
        self.verbose = verbose
        self.stream = stream if stream is not None else sys.stdout
        self._bar = None

    def _tty(self) -> bool:
        return hasattr(self.stream, "isatty") and self.stream.isatty()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        if self.verbose == 1 and self._tty():
            try:
                from tqdm.auto import tqdm
            except ImportError:
                tqdm = None
            if tqdm is not None:
                self._bar = tqdm(
                    total=self.params.get("steps"),
                    file=self.stream,
                    desc=f"Epoch {epoch + 1}/{self.params.get('epochs')}",
                    leave=True,
                    unit="batch",
                )

    def on_train_batch_end(self, batch, logs=None):
        if self._bar is not None:
            self._bar.update(1)
            if logs and "loss" in logs:
                self._bar.set_postfix(loss=f"{logs['loss']:.4f}", refresh=False)

    def on_epoch_end(self, epoch, logs=None):
        text = " - ".join(f"{k}: {_fmt(v)}" for k, v in (logs or {}).items())
        if self._bar is not None:
            self._bar.set_postfix_str(text)
            self._bar.close()
            self._bar = None
        elif self.verbose:
            print(
                f"Epoch {epoch + 1}/{self.params.get('epochs')} - {text}",
                file=self.stream,
                flush=True,
            )


def _fmt(v):
    return f"{v:.4f}" if isinstance(v, float) else str(v)


_ = xp
