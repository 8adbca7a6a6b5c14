"""Pictures of decision boundaries and training curves, drawn with matplotlib if present.

matplotlib is an optional extra: it is imported only when a picture is asked for,
and its absence is reported by MissingPlotExtra naming the extra to install.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from wengert.backend import xp
from wengert.classic.tlu import TLU

__all__ = [
    "PLOT_EXTRA_HINT",
    "Curve",
    "MissingPlotExtra",
    "Panel",
    "plot_format",
    "require_matplotlib",
    "save_figure",
]

PLOT_EXTRA_HINT = 'pip install "wengert[plot]"'


class MissingPlotExtra(ImportError):
    """Raised when a plot is asked for but matplotlib, the ``plot`` extra, is not installed.

    Example:
        >>> issubclass(MissingPlotExtra, ImportError)
        True
    """


def require_matplotlib():
    """Import and return matplotlib's Figure and Agg canvas, or raise MissingPlotExtra.

    Returns:
        The pair (Figure, FigureCanvasAgg); using them directly leaves pyplot's global
        state (and any interactive backend) alone.

    Raises:
        MissingPlotExtra: matplotlib is not installed; the message says how to install it.

    Example:
        >>> try:
        ...     Figure, Canvas = require_matplotlib()
        ... except MissingPlotExtra as err:
        ...     assert "wengert[plot]" in str(err)
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as err:
        raise MissingPlotExtra(
            f"plotting needs matplotlib, wengert's optional 'plot' extra: {PLOT_EXTRA_HINT}"
        ) from err
    return Figure, FigureCanvasAgg


def plot_format(path) -> str:
    """The file format matplotlib will write for ``path``, from its extension.

    A path with no extension gets a PNG (written to that exact path); an extension
    matplotlib cannot write is refused here, before any training, rather than after.

    Args:
        path: where the picture is to be written.

    Returns:
        The format name, e.g. "png", "jpg", "svg" or "pdf".

    Raises:
        ValueError: matplotlib cannot write files with that extension; the message
            lists the ones it can.
        MissingPlotExtra: matplotlib is not installed.

    Example:
        >>> try:
        ...     formats = plot_format("xor.svg"), plot_format("xor")
        ... except MissingPlotExtra:
        ...     formats = ("svg", "png")
        >>> formats
        ('svg', 'png')
    """
    _, FigureCanvasAgg = require_matplotlib()
    extension = os.path.splitext(os.fspath(path))[1].lower().lstrip(".")
    if not extension:
        return "png"
    supported = FigureCanvasAgg.get_supported_filetypes()
    if extension not in supported:
        raise ValueError(
            f"cannot write {os.fspath(path)}: matplotlib does not write .{extension} files; "
            f"use one of {', '.join('.' + e for e in sorted(supported))}"
        )
    return extension


@dataclass
class Panel:
    """One picture of a 2-input unit: shaded decision regions and the labelled points.

    Attributes:
        title: the panel's title.
        X: the points, shape (n, 2).
        y: their labels, 0 or 1.
        predict: maps inputs of shape (m, 2) to outputs in [0, 1] (0/1 for a TLU, a
            probability for a network); None draws the points alone. A binary TLU is
            evaluated on the whole plane, as the real-input unit with its weights.

    Example:
        >>> Panel("AND", [[0, 0], [1, 1]], [0, 1]).title
        'AND'
    """

    title: str
    X: object
    y: object
    predict: Callable | None = None


@dataclass
class Curve:
    """A training curve for the last panel of a figure, drawn against epochs completed.

    Attributes:
        label: the legend entry.
        values: one value per epoch.
        ylabel: the y axis label ("loss", "errors").
        log: draw the y axis on a log scale (for losses).
        start: the number of epochs completed at the first value: 0 when it is taken
            before any update (a loss history), 1 when after the first epoch (the
            perceptron's errors), so the curve meets the epochs the text reports.
        linestyle: a matplotlib line style; "--" keeps a curve that lies on another
            in sight.

    Example:
        >>> Curve("hand", [0.5, 0.1], "loss", log=True).log
        True
    """

    label: str
    values: object
    ylabel: str = "loss"
    log: bool = False
    start: int = 0
    linestyle: str = "-"


