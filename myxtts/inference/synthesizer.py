"""Synthesis from a checkpoint: ``Synthesizer.from_checkpoint(path).synthesize(text)``.

Reads the config, symbol table and mel statistics stored in the checkpoint, so it
needs nothing from the training run but the checkpoint itself, and never imports the
trainer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf
import yaml

from myxtts.audio.features import MelStats, load_wav, log_mel
from myxtts.audio.vocoder import GriffinLimVocoder
from myxtts.config.config import XTTSConfig
from myxtts.models.factory import build_model
from myxtts.text.symbols import SymbolTable
from myxtts.text.tokenizer import Tokenizer
from myxtts.training.checkpoints import make_checkpoint, read_metadata

#: A reference clip is cut to this many times ``data.reference_max_frames`` frames.
REFERENCE_LIMIT_FACTOR = 2


def reference_frame_limit(config: XTTSConfig) -> int:
    """Longest reference mel (frames) the model is given; longer clips are cut."""
    return config.data.reference_max_frames * REFERENCE_LIMIT_FACTOR


@dataclass
class LoadedCheckpoint:
    """What a checkpoint holds for inference: restored model plus its metadata."""

    config: XTTSConfig
    model: object
    symbols: SymbolTable
    stats: MelStats
    prefix: str
    step: int


def load_checkpoint(path: str | Path) -> LoadedCheckpoint:
    """Build the model a checkpoint describes and restore its weights.

    ``path`` is a checkpoint prefix or a run directory (its latest checkpoint); a
    missing or unusable checkpoint raises :class:`CheckpointError` naming the path.
    """
    meta = read_metadata(path)
    config = XTTSConfig.from_dict(yaml.safe_load(meta["config_yaml"]))
    symbols = SymbolTable.from_json(meta["symbols_json"])
    model = build_model(config, len(symbols))
    n_mels = config.audio.n_mels
    dummy = {
        "text_ids": tf.ones([1, 4], tf.int32), "text_lengths": tf.constant([4]),
        "mel": tf.zeros([1, 8, n_mels]), "mel_lengths": tf.constant([8]),
        "ref_mel": tf.zeros([1, 8, n_mels]), "ref_lengths": tf.constant([8]),
    }
    model(dummy, training=False)
    make_checkpoint(model, rng=False).restore(meta["prefix"]).expect_partial().assert_existing_objects_matched()
    return LoadedCheckpoint(config, model, symbols, MelStats.from_list(meta["mel_stats"]),
                            meta["prefix"], meta["step"])


class Synthesizer:
    """Text (+ optional reference audio) to waveform."""

    def __init__(self, config: XTTSConfig, model, tokenizer: Tokenizer, stats: MelStats,
                 default_reference: np.ndarray | None = None):
        self.config = config
        self.model = model
        self.tokenizer = tokenizer
        self.stats = stats
        self.vocoder = GriffinLimVocoder(config.audio)
        self.default_reference = default_reference

    @classmethod
    def from_checkpoint(cls, path: str | Path) -> "Synthesizer":
        """Load a checkpoint prefix or the latest checkpoint of a run directory."""
        loaded = load_checkpoint(path)
        return cls(loaded.config, loaded.model, Tokenizer(loaded.config.text, loaded.symbols),
                   loaded.stats)

    @property
    def languages(self) -> tuple[str, ...]:
        """Languages this checkpoint was trained on (the first is the default)."""
        return self.tokenizer.languages

    @property
    def default_language(self) -> str:
        """The language used when ``language`` is not given."""
        return self.tokenizer.language

    @property
    def sample_rate(self) -> int:
        """Sample rate (Hz) of the waveforms this synthesizer returns."""
        return self.config.audio.sample_rate

    def reference_mel(self, reference_audio: str | Path | None) -> np.ndarray:
        """Normalised reference mel from a wav file (any sample rate; resampled)."""
        if reference_audio is None:
            # Without a reference: the dataset-average voice (zero normalised mel = the
            # per-bin mean), unless a default reference was given.
            if self.default_reference is not None:
                return self.default_reference
            return np.zeros((self.config.data.reference_max_frames, self.config.audio.n_mels),
                            np.float32)
        mel = self.stats.normalize(log_mel(load_wav(reference_audio, self.config.audio),
                                           self.config.audio))
        return mel[: reference_frame_limit(self.config)]

    def synthesize_mel(self, text: str, reference_mel: np.ndarray | None = None,
                       speed: float = 1.0, language: str | None = None) -> np.ndarray:
        """Un-normalised log-mel ``[frames, n_mels]`` for ``text``."""
        return self.synthesize_mel_batch([text], reference_mel, speed, language=language)[0]

    def synthesize(self, text: str, reference_audio: str | Path | None = None,
                   speed: float = 1.0, language: str | None = None) -> np.ndarray:
        """Waveform (float32, ``config.audio.sample_rate``) speaking ``text``.

        ``language`` ("en", "fa", ...) picks the normaliser, espeak-ng voice and language
        embedding; None = the checkpoint's default. A language the checkpoint never saw is
        a ValueError naming it and the ones it knows.
        """
        self.tokenizer.resolve_language(language)  # fail before reading the reference
        return self.vocoder(self.synthesize_mel(text, self.reference_mel(reference_audio), speed,
                                                language))

    def synthesize_to_file(self, text: str, path: str | Path,
                           reference_audio: str | Path | None = None, speed: float = 1.0,
                           overwrite: bool = False, language: str | None = None) -> Path:
        """Speak ``text`` into a 16-bit PCM wav at ``path`` (parent folders are created).

        Raises FileExistsError if ``path`` exists (unless ``overwrite``) and
        IsADirectoryError if it is a directory; nothing is synthesised then.
        """
        from myxtts.cli.wav_output import write_wav

        path = Path(path)
        if path.is_dir():
            raise IsADirectoryError(f"{path} is a directory, not a .wav file")
        if path.exists() and not overwrite:
            raise FileExistsError(f"{path} already exists; pass overwrite=True to replace it")
        return write_wav(path, self.synthesize(text, reference_audio, speed, language),
                         self.sample_rate)

    # ---------------------------------------------------------------- batches

    def synthesize_batch(self, texts: Sequence[str],
                         reference_audio: str | Path | Sequence[str | Path | None] | None = None,
                         speed: float = 1.0, batch_size: int = 8,
                         language: str | None = None) -> list[np.ndarray]:
        """Waveforms for ``texts`` (all in ``language``; None = the default), decoding up to
        ``batch_size`` sentences at once.

        ``reference_audio`` is one voice for all texts, or a list with one reference (or
        None) per text. Padding never changes a result: each waveform equals what
        :meth:`synthesize` returns for that text alone (within float tolerance).
        """
        texts = list(texts)
        if isinstance(reference_audio, (str, Path)) or reference_audio is None:
            refs = [self.reference_mel(reference_audio)] * len(texts)
        else:
            reference_audio = list(reference_audio)
            if len(reference_audio) != len(texts):
                raise ValueError(f"reference_audio has {len(reference_audio)} entries for "
                                 f"{len(texts)} texts; give one per text or a single one")
            cache: dict = {}
            for ref in reference_audio:
                if ref not in cache:
                    cache[ref] = self.reference_mel(ref)
            refs = [cache[ref] for ref in reference_audio]
        mels = self.synthesize_mel_batch(texts, refs, speed, batch_size, language)
        return [self.vocoder(mel) for mel in mels]

    def synthesize_mel_batch(self, texts: Sequence[str],
                             reference_mel: np.ndarray | Sequence[np.ndarray] | None = None,
                             speed: float = 1.0, batch_size: int = 8,
                             language: str | None = None) -> list[np.ndarray]:
        """Un-normalised log-mels ``[frames, n_mels]`` for ``texts`` (in ``language``), in
        order.

        ``reference_mel`` is a normalised mel ``[frames, n_mels]`` for all texts, a list
        of them (one per text) or None (the default voice).
        """
        texts = list(texts)
        if not texts:
            return []
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if not speed > 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        language_id = self.tokenizer.language_id(language)  # ValueError names the language
        tokens = [self.tokenizer.encode(text, language) for text in texts]  # ... or the text
        if reference_mel is None or isinstance(reference_mel, np.ndarray):
            ref = self.reference_mel(None) if reference_mel is None else reference_mel
            refs = [ref] * len(texts)
        else:
            refs = list(reference_mel)
            if len(refs) != len(texts):
                raise ValueError(f"{len(refs)} reference mels for {len(texts)} texts")
        out: list[np.ndarray] = []
        for start in range(0, len(texts), batch_size):
            end = start + batch_size
            out += self._generate(tokens[start:end], refs[start:end], speed, language_id)
        return out

    def _generate(self, tokens: list[list[int]], refs: list[np.ndarray],
                  speed: float, language_id: int = 0) -> list[np.ndarray]:
        """One padded forward pass; returns each item's un-normalised mel, unpadded."""
        pad = self.tokenizer.symbols.pad_id
        ids = np.full((len(tokens), max(map(len, tokens))), pad, np.int32)
        for i, t in enumerate(tokens):
            ids[i, : len(t)] = t
        ref = np.zeros((len(refs), max(r.shape[0] for r in refs), self.config.audio.n_mels),
                       np.float32)
        for i, r in enumerate(refs):
            ref[i, : r.shape[0]] = r
        mel, lengths, _ = self.model.generate(
            tf.constant(ids), tf.constant([len(t) for t in tokens], tf.int32),
            tf.constant(ref), tf.constant([r.shape[0] for r in refs], tf.int32), speed,
            language_ids=tf.fill([len(tokens)], language_id))
        mel, lengths = mel.numpy(), lengths.numpy()
        return [self.stats.denormalize(mel[i, : int(lengths[i])]) for i in range(len(tokens))]
