"""THE mel-spectrogram definition used by data, training, inference and the vocoder.

Features are natural-log magnitude mel spectrograms (``log(max(mel, mel_floor))``),
normalised per mel bin with dataset statistics (:class:`MelStats`) before they reach
the model. Everything that turns audio into mels, or mels back into audio, goes
through this module so there is exactly one definition.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import librosa
import numpy as np
import soundfile as sf

from myxtts.config.config import AudioConfig

log = logging.getLogger(__name__)


class AudioError(ValueError):
    """An audio file cannot be used (missing, unreadable, silent or too short)."""


def load_wav(path: str | Path, audio: AudioConfig) -> np.ndarray:
    """Read a mono float32 waveform at ``audio.sample_rate`` (resampling if needed)."""
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"{path}: audio file not found")
    try:
        wav, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:  # soundfile raises several types for corrupt files
        raise AudioError(f"{path}: cannot read audio ({exc})") from exc
    wav = wav.mean(axis=1)
    if sr != audio.sample_rate:
        log.warning("%s: sample rate %d Hz, resampling to %d Hz", path, sr, audio.sample_rate)
        wav = librosa.resample(wav, orig_sr=sr, target_sr=audio.sample_rate)
    if wav.size == 0 or not np.all(np.isfinite(wav)):
        raise AudioError(f"{path}: empty or non-finite audio")
    if float(np.max(np.abs(wav))) < 1e-4:
        raise AudioError(f"{path}: audio is silent")
    if audio.trim_silence:
        trimmed, _ = librosa.effects.trim(wav, top_db=audio.trim_top_db)
        if trimmed.size >= audio.hop_length * 4:
            wav = trimmed
    return wav.astype(np.float32)


def mel_basis(audio: AudioConfig) -> np.ndarray:
    """The mel filterbank, ``[n_mels, n_fft // 2 + 1]``: ``magnitudes @ basis.T`` is the mel."""
    return librosa.filters.mel(
        sr=audio.sample_rate, n_fft=audio.n_fft, n_mels=audio.n_mels,
        fmin=audio.fmin, fmax=audio.fmax,
    ).astype(np.float32)


def mel_warp_matrix(audio: AudioConfig, factor: float) -> np.ndarray:
    """``[n_mels, n_mels]`` matrix moving log-mel content at frequency f to f * factor
    (``mel @ matrix.T``; linear interpolation between the :func:`mel_basis` bin centres,
    the edge bins repeated past the edges)."""
    hz = librosa.mel_frequencies(audio.n_mels + 2, fmin=audio.fmin, fmax=audio.fmax)[1:-1]
    n = len(hz)
    source = np.interp(hz / factor, hz, np.arange(n, dtype=np.float64))
    low = np.floor(source).astype(int)
    high = np.minimum(low + 1, n - 1)
    frac = source - low
    matrix = np.zeros((n, n), np.float32)
    matrix[np.arange(n), low] += 1.0 - frac
    matrix[np.arange(n), high] += frac
    return matrix


def inverse_mel_basis(audio: AudioConfig) -> np.ndarray:
    """Pseudo-inverse of the mel filterbank, ``[n_fft // 2 + 1, n_mels]``: ``mel @ inv.T``
    estimates linear magnitudes (smooth, may dip below zero; callers clip)."""
    return np.linalg.pinv(mel_basis(audio)).astype(np.float32)


def magnitude_spectrogram(wav: np.ndarray, audio: AudioConfig) -> np.ndarray:
    """Linear magnitude STFT, shape ``[frames, n_fft // 2 + 1]``."""
    spec = librosa.stft(
        wav, n_fft=audio.n_fft, hop_length=audio.hop_length,
        win_length=audio.win_length, center=True,
    )
    return np.abs(spec).T.astype(np.float32)


def log_mel(wav: np.ndarray, audio: AudioConfig) -> np.ndarray:
    """Un-normalised log-mel spectrogram, shape ``[frames, n_mels]``."""
    mag = magnitude_spectrogram(wav, audio)
    mel = mag @ mel_basis(audio).T
    return np.log(np.maximum(mel, audio.mel_floor)).astype(np.float32)


def num_frames(num_samples: int, audio: AudioConfig) -> int:
    """Frames that :func:`log_mel` yields for a waveform of ``num_samples``."""
    return 1 + num_samples // audio.hop_length


@dataclass
class MelStats:
    """Per-bin mean and standard deviation of log-mels over a training set."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def from_mels(cls, mels: list[np.ndarray]) -> "MelStats":
        """Statistics over all frames of ``mels`` (each ``[frames, n_mels]``)."""
        if not mels:
            raise ValueError("cannot compute mel statistics from zero utterances")
        stacked = np.concatenate(mels, axis=0).astype(np.float64)
        std = np.maximum(stacked.std(axis=0), 1e-3)
        return cls(stacked.mean(axis=0).astype(np.float32), std.astype(np.float32))

    def normalize(self, mel: np.ndarray) -> np.ndarray:
        return ((mel - self.mean) / self.std).astype(np.float32)

    def denormalize(self, mel: np.ndarray) -> np.ndarray:
        return (mel * self.std + self.mean).astype(np.float32)

    def save(self, path: str | Path) -> None:
        np.savez(str(path), mean=self.mean, std=self.std)

    @classmethod
    def load(cls, path: str | Path) -> "MelStats":
        with np.load(str(path)) as data:
            return cls(data["mean"].astype(np.float32), data["std"].astype(np.float32))

    def to_list(self) -> dict:
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_list(cls, data: dict) -> "MelStats":
        return cls(np.asarray(data["mean"], np.float32), np.asarray(data["std"], np.float32))


def tf_log_mel(wav, audio: AudioConfig):
    """:func:`log_mel` in TensorFlow, differentiable, for batches ``[B, samples]`` ->
    ``[B, frames, n_mels]`` (same frames and values as :func:`log_mel`: centred frames,
    zero padding, Hann window, the same filterbank and floor)."""
    import tensorflow as tf

    if audio.win_length != audio.n_fft:
        raise NotImplementedError("the TensorFlow mel (neural vocoder) needs audio.win_length "
                                  f"== audio.n_fft, got {audio.win_length} and {audio.n_fft}")
    pad = audio.n_fft // 2
    padded = tf.pad(wav, [[0, 0], [pad, pad]])
    spec = tf.signal.stft(padded, frame_length=audio.win_length, frame_step=audio.hop_length,
                          fft_length=audio.n_fft, window_fn=_periodic_hann, pad_end=False)
    mel = tf.matmul(tf.abs(spec), tf.constant(mel_basis(audio).T))
    return tf.math.log(tf.maximum(mel, audio.mel_floor))


def _periodic_hann(length, dtype):
    import tensorflow as tf

    return tf.signal.hann_window(length, periodic=True, dtype=dtype)
