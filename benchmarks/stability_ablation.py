"""Stability ablation: does each stability feature help? Each one switched against the default.

Arms (each a set of config overrides over the default ``basic`` recipe):

==================== =================================================================
``default``          the shipped defaults
``no_adaptive``      training.use_adaptive_loss_weights=false
``huber_mel``        training.use_huber_loss=true (Huber mel loss instead of the default L1)
``no_smoothing``     training.use_label_smoothing=false (stop-token targets 0/1)
``dampening``        training.use_spike_dampening=true (spike dampening, off by default)
``ema_0.3``          training.loss_smoothing_factor=0.3 (EMA of the adaptive weights and
                     the smoothed loss 3x faster than the default 0.1)
==================== =================================================================

Every arm runs once per seed (``--seeds``, >= 3 before claiming a difference) from scratch
on the same data for the same budget: ``--minutes`` of training (equal wall time; use it
on an otherwise idle machine) or ``--steps`` (equal steps; use it when the machine is
shared, since other jobs would change the steps a wall-time budget buys). At the end of
the budget the run is scored on held-out sentences, free-running (the convergence
benchmark's sentences and references): MCD-DTW and, with the optional recogniser
(``pip install ".[eval]"``), CER; plus the final ``val_mel_loss`` and ``val_loss``, and
the variance of the training loss over the second half of the run (the stability the
features are meant to buy). Prints a table (mean +- standard deviation over seeds) and
writes JSON; ``--markdown FILE`` writes the table for docs/MODEL_AND_LOSS.md.

    python3 benchmarks/stability_ablation.py --steps 400 --seeds 1,2,3 --sentences 12

The tables in docs/MODEL_AND_LOSS.md were measured when Huber and spike dampening were
the defaults, with the arms then called ``l1_mel`` and ``no_dampening``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ARMS: dict[str, list[str]] = {
    "default": [],
    "no_adaptive": ["training.use_adaptive_loss_weights=false"],
    "huber_mel": ["training.use_huber_loss=true"],
    "no_smoothing": ["training.use_label_smoothing=false"],
    "dampening": ["training.use_spike_dampening=true"],
    "ema_0.3": ["training.loss_smoothing_factor=0.3"],
}
METRICS = ("mcd_dtw", "cer", "val_mel_loss", "val_loss", "train_loss_var", "spikes", "steps")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="", help="dataset folder (default: the demo set)")
    p.add_argument("--demo-dir", default="data/demo", help="where the demo set is built")
    p.add_argument("--model-size", default="tiny")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override applied to every arm (repeatable)")
    budget = p.add_mutually_exclusive_group(required=True)
    budget.add_argument("--minutes", type=float, help="training minutes per run")
    budget.add_argument("--steps", type=int, help="training steps per run")
    p.add_argument("--seeds", default="1,2,3", help="comma-separated seeds (>= 3 advised)")
    p.add_argument("--arms", default=",".join(ARMS), help="comma-separated arm names")
    p.add_argument("--val-every", type=int, default=200, help="validation interval (steps)")
    p.add_argument("--sentences", type=int, default=12, help="held-out sentences to score")
    p.add_argument("--run-dir", default="benchmarks/runs/stability_ablation")
    p.add_argument("--json", default="", help="output JSON (default: RUN_DIR/ablation.json)")
    p.add_argument("--markdown", default="", help="also write the table to this file")
    p.add_argument("--no-cer", action="store_true", help="skip the offline recogniser")
    args = p.parse_args(argv)
    unknown = [a for a in args.arms.split(",") if a not in ARMS]
    if unknown:
        p.error(f"unknown arm(s) {unknown}; choose from {list(ARMS)}")
    return args


def train_loss_variance(run_dir: Path) -> float:
    """Variance of the logged training loss over the second half of the run."""
    losses = [r["loss"] for r in map(json.loads, (run_dir / "train_log.jsonl").read_text()
                                     .splitlines()) if r.get("type") == "train"]
    half = losses[len(losses) // 2:]
    return float(statistics.pvariance(half)) if len(half) > 1 else 0.0


def run_one(args, arm: str, seed: int, data_path: Path, recognizer) -> dict:
    """Train one arm with one seed for the budget, then score it held-out."""
    import keras

    from benchmarks.convergence import held_out_items
    from myxtts.config.presets import resolve_config
    from myxtts.evaluation.heldout import evaluate
    from myxtts.inference.synthesizer import Synthesizer
    from myxtts.training.trainer import XTTSTrainer

    overrides = [*args.set, *ARMS[arm], f"training.seed={seed}",
                 f"training.val_every_steps={args.val_every}",
                 "training.early_stopping_patience=0", "training.tensorboard=false"]
    config = resolve_config(None, args.model_size, None, overrides)
    run_dir = Path(args.run_dir) / f"{arm}-seed{seed}"
    if run_dir.exists():
        shutil.rmtree(run_dir)
    keras.backend.clear_session()
    trainer = XTTSTrainer(config, run_dir)
    trainer.prepare_data(data_path)
    trainer.build()
    start = time.time()
    summary = trainer.train(max_steps=args.steps or 10**9,
                            max_minutes=args.minutes or None, progress=False)
    seconds = time.time() - start
    items = held_out_items(SimpleArgs(args.sentences), trainer, data_path)
    result = evaluate(Synthesizer.from_checkpoint(run_dir), items, recognizer)
    row = {"arm": arm, "seed": seed, "steps": summary.steps, "train_seconds": round(seconds, 1),
           "val_loss": summary.last_val.get("val_loss"),
           "val_mel_loss": summary.last_val.get("val_mel_loss"),
           "mcd_dtw": result["mcd_mean"], "cer": result["cer_mean"],
           "train_loss_var": train_loss_variance(run_dir),
           "spikes": int(trainer.loss_fn.get_stability_metrics()["spike_count"])}
    del trainer
    gc.collect()
    return row


class SimpleArgs:
    """The one field of the convergence benchmark's arguments that held_out_items reads."""

    def __init__(self, sentences: int):
        self.sentences = sentences


