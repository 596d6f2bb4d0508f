"""Tests for the training-run diagnosis (myxtts.diagnosis + utilities/diagnose_plateau.py).

All logs are synthetic and written by the tests: our train_log.jsonl and training.log formats,
generic CSV / JSONL and plain text lines.
"""

from __future__ import annotations

import io
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from myxtts.diagnosis import EXIT_USAGE, LogReadError, diagnose_log_file, diagnose_run_dir
from myxtts.diagnosis.cli import main
from myxtts.diagnosis.readers import read_log
from myxtts.diagnosis.stats import theil_sen
from myxtts.diagnosis.tensorboard_events import scalars_to_log

ROOT = Path(__file__).resolve().parents[1]
STEPS = np.arange(10, 6010, 10)


# ----------------------------------------------------------------------------- synthetic logs
def loss_curve(kind: str, steps: np.ndarray = STEPS, seed: int = 0, noise: float = 0.02) -> np.ndarray:
    """Loss values of a given shape with multiplicative noise."""
    rng = np.random.default_rng(seed)
    if kind == "plateau":  # fast decay, then flat for the last two thirds
        base = 2.5 + 2.0 * np.exp(-steps / 500.0)
    elif kind == "healthy":
        base = 0.5 + 5.0 * np.exp(-steps / 4000.0)
    elif kind == "rising":
        base = 1.0 + steps / 3000.0
    else:
        raise ValueError(kind)
    return base * np.exp(rng.normal(0.0, noise, steps.size))


def val_curve(steps: np.ndarray, overfit: bool) -> np.ndarray:
    """Validation loss at ``steps``: follows a healthy curve, rising after step 3000 when ``overfit``."""
    base = (0.5 + 5.0 * np.exp(-steps / 4000.0)) * 1.05
    if overfit:
        base = np.where(steps > 3000, (0.5 + 5.0 * np.exp(-3000 / 4000.0)) * (1 + (steps - 3000) / 2000.0), base)
    return base


def write_config(run: Path, **training: object) -> None:
    cfg = {
        "data": {"train_data": "/data/LJSpeech-1.1", "val_data": ""},
        "model": {"size": "tiny", "decoder_strategy": "non_autoregressive", "dropout": 0.1},
        "text": {"frontend": "phonemes", "language": "en"},
        "training": {"learning_rate": 3e-4, "min_learning_rate": 1e-6, "gradient_clip_norm": 1.0,
                     "optimization_level": "basic", "mel_loss_weight": 2.5, "duration_loss_weight": 1.0,
                     "alignment_loss_weight": 1.0, "mixed_precision": "float32", **training},
    }
    (run / "config.yaml").write_text(yaml.safe_dump(cfg))


def write_checkpoint_state(run: Path, steps: list[int]) -> None:
    lines = [f'model_checkpoint_path: "ckpt-{steps[-1]}"'] + [f'all_model_checkpoint_paths: "ckpt-{s}"' for s in steps]
    (run / "checkpoint").write_text("\n".join(lines) + "\n")


