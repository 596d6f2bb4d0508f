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
                           ("model", "reference_spectrum"): False,
                           ("model", "speaker_film"): False}
#: The same for the ``vocoder`` section of a *vocoder* checkpoint (runs saved before the
#: magnitude prior, the spectrum losses and the mel context existed). An acoustic run's
#: stored ``vocoder`` section does not take them: a new vocoder started from it
#: (``--gta-from``) is trained with today's defaults.
STORED_VOCODER_FALLBACKS = {("vocoder", "magnitude_prior"): False,
                            ("vocoder", "amplitude_loss_weight"): 0.0,
                            ("vocoder", "phase_loss_weight"): 0.0,
                            ("vocoder", "mel_context"): False}


def config_from_yaml_text(text: str, origin: str,
                          fallbacks: dict = STORED_CONFIG_FALLBACKS) -> XTTSConfig:
    """An :class:`XTTSConfig` from YAML text stored in a checkpoint; errors name ``origin``.
    Keys the stored config predates take the ``fallbacks`` values
    (:data:`STORED_CONFIG_FALLBACKS`, or :data:`STORED_VOCODER_FALLBACKS` for a vocoder
    checkpoint)."""
    try:
        data = yaml.safe_load(text) or {}
        if isinstance(data, dict):
            for (section, key), value in fallbacks.items():
                part = data.get(section)
                if isinstance(part, dict) and key not in part:
                    part[key] = value
        return XTTSConfig.from_dict(data)
    except (ConfigError, yaml.YAMLError) as exc:
        raise ConfigError(f"{origin}: stored config is invalid: {exc}") from None
