"""Building blocks shared by encoders and decoders.

Masks are boolean (``True`` = a real frame/token) and are applied once per block:
padded positions are zeroed before every convolution and excluded as attention keys,
so the outputs at real positions never depend on how much padding a batch carries.
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf


def tracked_list(owner, name: str, layers) -> list:
    """Return ``layers`` as a list, also set as attributes ``{name}_0``, ``{name}_1``, ...

    Keras follows layers held in Python lists, but ``tf.train.Checkpoint`` does not:
    without the attributes their weights would silently be left out of checkpoints.
    """
    layers = list(layers)
    for i, layer in enumerate(layers):
        setattr(owner, f"{name}_{i}", layer)
    return layers


def sequence_mask(lengths: tf.Tensor, maxlen: tf.Tensor | int) -> tf.Tensor:
    """Boolean ``[B, maxlen]`` mask, True where the index is below the length."""
    return tf.sequence_mask(lengths, maxlen=maxlen)


def apply_mask(x: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
    """Zero the padded positions of ``x`` (``[B, T, C]``) given a boolean ``[B, T]`` mask."""
    return x * tf.cast(mask, x.dtype)[:, :, None]


def sinusoidal_positions(length: tf.Tensor, dim: int, dtype=tf.float32) -> tf.Tensor:
    """``[length, dim]`` sinusoidal position encoding."""
    half = dim // 2
    positions = tf.cast(tf.range(length), tf.float32)[:, None]
    freqs = tf.exp(-math.log(10000.0) * tf.range(half, dtype=tf.float32) / max(half - 1, 1))
    angles = positions * freqs[None, :]
    enc = tf.concat([tf.sin(angles), tf.cos(angles)], axis=-1)
    if dim % 2:
        enc = tf.pad(enc, [[0, 0], [0, 1]])
    return tf.cast(enc, dtype)


class ConvFeedForward(keras.layers.Layer):
    """Position-wise feed-forward made of two 1-D convolutions (FastSpeech style)."""

    def __init__(self, hidden_dim: int, ffn_dim: int, kernel_size: int, dropout: float, **kw):
        super().__init__(**kw)
        self.conv1 = keras.layers.Conv1D(ffn_dim, kernel_size, padding="same", activation="relu")
        self.conv2 = keras.layers.Conv1D(hidden_dim, 1)
        self.dropout = keras.layers.Dropout(dropout)

    def call(self, x, mask, training=False):
        h = self.conv1(apply_mask(x, mask))
        h = self.dropout(h, training=training)
        return self.conv2(apply_mask(h, mask))


class TransformerBlock(keras.layers.Layer):
    """Self-attention + convolutional feed-forward, post-norm, with a boolean padding mask."""

    def __init__(self, hidden_dim: int, num_heads: int, ffn_dim: int, kernel_size: int,
                 dropout: float, **kw):
        super().__init__(**kw)
        self.attention = keras.layers.MultiHeadAttention(
            num_heads=num_heads, key_dim=hidden_dim // num_heads, dropout=dropout)
        self.norm1 = keras.layers.LayerNormalization(epsilon=1e-5)
        self.ffn = ConvFeedForward(hidden_dim, ffn_dim, kernel_size, dropout)
        self.norm2 = keras.layers.LayerNormalization(epsilon=1e-5)
        self.dropout = keras.layers.Dropout(dropout)

    def call(self, x, mask, training=False):
        attention_mask = mask[:, None, :] & mask[:, :, None]
        h = self.attention(x, x, attention_mask=attention_mask, training=training)
        x = self.norm1(x + self.dropout(h, training=training))
        h = self.ffn(x, mask, training=training)
        x = self.norm2(x + self.dropout(h, training=training))
        return apply_mask(x, mask)


class ConvStack(keras.layers.Layer):
    """Masked Conv1D -> LayerNorm -> activation -> dropout, repeated; optional output projection."""

    def __init__(self, channels: int, layers: int, kernel_size: int, dropout: float,
                 out_dim: int | None = None, activation: str = "relu", **kw):
        super().__init__(**kw)
        self.convs = tracked_list(self, "conv", [keras.layers.Conv1D(channels, kernel_size, padding="same")
                                                 for _ in range(layers)])
        self.norms = tracked_list(self, "norm", [keras.layers.LayerNormalization(epsilon=1e-5)
                                                 for _ in range(layers)])
        self.activation = keras.activations.get(activation)
        self.dropout = keras.layers.Dropout(dropout)
        self.out = keras.layers.Dense(out_dim) if out_dim else None

    def call(self, x, mask, training=False):
        for conv, norm in zip(self.convs, self.norms):
            x = self.dropout(self.activation(norm(conv(apply_mask(x, mask)))), training=training)
        if self.out is not None:
            x = self.out(x)
        return apply_mask(x, mask)
