r"""Learning-rate schedules: plain callables ``step -> learning rate``.

Pass one as ``learning_rate=`` to any optimizer; it is evaluated at the optimizer's step count
(0 for the first update), so a schedule decays per optimizer step, as in Keras. For a per-epoch
schedule use the :class:`~feedforward.callbacks.LearningRateScheduler` callback.
"""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np

from ._registry import Configurable, Registry
from .errors import FeedforwardError, check_number, describe


def _positive(value, name):
    return float(check_number(value, name, low=0, low_open=True))


MAX_STEPS = 2**63 - 1  # step counts beyond int64 cannot be compared with floats or stored


def _steps(value, name, low):
    """A step count: an integer from ``low`` to :data:`MAX_STEPS`."""
    return int(check_number(value, name, low=low, high=MAX_STEPS, integer=True))


def _power(rate, factor, exponent, name, step):
    """``rate * factor ** exponent``, refusing a result beyond the floats with an error that
    names ``name``: a factor above 1 raises the rate every period, without bound."""
    try:
        value = rate * factor ** exponent
    except OverflowError:  # a float power raises where a product gives inf
        value = math.inf
    if not math.isfinite(value):
        raise FeedforwardError(f"{name}: the learning rate overflows at step {step} ({rate:g} * "
                               f"{factor:g} ** {exponent:g}); choose a {name} of at most 1")
    return value


class Schedule(Configurable):
    """Base class. Subclasses set ``name`` and define ``__call__``."""

    name = "schedule"
    aliases: tuple[str, ...] = ()

    def __call__(self, step) -> float:
        r"""The learning rate :math:`\gamma_t` at step ``t``.

        Parameters
        ----------
        step : int
            The optimizer's step count :math:`t`, 0 for the first update.

        Returns
        -------
        float
            The learning rate.
        """
        raise NotImplementedError


class Constant(Schedule):
    r""":math:`\gamma_t = \gamma_0`.

    Parameters
    ----------
    learning_rate : float
        :math:`\gamma_0` (default 0.01); positive.
    """

    name = "constant"
    _config_keys = ("learning_rate",)

    def __init__(self, learning_rate=0.01):
        self.learning_rate = _positive(learning_rate, "learning_rate")

    def __call__(self, step):
        return self.learning_rate


class StepDecay(Schedule):
    r""":math:`\gamma_t = \gamma_0 \cdot \text{gamma}^{\lfloor t / \text{step\_size} \rfloor}`
    (torch's ``StepLR``).

    Parameters
    ----------
    initial_learning_rate : float
        :math:`\gamma_0`, the rate at step 0 (default 0.01); positive.
    step_size : int
        The steps between two decays (default 1000); at least 1.
    gamma : float
        The factor of each decay (default 0.1); positive.
    """

    name = "step_decay"
    aliases = ("step",)
    _config_keys = ("initial_learning_rate", "step_size", "gamma")

    def __init__(self, initial_learning_rate=0.01, step_size=1000, gamma=0.1):
        self.initial_learning_rate = _positive(initial_learning_rate, "initial_learning_rate")
        self.step_size = _steps(step_size, "step_size", 1)
        self.gamma = float(check_number(gamma, "gamma", low=0, low_open=True))

    def __call__(self, step):
        return _power(self.initial_learning_rate, self.gamma, step // self.step_size, "gamma",
                      step)


class ExponentialDecay(Schedule):
    r""":math:`\gamma_t = \gamma_0 \cdot r^{t / s}`, with :math:`\lfloor t / s \rfloor` when
    ``staircase``; :math:`r` = ``decay_rate``, :math:`s` = ``decay_steps``.
    ``decay_steps=1`` is torch's ``ExponentialLR(gamma=r)``.

    Parameters
    ----------
    initial_learning_rate : float
        :math:`\gamma_0`, the rate at step 0 (default 0.01); positive.
    decay_steps : int
        :math:`s` (default 1000); at least 1.
    decay_rate : float
        :math:`r`, the factor per ``decay_steps`` steps (default 0.96); positive.
    staircase : bool
        Decay in steps, every ``decay_steps`` steps, instead of continuously (default False).
    """

    name = "exponential_decay"
    aliases = ("exponential",)
    _config_keys = ("initial_learning_rate", "decay_steps", "decay_rate", "staircase")

    def __init__(self, initial_learning_rate=0.01, decay_steps=1000, decay_rate=0.96,
                 staircase=False):
        self.initial_learning_rate = _positive(initial_learning_rate, "initial_learning_rate")
        self.decay_steps = _steps(decay_steps, "decay_steps", 1)
        self.decay_rate = _positive(decay_rate, "decay_rate")
        self.staircase = bool(staircase)

    def _progress(self, step):
        p = step / self.decay_steps
        return math.floor(p) if self.staircase else p

    def __call__(self, step):
        return _power(self.initial_learning_rate, self.decay_rate, self._progress(step),
                      "decay_rate", step)


