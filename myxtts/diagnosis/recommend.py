"""Recommendations from the verdict and the run's real config; each names its evidence."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any

from myxtts.diagnosis.results import Diagnosis, Recommendation, Trend
from myxtts.diagnosis.rundir import config_value
from myxtts.diagnosis.verdict import pct, primary_term

PLACEHOLDER_DATA = "<TRAIN_DATA>"
PLACEHOLDER_RUN = "<RUN_DIR>"
PLATEAU_LEVEL = "plateau_breaker"
LR_FACTOR_PLATEAU = 0.5
LR_FACTOR_UNSTABLE = 0.3
CLIP_FACTOR = 0.5
WEIGHT_FACTOR = 1.5
MAX_DROPOUT = 0.3


@dataclass
class Context:
    """What the recommendations may use besides the diagnosis."""

    config: dict[str, Any]
    run_dir: str | None
    data_path: str | None

    def cfg(self, dotted: str) -> Any:
        return config_value(self.config, dotted)

    def number(self, dotted: str) -> float | None:
        value = self.cfg(dotted)
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def sig(value: float, digits: int = 2) -> float:
    """Round to ``digits`` significant digits (for suggested settings)."""
    return float(f"{value:.{digits}g}")


def resume_command(ctx: Context, level: str) -> tuple[str, list[str]]:
    """``python3 train_main.py ... --resume-checkpoint latest --optimization-level LEVEL``."""
    train_data = ctx.data_path or ctx.cfg("data.train_data") or None
    placeholders = []
    data_arg = shlex.quote(str(train_data)) if train_data else PLACEHOLDER_DATA
    run_arg = shlex.quote(ctx.run_dir) if ctx.run_dir else PLACEHOLDER_RUN
    if not train_data:
        placeholders.append(f"{PLACEHOLDER_DATA}: the training data path (not in the config; pass --data)")
    if not ctx.run_dir:
        placeholders.append(f"{PLACEHOLDER_RUN}: the run's checkpoint directory (use --run-dir)")
    cmd = (f"python3 train_main.py --train-data {data_arg} --checkpoint-dir {run_arg} "
           f"--resume-checkpoint latest --optimization-level {level}")
    return cmd, placeholders


def effective_level(diag: Diagnosis, ctx: Context) -> str | None:
    """Optimization level in use: the last ``level_switch`` event, else the config's."""
    level = ctx.cfg("training.optimization_level")
    data = diag.data
    for event in (data.events if data else []):
        if event.get("event") != "level_switch":
            continue
        for key in ("level", "to", "optimization_level", "new_level"):
            if isinstance(event.get(key), str):
                level = event[key]
                break
        else:
            if PLATEAU_LEVEL in str(event.get("message", "")):
                level = PLATEAU_LEVEL
    return level


def _trend_evidence(trend: Trend, prefix: str = "") -> dict[str, Any]:
    return {
        f"{prefix}change_over_window": trend.change,
        f"{prefix}slope": trend.slope,
        f"{prefix}slope_ci": [trend.ci_low, trend.ci_high],
        f"{prefix}level": trend.level,
        f"{prefix}best": trend.best,
    }


def _plateau_breaker(diag: Diagnosis, ctx: Context, total: Trend) -> list[Recommendation]:
    level = effective_level(diag, ctx)
    if level == PLATEAU_LEVEL:
        return []
    cmd, placeholders = resume_command(ctx, PLATEAU_LEVEL)
    evidence = {**_trend_evidence(total), "window": [diag.window_start, diag.last_x],
                "plateau_since": diag.plateau_since, "optimization_level": level,
                "latest_checkpoint": diag.checkpoint["latest"] if diag.checkpoint else None}
    action = "Resume from the latest checkpoint with the plateau_breaker optimization level."
    if ctx.run_dir and not diag.checkpoint:
        action += " No `checkpoint` file was found in the run directory, so this would start from scratch."
    return [Recommendation("switch_plateau_breaker", "Switch to plateau_breaker", action, evidence,
                           cmd, placeholders)]


