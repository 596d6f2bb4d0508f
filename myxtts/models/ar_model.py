"""XTTS model variant with the autoregressive decoder (``decoder_strategy: autoregressive``).

Same text encoder, reference encoder and postnet as :class:`XTTSModel`; alignment is
learned by the decoder's cross-attention (guided-attention loss) instead of an aligner.
"""

from __future__ import annotations

import tensorflow as tf

from myxtts.models.ar_decoder import ARDecoder
from myxtts.models.layers import apply_mask
from myxtts.models.xtts import XTTSModel


class ARXTTSModel(XTTSModel):
    """Autoregressive decoding with a stop token."""

    def __init__(self, config, n_mels: int, num_symbols: int, num_languages: int = 1, **kw):
        super().__init__(config, n_mels, num_symbols, num_languages, **kw)
        c = config
        self.ar_decoder = ARDecoder(c.hidden_dim, c.decoder_layers, c.num_heads, c.ffn_dim,
                                    c.dropout, n_mels, c.reduction_factor, c.prenet_dim,
                                    c.prenet_dropout)

    def _previous_frames(self, mel, steps):
        """Last frame of each previous group (zeros for the first step)."""
        r = self.config.reduction_factor
        padded = tf.pad(mel, [[0, 0], [0, steps * r - tf.shape(mel)[1]], [0, 0]])
        last = padded[:, r - 1::r, :][:, : steps - 1]
        return tf.pad(last, [[0, 0], [1, 0], [0, 0]])

    def call(self, batch, training=False):
        mel, mel_lengths = batch["mel"], batch["mel_lengths"]
        r = self.config.reduction_factor
        text_mask, _, encoded, speaker, mu, logvar, z, spectrum = self._encode(
            batch["text_ids"], batch["text_lengths"], batch["ref_mel"], batch["ref_lengths"],
            training, training, batch.get("language_ids"))
        frames = tf.shape(mel)[1]
        steps = -(-frames // r)
        dec_lengths = -(-mel_lengths // r)
        dec_mask = tf.sequence_mask(dec_lengths, steps)
        previous = tf.cast(self._previous_frames(mel, steps), encoded.dtype)
        mel_before, stop, alignments = self.ar_decoder(previous, dec_mask, encoded, text_mask,
                                                       speaker, training=training)
        mel_mask = tf.sequence_mask(mel_lengths, frames)
        mel_before = self.add_spectrum(apply_mask(mel_before[:, :frames], mel_mask), spectrum,
                                       mel_mask)
        mel_after = self.postnet(mel_before, mel_mask, training=training)
        return {
            "mel_before": tf.cast(mel_before, tf.float32),
            "mel_after": tf.cast(mel_after, tf.float32),
            "stop_logits": stop[:, :frames],
            **self.speaker_outputs(batch, mu, logvar, z, training),
            "alignments": alignments,
            "decoder_lengths": dec_lengths,
        }

    def generate(self, text_ids, text_lengths, ref_mel=None, ref_lengths=None, speed=1.0,
                 max_frames=None, language_ids=None, speaker_latent=None):
        """Greedy autoregressive synthesis until every item's stop probability passes
        ``stop_threshold`` or ``max_decoder_steps`` (or ``max_frames``, if smaller) frames.
        ``speed`` is ignored."""
        r = self.config.reduction_factor
        text_mask, _, encoded, speaker, _, _, _, spectrum = self._encode(
            text_ids, text_lengths, ref_mel, ref_lengths, training=False, sample=False,
            language_ids=language_ids, speaker_latent=speaker_latent)
        batch = tf.shape(text_ids)[0]
        previous = tf.zeros([batch, 1, self.n_mels], encoded.dtype)
        lengths = tf.fill([batch], -1)
        limit = self.config.max_decoder_steps
        if max_frames is not None:
            limit = min(limit, int(max_frames))
        max_steps = max(limit // r, 1)
        mel = None
        for step in range(max_steps):
            steps = step + 1
            dec_mask = tf.ones([batch, steps], tf.bool)
            mel, stop, _ = self.ar_decoder(previous, dec_mask, encoded, text_mask, speaker)
            mel = self.add_spectrum(mel, spectrum)  # as in training
            group_stop = tf.reduce_max(tf.sigmoid(stop[:, -r:]), axis=1)
            done = (group_stop > self.config.stop_threshold) & (lengths < 0)
            lengths = tf.where(done, steps * r, lengths)
            if bool(tf.reduce_all(lengths >= 0)):
                break
            previous = tf.concat([previous, mel[:, -1:, :]], axis=1)
        frames = tf.shape(mel)[1]
        lengths = tf.where(lengths < 0, frames, lengths)
        mel_mask = tf.sequence_mask(lengths, frames)
        mel_after = self.postnet(apply_mask(mel, mel_mask), mel_mask, training=False)
        return tf.cast(mel_after, tf.float32), lengths, None