class InverseTimeDecay(ExponentialDecay):
    r""":math:`\gamma_t = \gamma_0 / (1 + r \, t / s)`, with :math:`\lfloor t / s \rfloor` when
    ``staircase`` (the classic :math:`1/t` annealing).

    Parameters
    ----------
    initial_learning_rate : float
        :math:`\gamma_0`, the rate at step 0 (default 0.01); positive.
    decay_steps : int
        :math:`s` (default 1000); at least 1.
    decay_rate : float
        :math:`r` (default 0.5); positive.
    staircase : bool
        Decay in steps, every ``decay_steps`` steps, instead of continuously (default False).
    """

    name = "inverse_time_decay"
    aliases = ("inverse_time",)

    def __init__(self, initial_learning_rate=0.01, decay_steps=1000, decay_rate=0.5,
                 staircase=False):
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase)

    def __call__(self, step):
        return self.initial_learning_rate / (1 + self.decay_rate * self._progress(step))


class CosineDecay(Schedule):
    r"""Cosine annealing to a floor, after an optional linear warm-up.

    With :math:`w` = ``warmup_steps`` and peak :math:`\hat\gamma` = ``warmup_target``
    (or :math:`\gamma_0` without warm-up):

    .. math::
        \gamma_t = \begin{cases}
          \gamma_0 + (\hat\gamma - \gamma_0) \, t / w & t < w \\
          \hat\gamma \left( \alpha + (1 - \alpha) \tfrac12
            \left(1 + \cos \pi \tfrac{\min(t - w, s)}{s}\right) \right) & t \ge w
        \end{cases}

    :math:`s` = ``decay_steps``, the floor is :math:`\alpha \hat\gamma` (``alpha``).
    Without warm-up this is torch's ``CosineAnnealingLR(T_max=s, eta_min=alpha * lr)`` for
    :math:`t \le s`. Loshchilov & Hutter (2017).

    Parameters
    ----------
    initial_learning_rate : float
        :math:`\gamma_0`, the rate at step 0 (default 0.01); at least 0.
    decay_steps : int
        :math:`s`, the steps of the decay after the warm-up (default 1000); at least 1.
    alpha : float
        :math:`\alpha`, the floor as a fraction of the peak, in [0, 1] (default 0).
    warmup_target : float, optional
        :math:`\hat\gamma`, the peak reached at the end of the warm-up; positive.
    warmup_steps : int
        :math:`w` (default 0, no warm-up).
    """

    name = "cosine_decay"
    aliases = ("cosine",)
    _config_keys = ("initial_learning_rate", "decay_steps", "alpha", "warmup_target",
                    "warmup_steps")

    def __init__(self, initial_learning_rate=0.01, decay_steps=1000, alpha=0.0,
                 warmup_target=None, warmup_steps=0):
        self.initial_learning_rate = float(check_number(initial_learning_rate,
                                                        "initial_learning_rate", low=0))
        self.decay_steps = _steps(decay_steps, "decay_steps", 1)
        self.alpha = float(check_number(alpha, "alpha", low=0, high=1))
        self.warmup_target = (None if warmup_target is None
                              else _positive(warmup_target, "warmup_target"))
        self.warmup_steps = _steps(warmup_steps, "warmup_steps", 0)

    def __call__(self, step):
        peak = self.initial_learning_rate if self.warmup_target is None else self.warmup_target
        if step < self.warmup_steps:
            return self.initial_learning_rate + (peak - self.initial_learning_rate) \
                * step / self.warmup_steps
        t = min(step - self.warmup_steps, self.decay_steps) / self.decay_steps
        return peak * (self.alpha + (1 - self.alpha) * 0.5 * (1 + math.cos(math.pi * t)))


