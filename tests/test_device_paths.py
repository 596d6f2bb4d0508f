"""GPU-relevant code paths, exercised on the CPU: tf.distribute over two logical CPU devices
and mixed precision (float16 with loss scaling, bfloat16). Each runs in a subprocess because
logical devices and the dtype policy must be set before TensorFlow initialises."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from myxtts.data.demo import make_demo_dataset

SCRIPT = textwrap.dedent('''
    import json, sys
    import tensorflow as tf
    mode, data, run_dir = sys.argv[1:4]
    if mode == "mirrored":
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from myxtts.config.config import XTTSConfig
    from myxtts.training.trainer import XTTSTrainer
    config = XTTSConfig()
    config.apply_overrides([
        "model.hidden_dim=64", "model.num_heads=2", "model.ffn_dim=128",
        "model.text_encoder_layers=1", "model.decoder_layers=1", "model.postnet_layers=2",
        "model.postnet_dim=32", "model.duration_predictor_dim=32",
        "model.reference_encoder_dim=32", "model.speaker_latent_dim=16", "model.aligner_dim=32",
        "data.batch_size=4", "data.min_val_utterances=2", "training.warmup_steps=2",
        "training.log_every_steps=1", "training.val_every_steps=1000"])
    strategy = None
    if mode == "mirrored":
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    else:
        config.training.mixed_precision = mode
    trainer = XTTSTrainer(config, run_dir, strategy=strategy)
    trainer.prepare_data(data)
    summary = trainer.train(max_steps=3, progress=False)
    weights_finite = all(bool(tf.reduce_all(tf.math.is_finite(tf.cast(v, tf.float32))))
                         for v in trainer.model.trainable_variables)
    print("RESULT " + json.dumps({
        "steps": summary.steps, "loss": summary.last_train.get("loss"),
        "val_loss": summary.last_val.get("val_loss"), "nonfinite": summary.nonfinite_steps,
        "replicas": trainer.strategy.num_replicas_in_sync, "weights_finite": weights_finite,
        "compute_dtype": trainer.model.dtype_policy.compute_dtype}))
''')


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    return make_demo_dataset(tmp_path_factory.mktemp("demo") / "set", num_utterances=12)


def run(mode: str, demo: Path, tmp_path: Path) -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run([sys.executable, "-c", SCRIPT, mode, str(demo), str(tmp_path / "run")],
                          capture_output=True, text=True, env=env, timeout=600)
    lines = [l for l in proc.stdout.splitlines() if l.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stderr[-3000:]
    return json.loads(lines[-1][len("RESULT "):])


@pytest.mark.slow
def test_mirrored_strategy_over_two_logical_cpus(demo, tmp_path):
    result = run("mirrored", demo, tmp_path)
    assert result["replicas"] == 2
    assert result["steps"] == 3 and result["nonfinite"] == 0
    assert result["weights_finite"]
    assert result["loss"] is not None and result["loss"] == result["loss"]  # not NaN


@pytest.mark.slow
@pytest.mark.parametrize("policy, dtype", [("mixed_float16", "float16"),
                                           ("mixed_bfloat16", "bfloat16")])
def test_mixed_precision_trains_with_finite_weights(policy, dtype, demo, tmp_path):
    result = run(policy, demo, tmp_path)
    assert result["compute_dtype"] == dtype
    assert result["steps"] == 3
    assert result["weights_finite"]
    assert result["val_loss"] is not None and result["val_loss"] == result["val_loss"]
