"""Writing synthesised audio: 16-bit PCM WAV files that never replace files by accident."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import soundfile as sf

from myxtts.cli.runtime import CLIError

log = logging.getLogger(__name__)


def check_writable(paths: Iterable[str | Path], overwrite: bool) -> None:
    """Raise :class:`CLIError` if any path exists (unless ``overwrite``) or is a directory."""
    paths = [Path(p) for p in paths]
    dirs = [p for p in paths if p.is_dir()]
    if dirs:
        raise CLIError(f"{dirs[0]} is a directory, not a .wav file")
    existing = [p for p in paths if p.exists()]
    if existing and not overwrite:
        shown = ", ".join(str(p) for p in existing[:3]) + (" ..." if len(existing) > 3 else "")
        raise CLIError(f"{len(existing)} output file(s) already exist ({shown}); pass --overwrite "
                       "to replace them or choose another output")


def write_wav(path: str | Path, wav: np.ndarray, sample_rate: int) -> Path:
    """Write ``wav`` (float, [-1, 1]) as mono 16-bit PCM; non-finite samples become 0,
    samples outside [-1, 1] are clipped (both with a warning). Creates parent folders."""
    path = Path(path)
    wav = np.asarray(wav, dtype=np.float32).reshape(-1)
    bad = ~np.isfinite(wav)
    if bad.any():
        log.warning("%s: %d non-finite samples set to 0", path, int(bad.sum()))
        wav = np.where(bad, 0.0, wav).astype(np.float32)
    peak = float(np.max(np.abs(wav))) if wav.size else 0.0
    if peak > 1.0:
        log.warning("%s: peak %.2f clipped to 1.0", path, peak)
        wav = np.clip(wav, -1.0, 1.0)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    sf.write(str(partial), wav, int(sample_rate), subtype="PCM_16", format="WAV")
    partial.replace(path)
    return path
