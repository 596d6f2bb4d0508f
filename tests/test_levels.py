"""Optimization levels: application, size scaling, precedence, the docs table, the plateau
detector, the in-place ``auto`` switch, and breakthrough_training.sh."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from myxtts.config.config import ConfigError, XTTSConfig
from myxtts.config.presets import (LEVEL_SIZE_MULTIPLIERS, MODEL_SIZES, OPTIMIZATION_LEVELS,
                                   apply_optimization_level, describe_level, level_fields,
                                   levels_table_markdown, resolve_config)
from myxtts.training.auto_level import (PLATEAU_MIN_VALIDATIONS, PLATEAU_WINDOW,
                                        AutoLevelCallback, PlateauDetector, attach_auto_level,
                                        plateau_training_config)
from tiny_model import shrink_model

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "breakthrough_training.sh"
LEVELS = list(OPTIMIZATION_LEVELS)


def _without_level(config: XTTSConfig) -> dict:
    data = config.to_dict()
    data["training"].pop("optimization_level")
    return data


def _train_main():
    path = ROOT / "train_main.py"
    if not path.is_file():
        pytest.skip("train_main.py is not there")
    spec = importlib.util.spec_from_file_location("train_main", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def printed_config(capsys, *argv: str) -> dict:
    assert _train_main().main(["--print-config", "--train-data", "x", *argv]) == 0
    return yaml.safe_load(capsys.readouterr().out)


# ------------------------------------------------------------------ applying levels

def test_levels_are_the_documented_set():
    assert set(LEVELS) == {"basic", "enhanced", "experimental", "plateau_breaker", "auto"}


def test_basic_is_the_base_defaults():
    assert _without_level(apply_optimization_level(XTTSConfig(), "basic")) == \
        _without_level(XTTSConfig())


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("size", list(MODEL_SIZES))
def test_every_level_resolves_to_a_valid_config_with_its_fields(level, size):
    config = resolve_config(model_size=size, optimization_level=level)
    assert config.training.optimization_level == level
    assert config.model.size == size
    flat = {f"{s}.{k}": v for s, values in config.to_dict().items() for k, v in values.items()}
    expected = describe_level(level)["by_size"][size]
    assert {k: flat[k] for k in expected} == expected
    # Everything the level does not set keeps the base value.
    base = resolve_config(model_size=size)
    base_flat = {f"{s}.{k}": v for s, values in base.to_dict().items() for k, v in values.items()}
    untouched = set(flat) - set(expected) - {"training.optimization_level"}
    assert {k: flat[k] for k in untouched} == {k: base_flat[k] for k in untouched}
    # A valid config survives a YAML round trip.
    assert XTTSConfig.from_dict(yaml.safe_load(config.to_yaml())).to_dict() == config.to_dict()


def test_levels_other_than_basic_change_training():
    for level in LEVELS[1:]:
        assert _without_level(resolve_config(optimization_level=level)) != \
            _without_level(XTTSConfig()), level


def test_enhanced_learning_rate_and_warmup_scale_with_model_size():
    basic_lr = XTTSConfig().training.learning_rate
    lrs, warmups = [], []
    for size in ("tiny", "small", "normal", "big"):
        t = resolve_config(model_size=size, optimization_level="enhanced").training
        lrs.append(t.learning_rate)
        warmups.append(t.warmup_steps)
    assert lrs == sorted(lrs, reverse=True) and len(set(lrs)) == 4
    assert lrs[0] > basic_lr and lrs[1] > basic_lr        # tiny, small: higher
    assert lrs[2] < basic_lr and lrs[3] < basic_lr        # normal, big: lower
    assert warmups == sorted(warmups) and warmups[0] < warmups[-1]
    assert all(isinstance(w, int) for w in warmups)


def test_size_scaling_uses_the_size_in_effect_when_the_level_is_applied():
    small = resolve_config(model_size="small", optimization_level="enhanced").training
    via_yaml_size = apply_optimization_level(
        XTTSConfig.from_dict({"model": {"size": "small"}}), "enhanced").training
    assert via_yaml_size.learning_rate == small.learning_rate
    assert small.learning_rate != resolve_config(optimization_level="enhanced").training.learning_rate


def test_auto_starts_with_the_enhanced_values():
    for size in MODEL_SIZES:
        auto = resolve_config(model_size=size, optimization_level="auto")
        enhanced = resolve_config(model_size=size, optimization_level="enhanced")
        assert _without_level(auto) == _without_level(enhanced)


def test_a_level_replaces_scheduler_params_as_a_whole():
    config = XTTSConfig()
    config.training.scheduler_params = {"decay_steps": 5.0}
    pb = apply_optimization_level(config, "plateau_breaker").training
    assert "decay_steps" not in pb.scheduler_params
    assert pb.scheduler_params["restart_period_epochs"] == 100


def test_unknown_level_is_rejected_naming_the_key():
    with pytest.raises(ConfigError, match="training.optimization_level"):
        apply_optimization_level(XTTSConfig(), "turbo")
    with pytest.raises(ConfigError, match="training.optimization_level"):
        describe_level("turbo")
    with pytest.raises(ConfigError, match="model.size"):
        level_fields("enhanced", "huge")


def test_size_multipliers_cover_every_size_and_only_fields_the_level_sets():
    for level, table in LEVEL_SIZE_MULTIPLIERS.items():
        for dotted, by_size in table.items():
            section, key = dotted.split(".")
            assert key in OPTIMIZATION_LEVELS[level][section], (level, dotted)
            assert set(by_size) == set(MODEL_SIZES), (level, dotted)


def test_describe_level_lists_values_per_size():
    info = describe_level("enhanced")
    assert info["purpose"]
    assert set(info["by_size"]) == set(MODEL_SIZES)
    lrs = {size: values["training.learning_rate"] for size, values in info["by_size"].items()}
    assert len(set(lrs.values())) == len(MODEL_SIZES)
    pb = describe_level("plateau_breaker")
    assert pb["size_multipliers"] == {}
    assert all(values == pb["fields"] for values in pb["by_size"].values())


# ------------------------------------------------------------------ precedence

def test_overrides_beat_the_level():
    config = resolve_config(optimization_level="plateau_breaker",
                            overrides=["training.learning_rate=3e-5",
                                       "training.gradient_clip_norm=0.5"])
    assert config.training.learning_rate == pytest.approx(3e-5)
    assert config.training.gradient_clip_norm == pytest.approx(0.5)
    assert config.training.mel_loss_weight == 2.0          # the rest of the level stays


def test_level_named_in_set_applies_before_other_set_keys():
    config = resolve_config(overrides=["training.learning_rate=2e-5",
                                       "training.optimization_level=plateau_breaker"])
    assert config.training.optimization_level == "plateau_breaker"
    assert config.training.learning_rate == pytest.approx(2e-5)
    assert config.training.gradient_clip_norm == pytest.approx(0.3)


def test_cli_flags_and_set_beat_the_level(capsys):
    cfg = printed_config(capsys, "--optimization-level", "enhanced", "--model-size", "small",
                         "--lr", "2e-4", "--set", "training.gradient_clip_norm=0.5")
    enhanced = resolve_config(model_size="small", optimization_level="enhanced").training
    assert cfg["training"]["optimization_level"] == "enhanced"
    assert cfg["training"]["learning_rate"] == pytest.approx(2e-4)
    assert cfg["training"]["gradient_clip_norm"] == pytest.approx(0.5)
    assert cfg["training"]["warmup_steps"] == enhanced.warmup_steps


def test_cli_level_overrides_the_config_file(tmp_path, capsys):
    path = tmp_path / "c.yaml"
    path.write_text("training:\n  learning_rate: 5.0e-4\n  gradient_clip_norm: 2.0\n")
    cfg = printed_config(capsys, "--config", str(path), "--optimization-level",
                         "plateau_breaker")
    assert cfg["training"]["learning_rate"] == pytest.approx(1.5e-5)
    assert cfg["training"]["gradient_clip_norm"] == pytest.approx(0.3)


# ------------------------------------------------------------------ docs

def test_docs_table_is_generated_from_the_code():
    doc = (ROOT / "docs" / "OPTIMIZATION_LEVELS.md").read_text(encoding="utf-8")
    assert levels_table_markdown() in doc


def test_levels_table_lists_every_level_and_field():
    table = levels_table_markdown()
    for level in LEVELS:
        assert f"`{level}`" in table
        for key in describe_level(level)["fields"]:
            assert f"| `{key}` |" in table


# ------------------------------------------------------------------ plateau detection

def test_detector_waits_for_enough_validations():
    detector = PlateauDetector()
    verdicts = [detector.update(step, 2.0) for step in range(PLATEAU_MIN_VALIDATIONS)]
    assert verdicts[:-1] == [None] * (PLATEAU_MIN_VALIDATIONS - 1)
    evidence = verdicts[-1]
    assert evidence is not None and evidence.rel_improvement == 0.0
    assert evidence.window == PLATEAU_WINDOW and "2.0000" in evidence.describe()


def test_detector_sees_no_plateau_while_loss_improves():
    detector = PlateauDetector()
    assert all(detector.update(s, 3.0 * 0.98 ** s) is None for s in range(40))


def test_detector_flags_a_stall_after_progress():
    detector = PlateauDetector()
    losses = [3.0, 2.5, 2.2, 2.0, 1.9] + [1.899, 1.9, 1.901, 1.8995]
    verdicts = [detector.update(i, v) for i, v in enumerate(losses)]
    assert all(v is None for v in verdicts[:5])
    assert verdicts[-1] is not None
    assert verdicts[-1].best_before == 1.9 and verdicts[-1].best_recent == 1.899


def test_detector_ignores_non_finite_and_missing_losses():
    detector = PlateauDetector()
    for step, value in enumerate([float("nan"), None, "inf", float("inf")]):
        assert detector.update(step, value) is None
    assert detector.history == []


def test_detector_rejects_bad_settings():
    with pytest.raises(ValueError, match="min_validations"):
        PlateauDetector(window=4, min_validations=4)
    with pytest.raises(ValueError, match="window"):
        PlateauDetector(window=0)


def test_plateau_settings_keep_the_run_length():
    config = resolve_config(optimization_level="auto",
                            overrides=["training.max_steps=1234", "training.val_every_steps=7",
                                       "training.epochs=9"])
    training = plateau_training_config(config)
    pb = resolve_config(optimization_level="plateau_breaker").training
    assert (training.max_steps, training.val_every_steps, training.epochs) == (1234, 7, 9)
    assert training.optimization_level == "plateau_breaker"
    assert (training.learning_rate, training.gradient_clip_norm, training.mel_loss_weight) == \
        (pb.learning_rate, pb.gradient_clip_norm, pb.mel_loss_weight)
    assert config.training.optimization_level == "auto"          # the input is not modified


# ------------------------------------------------------------------ auto switches in place

def _fake_trainer(run_dir: Path, schedule_start: int, step: int) -> SimpleNamespace:
    value = lambda v: SimpleNamespace(numpy=lambda: v)
    return SimpleNamespace(callbacks=[], run_dir=run_dir,
                           state=SimpleNamespace(schedule_start=value(schedule_start),
                                                 step=value(step)))


def test_resumed_auto_run_starts_from_the_validations_logged_under_its_settings(tmp_path):
    records = [{"type": "val", "step": 100, "val_loss": 5.0},      # before the schedule start
               {"type": "train", "step": 200, "loss": 1.0},
               {"type": "val", "step": 200, "val_loss": 3.0},
               {"type": "val", "step": 300, "val_loss": "nan"},
               {"type": "val", "step": 400, "val_loss": 2.9},
               {"type": "val", "step": 400, "val_loss": 2.8},      # re-done after a resume
               {"type": "val", "step": 900, "val_loss": 1.0}]      # after the checkpoint
    lines = [json.dumps(r) for r in records] + ["not json"]
    (tmp_path / "train_log.jsonl").write_text("\n".join(lines) + "\n")
    trainer = _fake_trainer(tmp_path, schedule_start=150, step=500)
    callback = attach_auto_level(trainer)
    assert callback.detector.history == [(200, 3.0), (400, 2.8)]
    assert attach_auto_level(trainer) is callback and trainer.callbacks == [callback]
    fresh = attach_auto_level(_fake_trainer(tmp_path / "none", 0, 0))
    assert fresh.detector.history == []



def tiny_auto_config(data: Path) -> XTTSConfig:
    """`auto` on a very small model with a forced plateau (the LR is too small to learn)."""
    config = shrink_model(apply_optimization_level(XTTSConfig(), "auto"), postnet_layers=1)
    config.data.batch_size = 4
    config.data.min_val_utterances = 2
    t = config.training
    t.learning_rate, t.min_learning_rate, t.warmup_steps = 1e-9, 0.0, 0
    t.mixed_precision, t.seed = "float32", 3
    t.val_every_steps, t.log_every_steps, t.checkpoint_every_steps = 1, 1, 1000
    return config.validate()


@pytest.mark.slow
def test_auto_warm_restarts_in_place_at_most_three_times(tmp_path):
    from myxtts.data.demo import make_demo_dataset
    from myxtts.training.auto_level import MAX_WARM_RESTARTS
    from myxtts.training.trainer import XTTSTrainer

    data = make_demo_dataset(tmp_path / "demo", num_utterances=12)
    run_dir = tmp_path / "run"
    config = tiny_auto_config(data)
    trainer = XTTSTrainer(config, run_dir)
    trainer.prepare_data(data)
    trainer.build()
    callbacks = [cb for cb in trainer.callbacks if isinstance(cb, AutoLevelCallback)]
    assert len(callbacks) == 1
    steps = PLATEAU_MIN_VALIDATIONS * (MAX_WARM_RESTARTS + 1)
    summary = trainer.train(max_steps=steps, progress=False)
    assert summary.steps == steps and summary.nonfinite_steps == 0

    records = [json.loads(line) for line in (run_dir / "train_log.jsonl").read_text().splitlines()]
    restarts = [r["step"] for r in records if r.get("event") == "warm_restart"]
    # The first possible verdict, then again once the new schedule has enough validations
    # of its own; never more than MAX_WARM_RESTARTS.
    assert restarts == [PLATEAU_MIN_VALIDATIONS * k for k in range(1, MAX_WARM_RESTARTS + 1)]
    assert callbacks[0].restarts == restarts
    assert not any(r.get("event") == "level_switch" for r in records)
    assert trainer.config.training.optimization_level == "auto"
    # Each restart puts the rate back at the level's peak, with no new warm-up.
    peak = config.training.learning_rate
    lrs = {r["step"]: r["lr"] for r in records if r.get("type") == "train"}
    for step in restarts:
        assert lrs[step + 1] == pytest.approx(peak, rel=1e-3)
    assert int(trainer.state.schedule_start.numpy()) == restarts[-1]
    # A resumed run counts the restarts already made.
    resumed = XTTSTrainer(config, run_dir)
    resumed.prepare_data(data, resume=run_dir)
    resumed.build()
    cb = [c for c in resumed.callbacks if isinstance(c, AutoLevelCallback)][0]
    assert cb.restarts == restarts


# ------------------------------------------------------------------ breakthrough_training.sh

def run_script(*args: str, **env: str) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PYTHON": sys.executable, "TF_CPP_MIN_LOG_LEVEL": "2", **env}
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True,
                          env=full_env, timeout=120)


def test_script_fails_at_once_on_a_missing_data_path(tmp_path):
    missing = tmp_path / "no_such_data"
    result = run_script(DATA_PATH=str(missing), CHECKPOINT_DIR=str(tmp_path / "run"))
    assert result.returncode != 0
    assert str(missing) in result.stderr and "does not exist" in result.stderr
    assert not (tmp_path / "run").exists()


def test_script_resumes_when_the_run_dir_has_a_checkpoint(tmp_path):
    run_dir = tmp_path / "run"
    fresh = run_script("--max-steps", "9", DATA_PATH=str(tmp_path), CHECKPOINT_DIR=str(run_dir),
                       DRY_RUN="1")
    assert fresh.returncode == 0, fresh.stderr
    assert "--resume-checkpoint" not in fresh.stdout and "--model-size tiny" in fresh.stdout
    assert "--batch-size 24" in fresh.stdout and fresh.stdout.rstrip().endswith("--max-steps 9")
    run_dir.mkdir()
    (run_dir / "checkpoint").write_text('model_checkpoint_path: "ckpt-10"\n')
    resumed = run_script(DATA_PATH=str(tmp_path), CHECKPOINT_DIR=str(run_dir), DRY_RUN="1",
                         BATCH_SIZE="8")
    assert "--resume-checkpoint latest" in resumed.stdout and "--model-size" not in resumed.stdout
    assert "--batch-size 8" in resumed.stdout


def test_script_resolves_plateau_breaker_with_batch_24(tmp_path):
    if not (ROOT / "train_main.py").is_file():
        pytest.skip("train_main.py is not there")
    result = run_script("--print-config", DATA_PATH=str(tmp_path),
                        CHECKPOINT_DIR=str(tmp_path / "run"))
    assert result.returncode == 0, result.stderr
    cfg = yaml.safe_load(result.stdout)
    pb = resolve_config(optimization_level="plateau_breaker").training
    assert cfg["data"]["batch_size"] == 24
    assert cfg["data"]["train_data"] == str(tmp_path)
    assert cfg["training"]["optimization_level"] == "plateau_breaker"
    assert cfg["training"]["learning_rate"] == pytest.approx(pb.learning_rate)
    assert cfg["training"]["gradient_clip_norm"] == pytest.approx(pb.gradient_clip_norm)
