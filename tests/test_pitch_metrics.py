"""Pitch and voicing agreement (myxtts.evaluation.pitch) on signals with a known answer."""

import numpy as np
import pytest

from myxtts.evaluation.pitch import pitch_agreement, pitch_summary

RATE = 22050


def _voice(f0: float, seconds: float = 1.0) -> np.ndarray:
    """A buzzy vowel-like tone: the first 20 harmonics of ``f0`` falling off as 1/h."""
    t = np.arange(int(RATE * seconds)) / RATE
    wav = sum(np.sin(2 * np.pi * h * f0 * t) / h for h in range(1, 21) if h * f0 < RATE / 2)
    return (0.3 * wav / np.max(np.abs(wav))).astype(np.float32)


def _whisper(seconds: float = 1.0) -> np.ndarray:
    return (0.1 * np.random.default_rng(0).standard_normal(int(RATE * seconds))).astype(np.float32)


def test_the_same_low_voice_agrees_with_itself():
    voice = _voice(85.0)
    agreement = pitch_agreement(voice, voice, RATE)
    assert agreement["voiced_recall"] > 0.9
    assert agreement["vde"] < 0.1
    assert agreement["f0_cents"] < 20
    summary = pitch_summary(voice, RATE)
    assert summary["f0_median_hz"] == pytest.approx(85.0, rel=0.03)


def test_a_whispered_copy_of_a_voice_loses_its_voicing():
    voice = _voice(85.0)
    agreement = pitch_agreement(voice, _whisper(), RATE)
    assert agreement["voiced_recall"] < 0.1
    assert agreement["vde"] > 0.8
    assert pitch_summary(_whisper(), RATE)["voiced_fraction"] < 0.1


def test_an_octave_error_is_1200_cents():
    agreement = pitch_agreement(_voice(110.0), _voice(220.0), RATE)
    assert agreement["voiced_recall"] > 0.9
    assert agreement["f0_cents"] == pytest.approx(1200, abs=40)


def test_waveforms_of_different_length_are_cut_to_the_shorter():
    agreement = pitch_agreement(_voice(150.0, 1.0), _voice(150.0, 0.6), RATE)
    # Scored over the first 0.6 s only: the reference's last 0.4 s is not counted as lost.
    assert agreement["voiced_recall"] > 0.9
    assert agreement["f0_cents"] < 20
    assert agreement["reference_voiced_fraction"] > 0.8


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match="mono"):
        pitch_summary(np.zeros((2, RATE), np.float32), RATE)
    with pytest.raises(ValueError, match="at least"):
        pitch_summary(np.zeros(100, np.float32), RATE)


def test_the_vocoder_benchmark_scores_pitch_on_copy_synthesis_only():
    """``benchmarks/vocoder.py``: copy-synthesis rows (same timing as the recording) carry
    voiced recall, voicing error and F0 error; every row carries its voiced fraction."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "vocoder.py"
    spec = importlib.util.spec_from_file_location("vocoder_benchmark", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    judge = module.Judge(RATE, cer=False, dnsmos=False, save_dir="")
    recording = _voice(90.0)
    copy = judge.score("copy", _whisper(), recording, "a", same_timing=True)
    assert copy["voiced_recall"] < 0.1 and copy["vde"] > 0.8
    assert copy["voiced_fraction"] < 0.1
    assert copy["mcd"] > 0
    tts = judge.score("tts", recording, recording, "a")
    assert "voiced_recall" not in tts
    assert tts["voiced_fraction"] > 0.8
    summary = module.summarize([{"neural": copy}, {"neural": judge.score(
        "same", recording, recording, "a", same_timing=True)}], keys=("neural",))
    assert 0.4 < summary["neural"]["voiced_recall"] < 0.6
