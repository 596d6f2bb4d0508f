"""The non-autoregressive XTTS model: padding invariance, alignment search, durations, synthesis."""

from __future__ import annotations

import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

from myxtts.config.config import XTTSConfig
from myxtts.models.alignment import (beta_binomial_log_prior, durations_to_alignment,
                                     monotonic_alignment_search)
from myxtts.models.factory import build_model
from tiny_model import shrink_model

NUM_SYMBOLS = 40
N_MELS = 80
TEXT_LENGTHS = [7, 11]
MEL_LENGTHS = [30, 45]
REF_LENGTHS = [20, 33]


def small_config(reduction: int = 2) -> XTTSConfig:
    config = shrink_model(XTTSConfig())
    config.model.reduction_factor = reduction
    return config


def build(reduction: int = 2):
    keras.utils.set_random_seed(0)
    config = small_config(reduction)
    assert config.audio.n_mels == N_MELS
    model = build_model(config, NUM_SYMBOLS)
    return model


def examples(seed: int = 0):
    """Unpadded per-example arrays: tokens, mels, refs."""
    rng = np.random.default_rng(seed)
    tokens = [rng.integers(1, NUM_SYMBOLS, size=n).astype(np.int32) for n in TEXT_LENGTHS]
    mels = [rng.normal(size=(t, N_MELS)).astype(np.float32) for t in MEL_LENGTHS]
    refs = [rng.normal(size=(r, N_MELS)).astype(np.float32) for r in REF_LENGTHS]
    return tokens, mels, refs


def pad_batch(tokens, mels, refs, n, t, r, garbage: bool, seed: int = 1) -> dict:
    """Pad to (n tokens, t frames, r ref frames); padding is zero or random garbage."""
    rng = np.random.default_rng(seed)
    b = len(tokens)
    if garbage:
        text = rng.integers(1, NUM_SYMBOLS, size=(b, n)).astype(np.int32)
        mel = rng.normal(scale=5.0, size=(b, t, N_MELS)).astype(np.float32)
        ref = rng.normal(scale=5.0, size=(b, r, N_MELS)).astype(np.float32)
    else:
        text = np.zeros((b, n), np.int32)
        mel = np.zeros((b, t, N_MELS), np.float32)
        ref = np.zeros((b, r, N_MELS), np.float32)
    for i, (tok, m, rf) in enumerate(zip(tokens, mels, refs)):
        text[i, :len(tok)] = tok
        mel[i, :len(m)] = m
        ref[i, :len(rf)] = rf
    return {
        "text_ids": tf.constant(text), "text_lengths": tf.constant(TEXT_LENGTHS, tf.int32),
        "mel": tf.constant(mel), "mel_lengths": tf.constant(MEL_LENGTHS, tf.int32),
        "ref_mel": tf.constant(ref), "ref_lengths": tf.constant(REF_LENGTHS, tf.int32),
    }


@pytest.fixture(scope="module", params=[1, 2], ids=["r1", "r2"])
def model(request):
    m = build(request.param)
    tokens, mels, refs = examples()
    m(pad_batch(tokens, mels, refs, 16, 64, 40, garbage=False), training=False)
    return m


# ------------------------------------------------------------------ (a) mask invariance

@pytest.mark.parametrize("garbage", [False, True], ids=["zero-pad", "garbage-pad"])
def test_padding_never_changes_outputs(model, garbage):
    tokens, mels, refs = examples()
    tight = model(pad_batch(tokens, mels, refs, max(TEXT_LENGTHS), max(MEL_LENGTHS),
                            max(REF_LENGTHS), garbage=False), training=False)
    loose = model(pad_batch(tokens, mels, refs, 27, 101, 70, garbage=garbage), training=False)
    for i, (n, t) in enumerate(zip(TEXT_LENGTHS, MEL_LENGTHS)):
        for key in ("mel_before", "mel_after"):
            np.testing.assert_allclose(loose[key][i, :t], tight[key][i, :t], atol=1e-4,
                                       err_msg=key)
            assert not np.any(loose[key][i, t:].numpy()), f"{key} padding not zero"
        np.testing.assert_allclose(loose["stop_logits"][i, :t], tight["stop_logits"][i, :t],
                                   atol=1e-4)
        np.testing.assert_allclose(loose["attn_logprob"][i, :t, :n],
                                   tight["attn_logprob"][i, :t, :n], atol=1e-4)
        np.testing.assert_array_equal(loose["durations"][i, :n], tight["durations"][i, :n])
        assert not np.any(loose["durations"][i, n:].numpy())
        np.testing.assert_allclose(loose["log_duration_pred"][i, :n],
                                   tight["log_duration_pred"][i, :n], atol=1e-4)
        for key in ("speaker_mu", "speaker_logvar"):
            np.testing.assert_allclose(loose[key][i], tight[key][i], atol=1e-4)


