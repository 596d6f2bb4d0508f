"""In-memory form of a parsed training log: train/val records, events and parse bookkeeping."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

Record = dict[str, float]

# Aliases used by other trainers / loggers, mapped onto our field names.
KEY_ALIASES = {
    "learning_rate": "lr",
    "learningrate": "lr",
    "gradient_norm": "grad_norm",
    "gnorm": "grad_norm",
    "grad_norm_total": "grad_norm",
    "global_step": "step",
    "iteration": "step",
    "iter": "step",
    "it": "step",
    "steps": "step",
    "train_loss": "loss",
    "training_loss": "loss",
    "validation_loss": "val_loss",
    "eval_loss": "val_loss",
    "valid_loss": "val_loss",
    "dev_loss": "val_loss",
    "epochs": "epoch",
    # running averages of the loss (Tacotron-style "avg_loss"): not a loss term of their own
    "avg_loss": "loss_smoothed",
    "average_loss": "loss_smoothed",
    "running_loss": "loss_smoothed",
    "loss_avg": "loss_smoothed",
    "smoothed_loss": "loss_smoothed",
    "ema_loss": "loss_smoothed",
}


class LogReadError(ValueError):
    """A log file could not be used; the message names the file and the problem."""


def canonical_key(key: str) -> str:
    """Lower-case a metric name and map common aliases onto ours (``learning_rate`` -> ``lr``)."""
    key = key.strip().lower().replace("-", "_").replace(" ", "_")
    return KEY_ALIASES.get(key, key)


def is_loss_key(key: str) -> bool:
    """True for the total ``loss`` and every key ending in ``_loss``."""
    return key == "loss" or key.endswith("_loss")


def is_val_key(key: str) -> bool:
    """True for validation metrics (``val_*``) and the alignment score (logged with validation)."""
    return key.startswith("val_") or key == "alignment_score"


def to_float(value: object) -> float | None:
    """Convert a JSON/CSV/text value to float (NaN/inf kept); None for non-numbers and booleans."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            return float(text)
        except ValueError:
            return None
    return None


@dataclass
class LogData:
    """Records parsed from one log. Every train/val record has an ``x`` (step, epoch or index)."""

    source: str
    fmt: str
    x_unit: str = "step"
    train: list[Record] = field(default_factory=list)
    val: list[Record] = field(default_factory=list)
    events: list[dict[str, object]] = field(default_factory=list)
    resumes: list[dict[str, object]] = field(default_factory=list)  # see readers.find_resumes
    lines_read: int = 0
    skipped_lines: int = 0
    skipped_examples: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def note_skipped(self, line_no: int, line: str, reason: str) -> None:
        """Count a line that gave no metrics; keep the first few as examples."""
        self.skipped_lines += 1
        if len(self.skipped_examples) < 3:
            self.skipped_examples.append(f"line {line_no}: {reason}: {line.strip()[:80]}")

    def keys(self, which: str = "train") -> list[str]:
        """All metric names present in the train or val records, sorted."""
        records = self.train if which == "train" else self.val
        return sorted({k for rec in records for k in rec if k != "x"})

    def series(self, key: str, which: str = "train") -> tuple[np.ndarray, np.ndarray]:
        """(x, values) of one metric; values may contain NaN/inf as logged."""
        records = self.train if which == "train" else self.val
        pairs = [(rec["x"], rec[key]) for rec in records if key in rec]
        if not pairs:
            return np.zeros(0), np.zeros(0)
        arr = np.asarray(pairs, dtype=float)
        return arr[:, 0], arr[:, 1]

    @property
    def last_x(self) -> float:
        """Largest x over train and val records (NaN when there are none)."""
        xs = [rec["x"] for rec in self.train + self.val]
        return max(xs) if xs else math.nan
