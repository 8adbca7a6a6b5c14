"""``wg.nn``: TensorFlow's ``tf.nn`` names."""

from .math_ops import tanh  # noqa: F401
from .nn_ops import log_softmax, relu, sigmoid, softmax, softplus  # noqa: F401
