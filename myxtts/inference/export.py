"""Export a checkpoint as a servable model: text ids + reference log-mel -> log-mel.

An export directory holds the model (``saved_model/`` or ``model.tflite``) and
``myxtts_export.json`` with the config, symbol table, mel statistics and the signature,
which is everything a server needs to turn text into ids (see :class:`ExportInfo`) and
the output mel back into audio. When the run has a neural vocoder (``RUN_DIR/vocoder``),
it is exported beside the model as ``vocoder_saved_model/`` (signature ``serving_default``:
``log_mel`` float32 ``[B, F, n_mels]`` -> ``audio`` float32 ``[B, F * hop_length]``, for
both formats); without one, run :class:`~myxtts.audio.vocoder.GriffinLimVocoder` on the
output (``ExportInfo.vocoder()`` returns whichever applies).

The exported function takes and returns *un-normalised* natural-log mels (the
:func:`~myxtts.audio.features.log_mel` definition); normalisation with the checkpoint's
mel statistics happens inside. Inputs (signature ``serving_default``):

* ``text_ids`` int32 ``[B, N]``, padded with the symbol table's pad id (0)
* ``text_lengths`` int32 ``[B]``
* ``ref_log_mel`` float32 ``[B, T, n_mels]``: log-mel of the voice to clone (frames past
  ``ref_lengths`` are ignored; frames past the reference limit are cut)
* ``ref_lengths`` int32 ``[B]``
* ``speed`` float32 scalar, > 0 (1.0 = as trained, 1.2 = faster)

Outputs: ``mel`` float32 ``[B, F, n_mels]`` (frames past ``mel_lengths`` hold the
silence value ``log(mel_floor)``), ``mel_lengths`` int32 ``[B]`` and ``durations`` int32
``[B, N]`` (frames per token). ``N``, ``T`` and ``F`` may be any length; ``B`` is free in
the SavedModel and 1 in the TFLite model.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import tensorflow as tf

from myxtts import __version__
from myxtts.audio.features import MelStats
from myxtts.config.config import XTTSConfig
from myxtts.inference.synthesizer import LoadedCheckpoint, load_checkpoint, reference_frame_limit
from myxtts.text.symbols import SymbolTable
from myxtts.text.tokenizer import Tokenizer

log = logging.getLogger(__name__)

FORMATS = ("saved_model", "tflite")
INFO_FILE = "myxtts_export.json"
MODEL_FILES = {"saved_model": "saved_model", "tflite": "model.tflite"}
SIGNATURE = "serving_default"
INPUTS = ("text_ids", "text_lengths", "ref_log_mel", "ref_lengths", "speed")
OUTPUTS = ("mel", "mel_lengths", "durations")
INFO_VERSION = 1
VOCODER_FILE = "vocoder_saved_model"


class ExportError(ValueError):
    """An export cannot be written (bad format, clashing output, unsupported model)."""


def input_signature(n_mels: int, batch: int | None) -> list[tf.TensorSpec]:
    """The serving inputs; ``None`` dims take any length."""
    return [tf.TensorSpec([batch, None], tf.int32, "text_ids"),
            tf.TensorSpec([batch], tf.int32, "text_lengths"),
            tf.TensorSpec([batch, None, n_mels], tf.float32, "ref_log_mel"),
            tf.TensorSpec([batch], tf.int32, "ref_lengths"),
            tf.TensorSpec([], tf.float32, "speed")]


class MelServing(tf.Module):
    """The model plus mel normalisation as one traceable function."""

    def __init__(self, loaded: LoadedCheckpoint):
        super().__init__(name="myxtts")
        if loaded.config.model.decoder_strategy != "non_autoregressive":
            raise ExportError(f"{loaded.prefix}: export supports decoder_strategy "
                              f"non_autoregressive only, this checkpoint is "
                              f"{loaded.config.model.decoder_strategy!r}")
        self.model = loaded.model
        self._mean = tf.constant(loaded.stats.mean, tf.float32)
        self._std = tf.constant(loaded.stats.std, tf.float32)
        self._ref_limit = reference_frame_limit(loaded.config)
        self._silence = math.log(loaded.config.audio.mel_floor)

    def generate(self, text_ids, text_lengths, ref_log_mel, ref_lengths, speed):
        """``(mel, mel_lengths, durations)``; see the module docstring."""
        ref = ((ref_log_mel - self._mean) / self._std)[:, : self._ref_limit]
        ref_lengths = tf.minimum(ref_lengths, tf.shape(ref)[1])
        mel, mel_lengths, durations = self.model.generate(text_ids, text_lengths, ref,
                                                          ref_lengths, speed)
        mask = tf.sequence_mask(mel_lengths, tf.shape(mel)[1])
        mel = tf.where(tf.expand_dims(mask, -1), mel * self._std + self._mean, self._silence)
        return mel, mel_lengths, durations

    def signature(self, batch: int | None) -> tf.types.experimental.ConcreteFunction:
        """A concrete function with named inputs and named (dict) outputs."""
        spec = input_signature(self.model.n_mels, batch)
        return tf.function(lambda *args: dict(zip(OUTPUTS, self.generate(*args))),
                           input_signature=spec).get_concrete_function()


def _frozen_signature(serving: MelServing, batch: int) -> tf.types.experimental.ConcreteFunction:
    """Batch-``batch`` signature with the weights folded in as constants.

    TFLite needs constants here: converted resource variables would be read before any
    initialiser ran. Batch 1 keeps every mask at one dynamic dimension, which TFLite's
    built-in ops handle (two dynamic dims would need the Flex delegate).
    """
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2)

    spec = input_signature(serving.model.n_mels, batch)
    plain = tf.function(serving.generate, input_signature=spec).get_concrete_function()
    frozen = convert_variables_to_constants_v2(plain)
    return tf.function(lambda *args: dict(zip(OUTPUTS, frozen(*args))),
                       input_signature=spec).get_concrete_function()


def convert_tflite(serving: MelServing) -> tuple[bytes, str]:
    """TFLite flatbuffer and the op sets it needs: built-in ops when they suffice,
    else built-ins plus SELECT_TF_OPS (the interpreter then needs the Flex delegate)."""
    function = _frozen_signature(serving, batch=1)
    error = None
    for ops in (["TFLITE_BUILTINS"], ["TFLITE_BUILTINS", "SELECT_TF_OPS"]):
        converter = tf.lite.TFLiteConverter.from_concrete_functions([function], serving)
        converter.target_spec.supported_ops = [getattr(tf.lite.OpsSet, name) for name in ops]
        try:
            return converter.convert(), "+".join(ops)
        except Exception as exc:  # the converter raises several types
            error = exc
            log.info("TFLite conversion with %s failed, trying more op sets", "+".join(ops))
    raise ExportError(f"TFLite conversion failed: {error}")


# ---------------------------------------------------------------- the JSON

def export_info(loaded: LoadedCheckpoint, fmt: str, batch: int | None, ops: str = "") -> dict:
    """Everything a server needs besides the model: see ``myxtts_export.json``."""
    config = loaded.config
    return {
        "myxtts_export": INFO_VERSION,
        "myxtts_version": __version__,
        "format": fmt,
        "model_file": MODEL_FILES[fmt],
        "checkpoint": loaded.prefix,
        "step": loaded.step,
        "signature": SIGNATURE,
        "inputs": list(INPUTS),
        "outputs": list(OUTPUTS),
        "batch_size": batch,
        "tflite_op_sets": ops or None,
        "mel": "natural-log mel, un-normalised (myxtts.audio.features.log_mel with config.audio)",
        "reference_max_frames": reference_frame_limit(config),
        "average_voice": "pass mel_stats.mean repeated for data.reference_max_frames frames",
        "vocoder": "not exported: Griffin-Lim with config.audio "
                   "(myxtts.audio.vocoder.GriffinLimVocoder)",
        "sample_rate": config.audio.sample_rate,
        "config": config.to_dict(),
        "symbols": loaded.symbols.to_dict(),
        "mel_stats": loaded.stats.to_list(),
    }


@dataclass
class ExportInfo:
    """``myxtts_export.json`` read back: tokenizer, mel statistics, vocoder for a server."""

    data: dict
    config: XTTSConfig
    symbols: SymbolTable
    stats: MelStats

    @classmethod
    def load(cls, export_dir: str | Path) -> "ExportInfo":
        path = Path(export_dir) / INFO_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(data, XTTSConfig.from_dict(data["config"]),
                       SymbolTable.from_dict(data["symbols"], str(path)),
                       MelStats.from_list(data["mel_stats"]))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ExportError(f"{path}: not a readable MyXTTS export description ({exc})") from None

    def tokenizer(self) -> Tokenizer:
        return Tokenizer(self.config.text, self.symbols)

    def vocoder(self, export_dir: str | Path | None = None):
        """The exported neural vocoder (``export_dir`` holds it) as a callable log-mel
        ``[F, n_mels]`` -> audio, else Griffin-Lim with the export's audio config."""
        if isinstance(self.data.get("vocoder"), dict) and export_dir is not None:
            serving = tf.saved_model.load(str(Path(export_dir) / VOCODER_FILE))
            fn = serving.signatures[SIGNATURE]
            return lambda mel: fn(log_mel=tf.constant(mel[None], tf.float32))["audio"][0].numpy()
        from myxtts.audio.vocoder import GriffinLimVocoder
        return GriffinLimVocoder(self.config.audio)


