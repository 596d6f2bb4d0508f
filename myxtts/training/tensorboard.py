"""TensorBoard summaries of a training run, in ``RUN_DIR/tensorboard``.

``tensorboard --logdir runs`` then shows, per run:

* Scalars: every numeric value of every train and validation record written to
  ``train_log.jsonl``, as ``train/<key>`` and ``val/<key>`` at the record's step (so a key
  added to the log appears here too), plus ``train/steps_per_s``: wall-clock steps per
  second between two train records (validation and checkpoints in that interval included).
* At each validation, by a trainer callback after it (never inside the compiled steps):
  ``training.tensorboard_samples`` fixed held-out sentences
  (:func:`myxtts.data.demo.held_out_sentences`, minus any the run's symbols cannot spell or
  that occur in its data) synthesised free-running by the current model in the voice of
  the first validation utterance, vocoded with Griffin-Lim: audio ``held_out/<i>`` and mel
  image ``held_out_mel/<i>`` (a tag is one series across all dashboards). For that
  validation utterance: its ground-truth, teacher-forced and free-running mels (image
  ``validation/mel``) and the aligner's soft alignment above the monotonic path (image
  ``validation/alignment``). The cost: ``tensorboard/sample_seconds`` (what the validation
  waits for) and ``tensorboard/background_seconds`` (vocoding and writing, on a thread).

Images are rendered with numpy (a viridis-like colour map); matplotlib is not needed.
"""

from __future__ import annotations

import logging
import math
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import tensorflow as tf

from myxtts.audio.vocoder import GriffinLimVocoder
from myxtts.data.demo import held_out_sentences

log = logging.getLogger(__name__)

TENSORBOARD_DIR = "tensorboard"

# Five anchors of matplotlib's viridis: dark violet (low) to yellow (high).
_ANCHORS = np.array([[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98],
                     [253, 231, 37]], np.float32)
_GAP = 3  # pixel rows of white between stacked panels


