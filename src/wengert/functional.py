"""Function transformations in the style of JAX, built on the tape and the accumulator."""

from __future__ import annotations

from .array_ops import identity
from .core import operand
from .forward import ForwardAccumulator
from .tape import GradientTape, UnconnectedGradients
from .tensor import Tensor

__all__ = ["grad", "value_and_grad", "jvp", "vjp", "hessian"]


def _differentiated(name: str, args, nums) -> list:
    """``args`` with each ``args[i]``, i in ``nums``, made a fresh floating-point Tensor.

    ``identity`` gives each a tensor of its own, so one tensor passed in two positions
    is two variables here, while tapes outside still record the copy (nested helpers
    give higher derivatives).  Other arguments pass through unchanged.
    """
    args = list(args)
    for i in nums:
        x = args[i] if isinstance(args[i], Tensor) else operand(args[i])
        if x._value.dtype.kind not in "fc":
            raise TypeError(
                f"{name}: argument {i} is {x.dtype}{list(x.shape)}, not floating-point, so it "
                "cannot be differentiated; pass a float (2.0, not 2) or cast it"
            )
        args[i] = identity(x)
    return args


def value_and_grad(f, argnums=0):
    """Return a function computing ``(f(*args), gradient of f w.r.t. args[argnums])``.

    ``f`` must return a scalar (or a tensor, whose elements' gradients are summed).
    ``argnums`` may be an int or a tuple of ints; those arguments must be floating-point
    (TypeError otherwise), and the others reach ``f`` unchanged (an int exponent, a
    string, None).  Nesting gives higher derivatives.

    Example:
        >>> import wengert as wg
        >>> value, g = wg.value_and_grad(lambda x: x ** 3)(2.0)
        >>> float(value), float(g)
        (8.0, 12.0)
    """
    return _value_and_grad(f, argnums, "value_and_grad")


def _value_and_grad(f, argnums, name: str):
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)

    def wrapped(*args):
        xs = _differentiated(name, args, nums)
        with GradientTape() as tape:
            for i in nums:
                tape.watch(xs[i])
            y = f(*xs)
        gs = tape.gradient(
            y, [xs[i] for i in nums], unconnected_gradients=UnconnectedGradients.ZERO
        )
        return y, (gs[0] if isinstance(argnums, int) else tuple(gs))

    return wrapped


def grad(f, argnums=0):
    """Return a function computing the gradient of ``f`` w.r.t. ``args[argnums]``.

    Example:
        >>> import wengert as wg
        >>> d2 = wg.grad(wg.grad(lambda x: x ** 3))
        >>> float(d2(2.0))
        12.0
    """
    vg = _value_and_grad(f, argnums, "grad")

    def wrapped(*args):
        return vg(*args)[1]

    return wrapped


def jvp(f, primals, tangents):
    """Evaluate ``f(*primals)`` and its Jacobian-vector product with ``tangents``.

    Returns:
        ``(output, output_tangent)``.

    Example:
        >>> import wengert as wg
        >>> y, dy = wg.jvp(lambda x: x * x, (3.0,), (1.0,))
        >>> float(y), float(dy)
        (9.0, 6.0)
    """
    xs = _differentiated("jvp", primals, range(len(primals)))
    ts = tuple(t if isinstance(t, Tensor) else operand(t, x.dtype) for x, t in zip(xs, tangents))
    with ForwardAccumulator(list(xs), list(ts)) as acc:
        y = f(*xs)
    return y, acc.jvp(y, unconnected_gradients=UnconnectedGradients.ZERO)


def vjp(f, *primals):
    """Evaluate ``f(*primals)`` and return ``(output, vjp_fn)``.

    ``vjp_fn(cotangent)`` returns a tuple with one gradient per primal; it may be
    called several times.

    Example:
        >>> import wengert as wg
        >>> y, back = wg.vjp(lambda x: 2.0 * x, wg.constant([1.0, 2.0]))
        >>> back(wg.constant([1.0, 10.0]))[0].numpy()
        array([ 2., 20.], dtype=float32)
    """
    xs = _differentiated("vjp", primals, range(len(primals)))
    with GradientTape(persistent=True) as tape:
        tape.watch(list(xs))
        y = f(*xs)

    def vjp_fn(cotangent):
        return tuple(
            tape.gradient(
                y,
                list(xs),
                output_gradients=cotangent,
                unconnected_gradients=UnconnectedGradients.ZERO,
            )
        )

    return y, vjp_fn


def hessian(f, argnums=0):
    """Return a function computing the Hessian of scalar ``f`` w.r.t. ``args[argnums]``.

    The result has shape ``x.shape + x.shape``: reverse mode over reverse mode.

    Example:
        >>> import wengert as wg
        >>> h = wg.hessian(lambda x: wg.reduce_sum(x ** 3))
        >>> h(wg.constant([1.0, 2.0])).numpy()
        array([[ 6.,  0.],
               [ 0., 12.]], dtype=float32)
    """

    def wrapped(*args):
        xs = _differentiated("hessian", args, (argnums,))
        x = xs[argnums]
        with GradientTape(persistent=True) as outer:
            outer.watch(x)
            with GradientTape() as inner:
                inner.watch(x)
                y = f(*xs)
            g = inner.gradient(y, x, unconnected_gradients=UnconnectedGradients.ZERO)
        return outer.jacobian(g, x, unconnected_gradients=UnconnectedGradients.ZERO)

    return wrapped
