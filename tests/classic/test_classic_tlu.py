"""Threshold logic units and the ready-made gates."""

import itertools

import pytest

import wengert.classic as classic
from wengert.backend import xp


def all_inputs(n):
    return xp.asarray(list(itertools.product([0, 1], repeat=n)))


@pytest.mark.parametrize(
    "make, n, truth",
    [
        (classic.identity_gate, 1, lambda x: x[0]),
        (classic.not_gate, 1, lambda x: 1 - x[0]),
        (classic.and_gate, 2, lambda x: int(all(x))),
        (classic.or_gate, 2, lambda x: int(any(x))),
    ],
)
def test_gates_are_right_on_every_input(make, n, truth):
    unit = make()
    X = all_inputs(n)
    assert unit(X).tolist() == [truth(x) for x in X.tolist()]
    for x in X.tolist():  # a single input gives a plain int
        assert unit(x) == truth(x)


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_n_input_and_or(n):
    X = all_inputs(n)
    assert classic.and_gate(n)(X).tolist() == [int(all(x)) for x in X.tolist()]
    assert classic.or_gate(n)(X).tolist() == [int(any(x)) for x in X.tolist()]


def test_the_chapters_thresholds_are_right_for_reaching_t_and_one_lower_for_exceeding_it():
    # The chapter's prose means "the sum reaches T" (>=); its formula writes ">".
    X = all_inputs(2)
    assert classic.TLU([1, 1], 2, inclusive=True)(X).tolist() == [0, 0, 0, 1]  # AND
    assert classic.TLU([1, 1], 1, inclusive=True)(X).tolist() == [0, 1, 1, 1]  # OR
    assert classic.TLU([-1], 0, inclusive=True)([[0], [1]]).tolist() == [1, 0]  # NOT
    # Under the default strict ">" the same gates need T - 1 ...
    assert classic.TLU([1, 1], 1)(X).tolist() == [0, 0, 0, 1]
    assert classic.TLU([1, 1], 0)(X).tolist() == [0, 1, 1, 1]
    assert classic.TLU([-1], -1)([[0], [1]]).tolist() == [1, 0]
    # ... and the chapter's numbers taken with ">" are other functions.
    assert classic.TLU([1, 1], 2)(X).tolist() == [0, 0, 0, 0]
    assert classic.TLU([-1], 0)([[0], [1]]).tolist() == [0, 0]


def test_tlu_is_vectorised_and_accepts_reals():
    unit = classic.TLU([0.5, -2.0, 1.0], 0.25)
    X = xp.asarray([[1.0, 0.0, 0.0], [0.0, 1.0, 3.0], [0.1, 0.0, 0.1], [2.0, 0.3, -1.0]])
    expected = (X @ xp.asarray([0.5, -2.0, 1.0]) > 0.25).astype(int).tolist()
    assert unit(X).tolist() == expected == [1, 1, 0, 0]
    assert unit(X).dtype == xp.int64


def test_threshold_is_strict_unless_inclusive():
    unit = classic.TLU([1, 1], 1)
    assert unit([1, 0]) == 0  # w.x == T does not fire
    assert unit([1, 1]) == 1
    reaching = classic.TLU([1, 1], 1, inclusive=True)
    assert reaching([1, 0]) == 1  # w.x == T fires
    assert reaching([0, 0]) == 0
    assert repr(reaching) == "TLU(weights=[1, 1], threshold=1, inclusive=True, name='TLU')"
    assert "inclusive" not in repr(unit)


@pytest.mark.parametrize("bad", [[[0, 2]], [[0.5, 1]], [[-1, 0]]])
def test_gate_rejects_non_binary_inputs(bad):
    with pytest.raises(ValueError, match=r"expected binary inputs of 0 or 1; got") as info:
        classic.and_gate()(bad)
    assert "AND" in str(info.value)


def test_tlu_rejects_wrong_shapes():
    with pytest.raises(ValueError, match=r"expected inputs of shape \(n, 2\).*got shape \(4, 3\)"):
        classic.and_gate()(xp.zeros((4, 3), dtype=int))
    with pytest.raises(ValueError, match="1-D sequence of weights"):
        classic.TLU([[1, 2]], 0)
    with pytest.raises(ValueError, match="scalar threshold"):
        classic.TLU([1, 2], [0, 1])
    with pytest.raises(ValueError, match="must be real numbers"):
        classic.TLU([1, 2], 0)([["a", "b"]])
    with pytest.raises(ValueError, match="n_inputs to be an int >= 1"):
        classic.and_gate(0)


def test_truth_table_prints_and_returns():
    table = classic.truth_table(classic.and_gate())
    assert table.outputs == (0, 0, 0, 1)
    assert table.inputs == tuple(itertools.product([0, 1], repeat=2))
    assert table[(1, 1)] == 1 and len(table) == 4
    assert str(table).splitlines() == [
        "x1 x2 | AND",
        " 0  0 | 0",
        " 0  1 | 0",
        " 1  0 | 0",
        " 1  1 | 1",
    ]
    assert list(table)[3] == ((1, 1), 1)


def test_truth_table_of_a_plain_callable_needs_n_inputs():
    xor = lambda X: X[:, 0] ^ X[:, 1]
    assert classic.truth_table(xor, n_inputs=2).outputs == (0, 1, 1, 0)
    with pytest.raises(ValueError, match="pass n_inputs"):
        classic.truth_table(xor)


def test_truth_table_round_trips_through_find_tlu():
    for make in (classic.identity_gate, classic.not_gate, classic.and_gate, classic.or_gate):
        table = classic.truth_table(make())
        found = classic.find_tlu(table)
        assert classic.truth_table(found).outputs == table.outputs
        assert found.name == table.name
