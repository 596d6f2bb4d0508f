"""Voice cloning: the reference decides the voice; several clips are averaged; trained
speakers by name; the mean latent without a reference; old checkpoints; clear errors."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from myxtts.cli import synthesize as inference_main
from myxtts.models.speaker_latents import SpeakerLatents, reference_windows
from tiny_checkpoint import REFERENCE_MAX_FRAMES, speaker_mels, write_tiny_checkpoint

TEXT = "The lamp is on the table."


@pytest.fixture(scope="module")
def new_run(tmp_path_factory) -> Path:
    """A checkpoint with a speaker-latent table (as the trainer saves them)."""
    return write_tiny_checkpoint(tmp_path_factory.mktemp("new") / "run", speakers=speaker_mels())


@pytest.fixture(scope="module")
def old_run(tmp_path_factory) -> Path:
    """A checkpoint laid out as before speaker latents were stored."""
    return write_tiny_checkpoint(tmp_path_factory.mktemp("old") / "run")


@pytest.fixture(scope="module")
def synth(new_run):
    from myxtts import Synthesizer
    return Synthesizer.from_checkpoint(new_run)


@pytest.fixture(scope="module")
def voices(tmp_path_factory) -> list[Path]:
    """Three reference wavs: two tones of one 'voice' and a very different buzz."""
    folder = tmp_path_factory.mktemp("voices")
    rng = np.random.default_rng(1)
    paths = []
    for name, hz, seconds, noise in (("low1.wav", 120, 0.6, 0.02), ("low2.wav", 125, 1.4, 0.02),
                                     ("buzz.wav", 900, 0.8, 0.3)):
        t = np.arange(int(22050 * seconds)) / 22050
        wav = 0.3 * np.sign(np.sin(2 * np.pi * hz * t)) + noise * rng.normal(size=t.size)
        sf.write(folder / name, wav.astype(np.float32), 22050)
        paths.append(folder / name)
    return paths


def test_reference_windows_have_the_training_crop_length():
    mel = np.arange(250 * 2, dtype=np.float32).reshape(250, 2)
    windows = reference_windows(mel, 96)
    assert len(windows) == 3 and all(w.shape == (96, 2) for w in windows)
    np.testing.assert_array_equal(windows[0], mel[:96])
    np.testing.assert_array_equal(windows[-1], mel[-96:])
    assert len(reference_windows(mel[:96], 96)) == 1
    assert reference_windows(mel[:30], 96)[0].shape == (30, 2)


def test_the_reference_changes_the_output_and_the_same_reference_repeats_it(synth, voices):
    low = synth.synthesize_mel(TEXT, speaker_latent=synth.reference_latent(voices[0]))
    buzz = synth.synthesize_mel(TEXT, speaker_latent=synth.reference_latent(voices[2]))
    again = synth.synthesize_mel(TEXT, speaker_latent=synth.reference_latent(voices[0]))
    np.testing.assert_array_equal(low, again)
    n = min(len(low), len(buzz))
    assert low.shape != buzz.shape or np.abs(low[:n] - buzz[:n]).mean() > 1e-3
    wav_a = synth.synthesize(TEXT, voices[0])
    wav_b = synth.synthesize(TEXT, voices[2])
    assert wav_a.shape != wav_b.shape or not np.allclose(wav_a, wav_b, atol=1e-4)
    np.testing.assert_array_equal(wav_a, synth.synthesize(TEXT, voices[0]))


def test_several_references_average_their_latents(synth, voices):
    one, two = synth.reference_latent(voices[0]), synth.reference_latent(voices[1])
    both = synth.reference_latent([voices[0], voices[1]])
    np.testing.assert_allclose(both, (one + two) / 2, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(synth.reference_latent([voices[0]]), one)
    expected = synth.vocoder(synth.synthesize_mel(TEXT, speaker_latent=both))
    np.testing.assert_allclose(synth.synthesize(TEXT, [voices[0], voices[1]]), expected,
                               rtol=0, atol=1e-5)


def test_a_long_reference_is_the_mean_of_its_windows(synth, voices):
    mel = synth.reference_mel(voices[1])
    assert mel.shape[0] > REFERENCE_MAX_FRAMES  # the clip is longer than one window
    windows = reference_windows(mel, REFERENCE_MAX_FRAMES)
    expected = np.mean([synth.mel_latent(w) for w in windows], axis=0)
    np.testing.assert_allclose(synth.reference_latent(voices[1]), expected, rtol=0, atol=1e-5)


def test_trained_speaker_by_name_and_unknown_names_listed(synth):
    assert synth.speakers == ["alice", "bob", "carol"]
    table = synth.speaker_latents
    latent = synth.reference_latent(speaker="bob")
    np.testing.assert_array_equal(latent, np.asarray(table.speakers["bob"], np.float32))
    wav = synth.synthesize(TEXT, speaker="bob")
    np.testing.assert_allclose(wav, synth.vocoder(synth.synthesize_mel(TEXT, speaker_latent=latent)),
                               rtol=0, atol=1e-5)
    assert not np.allclose(latent, synth.reference_latent(speaker="carol"))
    with pytest.raises(ValueError, match="'dave'.*alice, bob, carol"):
        synth.reference_latent(speaker="dave")


def test_the_speaker_table_holds_each_speakers_mean_and_the_mean_over_speakers(synth):
    mels = speaker_mels()
    table = synth.speaker_latents
    for name, clips in mels.items():
        per_clip = [synth.mel_latent(m) for m in clips]
        np.testing.assert_allclose(table.speakers[name], np.mean(per_clip, axis=0), atol=1e-5)
        assert table.utterances[name] == len(clips)
    np.testing.assert_allclose(table.mean, np.mean(list(table.speakers.values()), axis=0),
                               atol=1e-6)
    assert SpeakerLatents.from_json(table.to_json()) == table
    assert SpeakerLatents.from_json("") is None


def test_no_reference_is_the_stored_mean_latent(synth):
    np.testing.assert_array_equal(synth.default_latent(),
                                  np.asarray(synth.speaker_latents.mean, np.float32))
    wav = synth.synthesize(TEXT)
    expected = synth.vocoder(synth.synthesize_mel(TEXT, speaker_latent=synth.default_latent()))
    np.testing.assert_allclose(wav, expected, rtol=0, atol=1e-5)


def test_old_checkpoint_falls_back_to_the_zero_mel_with_a_warning(old_run, caplog):
    from myxtts import Synthesizer
    old = Synthesizer.from_checkpoint(old_run)
    assert old.speaker_latents is None and old.speakers == []
    with caplog.at_level(logging.WARNING):
        latent = old.default_latent()
    assert "no mean speaker latent" in caplog.text
    zero = np.zeros((REFERENCE_MAX_FRAMES, old.config.audio.n_mels), np.float32)
    np.testing.assert_allclose(latent, old.mel_latent(zero), atol=1e-6)
    with pytest.raises(ValueError, match="no speaker latents"):
        old.reference_latent(speaker="alice")


def test_bad_reference_files_are_named(synth, tmp_path):
    from myxtts.audio.features import AudioError
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF not really a wav")
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(22050, np.float32), 22050)
    for path, what in ((tmp_path / "missing.wav", "not found"), (corrupt, "cannot read"),
                       (silent, "silent")):
        with pytest.raises(AudioError, match=f"{path.name}.*{what}"):
            synth.reference_latent([path])


def test_cli_several_references_and_speaker(new_run, voices, tmp_path, capsys):
    out = tmp_path / "multi.wav"
    assert inference_main.main(["--checkpoint", str(new_run), "--text", TEXT, "--output",
                                str(out), "--reference-audio", str(voices[0]),
                                str(voices[1])]) == 0
    assert out.is_file()
    named = tmp_path / "bob.wav"
    assert inference_main.main(["--checkpoint", str(new_run), "--text", TEXT, "--output",
                                str(named), "--speaker", "bob"]) == 0
    assert named.is_file()
    assert inference_main.main(["--checkpoint", str(new_run), "--text", TEXT, "--output",
                                str(tmp_path / "x.wav"), "--speaker", "dave"]) == 2
    err = capsys.readouterr().err
    assert "--speaker" in err and "dave" in err and "alice, bob, carol" in err
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(22050, np.float32), 22050)
    assert inference_main.main(["--checkpoint", str(new_run), "--text", TEXT, "--output",
                                str(tmp_path / "y.wav"), "--reference-audio", str(voices[0]),
                                str(silent)]) == 2
    assert "silent.wav" in capsys.readouterr().err
    assert not (tmp_path / "x.wav").exists() and not (tmp_path / "y.wav").exists()
    with pytest.raises(SystemExit):  # argparse: --speaker and --reference-audio exclude
        inference_main.main(["--checkpoint", str(new_run), "--text", TEXT, "--output",
                             str(tmp_path / "z.wav"), "--speaker", "bob",
                             "--reference-audio", str(voices[0])])
