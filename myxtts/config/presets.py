"""Model-size and optimization-level presets (plain data) and the functions applying them.

Order in which `resolve_config` builds a config (later steps win):

1. dataclass defaults (`XTTSConfig()`);
2. the YAML file. Within the file, a `model.size` or `training.optimization_level`
   key first applies that preset, then the file's explicit keys override it;
3. the `model_size` argument: sets every architecture field of that size;
4. the `optimization_level` argument: sets that level's fields; fields listed in
   `LEVEL_SIZE_MULTIPLIERS` are scaled for the config's `model.size` at that moment;
5. `overrides` ("section.key=value"). A `model.size=` or `training.optimization_level=`
   override applies its preset before the other overrides, so explicit keys win.

This module imports no other config module at import time except `_coerce`, so
`config.py` can import the data below without an import cycle.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from os import PathLike
from typing import TYPE_CHECKING, Any

from myxtts.config._coerce import ConfigError, choice_error

if TYPE_CHECKING:
    from myxtts.config.config import XTTSConfig

#: Architecture fields of `ModelConfig` per size. `ModelConfig` defaults equal "tiny".
#: Training fields that only say how long / how often a run goes. Levels never set them;
#: switching level (in place or on resume) keeps the run's values and changes nothing else.
RUN_LENGTH_FIELDS = ("epochs", "max_steps", "max_minutes", "log_every_steps", "val_every_steps",
                     "checkpoint_every_steps", "keep_checkpoints", "early_stopping_patience",
                     "early_stopping_min_delta")

MODEL_SIZES: dict[str, dict[str, int]] = {
    "tiny": {
        "hidden_dim": 128, "text_encoder_layers": 2, "decoder_layers": 2, "num_heads": 2,
        "ffn_dim": 384, "duration_predictor_dim": 128, "postnet_layers": 3, "postnet_dim": 128,
        "reference_encoder_dim": 96, "speaker_latent_dim": 32,
    },
    "small": {
        "hidden_dim": 192, "text_encoder_layers": 3, "decoder_layers": 3, "num_heads": 2,
        "ffn_dim": 768, "duration_predictor_dim": 192, "postnet_layers": 5, "postnet_dim": 256,
        "reference_encoder_dim": 128, "speaker_latent_dim": 64,
    },
    "normal": {
        "hidden_dim": 256, "text_encoder_layers": 4, "decoder_layers": 4, "num_heads": 4,
        "ffn_dim": 1024, "duration_predictor_dim": 256, "postnet_layers": 5, "postnet_dim": 384,
        "reference_encoder_dim": 192, "speaker_latent_dim": 64,
    },
    "big": {
        "hidden_dim": 384, "text_encoder_layers": 6, "decoder_layers": 6, "num_heads": 6,
        "ffn_dim": 1536, "duration_predictor_dim": 384, "postnet_layers": 5, "postnet_dim": 512,
        "reference_encoder_dim": 256, "speaker_latent_dim": 128,
    },
}

#: Optimization level -> {section -> {field: value}} applied over the current config.
#: A level replaces whole values (a level's `scheduler_params` replaces the dict).
#: "basic" changes nothing: the dataclass defaults are the basic recipe.
OPTIMIZATION_LEVELS: dict[str, dict[str, dict[str, Any]]] = {
    "basic": {},
    "enhanced": {
        "training": {
            "learning_rate": 1e-3,        # x LEVEL_SIZE_MULTIPLIERS
            "min_learning_rate": 1e-5,
            "warmup_steps": 200,          # x LEVEL_SIZE_MULTIPLIERS
            "scheduler": "cosine",
            "cosine_restarts": False,
            "scheduler_params": {},
        },
    },
    "experimental": {
        "training": {
            "learning_rate": 1e-3,        # x LEVEL_SIZE_MULTIPLIERS
            "min_learning_rate": 1e-5,
            "warmup_steps": 200,          # x LEVEL_SIZE_MULTIPLIERS
            "scheduler": "cosine",
            "cosine_restarts": True,      # SGDR: warm restarts, each cycle twice as long
            "scheduler_params": {"restart_period_epochs": 20, "t_mul": 2.0, "m_mul": 0.9},
            "use_label_smoothing": True,
            "label_smoothing": 0.02,
            "use_adaptive_loss_weights": True,
            "adaptive_weight_min": 0.7,
            "adaptive_weight_max": 1.3,
            "loss_smoothing_factor": 0.2,
        },
    },
    "plateau_breaker": {
        "training": {
            "learning_rate": 1.5e-5,
            "min_learning_rate": 1e-7,
            "mel_loss_weight": 2.0,
            "kl_loss_weight": 1.2,
            "gradient_clip_norm": 0.3,
            "scheduler": "cosine",
            "cosine_restarts": True,
            "scheduler_params": {"restart_period_epochs": 100, "t_mul": 1.0, "m_mul": 1.0},
            "use_adaptive_loss_weights": True,
            "use_label_smoothing": True,
            "use_huber_loss": True,
        },
    },
}
#: "auto" trains with the enhanced values and warm-restarts the schedule on a plateau of
#: the validation loss (myxtts.training.auto_level).
OPTIMIZATION_LEVELS["auto"] = copy.deepcopy(OPTIMIZATION_LEVELS["enhanced"])

_LR_BY_SIZE = {"tiny": 1.5, "small": 1.2, "normal": 0.8, "big": 0.6}
_WARMUP_BY_SIZE = {"tiny": 1.0, "small": 1.5, "normal": 2.0, "big": 3.0}
#: Level -> "section.field" -> model size -> multiplier of the level's value (integer
#: fields are rounded). Small models take a higher learning rate and a shorter warm-up;
#: large ones a lower rate and a longer warm-up.
LEVEL_SIZE_MULTIPLIERS: dict[str, dict[str, dict[str, float]]] = {
    level: {"training.learning_rate": _LR_BY_SIZE, "training.warmup_steps": _WARMUP_BY_SIZE}
    for level in ("enhanced", "experimental", "auto")
}

#: What each level is for (one line; used by `describe_level` and the docs table).
LEVEL_PURPOSES: dict[str, str] = {
    "basic": "Conservative defaults; stable when training from scratch.",
    "enhanced": "Faster convergence: learning rate and warm-up scaled by model size.",
    "experimental": "Newer techniques (SGDR warm restarts, lighter label smoothing, faster "
                    "loss EMA); not yet proven on our data.",
    "plateau_breaker": "Continue a run whose loss has stalled: low learning rate with "
                       "restarts, tight clipping, re-weighted mel/KL losses.",
    "auto": "Starts as enhanced; on a validation-loss plateau restarts the learning rate "
            "at its peak (warm restart, up to 3 times).",
}


def list_model_sizes() -> list[str]:
    """Names of the model-size presets, smallest first."""
    return list(MODEL_SIZES)


def list_optimization_levels() -> list[str]:
    """Names of the optimization levels."""
    return list(OPTIMIZATION_LEVELS)


def apply_model_size(config: XTTSConfig, name: str) -> XTTSConfig:
    """Return a copy of `config` with `model.size = name` and that size's architecture."""
    if not isinstance(name, str) or name not in MODEL_SIZES:
        raise choice_error("model.size", name, MODEL_SIZES)
    data = config.to_dict()
    data["model"].update(MODEL_SIZES[name])
    data["model"]["size"] = name
    return type(config).from_dict(data)


