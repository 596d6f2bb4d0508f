"""The compiled train and validation steps: pure ``tf.function``s of (state, batch).

Both call the loss module (:class:`~myxtts.training.losses.XTTSLoss`), the one loss path:
gradients use its dampened, adaptively weighted total, reports its base-weighted
(steering) ``loss`` and each floor-free term; clipping is by the global norm of the
global batch's gradient (summed over replicas first) against a variable (so a level
switch can change it without retracing); non-finite steps are skipped (counted by the
caller); with ``mixed_float16`` the optimizer is a ``LossScaleOptimizer`` and clipping is
done in the scaled domain.
"""

from __future__ import annotations

import keras
import tensorflow as tf

BATCH_SIGNATURE = {
    "text_ids": tf.TensorSpec([None, None], tf.int32),
    "text_lengths": tf.TensorSpec([None], tf.int32),
    "mel": tf.TensorSpec([None, None, None], tf.float32),
    "mel_lengths": tf.TensorSpec([None], tf.int32),
    "ref_mel": tf.TensorSpec([None, None, None], tf.float32),
    "ref_lengths": tf.TensorSpec([None], tf.int32),
    "language_ids": tf.TensorSpec([None], tf.int32),
    "speaker_ids": tf.TensorSpec([None], tf.int32),
}


def alignment_score(outputs, batch) -> tf.Tensor:
    """Mean mass of the aligner's own attention (without the prior) within one token of
    the hard (MAS) path, over real frames.

    Near 1 when the aligner has learned a sharp alignment that agrees with the monotonic
    path; an untrained aligner (uniform attention) scores about 3 / text length.
    """
    attn = tf.exp(outputs["aligner_logprob"])
    durations = outputs["durations"]
    ends = tf.cumsum(durations, axis=1)
    starts = ends - durations
    t = tf.range(tf.shape(attn)[1])[None, :, None]
    on_path = tf.cast((t >= starts[:, None, :]) & (t < ends[:, None, :]), tf.float32)
    # widen the path by one token on either side
    near = tf.minimum(on_path + tf.pad(on_path[:, :, 1:], [[0, 0], [0, 0], [0, 1]])
                      + tf.pad(on_path[:, :, :-1], [[0, 0], [0, 0], [1, 0]]), 1.0)
    mass = tf.reduce_sum(attn * near, -1)
    mask = tf.cast(tf.sequence_mask(batch["mel_lengths"], tf.shape(attn)[1]), tf.float32)
    return tf.reduce_sum(mass * mask) / tf.maximum(tf.reduce_sum(mask), 1.0)


