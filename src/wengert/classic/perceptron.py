"""Rosenblatt's perceptron, trained by the chapter's five-step rule.

1. Take J labelled samples (x_j, y_j) with y_j in {0, 1}.
2. Initialise the weights w and bias b to zero or to small random values.
3. Compute ŷ_j = step(w·x_j + b), with step(z) = 1 if z > 0 else 0.
4. Update w_i(t+1) = w_i(t) + r (y_j - ŷ_j) x_ji, and b likewise with x = 1.
5. Repeat 3-4 until the number of errors falls to ``error_threshold`` (default 0).

On data that are not linearly separable the rule never settles; the weights stay
bounded (Block & Levin, 1970).  With integer inputs (the Boolean functions) and a
fixed visiting order they eventually repeat: ``fit`` watches for a repeated state at
the end of an epoch, which proves the training will cycle for ever, and stops there
with ``converged=False``.  With real-valued inputs a state need not ever repeat
exactly, and training stops at ``max_epochs``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from wengert.backend import xp
from wengert.classic._checks import as_numeric, check_samples
from wengert.classic.tlu import TLU

__all__ = ["Perceptron", "PerceptronHistory"]


@dataclass
class PerceptronHistory:
    """What happened during ``Perceptron.fit``, one entry per epoch.

    Attributes:
        errors: samples misclassified by the weights at the end of each epoch.
        updates: mistakes (weight updates) made during each epoch; in batch mode,
            the samples misclassified by the weights the epoch started with.
        weights: the weight vector at the end of each epoch.
        biases: the bias at the end of each epoch.
        converged: True if an epoch ended with at most ``error_threshold`` errors.
        stopped: why training stopped: "converged", "cycle" or "max_epochs".
        cycle: (first_epoch, period) when the end-of-epoch state repeated: the state
            after epoch ``first_epoch + period`` equals the state after ``first_epoch``
            (epoch 0 is the initial state). None otherwise.
        sample_updates: for each epoch, the net multiple of each sample added to the
            weights (the sum of its y - ŷ over the epoch).

    Example:
        >>> history = Perceptron().fit([[0, 0], [0, 1], [1, 0], [1, 1]], [0, 1, 1, 0])
        >>> history.converged, history.stopped, history.cycle
        (False, 'cycle', (2, 1))
        >>> history.cycle_updates().tolist()  # (0,1) and (1,0) added, (0,0) and (1,1) taken away
        [-1, 1, 1, -1]
    """

    errors: list[int] = field(default_factory=list)
    updates: list[int] = field(default_factory=list)
    weights: list = field(default_factory=list)
    biases: list[float] = field(default_factory=list)
    converged: bool = False
    stopped: str = ""
    cycle: tuple[int, int] | None = None
    sample_updates: list = field(default_factory=list)

    @property
    def epochs(self) -> int:
        """The number of epochs run."""
        return len(self.errors)

    def summary(self) -> str:
        """One line saying how training ended, with the errors and updates of each epoch.

        The errors of an epoch are those of the weights it ended with (so the last is 0
        when training converged); the updates are the mistakes made, and corrected,
        during it (see ``updates``).

        Returns:
            For instance "converged after 2 epochs (errors after each epoch: 1 0;
            updates during each: 1 1)".

        Example:
            >>> Perceptron().fit([[0], [1]], [0, 1]).summary()
            'converged after 2 epochs (errors after each epoch: 1 0; updates during each: 1 1)'
        """
        errors = " ".join(str(e) for e in self.errors)
        updates = " ".join(str(u) for u in self.updates)
        counts = f"(errors after each epoch: {errors}; updates during each: {updates})"
        if self.stopped == "converged":
            return f"converged after {_epochs(self.epochs)} {counts}"
        if self.stopped == "cycle":
            start, period = self.cycle
            return (
                f"did not converge: the weights after epoch {start + period} equal those after "
                f"epoch {start}, so training repeats a {period}-epoch cycle for ever {counts}"
            )
        return f"did not converge within {_epochs(self.epochs)} {counts}"

    def cycle_updates(self):
        """The net multiple of each sample added to the weights over one detected cycle.

        Because the weights return to where they were, these integers c_j satisfy
        Σ c_j (x_j, 1) = 0 with c_j >= 0 on label-1 samples and c_j <= 0 on label-0
        samples: on binary inputs, exactly a Farkas certificate (as find_tlu prints)
        that the data are not linearly separable.

        Returns:
            An int array with one entry per sample.

        Raises:
            ValueError: no cycle was detected.

        Example:
            >>> h = Perceptron(batch=True).fit([[0], [1], [2]], [1, 0, 1])
            >>> h.cycle, h.cycle_updates().tolist()
            ((0, 3), [1, -2, 1])
        """
        if self.cycle is None:
            raise ValueError(f"PerceptronHistory: no cycle was detected (stopped: {self.stopped})")
        start, period = self.cycle
        return sum(self.sample_updates[start : start + period])


def _epochs(count: int) -> str:
    return f"{count} epoch" + ("" if count == 1 else "s")


class Perceptron:
    """Rosenblatt's perceptron: ŷ = step(w·x + b), trained by the perceptron rule.

    Args:
        learning_rate: the step r in w ← w + r (y - ŷ) x; must be positive.
        max_epochs: the most passes over the data ``fit`` makes.
        seed: seeds the random initial weights (only used with ``init="random"``).
        init: "zeros" (the default) or "random" (uniform in ±``init_scale``).
        init_scale: the half-width of the random initial weights.
        batch: if True, each epoch computes ŷ for all samples with the same weights and
            applies the summed update once (the chapter's "for all J samples");
            otherwise (online) the weights change after each misclassified sample.
        error_threshold: stop once an epoch ends with at most this many errors.

    Example:
        >>> model = Perceptron(learning_rate=1.0, max_epochs=20)
        >>> model.fit([[0, 0], [0, 1], [1, 0], [1, 1]], [0, 0, 0, 1]).converged
        True
        >>> model([[1, 1], [0, 1]]).tolist()
        [1, 0]
    """

    def __init__(
        self,
        learning_rate: float = 1.0,
        max_epochs: int = 100,
        seed: int | None = None,
        *,
        init: str = "zeros",
        init_scale: float = 0.01,
        batch: bool = False,
        error_threshold: int = 0,
    ):
        if not 0 < learning_rate < float("inf"):
            raise ValueError(
                f"Perceptron: expected a finite learning_rate > 0; got {learning_rate!r}"
            )
        if isinstance(max_epochs, bool) or not isinstance(max_epochs, int) or max_epochs < 1:
            raise ValueError(
                f"Perceptron: expected max_epochs to be an int >= 1; got {max_epochs!r}"
            )
        if init not in ("zeros", "random"):
            raise ValueError(f"Perceptron: expected init 'zeros' or 'random'; got {init!r}")
        if error_threshold < 0:
            raise ValueError(f"Perceptron: expected error_threshold >= 0; got {error_threshold!r}")
        self.learning_rate = float(learning_rate)
        self.max_epochs = max_epochs
        self.seed = seed
        self.init = init
        self.init_scale = float(init_scale)
        self.batch = bool(batch)
        self.error_threshold = error_threshold
        self.weights = None
        self.bias = None
        self.name = "perceptron"

    @property
    def n_inputs(self) -> int:
        """The number of inputs, known once the model is fitted."""
        self._check_fitted()
        return int(self.weights.shape[0])

    def fit(self, X, y) -> PerceptronHistory:
        """Train on samples X (shape (n, k)) with labels y in {0, 1}; return the history.

        Args:
            X: the samples, shape (n, k), real-valued.
            y: the labels, shape (n,), each 0 or 1.

        Returns:
            A PerceptronHistory; ``.converged`` says whether the data were learnt.

        Example:
            >>> Perceptron().fit([[0, 0], [0, 1], [1, 0], [1, 1]], [0, 1, 1, 1]).epochs
            3
        """
        X, y = check_samples(X, y, "Perceptron.fit")
        if y.ndim != 1:
            raise ValueError(f"Perceptron.fit: expected y of shape (n_samples,); got {y.shape}")
        X = X.astype(xp.float64)
        y = y.astype(xp.int64)
        r = self.learning_rate
        w0, b0 = self._initial_weights(X.shape[1])
        # The weights are kept as w = w0 + r * S with S the running sum of (y - ŷ) x:
        # the same S always gives bit-for-bit the same w, so a repeated S is a true
        # cycle of the computed dynamics (accumulating w += r*d*x directly would let
        # rounding, e.g. of r = 0.1, hide a cycle).
        S = xp.zeros_like(w0)
        s_b = 0.0
        seen = {(S.tobytes(), s_b): 0}
        history = PerceptronHistory()
        for epoch in range(1, self.max_epochs + 1):
            if self.batch:
                wrong = y - self._step(X, w0 + r * S, b0 + r * s_b)
                S = S + wrong @ X
                s_b += float(wrong.sum())
                mistakes = int(xp.count_nonzero(wrong))
            else:
                wrong = xp.zeros_like(y)
                for j, (x_j, y_j) in enumerate(zip(X, y.tolist())):
                    delta = y_j - int(x_j @ (w0 + r * S) + (b0 + r * s_b) > 0)
                    if delta:
                        S = S + delta * x_j
                        s_b += delta
                        wrong[j] += delta
                mistakes = int(xp.abs(wrong).sum())
            self.weights, self.bias = w0 + r * S, b0 + r * s_b
            errors = int(xp.count_nonzero(self._step(X, self.weights, self.bias) != y))
            history.errors.append(errors)
            history.updates.append(mistakes)
            history.weights.append(self.weights.copy())
            history.biases.append(self.bias)
            history.sample_updates.append(wrong)
            if errors <= self.error_threshold:
                history.converged, history.stopped = True, "converged"
                break
            state = (S.tobytes(), s_b)
            if state in seen:
                history.stopped = "cycle"
                history.cycle = (seen[state], epoch - seen[state])
                break
            seen[state] = epoch
        else:
            history.stopped = "max_epochs"
        return history

    def predict(self, X):
        """Return step(w·x + b) for each row of X.

        Args:
            X: samples of shape (n, k), or one sample of shape (k,).

        Returns:
            An int array of zeros and ones of shape (n,), or an int for one sample.

        Example:
            >>> model = Perceptron()
            >>> _ = model.fit([[0.0], [2.0]], [0, 1])
            >>> model.predict([[3.0], [-1.0]]).tolist()
            [1, 0]
        """
        self._check_fitted()
        X = as_numeric(X, "Perceptron.predict", "X")
        single = X.ndim == 1
        X = X[None, :] if single else X
        if X.ndim != 2 or X.shape[1] != self.weights.shape[0]:
            raise ValueError(
                f"Perceptron.predict: expected X of shape (n, {self.weights.shape[0]}); "
                f"got shape {X.shape}"
            )
        out = self._step(X, self.weights, self.bias)
        return int(out[0]) if single else out

    __call__ = predict

    def to_tlu(self) -> TLU:
        """The fitted perceptron as a TLU: weights w and threshold T = -b.

        Returns:
            A real-input TLU computing the same function.

        Example:
            >>> model = Perceptron()
            >>> _ = model.fit([[0, 0], [0, 1], [1, 0], [1, 1]], [0, 1, 1, 1])
            >>> model.to_tlu()
            TLU(weights=[1, 1], threshold=0, name='perceptron')
        """
        self._check_fitted()
        return TLU(self.weights, -self.bias, name=self.name)

    @staticmethod
    def _step(X, w, b):
        return (X @ w + b > 0).astype(xp.int64)

    def _initial_weights(self, k: int):
        if self.init == "zeros":
            return xp.zeros(k, dtype=xp.float64), 0.0
        rng = xp.random.default_rng(self.seed)
        w = rng.uniform(-self.init_scale, self.init_scale, size=k)
        return w, float(rng.uniform(-self.init_scale, self.init_scale))

    def _check_fitted(self) -> None:
        if self.weights is None:
            raise ValueError("Perceptron: not fitted yet; call fit(X, y) first")
