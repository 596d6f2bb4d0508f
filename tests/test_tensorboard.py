"""TensorBoard: a short run's event files, read back with the loader TensorBoard's server
uses (``plugin_event_accumulator``: TF2 summaries are tensors tagged with their plugin)."""

from __future__ import annotations

import io
import json
import wave

import numpy as np
import pytest
from tensorboard.backend.event_processing.plugin_event_accumulator import (TENSORS,
                                                                           EventAccumulator)
from tensorboard.util.tensor_util import make_ndarray

from myxtts.config.config import XTTSConfig
from myxtts.data.demo import make_demo_dataset
from myxtts.text.symbols import SymbolTable
from myxtts.text.tokenizer import Tokenizer
from myxtts.training.run_log import JSONL_LOG
from myxtts.training.tensorboard import TENSORBOARD_DIR, colorize, pick_sentences
from myxtts.training.trainer import XTTSTrainer
from tiny_model import shrink_model

STEPS, VAL_EVERY = 4, 2


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """4 steps of a tiny model on 12 demo utterances, validating at steps 2 and 4."""
    data = make_demo_dataset(tmp_path_factory.mktemp("demo") / "set", num_utterances=12)
    config = shrink_model(XTTSConfig())
    config.data.batch_size = 4
    config.data.min_val_utterances = 2
    t = config.training
    t.mixed_precision, t.seed = "float32", 3
    t.log_every_steps, t.val_every_steps, t.checkpoint_every_steps = 1, VAL_EVERY, 1000
    run_dir = tmp_path_factory.mktemp("run")
    trainer = XTTSTrainer(config, run_dir)
    trainer.prepare_data(data)
    trainer.train(max_steps=STEPS, progress=False)
    events = EventAccumulator(str(run_dir / TENSORBOARD_DIR), size_guidance={TENSORS: 0})
    events.Reload()
    return trainer, run_dir, events


def series(events, plugin: str) -> dict[str, dict[int, np.ndarray]]:
    """{tag: {step: value}} of every summary of ``plugin`` ("scalars", "audio", "images")."""
    return {tag: {e.step: make_ndarray(e.tensor_proto) for e in events.Tensors(tag)}
            for tag in events.PluginTagToContent(plugin)}


def records(run_dir, kind):
    lines = (run_dir / JSONL_LOG).read_text().splitlines()
    return [r for r in map(json.loads, lines) if r["type"] == kind]


def test_every_logged_number_is_a_scalar(run):
    _, run_dir, events = run
    scalars = series(events, "scalars")
    for kind in ("train", "val"):
        logged = records(run_dir, kind)
        assert logged
        for record in logged:
            for key, value in record.items():
                if key in ("type", "step") or not isinstance(value, (int, float)):
                    continue
                logged_value = scalars[f"{kind}/{key}"][record["step"]]
                assert float(logged_value) == pytest.approx(value, rel=1e-6, abs=1e-6), key
    assert {"train/loss", "train/lr", "train/grad_norm", "train/traces", "val/val_loss",
            "val/alignment_score", "train/steps_per_s"} <= set(scalars)
    assert sorted(scalars["train/loss"]) == list(range(1, STEPS + 1))
    assert sorted(scalars["val/val_loss"]) == [2, 4]
    assert all(v > 0 for v in scalars["train/steps_per_s"].values())
    for cost in ("tensorboard/sample_seconds", "tensorboard/background_seconds"):
        assert sorted(scalars[cost]) == [2, 4] and all(v > 0 for v in scalars[cost].values())


def test_held_out_audio_at_each_validation(run):
    trainer, _, events = run
    audio = series(events, "audio")
    assert sorted(audio) == ["held_out/1", "held_out/2", "held_out/3"]
    rate = trainer.config.audio.sample_rate
    for tag, by_step in audio.items():
        assert sorted(by_step) == [2, 4]
        for clips in by_step.values():
            assert clips.shape == (1,)  # one encoded clip
            with wave.open(io.BytesIO(clips[0])) as w:
                assert w.getframerate() == rate and w.getnchannels() == 1
                samples = np.frombuffer(w.readframes(w.getnframes()), np.int16)
            assert samples.size >= 10 * trainer.config.audio.hop_length
            assert np.abs(samples).max() > 1000  # not silent


def test_mel_and_alignment_images(run):
    trainer, _, events = run
    images = series(events, "images")
    assert {"validation/mel", "validation/alignment", "held_out_mel/1", "held_out_mel/2",
            "held_out_mel/3"} == set(images)
    for tag, by_step in images.items():
        assert sorted(by_step) == [2, 4]
        width, height, png = by_step[4]  # one image: width, height, PNG bytes
        assert int(width) > 20 and int(height) > 100 and png.startswith(b"\x89PNG")
    # Three mel panels (ground truth, teacher-forced, free-running), 2 px per bin.
    assert int(images["validation/mel"][4][1]) >= 3 * 2 * trainer.config.audio.n_mels


def test_sentences_skip_unknown_symbols_and_training_text(caplog):
    tokenizer = Tokenizer(XTTSConfig().text)
    first = pick_sentences(tokenizer, 4)
    assert len(first) == 4 and pick_sentences(tokenizer, 3) == first[:3]  # fixed sentences
    # A sentence found in the run's data is skipped.
    assert pick_sentences(tokenizer, 3, exclude=[first[1]]) == [first[0], first[2], first[3]]
    assert "occurs in the run's data" in caplog.text
    # A sentence the symbol table cannot spell is skipped.
    missing = next(c for c in tokenizer.to_symbol_string(first[0])
                   if c not in "".join(tokenizer.to_symbol_strings(first[1:])))
    table = SymbolTable([s for s in tokenizer.symbols.symbols if s != missing])
    assert pick_sentences(Tokenizer(XTTSConfig().text, table), 3) == first[1:]
    assert "not in the run's symbol table" in caplog.text


def test_colorize():
    image = colorize(np.array([[0.0, 0.5, 1.0, np.nan]]), 0.0, 1.0)
    assert image.shape == (1, 4, 3) and image.dtype == np.uint8
    assert image[0, 0].tolist() == [68, 1, 84] and image[0, 2].tolist() == [253, 231, 37]
    assert image[0, 3].tolist() == [255, 255, 255]


def test_generate_max_frames_bounds_a_runaway_duration_predictor(run, monkeypatch):
    import tensorflow as tf
    model = run[0].model
    monkeypatch.setattr(model, "predict_durations", lambda log_dur, lengths, speed=1.0: tf.cast(
        tf.sequence_mask(lengths, tf.shape(log_dur)[1]), tf.int32) * 40)  # 40 frames a token
    text, lengths = tf.constant([[5, 6, 7, 8, 9, 10], [5, 6, 7, 0, 0, 0]]), tf.constant([6, 3])
    ref, ref_lengths = tf.zeros([2, 20, run[0].config.audio.n_mels]), tf.constant([20, 20])
    _, free, _ = model.generate(text, lengths, ref, ref_lengths)
    assert free.numpy().tolist() == [240, 120]
    mel, bounded, durations = model.generate(text, lengths, ref, ref_lengths, max_frames=60)
    assert bounded.numpy().tolist() == [60, 60] and mel.shape[1] == 60
    assert durations.numpy().min(where=[[True] * 6, [True] * 3 + [False] * 3], initial=99) >= 1
