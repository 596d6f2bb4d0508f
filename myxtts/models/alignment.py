"""Learned text-to-mel alignment: a unsupervised aligner, a beta-binomial prior and
monotonic alignment search (MAS).

The aligner scores every (mel frame, token) pair by the negative squared distance of
their projections; trained with the forward-sum (CTC-style) loss it learns which token
each frame belongs to from any transcribed speech. MAS turns the soft scores into a hard,
monotonic alignment whose per-token frame counts are the durations the decoder is
trained with and the duration predictor learns to predict.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from myxtts.models.layers import apply_mask, tracked_list

NEG = -1e9


def beta_binomial_log_prior(text_lengths, mel_lengths, max_text, max_mel, scaling=1.0):
    """Log of the beta-binomial alignment prior, ``[B, max_mel, max_text]``.

    Frame ``t`` of ``T`` prefers tokens near ``t / T`` of the way through the text;
    this near-diagonal prior lets the aligner converge in a few hundred steps.
    Padded positions get ``NEG``.
    """
    n = tf.cast(text_lengths, tf.float32)[:, None, None] - 1.0  # trials
    big_t = tf.cast(mel_lengths, tf.float32)[:, None, None]
    k = tf.cast(tf.range(max_text), tf.float32)[None, None, :]
    t = tf.cast(tf.range(max_mel), tf.float32)[None, :, None]
    a = scaling * (t + 1.0)
    b = scaling * (big_t - t)
    b = tf.maximum(b, 1e-3)
    kk = tf.minimum(k, tf.maximum(n, 0.0))
    lg = tf.math.lgamma
    log_choose = lg(n + 1.0) - lg(kk + 1.0) - lg(n - kk + 1.0)
    log_beta_num = lg(kk + a) + lg(n - kk + b) - lg(n + a + b)
    log_beta_den = lg(a) + lg(b) - lg(a + b)
    logp = log_choose + log_beta_num - log_beta_den
    valid = (tf.sequence_mask(mel_lengths, max_mel)[:, :, None]
             & tf.sequence_mask(text_lengths, max_text)[:, None, :])
    return tf.where(valid, logp, NEG)


class Aligner(keras.layers.Layer):
    """Soft alignment between mel frames (queries) and text embeddings (keys)."""

    def __init__(self, aligner_dim: int, n_mels: int, hidden_dim: int, temperature: float, **kw):
        super().__init__(**kw)
        self.temperature = temperature
        self.key_layers = tracked_list(self, "key", [
            keras.layers.Conv1D(hidden_dim, 3, padding="same", activation="relu"),
            keras.layers.Conv1D(aligner_dim, 1),
        ])
        self.query_layers = tracked_list(self, "query", [
            keras.layers.Conv1D(2 * n_mels, 3, padding="same", activation="relu"),
            keras.layers.Conv1D(n_mels, 1, activation="relu"),
            keras.layers.Conv1D(aligner_dim, 1),
        ])

    def call(self, text_embedded, text_mask, mel, mel_mask, text_lengths, mel_lengths):
        """Returns ``(attn_logprob, aligner_logprob)``, both ``[B, T, N]``: the aligner's
        log-softmax over tokens with and without the log prior added."""
        keys = apply_mask(text_embedded, text_mask)
        for layer in self.key_layers:
            keys = layer(keys)
        queries = apply_mask(mel, mel_mask)
        for layer in self.query_layers:
            queries = layer(queries)
        keys = tf.cast(keys, tf.float32)
        queries = tf.cast(queries, tf.float32)
        dist = (tf.reduce_sum(queries ** 2, -1)[:, :, None]
                + tf.reduce_sum(keys ** 2, -1)[:, None, :]
                - 2.0 * tf.matmul(queries, keys, transpose_b=True))
        logits = -self.temperature * dist
        logits = tf.where(text_mask[:, None, :], logits, NEG)
        aligner_logprob = tf.nn.log_softmax(logits, axis=-1)
        # The prior is built here, in float32, from integer lengths: a float tensor passed
        # into a Keras layer call would be autocast to float16/bfloat16 under mixed precision.
        log_prior = beta_binomial_log_prior(text_lengths, mel_lengths, tf.shape(text_mask)[1],
                                            tf.shape(mel_mask)[1])
        return aligner_logprob + log_prior, aligner_logprob


def monotonic_alignment_search(log_probs, text_lengths, mel_lengths):
    """Most likely monotonic path through ``log_probs`` ``[B, T, N]`` (no gradient).

    Every token gets at least one frame (requires ``T >= N``). Returns the token index of
    every frame ``[B, T]`` (int32; padded frames hold the last token) and the durations
    ``[B, N]`` (int32, summing to ``mel_lengths``).
    """
    log_probs = tf.stop_gradient(tf.cast(log_probs, tf.float32))
    max_text = tf.shape(log_probs)[2]
    text_mask = tf.sequence_mask(text_lengths, max_text)
    log_probs = tf.where(text_mask[:, None, :], log_probs, NEG)
    per_frame = tf.transpose(log_probs, [1, 0, 2])  # [T, B, N]
    first = tf.concat([per_frame[0, :, :1],
                       tf.fill([tf.shape(per_frame)[1], max_text - 1], NEG)], axis=1)

    def forward(prev, row):
        shifted = tf.pad(prev[:, :-1], [[0, 0], [1, 0]], constant_values=NEG)
        return row + tf.maximum(prev, shifted)

    values = tf.scan(forward, per_frame[1:], initializer=first)
    values = tf.concat([first[None], values], axis=0)  # [T, B, N]

    last_token = tf.cast(text_lengths, tf.int32) - 1
    last_frame = tf.cast(mel_lengths, tf.int32) - 1
    max_mel = tf.shape(values)[0]
    frames = tf.range(max_mel - 1, -1, -1)
    batch_idx = tf.range(tf.shape(values)[1])

    def backward(next_idx, elems):
        t, value_row_next = elems  # value row at frame t (predecessor choice for t+1)
        same = tf.gather_nd(value_row_next, tf.stack([batch_idx, next_idx], 1))
        down = tf.gather_nd(value_row_next, tf.stack([batch_idx, tf.maximum(next_idx - 1, 0)], 1))
        move = tf.logical_and(next_idx > 0, down > same)
        idx = next_idx - tf.cast(move, tf.int32)
        idx = tf.where(t >= last_frame, last_token, idx)
        return idx

    # For frame t the decision uses values[t] and the index chosen at frame t + 1.
    reversed_values = tf.reverse(values, axis=[0])
    indices = tf.scan(backward, (frames, reversed_values), initializer=last_token)
    indices = tf.transpose(tf.reverse(indices, axis=[0]), [1, 0])  # [B, T]
    frame_mask = tf.sequence_mask(mel_lengths, max_mel)
    one_hot = tf.one_hot(indices, max_text, dtype=tf.int32) * tf.cast(frame_mask, tf.int32)[:, :, None]
    durations = tf.reduce_sum(one_hot, axis=1)
    return indices, durations


def durations_to_alignment(durations, max_frames=None):
    """Hard alignment ``[B, T, N]`` (float32 one-hot rows) from integer durations ``[B, N]``."""
    durations = tf.cast(durations, tf.int32)
    ends = tf.cumsum(durations, axis=1)
    starts = ends - durations
    if max_frames is None:
        max_frames = tf.reduce_max(ends)
    t = tf.range(max_frames)[None, :, None]
    inside = (t >= starts[:, None, :]) & (t < ends[:, None, :])
    return tf.cast(inside, tf.float32), ends[:, -1]

