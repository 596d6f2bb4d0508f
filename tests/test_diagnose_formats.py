"""Pasted log formats, instability evidence, the floor-free steering metric and --plot.

The files in tests/fixtures/pasted/ are synthetic (written for these tests with a seeded
generator), each in the shape a user would paste from another framework.
"""

from __future__ import annotations

import io
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from myxtts.diagnosis import EXIT_USAGE, LogReadError, diagnose_log_file, diagnose_run_dir
from myxtts.diagnosis.cli import main
from myxtts.diagnosis.readers import read_log

FIXTURES = Path(__file__).parent / "fixtures"
PASTED = FIXTURES / "pasted"
ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(list(args), stdout=out, stderr=err), out.getvalue(), err.getvalue()


# ----------------------------------------------------------------------------- formats
@pytest.mark.parametrize("name, fmt, unit, n_train, n_val, verdict", [
    ("whitespace_table.txt", "table", "step", 30, 30, "plateau"),
    ("markdown_pipe_table.md", "table+markdown", "step", 30, 30, "overfitting"),
    ("lightning_progress.md", "progress-bar+markdown", "epoch", 64, 0, "improving"),
    ("tacotron_avg.txt", "tacotron", "step", 81, 0, "plateau"),
    ("nvidia_resume_overflow.txt", "nvidia", "step", 19, 1, "unstable"),
])
def test_pasted_fixture_format_and_verdict(name, fmt, unit, n_train, n_val, verdict):
    diag = diagnose_log_file(PASTED / name)
    assert (diag.log_format, diag.x_unit, diag.n_train, diag.n_val) == (fmt, unit, n_train, n_val)
    assert diag.verdict == verdict, diag.reasons
    assert diag.evidence


def test_whitespace_table_columns_map_to_train_and_eval(tmp_path):
    path = tmp_path / "log.txt"
    path.write_text("Steps    Train Loss    Eval Loss    Learning Rate\n"
                    "100      2.5000        2.7000       1e-4\n"
                    "200      2.4000        No log       1e-4\n")
    data = read_log(path)
    assert data.fmt == "table"
    assert data.train == [{"step": 100.0, "loss": 2.5, "lr": 1e-4, "x": 100.0},
                          {"step": 200.0, "loss": 2.4, "lr": 1e-4, "x": 200.0}]
    assert data.val == [{"step": 100.0, "val_loss": 2.7, "x": 100.0}]


def test_markdown_pipe_table_in_quote_and_fence(tmp_path):
    path = tmp_path / "issue.md"
    path.write_text("> ```\n> | Epoch | Step | Training Loss | Validation Loss |\n> |:--|--:|---|---|\n"
                    "> | 1 | 50 | 1.90 | 2.10 |\n> | 2 | 100 | 1.70 | 2.00 |\n> ```\n")
    data = read_log(path)
    assert data.fmt == "table+markdown" and data.skipped_lines == 0
    assert [r["loss"] for r in data.train] == [1.9, 1.7]
    assert [r["val_loss"] for r in data.val] == [2.1, 2.0]
    assert [r["x"] for r in data.train] == [50.0, 100.0]


def test_progress_bar_lines_position_by_batch_and_drop_repeats(tmp_path):
    path = tmp_path / "pl.txt"
    bar = "Epoch {e}:  {p}%|#####     | {n}/9 [00:01<00:01,  4.00it/s, loss={v}, v_num=3{extra}]"
    lines = [bar.format(e=4, p=33, n=3, v=2.5, extra=""), bar.format(e=4, p=33, n=3, v=2.5, extra=""),
             bar.format(e=4, p=100, n=9, v=2.25, extra=", val_loss=2.75, train_loss_epoch=2.4")]
    path.write_text("\r".join(lines) + "\n")  # tqdm refreshes with carriage returns
    data = read_log(path)
    assert data.fmt == "progress-bar" and data.x_unit == "epoch"
    assert [r["loss"] for r in data.train] == [2.5, 2.25]  # the repeated batch counted once
    assert data.train[0]["x"] == pytest.approx(4 + 3 / 10) and data.train[1]["x"] == pytest.approx(4 + 9 / 10)
    assert data.val == [{"epoch": pytest.approx(4.9), "val_loss": 2.75, "x": pytest.approx(4.9)}]