# ---------------------------------------------------------------- writing

def check_output(output: str | Path, fmt: str, overwrite: bool) -> Path:
    """Raise :class:`ExportError` unless the export may be written to ``output``."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    output = Path(output)
    if output.exists() and not output.is_dir():
        raise ExportError(f"{output} exists and is not a directory")
    clash = [output / name for name in (INFO_FILE, MODEL_FILES[fmt], VOCODER_FILE)
             if (output / name).exists()]
    if clash and not overwrite:
        raise ExportError(f"{', '.join(map(str, clash))} already exist(s); pass --overwrite to "
                          "replace or choose another output directory")
    return output


def _write_vocoder(staging: Path, loaded: LoadedCheckpoint) -> dict | None:
    """Export the run's neural vocoder, if it has one; its description for the JSON."""
    from myxtts.training.vocoder_checkpoint import find_vocoder_dir, load_vocoder

    found = find_vocoder_dir(loaded.prefix)
    if found is None:
        return None
    generator, _, prefix = load_vocoder(found, loaded.config.audio)
    module = tf.Module()
    module.generator = generator
    module.vocode = tf.function(
        lambda log_mel: {"audio": generator(log_mel)},
        input_signature=[tf.TensorSpec([None, None, loaded.config.audio.n_mels], tf.float32,
                                       "log_mel")])
    tf.saved_model.save(module, str(staging / VOCODER_FILE),
                        signatures={SIGNATURE: module.vocode})
    return {"file": VOCODER_FILE, "checkpoint": prefix, "signature": SIGNATURE,
            "inputs": ["log_mel"], "outputs": ["audio"],
            "samples_per_frame": loaded.config.audio.hop_length}


