"""Text normalisation and character error rate (CER) for scoring recogniser transcripts."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen "
    "fourteen fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand"))
_ORDINAL_IRREGULAR = {
    "one": "first", "two": "second", "three": "third", "five": "fifth",
    "eight": "eighth", "nine": "ninth", "twelve": "twelfth",
}
_APOSTROPHES = "\u2019\u2018\u02bc`\u00b4"
_NUMBER = re.compile(r"(\d+(?:,\d{3})*)(?:\.(\d+))?(st|nd|rd|th)?", re.IGNORECASE)
_SEPARATORS = re.compile(r"[-\u2010-\u2015/_]+")


def number_to_words(value: int) -> str:
    """Spell a non-negative integer in English words ("21" -> "twenty one")."""
    if value < 0:
        raise ValueError(f"value: expected a non-negative integer, got {value}")
    if value < 20:
        return _ONES[value]
    if value < 100:
        tens, ones = divmod(value, 10)
        return _TENS[tens] + ("" if ones == 0 else " " + _ONES[ones])
    if value < 1000:
        hundreds, rest = divmod(value, 100)
        return _ONES[hundreds] + " hundred" + ("" if rest == 0 else " " + number_to_words(rest))
    for scale, name in _SCALES:
        if value >= scale:
            head, rest = divmod(value, scale)
            tail = "" if rest == 0 else " " + number_to_words(rest)
            return number_to_words(head) + " " + name + tail
    raise AssertionError("unreachable")


def _ordinal(words: str) -> str:
    head, _, last = words.rpartition(" ")
    if last in _ORDINAL_IRREGULAR:
        last = _ORDINAL_IRREGULAR[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return f"{head} {last}".strip()


def _spell_number(match: re.Match[str]) -> str:
    integer, fraction, suffix = match.groups()
    words = number_to_words(int(integer.replace(",", "")))
    if suffix and not fraction:
        words = _ordinal(words)
    if fraction:
        words += " point " + " ".join(_ONES[int(d)] for d in fraction)
    return f" {words} "


def _keep_char(ch: str) -> str:
    if ch.isalpha() or ch == "'" or unicodedata.category(ch).startswith("M"):
        return ch
    return " " if ch.isspace() else ""


def normalize_for_cer(text: str) -> str:
    """Lower-case; digits spelled as English words; keep letters, apostrophes and single spaces.

    Hyphens, slashes and underscores separate words; every other symbol is dropped.
    """
    if not isinstance(text, str):
        raise TypeError(f"text: expected str, got {type(text).__name__}")
    text = unicodedata.normalize("NFKC", text).lower()
    for mark in _APOSTROPHES:
        text = text.replace(mark, "'")
    text = _NUMBER.sub(_spell_number, text)
    text = _SEPARATORS.sub(" ", text)
    kept = "".join(_keep_char(ch) for ch in text)
    words = (word.strip("'") for word in kept.split())
    return " ".join(word for word in words if word)


def edit_distance(ref: Sequence[object], hyp: Sequence[object]) -> int:
    """Levenshtein distance (substitutions, insertions, deletions all cost 1)."""
    if len(ref) < len(hyp):
        ref, hyp = hyp, ref
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, start=1):
        current = [i]
        for j, h in enumerate(hyp, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h)))
        previous = current
    return previous[-1]


def cer(ref: str, hyp: str, normalize: bool = True) -> float:
    """Character error rate: edit distance / reference length (can exceed 1 with insertions).

    Both texts go through :func:`normalize_for_cer` unless ``normalize`` is False.
    """
    if normalize:
        ref, hyp = normalize_for_cer(ref), normalize_for_cer(hyp)
    if not ref:
        raise ValueError("ref: reference text is empty (after normalisation); CER is undefined")
    return edit_distance(ref, hyp) / len(ref)
