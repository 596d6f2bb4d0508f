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
import tensorflow as tf
import yaml
from tqdm import tqdm

from myxtts.config.config import XTTSConfig
from myxtts.config.presets import RUN_LENGTH_FIELDS
from myxtts.data.pipeline import DataBundle, build_data
from myxtts.models.factory import build_model
from myxtts.text.tokenizer import Tokenizer
from myxtts.models.speaker_latents import speaker_latent_table
from myxtts.training.checkpoints import (CheckpointError, SpeakerStore, TrainingState,
                                         make_checkpoint, resolve_checkpoint,
                                         restore_checkpoint, resume_inputs)
from myxtts.training.distribute import (agreed_stop_reason, cluster_info, mean_over_workers,
                                        remove_scratch, write_dir)
from myxtts.training.losses import XTTSLoss
from myxtts.training.precision import choose_precision
from myxtts.training.run_log import RunLogger, train_values
from myxtts.training.safekeeping import CheckpointKeeper, GracefulStop, early_stopping
from myxtts.training.schedules import LRSchedule, schedule_from_config
from myxtts.training.step import StepFunctions

log = logging.getLogger(__name__)

_SCHEDULE_FIELDS = {"learning_rate", "min_learning_rate", "warmup_steps", "scheduler",
                    "cosine_restarts", "scheduler_params", "optimization_level"}
#: Stop after this many roll-backs that did not get past the restored step.
MAX_FUTILE_ROLLBACKS = 3
_STOP_REASONS = ("SIGTERM", "SIGINT", "max_steps", "epochs", "max_minutes")


