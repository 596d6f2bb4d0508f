"""Speaker metrics: does synthesised speech sound like the voice it should clone?

Embeddings come from resemblyzer's GE2E speaker encoder (its weights ship in the wheel, so
nothing is downloaded); optional extra ``[speaker]`` (``pip install 'myxtts[speaker]'`` or
``pip install -r requirements-speaker.txt``; it pulls PyTorch). On espeak-ng voices it
separates same-voice pairs (mean cosine ~0.83) from different voices (~0.60).

* :func:`speaker_similarity`: cosine between the embedding of an output and its voice's
  centroid (or any reference embedding);
* :func:`identify`: the nearest voice centroid, among all voices, of each embedding;
  the share identified correctly is the speaker-identification accuracy;
* :func:`speaker_scores`: both, per voice and overall, from embeddings and voice labels.

The metric functions take embeddings (numpy), so they work with any encoder.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from myxtts.extras import require

#: Rate resemblyzer's encoder works at (its ``preprocess_wav`` resamples to it).
ENCODER_RATE = 16000


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    if np.any(norm == 0):
        raise ValueError("a speaker embedding is all zeros")
    return x / norm


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarity of embeddings ``a`` and ``b`` (broadcast over leading axes)."""
    return np.sum(_unit(a) * _unit(b), axis=-1)


def centroids(embeddings: Mapping[str, Sequence[np.ndarray]]) -> dict[str, np.ndarray]:
    """Unit-length mean embedding of each voice."""
    if not embeddings:
        raise ValueError("no voices to build centroids from")
    out = {}
    for voice, items in embeddings.items():
        if len(items) == 0:
            raise ValueError(f"voice {voice!r} has no embeddings")
        out[voice] = _unit(np.mean(_unit(np.stack(items)), axis=0))
    return out


def speaker_similarity(embedding: np.ndarray, reference: np.ndarray) -> float:
    """Cosine between an output's embedding and its voice's centroid (or a reference)."""
    return float(cosine(embedding, reference))


def identify(embeddings: np.ndarray, voice_centroids: Mapping[str, np.ndarray]) -> list[str]:
    """Name of the nearest centroid (highest cosine) for each row of ``embeddings``."""
    names = sorted(voice_centroids)
    matrix = _unit(np.stack([voice_centroids[n] for n in names]))
    scores = _unit(np.atleast_2d(embeddings)) @ matrix.T
    return [names[i] for i in np.argmax(scores, axis=1)]


def speaker_scores(embeddings: Sequence[np.ndarray], voices: Sequence[str],
                   voice_centroids: Mapping[str, np.ndarray]) -> dict:
    """Per-voice and mean similarity to the true voice's centroid, and identification
    accuracy among all centroids, for outputs ``embeddings`` meant to be ``voices``."""
    if len(embeddings) != len(voices):
        raise ValueError(f"{len(embeddings)} embeddings for {len(voices)} voice labels")
    if not len(embeddings):
        return {"n": 0, "similarity_mean": None, "id_accuracy": None, "per_voice": {}}
    missing = sorted(set(voices) - set(voice_centroids))
    if missing:
        raise ValueError(f"no centroid for voice(s) {', '.join(missing)}")
    emb = np.stack(embeddings)
    sims = [speaker_similarity(e, voice_centroids[v]) for e, v in zip(emb, voices)]
    guesses = identify(emb, voice_centroids)
    per_voice: dict[str, dict] = {}
    for voice in sorted(set(voices)):
        rows = [i for i, v in enumerate(voices) if v == voice]
        per_voice[voice] = {"n": len(rows),
                            "similarity": float(np.mean([sims[i] for i in rows])),
                            "id_accuracy": float(np.mean([guesses[i] == voice for i in rows])),
                            "identified_as": [guesses[i] for i in rows]}
    return {"n": len(voices), "similarity_mean": float(np.mean(sims)),
            "id_accuracy": float(np.mean([g == v for g, v in zip(guesses, voices)])),
            "per_voice": per_voice}


