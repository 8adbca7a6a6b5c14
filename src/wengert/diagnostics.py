"""Seeing inside training: gradient norms by layer, saturated and dead units, update sizes.

The chapter's case against deep sigmoid networks is that gradients vanish on
their way back: each sigmoid multiplies the backward signal by its derivative,
at most 0.25 and near zero where the unit saturates.  ``gradient_report`` shows
it on any model: one forward and backward pass on a batch, under a tape, with
every layer's output captured, gives per layer

- ``weight_grad_norm``: the L2 norm of the gradient of the loss with respect to
  the layer's trainable weights (all of them together: kernel and bias), and
  ``weight_grad_ratio``, its ratio to the last layer's;
- ``output_grad_norm``: the norm of the gradient with respect to the layer's
  output (after its activation), and ``output_grad_ratio``;
- ``saturated_fraction``: for sigmoid/tanh-like activations, the fraction of
  outputs within ``epsilon`` of the activation's limits;
- ``dead_fraction``: for ReLU, the fraction of units that are zero on the whole batch;
- ``update_ratio``: ``||dw|| / ||w||`` for one step of the model's optimizer.

A layer's output is captured by temporarily replacing its ``call`` with a
wrapper (restored afterwards), so Sequential and subclassed models work alike.
An ``Activation`` layer applied directly to a weighted layer's output counts as
that layer's activation.  The model is left as it was: weights, optimizer (a
copy takes the step) and random streams.

``GradientMonitor`` records a report per epoch during ``fit``;
``plot_gradient_norms`` draws the norms by layer and epoch (matplotlib, the
``plot`` extra).  ``wengert diagnose`` runs both from the command line.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, fields

from . import activations, callbacks, losses, optimizers
from .backend import float64, xp
from .layers import Activation, Dense, Flatten, Input, Normalization
from .layers.base import Layer
from .models import Sequential
from .tape import GradientTape, flatten
from .tensor import Tensor, Variable, convert_to_tensor

__all__ = [
    "LayerGradients",
    "GradientReport",
    "gradient_report",
    "SequenceGradients",
    "sequence_gradient_report",
    "GradientMonitor",
    "plot_gradient_norms",
    "deep_classifier",
    "SATURATING",
    "DEAD",
]

# The limits of saturating activations: a unit is saturated within epsilon of either.
SATURATING = {
    "sigmoid": (0.0, 1.0),
    "hard_sigmoid": (0.0, 1.0),
    "tanh": (-1.0, 1.0),
    "softsign": (-1.0, 1.0),
}
# Activations whose units can die: zero output, hence zero gradient, for every input.
DEAD = ("relu", "relu6")


@dataclass
class LayerGradients:
    """One row of a ``GradientReport``: what the gradient looks like at one layer.

    Fields read as attributes or as keys (``row.weight_grad_norm`` or
    ``row["weight_grad_norm"]``).  A value that does not apply is None: no
    saturation for ReLU, no update ratio without an optimizer.

    Attributes:
        name: the layer's name.
        layer_type: its class name.
        activation: the activation's name (an ``Activation`` layer right after it
            counts), or None.
        weight_grad_norm: ``||dL/dW||`` over the layer's trainable weights together.
        weight_norm: ``||W||`` over the same weights.
        weight_grad_ratio: ``weight_grad_norm`` divided by the last layer's.
        output_grad_norm: ``||dL/d output||`` (all calls of the layer together).
        output_grad_ratio: ``output_grad_norm`` divided by the last layer's.
        saturated_fraction: fraction of outputs within epsilon of a saturating
            activation's limits.
        dead_fraction: fraction of ReLU units that are zero on the whole batch.
        update_ratio: ``||dW|| / ||W||`` for one optimizer step.

    Example:
        >>> row = LayerGradients("dense", "Dense", "relu", weight_grad_norm=0.5)
        >>> row["weight_grad_norm"], row.dead_fraction
        (0.5, None)
    """

    name: str
    layer_type: str
    activation: str | None = None
    weight_grad_norm: float | None = None
    weight_norm: float | None = None
    weight_grad_ratio: float | None = None
    output_grad_norm: float | None = None
    output_grad_ratio: float | None = None
    saturated_fraction: float | None = None
    dead_fraction: float | None = None
    update_ratio: float | None = None

    def __getitem__(self, key: str):
        if key not in self.keys():
            raise KeyError(f"LayerGradients has no field {key!r}; fields: {self.keys()}")
        return getattr(self, key)

    def keys(self) -> list:
        """The field names, in table order."""
        return [f.name for f in fields(self)]

    def as_dict(self) -> dict:
        """The row as a plain dict (JSON-ready)."""
        return {k: getattr(self, k) for k in self.keys()}


@dataclass
class GradientReport:
    """Per-layer gradient statistics of one batch; ``print(report)`` shows the table.

    Attributes:
        layers: one ``LayerGradients`` per layer with trainable weights, in call order.
        loss: the batch loss.
        batch_size: the number of samples.
        epsilon: the saturation margin used.
        factor: the shrink/growth factor beyond which a warning is given.
        warnings: warning lines (vanishing or exploding gradients, non-finite values).

    Example:
        >>> report = GradientReport([LayerGradients("a", "Dense", weight_grad_norm=1e-6),
        ...                          LayerGradients("b", "Dense", weight_grad_norm=1.0)], loss=2.3)
        >>> report.first_to_last
        1e-06
        >>> report.column("name")
        ['a', 'b']
    """

    layers: list
    loss: float = math.nan
    batch_size: int = 0
    epsilon: float = 0.01
    factor: float = 100.0
    warnings: list = field(default_factory=list)

    @property
    def first_to_last(self) -> float | None:
        """The first layer's weight-gradient norm over the last layer's (None if unknown).

        Layers without a gradient (weights the loss does not reach) are passed over.
        """
        ends = _ends(self.layers)
        return None if ends is None else _ratio(ends[0].weight_grad_norm, ends[1].weight_grad_norm)

    def column(self, key: str) -> list:
        """One field of every row, in layer order."""
        return [row[key] for row in self.layers]

    def as_dict(self) -> dict:
        """The report as plain dicts and lists (JSON-ready)."""
        return {
            "loss": self.loss,
            "batch_size": self.batch_size,
            "epsilon": self.epsilon,
            "factor": self.factor,
            "first_to_last": self.first_to_last,
            "warnings": list(self.warnings),
            "layers": [row.as_dict() for row in self.layers],
        }

    def __str__(self) -> str:
        header = (
            "layer",
            "activation",
            "|dL/dW|",
            "vs last",
            "|dL/dout|",
            "vs last",
            "saturated",
            "dead",
            "|dW|/|W|",
        )
        rows = [header]
        for r in self.layers:
            rows.append(
                (
                    f"{r.name} ({r.layer_type})",
                    r.activation or "-",
                    _sci(r.weight_grad_norm),
                    _sci(r.weight_grad_ratio),
                    _sci(r.output_grad_norm),
                    _sci(r.output_grad_ratio),
                    _pct(r.saturated_fraction),
                    _pct(r.dead_fraction),
                    _sci(r.update_ratio),
                )
            )
        widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
        lines = [
            f"Gradient report: loss {self.loss:.4g} on a batch of {self.batch_size} "
            f"(saturated: within {self.epsilon:g} of the activation's limits)"
        ]
        for k, r in enumerate(rows):
            cells = [r[0].ljust(widths[0]), r[1].ljust(widths[1])]
            cells += [c.rjust(w) for c, w in zip(r[2:], widths[2:])]
            lines.append("  ".join(cells).rstrip())
            if k == 0:
                lines.append("-" * len(lines[-1]))
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def _sci(v) -> str:
    return "-" if v is None else f"{v:.2e}"


def _pct(v) -> str:
    return "-" if v is None else f"{100 * v:.1f}%"


def _ends(rows):
    """The first and the last row that have a weight gradient, or None if none has."""
    have = [r for r in rows if r.weight_grad_norm is not None]
    return (have[0], have[-1]) if have else None


def _ratio(a, b):
    if a is None or b is None or not b:
        return None
    return float(a / b)


def _norm(arrays) -> float | None:
    """The L2 norm of several arrays together, in float64 (None when there are none)."""
    arrays = [a for a in arrays if a is not None]
    if not arrays:
        return None
    total = 0.0
    for a in arrays:
        a = a.astype(float64, copy=False)
        total += float(xp.vdot(a.ravel(), a.ravel()).real)
    return math.sqrt(total)


def _activation_name(fn) -> str | None:
    if fn is None:
        return None
    try:
        return activations.serialize(fn)
    except ValueError:
        return getattr(fn, "__name__", type(fn).__name__)


def _saturated_fraction(outputs, name, epsilon):
    if name not in SATURATING or not outputs:
        return None
    low, high = SATURATING[name]
    hits = total = 0
    for o in outputs:
        hits += int(xp.count_nonzero((o <= low + epsilon) | (o >= high - epsilon)))
        total += o.size
    return hits / total if total else None


def _dead_fraction(outputs, name):
    """Fraction of units (last axis) that are zero on every sample (and position) of the batch."""
    if name not in DEAD or not outputs:
        return None
    alive = None
    for o in outputs:
        if o.ndim == 0:
            return None
        seen = (o != 0).reshape(-1, o.shape[-1]).any(axis=0)
        alive = seen if alive is None or alive.shape != seen.shape else alive | seen
    return float(1.0 - alive.mean()) if alive.size else None


# -- capturing layer outputs ------------------------------------------------------------------
def _layer_tree(model):
    """Every layer under ``model`` once (model first), its parent, and the weights it owns."""
    parent = {id(model): None}
    order = [model]
    own = {}

    def visit(layer):
        mine = []
        for _, obj in layer._walk():
            if isinstance(obj, Variable):
                mine.append(obj)
            elif isinstance(obj, Layer) and id(obj) not in parent:
                parent[id(obj)] = layer
                order.append(obj)
                visit(obj)
        own[id(layer)] = mine

    visit(model)
    return order, parent, own


class _Capture:
    """Wrap each layer's ``call`` to log (layer, input, output); ``restore`` undoes it."""

    _MISSING = object()

    def __init__(self, layers):
        self.events = []  # [layer, first input, output], in call order
        self.saved = []
        for layer in layers:
            self.saved.append((layer, layer.__dict__.get("call", self._MISSING)))
            layer.call = self._wrap(layer, layer.call)

    def _wrap(self, layer, original):
        events = self.events

        def call(*args, **kwargs):
            event = [layer, args[0] if args else kwargs.get("inputs"), None]
            events.append(event)
            event[2] = original(*args, **kwargs)
            return event[2]

        return call

    def restore(self):
        for layer, saved in self.saved:
            if saved is self._MISSING:
                layer.__dict__.pop("call", None)
            else:
                layer.call = saved