def level_fields(name: str, size: str) -> dict[str, dict[str, Any]]:
    """The {section: {field: value}} that level `name` sets for a model of `size` (a copy,
    with `LEVEL_SIZE_MULTIPLIERS` applied)."""
    if not isinstance(name, str) or name not in OPTIMIZATION_LEVELS:
        raise choice_error("training.optimization_level", name, OPTIMIZATION_LEVELS)
    if not isinstance(size, str) or size not in MODEL_SIZES:
        raise choice_error("model.size", size, MODEL_SIZES)
    fields = copy.deepcopy(OPTIMIZATION_LEVELS[name])
    for dotted, by_size in LEVEL_SIZE_MULTIPLIERS.get(name, {}).items():
        section, key = dotted.split(".")
        base = fields[section][key]
        value = base * by_size[size]
        fields[section][key] = round(value) if isinstance(base, int) else float(f"{value:.12g}")
    return fields


def apply_optimization_level(config: XTTSConfig, name: str) -> XTTSConfig:
    """Return a copy of `config` with the level's fields (scaled for `config.model.size`)
    set and `training.optimization_level = name`."""
    fields = level_fields(name, config.model.size)
    data = config.to_dict()
    try:
        for section, values in fields.items():
            if section not in data:
                raise ConfigError(f"{section}: unknown config section", key=section)
            data[section].update(values)
        data["training"]["optimization_level"] = name
        return type(config).from_dict(data)
    except ConfigError as exc:
        raise ConfigError(f"optimization level {name!r}: {exc}", key=exc.key) from exc


