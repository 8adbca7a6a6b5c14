"""Exact linear separability: realisations, certificates and the threshold-function counts."""

import itertools
import random
import time
from fractions import Fraction

import pytest

import wengert.classic as classic
from wengert.backend import xp
from wengert.classic import separability

EXPECTED_COUNTS = {1: 4, 2: 14, 3: 104, 4: 1882}


def bits_of(mask, n):
    return [(mask >> i) & 1 for i in range(2**n)]


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_threshold_function_counts(n):
    assert classic.count_threshold_functions(n) == EXPECTED_COUNTS[n]


def test_n4_enumeration_takes_seconds_not_minutes():
    separability._realisations.cache_clear()
    separability._circuits.cache_clear()
    start = time.perf_counter()
    assert classic.count_threshold_functions(4) == 1882
    counting = time.perf_counter() - start
    start = time.perf_counter()
    certified = separability._certified_masks(4)
    certifying = time.perf_counter() - start
    print(
        f"n = 4: counting {counting:.3f} s, certificates for all 65536 functions {certifying:.3f} s"
    )
    assert counting < 5.0 and certifying < 10.0
    assert int(certified.sum()) == 65536 - 1882


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_realisations_and_certificates_split_every_function(n):
    # The two methods are independent: integer weights found by enumeration, and
    # Farkas certificates from the cube's circuits. Exactly one applies to each
    # function, which proves the enumeration's weight bound sufficient.
    realised = xp.zeros(2 ** (2**n), dtype=bool)
    realised[list(separability._realisations(n))] = True
    certified = separability._certified_masks(n)
    assert not bool((realised & certified).any())
    assert bool((realised | certified).all())


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_every_realisation_computes_its_function(n):
    points = xp.asarray(list(itertools.product([0, 1], repeat=n)))
    for mask, (weights, threshold) in separability._realisations(n).items():
        assert all(isinstance(v, int) for v in weights) and isinstance(threshold, int)
        outputs = (points @ xp.asarray(weights) > threshold).astype(int).tolist()
        assert outputs == bits_of(mask, n)


def check_answer(bits, n):
    try:
        unit = classic.find_tlu(bits)
    except classic.NotLinearlySeparable as err:
        cert = err.certificate
        assert cert.verify()
        assert cert.outputs == tuple(bits)
        # The Farkas combination, recomputed here in exact rationals.
        ones = sum(Fraction(m) * xp.asarray(x + (1,)) for x, m in cert.ones)
        zeros = sum(Fraction(m) * xp.asarray(x + (1,)) for x, m in cert.zeros)
        assert (ones == zeros).all() and ones[-1] > 0
        assert len(cert.ones) + len(cert.zeros) <= n + 2  # a circuit: at most n + 2 inputs
        assert "contradiction" in str(err)
        return False
    assert classic.truth_table(unit).outputs == tuple(bits)
    return True


@pytest.mark.parametrize("n", [1, 2, 3])
def test_find_tlu_answers_every_function_exactly(n):
    separable = sum(check_answer(bits_of(m, n), n) for m in range(2 ** (2**n)))
    assert separable == EXPECTED_COUNTS[n]


def test_find_tlu_on_a_sample_of_four_input_functions():
    rng = random.Random(0)
    masks = rng.sample(range(2**16), 1500) + rng.sample(list(separability._realisations(4)), 300)
    for mask in masks:
        check_answer(bits_of(mask, 4), 4)


def test_two_input_functions_are_all_but_xor_and_xnor():
    inputs = list(itertools.product([0, 1], repeat=2))
    not_separable = []
    for bits in itertools.product([0, 1], repeat=4):
        if not classic.is_linearly_separable(bits):
            not_separable.append(bits)
    xor = tuple(a ^ b for a, b in inputs)
    xnor = tuple(1 - v for v in xor)
    assert sorted(not_separable) == sorted([xor, xnor])


def test_xor_certificate_is_the_chapters_contradiction():
    with pytest.raises(classic.NotLinearlySeparable) as info:
        classic.find_tlu([0, 1, 1, 0], name="XOR")
    err = info.value
    assert isinstance(err, ValueError)
    cert = err.certificate
    assert dict(cert.ones) == {(0, 1): 1, (1, 0): 1}
    assert dict(cert.zeros) == {(0, 0): 1, (1, 1): 1}
    message = str(err)
    for line in [
        "(0, 1) -> 1:  w2 > T",
        "(1, 0) -> 1:  w1 > T",
        "(0, 0) -> 0:  0 <= T",
        "(1, 1) -> 0:  w1 + w2 <= T",
        "w1 + w2 > 2T",
        "w1 + w2 <= 2T",
        "contradiction",
    ]:
        assert line in message
    assert message.startswith("XOR (outputs 0110) is not linearly separable")
    assert len(cert.inequalities()) == 4


