"""Audio checks and log-mel features, computed in parallel worker processes and cached.

A cache entry is ``<cache_dir>/<digest>.npz`` where the digest is a BLAKE2b hash of the
audio file's bytes and the audio config: an edited recording or a changed audio setting
gives a new entry, and the file name never depends on the row's id, so entries always stay
inside the cache folder. Entries are written atomically (temporary file + rename); an
unreadable entry is recomputed. Workers run in ``spawn``-started processes (TensorFlow may
be loaded in the parent, which makes forking unsafe) and use only numpy/librosa through
:mod:`myxtts.audio.features`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import multiprocessing
import os
import tempfile
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
from tqdm import tqdm

from myxtts.audio.features import AudioError, load_wav, log_mel, num_frames
from myxtts.config.config import AudioConfig
from myxtts.data.metadata import Utterance

log = logging.getLogger(__name__)

_CACHE_VERSION = 2
_FEATURES_LOGGER = "myxtts.audio.features"


@dataclass
class Example:
    """A prepared utterance: token ids, the un-normalised log-mel and its language."""

    id: str
    speaker: str
    text: str
    tokens: np.ndarray  # int32 [N]
    mel: np.ndarray  # float32 [T, n_mels]
    language: str = ""  # "" = the run's default language
    language_id: int = 0  # row of the model's language embedding


@dataclass
class AudioResult:
    """What the audio of one row gave: frames, the file's rate and channels, the mel.

    ``reason`` (a :data:`myxtts.data.report.REASONS` entry) is set when it is unusable.
    """

    frames: int = 0
    sample_rate: int = 0
    channels: int = 0
    mel: np.ndarray | None = None
    reason: str = ""
    detail: str = ""


def audio_key(audio: AudioConfig) -> bytes:
    """Bytes identifying everything in ``audio`` that shapes the features."""
    return json.dumps({"v": _CACHE_VERSION, **asdict(audio)}, sort_keys=True).encode()


def cache_entry(cache_dir: Path, wav: Path, key: bytes) -> Path:
    """The cache file for ``wav``'s current content under the audio config ``key``."""
    digest = hashlib.blake2b(key, digest_size=20)
    with open(wav, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return cache_dir / f"{digest.hexdigest()}.npz"


def analyse(path: Path, audio: AudioConfig, want_mel: bool = True) -> AudioResult:
    """Decode ``path`` and check it; the mel too when ``want_mel``."""
    if path.stat().st_size == 0:
        return AudioResult(reason="empty audio", detail=f"{path}: 0-byte file")
    try:
        info = sf.info(str(path))
    except Exception as exc:  # soundfile raises several types for corrupt files
        return AudioResult(reason="audio does not decode", detail=f"{path}: {exc}")
    base = {"sample_rate": int(info.samplerate), "channels": int(info.channels)}
    if info.frames == 0:
        return AudioResult(reason="empty audio", detail=f"{path}: no samples", **base)
    try:
        wav = load_wav(path, audio)
    except AudioError as exc:
        reason = "silent audio" if str(exc).endswith("silent") else "audio does not decode"
        return AudioResult(reason=reason, detail=str(exc), **base)
    with warnings.catch_warnings():  # a clip shorter than n_fft is dropped as too short
        warnings.filterwarnings("ignore", message="n_fft=.* is too large")
        mel = log_mel(wav, audio) if want_mel else None
    return AudioResult(frames=num_frames(wav.size, audio), mel=mel, **base)


def _read_entry(entry: Path) -> AudioResult | None:
    try:
        with np.load(entry) as data:
            mel = data["mel"].astype(np.float32)
            return AudioResult(frames=mel.shape[0], sample_rate=int(data["sample_rate"]),
                               channels=int(data["channels"]), mel=mel)
    except FileNotFoundError:
        return None
    except Exception as exc:  # a truncated or foreign file: recompute it
        log.warning("%s: unreadable cache entry (%s), recomputing", entry, exc)
        return None


def _write_entry(entry: Path, result: AudioResult) -> None:
    fd, tmp = tempfile.mkstemp(dir=entry.parent, prefix=".tmp-", suffix=".npz")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, mel=result.mel, sample_rate=result.sample_rate,
                     channels=result.channels)
        os.replace(tmp, entry)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


#: Fewest files to compute per worker process (fewer files use fewer workers, or none).
FILES_PER_WORKER = 100


def _quiet_features_log() -> None:
    """Resampling is reported once in the validation report, not per file."""
    logging.getLogger(_FEATURES_LOGGER).setLevel(logging.ERROR)


def _work(path: Path, audio: AudioConfig, entry: Path | None, want_mel: bool) -> AudioResult:
    result = analyse(path, audio, want_mel)
    if entry is not None and result.mel is not None:
        _write_entry(entry, result)
    return result


def _run(jobs: list[tuple[int, Path, Path | None]], audio: AudioConfig, want_mel: bool,
         workers: int, results: list) -> None:
    bar = tqdm(total=len(jobs), desc="audio features", unit="file", disable=None)
    if workers <= 1:
        logger = logging.getLogger(_FEATURES_LOGGER)
        level = logger.level
        _quiet_features_log()
        try:
            for i, path, entry in jobs:
                results[i] = _work(path, audio, entry, want_mel)
                bar.update()
        finally:
            logger.setLevel(level)
            bar.close()
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_quiet_features_log) as pool:
        futures = {pool.submit(_work, path, audio, entry, want_mel): i
                   for i, path, entry in jobs}
        for future in as_completed(futures):
            results[futures[future]] = future.result()
            bar.update()
    bar.close()


def extract_audio(utterances: list[Utterance], audio: AudioConfig,
                  cache_dir: str | Path | None = None, workers: int = 0,
                  want_mel: bool = True) -> list[AudioResult]:
    """An :class:`AudioResult` per utterance; cached entries are read, the rest computed.

    ``workers`` processes compute (0 = ``os.cpu_count()``); with ``cache_dir`` None nothing
    is written.
    """
    key = audio_key(audio)
    cache = Path(cache_dir) if cache_dir is not None and want_mel else None
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
    results: list[AudioResult | None] = [None] * len(utterances)
    jobs = []
    for i, utt in enumerate(utterances):
        path = utt.wav_path
        if path is None or not path.is_file():
            results[i] = AudioResult(reason="missing audio", detail=f"{path} not found")
            continue
        entry = cache_entry(cache, path, key) if cache is not None else None
        cached = _read_entry(entry) if entry is not None else None
        if cached is not None:
            results[i] = cached
        else:
            jobs.append((i, path, entry))
    # Starting a worker process costs seconds (imports); below FILES_PER_WORKER files per
    # worker it is not worth it, and a small set is computed in this process.
    workers = min(workers or os.cpu_count() or 1, len(jobs) // FILES_PER_WORKER)
    if jobs:
        log.info("audio: %d of %d files to decode%s, %d worker process%s", len(jobs),
                 len(utterances), " and featurise" if want_mel else "", max(workers, 1),
                 "" if workers <= 1 else "es")
        _run(jobs, audio, want_mel, workers, results)
    return results
