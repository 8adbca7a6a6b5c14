"""The chapter's "Backpropagation in practice", run on wengert's tape.

The chapter shows TensorFlow's GradientTape computing the derivative of
z = (sum x)^2 with respect to the intermediate value y = sum x, then a
persistent tape giving two gradients.  Here the same programs run with ``wg``
for ``tf``, and then we do what TensorFlow does not let you do: look at the
tape itself -- the Wengert list, its graph, and why a gradient is None.

Run:  python examples/gradient_tape.py
"""

import wengert as wg

print("1. Gradient with respect to an intermediate value")
x = wg.ones((2, 2))
with wg.GradientTape() as t:
    t.watch(x)
    y = wg.reduce_sum(x)
    z = wg.multiply(y, y)
print("   the tape recorded this Wengert list:")
print("   " + str(t).replace("\n", "\n   "))
dz_dy = t.gradient(z, y)  # 2 * y = 2 * sum(x) = 8
print(f"   dz/dy = {float(dz_dy)}   (2*y = 2*sum(x) = 8)")
assert dz_dy.numpy() == 8.0

print("\n2. A persistent tape answers more than once")
x = wg.constant(3.0)
with wg.GradientTape(persistent=True) as t:
    t.watch(x)
    y = x * x
    z = y * y
dz_dx = t.gradient(z, x)  # 108.0 (4*x^3 at x = 3)
dy_dx = t.gradient(y, x)  # 6.0
print(f"   dz/dx = {float(dz_dx)}   (4*x^3 at x = 3)")
print(f"   dy/dx = {float(dy_dx)}   (2*x at x = 3)")
print(f"   the tape holds {len(t)} records and {t.saved_bytes} bytes of saved values")
del t

print("\n3. Reverse mode walks the list backwards; forward mode runs alongside")
x = wg.constant(3.0)
with wg.ForwardAccumulator(x, wg.constant(1.0)) as acc:
    z = (x * x) * (x * x)
print(f"   forward mode: dz/dx = {float(acc.jvp(z))}   (one pass per input direction)")

print("\n4. Nested tapes: the backward pass is itself recorded, so derivatives nest")
x = wg.constant(3.0)
with wg.GradientTape() as outer:
    outer.watch(x)
    with wg.GradientTape() as inner:
        inner.watch(x)
        z = x**4
    dz = inner.gradient(z, x)
d2z = outer.gradient(dz, x)
print(f"   d/dx x^4 = {float(dz)} and d2/dx2 x^4 = {float(d2z)}   (4*27 and 12*9)")

print("\n5. The tape as a graph (Graphviz DOT; render with `dot -Tpng`)")
x = wg.ones((2, 2))
with wg.GradientTape() as t:
    t.watch(x)
    z = wg.reduce_sum(x) ** 2
print("   " + t.to_dot().replace("\n", "\n   "))

print("\n6. Why is my gradient None?")
w = wg.constant(2.0)
with wg.GradientTape() as t:
    y = w * w  # w was never watched
print(f"   gradient: {t.gradient(y, w)}")
print(f"   tape.explain: {t.explain(y, w)}")
