"""Verdict (improving / plateau / diverging / overfitting / unstable / insufficient_data) and stuck terms."""

from __future__ import annotations

import math
from pathlib import Path

from myxtts.diagnosis.logdata import LogData
from myxtts.diagnosis.results import Diagnosis, Thresholds, Trend

MIN_TERM_SHARE = 0.05  # a term below this share of the total loss cannot be "stuck"
MIN_VAL_POINTS = 5  # validation points in the window needed to overrule a falling train term
MIN_HELDOUT_POINTS = 3  # held-out checkpoints (MCD-DTW) needed to use them
FLOOR_FREE_MARKERS = ("dampening_scale",)  # train-record keys logged only by floor-free MyXTTS


def primary_term(train: dict[str, Trend]) -> str | None:
    """The series the verdict rests on: the total ``loss`` when logged, else the first loss term."""
    if "loss" in train:
        return "loss"
    return next(iter(sorted(train)), None)


def pct(value: float | None) -> str:
    """Signed percentage text for a fractional change."""
    return "n/a" if value is None else f"{value * 100:+.1f}%"


def is_floor_free(data: LogData | None) -> bool:
    """True for MyXTTS logs whose loss terms are floor-free (every term reaches ~0 for a perfect
    prediction, ``loss``/``val_loss`` use fixed base weights): their train records carry a marker
    key, or an event says ``floor_free: true``. Older MyXTTS logs and other frameworks: False."""
    if data is None or not data.fmt.startswith("myxtts"):
        return False
    if any(e.get("floor_free") is True for e in data.events):
        return True
    return any(marker in rec for rec in data.train[:50] for marker in FLOOR_FREE_MARKERS)


def steering(diag: Diagnosis) -> dict[str, object]:
    """Which series the improving/plateau call rests on. Floor-free MyXTTS runs: the held-out
    ``val_loss`` when the window has enough evaluations, else the train ``loss``; other runs: the
    train total, looking past terms with floors."""
    floor_free = is_floor_free(diag.data)
    val = diag.val.get("val_loss")
    if floor_free and val is not None and val.n_points >= MIN_VAL_POINTS and val.direction != "insufficient":
        return {"metric": "val_loss", "floor_free": True, "held_out": True}
    return {"metric": primary_term(diag.train), "floor_free": floor_free, "held_out": False}


def _unstable_reasons(diag: Diagnosis, total: Trend | None, th: Thresholds) -> list[tuple[str, str]]:
    nf = diag.nonfinite
    reasons = []
    records = (total.n_points + total.nonfinite) if total else 0
    needed = max(2, math.ceil(th.nonfinite_fraction * records))
    if nf.total_window >= needed:
        views = [f"{n} {what}" for n, what in ((nf.nan_values_window, "NaN/inf losses"),
                                              (nf.grad_nonfinite_window, "NaN/inf gradient norms"),
                                              (nf.overflow_lines_window, "overflow/skip lines"),
                                              (nf.events_window - nf.overflow_lines_window, "non-finite events"),
                                              (nf.counter_window, "counted by nonfinite_steps")) if n]
        reasons.append(("nonfinite_steps", f"{nf.total_window} non-finite/skipped steps in the window "
                        f"({', '.join(views)}; {records} logged records; first at "
                        f"{', '.join(f'{v:g}' for v in nf.first_xs[:3])})"))
    if nf.last_loss_nonfinite:
        reasons.append(("last_loss_nonfinite", "the last logged loss is NaN/inf"))
    if nf.lr_nonfinite:
        reasons.append(("lr_nonfinite", f"learning rate is NaN/inf in {nf.lr_nonfinite} records"))
    for jump in diag.resume_jumps:
        reasons.append(("loss_jump_after_resume",
                        f"{jump['loss_key']} jumped x{jump['factor']:.3g} right after a resume at "
                        f"{diag.x_unit} {jump['x']:g} ({jump['loss_before']:.4g} -> {jump['loss_after']:.4g}; "
                        f"{jump['why']})"))
    if total and total.n_points and total.spikes >= 3 and total.spikes / total.n_points >= th.spike_fraction:
        reasons.append(("spikes", f"{total.spikes} loss spikes (robust z > {th.spike_z:g}) in {total.n_points} points"))
    if total and total.noise is not None and total.noise > th.max_noise:
        reasons.append(("noise", f"loss noise {total.noise:.2f} (residual MAD relative to level) > {th.max_noise:g}"))
    return reasons


