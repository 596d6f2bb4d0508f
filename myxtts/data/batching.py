"""Deterministic, length-bucketed batches with a same-speaker reference for every item.

The reference is a random crop (``data.reference_max_frames`` frames, the length inference
uses too) of ANOTHER utterance of the same speaker; a speaker with a single utterance
uses that utterance itself (counted, with one warning). Validation batchers take their
references from the speaker's training utterances (``references=`` the training batcher).
With ``data.voice_warp`` (and/or ``data.voice_envelope``) a training batcher turns about half
of its items into new voices: item and reference frequency-warped (and/or given a random
smooth spectral envelope) alike, with a speaker label of their own.

Order depends only on (seed, epoch), so a resumed run sees exactly the batches the
uninterrupted run would have seen. Mel lengths are padded up to multiples of
``mel_bucket_frames`` and text to ``text_bucket_tokens``, keeping shapes few.
"""

from __future__ import annotations

import logging
from collections import defaultdict

import numpy as np

from myxtts.audio.features import MelStats, mel_warp_matrix
from myxtts.config.config import AudioConfig, DataConfig
from myxtts.data.features_cache import Example

log = logging.getLogger(__name__)


def _round_up(n: int, multiple: int) -> int:
    return int(-(-n // multiple) * multiple)


class Batcher:
    """Builds padded numpy batches from prepared examples."""

    def __init__(self, examples: list[Example], stats: MelStats, data: DataConfig,
                 seed: int, shuffle: bool = True, batch_size: int | None = None,
                 references: "Batcher | None" = None, audio: AudioConfig | None = None):
        if not examples:
            raise ValueError("no examples to batch")
        self.examples = examples
        self.mels = [stats.normalize(e.mel) for e in examples]
        self.data = data
        self.seed = seed
        self.shuffle = shuffle
        self.batch_size = min(batch_size or data.batch_size, len(examples))
        by_speaker: dict[str, list[int]] = defaultdict(list)
        for i, e in enumerate(examples):
            by_speaker[e.speaker].append(i)
        self.by_speaker = dict(by_speaker)
        #: Integer label per speaker (sorted names): equal labels = same speaker, which is
        #: all the speaker loss needs (labels of two batchers need not agree).
        self.speaker_ids = {s: i for i, s in enumerate(sorted(self.by_speaker))}
        self.references = references
        self.stats = stats
        #: The mel definition new voices are made along (``data.voice_warp``,
        #: ``data.voice_envelope``); None leaves items as recorded.
        self.warp_audio = audio if data.voice_warp > 0 or data.voice_envelope > 0 else None
        self.lone_speakers, self.unseen_speakers = self._check_reference_pools()

    def _check_reference_pools(self) -> tuple[list[str], list[str]]:
        """Speakers whose reference is the utterance itself, and (with ``references``)
        speakers without training utterances; warns once about each kind."""
        known = self.references.by_speaker if self.references is not None else {}
        unseen = sorted(s for s in self.by_speaker if self.references is not None
                        and s not in known)
        lone = sorted(s for s, idx in self.by_speaker.items()
                      if len(idx) == 1 and (self.references is None or s in unseen))
        what = "training" if self.references is None else "validation"
        if unseen:
            log.warning("%d of %d validation speakers have no training utterances (%s): "
                        "their references come from their other validation utterances",
                        len(unseen), len(self.by_speaker), _names(unseen))
        if lone:
            log.warning("%d of %d %s speakers have only one utterance (%s): it is used as its "
                        "own reference, so for them the speaker latent can copy the target",
                        len(lone), len(self.by_speaker), what, _names(lone))
        return lone, unseen

    @property
    def batches_per_epoch(self) -> int:
        return len(self.examples) // self.batch_size if self.shuffle else \
            -(-len(self.examples) // self.batch_size)

    def epoch_plan(self, epoch: int) -> list[list[int]]:
        """Indices of every batch of ``epoch`` (similar lengths grouped together)."""
        n = len(self.examples)
        if not self.shuffle:
            order = sorted(range(n), key=lambda i: self.mels[i].shape[0])
            return [order[i:i + self.batch_size] for i in range(0, n, self.batch_size)]
        rng = np.random.default_rng([self.seed, epoch])
        order = rng.permutation(n)
        chunk = self.batch_size * 8
        batches = []
        for start in range(0, n - n % self.batch_size, chunk):
            part = sorted(order[start:start + chunk], key=lambda i: self.mels[i].shape[0])
            batches += [part[i:i + self.batch_size] for i in range(0, len(part), self.batch_size)]
        batches = [b for b in batches if len(b) == self.batch_size]
        rng.shuffle(batches)
        return batches

    def reference_for(self, index: int, rng: np.random.Generator) -> np.ndarray:
        """A random crop of another utterance by the same speaker: from the training
        utterances when ``references`` is set and knows the speaker; else another utterance
        of this batcher (the utterance itself if it is the speaker's only one)."""
        speaker = self.examples[index].speaker
        if self.references is not None and speaker in self.references.by_speaker:
            mels, others = self.references.mels, self.references.by_speaker[speaker]
        else:
            mels = self.mels
            others = [j for j in self.by_speaker[speaker] if j != index] or [index]
        mel = mels[others[int(rng.integers(len(others)))]]
        limit = self.data.reference_max_frames
        if mel.shape[0] > limit:
            start = int(rng.integers(mel.shape[0] - limit + 1))
            mel = mel[start:start + limit]
        return mel

    def make_batch(self, indices: list[int], rng: np.random.Generator) -> dict[str, np.ndarray]:
        tokens = [self.examples[i].tokens for i in indices]
        mels = [self.mels[i] for i in indices]
        refs = [self.reference_for(i, rng) for i in indices]
        speaker_ids = [self.speaker_ids[self.examples[i].speaker] for i in indices]
        if self.warp_audio is not None:
            mels, refs, speaker_ids = self._warp(mels, refs, speaker_ids, rng)
        n_mels = mels[0].shape[1]
        max_text = _round_up(max(len(t) for t in tokens), self.data.text_bucket_tokens)
        max_mel = _round_up(max(m.shape[0] for m in mels), self.data.mel_bucket_frames)
        max_ref = max(r.shape[0] for r in refs)
        batch = {
            "text_ids": np.zeros((len(indices), max_text), np.int32),
            "text_lengths": np.array([len(t) for t in tokens], np.int32),
            "mel": np.zeros((len(indices), max_mel, n_mels), np.float32),
            "mel_lengths": np.array([m.shape[0] for m in mels], np.int32),
            "ref_mel": np.zeros((len(indices), max_ref, n_mels), np.float32),
            "ref_lengths": np.array([r.shape[0] for r in refs], np.int32),
            "language_ids": np.array([self.examples[i].language_id for i in indices], np.int32),
            "speaker_ids": np.array(speaker_ids, np.int32),
        }
        for row, (t, m, r) in enumerate(zip(tokens, mels, refs)):
            batch["text_ids"][row, :len(t)] = t
            batch["mel"][row, :m.shape[0]] = m
            batch["ref_mel"][row, :r.shape[0]] = r
        return batch

    def _warp(self, mels, refs, speaker_ids, rng):
        """About half of the items, at random, become new voices: an item's mel and reference are
        changed alike and it gets a speaker label of its own, so the speaker loss counts only
        its reference as the same voice. The change: a warp along frequency (content at f
        moves to f * factor; ``voice_warp``; with ``voice_warp_min`` no factor lies closer to 1
        than that, so no new voice is a near copy of a recorded one), then, with
        ``voice_envelope``, a random smooth spectral envelope (:func:`envelope_curve`; the
        formant heights and widths that tell voices apart besides vocal-tract length)."""
        data = self.data
        low, high = np.log1p(data.voice_warp_min), np.log1p(data.voice_warp)
        floor = float(np.log(self.warp_audio.mel_floor))
        mels, refs, speaker_ids = list(mels), list(refs), list(speaker_ids)
        fresh = len(self.speaker_ids)
        for row in range(len(mels)):
            if rng.random() >= 0.5:
                continue
            pair = [self.stats.denormalize(m) for m in (mels[row], refs[row])]
            if high:
                if low:  # a magnitude in low .. high, either direction
                    log_factor = rng.uniform(low, high) * rng.choice((-1.0, 1.0))
                else:
                    log_factor = rng.uniform(-high, high)
                matrix = mel_warp_matrix(self.warp_audio, float(np.exp(log_factor)))
                pair = [m @ matrix.T for m in pair]
            if data.voice_envelope:
                curve = envelope_curve(pair[0].shape[1], rng.uniform(0, data.voice_envelope), rng)
                # Floor frames/bins (silence) stay at the floor; nothing goes below it.
                pair = [np.where(m > floor + 1e-4, np.maximum(m + curve, floor), m)
                        for m in pair]
            mels[row], refs[row] = (self.stats.normalize(m) for m in pair)
            speaker_ids[row] = fresh + row
        return mels, refs, speaker_ids

    def batches(self, epoch: int, start: int = 0):
        """Yield ``(batch_index, batch)`` for ``epoch`` starting at ``start``."""
        for b, indices in enumerate(self.epoch_plan(epoch)):
            if b < start:
                continue
            rng = np.random.default_rng([self.seed, epoch, b, 7])
            yield b, self.make_batch(indices, rng)


def envelope_curve(n_mels: int, rms: float, rng: np.random.Generator,
                   terms: int = 8) -> np.ndarray:
    """A random smooth curve over ``n_mels`` mel bins with RMS ``rms`` (nats of log-mel) and
    mean 0 (no loudness change): ``terms`` cosines across the bins, the finest with a half
    period of ``n_mels / terms`` bins (10 of 80: about a formant's region), each with a
    standard-normal weight."""
    bins = (np.arange(n_mels) + 0.5) / n_mels
    weights = rng.standard_normal(terms)
    curve = np.cos(np.pi * np.arange(1, terms + 1)[:, None] * bins[None]).T @ weights
    norm = float(np.sqrt(np.mean(curve ** 2)))
    return (curve * (rms / norm if norm > 0 else 0.0)).astype(np.float32)


def _names(speakers: list[str], shown: int = 5) -> str:
    more = f", ... {len(speakers) - shown} more" if len(speakers) > shown else ""
    return ", ".join(speakers[:shown]) + more
