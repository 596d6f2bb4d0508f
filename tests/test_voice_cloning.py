"""Voice cloning: the reference decides the voice; several clips are averaged; trained
speakers by name; the mean latent without a reference; old checkpoints; clear errors."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from myxtts.cli import synthesize as inference_main
from myxtts.models.speaker_latents import SpeakerLatents, mel_latents, reference_windows
from tiny_checkpoint import REFERENCE_MAX_FRAMES, speaker_mels, write_tiny_checkpoint

TEXT = "The lamp is on the table."


@pytest.fixture(scope="module")
def new_run(tmp_path_factory) -> Path:
    """A checkpoint with a speaker-latent table (as the trainer saves them)."""
    return write_tiny_checkpoint(tmp_path_factory.mktemp("new") / "run", speakers=speaker_mels())


@pytest.fixture(scope="module")
def old_run(tmp_path_factory) -> Path:
    """A checkpoint laid out as before speaker latents were stored, with a stored config
    that predates the keys added since."""
    return write_tiny_checkpoint(tmp_path_factory.mktemp("old") / "run", legacy_config=True)


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


# -- the reference spectrum (model.reference_spectrum) ---------------------------------------

@pytest.fixture(scope="module")
def spectrum_synth(tmp_path_factory):
    from myxtts import Synthesizer
    run = write_tiny_checkpoint(tmp_path_factory.mktemp("spectrum") / "run",
                                speakers=speaker_mels(), reference_spectrum=True)
    return Synthesizer.from_checkpoint(run)


def test_the_speaker_code_is_the_latent_then_the_references_average_spectrum(spectrum_synth,
                                                                             voices):
    model = spectrum_synth.model
    latent_dim = spectrum_synth.config.model.speaker_latent_dim
    assert model.speaker_code_dim == latent_dim + spectrum_synth.config.audio.n_mels
    mel = spectrum_synth.reference_mel(voices[0])
    windows = reference_windows(mel, REFERENCE_MAX_FRAMES)
    assert len(windows) > 1
    code = spectrum_synth.reference_latent(voices[0])
    assert code.shape == (model.speaker_code_dim,)
    np.testing.assert_allclose(code[latent_dim:], np.mean([w.mean(axis=0) for w in windows], 0),
                               rtol=0, atol=1e-5)
    # The table stores codes too: a trained speaker by name is a full code.
    assert spectrum_synth.reference_latent(speaker="bob").shape == code.shape


def test_a_speaker_code_speaks_as_its_reference_mel_does(spectrum_synth):
    """The stored/averaged-code path and the reference-mel path of the model agree."""
    import tensorflow as tf

    model = spectrum_synth.model
    ref = speaker_mels()["carol"][0][:REFERENCE_MAX_FRAMES][None]
    ref_lengths = tf.constant([ref.shape[1]])
    ids = tf.constant([[5, 9, 12, 7, 3, 20]], tf.int32)
    lengths = tf.constant([6])
    from_mel, n_mel, _ = model.generate(ids, lengths, tf.constant(ref), ref_lengths)
    code = tf.constant(mel_latents(model, [ref[0]], REFERENCE_MAX_FRAMES))
    from_code, n_code, _ = model.generate(ids, lengths, speaker_latent=code)
    assert int(n_mel[0]) == int(n_code[0])
    np.testing.assert_allclose(from_mel.numpy(), from_code.numpy(), rtol=0, atol=1e-5)
    with pytest.raises(ValueError, match="takes"):
        model.generate(ids, lengths, speaker_latent=code[:, :5])


@pytest.mark.parametrize("strategy", ["non_autoregressive", "autoregressive"])
def test_the_decoder_predicts_around_the_reference_spectrum(strategy):
    """With the decoder's mel output zeroed, its mel is the reference's average spectrum on
    every real frame (padding stays zero), for both decoders."""
    import keras
    import tensorflow as tf

    from myxtts.config.config import XTTSConfig
    from myxtts.models.factory import build_model
    from tiny_model import shrink_model

    config = shrink_model(XTTSConfig())
    config.model.decoder_strategy = strategy
    config.model.reference_spectrum = True
    keras.utils.set_random_seed(0)
    model = build_model(config, 30)
    rng = np.random.default_rng(0)
    n_mels = config.audio.n_mels
    ref = rng.normal(size=(2, 16, n_mels)).astype(np.float32)
    ref[1, 10:] = 50.0  # padding: must not count
    batch = {"text_ids": tf.constant(rng.integers(1, 30, (2, 5)), tf.int32),
             "text_lengths": tf.constant([5, 4]),
             "mel": tf.constant(rng.normal(size=(2, 12, n_mels)), tf.float32),
             "mel_lengths": tf.constant([12, 9]),
             "ref_mel": tf.constant(ref), "ref_lengths": tf.constant([16, 10])}
    model(batch)
    out = model.decoder.mel_out if strategy == "non_autoregressive" else model.ar_decoder.mel_out
    for weight in out.weights:
        weight.assign(tf.zeros_like(weight))
    mel = model(batch)["mel_before"].numpy()
    spectrum = [ref[0].mean(axis=0), ref[1, :10].mean(axis=0)]
    for row, frames in enumerate((12, 9)):
        np.testing.assert_allclose(mel[row, :frames], np.broadcast_to(spectrum[row],
                                   (frames, n_mels)), rtol=0, atol=1e-5)
        assert not mel[row, frames:].any()


def test_a_checkpoint_saved_before_the_reference_spectrum_loads_without_it(old_run):
    import yaml

    from myxtts.config.config import XTTSConfig
    from myxtts.config.stored import config_from_yaml_text
    from myxtts.training.checkpoints import load_checkpoint

    stored = XTTSConfig().to_dict()
    stored["model"]["reference_spectrum"] = True
    assert config_from_yaml_text(yaml.safe_dump(stored), "new").model.reference_spectrum
    stored["model"]["speaker_film"] = True
    assert config_from_yaml_text(yaml.safe_dump(stored), "new").model.speaker_film
    del stored["model"]["reference_spectrum"], stored["model"]["speaker_film"]
    old = config_from_yaml_text(yaml.safe_dump(stored), "old").model
    assert not old.reference_spectrum and not old.speaker_film
    loaded = load_checkpoint(old_run)
    assert loaded.model.speaker_code_dim == loaded.config.model.speaker_latent_dim


# -- FiLM: the speaker on every decoder block (model.speaker_film) ---------------------------

def test_film_starts_as_the_plain_decoder_and_lets_the_speaker_reach_every_block():
    import tensorflow as tf

    from myxtts.config.config import ConfigError, XTTSConfig
    from myxtts.models.decoders import FrameDecoder

    decoder = FrameDecoder(16, 2, 2, 32, 3, 0.0, 8, reduction=2, film=True)
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=(2, 10, 16)), tf.float32)
    mask = tf.sequence_mask([10, 7], 10)
    one = tf.constant(rng.normal(size=(2, 1, 16)), tf.float32)
    other = tf.constant(rng.normal(size=(2, 1, 16)), tf.float32)
    mel, _ = decoder(x, mask, speaker=one)
    film, decoder.film = decoder.film, []
    plain, _ = decoder(x, mask)
    decoder.film = film
    np.testing.assert_allclose(mel.numpy(), plain.numpy(), atol=1e-6)  # zero-initialised
    assert len(decoder.film) == 2 and decoder.film_1 is decoder.film[1]  # checkpointed
    for layer in decoder.film:
        layer.kernel.assign(rng.normal(scale=0.3, size=layer.kernel.shape))
    a, _ = decoder(x, mask, speaker=one)
    b, _ = decoder(x, mask, speaker=other)
    assert np.abs(a.numpy() - b.numpy())[0].mean() > 1e-3  # same frames, another voice
    assert not a.numpy()[1, 7:].any()  # padding stays zero

    config = XTTSConfig()
    config.model.decoder_strategy = "autoregressive"
    config.model.speaker_film = True
    with pytest.raises(ConfigError, match="speaker_film"):
        XTTSConfig.from_dict(config.to_dict())