def _diverging_reasons(total: Trend, th: Thresholds) -> list[str]:
    reasons = []
    if total.direction == "increasing" and total.change is not None and total.change >= th.diverge_rise:
        reasons.append(f"loss rose {pct(total.change)} across the window (slope CI "
                       f"[{total.ci_low:.3g}, {total.ci_high:.3g}] excludes 0)")
    if (total.scale == "log" and total.level is not None and total.best is not None and total.best > 0
            and total.best_x is not None and total.best_x < total.window_start
            and total.level >= th.blowup_factor * total.best):
        reasons.append(f"recent loss {total.level:.4g} is {total.level / total.best:.2f}x its best "
                       f"{total.best:.4g} (at {total.best_x:g})")
    return reasons


def _overfitting_reasons(diag: Diagnosis, total: Trend, th: Thresholds) -> list[str]:
    val = diag.val.get("val_loss")
    if val is None or total.direction not in ("decreasing", "flat") or val.best is None:
        return []
    reasons = []
    if val.direction == "increasing":
        reasons.append(f"val_loss rose {pct(val.change)} while train loss changed {pct(total.change)}")
    data = diag.data
    if data is not None and val.best_x is not None and val.level is not None and val.best > 0:
        evals_since = sum(1 for r in data.val if "val_loss" in r and r["x"] > val.best_x)
        if (evals_since >= 3 and val.level >= (1 + th.overfit_rise) * val.best
                and val.direction != "decreasing"):
            reasons.append(f"val_loss {val.level:.4g} is {pct(val.level / val.best - 1)} above its best "
                           f"{val.best:.4g} (at {val.best_x:g}, {evals_since} evaluations ago)")
    heldout = heldout_worse(diag, th)
    if heldout and (reasons or val.direction != "decreasing"):
        reasons.append(heldout)
    if reasons and diag.gap is not None:
        reasons.append(f"train/val gap is {diag.gap.direction} (now {pct(diag.gap.current_rel_gap)} of train)")
    return reasons


def heldout_worse(diag: Diagnosis, th: Thresholds) -> str | None:
    """Held-out MCD-DTW of the latest checkpoint 5 % or more above the best earlier one."""
    points = [p for p in (diag.heldout or {}).get("points", []) if isinstance(p.get("mcd_dtw"), (int, float))]
    if len(points) < MIN_HELDOUT_POINTS:
        return None
    best = min(points, key=lambda p: p["mcd_dtw"])
    last = points[-1]
    if best is last or last["mcd_dtw"] < (1 + th.overfit_rise) * best["mcd_dtw"]:
        return None
    return (f"held-out MCD-DTW {last['mcd_dtw']:.2f} dB at step {last['step']:g} is "
            f"{pct(last['mcd_dtw'] / best['mcd_dtw'] - 1)} above its best {best['mcd_dtw']:.2f} dB "
            f"(step {best['step']:g}; {Path(diag.heldout['file']).name})")  # type: ignore[index]


def find_stuck_terms(diag: Diagnosis, weights: dict[str, float]) -> list[str]:
    """Loss terms (not the total) that are flat/rising and make up a noticeable share of the loss."""
    total_name = primary_term(diag.train)
    total = diag.train.get(total_name or "")
    stuck = []
    for name, trend in sorted(diag.train.items()):
        if name == total_name or trend.direction not in ("flat", "increasing") or trend.level is None:
            continue
        if total is not None and total.level:
            share = abs(trend.level * weights.get(name, 1.0)) / abs(total.level)
            if share < MIN_TERM_SHARE:
                continue
        stuck.append(name)
    return stuck


