"""Configs stored in checkpoints: read them as the run that saved them was configured.

A key added after checkpoints were first saved has a default that may change the model
(new variables) or the loss (new state); a stored config that predates the key takes the
value that reproduces the saved run instead, so old checkpoints load, resume and
synthesise as they were trained.
"""

from __future__ import annotations

import yaml

from myxtts.config.config import ConfigError, XTTSConfig

#: Keys added after checkpoints were first saved, with the value that reproduces those runs.
STORED_CONFIG_FALLBACKS = {("training", "speaker_loss_weight"): 0.0,
                           ("model", "reference_spectrum"): False}


def config_from_yaml_text(text: str, origin: str) -> XTTSConfig:
    """An :class:`XTTSConfig` from YAML text stored in a checkpoint; errors name ``origin``.
    Keys the stored config predates take :data:`STORED_CONFIG_FALLBACKS` values."""
    try:
        data = yaml.safe_load(text) or {}
        if isinstance(data, dict):
            for (section, key), value in STORED_CONFIG_FALLBACKS.items():
                part = data.get(section)
                if isinstance(part, dict) and key not in part:
                    part[key] = value
        return XTTSConfig.from_dict(data)
    except (ConfigError, yaml.YAMLError) as exc:
        raise ConfigError(f"{origin}: stored config is invalid: {exc}") from None
