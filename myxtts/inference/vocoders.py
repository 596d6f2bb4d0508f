"""Which vocoder turns a synthesised mel into audio: the run's neural vocoder or
Griffin-Lim.

``auto`` (the default) uses a neural vocoder when one is named or the acoustic run has
one in ``RUN_DIR/vocoder`` (see :func:`~myxtts.training.vocoder_checkpoint.find_vocoder_dir`),
else Griffin-Lim; ``neural`` insists on one; ``griffin_lim`` never loads one.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import tensorflow as tf

from myxtts.audio.vocoder import GriffinLimVocoder
from myxtts.config.config import AudioConfig
from myxtts.training.vocoder_checkpoint import VOCODER_DIR, find_vocoder_dir, load_vocoder

log = logging.getLogger(__name__)

VOCODER_CHOICES = ("auto", "neural", "griffin_lim")


class NeuralVocoder:
    """Un-normalised log-mel ``[frames, n_mels]`` -> float32 audio with a trained generator
    (``frames * hop_length`` samples, the training audio's level, peaks kept within ±1)."""

    name = "neural"

    def __init__(self, generator, prefix: str, n_mels: int):
        self.generator, self.prefix = generator, prefix
        self._run = tf.function(generator.call, reduce_retracing=True,
                                input_signature=[tf.TensorSpec([None, None, n_mels])])

    @classmethod
    def from_checkpoint(cls, path: str | Path, audio: AudioConfig | None = None) -> "NeuralVocoder":
        """Load a vocoder checkpoint (prefix or run directory); with ``audio`` it must
        share that mel definition (CheckpointError naming the fields otherwise)."""
        generator, config, prefix = load_vocoder(path, audio)
        return cls(generator, prefix, config.audio.n_mels)

    def batch(self, log_mels: np.ndarray) -> np.ndarray:
        """``[B, T, n_mels]`` -> ``[B, T * hop_length]`` (same-length mels only)."""
        return self._run(tf.constant(log_mels, tf.float32)).numpy()

    def __call__(self, log_mel: np.ndarray) -> np.ndarray:
        log_mel = np.asarray(log_mel, np.float32)
        if log_mel.shape[0] == 0:
            return np.zeros(0, np.float32)
        wav = self.batch(log_mel[None])[0]
        peak = float(np.max(np.abs(wav)))
        if peak > 0.99:
            wav = wav * (0.99 / peak)
        return wav.astype(np.float32)


def select_vocoder(choice: str, audio: AudioConfig, checkpoint: str | Path | None = None,
                   vocoder_checkpoint: str | Path | None = None):
    """The vocoder ``choice`` ("auto", "neural", "griffin_lim") gives for the acoustic
    ``checkpoint``; ``vocoder_checkpoint`` names one explicitly. ValueError when
    ``neural`` is asked for and there is none."""
    if choice not in VOCODER_CHOICES:
        raise ValueError(f"vocoder must be one of {', '.join(VOCODER_CHOICES)}, got {choice!r}")
    if choice == "griffin_lim":
        if vocoder_checkpoint is not None:
            raise ValueError("a vocoder checkpoint was given with vocoder='griffin_lim'")
        return GriffinLimVocoder(audio)
    found = vocoder_checkpoint or (find_vocoder_dir(checkpoint) if checkpoint else None)
    if found is None:
        if choice == "neural":
            where = f"{checkpoint}/{VOCODER_DIR}" if checkpoint else "the run directory"
            raise ValueError(f"no neural vocoder in {where}; train one with python3 "
                             f"train_main.py --task vocoder --gta-from {checkpoint or 'RUN_DIR'} "
                             "or name one with --vocoder-checkpoint")
        return GriffinLimVocoder(audio)
    vocoder = NeuralVocoder.from_checkpoint(found, audio)
    log.info("vocoder: neural (%s)", vocoder.prefix)
    return vocoder
