"""From tissues to TLUs: McCulloch and Pitts's threshold logic unit (1943).

A TLU adds up its weighted binary inputs and fires (outputs 1) when the sum
exceeds a threshold T: f(x) = 1 if w.x > T else 0. With one input it computes the
identity and negation; with two, AND and OR.

Run: python examples/01_tlu_gates.py
"""

import itertools

import wengert.classic as classic

print(__doc__.split("\n\n")[1], "\n")

# The chapter's wording gives thresholds that are off for a strict ">": check them.
X = list(itertools.product([0, 1], repeat=2))
print("The chapter's numbers, taken literally:")
print("  AND as 'sum must exceed 2':", classic.TLU([1, 1], 2)(X).tolist(), "(never fires)")
print("  OR as 'sum must exceed 1': ", classic.TLU([1, 1], 1)(X).tolist(), "(that is AND)")
print("  NOT as weight -1, T = 0:   ", classic.TLU([-1], 0)([[0], [1]]).tolist(), "(NOT(0) = 0)")
print("So the ready-made gates put T half-way between the sums that must give 0 and 1.\n")

for gate in (classic.identity_gate(), classic.not_gate(), classic.and_gate(), classic.or_gate()):
    print(gate)
    print(classic.truth_table(gate), end="\n\n")

# A TLU is vectorised: one call evaluates a whole batch of inputs.
print(
    "AND of three bits on every input:",
    classic.and_gate(3)(list(itertools.product([0, 1], repeat=3))).tolist(),
)

# And, as the chapter says, no choice of weights seems to give XOR.  The chapter's
# w = (1, 1), T = 1 assumes the unit fires at w.x >= T; under the strict w.x > T used
# here it is T = 0.5: (0,0), (0,1), (1,0) come out right, then it fires on (1,1) too.
attempt = classic.TLU([1, 1], 0.5, binary=True, name="XOR attempt")
print("\nw = (1, 1), T = 0.5 on XOR's inputs:", attempt(X).tolist(), "but XOR is [0, 1, 1, 0]")
print("Example 02 proves that no weights at all work.")
