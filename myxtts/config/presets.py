"""Model-size and optimization-level presets (plain data) and the functions applying them.

Order in which `resolve_config` builds a config (later steps win):

1. dataclass defaults (`XTTSConfig()`);
2. the YAML file. Within the file, a `model.size` or `training.optimization_level`
   key first applies that preset, then the file's explicit keys override it;
3. the `model_size` argument: sets every architecture field of that size;
4. the `optimization_level` argument: sets that level's fields;
5. `overrides` ("section.key=value"). A `model.size=` or `training.optimization_level=`
   override applies its preset before the other overrides, so explicit keys win.

This module imports no other config module at import time except `_coerce`, so
`config.py` can import the data below without an import cycle.
"""

from __future__ import annotations

from collections.abc import Iterable
from os import PathLike
from typing import TYPE_CHECKING, Any

from myxtts.config._coerce import ConfigError, choice_error

if TYPE_CHECKING:
    from myxtts.config.config import XTTSConfig

#: Architecture fields of `ModelConfig` per size. `ModelConfig` defaults equal "tiny".
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
#: "basic" changes nothing (the dataclass defaults are the basic recipe).
OPTIMIZATION_LEVELS: dict[str, dict[str, dict[str, Any]]] = {
    "basic": {},
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


def apply_optimization_level(config: XTTSConfig, name: str) -> XTTSConfig:
    """Return a copy of `config` with the level's fields set and `training.optimization_level`."""
    if not isinstance(name, str) or name not in OPTIMIZATION_LEVELS:
        raise choice_error("training.optimization_level", name, OPTIMIZATION_LEVELS)
    data = config.to_dict()
    try:
        for section, values in OPTIMIZATION_LEVELS[name].items():
            if section not in data:
                raise ConfigError(f"{section}: unknown config section", key=section)
            data[section].update(values)
        data["training"]["optimization_level"] = name
        return type(config).from_dict(data)
    except ConfigError as exc:
        raise ConfigError(f"optimization level {name!r}: {exc}", key=exc.key) from exc


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
