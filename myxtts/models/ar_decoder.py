"""Autoregressive (XTTS/Transformer-TTS style) mel decoder with a stop token.

Each decoder step consumes the previous group of ``reduction_factor`` frames through a
dropout prenet (dropout stays on at inference, which keeps the decoder from copying its
input) and emits the next group plus a stop logit per frame. Cross-attention over the
text encoding is returned so a guided-attention loss can teach it to be diagonal.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from myxtts.models.layers import apply_mask, sinusoidal_positions, tracked_list


class Prenet(keras.layers.Layer):
    """Two ReLU layers with dropout that is always active."""

    def __init__(self, units: int, dropout: float, **kw):
        super().__init__(**kw)
        self.layers_ = tracked_list(self, "dense", [keras.layers.Dense(units, activation="relu")
                                                    for _ in range(2)])
        self.rate = dropout

    def call(self, x):
        for layer in self.layers_:
            x = layer(x)
            if self.rate > 0:
                x = tf.nn.dropout(x, rate=self.rate)
        return x


class ARDecoderBlock(keras.layers.Layer):
    """Causal self-attention, cross-attention over text, feed-forward (post-norm)."""

    def __init__(self, hidden_dim: int, num_heads: int, ffn_dim: int, dropout: float, **kw):
        super().__init__(**kw)
        key_dim = hidden_dim // num_heads
        self.self_attention = keras.layers.MultiHeadAttention(num_heads, key_dim, dropout=dropout)
        self.cross_attention = keras.layers.MultiHeadAttention(num_heads, key_dim, dropout=dropout)
        self.ffn_in = keras.layers.Dense(ffn_dim, activation="relu")
        self.ffn_out = keras.layers.Dense(hidden_dim)
        self.norms = tracked_list(self, "norm", [keras.layers.LayerNormalization(epsilon=1e-5)
                                                 for _ in range(3)])
        self.dropout = keras.layers.Dropout(dropout)

    def call(self, x, dec_mask, memory, text_mask, training=False):
        steps = tf.shape(x)[1]
        causal = tf.linalg.band_part(tf.ones([steps, steps], tf.bool), -1, 0)[None]
        self_mask = causal & dec_mask[:, None, :] & dec_mask[:, :, None]
        h = self.self_attention(x, x, attention_mask=self_mask, training=training)
        x = self.norms[0](x + self.dropout(h, training=training))
        cross_mask = dec_mask[:, :, None] & text_mask[:, None, :]
        h, scores = self.cross_attention(x, memory, attention_mask=cross_mask,
                                         return_attention_scores=True, training=training)
        x = self.norms[1](x + self.dropout(h, training=training))
        x = self.norms[2](x + self.dropout(self.ffn_out(self.ffn_in(x)), training=training))
        return apply_mask(x, dec_mask), scores


class ARDecoder(keras.layers.Layer):
    """Teacher-forced decoding over grouped frames; see module docstring."""

    def __init__(self, hidden_dim: int, layers: int, num_heads: int, ffn_dim: int,
                 dropout: float, n_mels: int, reduction: int, prenet_dim: int,
                 prenet_dropout: float, **kw):
        super().__init__(**kw)
        self.hidden_dim, self.n_mels, self.reduction = hidden_dim, n_mels, reduction
        self.prenet = Prenet(prenet_dim, prenet_dropout)
        self.input_projection = keras.layers.Dense(hidden_dim)
        self.blocks = tracked_list(self, "block", [ARDecoderBlock(hidden_dim, num_heads, ffn_dim, dropout)
                                                   for _ in range(layers)])
        self.mel_out = keras.layers.Dense(n_mels * reduction)
        self.stop_out = keras.layers.Dense(reduction)

    def call(self, previous_frames, dec_mask, memory, text_mask, speaker, training=False):
        """``previous_frames``: ``[B, steps, n_mels]`` (the last frame of each prior group).

        Returns mel ``[B, steps * r, n_mels]``, stop logits ``[B, steps * r]`` and the
        head-averaged cross-attention of the last block ``[B, steps, N]``.
        """
        x = self.input_projection(self.prenet(previous_frames)) + speaker
        x = x + sinusoidal_positions(tf.shape(x)[1], self.hidden_dim, x.dtype)[None]
        x = apply_mask(x, dec_mask)
        scores = None
        for block in self.blocks:
            x, scores = block(x, dec_mask, memory, text_mask, training=training)
        batch = tf.shape(x)[0]
        mel = tf.reshape(self.mel_out(x), [batch, -1, self.n_mels])
        stop = tf.reshape(tf.cast(self.stop_out(x), tf.float32), [batch, -1])
        alignments = tf.reduce_mean(tf.cast(scores, tf.float32), axis=1)
        return mel, stop, alignments
