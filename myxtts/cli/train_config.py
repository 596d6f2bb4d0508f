"""The resolved configuration of a ``train_main.py`` run (no TensorFlow needed).

Order, later steps win:

1. base: the ``--config`` YAML; else, when resuming, the config stored in the
   checkpoint; else the dataclass defaults;
2. ``--model-size`` (when resuming it must equal the checkpoint's size);
3. ``--optimization-level``;
4. explicit flags (``--lr``, ``--batch-size``, ``--epochs``, ``--max-steps``,
   ``--max-minutes``, ``--seed``, ``--train-data``, ``--val-data``, ``--distribute``);
5. ``--set section.key=value`` overrides, in the order given.

Steps 4 and 5 are applied together and validated once, so ``--set`` can repair a
combination that an explicit flag alone would make invalid.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from myxtts.cli.runtime import CLIError
from myxtts.config.config import XTTSConfig
from myxtts.config.presets import apply_model_size, apply_optimization_level

#: Where the built-in demo set is built when no training data is given (relative to the cwd).
DEMO_DIR = Path("data") / "demo"

#: Explicit command-line flag (argparse dest) -> config key it sets.
FLAG_KEYS: dict[str, str] = {
    "lr": "training.learning_rate",
    "batch_size": "data.batch_size",
    "epochs": "training.epochs",
    "max_steps": "training.max_steps",
    "max_minutes": "training.max_minutes",
    "seed": "training.seed",
    "train_data": "data.train_data",
    "val_data": "data.val_data",
    "data_format": "data.format",
    "strict": "data.strict",
    "distribute": "training.distribute",
}


def flag_overrides(values: Mapping[str, Any]) -> list[str]:
    """``section.key=value`` overrides for the explicit flags in ``values`` that are set."""
    return [f"{key}={values[dest]}" for dest, key in FLAG_KEYS.items()
            if values.get(dest) is not None]


def resolve_train_config(config_path: str | None = None, model_size: str | None = None,
                         optimization_level: str | None = None,
                         overrides: Sequence[str] = (),
                         checkpoint_config: XTTSConfig | None = None) -> XTTSConfig:
    """Build the run config in the documented order.

    ``checkpoint_config`` is the config stored in the checkpoint being resumed: it is
    the base when no ``config_path`` is given, and ``model_size`` must match its size.
    Raises :class:`ConfigError` (key path in the message) or :class:`CLIError`.
    """
    if config_path is not None:
        config = XTTSConfig.from_yaml(config_path)
    elif checkpoint_config is not None:
        config = XTTSConfig.from_dict(checkpoint_config.to_dict())
    else:
        config = XTTSConfig()
    if checkpoint_config is not None:
        stored = checkpoint_config.model.size
        if model_size is not None and model_size != stored:
            raise CLIError(f"--model-size {model_size} does not match the checkpoint, which was "
                           f"trained with model size {stored!r}; drop --model-size or start a "
                           "new run in another --checkpoint-dir")
        if config_path is None:
            # Re-applying the stored size or level would reset fields the run customised.
            if model_size == stored:
                model_size = None
            if optimization_level == checkpoint_config.training.optimization_level:
                optimization_level = None
    if model_size is not None:
        config = apply_model_size(config, model_size)
    if optimization_level is not None:
        config = apply_optimization_level(config, optimization_level)
    config = config.apply_overrides(list(overrides))
    if checkpoint_config is not None and config.model.size != checkpoint_config.model.size:
        raise CLIError(f"model.size {config.model.size!r} does not match the checkpoint, which "
                       f"was trained with model size {checkpoint_config.model.size!r}")
    return config


def with_default_train_data(config: XTTSConfig) -> XTTSConfig:
    """``config`` with an empty ``data.train_data`` set to :data:`DEMO_DIR` (in place)."""
    if not config.data.train_data:
        config.data.train_data = str(DEMO_DIR)
    return config

