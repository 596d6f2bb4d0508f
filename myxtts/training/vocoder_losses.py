"""Losses of the neural vocoder, per example (``[B]``) like the acoustic model's.

* ``mel_loss``: L1 between the log-mels (:func:`myxtts.audio.features.tf_log_mel`, the one
  mel definition) of the generated and the real waveform;
* ``stft_loss``: multi-resolution STFT loss (Yamamoto et al., 2020, Parallel WaveGAN):
  spectral convergence plus L1 of log magnitudes, averaged over three resolutions. Frames
  of other sizes than the generator's own constrain its phases: a wrong phase changes
  the magnitudes seen through a different window.

* ``amplitude_loss`` and ``phase_loss`` (APNet, Ai & Ling, 2023): the generator's own STFT
  frames against the real waveform's, frame for frame: L1 of log magnitudes, and the
  anti-wrapping distances of the phases (instantaneous phase), of their differences across
  frequency (group delay) and across time (instantaneous frequency). They supervise the
  phase directly, which magnitude losses do only through other window sizes.

All reach 0 for a perfect waveform, so the logged ``loss`` has no floor.
"""

from __future__ import annotations

import tensorflow as tf

from myxtts.audio.features import tf_log_mel
from myxtts.config.config import AudioConfig, VocoderConfig

#: Smallest real STFT magnitude the amplitude loss compares (log floor).
_MAGNITUDE_FLOOR = 1e-5
_TWO_PI = 2.0 * 3.141592653589793

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


def target_spectrum(context, audio: AudioConfig) -> tf.Tensor:
    """Complex STFT ``[B, F, n_fft/2 + 1]`` of waveforms with context: ``context`` holds
    ``n_fft // 2`` samples on either side of the ``F * hop_length`` the frames centre on
    (zeros past the recording's ends, like the mel analysis), so frame ``t`` is the one
    the generator predicts for mel frame ``t``."""
    spec = tf.signal.stft(context, frame_length=audio.n_fft, frame_step=audio.hop_length,
                          fft_length=audio.n_fft, pad_end=False)
    frames = (tf.shape(context)[1] - audio.n_fft) // audio.hop_length
    return spec[:, :frames]


def _anti_wrapped(x):
    """Distance of a phase difference from the nearest multiple of 2 pi, in [0, pi]."""
    return tf.abs(x - _TWO_PI * tf.round(x / _TWO_PI))


def spectrum_losses(log_mag, phase, target) -> dict[str, tf.Tensor]:
    """``[B]`` amplitude and phase losses of the generator's STFT (log magnitudes and
    phases ``[B, F, bins]``) against the complex ``target`` (:func:`target_spectrum`)."""
    real_log = tf.math.log(tf.maximum(tf.abs(target), _MAGNITUDE_FLOOR))
    amplitude = tf.reduce_mean(tf.abs(log_mag - real_log), axis=[1, 2])
    error = phase - tf.math.angle(target)
    instantaneous = tf.reduce_mean(_anti_wrapped(error), axis=[1, 2])
    group_delay = tf.reduce_mean(_anti_wrapped(error[:, :, 1:] - error[:, :, :-1]), axis=[1, 2])
    frequency = tf.reduce_mean(_anti_wrapped(error[:, 1:] - error[:, :-1]), axis=[1, 2])
    return {"amplitude_loss": amplitude,
            "phase_loss": instantaneous + group_delay + frequency}


def vocoder_losses(fake, real, audio: AudioConfig, weights: VocoderConfig,
                   log_mag=None, phase=None, context=None) -> dict[str, tf.Tensor]:
    """Named ``[B]`` terms and their weighted sum ``loss``. The spectrum terms need the
    generator's ``log_mag`` and ``phase`` and the real waveform with ``context``."""
    terms = {"mel_loss": mel_loss(fake, real, audio), "stft_loss": stft_loss(fake, real)}
    terms["loss"] = (weights.mel_loss_weight * terms["mel_loss"]
                     + weights.stft_loss_weight * terms["stft_loss"])
    if context is not None:
        terms.update(spectrum_losses(log_mag, phase, target_spectrum(context, audio)))
        terms["loss"] += (weights.amplitude_loss_weight * terms["amplitude_loss"]
                          + weights.phase_loss_weight * terms["phase_loss"])
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
