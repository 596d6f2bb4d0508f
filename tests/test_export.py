"""myxtts-export: the SavedModel and TFLite exports reproduce the Keras model's mels for
any text and reference length, carry what a server needs, and never clobber files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from myxtts.cli.export import main as export_main
from tiny_checkpoint import REFERENCE_MAX_FRAMES, write_tiny_checkpoint

TEXTS = ("Hi.", "The quick brown fox jumps over the lazy dog, twice before noon.")
REF_FRAMES = (17, 3 * REFERENCE_MAX_FRAMES)  # the second is longer than the reference limit
TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    return write_tiny_checkpoint(tmp_path_factory.mktemp("export") / "run")


@pytest.fixture(scope="module")
def synth(run):
    from myxtts.inference.synthesizer import Synthesizer
    return Synthesizer.from_checkpoint(run)


def reference_log_mel(synth, frames: int, seed: int) -> np.ndarray:
    """An un-normalised log-mel reference ``[frames, n_mels]`` (what log_mel returns)."""
    normalised = np.random.default_rng(seed).normal(size=(frames, synth.config.audio.n_mels))
    return synth.stats.denormalize(normalised.astype(np.float32))


def cases(synth):
    """(ids, reference log-mel, speed, expected mel from the Keras model) per case."""
    limit = REFERENCE_MAX_FRAMES  # the export cuts the reference at the training crop length
    for i, (text, frames) in enumerate(zip(TEXTS, REF_FRAMES)):
        ref = reference_log_mel(synth, frames, seed=i)
        speed = 1.0 if i == 0 else 1.3
        expected = synth.synthesize_mel(text, synth.stats.normalize(ref)[:limit], speed)
        yield np.asarray(synth.tokenizer.encode(text), np.int32), ref, speed, expected


def test_saved_model_matches_keras_for_two_text_lengths_and_batches(run, synth, tmp_path):
    import tensorflow as tf
    from myxtts.inference.export import ExportInfo

    out = tmp_path / "sm"
    out.mkdir()
    (out / "notes.txt").write_text("mine")                    # a user's file: kept
    assert export_main(["--checkpoint", str(run), "--format", "saved_model",
                        "--output", str(out)]) == 0
    assert (out / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in out.iterdir()) == ["myxtts_export.json", "notes.txt",
                                                     "saved_model"]
    serve = tf.saved_model.load(str(out / "saved_model")).signatures["serving_default"]
    items = list(cases(synth))
    assert len({len(ids) for ids, *_ in items}) == 2
    for ids, ref, speed, expected in items:
        got = serve(text_ids=tf.constant(ids[None]), text_lengths=tf.constant([len(ids)]),
                    ref_log_mel=tf.constant(ref[None]), ref_lengths=tf.constant([len(ref)]),
                    speed=tf.constant(speed, tf.float32))
        assert int(got["mel_lengths"][0]) == len(expected) > len(ids)
        np.testing.assert_allclose(got["mel"].numpy()[0], expected, rtol=0, atol=TOLERANCE)

    # One padded batch of both texts and both references gives the same mels.
    width, frames = max(len(i) for i, *_ in items), max(len(r) for _, r, *_ in items)
    ids = np.zeros((2, width), np.int32)
    refs = np.zeros((2, frames, synth.config.audio.n_mels), np.float32)
    for k, (i, r, *_) in enumerate(items):
        ids[k, : len(i)], refs[k, : len(r)] = i, r
    got = serve(text_ids=tf.constant(ids), text_lengths=tf.constant([len(i) for i, *_ in items]),
                ref_log_mel=tf.constant(refs), ref_lengths=tf.constant([len(r) for _, r, *_ in items]),
                speed=tf.constant(1.3))
    np.testing.assert_allclose(got["mel"].numpy()[1, : len(items[1][3])], items[1][3],
                               rtol=0, atol=TOLERANCE)
    short = int(got["mel_lengths"][0])
    assert np.all(got["mel"].numpy()[0, short:] == np.float32(np.log(1e-5)))  # silence padding

    # The JSON is enough to tokenise text and read the statistics back.
    info = ExportInfo.load(out)
    assert info.tokenizer().encode(TEXTS[1]) == synth.tokenizer.encode(TEXTS[1])
    np.testing.assert_array_equal(info.stats.std, synth.stats.std)
    assert info.data["batch_size"] is None and info.data["sample_rate"] == synth.sample_rate
    assert info.config.to_dict() == synth.config.to_dict()


@pytest.mark.filterwarnings("ignore:.*tf.lite.Interpreter is deprecated")
def test_tflite_matches_keras_for_two_text_lengths_and_overwrites_on_request(run, synth,
                                                                             tmp_path):
    import tensorflow as tf

    out = tmp_path / "tfl"
    out.mkdir()
    (out / "myxtts_export.json").write_text("stale")
    assert export_main(["--checkpoint", str(run / "ckpt-1"), "--format", "tflite",
                        "--output", str(out), "--overwrite"]) == 0
    info = json.loads((out / "myxtts_export.json").read_text())
    assert (info["format"], info["batch_size"]) == ("tflite", 1)
    assert info["tflite_op_sets"] == "TFLITE_BUILTINS"     # no Flex delegate needed
    runner = tf.lite.Interpreter(model_path=str(out / "model.tflite")).get_signature_runner()
    for ids, ref, speed, expected in cases(synth):
        got = runner(text_ids=ids[None], text_lengths=np.array([len(ids)], np.int32),
                     ref_log_mel=ref[None], ref_lengths=np.array([len(ref)], np.int32),
                     speed=np.array(speed, np.float32))
        assert int(got["mel_lengths"][0]) == len(expected)
        np.testing.assert_allclose(got["mel"][0], expected, rtol=0, atol=TOLERANCE)


def test_refuses_existing_export_files_without_overwrite(run, tmp_path, capsys):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "model.tflite").write_bytes(b"keep me")
    assert export_main(["--checkpoint", str(run), "--format", "tflite",
                        "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert str(out / "model.tflite") in err and "--overwrite" in err
    assert (out / "model.tflite").read_bytes() == b"keep me"
    assert sorted(p.name for p in out.iterdir()) == ["model.tflite"]
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert export_main(["--checkpoint", str(run), "--output", str(afile)]) == 2
    assert "not a directory" in capsys.readouterr().err


def test_missing_or_invalid_checkpoints_are_named(tmp_path, capsys):
    missing = tmp_path / "nope" / "ckpt-3"
    empty = tmp_path / "empty"
    empty.mkdir()
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "ckpt-1.index").write_bytes(b"not a checkpoint")
    for checkpoint, message in ((missing, "no such run directory"),
                                (empty, "no checkpoint found"),
                                (broken / "ckpt-1", "cannot read checkpoint")):
        assert export_main(["--checkpoint", str(checkpoint),
                            "--output", str(tmp_path / "out")]) == 2
        err = capsys.readouterr().err
        assert str(checkpoint) in err and message in err, err
    assert not (tmp_path / "out").exists()


def test_autoregressive_checkpoints_are_refused_clearly(synth):
    from myxtts.inference.export import ExportError, MelServing
    from myxtts.inference.synthesizer import LoadedCheckpoint

    config = type(synth.config).from_dict(synth.config.to_dict())
    config.model.decoder_strategy = "autoregressive"
    loaded = LoadedCheckpoint(config, synth.model, synth.tokenizer.symbols, synth.stats,
                              "runs/ar/ckpt-9", 9)
    with pytest.raises(ExportError, match="runs/ar/ckpt-9.*non_autoregressive"):
        MelServing(loaded)
