"""The ``auto`` optimization level: detect a validation-loss plateau, then warm-restart.

A run under ``auto`` trains with the ``enhanced`` values. After every validation the
:class:`PlateauDetector` compares the best validation loss (the floor-free steering
metric) of the last :data:`PLATEAU_WINDOW` validations with the best one before them;
when the relative improvement is below :data:`PLATEAU_MIN_REL_IMPROVEMENT` (and at least
:data:`PLATEAU_MIN_VALIDATIONS` validations were seen since the schedule last began),
the trainer restarts the learning-rate schedule at its peak from the current step
(:meth:`XTTSTrainer.warm_restart`: weights, optimizer moments and loss state kept),
logged as a ``warm_restart`` event; at most :data:`MAX_WARM_RESTARTS` times a run.

Why a warm restart and not ``plateau_breaker``: on a truly stalled demo run,
``benchmarks/plateau.py`` measured held-out MCD-DTW 7.45 dB / CER 0.139 after 500 steps
with a warm restart to the enhanced peak rate, against 8.48 dB / 0.216 with the
documented plateau_breaker values and 8.61 dB / 0.172 going on unchanged
(docs/PLATEAU_BREAKER_USAGE.md). ``plateau_breaker`` stays available by name.

The detector also works on its own ("detect only"), e.g. in ``benchmarks/plateau.py``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from myxtts.config.config import TrainingConfig, XTTSConfig
from myxtts.config.presets import RUN_LENGTH_FIELDS, apply_optimization_level

#: K: the recent validations whose best loss is compared with the best before them.
PLATEAU_WINDOW = 4
#: Plateau when the recent best beats the earlier best by less than this share (0.5 %).
PLATEAU_MIN_REL_IMPROVEMENT = 0.005
#: No verdict before this many validations under the current settings (K + 1 at least,
#: so there is an earlier best to compare with).
PLATEAU_MIN_VALIDATIONS = 5
#: The level :func:`plateau_training_config` applies by default.
SWITCH_TO = "plateau_breaker"
#: Warm restarts ``auto`` makes in one run at most.
MAX_WARM_RESTARTS = 3


@dataclass(frozen=True)
class PlateauEvidence:
    """Why the detector called a plateau."""

    step: int
    validations: int
    window: int
    best_before: float
    best_recent: float
    rel_improvement: float
    threshold: float

    def describe(self) -> str:
        """One line for logs and events."""
        return (f"best val_loss {self.best_recent:.4f} over the last {self.window} validations "
                f"vs {self.best_before:.4f} before: {100 * self.rel_improvement:.2f}% "
                f"improvement < {100 * self.threshold:.2f}% after {self.validations} "
                f"validations, at step {self.step}")


@dataclass
class PlateauDetector:
    """Tracks validation losses and reports a plateau (see the module constants)."""

    window: int = PLATEAU_WINDOW
    min_rel_improvement: float = PLATEAU_MIN_REL_IMPROVEMENT
    min_validations: int = PLATEAU_MIN_VALIDATIONS
    history: list[tuple[int, float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.window < 1:
            raise ValueError(f"window must be >= 1, got {self.window}")
        if self.min_validations < self.window + 1:
            raise ValueError(f"min_validations must be >= window + 1 ({self.window + 1}), "
                             f"got {self.min_validations}")
        if not self.min_rel_improvement >= 0:
            raise ValueError(f"min_rel_improvement must be >= 0, got {self.min_rel_improvement}")

    def update(self, step: int, val_loss: Any) -> PlateauEvidence | None:
        """Record one validation (non-finite or missing losses are ignored); return the
        evidence if the losses seen so far form a plateau."""
        try:
            value = float(val_loss)
        except (TypeError, ValueError):
            return None
        if not math.isfinite(value):
            return None
        self.history.append((int(step), value))
        return self.check()

    def check(self) -> PlateauEvidence | None:
        """Evidence of a plateau in :attr:`history`, or None."""
        if len(self.history) < self.min_validations:
            return None
        losses = [loss for _, loss in self.history]
        before, recent = min(losses[:-self.window]), min(losses[-self.window:])
        rel = (before - recent) / max(abs(before), 1e-12)
        if rel >= self.min_rel_improvement:
            return None
        return PlateauEvidence(self.history[-1][0], len(losses), self.window, before, recent,
                               rel, self.min_rel_improvement)


def plateau_training_config(config: XTTSConfig, level: str = SWITCH_TO) -> TrainingConfig:
    """Training settings of ``level`` applied to ``config`` (not modified), keeping the
    run's :data:`~myxtts.config.presets.RUN_LENGTH_FIELDS`."""
    new = apply_optimization_level(config, level).training
    for name in RUN_LENGTH_FIELDS:
        setattr(new, name, getattr(config.training, name))
    new.validate()
    return new


class AutoLevelCallback:
    """Trainer callback (``cb(trainer, step, val_record)``) implementing ``auto``."""

    def __init__(self, detector: PlateauDetector | None = None):
        self.detector = detector or PlateauDetector()
        self.restarts: list[int] = []  # steps of the warm restarts made

    def __call__(self, trainer, step: int, record: dict) -> None:
        if (len(self.restarts) >= MAX_WARM_RESTARTS
                or trainer.config.training.optimization_level != "auto"):
            return
        evidence = self.detector.update(step, record.get("val_loss"))
        if evidence is None:
            return
        self.restarts.append(step)
        trainer.warm_restart(
            f"auto: validation loss plateaued ({evidence.describe()}); warm restart "
            f"{len(self.restarts)} of at most {MAX_WARM_RESTARTS} to the peak learning rate",
            restart=len(self.restarts))
        self.detector.history.clear()  # judge the new schedule on its own validations


def _logged_history(log_path: Path, first: int,
                    last: int) -> tuple[list[tuple[int, float]], list[int]]:
    """From a run's JSONL log: (step, val_loss) of the validations in ``first..last``
    (for a step logged twice, after a resume, the last record wins) and the steps of the
    ``warm_restart`` events up to ``last``."""
    found: dict[int, float] = {}
    restarts: set[int] = set()
    try:
        lines = log_path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return [], []
    for line in lines:
        try:
            record = json.loads(line)
            step = int(record["step"])
            if record.get("event") == "warm_restart" and step <= last:
                restarts.add(step)
            loss = float(record["val_loss"])
        except (ValueError, TypeError, KeyError):
            continue
        if record.get("type") == "val" and first <= step <= last and math.isfinite(loss):
            found[step] = loss
    return sorted(found.items()), sorted(restarts)


def attach_auto_level(trainer) -> AutoLevelCallback:
    """Add the ``auto`` callback to ``trainer.callbacks`` (once) and return it.

    On a resumed run the detector starts from the validations logged in the run's
    ``train_log.jsonl`` since the current schedule began (``state.schedule_start``), and
    the warm restarts already made count towards :data:`MAX_WARM_RESTARTS`.
    """
    for callback in trainer.callbacks:
        if isinstance(callback, AutoLevelCallback):
            return callback
    callback = AutoLevelCallback()
    if trainer.state is not None:
        from myxtts.training.run_log import JSONL_LOG

        first, last = int(trainer.state.schedule_start.numpy()), int(trainer.state.step.numpy())
        if last > 0:
            # The chief's log: another worker writes to a scratch directory.
            run_dir = Path(getattr(trainer, "shared_run_dir", trainer.run_dir))
            history, restarts = _logged_history(run_dir / JSONL_LOG, first, last)
            callback.detector.history.extend(history)
            callback.restarts.extend(restarts)
    trainer.callbacks.append(callback)
    return callback