def test_output_shapes_and_durations_sum(model):
    tokens, mels, refs = examples()
    out = model(pad_batch(tokens, mels, refs, 16, 64, 40, garbage=False), training=False)
    assert out["mel_before"].shape == (2, 64, N_MELS)
    assert out["mel_after"].shape == (2, 64, N_MELS)
    assert out["stop_logits"].shape == (2, 64)
    assert out["attn_logprob"].shape == (2, 64, 16)
    assert out["durations"].dtype == tf.int32
    np.testing.assert_array_equal(tf.reduce_sum(out["durations"], 1), MEL_LENGTHS)
    for i, n in enumerate(TEXT_LENGTHS):
        assert np.all(out["durations"][i, :n].numpy() >= 1)
        # log-softmax over real tokens: probabilities of a real frame sum to ~1 x prior
        assert np.all(out["attn_logprob"][i, :MEL_LENGTHS[i], n:].numpy() < -1e3)
    for value in out.values():
        assert np.all(np.isfinite(value.numpy()))


def test_generate_invariant_to_padding(model):
    tokens, _, refs = examples()
    def run(n, r, garbage):
        b = pad_batch(tokens, [np.zeros((1, N_MELS), np.float32)] * 2, refs, n, 1, r, garbage)
        return model.generate(b["text_ids"], b["text_lengths"], b["ref_mel"], b["ref_lengths"])
    mel_a, len_a, dur_a = run(max(TEXT_LENGTHS), max(REF_LENGTHS), False)
    mel_b, len_b, dur_b = run(30, 55, True)
    np.testing.assert_array_equal(len_a, len_b)
    for i, n in enumerate(TEXT_LENGTHS):
        np.testing.assert_array_equal(dur_a[i, :n], dur_b[i, :n])
        t = int(len_a[i])
        np.testing.assert_allclose(mel_a[i, :t], mel_b[i, :t], atol=1e-4)


# ------------------------------------------------------------------ (c) generate

def test_generate_lengths_equal_duration_sums(model):
    tokens, _, refs = examples()
    b = pad_batch(tokens, [np.zeros((1, N_MELS), np.float32)] * 2, refs, 16, 1, 40, False)
    mel, lengths, durations = model.generate(b["text_ids"], b["text_lengths"], b["ref_mel"],
                                             b["ref_lengths"])
    durations = durations.numpy()
    np.testing.assert_array_equal(lengths, durations.sum(axis=1))
    assert mel.shape == (2, int(np.max(lengths)), N_MELS)
    assert np.all(np.isfinite(mel.numpy()))
    for i, n in enumerate(TEXT_LENGTHS):
        assert np.all(durations[i, :n] >= 1) and not durations[i, n:].any()
        assert not np.any(mel[i, int(lengths[i]):].numpy())
    # slower speech never has fewer frames
    _, slow, _ = model.generate(b["text_ids"], b["text_lengths"], b["ref_mel"],
                                b["ref_lengths"], speed=0.5)
    assert np.all(slow.numpy() >= lengths.numpy())


def test_predict_durations_rounding_and_mask(model):
    log_dur = tf.math.log1p(tf.constant([[0.0, 2.4, 2.6, 9.0], [3.0, 3.0, 3.0, 3.0]]))
    out = model.predict_durations(log_dur, tf.constant([4, 2]))
    np.testing.assert_array_equal(out, [[1, 2, 3, 9], [3, 3, 0, 0]])
    np.testing.assert_array_equal(model.predict_durations(log_dur, tf.constant([4, 2]), 2.0),
                                  [[1, 1, 1, 4], [2, 2, 0, 0]])


# ------------------------------------------------------------------ (d) reduction factor

@pytest.mark.parametrize("reduction", [1, 2, 3])
def test_reduction_factors_with_odd_lengths(reduction):
    model = build(reduction)
    tokens, mels, refs = examples(seed=5)
    batch = pad_batch(tokens, mels, refs, 16, 47, 40, garbage=False)
    out = model(batch, training=True)
    assert out["mel_after"].shape == (2, 47, N_MELS)
    assert out["stop_logits"].shape == (2, 47)
    assert all(np.all(np.isfinite(v.numpy())) for v in out.values())
    mel, lengths, _ = model.generate(batch["text_ids"], batch["text_lengths"], batch["ref_mel"],
                                     batch["ref_lengths"])
    assert mel.shape[1] == int(np.max(lengths))
    assert np.all(np.isfinite(mel.numpy()))


# ------------------------------------------------------------------ (b) alignment

def brute_force_mas(logp: np.ndarray) -> tuple[float, list[int]]:
    """Best monotonic path score and its durations by enumerating every segmentation."""
    t, n = logp.shape
    best, best_durs = -np.inf, None
    for cuts in itertools.combinations(range(1, t), n - 1):
        bounds = (0, *cuts, t)
        durs = [bounds[k + 1] - bounds[k] for k in range(n)]
        score = sum(logp[bounds[k]:bounds[k + 1], k].sum() for k in range(n))
        if score > best:
            best, best_durs = score, durs
    return best, best_durs


