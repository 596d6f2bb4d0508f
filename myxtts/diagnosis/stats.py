"""Robust statistics used by the diagnosis: Theil–Sen slope with a rank-based CI, MAD, robust z."""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

MAD_TO_SIGMA = 1.4826
MAX_FIT_POINTS = 400


@dataclass(frozen=True)
class SlopeFit:
    """Theil–Sen fit: median pairwise slope, intercept and a confidence interval for the slope."""

    slope: float
    intercept: float
    ci_low: float
    ci_high: float


def robust_scale(values: np.ndarray) -> float:
    """Standard-deviation estimate from the median absolute deviation (MAD × 1.4826)."""
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        return 0.0
    return float(MAD_TO_SIGMA * np.median(np.abs(values - np.median(values))))


def robust_z(values: np.ndarray, floor: float = 1e-12) -> np.ndarray:
    """Robust z-scores: (x - median) / (1.4826 · MAD); the scale never drops below ``floor``."""
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        return values
    scale = max(robust_scale(values), floor)
    return (values - np.median(values)) / scale


def rolling_median(values: np.ndarray, width: int) -> np.ndarray:
    """Centered running median (edges padded with the edge value); ``width`` is made odd."""
    values = np.asarray(values, dtype=float)
    width = max(1, int(width) | 1)
    if values.size == 0 or width == 1:
        return values.copy()
    half = width // 2
    padded = np.pad(values, half, mode="edge")
    return np.median(np.lib.stride_tricks.sliding_window_view(padded, width), axis=1)


def even_subsample(n: int, max_points: int = MAX_FIT_POINTS) -> np.ndarray:
    """Indices of at most ``max_points`` evenly spaced items out of ``n`` (always keeps both ends)."""
    if n <= max_points:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, max_points).round().astype(int))


def theil_sen(x: np.ndarray, y: np.ndarray, confidence: float = 0.95) -> SlopeFit:
    """Theil–Sen slope of ``y`` over ``x`` with Sen's rank-based confidence interval.

    Long series are evenly subsampled to ``MAX_FIT_POINTS`` points (the interval stays valid,
    only slightly wider). Raises ``ValueError`` when fewer than two distinct ``x`` values exist.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    keep = even_subsample(x.size)
    xs, ys = x[keep], y[keep]
    n = xs.size
    i, j = np.triu_indices(n, 1)
    dx = xs[j] - xs[i]
    valid = dx != 0
    if not np.any(valid):
        raise ValueError("theil_sen needs at least two distinct x values")
    slopes = np.sort((ys[j] - ys[i])[valid] / dx[valid])
    slope = float(np.median(slopes))
    intercept = float(np.median(y - slope * x))
    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    spread = z * np.sqrt(n * (n - 1) * (2 * n + 5) / 18.0)
    count = slopes.size
    low_rank = int(np.clip(np.floor((count - spread) / 2.0), 0, count - 1))
    high_rank = int(np.clip(np.ceil((count + spread) / 2.0), 0, count - 1))
    return SlopeFit(slope, intercept, float(slopes[low_rank]), float(slopes[high_rank]))