# Measured on the demo data (docs/PLATEAU_BREAKER_USAGE.md, "On a run that has really
# stalled"): resuming a stalled basic run with the enhanced learning rate brought validation
# mel loss from 0.314 to 0.140 in 500 steps; plateau_breaker (LR 1.5e-5) left it at 0.318.
WARM_RESTART_LEVEL = "enhanced"
DECAYED_LR_FRACTION = 0.1  # the LR counts as decayed below this share of its peak


def _warm_restart(diag: Diagnosis, ctx: Context) -> list[Recommendation]:
    lr = diag.lr
    if lr is None or not lr.current or not lr.peak or lr.current > DECAYED_LR_FRACTION * lr.peak:
        return []
    cmd, placeholders = resume_command(ctx, WARM_RESTART_LEVEL)
    action = ("The learning rate has decayed to a small share of its peak: resume with a warm "
              "restart to a high learning rate (the enhanced level). On our demo data this broke a "
              "stalled run where plateau_breaker's small learning rate did not (see "
              "docs/PLATEAU_BREAKER_USAGE.md).")
    evidence = {"lr_now": lr.current, "lr_peak": lr.peak,
                "lr_now_over_peak": sig(lr.current / lr.peak, 3),
                "measured": "demo data: val_mel_loss 0.314 -> 0.140 in 500 steps (plateau_breaker: 0.318)"}
    return [Recommendation("warm_restart", "Warm restart to a high learning rate", action, evidence,
                           cmd, placeholders)]


def _lower_lr(diag: Diagnosis, ctx: Context, factor: float) -> list[Recommendation]:
    lr = diag.lr
    base = ctx.number("training.learning_rate") or (lr.peak if lr else None)
    min_lr = ctx.number("training.min_learning_rate")
    evidence: dict[str, Any] = {"config_learning_rate": ctx.number("training.learning_rate"),
                                "logged_lr_now": lr.current if lr else None,
                                "logged_lr_peak": lr.peak if lr else None,
                                "lr_schedule": lr.kind if lr else None, "factor": factor}
    if diag.verdict == "plateau" and lr and lr.current is not None and lr.peak:
        floor = max((min_lr or 0.0) * 1.05, 0.05 * lr.peak)
        if lr.current <= floor:
            evidence["min_learning_rate"] = min_lr
            return [Recommendation(
                "lr_at_floor", "LR already at its floor",
                "The learning rate has decayed to its floor, so lowering it further will not help: "
                "prefer plateau_breaker or warm restarts (training.cosine_restarts: true).", evidence)]
    if lr and lr.zero_count:
        evidence["zero_lr_records"] = lr.zero_count
    if base is None:
        return [Recommendation("lower_lr", "Lower the learning rate",
                               f"Lower the learning rate by x{factor:g} (no LR in config or log).", evidence)]
    new = sig(base * factor)
    evidence["suggested_learning_rate"] = new
    return [Recommendation("lower_lr", "Lower the learning rate",
                           f"Set training.learning_rate to {new:.2g} (x{factor:g} of {base:.3g}).", evidence)]


def _tighten_clip(diag: Diagnosis, ctx: Context, min_frac: float | None) -> list[Recommendation]:
    grad = diag.grad
    clip = ctx.number("training.gradient_clip_norm")
    if grad is None and clip is None:
        return []
    evidence: dict[str, Any] = {"gradient_clip_norm": clip}
    if grad is not None:
        evidence.update(grad_norm_p50=grad.p50, grad_norm_p95=grad.p95, grad_norm_max=grad.max,
                        fraction_over_clip=grad.frac_over_clip)
    if clip and clip > 0:
        frac = grad.frac_over_clip if grad else None
        if min_frac is not None and (frac is None or frac < min_frac):
            return []
        new = sig(clip * CLIP_FACTOR)
        reason = f"grad norm exceeds the clip in {frac:.0%} of steps" if frac is not None else diag.verdict
    elif grad is not None:
        new = sig(grad.p95)
        reason = "clipping is off; clip at the 95th percentile of the logged grad norms"
    else:
        return []
    evidence["suggested_gradient_clip_norm"] = new
    return [Recommendation("tighten_clipping", "Tighten gradient clipping",
                           f"Set training.gradient_clip_norm to {new:g} ({reason}).", evidence)]


