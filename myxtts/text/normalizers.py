"""Text normalisation for English ("en") and Persian ("fa"; in :mod:`myxtts.text.persian`).

``normalize_text(text, language)`` returns lower-case text whose only punctuation is
``. , ? ! ; : ' -``, with numbers, currency and common abbreviations spelled out and
whitespace collapsed. The output is what the character front-end tokenises and what
the phonemizer reads.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Callable

from myxtts.config.config import LANGUAGES as SUPPORTED_LANGUAGES  # the one list of languages

__all__ = [
    "SUPPORTED_LANGUAGES",
    "normalize_text",
    "normalize_english",
    "normalize_persian",
    "number_to_words",
    "ordinal_to_words",
    "year_to_words",
    "persian_number_to_words",
    "persian_ordinal_to_words",
]

PUNCTUATION = ".,?!;:"
ZWNJ = "\u200c"

# ---------------------------------------------------------------- English numbers

_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
         "fourteen fifteen sixteen seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = ("", "thousand", "million", "billion", "trillion")
_MAX_SPOKEN = 10 ** 15


def _below_thousand(n: int) -> list[str]:
    words: list[str] = []
    hundreds, rest = divmod(n, 100)
    if hundreds:
        words += [_ONES[hundreds], "hundred"]
    if rest >= 20:
        tens, ones = divmod(rest, 10)
        words.append(_TENS[tens])
        if ones:
            words.append(_ONES[ones])
    elif rest or not words:
        words.append(_ONES[rest])
    return words


def number_to_words(n: int) -> str:
    """Cardinal words for ``n`` (``|n| < 10**15``): 1205 -> "one thousand two hundred five"."""
    if n < 0:
        return "minus " + number_to_words(-n)
    if n >= _MAX_SPOKEN:
        raise ValueError(f"number {n} is too large to spell out (limit {_MAX_SPOKEN - 1})")
    if n == 0:
        return "zero"
    groups: list[str] = []
    scale = 0
    while n:
        n, chunk = divmod(n, 1000)
        if chunk:
            words = _below_thousand(chunk)
            if _SCALES[scale]:
                words.append(_SCALES[scale])
            groups.insert(0, " ".join(words))
        scale += 1
    return " ".join(groups)


_ORDINAL_IRREGULAR = {"one": "first", "two": "second", "three": "third", "five": "fifth",
                      "eight": "eighth", "nine": "ninth", "twelve": "twelfth"}


def ordinal_to_words(n: int) -> str:
    """Ordinal English words, e.g. 21 -> "twenty first"."""
    words = number_to_words(n).split()
    last = words[-1]
    if last in _ORDINAL_IRREGULAR:
        words[-1] = _ORDINAL_IRREGULAR[last]
    elif last.endswith("y"):
        words[-1] = last[:-1] + "ieth"
    else:
        words[-1] = last + "th"
    return " ".join(words)


def year_to_words(year: int) -> str:
    """A year as spoken, e.g. 1984 -> "nineteen eighty four", 1905 -> "nineteen oh five"."""
    if year < 1000 or year > 9999 or 2000 <= year < 2010:
        return number_to_words(year)
    high, low = divmod(year, 100)
    if low == 0:
        return number_to_words(high) + " hundred"
    if low < 10:
        return f"{number_to_words(high)} oh {number_to_words(low)}"
    return f"{number_to_words(high)} {number_to_words(low)}"


def _plural(words: str) -> str:
    head, _, last = words.rpartition(" ")
    last = last[:-1] + "ies" if last.endswith("y") else last + "s"
    return f"{head} {last}" if head else last


def _digits_to_words(digits: str) -> str:
    return " ".join(_ONES[int(d)] for d in digits)


def _cardinal_or_digits(digits: str) -> str:
    """Cardinal words; numbers too long to say as a cardinal are read digit by digit."""
    if len(digits) > 15:
        return _digits_to_words(digits)
    return number_to_words(int(digits))


def _integer_words(digits: str) -> str:
    """A bare integer: four-digit numbers that look like years are read as years."""
    if len(digits) == 4 and not digits.startswith("0") and 1100 <= int(digits) <= 2099:
        return year_to_words(int(digits))
    if len(digits) > 1 and digits.startswith("0"):
        return _digits_to_words(digits)
    return _cardinal_or_digits(digits)


def _decimal_words(number: str) -> str:
    whole, _, frac = number.partition(".")
    words = _cardinal_or_digits(whole or "0")
    return f"{words} point {_digits_to_words(frac)}" if frac else words


# ---------------------------------------------------------------- English text

_CURRENCIES = {"$": ("dollar", "dollars", "cent", "cents"),
               "£": ("pound", "pounds", "penny", "pence"),
               "€": ("euro", "euros", "cent", "cents")}

# Titles are always followed by a name, so their period never ends a sentence.
_TITLES = {"mr": "mister", "mrs": "missus", "ms": "miss", "prof": "professor",
           "capt": "captain", "gen": "general", "col": "colonel", "lt": "lieutenant",
           "sgt": "sergeant", "maj": "major", "gov": "governor", "rev": "reverend",
           "hon": "honorable", "mt": "mount", "ft": "fort"}
# Other abbreviations may end a sentence; their period is kept before a capital or at the end.
_ABBREVIATIONS = {"jr": "junior", "sr": "senior", "ave": "avenue", "rd": "road",
                  "blvd": "boulevard", "co": "company", "corp": "corporation",
                  "inc": "incorporated", "ltd": "limited", "dept": "department",
                  "vs": "versus", "etc": "et cetera", "approx": "approximately",
                  "e.g": "for example", "i.e": "that is"}
# Ambiguous ones: the first reading before a capitalised word, the second otherwise.
_AMBIGUOUS = {"st": ("saint", "street"), "dr": ("doctor", "drive")}

_ABBREV_RE = re.compile(
    r"(?<![\w.])(" + "|".join(sorted((re.escape(a) for a in
                                      [*_TITLES, *_ABBREVIATIONS, *_AMBIGUOUS]),
                                     key=len, reverse=True)) + r")\.(?=(\s*)(\S?))",
    re.IGNORECASE)


_FUNCTION_WORDS = {"the", "a", "an", "in", "at", "on", "to", "from", "near", "by", "and",
                   "or", "with", "of", "for", "visit", "see"}


def _period_kept(following: str) -> str:
    """The abbreviation's period also ends the sentence before a capital or at the end."""
    return "." if not following or following[:1].isupper() else ""


