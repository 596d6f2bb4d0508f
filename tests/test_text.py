"""Text front-end: normalisers, espeak-ng phonemizer, symbol table, tokenizer."""

from __future__ import annotations

import logging
import subprocess
from types import SimpleNamespace

import pytest

from myxtts.text import phonemizer as phonemizer_module
from myxtts.text.normalizers import (normalize_text, number_to_words, ordinal_to_words,
                                     persian_number_to_words, year_to_words)
from myxtts.text.phonemizer import EspeakPhonemizer
from myxtts.text.symbols import PAD, SymbolTable, default_symbols
from myxtts.text.tokenizer import Tokenizer

ZWNJ = "\u200c"


def text_config(frontend: str = "phonemes", language: str = "en", voice: str = ""):
    return SimpleNamespace(frontend=frontend, language=language, espeak_voice=voice)


# ------------------------------------------------------------------ English normaliser

@pytest.mark.parametrize("number, words", [
    (0, "zero"), (13, "thirteen"), (40, "forty"), (105, "one hundred five"),
    (2024, "two thousand twenty four"),
    (999999, "nine hundred ninety nine thousand nine hundred ninety nine"),
    (1000001, "one million one"), (-7, "minus seven"),
])
def test_number_to_words(number, words):
    assert number_to_words(number) == words


def test_ordinals_and_years():
    assert [ordinal_to_words(n) for n in (1, 2, 3, 12, 20, 21, 100)] == [
        "first", "second", "third", "twelfth", "twentieth", "twenty first", "one hundredth"]
    assert year_to_words(1984) == "nineteen eighty four"
    assert year_to_words(1905) == "nineteen oh five"
    assert year_to_words(1900) == "nineteen hundred"
    assert year_to_words(2007) == "two thousand seven"
    assert year_to_words(2019) == "twenty nineteen"


@pytest.mark.parametrize("raw, expected", [
    ("I have 3 cats.", "i have three cats."),
    ("There were 1,234 people in 1984!", "there were one thousand two hundred thirty four "
                                         "people in nineteen eighty four!"),
    ("It costs $12.50, or 50% off.", "it costs twelve dollars and fifty cents, or fifty "
                                     "percent off."),
    ("Only $1 and £2?", "only one dollar and two pounds?"),
    ("The 21st time: 3.5 miles", "the twenty first time: three point five miles"),
    ("Dr. Smith met Mr. Jones on Baker St.", "doctor smith met mister jones on baker street."),
    ("We saw St. Peter's church; Elm Dr. was closed.",
     "we saw saint peter's church; elm drive was closed."),
    ("Apples, pears, etc. Then we left.", "apples, pears, et cetera. then we left."),
    ("  Lots   of\tspace \n here  ", "lots of space here"),
    ("“Quoted” text — with a dash (and brackets)...",
     "quoted text, with a dash, and brackets."),
    ("It's a well-known café at 5:30.", "it's a well-known cafe at five thirty."),
])
def test_english_normalisation(raw, expected):
    assert normalize_text(raw, "en") == expected


def test_english_keeps_only_allowed_characters():
    out = normalize_text("Wow!! #5 <b>bold</b> & 7 * 8 = ~56 ^_^ ... ok?", "en")
    assert set(out) <= set("abcdefghijklmnopqrstuvwxyz .,?!;:'-")
    assert "number five" in out and "and seven" in out


def test_unknown_language_is_named():
    with pytest.raises(ValueError, match="'de'"):
        normalize_text("hallo", "de")


# ------------------------------------------------------------------ Persian normaliser

def test_persian_letters_digits_and_diacritics():
    out = normalize_text("كتابِ عربي ۱۲۳ و ٤٥", "fa")
    assert "ك" not in out and "ي" not in out
    assert out == "کتاب عربی صد و بیست و سه و چهل و پنج"
    assert normalize_text("سال 2024", "fa") == "سال دو هزار و بیست و چهار"
    assert persian_number_to_words(1000) == "هزار"
    assert persian_number_to_words(0) == "صفر"


def test_persian_zwnj_and_punctuation():
    raw = "می" + ZWNJ + "خواهم" + ZWNJ + ZWNJ + " سلام" + ZWNJ + " «خوب»؟ بله، ممنون؛"
    out = normalize_text(raw, "fa")
    assert out == "می" + ZWNJ + "خواهم سلام خوب? بله, ممنون;"


