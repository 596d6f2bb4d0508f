"""Persian text: ordinals, ZWNJ, mixed-script lines, per-language tokenising, Persian demo."""

from __future__ import annotations

import hashlib
from types import SimpleNamespace

import pytest

from myxtts.config.config import TextConfig
from myxtts.text.normalizers import normalize_text, persian_ordinal_to_words
from myxtts.text.tokenizer import Tokenizer

ZWNJ = "\u200c"
ZWJ = "\u200d"
ZWSP = "\u200b"


# ------------------------------------------------------------------ ordinals

@pytest.mark.parametrize("n, suffix, words", [
    (1, "م", "یکم"), (2, "م", "دوم"), (3, "م", "سوم"), (9, "م", "نهم"), (10, "م", "دهم"),
    (13, "م", "سیزدهم"), (21, "م", "بیست و یکم"), (23, "م", "بیست و سوم"),
    (30, "م", "سی" + ZWNJ + "ام"), (100, "م", "صدم"), (1000, "م", "هزارم"),
    (1, "مین", "نخستین"), (2, "مین", "دومین"), (3, "مین", "سومین"),
    (21, "مین", "بیست و یکمین"), (30, "مین", "سی" + ZWNJ + "امین"),
])
def test_persian_ordinal_words(n, suffix, words):
    assert persian_ordinal_to_words(n, suffix) == words


def test_persian_ordinal_rejects_other_suffixes():
    with pytest.raises(ValueError, match="suffix"):
        persian_ordinal_to_words(3, "th")


# Sentences as people write them, and what the normaliser must make of them.
PERSIAN_TABLE = [
    # digit ordinals: Persian and Latin digits, "ام", "اُم", ZWNJ before the suffix, "مین"
    ("امروز ۲۱ام ماه است.", "امروز بیست و یکم ماه است."),
    ("امروز 21ام ماه است.", "امروز بیست و یکم ماه است."),
    ("او ۳ام شد.", "او سوم شد."),
    ("جلسه‌ی ۱ام فردا است.", "جلسه" + ZWNJ + "ی یکم فردا است."),
    ("روز ۲۱اُم بود.", "روز بیست و یکم بود."),
    ("روز ۲۱" + ZWNJ + "ام بود.", "روز بیست و یکم بود."),
    ("این ۲۱مین سال است.", "این بیست و یکمین سال است."),
    ("او ۱مین نفر بود.", "او نخستین نفر بود."),
    ("طبقه‌ی ۳۰ام", "طبقه" + ZWNJ + "ی سی" + ZWNJ + "ام"),
    # a number followed by a word that only starts with "ام" is a cardinal
    ("۲۳ امید داشت.", "بیست و سه امید داشت."),
    # ZWNJ: kept inside words, lookalikes replaced, repeats collapsed, stray ones dropped
    ("کتاب" + ZWJ + "ها را آوردم.", "کتاب" + ZWNJ + "ها را آوردم."),
    ("کتاب" + ZWSP + "ها را آوردم.", "کتاب" + ZWNJ + "ها را آوردم."),
    ("کتاب" + ZWNJ * 3 + "ها", "کتاب" + ZWNJ + "ها"),
    ("سلام" + ZWNJ + " دوست من", "سلام دوست من"),
    ("سلام " + ZWNJ + "دوست من", "سلام دوست من"),
    # the verb prefix "می" / "نمی" written apart is joined with ZWNJ
    ("من هر روز می روم.", "من هر روز می" + ZWNJ + "روم."),
    ("او نمی خواهد بیاید.", "او نمی" + ZWNJ + "خواهد بیاید."),
    ("ما می  خوانیم و تو نمی‌خوانی.", "ما می" + ZWNJ + "خوانیم و تو نمی" + ZWNJ + "خوانی."),
    # mixed script: Latin words go through the English normaliser
    ("من با Dr. Smith در Google کار می کنم.",
     "من با doctor smith در google کار می" + ZWNJ + "کنم."),
    ("فایل README را باز کن.", "فایل readme را باز کن."),
    # everything together
    ("در سال ۱۴۰۲، ۵۰٪ از دانشجویان ۲ام شدند؛ آیا درست است؟",
     "در سال هزار و چهارصد و دو, پنجاه درصد از دانشجویان دوم شدند; آیا درست است?"),
]


@pytest.mark.parametrize("raw, expected", PERSIAN_TABLE)
def test_persian_normalisation_table(raw, expected):
    assert normalize_text(raw, "fa") == expected


def test_english_normalisation_is_unchanged_by_persian_rules():
    assert normalize_text("The 21st of May, 1984.", "en") == \
        "the twenty first of may, nineteen eighty four."


# ------------------------------------------------------------------ tokenizer per language

def bilingual(frontend: str = "phonemes") -> TextConfig:
    return TextConfig(frontend=frontend, language="en", languages="en,fa")


def test_language_list_defaults_to_the_default_language():
    assert TextConfig().language_list() == ("en",)
    assert TextConfig(language="fa").language_list() == ("fa",)
    assert bilingual().language_list() == ("en", "fa")
    assert TextConfig(languages=" fa , en ").languages == "fa,en"


@pytest.mark.parametrize("languages, message", [
    ("en,de", "unknown language 'de'"), ("en,en", "a language is listed twice")])
