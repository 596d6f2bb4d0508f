"""The trainer: overfitting, checkpoints, exact resume, tracing, run logs, LR schedules."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from myxtts.config.config import TrainingConfig, XTTSConfig
from myxtts.data.demo import make_demo_dataset
from myxtts.training.checkpoints import CheckpointError, read_metadata
from myxtts.training.run_log import JSONL_LOG, TEXT_LOG
from myxtts.training.schedules import LRSchedule, schedule_from_config
from myxtts.training.trainer import XTTSTrainer
from tiny_model import shrink_model

N_FIRST, N_MORE = 5, 4  # resume test: N steps, stop, resume, M more (batches: 2 per epoch)
TERMS = ("mel_loss", "stop_loss", "kl_loss", "alignment_loss", "duration_loss")


def tiny_config(**training) -> XTTSConfig:
    """A very small model (seconds per trace) on the 12-utterance demo set."""
    config = shrink_model(XTTSConfig(), decoder_layers=2)
    config.data.batch_size = 4
    config.data.min_val_utterances = 2
    t = config.training
    t.mixed_precision = "float32"
    t.seed = 11
    t.val_every_steps = 1000
    t.checkpoint_every_steps = 1000
    for key, value in training.items():
        setattr(t, key, value)
    return config


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    return make_demo_dataset(tmp_path_factory.mktemp("demo") / "set", num_utterances=12)


def is_rng_state(variable) -> bool:
    """Keras ``SeedGenerator`` state (dropout randomness), not a weight."""
    return "seed_generator_state" in getattr(variable, "path", variable.name)


def snapshot(trainer: XTTSTrainer) -> dict[str, dict[str, np.ndarray]]:
    """Copies of every variable the checkpoint should carry, grouped and keyed by position
    (Keras makes layer names unique per process, so a second model's names differ)."""
    def named(variables):
        return {f"{i}:{v.shape}:{v.dtype}": np.array(v.numpy()) for i, v in enumerate(variables)}
    s = trainer.state
    model_vars = trainer.model.variables
    return {
        "model": named([v for v in model_vars if not is_rng_state(v)]),
        "rng": named([v for v in model_vars if is_rng_state(v)]),
        "optimizer": named(trainer.optimizer.variables),
        "loss_state": named(trainer.loss_fn.variables),
        "position": {k: np.array(getattr(s, k).numpy()) for k in
                     ("step", "epoch", "batch_in_epoch", "best_val_loss", "bad_validations")},
    }


def assert_snapshots_equal(a: dict, b: dict, atol: float = 0.0) -> None:
    for group in a:
        assert a[group].keys() == b[group].keys(), group
        assert a[group], f"{group}: no variables"
        for key in a[group]:
            np.testing.assert_allclose(b[group][key], a[group][key], rtol=0, atol=atol,
                                       err_msg=f"{group} {key}")


# ------------------------------------------------------------------ (a) overfit one batch

@pytest.mark.slow
def test_overfit_one_batch(demo, tmp_path):
    """A fixed batch of 4 utterances is memorised: the mel term falls by >= 75 % and the
    reported total by >= 85 %.

    The mel term is an L1 error (the default): its fall is the error's fall (a Huber
    term falling 90 % in its quadratic part means the error fell only ~68 %).

    Every reported term is floor-free (the stop-token BCE's label-smoothing entropy and
    the alignment prior's NLL along the path are taken out), so the total can approach
    0 like the mel term does; before that change it could fall by only ~75 % (stop loss
    floor ~0.39 per frame, alignment ~2 nats per frame). Dropout is 0 so the same batch
    gives the same targets every step (the speaker latent is still sampled).
    """
    config = tiny_config(scheduler="constant", warmup_steps=0, learning_rate=2e-3)
    config.model.dropout = 0.0
    trainer = XTTSTrainer(config, run_dir=tmp_path / "run")
    trainer.prepare_data(demo)
    trainer.build()
    train = trainer.data.train
    shortest = sorted(range(len(train.examples)), key=lambda i: train.mels[i].shape[0])[:4]
    batch = train.make_batch(shortest, np.random.default_rng(0))
    trainer.optimizer.learning_rate.assign(config.training.learning_rate)
    history = [{k: float(v) for k, v in trainer.steps.train_step(batch).items()}
               for _ in range(400)]
    first, last = history[0], history[-10:]
    end = {k: np.mean([h[k] for h in last]) for k in first}
    assert all(h["finite"] == 1.0 for h in history)
    assert end["mel_loss"] <= 0.25 * first["mel_loss"], (first["mel_loss"], end["mel_loss"])
    assert end["loss"] <= 0.15 * first["loss"], (first["loss"], end["loss"])
    for term in ("stop_loss", "alignment_loss", "duration_loss"):
        assert end[term] < 0.05 * first[term], (term, first[term], end[term])


# ------------------------------------------------------------------ shared runs

@dataclass
class Runs:
    straight: XTTSTrainer          # trained N steps, checkpointed, then on to N + M
    at_n: dict                     # its snapshot at step N
    checkpoint: str                # the step-N checkpoint
    resumed: XTTSTrainer           # a new trainer restored from that checkpoint
    restored: dict                 # its snapshot right after restoring


@pytest.fixture(scope="module")
def runs(demo, tmp_path_factory) -> Runs:
    """One uninterrupted run and one resumed from its step-N checkpoint (default dropout)."""
    config = tiny_config(learning_rate=1e-3, warmup_steps=3, log_every_steps=1)
    straight = XTTSTrainer(config, run_dir=tmp_path_factory.mktemp("straight"))
    straight.prepare_data(demo)
    summary = straight.train(max_steps=N_FIRST, progress=False)
    assert summary.steps == N_FIRST and summary.stop_reason == "max_steps"
    at_n = snapshot(straight)
    straight.train(max_steps=N_FIRST + N_MORE, progress=False)

    resumed = XTTSTrainer(tiny_config(learning_rate=1e-3, warmup_steps=3, log_every_steps=1),
                          run_dir=tmp_path_factory.mktemp("resumed"))
    resumed.prepare_data(demo, resume=summary.checkpoint)
    resumed.build()
    return Runs(straight, at_n, summary.checkpoint, resumed, snapshot(resumed))


# ------------------------------------------------------------------ (b) checkpoint equality

def test_checkpoint_restores_everything(runs):
    """Model weights, optimizer slots and step, loss state and position are restored."""
    assert Path(runs.checkpoint).name == f"ckpt-{N_FIRST}"
    weights = ("model", "optimizer", "loss_state", "position")
    assert_snapshots_equal({g: runs.at_n[g] for g in weights},
                           {g: runs.restored[g] for g in weights})
    assert int(runs.restored["position"]["step"]) == N_FIRST
    assert int(runs.restored["position"]["epoch"]) == N_FIRST // 2
    assert int(runs.restored["position"]["batch_in_epoch"]) == N_FIRST % 2
    # symbols and mel statistics come from the checkpoint, not recomputed
    assert runs.resumed.data.tokenizer.symbols.to_json() == \
        runs.straight.data.tokenizer.symbols.to_json()
    np.testing.assert_array_equal(runs.resumed.data.stats.mean, runs.straight.data.stats.mean)


def test_checkpoint_restores_dropout_rng_state(runs):
    assert runs.at_n["rng"], "model has no dropout seed generators"
    assert_snapshots_equal({"rng": runs.at_n["rng"]}, {"rng": runs.restored["rng"]})


# ------------------------------------------------------------------ (c) resume exactness

def test_resume_is_exact(runs):
    """N steps, checkpoint, new trainer, M more == N + M straight (same seed, dropout on).

    The straight run calls ``train`` twice (N, then up to N + M) in one trainer: saving
    and the end-of-call validation change no state, so it is the uninterrupted run.
    Dropout seed-generator states and the speaker-latent noise seed are checkpointed;
    without them weights differed by up to ~4e-3 after 4 resumed steps.
    """
    summary = runs.resumed.train(max_steps=N_FIRST + N_MORE, progress=False)
    assert summary.steps == N_FIRST + N_MORE
    a, b = snapshot(runs.straight), snapshot(runs.resumed)
    assert_snapshots_equal({"position": a["position"]}, {"position": b["position"]})
    for group in ("model", "rng", "optimizer", "loss_state"):
        for key in a[group]:
            np.testing.assert_allclose(b[group][key], a[group][key], rtol=1e-5, atol=1e-6,
                                       err_msg=f"{group} {key}")


# ------------------------------------------------------------------ (d) trace count

def test_one_trace_for_all_batch_shapes(runs):
    trainer = runs.straight
    epochs = int(trainer.state.epoch.numpy()) + 1
    shapes = {tuple(batch[k].shape for k in ("text_ids", "mel", "ref_mel"))
              for e in range(epochs) for _, batch in trainer.data.train.batches(e)}
    assert len(shapes) >= 3, shapes
    assert trainer.steps.trace_count == 2  # one train_step trace + one eval_step trace
    records = read_jsonl(trainer.run_dir / JSONL_LOG)
    ends = [r for r in records if r.get("event") == "end"]
    assert [r["traces"] for r in ends] == [2, 2]


# ------------------------------------------------------------------ (e) incompatible checkpoint

def test_checkpoint_of_another_model_size_is_rejected(runs, demo, tmp_path):
    config = tiny_config()
    config.model.hidden_dim, config.model.ffn_dim = 32, 64
    trainer = XTTSTrainer(config, run_dir=tmp_path / "other")
    trainer.prepare_data(demo, resume=runs.checkpoint)
    with pytest.raises(CheckpointError, match=f"ckpt-{N_FIRST}"):
        trainer.build()


def test_missing_checkpoint_is_named(demo, tmp_path):
    trainer = XTTSTrainer(tiny_config(), run_dir=tmp_path / "run")
    with pytest.raises(CheckpointError, match="no-such-ckpt"):
        trainer.prepare_data(demo, resume=tmp_path / "no-such-ckpt")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="empty"):
        trainer.prepare_data(demo, resume=tmp_path / "empty")


