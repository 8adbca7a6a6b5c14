"""Learning-rate schedules: the learning rate as a function of the optimizer step.

An optimizer given a schedule as its ``learning_rate`` calls it with its
``iterations`` (0 for the first update) and uses the float it returns, as Keras
does.  The same numbers come out of a ``torch.optim.lr_scheduler`` that is
stepped once after each ``optimizer.step()``: ``StepDecay`` is torch's
``StepLR``, ``ExponentialDecay(decay_steps=1)`` its ``ExponentialLR``,
``CosineDecay`` its ``CosineAnnealingLR`` (with ``eta_min = alpha * lr``),
``PolynomialDecay(end_learning_rate=0)`` its ``PolynomialLR`` and ``LinearWarmup``
its ``LinearLR`` followed by another schedule.

Schedules compute in Python floats (float64), so they add no array work to a step.
"""

from __future__ import annotations

import bisect
import math

__all__ = [
    "LearningRateSchedule",
    "ExponentialDecay",
    "PiecewiseConstantDecay",
    "StepDecay",
    "CosineDecay",
    "PolynomialDecay",
    "InverseTimeDecay",
    "LinearWarmup",
    "serialize",
    "deserialize",
]

# Every subclass, by class name, so that ``deserialize`` finds user schedules too.
_REGISTRY: dict[str, type] = {}


def _step(step) -> float:
    """The step as a float; a Tensor or 0-d array works too."""
    s = float(step)
    if s < 0:
        raise ValueError(f"learning-rate schedule: step must be >= 0, got {s}")
    return s


def _number(value):
    """An int stays an int (so configs read as written); anything else becomes a float."""
    return value if isinstance(value, int) and not isinstance(value, bool) else float(value)


def _positive(owner: str, what: str, value) -> float:
    value = _number(value)
    if not value > 0:
        raise ValueError(f"{owner}: {what} must be > 0, got {value}")
    return value


def _non_negative(owner: str, what: str, value) -> float:
    value = _number(value)
    if not value >= 0:
        raise ValueError(f"{owner}: {what} must be >= 0, got {value}")
    return value


