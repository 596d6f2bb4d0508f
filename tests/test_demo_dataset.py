"""The espeak-ng demo dataset: layout, determinism, reuse and refusal rules."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf

from myxtts.data.demo import (DEFAULT_VOICES, MARKER, SAMPLE_RATE, generate_sentences,
                              held_out_sentences, make_demo_dataset, summarize_dataset)
from myxtts.text.normalizers import normalize_text

ROOT = Path(__file__).resolve().parent.parent
N = 6


def files_of(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes()
            for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    return make_demo_dataset(tmp_path_factory.mktemp("demo") / "set", num_utterances=N, seed=7)


def test_layout(demo):
    rows = [line.split("|") for line in (demo / "metadata.csv").read_text("utf-8").splitlines()]
    assert len(rows) == N and all(len(r) == 3 for r in rows)
    assert rows[0][0] != "id"                                          # no header
    for uid, text, normalized in rows:
        assert normalized == normalize_text(text, "en")
        assert 4 <= len(normalized.split()) <= 16
        info = sf.info(demo / "wavs" / f"{uid}.wav")
        assert (info.samplerate, info.channels, info.subtype) == (SAMPLE_RATE, 1, "PCM_16")
        assert 0.5 < info.duration < 15
    speakers = dict(line.split("|") for line in
                    (demo / "speakers.csv").read_text("utf-8").splitlines())
    assert set(speakers) == {r[0] for r in rows}
    assert set(speakers.values()) == set(DEFAULT_VOICES)              # 6 items, 4 voices: all used


def test_summary_and_loader_agree(demo):
    from myxtts.data.metadata import read_dataset

    summary = summarize_dataset(demo)
    assert summary.utterances == N and sum(summary.speakers.values()) == N
    assert summary.total_seconds > N * 0.5
    utterances = read_dataset(demo)
    assert len(utterances) == N
    assert {u.speaker for u in utterances} == set(summary.speakers)


def test_same_seed_gives_identical_bytes(demo, tmp_path):
    again = make_demo_dataset(tmp_path / "again", num_utterances=N, seed=7)
    assert files_of(again) == files_of(demo)
    other = make_demo_dataset(tmp_path / "other", num_utterances=N, seed=8)
    assert (other / "metadata.csv").read_bytes() != (demo / "metadata.csv").read_bytes()


def test_existing_dataset_is_reused(demo, caplog):
    before = {p: p.stat().st_mtime_ns for p in demo.rglob("*")}
    with caplog.at_level(logging.INFO, logger="myxtts.data.demo"):
        assert make_demo_dataset(demo, num_utterances=N, seed=7) == demo
    assert "exists, reusing" in caplog.text
    assert {p: p.stat().st_mtime_ns for p in demo.rglob("*")} == before


def test_refuses_foreign_directory(tmp_path):
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(FileExistsError, match=MARKER):
        make_demo_dataset(tmp_path, num_utterances=2)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_other_parameters_need_overwrite(tmp_path):
    out = make_demo_dataset(tmp_path / "d", num_utterances=3, seed=1, voices=["en-us"])
    with pytest.raises(FileExistsError, match="overwrite"):
        make_demo_dataset(out, num_utterances=2, seed=1, voices=["en-us"])
    make_demo_dataset(out, num_utterances=2, seed=1, voices=["en-us"], overwrite=True)
    assert sorted(p.name for p in (out / "wavs").iterdir()) == ["DEMO-00001.wav", "DEMO-00002.wav"]
    assert summarize_dataset(out).utterances == 2


def test_unknown_voice_is_named(tmp_path):
    with pytest.raises(ValueError, match="nosuchvariant"):
        make_demo_dataset(tmp_path / "x", num_utterances=2, voices=["en-us+nosuchvariant"])
    with pytest.raises(ValueError, match="zz-nowhere"):
        make_demo_dataset(tmp_path / "x", num_utterances=2, voices=["zz-nowhere"])
    assert not (tmp_path / "x").exists()


def test_sentences_are_varied_and_held_out_text_is_disjoint():
    pairs = generate_sentences(400, seed=1234)
    assert pairs[:50] == generate_sentences(50, seed=1234)             # prefix-stable
    normalized = {n for _, n in pairs}
    assert len(normalized) == 400
    assert all(4 <= len(n.split()) <= 16 for n in normalized)
    assert sum("?" in n for n in normalized) > 20 and sum("," in n for n in normalized) > 20
    held = held_out_sentences(100, seed=1234)
    assert held == held_out_sentences(100, seed=1234) and len(set(held)) == 100
    bigger = {n for _, n in generate_sentences(2000, seed=1234)}
    assert not {normalize_text(t, "en") for t in held} & bigger


def test_cli(tmp_path):
    script = ROOT / "utilities" / "make_demo_dataset.py"
    out = tmp_path / "cli"
    run = subprocess.run([sys.executable, str(script), "--output", str(out),
                          "--num-utterances", "2", "--voices", "en-us,en-us+f3"],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    assert "2 utterances" in run.stdout and "2 speakers" in run.stdout
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "data.txt").write_text("x", encoding="utf-8")
    run = subprocess.run([sys.executable, str(script), "--output", str(tmp_path / "foreign")],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 2 and "refusing" in run.stderr
