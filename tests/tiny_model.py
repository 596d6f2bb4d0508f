"""A very small model for tests: seconds per trace, same architecture as the presets."""

from __future__ import annotations

from myxtts.config.config import XTTSConfig


def shrink_model(config: XTTSConfig, decoder_layers: int = 1, postnet_layers: int = 2) -> XTTSConfig:
    """Set ``config.model`` to a tiny width and depth (in place) and return ``config``."""
    m = config.model
    m.hidden_dim, m.num_heads, m.ffn_dim = 64, 2, 128
    m.text_encoder_layers, m.decoder_layers = 1, decoder_layers
    m.postnet_layers, m.postnet_dim = postnet_layers, 32
    m.duration_predictor_dim, m.reference_encoder_dim = 32, 32
    m.speaker_latent_dim, m.aligner_dim = 16, 32
    return config