def test_progress_bar_without_epoch_uses_counter_as_step(tmp_path):
    path = tmp_path / "bar.txt"
    path.write_text("train:  10%|#         | 100/1000 [00:10<01:30, 10.0it/s, loss=3.1, lr=0.001]\n"
                    "train:  20%|##        | 200/1000 [00:20<01:20, 10.0it/s, loss=2.9, lr=0.001]\n")
    data = read_log(path)
    assert [(r["x"], r["loss"], r["lr"]) for r in data.train] == [(100.0, 3.1, 0.001), (200.0, 2.9, 0.001)]


def test_tacotron_running_average_is_not_a_loss_term(tmp_path):
    path = tmp_path / "taco.txt"
    path.write_text("Step 12250 [0.87 sec/step, loss=0.741, avg_loss=0.733]\n"
                    "Step 12251 [0.86 sec/step, loss=0.739, avg_loss=0.733]\n")
    data = read_log(path)
    assert data.fmt == "tacotron"
    assert data.train[0] == {"step": 12250.0, "loss": 0.741, "loss_smoothed": 0.733, "x": 12250.0}
    diag = diagnose_log_file(PASTED / "tacotron_avg.txt")
    assert set(diag.train) == {"loss"}


def test_nvidia_lines_and_overflow_events(tmp_path):
    path = tmp_path / "nv.txt"
    path.write_text("Train loss 100 5.318559 Grad Norm 1.5 1.75s/it\n"
                    "Gradient overflow.  Skipping step, loss scaler 0 reducing loss scale to 32768.0\n"
                    "Train loss 101 5.300000 Grad Norm inf 1.75s/it\n"
                    "Validation loss 101:  5.9\n")
    data = read_log(path)
    assert data.fmt == "nvidia"
    assert data.train[1]["step"] == 101.0 and data.train[1]["grad_norm"] == float("inf")
    assert data.val == [{"step": 101.0, "val_loss": 5.9, "x": 101.0}]
    assert [(e["event"], e["step"]) for e in data.events] == [("overflow", 101.0)]  # belongs to the next step


def test_python_dict_lines_are_read(tmp_path):
    path = tmp_path / "hf.txt"
    path.write_text("{'loss': 2.31, 'learning_rate': 4.9e-05, 'epoch': 0.5}\n"
                    "{'eval_loss': 2.6, 'epoch': 0.5}\n{'loss': 2.2, 'learning_rate': 4.8e-05, 'epoch': 1.0}\n")
    data = read_log(path)
    assert [r["loss"] for r in data.train] == [2.31, 2.2]
    assert data.val[0]["val_loss"] == 2.6 and data.x_unit == "epoch"


def test_markup_only_file_is_a_clear_error(tmp_path):
    path = tmp_path / "fences.md"
    path.write_text("```\n```\n")
    with pytest.raises(LogReadError, match="fences.md.*markdown"):
        read_log(path)
    code, _, err = run_cli("--log-file", str(path))
    assert code == EXIT_USAGE and str(path) in err


# ----------------------------------------------------------------------------- instability
def test_short_log_with_inf_grad_norm_after_resume_is_unstable():
    code, out, _ = run_cli("--log-file", str(PASTED / "nvidia_resume_overflow.txt"))
    assert code == 2 and "VERDICT: UNSTABLE" in out
    assert "Evidence used: nonfinite_steps, loss_jump_after_resume" in out
    diag = diagnose_log_file(PASTED / "nvidia_resume_overflow.txt")
    assert diag.nonfinite.grad_nonfinite_window == 4 and diag.nonfinite.overflow_lines_window == 4
    assert diag.nonfinite.total_window == 4  # inf grad norm and overflow line of a step count once
    jump = diag.resume_jumps[0]
    assert jump["x"] == 12001 and jump["factor"] > 20
    doc = json.loads(run_cli("--log-file", str(PASTED / "nvidia_resume_overflow.txt"), "--json")[1])
    assert doc["evidence"][:2] == ["nonfinite_steps", "loss_jump_after_resume"]


def test_loss_jump_after_resume_line_alone_is_unstable(tmp_path):
    path = tmp_path / "resumed.txt"
    lines = [f"step {s} loss={0.17 + 0.001 * (s % 3):.3f}" for s in range(100, 600, 100)]
    lines += ["Resuming from checkpoint ckpt-500"]
    lines += [f"step {s} loss={5 + (s % 4):.3f}" for s in range(600, 900, 100)]
    path.write_text("\n".join(lines) + "\n")
    diag = diagnose_log_file(path)
    assert diag.verdict == "unstable" and diag.evidence == ["loss_jump_after_resume"]
    assert "resume" in diag.reasons[0]


