"""Turns utterances into model-ready examples (token ids + log-mels), cached on disk."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from myxtts.audio.features import AudioError, load_wav, log_mel
from myxtts.config.config import AudioConfig, DataConfig
from myxtts.data.metadata import Utterance

log = logging.getLogger(__name__)


@dataclass
class Example:
    """A prepared utterance: token ids and the un-normalised log-mel."""

    id: str
    speaker: str
    text: str
    tokens: np.ndarray  # int32 [N]
    mel: np.ndarray  # float32 [T, n_mels]


def _audio_key(audio: AudioConfig) -> str:
    return hashlib.sha1(json.dumps(asdict(audio), sort_keys=True).encode()).hexdigest()[:12]


def _mel_cached(utt: Utterance, audio: AudioConfig, cache_dir: Path) -> np.ndarray:
    stat = utt.wav_path.stat()
    key = hashlib.sha1(f"{utt.wav_path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|"
                       f"{_audio_key(audio)}".encode()).hexdigest()[:20]
    path = cache_dir / f"{utt.id[:40]}-{key}.npy"
    if path.is_file():
        try:
            return np.load(path)
        except (OSError, ValueError):
            log.warning("%s: unreadable cache entry, recomputing", path)
    mel = log_mel(load_wav(utt.wav_path, audio), audio)
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, mel)
    tmp.replace(path)
    return mel


def prepare_examples(utterances: list[Utterance], tokenizer, audio: AudioConfig,
                     data: DataConfig, cache_dir: str | Path) -> list[Example]:
    """Tokenise and featurise ``utterances``; unusable ones are skipped with a counted warning."""
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    token_lists = tokenizer.encode_batch([u.text for u in utterances])
    frame_rate = audio.sample_rate / audio.hop_length
    examples: list[Example] = []
    skipped: dict[str, int] = {}

    def skip(reason: str, detail: str) -> None:
        skipped[reason] = skipped.get(reason, 0) + 1
        log.warning("%s", detail)

    for utt, tokens in zip(utterances, token_lists):
        if not tokens:
            skip("no tokens", f"{utt.wav_path}: text {utt.text!r} gives no known symbols, skipped")
            continue
        try:
            mel = _mel_cached(utt, audio, cache_dir)
        except AudioError as exc:
            skip("bad audio", f"{exc}, skipped")
            continue
        seconds = mel.shape[0] / frame_rate
        if seconds < data.min_duration_s or seconds > data.max_duration_s:
            skip("duration out of range",
                 f"{utt.wav_path}: {seconds:.2f} s outside [{data.min_duration_s}, "
                 f"{data.max_duration_s}] s (data.min_duration_s/max_duration_s), skipped")
            continue
        if mel.shape[0] < len(tokens):
            skip("fewer frames than tokens",
                 f"{utt.wav_path}: {mel.shape[0]} frames for {len(tokens)} tokens, skipped")
            continue
        examples.append(Example(utt.id, utt.speaker, utt.text,
                                np.asarray(tokens, np.int32), mel.astype(np.float32)))
    if skipped:
        log.warning("skipped %d of %d utterances: %s", sum(skipped.values()), len(utterances),
                    ", ".join(f"{n} {why}" for why, n in skipped.items()))
    return examples
