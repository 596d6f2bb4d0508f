"""Plot loss terms (train + val), the LR and shaded plateau windows to a PNG (matplotlib, lazy import)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from myxtts.diagnosis.results import Diagnosis
from myxtts.diagnosis.verdict import primary_term
from myxtts.extras import require

PLATEAU_COLOR = "tab:orange"
NONFINITE_COLOR = "tab:red"
RESUME_COLOR = "tab:purple"
PURPOSE = "the --plot option of the diagnosis tool"


def _figure(rows: int):  # type: ignore[no-untyped-def]
    """A Figure on the Agg canvas (no pyplot, no global backend change). Raises
    MissingExtraError (an ImportError naming the ``plot`` extra) without matplotlib."""
    require("matplotlib", "plot", PURPOSE)
    backend = require("matplotlib.backends.backend_agg", "plot", PURPOSE)
    figure = require("matplotlib.figure", "plot", PURPOSE)
    fig = figure.Figure(figsize=(11, 2.3 * rows + 0.9), constrained_layout=True)
    backend.FigureCanvasAgg(fig)
    return fig, fig.subplots(rows, 1, sharex=True, squeeze=False)[:, 0]


def _set_scale(ax, *series: np.ndarray) -> None:  # type: ignore[no-untyped-def]
    """Log y-axis when all values are positive and span more than a factor of 3."""
    values = np.concatenate([s[np.isfinite(s)] for s in series]) if series else np.zeros(0)
    if values.size and np.all(values > 0) and values.max() > 3 * values.min():
        ax.set_yscale("log")
        ticker = require("matplotlib.ticker", "plot", PURPOSE)
        plain = ticker.FuncFormatter(lambda v, _: f"{v:g}")
        subs = (1.0, 2.0, 5.0) if values.max() < 1e3 * values.min() else (1.0,)
        ax.yaxis.set_major_locator(ticker.LogLocator(base=10, subs=subs))
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_formatter(ticker.NullFormatter())
        ax.tick_params(axis="y", which="minor", labelsize=7)
    ax.grid(True, which="major", alpha=0.3)


def _marks(ax, diag: Diagnosis, bad_x: np.ndarray) -> None:  # type: ignore[no-untyped-def]
    """Plateau shading, analysis-window start, resumes and non-finite steps (each in the legend once)."""
    for i, (a, b) in enumerate(diag.plateau_segments):
        ax.axvspan(a, b, color=PLATEAU_COLOR, alpha=0.15, lw=0, label="flat (plateau)" if i == 0 else None)
    if diag.window_start is not None:
        ax.axvline(diag.window_start, color="grey", lw=1, ls=":", label="analysis window")
    for i, resume in enumerate(diag.resumes):
        ax.axvline(float(resume["x"]), color=RESUME_COLOR, lw=1, ls="--", label="resume" if i == 0 else None)
    if bad_x.size:
        ax.plot(bad_x, np.zeros(bad_x.size), "x", color=NONFINITE_COLOR, ms=7, mew=2, clip_on=False,
                transform=ax.get_xaxis_transform(), label="non-finite / skipped")


def plot_run(diag: Diagnosis, out: str | Path) -> Path:
    """One panel per loss term (train solid, val dashed), then grad norm (if logged) and LR."""
    data = diag.data
    if data is None:
        raise ValueError("diagnosis has no log data to plot")
    terms = sorted(diag.train, key=lambda t: (t != primary_term(diag.train), t)) or sorted(diag.val)
    gx, grad = data.series("grad_norm")
    lx, lr = data.series("lr")
    fig, axes = _figure(len(terms) + (1 if lx.size else 0) + (1 if gx.size else 0))
    axes[-1].ticklabel_format(axis="x", style="plain", useOffset=False)
    if diag.x_unit == "step":
        axes[-1].xaxis.set_major_locator(require("matplotlib.ticker", "plot", PURPOSE).MaxNLocator(integer=True))
    axes[-1].set_xlabel(diag.x_unit)
    bad_all = np.array(diag.nonfinite.first_xs) if diag.nonfinite.first_xs else np.zeros(0)
    for ax, term in zip(axes, terms):
        x, y = data.series(term)
        vkey = term if term.startswith("val_") else f"val_{term}"
        vx, vy = data.series(vkey, "val")
        if x.size:
            ax.plot(x, np.where(np.isfinite(y), y, np.nan), lw=1, color="tab:blue", label=f"train {term}",
                    marker="." if x.size < 200 else None, ms=4)
        if vx.size:
            ax.plot(vx, vy, "o--", ms=3, lw=1, color="tab:green", label=vkey)
        _marks(ax, diag, x[~np.isfinite(y)] if x.size else bad_all)
        _set_scale(ax, y, vy)
        steer = " (verdict metric)" if term == diag.steering.get("metric") or vkey == diag.steering.get("metric") else ""
        ax.set_title(f"{term}{steer}", loc="left", fontsize=10)
        ax.set_ylabel("loss")
        ax.legend(loc="best", fontsize=8, ncol=3, framealpha=0.85)
    rest = list(axes[len(terms):])
    if gx.size:
        g_ax = rest.pop(0)
        g_ax.plot(gx, np.where(np.isfinite(grad), grad, np.nan), lw=1, color="tab:brown", label="grad norm",
                  marker="." if gx.size < 200 else None, ms=4)
        _marks(g_ax, diag, gx[~np.isfinite(grad)])
        _set_scale(g_ax, grad)
        g_ax.set_title("gradient norm (red x: NaN/inf or skipped)", loc="left", fontsize=10)
        g_ax.set_ylabel("norm")
        g_ax.legend(loc="best", fontsize=8, ncol=3, framealpha=0.85)
    if lx.size:
        lr_ax = rest[0]
        lr_ax.plot(lx, lr, color="tab:green", lw=1, label="learning rate")
        _set_scale(lr_ax, lr)
        lr_ax.legend(loc="best", fontsize=8)
        lr_ax.set_title("learning rate", loc="left", fontsize=10)
        lr_ax.set_ylabel("lr")
    fig.suptitle(f"{diag.run_dir or diag.source}\nverdict: {diag.verdict.upper()} "
                 f"(evidence: {', '.join(diag.evidence) or '-'})" + ("" if lx.size else "; no learning rate logged"),
                 fontsize=11)
    return _save(fig, out)


def plot_comparison(diags: Sequence[Diagnosis], out: str | Path) -> Path:
    """Total train loss (solid), val_loss (dashed) and LR of several runs on shared axes."""
    fig, (loss_ax, lr_ax) = _figure(2)
    for i, diag in enumerate(diags):
        if diag.data is None:
            continue
        color = f"C{i % 10}"
        label = diag.run_dir or diag.source
        x, y = diag.data.series(primary_term(diag.train) or "loss")
        loss_ax.plot(x, y, color=color, lw=1, label=f"{label} ({diag.verdict})")
        vx, vy = diag.data.series("val_loss", "val")
        if vx.size:
            loss_ax.plot(vx, vy, "--", color=color, lw=1)
        lx, lr = diag.data.series("lr")
        if lx.size:
            lr_ax.plot(lx, lr, color=color, lw=1)
    loss_ax.set_ylabel("loss (val dashed)")
    loss_ax.set_title("total loss of each run (train solid, validation dashed)", loc="left", fontsize=10)
    loss_ax.grid(True, alpha=0.3)
    loss_ax.legend(fontsize=8)
    lr_ax.set_title("learning rate", loc="left", fontsize=10)
    lr_ax.grid(True, alpha=0.3)
    lr_ax.set_ylabel("lr")
    lr_ax.set_xlabel(diags[0].x_unit if diags else "step")
    return _save(fig, out)


def _save(fig, out: str | Path) -> Path:  # type: ignore[no-untyped-def]
    path = Path(out)
    if path.parent and not path.parent.exists():
        raise FileNotFoundError(f"{path.parent}: output folder does not exist")
    fig.savefig(path, dpi=100)
    return path
