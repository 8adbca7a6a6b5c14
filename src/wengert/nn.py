"""``wg.nn``: TensorFlow's ``tf.nn`` names."""

from .math_ops import tanh  # noqa: F401
from .nn_ops import (  # noqa: F401
    elu,
    erf,
    erfc,
    gelu,
    leaky_relu,
    log_softmax,
    relu,
    selu,
    sigmoid,
    sigmoid_cross_entropy_with_logits,
    silu,
    softmax,
    softmax_cross_entropy_with_logits,
    softplus,
    softsign,
    sparse_softmax_cross_entropy_with_logits,
    swish,
)