def _tensors(structure) -> list:
    leaves, _ = flatten(structure)
    return [t for t in leaves if isinstance(t, Tensor) and t._value.dtype.kind in "fc"]


def _clone_optimizer(opt):
    """A fresh optimizer with ``opt``'s configuration and state: it can step without harm."""
    copy = type(opt).from_config(opt.get_config())
    if opt.built:
        copy.build(opt._variables)
        copy.set_state(opt.get_state())
    return copy


def gradient_report(
    model,
    x,
    y,
    loss=None,
    *,
    optimizer=None,
    epsilon: float = 0.01,
    factor: float = 100.0,
    training: bool = True,
) -> GradientReport:
    """Gradient norms, saturation, dead units and update ratios of each layer on one batch.

    Args:
        model: a ``Sequential`` or subclassed ``Model`` (any Layer works).
        x: a batch of inputs.
        y: its targets.
        loss: a loss name, object or function ``loss(y_true, y_pred)``; default the
            model's compiled loss.
        optimizer: the optimizer whose one step gives ``update_ratio``; default the
            model's.  A copy takes the step: the model and the optimizer are unchanged.
        epsilon: a sigmoid/tanh output within ``epsilon`` of a limit counts as saturated.
        factor: warn when the first layer's weight-gradient norm is more than ``factor``
            times smaller (vanishing) or larger (exploding) than the last layer's.
        training: run the forward pass in training mode (dropout on), as ``fit`` does;
            the random streams are restored afterwards.

    Returns:
        A ``GradientReport``; ``report.layers[i]["weight_grad_norm"]`` and so on.

    Example:
        >>> import wengert as wg
        >>> model = wg.Sequential([wg.layers.Input((4,)), wg.layers.Dense(8, activation="sigmoid"),
        ...                        wg.layers.Dense(2)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> report = gradient_report(model, wg.ones((16, 4)), wg.zeros((16, 2)))
        >>> [row.activation for row in report.layers], report.layers[-1]["weight_grad_ratio"]
        (['sigmoid', 'linear'], 1.0)
    """
    loss_fn = losses.get(loss) if loss is not None else getattr(model, "compiled_loss", None)
    if loss_fn is None:
        raise ValueError(
            f"gradient_report: model '{model.name}' has no compiled loss; pass loss=..."
        )
    x = x if isinstance(x, Tensor) else convert_to_tensor(x)
    y = y if isinstance(y, Tensor) else convert_to_tensor(y)
    if not model.built:
        model(x, training=False)  # create the weights first, outside the tape
    optimizer = optimizer if optimizer is not None else getattr(model, "optimizer", None)
    if isinstance(optimizer, str):
        optimizer = optimizers.get(optimizer)

    all_weights = model.weights
    saved_weights = [v._value.copy() for v in all_weights]
    generators = model._generators() if hasattr(model, "_generators") else {}
    saved_streams = {k: g.get_state() for k, g in generators.items()}

    order, parent, own = _layer_tree(model)
    capture = _Capture(order)
    notes = []
    try:
        with GradientTape() as tape:  # rows' outputs depend on trainable weights: recorded
            y_pred = model(x, training=training)
            loss_value = loss_fn(y, y_pred)
            if loss_value.ndim:
                from .math_ops import reduce_mean

                loss_value = reduce_mean(loss_value)
        capture.restore()
        rows, row_vars, row_outputs, row_acts = _rows(model, capture.events, parent, own)
        trainable = [v for vs in row_vars for v in vs]
        outputs = [t for outs in row_outputs for t in outs]
        grads = tape.gradient(loss_value, trainable + outputs)
        wgrads = dict(zip(map(id, trainable), grads[: len(trainable)]))
        ograds = dict(zip(map(id, outputs), grads[len(trainable) :]))

        updates = None
        if optimizer is not None and trainable:
            before = [v._value.copy() for v in trainable]
            try:
                step = _clone_optimizer(optimizer)
                step.apply_gradients(zip(grads[: len(trainable)], trainable))
            except (TypeError, ValueError, NotImplementedError, KeyError) as exc:
                notes.append(f"no update ratio: {optimizer!r} cannot take a trial step ({exc})")
            else:
                updates = {id(v): v._value - b for v, b in zip(trainable, before)}
    finally:
        capture.restore()
        for v, a in zip(all_weights, saved_weights):
            v.assign(a)
        for k, g in generators.items():
            g.set_state(saved_streams[k])

    batch_size = int(x.shape[0]) if x.ndim else 1
    if not batch_size:  # no samples, no statistics: a mean over nothing is not 0 or 100%
        notes.append("the batch is empty: no gradient statistics")
    for row, vs, outs, act in zip(rows, row_vars, row_outputs, row_acts):
        values = [t._value for t in outs]
        row.activation = act
        row.weight_norm = _norm([v._value for v in vs])
        if not batch_size:
            continue
        row.weight_grad_norm = _norm(
            [None if wgrads[id(v)] is None else wgrads[id(v)]._value for v in vs]
        )
        row.output_grad_norm = _norm(
            [None if ograds[id(t)] is None else ograds[id(t)]._value for t in outs]
        )
        row.saturated_fraction = _saturated_fraction(values, act, epsilon)
        row.dead_fraction = _dead_fraction(values, act)
        if updates is not None and row.weight_norm and row.weight_grad_norm is not None:
            delta = _norm([updates[id(v)] for v in vs])
            row.update_ratio = None if delta is None else delta / row.weight_norm
    if rows:
        last = rows[-1]
        for row in rows:
            row.weight_grad_ratio = _ratio(row.weight_grad_norm, last.weight_grad_norm)
            row.output_grad_ratio = _ratio(row.output_grad_norm, last.output_grad_norm)
    report = GradientReport(
        rows,
        loss=float(loss_value._value) if batch_size else math.nan,
        batch_size=batch_size,
        epsilon=float(epsilon),
        factor=float(factor),
    )
    report.warnings = _warnings(report) + notes
    return report