def _rebalance(diag: Diagnosis, ctx: Context) -> list[Recommendation]:
    total_name = primary_term(diag.train)
    improving = {n: t.change for n, t in diag.train.items() if n != total_name and t.direction == "decreasing"}
    if not improving:
        return []
    recs = []
    for term in diag.stuck_terms[:2]:
        trend = diag.train[term]
        key = f"training.{term}_weight"
        weight = ctx.number(key)
        evidence = {**_trend_evidence(trend, f"{term}_"), "improving_terms": improving, "current_weight": weight,
                    "adaptive_loss_weights": ctx.cfg("training.use_adaptive_loss_weights")}
        target = f"{sig(weight * WEIGHT_FACTOR)}" if weight is not None else f"x{WEIGHT_FACTOR:g} its value"
        recs.append(Recommendation(
            f"rebalance_{term}", f"Rebalance {term}",
            f"{term} is stuck ({pct(trend.change)}) while {', '.join(improving)} improve: raise {key} to "
            f"{target} (skip this if {term} already sits at its floor).", evidence))
    return recs


def _alignment(diag: Diagnosis, ctx: Context) -> list[Recommendation]:
    al = diag.alignment
    if al is None or al.learned or al.n < 2:
        return []
    evidence: dict[str, Any] = {"alignment_score_last": al.last, "alignment_score_best": al.best,
                                "evaluations": al.n, "trend": al.trend,
                                "alignment_loss_weight": ctx.number("training.alignment_loss_weight"),
                                "text_frontend": ctx.cfg("text.frontend"), "language": ctx.cfg("text.language")}
    if "alignment_loss" in diag.train:
        evidence["alignment_loss_change"] = diag.train["alignment_loss"].change
    action = ("Alignment is not learned (score < 0.7): check that transcripts match the audio, the text "
              "frontend/language fit the data and long silences are trimmed; then check "
              "training.alignment_loss_weight.")
    if al.trend == "rising":
        action += " The score is still rising, so re-check after more steps."
    return [Recommendation("alignment_not_learned", "Alignment not learned", action, evidence)]


def _check_data(diag: Diagnosis, ctx: Context) -> list[Recommendation]:
    nf = diag.nonfinite
    total = diag.train.get(primary_term(diag.train) or "")
    evidence = {"nonfinite_window": nf.total_window, "nonfinite_run": nf.total_run,
                "nonfinite_at": nf.first_xs, "spikes": total.spikes if total else None,
                "spike_at": total.spike_xs if total else None,
                "min_duration_s": ctx.cfg("data.min_duration_s"), "max_duration_s": ctx.cfg("data.max_duration_s")}
    recs = [Recommendation("check_data", "Check the data for bad files",
                           "Look for broken/silent/clipped audio, empty or mismatched transcripts and extreme "
                           "durations (batches near the listed steps).", evidence)]
    if ctx.cfg("training.mixed_precision") == "mixed_float16":
        recs.append(Recommendation("precision", "Avoid float16",
                                   "Set training.mixed_precision to float32 or mixed_bfloat16.",
                                   {"mixed_precision": "mixed_float16", "nonfinite_window": nf.total_window}))
    return recs