def test_step_counter_going_back_without_jump_is_not_evidence(tmp_path):
    path = tmp_path / "rewind.txt"
    steps = list(range(10, 310, 10)) + list(range(200, 610, 10))
    path.write_text("\n".join(f"step {s} loss={3.0 * np.exp(-s / 400):.4f}" for s in steps) + "\n")
    diag = diagnose_log_file(path)
    assert len(diag.resumes) == 1 and diag.resumes[0]["x"] == 200
    assert diag.resume_jumps == [] and diag.verdict == "improving"


# ----------------------------------------------------------------------------- steering metric
def _myxtts_run(run: Path, floor_free: bool) -> Path:
    """Train loss still falls 6 % over the last third; held-out val_loss is flat there."""
    rng = np.random.default_rng(5)
    run.mkdir(parents=True)
    lines = []
    for step in range(20, 6020, 20):
        loss = (1.0 + 2.0 * np.exp(-step / 600)) * (1 - 0.1 * step / 6000) * np.exp(rng.normal(0, .01))
        rec = {"type": "train", "step": step, "epoch": step // 100, "loss": loss, "mel_loss": loss / 2,
               "stop_loss": loss / 10, "lr": 1e-4, "grad_norm": 0.5}
        if floor_free:
            rec["dampening_scale"] = 1.0
        lines.append(json.dumps(rec))
        if step % 200 == 0:
            val = 1.25 + 2.0 * np.exp(-step / 600) + rng.normal(0, .002)
            lines.append(json.dumps({"type": "val", "step": step, "val_loss": val, "val_mel_loss": val / 2}))
    (run / "train_log.jsonl").write_text("\n".join(lines) + "\n")
    return run


def test_floor_free_myxtts_run_is_judged_on_held_out_val_loss(tmp_path):
    diag = diagnose_run_dir(_myxtts_run(tmp_path / "new", floor_free=True))
    assert diag.steering == {"metric": "val_loss", "floor_free": True, "held_out": True}
    assert diag.verdict == "plateau" and diag.evidence == ["heldout_val_loss_trend"]
    assert "held-out val_loss" in diag.reasons[0]
    old = diagnose_run_dir(_myxtts_run(tmp_path / "old", floor_free=False))
    assert old.steering["metric"] == "loss" and old.steering["floor_free"] is False
    assert old.verdict == "improving"


def test_older_real_run_keeps_looking_past_floored_terms():
    diag = diagnose_run_dir(FIXTURES / "real_demo_run")
    assert diag.steering == {"metric": "loss", "floor_free": False, "held_out": False}
    assert diag.verdict == "overfitting" and diag.evidence == ["val_loss_vs_train"]


def test_held_out_results_json_is_read_and_used(tmp_path):
    run = tmp_path / "run"
    shutil.copytree(FIXTURES / "real_demo_run", run)
    rows = [{"step": 1273, "mcd_dtw": 8.25, "cer": 0.151}, {"step": 3182, "mcd_dtw": 7.39, "cer": 0.149},
            {"step": 4600, "mcd_dtw": 8.30, "cer": 0.153}]
    (run / "convergence.json").write_text(json.dumps({"model_size": "tiny", "rows": rows}))
    diag = diagnose_run_dir(run)
    assert [p["step"] for p in diag.heldout["points"]] == [1273, 3182, 4600]
    assert diag.verdict == "overfitting" and "heldout_mcd" in diag.evidence
    assert any("MCD-DTW 8.30 dB at step 4600" in r for r in diag.reasons)


# ----------------------------------------------------------------------------- plot
def test_plot_of_unstable_paste_is_a_png(tmp_path):
    out_png = tmp_path / "nv.png"
    code, _, err = run_cli("--log-file", str(PASTED / "nvidia_resume_overflow.txt"), "--plot", str(out_png))
    assert code == 2 and "plot written" in err
    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_without_matplotlib_names_the_extra(tmp_path, monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    out_png = tmp_path / "x.png"
    code, _, err = run_cli("--log-file", str(PASTED / "whitespace_table.txt"), "--plot", str(out_png))
    assert code == EXIT_USAGE
    assert "myxtts[plot]" in err and str(out_png) in err
    assert not out_png.exists()
