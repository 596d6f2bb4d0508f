"""Persian text normalisation (re-exported by :mod:`myxtts.text.normalizers`).

Persian letters, digits (Persian, Arabic-Indic, Latin) and digit ordinals spelled out,
ZWNJ tidied, Latin words read by the English normaliser. See docs/PERSIAN.md.
"""

from __future__ import annotations

import re
import unicodedata

from myxtts.text.normalizers import _EN_LETTERS, _MAX_SPOKEN, ZWNJ, _tidy, normalize_english

__all__ = ["PERSIAN_LETTERS", "normalize_persian", "persian_number_to_words",
           "persian_ordinal_to_words"]

PERSIAN_LETTERS = "ءآأؤئابپتثجچحخدذرزژسشصضطظعغفقکگلمنوهیۀ"

_FA_CHAR_MAP = str.maketrans({
    "\u064a": "ی", "\u0649": "ی", "\u06d2": "ی",              # Arabic yeh, alef maksura, yeh barree
    "\u0643": "ک",                                           # Arabic kaf
    "\u0629": "ه", "\u06d5": "ه", "\u06be": "ه", "\u06c1": "ه",  # teh marbuta, ae, heh variants
    "\u0625": "ا", "\u0671": "ا",                            # alef with hamza below, alef wasla
    "\u060c": ",", "\u061b": ";", "\u061f": "?", "\u066a": "%",
    "\u00ab": " ", "\u00bb": " ", "\u2026": ".",
    "\u200e": "", "\u200f": "",                            # direction marks
    "\u066b": ".", "\u066c": ",",                            # Arabic decimal / thousands separators
})
_FA_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")
_FA_TASHKEEL_RE = re.compile("[\u064b-\u065f\u0670\u0640]")  # harakat, superscript alef, tatweel

_FA_ONES = "صفر یک دو سه چهار پنج شش هفت هشت نه".split()
_FA_TEENS = "ده یازده دوازده سیزده چهارده پانزده شانزده هفده هجده نوزده".split()
_FA_TENS = "_ _ بیست سی چهل پنجاه شصت هفتاد هشتاد نود".split()
_FA_HUNDREDS = "_ صد دویست سیصد چهارصد پانصد ششصد هفتصد هشتصد نهصد".split()
_FA_SCALES = ("", "هزار", "میلیون", "میلیارد", "تریلیون")


def _fa_below_thousand(n: int) -> list[str]:
    parts: list[str] = []
    hundreds, rest = divmod(n, 100)
    if hundreds:
        parts.append(_FA_HUNDREDS[hundreds])
    if 10 <= rest < 20:
        parts.append(_FA_TEENS[rest - 10])
    else:
        tens, ones = divmod(rest, 10)
        if tens:
            parts.append(_FA_TENS[tens])
        if ones:
            parts.append(_FA_ONES[ones])
    return parts


def persian_number_to_words(n: int) -> str:
    """Persian words for ``n`` (``|n| < 10**15``), e.g. 123 -> "صد و بیست و سه"."""
    if n < 0:
        return "منفی " + persian_number_to_words(-n)
    if n >= _MAX_SPOKEN:
        raise ValueError(f"number {n} is too large to spell out (limit {_MAX_SPOKEN - 1})")
    if n == 0:
        return _FA_ONES[0]
    groups: list[str] = []
    scale = 0
    while n:
        n, chunk = divmod(n, 1000)
        if chunk:
            words = " و ".join(_fa_below_thousand(chunk))
            if scale == 1 and chunk == 1:
                words = _FA_SCALES[1]                        # "هزار", not "یک هزار"
            elif _FA_SCALES[scale]:
                words += " " + _FA_SCALES[scale]
            groups.insert(0, words)
        scale += 1
    return " و ".join(groups)


def _fa_number(match: re.Match[str]) -> str:
    whole, _, frac = match.group(0).replace(",", "").partition(".")
    if len(whole) > 15:
        words = " ".join(_FA_ONES[int(d)] for d in whole)
    else:
        words = persian_number_to_words(int(whole))
    if frac:
        words += " ممیز " + " ".join(_FA_ONES[int(d)] for d in frac)
    return f" {words} "