def _resume_before_rise(diag: Diagnosis, total: Trend) -> list[Recommendation]:
    if total.best_x is None:
        return []
    earlier = []
    if diag.checkpoint:
        for path in diag.checkpoint.get("all_paths", []):
            step = path.rsplit("-", 1)[-1]
            if step.isdigit() and int(step) <= total.best_x:
                earlier.append(path)
    evidence = {"best_loss": total.best, "best_at": total.best_x, "loss_now": total.level,
                "checkpoints_before_best": earlier}
    return [Recommendation("resume_before_rise", "Resume from before the rise",
                           f"Restart from a checkpoint saved at or before {diag.x_unit} {total.best_x:g} "
                           "with the lower LR instead of continuing.", evidence)]


def _overfitting(diag: Diagnosis, ctx: Context) -> list[Recommendation]:
    val = diag.val["val_loss"]
    gap = diag.gap
    evidence = {**_trend_evidence(val, "val_"), "val_best_at": val.best_x,
                "train_change_over_window": diag.train[primary_term(diag.train) or "loss"].change,
                "gap_rel": gap.current_rel_gap if gap else None, "gap_trend": gap.direction if gap else None}
    recs = [Recommendation("more_data", "More or more varied data",
                           "Validation loss rises while training loss does not: add data or augmentation.",
                           evidence)]
    recs += _warm_restart(diag, ctx)
    dropout = ctx.number("model.dropout")
    if dropout is not None and dropout < MAX_DROPOUT:
        new = sig(min(dropout + 0.1, MAX_DROPOUT))
        recs.append(Recommendation("dropout", "More dropout", f"Raise model.dropout from {dropout:g} to {new:g}.",
                                   {"dropout": dropout, "suggested_dropout": new, "val_change": val.change}))
    recs.append(Recommendation(
        "early_stopping", "Stop early / keep the best checkpoint",
        f"Keep the checkpoint nearest {diag.x_unit} {val.best_x:g} (best val_loss {val.best:.4g}).",
        {"val_best": val.best, "val_best_at": val.best_x, "val_now": val.level,
         "early_stopping_patience": ctx.cfg("training.early_stopping_patience")}))
    return recs


def recommend(diag: Diagnosis, config: dict[str, Any], run_dir: str | None,
              data_path: str | None) -> list[Recommendation]:
    """Recommendations for a diagnosed run, most important first."""
    ctx = Context(config=config, run_dir=run_dir, data_path=data_path)
    total = diag.train.get(primary_term(diag.train) or "")
    verdict = diag.verdict
    recs: list[Recommendation] = []
    if verdict == "insufficient_data":
        recs.append(Recommendation("more_steps", "Not enough data to judge",
                                   "Train longer (or log more often) and run the diagnosis again.",
                                   {"train_points": diag.n_train, "window_points": total.n_points if total else 0,
                                    "log_every_steps": ctx.cfg("training.log_every_steps")}))
    elif verdict == "improving" and total:
        recs.append(Recommendation("keep_training", "Keep training", "The loss is still falling; change nothing.",
                                   _trend_evidence(total)))
    elif verdict == "plateau" and total:
        recs += _plateau_breaker(diag, ctx, total)
        recs += _warm_restart(diag, ctx)
        recs += _lower_lr(diag, ctx, LR_FACTOR_PLATEAU)
        recs += _tighten_clip(diag, ctx, min_frac=0.5)
    elif verdict == "diverging" and total:
        recs += _lower_lr(diag, ctx, LR_FACTOR_UNSTABLE)
        recs += _tighten_clip(diag, ctx, min_frac=None)
        recs += _resume_before_rise(diag, total)
    elif verdict == "unstable":
        recs += _lower_lr(diag, ctx, LR_FACTOR_UNSTABLE)
        recs += _tighten_clip(diag, ctx, min_frac=None)
        recs += _check_data(diag, ctx)
    elif verdict == "overfitting":
        recs += _overfitting(diag, ctx)
    if verdict in ("improving", "plateau"):
        recs += _rebalance(diag, ctx)
    recs += _alignment(diag, ctx)
    return recs
