"""Result types of a diagnosis (plain dataclasses, JSON-ready through ``Diagnosis.to_dict``)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from typing import Any

from myxtts.diagnosis.logdata import LogData

VERDICTS = ("improving", "plateau", "diverging", "overfitting", "unstable", "insufficient_data")
EXIT_CODES = {
    "improving": 0,
    "plateau": 1,
    "overfitting": 1,
    "diverging": 2,
    "unstable": 2,
    "insufficient_data": 3,
}
EXIT_USAGE = 64


@dataclass(frozen=True)
class Thresholds:
    """Decision thresholds (fractions are relative changes across the analysis window)."""

    min_improvement: float = 0.02  # |fitted change| below this (or CI through 0) = flat
    diverge_rise: float = 0.05  # fitted rise at/above this = diverging
    blowup_factor: float = 1.5  # recent level this many times the best level = diverging
    overfit_rise: float = 0.05  # val this far above its best, 3+ evaluations later
    min_points: int = 8  # fewer finite points in the window = insufficient
    default_points: int = 20  # the default window holds at least this many points
    spike_z: float = 6.0  # robust z-score of a residual above the trend that counts as spike
    spike_fraction: float = 0.05  # this share of spikes (and >= 3) = unstable
    nonfinite_fraction: float = 0.01  # non-finite steps per logged record in the window = unstable
    max_noise: float = 0.5  # residual noise / level above this = unstable
    alignment_learned: float = 0.7


@dataclass
class Trend:
    """Robust trend of one series over the analysis window."""

    name: str
    n_points: int
    window_start: float
    window_end: float
    level: float | None = None
    best: float | None = None
    best_x: float | None = None
    scale: str = "log"
    slope: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    change: float | None = None
    change_ci: tuple[float, float] | None = None
    rel_improvement: float | None = None
    noise: float | None = None
    spikes: int = 0
    spike_xs: list[float] = field(default_factory=list)
    nonfinite: int = 0
    direction: str = "insufficient"


@dataclass
class LRHistory:
    """Shape of the logged learning rate."""

    kind: str
    current: float | None
    peak: float | None
    minimum: float | None
    restarts: int = 0
    restart_xs: list[float] = field(default_factory=list)
    zero_count: int = 0
    nonfinite_count: int = 0
    window_ratio: float | None = None  # lr at window end / lr at window start


@dataclass
class GradStats:
    """Gradient-norm statistics over the window (norms as logged, i.e. before clipping)."""

    n: int
    p50: float
    p95: float
    max: float
    clip: float | None = None
    frac_over_clip: float | None = None


@dataclass
class GapStats:
    """Validation minus training loss at the validation steps."""

    n: int
    current_gap: float
    current_rel_gap: float
    rel_gap_change: float | None
    direction: str


@dataclass
class AlignmentStatus:
    """Alignment score (from validation records) and whether alignment has been learned."""

    n: int
    first: float
    last: float
    best: float
    learned: bool
    trend: str


@dataclass
class NonfiniteStats:
    """Non-finite (NaN/inf) losses and skipped updates, in the window and over the whole run."""

    nan_values_window: int = 0
    events_window: int = 0
    counter_window: int = 0
    grad_nonfinite_window: int = 0
    overflow_lines_window: int = 0
    total_window: int = 0
    total_run: int = 0
    last_loss_nonfinite: bool = False
    lr_nonfinite: int = 0
    first_xs: list[float] = field(default_factory=list)


@dataclass
class Recommendation:
    """One piece of advice; ``evidence`` holds the numbers it rests on."""

    id: str
    title: str
    action: str
    evidence: dict[str, Any]
    command: str | None = None
    placeholders: list[str] = field(default_factory=list)


@dataclass
class Diagnosis:
    """Everything the tool found about one run."""

    source: str
    log_format: str
    x_unit: str
    slope_unit: str
    n_train: int
    n_val: int
    n_events: int
    first_x: float | None
    last_x: float | None
    window: float | None
    window_start: float | None
    run_dir: str | None = None
    lines_read: int = 0
    skipped_lines: int = 0
    skipped_examples: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    train: dict[str, Trend] = field(default_factory=dict)
    val: dict[str, Trend] = field(default_factory=dict)
    lr: LRHistory | None = None
    grad: GradStats | None = None
    gap: GapStats | None = None
    alignment: AlignmentStatus | None = None
    nonfinite: NonfiniteStats = field(default_factory=NonfiniteStats)
    events: dict[str, int] = field(default_factory=dict)
    plateau_segments: list[tuple[float, float]] = field(default_factory=list)
    plateau_since: float | None = None
    checkpoint: dict[str, Any] | None = None
    config_path: str | None = None
    config_summary: dict[str, Any] = field(default_factory=dict)
    resumes: list[dict[str, Any]] = field(default_factory=list)  # every resume/restart found
    resume_jumps: list[dict[str, Any]] = field(default_factory=list)  # those with a loss jump
    heldout: dict[str, Any] | None = None
    steering: dict[str, Any] = field(default_factory=dict)
    verdict: str = "insufficient_data"
    reasons: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    stuck_terms: list[str] = field(default_factory=list)
    recommendations: list[Recommendation] = field(default_factory=list)
    data: LogData | None = field(default=None, repr=False, compare=False)

    @property
    def exit_code(self) -> int:
        """0 improving, 1 plateau/overfitting, 2 diverging/unstable, 3 insufficient data."""
        return EXIT_CODES[self.verdict]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (NaN/inf become None; the raw log records are left out)."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "data"}
        out["exit_code"] = self.exit_code
        return json_safe(out)


def json_safe(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return json_safe(asdict(value))
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return json_safe(value.item())
    return value