def _expand_abbreviation(match: re.Match[str]) -> str:
    key = match.group(1).lower()
    following = match.group(3)
    if key in _TITLES:
        return _TITLES[key]
    if key in _AMBIGUOUS:
        title, place = _AMBIGUOUS[key]
        before = match.string[:match.start()].split()
        previous = before[-1] if before else ""
        after_name = (previous[:1].isupper() and previous[-1:].isalpha()
                      and previous.lower() not in _FUNCTION_WORDS)
        if following[:1].isupper() and not after_name:
            return title                                     # "Dr. Smith", "St. Peter"
        return place + _period_kept(following)                # "Elm Dr.", "Baker St."
    return _ABBREVIATIONS[key] + _period_kept(following)


def _currency(match: re.Match[str]) -> str:
    one, many, sub_one, sub_many = _CURRENCIES[match.group(1)]
    amount = match.group(2).replace(",", "")
    scale = match.group(3)
    if scale:
        return f"{_decimal_words(amount)} {scale.lower()} {many}"
    whole, _, frac = amount.partition(".")
    units = int(whole or "0")
    cents = int((frac + "00")[:2]) if frac else 0
    parts = []
    if units or not cents:
        parts.append(f"{number_to_words(units)} {one if units == 1 else many}")
    if cents:
        parts.append(f"{number_to_words(cents)} {sub_one if cents == 1 else sub_many}")
    return " and ".join(parts)


def _clock(match: re.Match[str]) -> str:
    hour, minute, meridiem = int(match.group(1)), int(match.group(2) or 0), match.group(3)
    if minute == 0:
        words = number_to_words(hour) + ("" if meridiem else " o'clock")
    elif minute < 10:
        words = f"{number_to_words(hour)} oh {number_to_words(minute)}"
    else:
        words = f"{number_to_words(hour)} {number_to_words(minute)}"
    if meridiem:
        words += f" {meridiem.lower()} m" + (_period_kept(match.group(5)) if match.group(4) else "")
    return words


def _decade(match: re.Match[str]) -> str:
    digits = match.group(1)
    if len(digits) == 2:
        return _plural(number_to_words(int(digits)))
    return _plural(_integer_words(digits))


_QUOTE_MAP = str.maketrans({"\u2018": "'", "\u2019": "'", "\u02bc": "'", "`": "'", "\u00b4": "'",
                            "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u00ab": '"',
                            "\u00bb": '"', "\u2013": "-", "\u2212": "-", "\u2010": "-",
                            "\u2011": "-"})

_AMOUNT = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"   # with or without thousands commas

