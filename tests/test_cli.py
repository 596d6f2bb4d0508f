"""The command-line tools: config resolution, refusals, errors, and a real tiny train ->
synthesize -> resume run."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf
import yaml

from myxtts.cli.texts import TextFileError, parse_text_lines, read_text_file
from myxtts.config.config import XTTSConfig
from myxtts.config.presets import MODEL_SIZES

ROOT = Path(__file__).resolve().parent.parent


def _load(name: str):
    """Import a root-level script (train_main.py / inference_main.py) as a module."""
    spec = importlib.util.spec_from_file_location(name, ROOT / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


train_main = _load("train_main")
inference_main = _load("inference_main")


def printed_config(capsys, *argv: str) -> dict:
    assert train_main.main(["--print-config", *argv]) == 0
    return yaml.safe_load(capsys.readouterr().out)


def snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes()
            for p in sorted(directory.rglob("*")) if p.is_file()}


# ------------------------------------------------------------------ config resolution

def test_print_config_reflects_flags_presets_and_overrides(capsys):
    cfg = printed_config(capsys, "--model-size", "small", "--lr", "5e-4", "--batch-size", "8",
                         "--epochs", "3", "--seed", "9", "--set", "training.warmup_steps=7",
                         "--train-data", "some/data")
    assert cfg["model"]["size"] == "small"
    assert cfg["model"]["hidden_dim"] == MODEL_SIZES["small"]["hidden_dim"]
    assert cfg["training"]["learning_rate"] == pytest.approx(5e-4)
    assert (cfg["data"]["batch_size"], cfg["training"]["epochs"]) == (8, 3)
    assert (cfg["training"]["seed"], cfg["training"]["warmup_steps"]) == (9, 7)
    assert cfg["data"]["train_data"] == "some/data"
    assert XTTSConfig.from_dict(cfg).to_dict() == cfg          # a complete, valid config


def test_print_config_defaults_to_demo_data(capsys):
    cfg = printed_config(capsys)
    assert cfg["data"]["train_data"] == str(Path("data") / "demo")
    assert cfg["model"]["size"] == XTTSConfig().model.size


def test_order_config_file_then_size_then_flags_then_set(tmp_path, capsys):
    config = tmp_path / "my.yaml"
    config.write_text("model:\n  size: small\n  hidden_dim: 100\n  num_heads: 2\n"
                      "training:\n  learning_rate: 0.01\n  epochs: 7\n")
    cfg = printed_config(capsys, "--config", str(config))
    assert (cfg["model"]["hidden_dim"], cfg["training"]["epochs"]) == (100, 7)
    cfg = printed_config(capsys, "--config", str(config), "--model-size", "normal",
                         "--lr", "0.002", "--set", "training.learning_rate=0.003")
    assert cfg["model"]["hidden_dim"] == MODEL_SIZES["normal"]["hidden_dim"]  # size beats file
    assert cfg["training"]["epochs"] == 7                                      # file kept
    assert cfg["training"]["learning_rate"] == pytest.approx(0.003)           # --set beats --lr
    cfg = printed_config(capsys, "--lr", "1e-6", "--set", "training.min_learning_rate=0")
    assert cfg["training"]["learning_rate"] == pytest.approx(1e-6)  # --set repairs --lr's clash


@pytest.mark.parametrize("argv, expected", [
    (["--set", "training.learnin_rate=1"], "training.learnin_rate"),
    (["--set", "training.learning_rate=abc"], "training.learning_rate"),
    (["--set", "nosection.key=1"], "nosection"),
    (["--set", "just-text"], "KEY=VALUE"),
    (["--lr", "-1"], "training.learning_rate"),
    (["--batch-size", "0"], "data.batch_size"),
    (["--config", "does/not/exist.yaml"], "does/not/exist.yaml"),
])
def test_bad_configuration_exits_2_naming_the_key(capsys, argv, expected):
    assert train_main.main(["--print-config", *argv]) == 2
    captured = capsys.readouterr()
    assert expected in captured.err and captured.out == ""


def test_print_config_script_runs_without_tensorflow():
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import train_main; "
            "rc = train_main.main(['--print-config', '--lr', '0.004']); "
            "print('TF_LOADED', 'tensorflow' in sys.modules, rc)")
    result = subprocess.run([sys.executable, "-c", code, str(ROOT)], capture_output=True,
                            text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.rstrip().endswith("TF_LOADED False 0")
    assert "learning_rate: 0.004" in result.stdout


# ------------------------------------------------------------------ refusals

def test_refuses_to_train_into_a_directory_with_checkpoints(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "ckpt-40.index").write_bytes(b"x")
    (run / "train_log.jsonl").write_text("{}\n")
    before = snapshot(run)
    assert train_main.main(["--checkpoint-dir", str(run), "--train-data", str(tmp_path),
                            "--max-steps", "1"]) == 2
    err = capsys.readouterr().err
    assert "--resume-checkpoint latest" in err and "ckpt-40" in err
    assert snapshot(run) == before


def test_refuses_a_foreign_directory_holding_files_training_would_overwrite(tmp_path, capsys):
    (tmp_path / "config.yaml").write_text("my own file\n")
    assert train_main.main(["--checkpoint-dir", str(tmp_path), "--max-steps", "1"]) == 2
    assert "config.yaml" in capsys.readouterr().err
    assert (tmp_path / "config.yaml").read_text() == "my own file\n"


def test_resume_latest_without_checkpoints_says_so(tmp_path, capsys):
    assert train_main.main(["--checkpoint-dir", str(tmp_path / "empty"),
                            "--resume-checkpoint", "latest"]) == 2
    assert "no checkpoint" in capsys.readouterr().err


def test_resume_from_a_missing_path_fails_clearly(tmp_path, capsys):
    missing = tmp_path / "nope" / "ckpt-3"
    assert train_main.main(["--resume-checkpoint", str(missing)]) == 2
    assert str(missing) in capsys.readouterr().err


# ------------------------------------------------------------------ inference errors

@pytest.mark.parametrize("argv, expected", [
    (["--checkpoint", "{tmp}/no_run", "--text", "Hi.", "--output", "{tmp}/a.wav"], "no_run"),
    (["--checkpoint", "{tmp}", "--text", "   ", "--output", "{tmp}/a.wav"], "--text is empty"),
    (["--checkpoint", "{tmp}", "--text", "Hi."], "--output"),
    (["--checkpoint", "{tmp}", "--text", "Hi.", "--output", "{tmp}/a.wav",
      "--reference-audio", "{tmp}/missing.wav"], "missing.wav"),
    (["--checkpoint", "{tmp}", "--text", "Hi.", "--output", "{tmp}/a.wav", "--speed", "0"],
     "--speed"),
    (["--checkpoint", "{tmp}", "--text-file", "{tmp}/none.txt", "--output-dir", "{tmp}/o"],
     "none.txt"),
])
def test_inference_argument_errors_exit_2(tmp_path, capsys, argv, expected):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert inference_main.main(argv) == 2
    assert expected in capsys.readouterr().err
    assert not (tmp_path / "a.wav").exists()


def test_inference_refuses_to_overwrite_existing_wavs(tmp_path, capsys):
    sentences = tmp_path / "s.txt"
    sentences.write_text("First sentence.\nintro\tSecond one.\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / "intro.wav").write_bytes(b"keep me")
    assert inference_main.main(["--checkpoint", str(tmp_path), "--text-file", str(sentences),
                                "--output-dir", str(out)]) == 2
    assert "intro.wav" in capsys.readouterr().err
    assert (out / "intro.wav").read_bytes() == b"keep me"
    assert not (out / "0001.wav").exists()


# ------------------------------------------------------------------ sentence files

def test_text_lines_ids_default_numbering_and_blank_lines():
    lines = ["Hello there.", "", "  ", "greet\tGood morning, Anna!", "Last one.  "]
    assert parse_text_lines(lines) == [("0001", "Hello there."),
                                       ("greet", "Good morning, Anna!"),
                                       ("0003", "Last one.")]


@pytest.mark.parametrize("lines, message", [
    (["a\tOne.", "a\tTwo."], "already used on line 1"),
    (["../x\tEscape."], "cannot be a file name"),
    (["id\t   "], "has no text"),
    (["0002\tExplicit.", "Second line gets 0002."], "already used"),
])
def test_text_lines_errors_name_the_line(lines, message):
    with pytest.raises(TextFileError, match=message) as info:
        parse_text_lines(lines, "f.txt")
    assert str(info.value).startswith("f.txt:")


def test_text_file_must_hold_a_sentence(tmp_path):
    blank = tmp_path / "blank.txt"
    blank.write_text("\n  \n")
    with pytest.raises(TextFileError, match="no sentences"):
        read_text_file(blank)
    good = tmp_path / "good.txt"
    good.write_text("x1\tÉtienne said hi.\n", encoding="utf-8")
    assert read_text_file(good) == [("x1", "Étienne said hi.")]


# ------------------------------------------------------------------ end to end

# A deliberately small model, so the whole run takes well under a minute
# of compute: the point is the CLI path (train, checkpoint, synthesize, resume), not quality.
SMALL = ["data.batch_size=4", "data.min_val_utterances=2", "data.reference_max_frames=64",
         "model.hidden_dim=32", "model.num_heads=1", "model.ffn_dim=64",
         "model.text_encoder_layers=1", "model.decoder_layers=1", "model.postnet_layers=1",
         "model.postnet_dim=32", "model.duration_predictor_dim=32",
         "model.duration_predictor_layers=1", "model.reference_encoder_dim=32",
         "model.speaker_latent_dim=8", "model.aligner_dim=32",
         "training.mixed_precision=float32", "training.log_every_steps=1",
         "training.val_every_steps=1000", "training.checkpoint_every_steps=1000"]


def records(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "train_log.jsonl").read_text().splitlines()]


def test_train_synthesize_resume_end_to_end(tmp_path, capsys):
    from myxtts.data.demo import make_demo_dataset

    data = make_demo_dataset(tmp_path / "data", num_utterances=12, seed=5)
    run = tmp_path / "run"
    sets = [arg for item in SMALL for arg in ("--set", item)]
    assert train_main.main(["--train-data", str(data), "--checkpoint-dir", str(run),
                            "--max-steps", "3", "--no-progress", *sets]) == 0
    out = capsys.readouterr().out
    assert (run / "ckpt-3.index").is_file() and str(run / "ckpt-3") in out
    assert [r["step"] for r in records(run) if r["type"] == "train"] == [1, 2, 3]
    assert yaml.safe_load((run / "config.yaml").read_text())["model"]["hidden_dim"] == 32

    sentences = tmp_path / "sentences.txt"
    sentences.write_text("The lamp is on the table.\n\nhello\tGood morning!\n")
    reference = sorted((data / "wavs").glob("*.wav"))[0]
    assert inference_main.main(["--checkpoint", str(run), "--text-file", str(sentences),
                                "--output-dir", str(tmp_path / "out"),
                                "--reference-audio", str(reference)]) == 0
    for name in ("0001.wav", "hello.wav"):
        info = sf.info(tmp_path / "out" / name)
        assert (info.samplerate, info.subtype, info.channels) == (22050, "PCM_16", 1)
        assert info.frames > 0

    # Resume: the stored config (small model) is the base; --max-steps counts total steps.
    assert train_main.main(["--checkpoint-dir", str(run), "--resume-checkpoint", "latest",
                            "--max-steps", "5", "--no-progress"]) == 0
    log = records(run)
    assert [r["step"] for r in log if r["type"] == "train"] == [1, 2, 3, 4, 5]
    assert any(r["type"] == "event" and r["event"] == "resume" and r["step"] == 3 for r in log)
    assert (run / "ckpt-5.index").is_file()
    assert yaml.safe_load((run / "config.yaml").read_text())["model"]["hidden_dim"] == 32
    capsys.readouterr()
    assert train_main.main(["--checkpoint-dir", str(run), "--resume-checkpoint", "latest",
                            "--model-size", "big", "--print-config"]) == 2
    assert "model size 'tiny'" in capsys.readouterr().err
