"""The Python API: ``from myxtts import Synthesizer`` (lazy, no TensorFlow at package
import), ``sample_rate``, ``synthesize_to_file`` and padding-correct batch synthesis."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tiny_checkpoint import write_tiny_checkpoint

TEXTS = ["Good morning, Anna!", "Hi.", "The lamp is on the table near the window, again.",
         "Yes, it is."]


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    from myxtts import Synthesizer
    return Synthesizer.from_checkpoint(write_tiny_checkpoint(tmp_path_factory.mktemp("api") / "run"))


@pytest.fixture(scope="module")
def voices(tmp_path_factory) -> list[Path]:
    """Two reference wavs of different lengths (noise bursts, 22.05 and 16 kHz)."""
    folder = tmp_path_factory.mktemp("voices")
    rng = np.random.default_rng(1)
    paths = []
    for name, rate, seconds in (("a.wav", 22050, 0.4), ("b.wav", 16000, 1.1)):
        t = np.arange(int(rate * seconds)) / rate
        wav = 0.3 * np.sin(2 * np.pi * 180 * t) + 0.05 * rng.normal(size=t.size)
        sf.write(folder / name, wav.astype(np.float32), rate)
        paths.append(folder / name)
    return paths


def test_importing_the_package_imports_no_tensorflow_and_has_no_side_effects():
    code = ("import logging, os, sys; import myxtts; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('tensorflow', 'keras', 'numpy')), logging.getLogger().handlers, "
            "'TF_CPP_MIN_LOG_LEVEL' in os.environ, 'Synthesizer' in dir(myxtts))")
    env = {k: v for k, v in __import__("os").environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[] [] False True"


def test_synthesizer_is_importable_from_the_package():
    import myxtts
    from myxtts import Synthesizer
    from myxtts.inference.synthesizer import Synthesizer as Direct

    assert Synthesizer is Direct
    with pytest.raises(AttributeError, match="no attribute 'Synthesiser'"):
        myxtts.Synthesiser  # noqa: B018


def test_batch_equals_one_at_a_time(synth, voices):
    refs = [voices[0], None, voices[1], voices[0]]
    batch = synth.synthesize_batch(TEXTS, reference_audio=refs, speed=1.1, batch_size=3)
    assert len(batch) == len(TEXTS)
    assert len({len(w) for w in batch}) == len(TEXTS)   # different lengths: real padding
    for text, ref, wav in zip(TEXTS, refs, batch):
        alone = synth.synthesize(text, ref, speed=1.1)
        assert wav.shape == alone.shape and wav.dtype == np.float32
        np.testing.assert_allclose(wav, alone, rtol=0, atol=1e-3, err_msg=text)

    mels = synth.synthesize_mel_batch(TEXTS, synth.reference_mel(voices[1]))
    for text, mel in zip(TEXTS, mels):
        alone = synth.synthesize_mel(text, synth.reference_mel(voices[1]))
        np.testing.assert_allclose(mel, alone, rtol=0, atol=1e-5, err_msg=text)

    one_voice = synth.synthesize_batch(TEXTS[:2], reference_audio=voices[1])
    np.testing.assert_allclose(one_voice[1], synth.synthesize(TEXTS[1], voices[1]),
                               rtol=0, atol=1e-3)
    assert synth.synthesize_batch([]) == []


def test_batch_errors_are_clear(synth, voices):
    with pytest.raises(ValueError, match="3 entries for 2 texts"):
        synth.synthesize_batch(TEXTS[:2], reference_audio=[voices[0]] * 3)
    with pytest.raises(ValueError, match="'  '"):
        synth.synthesize_batch(["Fine.", "  "])
    with pytest.raises(ValueError, match="speed"):
        synth.synthesize_batch(["Fine."], speed=0)
    with pytest.raises(ValueError, match="batch_size"):
        synth.synthesize_batch(["Fine."], batch_size=0)


def test_synthesize_to_file_and_sample_rate(synth, voices, tmp_path):
    assert synth.sample_rate == synth.config.audio.sample_rate == 22050
    path = tmp_path / "sub" / "hello.wav"
    assert synth.synthesize_to_file("Hello there.", path, voices[0]) == path
    info = sf.info(path)
    assert (info.samplerate, info.channels, info.subtype) == (synth.sample_rate, 1, "PCM_16")
    assert info.frames == len(synth.synthesize("Hello there.", voices[0]))

    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="hello.wav"):
        synth.synthesize_to_file("Something else entirely.", path)
    assert path.read_bytes() == before
    synth.synthesize_to_file("Something else entirely.", path, overwrite=True, speed=0.8)
    assert sf.info(path).frames > info.frames
    with pytest.raises(IsADirectoryError):
        synth.synthesize_to_file("Hi.", tmp_path)
