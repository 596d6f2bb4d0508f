"""Speaker latents from reference mels: one definition for training and inference.

A reference clip is cut into windows of ``data.reference_max_frames`` frames (the length of
the random crops the model is trained on; a shorter clip is one window), the reference
encoder gives each window a posterior mean, and the clip's latent is their average (its
"speaker code" adds the windows' average spectrum when the model uses it). Several
clips of one voice average their clip latents. The trainer stores, in every checkpoint, a
:class:`SpeakerLatents` table: the mean latent of each training speaker and the mean over
speakers (the voice used when no reference is given).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np
import tensorflow as tf

from myxtts.training.loss_terms import kl_loss

#: Utterances per speaker that go into a speaker's mean latent (evenly spread over its
#: utterances), which bounds the cost of a checkpoint save on large datasets.
UTTERANCES_PER_SPEAKER = 32
_BATCH = 64


def reference_windows(mel: np.ndarray, frames: int) -> list[np.ndarray]:
    """Windows of exactly ``frames`` frames, evenly spread over ``mel`` (first and last
    frames included); ``mel`` itself when it is not longer than ``frames``."""
    n = int(mel.shape[0])
    if n <= frames:
        return [mel]
    count = math.ceil(n / frames)
    starts = np.round(np.linspace(0, n - frames, count)).astype(int)
    return [mel[s:s + frames] for s in starts]


def mel_latents(model, mels: list[np.ndarray], frames: int) -> np.ndarray:
    """Speaker code ``[len(mels), model.speaker_code_dim]`` of each normalised mel (mean
    over its windows): the posterior mean, then the average spectrum when the model uses it
    (:attr:`~myxtts.models.xtts.XTTSModel.speaker_code_dim` values)."""
    mus, _, spectra = _per_mel(model, mels, frames)
    return mus if spectra is None else np.concatenate([mus, spectra], axis=1)


def mel_posteriors(model, mels: list[np.ndarray], frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Per normalised mel: its latent (the posterior mean averaged over its windows,
    ``[len(mels), latent_dim]``) and the posterior's KL from the standard-normal prior in
    nats per latent dimension (averaged over its windows, ``[len(mels)]``)."""
    mus, kls, _ = _per_mel(model, mels, frames)
    return mus, kls


def _per_mel(model, mels, frames):
    """Window means per mel of the posterior mean, its KL and (when the model uses it) the
    reference spectrum (else None)."""
    windows, owner = [], []
    for i, mel in enumerate(mels):
        if mel.ndim != 2 or mel.shape[0] == 0:
            raise ValueError(f"reference mel {i}: expected [frames, n_mels], got {mel.shape}")
        for w in reference_windows(mel, frames):
            windows.append(w)
            owner.append(i)
    mus, kls, spectra = [], [], []
    use_spectrum = model.reference_spectrum
    for start in range(0, len(windows), _BATCH):
        part = windows[start:start + _BATCH]
        longest = max(w.shape[0] for w in part)
        batch = np.zeros((len(part), longest, part[0].shape[1]), np.float32)
        for row, w in enumerate(part):
            batch[row, :w.shape[0]] = w
        lengths = tf.constant([w.shape[0] for w in part], tf.int32)
        mu, logvar = model.speaker_posterior(tf.constant(batch), lengths)
        mus.append(np.asarray(mu, np.float32))
        kls.append(np.asarray(kl_loss(mu, logvar), np.float32))
        if use_spectrum:
            spectra.append(np.asarray(model.spectrum_of(tf.constant(batch), lengths), np.float32))
    owner = np.asarray(owner)

    def per_mel(values):
        values = np.concatenate(values)
        return np.stack([values[owner == i].mean(axis=0) for i in range(len(mels))])

    return per_mel(mus), per_mel(kls), (per_mel(spectra) if use_spectrum else None)


@dataclass
class SpeakerLatents:
    """Mean latent per training speaker, and the mean over speakers."""

    speakers: dict[str, list[float]] = field(default_factory=dict)
    utterances: dict[str, int] = field(default_factory=dict)
    mean: list[float] = field(default_factory=list)
    step: int = 0

    def latent(self, speaker: str) -> np.ndarray:
        """The speaker's mean latent; ValueError listing the known speakers."""
        if speaker not in self.speakers:
            known = ", ".join(sorted(self.speakers)) or "none"
            raise ValueError(f"unknown speaker {speaker!r}; this checkpoint knows: {known}")
        return np.asarray(self.speakers[speaker], np.float32)

    def to_json(self) -> str:
        return json.dumps({"speakers": self.speakers, "utterances": self.utterances,
                           "mean": self.mean, "step": self.step})

    @classmethod
    def from_json(cls, text: str) -> "SpeakerLatents | None":
        """The table, or None for an empty string (a checkpoint saved before any table)."""
        if not text:
            return None
        data = json.loads(text)
        return cls(data["speakers"], data.get("utterances", {}), data["mean"],
                   int(data.get("step", 0)))


def speaker_latent_table(model, mels_by_speaker: dict[str, list[np.ndarray]], frames: int,
                         step: int = 0,
                         per_speaker: int = UTTERANCES_PER_SPEAKER) -> SpeakerLatents:
    """Mean latent of each speaker over (at most ``per_speaker`` of) its utterances."""
    table = SpeakerLatents(step=step)
    for name in sorted(mels_by_speaker):
        mels = mels_by_speaker[name]
        if len(mels) > per_speaker:
            picks = np.round(np.linspace(0, len(mels) - 1, per_speaker)).astype(int)
            mels = [mels[i] for i in picks]
        latent = mel_latents(model, mels, frames).mean(axis=0)
        table.speakers[name] = [float(x) for x in latent]
        table.utterances[name] = len(mels)
    if table.speakers:
        table.mean = [float(x) for x in np.mean(list(table.speakers.values()), axis=0)]
    return table