def save_figure(path, panels, curves=(), title: str | None = None, resolution: int = 200) -> str:
    """Draw decision-boundary panels (and training curves beside them) to a picture file.

    Args:
        path: where to write the picture; its extension picks the format (see
            ``plot_format``), a PNG when it has none.
        panels: Panel objects, one subplot each.
        curves: Curve objects, drawn together in one extra subplot.
        title: an overall title.
        resolution: grid points per axis for the shaded regions.

    Returns:
        The path written, as a string.

    Raises:
        MissingPlotExtra: matplotlib is not installed.
        ValueError: matplotlib cannot write the path's extension.

    Example:
        >>> import tempfile, os
        >>> from wengert.classic.tlu import and_gate
        >>> try:
        ...     out = save_figure(os.path.join(tempfile.mkdtemp(), "and.png"),
        ...                       [Panel("AND", [[0, 0], [0, 1], [1, 0], [1, 1]], [0, 0, 0, 1],
        ...                              and_gate())])
        ...     ok = os.path.getsize(out) > 0
        ... except MissingPlotExtra:
        ...     ok = True
        >>> ok
        True
    """
    file_format = plot_format(path)
    fig = _draw_figure(panels, curves, title, resolution)
    path = os.fspath(path)
    fig.savefig(path, format=file_format, dpi=100)
    return path


def _draw_figure(panels, curves=(), title: str | None = None, resolution: int = 200):
    """The matplotlib Figure ``save_figure`` writes (the tests look inside it)."""
    Figure, FigureCanvasAgg = require_matplotlib()
    panels, curves = list(panels), list(curves)
    n_axes = len(panels) + (1 if curves else 0)
    fig = Figure(figsize=(3.6 * n_axes, 3.6), layout="constrained")
    FigureCanvasAgg(fig)
    axes = [fig.add_subplot(1, n_axes, i + 1) for i in range(n_axes)]
    for ax, panel in zip(axes, panels):
        _draw_panel(ax, panel, resolution)
    if curves:
        from matplotlib.ticker import MaxNLocator

        ax = axes[-1]
        for curve in curves:
            epochs = curve.start + xp.arange(len(curve.values))
            values = xp.asarray(curve.values)
            ax.plot(epochs, values, linestyle=curve.linestyle, label=curve.label)
            ax.set_ylabel(curve.ylabel)
        if any(c.log for c in curves):
            ax.set_yscale("log")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epochs completed")
        ax.set_title("training")
        ax.legend(fontsize="small")
    if title:
        fig.suptitle(title)
    return fig


def _draw_panel(ax, panel: Panel, resolution: int) -> None:
    X = xp.asarray(panel.X, dtype=xp.float64)
    y = xp.asarray(panel.y).reshape(-1)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(
            f"save_figure: panel {panel.title!r} needs 2-D inputs; got shape {X.shape}"
        )
    pad = 0.5
    lo, hi = X.min(axis=0) - pad, X.max(axis=0) + pad
    predict = panel.predict
    if isinstance(predict, TLU) and predict.binary:
        # Shade the plane the unit's hyperplane cuts, not just the four corners.
        predict = TLU(
            predict.weights, predict.threshold, inclusive=predict.inclusive, name=predict.name
        )
    if predict is not None:
        g0, g1 = xp.meshgrid(
            xp.linspace(lo[0], hi[0], resolution), xp.linspace(lo[1], hi[1], resolution)
        )
        grid = xp.stack([g0.ravel(), g1.ravel()], axis=1)
        z = xp.asarray(predict(grid), dtype=xp.float64).reshape(g0.shape)
        ax.contourf(g0, g1, z, levels=xp.linspace(0.0, 1.0, 11), cmap="RdBu_r", alpha=0.35)
        if z.min() < 0.5 < z.max():
            ax.contour(g0, g1, z, levels=[0.5], colors="k", linewidths=1.2)
    for label, marker, color in ((1, "s", "tab:red"), (0, "o", "tab:blue")):
        mask = y == label
        if mask.any():
            ax.scatter(
                X[mask, 0], X[mask, 1], marker=marker, c=color, edgecolors="k", label=f"y = {label}"
            )
    ax.legend(loc="best", fontsize="small", framealpha=0.9)  # which marker is which class
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.set_title(panel.title)