def test_xnor_certificate():
    with pytest.raises(classic.NotLinearlySeparable) as info:
        classic.find_tlu([1, 0, 0, 1], name="XNOR")
    cert = info.value.certificate
    assert cert.verify()
    assert dict(cert.ones) == {(0, 0): 1, (1, 1): 1}
    assert dict(cert.zeros) == {(0, 1): 1, (1, 0): 1}
    assert "(0, 0) -> 1:  0 > T" in str(info.value)
    assert "(1, 0) -> 0:  w1 <= T" in str(info.value)


def test_a_certificate_with_unequal_multipliers_reads_correctly():
    # Minimal certificates found for n <= 4 happen to use multipliers of 1; a circuit of
    # the 3-cube with a coefficient 2 still makes a valid, readable certificate.
    cube = list(itertools.product([0, 1], repeat=3))
    indices, coeffs = next(c for c in separability._circuits(3) if max(map(abs, c[1])) == 2)
    ones = tuple((cube[i], c) for i, c in zip(indices, coeffs) if c > 0)
    zeros = tuple((cube[i], -c) for i, c in zip(indices, coeffs) if c < 0)
    outputs = tuple(int(any(x == p for p, _ in ones)) for x in cube)
    cert = classic.SeparabilityCertificate(outputs, ones, zeros, "g")
    assert cert.verify()
    assert "2 x (" in str(cert) and "contradiction" in str(cert)
    with pytest.raises(classic.NotLinearlySeparable):
        classic.find_tlu(outputs)


def test_tampered_certificates_fail_verification():
    with pytest.raises(classic.NotLinearlySeparable) as info:
        classic.find_tlu([0, 1, 1, 0])
    cert = info.value.certificate
    Cert = classic.SeparabilityCertificate
    assert not Cert(cert.outputs, ((cert.ones[0][0], 2),) + cert.ones[1:], cert.zeros).verify()
    assert not Cert(cert.outputs, cert.zeros, cert.ones).verify()  # wrong sides
    assert not Cert(cert.outputs, (), ()).verify()
    assert not Cert(cert.outputs, cert.ones, ((cert.zeros[0][0], 0),) + cert.zeros[1:]).verify()


def test_find_tlu_prefers_small_integer_weights():
    unit = classic.find_tlu([0, 0, 0, 1])
    assert unit.weights.tolist() == [1, 1] and unit.threshold == 1 and unit.binary
    # Majority of three: w = (1, 1, 1), T = 1.
    bits = [int(sum(x) >= 2) for x in itertools.product([0, 1], repeat=3)]
    assert classic.find_tlu(bits).weights.tolist() == [1, 1, 1]
    # A 4-input function that needs a weight of 3 (x1 dominates the rest).
    bits = [int(3 * x[0] + x[1] + x[2] + x[3] >= 4) for x in itertools.product([0, 1], repeat=4)]
    unit = classic.find_tlu(bits)
    assert max(abs(w) for w in unit.weights.tolist()) == 3
    assert classic.truth_table(unit).outputs == tuple(bits)


@pytest.mark.parametrize("length", [0, 1, 3, 6, 12])
def test_truth_table_length_must_be_a_power_of_two(length):
    with pytest.raises(ValueError, match=rf"expected 2\*\*n output bits.*got {length}$"):
        classic.find_tlu([0] * length)


def test_bad_truth_tables():
    with pytest.raises(ValueError, match=r"exactly for n <= 4.*got 32 bits \(n = 5\)"):
        classic.find_tlu([0] * 32)
    with pytest.raises(ValueError, match=r"expected output bits of 0 or 1; got 2"):
        classic.find_tlu([0, 2, 1, 0])
    with pytest.raises(ValueError, match="flat list"):
        classic.find_tlu([[0, 1], [1, 0]])
    with pytest.raises(ValueError, match="expected n in 1..4; got 5"):
        classic.count_threshold_functions(5)
    with pytest.raises(ValueError, match="expected n in 1..4"):
        classic.count_threshold_functions(0)
