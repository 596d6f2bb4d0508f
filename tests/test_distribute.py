"""tf.distribute from the command line: strategy choice, TF_CONFIG errors, and training
through ``myxtts.cli.train.main`` on one device, two logical CPU devices (MirroredStrategy)
and two worker processes on localhost (MultiWorkerMirroredStrategy).

Training runs in subprocesses (logical devices and collective ops must be set up before
TensorFlow initialises), with timeouts so that a hang fails instead of blocking."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import train_main
from myxtts.data.demo import make_demo_dataset
from myxtts.training.distribute import DistributeError, create_strategy, read_tf_config
from myxtts.training.run_log import JSONL_LOG

TIMEOUT = 400  # seconds for one training subprocess (a few seconds of steps, mostly start-up)
STEPS, FIRST = 3, 2  # the reference trains STEPS steps; the multi-worker run FIRST, then resumes
#: Weights after STEPS steps, several replicas vs one device: half of one Adam step at the
#: peak learning rate (1e-3). Rounding differences of the summation order reach ~1.4e-4
#: for the odd weight (Adam normalises tiny gradients); a wrong update would be ~1e-3.
WEIGHT_ATOL = 5e-4

# Calls the CLI's main in this process after configuring logical CPU devices; dumps the
# trained weights (the chief's and the other worker's) for comparison.
SCRIPT = textwrap.dedent('''
    import json, sys, time
    import numpy as np
    logical, dump, argv = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    if logical > 1:
        import tensorflow as tf
        tf.config.set_logical_device_configuration(
            tf.config.list_physical_devices("CPU")[0],
            [tf.config.LogicalDeviceConfiguration()] * logical)
    from myxtts.cli import train
    from myxtts.training.trainer import XTTSTrainer
    original = XTTSTrainer.train
    def train_and_dump(self, *args, **kwargs):
        start = time.time()
        summary = original(self, *args, **kwargs)
        np.savez(dump, *[v.numpy() for v in self.model.trainable_variables])
        with open(dump + ".json", "w") as f:
            json.dump({"steps": summary.steps, "seconds": time.time() - start,
                       "is_chief": self.cluster.is_chief, "write_dir": str(self.run_dir)}, f)
        return summary
    XTTSTrainer.train = train_and_dump
    sys.exit(train.main(argv))
''')


def cli_args(data: Path, run: Path, *extra: str) -> list[str]:
    """A tiny deterministic run: no dropout, float32, a log record every step. Adam's
    epsilon is raised: with 1e-9 it turns a gradient element that is ~0 into a full step
    of either sign, so summation-order rounding (one device vs a sum over replicas) would
    move weights by the learning rate instead of by rounding error."""
    sets = ["model.hidden_dim=64", "model.ffn_dim=128", "model.text_encoder_layers=1",
            "model.decoder_layers=1", "model.postnet_layers=2", "model.postnet_dim=32",
            "model.duration_predictor_dim=32", "model.reference_encoder_dim=32",
            "model.speaker_latent_dim=16", "model.aligner_dim=32", "model.dropout=0",
            "data.min_val_utterances=2", "training.mixed_precision=float32",
            "training.warmup_steps=2", "training.epsilon=1e-3", "training.log_every_steps=1",
            "training.val_every_steps=1000", "training.checkpoint_every_steps=1000",
            "training.tensorboard=false"]
    args = ["--train-data", str(data), "--checkpoint-dir", str(run), "--batch-size", "4",
            "--seed", "11", "--no-progress", *extra]
    for item in sets:
        args += ["--set", item]
    return args


def start(logical: int, dump: Path, argv: list[str], **env) -> subprocess.Popen:
    environ = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", **env)
    if "TF_CONFIG" not in env:
        environ.pop("TF_CONFIG", None)
    return subprocess.Popen([sys.executable, "-c", SCRIPT, str(logical), str(dump), *argv],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=environ)


def finish(procs: list[subprocess.Popen]) -> list[str]:
    """Wait for all (killing all on a timeout); assert they succeeded; their stdout."""
    outputs = []
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=TIMEOUT)
            assert proc.returncode == 0, f"exit {proc.returncode}\n{out[-2000:]}\n{err[-4000:]}"
            outputs.append(out)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    return outputs


def records(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / JSONL_LOG).read_text().splitlines()]


def losses(run: Path) -> dict[int, float]:
    return {r["step"]: r["loss"] for r in records(run) if r["type"] == "train"}


def start_events(run: Path) -> list[dict]:
    return [r for r in records(run) if r["type"] == "event" and r["event"] in ("start", "resume")]


def weights(dump: Path) -> list[np.ndarray]:
    with np.load(f"{dump}.npz") as f:
        return [f[f"arr_{i}"] for i in range(len(f.files))]


def max_abs_difference(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    assert len(a) == len(b) and a
    return max(float(np.max(np.abs(x - y))) for x, y in zip(a, b))


def free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    return make_demo_dataset(tmp_path_factory.mktemp("demo") / "set", num_utterances=12)


@pytest.fixture(scope="module")
def reference(demo, tmp_path_factory) -> tuple[Path, Path]:
    """One device (--distribute none), STEPS steps: run directory and weight dump."""
    tmp = tmp_path_factory.mktemp("one_device")
    finish([start(1, tmp / "weights", cli_args(demo, tmp / "run", "--distribute", "none",
                                               "--max-steps", str(STEPS)))])
    return tmp / "run", tmp / "weights"


# ------------------------------------------------------------------ choice and errors

@pytest.mark.parametrize("environ, expected", [
    ({}, "needs the TF_CONFIG environment variable"),
    ({"TF_CONFIG": "{not json"}, "TF_CONFIG is not valid JSON"),
    ({"TF_CONFIG": '{"cluster": {}, "task": {"type": "worker", "index": 0}}'},
     "TF_CONFIG has no cluster.worker"),
    ({"TF_CONFIG": '{"cluster": {"worker": ["a:1"]}, "task": {"type": "ps", "index": 0}}'},
     "TF_CONFIG task.type"),
    ({"TF_CONFIG": '{"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", '
                   '"index": 2}}'}, "TF_CONFIG task.index must be an integer from 0 to 1"),
    ({"TF_CONFIG": '{"cluster": {"worker": ["a:1"], "ps": ["b:2"]}, "task": {"type": '
                   '"worker", "index": 0}}'}, "TF_CONFIG cluster.ps"),
])
def test_tf_config_errors_name_the_variable(environ, expected):
    with pytest.raises(DistributeError, match=expected.replace(".", r"\.")):
        read_tf_config(environ)


def test_valid_tf_config_is_returned():
    conf = {"cluster": {"chief": ["a:1"], "worker": ["b:2"]}, "task": {"type": "worker",
                                                                      "index": 0}}
    assert read_tf_config({"TF_CONFIG": json.dumps(conf)}) == conf


def test_unknown_mode_names_the_field():
    with pytest.raises(DistributeError, match="training.distribute"):
        create_strategy("horovod")


def test_cli_multi_worker_without_tf_config_exits_2(demo, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert train_main.main(cli_args(demo, tmp_path / "run", "--distribute", "multi_worker",
                                    "--max-steps", "1")) == 2
    assert "TF_CONFIG" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_distribute_flag_sets_the_config(capsys):
    assert train_main.main(["--print-config", "--distribute", "mirrored"]) == 0
    assert "distribute: mirrored" in capsys.readouterr().out


# ------------------------------------------------------------------ training

@pytest.mark.slow
def test_two_logical_cpus_match_one_device_at_the_same_global_batch(demo, reference, tmp_path):
    """MirroredStrategy over 2 logical CPU devices through the CLI: the same losses per
    step as one device (global batch 4 = 2 per replica) and the same weights."""
    ref_run, ref_dump = reference
    out, = finish([start(2, tmp_path / "weights", cli_args(
        demo, tmp_path / "run", "--distribute", "mirrored", "--max-steps", str(STEPS)))])
    assert "MirroredStrategy, 2 replica(s) on 1 worker(s); global batch 4 = 2 per replica" in out
    event, = start_events(tmp_path / "run")
    assert (event["strategy"], event["replicas"], event["workers"], event["global_batch"],
            event["per_replica_batch"], event["distribute"]) == ("MirroredStrategy", 2, 1, 4, 2,
                                                                 "mirrored")
    ref_event, = start_events(ref_run)
    assert (ref_event["replicas"], ref_event["per_replica_batch"]) == (1, 4)
    one, two = losses(ref_run), losses(tmp_path / "run")
    assert sorted(two) == sorted(one) == list(range(1, STEPS + 1))
    np.testing.assert_allclose([two[s] for s in one], list(one.values()), rtol=1e-4, atol=1e-5)
    assert max_abs_difference(weights(tmp_path / "weights"), weights(ref_dump)) < WEIGHT_ATOL


@pytest.mark.slow
def test_two_workers_train_in_step_write_once_and_resume(demo, reference, tmp_path):
    """Two worker processes (MultiWorkerMirroredStrategy, TF_CONFIG on 127.0.0.1) end with
    the same weights, only the chief writes the run directory (the other's scratch
    directory is gone), and both resume from the shared checkpoint, matching one device."""
    run = tmp_path / "run"
    ports = free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}

    def both(tag: str, *extra: str) -> list[str]:
        procs = []
        for i in range(2):
            tmpdir = tmp_path / f"tmp{i}"
            tmpdir.mkdir(exist_ok=True)
            tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})
            procs.append(start(1, tmp_path / f"{tag}{i}", cli_args(
                demo, run, "--distribute", "multi_worker", *extra),
                TF_CONFIG=tf_config, TMPDIR=str(tmpdir)))
        return finish(procs)

    out = both("first", "--max-steps", str(FIRST))
    assert "worker 0: chief" in out[0] and "worker 1: writes nothing" in out[1]
    first = [json.loads(Path(f"{tmp_path / f'first{i}'}.json").read_text()) for i in range(2)]
    assert [f["is_chief"] for f in first] == [True, False]
    assert [f["steps"] for f in first] == [FIRST, FIRST]
    assert max_abs_difference(weights(tmp_path / "first0"), weights(tmp_path / "first1")) == 0.0
    # Worker 1 wrote only to its scratch directory, removed at the end.
    assert not Path(first[1]["write_dir"]).exists()
    assert Path(first[0]["write_dir"]) == run
    event, = start_events(run)  # one writer: one start event
    assert (event["workers"], event["worker_index"], event["replicas"],
            event["per_replica_batch"], event["strategy"]) == (2, 0, 2, 2,
                                                               "MultiWorkerMirroredStrategy")
    assert (run / f"ckpt-{FIRST}.index").is_file()

    both("resumed", "--resume-checkpoint", "latest", "--max-steps", str(STEPS))
    resumed = [json.loads(Path(f"{tmp_path / f'resumed{i}'}.json").read_text())
               for i in range(2)]
    assert [r["steps"] for r in resumed] == [STEPS, STEPS]
    assert max_abs_difference(weights(tmp_path / "resumed0"),
                              weights(tmp_path / "resumed1")) == 0.0
    events = start_events(run)
    assert [(e["event"], e["step"]) for e in events] == [("start", 0), ("resume", FIRST)]
    assert sorted(p.name for p in run.glob("ckpt-*.index")) == [f"ckpt-{FIRST}.index",
                                                                 f"ckpt-{STEPS}.index"]
    # The same global batches as one device: the same losses, before and after the resume.
    ref_run, ref_dump = reference
    one, two = losses(ref_run), losses(run)
    assert sorted(two) == sorted(one)
    np.testing.assert_allclose([two[s] for s in one], list(one.values()), rtol=1e-4, atol=1e-5)
    assert max_abs_difference(weights(tmp_path / "resumed0"), weights(ref_dump)) < WEIGHT_ATOL