# ------------------------------------------------------------------ phonemizer

@pytest.fixture(scope="module")
def en_phonemizer():
    return EspeakPhonemizer("en-us")


def test_phonemizer_keeps_punctuation_as_tokens(en_phonemizer):
    out = en_phonemizer.phonemize("Hello, world. How are you?")
    tokens = out.split(" ")
    assert tokens[1] == "," and tokens[3] == "." and tokens[-1] == "?"
    assert tokens[0] and tokens[1] and "ˈ" in out          # IPA with stress marks
    assert "hello" not in out


def test_phonemizer_persian():
    out = EspeakPhonemizer("fa").phonemize("سلام دنیا، قلم computer خوب است؟")
    assert out.endswith(" ?") and " , " in out
    assert not any("\u0600" <= c <= "\u06ff" for c in out)    # no Persian script left
    assert "(" not in out and "1" not in out                   # language switches, "q1" fixed
    assert "ɢ" in out


def test_batch_matches_single_calls(monkeypatch):
    sentences = [f"The {w} arrived at the station; it was late." for w in
                 ("train", "bus", "ferry", "courier", "parcel")]
    sentences += ["a " + " ".join(["very"] * 60) + " long clause", "don't - stop", "'"]
    single = [EspeakPhonemizer("en-us").phonemize(s) for s in sentences]
    calls = []
    batcher = EspeakPhonemizer("en-us")
    original = batcher._run
    monkeypatch.setattr(batcher, "_run", lambda lines: calls.append(len(list(lines))) or
                        original(lines))
    assert batcher.phonemize_batch(sentences) == single
    assert calls[0] > 5                      # the short pieces went to one process


def test_line_count_mismatch_falls_back(monkeypatch):
    sentences = ["one two three", "four five", "six seven eight"]
    expected = EspeakPhonemizer("en-us").phonemize_batch(sentences)
    broken = EspeakPhonemizer("en-us")
    original = broken._run

    def drop_last_line(lines):
        lines = list(lines)
        out = original(lines)
        return out[:-1] if len(lines) > 1 else out

    monkeypatch.setattr(broken, "_run", drop_last_line)
    assert broken.phonemize_batch(sentences) == expected


def test_results_are_cached(monkeypatch, en_phonemizer):
    first = en_phonemizer.phonemize("A cached sentence.")

    def no_process(*args, **kwargs):
        raise AssertionError("espeak-ng ran again for a cached text")

    monkeypatch.setattr(subprocess, "run", no_process)
    assert en_phonemizer.phonemize("A cached sentence.") == first


def test_phonemizer_errors(monkeypatch, en_phonemizer):
    with pytest.raises(ValueError, match="empty"):
        en_phonemizer.phonemize("   ")
    with pytest.raises(RuntimeError, match="apt-get install espeak-ng"):
        EspeakPhonemizer("en-us", executable="espeak-ng-not-installed-here")
    with pytest.raises(RuntimeError, match="xx-nowhere"):
        EspeakPhonemizer("xx-nowhere").phonemize("hello")


# ------------------------------------------------------------------ symbol table

def test_default_tables():
    chars_en = default_symbols("characters", "en")
    chars_fa = default_symbols("characters", "fa")
    phonemes = default_symbols("phonemes", "en")
    for table in (chars_en, chars_fa, phonemes):
        assert table.symbol_of(0) == PAD and table.pad_id == 0
        assert " " in table and "," in table and "?" in table
    assert "ک" in chars_fa and ZWNJ in chars_fa and "ک" not in chars_en
    assert "ˈ" in phonemes and "ʃ" in phonemes and "ɢ" in phonemes
    with pytest.raises(ValueError, match="frontend"):
        default_symbols("graphemes", "en")
    with pytest.raises(ValueError, match="'de'"):
        default_symbols("phonemes", "de")


def test_symbol_table_save_load(tmp_path):
    table = default_symbols("characters", "fa")
    path = table.save(tmp_path / "sub" / "symbols.json")
    assert SymbolTable.load(path) == table
    assert SymbolTable.from_json(table.to_json()) == table
    assert SymbolTable([PAD, "a", "b"]) != SymbolTable([PAD, "b", "a"])


