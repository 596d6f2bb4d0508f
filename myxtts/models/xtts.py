"""The XTTS-style model: text encoder, reference-audio speaker encoder, learned aligner,
duration predictor, mel decoder with stop token, and postnet.

``call`` is the train-time (teacher-forced) forward pass returning the output dict the
loss consumes; ``generate`` is free-running synthesis from text and a reference mel.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from myxtts.config.config import ModelConfig
from myxtts.models.alignment import Aligner, durations_to_alignment, monotonic_alignment_search
from myxtts.models.decoders import DurationPredictor, FrameDecoder, Postnet
from myxtts.models.encoders import ReferenceEncoder, TextEncoder
from myxtts.models.layers import apply_mask


def _latent_noise(shape, seed) -> tf.Tensor:
    """Standard-normal noise for this replica's rows of the global batch.

    Under ``tf.distribute`` every replica reads the same seed state, so each drawing
    ``shape`` would repeat the others' noise. Replica ``i`` of ``n`` trains on rows ``i::n``
    of the global batch (see ``myxtts.training.step``): drawing the global batch's noise and
    keeping those rows gives every row its own noise, the same as on one device.
    """
    ctx = tf.distribute.get_replica_context()
    n = ctx.num_replicas_in_sync if ctx is not None else 1
    if n == 1:
        return keras.random.normal(shape, seed=seed)
    full = keras.random.normal(tf.concat([shape[:1] * n, shape[1:]], 0), seed=seed)
    return full[ctx.replica_id_in_sync_group::n]


class XTTSModel(keras.Model):
    """Voice-cloning TTS model (non-autoregressive decoding with learned durations)."""

    def __init__(self, config: ModelConfig, n_mels: int, num_symbols: int,
                 num_languages: int = 1, **kw):
        super().__init__(**kw)
        c = config
        self.config = c
        self.n_mels = n_mels
        self.num_languages = num_languages
        self.text_encoder = TextEncoder(num_symbols, c.hidden_dim, c.text_encoder_layers,
                                        c.num_heads, c.ffn_dim, c.ffn_kernel_size, c.dropout)
        # Only multilingual models have it, so single-language checkpoints (all older ones)
        # keep exactly their variables.
        self.language_embedding = (keras.layers.Embedding(num_languages, c.hidden_dim)
                                   if num_languages > 1 else None)
        self.reference_encoder = ReferenceEncoder(c.reference_encoder_dim, c.speaker_latent_dim,
                                                  c.dropout)
        # The reference's average mel spectrum goes to the decoder beside the latent, and the
        # decoder predicts the mel around it (VOICE_CLONING.md): off in checkpoints saved
        # before it existed (their stored config has no key; see STORED_CONFIG_FALLBACKS).
        self.reference_spectrum = bool(c.reference_spectrum)
        self.speaker_projection = keras.layers.Dense(c.hidden_dim)
        self.latent_seed = keras.random.SeedGenerator(0)  # checkpointed: exact resume
        if c.decoder_strategy == "non_autoregressive":
            self.aligner = Aligner(c.aligner_dim, n_mels, c.hidden_dim, c.aligner_temperature)
            self.duration_predictor = DurationPredictor(c.duration_predictor_dim,
                                                        c.duration_predictor_layers, c.dropout)
            self.decoder = FrameDecoder(c.hidden_dim, c.decoder_layers, c.num_heads, c.ffn_dim,
                                        c.ffn_kernel_size, c.dropout, n_mels, c.reduction_factor,
                                        film=c.speaker_film)
        self.postnet = Postnet(c.postnet_dim, c.postnet_layers, c.postnet_kernel_size,
                               c.dropout, n_mels)

    # -- shared pieces -------------------------------------------------------------
    def _language(self, text_ids, language_ids):
        """``[B, hidden]`` language vectors (None for a single-language model); missing
        ``language_ids`` mean language 0, the default."""
        if self.language_embedding is None:
            return None
        if language_ids is None:
            language_ids = tf.zeros([tf.shape(text_ids)[0]], tf.int32)
        return self.language_embedding(language_ids)

    def speaker_posterior(self, ref_mel, ref_lengths, training=False):
        """Mean and log-variance ``[B, latent_dim]`` of the speaker latent of reference mels."""
        ref_mask = tf.sequence_mask(ref_lengths, tf.shape(ref_mel)[1])
        return self.reference_encoder(ref_mel, ref_mask, training=training)

    @staticmethod
    def spectrum_of(ref_mel, ref_lengths):
        """Average normalised mel spectrum ``[B, n_mels]`` over each reference's frames."""
        mask = tf.cast(tf.sequence_mask(ref_lengths, tf.shape(ref_mel)[1]), tf.float32)
        total = tf.reduce_sum(tf.cast(ref_mel, tf.float32) * mask[:, :, None], axis=1)
        return total / tf.maximum(tf.reduce_sum(mask, axis=1, keepdims=True), 1.0)

    @property
    def speaker_code_dim(self) -> int:
        """Size of a speaker code, what inference stores and averages for a voice
        (:func:`myxtts.models.speaker_latents.mel_latents`): the posterior mean, followed by
        the reference's average spectrum when the model uses it."""
        return self.config.speaker_latent_dim + (self.n_mels if self.reference_spectrum else 0)

    def _encode(self, text_ids, text_lengths, ref_mel, ref_lengths, training, sample,
                language_ids=None, speaker_latent=None):
        """Text encoding with the voice added. The voice is the reference's posterior (a
        sample of it when ``sample``) or a given ``speaker_latent`` (a speaker code, see
        :attr:`speaker_code_dim`). Returns the text mask, embeddings, encoding, the speaker
        vector ``[B, 1, hidden]``, mu, logvar, the latent used and the reference spectrum
        ``[B, n_mels]`` (None when the model does not use it)."""
        text_mask = tf.sequence_mask(text_lengths, tf.shape(text_ids)[1])
        embedded, encoded = self.text_encoder(text_ids, text_mask, training=training,
                                              language=self._language(text_ids, language_ids))
        spectrum = None
        if speaker_latent is None:
            mu, logvar = self.speaker_posterior(ref_mel, ref_lengths, training=training)
            if self.reference_spectrum:
                spectrum = self.spectrum_of(ref_mel, ref_lengths)
        else:  # a given code (averaged clips, a trained speaker's mean): no reference mel
            code = tf.convert_to_tensor(speaker_latent, tf.float32)
            width = self.config.speaker_latent_dim
            if code.shape[-1] is not None and code.shape[-1] != self.speaker_code_dim:
                raise ValueError(f"speaker latent has {code.shape[-1]} values; this model "
                                 f"takes {self.speaker_code_dim}")
            mu = code[:, :width]
            if self.reference_spectrum:
                spectrum = code[:, width:]
            logvar = tf.zeros_like(mu)
        z = mu
        if sample:
            z = mu + tf.exp(0.5 * logvar) * _latent_noise(tf.shape(mu), self.latent_seed)
        condition = z if spectrum is None else tf.concat([z, spectrum], axis=-1)
        speaker = tf.cast(self.speaker_projection(condition), encoded.dtype)[:, None, :]
        encoded = apply_mask(encoded + speaker, text_mask)
        return text_mask, embedded, encoded, speaker, mu, logvar, z, spectrum

    @staticmethod
    def add_spectrum(mel, spectrum, mel_mask=None):
        """The decoder's mel plus the reference spectrum on every frame (then masked by
        ``mel_mask`` when given); ``mel`` itself when the model uses no spectrum."""
        if spectrum is None:
            return mel
        mel = mel + tf.cast(spectrum, mel.dtype)[:, None, :]
        return mel if mel_mask is None else apply_mask(mel, mel_mask)

    def speaker_outputs(self, batch, mu, logvar, z, training):
        """The speaker entries of the train-time outputs: the reference's posterior
        (``speaker_mu``, ``speaker_logvar``), the latent the decoder saw (``speaker_z``, a
        sample when training) and the posterior mean of a crop of the target utterance
        itself (``speaker_mu_target``, its first frames, as many as the longest reference of
        the batch), which the speaker loss contrasts with ``speaker_z``: another clip of the
        same voice, always."""
        width = tf.cast(tf.reduce_max(batch["ref_lengths"]), tf.int32)
        target = batch["mel"][:, :width]
        lengths = tf.minimum(tf.cast(batch["mel_lengths"], tf.int32), tf.shape(target)[1])
        mu_target, _ = self.speaker_posterior(target, lengths, training=training)
        return {"speaker_mu": mu, "speaker_logvar": logvar, "speaker_z": z,
                "speaker_mu_target": mu_target}

    def _decode(self, encoded, alignment, speaker, spectrum, mel_mask, training):
        frames = tf.matmul(tf.cast(alignment, encoded.dtype), encoded) + speaker
        frames = apply_mask(frames, mel_mask)
        mel_before, stop_logits = self.decoder(frames, mel_mask, training=training,
                                               speaker=speaker)
        mel_before = self.add_spectrum(mel_before, spectrum, mel_mask)
        mel_after = self.postnet(mel_before, mel_mask, training=training)
        return mel_before, mel_after, stop_logits

    # -- training forward ----------------------------------------------------------
    def call(self, batch, training=False):
        text_ids, text_lengths = batch["text_ids"], batch["text_lengths"]
        mel, mel_lengths = batch["mel"], batch["mel_lengths"]
        text_mask, embedded, encoded, speaker, mu, logvar, z, spectrum = self._encode(
            text_ids, text_lengths, batch["ref_mel"], batch["ref_lengths"], training, training,
            batch.get("language_ids"))
        max_text, max_mel = tf.shape(text_ids)[1], tf.shape(mel)[1]
        mel_mask = tf.sequence_mask(mel_lengths, max_mel)
        attn_logprob, aligner_logprob = self.aligner(
            embedded, text_mask, tf.cast(mel, embedded.dtype), mel_mask, text_lengths, mel_lengths)
        _, durations = monotonic_alignment_search(attn_logprob, text_lengths, mel_lengths)
        alignment, _ = durations_to_alignment(durations, max_mel)
        log_duration_pred = self.duration_predictor(tf.stop_gradient(encoded), text_mask,
                                                    training=training)
        mel_before, mel_after, stop_logits = self._decode(encoded, alignment, speaker, spectrum,
                                                          mel_mask, training)
        return {
            "mel_before": tf.cast(mel_before, tf.float32),
            "mel_after": tf.cast(mel_after, tf.float32),
            "stop_logits": stop_logits,
            **self.speaker_outputs(batch, mu, logvar, z, training),
            "attn_logprob": attn_logprob,
            "aligner_logprob": aligner_logprob,
            "log_duration_pred": log_duration_pred,
            "durations": durations,
        }

    # -- free-running synthesis ----------------------------------------------------
    def predict_durations(self, log_duration_pred, text_lengths, speed=1.0):
        """Integer frames per token (>= 1 for real tokens, 0 for padding)."""
        frames = tf.round((tf.exp(log_duration_pred) - 1.0) / speed)
        frames = tf.maximum(frames, 1.0)
        mask = tf.sequence_mask(text_lengths, tf.shape(log_duration_pred)[1])
        return tf.cast(frames, tf.int32) * tf.cast(mask, tf.int32)

    def generate(self, text_ids, text_lengths, ref_mel=None, ref_lengths=None, speed=1.0,
                 max_frames=None, language_ids=None, speaker_latent=None):
        """Synthesise normalised mels ``[B, T, M]`` and their lengths ``[B]``.

        ``language_ids`` ``[B]`` pick each item's language (None = language 0, the default).
        The voice is ``speaker_latent`` (a speaker code ``[B, speaker_code_dim]``) when
        given, else the reference mels.

        With ``max_frames``, an item whose predicted durations add up to more frames is
        sped up to about that length (at most ``max_frames`` plus one frame per token),
        which bounds the cost of decoding an untrained or diverged duration predictor.
        """
        _, _, encoded, speaker, _, _, _, spectrum = self._encode(
            text_ids, text_lengths, ref_mel, ref_lengths, training=False, sample=False,
            language_ids=language_ids, speaker_latent=speaker_latent)
        text_mask = tf.sequence_mask(text_lengths, tf.shape(text_ids)[1])
        log_dur = self.duration_predictor(encoded, text_mask, training=False)
        durations = self.predict_durations(log_dur, text_lengths, speed)
        durations = tf.minimum(durations, self.config.max_decoder_steps)
        if max_frames is not None:
            frames = tf.cast(durations, tf.float32)
            total = tf.reduce_sum(frames, axis=1, keepdims=True)
            scale = tf.minimum(1.0, float(max_frames) / tf.maximum(total, 1.0))
            shorter = tf.cast(tf.maximum(tf.floor(frames * scale), 1.0), tf.int32)
            durations = tf.where(durations > 0, shorter, 0)
        alignment, mel_lengths = durations_to_alignment(durations)
        mel_mask = tf.sequence_mask(mel_lengths, tf.shape(alignment)[1])
        _, mel_after, stop_logits = self._decode(encoded, alignment, speaker, spectrum, mel_mask,
                                                 False)
        return tf.cast(mel_after, tf.float32), mel_lengths, durations
