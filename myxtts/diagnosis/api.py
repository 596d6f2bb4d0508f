"""Entry points: diagnose a log file or a run directory end to end."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from myxtts.diagnosis.analysis import analyse
from myxtts.diagnosis.logdata import LogData, LogReadError
from myxtts.diagnosis.readers import read_log
from myxtts.diagnosis.recommend import recommend
from myxtts.diagnosis.results import Diagnosis, Thresholds
from myxtts.diagnosis.rundir import CONFIG_NAME, discover_run, load_config, read_checkpoint_state, read_heldout


def _finish(data: LogData, run_dir: Path | None, config_path: Path | None, window: float | None,
            data_path: str | None, th: Thresholds | None) -> Diagnosis:
    config, warning = load_config(config_path)
    if warning:
        data.warnings.append(warning)
    heldout = read_heldout(run_dir) if run_dir is not None else None
    diag = analyse(data, window=window, th=th, config=config, heldout=heldout)
    diag.config_path = str(config_path) if config_path else None
    if run_dir is not None:
        diag.run_dir = str(run_dir)
        ckpt = read_checkpoint_state(run_dir)
        diag.checkpoint = asdict(ckpt) if ckpt else None
    diag.recommendations = recommend(diag, config, diag.run_dir, data_path)
    return diag


def diagnose_log_file(path: str | Path, window: float | None = None, data_path: str | None = None,
                      th: Thresholds | None = None) -> Diagnosis:
    """Diagnose one log file. Its folder is used as the run dir when it holds a config or checkpoint."""
    path = Path(path)
    data = read_log(path)
    folder = path.parent
    config = folder / CONFIG_NAME
    is_run = config.is_file() or (folder / "checkpoint").is_file()
    return _finish(data, folder if is_run else None, config if config.is_file() else None,
                   window, data_path, th)


def diagnose_run_dir(path: str | Path, window: float | None = None, data_path: str | None = None,
                     th: Thresholds | None = None) -> Diagnosis:
    """Diagnose a run directory: train_log.jsonl (else training.log, else TensorBoard events) + config.yaml."""
    files = discover_run(path)
    if files.log_file is not None:
        data = read_log(files.log_file)
    elif files.event_files:
        from myxtts.diagnosis.tensorboard_events import read_events_dir  # noqa: PLC0415 - optional

        data = read_events_dir(files.run_dir, files.event_files)
    else:
        raise LogReadError(f"{files.run_dir}: no train_log.jsonl or training.log (or TensorBoard events) found")
    return _finish(data, files.run_dir, files.config_path, window, data_path, th)
