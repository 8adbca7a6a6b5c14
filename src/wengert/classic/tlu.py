"""Threshold logic units (McCulloch & Pitts, 1943) and the chapter's ready-made gates.

A TLU computes f(x) = 1 if w·x > T else 0. The chapter's formula writes that strict
">", but its prose means "the weighted sum reaches T" (w·x >= T), and with ">=" every
number it gives is right: AND fires at T = 2 and OR at T = 1 with weights (1, 1), NOT
is weight -1 with T = 0, and its XOR (T = 1) and XNOR (T = 2) arguments hold.

wengert keeps the formula's ">" by default because the rest of the chapter's code
uses it: the perceptron fires when w·x + b > 0 (so ``Perceptron.to_tlu`` is the TLU
with T = -b), and ``find_tlu``'s proofs pair "> T" for the ones with "<= T" for the
zeros. ``TLU(..., inclusive=True)`` fires at w·x >= T instead, so the chapter's
numbers can be used as written. With integer weights and 0/1 inputs every sum is an
integer, so for an integer T, w·x >= T is the same unit as w·x > T - 1 (for T = 1.5 it
is not: >= 1.5 and > 0.5 differ at a sum of 1): under ">" the chapter's gates
are AND T = 1, OR T = 0 and NOT T = -1. The ready-made gates below put each threshold
half-way between the largest sum that must give 0 and the smallest that must give 1
(AND 1.5, OR 0.5, NOT -0.5): no sum equals it, so they are right under ">" and ">="
alike, with the widest margin (1/2) on both sides.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from wengert.backend import xp
from wengert.classic._checks import as_numeric, check_bits

__all__ = [
    "TLU",
    "TruthTable",
    "and_gate",
    "identity_gate",
    "not_gate",
    "or_gate",
    "truth_table",
]


class TLU:
    """A threshold logic unit: f(x) = 1 if w·x > T (or >= T) else 0, vectorised over a batch.

    Args:
        weights: the k input weights w (a sequence or 1-D array of reals).
        threshold: the threshold T; the unit fires when w·x exceeds it strictly.
        inclusive: if True the unit fires when w·x reaches T (w·x >= T), as the
            chapter's prose and thresholds mean; the default is the formula's ">".
        binary: if True the unit is a McCulloch–Pitts unit and accepts only inputs of 0
            or 1; otherwise any real inputs are accepted.
        name: a label for truth tables and ``repr``.

    Calling the unit on X of shape (n, k) returns an int array of n zeros and ones; on
    a single input of shape (k,) it returns a Python int.

    Example:
        >>> unit = TLU([1, 1], 1.5, binary=True, name="AND")
        >>> unit([[0, 0], [0, 1], [1, 0], [1, 1]]).tolist()
        [0, 0, 0, 1]
        >>> unit([1, 1])
        1
        >>> TLU([1, 1], 2, inclusive=True)([[0, 1], [1, 1]]).tolist()  # the chapter's AND
        [0, 1]
    """

    __slots__ = ("weights", "threshold", "inclusive", "binary", "name")

    def __init__(
        self,
        weights,
        threshold,
        *,
        inclusive: bool = False,
        binary: bool = False,
        name: str | None = None,
    ):
        who = f"TLU {name!r}" if name else "TLU"
        weights = as_numeric(weights, who, "weights")
        if weights.ndim != 1 or weights.size == 0:
            raise ValueError(
                f"{who}: expected a 1-D sequence of weights; got shape {weights.shape}"
            )
        if weights.dtype.kind == "b":
            weights = weights.astype(xp.int64)
        threshold = as_numeric(threshold, who, "threshold")
        if threshold.ndim != 0:
            raise ValueError(f"{who}: expected a scalar threshold; got shape {threshold.shape}")
        self.weights = weights
        self.threshold = threshold.item()
        self.inclusive = bool(inclusive)
        self.binary = bool(binary)
        self.name = name or "TLU"

    @property
    def n_inputs(self) -> int:
        """The number k of inputs the unit takes."""
        return int(self.weights.shape[0])

    def __call__(self, X):
        """Return f(x) for each row of X (shape (n, k)), or for one input of shape (k,).

        Args:
            X: inputs, shape (n, k) or (k,); zeros and ones if the unit is binary.

        Returns:
            An int array of shape (n,) with entries 0 or 1, or an int for a single input.

        Example:
            >>> not_gate()([[0], [1]]).tolist()
            [1, 0]
        """
        X = as_numeric(X, self.name, "inputs")
        single = X.ndim == 1
        if single:
            X = X[None, :]
        if X.ndim != 2 or X.shape[1] != self.n_inputs:
            raise ValueError(
                f"{self.name}: expected inputs of shape (n, {self.n_inputs}) or "
                f"({self.n_inputs},); got shape {X.shape if not single else X.shape[1:]}"
            )
        if self.binary:
            check_bits(X, self.name, "binary inputs")
        sums = X @ self.weights
        fired = sums >= self.threshold if self.inclusive else sums > self.threshold
        fired = fired.astype(xp.int64)
        return int(fired[0]) if single else fired

    def __repr__(self) -> str:
        weights = ", ".join(_fmt(w) for w in self.weights.tolist())
        flags = (", inclusive=True" if self.inclusive else "") + (
            ", binary=True" if self.binary else ""
        )
        threshold = _fmt(self.threshold)
        return f"TLU(weights=[{weights}], threshold={threshold}{flags}, name={self.name!r})"


def _fmt(value) -> str:
    """Print 1.0 as 1 and 0.5 as 0.5, so gate parameters read like the chapter's."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def identity_gate() -> TLU:
    """The one-input identity unit: weight 1, threshold 1/2.

    Returns:
        A binary TLU with f(0) = 0 and f(1) = 1.

    Example:
        >>> identity_gate()([[0], [1]]).tolist()
        [0, 1]
    """
    return TLU([1], 0.5, binary=True, name="IDENTITY")


