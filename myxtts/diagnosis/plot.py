"""Plot loss terms (train + val), the LR and shaded plateau windows to a PNG (matplotlib, lazy import)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from myxtts.diagnosis.results import Diagnosis
from myxtts.diagnosis.verdict import primary_term

PLATEAU_COLOR = "tab:orange"
NONFINITE_COLOR = "tab:red"


def _figure(rows: int):  # type: ignore[no-untyped-def]
    """A Figure on the Agg canvas (no pyplot, no global backend change)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415 - optional dependency
    from matplotlib.figure import Figure  # noqa: PLC0415

    fig = Figure(figsize=(10, 2.4 * rows + 0.6), constrained_layout=True)
    FigureCanvasAgg(fig)
    return fig, fig.subplots(rows, 1, sharex=True, squeeze=False)[:, 0]


def _set_scale(ax, *series: np.ndarray) -> None:  # type: ignore[no-untyped-def]
    values = np.concatenate([s[np.isfinite(s)] for s in series]) if series else np.zeros(0)
    if values.size and np.all(values > 0):
        ax.set_yscale("log")


def plot_run(diag: Diagnosis, out: str | Path) -> Path:
    """One panel per loss term (train solid, val dashed), then the LR; plateaus shaded."""
    data = diag.data
    if data is None:
        raise ValueError("diagnosis has no log data to plot")
    terms = sorted(diag.train, key=lambda t: (t != primary_term(diag.train), t)) or sorted(diag.val)
    fig, axes = _figure(len(terms) + 1)
    for ax, term in zip(axes, terms):
        x, y = data.series(term)
        vkey = term if term.startswith("val_") else f"val_{term}"
        vx, vy = data.series(vkey, "val")
        ax.plot(x, np.where(np.isfinite(y), y, np.nan), lw=1, label=f"train {term}")
        if vx.size:
            ax.plot(vx, vy, "o--", ms=3, lw=1, label=vkey)
        for a, b in diag.plateau_segments:
            ax.axvspan(a, b, color=PLATEAU_COLOR, alpha=0.15, lw=0)
        bad = x[~np.isfinite(y)]
        if bad.size:
            ax.plot(bad, np.full(bad.size, np.nanmin(np.where(np.isfinite(y), y, np.nan))), "x",
                    color=NONFINITE_COLOR, label="non-finite")
        if diag.window_start is not None:
            ax.axvline(diag.window_start, color="grey", lw=0.8, ls=":")
        _set_scale(ax, y, vy)
        ax.set_ylabel(term)
        ax.legend(loc="upper right", fontsize=8)
    lr_ax = axes[-1]
    lx, lr = data.series("lr")
    if lx.size:
        lr_ax.plot(lx, lr, color="tab:green", lw=1)
        _set_scale(lr_ax, lr)
    else:
        lr_ax.text(0.5, 0.5, "no learning rate logged", ha="center", va="center", transform=lr_ax.transAxes)
    lr_ax.set_ylabel("lr")
    lr_ax.set_xlabel(diag.x_unit)
    fig.suptitle(f"{diag.run_dir or diag.source}: {diag.verdict} (shaded: flat windows, dotted: analysis window)",
                 fontsize=10)
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
    loss_ax.legend(fontsize=8)
    lr_ax.set_ylabel("lr")
    lr_ax.set_xlabel(diags[0].x_unit if diags else "step")
    return _save(fig, out)


def _save(fig, out: str | Path) -> Path:  # type: ignore[no-untyped-def]
    path = Path(out)
    if path.parent and not path.parent.exists():
        raise FileNotFoundError(f"{path.parent}: output folder does not exist")
    fig.savefig(path, dpi=100)
    return path
