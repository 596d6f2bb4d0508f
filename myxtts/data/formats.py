"""Corpus layouts behind one reader interface, auto-detected or named explicitly.

Layouts (``data.format``):

- ``ljspeech``: ``metadata.csv`` (``id|text[|normalized_text[|speaker[|language]]]``),
  optional ``speakers.csv`` (``id|speaker``) and ``languages.csv`` (``id|language``), audio
  in ``wavs/<id>.wav|.flac|.ogg``. A row's language comes from its 5th column, else from
  ``languages.csv``, else it is the dataset default (``text.language``).
- ``split``: the same with ``metadata_train.csv`` and ``metadata_val.csv``.
- ``vctk``: ``txt/<speaker>/<id>.txt`` and ``wav48*/<speaker>/<id>[_mic1|_mic2].<ext>``.
- ``libritts``: ``<speaker>/<chapter>/<id>.wav`` with ``<id>.normalized.txt`` beside it.
- ``filelist``: one ``path|text[|speaker[|language]]`` per line, paths relative to the
  list's folder.

Readers only read: they return every row (with where it came from) and leave checking to
:mod:`myxtts.data.validation`. A line of the wrong shape is a :class:`DatasetError` naming
the file and line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable, Iterator

from myxtts.config.config import DATA_FORMATS as FORMATS
from myxtts.data.metadata import (AUDIO_EXTENSIONS, DatasetError, Utterance, find_audio,
                                  id_problem)

_LIST_SUFFIXES = (".txt", ".csv", ".list", ".tsv")


@dataclass
class Corpus:
    """The rows of a dataset; ``val_rows`` is set when the layout has its own validation file."""

    format: str
    source: Path
    rows: list[Utterance]
    val_rows: list[Utterance] | None = None


def read_lines(path: Path) -> Iterator[tuple[int, str]]:
    """``(line number, line)`` of the non-blank lines of a UTF-8 text file."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path}: not UTF-8 text ({exc})") from None
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read ({exc.strerror or exc})") from None
    for lineno, line in enumerate(text.splitlines(), 1):
        if line.strip():
            yield lineno, line


