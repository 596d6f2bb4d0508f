"""Check every row before training and turn the valid ones into examples.

Text checks (in order): a safe id, no duplicate id, a language the model knows (the
row's own or the dataset default), text left after normalisation in that language, no
characters the normaliser drops, every symbol in the symbol table. Audio checks: the
file exists, decodes, has samples, is not silent, lasts ``data.min_duration_s`` to
``data.max_duration_s`` and has at least one frame per token. Each dropped row is recorded
in a :class:`~myxtts.data.report.ValidationReport`; resampling and mixing down are noted
once per kind.
"""

from __future__ import annotations

import functools
import logging
import unicodedata
from dataclasses import dataclass

import numpy as np

from myxtts.config.config import AudioConfig, DataConfig, TextConfig
from myxtts.data.features_cache import AudioResult, Example, extract_audio
from myxtts.data.metadata import Utterance, id_problem
from myxtts.data.report import ValidationReport
from myxtts.text.normalizers import SUPPORTED_LANGUAGES, normalize_text

log = logging.getLogger(__name__)


def settle_languages(text: TextConfig, rows: list[Utterance]) -> tuple[str, ...]:
    """Fix the model's languages from the data when ``text.languages`` is unset.

    The languages are those of the rows (a row without its own language is in
    ``text.language``), the default first: one language keeps ``text.languages`` empty
    (a model without a language embedding, as before); two set it, e.g. "en,fa". When no
    row is in ``text.language``, the data's only language becomes the default. Unsupported
    codes are left for validation to report. Returns ``text.language_list()``.
    """
    if text.languages:
        return text.language_list()
    found = {u.language or text.language for u in rows} & set(SUPPORTED_LANGUAGES)
    if found and text.language not in found:
        new_default = sorted(found)[0]
        log.info("no row is in the default language %r: using %r (set text.language to "
                 "choose)", text.language, new_default)
        text.language = new_default
    if len(found) > 1:
        text.languages = ",".join([text.language] + sorted(found - {text.language}))
        log.info("languages in the data: %s (default %s); the model gets a language "
                 "embedding", text.languages, text.language)
    return text.language_list()


@dataclass
class CheckedRow:
    """A row that passed the checks so far, with its token ids."""

    utt: Utterance
    tokens: list[int]
    language: str = ""


@functools.lru_cache(maxsize=8192)
def _dropped_by_normaliser(char: str, language: str) -> bool:
    """A letter, digit or symbol that normalisation removes (so it is never spoken)."""
    category = unicodedata.category(char)
    if not (category[0] in "LN" or category in ("So", "Sm", "Sk")):
        return False
    return not normalize_text(char, language).strip()


def _unknown_characters(text: str, language: str) -> list[str]:
    return sorted({c for c in text if _dropped_by_normaliser(c, language)})


def _describe(chars) -> str:
    return ", ".join(f"{c!r} (U+{ord(c):04X})" for c in chars)


def _language_problem(language: str, known: tuple[str, ...]) -> str | None:
    if language not in SUPPORTED_LANGUAGES:
        return (f"language {language!r} is not supported; use one of "
                f"{', '.join(SUPPORTED_LANGUAGES)} (5th metadata column or languages.csv)")
    if language not in known:
        return (f"language {language!r} is not one of the model's languages "
                f"({', '.join(known)}; see text.languages)")
    return None


def _row_problem(utt: Utterance, seen: dict[str, str], language: str,
                 known: tuple[str, ...]) -> tuple[str, str] | None:
    """The first text-side problem of ``utt`` (in ``language``) as ``(reason, detail)``."""
    problem = id_problem(utt.id)
    if problem:
        return "unsafe id", f"{problem}: {utt.id!r}"
    if utt.id in seen:
        return "duplicate id", f"id {utt.id!r} already used at {seen[utt.id]}"
    seen[utt.id] = utt.source or utt.id
    problem = _language_problem(language, known)
    if problem:
        return "unknown language", problem
    if not normalize_text(utt.text, language):
        return "empty text", f"no text left after normalisation ({language}) of {utt.text!r}"
    unknown = _unknown_characters(utt.text, language)
    if unknown:
        return "unknown characters", (f"{_describe(unknown)} cannot be normalised "
                                      f"({language}) in {utt.text!r}")
    return None


