"""Sentence lists for batch synthesis (``inference_main.py --text-file``).

One sentence per line. A line ``id<TAB>text`` names its output ``<id>.wav``; other lines
are numbered ``0001``, ``0002``, ... by their position among the non-blank lines.
Blank lines are skipped.
"""

from __future__ import annotations

import re
from pathlib import Path

_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class TextFileError(ValueError):
    """A sentence file cannot be used; the message names the file and line."""


def parse_text_lines(lines: list[str], origin: str = "<text>") -> list[tuple[str, str]]:
    """``(id, text)`` pairs from sentence lines; see the module docstring for the format."""
    items: list[tuple[str, str]] = []
    seen: dict[str, int] = {}
    number = 0
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        number += 1
        if "\t" in line:
            uid, text = (part.strip() for part in line.split("\t", 1))
            if not _SAFE_ID.match(uid):
                raise TextFileError(f"{origin}:{lineno}: id {uid!r} cannot be a file name "
                                    "(use letters, digits, '.', '_' or '-')")
        else:
            uid, text = f"{number:04d}", line.strip()
        if not text:
            raise TextFileError(f"{origin}:{lineno}: id {uid!r} has no text")
        if uid in seen:
            raise TextFileError(f"{origin}:{lineno}: id {uid!r} already used on line {seen[uid]}")
        seen[uid] = lineno
        items.append((uid, text))
    return items


def read_text_file(path: str | Path) -> list[tuple[str, str]]:
    """``(id, text)`` pairs from a UTF-8 sentence file; :class:`TextFileError` if unusable."""
    path = Path(path)
    try:
        content = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TextFileError(f"{path}: text file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TextFileError(f"{path}: cannot read text file ({exc})") from None
    items = parse_text_lines(content.splitlines(), str(path))
    if not items:
        raise TextFileError(f"{path}: no sentences (the file is empty or blank)")
    return items
