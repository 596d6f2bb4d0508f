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


# ------------------------------------------------------------------ distinct voices

def test_voice_specs_without_options_speak_exactly_as_before():
    from myxtts.data.demo_voices import espeak_args, parse_voice
    assert espeak_args("en-us+f3", 170) == ["-v", "en-us+f3", "-s", "170"]
    assert espeak_args("en-us+f1:p80:r-15", 170) == ["-v", "en-us+f1", "-s", "155", "-p", "80"]
    assert parse_voice("en-029+m2:r+10") == ("en-029+m2", None, 10)
    for bad in ("en-us:x5", "en-us:p100", "en-us:r500", ":p20"):
        with pytest.raises(ValueError, match="voices"):
            parse_voice(bad)


def test_multi_voice_catalogue_is_distinct_and_keeps_unseen_voices_apart():
    from myxtts.data.demo_voices import MULTI_VOICES, UNSEEN_VOICES, parse_voice
    assert len(MULTI_VOICES) + len(UNSEEN_VOICES) >= 12 and len(UNSEEN_VOICES) == 2
    assert len(set(MULTI_VOICES) | set(UNSEEN_VOICES)) == len(MULTI_VOICES) + len(UNSEEN_VOICES)
    bases = {parse_voice(v)[0].split("+")[0] for v in (*MULTI_VOICES, *UNSEEN_VOICES)}
    assert len(bases) >= 6  # different accents, not variants of one voice


def test_num_voices_takes_the_head_of_the_catalogue(tmp_path, capsys):
    from myxtts.cli.demo_data import main
    from myxtts.data.demo_voices import MULTI_VOICES, UNSEEN_DIR
    out = tmp_path / "two"
    assert main(["--output", str(out), "--multi-voice", "--num-voices", "2",
                 "--num-utterances", "4"]) == 0
    speakers = {line.split("|")[1] for line in (out / "speakers.csv").read_text().splitlines()}
    assert speakers == set(MULTI_VOICES[:2]) and (out / UNSEEN_DIR / "speakers.csv").is_file()
    for bad in (["--num-voices", "1"], ["--num-voices", str(len(MULTI_VOICES) + 1)],
                ["--num-voices", "2", "--voices", "en-us,en-gb"]):
        assert main(["--output", str(tmp_path / "bad"), "--multi-voice", *bad]) == 2
        assert "--num-voices" in capsys.readouterr().err and not (tmp_path / "bad").exists()
    assert main(["--output", str(tmp_path / "bad"), "--num-voices", "2"]) == 2


def test_multi_voice_dataset_has_an_unseen_part_and_pitch_changes_the_audio(tmp_path):
    from myxtts.data.demo_voices import UNSEEN_DIR, UNSEEN_UTTERANCES, make_multi_voice_dataset
    voices = ("en-us", "en-us:p90")
    out = make_multi_voice_dataset(tmp_path / "mv", 4, seed=3, voices=voices,
                                   unseen=("en-gb+f2:p70",))
    trained = dict(line.split("|") for line in (out / "speakers.csv").read_text().splitlines())
    unseen = dict(line.split("|") for line in
                  (out / UNSEEN_DIR / "speakers.csv").read_text().splitlines())
    assert set(trained.values()) == set(voices)
    assert set(unseen.values()) == {"en-gb+f2:p70"} and len(unseen) == UNSEEN_UTTERANCES
    summary = summarize_dataset(out)
    assert summary.utterances == 4 and "en-gb+f2:p70" not in summary.speakers
    again = make_multi_voice_dataset(tmp_path / "mv2", 4, seed=3, voices=voices,
                                     unseen=("en-gb+f2:p70",))
    assert files_of(out) == files_of(again)                      # deterministic
    with pytest.raises(ValueError, match="both trained and unseen"):
        make_multi_voice_dataset(tmp_path / "bad", 4, voices=voices, unseen=("en-us",))
    # the same sentence at pitch 50 and 90 differs (pitch reaches espeak-ng)
    from myxtts.data.demo import _espeak, _Job, _synthesize
    wavs = tmp_path / "pitch"
    wavs.mkdir()
    for uid, voice in (("DEMO-00001", "en-us"), ("DEMO-00002", "en-us:p90")):
        _synthesize(_espeak(), _Job(uid, "Hello there.", "hello there.", voice, 160), wavs)
    low, high = (sf.read(wavs / f"DEMO-0000{i}.wav")[0] for i in (1, 2))
    assert low.shape != high.shape or abs(low - high).max() > 0.01
