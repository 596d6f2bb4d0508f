"""Folder-tree corpus layouts: VCTK and LibriTTS (one transcript file per recording)."""

from __future__ import annotations

from pathlib import Path

from myxtts.data.metadata import AUDIO_EXTENSIONS, DatasetError, Utterance, find_audio

_LIBRI_SUFFIX = ".normalized.txt"
_LIBRI_PATTERNS = (f"*/*/*{_LIBRI_SUFFIX}", f"*/*/*/*{_LIBRI_SUFFIX}")
_VCTK_MICS = ("", "_mic1", "_mic2")


def _read_transcript(path: Path) -> str:
    try:
        return " ".join(path.read_text(encoding="utf-8-sig").split())
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path}: not UTF-8 text ({exc})") from None
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read ({exc.strerror or exc})") from None


def _vctk_audio_dirs(root: Path) -> list[Path]:
    return sorted(d for d in root.glob("wav48*") if d.is_dir())


def is_vctk(root: Path) -> bool:
    """A ``txt/`` folder beside a ``wav48*/`` folder."""
    return (root / "txt").is_dir() and bool(_vctk_audio_dirs(root))


def _vctk_audio(audio_dirs: list[Path], speaker: str, uid: str) -> Path:
    for folder in audio_dirs:
        for mic in _VCTK_MICS:
            for ext in AUDIO_EXTENSIONS:
                candidate = folder / speaker / f"{uid}{mic}{ext}"
                if candidate.is_file():
                    return candidate
    return audio_dirs[0] / speaker / f"{uid}.wav"


def read_vctk(root: Path) -> list[Utterance]:
    """Rows of a VCTK tree: ``txt/<speaker>/<id>.txt`` and ``wav48*/<speaker>/<id>*.<ext>``.

    The speaker is the folder name. In VCTK 0.92 (``wav48_silence_trimmed``) each id has
    ``_mic1`` and ``_mic2`` recordings; ``_mic1`` is used. Recordings without a transcript
    (speaker p315) are not rows.
    """
    if not is_vctk(root):
        raise DatasetError(f"{root}: not a VCTK folder (expected txt/ and wav48*/ inside)")
    audio_dirs = _vctk_audio_dirs(root)
    rows = []
    for txt in sorted((root / "txt").glob("*/*.txt")):
        speaker, uid = txt.parent.name, txt.stem
        rows.append(Utterance(uid, _read_transcript(txt), speaker,
                              _vctk_audio(audio_dirs, speaker, uid),
                              str(txt.relative_to(root))))
    if not rows:
        raise DatasetError(f"{root / 'txt'}: no transcripts (txt/<speaker>/<id>.txt)")
    return rows


def _libritts_transcripts(root: Path) -> list[Path]:
    found: set[Path] = set()
    for pattern in _LIBRI_PATTERNS:
        found.update(root.glob(pattern))
    return sorted(found)


def is_libritts(root: Path) -> bool:
    """``*.normalized.txt`` files two or three folder levels below ``root``."""
    return any(next(root.glob(pattern), None) is not None for pattern in _LIBRI_PATTERNS)


def read_libritts(root: Path) -> list[Utterance]:
    """Rows of a LibriTTS-style tree: ``[subset/]<speaker>/<chapter>/<id>.normalized.txt``.

    The audio is ``<id>.wav`` (or ``.flac``/``.ogg``) beside the transcript; the speaker is
    the folder two levels up.
    """
    rows = []
    for txt in _libritts_transcripts(root):
        uid = txt.name[:-len(_LIBRI_SUFFIX)]
        rows.append(Utterance(uid, _read_transcript(txt), txt.parent.parent.name,
                              find_audio(txt.parent, uid), str(txt.relative_to(root))))
    if not rows:
        raise DatasetError(f"{root}: no <speaker>/<chapter>/<id>{_LIBRI_SUFFIX} transcripts")
    return rows