class NothingToTrain(ValueError):
    """A (resumed) run is already at or past the step it would train to."""


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
    """Custom-loop trainer for :class:`~myxtts.models.xtts.XTTSModel`. With several workers
    only the chief writes ``run_dir`` (see :mod:`myxtts.training.distribute`)."""

    def __init__(self, config: XTTSConfig, run_dir: str | Path = "runs/default",
                 strategy: tf.distribute.Strategy | None = None):
        self.config = config
        self.strategy = strategy or tf.distribute.get_strategy()
        self.cluster = cluster_info(self.strategy)
        self.shared_run_dir = Path(run_dir)
        self.run_dir = Path(write_dir(run_dir, self.cluster))  # where this process writes
        self.data: DataBundle | None = None
        self.model = None
        self.optimizer = None
        self.loss_fn: XTTSLoss | None = None
        self.state: TrainingState | None = None
        self.schedule: LRSchedule | None = None
        self.steps: StepFunctions | None = None
        self._resume_prefix: str | None = None
        self.nonfinite_steps = 0
        self._futile_rollbacks = 0  # roll-backs since the last good checkpoint
        self.keeper: CheckpointKeeper | None = None
        self.callbacks = []  # called as cb(trainer, step, val_record) after each validation

    # -- setup -----------------------------------------------------------------------
    def prepare_data(self, train_path: str | Path, val_path: str | Path | None = None,
                     resume: str | Path | None = None) -> DataBundle:
        """Load data. With ``resume`` the checkpoint's symbols, mel statistics and languages
        are reused."""
        tokenizer = stats = None
        if resume is not None:
            self._resume_prefix = resolve_checkpoint(resume)
            symbols, stats = resume_inputs(self._resume_prefix, self.config)
            tokenizer = Tokenizer(self.config.text, symbols)
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
            self.loss_fn.set_steering_weights(self.loss_fn.base_weights)
            self.clip_norm = tf.Variable(float(cfg.training.gradient_clip_norm), trainable=False,
                                         dtype=tf.float32)
        self.state = TrainingState(cfg.to_yaml(), self.data.tokenizer.symbols.to_json(),
                                   json.dumps(self.data.stats.to_list()))
        self.state.steering_weights_json.assign(json.dumps(dict(self.loss_fn.base_weights)))
        self.speakers = SpeakerStore()
        self.checkpoint = make_checkpoint(self.model, self.optimizer, self.loss_fn, self.state,
                                          speakers=self.speakers)
        self.keeper = CheckpointKeeper(self.checkpoint, self.run_dir,
                                       cfg.training.keep_checkpoints,
                                       lambda: self.model.weights + self.optimizer.variables)
        self._pending_events: list[tuple[str, str, dict]] = []
        if self._resume_prefix:
            self._restore(self._resume_prefix)
        self.steps = StepFunctions(self.model, self.optimizer, self.loss_fn, self.strategy,
                                   self.clip_norm, cfg.training.jit_compile)
        self.schedule = schedule_from_config(cfg.training, self.schedule_horizon,
                                             self.data.train.batches_per_epoch,
                                             int(self.state.schedule_start.numpy()))
        if cfg.training.optimization_level == "auto":
            from myxtts.training.auto_level import attach_auto_level
            attach_auto_level(self)

    def _restore(self, prefix: str) -> None:
        try:
            restore_checkpoint(self.checkpoint, prefix)
        except (AssertionError, ValueError, tf.errors.OpError) as exc:
            raise CheckpointError(f"{prefix}: checkpoint does not match this model/config "
                                  f"({str(exc).splitlines()[0]})") from exc
        stored = XTTSConfig.from_dict(yaml.safe_load(self.state.config_yaml.numpy().decode()))
        # The steering metric keeps the weights the run started with (older checkpoints
        # did not store them: their config's weights are the run's first ones we know).
        steering = self.state.steering_weights_json.numpy().decode()
        self.loss_fn.set_steering_weights(
            json.loads(steering) if steering else XTTSLoss(stored.training,
                                                           stored.model.decoder_strategy).base_weights)
        self.state.steering_weights_json.assign(json.dumps(dict(self.loss_fn.steering_weights)))
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

    def _restart_early_stopping(self) -> None:
        """A new level's loss weights put val_loss on another scale, and its settings get
        the full patience."""
        self.state.best_val_loss.assign(float("inf"))
        self.state.bad_validations.assign(0)

    @property
    def total_steps(self) -> int:
        """Planned run length: ``epochs`` x batches per epoch."""
        return self.config.training.epochs * self.data.train.batches_per_epoch

    @property
    def schedule_horizon(self) -> int:
        """The learning-rate schedule's horizon: the planned length, or ``max_steps`` when
        that is longer (a finished run resumed to train further).

        Independent of a shorter ``max_steps`` and of ``max_minutes``, so stopping early
        and resuming with another budget follows the same learning-rate curve.
        """
        return max(self.total_steps, self.config.training.max_steps or 0)

    def _step_limit(self, max_steps: int | None) -> int:
        """The step this call of :meth:`train` trains to."""
        return max_steps if max_steps else self.total_steps

    def warm_restart(self, message: str, **extra) -> None:
        """Restart the learning-rate schedule at its peak from the current step (no
        warm-up), keeping weights, optimizer moments and loss state. Logged."""
        step = int(self.state.step.numpy())
        self.state.schedule_start.assign(step)
        self.schedule = schedule_from_config(self.config.training, self.schedule_horizon,
                                             self.data.train.batches_per_epoch, step)
        self._restart_early_stopping()
        if getattr(self, "logger", None) is not None:
            self.logger.event(step, "warm_restart", message,
                              level=self.config.training.optimization_level,
                              lr=self.schedule(step), **extra)

    # -- loop --------------------------------------------------------------------------
    def train(self, max_steps: int | None = None, max_minutes: float | None = None,
              progress: bool = True) -> TrainingSummary:
        """Train until ``max_steps`` (default ``training.max_steps``, else the planned
        epochs), ``max_minutes``, early stopping, or SIGTERM/SIGINT (checkpoint saved at
        the current step; ``stop_reason`` is ``"SIGTERM"`` / ``"SIGINT"``).

        Raises :class:`NothingToTrain` when the run is already at that step.
        """
        if self.steps is None:
            self.build()
        cfg = self.config.training
        max_steps = max_steps if max_steps is not None else (cfg.max_steps or None)
        max_minutes = max_minutes if max_minutes is not None else (cfg.max_minutes or None)
        step = int(self.state.step.numpy())
        limit = self._step_limit(max_steps)
        if step >= limit:
            raise NothingToTrain(
                f"the run is at step {step}, which already reaches the step it would train to "
                f"({limit}: " + ("max_steps" if max_steps else
                                 f"{cfg.epochs} epochs x {self.data.train.batches_per_epoch} "
                                 "batches") + "); pass a larger --max-steps (it counts all "
                "steps of the run, including those already trained)")
        logger = RunLogger(self.run_dir, float(self.state.wall_time.numpy()))
        self.logger = logger
        if cfg.tensorboard and self.cluster.is_chief:  # scalars from the logger; samples
            from myxtts.training.tensorboard import attach_tensorboard
            attach_tensorboard(self, logger)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.config.save(self.run_dir / "config.yaml")
        self.data.stats.save(self.run_dir / "mel_stats.npz")
        self.data.tokenizer.symbols.save(self.run_dir / "symbols.json")
        logger.event(step, "resume" if step else "start",
                     f"{'resumed' if step else 'started'} at step {step}, epoch "
                     f"{int(self.state.epoch.numpy())}, level {cfg.optimization_level}, lr "
                     f"{self._lr(step):.3g}; training to step {limit}",
                     level=cfg.optimization_level, limit=limit, distribute=cfg.distribute,
                     **self.cluster.log_fields(self.data.train.batch_size),
                     floor_free=True)  # every logged loss term reaches ~0 (diagnosis reads it)
        for event, message, extra in self._pending_events:
            logger.event(step, event, message, **extra)
        self._pending_events = []
        deadline = time.time() + 60 * max_minutes if max_minutes else None
        bar = tqdm(total=limit, initial=min(step, limit), disable=not progress,
                   dynamic_ncols=True, desc="train")
        self._last_train, self._last_val = {}, {}
        self._limit_label = "max_steps" if max_steps else "epochs"
        with GracefulStop() as stop:
            stop_reason = self._loop(logger, bar, limit, deadline, stop)
        bar.close()
        step = int(self.state.step.numpy())
        if stop_reason not in ("SIGTERM", "SIGINT", "diverged") and \
                self._last_val.get("step") != step:
            self._last_val = self._validate_and_log(logger, step, int(self.state.epoch.numpy()))
        path = self._save(logger, step)
        logger.event(step, "end", f"stopped: {stop_reason}; {self.steps.trace_count} traces, "
                     f"{self.nonfinite_steps} non-finite steps", reason=stop_reason,
                     traces=self.steps.trace_count)
        logger.close()
        remove_scratch(self.run_dir, self.cluster)
        return TrainingSummary(step, int(self.state.epoch.numpy()), stop_reason,
                               self._last_train, self._last_val, path, self.steps.trace_count,
                               self.nonfinite_steps)

    def _lr(self, step: int) -> float:
        return self.schedule(step) * float(self.state.lr_scale.numpy())

    def _loop(self, logger, bar, limit: int, deadline: float | None, stop: GracefulStop) -> str:
        """Train until a stop condition; returns the reason. Restarts the data iterator
        after a roll-back (the restored position)."""
        cfg = self.config.training
        bad_in_row = 0
        while True:
            step = int(self.state.step.numpy())
            epoch = int(self.state.epoch.numpy())
            rolled_back = False
            for b, batch in self.data.train.batches(epoch, int(self.state.batch_in_epoch.numpy())):
                lr = self._lr(step)
                self.optimizer.learning_rate.assign(lr)
                report = {k: float(v) for k, v in
                          self.steps.train_step(self.steps.distribute(batch)).items()}
                step += 1
                self.state.step.assign(step)
                self.state.batch_in_epoch.assign(b + 1)
                bar.update(1)
                if report.pop("finite") < 0.5:
                    self.nonfinite_steps += 1
                    bad_in_row += 1
                    logger.event(step, "nonfinite_loss", f"skipped update (loss={report['loss']}, "
                                 f"grad_norm={report['grad_norm']})")
                else:
                    bad_in_row = 0
                if step % cfg.log_every_steps == 0 or step == 1:
                    self._last_train = self._log_train(logger, step, epoch, report, lr)
                    bar.set_postfix(loss=f"{report['loss']:.3f}")
                reason = ""
                if cfg.nonfinite_rollback_steps and bad_in_row >= cfg.nonfinite_rollback_steps:
                    reason = self._roll_back(logger, step, f"{bad_in_row} non-finite steps in a row")
                    rolled_back, bad_in_row = not reason, 0
                elif step % cfg.val_every_steps == 0:
                    self._last_val = self._validate_and_log(logger, step, epoch)
                    if self._early_stop(self._last_val, logger, step):
                        reason = "early_stopping"
                if not reason and not rolled_back and step % cfg.checkpoint_every_steps == 0:
                    if not self._save(logger, step):
                        reason = self._roll_back(logger, step, "weights are not finite")
                        rolled_back = not reason
                reason = reason or self._limit_reason(step, limit, deadline, stop)
                if reason:
                    return reason
                if rolled_back:
                    break
            else:  # an epoch ended (the step limit, checked above, ends the run)
                self.state.epoch.assign(epoch + 1)
                self.state.batch_in_epoch.assign(0)

    def _limit_reason(self, step: int, limit: int, deadline: float | None,
                      stop: GracefulStop) -> str:
        """Signal, step limit or time limit; the same on every worker (a signal or the
        clock of one worker stops them all)."""
        reason = stop.signal_name or (self._limit_label if step >= limit else "") or (
            "max_minutes" if deadline and time.time() >= deadline else "")
        return agreed_stop_reason(self.strategy, self.cluster, reason, _STOP_REASONS)

    def _roll_back(self, logger, step: int, why: str) -> str:
        """Restore the last good checkpoint and lower the learning rate; returns a stop
        reason when rolling back cannot help (no progress after several roll-backs)."""
        scale = float(self.state.lr_scale.numpy()) * self.config.training.rollback_lr_factor
        futile = self._futile_rollbacks = self._futile_rollbacks + 1
        best = float(self.state.best_saved_val_loss.numpy())  # RUN_DIR/best stays the best
        path = self.keeper.roll_back()
        restored = int(self.state.step.numpy())
        self.state.lr_scale.assign(scale)
        self.state.best_saved_val_loss.assign(best)
        target = path or "nothing (no checkpoint yet): continuing"
        logger.event(step, "rollback", f"{why}: rolled back to {target}, learning-rate scale "
                     f"now {scale:.3g}", restored_step=restored, lr_scale=scale)
        if futile >= MAX_FUTILE_ROLLBACKS:
            logger.event(step, "diverged", f"{futile} roll-backs without a good checkpoint in "
                         "between; stopping")
            return "diverged"
        return ""

    def _log_train(self, logger, step, epoch, report, lr) -> dict:
        values = train_values(report, self.loss_fn.get_stability_metrics(), lr,
                              self.nonfinite_steps, self.steps.trace_count)
        logger.train(step, epoch, values)
        return {"step": step, **values}

    def validate(self) -> dict:
        """Mean of every loss term and the alignment score over the validation set."""
        return self.steps.validate(self.data.val.batches(0))

    def _validate_and_log(self, logger, step, epoch) -> dict:
        # Averaged over workers, so that early stopping and best checkpoints agree.
        values = mean_over_workers(self.strategy, self.cluster, self.validate())
        logger.validation(step, epoch, values)
        record = {"step": step, **values}
        loss = values.get("val_loss", math.inf)
        previous = float(self.state.best_saved_val_loss.numpy())
        if loss < previous:
            self.state.best_saved_val_loss.assign(loss)  # stored in the best checkpoint too
            self.state.wall_time.assign(logger.wall_time)
            self._store_speaker_latents(step)
            path, problem = self.keeper.save(step, best=True)
            if path:
                logger.event(step, "best_checkpoint", f"val_loss {loss:.4f}: saved {path}",
                             val_loss=loss, path=path)
            else:
                self.state.best_saved_val_loss.assign(previous)
                logger.event(step, "save_skipped", f"best checkpoint not saved: {problem}")
        for callback in self.callbacks:
            callback(self, step, record)
        return record

    def _early_stop(self, val: dict, logger, step) -> bool:
        message = early_stopping(self.state, self.config.training, val.get("val_loss", math.inf))
        if message:
            logger.event(step, "early_stop", message)
        return bool(message)

    def _store_speaker_latents(self, step: int) -> None:
        """Put each training speaker's mean latent (and their mean) into the checkpoint."""
        train = self.data.train
        mels = {name: [train.mels[i] for i in idx] for name, idx in train.by_speaker.items()}
        table = speaker_latent_table(self.model, mels, self.config.data.reference_max_frames, step)
        self.speakers.latents_json.assign(table.to_json())

    def _save(self, logger, step) -> str:
        """Save ``ckpt-<step>`` (unless the weights are not finite: logged, returns "")."""
        self.state.wall_time.assign(logger.wall_time)
        self._store_speaker_latents(step)
        path, problem = self.keeper.save(step)
        if problem:
            logger.event(step, "save_skipped", f"checkpoint not saved: {problem}")
        else:
            self._futile_rollbacks = 0
        return path