class SpeakerEncoder:
    """resemblyzer's GE2E encoder on the CPU: waveform -> unit-length 256-d embedding."""

    def __init__(self):
        resemblyzer = require("resemblyzer", "speaker", "speaker similarity and identification")
        self._preprocess = resemblyzer.preprocess_wav
        self._encoder = resemblyzer.VoiceEncoder("cpu", verbose=False)

    def embed(self, wav: np.ndarray, sample_rate: int) -> np.ndarray:
        """Embedding of a mono waveform (any rate); ValueError for empty or silent audio."""
        audio = np.asarray(wav, np.float32)
        if audio.ndim != 1 or audio.size == 0 or not np.all(np.isfinite(audio)):
            raise ValueError(f"wav: expected a finite, non-empty mono waveform, got {audio.shape}")
        if float(np.max(np.abs(audio))) < 1e-4:
            raise ValueError("wav: audio is silent")
        processed = self._preprocess(audio, source_sr=sample_rate)
        if processed.size < ENCODER_RATE // 10:  # the voice-activity trim left ~nothing
            import librosa

            processed = librosa.resample(audio, orig_sr=sample_rate, target_sr=ENCODER_RATE)
        return np.asarray(self._encoder.embed_utterance(processed), np.float32)

    def embed_file(self, path) -> np.ndarray:
        """Embedding of a wav file; ValueError naming the file if it cannot be used."""
        import soundfile as sf

        try:
            wav, rate = sf.read(str(path), dtype="float32", always_2d=True)
        except Exception as exc:  # soundfile raises several types for bad files
            raise ValueError(f"{path}: cannot read audio ({exc})") from exc
        try:
            return self.embed(wav.mean(axis=1), rate)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None


class SpeakerJudge:
    """Scores outputs against voice centroids built from real recordings of every voice
    (training and unseen voices alike, so identification picks among all of them)."""

    def __init__(self, voice_files: Mapping[str, Sequence], encoder: SpeakerEncoder | None = None):
        self.encoder = encoder or SpeakerEncoder()
        self.centroids = centroids({voice: [self.encoder.embed_file(f) for f in files]
                                    for voice, files in voice_files.items()})

    def embed(self, wav: np.ndarray, sample_rate: int) -> np.ndarray:
        return self.encoder.embed(wav, sample_rate)

    def judge(self, embedding: np.ndarray, voice: str) -> tuple[float, str]:
        """(similarity to ``voice``'s centroid, the voice identified)."""
        if voice not in self.centroids:
            raise ValueError(f"no recordings of voice {voice!r} to compare with")
        return (speaker_similarity(embedding, self.centroids[voice]),
                identify(embedding[None], self.centroids)[0])

    def summary(self, embeddings: Sequence[np.ndarray], voices: Sequence[str],
                groups: Sequence[str]) -> dict:
        """:func:`speaker_scores` over all items and per group (``""`` = ungrouped)."""
        out = {"all": speaker_scores(embeddings, voices, self.centroids)}
        for group in sorted(set(groups) - {""}):
            rows = [i for i, g in enumerate(groups) if g == group]
            out[group] = speaker_scores([embeddings[i] for i in rows],
                                        [voices[i] for i in rows], self.centroids)
        return out


def optional_speaker_judge(voice_files: Mapping[str, Sequence], enabled: bool = True):
    """A :class:`SpeakerJudge`, or None (with the install hint on stderr) when the
    ``[speaker]`` extra is missing or ``enabled`` is False. For benchmarks."""
    if not enabled:
        return None
    from myxtts.extras import MissingExtraError
    try:
        return SpeakerJudge(voice_files)
    except MissingExtraError as exc:
        import sys
        print(f"speaker metrics skipped: {exc}", file=sys.stderr)
        return None