@dataclass
class SequenceGradients:
    """How much of the loss's gradient reaches each time step of a sequence.

    ``norms[t]`` is the L2 norm, over the batch and the features, of the gradient of
    the loss with respect to step ``t`` of ``source`` (the model's input, or the first
    sequence a layer produced from integer tokens); ``ratio`` is the first step's norm
    over the last step's.  A recurrent network that forgets its early steps shows it
    as a ratio far below one: the chapter's vanishing gradient, through time.

    Example:
        >>> report = SequenceGradients("the input", [1e-4, 1e-2, 1.0])
        >>> report.ratio
        0.0001
        >>> print(str(report).splitlines()[-1])
          first/last = 1.00e-04
    """

    source: str
    norms: list = field(default_factory=list)
    loss: float = math.nan

    @property
    def ratio(self) -> float | None:
        """``norms[0] / norms[-1]`` (None when there is no step or the last is zero)."""
        return _ratio(self.norms[0], self.norms[-1]) if self.norms else None

    def __str__(self) -> str:
        lines = [f"gradient reaching each step of {self.source} (loss {self.loss:.4g})"]
        peak = max(self.norms, default=0.0) or 1.0
        for t, n in enumerate(self.norms):
            bar = "#" * max(0, round(40 * n / peak)) if math.isfinite(n) else "?"
            lines.append(f"  t={t:<4d} {_sci(n):>9}  {bar}")
        if self.ratio is not None:
            lines.append(f"  first/last = {_sci(self.ratio)}")
        return "\n".join(lines)


