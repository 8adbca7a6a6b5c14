"""Linear separability of Boolean functions, decided exactly, with readable proofs.

A Boolean function f of n inputs is a *threshold function* when some TLU computes it:
weights w and a threshold T with w·x > T wherever f(x) = 1 and w·x <= T wherever
f(x) = 0. Both halves of the answer are exact and checkable for n <= 4:

* **Yes, with weights.** Integer weights suffice (the inequalities have rational
  coefficients), and for n <= 4 weights in [-B, B] with B = 1, 1, 2, 3 (n = 1..4) are
  enough: Muroga (*Threshold Logic and Its Applications*, 1971) tabulates minimal
  integer realisations, and the heaviest for 4 variables is the majority of
  w,w,w,x,x,y,y,z,0, i.e. weights (3, 2, 2, 1) (OEIS A003217). With integer weights
  and 0/1 inputs every sum w·x is an integer, so integer thresholds suffice too.
  Enumerating every such (w, T) in integer arithmetic gives the table of threshold
  functions and, for each, the realisation of least total |w| + |T|.
* **No, with a certificate.** By Farkas's lemma the strict/non-strict system has no
  solution exactly when some nonnegative combination of the "1" inequalities and of
  the "0" inequalities has the same left side and the same multiple of T, which adds
  up to the contradiction c > c. Such a combination exists iff one exists on a
  *circuit* of the cube (a minimal affinely dependent set of its vertices, at most
  n + 2 of them), so we list the circuits once, in integer arithmetic, and look for
  one whose positive part lies among f's ones and negative part among its zeros.

The two halves are independent, so they check each other: for every function of
n <= 4 inputs exactly one of them answers (see the tests), which also proves the
weight bound above sufficient. The counts are 14, 104 and 1882 for n = 2, 3, 4.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass
from math import gcd

from wengert.backend import xp
from wengert.classic._checks import as_numeric, check_bits
from wengert.classic.tlu import TLU, TruthTable

__all__ = [
    "MAX_EXACT_INPUTS",
    "NotLinearlySeparable",
    "SeparabilityCertificate",
    "count_threshold_functions",
    "find_tlu",
    "is_linearly_separable",
]

# Largest n for which the tables below are built; 2**(2**5) functions would not fit.
MAX_EXACT_INPUTS = 4

# Largest |w_i| needed by a threshold function of n inputs (Muroga 1971). Not taken on
# trust: the tests show that every function this enumeration misses has a certificate.
_WEIGHT_BOUND = {1: 1, 2: 1, 3: 2, 4: 3}


@functools.cache
def _cube(n: int) -> tuple[tuple[int, ...], ...]:
    """The 2**n inputs in ``itertools.product`` order; bit i of a mask is row i."""
    return tuple(itertools.product((0, 1), repeat=n))


@functools.cache
def _realisations(n: int) -> dict[int, tuple[tuple[int, ...], int]]:
    """Map the output mask of every threshold function of n inputs to its cheapest (w, T).

    All (w, T) with w in [-B, B]**n and T between the extreme sums are tried at once:
    for n = 4 that is 2401 weight vectors x 26 thresholds x 16 inputs, in int64.
    """
    bound = _WEIGHT_BOUND[n]
    points = xp.asarray(_cube(n), dtype=xp.int64)
    weights = xp.asarray(
        list(itertools.product(range(-bound, bound + 1), repeat=n)), dtype=xp.int64
    )
    sums = weights @ points.T  # (n_weights, 2**n), exact integers
    # T = -n*B - 1 makes the constant 1 and T = n*B the constant 0; others lie between.
    thresholds = xp.arange(-n * bound - 1, n * bound + 1, dtype=xp.int64)
    fires = sums[:, None, :] > thresholds[None, :, None]
    place = xp.left_shift(xp.int64(1), xp.arange(2**n, dtype=xp.int64))
    masks = (fires.astype(xp.int64) * place).sum(axis=-1)  # (n_weights, n_thresholds)
    cost = xp.abs(weights).sum(axis=1)[:, None] + xp.abs(thresholds)[None, :]
    # Stable sort by cost, then the first occurrence of each mask is its cheapest realisation.
    order = xp.argsort(cost.ravel(), kind="stable")
    unique_masks, first = xp.unique(masks.ravel()[order], return_index=True)
    w_index, t_index = xp.divmod(order[first], thresholds.shape[0])
    return {
        int(mask): (tuple(int(v) for v in weights[wi].tolist()), int(thresholds[ti]))
        for mask, wi, ti in zip(unique_masks.tolist(), w_index.tolist(), t_index.tolist())
    }


@functools.cache
def _circuits(n: int) -> tuple[tuple[tuple[int, ...], tuple[int, ...]], ...]:
    """The circuits of the lifted cube {(x, 1)}: minimal integer dependencies Σ c_i (x_i, 1) = 0.

    Each circuit is (indices, coefficients) with coprime nonzero integer coefficients,
    sorted so that the smallest (most readable) certificates come first. A circuit
    C = I + {p} with p = max(C) has I independent, so a depth-first search over
    independent sets, extending by larger indices, meets every circuit exactly once.
    Elimination is fraction-free (integers only), so nothing is rounded.
    """
    points = [x + (1,) for x in _cube(n)]
    found = []

    def extend(chosen, rows, start):
        k = len(chosen)
        for p in range(start, len(points)):
            v, combo = list(points[p]), [0] * k + [1]
            for row, row_combo, pivot in rows:
                if v[pivot]:
                    a, b = row[pivot], v[pivot]
                    v = [a * s - b * t for s, t in zip(v, row)]
                    row_combo = row_combo + [0] * (k + 1 - len(row_combo))
                    combo = [a * s - b * t for s, t in zip(combo, row_combo)]
            if not any(v):
                # points[p] depends on `chosen`; a circuit iff every point takes part.
                if all(combo):
                    g = functools.reduce(gcd, combo)
                    g = g if combo[0] > 0 else -g
                    found.append((tuple(chosen) + (p,), tuple(c // g for c in combo)))
            elif k + 1 <= n + 1:
                pivot = next(i for i, s in enumerate(v) if s)
                extend(chosen + [p], rows + [(v, combo, pivot)], p + 1)

    extend([], [], 0)
    found.sort(key=lambda c: (len(c[0]), max(abs(x) for x in c[1]), c))
    return tuple(found)


def _oriented_circuits(n: int):
    """Yield (positive part, negative part) of every circuit in both orientations."""
    for indices, coeffs in _circuits(n):
        pos = tuple((i, c) for i, c in zip(indices, coeffs) if c > 0)
        neg = tuple((i, -c) for i, c in zip(indices, coeffs) if c < 0)
        yield pos, neg
        yield neg, pos


@dataclass(frozen=True)
class SeparabilityCertificate:
    """An exact proof that no TLU computes a Boolean function (Farkas's lemma).

    The "1" inputs ``ones`` and "0" inputs ``zeros`` carry positive integer multipliers
    with Σ λ_x x = Σ μ_x x and Σ λ_x = Σ μ_x. Adding λ_x × (w·x > T) over ``ones``
    and μ_x × (w·x <= T) over ``zeros`` gives the same left side L and the same
    right side cT, once with ">" and once with "<=": L > cT >= L, i.e. 0 > 0.

    Attributes:
        outputs: the function's 2**n output bits, in ``itertools.product`` order.
        ones: (input, multiplier) pairs for inputs where the function is 1.
        zeros: (input, multiplier) pairs for inputs where the function is 0.
        name: a label for the function used in the message.

    Example:
        >>> cert = _certificate((0, 1, 1, 0), "XOR")
        >>> cert.verify()
        True
        >>> cert.ones
        (((0, 1), 1), ((1, 0), 1))
    """

    outputs: tuple[int, ...]
    ones: tuple[tuple[tuple[int, ...], int], ...]
    zeros: tuple[tuple[tuple[int, ...], int], ...]
    name: str = "f"

    @property
    def n_inputs(self) -> int:
        """The number n of inputs of the function."""
        return (len(self.outputs) - 1).bit_length()

    def verify(self) -> bool:
        """Check the certificate in exact integer arithmetic.

        Returns:
            True if the multipliers are positive integers on inputs of the right output
            and both sides add up to the same point with the same total weight.

        Example:
            >>> _certificate((1, 0, 0, 1), "XNOR").verify()
            True
        """
        cube = _cube(self.n_inputs)
        total = [0] * (self.n_inputs + 1)
        for side, bit, sign in ((self.ones, 1, 1), (self.zeros, 0, -1)):
            if not side:
                return False
            for x, m in side:
                if tuple(x) not in cube or self.outputs[cube.index(tuple(x))] != bit:
                    return False
                if not isinstance(m, int) or m <= 0:
                    return False
                for i, v in enumerate(tuple(x) + (1,)):
                    total[i] += sign * m * v
        return not any(total)

    def inequalities(self) -> list[str]:
        """The whole system a TLU would have to satisfy, one inequality per input.

        Returns:
            Strings such as ``"(1, 1) -> 0:  w1 + w2 <= T"``, in ``itertools.product`` order.

        Example:
            >>> _certificate((0, 1, 1, 0), "XOR").inequalities()[0]
            '(0, 0) -> 0:  0 <= T'
        """
        return [_inequality(x, bit) for x, bit in zip(_cube(self.n_inputs), self.outputs)]

    def equation(self) -> str:
        """The certificate in one line: inputs where f is 1 = inputs where f is 0.

        Both sides add up to the same point with the same number of terms, so any
        TLU gives both sides the same total w·x, yet it would have to exceed T on
        each term of the left and not on any term of the right.

        Returns:
            For XOR, ``"(0, 1) + (1, 0) = (0, 0) + (1, 1)"``; a multiplier m is
            written ``m x (...)``.

        Example:
            >>> _certificate((1, 0, 0, 1), "XNOR").equation()
            '(0, 0) + (1, 1) = (0, 1) + (1, 0)'
        """
        return f"{_sum_of(self.ones)} = {_sum_of(self.zeros)}"

    def __str__(self) -> str:
        n = self.n_inputs
        names = ", ".join(f"w{i + 1}" for i in range(n))
        bits = "".join(str(b) for b in self.outputs)
        lines = [
            f"{self.name} (outputs {bits}) is not linearly separable: no weights {names} "
            "and threshold T satisfy all of",
        ]
        lines += ["  " + _inequality(x, 1) for x, _ in self.ones]
        lines += ["  " + _inequality(x, 0) for x, _ in self.zeros]
        total = sum(m for _, m in self.ones)
        left = _linear_form([sum(m * x[i] for x, m in self.ones) for i in range(n)])
        right = ("" if total == 1 else str(total)) + "T"
        lines.append(f"Adding {_weighted(self.ones)}:  {left} > {right}")
        lines.append(f"Adding {_weighted(self.zeros)}:  {left} <= {right}")
        lines.append(f"So {right} < {left} <= {right}, i.e. 0 > 0: a contradiction.")
        return "\n".join(lines)


def _linear_form(coeffs) -> str:
    """Write Σ c_i w_i as, e.g., ``w1 + 2w3``; an empty sum is ``0``."""
    terms = [("" if c == 1 else str(c)) + f"w{i + 1}" for i, c in enumerate(coeffs) if c]
    return " + ".join(terms) or "0"


def _inequality(x, bit: int) -> str:
    return f"{tuple(x)} -> {bit}:  {_linear_form(x)} {'>' if bit else '<='} T"


def _sum_of(side) -> str:
    """Write a side of a certificate as a sum of inputs, with multipliers where not 1."""
    return " + ".join(("" if m == 1 else f"{m} x ") + str(tuple(x)) for x, m in side)


def _weighted(side) -> str:
    """Name the inequalities being added."""
    return "the inequalities of " + _sum_of(side)


def _certificate(outputs: tuple[int, ...], name: str = "f") -> SeparabilityCertificate | None:
    """The smallest circuit certificate that ``outputs`` is not separable, or None."""
    n = (len(outputs) - 1).bit_length()
    cube = _cube(n)
    for pos, neg in _oriented_circuits(n):
        if all(outputs[i] == 1 for i, _ in pos) and all(outputs[i] == 0 for i, _ in neg):
            ones = tuple((cube[i], m) for i, m in pos)
            zeros = tuple((cube[i], m) for i, m in neg)
            return SeparabilityCertificate(tuple(outputs), ones, zeros, name)
    return None


def _certified_masks(n: int):
    """A boolean array over all 2**(2**n) masks: True where some circuit certificate applies.

    Used by the tests to show that certificates and realisations split the functions
    exactly, which is what makes the weight bound trustworthy.
    """
    masks = xp.arange(2 ** (2**n), dtype=xp.int64)
    certified = xp.zeros(masks.shape, dtype=bool)
    for pos, neg in _oriented_circuits(n):
        need_one = sum(1 << i for i, _ in pos)
        need_zero = sum(1 << i for i, _ in neg)
        certified |= ((masks & need_one) == need_one) & ((masks & need_zero) == 0)
    return certified


class NotLinearlySeparable(ValueError):
    """Raised by find_tlu when no TLU computes the function; ``.certificate`` holds the proof.

    Args:
        certificate: the SeparabilityCertificate; ``str(error)`` prints it.

    Example:
        >>> try:
        ...     find_tlu([0, 1, 1, 0])
        ... except NotLinearlySeparable as err:
        ...     print(err.certificate.verify())
        True
    """

    def __init__(self, certificate: SeparabilityCertificate):
        super().__init__(str(certificate))
        self.certificate = certificate


def _check_outputs(outputs, who: str) -> tuple[int, ...]:
    """Validate a truth table's output column and return it as a tuple of ints."""
    if isinstance(outputs, TruthTable):
        outputs = outputs.outputs
    bits = as_numeric(outputs, who, "outputs")
    if bits.ndim != 1:
        raise ValueError(f"{who}: expected a flat list of 2**n output bits; got shape {bits.shape}")
    length = bits.shape[0]
    n = (length - 1).bit_length() if length else 0
    if length < 2 or length != 2**n:
        raise ValueError(
            f"{who}: expected 2**n output bits (2, 4, 8 or 16 for n = 1..4), one per input "
            f"in itertools.product([0, 1], repeat=n) order; got {length}"
        )
    if n > MAX_EXACT_INPUTS:
        raise ValueError(
            f"{who}: decides separability exactly for n <= {MAX_EXACT_INPUTS} inputs "
            f"(at most {2**MAX_EXACT_INPUTS} output bits); got {length} bits (n = {n})"
        )
    check_bits(bits, who, "output bits")
    return tuple(int(b) for b in bits.tolist())


def _mask(bits: tuple[int, ...]) -> int:
    return sum(b << i for i, b in enumerate(bits))


def find_tlu(outputs, name: str | None = None) -> TLU:
    """Find integer weights and a threshold computing a Boolean function, or prove none exist.

    Args:
        outputs: the 2**n output bits (n = 1..4) in the order of
            ``itertools.product([0, 1], repeat=n)``, or a TruthTable.
        name: a label for the unit and for the proof's message.

    Returns:
        A binary TLU with the smallest total |w| + |T| among integer realisations.

    Raises:
        NotLinearlySeparable: no TLU computes the function; the error's message and
            ``.certificate`` give the exact contradiction.
        ValueError: ``outputs`` is not 2**n bits with 1 <= n <= 4.

    Example:
        >>> find_tlu([0, 0, 0, 1], name="AND")
        TLU(weights=[1, 1], threshold=1, binary=True, name='AND')
        >>> try:
        ...     find_tlu([0, 1, 1, 0], name="XOR")
        ... except NotLinearlySeparable as err:
        ...     print(str(err).splitlines()[-1])
        So 2T < w1 + w2 <= 2T, i.e. 0 > 0: a contradiction.
    """
    if name is None and isinstance(outputs, TruthTable):
        name = outputs.name
    bits = _check_outputs(outputs, "find_tlu")
    n = (len(bits) - 1).bit_length()
    found = _realisations(n).get(_mask(bits))
    if found is not None:
        weights, threshold = found
        return TLU(list(weights), threshold, binary=True, name=name)
    certificate = _certificate(bits, name or "f")
    if certificate is None or not certificate.verify():  # pragma: no cover - see module doc
        raise AssertionError(f"find_tlu: neither a realisation nor a certificate for {bits}")
    raise NotLinearlySeparable(certificate)


def is_linearly_separable(outputs) -> bool:
    """True if some TLU computes the Boolean function with these output bits.

    Args:
        outputs: the 2**n output bits (n = 1..4) in ``itertools.product`` order.

    Returns:
        Whether the function is a threshold function.

    Example:
        >>> is_linearly_separable([0, 1, 1, 1]), is_linearly_separable([1, 0, 0, 1])
        (True, False)
    """
    bits = _check_outputs(outputs, "is_linearly_separable")
    return _mask(bits) in _realisations((len(bits) - 1).bit_length())


def count_threshold_functions(n: int) -> int:
    """Count the Boolean functions of n inputs that a single TLU computes.

    Args:
        n: the number of inputs, 1 to 4.

    Returns:
        The number of threshold functions: 4, 14, 104, 1882 for n = 1, 2, 3, 4.

    Example:
        >>> [count_threshold_functions(n) for n in (1, 2, 3)]
        [4, 14, 104]
    """
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_EXACT_INPUTS:
        raise ValueError(
            f"count_threshold_functions: expected n in 1..{MAX_EXACT_INPUTS}; got {n!r}"
        )
    return len(_realisations(n))