def _read_id_map(path: Path, what: str = "speaker") -> dict[str, str]:
    """``id|value`` lines of ``speakers.csv`` / ``languages.csv`` (empty if there is none)."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for lineno, line in read_lines(path):
        parts = line.split("|")
        if len(parts) != 2 or not parts[0].strip() or not parts[1].strip():
            raise DatasetError(f"{path}:{lineno}: expected 'id|{what}', got {line!r}")
        values[parts[0].strip()] = parts[1].strip()
    return values


def _nonempty(rows: list[Utterance], path: Path) -> list[Utterance]:
    if not rows:
        raise DatasetError(f"{path}: no rows (the file is empty)")
    return rows


def read_ljspeech_file(metadata: Path) -> list[Utterance]:
    """Rows of an LJSpeech metadata file; audio in ``wavs/`` and ``speakers.csv`` beside it."""
    if not metadata.is_file():
        raise DatasetError(f"{metadata}: metadata file not found")
    base = metadata.parent
    speakers = _read_id_map(base / "speakers.csv")
    languages = _read_id_map(base / "languages.csv", "language")
    rows = []
    for lineno, line in read_lines(metadata):
        parts = [p.strip() for p in line.split("|")]
        if not 2 <= len(parts) <= 5 or not parts[0]:
            raise DatasetError(f"{metadata}:{lineno}: expected "
                               f"'id|text[|normalized_text[|speaker[|language]]]', got {line!r}")
        parts += [""] * (5 - len(parts))
        uid = parts[0]
        text = parts[2] or parts[1]
        speaker = parts[3] or speakers.get(uid, "speaker0")
        language = parts[4] or languages.get(uid, "")
        wav = None if id_problem(uid) else find_audio(base / "wavs", uid)
        rows.append(Utterance(uid, text, speaker, wav, f"{metadata.name}:{lineno}", language))
    return _nonempty(rows, metadata)


def _safe_relative(raw: str) -> bool:
    pure = PurePosixPath(raw.replace("\\", "/"))
    return bool(raw) and not pure.is_absolute() and ".." not in pure.parts and \
        not (len(raw) > 1 and raw[1] == ":")


def read_filelist(path: Path) -> list[Utterance]:
    """Rows of a ``path|text[|speaker[|language]]`` list; audio paths are relative to the
    list's folder.

    The id is the audio path without its suffix, ``/`` replaced by ``_``. A path that is
    absolute or contains ``..`` keeps its raw text as id, so validation reports it unsafe.
    """
    if not path.is_file():
        raise DatasetError(f"{path}: file list not found")
    rows = []
    for lineno, line in read_lines(path):
        parts = [p.strip() for p in line.split("|")]
        if not 2 <= len(parts) <= 4 or not parts[0]:
            raise DatasetError(f"{path}:{lineno}: expected "
                               f"'audio_path|text[|speaker[|language]]', got {line!r}")
        raw = parts[0]
        speaker = parts[2] if len(parts) >= 3 and parts[2] else "speaker0"
        language = parts[3] if len(parts) == 4 else ""
        if _safe_relative(raw):
            rel = PurePosixPath(raw.replace("\\", "/"))
            uid = str(rel.with_suffix("")).replace("/", "_")
            wav = path.parent / rel
        else:
            uid, wav = raw, None
        rows.append(Utterance(uid, parts[1], speaker, wav, f"{path.name}:{lineno}", language))
    return _nonempty(rows, path)


def looks_like_filelist(path: Path) -> bool:
    """Whether the first non-blank line of ``path`` starts with an audio file path."""
    try:
        first = next(read_lines(path), (0, ""))[1]
    except DatasetError:
        return False
    head = first.split("|")[0].strip().lower()
    return "|" in first and head.endswith(AUDIO_EXTENSIONS)


def _filelist_in(folder: Path) -> Path | None:
    found = sorted(p for p in folder.iterdir()
                   if p.suffix.lower() in _LIST_SUFFIXES and p.is_file() and looks_like_filelist(p))
    if len(found) > 1:
        raise DatasetError(f"{folder}: several file lists ({', '.join(p.name for p in found)}); "
                           "pass one file, e.g. --train-data train.txt --val-data val.txt")
    return found[0] if found else None


# ---------------------------------------------------------------- readers


def _ljspeech(path: Path) -> Corpus:
    metadata = path / "metadata.csv" if path.is_dir() else path
    return Corpus("ljspeech", metadata, read_ljspeech_file(metadata))


def _split(path: Path) -> Corpus:
    train = path / "metadata_train.csv" if path.is_dir() else path
    val = train.with_name("metadata_val.csv")
    val_rows = read_ljspeech_file(val) if val.is_file() and val != train else None
    return Corpus("split", train, read_ljspeech_file(train), val_rows)


def _filelist(path: Path) -> Corpus:
    target = _filelist_in(path) if path.is_dir() else path
    if target is None:
        raise DatasetError(f"{path}: no file list (*.txt, *.csv or *.list with "
                           "'audio_path|text[|speaker]' lines) in this folder")
    return Corpus("filelist", target, read_filelist(target))


def _trees(name: str) -> Callable[[Path], Corpus]:
    def read(path: Path) -> Corpus:
        from myxtts.data import formats_trees

        if not path.is_dir():
            raise DatasetError(f"{path}: the {name} layout is a folder, not a file")
        return Corpus(name, path, getattr(formats_trees, f"read_{name}")(path))
    return read


READERS: dict[str, Callable[[Path], Corpus]] = {
    "ljspeech": _ljspeech, "split": _split, "vctk": _trees("vctk"),
    "libritts": _trees("libritts"), "filelist": _filelist,
}


def detect_format(path: Path) -> str:
    """The layout of ``path`` (a folder or a metadata / list file)."""
    if path.is_file():
        if path.name == "metadata_train.csv":
            return "split"
        return "filelist" if looks_like_filelist(path) else "ljspeech"
    if not path.is_dir():
        raise DatasetError(f"{path}: no such dataset folder or metadata file")
    if (path / "metadata_train.csv").is_file():
        return "split"
    if (path / "metadata.csv").is_file():
        return "ljspeech"
    from myxtts.data.formats_trees import is_libritts, is_vctk

    if is_vctk(path):
        return "vctk"
    if is_libritts(path):
        return "libritts"
    if _filelist_in(path) is not None:
        return "filelist"
    raise DatasetError(
        f"{path}: unknown dataset layout; expected metadata.csv (LJSpeech), "
        "metadata_train.csv + metadata_val.csv, txt/ + wav48*/ (VCTK), "
        "<speaker>/<chapter>/*.normalized.txt (LibriTTS) or an 'audio_path|text' file list")


def read_corpus(path: str | Path, fmt: str = "auto") -> Corpus:
    """Read the dataset at ``path`` in layout ``fmt`` (``auto`` detects it)."""
    path = Path(path)
    if fmt not in FORMATS:
        raise DatasetError(f"data.format: unknown format {fmt!r}; expected one of "
                           f"{', '.join(FORMATS)}")
    if not path.exists():
        raise DatasetError(f"{path}: no such dataset folder or metadata file")
    name = detect_format(path) if fmt == "auto" else fmt
    return READERS[name](path)
