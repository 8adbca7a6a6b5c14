"""Which Boolean functions can one TLU compute? Exactly the linearly separable ones.

find_tlu answers exactly: integer weights and a threshold when they exist, and
otherwise a certificate, the short contradiction among the TLU's inequalities.

Run: python examples/02_linear_separability.py
"""

import itertools
import time

import wengert.classic as classic

print(__doc__.split("\n\n")[1], "\n")

# All sixteen functions of two inputs, outputs listed for (0,0), (0,1), (1,0), (1,1).
print("outputs  a TLU firing when w.x > T, or why none exists")
for outputs in itertools.product([0, 1], repeat=4):
    bits = "".join(map(str, outputs))
    try:
        unit = classic.find_tlu(outputs)
        print(f"  {bits}   w = {tuple(unit.weights.tolist())}; T = {unit.threshold}")
    except classic.NotLinearlySeparable as err:
        # Both sides add up alike, so no w.x can be above T on one and not the other.
        equation = err.certificate.equation()
        print(f"  {bits}   none: {equation}, but f is 1 on the left and 0 on the right")

print("\nThe two exceptions are XOR and XNOR. The proofs, in full:\n")
for name, outputs in (("XOR", [0, 1, 1, 0]), ("XNOR", [1, 0, 0, 1])):
    try:
        classic.find_tlu(outputs, name=name)
    except classic.NotLinearlySeparable as err:
        print(err, end="\n\n")
        assert err.certificate.verify()  # checked in exact integer arithmetic

# Counting the threshold functions of n inputs (the first call builds the table).
print("How many functions of n inputs are threshold functions?")
for n in range(1, 5):
    start = time.perf_counter()
    count = classic.count_threshold_functions(n)
    print(f"  n = {n}: {count} of {2**2**n}   ({time.perf_counter() - start:.3f} s)")
print("Most functions of many inputs are out of reach of a single TLU.")
