"""Rules that keep ``train_main.py`` from overwriting files it should not touch.

A run directory (``--checkpoint-dir``) receives ``config.yaml``, ``mel_stats.npz``,
``symbols.json`` (rewritten at every start), appended logs and ``ckpt-<step>`` files.
Training may start in a directory that is missing, empty, or a MyXTTS run without
checkpoints; a directory with checkpoints may only be continued from one of its own
checkpoints, and never from one older than checkpoints it already holds.
"""

from __future__ import annotations

import re
from pathlib import Path

from myxtts.cli.runtime import CLIError
from myxtts.training import BEST_DIR

_CKPT_INDEX = re.compile(r"^ckpt-(\d+)\.index$")
#: Files the trainer rewrites when a run starts or resumes.
REWRITTEN_FILES = ("config.yaml", "mel_stats.npz", "symbols.json")
#: The JSON-lines log that marks a directory as a MyXTTS run.
RUN_MARKER = "train_log.jsonl"



def checkpoint_steps(run_dir: str | Path) -> list[int]:
    """Steps of the ``ckpt-<step>`` checkpoints in ``run_dir``, ascending."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return []
    return sorted(int(m.group(1)) for p in run_dir.iterdir()
                  if (m := _CKPT_INDEX.match(p.name)))


def check_new_run_dir(run_dir: str | Path) -> None:
    """Raise :class:`CLIError` unless a new run may be written to ``run_dir``."""
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise CLIError(f"--checkpoint-dir {run_dir} exists and is not a directory")
    steps = checkpoint_steps(run_dir)
    if steps:
        raise CLIError(f"{run_dir} already holds checkpoints (latest: ckpt-{steps[-1]}). To "
                       "continue that run add --resume-checkpoint latest; to start a new run "
                       "choose another --checkpoint-dir. Nothing was changed.")
    if run_dir.is_dir() and not (run_dir / RUN_MARKER).is_file():
        clash = [name for name in REWRITTEN_FILES if (run_dir / name).exists()]
        if clash:
            raise CLIError(f"{run_dir} is not a MyXTTS run directory but holds {', '.join(clash)}, "
                           "which training would overwrite; choose another --checkpoint-dir")


def check_resume_target(run_dir: str | Path, prefix: str | Path, step: int) -> None:
    """Raise :class:`CLIError` unless resuming checkpoint ``prefix`` (at ``step``) into
    ``run_dir`` is safe: ``prefix`` is one of ``run_dir``'s own checkpoints (or its best,
    ``run_dir/best``) and none is newer, or ``prefix`` lies elsewhere and a new run may
    start in ``run_dir``."""
    run_dir = Path(run_dir)
    parent = Path(prefix).resolve().parent
    own = run_dir.resolve() in (parent, parent.parent if parent.name == BEST_DIR else None)
    steps = checkpoint_steps(run_dir)
    if not own:
        if steps:
            raise CLIError(f"{run_dir} holds checkpoints of another run (latest: "
                           f"ckpt-{steps[-1]}); to continue {prefix} into a new run choose an "
                           "empty --checkpoint-dir")
        check_new_run_dir(run_dir)
        return
    later = [s for s in steps if s > step]
    if later:
        raise CLIError(f"{run_dir} holds checkpoints newer than {Path(prefix).name} "
                       f"(ckpt-{later[-1]}), which resuming from it would overwrite; resume the "
                       "latest one (--resume-checkpoint latest) or continue in another "
                       "--checkpoint-dir")
