"""From dataset folders to batchers: read, split, tokenise, featurise, normalise."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from myxtts.audio.features import MelStats
from myxtts.config.config import XTTSConfig
from myxtts.data.batching import Batcher
from myxtts.data.features_cache import Example, prepare_examples
from myxtts.data.metadata import DatasetError, Utterance, read_dataset
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


def split_validation(utterances: list[Utterance], fraction: float, minimum: int,
                     seed: int) -> tuple[list[Utterance], list[Utterance]]:
    """Deterministic train/validation split (same ids for the same seed and data)."""
    ordered = sorted(utterances, key=lambda u: u.id)
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


def build_data(config: XTTSConfig, train_path: str | Path, val_path: str | Path | None = None,
               tokenizer: Tokenizer | None = None, stats: MelStats | None = None) -> DataBundle:
    """Prepare training and validation batchers.

    ``tokenizer`` and ``stats`` are passed when resuming, so the checkpoint's symbol table
    and mel statistics are reused instead of recomputed.
    """
    utterances = read_dataset(train_path)
    if val_path:
        train_utts, val_utts = utterances, read_dataset(val_path)
    else:
        train_utts, val_utts = split_validation(utterances, config.data.val_fraction,
                                                config.data.min_val_utterances,
                                                config.training.seed)
    tokenizer = tokenizer or Tokenizer(config.text)
    train_ex = prepare_examples(train_utts, tokenizer, config.audio, config.data,
                                cache_dir_for(config, train_path))
    val_ex = prepare_examples(val_utts, tokenizer, config.audio, config.data,
                              cache_dir_for(config, val_path or train_path))
    if not train_ex:
        raise DatasetError(f"{train_path}: no usable training utterances")
    if not val_ex:
        raise DatasetError(f"{val_path or train_path}: no usable validation utterances")
    stats = stats or MelStats.from_mels([e.mel for e in train_ex])
    seed = config.training.seed
    train = Batcher(train_ex, stats, config.data, seed, shuffle=True)
    val = Batcher(val_ex, stats, config.data, seed, shuffle=False)
    log.info("data: %d training and %d validation utterances, %d speakers", len(train_ex),
             len(val_ex), len(train.by_speaker))
    return DataBundle(tokenizer, stats, train, val, train_ex, val_ex)