class PiecewiseConstantDecay(Schedule):
    r""":math:`\gamma_t` = ``values[i]`` for ``boundaries[i-1] < t <= boundaries[i]``
    (``values[0]`` up to the first boundary, ``values[-1]`` after the last).

    Parameters
    ----------
    boundaries : sequence of int
        Increasing step counts (default ``(1000,)``).
    values : sequence of float
        The rates, one more than ``boundaries``; positive (default ``(0.01, 0.001)``).
    """

    name = "piecewise_constant_decay"
    aliases = ("piecewise_constant",)
    _config_keys = ("boundaries", "values")

    def __init__(self, boundaries=(1000,), values=(0.01, 0.001)):
        for name, seq in (("boundaries", boundaries), ("values", values)):
            if isinstance(seq, (str, bytes, dict)) or not hasattr(seq, "__iter__"):
                raise FeedforwardError(f"{name}: expected a sequence, got {describe(seq)}")
        self.boundaries = [int(check_number(b, "boundaries", integer=True)) for b in boundaries]
        self.values = [_positive(v, "values") for v in values]
        if len(self.values) != len(self.boundaries) + 1:
            raise FeedforwardError(f"values: expected {len(self.boundaries) + 1} values for "
                                   f"{len(self.boundaries)} boundaries, got {len(self.values)}")
        if any(b >= c for b, c in pairwise(self.boundaries)):
            raise FeedforwardError(f"boundaries: expected increasing steps, got {self.boundaries}")

    def __call__(self, step):
        return self.values[int(np.searchsorted(self.boundaries, step, side="left"))]


class LinearWarmup(Schedule):
    r"""Warm up linearly, then follow ``schedule`` (a schedule or a constant rate).

    .. math::
        \gamma_t = \begin{cases}
          \gamma^{\text{after}}_0 \left(f + (1 - f) \, t / w\right) & t < w \\
          \gamma^{\text{after}}_{t - w} & t \ge w \end{cases}

    :math:`f` = ``start_factor``, :math:`w` = ``warmup_steps``. With a constant rate this is
    torch's ``LinearLR(start_factor=f, total_iters=w)``. Goyal et al. (2017).

    Parameters
    ----------
    schedule : float, str, dict or Schedule
        :math:`\gamma^{\text{after}}`: a positive constant rate (default 0.01), or a schedule
        by name, config dict or instance.
    warmup_steps : int
        :math:`w` (default 100).
    start_factor : float
        :math:`f`, the fraction of the rate at step 0, in [0, 1] (default 0).
    """

    name = "linear_warmup"
    aliases = ("warmup",)

    def __init__(self, schedule=0.01, warmup_steps=100, start_factor=0.0):
        if isinstance(schedule, (int, float)) and not isinstance(schedule, bool):
            schedule = Constant(_positive(schedule, "schedule"))  # name the argument given
        self.schedule = get(schedule)
        if self.schedule is None:
            raise FeedforwardError("schedule: expected a positive rate or a schedule, got None")
        self.warmup_steps = _steps(warmup_steps, "warmup_steps", 0)
        self.start_factor = float(check_number(start_factor, "start_factor", low=0, high=1))

    def get_config(self):
        """The constructor arguments, with ``schedule`` serialized.

        Returns
        -------
        dict
            ``schedule`` (a config dict), ``warmup_steps`` and ``start_factor``.
        """
        return {"schedule": serialize(self.schedule), "warmup_steps": self.warmup_steps,
                "start_factor": self.start_factor}

    def __call__(self, step):
        if step < self.warmup_steps:
            f = self.start_factor + (1 - self.start_factor) * step / self.warmup_steps
            return self.schedule(0) * f
        return self.schedule(step - self.warmup_steps)


ALL = [Constant, StepDecay, ExponentialDecay, InverseTimeDecay, CosineDecay,
       PiecewiseConstantDecay, LinearWarmup]
registry = Registry("schedule", ALL, base=Schedule)
get, serialize, deserialize = registry.get, registry.serialize, registry.deserialize