@pytest.mark.parametrize("seed", range(6))
def test_mas_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    text_lengths = [1, 3, 4, 5]
    mel_lengths = [4, 6, 9, 11]
    b, max_n, max_t = 4, 7, 13
    logp = rng.normal(scale=3.0, size=(b, max_t, max_n)).astype(np.float32)  # padding = junk
    _, durations = monotonic_alignment_search(tf.constant(logp), tf.constant(text_lengths),
                                              tf.constant(mel_lengths))
    durations = durations.numpy()
    for i, (n, t) in enumerate(zip(text_lengths, mel_lengths)):
        best, expected = brute_force_mas(logp[i, :t, :n].astype(np.float64))
        got = durations[i, :n]
        assert got.sum() == t and np.all(got >= 1) and not durations[i, n:].any()
        bounds = np.concatenate([[0], np.cumsum(got)])
        score = sum(logp[i, bounds[k]:bounds[k + 1], k].astype(np.float64).sum()
                    for k in range(n))
        assert score == pytest.approx(best, abs=1e-3)
        assert got.tolist() == expected


def test_mas_indices_monotonic_and_padding():
    rng = np.random.default_rng(9)
    logp = rng.normal(size=(2, 10, 5)).astype(np.float32)
    indices, durations = monotonic_alignment_search(tf.constant(logp), tf.constant([5, 3]),
                                                    tf.constant([10, 6]))
    indices = indices.numpy()
    for i, (n, t) in enumerate([(5, 10), (3, 6)]):
        steps = np.diff(indices[i, :t])
        assert indices[i, 0] == 0 and indices[i, t - 1] == n - 1
        assert np.all((steps == 0) | (steps == 1))
        np.testing.assert_array_equal(np.bincount(indices[i, :t], minlength=5), durations[i])


@pytest.mark.parametrize("n,t", [(1, 5), (4, 4), (6, 50), (23, 180)])
def test_beta_binomial_prior_rows_sum_to_one(n, t):
    prior = beta_binomial_log_prior(tf.constant([n, 2]), tf.constant([t, 3]), max(n, 2) + 3,
                                    t + 7).numpy()
    rows = np.exp(prior[0, :t, :n].astype(np.float64)).sum(-1)
    # float32 lgamma differences of large arguments cost ~1e-4 relative precision
    np.testing.assert_allclose(rows, 1.0, atol=1e-3)
    assert np.all(prior[0, t:] <= -1e8) and np.all(prior[0, :, n:] <= -1e8)
    if n > 2:
        # near-diagonal: the most likely token moves forward through the text
        peaks = prior[0, :t, :n].argmax(-1)
        assert peaks[0] == 0 and peaks[-1] == n - 1 and np.all(np.diff(peaks) >= 0)


def test_durations_to_alignment():
    durations = tf.constant([[2, 1, 3], [1, 4, 0]])
    alignment, lengths = durations_to_alignment(durations)
    np.testing.assert_array_equal(lengths, [6, 5])
    assert alignment.shape == (2, 6, 3)
    expected0 = [0, 0, 1, 2, 2, 2]
    np.testing.assert_array_equal(alignment[0].numpy().argmax(-1), expected0)
    np.testing.assert_array_equal(alignment[0].numpy().sum(-1), np.ones(6))
    np.testing.assert_array_equal(alignment[1].numpy().sum(-1), [1, 1, 1, 1, 1, 0])
    np.testing.assert_array_equal(alignment.numpy().sum(1), durations)
    padded, _ = durations_to_alignment(durations, 9)
    assert padded.shape == (2, 9, 3) and not padded[:, 6:].numpy().any()


@pytest.mark.parametrize("strategy", ["non_autoregressive", "autoregressive"])
def test_checkpoint_round_trip_restores_every_weight(strategy, tmp_path):
    """Every weight (including layers held in lists) is saved and restored exactly."""
    from myxtts.training.checkpoints import make_checkpoint

    config = small_config()
    config.model.decoder_strategy = strategy
    tokens, mels, refs = examples()
    batch = pad_batch(tokens, mels, refs, 16, 64, 40, garbage=False)

    def fresh():
        m = build_model(config, NUM_SYMBOLS)
        m(batch, training=False)
        return m

    trained = fresh()
    rng = np.random.default_rng(3)
    for v in trained.weights:
        if "seed_generator" not in v.path:
            v.assign(rng.normal(size=v.shape).astype(v.dtype))
    path = make_checkpoint(trained, rng=False).save(str(tmp_path / "ckpt"))
    restored = fresh()
    make_checkpoint(restored, rng=False).restore(path).assert_existing_objects_matched()
    pairs = [(a, b) for a, b in zip(trained.weights, restored.weights)
             if "seed_generator" not in a.path]
    assert len(pairs) > 50
    for a, b in pairs:
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)