def test_symbol_table_rejects_bad_input(tmp_path):
    with pytest.raises(ValueError, match="padding"):
        SymbolTable(["a", PAD])
    with pytest.raises(ValueError, match="twice"):
        SymbolTable([PAD, "a", "a"])
    with pytest.raises(ValueError, match="one character"):
        SymbolTable([PAD, "ab"])
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="bad.json"):
        SymbolTable.load(bad)
    with pytest.raises(FileNotFoundError, match="missing.json"):
        SymbolTable.load(tmp_path / "missing.json")


# ------------------------------------------------------------------ tokenizer

SENTENCES = ["Dr. Smith paid $12.50 for 3 apples, didn't he?",
             "The quick brown fox jumps over the lazy dog!",
             "In 1984, our neighbour's children sang: la, la, la.",
             "Thoroughly rhythmic zigzags; a pleasure, measure and treasure."]


@pytest.fixture(scope="module")
def phoneme_tokenizer():
    return Tokenizer(text_config("phonemes", "en"))


def test_phoneme_round_trip(phoneme_tokenizer):
    for text in SENTENCES:
        ids = phoneme_tokenizer.encode(text)
        assert 0 not in ids
        assert phoneme_tokenizer.decode(ids) == phoneme_tokenizer.to_symbol_string(text)
    assert phoneme_tokenizer.encode_batch(SENTENCES) == [phoneme_tokenizer.encode(t)
                                                         for t in SENTENCES]
    assert not phoneme_tokenizer.unknown_symbol_counts      # the inventory covers espeak


def test_persian_phonemes_are_all_known():
    tok = Tokenizer(text_config("phonemes", "fa"))
    tok.encode_batch(["کتاب‌ها را روی میز گذاشتم.", "قلم و غذا و ژاله، عالی است؟",
                      "ذرت، ظرف، ثروت، صبر، ضرر، طلا، ۱۲ و computer"])
    assert tok.voice == "fa" and not tok.unknown_symbol_counts


def test_character_round_trip():
    tok = Tokenizer(text_config("characters", "fa"))
    text = "می‌خواهم ۲ كتاب بخرم!"
    assert tok.decode(tok.encode(text)) == normalize_text(text, "fa")
    en = Tokenizer(text_config("characters", "en"))
    assert en.decode(en.encode("Hi, Dr. Who!")) == "hi, doctor who!"
    assert en.decode([0] + en.encode("ok") + [0, 0]) == "ok"      # padding is skipped


def test_unknown_symbols_are_counted_and_dropped(caplog):
    table = SymbolTable([s for s in default_symbols("characters", "en").symbols if s != "z"])
    tok = Tokenizer(text_config("characters", "en"), symbols=table)
    with caplog.at_level(logging.WARNING, logger="myxtts.text.tokenizer"):
        ids = tok.encode("zebra zoo")
        tok.encode("fizz")
    assert tok.decode(ids) == "ebra oo"
    assert tok.unknown_symbol_counts == {"z": 4}
    warnings = [r for r in caplog.records if "'z'" in r.getMessage()]
    assert len(warnings) == 1                                       # once per new symbol


def test_empty_text(caplog):
    tok = Tokenizer(text_config("characters", "en"))
    with pytest.raises(ValueError, match=r"'\.\.\. !!'"):
        tok.encode("... !!")
    with caplog.at_level(logging.WARNING, logger="myxtts.text.tokenizer"):
        batch = tok.encode_batch(["fine", "  ", "also fine"])
    assert batch[1] == [] and batch[0] and batch[2]
    assert tok.empty_texts == 1 and "empty after normalisation" in caplog.text


def test_bad_config_is_named():
    with pytest.raises(ValueError, match="text.frontend"):
        Tokenizer(text_config("graphemes", "en"))
    with pytest.raises(ValueError, match="text.language"):
        Tokenizer(text_config("characters", "de"))


def test_missing_espeak_gives_install_hint(monkeypatch):
    monkeypatch.setattr(phonemizer_module.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="apt-get install espeak-ng"):
        Tokenizer(text_config("phonemes", "en"))
