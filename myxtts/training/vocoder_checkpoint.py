"""The neural vocoder's checkpoint: generator, optimizer, position and the run's config.

It lives in its own run directory, by default ``RUN_DIR/vocoder`` of the acoustic model
it serves (:func:`find_vocoder_dir`), so synthesis from ``RUN_DIR`` finds it. Reading it
needs neither trainer: :func:`load_vocoder` builds the generator from the stored config.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import tensorflow as tf

from myxtts.audio.features import inverse_mel_basis
from myxtts.config.config import AudioConfig, XTTSConfig
from myxtts.config.stored import STORED_VOCODER_FALLBACKS, config_from_yaml_text
from myxtts.models.vocoder import VocoderGenerator
from myxtts.training.checkpoints import CheckpointError, open_checkpoint

#: Sub-folder of an acoustic run directory that holds its vocoder.
VOCODER_DIR = "vocoder"
#: AudioConfig fields that define the mel; a vocoder serves only models that share them.
MEL_FIELDS = ("sample_rate", "n_mels", "n_fft", "hop_length", "win_length", "fmin", "fmax",
              "mel_floor")
_CONFIG_TENSOR = "state/config_yaml/.ATTRIBUTES/VARIABLE_VALUE"
DISCRIMINATOR_MARK = "d_optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE"


class VocoderState(tf.Module):
    """Training position and the run's config, tracked by the vocoder checkpoint."""

    def __init__(self, config_yaml: str = ""):
        super().__init__(name="vocoder_state")
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        self.wall_time = tf.Variable(0.0, dtype=tf.float64, trainable=False, name="wall_time")
        # Step where the current learning-rate schedule began (a GTA fine-tune starts anew).
        self.schedule_start = tf.Variable(0, dtype=tf.int64, trainable=False)
        # What the generator is trained on: "ground_truth" or "gta:<acoustic checkpoint>".
        self.source = tf.Variable("", trainable=False, name="source")
        self.best_val_loss = tf.Variable(float("inf"), dtype=tf.float64, trainable=False)
        self.config_yaml = tf.Variable(config_yaml, trainable=False, name="config_yaml")


def build_generator(config: XTTSConfig) -> VocoderGenerator:
    """The generator ``config.vocoder`` describes, built (weights created)."""
    a, v = config.audio, config.vocoder
    generator = VocoderGenerator(a.n_mels, a.n_fft, a.hop_length, v.channels, v.blocks,
                                 v.kernel_size, v.expansion,
                                 inverse_mel_basis(a) if v.magnitude_prior else None,
                                 a if v.match_level else None)
    generator(tf.zeros([1, 4, a.n_mels]))
    return generator


def make_vocoder_checkpoint(generator, optimizer=None, state: VocoderState | None = None,
                            discriminator=None, d_optimizer=None):
    parts = {"generator": generator}
    if discriminator is not None:
        parts["discriminator"] = discriminator
        parts["d_optimizer"] = d_optimizer
    if optimizer is not None:
        parts["optimizer"] = optimizer
    if state is not None:
        parts["state"] = state
    return tf.train.Checkpoint(**parts)


def restore_vocoder_training(checkpoint: tf.train.Checkpoint, prefix: str) -> None:
    """Restore a training checkpoint: generator, optimizer and state must all match; the
    discriminators are restored when the checkpoint has them (runs saved before
    adversarial training started, or by older versions, have none: they start fresh)."""
    core = tf.train.Checkpoint(generator=checkpoint.generator,
                               optimizer=checkpoint.optimizer, state=checkpoint.state)
    core.restore(prefix).expect_partial().assert_existing_objects_matched()
    # The discriminators' weights are stored under the path the checkpoint reaches them
    # first (through their optimizer); their optimizer's step counter marks them.
    if tf.train.load_checkpoint(prefix).has_tensor(DISCRIMINATOR_MARK):
        tf.train.Checkpoint(discriminator=checkpoint.discriminator,
                            d_optimizer=checkpoint.d_optimizer).restore(prefix) \
            .expect_partial().assert_existing_objects_matched()


def find_vocoder_dir(path: str | Path) -> Path | None:
    """The vocoder run directory that belongs to an acoustic checkpoint or run directory
    (``RUN/vocoder``, also for ``RUN/ckpt-N`` and ``RUN/best``), if it holds a checkpoint."""
    path = Path(path)
    run = path if path.is_dir() else path.parent
    for candidate in (run / VOCODER_DIR, run.parent / VOCODER_DIR):
        if candidate.is_dir() and tf.train.latest_checkpoint(str(candidate)):
            return candidate
    return None


def mel_mismatch(a: AudioConfig, b: AudioConfig) -> list[str]:
    """``audio.<field>: x != y`` for every mel-defining field that differs."""
    da, db = dataclasses.asdict(a), dataclasses.asdict(b)
    return [f"audio.{k}: {da[k]} != {db[k]}" for k in MEL_FIELDS if da[k] != db[k]]


def read_vocoder_config(path: str | Path) -> tuple[str, XTTSConfig]:
    """Prefix and stored config of a vocoder checkpoint (prefix or directory); keys it
    predates take :data:`STORED_VOCODER_FALLBACKS`."""
    prefix, reader = open_checkpoint(path)
    if not reader.has_tensor(_CONFIG_TENSOR) or not reader.has_tensor(
            "generator/head/bias/.ATTRIBUTES/VARIABLE_VALUE"):
        raise CheckpointError(f"{prefix}: not a MyXTTS vocoder checkpoint")
    text = reader.get_tensor(_CONFIG_TENSOR).decode("utf-8")
    return prefix, config_from_yaml_text(text, prefix, STORED_VOCODER_FALLBACKS)


def load_vocoder(path: str | Path, audio: AudioConfig | None = None):
    """``(generator, config, prefix)`` of a vocoder checkpoint. With ``audio`` (the acoustic
    model's), a vocoder trained for another mel definition is a :class:`CheckpointError`
    naming the fields that differ."""
    prefix, config = read_vocoder_config(path)
    if audio is not None:
        diff = mel_mismatch(config.audio, audio)
        if diff:
            raise CheckpointError(f"{prefix}: this vocoder was trained for another mel "
                                  f"definition than the acoustic model ({'; '.join(diff)})")
    generator = build_generator(config)
    make_vocoder_checkpoint(generator).restore(prefix).expect_partial() \
        .assert_existing_objects_matched()
    return generator, config, prefix


def aligned_audio(wav: np.ndarray, frames: int, hop: int) -> np.ndarray:
    """``wav`` cut or zero-padded to ``frames * hop`` samples: what the generator emits
    for ``frames`` mel frames (frame t is centred on sample t * hop)."""
    out = np.zeros(frames * hop, np.float32)
    n = min(len(wav), len(out))
    out[:n] = wav[:n]
    return out
