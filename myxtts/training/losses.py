"""Stability-enhanced XTTS loss: weighting, adaptive multipliers, spike dampening.

Which number is which:

* Every **term** is floor-free: a perfect prediction scores ~0 on each
  (:mod:`myxtts.training.loss_terms`).
* The **reported** ``"loss"`` (and so ``val_loss``) is the weighted sum of the terms
  with the fixed **base** weights (``training.*_loss_weight``): any two values of one
  run are on the same scale, whatever the adaptive multipliers do. It is the steering
  metric: best checkpoint, early stopping, ``auto``, spike detection and the
  stability score all read it.
* The **gradient** uses ``average_k(sum_k base_k * mult_k * term_k) * dampening_scale``:
  the adaptive multipliers (bounded ``adaptive_weight_min..max``) and, on a loss
  spike, a dampening factor < 1. Both are logged.

State (EMA, spike window, counters, adaptive multipliers) lives in non-trainable
``tf.Variable``s created in ``__init__``; ``XTTSLoss`` is a ``tf.Module`` so a
``tf.train.Checkpoint`` holding it restores the state exactly on resume.

``__call__`` never changes state. The trainer calls ``update_state`` exactly once
per step, after the step, with globally reduced values (cross-replica context
under ``tf.distribute``). EMAs use ``ema = (1 - f) * ema + f * x`` with
``f = loss_smoothing_factor``; the first value initialises the EMA.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import tensorflow as tf

from myxtts.training.loss_terms import (
    duration_loss,
    forward_sum_loss,
    guided_attention_loss,
    kl_loss,
    masked_mel_loss,
    speaker_contrastive_loss,
    stop_token_loss,
)

DECODER_STRATEGIES = ("non_autoregressive", "autoregressive")
_TERMS = {
    "non_autoregressive": ("mel_loss", "stop_loss", "kl_loss", "alignment_loss", "duration_loss"),
    "autoregressive": ("mel_loss", "stop_loss", "kl_loss", "alignment_loss"),
}
_WEIGHT_FIELDS = {
    "mel_loss": "mel_loss_weight",
    "stop_loss": "stop_loss_weight",
    "kl_loss": "kl_loss_weight",
    "alignment_loss": "alignment_loss_weight",
    "duration_loss": "duration_loss_weight",
    "speaker_loss": "speaker_loss_weight",
}
_EPS = 1e-8


def _require(mapping: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in mapping:
        raise KeyError(f"XTTSLoss: {where}[{key!r}] is required but missing")
    return mapping[key]


def _state_var(value: Any, dtype: tf.DType, name: str) -> tf.Variable:
    return tf.Variable(
        value,
        dtype=dtype,
        trainable=False,
        name=name,
        aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA,
    )


class XTTSLoss(tf.Module):
    """Weighted multi-term TTS loss with adaptive weights and spike dampening.

    Args:
        training_config: object with the ``TrainingConfig`` loss fields.
        decoder_strategy: ``"non_autoregressive"`` or ``"autoregressive"``.
    """

    def __init__(self, training_config: Any, decoder_strategy: str = "non_autoregressive",
                 steering_weights: Mapping[str, float] | None = None):
        super().__init__(name="xtts_loss")
        if decoder_strategy not in DECODER_STRATEGIES:
            raise ValueError(
                f"decoder_strategy must be one of {DECODER_STRATEGIES}, got {decoder_strategy!r}"
            )
        self.decoder_strategy = decoder_strategy
        # The speaker loss is a term only when weighted: a run trained without it keeps
        # the loss state's shape (one EMA per term) and so its checkpoints resume.
        speaker = ("speaker_loss",) if getattr(training_config, "speaker_loss_weight", 0) else ()
        self.term_names: tuple[str, ...] = _TERMS[decoder_strategy] + speaker
        self.reconfigure(training_config)
        self.steering_weights: dict[str, float] = dict(self.base_weights)
        if steering_weights:
            self.set_steering_weights(steering_weights)
        self._create_state()

    def set_steering_weights(self, weights: Mapping[str, float]) -> None:
        """Fix the weights of the reported ``loss`` for the whole run (the base weights
        the run started with), so a level that changes base weights mid-run does not
        move the steering metric's scale. Terms missing from ``weights`` keep theirs."""
        for k, w in weights.items():
            if k in self.steering_weights:
                self.steering_weights[k] = float(w)

    def reconfigure(self, training_config: Any) -> None:
        """Apply (new) weights and toggles from a ``TrainingConfig``, keeping all state.

        Used when a run switches optimization level in place. Weights and toggles are
        Python values fixed when the train step is traced, so the caller retraces.
        """
        cfg = training_config
        self.base_weights: dict[str, float] = {
            k: float(getattr(cfg, _WEIGHT_FIELDS[k])) for k in self.term_names
        }
        for k, w in self.base_weights.items():
            if w < 0 or not np.isfinite(w):
                raise ValueError(f"training.{_WEIGHT_FIELDS[k]} must be finite and >= 0, got {w}")

        self.use_huber_loss = bool(cfg.use_huber_loss)
        self.huber_delta = float(cfg.huber_delta)
        self.stop_positive_weight = float(cfg.stop_token_positive_weight)
        self.label_smoothing = float(cfg.label_smoothing) if cfg.use_label_smoothing else 0.0
        self.guided_attention_sigma = float(cfg.guided_attention_sigma)
        self.use_adaptive = bool(cfg.use_adaptive_loss_weights)
        self.weight_min = float(cfg.adaptive_weight_min)
        self.weight_max = float(cfg.adaptive_weight_max)
        self.smoothing = float(cfg.loss_smoothing_factor)
        self.use_spike_dampening = bool(cfg.use_spike_dampening)
        self.spike_threshold = float(cfg.spike_threshold)
        self.spike_window = int(cfg.spike_window)
        if not 0.0 < self.weight_min <= self.weight_max:
            raise ValueError(
                "training.adaptive_weight_min/max must satisfy 0 < min <= max, got "
                f"{self.weight_min}, {self.weight_max}"
            )
        if not 0.0 < self.smoothing <= 1.0:
            raise ValueError(f"training.loss_smoothing_factor must be in (0, 1], got {self.smoothing}")
        if self.spike_window < 1:
            raise ValueError(f"training.spike_window must be >= 1, got {self.spike_window}")
        if self.spike_threshold <= 0:
            raise ValueError(f"training.spike_threshold must be > 0, got {self.spike_threshold}")

        if hasattr(self, "loss_window") and self.loss_window.shape[0] != self.spike_window:
            raise ValueError("training.spike_window cannot change during a run "
                             f"({self.loss_window.shape[0]} -> {self.spike_window})")
        # Terms with base weight 0 contribute nothing and are left out of adaptation.
        self._active = tf.constant([self.base_weights[k] > 0 for k in self.term_names])

    def _create_state(self) -> None:
        n_terms = len(self.term_names)
        self.steps = _state_var(0, tf.int64, "steps")
        self.finite_steps = _state_var(0, tf.int64, "finite_steps")
        self.nonfinite_count = _state_var(0, tf.int64, "nonfinite_count")
        self.spike_count = _state_var(0, tf.int64, "spike_count")
        self.smoothed_loss = _state_var(0.0, tf.float32, "smoothed_loss")
        self.loss_window = _state_var(tf.zeros([self.spike_window]), tf.float32, "loss_window")
        self.term_ema = _state_var(tf.zeros([n_terms]), tf.float32, "term_ema")
        self.term_initial = _state_var(tf.zeros([n_terms]), tf.float32, "term_initial")
        self.term_seen = _state_var(tf.zeros([n_terms]), tf.float32, "term_seen")
        self.multipliers = _state_var(tf.ones([n_terms]), tf.float32, "adaptive_multipliers")

    # ------------------------------------------------------------------ terms
    def compute_terms(
        self, batch: Mapping[str, tf.Tensor], outputs: Mapping[str, tf.Tensor]
    ) -> dict[str, tf.Tensor]:
        """Unweighted per-example loss terms, each a float32 ``[B]`` tensor."""
        mel = _require(batch, "mel", "batch")
        mel_lengths = _require(batch, "mel_lengths", "batch")
        text_lengths = _require(batch, "text_lengths", "batch")
        mel_term = lambda pred: masked_mel_loss(  # noqa: E731
            mel, pred, mel_lengths, self.use_huber_loss, self.huber_delta
        )
        terms = {
            "mel_loss": mel_term(_require(outputs, "mel_before", "outputs"))
            + mel_term(_require(outputs, "mel_after", "outputs")),
            "stop_loss": stop_token_loss(
                _require(outputs, "stop_logits", "outputs"),
                mel_lengths,
                self.stop_positive_weight,
                self.label_smoothing,
            ),
            "kl_loss": kl_loss(
                _require(outputs, "speaker_mu", "outputs"),
                _require(outputs, "speaker_logvar", "outputs"),
            ),
        }
        if "speaker_loss" in self.term_names:
            terms["speaker_loss"] = speaker_contrastive_loss(
                _require(outputs, "speaker_z", "outputs"),
                _require(outputs, "speaker_mu_target", "outputs"),
                batch.get("speaker_ids"),
            )
        if self.decoder_strategy == "non_autoregressive":
            attn_logprob = _require(outputs, "attn_logprob", "outputs")
            durations = _require(outputs, "durations", "outputs")
            # attn_logprob = aligner log-softmax + log prior; without the aligner's own
            # output (only in hand-made test outputs) the prior's floor stays in.
            log_prior = (attn_logprob - outputs["aligner_logprob"]
                         if "aligner_logprob" in outputs else None)
            terms["alignment_loss"] = forward_sum_loss(
                attn_logprob, text_lengths, mel_lengths, log_prior, durations
            )
            terms["duration_loss"] = duration_loss(
                _require(outputs, "log_duration_pred", "outputs"), durations, text_lengths
            )
        else:
            alignments = _require(outputs, "alignments", "outputs")
            terms["alignment_loss"] = guided_attention_loss(
                alignments,
                text_lengths,
                self._decoder_lengths(outputs, alignments, mel, mel_lengths),
                self.guided_attention_sigma,
            )
        return terms

    @staticmethod
    def _decoder_lengths(outputs, alignments, mel, mel_lengths) -> tf.Tensor:
        """``outputs["decoder_lengths"]`` or ceil(mel_lengths / r), r = T // T_dec."""
        if "decoder_lengths" in outputs:
            return tf.cast(outputs["decoder_lengths"], tf.int32)
        t_dec = tf.shape(alignments)[1]
        reduction = tf.maximum(tf.shape(mel)[1] // tf.maximum(t_dec, 1), 1)
        mel_lengths = tf.cast(mel_lengths, tf.int32)
        dec = (mel_lengths + reduction - 1) // reduction
        return tf.minimum(dec, t_dec)

    # ---------------------------------------------------------------- weights
    def current_weights(self) -> dict[str, tf.Tensor]:
        """Effective weight per term: base weight x adaptive multiplier."""
        mult = tf.convert_to_tensor(self.multipliers)
        return {k: self.base_weights[k] * mult[i] for i, k in enumerate(self.term_names)}

    def total_per_example(self, terms: Mapping[str, tf.Tensor], adaptive: bool = True) -> tf.Tensor:
        """``sum_k base_k * mult_k * term_k`` as ``[B]``; with ``adaptive=False`` the
        steering metric ``sum_k steer_k * term_k`` (the run's first base weights, no
        multipliers). Zero-weight terms are skipped."""
        weights = self.current_weights() if adaptive else self.steering_weights
        total = None
        for k in self.term_names:
            if not (self.base_weights if adaptive else weights)[k] or k not in terms:
                continue
            contrib = weights[k] * tf.cast(terms[k], tf.float32)
            total = contrib if total is None else total + contrib
        if total is None:
            raise ValueError("XTTSLoss: all loss weights are 0; nothing to optimise")
        return total

    # ------------------------------------------------------------- dampening
    def _window_stats(self) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """(number of filled entries, mean, variance) of the loss window."""
        window = tf.convert_to_tensor(self.loss_window)
        filled = tf.minimum(self.finite_steps, self.spike_window)
        mask = tf.range(self.spike_window, dtype=tf.int64) < filled
        count = tf.maximum(tf.cast(filled, tf.float32), 1.0)
        values = tf.where(mask, window, 0.0)
        mean = tf.reduce_sum(values) / count
        var = tf.reduce_sum(tf.where(mask, tf.square(window - mean), 0.0)) / count
        return filled, mean, var

    def dampening_scale(self, batch_loss: tf.Tensor) -> tf.Tensor:
        """Gradient scale for this batch (read-only).

        ``spike_threshold * mean(window) / batch_loss`` when dampening is on, the
        window of previous losses is full and the batch loss exceeds the threshold;
        1.0 otherwise; 0.0 for a non-finite loss.
        """
        loss = tf.cast(batch_loss, tf.float32)
        finite = tf.math.is_finite(loss)
        if not self.use_spike_dampening:
            return tf.where(finite, 1.0, 0.0)
        filled, mean, _ = self._window_stats()
        limit = self.spike_threshold * mean
        spike = tf.logical_and(filled >= self.spike_window, loss > limit)
        safe_loss = tf.where(tf.logical_and(finite, loss > 0), loss, 1.0)
        scale = tf.where(spike, limit / safe_loss, 1.0)
        return tf.where(finite, scale, 0.0)

    # ----------------------------------------------------------------- state
    def update_state(self, batch_loss: tf.Tensor, term_means: Mapping[str, tf.Tensor]) -> None:
        """Record one step's global loss and term means (call once per step).

        Updates the smoothed loss, the spike window and counters and, when enabled,
        the adaptive multipliers. Non-finite values are ignored and counted.
        """
        f = self.smoothing
        loss = tf.cast(batch_loss, tf.float32)
        finite = tf.math.is_finite(loss)
        any_nonfinite = tf.logical_not(finite)

        # Spike check against the window *before* this loss enters it.
        filled, mean, _ = self._window_stats()
        spike = finite & (filled >= self.spike_window) & (loss > self.spike_threshold * mean)

        first = tf.equal(self.finite_steps, 0)
        new_smoothed = tf.where(first, loss, (1.0 - f) * self.smoothed_loss + f * loss)
        pos = self.finite_steps % self.spike_window
        slot = tf.equal(tf.range(self.spike_window, dtype=tf.int64), pos)
        new_window = tf.where(slot & finite, loss, self.loss_window)

        # Per-term EMAs and first observed values.
        values, valid = [], []
        for k in self.term_names:
            if k in term_means:
                v = tf.reshape(tf.cast(term_means[k], tf.float32), [])
                ok = tf.math.is_finite(v)
                any_nonfinite = any_nonfinite | tf.logical_not(ok)
                values.append(tf.where(ok, v, 0.0))
                valid.append(ok & finite)
            else:
                values.append(tf.constant(0.0))
                valid.append(tf.constant(False))
        values = tf.stack(values)
        valid = tf.stack(valid)
        seen = self.term_seen > 0.5
        ema = tf.where(seen, (1.0 - f) * self.term_ema + f * values, values)
        ema = tf.where(valid, ema, self.term_ema)
        initial = tf.where(valid & tf.logical_not(seen), values, self.term_initial)
        seen = seen | valid

        self.steps.assign_add(1)
        self.nonfinite_count.assign_add(tf.cast(any_nonfinite, tf.int64))
        self.spike_count.assign_add(tf.cast(spike, tf.int64))
        self.smoothed_loss.assign(tf.where(finite, new_smoothed, self.smoothed_loss))
        self.loss_window.assign(new_window)
        self.finite_steps.assign_add(tf.cast(finite, tf.int64))
        self.term_ema.assign(ema)
        self.term_initial.assign(initial)
        self.term_seen.assign(tf.cast(seen, tf.float32))
        if self.use_adaptive:
            self.multipliers.assign(self._adaptive_multipliers(ema, initial, seen))

    def _adaptive_multipliers(self, ema: tf.Tensor, initial: tf.Tensor, seen: tf.Tensor) -> tf.Tensor:
        """clip(r_k / mean_j r_j, min, max) with r_k = min(ema_k / initial_k, 1).

        ``r_k`` is the share of the term's first (floor-free) value that is still left
        to learn: terms that improve slower get more weight, terms close to their floor
        of 0 less. A term that grew since its first value (the speaker KL does, from ~0)
        counts as nothing learnt yet (r=1) rather than dragging every other multiplier
        to the minimum; a term whose first value was ~0 also counts r=1.
        """
        use = seen & self._active
        ratio = tf.where(initial > _EPS, tf.minimum(ema / tf.maximum(initial, _EPS), 1.0), 1.0)
        n_used = tf.reduce_sum(tf.cast(use, tf.float32))
        mean_ratio = tf.reduce_sum(tf.where(use, ratio, 0.0)) / tf.maximum(n_used, 1.0)
        mult = tf.clip_by_value(
            ratio / tf.maximum(mean_ratio, _EPS), self.weight_min, self.weight_max
        )
        return tf.where(use & (mean_ratio > _EPS), mult, 1.0)

    # ------------------------------------------------------------------ call
    def __call__(
        self,
        batch: Mapping[str, tf.Tensor],
        outputs: Mapping[str, tf.Tensor],
        global_batch_size: int | tf.Tensor | None = None,
    ) -> tuple[tf.Tensor, dict[str, tf.Tensor]]:
        """Loss for the gradient and a report of scalars. Does not update state.

        Returns ``(loss_for_gradient, report)``; ``report`` holds each term's mean,
        ``"loss"`` (base-weighted total, local batch mean: the steering metric),
        ``"loss_for_gradient"`` and ``"dampening_scale"``. Call ``update_state`` after
        the step.
        """
        terms = self.compute_terms(batch, outputs)
        per_example = self.total_per_example(terms)
        loss = tf.nn.compute_average_loss(per_example, global_batch_size=global_batch_size)
        total = tf.reduce_mean(self.total_per_example(terms, adaptive=False))
        scale = tf.stop_gradient(self.dampening_scale(total))
        loss_for_gradient = loss * scale
        report = {k: tf.reduce_mean(v) for k, v in terms.items()}
        report["loss"] = total
        report["loss_for_gradient"] = loss_for_gradient
        report["dampening_scale"] = scale
        return loss_for_gradient, report

    # --------------------------------------------------------------- metrics
    def get_stability_metrics(self) -> dict[str, Any]:
        """Python-float snapshot of the loss state (call eagerly)."""
        filled, mean, var = (float(x) for x in self._window_stats())
        if filled < 2:
            score = 1.0
        else:
            cv = float(np.sqrt(var)) / max(abs(mean), _EPS)
            score = 1.0 - min(1.0, cv)
        mult = self.multipliers.numpy()
        return {
            "loss_stability_score": score,
            "smoothed_loss": float(self.smoothed_loss.numpy()),
            "loss_variance": var if filled >= 2 else 0.0,
            "spike_count": int(self.spike_count.numpy()),
            "nonfinite_count": int(self.nonfinite_count.numpy()),
            "adaptive_weights": {k: float(mult[i]) for i, k in enumerate(self.term_names)},
            "steps": int(self.steps.numpy()),
        }
