"""Tests for the config layer: dataclasses, YAML I/O, validation, overrides and presets."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from myxtts.config import presets
from myxtts.config.config import (
    SECTIONS, AudioConfig, ConfigError, DataConfig, ModelConfig, TextConfig, TrainingConfig,
    XTTSConfig, field_docs)

REPO_ROOT = Path(__file__).resolve().parents[1]
SECTION_CLASSES = (AudioConfig, TextConfig, DataConfig, ModelConfig, TrainingConfig)


def _custom_config() -> XTTSConfig:
    config = XTTSConfig()
    config.training.learning_rate = 3e-4
    config.training.scheduler_params = {"decay_steps": 5000, "alpha": 0.1}
    config.training.cosine_restarts = True
    config.data.train_data = "/data/LJSpeech-1.1"
    config.text.language = "fa"
    config.model.decoder_strategy = "autoregressive"
    return config.validate()


# --- round trip and the shipped config.yaml ---------------------------------------------

@pytest.mark.parametrize("comments", [False, True])
def test_yaml_round_trip_is_exact(tmp_path: Path, comments: bool) -> None:
    config = _custom_config()
    path = tmp_path / "run" / "config.yaml"
    text = config.to_yaml(path, comments=comments)
    assert path.read_text(encoding="utf-8") == text
    loaded = XTTSConfig.from_yaml(path)
    assert loaded == config
    assert loaded.to_dict() == config.to_dict()


def test_dict_round_trip_and_copy_independence() -> None:
    config = _custom_config()
    data = config.to_dict()
    assert XTTSConfig.from_dict(data) == config
    data["training"]["scheduler_params"]["decay_steps"] = 1
    assert config.training.scheduler_params["decay_steps"] == 5000


def test_save_creates_parent_directories(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "config.yaml"
    XTTSConfig().save(path)
    assert XTTSConfig.from_yaml(path) == XTTSConfig()


def test_repo_config_yaml_equals_defaults() -> None:
    path = REPO_ROOT / "config.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    defaults = XTTSConfig().to_dict()
    assert list(raw) == list(defaults)
    for section in defaults:
        assert set(raw[section]) == set(defaults[section]), section
    assert XTTSConfig.from_yaml(path) == XTTSConfig()


def test_repo_config_yaml_comments_every_key() -> None:
    lines = (REPO_ROOT / "config.yaml").read_text(encoding="utf-8").splitlines()
    for index, line in enumerate(lines):
        if line.strip() and not line.lstrip().startswith("#"):
            assert lines[index - 1].lstrip().startswith("#"), f"no comment above {line!r}"


def test_empty_yaml_gives_defaults(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("# nothing\n", encoding="utf-8")
    assert XTTSConfig.from_yaml(path) == XTTSConfig()


def test_partial_yaml_merges_over_defaults(tmp_path: Path) -> None:
    path = tmp_path / "partial.yaml"
    path.write_text("data:\n  batch_size: 4\ntext:\n", encoding="utf-8")
    config = XTTSConfig.from_yaml(path)
    assert config.data.batch_size == 4
    config.data.batch_size = XTTSConfig().data.batch_size
    assert config == XTTSConfig()


# --- coercion ------------------------------------------------------------------------

def test_exponent_string_from_yaml_becomes_float(tmp_path: Path) -> None:
    path = tmp_path / "lr.yaml"
    path.write_text("training:\n  learning_rate: 1e-4\n  min_learning_rate: 1e-6\n",
                    encoding="utf-8")
    assert isinstance(yaml.safe_load(path.read_text())["training"]["learning_rate"], str)
    config = XTTSConfig.from_yaml(path)
    assert isinstance(config.training.learning_rate, float)
    assert config.training.learning_rate == pytest.approx(1e-4)
    assert config.training.min_learning_rate == pytest.approx(1e-6)


def test_numeric_coercions() -> None:
    config = XTTSConfig.from_dict({
        "audio": {"fmax": 7600, "n_mels": 80.0},
        "training": {"max_steps": "1e5", "scheduler_params": {"decay_steps": "2e4", "t_mul": 2}},
    })
    assert config.audio.fmax == 7600.0 and isinstance(config.audio.fmax, float)
    assert config.audio.n_mels == 80 and isinstance(config.audio.n_mels, int)
    assert config.training.max_steps == 100000 and isinstance(config.training.max_steps, int)
    assert config.training.scheduler_params == {"decay_steps": 20000.0, "t_mul": 2}


def test_null_path_means_empty() -> None:
    assert XTTSConfig.from_dict({"data": {"cache_dir": None}}).data.cache_dir == ""


@pytest.mark.parametrize(("section", "key", "value", "expected"), [
    ("training", "learning_rate", "abc", "training.learning_rate: expected a number, got 'abc'"),
    ("training", "learning_rate", True, "training.learning_rate: expected a number"),
    ("training", "learning_rate", "nan", "training.learning_rate: expected a finite number"),
    ("training", "jit_compile", "yes", "training.jit_compile: expected true or false"),
    ("training", "jit_compile", 1, "training.jit_compile: expected true or false"),
    ("data", "batch_size", 16.5, "data.batch_size: expected an integer, got 16.5"),
    ("data", "batch_size", True, "data.batch_size: expected an integer, got True"),
    ("text", "language", 3, "text.language: expected a string, got 3"),
    ("model", "size", None, "model.size: expected one of"),
    ("training", "scheduler_params", [1], "training.scheduler_params: expected a mapping"),
    ("training", "scheduler_params", {"alpha": "low"},
     "training.scheduler_params.alpha: expected a number, got 'low'"),
])
def test_wrong_types_name_the_key(section: str, key: str, value: object, expected: str) -> None:
    with pytest.raises(ConfigError, match="^" + _escape(expected)) as info:
        XTTSConfig.from_dict({section: {key: value}})
    assert info.value.key is not None and info.value.key.startswith(f"{section}.{key}")


def test_wrong_section_type_is_rejected() -> None:
    with pytest.raises(ConfigError, match="^training: expected a mapping"):
        XTTSConfig.from_dict({"training": [1, 2]})


def test_validate_rechecks_assigned_attributes() -> None:
    config = XTTSConfig()
    config.training.learning_rate = "2e-4"  # type: ignore[assignment]
    config.validate()
    assert config.training.learning_rate == pytest.approx(2e-4)
    config.data.val_fraction = 1.5
    with pytest.raises(ConfigError, match="^data.val_fraction:"):
        config.validate()


def test_section_constructor_validates() -> None:
    with pytest.raises(ConfigError, match="^model.dropout:"):
        ModelConfig(dropout=-0.1)


# --- unknown keys ----------------------------------------------------------------------

@pytest.mark.parametrize(("data", "expected"), [
    ({"training": {"learnin_rate": 1e-3}},
     "training.learnin_rate: unknown key (did you mean 'learning_rate'?)"),
    ({"trainig": {}}, "trainig: unknown key (did you mean 'training'?)"),
    ({"model": {"hiden_dim": 64}}, "model.hiden_dim: unknown key (did you mean 'hidden_dim'?)"),
    ({"training": {"scheduler_params": {"decay_step": 10}}},
     "training.scheduler_params.decay_step: unknown key (did you mean 'decay_steps'?)"),
])
def test_unknown_keys_rejected_with_suggestion(data: dict, expected: str) -> None:
    with pytest.raises(ConfigError, match="^" + _escape(expected)):
        XTTSConfig.from_dict(data)


def test_unknown_key_without_close_match_lists_valid_keys() -> None:
    with pytest.raises(ConfigError, match=r"^text\.zzz: unknown key \(valid keys: frontend, "):
        XTTSConfig.from_dict({"text": {"zzz": 1}})


# --- ranges and cross-field rules --------------------------------------------------------

@pytest.mark.parametrize(("section", "values", "key"), [
    ("model", {"dropout": 1.0}, "model.dropout"),
    ("model", {"size": "huge"}, "model.size"),
    ("data", {"val_fraction": 0.0}, "data.val_fraction"),
    ("data", {"val_fraction": 1.0}, "data.val_fraction"),
    ("data", {"batch_size": 0}, "data.batch_size"),
    ("training", {"label_smoothing": 0.5}, "training.label_smoothing"),
    ("training", {"adaptive_weight_min": 1.2}, "training.adaptive_weight_min"),
    ("training", {"adaptive_weight_max": 0.9}, "training.adaptive_weight_max"),
    ("training", {"scheduler": "linear"}, "training.scheduler"),
    ("training", {"mixed_precision": "fp16"}, "training.mixed_precision"),
    ("training", {"learning_rate": 0}, "training.learning_rate"),
    ("training", {"scheduler_params": {"alpha": 2}}, "training.scheduler_params.alpha"),
    ("training", {"learning_rate": 1e-5, "min_learning_rate": 1e-4},
     "training.min_learning_rate"),
    ("audio", {"win_length": 2048}, "audio.win_length"),
    ("audio", {"fmax": 12000.0}, "audio.fmax"),
    ("data", {"min_duration_s": 20.0}, "data.min_duration_s"),
    ("model", {"num_heads": 3}, "model.num_heads"),
])
def test_out_of_range_rejected(section: str, values: dict, key: str) -> None:
    with pytest.raises(ConfigError, match="^" + _escape(key) + ": ") as info:
        XTTSConfig.from_dict({section: values})
    assert info.value.key == key


def test_choice_error_suggests_and_lists() -> None:
    with pytest.raises(ConfigError, match="did you mean 'cosine'") as info:
        XTTSConfig.from_dict({"training": {"scheduler": "cosin"}})
    assert "'constant', 'cosine', 'exponential', 'noam'" in str(info.value)


def test_range_message_states_bounds() -> None:
    with pytest.raises(ConfigError, match=r"expected a value >= 0 and < 1, got 1\.5"):
        XTTSConfig.from_dict({"model": {"dropout": 1.5}})


# --- files -------------------------------------------------------------------------------

def test_missing_file_names_path(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError, match=_escape(str(path)) + ": config file not found"):
        XTTSConfig.from_yaml(path)


def test_broken_yaml_names_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("training:\n  learning_rate: [1e-4\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="^" + _escape(str(path)) + ": invalid YAML"):
        XTTSConfig.from_yaml(path)


def test_invalid_value_in_file_names_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("training:\n  learnin_rate: 1e-4\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        XTTSConfig.from_yaml(path)
    assert str(info.value).startswith(f"{path}: training.learnin_rate: unknown key")
    assert info.value.key == "training.learnin_rate"


def test_non_mapping_yaml_rejected(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- 1\n- 2\n", encoding="utf-8")
    expected = f"{path}: config: expected a mapping"
    with pytest.raises(ConfigError, match="^" + _escape(expected)):
        XTTSConfig.from_yaml(path)


# --- overrides ----------------------------------------------------------------------------

def test_overrides_apply_in_place() -> None:
    config = XTTSConfig()
    result = config.apply_overrides([
        "training.learning_rate=1e-4", "training.jit_compile=true", "data.batch_size=8",
        "data.train_data=/mnt/data: v2", "training.scheduler_params.decay_steps=1000",
        "text.espeak_voice=en-gb",
    ])
    assert result is config
    assert config.training.learning_rate == pytest.approx(1e-4)
    assert config.training.jit_compile is True
    assert config.data.batch_size == 8
    assert config.data.train_data == "/mnt/data: v2"
    assert config.training.scheduler_params == {"decay_steps": 1000}
    assert config.text.espeak_voice == "en-gb"


def test_model_size_override_applies_preset_and_explicit_keys_win() -> None:
    config = XTTSConfig().apply_overrides(["model.hidden_dim=256", "model.size=small"])
    expected = dict(presets.MODEL_SIZES["small"], hidden_dim=256)
    for key, value in expected.items():
        assert getattr(config.model, key) == value, key
    assert config.model.size == "small"


@pytest.mark.parametrize(("override", "expected"), [
    ("training.learnin_rate=1e-4", "training.learnin_rate: unknown key (did you mean"),
    ("trainin.learning_rate=1e-4", "trainin: unknown key (did you mean 'training'?)"),
    ("training.learning_rate=abc", "training.learning_rate: expected a number, got 'abc'"),
    ("training.learning_rate=[1", "training.learning_rate: cannot parse value"),
    ("model.size=huge", "model.size: expected one of 'tiny', 'small', 'normal', 'big'"),
    ("training.learning_rate", "override 'training.learning_rate': expected KEY=VALUE"),
    ("training=1", "training: expected SECTION.KEY=VALUE"),
    ("training.learning_rate.x=1", "training.learning_rate.x: key is too deep"),
])
def test_bad_overrides_name_the_key(override: str, expected: str) -> None:
    config = XTTSConfig()
    with pytest.raises(ConfigError, match="^" + _escape(expected)):
        config.apply_overrides(["data.batch_size=4", override])
    assert config == XTTSConfig(), "a failed override must leave the config unchanged"


# --- presets -----------------------------------------------------------------------------

def test_model_config_defaults_equal_tiny_preset() -> None:
    model = ModelConfig()
    assert {key: getattr(model, key) for key in presets.MODEL_SIZES["tiny"]} == \
        presets.MODEL_SIZES["tiny"]
    assert model.size == "tiny"


def test_model_size_presets_share_fields_and_grow() -> None:
    keys = set(presets.MODEL_SIZES["tiny"])
    widths = []
    for name, values in presets.MODEL_SIZES.items():
        assert set(values) == keys, name
        widths.append(values["hidden_dim"])
    assert widths == sorted(widths) and len(set(widths)) == len(widths)


@pytest.mark.parametrize("name", list(presets.MODEL_SIZES))
def test_apply_model_size_returns_new_config(name: str) -> None:
    base = _custom_config()
    sized = presets.apply_model_size(base, name)
    assert sized is not base and base == _custom_config()
    assert sized.model.size == name
    for key, value in presets.MODEL_SIZES[name].items():
        assert getattr(sized.model, key) == value
    assert sized.training == base.training and sized.model.dropout == base.model.dropout


def test_unknown_model_size_lists_choices() -> None:
    with pytest.raises(ConfigError, match="^model.size: expected one of 'tiny', 'small', "
                                          "'normal', 'big', got 'huge'"):
        presets.apply_model_size(XTTSConfig(), "huge")


def test_basic_level_keeps_config() -> None:
    assert "basic" in presets.list_optimization_levels()
    config = _custom_config()
    assert presets.apply_optimization_level(config, "basic") == config


def test_unknown_level_lists_choices() -> None:
    with pytest.raises(ConfigError, match="^training.optimization_level: expected one of 'basic'"):
        presets.apply_optimization_level(XTTSConfig(), "turbo")


def test_levels_apply_their_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    level = {"training": {"learning_rate": 5e-4, "mel_loss_weight": 2.0}, "model": {"dropout": 0.2}}
    monkeypatch.setitem(presets.OPTIMIZATION_LEVELS, "test_level", level)
    config = presets.apply_optimization_level(XTTSConfig(), "test_level")
    assert config.training.optimization_level == "test_level"
    assert config.training.learning_rate == 5e-4 and config.training.mel_loss_weight == 2.0
    assert config.model.dropout == 0.2
    from_file = XTTSConfig.from_dict({"training": {"optimization_level": "test_level",
                                                   "mel_loss_weight": 3.0}})
    assert from_file.training.learning_rate == 5e-4 and from_file.training.mel_loss_weight == 3.0


def test_bad_level_data_names_level(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(presets.OPTIMIZATION_LEVELS, "broken", {"training": {"lr": 1.0}})
    with pytest.raises(ConfigError, match="^optimization level 'broken': training.lr: unknown"):
        presets.apply_optimization_level(XTTSConfig(), "broken")


def test_yaml_model_size_supplies_architecture(tmp_path: Path) -> None:
    path = tmp_path / "small.yaml"
    path.write_text("model:\n  size: small\n  postnet_layers: 2\n", encoding="utf-8")
    config = XTTSConfig.from_yaml(path)
    assert config.model.hidden_dim == presets.MODEL_SIZES["small"]["hidden_dim"]
    assert config.model.postnet_layers == 2


def test_resolve_config_precedence(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text("model:\n  size: small\n  dropout: 0.2\ntraining:\n  learning_rate: 5e-4\n"
                    "  warmup_steps: 10\n", encoding="utf-8")
    config = presets.resolve_config(path, model_size="normal", optimization_level="basic",
                                    overrides=["training.learning_rate=2e-4"])
    assert config.model.size == "normal"
    assert config.model.hidden_dim == presets.MODEL_SIZES["normal"]["hidden_dim"]
    assert config.model.dropout == 0.2
    assert config.training.warmup_steps == 10
    assert config.training.learning_rate == pytest.approx(2e-4)
    assert presets.resolve_config() == XTTSConfig()


# --- docs and imports ---------------------------------------------------------------------

def test_every_field_has_a_one_line_doc() -> None:
    for cls in (*SECTION_CLASSES, XTTSConfig):
        for f in dataclasses.fields(cls):
            doc = f.metadata.get("doc")
            assert isinstance(doc, str) and doc.strip(), f"{cls.__name__}.{f.name}"
            assert "\n" not in doc, f"{cls.__name__}.{f.name}"
    docs = field_docs()
    assert set(docs) == {f"{s}.{k}" for s, keys in XTTSConfig().to_dict().items() for k in keys}
    assert [f.name for f in dataclasses.fields(XTTSConfig)] == list(SECTIONS)


def test_config_does_not_import_tensorflow() -> None:
    code = ("import sys, myxtts.config.config, myxtts.config.presets; "
            "sys.exit('tensorflow' in sys.modules or 'keras' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT).returncode == 0


def _escape(text: str) -> str:
    return re.escape(text)
