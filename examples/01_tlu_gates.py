"""From tissues to TLUs: McCulloch and Pitts's threshold logic unit (1943).

A TLU adds up its weighted binary inputs and fires (outputs 1) when the sum
reaches a threshold T. The chapter's formula writes f(x) = 1 if w.x > T else 0,
but its thresholds are those of w.x >= T. With one input a TLU computes the
identity and negation; with two, AND and OR.

Run: python examples/01_tlu_gates.py
"""

import itertools

import wengert.classic as classic

print(__doc__.split("\n\n")[1], "\n")

# The chapter's numbers are right when the unit fires as the sum *reaches* T
# (inclusive=True); wengert's default is the formula's strict ">", as in the
# perceptron's step(w.x + b > 0), and with integer sums "w.x >= T" is "w.x > T - 1".
X = list(itertools.product([0, 1], repeat=2))
print("The chapter's numbers, firing when w.x reaches T (TLU(..., inclusive=True)):")
print("  AND, w = (1, 1), T = 2:", classic.TLU([1, 1], 2, inclusive=True)(X).tolist())
print("  OR,  w = (1, 1), T = 1:", classic.TLU([1, 1], 1, inclusive=True)(X).tolist())
print("  NOT, w = -1,     T = 0:", classic.TLU([-1], 0, inclusive=True)([[0], [1]]).tolist())
print("The same gates under the formula's strict '>' (wengert's default) need T - 1:")
print("  AND, w = (1, 1), T = 1:", classic.TLU([1, 1], 1)(X).tolist())
print("  OR,  w = (1, 1), T = 0:", classic.TLU([1, 1], 0)(X).tolist())
print("  NOT, w = -1,     T = -1:", classic.TLU([-1], -1)([[0], [1]]).tolist())
print("The ready-made gates put T half-way (AND 1.5, OR 0.5, NOT -0.5): right either way.\n")

for gate in (classic.identity_gate(), classic.not_gate(), classic.and_gate(), classic.or_gate()):
    print(gate)
    print(classic.truth_table(gate), end="\n\n")

# A TLU is vectorised: one call evaluates a whole batch of inputs.
print(
    "AND of three bits on every input:",
    classic.and_gate(3)(list(itertools.product([0, 1], repeat=3))).tolist(),
)

# And, as the chapter says, no choice of weights seems to give XOR. Its attempt,
# w = (1, 1) firing when the sum reaches T = 1: (0,0), (0,1), (1,0) come out right,
# then it fires on (1,1) too.
attempt = classic.TLU([1, 1], 1, inclusive=True, binary=True, name="XOR attempt")
print("\nw = (1, 1), w.x >= 1 on XOR's inputs:", attempt(X).tolist(), "but XOR is [0, 1, 1, 0]")
print("Example 02 proves that no weights at all work.")
