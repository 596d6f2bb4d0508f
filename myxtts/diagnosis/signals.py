"""Secondary signals of a run: LR history, gradient norms, train/val gap, alignment, non-finite steps."""

from __future__ import annotations

import numpy as np

from myxtts.diagnosis.logdata import LogData, is_loss_key
from myxtts.diagnosis.results import (
    AlignmentStatus,
    GapStats,
    GradStats,
    LRHistory,
    NonfiniteStats,
    Thresholds,
)
from myxtts.diagnosis.stats import rolling_median, theil_sen

RESTART_JUMP = 1.5  # an LR jump by this factor after a decay counts as a (warm) restart
MAX_SMOOTH_WIDTH = 51  # train records in the running median compared with each val point
NONFINITE_EVENTS = ("nonfinite_loss", "nan_loss", "nonfinite", "overflow")
RESUME_JUMP = 3.0  # loss this many times higher right after a resume than right before = unstable
RECOVERED = 1.5  # ... unless the resume is before the window and the loss is back below this factor


def analyse_lr(x: np.ndarray, lr: np.ndarray, start: float) -> LRHistory | None:
    """Classify the LR schedule: constant, warmup, decaying, warmup_then_decay, restarts, varying."""
    if lr.size == 0:
        return None
    finite = np.isfinite(lr)
    hist = LRHistory(kind="unknown", current=None, peak=None, minimum=None,
                     zero_count=int(np.count_nonzero(lr == 0)), nonfinite_count=int(np.count_nonzero(~finite)))
    xs, r = x[finite], lr[finite]
    if r.size == 0:
        hist.kind = "nonfinite"
        return hist
    hist.current, hist.peak, hist.minimum = float(r[-1]), float(r.max()), float(r.min())
    running_max = np.maximum.accumulate(r)
    jumps = [i + 1 for i in range(r.size - 1)
             if r[i + 1] >= RESTART_JUMP * r[i] and running_max[i] >= RESTART_JUMP * r[i] and r[i] > 0]
    hist.restarts, hist.restart_xs = len(jumps), [float(xs[i]) for i in jumps[:10]]
    in_win = r[xs >= start]
    if in_win.size >= 2 and in_win[0] > 0:
        hist.window_ratio = float(in_win[-1] / in_win[0])
    peak_i = int(np.argmax(r))
    warmup = peak_i > 0 and r[0] < 0.5 * r[peak_i]
    if r.max() - r.min() <= 0.01 * abs(r.max()):
        hist.kind = "constant"
    elif hist.restarts:
        hist.kind = "restarts"
    elif r[-1] < 0.9 * r[peak_i]:
        hist.kind = "warmup_then_decay" if warmup else "decaying"
    elif warmup:
        hist.kind = "warmup"
    else:
        hist.kind = "varying"
    return hist


def analyse_grad(x: np.ndarray, g: np.ndarray, start: float, clip: float | None) -> GradStats | None:
    """Percentiles of the logged gradient norm in the window and how often it exceeds the clip."""
    sel = np.isfinite(g) & (x >= start)
    vals = g[sel]
    if vals.size == 0:
        return None
    stats = GradStats(n=int(vals.size), p50=float(np.median(vals)), p95=float(np.percentile(vals, 95)),
                      max=float(vals.max()))
    if clip is not None and clip > 0:
        stats.clip = float(clip)
        stats.frac_over_clip = float(np.mean(vals > clip))
    return stats


def analyse_gap(data: LogData, start: float, th: Thresholds) -> GapStats | None:
    """val_loss minus (smoothed) train loss at validation steps, and whether the gap widens."""
    tx, ty = data.series("loss")
    vx, vy = data.series("val_loss", "val")
    keep_t, keep_v = np.isfinite(ty), np.isfinite(vy)
    tx, ty, vx, vy = tx[keep_t], ty[keep_t], vx[keep_v], vy[keep_v]
    if tx.size < 3 or vx.size == 0:
        return None
    width = int(np.clip(tx.size / vx.size, 5, MAX_SMOOTH_WIDTH))  # ~ train records per evaluation
    sel = (vx >= start) & (vx >= tx[0])
    vx, vy = vx[sel], vy[sel]
    if vx.size == 0:
        return None
    train_at_val = np.interp(vx, tx, rolling_median(ty, width))
    gap = vy - train_at_val
    rel = gap / np.where(np.abs(train_at_val) > 0, np.abs(train_at_val), 1.0)
    change = None
    direction = "unknown"
    if vx.size >= 4 and np.unique(vx).size >= 3:
        fit = theil_sen(vx, rel)
        span = float(vx[-1] - vx[0])
        change = fit.slope * span
        if change > th.min_improvement and fit.ci_low > 0:
            direction = "widening"
        elif change < -th.min_improvement and fit.ci_high < 0:
            direction = "narrowing"
        else:
            direction = "stable"
    return GapStats(n=int(vx.size), current_gap=float(gap[-1]), current_rel_gap=float(rel[-1]),
                    rel_gap_change=change, direction=direction)