def check_text(rows: list[Utterance], tokenizer, report: ValidationReport,
               seen: dict[str, str]) -> list[CheckedRow]:
    """Rows whose id, language and text are usable, with token ids; the others go to
    ``report``.

    ``seen`` maps ids already used (also by other parts of the data) to where they were.
    """
    candidates, languages = [], []
    known = tuple(getattr(tokenizer, "languages", (tokenizer.language,)))
    for utt in rows:
        language = utt.language or tokenizer.language
        problem = _row_problem(utt, seen, language, known)
        if problem:
            report.drop(problem[0], utt, problem[1])
        else:
            candidates.append(utt)
            languages.append(language)
    table = tokenizer.symbols
    kept = []
    strings = tokenizer.to_symbol_strings([u.text for u in candidates], languages=languages)
    for utt, language, symbols in zip(candidates, languages, strings):
        unknown = sorted({c for c in symbols if table.get_id(c) is None})
        if not symbols:
            report.drop("empty text", utt, f"{utt.text!r} gives no symbols")
        elif unknown:
            report.drop("unknown symbols", utt, f"{_describe(unknown)} not in the symbol "
                                                f"table (from {utt.text!r})")
        else:
            kept.append(CheckedRow(utt, [table.id_of(c) for c in symbols], language))
    return kept


def _audio_problem(row: CheckedRow, result: AudioResult, audio: AudioConfig,
                   data: DataConfig) -> tuple[str, str] | None:
    if result.reason:
        return result.reason, result.detail
    seconds = result.frames * audio.hop_length / audio.sample_rate
    path = row.utt.wav_path
    if seconds < data.min_duration_s:
        return "too short", f"{path}: {seconds:.2f} s < data.min_duration_s={data.min_duration_s:g}"
    if seconds > data.max_duration_s:
        return "too long", f"{path}: {seconds:.2f} s > data.max_duration_s={data.max_duration_s:g}"
    if result.frames < len(row.tokens):
        return "fewer frames than tokens", (f"{path}: {result.frames} frames for "
                                            f"{len(row.tokens)} tokens")
    return None


def check_audio(rows: list[CheckedRow], results: list[AudioResult], audio: AudioConfig,
                data: DataConfig, report: ValidationReport) -> list[tuple[CheckedRow, AudioResult]]:
    """Rows whose audio is usable; the others go to ``report``, fixes are noted."""
    kept = []
    for row, result in zip(rows, results):
        problem = _audio_problem(row, result, audio, data)
        if problem:
            report.drop(problem[0], row.utt, problem[1])
            continue
        if result.sample_rate != audio.sample_rate:
            report.note(f"resampled {result.sample_rate} Hz -> {audio.sample_rate} Hz", row.utt)
        if result.channels > 1:
            report.note(f"mixed down {result.channels} channels to mono", row.utt)
        kept.append((row, result))
    return kept


def validate_rows(rows: list[Utterance], tokenizer, audio: AudioConfig, data: DataConfig,
                  report: ValidationReport, seen: dict[str, str] | None = None,
                  cache_dir=None, want_mel: bool = True) -> list[tuple[CheckedRow, AudioResult]]:
    """Run every check on ``rows``; returns the valid rows with their audio results."""
    report.rows += len(rows)
    checked = check_text(rows, tokenizer, report, {} if seen is None else seen)
    results = extract_audio([r.utt for r in checked], audio, cache_dir, data.num_workers,
                            want_mel=want_mel)
    return check_audio(checked, results, audio, data, report)


def prepare_examples(rows: list[Utterance], tokenizer, audio: AudioConfig, data: DataConfig,
                     cache_dir, report: ValidationReport,
                     seen: dict[str, str] | None = None) -> list[Example]:
    """The valid rows of ``rows`` as examples (token ids + cached log-mels)."""
    valid = validate_rows(rows, tokenizer, audio, data, report, seen, cache_dir)
    return [Example(row.utt.id, row.utt.speaker, row.utt.text,
                    np.asarray(row.tokens, np.int32), result.mel, row.language,
                    tokenizer.language_id(row.language))
            for row, result in valid]
