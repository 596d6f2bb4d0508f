"""One checkpoint artifact carries everything needed to resume and to synthesise.

A ``tf.train.Checkpoint`` holds the model weights, the optimizer (moments and
iteration count), the loss module's state (EMA, spike window, adaptive weights), the
training position (step, epoch, batch within epoch, wall time, early-stopping state)
and, as string variables, the resolved config YAML, the symbol table and the mel
statistics. Inference reads it through :func:`read_metadata` without the trainer.

Checkpoints saved by the trainer also hold a ``speakers`` part: the JSON table of mean
speaker latents (:class:`~myxtts.models.speaker_latents.SpeakerLatents`). Older checkpoints
lack it; :func:`restore_checkpoint` accepts them and ``read_metadata`` reports ``None``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import tensorflow as tf

from myxtts.audio.features import MelStats
from myxtts.config.config import XTTSConfig
from myxtts.config.stored import config_from_yaml_text
from myxtts.models.factory import build_model
from myxtts.models.speaker_latents import SpeakerLatents
from myxtts.text.symbols import SymbolTable

META_KEYS = ("config_yaml", "symbols_json", "mel_stats_json")


class CheckpointError(ValueError):
    """A checkpoint is missing, unreadable or incompatible."""


class TrainingState(tf.Module):
    """Training position and run metadata, tracked by the checkpoint."""

    def __init__(self, config_yaml: str = "", symbols_json: str = "", mel_stats_json: str = ""):
        super().__init__(name="training_state")
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        self.batch_in_epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="batch_in_epoch")
        self.wall_time = tf.Variable(0.0, dtype=tf.float64, trainable=False, name="wall_time")
        self.best_val_loss = tf.Variable(float("inf"), dtype=tf.float64, trainable=False)
        self.bad_validations = tf.Variable(0, dtype=tf.int64, trainable=False)
        # Steering metric of the checkpoint in RUN_DIR/best (never reset by a level change).
        self.best_saved_val_loss = tf.Variable(float("inf"), dtype=tf.float64, trainable=False,
                                               name="best_saved_val_loss")
        self.schedule_start = tf.Variable(0, dtype=tf.int64, trainable=False, name="schedule_start")
        # Multiplies the schedule's rate; lowered by each roll-back after non-finite steps.
        self.lr_scale = tf.Variable(1.0, dtype=tf.float64, trainable=False, name="lr_scale")
        # Base loss weights the run started with (JSON): the steering metric's weights.
        self.steering_weights_json = tf.Variable("", trainable=False, name="steering_weights")
        self.config_yaml = tf.Variable(config_yaml, trainable=False, name="config_yaml")
        self.symbols_json = tf.Variable(symbols_json, trainable=False, name="symbols_json")
        self.mel_stats_json = tf.Variable(mel_stats_json, trainable=False, name="mel_stats_json")


class SpeakerStore(tf.Module):
    """The speaker-latent table (JSON; empty until the trainer first saves one)."""

    def __init__(self):
        super().__init__(name="speaker_store")
        self.latents_json = tf.Variable("", trainable=False, name="latents_json")


_SPEAKERS_TENSOR = "speakers/latents_json/.ATTRIBUTES/VARIABLE_VALUE"
_PARTS = ("model", "rng", "optimizer", "loss_state", "state")


def make_checkpoint(model, optimizer=None, loss_fn=None, state: TrainingState | None = None,
                    rng: bool = True, speakers: SpeakerStore | None = None):
    """The ``tf.train.Checkpoint`` object graph every MyXTTS checkpoint uses.

    Inference passes only the model (and ``rng=False``): random-number states matter
    for resuming training, not for synthesis.
    """
    parts = {"model": model}
    if rng:
        # Keras keeps dropout random-number states in seed-generator variables that the
        # model's own checkpoint dependencies miss; without them a resumed run replays
        # the same dropout masks and speaker-latent noise.
        parts["rng"] = [v.value for v in model.variables if "seed_generator_state" in v.path]
    if optimizer is not None:
        parts["optimizer"] = optimizer
    if loss_fn is not None:
        parts["loss_state"] = loss_fn
    if state is not None:
        parts["state"] = state
    if speakers is not None:
        parts["speakers"] = speakers
    return tf.train.Checkpoint(**parts)


def restore_checkpoint(checkpoint: tf.train.Checkpoint, prefix: str) -> None:
    """Restore ``prefix`` into ``checkpoint``, asserting that every object was matched.

    A checkpoint saved before speaker latents were stored restores everything else; the
    ``speakers`` part is then emptied.
    """
    speakers = getattr(checkpoint, "speakers", None)
    if speakers is not None and not tf.train.load_checkpoint(prefix).has_tensor(_SPEAKERS_TENSOR):
        speakers.latents_json.assign("")
        checkpoint = tf.train.Checkpoint(**{name: getattr(checkpoint, name) for name in _PARTS
                                            if hasattr(checkpoint, name)})
    checkpoint.restore(prefix).assert_existing_objects_matched()


def resolve_checkpoint(path: str | Path) -> str:
    """Checkpoint prefix for ``path``: a prefix (``.../ckpt-500``) or a run directory
    (its latest checkpoint). Raises :class:`CheckpointError` naming the path."""
    path = Path(path)
    if path.is_dir():
        latest = tf.train.latest_checkpoint(str(path))
        if latest is None:
            raise CheckpointError(f"{path}: no checkpoint found in this directory")
        return latest
    if Path(str(path) + ".index").is_file():
        return str(path)
    raise CheckpointError(f"{path}: not a checkpoint prefix or a directory holding checkpoints")


def open_checkpoint(path: str | Path):
    """``(prefix, reader)`` of a checkpoint prefix or run directory; CheckpointError naming
    it when it is missing, corrupt or truncated."""
    prefix = resolve_checkpoint(path)
    try:
        return prefix, tf.train.load_checkpoint(prefix)
    except Exception as exc:  # corrupt or truncated files
        raise CheckpointError(f"{prefix}: cannot read checkpoint ({exc})") from exc


def read_metadata(path: str | Path) -> dict:
    """Config YAML, symbols and mel statistics stored in a checkpoint, plus its step and
    ``speaker_latents_json`` (empty for checkpoints without a speaker-latent table)."""
    prefix, reader = open_checkpoint(path)
    meta = {"prefix": prefix}
    for key in META_KEYS:
        name = f"state/{key}/.ATTRIBUTES/VARIABLE_VALUE"
        if not reader.has_tensor(name):
            raise CheckpointError(f"{prefix}: not a MyXTTS checkpoint (no {key})")
        meta[key] = reader.get_tensor(name).decode("utf-8")
    meta["step"] = int(reader.get_tensor("state/step/.ATTRIBUTES/VARIABLE_VALUE"))
    meta["symbols"] = json.loads(meta["symbols_json"])
    meta["mel_stats"] = json.loads(meta["mel_stats_json"])
    meta["speaker_latents_json"] = (reader.get_tensor(_SPEAKERS_TENSOR).decode("utf-8")
                                    if reader.has_tensor(_SPEAKERS_TENSOR) else "")
    return meta


def resume_inputs(prefix: str, config: XTTSConfig) -> tuple[SymbolTable, MelStats]:
    """The symbol table and mel statistics a run resumed from ``prefix`` keeps. Also gives
    ``config.text`` the checkpoint's languages (the size and ids of its model's language
    embedding): an unset ``text.languages`` takes them; another list is a CheckpointError."""
    meta = read_metadata(prefix)
    stored, mine = config_from_yaml_text(meta["config_yaml"], prefix).text, config.text
    if mine.languages and mine.language_list() != stored.language_list():
        raise CheckpointError(
            f"{prefix}: text.languages is {mine.languages!r}, but the checkpoint's model "
            f"knows {','.join(stored.language_list())} (a resumed run cannot change its "
            "languages; start a new run)")
    mine.languages = stored.languages
    return SymbolTable.from_json(meta["symbols_json"]), MelStats.from_list(meta["mel_stats"])


@dataclass
class LoadedCheckpoint:
    """What a checkpoint holds for synthesis (and vocoder fine-tuning): restored model plus its metadata."""

    config: XTTSConfig
    model: object
    symbols: SymbolTable
    stats: MelStats
    prefix: str
    step: int
    speaker_latents: SpeakerLatents | None = None


def load_checkpoint(path: str | Path) -> LoadedCheckpoint:
    """Build the model a checkpoint describes and restore its weights.

    ``path`` is a checkpoint prefix or a run directory (its latest checkpoint); a
    missing or unusable checkpoint raises :class:`CheckpointError` naming the path.
    """
    meta = read_metadata(path)
    config = config_from_yaml_text(meta["config_yaml"], meta["prefix"])
    symbols = SymbolTable.from_json(meta["symbols_json"])
    model = build_model(config, len(symbols))
    n_mels = config.audio.n_mels
    dummy = {
        "text_ids": tf.ones([1, 4], tf.int32), "text_lengths": tf.constant([4]),
        "mel": tf.zeros([1, 8, n_mels]), "mel_lengths": tf.constant([8]),
        "ref_mel": tf.zeros([1, 8, n_mels]), "ref_lengths": tf.constant([8]),
    }
    model(dummy, training=False)
    make_checkpoint(model, rng=False).restore(meta["prefix"]).expect_partial() \
        .assert_existing_objects_matched()
    return LoadedCheckpoint(config, model, symbols, MelStats.from_list(meta["mel_stats"]),
                            meta["prefix"], meta["step"],
                            SpeakerLatents.from_json(meta["speaker_latents_json"]))