def write_jsonl_run(run: Path, loss: np.ndarray, steps: np.ndarray = STEPS, *, lr=None, grad=None,
                    terms=None, val=None, val_every: int = 200, align=None, events=(), nan_every: int = 0) -> Path:
    """Our train_log.jsonl format; returns the file path."""
    run.mkdir(parents=True, exist_ok=True)
    lr = np.full(steps.size, 1e-4) if lr is None else lr
    grad = np.full(steps.size, 0.6) if grad is None else grad
    terms = terms or {"mel_loss": loss * 0.4, "stop_loss": loss * 0.05, "kl_loss": loss * 0.01}
    lines = [json.dumps({"type": "event", "step": 0, "event": "start", "message": "training started"})]
    for i, step in enumerate(steps):
        value = float(loss[i])
        if nan_every and step % nan_every == 0:
            value = math.nan
            lines.append(json.dumps({"type": "event", "step": int(step), "event": "nonfinite_loss",
                                     "message": "skipped update (loss=nan)"}))
        rec = {"type": "train", "step": int(step), "epoch": int(step // 100), "loss": value,
               "loss_smoothed": value, "lr": float(lr[i]), "grad_norm": float(grad[i]), "wall_time": float(step),
               "spikes": 0, "nonfinite_steps": 0}
        rec.update({k: float(v[i]) for k, v in terms.items()})
        lines.append(json.dumps(rec))
        if val is not None and step % val_every == 0:
            vrec = {"type": "val", "step": int(step), "val_loss": float(val[i])}
            if align is not None:
                vrec["alignment_score"] = float(align[i])
            lines.append(json.dumps(vrec))
    lines += [json.dumps({"type": "event", **e}) for e in events]
    path = run / "train_log.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def write_text_log(path: Path, loss: np.ndarray, steps: np.ndarray = STEPS, val=None) -> Path:
    """Our training.log format (plus a few non-metric lines)."""
    lines = ["2026-11-21 15:00:00 INFO Loaded 1200 utterances from /data/LJSpeech-1.1",
             "2026-11-21 15:00:00 INFO model tiny: 3.1M parameters"]
    for i, step in enumerate(steps):
        lines.append(f"2026-11-21 15:00:01 INFO step {step} epoch {step // 100} loss {loss[i]:.4f} "
                     f"mel_loss {loss[i] * 0.4:.4f} stop_loss {loss[i] * 0.05:.4f} kl_loss {loss[i] * 0.01:.4f} "
                     f"lr 1.00e-04 grad_norm 0.600")
        if val is not None and step % 200 == 0:
            lines.append(f"2026-11-21 15:02:01 INFO VAL step {step} epoch {step // 100} val_loss {val[i]:.4f} "
                         f"val_mel_loss {val[i] * 0.4:.4f} alignment_score 0.870")
    path.write_text("\n".join(lines) + "\n")
    return path


def run_cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def rec_ids(diag) -> list[str]:
    return [r.id for r in diag.recommendations]


# ----------------------------------------------------------------------------- statistics
def test_theil_sen_recovers_slope_and_ignores_outliers():
    rng = np.random.default_rng(1)
    x = np.arange(200.0)
    y = 3.0 - 0.02 * x + rng.normal(0, 0.05, x.size)
    y[::25] += 5.0  # gross outliers
    fit = theil_sen(x, y)
    assert fit.ci_low < -0.02 < fit.ci_high
    assert abs(fit.slope + 0.02) < 0.002
    flat = theil_sen(x, rng.normal(0, 1, x.size))
    assert flat.ci_low < 0 < flat.ci_high


# ----------------------------------------------------------------------------- verdicts
def test_plateau_run_dir_gives_plateau_breaker_command(tmp_path):
    run = tmp_path / "run_a"
    write_jsonl_run(run, loss_curve("plateau"), val=val_curve(STEPS, False) * 2.0)
    write_config(run)
    write_checkpoint_state(run, [5000, 6000])
    code, out, _ = run_cli("--run-dir", str(run))
    assert code == 1
    assert "VERDICT: PLATEAU" in out
    expected = (f"python3 train_main.py --train-data /data/LJSpeech-1.1 --checkpoint-dir {run} "
                "--resume-checkpoint latest --optimization-level plateau_breaker")
    assert expected in out
    diag = diagnose_run_dir(run)
    assert diag.verdict == "plateau"
    assert diag.checkpoint["latest"] == "ckpt-6000" and diag.checkpoint["step"] == 6000
    assert diag.plateau_since is not None and diag.plateau_since < 4000
    lower = next(r for r in diag.recommendations if r.id == "lower_lr")
    assert lower.evidence["suggested_learning_rate"] == pytest.approx(3e-4 * 0.5)
    for rec in diag.recommendations:
        assert rec.evidence, rec.id
    assert abs(diag.train["loss"].change) < 0.02


def test_plateau_command_uses_data_option_or_marks_placeholder(tmp_path):
    log = write_jsonl_run(tmp_path / "logs_only", loss_curve("plateau"))
    diag = diagnose_log_file(log)  # no config next to the log: data and run dir unknown
    switch = next(r for r in diag.recommendations if r.id == "switch_plateau_breaker")
    assert "--train-data <TRAIN_DATA>" in switch.command and "--checkpoint-dir <RUN_DIR>" in switch.command
    assert len(switch.placeholders) == 2
    diag = diagnose_log_file(log, data_path="/my data/train")
    switch = next(r for r in diag.recommendations if r.id == "switch_plateau_breaker")
    assert "--train-data '/my data/train'" in switch.command


def test_plateau_already_on_plateau_breaker_and_lr_at_floor(tmp_path):
    run = tmp_path / "run_pb"
    lr = 3e-4 * np.maximum(0.5 * (1 + np.cos(np.pi * STEPS / 3000.0)), 0) + 1e-6
    lr[STEPS > 3000] = 1e-6
    write_jsonl_run(run, loss_curve("plateau"), lr=lr)
    write_config(run, optimization_level="plateau_breaker")
    diag = diagnose_run_dir(run)
    assert diag.verdict == "plateau"
    assert "switch_plateau_breaker" not in rec_ids(diag)
    assert "lr_at_floor" in rec_ids(diag) and "lower_lr" not in rec_ids(diag)
    assert diag.lr.kind == "decaying"


def test_healthy_text_log_is_improving(tmp_path):
    log = write_text_log(tmp_path / "training.log", loss_curve("healthy"), val=val_curve(STEPS, False))
    code, out, _ = run_cli("--log-file", str(log))
    assert code == 0
    assert "VERDICT: IMPROVING" in out
    diag = diagnose_log_file(log)
    assert diag.log_format == "myxtts-text"
    assert diag.n_val == 30 and diag.alignment is not None and diag.alignment.learned
    assert diag.skipped_lines == 2
    assert set(diag.train) == {"loss", "mel_loss", "stop_loss", "kl_loss"}
    assert "keep_training" in rec_ids(diag)


def test_contract_text_lines_parse_exactly(tmp_path):
    path = tmp_path / "training.log"
    path.write_text(
        "2026-11-21 15:00:01 INFO step 120 epoch 3 loss 2.7100 mel_loss 0.9012 stop_loss 0.1000 kl_loss 0.0100 "
        "alignment_loss 1.2000 duration_loss 0.3000 lr 1.00e-04 grad_norm 1.230\n"
        "2026-11-21 15:02:01 INFO VAL step 200 epoch 4 val_loss 2.9000 val_mel_loss 1.0000 alignment_score 0.870\n"
        "2026-11-21 15:02:01 WARNING EVENT step 300 nonfinite_loss: skipped update (loss=nan)\n")
    data = read_log(path)
    assert data.fmt == "myxtts-text" and data.skipped_lines == 0
    assert data.train == [{"step": 120.0, "epoch": 3.0, "loss": 2.71, "mel_loss": 0.9012, "stop_loss": 0.1,
                           "kl_loss": 0.01, "alignment_loss": 1.2, "duration_loss": 0.3, "lr": 1e-4,
                           "grad_norm": 1.23, "x": 120.0}]
    assert data.val == [{"step": 200.0, "epoch": 4.0, "val_loss": 2.9, "val_mel_loss": 1.0,
                         "alignment_score": 0.87, "x": 200.0}]
    assert data.events == [{"step": 300.0, "event": "nonfinite_loss", "message": "skipped update (loss=nan)"}]


def test_nan_losses_are_unstable(tmp_path):
    run = tmp_path / "run_nan"
    write_jsonl_run(run, loss_curve("healthy"), nan_every=200)
    write_config(run, mixed_precision="mixed_float16")
    code, out, _ = run_cli("--run-dir", str(run))
    assert code == 2
    diag = diagnose_run_dir(run)
    assert diag.verdict == "unstable"
    assert diag.nonfinite.total_run == STEPS[STEPS % 200 == 0].size
    ids = rec_ids(diag)
    assert {"lower_lr", "tighten_clipping", "check_data", "precision"} <= set(ids)
    clip = next(r for r in diag.recommendations if r.id == "tighten_clipping")
    assert clip.evidence["suggested_gradient_clip_norm"] == pytest.approx(0.5)


def test_rising_csv_is_diverging(tmp_path):
    loss = loss_curve("rising")
    path = tmp_path / "metrics.csv"
    rows = ["step,loss,lr"] + [f"{s},{v:.5f},0.0001" for s, v in zip(STEPS, loss)]
    path.write_text("\n".join(rows) + "\n")
    code, out, _ = run_cli("--log-file", str(path))
    assert code == 2
    diag = diagnose_log_file(path)
    assert diag.log_format == "csv" and diag.verdict == "diverging"
    assert diag.train["loss"].direction == "increasing"
    assert "lower_lr" in rec_ids(diag)


def test_val_rising_while_train_falls_is_overfitting_generic_lines(tmp_path):
    loss, val = loss_curve("healthy"), val_curve(STEPS, True)
    lines = []
    for i, step in enumerate(STEPS):
        extra = f" val_loss={val[i]:.4f}" if step % 200 == 0 else ""
        lines.append(f"[trainer] step {step} loss={loss[i]:.4f}{extra}")
    path = tmp_path / "out.txt"
    path.write_text("\n".join(lines) + "\n")
    code, _, _ = run_cli("--log-file", str(path))
    assert code == 1
    diag = diagnose_log_file(path)
    assert diag.log_format == "text" and diag.verdict == "overfitting"
    assert diag.gap is not None and diag.gap.direction == "widening"
    assert {"more_data", "early_stopping"} <= set(rec_ids(diag))
    early = next(r for r in diag.recommendations if r.id == "early_stopping")
    assert early.evidence["val_best_at"] <= 3200


def test_generic_jsonl_and_keras_epoch_lines(tmp_path):
    loss = loss_curve("healthy", steps=np.arange(1, 41) * 150.0)
    jl = tmp_path / "metrics.jsonl"
    jl.write_text("\n".join(json.dumps({"epoch": i + 1, "loss": float(v), "learning_rate": 1e-3})
                            for i, v in enumerate(loss)) + "\n")
    diag = diagnose_log_file(jl)
    assert diag.log_format == "jsonl" and diag.x_unit == "epoch"
    assert diag.lr is not None and diag.lr.kind == "constant"
    keras = tmp_path / "keras.txt"
    lines = []
    for i, v in enumerate(loss):
        lines += [f"Epoch {i + 1}/40", f"100/100 [==============================] - 5s 50ms/step - loss: {v:.4f}"
                  f" - val_loss: {v * 1.1:.4f}"]
    keras.write_text("\n".join(lines) + "\n")
    diag = diagnose_log_file(keras)
    assert diag.x_unit == "epoch" and diag.n_train == 40 and diag.n_val == 40
    assert diag.last_x == 40
    assert diag.verdict == "improving"


def test_too_few_records_is_insufficient_data(tmp_path):
    path = tmp_path / "short.log"
    path.write_text("\n".join(f"step {s} loss={3 - s / 100:.3f}" for s in (10, 20, 30, 40, 50)) + "\n")
    code, out, _ = run_cli("--log-file", str(path))
    assert code == 3
    assert "INSUFFICIENT_DATA" in out


def test_stuck_term_gets_rebalance_with_config_weight(tmp_path):
    run = tmp_path / "run_stuck"
    rng = np.random.default_rng(3)
    mel = loss_curve("healthy", seed=4)
    duration = np.full(STEPS.size, 0.8) * np.exp(rng.normal(0, 0.01, STEPS.size))
    total = 2.5 * mel + duration
    write_jsonl_run(run, total, terms={"mel_loss": mel, "duration_loss": duration})
    write_config(run, duration_loss_weight=2.0)
    diag = diagnose_run_dir(run)
    assert diag.verdict == "improving"
    assert diag.stuck_terms == ["duration_loss"]
    rebalance = next(r for r in diag.recommendations if r.id == "rebalance_duration_loss")
    assert rebalance.evidence["current_weight"] == 2.0
    assert "training.duration_loss_weight to 3.0" in rebalance.action


def test_alignment_not_learned_is_reported(tmp_path):
    run = tmp_path / "run_align"
    align = np.full(STEPS.size, 0.15)
    write_jsonl_run(run, loss_curve("healthy"), val=val_curve(STEPS, False), align=align)
    write_config(run, alignment_loss_weight=0.5)
    diag = diagnose_run_dir(run)
    assert diag.alignment is not None and not diag.alignment.learned
    rec = next(r for r in diag.recommendations if r.id == "alignment_not_learned")
    assert rec.evidence["alignment_score_last"] == pytest.approx(0.15)
    assert rec.evidence["alignment_loss_weight"] == 0.5


# ----------------------------------------------------------------------------- inputs and errors
def test_missing_empty_and_unparseable_files_exit_64(tmp_path):
    missing = tmp_path / "nope.log"
    code, _, err = run_cli("--log-file", str(missing))
    assert code == EXIT_USAGE and str(missing) in err and "not found" in err
    empty = tmp_path / "empty.log"
    empty.write_text("\n\n")
    code, _, err = run_cli("--log-file", str(empty))
    assert code == EXIT_USAGE and str(empty) in err and "empty" in err
    junk = tmp_path / "junk.log"
    junk.write_text("hello world\nnothing to see here\n")
    code, _, err = run_cli("--log-file", str(junk))
    assert code == EXIT_USAGE and str(junk) in err and "no training metrics" in err
    bad_jsonl = tmp_path / "bad.jsonl"
    bad_jsonl.write_text('{"step": 1\n{oops\n')
    with pytest.raises(LogReadError, match="bad.jsonl"):
        read_log(bad_jsonl)


def test_some_unparseable_lines_are_counted_not_fatal(tmp_path):
    path = write_jsonl_run(tmp_path / "run", loss_curve("healthy"))
    with path.open("a") as fh:
        fh.write("{truncated\nnot json at all\n")
    code, out, _ = run_cli("--log-file", str(path))
    assert code == 0
    assert "Lines without metrics (ignored): 2" in out
    data = read_log(path)
    assert data.skipped_lines == 2 and "invalid JSON" in data.skipped_examples[0]


def test_usage_errors_exit_64():
    assert run_cli()[0] == EXIT_USAGE
    assert run_cli("--log-file", "x", "--window", "-5")[0] == EXIT_USAGE
    code, _, err = run_cli("--bogus")
    assert code == EXIT_USAGE and "unrecognized" in err


def test_run_dir_discovery_prefers_jsonl_and_resume_rewinds(tmp_path):
    run = tmp_path / "run_disc"
    steps = np.concatenate([np.arange(10, 3010, 10), np.arange(2510, 6010, 10)])  # resumed at 2500
    loss = np.concatenate([np.full(300, 9.0), loss_curve("healthy")[250:]])
    write_jsonl_run(run, loss, steps=steps)
    write_text_log(run / "training.log", loss_curve("rising"))
    write_config(run)
    write_checkpoint_state(run, [5500, 6000])
    diag = diagnose_run_dir(run)
    assert diag.source.endswith("train_log.jsonl")
    assert diag.n_train == 250 + 350  # steps 10..2500 of the first attempt + 2510..6000
    assert diag.config_summary["training.learning_rate"] == 3e-4
    (run / "train_log.jsonl").unlink()
    assert diagnose_run_dir(run).source.endswith("training.log")
    (run / "training.log").unlink()
    code, _, err = run_cli("--run-dir", str(run))
    assert code == EXIT_USAGE and "no train_log.jsonl or training.log" in err
    code, _, err = run_cli("--run-dir", str(tmp_path / "absent"))
    assert code == EXIT_USAGE and "run directory not found" in err


def test_window_option_limits_analysis(tmp_path):
    path = write_jsonl_run(tmp_path / "run", loss_curve("plateau"))
    wide = diagnose_log_file(path, window=5990)
    narrow = diagnose_log_file(path, window=1000)
    assert wide.verdict == "improving" and narrow.verdict == "plateau"
    assert narrow.window_start == pytest.approx(5000)


def test_tensorboard_scalars_to_log():
    items = [(f"train/{k}", s, v, False) for s in range(0, 100, 10) for k, v in (("loss", 2.0), ("lr", 1e-3))]
    items += [("epoch_loss", s, 2.5, True) for s in range(0, 100, 50)]
    data = scalars_to_log("events", items)
    assert data.x_unit == "step" and len(data.train) == 10 and len(data.val) == 2
    assert data.train[0]["lr"] == 1e-3 and data.val[0]["val_loss"] == 2.5


# ----------------------------------------------------------------------------- outputs
def test_json_output_parses(tmp_path):
    run = tmp_path / "run_json"
    write_jsonl_run(run, loss_curve("plateau"), val=val_curve(STEPS, False) * 2.0)
    write_config(run)
    code, out, _ = run_cli("--run-dir", str(run), "--json")
    doc = json.loads(out)
    assert code == doc["exit_code"] == 1
    assert doc["verdict"] == "plateau"
    assert doc["train"]["loss"]["direction"] == "flat"
    assert all(rec["evidence"] for rec in doc["recommendations"])
    assert any("plateau_breaker" in (rec["command"] or "") for rec in doc["recommendations"])


def test_compare_runs_table_and_combined_exit(tmp_path):
    plateau = write_jsonl_run(tmp_path / "a", loss_curve("plateau"))
    rising = tmp_path / "b.csv"
    rising.write_text("step,loss\n" + "\n".join(f"{s},{v:.4f}" for s, v in zip(STEPS, loss_curve("rising"))))
    code, out, _ = run_cli("--log-file", str(plateau), "--log-file", str(rising))
    assert code == 2
    table = out.split("== Comparison ==")[1]
    assert "plateau" in table and "diverging" in table
    code, out, _ = run_cli("--log-file", str(plateau), "--log-file", str(rising), "--json")
    doc = json.loads(out)
    assert [r["verdict"] for r in doc["comparison"]] == ["plateau", "diverging"]


def test_plot_writes_png(tmp_path):
    run = tmp_path / "run_plot"
    write_jsonl_run(run, loss_curve("plateau"), val=val_curve(STEPS, False) * 2.0, nan_every=1000)
    out_png = tmp_path / "diag.png"
    code, _, err = run_cli("--run-dir", str(run), "--plot", str(out_png))
    assert code in (1, 2)
    assert out_png.stat().st_size > 1000
    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    code, _, err = run_cli("--run-dir", str(run), "--plot", str(tmp_path / "no" / "dir.png"))
    assert code == EXIT_USAGE and "cannot write plot" in err


def test_script_entry_point_runs(tmp_path):
    missing = tmp_path / "missing.log"
    proc = subprocess.run([sys.executable, str(ROOT / "utilities" / "diagnose_plateau.py"), "--log-file",
                           str(missing)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == EXIT_USAGE
    assert str(missing) in proc.stderr


def test_tool_does_not_import_tensorflow():
    code = "import sys, myxtts.diagnosis.cli; print('tensorflow' in sys.modules, 'matplotlib' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.stdout.split() == ["False", "False"]


# ------------------------------------------------------------------ real training runs

FIXTURES = Path(__file__).parent / "fixtures"


def test_real_run_that_overfits_is_overfitting():
    """Log of a real tiny-model run on the 400-utterance demo data (benchmarks/convergence.py,
    200 epochs, 4600 steps, about 26 minutes).

    Validation loss was best at step 2400 and rose about 8 % by the end while training loss
    kept falling; held-out MCD-DTW agreed (7.39 dB at step 3182, 8.30 dB at 4600). The tool
    must call that overfitting, and see that alignment was learned.
    """
    diag = diagnose_run_dir(FIXTURES / "real_demo_run")
    assert diag.verdict == "overfitting", diag.reasons
    assert diag.exit_code == 1
    assert diag.to_dict()["alignment"]["learned"] is True


def test_real_run_mid_training_is_improving(tmp_path):
    """The same real run cut at step 1540 (its first 10 minutes): the total is nearly flat
    because the stop-token and alignment terms sit at their floors, but the mel loss still
    falls clearly, so the verdict is improving, not plateau."""
    run = tmp_path / "run"
    run.mkdir()
    source = FIXTURES / "real_demo_run"
    (run / "config.yaml").write_text((source / "config.yaml").read_text())
    lines = [line for line in (source / "train_log.jsonl").read_text().splitlines()
             if json.loads(line)["step"] <= 1540]
    (run / "train_log.jsonl").write_text("\n".join(lines) + "\n")
    diag = diagnose_run_dir(run)
    assert diag.verdict == "improving", diag.reasons
    assert any("mel_loss" in reason for reason in diag.reasons)


def test_real_run_with_stalled_validation_is_plateau(tmp_path):
    """The same real run cut at step 3600: validation mel loss has been flat near 0.142 since
    step ~2400 (held-out MCD-DTW was best at step 3182) while the training mel loss still
    creeps down. That is a plateau of what matters, and the advice is plateau_breaker with a
    command that resumes this run."""
    run = tmp_path / "run"
    run.mkdir()
    source = FIXTURES / "real_demo_run"
    (run / "config.yaml").write_text((source / "config.yaml").read_text())
    (run / "checkpoint").write_text('model_checkpoint_path: "ckpt-3500"\n')
    lines = [line for line in (source / "train_log.jsonl").read_text().splitlines()
             if json.loads(line)["step"] <= 3600]
    (run / "train_log.jsonl").write_text("\n".join(lines) + "\n")
    code, out, _ = run_cli("--run-dir", str(run), "--data", "data/demo")
    assert code == 1, out
    assert "VERDICT: PLATEAU" in out
    command = next(line.strip().lstrip("$ ") for line in out.splitlines()
                   if "--optimization-level plateau_breaker" in line)
    assert command.startswith("python3 train_main.py --train-data data/demo")
    assert f"--checkpoint-dir {run}" in command and "--resume-checkpoint latest" in command


def test_overfitting_run_with_decayed_lr_gets_warm_restart_command():
    """The real run ended with its LR at 1 % of peak: the advice includes the measured warm
    restart (resume under the enhanced level), as a runnable command."""
    diag = diagnose_run_dir(FIXTURES / "real_demo_run")
    rec = next(r for r in diag.recommendations if r.id == "warm_restart")
    assert "--optimization-level enhanced" in rec.command
    assert "--resume-checkpoint latest" in rec.command
    assert rec.evidence["lr_now_over_peak"] <= 0.1