_EN_SUBSTITUTIONS: list[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]] = [
    (re.compile(r"(?<=\d)\s?-\s?(?=\d)"), " to "),              # numeric ranges
    (re.compile(r"\u2014|\s-{2,}\s?|\s-\s"), ", "),          # dashes used as pauses
    (re.compile(r"[(\[{]"), ", "),
    (re.compile(r"[)\]}]"), ", "),
    (re.compile(r"\.{2,}"), "."),
    (_ABBREV_RE, _expand_abbreviation),
    (re.compile(r"\bno\.\s?(?=\d)", re.IGNORECASE), "number "),
    (re.compile(r"#\s?(?=\d)"), "number "),
    (re.compile(rf"([$£€])\s?({_AMOUNT})(?:\s?(thousand|million|billion|trillion)\b)?",
                re.IGNORECASE), _currency),
    (re.compile(rf"({_AMOUNT})\s?%"),
     lambda m: _decimal_words(m.group(1).replace(",", "")) + " percent"),
    (re.compile(r"\b\d{1,3}(?:,\d{3})+(?:\.\d+)?"),          # 1,234 is never a year
     lambda m: " " + _decimal_words(m.group(0).replace(",", "")) + " "),
    (re.compile(r"\b(\d{1,2}):(\d{2})(?:\s?([ap])\.?m\b(\.)?(?=\s*(\S?)))?", re.IGNORECASE),
     _clock),
    (re.compile(r"\b(\d{1,2})()\s?([ap])\.?m\b(\.)?(?=\s*(\S?))", re.IGNORECASE), _clock),
    (re.compile(r"\b(\d+)(?:st|nd|rd|th)\b", re.IGNORECASE),
     lambda m: ordinal_to_words(int(m.group(1)))),
    (re.compile(r"(?<![\w'])'?(\d{2}|\d{4})s\b"), _decade),
    (re.compile(r"(?<![\w.])-(?=\d)"), "minus "),
    (re.compile(r"\d*\.\d+"), lambda m: _decimal_words(m.group(0))),
    (re.compile(r"\d+"), lambda m: " " + _integer_words(m.group(0)) + " "),
    (re.compile(r"&"), " and "),
    (re.compile(r"@"), " at "),
    (re.compile(r"\+"), " plus "),
    (re.compile(r"="), " equals "),
]


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


# ---------------------------------------------------------------- shared tidy-up

_PUNCT_STRENGTH = {c: i for i, c in enumerate(",:;.!?")}
_PUNCT_RUN_RE = re.compile(r"\s*([.,?!;:](?:\s*[.,?!;:])*)")


def _tidy(text: str, letters: str) -> str:
    """Keep only ``letters`` and allowed punctuation; tidy apostrophes, hyphens, spacing."""
    allowed = set(letters) | set(PUNCTUATION) | {"'", "-", " "}
    text = "".join(c if c in allowed else " " for c in text)
    word = f"[{re.escape(letters)}]"
    text = re.sub(rf"(?<!{word})'|'(?!{word})", " ", text)     # quotes, not contractions
    text = re.sub(rf"(?<!{word})-+|-+(?!{word})", " ", text)     # hyphens only inside words
    text = re.sub(r"-{2,}", "-", text)

    def strongest(match: re.Match[str]) -> str:
        marks = [c for c in match.group(1) if c in _PUNCT_STRENGTH]
        return max(marks, key=_PUNCT_STRENGTH.__getitem__) + " "

    text = _PUNCT_RUN_RE.sub(strongest, text)
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"^[\s.,?!;:]+", "", text)                  # no leading punctuation
    return text


_EN_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def normalize_english(text: str) -> str:
    """Normalise English text (see module docstring)."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTE_MAP)
    text = text.replace('"', " ")
    for pattern, replacement in _EN_SUBSTITUTIONS:
        text = pattern.sub(replacement, text)
    text = _strip_accents(text).lower()
    return _tidy(text, _EN_LETTERS)


# ---------------------------------------------------------------- Persian

# Defined in myxtts.text.persian, which builds on the helpers above; re-exported here
# lazily (PEP 562), so either module can be imported first.
_PERSIAN_NAMES = ("PERSIAN_LETTERS", "normalize_persian", "persian_number_to_words",
                  "persian_ordinal_to_words")


def __getattr__(name: str):
    if name in _PERSIAN_NAMES:
        from myxtts.text import persian
        return getattr(persian, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _normalizers() -> dict[str, Callable[[str], str]]:
    from myxtts.text.persian import normalize_persian
    return {"en": normalize_english, "fa": normalize_persian}


def normalize_text(text: str, language: str) -> str:
    """Normalise ``text`` for ``language`` ("en" or "fa")."""
    try:
        normalizer = _normalizers()[language]
    except KeyError:
        raise ValueError(f"unsupported language {language!r} for text normalisation; "
                         f"expected one of {', '.join(SUPPORTED_LANGUAGES)}") from None
    return normalizer(text)
