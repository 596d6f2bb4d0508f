"""The speaker loss (contrastive, on the reference encoder's latent) and the latent metrics."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
import yaml

from myxtts.config.config import ConfigError, TrainingConfig, XTTSConfig
from myxtts.evaluation.latent import nearest_centroid_accuracy
from myxtts.models.factory import build_model
from myxtts.training.loss_terms import speaker_contrastive_loss
from myxtts.training.losses import XTTSLoss
from tiny_model import shrink_model

N_MELS = 80


def _voices(ids, spread: float, seed: int = 0, dim: int = 8):
    """Latents around one fixed random centre per speaker id (centres x ``spread``), with
    noise 0.1 drawn from ``seed``."""
    centres = np.random.default_rng(99).normal(size=(max(ids) + 1, dim)) * spread
    noise = np.random.default_rng(seed).normal(size=(len(ids), dim))
    return tf.constant(centres[ids] + 0.1 * noise, tf.float32)


def test_loss_is_per_example_finite_and_zero_floored() -> None:
    ids = [0, 0, 1, 1, 2, 2]
    a, c = _voices(ids, 5.0), _voices(ids, 5.0, seed=1)
    loss = speaker_contrastive_loss(a, c, tf.constant(ids))
    assert loss.shape == (6,) and bool(tf.reduce_all(tf.math.is_finite(loss)))
    assert float(tf.reduce_min(loss)) >= 0.0
    # every example of one speaker: nothing to tell apart, the loss is exactly 0
    same = speaker_contrastive_loss(a, c, tf.zeros([6], tf.int32))
    np.testing.assert_allclose(same.numpy(), 0.0, atol=1e-6)
    # row i's anchor only moves row i's loss
    moved = tf.tensor_scatter_nd_update(a, [[3]], [tf.ones([8])])
    changed = speaker_contrastive_loss(moved, c, tf.constant(ids)).numpy() != loss.numpy()
    assert changed.tolist() == [False, False, False, True, False, False]


def test_loss_follows_speaker_ids_and_separation() -> None:
    ids = [0, 0, 1, 1, 2, 2, 3, 3]
    a = _voices(ids, 3.0)
    c = _voices(ids, 3.0, seed=1)
    right = speaker_contrastive_loss(a, c, tf.constant(ids))
    wrong = speaker_contrastive_loss(a, c, tf.constant([0, 1, 2, 3, 0, 1, 2, 3]))
    assert float(tf.reduce_mean(wrong)) > float(tf.reduce_mean(right)) + 0.5  # ~log 2
    # without ids only the (i, i) pair is positive: a same-speaker neighbour is a negative
    unlabelled = speaker_contrastive_loss(a, c)
    assert float(tf.reduce_mean(unlabelled)) > float(tf.reduce_mean(right))
    # voices far apart cost less than voices on top of each other
    mixed = speaker_contrastive_loss(_voices(ids, 0.01), _voices(ids, 0.01, seed=1),
                                     tf.constant(ids))
    assert float(tf.reduce_mean(mixed)) > float(tf.reduce_mean(right)) + 0.5


def _batch(rng, speaker_ids):
    b = len(speaker_ids)
    return {
        "text_ids": tf.constant(rng.integers(1, 30, size=(b, 9)), tf.int32),
        "text_lengths": tf.constant([9, 7, 8, 9][:b], tf.int32),
        "mel": tf.constant(rng.normal(size=(b, 40, N_MELS)), tf.float32),
        "mel_lengths": tf.constant([40, 33, 36, 40][:b], tf.int32),
        "ref_mel": tf.constant(rng.normal(size=(b, 24, N_MELS)), tf.float32),
        "ref_lengths": tf.constant([24, 20, 24, 18][:b], tf.int32),
        "speaker_ids": tf.constant(speaker_ids, tf.int32),
    }


def test_loss_term_reaches_the_reference_encoder() -> None:
    """The term on the model's speaker outputs (reference latent vs the target clip's)."""
    keras.utils.set_random_seed(0)
    model = build_model(shrink_model(XTTSConfig()), 30)
    batch = _batch(np.random.default_rng(0), [0, 1, 0, 1])
    loss_fn = XTTSLoss(TrainingConfig(speaker_loss_weight=0.5))
    with tf.GradientTape() as tape:
        mu, logvar = model.speaker_posterior(batch["ref_mel"], batch["ref_lengths"], True)
        z = mu + tf.exp(0.5 * logvar) * tf.random.stateless_normal(tf.shape(mu), [1, 2])
        outputs = model.speaker_outputs(batch, mu, logvar, z, training=True)
        term = speaker_contrastive_loss(outputs["speaker_z"], outputs["speaker_mu_target"],
                                        batch["speaker_ids"])
        speaker = tf.reduce_mean(term)
    assert term.shape == (4,) and np.isfinite(float(speaker)) and float(speaker) > 0
    assert outputs["speaker_mu_target"].shape == mu.shape
    grads = tape.gradient(speaker, model.reference_encoder.trainable_variables)
    assert grads and all(g is not None for g in grads)
    assert all(float(tf.reduce_sum(tf.abs(g))) > 0 for g in grads)
    relabelled = speaker_contrastive_loss(z, outputs["speaker_mu_target"], tf.zeros([4], tf.int32))
    assert float(tf.reduce_mean(relabelled)) < float(speaker)
    assert loss_fn.base_weights["speaker_loss"] == 0.5


def test_weight_zero_leaves_the_term_and_its_state_out() -> None:
    off = XTTSLoss(TrainingConfig(speaker_loss_weight=0.0))
    on = XTTSLoss(TrainingConfig(speaker_loss_weight=1.0))
    assert "speaker_loss" not in off.term_names and "speaker_loss" in on.term_names
    assert off.term_ema.shape[0] == on.term_ema.shape[0] - 1


def test_config_validates_speaker_loss_weight() -> None:
    assert XTTSConfig().training.speaker_loss_weight == 3.0
    with pytest.raises(ConfigError, match="^training.speaker_loss_weight:"):
        TrainingConfig(speaker_loss_weight=-0.1)
    with pytest.raises(ConfigError, match="^training.speaker_loss_weight:"):
        XTTSConfig.from_dict({"training": {"speaker_loss_weight": "much"}})


def test_nearest_centroid_accuracy() -> None:
    rng = np.random.default_rng(0)
    apart = {v: rng.normal(size=(5, 4)) * 0.1 + 3.0 * i for i, v in enumerate("abc")}
    assert nearest_centroid_accuracy(apart) == {"a": 1.0, "b": 1.0, "c": 1.0}
    together = {v: rng.normal(size=(40, 4)) for v in "abc"}
    assert np.mean(list(nearest_centroid_accuracy(together).values())) < 0.7
    single = nearest_centroid_accuracy({"a": apart["a"], "b": apart["b"][:1]})
    assert single == {"a": 1.0}


def test_batches_carry_speaker_ids() -> None:
    from myxtts.audio.features import MelStats
    from myxtts.config.config import DataConfig
    from myxtts.data.batching import Batcher
    from myxtts.data.features_cache import Example

    mel = np.zeros((20, 4), np.float32)
    examples = [Example(f"e{i}", spk, "t", np.ones(3, np.int32), mel, "en", 0)
                for i, spk in enumerate(["bob", "amy", "bob", "cat"])]
    batcher = Batcher(examples, MelStats(np.zeros(4, np.float32), np.ones(4, np.float32)),
                      DataConfig(batch_size=4), seed=1, shuffle=False)
    ids = batcher.make_batch([0, 1, 2, 3], np.random.default_rng(0))["speaker_ids"].tolist()
    assert ids[0] == ids[2] and len({ids[0], ids[1], ids[3]}) == 3


def test_a_checkpoint_saved_before_the_speaker_loss_resumes_without_it():
    from myxtts.config.stored import config_from_yaml_text
    from myxtts.config.config import XTTSConfig

    stored = XTTSConfig().to_dict()
    del stored["training"]["speaker_loss_weight"]
    assert config_from_yaml_text(yaml.safe_dump(stored), "old").training.speaker_loss_weight == 0
    stored["training"]["speaker_loss_weight"] = 2.0
    assert config_from_yaml_text(yaml.safe_dump(stored), "new").training.speaker_loss_weight == 2