def not_gate() -> TLU:
    """The one-input negation unit: weight -1, threshold -1/2 (the chapter's 0 needs ">=").

    Returns:
        A binary TLU with f(0) = 1 and f(1) = 0.

    Example:
        >>> not_gate()([[0], [1]]).tolist()
        [1, 0]
    """
    return TLU([-1], -0.5, binary=True, name="NOT")


def and_gate(n_inputs: int = 2) -> TLU:
    """The AND of ``n_inputs`` bits: unit weights, threshold n - 1/2.

    Args:
        n_inputs: how many bits to AND together (at least 1).

    Returns:
        A binary TLU that fires only when every input is 1.

    Example:
        >>> and_gate()([[0, 0], [0, 1], [1, 0], [1, 1]]).tolist()
        [0, 0, 0, 1]
    """
    _check_arity(n_inputs, "and_gate")
    return TLU([1] * n_inputs, n_inputs - 0.5, binary=True, name="AND")


def or_gate(n_inputs: int = 2) -> TLU:
    """The OR of ``n_inputs`` bits: unit weights, threshold 1/2.

    Args:
        n_inputs: how many bits to OR together (at least 1).

    Returns:
        A binary TLU that fires when any input is 1.

    Example:
        >>> or_gate()([[0, 0], [0, 1], [1, 0], [1, 1]]).tolist()
        [0, 1, 1, 1]
    """
    _check_arity(n_inputs, "or_gate")
    return TLU([1] * n_inputs, 0.5, binary=True, name="OR")


def _check_arity(n_inputs, who: str) -> None:
    if isinstance(n_inputs, bool) or not isinstance(n_inputs, int) or n_inputs < 1:
        raise ValueError(f"{who}: expected n_inputs to be an int >= 1; got {n_inputs!r}")


@dataclass(frozen=True)
class TruthTable:
    """The truth table of a Boolean unit: every input in ``itertools.product`` order.

    Attributes:
        inputs: the 2**n input tuples, in the order of ``itertools.product([0, 1], repeat=n)``.
        outputs: the unit's output bit for each input (the form ``find_tlu`` takes).
        name: the unit's name, used as the output column's heading.

    Example:
        >>> table = truth_table(or_gate())
        >>> table.outputs
        (0, 1, 1, 1)
        >>> table[(1, 0)]
        1
    """

    inputs: tuple[tuple[int, ...], ...]
    outputs: tuple[int, ...]
    name: str = "f"

    @property
    def n_inputs(self) -> int:
        """The number n of inputs."""
        return len(self.inputs[0])

    def __getitem__(self, x) -> int:
        return self.outputs[self.inputs.index(tuple(x))]

    def __iter__(self):
        return iter(zip(self.inputs, self.outputs))

    def __len__(self) -> int:
        return len(self.outputs)

    def __str__(self) -> str:
        heads = [f"x{i + 1}" for i in range(self.n_inputs)]
        lines = [" ".join(heads) + " | " + self.name]
        for x, out in self:
            cells = [str(b).rjust(len(h)) for b, h in zip(x, heads)]
            lines.append(" ".join(cells) + " | " + str(out))
        return "\n".join(lines)


def truth_table(unit, n_inputs: int | None = None) -> TruthTable:
    """Evaluate ``unit`` on every binary input and return (and print with ``print``) its table.

    Args:
        unit: a TLU, a fitted Perceptron, or any callable mapping X of shape (2**n, n)
            to 0/1 outputs.
        n_inputs: the number n of inputs; taken from ``unit.n_inputs`` when omitted.

    Returns:
        A TruthTable; ``print`` it for the usual layout, or pass ``.outputs`` to find_tlu.

    Example:
        >>> print(truth_table(and_gate()))
        x1 x2 | AND
         0  0 | 0
         0  1 | 0
         1  0 | 0
         1  1 | 1
    """
    if n_inputs is None:
        n_inputs = getattr(unit, "n_inputs", None)
        if n_inputs is None:
            raise ValueError(
                f"truth_table: {unit!r} has no n_inputs attribute; pass n_inputs explicitly"
            )
    _check_arity(n_inputs, "truth_table")
    inputs = tuple(itertools.product((0, 1), repeat=n_inputs))
    outputs = xp.asarray(unit(xp.asarray(inputs, dtype=xp.int64))).reshape(-1)
    if outputs.shape[0] != len(inputs):
        raise ValueError(
            f"truth_table: expected one output per input ({len(inputs)}); got {outputs.shape[0]}"
        )
    check_bits(outputs, "truth_table", "unit outputs")
    name = getattr(unit, "name", None) or "f"
    return TruthTable(inputs, tuple(int(v) for v in outputs.tolist()), name)