def test_bad_language_lists_are_named(languages, message):
    from myxtts.config.config import ConfigError
    with pytest.raises(ConfigError, match=f"text.languages: {message}"):
        TextConfig(languages=languages)


def test_each_text_uses_its_own_language():
    tokenizer = Tokenizer(bilingual())
    en, fa = tokenizer.to_symbol_strings(["Hello.", "سلام."], languages=["en", "fa"])
    assert en == tokenizer.to_symbol_string("Hello.")          # default language: English
    assert fa == tokenizer.to_symbol_string("سلام.", "fa")
    assert "ɑ" in fa and fa != en
    assert tokenizer.language_id("en") == 0 and tokenizer.language_id("fa") == 1
    assert tokenizer.language_id(None) == 0


def test_latin_words_inside_persian_get_english_phonemes():
    """espeak-ng's Persian voice reads Latin words with its English rules (voice "en")."""
    from myxtts.text.phonemizer import EspeakPhonemizer

    tokenizer = Tokenizer(bilingual())
    mixed = tokenizer.to_symbol_string("من با laptop کار می کنم.", "fa")
    assert EspeakPhonemizer("en").phonemize("laptop") in mixed
    assert "ɒ" in mixed and "ɒ" not in tokenizer.to_symbol_string("من با کار می کنم.", "fa")
    assert "(" not in mixed
    assert all(c in tokenizer.symbols for c in mixed)


def test_characters_frontend_shares_one_table_for_both_languages():
    tokenizer = Tokenizer(bilingual("characters"))
    ids_en = tokenizer.encode("Hi.")
    ids_fa = tokenizer.encode("سلام.", "fa")
    assert tokenizer.decode(ids_en) == "hi." and tokenizer.decode(ids_fa) == "سلام."
    # an English-only character model keeps its old (Latin-only) table
    assert Tokenizer(TextConfig(frontend="characters")).num_symbols < tokenizer.num_symbols


def test_unknown_language_names_it_and_the_known_ones():
    tokenizer = Tokenizer(SimpleNamespace(frontend="characters", language="en", espeak_voice=""))
    with pytest.raises(ValueError, match=r"language 'fa' is not known.*knows en"):
        tokenizer.encode("سلام", "fa")
    with pytest.raises(ValueError, match=r"text.languages: unsupported language 'xx'"):
        Tokenizer(SimpleNamespace(frontend="characters", language="en", espeak_voice="",
                                  language_list=lambda: ("en", "xx")))


# ------------------------------------------------------------------ Persian demo

def test_persian_sentences_are_varied_and_held_out_text_is_disjoint():
    from myxtts.data.demo_sentences import generate_sentences, held_out_sentences

    pairs = generate_sentences(300, language="fa")
    held = held_out_sentences(40, language="fa")
    assert len({n for _, n in pairs}) == 300
    assert not {t for t, _ in pairs} & set(held)
    normalized = " ".join(n for _, n in pairs)
    assert not any(c.isdigit() for c in normalized)             # digits were spelled out
    assert ZWNJ in normalized and "می" + ZWNJ in normalized
    assert any(c in "۰۱۲۳۴۵۶۷۸۹" for t, _ in pairs for c in t)  # the raw text has digits
    assert all(n == normalize_text(t, "fa") for t, n in pairs)


def test_english_demo_sentences_are_unchanged():
    """The English pool is what earlier versions wrote (figures made on it stay valid)."""
    from myxtts.data.demo_sentences import generate_sentences, held_out_sentences

    text = "\n".join(f"{t}|{n}" for t, n in generate_sentences(50)) + "\n".join(
        held_out_sentences(10))
    assert hashlib.sha1(text.encode()).hexdigest() == ENGLISH_POOL_SHA1


#: Measured on the sentences of the version before Persian was added (commit 696ed83).
ENGLISH_POOL_SHA1 = "fbca47c1256433a67af8fcdc5d4eaf249472a23a"


def test_demo_language_voices():
    from myxtts.data.demo import DEFAULT_VOICES, PERSIAN_VOICES, voices_for

    assert voices_for("en") == {"en": DEFAULT_VOICES}
    assert voices_for("en+fa") == {"en": DEFAULT_VOICES, "fa": PERSIAN_VOICES}
    assert voices_for("en+fa", ["fa+m3", "en-us"]) == {"en": ("en-us",), "fa": ("fa+m3",)}
    with pytest.raises(ValueError, match="no fa voice"):
        voices_for("en+fa", ["en-us"])
    with pytest.raises(ValueError, match="expected one of en, fa, en\\+fa"):
        voices_for("de")


def test_bilingual_demo_has_a_language_column_per_row(tmp_path):
    from myxtts.data.demo import make_demo_dataset
    from myxtts.data.formats import read_corpus

    out = make_demo_dataset(tmp_path / "d", num_utterances=6, language="en+fa",
                            voices=["en-us", "fa+f2"])
    rows = read_corpus(out).rows
    assert [r.language for r in rows] == ["en", "fa"] * 3
    assert [r.speaker for r in rows] == ["en-us", "fa+f2"] * 3
    assert all((out / "wavs" / f"{r.id}.wav").stat().st_size > 1000 for r in rows)
    lines = (out / "metadata.csv").read_text(encoding="utf-8").splitlines()
    assert all(line.count("|") == 4 for line in lines)
