"""Synthesis from a checkpoint: ``Synthesizer.from_checkpoint(path).synthesize(text)``.

Reads the config, symbol table and mel statistics stored in the checkpoint, so it
needs nothing from the training run but the checkpoint itself, and never imports the
trainer.
"""

from __future__ import annotations

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
        meta = read_metadata(path)
        config = XTTSConfig.from_dict(yaml.safe_load(meta["config_yaml"]))
        symbols = SymbolTable.from_json(meta["symbols_json"])
        tokenizer = Tokenizer(config.text, symbols)
        stats = MelStats.from_list(meta["mel_stats"])
        model = build_model(config, len(symbols))
        n_mels = config.audio.n_mels
        dummy = {
            "text_ids": tf.ones([1, 4], tf.int32), "text_lengths": tf.constant([4]),
            "mel": tf.zeros([1, 8, n_mels]), "mel_lengths": tf.constant([8]),
            "ref_mel": tf.zeros([1, 8, n_mels]), "ref_lengths": tf.constant([8]),
        }
        model(dummy, training=False)
        make_checkpoint(model, rng=False).restore(meta["prefix"]).expect_partial().assert_existing_objects_matched()
        return cls(config, model, tokenizer, stats)

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
        return mel[: self.config.data.reference_max_frames * 2]

    def synthesize_mel(self, text: str, reference_mel: np.ndarray | None = None,
                       speed: float = 1.0) -> np.ndarray:
        """Un-normalised log-mel ``[frames, n_mels]`` for ``text``."""
        tokens = self.tokenizer.encode(text)
        ref = self.reference_mel(None) if reference_mel is None else reference_mel
        mel, lengths, _ = self.model.generate(
            tf.constant([tokens], tf.int32), tf.constant([len(tokens)], tf.int32),
            tf.constant(ref[None], tf.float32), tf.constant([ref.shape[0]], tf.int32), speed)
        mel = mel.numpy()[0, : int(lengths.numpy()[0])]
        return self.stats.denormalize(mel)

    def synthesize(self, text: str, reference_audio: str | Path | None = None,
                   speed: float = 1.0) -> np.ndarray:
        """Waveform (float32, ``config.audio.sample_rate``) speaking ``text``."""
        return self.vocoder(self.synthesize_mel(text, self.reference_mel(reference_audio), speed))
