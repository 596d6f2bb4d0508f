"""Builds the model a config describes."""

from __future__ import annotations

from myxtts.config.config import XTTSConfig


def build_model(config: XTTSConfig, num_symbols: int):
    """The model for ``config.model.decoder_strategy`` (not yet built: call it on a batch).

    More than one language in ``config.text.language_list()`` adds a language embedding.
    """
    languages = len(config.text.language_list())
    if config.model.decoder_strategy == "autoregressive":
        from myxtts.models.ar_model import ARXTTSModel
        return ARXTTSModel(config.model, config.audio.n_mels, num_symbols, languages)
    from myxtts.models.xtts import XTTSModel
    return XTTSModel(config.model, config.audio.n_mels, num_symbols, languages)