def sequence_gradient_report(model, x, y, loss=None, *, training: bool = False):
    """The gradient of the loss with respect to each time step of a batch of sequences.

    ``x`` is (batch, time, features) floats, or (batch, time) integer tokens, whose
    first sequence-shaped layer output (an Embedding's) is used instead.  Weights and
    random streams are left as they were.

    Example:
        >>> import numpy as np, wengert as wg
        >>> wg.random.set_seed(0)
        >>> model = wg.Sequential([wg.layers.Input((30, 1)), wg.layers.SimpleRNN(8),
        ...                        wg.layers.Dense(1)])
        >>> report = sequence_gradient_report(model, np.ones((4, 30, 1)), np.zeros((4, 1)),
        ...                                   loss="mse")
        >>> len(report.norms), report.ratio < 1
        (30, True)
    """
    loss_fn = losses.get(loss) if loss is not None else getattr(model, "compiled_loss", None)
    if loss_fn is None:
        raise ValueError(
            f"sequence_gradient_report: model '{model.name}' has no compiled loss; pass loss=..."
        )
    x = x if isinstance(x, Tensor) else convert_to_tensor(x)
    y = y if isinstance(y, Tensor) else convert_to_tensor(y)
    if x.ndim < 2:
        raise ValueError(
            f"sequence_gradient_report: expected (batch, time[, features]) inputs, got shape "
            f"{tuple(x.shape)}"
        )
    if not model.built:
        model(x, training=False)
    generators = model._generators() if hasattr(model, "_generators") else {}
    saved_streams = {k: g.get_state() for k, g in generators.items()}
    order, _, _ = _layer_tree(model)
    capture = _Capture(order) if x._value.dtype.kind not in "fc" else None
    try:
        with GradientTape() as tape:
            if capture is None:
                tape.watch(x)
            y_pred = model(x, training=training)
            loss_value = loss_fn(y, y_pred)
            if loss_value.ndim:
                from .math_ops import reduce_mean

                loss_value = reduce_mean(loss_value)
    finally:
        if capture is not None:
            capture.restore()
        for k, g in generators.items():
            g.set_state(saved_streams[k])
    if capture is None:
        source, name = x, "the input"
    else:  # tokens: the first (batch, time, features) float output, an Embedding's
        found = [
            (layer, out)
            for layer, _, out in capture.events
            if isinstance(out, Tensor) and out.ndim == 3 and out._value.dtype.kind == "f"
        ]
        if not found:
            raise ValueError(
                "sequence_gradient_report: the inputs are integers and no layer made a "
                "(batch, time, features) float sequence from them"
            )
        layer, source = found[0]
        name = f"{layer.name}'s output"
    grad = tape.gradient(loss_value, source)
    values = xp.zeros(source.shape) if grad is None else grad._value.astype(float64)
    values = values.reshape(values.shape[0], values.shape[1], -1)
    norms = [float(v) for v in xp.sqrt((values**2).sum(axis=(0, 2)))]
    return SequenceGradients(name, norms, float(loss_value._value))


