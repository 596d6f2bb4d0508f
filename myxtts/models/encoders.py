"""Text encoder and the reference-audio (speaker) conditioning encoder."""

from __future__ import annotations

import keras
import tensorflow as tf

from myxtts.models.layers import (ConvStack, TransformerBlock, apply_mask, sinusoidal_positions,
                                  tracked_list)


class TextEncoder(keras.layers.Layer):
    """Token embedding (+ an optional per-utterance language vector) -> convolutions ->
    transformer blocks.

    Returns both the raw embeddings (fed to the aligner) and the contextual encoding.
    """

    def __init__(self, num_symbols: int, hidden_dim: int, layers: int, num_heads: int,
                 ffn_dim: int, kernel_size: int, dropout: float, **kw):
        super().__init__(**kw)
        self.hidden_dim = hidden_dim
        self.embedding = keras.layers.Embedding(num_symbols, hidden_dim)
        self.prenet = ConvStack(hidden_dim, 2, 5, dropout)
        self.blocks = tracked_list(self, "block", [
            TransformerBlock(hidden_dim, num_heads, ffn_dim, kernel_size, dropout)
            for _ in range(layers)])

    def call(self, text_ids, mask, training=False, language=None):
        embedded = self.embedding(text_ids)
        if language is not None:  # [B, hidden]: the language embedding, added to every token
            embedded = embedded + tf.cast(language, embedded.dtype)[:, None, :]
        embedded = apply_mask(embedded, mask)
        x = self.prenet(embedded, mask, training=training)
        x = x + sinusoidal_positions(tf.shape(x)[1], self.hidden_dim, x.dtype)[None]
        x = apply_mask(x, mask)
        for block in self.blocks:
            x = block(x, mask, training=training)
        return embedded, x


class ReferenceEncoder(keras.layers.Layer):
    """Maps a reference mel of the target speaker to a Gaussian speaker latent.

    Convolutions over the reference frames, masked mean pooling over time, then the
    mean and log-variance of a ``speaker_latent_dim`` Gaussian (the KL term pulls it
    toward a standard normal, keeping the latent space smooth for cloning unseen voices).
    """

    def __init__(self, channels: int, latent_dim: int, dropout: float, **kw):
        super().__init__(**kw)
        self.convs = ConvStack(channels, 3, 5, dropout)
        self.hidden = keras.layers.Dense(channels, activation="tanh")
        self.mu = keras.layers.Dense(latent_dim)
        self.logvar = keras.layers.Dense(latent_dim, bias_initializer=keras.initializers.Constant(-2.0))

    def call(self, ref_mel, mask, training=False):
        h = self.convs(ref_mel, mask, training=training)
        weights = tf.cast(mask, h.dtype)[:, :, None]
        pooled = tf.reduce_sum(h * weights, axis=1) / tf.maximum(tf.reduce_sum(weights, axis=1), 1.0)
        pooled = self.hidden(pooled)
        mu = tf.cast(self.mu(pooled), tf.float32)
        logvar = tf.clip_by_value(tf.cast(self.logvar(pooled), tf.float32), -10.0, 5.0)
        return mu, logvar