def summarize(rows: list[dict]) -> dict[str, dict[str, tuple[float, float] | None]]:
    """arm -> metric -> (mean, standard deviation over seeds), None without values."""
    out: dict[str, dict] = {}
    for arm in dict.fromkeys(r["arm"] for r in rows):
        out[arm] = {}
        for metric in METRICS:
            values = [r[metric] for r in rows
                      if r["arm"] == arm and r.get(metric) is not None]
            out[arm][metric] = ((statistics.fmean(values),
                                 statistics.stdev(values) if len(values) > 1 else 0.0)
                                if values else None)
    return out


def table_markdown(summary: dict, seeds: int, budget: str) -> str:
    def cell(value, digits):
        return "n/a" if value is None else f"{value[0]:.{digits}f} ± {value[1]:.{digits}f}"

    lines = [f"Mean ± standard deviation over {seeds} seeds; {budget} per run.", "",
             "| arm | MCD-DTW (dB) | CER | final val_mel_loss | final val_loss | "
             "train-loss variance (2nd half) | spikes detected | steps |",
             "|---|---|---|---|---|---|---|---|"]
    for arm, m in summary.items():
        lines.append(f"| `{arm}` | {cell(m['mcd_dtw'], 2)} | {cell(m['cer'], 3)} | "
                     f"{cell(m['val_mel_loss'], 4)} | {cell(m['val_loss'], 4)} | "
                     f"{cell(m['train_loss_var'], 4)} | {cell(m['spikes'], 1)} | "
                     f"{cell(m['steps'], 0)} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    args = parse_args(argv)
    from myxtts.data.demo import make_demo_dataset
    from myxtts.evaluation.cer import optional_recognizer

    data_path = Path(args.data) if args.data else make_demo_dataset(args.demo_dir)
    recognizer = optional_recognizer(not args.no_cer)
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    arms = args.arms.split(",")
    out = Path(args.json) if args.json else Path(args.run_dir) / "ablation.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = []
    for seed in seeds:  # seed-major: a partial run still compares every arm
        for arm in arms:
            row = run_one(args, arm, seed, data_path, recognizer)
            rows.append(row)
            cer = "n/a" if row["cer"] is None else f"{row['cer']:.3f}"
            print(f"{arm:14s} seed {seed}: {row['steps']} steps in {row['train_seconds']:.0f} s, "
                  f"MCD-DTW {row['mcd_dtw']:.2f} dB, CER {cer}, val_mel "
                  f"{row['val_mel_loss']:.4f}, var {row['train_loss_var']:.4f}", flush=True)
            out.write_text(json.dumps({"args": vars(args), "rows": rows}, indent=2))
    budget = f"{args.steps} steps" if args.steps else f"{args.minutes} training minutes"
    summary = summarize(rows)
    table = table_markdown(summary, len(seeds), budget)
    print("\n" + table)
    out.write_text(json.dumps({"args": vars(args), "rows": rows, "summary": summary}, indent=2))
    if args.markdown:
        Path(args.markdown).write_text(table, encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