def _rows(model, events, parent, own):
    """Rows (one per called layer owning trainable weights), their weights, outputs, activation."""
    called = {id(e[0]) for e in events}
    first_call = {}
    for k, e in enumerate(events):
        first_call.setdefault(id(e[0]), k)
    # Each trainable weight belongs to the innermost called layer that holds it: a layer
    # that reads a sublayer's weights without calling it (a fused recurrent loop) gets them.
    owner_of = {}
    for layer_id, vs in own.items():
        for v in vs:
            owner_of.setdefault(id(v), layer_id)
    layers_by_id = {id(e[0]): e[0] for e in events}
    by_layer = {}
    for v in model.trainable_weights:
        holder = owner_of.get(id(v))
        layer = layers_by_id.get(holder)
        if layer is None:  # an uncalled owner: the nearest called layer above it
            layer = next((a for a in _ancestors(holder, parent) if id(a) in called), None)
        if layer is None or (layer is model and holder != id(model)):
            continue  # a weight the forward pass never reached
        by_layer.setdefault(id(layer), (layer, []))[1].append(v)
    row_layers = sorted(by_layer.values(), key=lambda lv: first_call[id(lv[0])])

    # Outputs: every call's output; an Activation layer applied to one moves it on.
    outputs = {id(layer): [] for layer, _ in row_layers}
    act = {
        id(layer): _activation_name(getattr(layer, "activation", None)) for layer, _ in row_layers
    }
    produced = {}  # id(output tensor) -> (row layer id, index in its outputs)
    for layer, _, out in events:
        if id(layer) in outputs:
            for t in _tensors(out):
                produced[id(t)] = (id(layer), len(outputs[id(layer)]))
                outputs[id(layer)].append(t)
    for layer, inputs, out in events:
        if isinstance(layer, Activation) and isinstance(inputs, Tensor) and id(inputs) in produced:
            lid, i = produced.pop(id(inputs))
            if isinstance(out, Tensor):
                outputs[lid][i] = out
                produced[id(out)] = (lid, i)
                act[lid] = _activation_name(layer.activation)
    rows, row_vars, row_outputs, row_acts = [], [], [], []
    for layer, vs in row_layers:
        rows.append(LayerGradients(layer.name, type(layer).__name__))
        row_vars.append(vs)
        row_outputs.append(outputs[id(layer)])
        row_acts.append(act[id(layer)])
    return rows, row_vars, row_outputs, row_acts


