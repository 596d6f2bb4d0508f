"""The audio front-end: mel definition, normalisation statistics, Griffin-Lim, wav loading."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from myxtts.audio.features import AudioError, MelStats, load_wav, log_mel, num_frames
from myxtts.audio.vocoder import GriffinLimVocoder
from myxtts.config.config import AudioConfig

SR = 22050


def sine(freq: float, seconds: float, sr: int = SR, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def dominant_frequency(wav: np.ndarray, sr: int) -> float:
    spectrum = np.abs(np.fft.rfft(wav * np.hanning(len(wav))))
    return float(np.fft.rfftfreq(len(wav), 1.0 / sr)[np.argmax(spectrum)])


@pytest.fixture
def audio() -> AudioConfig:
    return AudioConfig()


@pytest.mark.parametrize("samples", [1024, 5000, 22050, 22050 + 255])
def test_log_mel_shape_and_finite(audio, samples):
    rng = np.random.default_rng(samples)
    wav = (0.1 * rng.standard_normal(samples)).astype(np.float32)
    mel = log_mel(wav, audio)
    assert mel.shape == (1 + samples // audio.hop_length, audio.n_mels)
    assert mel.shape[0] == num_frames(samples, audio)
    assert mel.dtype == np.float32
    assert np.all(np.isfinite(mel))


def test_log_mel_of_silence_is_the_floor(audio):
    mel = log_mel(np.zeros(4096, np.float32), audio)
    np.testing.assert_allclose(mel, np.log(audio.mel_floor), rtol=1e-6)


def test_log_mel_honours_n_mels_and_hop():
    audio = AudioConfig(n_mels=40, hop_length=128)
    mel = log_mel(sine(440, 0.5), audio)
    assert mel.shape == (1 + int(SR * 0.5) // 128, 40)


def test_mel_stats_round_trip_and_normalises(audio):
    rng = np.random.default_rng(0)
    mels = [rng.normal(loc=np.linspace(-8, 2, 80), scale=np.linspace(0.5, 3, 80),
                       size=(n, 80)).astype(np.float32) for n in (50, 120, 7)]
    stats = MelStats.from_mels(mels)
    stacked = np.concatenate(mels)
    normalised = stats.normalize(stacked)
    np.testing.assert_allclose(normalised.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(normalised.std(axis=0), 1.0, atol=1e-3)
    for mel in mels:
        np.testing.assert_allclose(stats.denormalize(stats.normalize(mel)), mel, atol=1e-4)


def test_mel_stats_constant_bin_does_not_divide_by_zero():
    mel = np.zeros((10, 4), np.float32)
    mel[:, 1] = np.arange(10)
    stats = MelStats.from_mels([mel])
    assert np.all(stats.std > 0)
    assert np.all(np.isfinite(stats.normalize(mel)))


def test_mel_stats_need_data():
    with pytest.raises(ValueError):
        MelStats.from_mels([])


def test_mel_stats_save_load_and_list(tmp_path):
    rng = np.random.default_rng(1)
    stats = MelStats.from_mels([rng.normal(size=(30, 80)).astype(np.float32)])
    path = tmp_path / "mel_stats.npz"
    stats.save(path)
    loaded = MelStats.load(path)
    np.testing.assert_array_equal(loaded.mean, stats.mean)
    np.testing.assert_array_equal(loaded.std, stats.std)
    via_list = MelStats.from_list(stats.to_list())
    np.testing.assert_array_equal(via_list.mean, stats.mean)
    np.testing.assert_array_equal(via_list.std, stats.std)


def test_griffin_lim_length(audio):
    audio.griffin_lim_iters = 4
    frames = 40
    wav = GriffinLimVocoder(audio)(np.full((frames, audio.n_mels), -3.0, np.float32))
    assert wav.dtype == np.float32
    assert abs(len(wav) - frames * audio.hop_length) <= audio.hop_length
    assert np.all(np.isfinite(wav))
    assert np.max(np.abs(wav)) <= 0.95 + 1e-6


@pytest.mark.parametrize("freq", [300.0, 1000.0])
def test_griffin_lim_keeps_dominant_frequency(audio, freq):
    audio.griffin_lim_iters = 16
    original = sine(freq, 0.6)
    wav = GriffinLimVocoder(audio)(log_mel(original, audio))
    # the mel filterbank is ~1-2 FFT bins wide at these frequencies (mel bands ~ 30-70 Hz)
    assert abs(dominant_frequency(wav, SR) - freq) < 60.0


# ------------------------------------------------------------------ load_wav

def test_load_wav_missing_file(audio, tmp_path):
    path = tmp_path / "nope.wav"
    with pytest.raises(AudioError, match="nope.wav"):
        load_wav(path, audio)


def test_load_wav_silent_file(audio, tmp_path):
    path = tmp_path / "silent.wav"
    sf.write(path, np.zeros(SR // 2, np.float32), SR)
    with pytest.raises(AudioError, match="silent.wav"):
        load_wav(path, audio)


def test_load_wav_empty_file(audio, tmp_path):
    path = tmp_path / "empty.wav"
    sf.write(path, np.zeros(0, np.float32), SR)
    with pytest.raises(AudioError, match="empty.wav"):
        load_wav(path, audio)


def test_load_wav_corrupt_file(audio, tmp_path):
    path = tmp_path / "corrupt.wav"
    path.write_bytes(b"RIFF\x00\x00\x00\x00WAVEthis is not audio data at all" * 4)
    with pytest.raises(AudioError, match="corrupt.wav"):
        load_wav(path, audio)


def test_load_wav_resamples_with_warning(audio, tmp_path, caplog):
    path = tmp_path / "at16k.wav"
    sf.write(path, sine(440, 1.0, sr=16000), 16000)
    audio.trim_silence = False
    with caplog.at_level(logging.WARNING, logger="myxtts.audio.features"):
        wav = load_wav(path, audio)
    assert any("at16k.wav" in r.getMessage() and "16000" in r.getMessage()
               for r in caplog.records if r.levelno == logging.WARNING)
    assert abs(len(wav) - SR) <= 2
    assert abs(dominant_frequency(wav, SR) - 440) < 5


def test_load_wav_native_rate_no_warning_and_stereo_downmixed(audio, tmp_path, caplog):
    path = tmp_path / "stereo.wav"
    mono = sine(440, 0.5)
    sf.write(path, np.stack([mono, mono], axis=1), SR)
    audio.trim_silence = False
    with caplog.at_level(logging.WARNING, logger="myxtts.audio.features"):
        wav = load_wav(path, audio)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert wav.ndim == 1 and len(wav) == len(mono)
    np.testing.assert_allclose(wav, mono, atol=1e-3)


def test_load_wav_trims_silence(audio, tmp_path):
    path = tmp_path / "padded.wav"
    speech = sine(440, 0.5)
    sf.write(path, np.concatenate([np.zeros(SR), speech, np.zeros(SR)]), SR)
    audio.trim_silence = True
    wav = load_wav(path, audio)
    assert len(wav) < len(speech) + SR // 2
    assert len(wav) >= len(speech) - audio.hop_length * 4


def test_load_wav_accepts_str_path(audio, tmp_path):
    path = tmp_path / "s.wav"
    sf.write(path, sine(220, 0.3), SR)
    assert isinstance(load_wav(str(Path(path)), audio), np.ndarray)
