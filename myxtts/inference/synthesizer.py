"""Synthesis from a checkpoint: ``Synthesizer.from_checkpoint(path).synthesize(text)``.

Reads the config, symbol table and mel statistics stored in the checkpoint, so it
needs nothing from the training run but the checkpoint itself, and never imports the
trainer.

The voice is a speaker latent: the average latent of one or more reference clips (each
cut into ``data.reference_max_frames``-frame windows, the length training crops to), a
trained speaker's mean latent (``speaker="name"``), or, with neither, the mean latent of
the training speakers stored in the checkpoint.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import tensorflow as tf

from myxtts.audio.features import MelStats, load_wav, log_mel
from myxtts.audio.vocoder import GriffinLimVocoder
from myxtts.config.config import XTTSConfig
from myxtts.models.speaker_latents import SpeakerLatents, mel_latents
from myxtts.text.tokenizer import Tokenizer
from myxtts.training.checkpoints import LoadedCheckpoint, load_checkpoint  # noqa: F401

log = logging.getLogger(__name__)


def reference_frame_limit(config: XTTSConfig) -> int:
    """Frames of reference mel the model sees at once: the training crop length. The
    synthesizer averages the latents of a longer clip's windows; the export cuts it."""
    return config.data.reference_max_frames


class Synthesizer:
    """Text (+ optional reference audio) to waveform."""

    def __init__(self, config: XTTSConfig, model, tokenizer: Tokenizer, stats: MelStats,
                 default_reference: np.ndarray | None = None,
                 speaker_latents: SpeakerLatents | None = None, vocoder=None):
        self.config = config
        self.model = model
        self.tokenizer = tokenizer
        self.stats = stats
        # Any callable log-mel [frames, n_mels] -> audio; Griffin-Lim when none is given.
        self.vocoder = vocoder or GriffinLimVocoder(config.audio)
        self.default_reference = default_reference
        self.speaker_latents = speaker_latents
        self._warned_no_mean = False
        # Free-running decoding as a graph: ~10x faster than eager on a CPU (RTF 0.02 vs
        # 0.23 for the tiny model); shapes generalise after the first traces.
        # The autoregressive decoder's Python loop stays eager.
        self._graph = config.model.decoder_strategy == "non_autoregressive"
        self._generate_fn = (tf.function(model.generate, reduce_retracing=True) if self._graph
                             else model.generate)

    @classmethod
    def from_checkpoint(cls, path: str | Path, vocoder: str = "auto",
                        vocoder_checkpoint: str | Path | None = None) -> "Synthesizer":
        """Load a checkpoint prefix or the latest checkpoint of a run directory.

        ``vocoder``: "auto" (the run's neural vocoder in ``RUN_DIR/vocoder`` or
        ``vocoder_checkpoint`` if there is one, else Griffin-Lim), "neural" (ValueError
        without one) or "griffin_lim".
        """
        from myxtts.inference.vocoders import select_vocoder

        loaded = load_checkpoint(path)
        voc = select_vocoder(vocoder, loaded.config.audio, path, vocoder_checkpoint)
        return cls(loaded.config, loaded.model, Tokenizer(loaded.config.text, loaded.symbols),
                   loaded.stats, speaker_latents=loaded.speaker_latents, vocoder=voc)

    @property
    def languages(self) -> tuple[str, ...]:
        """Languages this checkpoint was trained on (the first is the default)."""
        return self.tokenizer.languages

    @property
    def default_language(self) -> str:
        """The language used when ``language`` is not given."""
        return self.tokenizer.language

    @property
    def sample_rate(self) -> int:
        """Sample rate (Hz) of the waveforms this synthesizer returns."""
        return self.config.audio.sample_rate

    @property
    def speakers(self) -> list[str]:
        """Names of the training speakers whose mean latent the checkpoint stores."""
        return sorted(self.speaker_latents.speakers) if self.speaker_latents else []

    def reference_mel(self, reference_audio: str | Path | None) -> np.ndarray:
        """Normalised mel of a wav file (any sample rate; resampled), whole; AudioError
        naming the file if it is missing, unreadable or silent. ``None``: the
        ``default_reference`` mel, else an all-zero mel (what old checkpoints used)."""
        if reference_audio is None:
            if self.default_reference is not None:
                return self.default_reference
            return np.zeros((self.config.data.reference_max_frames, self.config.audio.n_mels),
                            np.float32)
        return self.stats.normalize(log_mel(load_wav(reference_audio, self.config.audio),
                                            self.config.audio))

    def mel_latent(self, mels: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        """Speaker latent (the model's speaker code, ``[model.speaker_code_dim]``) of one
        normalised mel or the mean over several."""
        mels = [mels] if isinstance(mels, np.ndarray) else list(mels)
        if not mels:
            raise ValueError("no reference mel given")
        return mel_latents(self.model, mels, reference_frame_limit(self.config)).mean(axis=0)

    def default_latent(self) -> np.ndarray:
        """The voice without a reference: the mean latent of the training speakers stored
        in the checkpoint (older checkpoints: the latent of the all-zero mel, with a
        warning, since it is no speaker's voice)."""
        if self.default_reference is not None:
            return self.mel_latent(self.default_reference)
        if self.speaker_latents is not None and self.speaker_latents.mean:
            return np.asarray(self.speaker_latents.mean, np.float32)
        if not self._warned_no_mean:
            log.warning("this checkpoint stores no mean speaker latent (it was saved before "
                        "they were): without a reference the voice is the latent of an all-zero "
                        "mel, which is not the average training voice; give a reference")
            self._warned_no_mean = True
        return self.mel_latent(self.reference_mel(None))

    def reference_latent(self, reference_audio: str | Path | Sequence[str | Path] | None = None,
                         speaker: str | None = None) -> np.ndarray:
        """Speaker latent (speaker code, ``[model.speaker_code_dim]``) of the voice to speak in.

        ``reference_audio``: one wav or a list of wavs of the same voice (their latents are
        averaged); ``speaker``: a training speaker's stored mean latent (ValueError listing
        the known speakers if the name is unknown); neither: :meth:`default_latent`.
        """
        if speaker is not None:
            if reference_audio is not None:
                raise ValueError("give reference audio or a speaker name, not both")
            if self.speaker_latents is None:
                raise ValueError("this checkpoint stores no speaker latents (it was saved "
                                 "before they were); give reference audio instead")
            return self.speaker_latents.latent(speaker)
        if reference_audio is None:
            return self.default_latent()
        paths = [reference_audio] if isinstance(reference_audio, (str, Path)) \
            else list(reference_audio)
        return self.mel_latent([self.reference_mel(p) for p in paths])

    def synthesize_mel(self, text: str, reference_mel: np.ndarray | None = None,
                       speed: float = 1.0, speaker_latent: np.ndarray | None = None,
                       language: str | None = None) -> np.ndarray:
        """Un-normalised log-mel ``[frames, n_mels]`` for ``text``."""
        return self.synthesize_mel_batch([text], reference_mel, speed,
                                         speaker_latent=speaker_latent, language=language)[0]

    def synthesize(self, text: str,
                   reference_audio: str | Path | Sequence[str | Path] | None = None,
                   speed: float = 1.0, speaker: str | None = None,
                   language: str | None = None) -> np.ndarray:
        """Waveform (float32, ``config.audio.sample_rate``) speaking ``text`` in the voice
        of ``reference_audio`` (one wav or a list of wavs of one voice) or of the training
        speaker ``speaker``; with neither, the training speakers' mean voice.

        ``language`` ("en", "fa", ...) picks the normaliser, espeak-ng voice and language
        embedding; None = the checkpoint's default. A language the checkpoint never saw is
        a ValueError naming it and the ones it knows.
        """
        self.tokenizer.resolve_language(language)  # fail before reading the reference
        latent = self.reference_latent(reference_audio, speaker)
        return self.vocoder(self.synthesize_mel(text, speed=speed, speaker_latent=latent,
                                                language=language))

    def synthesize_to_file(self, text: str, path: str | Path,
                           reference_audio: str | Path | Sequence[str | Path] | None = None,
                           speed: float = 1.0, overwrite: bool = False,
                           speaker: str | None = None, language: str | None = None) -> Path:
        """Speak ``text`` into a 16-bit PCM wav at ``path`` (parent folders are created).

        Raises FileExistsError if ``path`` exists (unless ``overwrite``) and
        IsADirectoryError if it is a directory; nothing is synthesised then.
        """
        from myxtts.cli.wav_output import write_wav

        path = Path(path)
        if path.is_dir():
            raise IsADirectoryError(f"{path} is a directory, not a .wav file")
        if path.exists() and not overwrite:
            raise FileExistsError(f"{path} already exists; pass overwrite=True to replace it")
        return write_wav(path, self.synthesize(text, reference_audio, speed, speaker, language),
                         self.sample_rate)

    # ---------------------------------------------------------------- batches

    def synthesize_batch(self, texts: Sequence[str],
                         reference_audio: str | Path | Sequence | None = None,
                         speed: float = 1.0, batch_size: int = 8,
                         speaker: str | None = None,
                         language: str | None = None) -> list[np.ndarray]:
        """Waveforms for ``texts`` (all in ``language``; None = the default), decoding up to
        ``batch_size`` sentences at once.

        ``reference_audio`` is one voice for all texts, or a list with one voice per text
        (a wav, a tuple of wavs of one voice, or None); ``speaker`` names one training
        speaker for all texts. Padding never changes a result: each waveform equals what
        :meth:`synthesize` returns for that text alone (within float tolerance).
        """
        texts = list(texts)
        if isinstance(reference_audio, (str, Path)) or reference_audio is None:
            latents = [self.reference_latent(reference_audio, speaker)] * len(texts)
        else:
            reference_audio = list(reference_audio)
            if len(reference_audio) != len(texts):
                raise ValueError(f"reference_audio has {len(reference_audio)} entries for "
                                 f"{len(texts)} texts; give one per text or a single one")
            cache: dict = {}
            for ref in reference_audio:
                key = tuple(ref) if isinstance(ref, list) else ref
                if key not in cache:
                    cache[key] = self.reference_latent(ref)
            latents = [cache[tuple(r) if isinstance(r, list) else r] for r in reference_audio]
        mels = self.synthesize_mel_batch(texts, speed=speed, batch_size=batch_size,
                                         speaker_latent=np.stack(latents) if texts else None,
                                         language=language)
        return [self.vocoder(mel) for mel in mels]

    def synthesize_mel_batch(self, texts: Sequence[str],
                             reference_mel: np.ndarray | Sequence[np.ndarray] | None = None,
                             speed: float = 1.0, batch_size: int = 8,
                             speaker_latent: np.ndarray | None = None,
                             language: str | None = None) -> list[np.ndarray]:
        """Un-normalised log-mels ``[frames, n_mels]`` for ``texts`` (in ``language``), in
        order.

        The voice: ``speaker_latent`` (``[code_dim]`` for all texts or ``[len(texts),
        code_dim]``, ``code_dim = model.speaker_code_dim``), else ``reference_mel`` (a
        normalised mel ``[frames, n_mels]`` for all texts or a list of them, one per text), else :meth:`default_latent`.
        """
        texts = list(texts)
        if not texts:
            return []
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if not speed > 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        language_id = self.tokenizer.language_id(language)  # ValueError names the language
        tokens = [self.tokenizer.encode(text, language) for text in texts]  # ... or the text
        if speaker_latent is not None:
            latents = np.asarray(speaker_latent, np.float32)
        elif reference_mel is None:
            latents = self.default_latent()
        elif isinstance(reference_mel, np.ndarray):
            latents = self.mel_latent(reference_mel)
        else:
            refs = list(reference_mel)
            if len(refs) != len(texts):
                raise ValueError(f"{len(refs)} reference mels for {len(texts)} texts")
            latents = mel_latents(self.model, refs, reference_frame_limit(self.config))
        if latents.ndim == 1:
            latents = np.repeat(latents[None], len(texts), axis=0)
        if latents.shape[0] != len(texts):
            raise ValueError(f"{latents.shape[0]} speaker latents for {len(texts)} texts")
        out: list[np.ndarray] = []
        for start in range(0, len(texts), batch_size):
            end = start + batch_size
            out += self._generate(tokens[start:end], latents[start:end], speed, language_id)
        return out

    def _generate(self, tokens: list[list[int]], latents: np.ndarray,
                  speed: float, language_id: int = 0) -> list[np.ndarray]:
        """One padded forward pass; returns each item's un-normalised mel, unpadded."""
        pad = self.tokenizer.symbols.pad_id
        ids = np.full((len(tokens), max(map(len, tokens))), pad, np.int32)
        for i, t in enumerate(tokens):
            ids[i, : len(t)] = t
        mel, lengths, _ = self._generate_fn(
            tf.constant(ids), tf.constant([len(t) for t in tokens], tf.int32),
            speed=tf.constant(speed, tf.float32) if self._graph else speed,
            language_ids=tf.fill([len(tokens)], language_id),
            speaker_latent=tf.constant(latents, tf.float32))
        mel, lengths = mel.numpy(), lengths.numpy()
        return [self.stats.denormalize(mel[i, : int(lengths[i])]) for i in range(len(tokens))]
