"""Mel decoders: a non-autoregressive (duration-based) decoder and a postnet.

The autoregressive decoder lives in :mod:`myxtts.models.ar_decoder`.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from myxtts.models.layers import (ConvStack, TransformerBlock, apply_mask, sinusoidal_positions,
                                  tracked_list)


class DurationPredictor(keras.layers.Layer):
    """Predicts ``log(1 + frames)`` for every token from the speaker-conditioned encoding."""

    def __init__(self, channels: int, layers: int, dropout: float, **kw):
        super().__init__(**kw)
        self.stack = ConvStack(channels, layers, 3, dropout, out_dim=1)

    def call(self, x, mask, training=False):
        return tf.cast(self.stack(x, mask, training=training)[..., 0], tf.float32)


class FrameDecoder(keras.layers.Layer):
    """Transformer blocks over frame-rate features; emits mel frames and stop logits.

    With ``reduction`` r > 1 the blocks run on groups of r consecutive frames (r times
    fewer positions, roughly r times less compute) and each position emits r frames.
    """

    def __init__(self, hidden_dim: int, layers: int, num_heads: int, ffn_dim: int,
                 kernel_size: int, dropout: float, n_mels: int, reduction: int = 1,
                 film: bool = False, **kw):
        super().__init__(**kw)
        self.hidden_dim = hidden_dim
        self.n_mels = n_mels
        self.reduction = reduction
        self.group = keras.layers.Dense(hidden_dim) if reduction > 1 else None
        self.blocks = tracked_list(self, "block", [
            TransformerBlock(hidden_dim, num_heads, ffn_dim, kernel_size, dropout)
            for _ in range(layers)])
        # FiLM: each block's output scaled and shifted by the speaker vector (zero-initialised,
        # so training starts from the plain decoder).
        self.film = tracked_list(self, "film", [
            keras.layers.Dense(2 * hidden_dim, kernel_initializer="zeros")
            for _ in range(layers)]) if film else []
        self.mel_out = keras.layers.Dense(n_mels * reduction)
        self.stop_out = keras.layers.Dense(reduction)

    def call(self, x, mask, training=False, speaker=None):
        """``speaker`` ``[B, 1, C]``: the speaker vector, needed when the decoder has FiLM."""
        r = self.reduction
        frames = tf.shape(x)[1]
        lengths = tf.reduce_sum(tf.cast(mask, tf.int32), axis=1)
        if r > 1:
            padded = -(-frames // r) * r
            x = tf.pad(x, [[0, 0], [0, padded - frames], [0, 0]])
            x = self.group(tf.reshape(x, [tf.shape(x)[0], padded // r, r * x.shape[-1]]))
            mask = tf.sequence_mask(-(-lengths // r), padded // r)
        x = x + sinusoidal_positions(tf.shape(x)[1], self.hidden_dim, x.dtype)[None]
        x = apply_mask(x, mask)
        for i, block in enumerate(self.blocks):
            x = block(x, mask, training=training)
            if self.film:
                scale, shift = tf.split(tf.cast(self.film[i](speaker), x.dtype), 2, axis=-1)
                x = apply_mask(x * (1.0 + scale) + shift, mask)
        mel = tf.reshape(self.mel_out(x), [tf.shape(x)[0], -1, self.n_mels])[:, :frames]
        stop = tf.reshape(tf.cast(self.stop_out(x), tf.float32), [tf.shape(x)[0], -1])[:, :frames]
        full_mask = tf.sequence_mask(lengths, frames)
        return apply_mask(mel, full_mask), stop


class Postnet(keras.layers.Layer):
    """Residual convolutional refinement of the decoder's mel (tanh conv stack)."""

    def __init__(self, channels: int, layers: int, kernel_size: int, dropout: float,
                 n_mels: int, **kw):
        super().__init__(**kw)
        self.stack = ConvStack(channels, max(layers - 1, 1), kernel_size, dropout,
                               out_dim=n_mels, activation="tanh")

    def call(self, mel, mask, training=False):
        return mel + self.stack(mel, mask, training=training)
