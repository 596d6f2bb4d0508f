"""Run all analyses on parsed log data and produce a Diagnosis (without recommendations)."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Any

import numpy as np

from myxtts.diagnosis.logdata import LogData, is_loss_key
from myxtts.diagnosis.results import Diagnosis, Thresholds
from myxtts.diagnosis.rundir import config_value
from myxtts.diagnosis.signals import (
    analyse_alignment,
    analyse_gap,
    analyse_grad,
    analyse_lr,
    count_nonfinite,
    resume_jumps,
)
from myxtts.diagnosis.trends import analyse_series, choose_window, plateau_segments, slope_factor
from myxtts.diagnosis.verdict import decide, primary_term, steering

VAL_MIN_POINTS = 4
VAL_RECENT_POINTS = 5
SUMMARY_KEYS = (
    "training.learning_rate", "training.min_learning_rate", "training.scheduler",
    "training.cosine_restarts", "training.warmup_steps", "training.gradient_clip_norm",
    "training.optimization_level", "training.mixed_precision", "training.mel_loss_weight",
    "training.stop_loss_weight", "training.kl_loss_weight", "training.duration_loss_weight",
    "training.alignment_loss_weight", "training.use_adaptive_loss_weights",
    "training.early_stopping_patience", "training.log_every_steps", "training.val_every_steps",
    "model.size", "model.decoder_strategy", "model.dropout", "data.train_data", "data.val_data",
    "data.batch_size", "text.frontend", "text.language",
)


def loss_weights(config: dict[str, Any], terms: list[str]) -> dict[str, float]:
    """``training.<term>_weight`` from the config for each loss term that has one."""
    weights = {}
    for term in terms:
        value = config_value(config, f"training.{term}_weight")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            weights[term] = float(value)
    return weights


def analyse(
    data: LogData,
    window: float | None = None,
    th: Thresholds | None = None,
    config: dict[str, Any] | None = None,
    heldout: dict[str, Any] | None = None,
) -> Diagnosis:
    """Trends of every loss term (train and val), secondary signals and the verdict."""
    th = th or Thresholds()
    config = config or {}
    _, slope_unit = slope_factor(data.x_unit)
    basis = data.train or data.val
    xs = np.array([r["x"] for r in basis])
    start, length = choose_window(xs, window, th)
    diag = Diagnosis(
        source=data.source, log_format=data.fmt, x_unit=data.x_unit, slope_unit=slope_unit,
        n_train=len(data.train), n_val=len(data.val), n_events=len(data.events),
        first_x=float(xs[0]), last_x=float(data.last_x), window=length, window_start=start,
        lines_read=data.lines_read, skipped_lines=data.skipped_lines,
        skipped_examples=list(data.skipped_examples), warnings=list(data.warnings), data=data,
    )
    for key in data.keys("train"):
        if is_loss_key(key):
            x, y = data.series(key)
            diag.train[key] = analyse_series(key, x, y, start, length, th, data.x_unit)
    _analyse_val(diag, data, start, th)
    lx, lr = data.series("lr")
    diag.lr = analyse_lr(lx, lr, start)
    gx, g = data.series("grad_norm")
    clip = config_value(config, "training.gradient_clip_norm")
    diag.grad = analyse_grad(gx, g, start, float(clip) if isinstance(clip, (int, float)) else None)
    diag.gap = analyse_gap(data, _val_start(data, start), th)
    diag.alignment = analyse_alignment(data, th)
    diag.nonfinite = count_nonfinite(data, start)
    diag.events = dict(Counter(str(e.get("event")) for e in data.events))
    main = primary_term(diag.train)
    if main:
        x, y = data.series(main)
        diag.plateau_segments = plateau_segments(x, y, length, th)
        finite_x = x[np.isfinite(y)]
        if diag.plateau_segments and finite_x.size and diag.plateau_segments[-1][1] >= finite_x[-1]:
            diag.plateau_since = diag.plateau_segments[-1][0]
    diag.config_summary = {k: config_value(config, k) for k in SUMMARY_KEYS if config_value(config, k) is not None}
    weights = loss_weights(config, list(diag.train))
    diag.heldout = heldout
    total = diag.train.get(main or "")
    diag.resumes = list(data.resumes)
    diag.resume_jumps = resume_jumps(data, start, total.level if total else None)
    diag.steering = steering(diag)
    diag.verdict, diag.reasons, diag.stuck_terms, diag.evidence = decide(diag, th, weights)
    return diag


def _val_start(data: LogData, start: float) -> float:
    """Validation window: the train window, widened to hold the last few evaluations."""
    vx = np.array([r["x"] for r in data.val if "val_loss" in r] or [r["x"] for r in data.val])
    if vx.size == 0:
        return start
    return min(start, float(vx[max(0, vx.size - VAL_RECENT_POINTS)]))


def _analyse_val(diag: Diagnosis, data: LogData, start: float, th: Thresholds) -> None:
    vstart = _val_start(data, start)
    val_th = replace(th, min_points=VAL_MIN_POINTS)
    length = float(data.last_x) - vstart
    for key in data.keys("val"):
        if is_loss_key(key):
            x, y = data.series(key, "val")
            diag.val[key] = analyse_series(key, x, y, vstart, length, val_th, data.x_unit)
