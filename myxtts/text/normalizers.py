"""Text normalisation for English ("en") and Persian ("fa").

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


_NORMALIZERS: dict[str, Callable[[str], str]] = {"en": normalize_english, "fa": normalize_persian}


def normalize_text(text: str, language: str) -> str:
    """Normalise ``text`` for ``language`` ("en" or "fa")."""
    try:
        normalizer = _NORMALIZERS[language]
    except KeyError:
        raise ValueError(f"unsupported language {language!r} for text normalisation; "
                         f"expected one of {', '.join(SUPPORTED_LANGUAGES)}") from None
    return normalizer(text)