class StepFunctions:
    """Builds and owns the traced train / validation steps for one model."""

    def __init__(self, model, optimizer, loss_fn, strategy: tf.distribute.Strategy,
                 clip_norm: tf.Variable, jit_compile: bool = False):
        self.model = model
        self.optimizer = optimizer
        self.loss_fn = loss_fn
        self.strategy = strategy
        self.clip_norm = clip_norm
        self.trace_count = 0
        self.loss_scaled = isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
        self.replicas = strategy.num_replicas_in_sync
        if self.replicas == 1:
            # One signature with unknown dims: a single trace for every batch shape.
            self.train_step = tf.function(self._train_step, input_signature=[BATCH_SIGNATURE],
                                          jit_compile=jit_compile)
        else:
            # Distributed values cannot be described by a TensorSpec signature.
            self.train_step = tf.function(self._train_step, reduce_retracing=True,
                                          jit_compile=jit_compile)
        self.eval_step = tf.function(self._eval_step, input_signature=[BATCH_SIGNATURE])

    def distribute(self, batch: dict) -> dict:
        """Split a host batch across replicas (rows ``i::replicas`` go to replica ``i``)."""
        if self.replicas == 1:
            return batch
        n = self.replicas

        def per_replica(context):
            i = context.replica_id_in_sync_group
            return {k: v[i::n] for k, v in batch.items()}

        return self.strategy.experimental_distribute_values_from_function(per_replica)

    # -- training ------------------------------------------------------------------
    def _replica_train(self, batch):
        global_batch = tf.shape(batch["text_ids"])[0] * self.replicas
        variables = self.model.trainable_variables
        with tf.GradientTape() as tape:
            outputs = self.model(batch, training=True)
            grad_loss, report = self.loss_fn(batch, outputs, global_batch)
            if self.loss_scaled:
                grad_loss = self.optimizer.scale_loss(grad_loss)
        grads = tape.gradient(grad_loss, variables)
        grads = [tf.zeros_like(v) if g is None else tf.cast(g, v.dtype)
                 for g, v in zip(grads, variables)]
        if self.replicas > 1:
            # Norm and clipping of the global batch's gradient (the sum over replicas), as
            # on one device, not of each replica's share. The optimizer sums what replicas
            # pass it again: each passes 1/n of the clipped sum (exact for n = 2, 4, 8...).
            grads = tf.distribute.get_replica_context().all_reduce(
                tf.distribute.ReduceOp.SUM, grads)
        loss_scale = tf.cast(self.optimizer.dynamic_scale, tf.float32) if self.loss_scaled else 1.0
        raw_norm = tf.linalg.global_norm(grads)
        grads, _ = tf.clip_by_global_norm(grads, self.clip_norm * loss_scale)
        finite = tf.math.is_finite(report["loss"]) & tf.math.is_finite(raw_norm)
        if self.replicas > 1:
            grads = [tf.convert_to_tensor(g) / self.replicas for g in grads]
        if self.loss_scaled:
            self.optimizer.apply(grads, variables)  # skips non-finite steps itself
        elif self.replicas > 1:
            # Applying gradients synchronises replicas, which tf.distribute does not allow
            # inside tf.cond: a non-finite step applies zero gradients instead of skipping.
            grads = [tf.where(finite, g, tf.zeros_like(g)) for g in grads]
            self.optimizer.apply(grads, variables)
        else:
            def apply():
                self.optimizer.apply(grads, variables)
                return tf.constant(True)
            tf.cond(finite, apply, lambda: tf.constant(False))
        report.pop("loss_for_gradient")  # a replica's share of a global sum: not a mean
        report["grad_norm"] = raw_norm / loss_scale
        report["dampening_scale"] = tf.cast(report["dampening_scale"], tf.float32)
        report["finite"] = tf.cast(finite, tf.float32)
        return report

    def _train_step(self, batch):
        self.trace_count += 1  # Python side effect: runs once per trace only
        per_replica = self.strategy.run(self._replica_train, args=(batch,))
        report = {k: self.strategy.reduce(tf.distribute.ReduceOp.MEAN, v, axis=None)
                  for k, v in per_replica.items()}
        term_means = {k: v for k, v in report.items() if k.endswith("_loss")}
        self.loss_fn.update_state(report["loss"], term_means)
        return report

    # -- validation ----------------------------------------------------------------
    def _eval_step(self, batch):
        self.trace_count += 1
        outputs = self.model(batch, training=False)
        _, report = self.loss_fn(batch, outputs)
        for key in ("loss_for_gradient", "dampening_scale"):
            report.pop(key)
        if "attn_logprob" in outputs:
            report["alignment_score"] = alignment_score(outputs, batch)
        return report

    def validate(self, batches) -> dict:
        """Mean of every loss term and the alignment score over ``(index, batch)`` pairs,
        weighted by batch size; loss keys get a ``val_`` prefix."""
        totals: dict[str, float] = {}
        weights = 0
        for _, batch in batches:
            n = len(batch["text_lengths"])
            for k, v in self.eval_step(batch).items():
                totals[k] = totals.get(k, 0.0) + float(v) * n
            weights += n
        return {("val_" + k if k.endswith("loss") else k): v / weights for k, v in totals.items()}
