"""The neural vocoder: log-mel frames -> waveform, at frame rate with an inverse-STFT head.

A Vocos-style generator (Siuzdenko et al., 2023): a convolutional embedding of the
un-normalised log-mel (:func:`myxtts.audio.features.log_mel`), a stack of ConvNeXt blocks
that all run at the mel frame rate (one frame per ``hop_length`` samples), and a linear
head that predicts, per frame, the log-magnitude and the phase of an ``n_fft``-point STFT.
``tf.signal.inverse_stft`` turns them into samples. Nothing runs at the sample rate, which
is what makes it cheap to train and run on a CPU.

With a magnitude prior (``vocoder.magnitude_prior``, after FreeV, Lv et al., 2024), the
predicted log-magnitude is a correction added to the log of the mel's pseudo-inverse
(what Griffin-Lim starts from), so the network learns the residual and the phase instead of
rebuilding the spectral envelope from scratch.

Output frame ``t`` is centred on sample ``t * hop_length`` like the mel analysis
(``center=True``), so ``T`` mel frames give ``T * hop_length`` samples.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from myxtts.audio.features import tf_log_mel
from myxtts.config.config import AudioConfig
from myxtts.models.layers import tracked_list

#: Largest predicted log-magnitude (exp(10) ~ 2e4, far above any real STFT bin).
_MAX_LOG_MAGNITUDE = 10.0
#: Smallest linear magnitude of the prior (the pseudo-inverse dips below zero).
_PRIOR_FLOOR = 1e-5


class ConvNeXtBlock(keras.layers.Layer):
    """Depthwise conv -> LayerNorm -> pointwise expand -> GELU -> pointwise project, scaled
    and added back (ConvNeXt, 1-D)."""

    def __init__(self, channels: int, expansion: int, kernel_size: int, layer_scale: float,
                 **kw):
        super().__init__(**kw)
        self.depthwise = keras.layers.DepthwiseConv1D(kernel_size, padding="same")
        self.norm = keras.layers.LayerNormalization(epsilon=1e-6)
        self.expand = keras.layers.Dense(channels * expansion)
        self.project = keras.layers.Dense(channels)
        self.gamma = self.add_weight(
            name="gamma", shape=(channels,),
            initializer=keras.initializers.Constant(layer_scale))

    def call(self, x):
        y = self.norm(self.depthwise(x))
        y = self.project(tf.nn.gelu(self.expand(y)))
        return x + self.gamma * y


class VocoderGenerator(keras.Model):
    """``[B, T, n_mels]`` un-normalised log-mels -> ``[B, T * hop_length]`` waveforms.

    ``inverse_basis`` (``[n_fft/2 + 1, n_mels]``, the mel filterbank's pseudo-inverse) turns
    on the magnitude prior (a constant, not a weight). ``level_audio`` (the mel definition)
    turns on level matching in :meth:`call`: each output is scaled so its mel energy equals
    the input mel's (overlap-add of imperfectly consistent frames cancels part of the energy
    the generator predicts)."""

    def __init__(self, n_mels: int, n_fft: int, hop_length: int, channels: int = 256,
                 blocks: int = 6, kernel_size: int = 7, expansion: int = 3,
                 inverse_basis: np.ndarray | None = None,
                 level_audio: AudioConfig | None = None, **kw):
        super().__init__(**kw)
        if n_fft < 2 * hop_length:
            raise ValueError(f"n_fft ({n_fft}) must be at least 2 x hop_length ({hop_length})")
        self.n_mels, self.n_fft, self.hop_length = n_mels, n_fft, hop_length
        if inverse_basis is not None and inverse_basis.shape != (n_fft // 2 + 1, n_mels):
            raise ValueError(f"inverse_basis must be [{n_fft // 2 + 1}, {n_mels}], "
                             f"got {list(inverse_basis.shape)}")
        self._inverse_basis = None if inverse_basis is None else \
            np.asarray(inverse_basis, np.float32).T.copy()  # [n_mels, bins]
        self.level_audio = level_audio
        self.embed = keras.layers.Conv1D(channels, kernel_size, padding="same")
        self.embed_norm = keras.layers.LayerNormalization(epsilon=1e-6)
        self.blocks = tracked_list(self, "block", [
            ConvNeXtBlock(channels, expansion, kernel_size, 1.0 / blocks) for _ in range(blocks)])
        self.out_norm = keras.layers.LayerNormalization(epsilon=1e-6)
        self.head = keras.layers.Dense(n_fft + 2)  # (n_fft/2 + 1) log-magnitudes and phases

    def log_magnitude_phase(self, log_mel):
        """Predicted STFT ``[B, T, n_fft/2 + 1]`` as natural-log magnitudes and phases
        (radians, not wrapped)."""
        x = self.embed_norm(self.embed(log_mel))
        for block in self.blocks:
            x = block(x)
        log_mag, phase = tf.split(self.head(self.out_norm(x)), 2, axis=-1)
        log_mag = tf.cast(log_mag, tf.float32)
        if self._inverse_basis is not None:
            prior = tf.matmul(tf.exp(tf.cast(log_mel, tf.float32)),
                              tf.constant(self._inverse_basis))
            log_mag += tf.math.log(tf.maximum(prior, _PRIOR_FLOOR))
        return tf.minimum(log_mag, _MAX_LOG_MAGNITUDE), tf.cast(phase, tf.float32)

    def waveform(self, log_mag, phase):
        """Inverse STFT of :meth:`log_magnitude_phase`'s output: ``[B, T * hop_length]``."""
        magnitude = tf.exp(log_mag)
        spec = tf.complex(magnitude * tf.cos(phase), magnitude * tf.sin(phase))
        frames = tf.shape(spec)[1]
        wav = tf.signal.inverse_stft(
            spec, frame_length=self.n_fft, frame_step=self.hop_length, fft_length=self.n_fft,
            window_fn=tf.signal.inverse_stft_window_fn(self.hop_length))
        start = self.n_fft // 2  # frame t starts at t*hop; the analysis centred it there
        return wav[:, start:start + frames * self.hop_length]

    def level_gain(self, log_mel, wav):
        """``[B, 1]`` factor that gives ``wav`` the mel energy of ``log_mel`` (its mel by
        :func:`~myxtts.audio.features.tf_log_mel`, the one mel definition)."""
        wanted = tf.reduce_sum(tf.exp(2.0 * tf.cast(log_mel, tf.float32)), axis=[1, 2])
        got = tf.reduce_sum(tf.exp(2.0 * tf_log_mel(wav, self.level_audio)), axis=[1, 2])
        return tf.sqrt(wanted / tf.maximum(got, 1e-12))[:, None]

    def call(self, log_mel):
        wav = self.waveform(*self.log_magnitude_phase(log_mel))
        if self.level_audio is None:
            return wav
        return wav * self.level_gain(log_mel, wav)