def _flat(fields: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {f"{section}.{key}": value for section, values in fields.items()
            for key, value in values.items()}


def describe_level(name: str) -> dict[str, Any]:
    """What level `name` is for and every field it sets, per model size.

    Keys: ``name``, ``purpose``, ``fields`` (dotted key -> the level's value before size
    scaling), ``size_multipliers`` (dotted key -> size -> factor) and ``by_size``
    (size -> dotted key -> the value applied for that size).
    """
    if not isinstance(name, str) or name not in OPTIMIZATION_LEVELS:
        raise choice_error("training.optimization_level", name, OPTIMIZATION_LEVELS)
    return {
        "name": name,
        "purpose": LEVEL_PURPOSES[name],
        "fields": _flat(copy.deepcopy(OPTIMIZATION_LEVELS[name])),
        "size_multipliers": copy.deepcopy(LEVEL_SIZE_MULTIPLIERS.get(name, {})),
        "by_size": {size: _flat(level_fields(name, size)) for size in MODEL_SIZES},
    }


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        text = f"{value:g}"
        return text if any(c in text for c in ".ein") else text + ".0"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_show(v)}" for k, v in value.items()) + "}"
    return str(value)


def levels_table_markdown() -> str:
    """Markdown tables of every level: its purpose, then each field any level sets.

    A blank cell keeps the basic value; a size-scaled value is listed per model size.
    docs/OPTIMIZATION_LEVELS.md contains this text (checked by a test).
    """
    from myxtts.config.config import XTTSConfig

    base = _flat(XTTSConfig().to_dict())
    levels = list(OPTIMIZATION_LEVELS)
    described = {name: describe_level(name) for name in levels}
    keys: list[str] = []
    for name in levels:
        keys += [k for k in described[name]["fields"] if k not in keys]
    lines = ["| Level | Purpose |", "| --- | --- |"]
    lines += [f"| `{name}` | {described[name]['purpose']} |" for name in levels]
    lines += ["", "| Field | " + " | ".join(f"`{name}`" for name in levels) + " |",
              "| --- |" + " --- |" * len(levels)]
    sizes = list(MODEL_SIZES)
    for key in keys:
        cells = []
        for name in levels:
            info = described[name]
            if name == "basic":
                cells.append(f"`{_show(base[key])}`")
            elif key in info["size_multipliers"]:
                per_size = [_show(info["by_size"][size][key]) for size in sizes]
                cells.append(" / ".join(f"{s} `{v}`" for s, v in zip(sizes, per_size)))
            elif key in info["fields"]:
                cells.append(f"`{_show(info['fields'][key])}`")
            else:
                cells.append("")
        lines.append(f"| `{key}` | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def resolve_config(
    config_path: str | PathLike[str] | None = None,
    model_size: str | None = None,
    optimization_level: str | None = None,
    overrides: Iterable[str] = (),
) -> XTTSConfig:
    """Build the run config: defaults -> YAML -> model size -> level -> overrides."""
    from myxtts.config.config import XTTSConfig

    config = XTTSConfig.from_yaml(config_path) if config_path is not None else XTTSConfig()
    if model_size is not None:
        config = apply_model_size(config, model_size)
    if optimization_level is not None:
        config = apply_optimization_level(config, optimization_level)
    return config.apply_overrides(overrides)
