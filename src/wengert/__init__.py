"""wengert: deep learning on a Wengert tape, in NumPy.

Example:
    >>> import wengert as wg
    >>> x = wg.constant(3.0)
    >>> with wg.GradientTape() as tape:
    ...     tape.watch(x)
    ...     y = x * x
    >>> float(tape.gradient(y, x))
    6.0
"""

__version__ = "0.1.0"

from . import backend
from .backend import (
    bool_ as bool,
    complex64,
    complex128,
    float16,
    float32,
    float64,
    int8,
    int16,
    int32,
    int64,
    uint8,
)
from .tensor import Tensor, Variable, constant, convert_to_tensor, is_tensor
from .math_ops import (
    abs,
    add,
    argmax,
    argmin,
    clip_by_value,
    cos,
    divide,
    equal,
    exp,
    floor,
    greater,
    greater_equal,
    less,
    less_equal,
    matmul,
    maximum,
    minimum,
    multiply,
    negative,
    not_equal,
    pow,
    reduce_logsumexp,
    reduce_max,
    reduce_mean,
    reduce_min,
    reduce_prod,
    reduce_sum,
    round,
    sign,
    sin,
    sqrt,
    square,
    subtract,
    tanh,
    tensordot,
    where,
)
from .array_ops import (
    broadcast_to,
    cast,
    concat,
    expand_dims,
    eye,
    fill,
    gather,
    identity,
    linspace,
    one_hot,
    ones,
    ones_like,
    pad,
    rank,
    reshape,
    scatter_nd,
    shape,
    size,
    split,
    squeeze,
    stack,
    stop_gradient,
    tensor_scatter_nd_add,
    tensor_scatter_nd_sub,
    tensor_scatter_nd_update,
    tile,
    transpose,
    unstack,
    zeros,
    zeros_like,
)
from .array_ops import range_ as range
from .nn_ops import sigmoid, softmax
from .tape import GradientTape, UnconnectedGradients, UnconnectedGradientError, custom_gradient
from .forward import ForwardAccumulator
from .functional import grad, hessian, jvp, value_and_grad, vjp
from .math_extra import add_n, clip_by_global_norm, clip_by_norm, cumsum, einsum
from .linalg import norm
from .eager import executing_eagerly, function
from . import random, math, bitwise, nn, linalg, test_util, numpy_api  # noqa: E402
from . import ops  # noqa: E402
from . import image_ops as image  # noqa: E402
from . import core  # noqa: E402
from . import classic  # noqa: E402
from . import activations, constraints, initializers, layers, regularizers  # noqa: E402
from . import utils  # noqa: E402
from . import losses, metrics, optimizers, schedules, callbacks, checkpoints, datasets  # noqa: E402
from .checkpoints import CheckpointError  # noqa: E402
from .models import Model, Sequential  # noqa: E402
from .layers import Input  # noqa: E402
from . import autodiff, data, errors, keras  # noqa: E402

# tf.newaxis: indexing with it (None) adds an axis.
newaxis = None

from .module import Module, name_scope  # noqa: E402
from . import train  # noqa: E402
from . import debugging, diagnostics  # noqa: E402


class device:  # noqa: N801 (TensorFlow's name)
    """``with wg.device("/GPU:0"):`` -- accepted and ignored: wengert computes with NumPy
    on the CPU, as TensorFlow's soft placement does when the named device is absent.

    Example:
        >>> import wengert as wg
        >>> with wg.device("/CPU:0"):
        ...     x = wg.ones(2)
        >>> x.numpy()
        array([1., 1.], dtype=float32)
    """

    def __init__(self, device_name):
        if device_name is not None and not isinstance(device_name, str):
            raise TypeError(f"device: expected a device name string, got {device_name!r}")
        self.name = device_name

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def from_dlpack(capsule) -> Tensor:
    """Wrap an object that supports DLPack (a PyTorch tensor, a NumPy array) as a Tensor.

    The data is copied, so later changes to the producer do not reach the tensor.

    Example:
        >>> import numpy as np, wengert as wg
        >>> wg.from_dlpack(np.arange(3.0)).numpy()
        array([0., 1., 2.])
    """
    from .backend import xp

    return constant(xp.from_dlpack(capsule))


log = math.log
log1p = math.log1p
expm1 = math.expm1
floordiv = math.floordiv
mod = math.mod

# Last, once every namespace is filled: the public ops record themselves as layers when
# given a functional model's symbolic values (wg.exp(wg.Input((3,)))).
from .layers.op_layer import install as _install_symbolic_dispatch  # noqa: E402

_install_symbolic_dispatch()
