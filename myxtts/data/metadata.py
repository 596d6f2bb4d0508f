"""Shared dataset types: one transcribed recording, dataset errors, id safety.

Reading the corpus layouts lives in :mod:`myxtts.data.formats`; :func:`read_dataset` is
the short way to get the rows of a dataset (all rows, before validation).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

#: Audio file suffixes read through soundfile, in the order they are looked for.
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg")


class DatasetError(ValueError):
    """A dataset cannot be read; the message names the file and line."""


@dataclass(frozen=True)
class Utterance:
    """One transcribed recording.

    ``wav_path`` is None when the row's id is unsafe (no path is built from it);
    ``source`` says where the row came from, e.g. ``metadata.csv:12``; ``language`` is the
    row's own language code ("" = the dataset default, ``text.language``).
    """

    id: str
    text: str
    speaker: str
    wav_path: Path | None
    source: str = ""
    language: str = ""

    @property
    def where(self) -> str:
        """``source`` and id, for messages."""
        return f"{self.source} {self.id}" if self.source else self.id


def id_problem(uid: str) -> str | None:
    """Why ``uid`` is unsafe to use as a file name inside the dataset folder, or None.

    An id must be a plain file name: not empty, not absolute, no ``/`` or ``\\``,
    not ``.`` or ``..``, and no control characters.
    """
    if not uid:
        return "empty id"
    if uid.startswith(("/", "\\")) or (len(uid) > 1 and uid[1] == ":" and uid[0].isalpha()):
        return "absolute path"
    if ".." in uid.replace("\\", "/").split("/"):
        return "path traversal (..)"
    if "/" in uid or "\\" in uid:
        return "path separator in id"
    if uid == ".":
        return "id is '.'"
    if any(ord(c) < 32 or ord(c) == 127 for c in uid):
        return "control character in id"
    return None


def find_audio(folder: Path, stem: str) -> Path:
    """``folder/stem`` with the first existing audio suffix (``.wav`` if none exists).

    ``stem`` must already be checked with :func:`id_problem`.
    """
    for ext in AUDIO_EXTENSIONS:
        candidate = folder / f"{stem}{ext}"
        if candidate.is_file():
            return candidate
    return folder / f"{stem}{AUDIO_EXTENSIONS[0]}"


def read_dataset(path: str | Path, fmt: str = "auto") -> list[Utterance]:
    """All rows of the dataset at ``path`` (training rows of a split layout), unvalidated."""
    from myxtts.data.formats import read_corpus

    return read_corpus(path, fmt).rows
