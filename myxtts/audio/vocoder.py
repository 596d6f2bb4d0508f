"""Griffin-Lim, the vocoder that needs no training.

Every vocoder is a callable ``vocoder(log_mel [frames, n_mels]) -> float32 audio`` with a
``name``; the trained neural one is :class:`myxtts.inference.vocoders.NeuralVocoder`
(model in :mod:`myxtts.models.vocoder`), and
:func:`myxtts.inference.vocoders.select_vocoder` picks between them.
"""

from __future__ import annotations

import librosa
import numpy as np

from myxtts.audio.features import inverse_mel_basis
from myxtts.config.config import AudioConfig


class GriffinLimVocoder:
    """Inverts un-normalised log-mels (the :func:`log_mel` definition) to audio.

    The mel filterbank is inverted with its pseudo-inverse (non-negative clipped),
    magnitudes are sharpened by ``griffin_lim_power`` and phases are estimated with
    ``griffin_lim_iters`` Griffin-Lim iterations.
    """

    name = "griffin_lim"

    def __init__(self, audio: AudioConfig):
        self.audio = audio
        self._inverse_basis = inverse_mel_basis(audio)

    def __call__(self, log_mel: np.ndarray) -> np.ndarray:
        """``log_mel``: ``[frames, n_mels]`` un-normalised log-mel. Returns float32 audio."""
        mel = np.exp(np.asarray(log_mel, np.float32))
        linear = np.maximum(mel @ self._inverse_basis.T, 1e-8)
        linear = linear ** self.audio.griffin_lim_power
        wav = librosa.griffinlim(
            linear.T, n_iter=self.audio.griffin_lim_iters,
            hop_length=self.audio.hop_length, win_length=self.audio.win_length,
            n_fft=self.audio.n_fft, center=True, random_state=0,
        )
        peak = float(np.max(np.abs(wav))) if wav.size else 0.0
        if peak > 0:
            wav = wav * (0.95 / peak)
        return wav.astype(np.float32)
