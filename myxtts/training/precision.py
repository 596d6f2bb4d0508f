"""Choosing the numeric precision policy for the current device."""

from __future__ import annotations

import tensorflow as tf


def choose_precision(setting: str) -> str:
    """Keras dtype policy for ``training.mixed_precision``.

    ``auto`` picks ``mixed_float16`` on a GPU (tensor cores; loss scaling is added by the
    trainer) and ``float32`` on a CPU (float16 has no fast CPU path; ``mixed_bfloat16`` is
    faster on CPUs with AVX-512 but is an explicit choice).
    """
    if setting != "auto":
        return setting
    return "mixed_float16" if tf.config.list_physical_devices("GPU") else "float32"
