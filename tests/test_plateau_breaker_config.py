"""The config `train_main.py --optimization-level plateau_breaker` really resolves (the CLI
code path, not a copy of the preset), checked against the values users know."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from myxtts.config.config import XTTSConfig
from myxtts.training.schedules import schedule_from_config

ROOT = Path(__file__).resolve().parent.parent

#: The documented plateau_breaker recipe (project origin documents, issue 3).
DOCUMENTED = {
    "learning_rate": 1.5e-5, "mel_loss_weight": 2.0, "kl_loss_weight": 1.2,
    "gradient_clip_norm": 0.3, "scheduler": "cosine", "cosine_restarts": True,
    "min_learning_rate": 1e-7, "use_adaptive_loss_weights": True,
    "use_label_smoothing": True, "use_huber_loss": True,
}
#: Documented defaults that plateau_breaker does not change.
DOCUMENTED_DEFAULTS = {
    "loss_smoothing_factor": 0.1, "stop_token_positive_weight": 5.0, "label_smoothing": 0.05,
    "spike_threshold": 2.0, "spike_window": 10, "adaptive_weight_min": 0.7,
    "adaptive_weight_max": 1.3, "early_stopping_patience": 25,
    "early_stopping_min_delta": 0.0005,
}


@pytest.fixture(scope="module")
def train_main():
    path = ROOT / "train_main.py"
    spec = importlib.util.spec_from_file_location("train_main_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def resolved(train_main, capsys, *argv: str) -> dict:
    assert train_main.main(["--optimization-level", "plateau_breaker", "--print-config",
                            *argv]) == 0
    return yaml.safe_load(capsys.readouterr().out)


def test_plateau_breaker_resolves_the_documented_values(train_main, capsys):
    training = resolved(train_main, capsys)["training"]
    assert training["optimization_level"] == "plateau_breaker"
    for key, value in {**DOCUMENTED, **DOCUMENTED_DEFAULTS}.items():
        assert training[key] == pytest.approx(value), key
    params = training["scheduler_params"]
    assert params["restart_period_epochs"] == 100
    assert params["t_mul"] == pytest.approx(1.0)        # every cycle as long as the first
    assert params.get("m_mul", 1.0) == pytest.approx(1.0)  # every restart back to the peak


def test_default_mel_loss_weight_is_2_5_in_code_and_config_yaml(train_main, capsys):
    assert train_main.main(["--print-config"]) == 0
    assert yaml.safe_load(capsys.readouterr().out)["training"]["mel_loss_weight"] == 2.5
    assert XTTSConfig.from_yaml(ROOT / "config.yaml").training.mel_loss_weight == 2.5


def test_explicit_flags_and_set_override_plateau_breaker(train_main, capsys):
    cfg = resolved(train_main, capsys, "--lr", "3e-5", "--batch-size", "24",
                   "--set", "training.kl_loss_weight=1.0")
    assert cfg["training"]["learning_rate"] == pytest.approx(3e-5)
    assert cfg["training"]["kl_loss_weight"] == pytest.approx(1.0)
    assert cfg["data"]["batch_size"] == 24
    assert cfg["training"]["gradient_clip_norm"] == pytest.approx(0.3)   # level kept


def test_restart_period_is_100_epochs_of_real_steps(train_main, capsys):
    config = XTTSConfig.from_dict(resolved(train_main, capsys))
    for steps_per_epoch in (7, 37):
        period = 100 * steps_per_epoch
        schedule = schedule_from_config(config.training, total_steps=10 * period,
                                        steps_per_epoch=steps_per_epoch, start_step=1000)
        peak = config.training.learning_rate
        assert schedule(1000) == pytest.approx(peak)                      # starts at the peak
        assert schedule(1000 + period - 1) < 0.01 * peak                  # decayed at the end
        assert schedule(1000 + period) == pytest.approx(peak)             # restart, full peak
        assert schedule(1000 + 3 * period + 5) == pytest.approx(schedule(1000 + 5))


def test_print_config_command_line(tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "train_main.py"), "--optimization-level",
                             "plateau_breaker", "--print-config"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    training = yaml.safe_load(result.stdout)["training"]
    for key, value in DOCUMENTED.items():
        assert training[key] == pytest.approx(value), key
    assert not (tmp_path / "data").exists()       # printing the config builds no data
