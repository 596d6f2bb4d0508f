"""Find what a run directory holds: logs, saved config, latest checkpoint, TensorBoard events."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from myxtts.diagnosis.logdata import LogReadError

LOG_NAMES = ("train_log.jsonl", "training.log")
CONFIG_NAME = "config.yaml"
_CKPT_LINE_RE = re.compile(r'^\s*model_checkpoint_path:\s*"([^"]+)"', re.M)
_ALL_CKPT_RE = re.compile(r'^\s*all_model_checkpoint_paths:\s*"([^"]+)"', re.M)
_STEP_RE = re.compile(r"(\d+)$")


@dataclass
class CheckpointInfo:
    """The latest checkpoint named by the CheckpointManager's ``checkpoint`` file."""

    latest: str
    step: int | None
    all_paths: list[str] = field(default_factory=list)


@dataclass
class RunFiles:
    """Files found in a run directory (any may be missing except the directory itself)."""

    run_dir: Path
    log_file: Path | None
    config_path: Path | None
    checkpoint: CheckpointInfo | None
    event_files: list[Path] = field(default_factory=list)


def discover_run(run_dir: str | Path) -> RunFiles:
    """Locate the run's log (train_log.jsonl preferred over training.log), config and checkpoint."""
    run = Path(run_dir)
    if not run.exists():
        raise LogReadError(f"{run}: run directory not found")
    if not run.is_dir():
        raise LogReadError(f"{run}: not a directory (use --log-file for a single log)")
    log_file = next((run / name for name in LOG_NAMES if (run / name).is_file()), None)
    config = run / CONFIG_NAME
    events = sorted(p for p in run.rglob("events.out.tfevents.*") if p.is_file())
    return RunFiles(
        run_dir=run,
        log_file=log_file,
        config_path=config if config.is_file() else None,
        checkpoint=read_checkpoint_state(run),
        event_files=events,
    )


def read_checkpoint_state(run_dir: str | Path) -> CheckpointInfo | None:
    """Parse ``<run_dir>/checkpoint`` (first line ``model_checkpoint_path: "ckpt-1200"``)."""
    state = Path(run_dir) / "checkpoint"
    if not state.is_file():
        return None
    text = state.read_text(encoding="utf-8", errors="replace")
    match = _CKPT_LINE_RE.search(text)
    if not match:
        return None
    latest = match.group(1)
    step_match = _STEP_RE.search(Path(latest).name)
    return CheckpointInfo(
        latest=latest,
        step=int(step_match.group(1)) if step_match else None,
        all_paths=_ALL_CKPT_RE.findall(text),
    )


def load_config(path: str | Path | None) -> tuple[dict[str, Any], str | None]:
    """The run's config.yaml as a plain dict, plus a warning (None when fine or absent)."""
    if path is None:
        return {}, None
    try:
        loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        return {}, f"{path}: config not usable ({exc.__class__.__name__}); using log values only"
    if loaded is None:
        return {}, None
    if not isinstance(loaded, dict):
        return {}, f"{path}: config is not a mapping; using log values only"
    return loaded, None


def config_value(config: dict[str, Any], dotted: str, default: Any = None) -> Any:
    """``config_value(cfg, "training.learning_rate")`` on a nested plain dict."""
    node: Any = config
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


HELDOUT_MAX_BYTES = 5_000_000


def read_heldout(run_dir: str | Path) -> dict[str, Any] | None:
    """Held-out evaluation results of a run: the first ``*.json`` in the run directory (or its
    ``results/`` folder) holding ``{"rows": [{"step": ..., "mcd_dtw": ..., "cer": ...}, ...]}``
    (as benchmarks/convergence.py writes). None when there is none."""
    run = Path(run_dir)
    for path in sorted(run.glob("*.json")) + sorted(run.glob("results/*.json")):
        try:
            if path.stat().st_size > HELDOUT_MAX_BYTES:
                continue
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        rows = doc.get("rows") if isinstance(doc, dict) else None
        points = []
        for row in rows if isinstance(rows, list) else []:
            if isinstance(row, dict) and isinstance(row.get("step"), (int, float)) and (
                    isinstance(row.get("mcd_dtw"), (int, float)) or isinstance(row.get("cer"), (int, float))):
                points.append({k: row.get(k) for k in ("step", "mcd_dtw", "cer")})
        if points:
            return {"file": str(path), "points": sorted(points, key=lambda r: r["step"])}
    return None
