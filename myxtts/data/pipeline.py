"""From datasets to batchers: read, validate, featurise, split, normalise."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from myxtts.audio.features import MelStats
from myxtts.config.config import XTTSConfig
from myxtts.data.batching import Batcher
from myxtts.data.features_cache import Example
from myxtts.data.formats import read_corpus
from myxtts.data.metadata import DatasetError, Utterance
from myxtts.data.report import ValidationReport
from myxtts.data.validation import prepare_examples, settle_languages
from myxtts.text.tokenizer import Tokenizer

log = logging.getLogger(__name__)


@dataclass
class DataBundle:
    """Everything the trainer needs from the data side."""

    tokenizer: Tokenizer
    stats: MelStats
    train: Batcher
    val: Batcher
    train_examples: list[Example]
    val_examples: list[Example]


def split_validation(items: list, fraction: float, minimum: int, seed: int) -> tuple[list, list]:
    """Deterministic train/validation split of items with an ``id`` (same ids for the same
    seed and data)."""
    ordered = sorted(items, key=lambda u: u.id)
    count = max(int(round(len(ordered) * fraction)), minimum)
    if count >= len(ordered):
        raise DatasetError(f"{len(ordered)} utterances are too few to hold out {count} for "
                           f"validation (data.val_fraction / data.min_val_utterances)")
    picked = set(np.random.default_rng(seed).permutation(len(ordered))[:count].tolist())
    train = [u for i, u in enumerate(ordered) if i not in picked]
    val = [u for i, u in enumerate(ordered) if i in picked]
    return train, val


def cache_dir_for(config: XTTSConfig, dataset: str | Path) -> Path:
    if config.data.cache_dir:
        return Path(config.data.cache_dir)
    root = Path(dataset)
    root = root if root.is_dir() else root.parent
    return root / ".myxtts_cache"


def _examples(rows: list[Utterance], report: ValidationReport, config: XTTSConfig,
              tokenizer: Tokenizer, cache_dir: Path, seen: dict[str, str]) -> list[Example]:
    examples = prepare_examples(rows, tokenizer, config.audio, config.data, cache_dir,
                                report, seen)
    if report.clean:
        log.info("data check: %s", report.summary())
    else:
        log.warning("data check: %s", report.text())
    if config.data.strict and not report.clean:
        raise DatasetError(f"{report.source}: {report.dropped} of {report.rows} rows failed "
                           f"validation ({report.counts_text()}); "
                           "data.strict (--strict) makes this fatal")
    if not examples:
        raise DatasetError(f"{report.source}: no valid rows in the {report.part}: all "
                           f"{report.rows} dropped ({report.counts_text()})")
    if report.dropped:
        log.warning("%s: using %d valid rows, %d dropped", report.part, len(examples),
                    report.dropped)
    return examples


def build_data(config: XTTSConfig, train_path: str | Path, val_path: str | Path | None = None,
               tokenizer: Tokenizer | None = None, stats: MelStats | None = None) -> DataBundle:
    """Read, validate and featurise the data, then prepare training and validation batchers.

    Every row is checked first (see :mod:`myxtts.data.validation`); invalid rows are dropped
    and reported, or stop training with ``data.strict``. Without ``tokenizer`` the model's
    languages are fixed from the data (:func:`settle_languages`, updating ``config.text``). ``tokenizer`` and ``stats`` are
    passed when resuming, so the checkpoint's symbol table and mel statistics are reused.
    """
    corpus = read_corpus(train_path, config.data.format)
    val_corpus = read_corpus(val_path, config.data.format) if val_path else None
    val_rows = val_corpus.rows if val_corpus else corpus.val_rows
    if tokenizer is None:  # a resumed run keeps its checkpoint's languages
        settle_languages(config.text, corpus.rows + (val_rows or []))
        tokenizer = Tokenizer(config.text)
    seen: dict[str, str] = {}
    train_ex = _examples(corpus.rows, ValidationReport(corpus.source, corpus.format,
                                                       "training data"),
                         config, tokenizer, cache_dir_for(config, train_path), seen)
    if val_rows is None:
        train_ex, val_ex = split_validation(train_ex, config.data.val_fraction,
                                            config.data.min_val_utterances,
                                            config.training.seed)
    else:
        source = val_corpus.source if val_corpus else corpus.source.with_name("metadata_val.csv")
        val_ex = _examples(val_rows, ValidationReport(source, (val_corpus or corpus).format,
                                                      "validation data"),
                           config, tokenizer, cache_dir_for(config, val_path or train_path), seen)
    stats = stats or MelStats.from_mels([e.mel for e in train_ex])
    seed = config.training.seed
    train = Batcher(train_ex, stats, config.data, seed, shuffle=True, audio=config.audio)
    val = Batcher(val_ex, stats, config.data, seed, shuffle=False, references=train)
    log.info("data: %d training and %d validation utterances, %d speakers", len(train_ex),
             len(val_ex), len(train.by_speaker))
    return DataBundle(tokenizer, stats, train, val, train_ex, val_ex)
