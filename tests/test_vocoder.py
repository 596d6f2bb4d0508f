"""The neural vocoder: its mel twin, losses, trainer (learning, exact resume), the
train/synthesize commands and how inference picks a vocoder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from myxtts.audio.features import log_mel, mel_basis, tf_log_mel
from myxtts.config.config import AudioConfig, XTTSConfig
from myxtts.data.demo import make_demo_dataset
from myxtts.training.checkpoints import CheckpointError
from myxtts.training.vocoder_checkpoint import (DISCRIMINATOR_MARK, aligned_audio, build_generator,
                                                find_vocoder_dir, load_vocoder,
                                                read_vocoder_config)
from myxtts.training.vocoder_data import VocoderData, ground_truth_data, gta_data
from myxtts.training.vocoder_losses import (mel_loss, spectrum_losses, stft_loss,
                                            target_spectrum, vocoder_losses)
from myxtts.training.vocoder_trainer import VocoderTrainer, context_frames
from myxtts.inference.vocoders import select_vocoder
from tiny_checkpoint import write_tiny_checkpoint

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["vocoder.channels=32", "vocoder.blocks=2", "vocoder.segment_frames=16",
         "vocoder.batch_size=4", "vocoder.val_utterances=2", "vocoder.warmup_steps=2",
         "vocoder.log_every=1", "vocoder.val_every=1000", "vocoder.checkpoint_every=1000",
         "vocoder.adversarial_start_step=1000"]


def small_config(**vocoder) -> XTTSConfig:
    config = XTTSConfig().apply_overrides(SMALL)
    for key, value in vocoder.items():
        setattr(config.vocoder, key, value)
    return config.validate()


def chirp(seconds: float, rate: int, f0: float) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * (f0 + 150 * t) * t)).astype(np.float32)


def synthetic_data(audio: AudioConfig) -> VocoderData:
    wavs = [chirp(0.6, audio.sample_rate, f) for f in (120.0, 180.0, 240.0, 300.0)]
    mels = [log_mel(w, audio) for w in wavs]
    pairs = [(m, aligned_audio(w, m.shape[0], audio.hop_length)) for m, w in zip(mels, wavs)]
    return VocoderData([m for m, _ in pairs[:3]], [w for _, w in pairs[:3]],
                       [pairs[3][0]], [pairs[3][1]])


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    return make_demo_dataset(tmp_path_factory.mktemp("demo") / "set", num_utterances=12)


def test_tensorflow_mel_equals_the_mel_definition():
    audio = AudioConfig()
    wav = chirp(0.5, audio.sample_rate, 200.0)
    expected = log_mel(wav, audio)
    got = tf_log_mel(tf.constant(wav[None]), audio).numpy()[0]
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=1e-2)  # float32 FFT near the floor
    assert float(np.mean(np.abs(got - expected))) < 1e-4


def test_losses_are_per_example_zero_for_the_real_audio_and_grow_with_the_error():
    audio = AudioConfig()
    real = np.stack([chirp(0.3, audio.sample_rate, f) for f in (150.0, 250.0)])
    noisy = real + np.random.default_rng(0).normal(0, 0.05, real.shape).astype(np.float32)
    same = vocoder_losses(tf.constant(real), tf.constant(real), audio, XTTSConfig().vocoder)
    assert same["loss"].shape == (2,)
    assert float(tf.reduce_max(same["mel_loss"])) < 1e-5
    assert float(tf.reduce_max(same["stft_loss"])) < 1e-3
    small = stft_loss(tf.constant(real + 0.1 * (noisy - real)), tf.constant(real))
    large = stft_loss(tf.constant(noisy), tf.constant(real))
    assert np.all(small.numpy() < large.numpy())
    assert np.all(mel_loss(tf.constant(noisy), tf.constant(real), audio).numpy() > 0.01)


def test_generator_gives_hop_samples_per_frame():
    config = small_config()
    generator = build_generator(config)
    out = generator(tf.zeros([2, 10, config.audio.n_mels]))
    assert out.shape == (2, 10 * config.audio.hop_length)
    assert np.all(np.isfinite(out.numpy()))


def test_the_real_spectrum_has_zero_spectrum_loss_and_the_generator_inverts_it_in_place():
    """Training segments' targets are the frames the generator predicts: the real STFT of a
    segment with context, fed back through the generator's inverse STFT, gives back that
    segment's samples, and scores zero; a shifted segment does not."""
    config = small_config()
    audio, hop, half = config.audio, config.audio.hop_length, config.audio.n_fft // 2
    wav = chirp(0.8, audio.sample_rate, 140.0)
    mel = log_mel(wav, audio)
    wav = aligned_audio(wav, mel.shape[0], hop)
    trainer = VocoderTrainer(config, Path("unused"), VocoderData([mel], [wav], [mel], [wav]))
    mels, wavs, contexts = trainer.segments(0)
    assert contexts.shape == (4, wavs.shape[1] + 2 * half)
    np.testing.assert_array_equal(contexts[:, half:-half], wavs)
    target = target_spectrum(tf.constant(contexts), audio)
    assert target.shape == (4, config.vocoder.segment_frames, audio.n_fft // 2 + 1)
    log_mag = tf.math.log(tf.maximum(tf.abs(target), 1e-5))
    phase = tf.math.angle(target)
    rebuilt = trainer.generator.waveform(log_mag, phase).numpy()
    inner = slice(half, -half)  # the edges lack the overlap of outside frames
    np.testing.assert_allclose(rebuilt[:, inner], wavs[:, inner], atol=1e-4)
    zero = spectrum_losses(log_mag, phase + 2 * np.pi, target)  # a whole turn is no error
    assert float(tf.reduce_max(zero["amplitude_loss"])) < 1e-4
    assert float(tf.reduce_max(zero["phase_loss"])) < 1e-3
    shifted = target_spectrum(tf.constant(np.roll(contexts, 37, axis=1)), audio)
    wrong = spectrum_losses(log_mag, phase, shifted)
    assert np.all(wrong["phase_loss"].numpy() > 0.5)


def test_gta_fine_tuning_mixes_in_the_recordings_own_mels_at_the_configured_fraction():
    """On GTA data a segment takes the real mel with probability gta_real_fraction (the
    same frames, the same audio), so the vocoder keeps rendering real mels."""
    base = synthetic_data(AudioConfig())
    gta = [m - 1.0 for m in base.train_mels]  # stand-in predictions, told apart by value
    data = VocoderData(gta, base.train_wavs, base.val_mels, base.val_wavs, "gta:x",
                       train_real_mels=base.train_mels)
    fractions = {}
    for fraction in (0.0, 0.5):
        config = small_config(gta_real_fraction=fraction, batch_size=16)
        trainer = VocoderTrainer(config, Path("unused"), data)
        reference = VocoderTrainer(config, Path("unused"), base)
        real = 0
        extra = context_frames(config)
        core = slice(extra, extra + config.vocoder.segment_frames)
        for step in range(10):
            mels, wavs, _ = trainer.segments(step)
            plain = reference.segments(step)
            np.testing.assert_array_equal(wavs, plain[1])  # the same windows either way
            mels, plain_mels = mels[:, core], plain[0][:, core]
            from_real = np.all(mels == plain_mels, axis=(1, 2))
            assert np.all(from_real | np.all(mels == plain_mels - 1.0, axis=(1, 2)))
            real += int(from_real.sum())
        fractions[fraction] = real / 160
    assert fractions[0.0] == 0.0
    assert 0.35 < fractions[0.5] < 0.65


def test_magnitude_prior_starts_the_generator_from_the_mel_envelope():
    """Before any training (zero head), the prior's magnitudes already carry the input
    mel: put back through the filterbank they give the mel again, where it is above the
    floor; without the prior every magnitude is 1."""
    audio = AudioConfig()
    mel = log_mel(chirp(0.4, audio.sample_rate, 200.0), audio)
    with_prior, without = build_generator(small_config()), \
        build_generator(small_config(magnitude_prior=False))
    for generator in (with_prior, without):
        generator.head.set_weights([np.zeros_like(w) for w in generator.head.get_weights()])
    log_mag, _ = with_prior.log_magnitude_phase(tf.constant(mel[None]))
    again = np.log(np.maximum(np.exp(log_mag.numpy()[0]) @ mel_basis(audio).T, 1e-5))
    loud = mel > np.log(1e-2)
    assert loud.sum() > 100
    assert float(np.mean(np.abs(again - mel)[loud])) < 0.3
    flat, _ = without.log_magnitude_phase(tf.constant(mel[None]))
    assert float(tf.reduce_max(tf.abs(flat))) == 0.0


def test_synthesis_keeps_the_mel_energy_and_can_be_told_not_to():
    """Level matching: whatever the untrained phases cancel, the output's mel carries the
    input mel's energy; with vocoder.match_level off the raw overlap-add comes out."""
    audio = AudioConfig()
    mel = log_mel(chirp(0.5, audio.sample_rate, 180.0), audio)[None]
    energy = lambda m: float(np.sum(np.exp(2.0 * m)))
    matched = build_generator(small_config())
    raw = build_generator(small_config(match_level=False))
    raw.set_weights(matched.get_weights())
    out = matched(tf.constant(mel))
    ratio_db = 10 * np.log10(energy(tf_log_mel(out, audio).numpy()) / energy(mel))
    assert abs(ratio_db) < 0.05
    plain = raw(tf.constant(mel))
    assert abs(10 * np.log10(energy(tf_log_mel(plain, audio).numpy()) / energy(mel))) > 1.0
    np.testing.assert_allclose(out.numpy(), plain.numpy() * matched.level_gain(
        tf.constant(mel), plain).numpy(), rtol=1e-5, atol=1e-7)


def test_an_old_vocoder_checkpoint_loads_without_the_prior_it_was_trained_without(tmp_path):
    config = small_config(magnitude_prior=False, amplitude_loss_weight=0.0,
                          phase_loss_weight=0.0, mel_context=False)
    trainer = VocoderTrainer(config, tmp_path / "old", synthetic_data(config.audio))
    trainer.train(progress=False, max_steps=1)
    prefix = str(tmp_path / "old" / "ckpt-1")
    text = config.to_yaml()
    for key in ("magnitude_prior", "amplitude_loss_weight", "phase_loss_weight", "mel_context"):
        text = "\n".join(line for line in text.splitlines()
                         if not line.strip().startswith(key + ":"))
    trainer.state.config_yaml.assign(text)  # the config as saved before these keys existed
    trainer.checkpoint.write(prefix)
    _, stored = read_vocoder_config(prefix)
    assert stored.vocoder.magnitude_prior is False
    assert stored.vocoder.phase_loss_weight == 0.0 and stored.vocoder.amplitude_loss_weight == 0
    assert XTTSConfig().vocoder.magnitude_prior is True
    assert stored.vocoder.mel_context is False and XTTSConfig().vocoder.mel_context is True


def test_training_lowers_the_validation_loss(tmp_path):
    config = small_config(learning_rate=3e-3, max_steps=60)
    trainer = VocoderTrainer(config, tmp_path / "voc", synthetic_data(config.audio))
    before = trainer.validate()["val_loss"]
    summary = trainer.train(progress=False)
    assert summary.steps == 60
    assert summary.last_val["val_loss"] < 0.8 * before
    records = (tmp_path / "voc" / "train_log.jsonl").read_text().splitlines()
    assert '"val_mel_loss"' in records[-2] and '"task": "vocoder"' in records[0]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The same 4 steps (adversarial from step 2) trained at once and as 3 + resumed 1."""
    root = tmp_path_factory.mktemp("vocoder_runs")
    config = small_config(max_steps=4, adversarial_start_step=2, adversarial_weight=1.0)
    data = synthetic_data(config.audio)
    VocoderTrainer(config, root / "whole", data).train(progress=False)
    VocoderTrainer(config, root / "split", data).train(progress=False, max_steps=3)
    resumed = VocoderTrainer(config, root / "split", data, resume=str(root / "split" / "ckpt-3"))
    assert int(resumed.state.step.numpy()) == 3
    resumed.train(progress=False)
    return root


def test_resume_is_exact_across_the_start_of_adversarial_training(runs):
    records = [json.loads(line) for line in
               (runs / "whole" / "train_log.jsonl").read_text().splitlines()]
    steps = {r["step"]: r for r in records if r["type"] == "train"}
    assert "discriminator_loss" not in steps[2] and np.isfinite(steps[3]["discriminator_loss"])
    assert np.isfinite(steps[4]["adversarial_loss"])
    a, _, _ = load_vocoder(runs / "whole")
    b, _, _ = load_vocoder(runs / "split")
    # Float rounding differs by ~1e-7 between separately traced graphs; the phase loss's
    # wrap (round to the nearest turn) turns that into a flipped sign for a few bins near
    # +-pi, so a handful of weights differ by a few 1e-6. A step replayed differently (data,
    # schedule, optimizer moments) moves weights by up to the learning rate, 1e-3 (AdamW).
    for x, y in zip(a.weights, b.weights):
        np.testing.assert_allclose(x.numpy(), y.numpy(), atol=2e-5)
    reader = tf.train.load_checkpoint(str(runs / "split" / "ckpt-4"))
    assert int(reader.get_tensor(DISCRIMINATOR_MARK)) == 2  # both adversarial steps


def test_a_vocoder_for_another_mel_definition_is_refused(runs, tmp_path):
    other = AudioConfig(hop_length=200)
    with pytest.raises(CheckpointError, match=r"audio.hop_length: 256 != 200"):
        load_vocoder(runs / "whole", other)
    with pytest.raises(CheckpointError, match="not a MyXTTS vocoder"):
        load_vocoder(write_tiny_checkpoint(tmp_path / "tts"))
    with pytest.raises(ValueError, match="no neural vocoder"):
        select_vocoder("neural", AudioConfig(), tmp_path / "tts")
    assert select_vocoder("auto", AudioConfig(), tmp_path / "tts").name == "griffin_lim"
    assert select_vocoder("auto", AudioConfig(), tmp_path / "tts",
                          vocoder_checkpoint=runs / "whole").name == "neural"


def test_gta_mels_pair_frame_for_frame_with_the_recordings(demo, tmp_path):
    from myxtts.training.checkpoints import load_checkpoint

    loaded = load_checkpoint(write_tiny_checkpoint(tmp_path / "tts"))
    vocoder = small_config().vocoder
    gta = gta_data(loaded, vocoder, demo)
    real = ground_truth_data(loaded.config.apply_overrides(SMALL), demo)
    assert gta.source.startswith("gta:") and real.source == "ground_truth"
    assert len(gta.train_mels) == len(real.train_mels) > 0
    for g, r, w in zip(gta.train_mels, real.train_mels, gta.train_wavs):
        assert g.shape == r.shape
        assert len(w) == r.shape[0] * loaded.config.audio.hop_length
    assert not np.allclose(gta.train_mels[0], real.train_mels[0])


def run(*args, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=cwd,
                          timeout=600, env={"TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(ROOT),
                                            "PATH": "/usr/bin:/bin"})


def test_train_then_synthesize_with_the_runs_vocoder(demo, tmp_path):
    tts = write_tiny_checkpoint(tmp_path / "tts")
    sets = [x for item in SMALL for x in ("--set", item)]
    first = run(str(ROOT / "train_main.py"), "--task", "vocoder", "--train-data", str(demo),
                "--checkpoint-dir", str(tts / "vocoder"), "--max-steps", "2", "--no-progress",
                *sets, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert find_vocoder_dir(tts) == tts / "vocoder"
    again = run(str(ROOT / "train_main.py"), "--task", "vocoder", "--train-data", str(demo),
                "--checkpoint-dir", str(tts / "vocoder"), "--max-steps", "4", cwd=tmp_path)
    assert again.returncode != 0 and "--resume-checkpoint latest" in again.stderr
    gta = run(str(ROOT / "train_main.py"), "--task", "vocoder", "--gta-from", str(tts),
              "--train-data", str(demo), "--resume-checkpoint", "latest", "--max-steps", "3",
              "--no-progress", cwd=tmp_path)
    assert gta.returncode == 0, gta.stderr
    assert "gta:" in gta.stdout
    out = tmp_path / "hi.wav"
    said = run(str(ROOT / "inference_main.py"), "--checkpoint", str(tts), "--text", "Hi.",
               "--output", str(out), cwd=tmp_path)
    assert said.returncode == 0, said.stderr
    assert "Vocoder: neural" in said.stdout and out.stat().st_size > 1000


def test_asking_for_a_neural_vocoder_that_does_not_exist_names_the_fix(tmp_path):
    tts = write_tiny_checkpoint(tmp_path / "tts")
    said = run(str(ROOT / "inference_main.py"), "--checkpoint", str(tts), "--text", "Hi.",
               "--output", str(tmp_path / "x.wav"), "--vocoder", "neural", cwd=tmp_path)
    assert said.returncode != 0
    assert "no neural vocoder" in said.stderr and "--task vocoder" in said.stderr
    assert not (tmp_path / "x.wav").exists()


def test_training_segments_carry_their_utterance_context_and_only_the_segment_is_scored():
    """With vocoder.mel_context a segment's mel brings the generator's receptive field of
    frames from its utterance on either side (zeros past the ends, as a whole utterance's
    convolutions pad), and the generated frames of that context are dropped: a training
    frame sees what it sees inside a whole utterance at synthesis."""
    data = synthetic_data(AudioConfig())
    config = small_config(segment_frames=8, batch_size=6)
    extra = context_frames(config)
    v = config.vocoder
    assert extra == (v.kernel_size // 2) * (v.blocks + 1) > 0
    trainer = VocoderTrainer(config, Path("unused"), data)
    plain = VocoderTrainer(small_config(segment_frames=8, batch_size=6, mel_context=False),
                           Path("unused"), data)
    assert context_frames(plain.config) == 0
    for step in range(5):
        mels, wavs, _ = trainer.segments(step)
        flat, flat_wavs, _ = plain.segments(step)
        assert mels.shape == (6, 8 + 2 * extra, flat.shape[2]) and flat.shape[1] == 8
        np.testing.assert_array_equal(mels[:, extra:extra + 8], flat)  # same windows
        np.testing.assert_array_equal(wavs, flat_wavs)
        for row in range(6):  # the context is the utterance's own frames, or zeros
            utterance, start = next((m, s) for m in data.train_mels for s in range(len(m) - 7)
                                    if np.array_equal(flat[row], m[s:s + 8]))
            for j in range(-extra, 8 + extra):
                want = utterance[start + j] if 0 <= start + j < len(utterance) else 0.0
                np.testing.assert_array_equal(mels[row, extra + j], want)
    # The scored output is the segment's: the same length as without context.
    mel, wav, context = (tf.constant(x) for x in trainer.segments(0))
    fake, terms = trainer._reconstruction(mel, wav, context, extra)
    assert fake.shape == wav.shape and terms["loss"].shape == (6,)
