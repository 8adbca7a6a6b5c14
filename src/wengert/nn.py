"""``wg.nn``: TensorFlow's ``tf.nn`` names."""

from .conv_ops import (  # noqa: F401
    avg_pool1d,
    avg_pool2d,
    batch_normalization,
    bias_add,
    conv1d,
    conv1d_transpose,
    conv2d,
    conv2d_transpose,
    depthwise_conv2d,
    max_pool1d,
    max_pool2d,
    moments,
)
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
from .random import dropout  # noqa: F401
