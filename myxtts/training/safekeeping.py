"""Runs that never lose their best model or their last minutes.

* :class:`CheckpointKeeper` saves the last ``keep_checkpoints`` checkpoints in the run
  directory and the best one by the steering metric (``val_loss``) in ``RUN_DIR/best``;
  it never saves non-finite weights, and rolls a run back to its last good checkpoint.
* :class:`GracefulStop` turns SIGTERM / SIGINT into a request the training loop honours
  after the current step (it then saves and exits); a second signal acts as usual.
"""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path

import numpy as np
import tensorflow as tf

from myxtts.training import BEST_DIR
from myxtts.training.checkpoints import restore_checkpoint

log = logging.getLogger(__name__)


def nonfinite_variables(variables) -> list[str]:
    """Names of the variables holding NaN or inf (float variables only)."""
    bad = []
    for v in variables:
        if tf.as_dtype(v.dtype).is_floating and not np.isfinite(np.asarray(v.numpy(), np.float64)).all():
            bad.append(getattr(v, "path", None) or v.name)
    return bad


def early_stopping(state, training, val_loss: float) -> str:
    """Count a validation against the best ``val_loss`` so far (``state.best_val_loss``,
    ``state.bad_validations``); returns why to stop, or "" to go on."""
    if val_loss < float(state.best_val_loss.numpy()) - training.early_stopping_min_delta:
        state.best_val_loss.assign(val_loss)
        state.bad_validations.assign(0)
        return ""
    state.bad_validations.assign_add(1)
    patience = training.early_stopping_patience
    if patience and int(state.bad_validations.numpy()) >= patience:
        return (f"validation loss has not improved by {training.early_stopping_min_delta} "
                f"for {patience} validations")
    return ""


class CheckpointKeeper:
    """The run's ``ckpt-<step>`` checkpoints, its best checkpoint and roll-back."""

    def __init__(self, checkpoint: tf.train.Checkpoint, run_dir: str | Path, keep: int,
                 watched_variables):
        self.checkpoint = checkpoint
        self.run_dir = Path(run_dir)
        self.latest = tf.train.CheckpointManager(checkpoint, str(self.run_dir), max_to_keep=keep,
                                                 checkpoint_name="ckpt")
        self.best = tf.train.CheckpointManager(checkpoint, str(self.run_dir / BEST_DIR),
                                               max_to_keep=1, checkpoint_name="ckpt")
        self._watched = watched_variables

    def _finite_or_reason(self) -> str:
        bad = nonfinite_variables(self._watched())
        return "" if not bad else f"{len(bad)} variables hold NaN/inf (e.g. {bad[0]})"

    def save(self, step: int, best: bool = False) -> tuple[str, str]:
        """Save ``ckpt-<step>`` (``best``: replace ``RUN_DIR/best`` with it); returns
        ``(path, "")``, or ``("", reason)`` when the weights are not finite (nothing is
        written then)."""
        reason = self._finite_or_reason()
        if reason:
            return "", reason
        return (self.best if best else self.latest).save(checkpoint_number=step), ""

    def roll_back(self) -> str | None:
        """Restore the newest checkpoint of the run (weights, optimizer, loss state,
        position); returns its path, or None when the run has none yet."""
        path = self.latest.latest_checkpoint
        if path is None:
            return None
        restore_checkpoint(self.checkpoint, path)
        return path


class GracefulStop:
    """Context manager: while active, SIGTERM/SIGINT set :attr:`signal_name` instead of
    killing the process; the first signal restores the previous handlers, so a second
    one interrupts immediately. Does nothing outside the main thread."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self):
        self.signal_name: str | None = None
        self._previous: dict = {}

    def _handle(self, signum, frame) -> None:  # noqa: ARG002 - signal handler signature
        self.signal_name = signal.Signals(signum).name
        log.warning("%s received: saving a checkpoint after this step, then stopping "
                    "(send it again to stop at once)", self.signal_name)
        self._restore()

    def _restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}

    def __enter__(self) -> "GracefulStop":
        if threading.current_thread() is threading.main_thread():
            for signum in self.SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        self._restore()