def _ancestors(layer_id, parent):
    """The layers above the layer with id ``layer_id``, innermost first."""
    node = parent.get(layer_id)
    while node is not None:
        yield node
        node = parent.get(id(node))


def _warnings(report) -> list:
    out = []
    bad = [
        r.name
        for r in report.layers
        for v in (r.weight_grad_norm, r.output_grad_norm)
        if v is not None and not math.isfinite(v)
    ]
    if bad:
        out.append(f"non-finite gradients in {sorted(set(bad))}")
    ratio = report.first_to_last
    ends = _ends(report.layers)
    if ratio is not None and math.isfinite(ratio) and ends[0] is not ends[1]:
        first, last = ends[0].name, ends[1].name
        if ratio < 1.0 / report.factor:
            out.append(
                f"vanishing gradients: the weight-gradient norm of the first layer ({first}) "
                f"is {ratio:.1e} times the last layer's ({last}), more than {report.factor:g}x "
                "smaller"
            )
        elif ratio > report.factor:
            out.append(
                f"exploding gradients: the weight-gradient norm of the first layer ({first}) "
                f"is {ratio:.1e} times the last layer's ({last}), more than {report.factor:g}x "
                "larger"
            )
    return out


# -- during training ----------------------------------------------------------------------
class GradientMonitor(callbacks.Callback):
    """Record a ``gradient_report`` on a fixed batch before training and after each epoch.

    Args:
        x: inputs of the batch to diagnose (the first ``batch_size`` samples are used).
        y: their targets.
        loss: the loss (default: the model's compiled loss).
        batch_size: how many samples of ``x`` to use.
        every: record after every ``every``-th epoch.
        epsilon: saturation margin (see ``gradient_report``).
        factor: warning factor (see ``gradient_report``).
        enabled: False makes the monitor do nothing (it stays in the callback list).

    Attributes:
        reports: the recorded ``GradientReport``s.
        epochs: the number of epochs completed when each was recorded (0: before training).

    Example:
        >>> import wengert as wg
        >>> x, y = wg.random.normal((32, 4)), wg.zeros((32, 1))
        >>> model = wg.Sequential([wg.layers.Input((4,)), wg.layers.Dense(3, activation="tanh"),
        ...                        wg.layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> monitor = GradientMonitor(x, y)
        >>> _ = model.fit(x, y, epochs=2, verbose=0, callbacks=[monitor])
        >>> monitor.epochs, [len(v) for v in monitor.series().values()]
        ([0, 1, 2], [3, 3])
    """

    def __init__(
        self,
        x,
        y,
        loss=None,
        batch_size: int = 256,
        every: int = 1,
        epsilon: float = 0.01,
        factor: float = 100.0,
        enabled: bool = True,
    ):
        self.x = x[:batch_size]
        self.y = y[:batch_size]
        self.loss = loss
        self.every = max(1, int(every))
        self.epsilon = epsilon
        self.factor = factor
        self.enabled = bool(enabled)
        self.reports: list = []
        self.epochs: list = []

    def _record(self, epoch: int) -> None:
        if not self.enabled or (self.epochs and self.epochs[-1] == epoch):
            return
        self.reports.append(
            gradient_report(
                self.model,
                self.x,
                self.y,
                self.loss,
                epsilon=self.epsilon,
                factor=self.factor,
            )
        )
        self.epochs.append(epoch)

    def on_epoch_begin(self, epoch, logs=None):
        if not self.epochs:
            self._record(epoch)  # the starting point: what the gradients look like at first

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every == 0:
            self._record(epoch + 1)

    def series(self, key: str = "weight_grad_norm") -> dict:
        """``{layer name: [value per recorded epoch]}`` for one field of the reports.

        Example:
            >>> monitor = GradientMonitor([[0.0]], [[0.0]])
            >>> monitor.reports.append(GradientReport([LayerGradients("d", "Dense", None, 0.5)]))
            >>> monitor.series()
            {'d': [0.5]}
        """
        out: dict = {}
        for report in self.reports:
            for row in report.layers:
                out.setdefault(row.name, [])
        for report in self.reports:
            values = {row.name: row[key] for row in report.layers}
            for name in out:
                out[name].append(values.get(name))
        return out

    def plot(self, path, key: str = "weight_grad_norm", title: str | None = None) -> str:
        """Save the norms by layer and epoch as a PNG (see ``plot_gradient_norms``)."""
        return plot_gradient_norms(self, path, key, title=title)


