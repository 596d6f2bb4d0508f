"""What the neural vocoder trains on: pairs of (log-mel, the waveform it came from).

The utterances and the held-out split are the acoustic model's (:func:`build_data`, same
seed and validation settings), so a vocoder fine-tuned on an acoustic model's predictions
never sees that model's validation sentences. Inputs are either the real log-mels
(:func:`ground_truth_data`) or the acoustic model's teacher-forced ("ground-truth
aligned", GTA) predictions of them (:func:`gta_data`), which carry the model's smoothing
and so teach the vocoder to turn *predicted* mels into clean audio.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from myxtts.audio.features import AudioError, load_wav
from myxtts.config.config import VocoderConfig, XTTSConfig
from myxtts.data.formats import read_corpus
from myxtts.data.pipeline import build_data
from myxtts.text.tokenizer import Tokenizer
from myxtts.training.checkpoints import LoadedCheckpoint
from myxtts.training.vocoder_checkpoint import aligned_audio

log = logging.getLogger(__name__)


@dataclass
class VocoderData:
    """Training and validation pairs; mels are un-normalised log-mels ``[T, n_mels]`` and
    each waveform has exactly ``T * hop_length`` samples."""

    train_mels: list[np.ndarray]
    train_wavs: list[np.ndarray]
    val_mels: list[np.ndarray]
    val_wavs: list[np.ndarray]
    source: str = "ground_truth"
    val_ids: list[str] = field(default_factory=list)
    skipped: int = 0
    #: GTA data only: the recordings' own log-mels of the training utterances (same frames
    #: as ``train_mels``), mixed into training by ``vocoder.gta_real_fraction``.
    train_real_mels: list[np.ndarray] | None = None


def _wav_paths(config: XTTSConfig, train_path, val_path) -> dict[str, Path]:
    corpus = read_corpus(train_path, config.data.format)
    rows = list(corpus.rows) + list(corpus.val_rows or [])
    if val_path:
        rows += read_corpus(val_path, config.data.format).rows
    return {u.id: u.wav_path for u in rows if u.wav_path is not None}


def _pairs(examples, mels, paths, config: XTTSConfig, min_frames: int):
    """(mels, wavs, ids, skipped, kept indices) for examples whose audio loads and is long
    enough."""
    hop = config.audio.hop_length
    out_mels, out_wavs, ids, skipped, kept = [], [], [], 0, []
    for index, (example, mel) in enumerate(zip(examples, mels)):
        try:
            wav = load_wav(paths[example.id], config.audio)
        except (KeyError, AudioError) as exc:
            log.warning("vocoder data: skipping %s (%s)", example.id, exc)
            skipped += 1
            continue
        if mel.shape[0] < min_frames:
            skipped += 1
            continue
        out_mels.append(np.asarray(mel, np.float32))
        out_wavs.append(aligned_audio(wav, mel.shape[0], hop))
        ids.append(example.id)
        kept.append(index)
    return out_mels, out_wavs, ids, skipped, kept


def ground_truth_data(config: XTTSConfig, train_path, val_path=None) -> VocoderData:
    """Real log-mels and their waveforms from any dataset the acoustic model reads."""
    bundle = build_data(config, train_path, val_path)
    return _assemble(config, config.vocoder, train_path, val_path, bundle,
                     [e.mel for e in bundle.train_examples],
                     [e.mel for e in bundle.val_examples], "ground_truth")


def gta_data(loaded: LoadedCheckpoint, vocoder: VocoderConfig, train_path, val_path=None,
             batch_size: int = 8) -> VocoderData:
    """The acoustic model's teacher-forced predictions of each utterance's mel (same frames
    as the real mel, so they pair with the real waveform), with that model's tokenizer,
    mel statistics and data settings; ``vocoder`` gives the segment and validation sizes."""
    config = loaded.config
    bundle = build_data(config, train_path, val_path,
                        tokenizer=Tokenizer(config.text, loaded.symbols), stats=loaded.stats)
    mels = []
    for batcher in (bundle.train, bundle.val):
        predicted = []
        rng = np.random.default_rng([config.training.seed, 11])
        for start in range(0, len(batcher.examples), batch_size):
            indices = list(range(start, min(start + batch_size, len(batcher.examples))))
            batch = batcher.make_batch(indices, rng)
            out = loaded.model(batch, training=False)["mel_after"].numpy()
            predicted += [loaded.stats.denormalize(out[i, :n])
                          for i, n in enumerate(batch["mel_lengths"])]
        mels.append(predicted)
    log.info("vocoder data: teacher-forced mels of %s for %d + %d utterances", loaded.prefix,
             len(mels[0]), len(mels[1]))
    return _assemble(config, vocoder, train_path, val_path, bundle, mels[0], mels[1],
                     f"gta:{loaded.prefix}", [e.mel for e in bundle.train_examples])


def _assemble(config, vocoder, train_path, val_path, bundle, train_mels, val_mels, source,
              real_train_mels=None):
    paths = _wav_paths(config, train_path, val_path)
    min_frames = vocoder.segment_frames
    t_mels, t_wavs, _, t_skip, kept = _pairs(bundle.train_examples, train_mels, paths, config,
                                             min_frames)
    v_mels, v_wavs, v_ids, v_skip, _ = _pairs(bundle.val_examples, val_mels, paths, config, 1)
    if not t_mels:
        raise ValueError(f"{train_path}: no training utterance of at least "
                         f"{min_frames} frames (vocoder.segment_frames) for the vocoder")
    if t_skip or v_skip:
        log.warning("vocoder data: %d utterances skipped (unreadable, or shorter than "
                    "vocoder.segment_frames=%d frames)", t_skip + v_skip, min_frames)
    n = vocoder.val_utterances
    real = None if real_train_mels is None else \
        [np.asarray(real_train_mels[i], np.float32) for i in kept]
    return VocoderData(t_mels, t_wavs, v_mels[:n], v_wavs[:n], source, v_ids[:n],
                       t_skip + v_skip, real)