def persian_ordinal_to_words(n: int, suffix: str = "م") -> str:
    """Persian ordinal words: ``suffix`` "م" gives 3 -> "سوم", 21 -> "بیست و یکم", 30 -> "سی‌ام";
    "مین" gives 3 -> "سومین", 21 -> "بیست و یکمین", and 1 -> "نخستین"."""
    if suffix not in ("م", "مین"):
        raise ValueError(f"Persian ordinal suffix must be 'م' or 'مین', got {suffix!r}")
    if n == 1 and suffix == "مین":
        return "نخستین"
    head, _, last = persian_number_to_words(n).rpartition(" ")
    if last == "سه":
        last = "سوم"
    elif last.endswith("ی"):                                  # سی -> سی‌ام (a vowel ending)
        last += ZWNJ + "ام"
    else:
        last += "م"
    if suffix == "مین":
        last += "ین"
    return f"{head} {last}" if head else last


# Characters that stand in for ZWNJ by mistake: zero-width space and joiner, soft hyphen,
# word joiner, BOM. Between two letters they become ZWNJ; elsewhere they are dropped.
_ZWNJ_LOOKALIKES = "\u200b\u200d\u00ad\u2060\ufeff"
_FA_LETTER = f"[{PERSIAN_LETTERS}]"
# "۲۱ام", "۲۱اُم" (the damma is stripped first), "۲۱‌ام", "۲۱-ام", "۲۱مین": digit ordinals.
_FA_ORDINAL_RE = re.compile(rf"(\d+)[{ZWNJ}\-]?(ام|مین)(?!{_FA_LETTER})")
# The continuous / negative verb prefix written as a separate word: "می روم" -> "می‌روم".
_FA_MI_PREFIX_RE = re.compile(rf"(?<!{_FA_LETTER})(ن?می)\s+(?={_FA_LETTER}{{2}})")
# A run of Latin words inside Persian text (read by the English normaliser).
_LATIN_RUN_RE = re.compile(r"[A-Za-z][A-Za-z'.\-]*(?:[ \t]+[A-Za-z][A-Za-z'.\-]*)*")


def _fa_ordinal(match: re.Match[str]) -> str:
    digits, suffix = match.group(1), match.group(2)
    if len(digits) > 15:
        return match.group(0)
    return f" {persian_ordinal_to_words(int(digits), 'م' if suffix == 'ام' else suffix)} "


def _fa_zwnj(text: str) -> str:
    """ZWNJ lookalikes become ZWNJ inside a word; repeats collapse; stray ones go."""
    text = re.sub(rf"(?<=\w)[{_ZWNJ_LOOKALIKES}]+(?=\w)", ZWNJ, text)
    text = re.sub(f"[{_ZWNJ_LOOKALIKES}]", "", text)
    text = re.sub(ZWNJ + "+", ZWNJ, text)
    text = _FA_MI_PREFIX_RE.sub(lambda m: m.group(1) + ZWNJ, text)
    return text


def normalize_persian(text: str) -> str:
    """Normalise Persian text: Persian ی/ک, no diacritics, numbers and ordinals spelled out,
    ZWNJ tidied ("می" prefix joined, lookalikes replaced), Latin words read as English.

    Latin words stay Latin (lower-cased, through :func:`normalize_english`, so "Dr." reads
    "doctor"); the Persian espeak-ng voice switches to English pronunciation for them.
    """
    text = unicodedata.normalize("NFKC", text).translate(_FA_CHAR_MAP).translate(_FA_DIGITS)
    text = _FA_TASHKEEL_RE.sub("", text)
    text = _fa_zwnj(text)
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)
    text = re.sub(r"(\d+(?:\.\d+)?)\s?%", r"\1 درصد", text)
    text = _FA_ORDINAL_RE.sub(_fa_ordinal, text)
    text = re.sub(r"\d+(?:\.\d+)?", _fa_number, text)
    text = _LATIN_RUN_RE.sub(lambda m: " " + normalize_english(m.group(0)) + " ", text)
    letters = PERSIAN_LETTERS + _EN_LETTERS
    # A ZWNJ is only meaningful between two letters of a word.
    text = re.sub(rf"{ZWNJ}(?![{letters}])|(?<![{letters}]){ZWNJ}", "", text.lower())
    return _tidy(text, letters + ZWNJ)