def plot_gradient_norms(
    monitor, path, key: str = "weight_grad_norm", title: str | None = None
) -> str:
    """Draw a GradientMonitor's gradient norms by layer and by epoch into a PNG.

    Left: each layer's norm against the epoch.  Right: the norm against the
    layer's depth, one line per recorded epoch.  Both on a log scale.

    Args:
        monitor: a ``GradientMonitor`` (anything with ``reports`` and ``epochs``).
        path: where to write the PNG (atomically).
        key: the field to draw ("weight_grad_norm" or "output_grad_norm").
        title: a title over both panels (say, which model they show).

    Returns:
        The path written.

    Raises:
        MissingPlotExtra: matplotlib is not installed (the message names the extra).

    Example:
        >>> import os, tempfile
        >>> monitor = GradientMonitor([[0.0]], [[0.0]])
        >>> for e, s in enumerate([1.0, 0.5]):
        ...     monitor.reports.append(GradientReport([LayerGradients("a", "Dense", None, s * 1e-4),
        ...                                            LayerGradients("b", "Dense", None, s)]))
        ...     monitor.epochs.append(e)
        >>> with tempfile.TemporaryDirectory() as d:
        ...     os.path.getsize(plot_gradient_norms(monitor, os.path.join(d, "g.png"))) > 0
        True
    """
    import io

    from .checkpoints import atomic_write_bytes
    from .classic.plot import require_matplotlib

    Figure, Canvas = require_matplotlib()
    series = GradientMonitor.series(monitor, key)
    epochs = list(monitor.epochs)
    names = list(series)
    fig = Figure(figsize=(11, 4))
    Canvas(fig)
    by_epoch, by_layer = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    from matplotlib import colormaps

    layer_colors = colormaps["viridis"]
    for i, name in enumerate(names):
        values = [math.nan if v is None or v <= 0 else v for v in series[name]]
        color = layer_colors(i / max(len(names) - 1, 1))
        by_epoch.plot(epochs, values, marker="o", ms=3, color=color, label=f"{i + 1}: {name}")
    epoch_colors = colormaps["plasma"]
    for j, epoch in enumerate(epochs):
        values = [series[n][j] for n in names]
        values = [math.nan if v is None or v <= 0 else v for v in values]
        color = epoch_colors(0.85 * j / max(len(epochs) - 1, 1))
        by_layer.plot(range(1, len(names) + 1), values, marker="o", ms=3, color=color,
                      label=f"epoch {epoch}")  # fmt: skip
    label = {"weight_grad_norm": "|dL/dW|", "output_grad_norm": "|dL/d output|"}.get(key, key)
    by_epoch.set(yscale="log", xlabel="epochs completed", ylabel=label, title=f"{label} by epoch")
    by_layer.set(yscale="log", xlabel="layer (input to output)", ylabel=label,
                 title=f"{label} by layer")  # fmt: skip
    from matplotlib.ticker import MaxNLocator

    for ax in (by_epoch, by_layer):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=6, ncol=2 if ax is by_epoch and len(names) > 6 else 1)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    atomic_write_bytes(os.fspath(path), buffer.getvalue())
    return os.fspath(path)