def analyse_alignment(data: LogData, th: Thresholds) -> AlignmentStatus | None:
    """Alignment status from the ``alignment_score`` logged with validation."""
    _, score = data.series("alignment_score", "val")
    score = score[np.isfinite(score)]
    if score.size == 0:
        return None
    trend = "rising" if score[-1] - score[0] > 0.1 else ("falling" if score[0] - score[-1] > 0.1 else "flat")
    return AlignmentStatus(n=int(score.size), first=float(score[0]), last=float(score[-1]),
                           best=float(score.max()), learned=bool(score[-1] >= th.alignment_learned),
                           trend=trend)


def _counter_total(values: np.ndarray, from_start: bool) -> int:
    """Sum of a per-interval counter, or its increase when it is logged cumulatively
    (non-decreasing); ``from_start`` means the values begin at the start of the run."""
    values = values[np.isfinite(values)]
    if values.size == 0:
        return 0
    if values.size > 1 and np.all(np.diff(values) >= 0) and values[-1] > values[0]:
        return int(values[-1] if from_start else values[-1] - values[0])
    return int(values.sum())


def count_nonfinite(data: LogData, start: float) -> NonfiniteStats:
    """Skipped or broken steps: NaN/inf loss values, NaN/inf gradient norms, ``nonfinite_loss`` /
    overflow events and the ``nonfinite_steps`` counter. Views of the same step count once."""
    stats = NonfiniteStats()
    nan_x: set[float] = set()
    for key in data.keys("train"):
        if is_loss_key(key):
            x, y = data.series(key)
            nan_x.update(float(v) for v in x[~np.isfinite(y)])
    nan_all = np.array(sorted(nan_x))
    stats.nan_values_window = int(np.count_nonzero(nan_all >= start))
    ev_x = np.array([float(e["step"]) for e in data.events  # type: ignore[arg-type]
                     if e.get("event") in NONFINITE_EVENTS and e.get("step") is not None])
    stats.events_window = int(np.count_nonzero(ev_x >= start))
    stats.overflow_lines_window = sum(1 for e in data.events if e.get("event") == "overflow"
                                      and e.get("step") is not None and float(e["step"]) >= start)  # type: ignore[arg-type]
    gx, g = data.series("grad_norm")
    grad_x = gx[~np.isfinite(g)]
    stats.grad_nonfinite_window = int(np.count_nonzero(grad_x >= start))
    cx, cv = data.series("nonfinite_steps")
    stats.counter_window = _counter_total(cv[cx >= start], from_start=False)
    union = np.array(sorted(set(nan_all.tolist()) | set(ev_x.tolist()) | set(grad_x.tolist())))
    stats.total_window = max(int(np.count_nonzero(union >= start)), stats.counter_window)
    stats.total_run = max(union.size, _counter_total(cv, from_start=True))
    stats.first_xs = union[:10].tolist()
    _, loss = data.series("loss")
    stats.last_loss_nonfinite = bool(loss.size and not np.isfinite(loss[-1]))
    _, lr = data.series("lr")
    stats.lr_nonfinite = int(np.count_nonzero(~np.isfinite(lr)))
    return stats


def resume_jumps(data: LogData, start: float, level: float | None) -> list[dict[str, object]]:
    """Resumes after which the loss jumped by RESUME_JUMP or more. A jump before the window counts
    only while the loss has not recovered (recent ``level`` still RECOVERED x the pre-resume loss)."""
    jumps = []
    for point in data.resumes:
        factor, before = point.get("factor"), point.get("loss_before")
        if not isinstance(factor, float) or factor < RESUME_JUMP or not isinstance(before, float):
            continue
        recovered = level is not None and level < RECOVERED * before
        if float(point["x"]) >= start or not recovered:  # type: ignore[arg-type]
            jumps.append(point)
    return jumps
