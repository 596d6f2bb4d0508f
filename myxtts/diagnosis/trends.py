"""Robust trend of a loss series over a window: slope + CI, change, noise, spikes, plateaus."""

from __future__ import annotations

import math

import numpy as np

from myxtts.diagnosis.results import Thresholds, Trend
from myxtts.diagnosis.stats import robust_scale, rolling_median, theil_sen

MIN_NOISE_SCALE = 1e-3  # residual scale floor (0.1 %) so smooth curves do not produce "spikes"
LOCAL_WIDTH = 21  # points in the running median that noise and spikes are measured against


def slope_factor(x_unit: str) -> tuple[float, str]:
    """Multiplier for reported slopes and its label (log-loss per 1k steps, per epoch, ...)."""
    if x_unit == "step":
        return 1000.0, "log-loss per 1k steps"
    return 1.0, f"log-loss per {x_unit}"


def choose_window(x: np.ndarray, window: float | None, th: Thresholds) -> tuple[float, float]:
    """(window_start, window_length). Default: the last third of the run, at least
    ``th.default_points`` points; an explicit window is widened to ``th.min_points`` points."""
    x = np.sort(np.asarray(x, dtype=float))
    end = float(x[-1])
    span = float(x[-1] - x[0])
    length = float(window) if window else span / 3.0
    wanted = th.min_points if window else th.default_points
    start = end - length
    if np.count_nonzero(x >= start) < wanted:
        start = float(x[max(0, x.size - wanted)])
    return start, end - start


def _transform(y: np.ndarray) -> tuple[np.ndarray, str]:
    """log(y) when all values are positive, otherwise y / |median(y)| (relative units)."""
    if np.all(y > 0):
        return np.log(y), "log"
    scale = abs(float(np.median(y))) or (robust_scale(y) or 1.0)
    return y / scale, "relative"


def _as_change(delta: float, scale: str) -> float:
    """Fractional change of the loss for a change ``delta`` of the transformed value."""
    if scale == "log":
        return math.expm1(min(delta, 50.0))
    return delta


def analyse_series(
    name: str,
    x: np.ndarray,
    y: np.ndarray,
    start: float,
    window: float,
    th: Thresholds,
    x_unit: str = "step",
) -> Trend:
    """Trend of ``y`` over ``x >= start``: Theil–Sen slope with CI and fitted change; noise and
    spikes from the residuals around a running median (so curvature is not mistaken for noise)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    finite = np.isfinite(y)
    in_win = x >= start
    end = float(x[-1]) if x.size else start
    trend = Trend(name=name, n_points=int(np.count_nonzero(in_win & finite)), window_start=start,
                  window_end=end, nonfinite=int(np.count_nonzero(in_win & ~finite)))
    if np.any(finite):
        best_i = int(np.argmin(np.where(finite, y, np.inf)))
        trend.best, trend.best_x = float(y[best_i]), float(x[best_i])
    xw, yw = x[in_win & finite], y[in_win & finite]
    if yw.size:
        trend.level = float(np.median(yw[-max(3, yw.size // 10):]))
    if yw.size < th.min_points or np.unique(xw).size < 3:
        return trend
    tw, trend.scale = _transform(yw)
    fit = theil_sen(xw, tw)
    factor, _ = slope_factor(x_unit)
    trend.slope, trend.ci_low, trend.ci_high = fit.slope * factor, fit.ci_low * factor, fit.ci_high * factor
    span = float(xw[-1] - xw[0])
    trend.change = _as_change(fit.slope * span, trend.scale)
    trend.change_ci = (_as_change(fit.ci_low * span, trend.scale), _as_change(fit.ci_high * span, trend.scale))
    resid = tw - rolling_median(tw, min(LOCAL_WIDTH, max(5, tw.size // 10)))
    noise = robust_scale(resid)
    trend.noise = noise
    z = (resid - np.median(resid)) / max(noise, MIN_NOISE_SCALE)
    spikes = z > th.spike_z
    trend.spikes = int(np.count_nonzero(spikes))
    trend.spike_xs = [float(v) for v in xw[spikes][:10]]
    prev = y[(x < start) & (x >= start - window) & finite]
    if prev.size >= 3 and np.median(prev) != 0:
        prev_med = float(np.median(prev))
        trend.rel_improvement = (prev_med - float(np.median(yw))) / abs(prev_med)
    trend.direction = _direction(trend, th)
    return trend


def _direction(trend: Trend, th: Thresholds) -> str:
    """decreasing / increasing when the fitted change is large enough and its CI excludes 0."""
    assert trend.change is not None and trend.ci_low is not None and trend.ci_high is not None
    if trend.change <= -th.min_improvement and trend.ci_high < 0:
        return "decreasing"
    if trend.change >= th.min_improvement and trend.ci_low > 0:
        return "increasing"
    return "flat"


def plateau_segments(
    x: np.ndarray, y: np.ndarray, window: float, th: Thresholds
) -> list[tuple[float, float]]:
    """Stretches where the loss is flat, found with a window sliding by half its length."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    keep = np.isfinite(y)
    x, y = x[keep], y[keep]
    if x.size < th.min_points or window <= 0:
        return []
    segments: list[tuple[float, float]] = []
    starts = np.arange(float(x[0]), float(x[-1]) - window + 1e-9, window / 2.0)
    if starts.size == 0 or starts[-1] + window < x[-1]:
        starts = np.append(starts, float(x[-1]) - window)
    for a in starts:
        sel = (x >= a) & (x <= a + window)
        trend = analyse_series("segment", x[sel], y[sel], float(a), window, th)
        if trend.direction != "flat":
            continue
        b = float(x[sel][-1])
        if segments and a <= segments[-1][1]:
            segments[-1] = (segments[-1][0], max(b, segments[-1][1]))
        else:
            segments.append((float(x[sel][0]), b))
    return segments
