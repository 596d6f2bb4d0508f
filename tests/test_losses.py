"""Tests for myxtts.training.loss_terms and myxtts.training.losses."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import tensorflow as tf

from myxtts.config.config import TrainingConfig
from myxtts.training import loss_terms as lt
from myxtts.training.losses import XTTSLoss

B, T, N, M, Z = 2, 16, 5, 4, 3


def make_config(**overrides) -> TrainingConfig:
    return dataclasses.replace(TrainingConfig(), **overrides)


def _diagonal_logprob(t: int, n: int, sharp: float = 8.0) -> np.ndarray:
    """[t, n] log-softmax attention peaked on the monotonic diagonal."""
    tt = np.arange(t)[:, None] / t
    nn = (np.arange(n)[None, :] + 0.5) / n
    logits = -sharp * n * np.abs(tt - nn + 0.5 / n)
    return logits - np.log(np.exp(logits).sum(-1, keepdims=True))


def make_inputs(strategy: str = "non_autoregressive", seed: int = 0):
    rng = np.random.default_rng(seed)
    mel = rng.normal(size=(B, T, M)).astype(np.float32)
    mel_lengths = np.array([T, T - 4], np.int32)
    text_lengths = np.array([N, N - 2], np.int32)
    batch = {
        "text_ids": tf.ones([B, N], tf.int32),
        "text_lengths": tf.constant(text_lengths),
        "mel": tf.constant(mel),
        "mel_lengths": tf.constant(mel_lengths),
    }
    stop = np.full((B, T), -2.0, np.float32)
    outputs = {
        "mel_before": tf.constant(mel + rng.normal(size=mel.shape).astype(np.float32)),
        "mel_after": tf.constant(mel + 3.0 * rng.normal(size=mel.shape).astype(np.float32)),
        "stop_logits": tf.constant(stop),
        "speaker_mu": tf.constant(rng.normal(size=(B, Z)).astype(np.float32)),
        "speaker_logvar": tf.constant(0.3 * rng.normal(size=(B, Z)).astype(np.float32)),
        "speaker_z": tf.constant(rng.normal(size=(B, Z)).astype(np.float32)),
        "speaker_mu_target": tf.constant(rng.normal(size=(B, Z)).astype(np.float32)),
    }
    if strategy == "non_autoregressive":
        lp = np.stack([_diagonal_logprob(T, N, sharp=1.0)] * B).astype(np.float32)
        lp[1, :, N - 2:] = -np.inf  # padded tokens of example 1
        durations = np.array([[3, 3, 3, 3, 4], [4, 4, 4, 0, 0]], np.int32)
        outputs.update(
            attn_logprob=tf.constant(lp),
            log_duration_pred=tf.constant(rng.normal(size=(B, N)).astype(np.float32)),
            durations=tf.constant(durations),
        )
    else:
        t_dec = T // 2
        att = rng.random(size=(B, t_dec, N)).astype(np.float32)
        outputs["alignments"] = tf.constant(att / att.sum(-1, keepdims=True))
    return batch, outputs


def feed(loss: XTTSLoss, values, terms=None) -> None:
    for i, v in enumerate(values):
        tm = {k: seq[i] for k, seq in (terms or {}).items()}
        loss.update_state(tf.constant(v, tf.float32), tm)


# ------------------------------------------------------------------ mel term
def _mel_single(err: float, use_huber=True, delta=1.0) -> float:
    target = tf.zeros([1, 1, 1])
    pred = tf.fill([1, 1, 1], err)
    return float(lt.masked_mel_loss(target, pred, tf.constant([1]), use_huber, delta)[0])


def test_huber_quadratic_then_linear_and_below_mse():
    small = _mel_single(0.5)
    assert small == pytest.approx(0.5 * 0.5**2)
    h5, h10, h20 = _mel_single(5.0), _mel_single(10.0), _mel_single(20.0)
    # Linear growth past delta: equal increments for equal steps, slope = delta.
    assert h10 - h5 == pytest.approx(5.0)
    assert h20 - h10 == pytest.approx(10.0)
    assert h10 < 10.0**2
    assert _mel_single(10.0, delta=2.0) - _mel_single(5.0, delta=2.0) == pytest.approx(10.0)


def test_l1_path_when_huber_disabled():
    assert _mel_single(10.0, use_huber=False) == pytest.approx(10.0)
    assert _mel_single(0.5, use_huber=False) == pytest.approx(0.5)
    assert _mel_single(0.5, use_huber=False) != pytest.approx(_mel_single(0.5, use_huber=True))


def test_mel_padding_never_changes_loss():
    rng = np.random.default_rng(1)
    target = rng.normal(size=(1, 8, 3)).astype(np.float32)
    pred = rng.normal(size=(1, 8, 3)).astype(np.float32)
    lengths = tf.constant([5])
    base = lt.masked_mel_loss(target, pred, lengths)
    garbage_pred, garbage_target = pred.copy(), target.copy()
    garbage_pred[:, 5:] = np.nan
    garbage_target[:, 5:] = 1e6
    assert float(lt.masked_mel_loss(garbage_target, garbage_pred, lengths)[0]) == pytest.approx(
        float(base[0])
    )
    # Equal to the loss computed on the unpadded slice.
    sliced = lt.masked_mel_loss(target[:, :5], pred[:, :5], tf.constant([5]))
    assert float(sliced[0]) == pytest.approx(float(base[0]))


def test_mel_padding_gets_no_gradient():
    pred = tf.Variable(tf.ones([1, 6, 2]))
    with tf.GradientTape() as tape:
        loss = lt.masked_mel_loss(tf.zeros([1, 6, 2]), pred, tf.constant([4]))
    grad = tape.gradient(loss, pred).numpy()
    assert np.all(grad[:, 4:] == 0) and np.all(grad[:, :4] != 0)


# ----------------------------------------------------------------- stop term
def test_stop_positive_weight_increases_missed_stop_loss():
    logits = tf.fill([1, 6], -4.0)  # model never predicts stop
    lengths = tf.constant([6])
    w1 = float(lt.stop_token_loss(logits, lengths, positive_weight=1.0)[0])
    w5 = float(lt.stop_token_loss(logits, lengths, positive_weight=5.0)[0])
    assert w5 > w1 > 0


def test_stop_label_smoothing_changes_loss():
    logits = tf.constant([[-6.0, -6.0, -6.0, 6.0]])
    lengths = tf.constant([4])
    plain = float(lt.stop_token_loss(logits, lengths, 1.0, 0.0)[0])
    smooth = float(lt.stop_token_loss(logits, lengths, 1.0, 0.1)[0])
    assert smooth > plain  # confident correct predictions are penalised by smoothing


def test_stop_mean_over_valid_frames_only():
    logits = np.array([[-1.0, 0.5, 2.0, 9.0, -9.0]], np.float32)
    lengths = tf.constant([3])
    targets = np.array([0.0, 0.0, 1.0])
    x = logits[0, :3]
    pos_w = 3.0
    # Independent reference: -(pw * t * log sigmoid(x) + (1 - t) * log(1 - sigmoid(x))).
    sig = 1.0 / (1.0 + np.exp(-x))
    ref = -(pos_w * targets * np.log(sig) + (1 - targets) * np.log(1 - sig))
    got = float(lt.stop_token_loss(tf.constant(logits), lengths, pos_w, 0.0)[0])
    assert got == pytest.approx(ref.mean(), rel=1e-5)


# -------------------------------------------------------------------- KL term
def test_kl_zero_at_prior_positive_elsewhere():
    zero = lt.kl_loss(tf.zeros([2, 4]), tf.zeros([2, 4])).numpy()
    assert np.allclose(zero, 0.0)
    assert np.all(lt.kl_loss(tf.fill([2, 4], 0.5), tf.zeros([2, 4])).numpy() > 0)
    assert np.all(lt.kl_loss(tf.zeros([2, 4]), tf.fill([2, 4], -1.0)).numpy() > 0)


# ------------------------------------------------------------ forward-sum term
def test_forward_sum_diagonal_beats_shuffled_and_has_gradients():
    t, n = 24, 6
    diag = _diagonal_logprob(t, n)[None].astype(np.float32)
    shuffled = diag[:, :, [3, 0, 5, 1, 4, 2]]
    tl, ml = tf.constant([n]), tf.constant([t])
    d = float(lt.forward_sum_loss(diag, tl, ml)[0])
    s = float(lt.forward_sum_loss(shuffled, tl, ml)[0])
    assert math.isfinite(d) and math.isfinite(s)
    assert d < s
    logits = tf.Variable(tf.random.stateless_normal([2, t, n], seed=[1, 2]))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(
            lt.forward_sum_loss(tf.nn.log_softmax(logits), tf.constant([n, n - 2]), tf.constant([t, t - 5]))
        )
    grad = tape.gradient(loss, logits).numpy()
    assert np.isfinite(loss.numpy()) and np.all(np.isfinite(grad))
    assert np.abs(grad).sum() > 0
    assert np.all(grad[1, t - 5:] == 0)  # padded frames get no gradient


def test_forward_sum_padding_and_infeasible_examples():
    t, n = 12, 4
    diag = _diagonal_logprob(t, n - 1).astype(np.float32)
    padded = np.full((1, t + 3, n), -np.inf, np.float32)
    padded[0, :t, : n - 1] = diag
    padded[0, t:, : n - 1] = 7.0  # garbage in padded frames
    exact = lt.forward_sum_loss(diag[None], tf.constant([n - 1]), tf.constant([t]))
    got = lt.forward_sum_loss(padded, tf.constant([n - 1]), tf.constant([t]))
    assert float(got[0]) == pytest.approx(float(exact[0]), rel=1e-5)
    # Fewer frames than tokens: no monotonic path; loss 0 and finite gradients.
    logits = tf.Variable(tf.zeros([1, 3, 6]))
    with tf.GradientTape() as tape:
        loss = lt.forward_sum_loss(tf.nn.log_softmax(logits), tf.constant([6]), tf.constant([3]))
    assert float(loss[0]) == 0.0
    assert np.all(np.isfinite(tape.gradient(loss, logits).numpy()))


# ------------------------------------------------------------ guided attention
def test_guided_attention_lower_for_diagonal_and_masks_padding():
    t, n = 20, 5
    diag = np.exp(_diagonal_logprob(t, n))[None].astype(np.float32)
    flipped = diag[:, :, ::-1].copy()
    tl, dl = tf.constant([n]), tf.constant([t])
    d = float(lt.guided_attention_loss(diag, tl, dl, 0.2)[0])
    f = float(lt.guided_attention_loss(flipped, tl, dl, 0.2)[0])
    assert 0 <= d < f
    padded = np.full((1, t + 4, n + 2), np.nan, np.float32)
    padded[0, :t, :n] = diag[0]
    p = float(lt.guided_attention_loss(padded, tl, dl, 0.2)[0])
    assert p == pytest.approx(d, rel=1e-6)


# --------------------------------------------------------------- duration term
def test_duration_loss_zero_at_target_and_masks_padding():
    durations = tf.constant([[2, 3, 0, 0]])
    lengths = tf.constant([2])
    perfect = tf.math.log(tf.cast(durations, tf.float32) + 1.0)
    perfect = tf.tensor_scatter_nd_update(perfect, [[0, 2], [0, 3]], [50.0, -50.0])
    assert float(lt.duration_loss(perfect, durations, lengths)[0]) == pytest.approx(0.0, abs=1e-7)
    off = tf.constant([[0.0, 0.0, 9.0, 9.0]])
    expected = (np.log(3.0) ** 2 + np.log(4.0) ** 2) / 2
    assert float(lt.duration_loss(off, durations, lengths)[0]) == pytest.approx(expected, rel=1e-5)


def test_terms_accept_low_precision_inputs():
    mel16 = tf.ones([1, 4, 2], tf.bfloat16)
    zeros16 = tf.zeros([1, 4, 2], tf.float16)
    out = lt.masked_mel_loss(mel16, zeros16, tf.constant([4]), use_huber=True)
    assert out.dtype == tf.float32 and float(out[0]) == pytest.approx(0.5)
    out = lt.masked_mel_loss(mel16, zeros16, tf.constant([4]))  # L1
    assert out.dtype == tf.float32 and float(out[0]) == pytest.approx(1.0)


# ---------------------------------------------------------------- XTTSLoss
@pytest.mark.parametrize("strategy", ["non_autoregressive", "autoregressive"])
def test_compute_terms_keys_shapes_and_total(strategy):
    loss = XTTSLoss(make_config(), strategy)
    batch, outputs = make_inputs(strategy)
    terms = loss.compute_terms(batch, outputs)
    expected = {"mel_loss", "stop_loss", "kl_loss", "alignment_loss", "speaker_loss"}
    if strategy == "non_autoregressive":
        expected.add("duration_loss")
    assert set(terms) == expected
    for v in terms.values():
        assert v.shape == (B,) and v.dtype == tf.float32 and np.all(np.isfinite(v.numpy()))
    total = loss.total_per_example(terms).numpy()
    manual = sum(loss.base_weights[k] * terms[k].numpy() for k in terms)
    np.testing.assert_allclose(total, manual, rtol=1e-5)
    value, report = loss(batch, outputs)
    assert float(value) == pytest.approx(float(np.mean(manual)), rel=1e-5)
    assert float(report["loss"]) == pytest.approx(float(value), rel=1e-6)
    assert float(report["dampening_scale"]) == 1.0
    for k in expected:
        assert float(report[k]) == pytest.approx(float(np.mean(terms[k].numpy())), rel=1e-6)


def test_mel_term_sums_before_and_after_postnet():
    loss = XTTSLoss(make_config())
    batch, outputs = make_inputs()
    both = loss.compute_terms(batch, outputs)["mel_loss"].numpy()
    ml = batch["mel_lengths"]
    parts = [lt.masked_mel_loss(batch["mel"], outputs[k], ml).numpy() for k in ("mel_before", "mel_after")]
    np.testing.assert_allclose(both, parts[0] + parts[1], rtol=1e-6)


def test_autoregressive_decoder_lengths_inferred_or_given():
    loss = XTTSLoss(make_config(), "autoregressive")
    batch, outputs = make_inputs("autoregressive")
    inferred = loss.compute_terms(batch, outputs)["alignment_loss"].numpy()
    given = dict(outputs, decoder_lengths=tf.constant([T // 2, (T - 4) // 2]))
    np.testing.assert_allclose(loss.compute_terms(batch, given)["alignment_loss"].numpy(), inferred)
    shorter = dict(outputs, decoder_lengths=tf.constant([3, 3]))
    assert not np.allclose(loss.compute_terms(batch, shorter)["alignment_loss"].numpy(), inferred)


def test_zero_weight_drops_term_even_if_nonfinite():
    batch, outputs = make_inputs()
    outputs = dict(outputs, speaker_logvar=tf.fill([B, Z], np.inf))
    loss = XTTSLoss(make_config(kl_loss_weight=0.0))
    value, report = loss(batch, outputs)
    assert math.isfinite(float(value))
    assert not math.isfinite(float(report["kl_loss"]))


def test_missing_output_names_the_key():
    batch, outputs = make_inputs()
    del outputs["attn_logprob"]
    with pytest.raises(KeyError, match="attn_logprob"):
        XTTSLoss(make_config()).compute_terms(batch, outputs)


def test_invalid_strategy_rejected():
    with pytest.raises(ValueError, match="decoder_strategy"):
        XTTSLoss(make_config(), "diffusion")


# ------------------------------------------------------------ adaptive weights
def test_adaptive_weights_start_at_one_and_stay_in_bounds():
    loss = XTTSLoss(make_config())
    assert all(v == 1.0 for v in loss.get_stability_metrics()["adaptive_weights"].values())
    rng = np.random.default_rng(3)
    names = loss.term_names
    for _ in range(60):
        tm = {k: tf.constant(float(rng.lognormal(0.0, 1.5))) for k in names}
        loss.update_state(tf.constant(float(rng.lognormal())), tm)
        w = loss.get_stability_metrics()["adaptive_weights"]
        assert all(0.7 - 1e-6 <= v <= 1.3 + 1e-6 for v in w.values())


def test_adaptive_weights_favour_slower_improving_terms():
    loss = XTTSLoss(make_config(loss_smoothing_factor=0.5))
    steps = 20
    terms = {
        "mel_loss": [2.0 * 0.8**i for i in range(steps)],  # improves fast
        "stop_loss": [1.0] * steps,  # does not improve
        "kl_loss": [1.0 * 0.95**i for i in range(steps)],
    }
    feed(loss, [3.0] * steps, terms)
    w = loss.get_stability_metrics()["adaptive_weights"]
    assert w["stop_loss"] > w["kl_loss"] > w["mel_loss"]
    assert w["mel_loss"] < 1.0 < w["stop_loss"]
    assert w["alignment_loss"] == 1.0  # never observed
    # Current weights feed the total.
    batch, outputs = make_inputs()
    t = loss.compute_terms(batch, outputs)
    manual = sum(loss.base_weights[k] * w[k] * t[k].numpy() for k in t)
    np.testing.assert_allclose(loss.total_per_example(t).numpy(), manual, rtol=1e-5)


def test_adaptive_disabled_keeps_multipliers_at_one():
    loss = XTTSLoss(make_config(use_adaptive_loss_weights=False))
    feed(loss, [1.0] * 5, {"mel_loss": [1.0, 0.5, 0.2, 0.1, 0.05], "stop_loss": [1.0] * 5})
    assert all(v == 1.0 for v in loss.get_stability_metrics()["adaptive_weights"].values())


# ------------------------------------------------------------ spike dampening
def test_spike_dampening_scale():
    loss = XTTSLoss(make_config(use_spike_dampening=True, spike_threshold=2.0, spike_window=10))
    feed(loss, [1.0] * 9)
    assert float(loss.dampening_scale(3.0)) == 1.0  # window not full yet
    feed(loss, [1.0])
    assert float(loss.dampening_scale(3.0)) == pytest.approx(2.0 / 3.0)
    assert float(loss.dampening_scale(1.5)) == 1.0
    assert float(loss.dampening_scale(float("nan"))) == 0.0
    assert loss.get_stability_metrics()["spike_count"] == 0
    feed(loss, [3.0])
    assert loss.get_stability_metrics()["spike_count"] == 1
    off = XTTSLoss(make_config(use_spike_dampening=False))
    feed(off, [1.0] * 10)
    assert float(off.dampening_scale(3.0)) == 1.0


def test_dampened_gradient_is_scaled_but_reported_loss_is_not():
    loss = XTTSLoss(make_config(use_adaptive_loss_weights=False, use_spike_dampening=True))
    batch, outputs = make_inputs()
    _, report = loss(batch, outputs)
    normal = float(report["loss"])
    feed(loss, [normal / 4.0] * 10)
    value, report = loss(batch, outputs)
    assert float(report["loss"]) == pytest.approx(normal, rel=1e-6)
    assert float(report["dampening_scale"]) == pytest.approx(0.5, rel=1e-5)
    assert float(value) == pytest.approx(normal * 0.5, rel=1e-5)


def test_nonfinite_updates_are_ignored_and_counted():
    loss = XTTSLoss(make_config())
    feed(loss, [1.0, 2.0], {"mel_loss": [1.0, 0.5]})
    before = loss.get_stability_metrics()
    loss.update_state(tf.constant(np.nan), {"mel_loss": tf.constant(np.inf)})
    after = loss.get_stability_metrics()
    assert after["nonfinite_count"] == 1 and after["steps"] == 3
    for key in ("smoothed_loss", "loss_variance", "adaptive_weights", "spike_count"):
        assert after[key] == before[key]


# ------------------------------------------------------- smoothing / stability
def test_ema_smoothing_math():
    f = 0.25
    loss = XTTSLoss(make_config(loss_smoothing_factor=f))
    values = [4.0, 2.0, 8.0, 1.0]
    feed(loss, values)
    ema = values[0]
    for v in values[1:]:
        ema = (1 - f) * ema + f * v
    assert loss.get_stability_metrics()["smoothed_loss"] == pytest.approx(ema, rel=1e-6)


def test_stability_score_and_metrics_keys():
    fresh = XTTSLoss(make_config())
    m = fresh.get_stability_metrics()
    assert set(m) == {
        "loss_stability_score", "smoothed_loss", "loss_variance", "spike_count",
        "nonfinite_count", "adaptive_weights", "steps",
    }
    assert m["loss_stability_score"] == 1.0 and m["steps"] == 0
    assert set(m["adaptive_weights"]) == set(fresh.term_names)
    steady = XTTSLoss(make_config())
    feed(steady, [2.0 + 0.01 * ((-1) ** i) for i in range(10)])
    erratic = XTTSLoss(make_config())
    feed(erratic, [0.1, 5.0, 0.2, 8.0, 0.1, 6.0, 0.3, 9.0, 0.1, 7.0])
    s = steady.get_stability_metrics()
    e = erratic.get_stability_metrics()
    assert s["loss_stability_score"] > 0.95
    assert e["loss_stability_score"] < 0.2
    assert 0.0 <= e["loss_stability_score"] <= 1.0
    assert e["loss_variance"] > s["loss_variance"] > 0
    assert s["steps"] == 10


# ----------------------------------------------------------- config toggles
def _warm(loss: XTTSLoss, report, level: float) -> None:
    """Ten steady steps at ``level`` x loss with diverging term progress (adaptive state active)."""
    base = float(report["loss"]) * level
    for i in range(10):
        tm = {k: tf.constant(float(report[k]) * (0.7**i if k == "mel_loss" else 1.0)) for k in loss.term_names}
        loss.update_state(tf.constant(base), tm)


@pytest.mark.parametrize(
    "field,value",
    [
        ("use_huber_loss", True),
        ("use_label_smoothing", False),
        ("stop_token_positive_weight", 1.0),
        ("use_adaptive_loss_weights", False),
        ("use_spike_dampening", True),
        ("mel_loss_weight", 0.0),
        ("stop_loss_weight", 0.0),
        ("kl_loss_weight", 0.0),
        ("alignment_loss_weight", 0.0),
        ("duration_loss_weight", 0.0),
    ],
)
def test_each_toggle_changes_output(field, value):
    batch, outputs = make_inputs()
    results = []
    assert getattr(make_config(), field) != value
    for cfg in (make_config(), make_config(**{field: value})):
        loss = XTTSLoss(cfg)
        _, report = loss(batch, outputs)
        # A low window level makes the current batch a spike (only for the dampening toggle:
        # a dampened loss equals the threshold and would hide the other toggles).
        _warm(loss, report, 1.0 / 3.0 if field == "use_spike_dampening" else 1.0)
        results.append(float(loss(batch, outputs)[0]))
    assert results[0] != pytest.approx(results[1], rel=1e-4)


def test_huber_delta_changes_output_only_with_huber():
    batch, outputs = make_inputs()

    def value(**overrides):
        return float(XTTSLoss(make_config(**overrides))(batch, outputs)[0])

    assert value(use_huber_loss=True, huber_delta=0.1) != pytest.approx(
        value(use_huber_loss=True, huber_delta=1.0), rel=1e-4)
    assert value(huber_delta=0.1) == pytest.approx(value(huber_delta=1.0), rel=1e-6)  # L1


# -------------------------------------------------------- graph / checkpoint
def test_works_inside_tf_function_with_gradients():
    loss = XTTSLoss(make_config())
    batch, outputs = make_inputs()
    scale = tf.Variable(1.0)

    def step():
        with tf.GradientTape() as tape:
            outs = dict(outputs, mel_after=outputs["mel_after"] * scale)
            value, report = loss(batch, outs)
        loss.update_state(report["loss"], {k: report[k] for k in loss.term_names})
        return value, tape.gradient(value, scale)

    eager_value = XTTSLoss(make_config())(batch, outputs)[0]
    value, grad = tf.function(step)()
    assert float(value) == pytest.approx(float(eager_value), rel=1e-5)
    assert math.isfinite(float(grad)) and float(grad) != 0.0
    assert loss.get_stability_metrics()["steps"] == 1


def test_state_round_trips_through_checkpoint(tmp_path):
    loss = XTTSLoss(make_config(use_spike_dampening=True))
    rng = np.random.default_rng(5)
    feed(
        loss,
        list(rng.uniform(1, 2, size=13)) + [float("nan"), 20.0],
        {k: list(rng.uniform(0.1, 3, size=15)) for k in loss.term_names},
    )
    path = tf.train.Checkpoint(loss=loss).save(str(tmp_path / "ckpt"))
    restored = XTTSLoss(make_config(use_spike_dampening=True))
    tf.train.Checkpoint(loss=restored).restore(path).assert_consumed()
    assert restored.get_stability_metrics() == loss.get_stability_metrics()
    assert float(restored.dampening_scale(50.0)) == pytest.approx(float(loss.dampening_scale(50.0)))
    assert restored.get_stability_metrics()["spike_count"] == 1


def test_mirrored_strategy_step():
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    with strategy.scope():
        loss = XTTSLoss(make_config())
        w = tf.Variable(1.0)
    batch, outputs = make_inputs()

    @tf.function
    def step():
        def replica_fn():
            with tf.GradientTape() as tape:
                outs = dict(outputs, mel_before=outputs["mel_before"] * w)
                value, report = loss(batch, outs, global_batch_size=B)
            return tape.gradient(value, w), report

        grad, report = strategy.run(replica_fn)
        report = {k: strategy.reduce("MEAN", v, axis=None) for k, v in report.items()}
        loss.update_state(report["loss"], {k: report[k] for k in loss.term_names})
        return strategy.reduce("SUM", grad, axis=None), report

    grad, report = step()
    assert math.isfinite(float(grad)) and math.isfinite(float(report["loss"]))
    m = loss.get_stability_metrics()
    assert m["steps"] == 1 and m["smoothed_loss"] == pytest.approx(float(report["loss"]))


# ------------------------------------------------------------------ floor-free terms

def _perfect_prediction(positive_weight: float, smoothing: float):
    """A batch and the outputs of a model that predicts it perfectly: exact mels, the
    BCE-minimising stop logits, a posterior equal to the prior, an aligner with all its
    mass on one monotonic path (the prior is inside attn_logprob, as in the model) and
    durations matching that path."""
    from myxtts.models.alignment import beta_binomial_log_prior

    rng = np.random.default_rng(7)
    mel = rng.normal(size=(B, T, M)).astype(np.float32)
    mel_lengths = np.array([T, T - 4], np.int32)
    text_lengths = np.array([N, N - 2], np.int32)
    durations = np.array([[3, 3, 3, 3, 4], [4, 4, 4, 0, 0]], np.int32)
    targets = np.zeros((B, T), np.float32)
    targets[np.arange(B), mel_lengths - 1] = 1.0
    y = targets * (1 - smoothing) + 0.5 * smoothing
    p_star = np.clip(positive_weight * y / (positive_weight * y + 1 - y), 1e-7, 1 - 1e-7)
    aligner = np.full((B, T, N), -1e4, np.float32)
    for b in range(B):
        ends = np.cumsum(durations[b])
        for t in range(mel_lengths[b]):
            aligner[b, t, np.searchsorted(ends, t, side="right")] = 0.0
    log_prior = beta_binomial_log_prior(text_lengths, mel_lengths, N, T)
    batch = {"text_ids": tf.ones([B, N], tf.int32), "text_lengths": tf.constant(text_lengths),
             "mel": tf.constant(mel), "mel_lengths": tf.constant(mel_lengths),
             "speaker_ids": tf.range(B)}
    outputs = {"mel_before": tf.constant(mel), "mel_after": tf.constant(mel),
               "stop_logits": tf.constant(np.log(p_star / (1 - p_star)).astype(np.float32)),
               "speaker_mu": tf.zeros([B, Z]), "speaker_logvar": tf.zeros([B, Z]),
               # two voices whose latents point different ways: the speaker loss's floor
               "speaker_z": tf.eye(B, Z), "speaker_mu_target": tf.eye(B, Z),
               "aligner_logprob": tf.constant(aligner),
               "attn_logprob": tf.constant(aligner) + log_prior,
               "log_duration_pred": tf.constant(np.log(durations + 1.0).astype(np.float32)),
               "durations": tf.constant(durations)}
    return batch, outputs


@pytest.mark.parametrize("smoothing", [0.0, 0.05, 0.2])
def test_a_perfect_prediction_scores_zero_on_every_reported_term(smoothing):
    config = make_config(label_smoothing=smoothing, use_label_smoothing=smoothing > 0)
    loss_fn = XTTSLoss(config)
    batch, outputs = _perfect_prediction(config.stop_token_positive_weight, smoothing)
    _, report = loss_fn(batch, outputs)
    for key in (*loss_fn.term_names, "loss"):
        assert abs(float(report[key])) < 1e-3, (key, float(report[key]))


def test_floors_are_constants_the_gradient_is_the_textbook_one():
    """Subtracting the floors moves only the value: gradients equal those of the raw
    weighted BCE and of the forward-sum NLL with the prior inside."""
    batch, outputs = _perfect_prediction(5.0, 0.1)
    rng = np.random.default_rng(3)
    logits = tf.Variable(rng.normal(size=(B, T)).astype(np.float32))
    lengths = batch["mel_lengths"]
    with tf.GradientTape(persistent=True) as tape:
        ours = tf.reduce_sum(lt.stop_token_loss(logits, lengths, 5.0, 0.1))
        mask = tf.sequence_mask(lengths, T)
        y = tf.one_hot(lengths - 1, T) * 0.9 + 0.05
        raw = tf.nn.weighted_cross_entropy_with_logits(labels=y, logits=logits, pos_weight=5.0)
        raw = tf.reduce_sum(tf.where(mask, raw, 0.0), 1) / tf.cast(lengths, tf.float32)
        raw = tf.reduce_sum(raw)
    np.testing.assert_allclose(tape.gradient(ours, logits), tape.gradient(raw, logits),
                               atol=1e-6)
    assert float(ours) < float(raw)  # same slope, lower value: the floor moved out

    log_prior = outputs["attn_logprob"] - outputs["aligner_logprob"]
    aligner = tf.Variable(rng.normal(size=(B, T, N)).astype(np.float32))
    with tf.GradientTape(persistent=True) as tape:
        attn = tf.nn.log_softmax(aligner, -1) + log_prior
        args = (attn, batch["text_lengths"], lengths)
        with_floor = tf.reduce_sum(lt.forward_sum_loss(*args))
        floor_free = tf.reduce_sum(lt.forward_sum_loss(*args, log_prior, outputs["durations"]))
    np.testing.assert_allclose(tape.gradient(floor_free, aligner),
                               tape.gradient(with_floor, aligner), atol=1e-5)
    assert float(floor_free) < float(with_floor)


def test_val_loss_uses_the_steering_weights_not_the_adaptive_multipliers():
    loss_fn = XTTSLoss(make_config())
    batch, outputs = make_inputs()
    _, before = loss_fn(batch, outputs)
    n = len(loss_fn.term_names)
    loss_fn.multipliers.assign(([1.3, 0.7] * n)[:n])
    grad_loss, after = loss_fn(batch, outputs)
    assert float(after["loss"]) == pytest.approx(float(before["loss"]))
    assert float(grad_loss) != pytest.approx(float(before["loss"]))
    # A level that changes base weights mid-run leaves the steering metric alone.
    loss_fn.reconfigure(make_config(mel_loss_weight=2.0, kl_loss_weight=1.2))
    _, switched = loss_fn(batch, outputs)
    assert float(switched["loss"]) == pytest.approx(float(before["loss"]))


def test_adaptive_multipliers_ignore_terms_that_grew():
    """The speaker KL grows from ~0 early in a run: it must not drag every other
    multiplier to the minimum."""
    loss_fn = XTTSLoss(make_config(loss_smoothing_factor=1.0))
    names = loss_fn.term_names
    first = {k: 1.0 for k in names} | {"kl_loss": 0.001}
    later = {"mel_loss": 0.5, "stop_loss": 0.5, "kl_loss": 0.2, "alignment_loss": 0.9,
             "duration_loss": 0.5, "speaker_loss": 0.5}
    loss_fn.update_state(tf.constant(5.0), {k: tf.constant(v) for k, v in first.items()})
    loss_fn.update_state(tf.constant(2.0), {k: tf.constant(v) for k, v in later.items()})
    mult = dict(zip(names, loss_fn.multipliers.numpy()))
    assert mult["alignment_loss"] > 1.0 > mult["mel_loss"] >= 0.7  # slowest term gains
    assert mult["kl_loss"] == pytest.approx(1.3)                  # grew: counts as unlearnt
    assert mult["mel_loss"] > 0.7  # not dragged to the minimum by the KL's ratio of 200
