"""A tiny MyXTTS checkpoint for inference tests, written without training.

The weights are random (seeded), except that the duration predictor's output bias is
raised so tokens get a few frames each and their durations differ: enough to test
that synthesis paths agree, not to make speech. Written with the same checkpoint
layout the trainer uses (:func:`make_checkpoint` + :class:`TrainingState`).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import yaml

from myxtts.audio.features import MelStats
from myxtts.config.config import XTTSConfig
from tiny_model import shrink_model

#: ``data.reference_max_frames`` of the tiny checkpoint (the reference window length).
REFERENCE_MAX_FRAMES = 24


def speaker_mels(n_mels: int = 80) -> dict[str, list[np.ndarray]]:
    """Three made-up speakers ("alice", "bob", "carol"), 3 mels each, with distinct means."""
    rng = np.random.default_rng(0)
    return {name: [rng.normal(shift, 1.0, (int(rng.integers(10, 60)), n_mels)).astype(np.float32)
                   for _ in range(3)]
            for name, shift in (("alice", -1.0), ("bob", 0.5), ("carol", 1.5))}


def write_tiny_checkpoint(run_dir: Path, seed: int = 3, languages: str = "",
                          speakers: dict[str, list[np.ndarray]] | None = None,
                          reference_spectrum: bool = False, legacy_config: bool = False) -> Path:
    """Save a tiny non-autoregressive model to ``run_dir/ckpt-1``; returns ``run_dir``.

    ``languages`` (e.g. "en,fa") sets ``text.languages``: more than one gives the model a
    language embedding; "" writes a single-language checkpoint like older versions did.
    With ``speakers`` (name -> normalised mels) the checkpoint stores their speaker-latent
    table as the trainer does; without, it is laid out like a checkpoint saved before
    speaker latents were stored. ``reference_spectrum`` sets ``model.reference_spectrum``;
    ``legacy_config`` stores the config without the keys added since checkpoints were first
    saved (``STORED_CONFIG_FALLBACKS``), as an old run's checkpoint holds it.
    """
    import keras
    import tensorflow as tf

    from myxtts.models.factory import build_model
    from myxtts.text.tokenizer import Tokenizer
    from myxtts.models.speaker_latents import speaker_latent_table
    from myxtts.training.checkpoints import SpeakerStore, TrainingState, make_checkpoint

    config = shrink_model(XTTSConfig())
    config.training.mixed_precision = "float32"
    config.data.reference_max_frames = REFERENCE_MAX_FRAMES
    config.audio.griffin_lim_iters = 4  # vocoding speed, not quality, matters here
    config.text.languages = languages
    config.model.reference_spectrum = reference_spectrum
    n_mels = config.audio.n_mels
    keras.utils.set_random_seed(seed)
    tokenizer = Tokenizer(config.text)
    model = build_model(config, tokenizer.num_symbols)
    model({"text_ids": tf.ones([1, 4], tf.int32), "text_lengths": tf.constant([4]),
           "mel": tf.zeros([1, 8, n_mels]), "mel_lengths": tf.constant([8]),
           "ref_mel": tf.zeros([1, 8, n_mels]), "ref_lengths": tf.constant([8])})
    bias = model.duration_predictor.stack.out.bias
    bias.assign(bias + 1.5)  # about 3 frames per token instead of 1
    rng = np.random.default_rng(seed)
    stats = MelStats(rng.normal(-5.0, 1.0, n_mels).astype(np.float32),
                     rng.uniform(0.5, 2.0, n_mels).astype(np.float32))
    stored = config.to_dict()
    if legacy_config:
        from myxtts.config.stored import STORED_CONFIG_FALLBACKS
        for section, key in STORED_CONFIG_FALLBACKS:
            del stored[section][key]
    state = TrainingState(yaml.safe_dump(stored), tokenizer.symbols.to_json(),
                          json.dumps(stats.to_list()))
    store = None
    if speakers is not None:
        store = SpeakerStore()
        store.latents_json.assign(speaker_latent_table(model, speakers,
                                                       REFERENCE_MAX_FRAMES).to_json())
    make_checkpoint(model, state=state, rng=False, speakers=store).save(str(run_dir / "ckpt"))
    return run_dir
