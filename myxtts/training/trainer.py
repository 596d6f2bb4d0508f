"""The training loop: data -> compiled steps -> logs, validation, checkpoints, resume.

Usage::

    config = XTTSConfig()
    trainer = XTTSTrainer(config, run_dir="runs/demo")
    trainer.prepare_data("data/demo")
    trainer.train()
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
import yaml
from tqdm import tqdm

from myxtts.audio.features import MelStats
from myxtts.config.config import XTTSConfig
from myxtts.config.presets import RUN_LENGTH_FIELDS
from myxtts.data.pipeline import DataBundle, build_data
from myxtts.models.factory import build_model
from myxtts.text.symbols import SymbolTable
from myxtts.text.tokenizer import Tokenizer
from myxtts.training.checkpoints import (CheckpointError, TrainingState, make_checkpoint,
                                         read_metadata, resolve_checkpoint)
from myxtts.training.losses import XTTSLoss
from myxtts.training.precision import choose_precision
from myxtts.training.run_log import RunLogger
from myxtts.training.schedules import LRSchedule, schedule_from_config
from myxtts.training.step import StepFunctions

log = logging.getLogger(__name__)

_SCHEDULE_FIELDS = {"learning_rate", "min_learning_rate", "warmup_steps", "scheduler",
                    "cosine_restarts", "scheduler_params", "optimization_level"}


@dataclass
class TrainingSummary:
    """What a call to :meth:`XTTSTrainer.train` did."""

    steps: int
    epochs: int
    stop_reason: str
    last_train: dict = field(default_factory=dict)
    last_val: dict = field(default_factory=dict)
    checkpoint: str = ""
    trace_count: int = 0
    nonfinite_steps: int = 0


class XTTSTrainer:
    """Custom-loop trainer for :class:`~myxtts.models.xtts.XTTSModel`."""

    def __init__(self, config: XTTSConfig, run_dir: str | Path = "runs/default",
                 strategy: tf.distribute.Strategy | None = None):
        self.config = config
        self.run_dir = Path(run_dir)
        self.strategy = strategy or tf.distribute.get_strategy()
        self.data: DataBundle | None = None
        self.model = None
        self.optimizer = None
        self.loss_fn: XTTSLoss | None = None
        self.state: TrainingState | None = None
        self.schedule: LRSchedule | None = None
        self.steps: StepFunctions | None = None
        self._resume_prefix: str | None = None
        self.nonfinite_steps = 0
        self.callbacks = []  # called as cb(trainer, step, val_record) after each validation

    # -- setup -----------------------------------------------------------------------
    def prepare_data(self, train_path: str | Path, val_path: str | Path | None = None,
                     resume: str | Path | None = None) -> DataBundle:
        """Load data. With ``resume`` the checkpoint's symbols and mel statistics are reused."""
        tokenizer = stats = None
        if resume is not None:
            self._resume_prefix = resolve_checkpoint(resume)
            meta = read_metadata(self._resume_prefix)
            tokenizer = Tokenizer(self.config.text, SymbolTable.from_json(meta["symbols_json"]))
            stats = MelStats.from_list(meta["mel_stats"])
        self.data = build_data(self.config, train_path, val_path, tokenizer, stats)
        # Record where the data came from, so the saved config (and tools reading it) can
        # point back at it.
        self.config.data.train_data = str(train_path)
        self.config.data.val_data = str(val_path) if val_path else ""
        return self.data

    def build(self) -> None:
        """Create model, optimizer, loss, checkpoint; restore if resuming."""
        if self.data is None:
            raise RuntimeError("call prepare_data() before build()")
        cfg = self.config
        replicas = self.strategy.num_replicas_in_sync
        if self.data.train.batch_size % replicas:
            raise ValueError(f"data.batch_size {self.data.train.batch_size} must be a multiple "
                             f"of the {replicas} replicas")
        keras.utils.set_random_seed(cfg.training.seed)
        policy = choose_precision(cfg.training.mixed_precision)
        keras.mixed_precision.set_global_policy(policy)
        with self.strategy.scope():
            self.model = build_model(cfg, len(self.data.tokenizer.symbols))
            example = next(self.data.val.batches(0))[1]
            self.model(example, training=False)
            optimizer = keras.optimizers.AdamW(
                learning_rate=cfg.training.learning_rate, weight_decay=cfg.training.weight_decay,
                beta_1=cfg.training.beta_1, beta_2=cfg.training.beta_2,
                epsilon=cfg.training.epsilon)
            if policy == "mixed_float16":
                optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
            optimizer.build(self.model.trainable_variables)
            self.optimizer = optimizer
            self.loss_fn = XTTSLoss(cfg.training, cfg.model.decoder_strategy)
            self.clip_norm = tf.Variable(float(cfg.training.gradient_clip_norm), trainable=False,
                                         dtype=tf.float32)
        self.state = TrainingState(cfg.to_yaml(), self.data.tokenizer.symbols.to_json(),
                                   json.dumps(self.data.stats.to_list()))
        self.checkpoint = make_checkpoint(self.model, self.optimizer, self.loss_fn, self.state)
        self.manager = tf.train.CheckpointManager(self.checkpoint, str(self.run_dir),
                                                  max_to_keep=cfg.training.keep_checkpoints,
                                                  checkpoint_name="ckpt")
        self._pending_events: list[tuple[str, str, dict]] = []
        if self._resume_prefix:
            self._restore(self._resume_prefix)
        self.steps = StepFunctions(self.model, self.optimizer, self.loss_fn, self.strategy,
                                   self.clip_norm, cfg.training.jit_compile)
        self.schedule = schedule_from_config(cfg.training, self.total_steps,
                                             self.data.train.batches_per_epoch,
                                             int(self.state.schedule_start.numpy()))
        if cfg.training.optimization_level == "auto":
            from myxtts.training.auto_level import attach_auto_level
            attach_auto_level(self)

    def _restore(self, prefix: str) -> None:
        try:
            self.checkpoint.restore(prefix).assert_existing_objects_matched()
        except (AssertionError, ValueError, tf.errors.OpError) as exc:
            raise CheckpointError(f"{prefix}: checkpoint does not match this model/config "
                                  f"({str(exc).splitlines()[0]})") from exc
        stored = XTTSConfig.from_dict(yaml.safe_load(self.state.config_yaml.numpy().decode()))
        old_level, new_level = stored.training.optimization_level, self.config.training.optimization_level
        changed = sorted(k for k in vars(self.config.training) if k not in RUN_LENGTH_FIELDS
                         and getattr(stored.training, k) != getattr(self.config.training, k))
        if changed:
            # Another level or other training settings: weights and optimizer moments are
            # kept; a changed learning-rate schedule starts at the restored step.
            step = int(self.state.step.numpy())
            if set(changed) & _SCHEDULE_FIELDS:
                self.state.schedule_start.assign(step)
            if old_level != new_level:
                self._restart_early_stopping()
            self._pending_events.append((
                "level_switch" if old_level != new_level else "config_change",
                f"resumed from level {old_level} into {new_level}; changed: {', '.join(changed)}; "
                f"schedule starts at step {int(self.state.schedule_start.numpy())}",
                {"from": old_level, "to": new_level, "level": new_level, "changed": changed}))
        # Metadata describing this run (the possibly changed config) replaces the stored one.
        self.state.config_yaml.assign(self.config.to_yaml())
        self.clip_norm.assign(self.config.training.gradient_clip_norm)

    def apply_training_config(self, training, event: str, message: str, **extra) -> None:
        """Switch training settings in place (e.g. an optimization level), mid-run.

        Keeps weights, optimizer moments and loss state; applies the new loss weights and
        toggles, clipping, learning rate and schedule (starting at the current step); the
        train step is retraced once. Logged as ``event``.
        """
        step = int(self.state.step.numpy())
        if training.optimization_level != self.config.training.optimization_level:
            self._restart_early_stopping()
        self.config.training = training
        self.loss_fn.reconfigure(training)
        self.clip_norm.assign(training.gradient_clip_norm)
        self.optimizer.weight_decay = training.weight_decay
        self.state.schedule_start.assign(step)
        self.state.config_yaml.assign(self.config.to_yaml())
        self.schedule = schedule_from_config(training, self.total_steps,
                                             self.data.train.batches_per_epoch, step)
        traces = self.steps.trace_count
        self.steps = StepFunctions(self.model, self.optimizer, self.loss_fn, self.strategy,
                                   self.clip_norm, training.jit_compile)
        self.steps.trace_count = traces
        if getattr(self, "logger", None) is not None:
            self.logger.event(step, event, message, level=training.optimization_level,
                              lr=self.schedule(step), **extra)
        self.config.save(self.run_dir / "config.yaml")

    def _restart_early_stopping(self) -> None:
        """A new level's loss weights put val_loss on another scale, and its settings get
        the full patience."""
        self.state.best_val_loss.assign(float("inf"))
        self.state.bad_validations.assign(0)

    @property
    def total_steps(self) -> int:
        """Planned run length (``epochs`` x batches per epoch): the schedule's horizon.

        Deliberately independent of ``max_steps`` / ``max_minutes``, so stopping early
        and resuming with another budget follows the same learning-rate curve.
        """
        return self.config.training.epochs * self.data.train.batches_per_epoch

    # -- loop --------------------------------------------------------------------------
    def train(self, max_steps: int | None = None, max_minutes: float | None = None,
              progress: bool = True) -> TrainingSummary:
        if self.steps is None:
            self.build()
        cfg = self.config.training
        max_steps = max_steps if max_steps is not None else (cfg.max_steps or None)
        max_minutes = max_minutes if max_minutes is not None else (cfg.max_minutes or None)
        logger = RunLogger(self.run_dir, float(self.state.wall_time.numpy()))
        self.logger = logger
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.config.save(self.run_dir / "config.yaml")
        self.data.stats.save(self.run_dir / "mel_stats.npz")
        self.data.tokenizer.symbols.save(self.run_dir / "symbols.json")
        step = int(self.state.step.numpy())
        epoch = int(self.state.epoch.numpy())
        start_batch = int(self.state.batch_in_epoch.numpy())
        logger.event(step, "resume" if step else "start",
                     f"{'resumed' if step else 'started'} at step {step}, epoch {epoch}, level "
                     f"{cfg.optimization_level}, lr {self.schedule(step):.3g}",
                     level=cfg.optimization_level)
        for event, message, extra in self._pending_events:
            logger.event(step, event, message, **extra)
        self._pending_events = []
        session_start = time.time()
        deadline = session_start + 60 * max_minutes if max_minutes else None
        limit = min(max_steps, self.total_steps) if max_steps else self.total_steps
        bar = tqdm(total=limit, initial=min(step, limit), disable=not progress,
                   dynamic_ncols=True, desc="train")
        last_train: dict = {}
        last_val: dict = {}
        stop_reason = "max_steps" if step >= limit else ""
        while not stop_reason:
            for b, batch in self.data.train.batches(epoch, start_batch):
                lr = self.schedule(step)
                self.optimizer.learning_rate.assign(lr)
                report = {k: float(v) for k, v in self.steps.train_step(self.steps.distribute(batch)).items()}
                step += 1
                self.state.step.assign(step)
                self.state.batch_in_epoch.assign(b + 1)
                bar.update(1)
                if report.pop("finite") < 0.5:
                    self.nonfinite_steps += 1
                    logger.event(step, "nonfinite_loss",
                                 f"skipped update (loss={report['loss']})")
                if step % cfg.log_every_steps == 0 or step == 1:
                    last_train = self._log_train(logger, step, epoch, report, lr)
                    bar.set_postfix(loss=f"{report['loss']:.3f}")
                if step % cfg.val_every_steps == 0:
                    last_val = self._validate_and_log(logger, step, epoch)
                    if self._early_stop(last_val, logger, step):
                        stop_reason = "early_stopping"
                if step % cfg.checkpoint_every_steps == 0:
                    self._save(logger, step)
                if not stop_reason and step >= limit:
                    stop_reason = "max_steps"
                if not stop_reason and deadline and time.time() >= deadline:
                    stop_reason = "max_minutes"
                if stop_reason:
                    break
            else:
                epoch += 1
                start_batch = 0
                self.state.epoch.assign(epoch)
                self.state.batch_in_epoch.assign(0)
                if epoch >= cfg.epochs:
                    stop_reason = "epochs"
        bar.close()
        if not last_val or last_val.get("step") != step:
            last_val = self._validate_and_log(logger, step, epoch)
        path = self._save(logger, step)
        logger.event(step, "end", f"stopped: {stop_reason}; {self.steps.trace_count} traces, "
                     f"{self.nonfinite_steps} non-finite steps", reason=stop_reason,
                     traces=self.steps.trace_count)
        logger.close()
        return TrainingSummary(step, epoch, stop_reason, last_train, last_val, path,
                               self.steps.trace_count, self.nonfinite_steps)

    def _log_train(self, logger, step, epoch, report, lr) -> dict:
        metrics = self.loss_fn.get_stability_metrics()
        values = {k: v for k, v in report.items() if k.endswith("_loss")}
        values = {"loss": report["loss"], "loss_smoothed": metrics["smoothed_loss"], **values,
                  "lr": lr, "grad_norm": report["grad_norm"],
                  "loss_stability_score": metrics["loss_stability_score"],
                  "spikes": int(metrics["spike_count"]), "nonfinite_steps": self.nonfinite_steps,
                  "traces": self.steps.trace_count}
        logger.train(step, epoch, values)
        return {"step": step, **values}

    def validate(self) -> dict:
        """Mean of every loss term and the alignment score over the validation set."""
        totals: dict[str, float] = {}
        weights = 0
        for _, batch in self.data.val.batches(0):
            n = len(batch["text_lengths"])
            for k, v in self.steps.eval_step(batch).items():
                totals[k] = totals.get(k, 0.0) + float(v) * n
            weights += n
        return {("val_" + k if k.endswith("loss") else k): v / weights for k, v in totals.items()}

    def _validate_and_log(self, logger, step, epoch) -> dict:
        values = self.validate()
        logger.validation(step, epoch, values)
        record = {"step": step, **values}
        for callback in self.callbacks:
            callback(self, step, record)
        return record

    def _early_stop(self, val: dict, logger, step) -> bool:
        cfg = self.config.training
        loss = val.get("val_loss", math.inf)
        if loss < float(self.state.best_val_loss.numpy()) - cfg.early_stopping_min_delta:
            self.state.best_val_loss.assign(loss)
            self.state.bad_validations.assign(0)
            return False
        self.state.bad_validations.assign_add(1)
        if cfg.early_stopping_patience and int(self.state.bad_validations.numpy()) >= cfg.early_stopping_patience:
            logger.event(step, "early_stop", f"validation loss has not improved by "
                         f"{cfg.early_stopping_min_delta} for {cfg.early_stopping_patience} validations")
            return True
        return False

    def _save(self, logger, step) -> str:
        self.state.wall_time.assign(logger.wall_time)
        path = self.manager.save(checkpoint_number=step)
        return path
