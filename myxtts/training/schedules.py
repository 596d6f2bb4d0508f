"""Learning-rate schedules: linear warm-up followed by a decay, as a pure function of the step.

The trainer writes ``schedule(step)`` into the optimizer's learning-rate variable before
every step, so a schedule can be replaced mid-run (a level switch, a resume under another
level) without retracing the train step. Every schedule returns a finite value in
``[0, learning_rate]`` (never NaN, never negative) for any step and any parameters that
pass config validation; guards below make even unvalidated values safe.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


def _finite(value: float, default: float) -> float:
    return value if isinstance(value, (int, float)) and math.isfinite(value) else default


def locate_cycle(step: float, period: float, t_mul: float) -> tuple[float, float, int]:
    """(position in cycle, cycle length, cycle index) of `step` for cosine restarts whose
    first cycle is `period` steps and each next one t_mul times longer (floored at 1 step).
    Closed form, O(1) for any step."""
    period = max(period, 1.0)
    if abs(t_mul - 1.0) < 1e-9:
        n = math.floor(step / period)
        return step - n * period, period, n
    # cycles before lengths hit the 1-step floor (t_mul < 1 only)
    if t_mul < 1.0:
        n_floor = max(math.ceil(math.log(1.0 / period) / math.log(t_mul)), 0) if period > 1 else 0
        # length of cycle k (k < n_floor) = period * t_mul**k ; total before the floor:
        span = period * (1.0 - t_mul ** n_floor) / (1.0 - t_mul)
        if step >= span:
            extra = math.floor(step - span)
            return step - span - extra, 1.0, n_floor + extra
    # geometric: start of cycle n = period * (t_mul**n - 1) / (t_mul - 1)
    n = math.floor(math.log1p(step * (t_mul - 1.0) / period) / math.log(t_mul))
    n = max(n, 0)
    for _ in range(3):   # correct float rounding by at most a cycle either way
        start = period * (t_mul ** n - 1.0) / (t_mul - 1.0)
        if step < start and n > 0:
            n -= 1
            continue
        length = max(period * t_mul ** n, 1.0)
        if step >= start + length:
            n += 1
            continue
        break
    start = period * (t_mul ** n - 1.0) / (t_mul - 1.0)
    length = max(period * t_mul ** n, 1.0)
    return min(max(step - start, 0.0), length), length, n


@dataclass
class LRSchedule:
    """Warm-up + decay. ``kind`` is constant, cosine, exponential or noam."""

    learning_rate: float
    min_learning_rate: float = 0.0
    warmup_steps: int = 0
    kind: str = "cosine"
    restarts: bool = False
    total_steps: int = 100_000
    params: dict = field(default_factory=dict)
    start_step: int = 0  # global step at which this schedule begins (a level switch)

    def __post_init__(self) -> None:
        self.learning_rate = max(_finite(float(self.learning_rate), 0.0), 0.0)
        self.min_learning_rate = min(max(_finite(float(self.min_learning_rate), 0.0), 0.0),
                                     self.learning_rate)
        self.warmup_steps = max(int(self.warmup_steps), 0)
        self.total_steps = max(int(self.total_steps), 1)

    def __call__(self, step: int) -> float:
        step = max(int(step) - self.start_step, 0)
        if self.warmup_steps and step < self.warmup_steps:
            lr = self.learning_rate * (step + 1) / self.warmup_steps
        else:
            lr = self._decayed(step - self.warmup_steps)
        lr = _finite(lr, self.min_learning_rate)
        return float(min(max(lr, 0.0), self.learning_rate))

    def _decayed(self, step: int) -> float:
        base, floor, p = self.learning_rate, self.min_learning_rate, self.params
        if self.kind == "constant":
            return base
        if self.kind == "exponential":
            rate = min(max(_finite(p.get("decay_rate", 0.5), 0.5), 1e-6), 1.0)
            period = max(_finite(p.get("decay_steps", self.total_steps), self.total_steps), 1.0)
            return max(base * rate ** (step / period), floor)
        if self.kind == "noam":
            warm = max(self.warmup_steps, 1)
            return max(base * math.sqrt(warm) / math.sqrt(step + warm), floor)
        # cosine (optionally with warm restarts)
        if not self.restarts:
            period = max(_finite(p.get("decay_steps", self.total_steps), self.total_steps), 1.0)
            progress = min(step / period, 1.0)
            return floor + (base - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))
        return self._cosine_restarts(step)

    def _cosine_restarts(self, step: int) -> float:
        p = self.params
        period = _finite(p.get("restart_period_steps", p.get("first_decay_steps", 0)), 0.0)
        if period <= 0:
            period = max(self.total_steps // 4, 1)
        t_mul = min(max(_finite(p.get("t_mul", 1.0), 1.0), 1e-3), 100.0)  # beyond: overflow
        m_mul = min(max(_finite(p.get("m_mul", 1.0), 1.0), 0.0), 1.0)
        position, cycle_len, cycle = locate_cycle(float(step), float(max(period, 1.0)), t_mul)
        peak = m_mul ** cycle
        progress = min(position / cycle_len, 1.0)
        top = self.min_learning_rate + (self.learning_rate - self.min_learning_rate) * peak
        return self.min_learning_rate + (top - self.min_learning_rate) * 0.5 * (
            1.0 + math.cos(math.pi * progress))


def schedule_from_config(training, total_steps: int, steps_per_epoch: int,
                         start_step: int = 0) -> LRSchedule:
    """Build the schedule a :class:`TrainingConfig` describes.

    ``scheduler_params.restart_period_epochs`` is converted to steps with the real
    ``steps_per_epoch``. With ``start_step`` > 0 (a level applied to a trained model)
    the schedule begins there, at its peak learning rate, without a second warm-up.
    """
    params = dict(training.scheduler_params or {})
    if "restart_period_epochs" in params and "restart_period_steps" not in params:
        params["restart_period_steps"] = float(params["restart_period_epochs"]) * max(steps_per_epoch, 1)
    warmup = training.warmup_steps if start_step == 0 else 0
    return LRSchedule(
        learning_rate=training.learning_rate,
        min_learning_rate=training.min_learning_rate,
        warmup_steps=warmup,
        kind=training.scheduler,
        restarts=training.cosine_restarts,
        total_steps=max(total_steps - warmup - start_step, 1),
        params=params,
        start_step=start_step,
    )
