"""Input checks shared by the classic units, so every unit words its errors the same way."""

from __future__ import annotations

from wengert.backend import xp


def _preview(values, limit: int = 6) -> str:
    """A short, readable listing of offending values for an error message."""
    shown = [v.item() if hasattr(v, "item") else v for v in values[:limit]]
    more = "" if len(values) <= limit else f", ... ({len(values)} distinct)"
    return ", ".join(repr(v) for v in shown) + more


def as_numeric(values, who: str, what: str):
    """Return ``values`` as a real-valued array, or raise ValueError naming ``who``."""
    try:
        array = xp.asarray(values)
    except (TypeError, ValueError) as err:  # ragged lists and the like
        raise ValueError(f"{who}: {what} must be a numeric array; got {values!r}") from err
    if array.dtype.kind not in "biuf":
        raise ValueError(f"{who}: {what} must be real numbers; got dtype {array.dtype}")
    if array.dtype.kind == "f" and not bool(xp.isfinite(array).all()):
        raise ValueError(f"{who}: {what} must be finite; got NaN or infinity")
    return array


def check_bits(array, who: str, what: str) -> None:
    """Raise ValueError unless every entry of ``array`` is 0 or 1."""
    bad = array[(array != 0) & (array != 1)]
    if bad.size:
        raise ValueError(f"{who}: expected {what} of 0 or 1; got {_preview(xp.unique(bad))}")


def check_samples(X, y, who: str, *, binary_labels: bool = True):
    """Check a design matrix and its labels; return them as arrays (X 2-D, y 1-D or 2-D).

    Args:
        X: samples, shape (n, k).
        y: labels, shape (n,) (or (n, m) for several outputs).
        who: the unit's name, used in error messages.
        binary_labels: if True, labels must be 0 or 1; otherwise they must lie in [0, 1].
    """
    X = as_numeric(X, who, "X")
    y = as_numeric(y, who, "y")
    if X.ndim != 2:
        raise ValueError(f"{who}: expected X of shape (n_samples, n_features); got shape {X.shape}")
    if y.ndim not in (1, 2):
        raise ValueError(f"{who}: expected y of shape (n_samples,); got shape {y.shape}")
    if y.shape[0] != X.shape[0]:
        raise ValueError(
            f"{who}: expected as many labels as samples; got {X.shape[0]} samples (X {X.shape}) "
            f"and {y.shape[0]} labels (y {y.shape})"
        )
    if X.shape[0] == 0:
        raise ValueError(f"{who}: expected at least one sample; got X of shape {X.shape}")
    if binary_labels:
        check_bits(y, who, "labels y")
    else:
        bad = y[(y < 0) | (y > 1)]
        if bad.size:
            raise ValueError(f"{who}: expected targets y in [0, 1]; got {_preview(xp.unique(bad))}")
    return X, y