def _write(staging: Path, loaded: LoadedCheckpoint, fmt: str) -> dict:
    serving = MelServing(loaded)
    if fmt == "saved_model":
        signature = serving.signature(batch=None)
        tf.saved_model.save(serving, str(staging / MODEL_FILES[fmt]),
                            signatures={SIGNATURE: signature})
        info = export_info(loaded, fmt, None)
    else:
        flatbuffer, ops = convert_tflite(serving)
        (staging / MODEL_FILES[fmt]).write_bytes(flatbuffer)
        info = export_info(loaded, fmt, 1, ops)
    vocoder = _write_vocoder(staging, loaded)
    if vocoder is not None:
        info["vocoder"] = vocoder
    return info


def export_checkpoint(checkpoint: str | Path, output: str | Path, fmt: str = "saved_model",
                      overwrite: bool = False) -> Path:
    """Export ``checkpoint`` (run directory or prefix) as ``fmt`` into ``output``.

    Files are written to a staging folder next to ``output`` and moved in only when
    complete, so a failed export leaves ``output`` as it was. Raises
    :class:`ExportError` or :class:`~myxtts.training.checkpoints.CheckpointError`.
    """
    output = check_output(output, fmt, overwrite)
    loaded = load_checkpoint(checkpoint)
    created = not output.exists()
    output.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".export-", dir=output))
    try:
        info = _write(staging, loaded, fmt)
        (staging / INFO_FILE).write_text(json.dumps(info, indent=1, ensure_ascii=False) + "\n",
                                         encoding="utf-8")
    except BaseException:
        shutil.rmtree(output if created else staging, ignore_errors=True)
        raise
    for name in (MODEL_FILES[fmt], VOCODER_FILE, INFO_FILE):  # names check_output allowed
        if not (staging / name).exists():
            continue
        target = output / name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        elif target.exists() or target.is_symlink():
            target.unlink()
        (staging / name).replace(target)
    staging.rmdir()
    return output


def model_size(output: str | Path, fmt: str) -> int:
    """Bytes of the exported model file or folder."""
    path = Path(output) / MODEL_FILES[fmt]
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
