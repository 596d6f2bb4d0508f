"""Losses of the neural vocoder, per example (``[B]``) like the acoustic model's.

* ``mel_loss``: L1 between the log-mels (:func:`myxtts.audio.features.tf_log_mel`, the one
  mel definition) of the generated and the real waveform;
* ``stft_loss``: multi-resolution STFT loss (Yamamoto et al., 2020, Parallel WaveGAN):
  spectral convergence plus L1 of log magnitudes, averaged over three resolutions. Frames
  of other sizes than the generator's own constrain its phases: a wrong phase changes
  the magnitudes seen through a different window.

Both reach 0 for a perfect waveform, so the logged ``loss`` has no floor.
"""

from __future__ import annotations

import tensorflow as tf

from myxtts.audio.features import tf_log_mel
from myxtts.config.config import AudioConfig

#: (fft size, hop, window) of the multi-resolution STFT loss, scaled to the sample rate's
#: usual hop of 256 (the Parallel WaveGAN resolutions).
STFT_RESOLUTIONS = ((512, 128, 512), (1024, 256, 1024), (2048, 512, 2048))


def _magnitudes(wav, fft: int, hop: int, win: int):
    spec = tf.signal.stft(wav, frame_length=win, frame_step=hop, fft_length=fft,
                          pad_end=True)
    return tf.sqrt(tf.maximum(tf.math.real(spec) ** 2 + tf.math.imag(spec) ** 2, 1e-7))


def stft_loss(fake, real) -> tf.Tensor:
    """``[B]`` multi-resolution STFT loss of waveforms ``[B, samples]``."""
    total = 0.0
    for fft, hop, win in STFT_RESOLUTIONS:
        f, r = _magnitudes(fake, fft, hop, win), _magnitudes(real, fft, hop, win)
        convergence = tf.norm(r - f, axis=[1, 2]) / (tf.norm(r, axis=[1, 2]) + 1e-7)
        log_l1 = tf.reduce_mean(tf.abs(tf.math.log(r) - tf.math.log(f)), axis=[1, 2])
        total += convergence + log_l1
    return total / len(STFT_RESOLUTIONS)


def mel_loss(fake, real, audio: AudioConfig) -> tf.Tensor:
    """``[B]`` mean absolute difference of the log-mels of the two waveforms."""
    return tf.reduce_mean(tf.abs(tf_log_mel(fake, audio) - tf_log_mel(real, audio)),
                          axis=[1, 2])


def vocoder_losses(fake, real, audio: AudioConfig, mel_weight: float,
                   stft_weight: float) -> dict[str, tf.Tensor]:
    """Named ``[B]`` terms and their weighted sum ``loss``."""
    terms = {"mel_loss": mel_loss(fake, real, audio), "stft_loss": stft_loss(fake, real)}
    terms["loss"] = mel_weight * terms["mel_loss"] + stft_weight * terms["stft_loss"]
    return terms


def _per_example(x) -> tf.Tensor:
    return tf.reduce_mean(x, axis=tf.range(1, tf.rank(x)))


def discriminator_loss(real_outputs, fake_outputs) -> tf.Tensor:
    """``[B]`` hinge loss of the discriminators: real above +1, generated below -1."""
    total = 0.0
    for (real, _), (fake, _) in zip(real_outputs, fake_outputs):
        total += _per_example(tf.nn.relu(1.0 - real)) + _per_example(tf.nn.relu(1.0 + fake))
    return total / len(real_outputs)


def generator_adversarial_losses(real_outputs, fake_outputs) -> dict[str, tf.Tensor]:
    """``[B]`` hinge adversarial loss of the generator and feature matching (L1 between
    the discriminators' feature maps of real and generated audio; real ones held fixed)."""
    adversarial, matching = 0.0, 0.0
    for (_, real_features), (fake, fake_features) in zip(real_outputs, fake_outputs):
        adversarial += _per_example(tf.nn.relu(1.0 - fake))
        for r, f in zip(real_features, fake_features):
            matching += _per_example(tf.abs(tf.stop_gradient(r) - f)) / len(real_features)
    n = len(fake_outputs)
    return {"adversarial_loss": adversarial / n, "feature_matching_loss": matching / n}
