"""Training curves as PNG files (matplotlib, the optional ``plot`` extra, imported lazily)."""

from __future__ import annotations

import os

from .checkpoints import atomic_write_bytes
from .classic.plot import MissingPlotExtra, require_matplotlib

__all__ = ["plot_history", "MissingPlotExtra"]


def plot_history(history: dict, path) -> str:
    """Draw loss and accuracy per epoch (training and validation) into a PNG at ``path``.

    Args:
        history: ``model.history.history``: lists of values by log name.
        path: where to write the PNG (written atomically).

    Returns:
        The path written.

    Example:
        >>> import os, tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     history = {"loss": [1.0, 0.5], "val_loss": [1.1, 0.7]}
        ...     p = plot_history(history, os.path.join(d, "c.png"))
        ...     os.path.getsize(p) > 0
        True
    """
    import io

    Figure, Canvas = require_matplotlib()
    kinds = [k for k in ("loss", "accuracy") if any(key.endswith(k) for key in history)]
    fig = Figure(figsize=(5 * max(len(kinds), 1), 3.6))
    Canvas(fig)
    for i, kind in enumerate(kinds or ["loss"]):
        ax = fig.add_subplot(1, max(len(kinds), 1), i + 1)
        for key in sorted(history):
            if (
                key == kind
                or key == f"val_{kind}"
                or (kind == "accuracy" and key.endswith("accuracy"))
            ):
                values = history[key]
                ax.plot(range(1, len(values) + 1), values, marker="o", ms=3, label=key)
        ax.set_xlabel("epoch")
        ax.set_ylabel(kind)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    atomic_write_bytes(os.fspath(path), buffer.getvalue())
    return os.fspath(path)
