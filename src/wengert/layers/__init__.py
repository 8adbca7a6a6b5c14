"""``wg.layers``: Keras-style layers built on wengert's ops."""

from .base import Input, InputLayer, InputSpec, Layer
from .conv import Conv1D, Conv2D, Conv2DTranspose, DepthwiseConv2D, UpSampling2D, ZeroPadding2D
from .core import Activation, Dense, Dropout, Flatten, Lambda, Normalization, Reshape
from .embedding import Embedding, Masking
from .merging import Add, Average, Concatenate, Maximum, Minimum, Multiply, Subtract
from .normalization import BatchNormalization
from .op_layer import OpLayer
from .pooling import (
    AveragePooling1D,
    AveragePooling2D,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    MaxPooling1D,
    MaxPooling2D,
)
from .rnn import (
    GRU,
    LSTM,
    RNN,
    Bidirectional,
    GRUCell,
    LSTMCell,
    SimpleRNN,
    SimpleRNNCell,
    StackedRNNCells,
    TimeDistributed,
)

__all__ = [
    "Add",
    "Average",
    "Concatenate",
    "Maximum",
    "Minimum",
    "Multiply",
    "Subtract",
    "Layer",
    "InputSpec",
    "Input",
    "InputLayer",
    "Dense",
    "Activation",
    "Dropout",
    "Flatten",
    "Reshape",
    "Lambda",
    "OpLayer",
    "Normalization",
    "Conv1D",
    "Conv2D",
    "Conv2DTranspose",
    "DepthwiseConv2D",
    "ZeroPadding2D",
    "UpSampling2D",
    "MaxPooling1D",
    "MaxPooling2D",
    "AveragePooling1D",
    "AveragePooling2D",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "BatchNormalization",
    "Embedding",
    "Masking",
    "RNN",
    "StackedRNNCells",
    "SimpleRNN",
    "LSTM",
    "GRU",
    "SimpleRNNCell",
    "LSTMCell",
    "GRUCell",
    "Bidirectional",
    "TimeDistributed",
]