def improving_terms(diag: Diagnosis, weights: dict[str, float], th: Thresholds) -> list[str]:
    """Loss terms (not the total) clearly falling across the window with a noticeable share."""
    total_name = primary_term(diag.train)
    total = diag.train.get(total_name or "")
    moving = []
    for name, trend in sorted(diag.train.items()):
        if name == total_name or trend.direction != "decreasing" or trend.change is None:
            continue
        if trend.change > -th.min_improvement:
            continue
        val = diag.val.get(f"val_{name}")
        if (val is not None and val.n_points >= MIN_VAL_POINTS
                and (val.direction == "increasing"
                     or (val.change is not None and val.change > -th.min_improvement))):
            continue  # falling on training data only: held-out loss has stopped improving
        if total is not None and total.level and trend.level is not None:
            share = abs(trend.level * weights.get(name, 1.0)) / abs(total.level)
            if share < MIN_TERM_SHARE:
                continue
        moving.append(name)
    return moving


Decision = tuple[str, list[str], list[str], list[str]]


def decide(diag: Diagnosis, th: Thresholds, weights: dict[str, float]) -> Decision:
    """(verdict, reasons, stuck_terms, evidence) for an analysed run; ``evidence`` names what
    the verdict used (see docs/DIAGNOSE_PLATEAU.md, "Verdicts")."""
    total = diag.train.get(primary_term(diag.train) or "")
    stuck = find_stuck_terms(diag, weights)
    unstable = _unstable_reasons(diag, total, th)
    if unstable:
        return "unstable", [r for _, r in unstable], stuck, list(dict.fromkeys(k for k, _ in unstable))
    if total is None or total.direction == "insufficient":
        n = total.n_points if total else 0
        return ("insufficient_data", [f"{n} finite train loss points in the window (need {th.min_points})"],
                stuck, ["few_points"])
    reasons = _diverging_reasons(total, th)
    if reasons:
        return "diverging", reasons, stuck, ["train_loss_trend"]
    reasons = _overfitting_reasons(diag, total, th)
    if reasons:
        evidence = ["val_loss_vs_train"] + (["heldout_mcd"] if any("MCD" in r for r in reasons) else [])
        return "overfitting", reasons, stuck, evidence
    steer = diag.steering
    if steer.get("held_out"):
        val = diag.val["val_loss"]
        ci = f"slope {val.slope:.3g} [{val.ci_low:.3g}, {val.ci_high:.3g}] {diag.slope_unit}"
        what = f"held-out val_loss (floor-free steering metric, {val.n_points} evaluations)"
        if val.direction == "decreasing":
            return "improving", [f"{what} changed {pct(val.change)}; {ci}"], stuck, ["heldout_val_loss_trend"]
        return "plateau", [f"{what} changed only {pct(val.change)} (threshold {th.min_improvement * 100:.0f}%); "
                           f"{ci}; train loss changed {pct(total.change)}"], stuck, ["heldout_val_loss_trend"]
    ci = f"slope {total.slope:.3g} [{total.ci_low:.3g}, {total.ci_high:.3g}] {diag.slope_unit}"
    if total.direction == "decreasing":
        return "improving", [f"loss changed {pct(total.change)} across the window; {ci}"], stuck, ["train_loss_trend"]
    moving = [] if steer.get("floor_free") else improving_terms(diag, weights, th)
    if moving:
        # Terms with floors (stop-token BCE with label smoothing, the alignment NLL with its
        # prior) can hold the total flat while the terms that decide quality still fall.
        return "improving", [
            f"total loss flat ({pct(total.change)}; {ci}) but "
            + ", ".join(f"{n} is still falling ({pct(diag.train[n].change)}, slope CI "
                        f"[{diag.train[n].ci_low:.3g}, {diag.train[n].ci_high:.3g}])" for n in moving)
            + (f"; flat terms ({', '.join(stuck)}) are likely at their floors" if stuck else "")], stuck, \
            ["train_loss_trend", "falling_terms_past_floors"]
    reasons = [f"loss changed only {pct(total.change)} across the window "
               f"(threshold {th.min_improvement * 100:.0f}%); {ci}"]
    heldout = heldout_worse(diag, th)
    return "plateau", reasons + ([heldout] if heldout else []), stuck, \
        ["train_loss_trend"] + (["heldout_mcd"] if heldout else [])
