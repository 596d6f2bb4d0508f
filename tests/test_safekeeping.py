"""Runs never lose their best model or their last minutes: RUN_DIR/best, resume past the
planned end, SIGTERM/SIGINT, roll-back after non-finite steps, no non-finite checkpoint."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from myxtts.data.demo import make_demo_dataset
from myxtts.training.checkpoints import read_metadata
from myxtts.training.run_log import JSONL_LOG
from myxtts.training.trainer import NothingToTrain, XTTSTrainer
from tiny_model import shrink_model
from test_trainer import tiny_config

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    return make_demo_dataset(tmp_path_factory.mktemp("demo") / "set", num_utterances=12)


def records(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / JSONL_LOG).read_text().splitlines()]


def trainer_for(config, run_dir, data, resume=None) -> XTTSTrainer:
    trainer = XTTSTrainer(config, run_dir)
    trainer.prepare_data(data, resume=resume)
    trainer.build()
    return trainer


def checkpoint_is_finite(prefix: str) -> bool:
    reader = tf.train.load_checkpoint(prefix)
    for name, dtype in reader.get_variable_to_dtype_map().items():
        if dtype.is_floating and not np.isfinite(reader.get_tensor(name)).all():
            return False
    return True


@pytest.mark.slow
def test_finished_run_resumes_to_a_larger_max_steps_and_best_is_kept(demo, tmp_path):
    run = tmp_path / "run"
    config = tiny_config(epochs=2, val_every_steps=1)
    first = trainer_for(config, run, demo).train(progress=False)
    assert first.stop_reason == "epochs" and first.steps > 0
    # Resuming without a larger limit would train 0 steps: refused, with the reason.
    with pytest.raises(NothingToTrain, match="larger --max-steps"):
        trainer_for(config, run, demo, resume=run).train(progress=False)
    # The documented flow: resume the finished run under plateau_breaker, train further.
    from myxtts.config.presets import apply_optimization_level
    more = apply_optimization_level(config, "plateau_breaker")
    more.training.max_steps = first.steps + 3
    summary = trainer_for(more, run, demo, resume=run).train(progress=False)
    assert summary.steps == first.steps + 3 and summary.stop_reason == "max_steps"
    # RUN_DIR/best holds the best validation by the steering metric and is a checkpoint
    # that inference and resuming accept.
    vals = [r for r in records(run) if r["type"] == "val"]
    best = min(vals, key=lambda r: r["val_loss"])
    meta = read_metadata(run / "best")
    assert meta["step"] == best["step"] and Path(meta["prefix"]).parent == run / "best"
    from myxtts.inference.synthesizer import Synthesizer
    wav = Synthesizer.from_checkpoint(run / "best").synthesize("A short test.")
    assert wav.ndim == 1 and wav.size > 1000 and np.isfinite(wav).all()


@pytest.mark.slow
def test_sigterm_saves_the_current_step_and_resume_continues_from_it(demo, tmp_path):
    run = tmp_path / "run"
    config = tiny_config(val_every_steps=1, checkpoint_every_steps=1000)
    trainer = trainer_for(config, run, demo)
    trainer.callbacks.append(
        lambda t, step, record: os.kill(os.getpid(), signal.SIGTERM) if step == 3 else None)
    summary = trainer.train(max_steps=50, progress=False)
    assert summary.stop_reason == "SIGTERM" and summary.steps == 3
    assert summary.checkpoint.endswith("ckpt-3")
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # handlers restored
    resumed = trainer_for(config, run, demo, resume=run)
    assert int(resumed.state.step.numpy()) == 3
    assert resumed.train(max_steps=5, progress=False).steps == 5


@pytest.mark.slow
def test_nonfinite_weights_roll_back_lower_the_lr_and_are_never_saved(demo, tmp_path):
    run = tmp_path / "run"
    config = tiny_config(val_every_steps=1, checkpoint_every_steps=2,
                         nonfinite_rollback_steps=2, rollback_lr_factor=0.5)
    trainer = trainer_for(config, run, demo)

    def inject_nan(t, step, record):
        if step == 3 and not getattr(t, "_injected", False):
            t._injected = True
            weight = t.model.trainable_variables[0]
            weight.assign(tf.fill(weight.shape, float("nan")))

    trainer.callbacks.append(inject_nan)
    summary = trainer.train(max_steps=8, progress=False)
    assert summary.steps == 8 and summary.stop_reason == "max_steps"
    events = [r for r in records(run) if r["type"] == "event"]
    rollbacks = [e for e in events if e["event"] == "rollback"]
    assert len(rollbacks) == 1 and rollbacks[0]["restored_step"] == 2
    assert rollbacks[0]["lr_scale"] == pytest.approx(0.5)
    assert any(e["event"] == "save_skipped" for e in events)  # step 4 had NaN weights
    assert float(trainer.state.lr_scale.numpy()) == pytest.approx(0.5)
    last_train = [r for r in records(run) if r["type"] == "train"][-1]
    assert np.isfinite(last_train["loss"])
    for index in sorted(run.glob("ckpt-*.index")) + sorted((run / "best").glob("ckpt-*.index")):
        assert checkpoint_is_finite(str(index)[:-len(".index")]), index


def test_cli_sigterm_exits_quickly_with_a_checkpoint_and_resume_command(demo, tmp_path):
    run = tmp_path / "run"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, str(ROOT / "train_main.py"), "--train-data", str(demo),
           "--checkpoint-dir", str(run), "--max-steps", "100000", "--no-progress",
           "--set", "data.batch_size=4", "--set", "data.min_val_utterances=2",
           "--set", "training.log_every_steps=1", "--set", "training.val_every_steps=1000"]
    model = shrink_model(tiny_config(), decoder_layers=2).model
    for key in ("hidden_dim", "num_heads", "ffn_dim", "text_encoder_layers", "decoder_layers",
                "postnet_layers", "postnet_dim", "duration_predictor_dim",
                "reference_encoder_dim", "speaker_latent_dim", "aligner_dim"):
        cmd += ["--set", f"model.{key}={getattr(model, key)}"]
    cmd += ["--set", "training.mixed_precision=float32"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        if (run / JSONL_LOG).is_file() and any(r["type"] == "train" and r["step"] >= 2
                                              for r in records(run)):
            break
        time.sleep(0.5)
    assert proc.poll() is None, proc.communicate()[1][-2000:]
    sent = time.time()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert time.time() - sent < 60
    assert proc.returncode == 143, err[-2000:]
    end = [r for r in records(run) if r.get("event") == "end"][-1]
    assert end["reason"] == "SIGTERM"
    assert (run / f"ckpt-{end['step']}.index").is_file()
    assert "--resume-checkpoint latest" in err
