"""A multi-layer perceptron trained by backpropagation derived by hand (no tape).

The network is the chapter's figure by default: 2 inputs, 5 sigmoid hidden units and
1 sigmoid output. For sample j, with σ(z) = 1 / (1 + e^-z):

    hidden:  h_j = σ(x_j W1 + b1)            (the y's of the chapter)
    output:  ŷ_j = σ(h_j W2 + b2)
    loss:    E   = ½ Σ_j Σ_k (ŷ_jk - y_jk)²

The backward pass is the chain rule, one layer at a time, using σ' = σ (1 - σ):

    ∂E/∂ŷ      = ŷ - y
    δ_out      = ∂E/∂(h W2 + b2) = (ŷ - y) ŷ (1 - ŷ)
    ∂E/∂W2     = Σ_j h_jᵀ δ_out_j          ∂E/∂b2 = Σ_j δ_out_j
    ∂E/∂h      = δ_out W2ᵀ                 (each hidden unit feeds every output)
    δ_hidden   = ∂E/∂h · h (1 - h)
    ∂E/∂W1     = Σ_j x_jᵀ δ_hidden_j       ∂E/∂b1 = Σ_j δ_hidden_j

The update averages the gradient over the J samples of the batch and adds momentum
(Rumelhart, Hinton & Williams, 1986):

    Δw(t) = -ε (1/J) ∂E/∂w + α Δw(t-1),     w ← w + Δw(t).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from wengert.backend import xp
from wengert.classic._checks import as_numeric, check_samples

__all__ = [
    "PARAMETER_NAMES",
    "BackpropHistory",
    "BackpropMLP",
    "CoreUnavailableError",
    "tape_gradients",
]

# The order gradients and parameters are listed in everywhere.
PARAMETER_NAMES = ("W1", "b1", "W2", "b2")


def _sigmoid(z):
    # The tanh form never overflows, unlike 1 / (1 + exp(-z)) for very negative z.
    return 0.5 * (1.0 + xp.tanh(0.5 * z))


@dataclass
class BackpropHistory:
    """The loss and accuracy of a BackpropMLP, one entry per epoch.

    Attributes:
        loss: E = ½ Σ (ŷ - y)² over the whole batch, computed by each epoch's forward
            pass, i.e. before that epoch's update (entry t is the loss after t updates).
        accuracy: the fraction of samples whose outputs, thresholded at 1/2, match y.
        stopped_early: True if ``fit`` stopped because the loss fell below ``stop_loss``.

    Example:
        >>> net = BackpropMLP(seed=0)
        >>> history = net.fit([[0, 0], [0, 1], [1, 0], [1, 1]], [0, 1, 1, 0], epochs=3)
        >>> len(history.loss), history.epochs
        (3, 3)
    """

    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    stopped_early: bool = False

    @property
    def epochs(self) -> int:
        """The number of epochs (forward passes) run."""
        return len(self.loss)

    def first_epoch_below(self, loss: float, accuracy: float = 1.0) -> int | None:
        """The first epoch t whose weights (after t updates) reach the loss and accuracy.

        Args:
            loss: the loss to get strictly below.
            accuracy: the accuracy to reach as well (default: every sample right).

        Returns:
            The number of updates needed, or None if training never got there.

        Example:
            >>> history = BackpropHistory(loss=[0.5, 0.2, 0.005], accuracy=[0.5, 1.0, 1.0])
            >>> history.first_epoch_below(0.01)
            2
        """
        for t, (e, a) in enumerate(zip(self.loss, self.accuracy)):
            if e < loss and a >= accuracy:
                return t
        return None


class BackpropMLP:
    """A one-hidden-layer sigmoid network trained by hand-derived backprop with momentum.

    Args:
        n_inputs: the number of inputs (2 in the chapter's figure).
        n_hidden: the number of sigmoid hidden units (5 in the figure).
        n_outputs: the number of sigmoid outputs (1 in the figure).
        learning_rate: the step size ε. It scales the gradient averaged over the J
            samples of the batch, (1/J) ∂E/∂w, so ε need not change with J.
        momentum: α in Δw(t) = -ε (1/J) ∂E/∂w + α Δw(t-1), between 0 and 1.
        seed: seeds the small random initial weights, uniform in ±``init_scale``.
        init_scale: the half-width of the initial weights.

    Attributes:
        params: a dict of the parameters, W1 (n_inputs, n_hidden), b1 (n_hidden,),
            W2 (n_hidden, n_outputs) and b2 (n_outputs,), as float64 arrays.

    Example:
        >>> X, y = [[0, 0], [0, 1], [1, 0], [1, 1]], [0, 1, 1, 0]
        >>> net = BackpropMLP(seed=0)
        >>> history = net.fit(X, y, epochs=2000, stop_loss=0.01)
        >>> net.predict(X).tolist(), history.loss[-1] < 0.01
        ([0, 1, 1, 0], True)
    """

    def __init__(
        self,
        n_inputs: int = 2,
        n_hidden: int = 5,
        n_outputs: int = 1,
        learning_rate: float = 0.5,
        momentum: float = 0.9,
        seed: int | None = 0,
        *,
        init_scale: float = 1.0,
    ):
        for label, value in (
            ("n_inputs", n_inputs),
            ("n_hidden", n_hidden),
            ("n_outputs", n_outputs),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"BackpropMLP: expected {label} to be an int >= 1; got {value!r}")
        if not 0 < learning_rate < float("inf"):
            raise ValueError(
                f"BackpropMLP: expected a finite learning_rate > 0; got {learning_rate!r}"
            )
        if not 0 <= momentum < 1:
            raise ValueError(f"BackpropMLP: expected momentum in [0, 1); got {momentum!r}")
        self.n_inputs, self.n_hidden, self.n_outputs = n_inputs, n_hidden, n_outputs
        self.learning_rate = float(learning_rate)
        self.momentum = float(momentum)
        self.seed = seed
        rng = xp.random.default_rng(seed)
        shapes = {
            "W1": (n_inputs, n_hidden),
            "b1": (n_hidden,),
            "W2": (n_hidden, n_outputs),
            "b2": (n_outputs,),
        }
        self.params = {k: rng.uniform(-init_scale, init_scale, size=s) for k, s in shapes.items()}
        self.velocity = {k: xp.zeros_like(v) for k, v in self.params.items()}
        self.name = f"{n_inputs}-{n_hidden}-{n_outputs} MLP"

    def _forward(self, X):
        p = self.params
        h = _sigmoid(X @ p["W1"] + p["b1"])
        return h, _sigmoid(h @ p["W2"] + p["b2"])

    def __call__(self, X):
        """The network's outputs ŷ in (0, 1) for each row of X.

        Args:
            X: inputs of shape (n, n_inputs).

        Returns:
            A float64 array of shape (n, n_outputs).

        Example:
            >>> BackpropMLP(seed=0)([[0, 0], [1, 1]]).shape
            (2, 1)
        """
        return self._forward(self._check_x(X))[1]

    def predict(self, X):
        """The outputs thresholded at 1/2: 0 or 1 per sample (and per output).

        Args:
            X: inputs of shape (n, n_inputs).

        Returns:
            An int array of shape (n,) for one output, else (n, n_outputs).

        Example:
            >>> BackpropMLP(seed=0).predict([[0, 1]]).shape
            (1,)
        """
        out = (self(X) > 0.5).astype(xp.int64)
        return out[:, 0] if self.n_outputs == 1 else out

    def loss(self, X, y) -> float:
        """The squared loss E = ½ Σ (ŷ - y)² over all samples and outputs.

        Args:
            X: inputs of shape (n, n_inputs).
            y: targets in [0, 1], shape (n,) or (n, n_outputs).

        Returns:
            E as a float.

        Example:
            >>> net = BackpropMLP(seed=0)
            >>> net.params["W2"][:] = 0.0  # every output is then σ(0) = 1/2
            >>> net.params["b2"][:] = 0.0
            >>> net.loss([[0, 0], [1, 1]], [0, 1])
            0.25
        """
        X, y = self._check_xy(X, y, "loss")
        return float(0.5 * xp.sum((self._forward(X)[1] - y) ** 2))

    def gradients(self, X, y) -> dict:
        """The hand-derived gradients ∂E/∂θ of E = ½ Σ (ŷ - y)², summed over the batch.

        Args:
            X: inputs of shape (n, n_inputs).
            y: targets in [0, 1], shape (n,) or (n, n_outputs).

        Returns:
            A dict with keys "W1", "b1", "W2", "b2", each shaped like its parameter.

        Example:
            >>> grads = BackpropMLP(seed=0).gradients([[0, 1]], [1])
            >>> sorted(grads), grads["W1"].shape
            (['W1', 'W2', 'b1', 'b2'], (2, 5))
        """
        X, y = self._check_xy(X, y, "gradients")
        return self._gradients(X, y)[0]

    def _gradients(self, X, y):
        h, y_hat = self._forward(X)
        delta_out = (y_hat - y) * y_hat * (1.0 - y_hat)
        delta_hidden = (delta_out @ self.params["W2"].T) * h * (1.0 - h)
        grads = {
            "W1": X.T @ delta_hidden,
            "b1": delta_hidden.sum(axis=0),
            "W2": h.T @ delta_out,
            "b2": delta_out.sum(axis=0),
        }
        return grads, y_hat

    def fit(self, X, y, epochs: int = 2000, *, stop_loss: float | None = None, gradient_fn=None):
        """Train by full-batch gradient descent with momentum; return the history.

        Each epoch makes one update from the J samples of X, with the gradient of the
        summed loss E averaged over them: Δw(t) = -ε (1/J) ∂E/∂w + α Δw(t-1), w ← w + Δw(t).

        Args:
            X: inputs of shape (n, n_inputs).
            y: targets in [0, 1], shape (n,) or (n, n_outputs).
            epochs: the most updates to make (one per epoch, on the whole batch).
            stop_loss: stop as soon as E is below this and every sample is right.
            gradient_fn: ``f(net, X, y) -> dict`` to use instead of the hand-derived
                gradients, e.g. ``tape_gradients`` to train the same way by the tape.

        Returns:
            A BackpropHistory with the loss before each update.

        Example:
            >>> net = BackpropMLP(seed=0)
            >>> h = net.fit([[0, 0], [0, 1], [1, 0], [1, 1]], [0, 1, 1, 0], epochs=50)
            >>> h.loss[-1] < h.loss[0]
            True
        """
        X, y = self._check_xy(X, y, "fit")
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise ValueError(f"BackpropMLP.fit: expected epochs to be an int >= 1; got {epochs!r}")
        history = BackpropHistory()
        scale = self.learning_rate / X.shape[0]  # ε averaged over the batch
        for _ in range(epochs):
            if gradient_fn is None:
                grads, y_hat = self._gradients(X, y)
            else:
                y_hat = self._forward(X)[1]
                grads = gradient_fn(self, X, y)
            loss = float(0.5 * xp.sum((y_hat - y) ** 2))
            accuracy = float(xp.mean(xp.all((y_hat > 0.5) == (y > 0.5), axis=1)))
            history.loss.append(loss)
            history.accuracy.append(accuracy)
            if stop_loss is not None and loss < stop_loss and accuracy == 1.0:
                history.stopped_early = True
                break
            for k, param in self.params.items():
                self.velocity[k] = -scale * grads[k] + self.momentum * self.velocity[k]
                param += self.velocity[k]
        return history

    def _check_x(self, X):
        X = as_numeric(X, self.name, "X")
        if X.ndim != 2 or X.shape[1] != self.n_inputs:
            raise ValueError(
                f"BackpropMLP: expected X of shape (n, {self.n_inputs}); got shape {X.shape}"
            )
        return X.astype(xp.float64)

    def _check_xy(self, X, y, method: str):
        who = f"BackpropMLP.{method}"
        X, y = check_samples(X, y, who, binary_labels=False)
        X = self._check_x(X)
        y = y.astype(xp.float64)
        y = y[:, None] if y.ndim == 1 else y
        if y.shape[1] != self.n_outputs:
            raise ValueError(
                f"{who}: expected y of shape (n, {self.n_outputs}); got shape {y.shape}"
            )
        return X, y


class CoreUnavailableError(RuntimeError):
    """Raised when the tape is asked for but wengert's core (GradientTape and ops) is absent."""


def _core():
    """Import the tier-1 tape and ops the tape run needs, or raise CoreUnavailableError.

    Imported here rather than at the top so that the hand-derived network keeps working
    (and says clearly what is missing) in an installation without wengert's core.
    """
    try:
        from wengert.math_ops import matmul, reduce_sum, square
        from wengert.nn_ops import sigmoid
        from wengert.tape import GradientTape
        from wengert.tensor import Variable, constant
    except ImportError as err:
        raise CoreUnavailableError(
            "training by the tape needs wengert's core (GradientTape and the ops matmul, "
            f"sigmoid, reduce_sum, square), which could not be imported: {err}"
        ) from err
    return GradientTape, Variable, constant, matmul, sigmoid, reduce_sum, square


def tape_gradients(net: BackpropMLP, X, y) -> dict:
    """The gradients of ``net``'s loss E = ½ Σ (ŷ - y)², computed by wengert's GradientTape.

    The same forward pass as ``BackpropMLP``, written with wengert ops and
    differentiated by the tape; it should agree with ``net.gradients`` to rounding.

    Args:
        net: the network whose current parameters to differentiate at.
        X: inputs of shape (n, n_inputs).
        y: targets, shape (n,) or (n, n_outputs).

    Returns:
        A dict with keys "W1", "b1", "W2", "b2" of float64 arrays.

    Raises:
        CoreUnavailableError: wengert's core (tape and ops) is not installed.

    Example:
        >>> net = BackpropMLP(seed=0)
        >>> try:
        ...     grads = tape_gradients(net, [[0, 1]], [1])
        ... except CoreUnavailableError:
        ...     grads = net.gradients([[0, 1]], [1])
        >>> sorted(grads)
        ['W1', 'W2', 'b1', 'b2']
    """
    GradientTape, Variable, constant, matmul, sigmoid, reduce_sum, square = _core()
    X, y = net._check_xy(X, y, "tape_gradients")
    variables = [Variable(net.params[k].copy()) for k in PARAMETER_NAMES]
    W1, b1, W2, b2 = variables
    x_t = constant(X, dtype=X.dtype)
    y_t = constant(y, dtype=y.dtype)
    with GradientTape() as tape:
        h = sigmoid(matmul(x_t, W1) + b1)
        y_hat = sigmoid(matmul(h, W2) + b2)
        loss = 0.5 * reduce_sum(square(y_hat - y_t))
    grads = tape.gradient(loss, variables)
    return {k: xp.asarray(g.numpy(), dtype=xp.float64) for k, g in zip(PARAMETER_NAMES, grads)}
