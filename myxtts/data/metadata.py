"""Reading dataset metadata (LJSpeech layout, optional speaker column or speakers.csv)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)


class DatasetError(ValueError):
    """A dataset cannot be read; the message names the file and line."""


@dataclass(frozen=True)
class Utterance:
    """One transcribed recording."""

    id: str
    text: str
    speaker: str
    wav_path: Path


def _read_speakers(path: Path) -> dict[str, str]:
    speakers: dict[str, str] = {}
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split("|")
        if len(parts) != 2 or not parts[0].strip() or not parts[1].strip():
            raise DatasetError(f"{path}:{lineno}: expected 'id|speaker', got {line!r}")
        speakers[parts[0].strip()] = parts[1].strip()
    return speakers


def read_dataset(root: str | Path) -> list[Utterance]:
    """Utterances of an LJSpeech-layout dataset.

    ``root`` holds ``metadata.csv`` (``id|text``, ``id|text|normalized_text`` or
    ``id|text|normalized_text|speaker``) and ``wavs/<id>.wav``; a ``speakers.csv``
    (``id|speaker``) beside it names speakers when the metadata has no speaker column.
    The normalised text is used when present. Rows with missing audio or empty text
    are skipped with a counted warning.
    """
    root = Path(root)
    metadata = root / "metadata.csv" if root.is_dir() else root
    if not metadata.is_file():
        raise DatasetError(f"{metadata}: metadata file not found")
    base = metadata.parent
    speakers_file = base / "speakers.csv"
    speakers = _read_speakers(speakers_file) if speakers_file.is_file() else {}
    utterances: list[Utterance] = []
    skipped: dict[str, int] = {}
    for lineno, line in enumerate(metadata.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|")]
        if len(parts) < 2 or not parts[0]:
            raise DatasetError(f"{metadata}:{lineno}: expected 'id|text[|normalized_text[|speaker]]'")
        uid = parts[0]
        text = parts[2] if len(parts) >= 3 and parts[2] else parts[1]
        speaker = parts[3] if len(parts) >= 4 and parts[3] else speakers.get(uid, "speaker0")
        wav = base / "wavs" / f"{uid}.wav"
        if not text:
            skipped["empty text"] = skipped.get("empty text", 0) + 1
            log.warning("%s:%d: %s has empty text, skipped", metadata, lineno, uid)
            continue
        if not wav.is_file():
            skipped["missing audio"] = skipped.get("missing audio", 0) + 1
            log.warning("%s:%d: audio %s not found, skipped", metadata, lineno, wav)
            continue
        utterances.append(Utterance(uid, text, speaker, wav))
    if skipped:
        log.warning("%s: skipped %s", metadata, ", ".join(f"{n} ({why})" for why, n in skipped.items()))
    if not utterances:
        raise DatasetError(f"{metadata}: no usable utterances")
    return utterances