class LearningRateSchedule:
    """Base class of learning-rate schedules: ``schedule(step)`` returns a float.

    Subclasses implement ``__call__`` and ``get_config`` (the constructor's
    arguments); ``from_config`` rebuilds one from its config.

    Example:
        >>> import wengert as wg
        >>> class Halving(wg.optimizers.schedules.LearningRateSchedule):
        ...     def __init__(self, initial_learning_rate):
        ...         self.initial_learning_rate = initial_learning_rate
        ...     def __call__(self, step):
        ...         return self.initial_learning_rate * 0.5 ** float(step)
        ...     def get_config(self):
        ...         return {"initial_learning_rate": self.initial_learning_rate}
        >>> Halving(1.0)(3)
        0.125
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if not cls.__name__.startswith("_"):  # a private base is no schedule of its own
            _REGISTRY[cls.__name__] = cls

    def __call__(self, step) -> float:
        """The learning rate at ``step`` (0 for the first update).

        Args:
            step: the optimizer step, an int (or a 0-d Tensor/array).

        Returns:
            The learning rate, a Python float.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement __call__(step)")

    def get_config(self) -> dict:
        """The constructor's arguments, as a dict that ``from_config`` accepts.

        Returns:
            A dict of plain Python values.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement get_config()")

    @classmethod
    def from_config(cls, config: dict) -> LearningRateSchedule:
        """Rebuild a schedule from ``get_config()``'s dict.

        Args:
            config: the dict ``get_config`` returned.

        Returns:
            A new schedule.
        """
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class _RatioDecay(LearningRateSchedule):
    """A rate that is a function of ``step / decay_steps`` (floored with ``staircase``):
    the arguments, checks and config that ExponentialDecay and InverseTimeDecay share."""

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        decay_rate: float,
        staircase: bool = False,
        name: str | None = None,
    ):
        owner = type(self).__name__
        self.name = owner if name is None else name
        self.initial_learning_rate = _non_negative(
            owner, "initial_learning_rate", initial_learning_rate
        )
        self.decay_steps = _positive(owner, "decay_steps", decay_steps)
        self.decay_rate = _non_negative(owner, "decay_rate", decay_rate)
        self.staircase = bool(staircase)

    def _ratio(self, step) -> float:
        p = _step(step) / self.decay_steps
        return math.floor(p) if self.staircase else p

    def get_config(self) -> dict:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
            "name": self.name,
        }


class ExponentialDecay(_RatioDecay):
    """Exponential decay: ``lr = initial_learning_rate * decay_rate ** (step / decay_steps)``.

    With ``staircase=True`` the exponent is ``floor(step / decay_steps)``, so the
    rate drops every ``decay_steps`` steps; with ``decay_steps=1`` this is torch's
    ``ExponentialLR(gamma=decay_rate)``.

    Args:
        initial_learning_rate: the rate at step 0.
        decay_steps: steps over which the rate is multiplied by ``decay_rate`` (> 0).
        decay_rate: the factor per ``decay_steps`` steps.
        staircase: decay in whole steps of ``decay_steps``.
        name: the schedule's name (kept in its config, as Keras does).

    Example:
        >>> import wengert as wg
        >>> s = wg.optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
        >>> round(s(0), 6), round(s(5), 6), round(s(20), 6)
        (0.1, 0.070711, 0.025)
    """

    def __call__(self, step) -> float:
        return self.initial_learning_rate * self.decay_rate ** self._ratio(step)


class PiecewiseConstantDecay(LearningRateSchedule):
    """Constant rates between step boundaries (Keras's rule: ``values[i]`` while ``step <= b[i]``).

    ``values[0]`` holds for ``step <= boundaries[0]``, ``values[i]`` for
    ``boundaries[i-1] < step <= boundaries[i]`` and ``values[-1]`` after the last
    boundary.  (torch's ``MultiStepLR(milestones=m)`` switches at ``step >= m``,
    so its milestones are these boundaries plus one.)

    Args:
        boundaries: increasing steps, one fewer than ``values``.
        values: the learning rates.
        name: the schedule's name (kept in its config, as Keras does).

    Example:
        >>> import wengert as wg
        >>> s = wg.optimizers.schedules.PiecewiseConstantDecay([2, 4], [1.0, 0.5, 0.1])
        >>> [s(t) for t in range(6)]
        [1.0, 1.0, 1.0, 0.5, 0.5, 0.1]
    """

    def __init__(self, boundaries, values, name: str = "PiecewiseConstant"):
        self.name = name
        name = type(self).__name__
        boundaries = [float(b) for b in boundaries]
        values = [float(v) for v in values]
        if len(values) != len(boundaries) + 1:
            raise ValueError(
                f"{name}: values must have one more entry than boundaries, got "
                f"{len(boundaries)} boundaries and {len(values)} values"
            )
        if any(b1 <= b0 for b0, b1 in zip(boundaries, boundaries[1:])):
            raise ValueError(f"{name}: boundaries must increase strictly, got {boundaries}")
        if any(v < 0 for v in values):
            raise ValueError(f"{name}: values must be >= 0, got {values}")
        self.boundaries = boundaries
        self.values = values

    def __call__(self, step) -> float:
        return self.values[bisect.bisect_left(self.boundaries, _step(step))]

    def get_config(self) -> dict:
        return {"boundaries": list(self.boundaries), "values": list(self.values), "name": self.name}


class StepDecay(LearningRateSchedule):
    """Multiply the rate by ``gamma`` every ``step_size`` steps (torch's ``StepLR``).

    ``lr = initial_learning_rate * gamma ** floor(step / step_size)``.

    Args:
        initial_learning_rate: the rate at step 0.
        step_size: steps between decays (> 0).
        gamma: the factor applied at each decay.
        name: the schedule's name (kept in its config, as Keras does).

    Example:
        >>> import wengert as wg
        >>> s = wg.optimizers.schedules.StepDecay(1.0, step_size=2, gamma=0.5)
        >>> [s(t) for t in range(5)]
        [1.0, 1.0, 0.5, 0.5, 0.25]
    """

    def __init__(
        self,
        initial_learning_rate: float,
        step_size: int,
        gamma: float = 0.1,
        name: str = "StepDecay",
    ):
        self.name = name
        name = type(self).__name__
        self.initial_learning_rate = _non_negative(
            name, "initial_learning_rate", initial_learning_rate
        )
        if int(step_size) != step_size or step_size < 1:
            raise ValueError(f"{name}: step_size must be a positive integer, got {step_size}")
        self.step_size = int(step_size)
        self.gamma = _non_negative(name, "gamma", gamma)

    def __call__(self, step) -> float:
        return self.initial_learning_rate * self.gamma ** (_step(step) // self.step_size)

    def get_config(self) -> dict:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "step_size": self.step_size,
            "gamma": self.gamma,
            "name": self.name,
        }


class CosineDecay(LearningRateSchedule):
    """Cosine decay with an optional linear warm-up (Keras 3's ``CosineDecay``).

    Without warm-up (``warmup_target=None``), for ``t = min(step, decay_steps)``::

        lr = initial_learning_rate * ((1 - alpha) * 0.5 * (1 + cos(pi * t / decay_steps)) + alpha)

    which is torch's ``CosineAnnealingLR(T_max=decay_steps, eta_min=alpha * lr0)``
    up to ``decay_steps`` (after it Keras holds the final rate; torch rises again).
    With ``warmup_target`` the rate first rises linearly from
    ``initial_learning_rate`` to ``warmup_target`` over ``warmup_steps`` steps,
    then decays from ``warmup_target`` as above over the next ``decay_steps``.

    Args:
        initial_learning_rate: the rate at step 0.
        decay_steps: steps of the cosine part (> 0).
        alpha: the final rate as a fraction of the rate the decay starts from.
        name: the schedule's name (kept in its config, as Keras does).
        warmup_target: the rate at the end of the warm-up, or None for none.
        warmup_steps: the number of warm-up steps.

    Example:
        >>> import wengert as wg
        >>> s = wg.optimizers.schedules.CosineDecay(1.0, decay_steps=4)
        >>> [round(s(t), 4) for t in range(6)]
        [1.0, 0.8536, 0.5, 0.1464, 0.0, 0.0]
        >>> w = wg.optimizers.schedules.CosineDecay(0.0, 2, warmup_target=1.0, warmup_steps=2)
        >>> [round(w(t), 4) for t in range(5)]
        [0.0, 0.5, 1.0, 0.5, 0.0]
    """

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        alpha: float = 0.0,
        name: str = "CosineDecay",
        warmup_target: float | None = None,
        warmup_steps: int = 0,
    ):
        self.name = name
        name = type(self).__name__
        self.initial_learning_rate = _non_negative(
            name, "initial_learning_rate", initial_learning_rate
        )
        self.decay_steps = _positive(name, "decay_steps", decay_steps)
        self.alpha = _non_negative(name, "alpha", alpha)
        self.warmup_target = (
            None if warmup_target is None else _non_negative(name, "warmup_target", warmup_target)
        )
        self.warmup_steps = _non_negative(name, "warmup_steps", warmup_steps)

    def _decay(self, t: float, decay_from: float) -> float:
        cosine = 0.5 * (1.0 + math.cos(math.pi * t / self.decay_steps))
        return decay_from * ((1.0 - self.alpha) * cosine + self.alpha)

    def __call__(self, step) -> float:
        t = _step(step)
        if self.warmup_target is None:
            return self._decay(min(t, self.decay_steps), self.initial_learning_rate)
        t = min(t, self.decay_steps + self.warmup_steps)
        if t < self.warmup_steps:
            lr0 = self.initial_learning_rate
            return lr0 + (self.warmup_target - lr0) * (t / self.warmup_steps)
        return self._decay(t - self.warmup_steps, self.warmup_target)

    def get_config(self) -> dict:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "alpha": self.alpha,
            "name": self.name,
            "warmup_target": self.warmup_target,
            "warmup_steps": self.warmup_steps,
        }


class PolynomialDecay(LearningRateSchedule):
    """From ``initial_learning_rate`` to ``end_learning_rate`` along a power of the step.

    ``lr = (initial - end) * (1 - t / decay_steps) ** power + end`` with
    ``t = min(step, decay_steps)``; with ``cycle`` the decay restarts from the next
    multiple of ``decay_steps`` instead of staying at ``end_learning_rate``, as in
    Keras.  ``end_learning_rate=0`` is torch's ``PolynomialLR(total_iters=decay_steps,
    power=power)``.

    Args:
        initial_learning_rate: the rate at step 0.
        decay_steps: steps over which the rate falls (> 0).
        end_learning_rate: the rate at ``decay_steps`` and after.
        power: the power of the polynomial (1: linear).
        cycle: restart the decay every ``decay_steps`` steps.
        name: the schedule's name (kept in its config, as Keras does).

    Example:
        >>> import wengert as wg
        >>> s = wg.optimizers.schedules.PolynomialDecay(1.0, 4, end_learning_rate=0.0, power=2)
        >>> [s(t) for t in range(6)]
        [1.0, 0.5625, 0.25, 0.0625, 0.0, 0.0]
    """

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        end_learning_rate: float = 0.0001,
        power: float = 1.0,
        cycle: bool = False,
        name: str = "PolynomialDecay",
    ):
        self.name = name
        name = type(self).__name__
        self.initial_learning_rate = _non_negative(
            name, "initial_learning_rate", initial_learning_rate
        )
        self.decay_steps = _positive(name, "decay_steps", decay_steps)
        self.end_learning_rate = _non_negative(name, "end_learning_rate", end_learning_rate)
        self.power = _non_negative(name, "power", power)
        self.cycle = bool(cycle)

    def __call__(self, step) -> float:
        t = _step(step)
        steps = self.decay_steps
        if self.cycle:  # the first multiple of decay_steps not below the step (1 at step 0)
            steps = steps * max(math.ceil(t / steps), 1)
        else:
            t = min(t, steps)
        rest = (1.0 - t / steps) ** self.power
        return (self.initial_learning_rate - self.end_learning_rate) * rest + self.end_learning_rate

    def get_config(self) -> dict:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "end_learning_rate": self.end_learning_rate,
            "power": self.power,
            "cycle": self.cycle,
            "name": self.name,
        }


class InverseTimeDecay(_RatioDecay):
    """``lr = initial_learning_rate / (1 + decay_rate * step / decay_steps)``, as in Keras.

    With ``staircase=True`` the ratio ``step / decay_steps`` is floored.

    Args:
        initial_learning_rate: the rate at step 0.
        decay_steps: the step scale (> 0).
        decay_rate: how fast the rate falls.
        staircase: decay in whole steps of ``decay_steps``.
        name: the schedule's name (kept in its config, as Keras does).

    Example:
        >>> import wengert as wg
        >>> s = wg.optimizers.schedules.InverseTimeDecay(1.0, decay_steps=2, decay_rate=1.0)
        >>> [s(t) for t in range(5)]
        [1.0, 0.6666666666666666, 0.5, 0.4, 0.3333333333333333]
    """

    def __call__(self, step) -> float:
        return self.initial_learning_rate / (1.0 + self.decay_rate * self._ratio(step))


class LinearWarmup(LearningRateSchedule):
    """A linear warm-up in front of any learning rate or schedule.

    For ``step < warmup_steps`` the rate rises linearly from
    ``initial_learning_rate`` to ``after``'s rate at its step 0; from then on it is
    ``after(step - warmup_steps)``, so the wrapped schedule starts where the
    warm-up ends.  In torch this is ``SequentialLR([LinearLR(start_factor=
    initial_learning_rate / target, total_iters=warmup_steps), after],
    milestones=[warmup_steps])``.

    Args:
        after: a float or a ``LearningRateSchedule`` to follow the warm-up.
        warmup_steps: the number of warm-up steps (>= 0).
        initial_learning_rate: the rate at step 0.
        name: the schedule's name (kept in its config, as Keras does).

    Example:
        >>> import wengert as wg
        >>> sched = wg.optimizers.schedules
        >>> s = sched.LinearWarmup(sched.StepDecay(1.0, step_size=2), warmup_steps=4)
        >>> [round(s(t), 4) for t in range(8)]
        [0.0, 0.25, 0.5, 0.75, 1.0, 1.0, 0.1, 0.1]
    """

    def __init__(
        self,
        after,
        warmup_steps: int,
        initial_learning_rate: float = 0.0,
        name: str = "LinearWarmup",
    ):
        self.name = name
        name = type(self).__name__
        if isinstance(after, dict):
            after = deserialize(after)
        if not isinstance(after, LearningRateSchedule):
            after = _non_negative(name, "after", after)
        self.after = after
        self.warmup_steps = _non_negative(name, "warmup_steps", warmup_steps)
        self.initial_learning_rate = _non_negative(
            name, "initial_learning_rate", initial_learning_rate
        )

    def _after(self, t: float) -> float:
        return float(self.after(t)) if callable(self.after) else float(self.after)

    def __call__(self, step) -> float:
        t = _step(step)
        if t < self.warmup_steps:
            lr0 = self.initial_learning_rate
            return lr0 + (self._after(0) - lr0) * (t / self.warmup_steps)
        return self._after(t - self.warmup_steps)

    def get_config(self) -> dict:
        after = self.after
        return {
            "after": serialize(after) if isinstance(after, LearningRateSchedule) else after,
            "warmup_steps": self.warmup_steps,
            "initial_learning_rate": self.initial_learning_rate,
            "name": self.name,
        }


def serialize(schedule: LearningRateSchedule) -> dict:
    """A schedule as ``{"class_name": ..., "config": ...}`` (Keras's layout).

    Args:
        schedule: a ``LearningRateSchedule``.

    Returns:
        A dict of plain Python values that ``deserialize`` turns back into a schedule.

    Example:
        >>> import wengert as wg
        >>> d = wg.optimizers.schedules.serialize(wg.optimizers.schedules.StepDecay(0.1, 5))
        >>> d["class_name"], d["config"]["step_size"], d["config"]["name"]
        ('StepDecay', 5, 'StepDecay')
    """
    if not isinstance(schedule, LearningRateSchedule):
        raise TypeError(
            f"schedules.serialize: expected a LearningRateSchedule, got {type(schedule).__name__}"
        )
    return {"class_name": type(schedule).__name__, "config": schedule.get_config()}


def deserialize(config: dict) -> LearningRateSchedule:
    """Rebuild a schedule from ``serialize``'s dict.

    Args:
        config: ``{"class_name": name, "config": kwargs}``; ``name`` is any
            ``LearningRateSchedule`` subclass, including user-defined ones.

    Returns:
        A new schedule.

    Example:
        >>> import wengert as wg
        >>> s = wg.optimizers.schedules.deserialize(
        ...     {"class_name": "StepDecay", "config": {"initial_learning_rate": 1.0, "step_size": 1,
        ...                                            "gamma": 0.5}})
        >>> s(2)
        0.25
    """
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            f"schedules.deserialize: expected {{'class_name': ..., 'config': ...}}, got {config!r}"
        )
    cls = _REGISTRY.get(config["class_name"])
    if cls is None:
        raise ValueError(
            f"schedules.deserialize: unknown schedule {config['class_name']!r}; known: "
            f"{', '.join(sorted(_REGISTRY))}"
        )
    return cls.from_config(dict(config.get("config", {})))