# ------------------------------------------------------------------ (f) logs

def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_jsonl_one_record_per_logged_step(runs):
    trainer = runs.straight
    records = read_jsonl(trainer.run_dir / JSONL_LOG)
    train = [r for r in records if r["type"] == "train"]
    assert [r["step"] for r in train] == list(range(1, N_FIRST + N_MORE + 1))
    for r in train:
        for key in ("step", "epoch", "loss", "lr", "grad_norm", "wall_time", *TERMS):
            assert key in r, key
        assert all(isinstance(r[k], float) and math.isfinite(r[k]) for k in ("loss", *TERMS))
        assert r["epoch"] == (r["step"] - 1) // 2
        assert r["lr"] == pytest.approx(trainer.schedule(r["step"] - 1))
        assert r["grad_norm"] > 0
    assert all(a["wall_time"] <= b["wall_time"] for a, b in zip(train, train[1:]))
    vals = [r for r in records if r["type"] == "val"]
    assert [v["step"] for v in vals] == [N_FIRST, N_FIRST + N_MORE]
    assert all("val_loss" in v and "val_mel_loss" in v and 0 <= v["alignment_score"] <= 1
               for v in vals)
    events = [r["event"] for r in records if r["type"] == "event"]
    assert [e for e in events if e != "best_checkpoint"] == ["start", "end", "resume", "end"]
    # The first validation is the best so far: RUN_DIR/best holds it.
    assert events[1] == "best_checkpoint"
    text = (trainer.run_dir / TEXT_LOG).read_text(encoding="utf-8").splitlines()
    assert sum(" INFO step " in line for line in text) == len(train)
    assert (trainer.run_dir / "config.yaml").is_file()
    assert (trainer.run_dir / "mel_stats.npz").is_file()
    assert (trainer.run_dir / "symbols.json").is_file()