class SpectrogramDiscriminator(keras.layers.Layer):
    """Judges one STFT resolution of a waveform: 2-D convolutions over (time, frequency)
    of the magnitude spectrogram, striding along frequency (UnivNet / Vocos "MRD").
    Returns per-position logits and the intermediate feature maps (feature matching)."""

    def __init__(self, fft: int, hop: int, channels: int = 16, **kw):
        super().__init__(**kw)
        self.fft, self.hop = fft, hop
        # Frequency is strided from the first layer on: the cost stays small on a CPU.
        self.convs = tracked_list(self, "conv", [
            keras.layers.Conv2D(channels, (3, 9), strides=(1, 2), padding="same"),
            keras.layers.Conv2D(channels, (3, 9), strides=(1, 2), padding="same"),
            keras.layers.Conv2D(channels, (3, 9), strides=(1, 2), padding="same"),
            keras.layers.Conv2D(channels, (3, 3), padding="same")])
        self.out = keras.layers.Conv2D(1, (3, 3), padding="same")

    def call(self, wav):
        spec = tf.abs(tf.signal.stft(wav, self.fft, self.hop, self.fft, pad_end=True))
        x = tf.math.log1p(spec)[..., None]
        features = []
        for conv in self.convs:
            x = tf.nn.leaky_relu(conv(x), 0.1)
            features.append(x)
        return self.out(x), features


class MultiResolutionDiscriminator(keras.Model):
    """Spectrogram discriminators at three STFT resolutions; ``call`` returns a list of
    (logits, features) pairs."""

    RESOLUTIONS = ((512, 128), (1024, 256), (2048, 512))

    def __init__(self, channels: int = 16, **kw):
        super().__init__(**kw)
        self.judges = tracked_list(self, "judge", [
            SpectrogramDiscriminator(fft, hop, channels) for fft, hop in self.RESOLUTIONS])

    def call(self, wav):
        return [judge(wav) for judge in self.judges]