def colorize(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """``[H, W]`` floats to ``[H, W, 3]`` uint8: ``lo..hi`` along the colour map; NaN is white."""
    values = np.asarray(values, np.float32)
    t = np.clip((values - lo) / max(hi - lo, 1e-6), 0.0, 1.0)
    positions = np.linspace(0.0, 1.0, len(_ANCHORS))
    rgb = np.stack([np.interp(np.nan_to_num(t), positions, _ANCHORS[:, c]) for c in range(3)],
                   axis=-1)
    rgb[np.isnan(values)] = 255.0
    return rgb.round().astype(np.uint8)


def stack_panels(panels: list[np.ndarray], row_scale: list[int], col_scale: int) -> np.ndarray:
    """Stack 2-D panels vertically (each rows repeated ``row_scale[i]`` times, columns
    ``col_scale`` times), left-aligned, padded and separated with NaN."""
    scaled = [np.repeat(np.repeat(np.asarray(p, np.float32), r, 0), col_scale, 1)
              for p, r in zip(panels, row_scale)]
    width = max(p.shape[1] for p in scaled)
    rows = []
    for i, p in enumerate(scaled):
        if i:
            rows.append(np.full((_GAP, width), np.nan, np.float32))
        rows.append(np.pad(p, [(0, 0), (0, width - p.shape[1])], constant_values=np.nan))
    return np.concatenate(rows, axis=0)


def mel_rows(mel: np.ndarray) -> np.ndarray:
    """``[frames, n_mels]`` to an image panel ``[n_mels, frames]`` with low bins at the bottom."""
    return np.asarray(mel, np.float32).T[::-1]


def path_matrix(durations: np.ndarray, frames: int) -> np.ndarray:
    """Hard alignment ``[tokens, frames]`` (1 where a frame belongs to a token) from durations."""
    ends = np.cumsum(durations)
    starts = ends - durations
    t = np.arange(frames)[None, :]
    return ((t >= starts[:, None]) & (t < ends[:, None])).astype(np.float32)


def pick_sentences(tokenizer, count: int, exclude=()) -> list[str]:
    """The first ``count`` held-out sentences the tokenizer can spell completely that are
    not among the normalised texts ``exclude`` (fixed for a given symbol table and data)."""
    if count <= 0:
        return []
    candidates = held_out_sentences(4 * count + 4,  # prefix-stable: always the same ones
                                    language=getattr(tokenizer, "language", "en"))
    excluded = {tokenizer.normalize(text) for text in exclude}
    chosen = []
    for text, symbols in zip(candidates, tokenizer.to_symbol_strings(candidates)):
        unknown = sorted({c for c in symbols if tokenizer.symbols.get_id(c) is None})
        if not symbols or unknown:
            log.warning("TensorBoard samples: skipping held-out sentence %r: symbols %s are not "
                        "in the run's symbol table", text, "".join(unknown) or "(none)")
        elif tokenizer.normalize(text) in excluded:
            log.warning("TensorBoard samples: skipping %r: it occurs in the run's data", text)
        else:
            chosen.append(text)
            if len(chosen) == count:
                break
    if len(chosen) < count:
        log.warning("TensorBoard samples: only %d of %d held-out sentences are usable",
                    len(chosen), count)
    return chosen


class TensorBoardLog:
    """A summary writer for ``RUN_DIR/tensorboard``; called with each run-log record
    (a :class:`~myxtts.training.run_log.RunLogger` sink) it writes the scalars."""

    def __init__(self, run_dir: str | Path):
        self.logdir = Path(run_dir) / TENSORBOARD_DIR
        self.writer = tf.summary.create_file_writer(str(self.logdir))
        self.closed = False
        # Vocoding and image writing of the validation samples, off the training thread.
        self.background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tensorboard")
        self._last_train: tuple[int, float] | None = None

    def __call__(self, record: dict) -> None:
        kind = record.get("type")
        if kind not in ("train", "val") or self.closed:
            return
        step = int(record["step"])
        values = {f"{kind}/{key}": float(value) for key, value in record.items()
                  if key not in ("type", "step") and isinstance(value, (int, float))}
        if kind == "train":
            now = time.monotonic()
            if self._last_train is not None and step > self._last_train[0]:
                values["train/steps_per_s"] = ((step - self._last_train[0])
                                               / max(now - self._last_train[1], 1e-9))
            self._last_train = (step, now)
        with self.writer.as_default(step=step):
            for tag, value in values.items():
                tf.summary.scalar(tag, value)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.background.shutdown(wait=True)  # pending samples are written first
            self.writer.close()


class ValidationSamples:
    """Trainer callback ``cb(trainer, step, val_record)`` writing audio and images.

    At the validation it only runs the model: one forward pass on one validation utterance
    and one batched free-running synthesis (each item at most ``data.max_duration_s``
    long), both traced once per ``train()`` call (eager, the monotonic alignment search
    alone takes seconds). Griffin-Lim, image rendering and writing run on the writer's
    background thread while training continues. Both durations are logged.
    """

    OUTPUTS = ("mel_after", "aligner_logprob", "durations", "alignments", "decoder_lengths")

    def __init__(self, tb: TensorBoardLog, count: int):
        self.tb = tb
        self.count = count
        self._fixed: dict | None = None

    def __call__(self, trainer, step: int, record: dict) -> None:
        if self.tb.closed:
            return
        start = time.perf_counter()
        try:
            if self._fixed is None:
                self._fixed = self._prepare(trainer)
            arrays = self.synthesize(trainer)
        except Exception:  # samples must never stop a training run
            log.warning("TensorBoard samples at step %d failed", step, exc_info=True)
            return
        self.tb.background.submit(self._write, step, arrays, time.perf_counter() - start)

    def _prepare(self, trainer) -> dict:
        data, cfg, model = trainer.data, trainer.config, trainer.model
        texts = [e.text for e in data.train_examples + data.val_examples]
        sentences = pick_sentences(data.tokenizer, self.count, texts)
        val = data.val
        batch = val.make_batch([0], np.random.default_rng(0))  # fixed same-speaker reference
        lo, hi = np.percentile(val.mels[0], [1, 99])
        max_frames = int(math.ceil(cfg.data.max_duration_s * cfg.audio.sample_rate
                                   / cfg.audio.hop_length))
        signature = {k: tf.TensorSpec([None] * v.ndim, tf.as_dtype(v.dtype))
                     for k, v in batch.items()}

        def generate(text, text_lengths, ref, ref_lengths):
            return model.generate(text, text_lengths, ref, ref_lengths,
                                  max_frames=max_frames)[:2]

        if cfg.model.decoder_strategy != "autoregressive":  # its decoding loop stays eager
            generate = tf.function(generate, input_signature=[
                signature["text_ids"], signature["text_lengths"], signature["ref_mel"],
                signature["ref_lengths"]])
        return {
            "forward": tf.function(lambda b: {k: v for k, v in model(b, training=False).items()
                                              if k in self.OUTPUTS}, input_signature=[signature]),
            "generate": generate,
            "sentences": sentences,
            "tokens": [data.tokenizer.encode(s) for s in sentences],
            "reference": val.mels[0][: cfg.data.reference_max_frames],
            "batch": {k: tf.constant(v) for k, v in batch.items()},
            "truth": val.mels[0],
            "text": val.examples[0].text,
            "range": (float(lo), float(hi)),
            "stats": data.stats,
            "sample_rate": cfg.audio.sample_rate,
            "vocoder": GriffinLimVocoder(cfg.audio),
        }

    def synthesize(self, trainer) -> dict:
        """Numpy outputs of the current model (normalised mels, alignment panels)."""
        fixed = self._fixed
        batch = {k: v.numpy() for k, v in fixed["batch"].items()}
        outputs = {k: v.numpy() for k, v in fixed["forward"](fixed["batch"]).items()}
        # One batched synthesis: the held-out sentences in the reference voice, then the
        # validation utterance's text with its own batch reference.
        tokens = fixed["tokens"] + [batch["text_ids"][0, :batch["text_lengths"][0]]]
        refs = [fixed["reference"]] * len(fixed["tokens"]) + \
            [batch["ref_mel"][0, :batch["ref_lengths"][0]]]
        text = np.zeros((len(tokens), max(len(t) for t in tokens)), np.int32)
        ref = np.zeros((len(refs), max(r.shape[0] for r in refs), refs[0].shape[1]), np.float32)
        for i, (t, r) in enumerate(zip(tokens, refs)):
            text[i, :len(t)] = t
            ref[i, :r.shape[0]] = r
        mels, lengths = fixed["generate"](
            tf.constant(text), tf.constant([len(t) for t in tokens], tf.int32),
            tf.constant(ref), tf.constant([r.shape[0] for r in refs], tf.int32))
        mels, lengths = mels.numpy(), lengths.numpy()
        generated = [mels[i, :lengths[i]] for i in range(len(tokens))]
        frames = int(batch["mel_lengths"][0])
        return {"held_out": generated[:-1], "free_running": generated[-1],
                "teacher_forced": outputs["mel_after"][0, :frames],
                "alignment": self._alignment_panels(outputs, batch)}

    @staticmethod
    def _alignment_panels(outputs, batch) -> list[np.ndarray]:
        tokens, frames = int(batch["text_lengths"][0]), int(batch["mel_lengths"][0])
        if "aligner_logprob" in outputs:
            soft = np.exp(outputs["aligner_logprob"][0, :frames, :tokens]).T
            return [soft, path_matrix(outputs["durations"][0, :tokens], frames)]
        if "alignments" in outputs:  # autoregressive: decoder cross-attention per step
            steps = int(outputs["decoder_lengths"][0])
            return [outputs["alignments"][0, :steps, :tokens].T]
        return []

    def _write(self, step: int, arrays: dict, blocking: float) -> None:
        """Vocode, render and write (on the background thread)."""
        start = time.perf_counter()
        try:
            self.render(step, arrays)
        except Exception:
            log.warning("TensorBoard samples at step %d failed", step, exc_info=True)
            return
        background = time.perf_counter() - start
        with self.tb.writer.as_default(step=step):
            tf.summary.scalar("tensorboard/sample_seconds", blocking)
            tf.summary.scalar("tensorboard/background_seconds", background)
        self.tb.writer.flush()
        log.info("TensorBoard samples at step %d: %.2f s at the validation, %.2f s in the "
                 "background", step, blocking, background)

    def render(self, step: int, arrays: dict) -> None:
        fixed = self._fixed
        lo, hi = fixed["range"]
        with self.tb.writer.as_default(step=step):
            for i, (text, mel) in enumerate(zip(fixed["sentences"], arrays["held_out"])):
                wav = fixed["vocoder"](fixed["stats"].denormalize(mel))
                tf.summary.audio(f"held_out/{i + 1}", wav[None, :, None], fixed["sample_rate"],
                                 description=text)
                image = colorize(stack_panels([mel_rows(mel)], [2], 2), lo, hi)
                tf.summary.image(f"held_out_mel/{i + 1}", image[None], description=text)
            panels = [mel_rows(fixed["truth"]), mel_rows(arrays["teacher_forced"]),
                      mel_rows(arrays["free_running"])]
            image = colorize(stack_panels(panels, [2, 2, 2], 2), lo, hi)
            tf.summary.image("validation/mel", image[None], description=(
                f"Top to bottom: ground truth, teacher-forced, free-running. {fixed['text']!r}"))
            if arrays["alignment"]:
                panels = arrays["alignment"]
                scale = max(1, 160 // max(panels[0].shape[0], 1))
                image = colorize(stack_panels(panels, [scale] * len(panels), 2), 0.0, 1.0)
                tf.summary.image("validation/alignment", image[None], description=(
                    f"Tokens (rows) by frames: the aligner's soft alignment, above the "
                    f"monotonic path used for training. {fixed['text']!r}"))


def attach_tensorboard(trainer, logger) -> TensorBoardLog:
    """Write ``trainer``'s run to TensorBoard: scalars from ``logger`` (a
    :class:`~myxtts.training.run_log.RunLogger`; closing it closes the writer) and samples
    after each validation (replacing samples attached by an earlier ``train()`` call)."""
    tb = TensorBoardLog(trainer.run_dir)
    logger.sinks.append(tb)
    trainer.callbacks[:] = [cb for cb in trainer.callbacks if not isinstance(cb, ValidationSamples)]
    trainer.callbacks.append(ValidationSamples(tb, trainer.config.training.tensorboard_samples))
    return tb
