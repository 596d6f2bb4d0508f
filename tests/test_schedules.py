"""Property tests of the learning-rate schedules: for any parameters in the ranges users
can set, the rate is finite, never negative and never above the peak; warm-up rises
monotonically; restart periods in epochs use the real steps per epoch; a schedule that
starts mid-run (a level switch or resume under another level) is anchored at that step."""

from __future__ import annotations

import math

import numpy as np
import pytest

from myxtts.config.config import TrainingConfig
from myxtts.training.schedules import LRSchedule, schedule_from_config

hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies
given, settings = hypothesis.given, hypothesis.settings

KINDS = ("constant", "cosine", "exponential", "noam")
log_uniform = lambda lo, hi: st.floats(math.log10(lo), math.log10(hi)).map(lambda e: 10.0 ** e)


def assert_valid(lr: float, peak: float) -> None:
    assert isinstance(lr, float) and math.isfinite(lr), lr
    assert 0.0 <= lr <= peak, (lr, peak)


@settings(max_examples=3000, deadline=None)
@given(peak=log_uniform(1e-8, 1.0), floor_share=st.floats(0.0, 1.0),
       period=log_uniform(1.0, 1e7), t_mul=log_uniform(1e-3, 10.0), m_mul=st.floats(0.0, 1.0),
       warmup=st.integers(0, 10_000), total=st.integers(1, 10**9),
       step=st.one_of(st.integers(0, 10**9), st.integers(0, 10_000)))
def test_cosine_restarts_stay_finite_non_negative_and_below_peak(peak, floor_share, period,
                                                                 t_mul, m_mul, warmup, total,
                                                                 step):
    schedule = LRSchedule(peak, peak * floor_share, warmup, "cosine", True, total,
                          {"restart_period_steps": period, "t_mul": t_mul, "m_mul": m_mul})
    lr = schedule(step)
    assert_valid(lr, peak)
    if step >= warmup:
        assert lr >= peak * floor_share * (1 - 1e-9)      # never below the floor


@settings(max_examples=1500, deadline=None)
@given(kind=st.sampled_from(KINDS), restarts=st.booleans(), peak=log_uniform(1e-8, 1.0),
       floor_share=st.floats(0.0, 1.0), warmup=st.integers(0, 10**6),
       total=st.integers(1, 10**9), decay_steps=log_uniform(1.0, 1e7),
       decay_rate=st.floats(1e-3, 1.0), step=st.integers(0, 10**9),
       start=st.integers(0, 10**8))
def test_every_scheduler_stays_finite_non_negative_and_below_peak(kind, restarts, peak,
                                                                  floor_share, warmup, total,
                                                                  decay_steps, decay_rate,
                                                                  step, start):
    schedule = LRSchedule(peak, peak * floor_share, warmup, kind, restarts, total,
                          {"decay_steps": decay_steps, "decay_rate": decay_rate},
                          start_step=start)
    assert_valid(schedule(step), peak)


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(KINDS), restarts=st.booleans(), peak=log_uniform(1e-6, 1.0),
       warmup=st.integers(1, 2000), start=st.integers(0, 10**6))
def test_warmup_rises_monotonically_to_the_peak(kind, restarts, peak, warmup, start):
    schedule = LRSchedule(peak, 0.0, warmup, kind, restarts, 10**6, start_step=start)
    values = np.array([schedule(start + s) for s in range(warmup)])
    assert values[0] > 0
    assert np.all(np.diff(values) > 0)
    assert values[-1] == pytest.approx(peak)
    assert schedule(start + warmup) == pytest.approx(peak)


@settings(max_examples=300, deadline=None)
@given(period=st.integers(1, 10**5), m_mul=st.floats(0.0, 1.0), cycle=st.integers(0, 999),
       offset=st.floats(0.0, 1.0))
def test_first_cycle_decays_and_cycles_repeat_with_t_mul_1(period, m_mul, cycle, offset):
    step = cycle * period + int(offset * (period - 1))
    schedule = LRSchedule(1e-3, 1e-6, 0, "cosine", True, 10**7,
                          {"restart_period_steps": period, "t_mul": 1.0, "m_mul": 1.0})
    assert schedule(0) == pytest.approx(1e-3)
    assert schedule(step) == pytest.approx(schedule(step % period), rel=1e-9)
    decaying = LRSchedule(1e-3, 1e-6, 0, "cosine", True, 10**7,
                          {"restart_period_steps": period, "t_mul": 2.0, "m_mul": m_mul})
    first = [decaying(s) for s in range(0, period, max(period // 50, 1))]
    assert all(a >= b for a, b in zip(first, first[1:]))


def test_cycles_repeat_after_many_restarts():
    schedule = LRSchedule(1e-3, 1e-6, 0, "cosine", True, 10**9,
                          {"restart_period_steps": 100, "t_mul": 1.0, "m_mul": 1.0})
    assert schedule(100 * 20_000 + 50) == pytest.approx(schedule(50))


@pytest.mark.parametrize("steps_per_epoch", [1, 7, 24, 1000])
def test_restart_period_epochs_uses_the_real_steps_per_epoch(steps_per_epoch):
    cfg = TrainingConfig(learning_rate=1e-3, min_learning_rate=1e-7, warmup_steps=0,
                         scheduler="cosine", cosine_restarts=True,
                         scheduler_params={"restart_period_epochs": 3, "t_mul": 1.0})
    schedule = schedule_from_config(cfg, total_steps=10**6, steps_per_epoch=steps_per_epoch)
    period = 3 * steps_per_epoch
    assert schedule(0) == pytest.approx(1e-3)
    assert schedule(period) == pytest.approx(1e-3)                  # restart after 3 epochs
    if period > 1:
        assert schedule(period - 1) < schedule(period)
        assert schedule(period // 2) < 1e-3


def test_restart_period_steps_wins_over_epochs():
    cfg = TrainingConfig(warmup_steps=0, cosine_restarts=True,
                         scheduler_params={"restart_period_epochs": 3, "restart_period_steps": 10})
    schedule = schedule_from_config(cfg, total_steps=10**6, steps_per_epoch=100)
    assert schedule(10) == pytest.approx(cfg.learning_rate)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("restarts", [False, True])
def test_schedule_started_mid_run_is_anchored_at_its_start_step(kind, restarts):
    cfg = TrainingConfig(learning_rate=2e-4, min_learning_rate=1e-6, warmup_steps=50,
                         scheduler=kind, cosine_restarts=restarts,
                         scheduler_params={"restart_period_epochs": 2})
    fresh = schedule_from_config(cfg, total_steps=5000, steps_per_epoch=10)
    anchored = schedule_from_config(cfg, total_steps=5000, steps_per_epoch=10, start_step=1200)
    # Starts at its peak (no second warm-up), and is constant before its start.
    assert anchored(1200) == pytest.approx(2e-4)
    assert anchored(0) == anchored(1199) == anchored(1200)
    # Same shape as a schedule without warm-up that starts at step 0.
    no_warmup = LRSchedule(2e-4, 1e-6, 0, kind, restarts, 5000 - 1200,
                           {"restart_period_steps": 20.0})
    for offset in (1, 7, 19, 20, 333, 3799, 10_000):
        assert anchored(1200 + offset) == pytest.approx(no_warmup(offset)), offset
    assert fresh(0) < fresh(49)                                       # the fresh one warms up