# ------------------------------------------------------------------ (g) LR schedules

def random_training_configs(count: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        cfg = TrainingConfig()
        cfg.learning_rate = float(10 ** rng.uniform(-6, 0))
        cfg.min_learning_rate = float(cfg.learning_rate * rng.choice([0.0, rng.uniform(0, 1), 1.0]))
        cfg.warmup_steps = int(rng.choice([0, 1, rng.integers(2, 5000)]))
        cfg.scheduler = str(rng.choice(["constant", "cosine", "exponential", "noam"]))
        cfg.cosine_restarts = bool(rng.integers(2))
        params = {}
        if rng.random() < 0.7:
            params["t_mul"] = float(rng.choice([1e-9, 1e-3, 0.5, 1.0, 2.0, 1e3, 1e9]))
        if rng.random() < 0.7:
            params["m_mul"] = float(rng.choice([1e-9, 0.01, 0.5, 1.0, 2.0, 1e6]))
        if rng.random() < 0.5:
            params[str(rng.choice(["restart_period_steps", "first_decay_steps",
                                   "restart_period_epochs"]))] = float(
                rng.choice([1e-6, 0.5, 1.0, 7.0, 1e4, 1e12]))
        if rng.random() < 0.5:
            params["decay_steps"] = float(rng.choice([1e-6, 1.0, 100.0, 1e9]))
        if rng.random() < 0.5:
            params["decay_rate"] = float(rng.choice([1e-9, 0.1, 0.96, 1.0, 5.0]))
        cfg.scheduler_params = params
        total = int(rng.choice([1, 2, rng.integers(3, 10**6)]))
        per_epoch = int(rng.choice([0, 1, rng.integers(2, 1000)]))
        yield cfg, total, per_epoch, rng


def test_schedule_never_nan_or_negative():
    for cfg, total, per_epoch, rng in random_training_configs(2000):
        schedule = schedule_from_config(cfg, total, per_epoch)
        steps = {0, 1, cfg.warmup_steps, cfg.warmup_steps + 1, total, 10 * total + 3, 10**9,
                 *rng.integers(0, 2 * total + cfg.warmup_steps + 2, size=20).tolist()}
        for step in steps:
            lr = schedule(step)
            assert isinstance(lr, float) and math.isfinite(lr), (cfg, step, lr)
            assert 0.0 <= lr <= cfg.learning_rate * (1 + 1e-12), (cfg, step, lr)


def test_schedule_never_nan_hypothesis():
    hypothesis = pytest.importorskip("hypothesis")
    st = hypothesis.strategies
    floats = st.floats(allow_nan=True, allow_infinity=True)

    @hypothesis.settings(max_examples=300, deadline=None)
    @hypothesis.given(lr=st.floats(1e-8, 10.0), floor=floats, warm=st.integers(0, 10**6),
                      kind=st.sampled_from(["constant", "cosine", "exponential", "noam"]),
                      restarts=st.booleans(), t_mul=floats, m_mul=floats, period=floats,
                      decay_steps=floats, decay_rate=floats, total=st.integers(-5, 10**9),
                      step=st.integers(-10, 10**12))
    def check(lr, floor, warm, kind, restarts, t_mul, m_mul, period, decay_steps, decay_rate,
              total, step):
        schedule = LRSchedule(lr, floor, warm, kind, restarts, total,
                              {"t_mul": t_mul, "m_mul": m_mul, "restart_period_steps": period,
                               "decay_steps": decay_steps, "decay_rate": decay_rate})
        value = schedule(step)
        assert math.isfinite(value) and 0.0 <= value <= lr

    check()


def test_warmup_is_monotonic_and_reaches_peak():
    for kind in ("constant", "cosine", "exponential", "noam"):
        for restarts in (False, True):
            cfg = TrainingConfig(learning_rate=3e-3, min_learning_rate=1e-5, warmup_steps=50,
                                 scheduler=kind, cosine_restarts=restarts)
            schedule = schedule_from_config(cfg, total_steps=1000, steps_per_epoch=10)
            warm = [schedule(s) for s in range(51)]
            assert all(a < b for a, b in zip(warm[:49], warm[1:50])), kind
            assert warm[0] > 0
            assert warm[49] == pytest.approx(3e-3)
            assert max(schedule(s) for s in range(0, 2000, 7)) <= 3e-3 + 1e-15


def test_cosine_decays_to_floor_and_restarts():
    cfg = TrainingConfig(learning_rate=1e-3, min_learning_rate=1e-5, warmup_steps=0,
                         scheduler="cosine")
    schedule = schedule_from_config(cfg, total_steps=100, steps_per_epoch=10)
    values = [schedule(s) for s in range(100)]
    assert all(a >= b for a, b in zip(values, values[1:]))
    assert schedule(100) == pytest.approx(1e-5) and schedule(10**6) == pytest.approx(1e-5)
    cfg.cosine_restarts = True
    cfg.scheduler_params = {"restart_period_epochs": 2, "t_mul": 2.0, "m_mul": 0.5}
    schedule = schedule_from_config(cfg, total_steps=1000, steps_per_epoch=10)
    assert schedule(0) == pytest.approx(1e-3)
    assert schedule(19) < schedule(20)       # first restart after 2 epochs = 20 steps
    assert schedule(20) == pytest.approx(1e-5 + (1e-3 - 1e-5) * 0.5)
    assert schedule(60) == pytest.approx(1e-5 + (1e-3 - 1e-5) * 0.25)  # second cycle is 40


def test_checkpoint_stores_the_mean_latent_of_every_training_speaker(runs):
    from myxtts.models.speaker_latents import SpeakerLatents, mel_latents
    table = SpeakerLatents.from_json(read_metadata(runs.checkpoint)["speaker_latents_json"])
    train = runs.straight.data.train
    assert sorted(table.speakers) == sorted(train.by_speaker)
    assert table.step == N_FIRST
    name = sorted(train.by_speaker)[0]
    frames = runs.straight.config.data.reference_max_frames
    from myxtts.inference.synthesizer import load_checkpoint
    model = load_checkpoint(runs.checkpoint).model  # the step-N weights
    latents = mel_latents(model, [train.mels[i] for i in train.by_speaker[name]], frames)
    np.testing.assert_allclose(table.speakers[name], latents.mean(axis=0), atol=1e-5)
    np.testing.assert_allclose(table.mean, np.mean(list(table.speakers.values()), axis=0),
                               atol=1e-6)


def test_checkpoint_without_speaker_latents_still_resumes(tmp_path):
    import tensorflow as tf
    from myxtts.training.checkpoints import SpeakerStore, make_checkpoint, restore_checkpoint
    old = tf.Module()
    old.w = tf.Variable([1.0, 2.0])
    prefix = make_checkpoint(old, rng=False).save(str(tmp_path / "ckpt"))  # no speakers part
    new = tf.Module()
    new.w = tf.Variable([0.0, 0.0])
    store = SpeakerStore()
    store.latents_json.assign("stale")
    restore_checkpoint(make_checkpoint(new, rng=False, speakers=store), prefix)
    np.testing.assert_array_equal(new.w.numpy(), [1.0, 2.0])
    assert store.latents_json.numpy() == b""
    other = tf.Module()
    other.w = tf.Variable([0.0, 0.0])
    other.extra = tf.Variable(3.0)
    with pytest.raises(AssertionError):  # anything else missing still fails
        restore_checkpoint(make_checkpoint(other, rng=False, speakers=SpeakerStore()), prefix)
