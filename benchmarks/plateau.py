"""Plateau benchmark: does switching level help a run whose validation loss has stalled?

1. Trains ``--base-level`` (default ``basic``) until the validation loss plateaus (the
   ``auto`` level's detector, myxtts.training.auto_level, in detect-only mode) or the
   ``--plateau-minutes`` budget ends, and keeps that checkpoint.
2. Continues a copy of that run for the same ``--continue-steps`` under each arm:
   ``same`` (the base level unchanged), ``plateau_breaker`` and ``auto``. A level other
   than the run's is applied as a resume under another level (weights and optimizer
   moments kept; the new learning-rate schedule starts at the restored step).
3. Scores the plateau checkpoint and every arm: validation loss and free-running MCD-DTW
   on held-out sentences (plus CER when the offline recogniser is installed, see
   benchmarks/convergence.py). Prints a table and writes JSON.

    python3 benchmarks/plateau.py --model-size tiny --plateau-minutes 40 --continue-steps 1500

The total validation loss depends on the level's loss weights (plateau_breaker weighs mel
2.0 and KL 1.2), so compare ``val_mel_loss``, alignment and MCD-DTW across arms.
Early stopping is disabled in every phase, so each arm runs exactly ``--continue-steps``.
``--reuse-plateau`` skips phase 1 when RUN_DIR/plateau already holds its result.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import sys
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ARMS = ("same", "plateau_breaker", "auto")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="", help="dataset folder (default: the demo set)")
    p.add_argument("--demo-dir", default="data/demo", help="where the demo set is built")
    p.add_argument("--model-size", default="tiny")
    p.add_argument("--base-level", default="basic", help="level trained to the plateau")
    p.add_argument("--config", default=None, help="YAML config file")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="config override for the plateau run (repeatable)")
    p.add_argument("--plateau-minutes", type=float, default=40.0,
                   help="training-time budget of phase 1")
    p.add_argument("--plateau-max-steps", type=int, default=0,
                   help="step budget of phase 1 (0 = none)")
    p.add_argument("--continue-steps", type=int, default=1500, help="steps of every arm")
    p.add_argument("--val-every", type=int, default=100, help="validation interval (steps)")
    p.add_argument("--arms", default=",".join(ARMS),
                   help="comma-separated: same and/or optimization levels")
    p.add_argument("--sentences", type=int, default=20, help="held-out sentences to score")
    p.add_argument("--run-dir", default="benchmarks/runs/plateau")
    p.add_argument("--json", default="", help="output JSON (default: RUN_DIR/plateau.json)")
    p.add_argument("--reuse-plateau", action="store_true",
                   help="reuse RUN_DIR/plateau from an earlier run of this benchmark")
    p.add_argument("--no-cer", action="store_true", help="skip the offline recogniser")
    args = p.parse_args(argv)
    if args.continue_steps < 1 or args.val_every < 1:
        p.error("--continue-steps and --val-every must be >= 1")
    return args


def _read_log(run_dir: Path) -> list[dict]:
    path = run_dir / "train_log.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def train_to_plateau(args, config, data_path: Path, plateau_dir: Path) -> dict:
    """Phase 1: train in validation-sized chunks until the detector or a budget stops it."""
    from myxtts.training.auto_level import PlateauDetector
    from myxtts.training.trainer import XTTSTrainer

    if plateau_dir.exists():
        shutil.rmtree(plateau_dir)
    trainer = XTTSTrainer(config, plateau_dir)
    trainer.prepare_data(data_path)
    trainer.build()
    detector, evidence, reason = PlateauDetector(), None, ""
    trained_s, step = 0.0, 0
    while not reason:
        left = args.plateau_minutes - trained_s / 60
        t = time.time()
        summary = trainer.train(max_steps=step + args.val_every, max_minutes=max(left, 1e-3),
                                progress=False)
        trained_s += time.time() - t
        step = summary.steps
        evidence = detector.update(step, summary.last_val.get("val_loss"))
        print(f"[plateau run] step {step:6d}  val_loss {summary.last_val.get('val_loss'):.4f}  "
              f"{trained_s / 60:5.1f} min", flush=True)
        if evidence is not None:
            reason = "plateau detected"
        elif summary.stop_reason == "max_minutes" or trained_s / 60 >= args.plateau_minutes:
            reason = "plateau-minutes budget"
        elif summary.stop_reason != "max_steps":
            reason = f"trainer stopped: {summary.stop_reason}"
        elif args.plateau_max_steps and step >= args.plateau_max_steps:
            reason = "plateau-max-steps budget"
    result = {"step": step, "minutes": round(trained_s / 60, 2), "stop": reason,
              "detected": evidence is not None,
              "evidence": evidence.describe() if evidence is not None else None,
              "val_losses": detector.history, "level": config.training.optimization_level,
              "val_loss": summary.last_val.get("val_loss"),
              "val_mel_loss": summary.last_val.get("val_mel_loss"),
              "alignment_score": summary.last_val.get("alignment_score")}
    (plateau_dir / "plateau.json").write_text(json.dumps(result, indent=2))
    del trainer
    gc.collect()
    return result


def arm_config(stored, arm: str):
    """The config an arm continues with: the stored one, or another level applied over it."""
    from myxtts.config.presets import apply_optimization_level

    if arm == "same" or arm == stored.training.optimization_level:
        return stored
    return apply_optimization_level(stored, arm)


def continue_arm(args, arm: str, data_path: Path, plateau_dir: Path, arm_dir: Path,
                 start_step: int) -> dict:
    """Phase 2: copy the plateau run and train ``--continue-steps`` more under ``arm``."""
    import yaml

    from myxtts.config.config import XTTSConfig
    from myxtts.training.checkpoints import read_metadata
    from myxtts.training.trainer import XTTSTrainer

    if arm_dir.exists():
        shutil.rmtree(arm_dir)
    shutil.copytree(plateau_dir, arm_dir)
    stored = XTTSConfig.from_dict(yaml.safe_load(read_metadata(arm_dir)["config_yaml"]))
    config = arm_config(stored, arm)
    trainer = XTTSTrainer(config, arm_dir)
    trainer.prepare_data(data_path, resume=arm_dir)
    # A run that ended at its planned epochs gets just enough more to continue (a run-length
    # field: the schedule is not restarted, its horizon is extended).
    per_epoch = trainer.data.train.batches_per_epoch
    needed = -(-(start_step + args.continue_steps) // per_epoch)
    config.training.epochs = max(config.training.epochs, needed)
    trainer.build()
    t = time.time()
    summary = trainer.train(max_steps=start_step + args.continue_steps, progress=False)
    seconds = time.time() - t
    records = [r for r in _read_log(arm_dir) if r.get("step", 0) > start_step
               or (r.get("type") == "event" and r.get("step") == start_step)]
    vals = [r["val_loss"] for r in records if r.get("type") == "val"
            and isinstance(r.get("val_loss"), (int, float))]
    switches = [{"step": r["step"], "message": r["message"]} for r in records
                if r.get("event") == "level_switch"]
    # A switch at the start step is the resume under the arm's level; later ones are
    # switches made while training (auto).
    result = {"arm": arm, "start_step": start_step,
              "level_start": config.training.optimization_level,
              "level_end": trainer.config.training.optimization_level,
              "steps": summary.steps - start_step, "minutes": round(seconds / 60, 2),
              "stop": summary.stop_reason, "val_loss": summary.last_val.get("val_loss"),
              "val_mel_loss": summary.last_val.get("val_mel_loss"),
              "best_val_loss": min(vals) if vals else None,
              "alignment_score": summary.last_val.get("alignment_score"),
              "nonfinite_steps": summary.nonfinite_steps, "level_switches": switches}
    del trainer
    gc.collect()
    return result


def make_items(args, config, data_path: Path):
    """Held-out sentences, made the way benchmarks/convergence.py makes them."""
    from benchmarks.convergence import held_out_items
    from myxtts.data.pipeline import build_data

    data = build_data(config, data_path, None, None, None)
    view = SimpleNamespace(config=config, data=data)
    return held_out_items(SimpleNamespace(sentences=args.sentences), view, data_path)


def score(run_dir: Path, items, recognizer) -> dict:
    from myxtts.evaluation.heldout import evaluate
    from myxtts.inference.synthesizer import Synthesizer

    result = evaluate(Synthesizer.from_checkpoint(run_dir), items, recognizer,
                      save_dir=run_dir / "samples")
    return {"mcd_dtw": result["mcd_mean"], "mcd_median": result["mcd_median"],
            "cer": result["cer_mean"], "details": result}


def _fmt(value, spec: str) -> str:
    width = int("".join(c for c in spec.split(".")[0] if c.isdigit()) or 0)
    return f"{'n/a':>{width}}" if value is None else format(value, spec)


def print_table(plateau: dict, rows: list[dict]) -> None:
    print(f"\nPlateau run: {plateau['level']} for {plateau['step']} steps "
          f"({plateau['minutes']} min), stopped by {plateau['stop']}"
          + (f": {plateau['evidence']}" if plateau["evidence"] else ""))
    print(f"\n{'arm':<16} {'level at end':<16} {'steps':>6} {'val_loss':>9} {'best_val':>9} "
          f"{'val_mel':>8} {'align':>6} {'MCD-DTW':>8} {'CER':>6}  switch while training")
    for r in rows:
        start = r.get("start_step", 0)
        switch = ", ".join(f"step {s['step']}" for s in r.get("level_switches", [])
                           if s["step"] > start) or "-"
        print(f"{r['arm']:<16} {r['level_end']:<16} {r['steps']:>6} "
              f"{_fmt(r['val_loss'], '9.4f')} {_fmt(r.get('best_val_loss'), '9.4f')} "
              f"{_fmt(r.get('val_mel_loss'), '8.4f')} {_fmt(r.get('alignment_score'), '6.3f')} "
              f"{_fmt(r['mcd_dtw'], '8.2f')} {_fmt(r['cer'], '6.3f')}  {switch}")


def main(argv=None) -> int:
    args = parse_args(argv)
    from myxtts.config.config import XTTSConfig
    from myxtts.config.presets import resolve_config
    from myxtts.data.demo import make_demo_dataset

    arms = [a.strip() for a in args.arms.split(",") if a.strip()]
    data_path = Path(args.data) if args.data else make_demo_dataset(args.demo_dir)
    run_dir = Path(args.run_dir)
    plateau_dir = run_dir / "plateau"
    config = resolve_config(args.config, args.model_size, args.base_level, args.set)
    t = config.training
    t.val_every_steps, t.early_stopping_patience = args.val_every, 0
    t.max_steps, t.max_minutes = 0, 0.0
    for arm in arms:                                   # fail before training, not after
        arm_config(config, arm)
    if args.reuse_plateau and (plateau_dir / "plateau.json").is_file():
        plateau = json.loads((plateau_dir / "plateau.json").read_text())
        print(f"reusing {plateau_dir} (step {plateau['step']})")
    else:
        plateau = train_to_plateau(args, config, data_path, plateau_dir)
    import yaml

    from myxtts.training.checkpoints import read_metadata
    stored = XTTSConfig.from_dict(yaml.safe_load(read_metadata(plateau_dir)["config_yaml"]))
    items = make_items(args, stored, data_path)
    from myxtts.evaluation.cer import optional_recognizer
    recognizer = optional_recognizer(not args.no_cer)
    start_row = {"arm": "plateau (start)", "level_end": plateau["level"], "steps": 0,
                 "val_loss": plateau["val_loss"], "best_val_loss": None,
                 "val_mel_loss": plateau.get("val_mel_loss"),
                 "alignment_score": plateau.get("alignment_score"),
                 **score(plateau_dir, items, recognizer)}
    rows = [start_row]
    for arm in arms:
        print(f"\n[arm {arm}] continuing {args.continue_steps} steps from step {plateau['step']}",
              flush=True)
        arm_dir = run_dir / f"arm-{arm}"
        row = continue_arm(args, arm, data_path, plateau_dir, arm_dir, plateau["step"])
        row.update(score(arm_dir, items, recognizer))
        rows.append(row)
        print(f"[arm {arm}] val_loss {_fmt(row['val_loss'], '.4f')}  "
              f"MCD-DTW {row['mcd_dtw']:.2f} dB", flush=True)
    print_table(plateau, rows)
    out = Path(args.json) if args.json else run_dir / "plateau.json"
    out.write_text(json.dumps({"model_size": args.model_size, "base_level": args.base_level,
                               "data": str(data_path), "overrides": args.set,
                               "continue_steps": args.continue_steps,
                               "val_every": args.val_every, "sentences": args.sentences,
                               "plateau": plateau, "rows": rows}, indent=2, default=str))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
