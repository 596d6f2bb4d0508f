"""Human-readable report, comparison table and JSON document for diagnoses."""

from __future__ import annotations

import json
from typing import Any, Sequence

from myxtts.diagnosis.results import Diagnosis, Trend, json_safe
from myxtts.diagnosis.verdict import pct, primary_term


def fmt(value: Any) -> str:
    """Compact text for evidence values (None -> '-', floats with 4 significant digits)."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e9:
            return str(int(value))
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(fmt(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {fmt(v)}" for k, v in value.items()) + "}"
    return str(value)


def _trend_row(trend: Trend) -> str:
    ci = f"{fmt(trend.slope)} [{fmt(trend.ci_low)}, {fmt(trend.ci_high)}]" if trend.slope is not None else "-"
    return (f"  {trend.name:<22} {fmt(trend.level):>10} {pct(trend.change):>8} {pct(trend.rel_improvement):>9} "
            f"{ci:<36} {fmt(trend.noise):>7} {trend.spikes:>6} {trend.nonfinite:>10}  {trend.direction}")


def _header(diag: Diagnosis) -> list[str]:
    lines = [f"== Diagnosis: {diag.run_dir or diag.source} ==",
             f"Log: {diag.source} ({diag.log_format})",
             f"Records: {diag.n_train} train, {diag.n_val} val, {diag.n_events} events"]
    if diag.skipped_lines:
        lines.append(f"Lines without metrics (ignored): {diag.skipped_lines} of {diag.lines_read}")
        lines += [f"    {example}" for example in diag.skipped_examples]
    lines += [f"Warning: {w}" for w in diag.warnings]
    lines.append(f"{diag.x_unit.capitalize()}s {fmt(diag.first_x)} .. {fmt(diag.last_x)}; window: last "
                 f"{fmt(diag.window)} {diag.x_unit}s (from {fmt(diag.window_start)})")
    ckpt = diag.checkpoint
    lines.append(f"Config: {diag.config_path or 'not found'}; latest checkpoint: "
                 f"{(ckpt['latest'] + ' (step ' + fmt(ckpt['step']) + ')') if ckpt else 'none found'}")
    return lines


def _signals(diag: Diagnosis) -> list[str]:
    lines = []
    if diag.lr:
        lr = diag.lr
        extra = f", {lr.restarts} restarts" if lr.restarts else ""
        extra += f", zero in {lr.zero_count} records" if lr.zero_count else ""
        lines.append(f"Learning rate: {lr.kind}, now {fmt(lr.current)} (peak {fmt(lr.peak)}, "
                     f"min {fmt(lr.minimum)}{extra})")
    if diag.grad:
        g = diag.grad
        over = ""
        if g.frac_over_clip is not None:
            over = f"; above clip {fmt(g.clip)} in {g.frac_over_clip:.0%} of records"
        lines.append(f"Grad norm: p50 {fmt(g.p50)}, p95 {fmt(g.p95)}, max {fmt(g.max)}{over}")
    if diag.gap:
        lines.append(f"Train/val gap: {fmt(diag.gap.current_gap)} ({pct(diag.gap.current_rel_gap)} of train), "
                     f"{diag.gap.direction}")
    if diag.alignment:
        a = diag.alignment
        lines.append(f"Alignment score: {fmt(a.last)} (best {fmt(a.best)}, {a.n} evaluations, {a.trend}) -> "
                     f"{'learned' if a.learned else 'NOT learned'}")
    nf = diag.nonfinite
    lines.append(f"Non-finite losses/skipped steps: {nf.total_window} in window, {nf.total_run} in run"
                 + (f" (first at {fmt(nf.first_xs[:5])})" if nf.first_xs else ""))
    if diag.resumes:
        lines.append("Resumes: " + "; ".join(
            f"{diag.x_unit} {fmt(r['x'])} (loss {fmt(r['loss_before'])} -> {fmt(r['loss_after'])})"
            for r in diag.resumes[:5]))
    if diag.heldout:
        pts = diag.heldout["points"]
        lines.append(f"Held-out ({diag.heldout['file']}): " + ", ".join(
            f"step {fmt(p['step'])}: MCD-DTW {fmt(p.get('mcd_dtw'))}, CER {fmt(p.get('cer'))}" for p in pts[-4:]))
    if diag.events:
        lines.append("Events: " + ", ".join(f"{k} x{v}" for k, v in sorted(diag.events.items())))
    return lines


def render_text(diag: Diagnosis) -> str:
    """The full readable report of one run."""
    lines = _header(diag)
    lines += ["", f"VERDICT: {diag.verdict.upper()}  (exit code {diag.exit_code})"]
    lines += [f"  - {reason}" for reason in diag.reasons]
    steer = diag.steering
    basis = (f"{steer.get('metric')}" + (" (held-out)" if steer.get("held_out") else "")
             + ("; floor-free MyXTTS terms" if steer.get("floor_free") else ""))
    lines.append(f"  Evidence used: {', '.join(diag.evidence) or '-'}; judged on {basis}")
    if diag.stuck_terms:
        lines.append(f"  Stuck terms: {', '.join(diag.stuck_terms)}")
    if diag.plateau_since is not None:
        lines.append(f"  Flat since {diag.x_unit} {fmt(diag.plateau_since)}")
    head = (f"  {'term':<22} {'level':>10} {'change':>8} {'impr/prev':>9} {'slope [95% CI]':<36} "
            f"{'noise':>7} {'spikes':>6} {'non-finite':>10}  trend")
    for title, trends in (("Training losses (window)", diag.train), ("Validation losses", diag.val)):
        if trends:
            lines += ["", title, head] + [_trend_row(t) for _, t in sorted(trends.items())]
    if diag.train:
        lines.append(f"  change: fitted change across the window; impr/prev: improvement of the median over "
                     f"the previous window; slope in {diag.slope_unit}; noise: residual MAD / level")
    lines += [""] + _signals(diag)
    lines += ["", "RECOMMENDATIONS"]
    for i, rec in enumerate(diag.recommendations, 1):
        lines.append(f" {i}. {rec.title}: {rec.action}")
        if rec.command:
            lines.append(f"      $ {rec.command}")
        lines += [f"      replace {p}" for p in rec.placeholders]
        lines.append("      evidence: " + ", ".join(f"{k}={fmt(v)}" for k, v in rec.evidence.items()))
    return "\n".join(lines)


def comparison_rows(diags: Sequence[Diagnosis]) -> list[dict[str, Any]]:
    """One summary row per run for the comparison table / JSON."""
    rows = []
    for diag in diags:
        total = diag.train.get(primary_term(diag.train) or "")
        val = diag.val.get("val_loss")
        rows.append({
            "run": diag.run_dir or diag.source, "last_x": diag.last_x, "x_unit": diag.x_unit,
            "verdict": diag.verdict, "loss": total.level if total else None,
            "best_loss": total.best if total else None, "change": total.change if total else None,
            "val_loss": val.level if val else None,
            "alignment": diag.alignment.last if diag.alignment else None,
            "nonfinite": diag.nonfinite.total_run, "lr_now": diag.lr.current if diag.lr else None,
        })
    return rows


def render_comparison(diags: Sequence[Diagnosis]) -> str:
    """A fixed-width comparison table of several runs."""
    cols = ("run", "last_x", "verdict", "loss", "best_loss", "change", "val_loss", "alignment", "nonfinite", "lr_now")
    rows = comparison_rows(diags)
    cells = [[pct(r[c]) if c == "change" else fmt(r[c]) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    out = ["== Comparison ==", "  ".join(c.ljust(w) for c, w in zip(cols, widths))]
    out += ["  ".join(v.ljust(w) for v, w in zip(row, widths)) for row in cells]
    return "\n".join(out)


def render_json(diags: Sequence[Diagnosis], exit_code: int) -> str:
    """JSON text: the diagnosis of a single run, or {"runs", "comparison", "exit_code"} for several."""
    if len(diags) == 1:
        return json.dumps(diags[0].to_dict(), indent=2, allow_nan=False)
    doc = {"runs": [d.to_dict() for d in diags], "comparison": comparison_rows(diags), "exit_code": exit_code}
    return json.dumps(json_safe(doc), indent=2, allow_nan=False)

