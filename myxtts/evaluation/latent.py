"""How well the speaker latent tells voices apart, and how much it carries.

For recordings grouped by voice (training voices and voices never trained on), every clip's
latent is computed as inference does (:func:`myxtts.models.speaker_latents.mel_posteriors`:
windows of ``data.reference_max_frames`` frames, posterior means averaged). Each clip is
then assigned to the nearest voice centroid (Euclidean distance; the clip's own voice's
centroid leaves the clip out) among all voices of all groups: the **latent ID accuracy**
per group. The posterior's KL from the prior, in **nats per latent dimension**, says how
much the latent carries (0 = nothing: every reference gives the prior).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from myxtts.models.speaker_latents import mel_posteriors


def nearest_centroid_accuracy(latents: dict[str, np.ndarray]) -> dict[str, float]:
    """Leave-one-out nearest-centroid accuracy per voice; ``latents``: voice -> ``[N, D]``.

    A voice with a single clip has no centroid without that clip, so it is not scored
    (it still serves as a centroid for the others).
    """
    voices = sorted(latents)
    sums = {v: latents[v].sum(axis=0) for v in voices}
    out = {}
    for v in voices:
        clips = latents[v]
        if len(clips) < 2:
            continue
        hits = 0
        for x in clips:
            own = (sums[v] - x) / (len(clips) - 1)
            best, best_d = v, float(np.sum((x - own) ** 2))
            for u in voices:
                if u == v:
                    continue
                d = float(np.sum((x - sums[u] / len(latents[u])) ** 2))
                if d < best_d:
                    best, best_d = u, d
            hits += best == v
        out[v] = hits / len(clips)
    return out


def latent_separation(synth, recordings: dict[str, dict[str, list[Path]]],
                      per_voice: int = 12) -> dict:
    """Latent ID accuracy and KL per dimension, per group of ``recordings``
    (``{group: {voice: [wav, ...]}}``, up to ``per_voice`` clips each, evenly spread).

    ``synth`` is a :class:`~myxtts.inference.synthesizer.Synthesizer` (its model, mel
    statistics and reference length)."""
    frames = synth.config.data.reference_max_frames
    latents, kls, group_of = {}, {}, {}
    for group, voices in recordings.items():
        for voice, wavs in voices.items():
            if len(wavs) > per_voice:
                wavs = [wavs[i] for i in np.round(np.linspace(0, len(wavs) - 1,
                                                              per_voice)).astype(int)]
            mels = [synth.reference_mel(w) for w in wavs]
            latents[voice], kls[voice] = mel_posteriors(synth.model, mels, frames)
            group_of[voice] = group
    accuracy = nearest_centroid_accuracy(latents)
    result = {}
    for group in recordings:
        voices = [v for v in latents if group_of[v] == group]
        scored = [v for v in voices if v in accuracy]
        result[group] = {
            "latent_id_accuracy": (float(np.mean([accuracy[v] for v in scored]))
                                   if scored else None),
            "kl_per_dim": (float(np.mean(np.concatenate([kls[v] for v in voices])))
                           if voices else None),
            "per_voice": {v: accuracy.get(v) for v in voices},
        }
    return result