# -- the chapter's networks -----------------------------------------------------------------
def deep_classifier(
    activation: str = "sigmoid",
    hidden_layers: int = 10,
    units: int = 64,
    input_shape=(8, 8),
    num_classes: int = 10,
    kernel_initializer=None,
    learning_rate: float = 0.05,
    seed: int = 0,
    x_train=None,
) -> Sequential:
    """A deep MLP of ``hidden_layers`` equal Dense layers plus a logits layer, compiled for SGD.

    The chapter's experiment: with sigmoid units and the standard (Glorot uniform)
    initialisation the gradient vanishes on its way to the first layer; with ReLU
    units and He initialisation it does not.

    Args:
        activation: the hidden layers' activation.
        hidden_layers: how many hidden layers.
        units: the width of each hidden layer.
        input_shape: the shape of one sample (flattened first).
        num_classes: outputs (logits).
        kernel_initializer: one initializer for every layer (a seeded one repeats its
            values); default He normal for ReLU, Glorot uniform otherwise,
            seeded per layer from ``seed``.
        learning_rate: of the SGD optimizer it is compiled with.
        seed: seed of the initial weights.
        x_train: training inputs; when given, the network starts with a
            ``Normalization`` layer adapted to them (standardised pixels).

    Returns:
        A Sequential compiled with SGD, sparse categorical cross-entropy on logits
        and accuracy.

    Example:
        >>> model = deep_classifier("relu", hidden_layers=3, units=16)
        >>> len(model.layers), model.layers[1].activation.__name__
        (5, 'relu')
    """
    from . import initializers

    if kernel_initializer is None:
        preset = initializers.HeNormal if activation in DEAD else initializers.GlorotUniform
        inits = [preset(seed=seed * 1000 + k) for k in range(hidden_layers + 1)]
    else:
        inits = [initializers.get(kernel_initializer)] * (hidden_layers + 1)
    stack = [Input(tuple(input_shape)), Flatten()]
    if x_train is not None:
        # Standardised pixels: He initialisation assumes zero-mean inputs.  epsilon keeps
        # pixels that hardly vary in the training set (the digits' corners) from blowing up.
        norm = Normalization(epsilon=0.05)
        norm.adapt(xp.reshape(xp.asarray(x_train, dtype="float32"), (len(x_train), -1)))
        stack.append(norm)
    stack += [
        Dense(units, activation=activation, kernel_initializer=inits[k], name=f"hidden_{k + 1}")
        for k in range(hidden_layers)
    ]
    stack.append(Dense(num_classes, kernel_initializer=inits[-1], name="logits"))
    model = Sequential(stack, name=f"{activation}_deep")
    model.compile(
        optimizer=optimizers.SGD(learning_rate=learning_rate),
        loss=losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model
