"""The chapter's classic units: threshold logic units, the perceptron, hand-derived backprop.

Each step of the story is a working part:

* ``TLU`` and the ready-made gates (McCulloch & Pitts, 1943), with ``truth_table``;
* ``find_tlu``, deciding exactly whether a TLU computes a Boolean function and
  otherwise raising ``NotLinearlySeparable`` with a readable proof, and
  ``count_threshold_functions`` (14, 104, 1882 for 2, 3, 4 inputs);
* ``Perceptron``, Rosenblatt's learning rule, which notices when it cycles;
* ``BackpropMLP``, the 2-5-1 network trained by backpropagation derived by hand.

Example:
    >>> import wengert.classic as classic
    >>> classic.and_gate()([[1, 1], [1, 0]]).tolist()
    [1, 0]
    >>> classic.count_threshold_functions(2)
    14
"""

from wengert.classic.backprop import (
    BackpropHistory,
    BackpropMLP,
    CoreUnavailableError,
    tape_gradients,
)
from wengert.classic.perceptron import Perceptron, PerceptronHistory
from wengert.classic.plot import MissingPlotExtra
from wengert.classic.separability import (
    NotLinearlySeparable,
    SeparabilityCertificate,
    count_threshold_functions,
    find_tlu,
    is_linearly_separable,
)
from wengert.classic.tlu import (
    TLU,
    TruthTable,
    and_gate,
    identity_gate,
    not_gate,
    or_gate,
    truth_table,
)

__all__ = [
    "TLU",
    "BackpropHistory",
    "BackpropMLP",
    "CoreUnavailableError",
    "MissingPlotExtra",
    "NotLinearlySeparable",
    "Perceptron",
    "PerceptronHistory",
    "SeparabilityCertificate",
    "TruthTable",
    "and_gate",
    "count_threshold_functions",
    "find_tlu",
    "identity_gate",
    "is_linearly_separable",
    "not_gate",
    "or_gate",
    "tape_gradients",
    "truth_table",
]
