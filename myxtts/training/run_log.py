"""The run's two logs: a human-readable ``training.log`` and a machine-readable
``train_log.jsonl`` (one JSON object per line; see docs/TRAINING.md for the fields)."""

from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path

TEXT_LOG = "training.log"
JSONL_LOG = "train_log.jsonl"


def _clean(value):
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no NaN; keep it visible as "nan"/"inf"
    return value


def train_values(report: dict, metrics: dict, lr: float, nonfinite_steps: int,
                 traces: int) -> dict:
    """The fields of a train record: the step's report (every ``*_loss`` term, grad norm,
    dampening scale) and the loss module's stability metrics."""
    values = {k: v for k, v in report.items() if k.endswith("_loss")}
    return {"loss": report["loss"], "loss_smoothed": metrics["smoothed_loss"], **values,
            "lr": lr, "grad_norm": report["grad_norm"],
            "dampening_scale": report["dampening_scale"],
            **{f"adaptive_weight_{k.removesuffix('_loss')}": w
               for k, w in metrics["adaptive_weights"].items()},
            "loss_stability_score": metrics["loss_stability_score"],
            "spikes": int(metrics["spike_count"]), "nonfinite_steps": nonfinite_steps,
            "traces": traces}


class RunLogger:
    """Appends to ``training.log`` and ``train_log.jsonl`` in the run directory.

    ``sinks``: callables given every record written to ``train_log.jsonl`` (a dict, before
    JSON encoding), e.g. the TensorBoard writer; closed with the logger if they have
    ``close()``.
    """

    def __init__(self, run_dir: str | Path, start_wall_time: float = 0.0):
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.start = time.time() - start_wall_time
        self.logger = logging.getLogger(f"myxtts.run.{self.run_dir.resolve()}")
        self.logger.setLevel(logging.INFO)
        self.logger.propagate = False
        if not self.logger.handlers:
            handler = logging.FileHandler(self.run_dir / TEXT_LOG, encoding="utf-8")
            handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s",
                                                   "%Y-%m-%d %H:%M:%S"))
            self.logger.addHandler(handler)
        self._jsonl = open(self.run_dir / JSONL_LOG, "a", encoding="utf-8")
        self.sinks: list = []

    @property
    def wall_time(self) -> float:
        return time.time() - self.start

    def _write(self, record: dict) -> None:
        self._jsonl.write(json.dumps({k: _clean(v) for k, v in record.items()}) + "\n")
        self._jsonl.flush()
        for sink in self.sinks:
            sink(record)

    def train(self, step: int, epoch: int, values: dict) -> None:
        record = {"type": "train", "step": step, "epoch": epoch, **values,
                  "wall_time": round(self.wall_time, 2)}
        self._write(record)
        parts = [f"step {step} epoch {epoch}"]
        for key, value in values.items():
            if key == "lr":
                parts.append(f"lr {value:.2e}")
            elif isinstance(value, float):
                parts.append(f"{key} {value:.4f}")
            else:
                parts.append(f"{key} {value}")
        self.logger.info(" ".join(parts))

    def validation(self, step: int, epoch: int, values: dict) -> None:
        self._write({"type": "val", "step": step, "epoch": epoch, **values,
                     "wall_time": round(self.wall_time, 2)})
        text = " ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}"
                        for k, v in values.items())
        self.logger.info(f"VAL step {step} epoch {epoch} {text}")

    def event(self, step: int, event: str, message: str, **extra) -> None:
        self._write({"type": "event", "step": step, "event": event, "message": message,
                     **extra, "wall_time": round(self.wall_time, 2)})
        level = logging.WARNING if event in ("nonfinite_loss", "early_stop") else logging.INFO
        self.logger.log(level, f"EVENT step {step} {event}: {message}")

    def close(self) -> None:
        self._jsonl.close()
        for sink in self.sinks:
            if hasattr(sink, "close"):
                sink.close()
        self.sinks = []
        for handler in list(self.logger.handlers):
            handler.close()
            self.logger.removeHandler(handler)
