"""Validation before training, the report, --strict, the feature cache and the validate tool."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from myxtts.cli.validate import main as validate_main
from myxtts.config.config import AudioConfig, TextConfig, XTTSConfig
from myxtts.data import features_cache
from myxtts.data.features_cache import analyse, extract_audio
from myxtts.data.metadata import DatasetError, Utterance
from myxtts.data.pipeline import build_data
from myxtts.data.report import ValidationReport
from myxtts.data.validation import check_text
from myxtts.text.symbols import SymbolTable, default_symbols
from myxtts.text.tokenizer import Tokenizer
from test_data_formats import SR, tone, write

GOOD = [f"good{i}" for i in range(10)]


def config(**data) -> XTTSConfig:
    cfg = XTTSConfig()
    cfg.text.frontend = "characters"
    cfg.data.num_workers = 1
    cfg.data.min_val_utterances = 2
    for key, value in data.items():
        setattr(cfg.data, key, value)
    return cfg


def faulty_dataset(root: Path) -> Path:
    """Ten good rows plus one of each fault of the issue (8 kHz and stereo are kept)."""
    rows = [f"{uid}|Sentence number {i} is here.|sentence number {i} is here.|s{i % 2}"
            for i, uid in enumerate(GOOD)]
    for i, uid in enumerate(GOOD):
        tone(root / "wavs" / f"{uid}.wav", seconds=0.6 + 0.05 * i)
    rows += ["missing|No audio file.", "zero|A zero byte file.", "notext||",
             "unknown|Hello \u2603 world.", "onesample|One sample.", "long|Sixty seconds.",
             "lowrate|Eight kilohertz.", "stereo|Two channels.", "../../x|Escaping id.",
             "good1|A duplicate id."]
    (root / "wavs" / "zero.wav").write_bytes(b"")
    tone(root / "wavs" / "unknown.wav")
    sf.write(root / "wavs" / "onesample.wav", np.array([0.5], np.float32), SR)
    tone(root / "wavs" / "long.wav", seconds=60)
    tone(root / "wavs" / "lowrate.wav", sr=8000)
    tone(root / "wavs" / "stereo.wav", channels=2)
    tone(root / "x.wav")  # what ../../x might point at from a deeper folder: never read
    write(root / "metadata.csv", "".join(r + "\n" for r in rows))
    return root


def digests(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and ".myxtts_cache" not in p.parts}


EXPECTED = {"unsafe id": 1, "duplicate id": 1, "empty text": 1, "unknown characters": 1,
            "missing audio": 1, "empty audio": 1, "too short": 1, "too long": 1}


def test_faulty_dataset_trains_on_valid_rows_and_names_each_problem(tmp_path, caplog):
    root = faulty_dataset(tmp_path / "data")
    before = digests(root)
    with caplog.at_level(logging.INFO, logger="myxtts.data"):
        bundle = build_data(config(), root)
    train = {e.id for e in bundle.train_examples}
    val = {e.id for e in bundle.val_examples}
    assert not train & val
    assert train | val == set(GOOD) | {"lowrate", "stereo"}
    text = caplog.text
    for reason, count in EXPECTED.items():
        assert f"  {reason}: {count}" in text, reason
    for where in ("metadata.csv:11 missing", "metadata.csv:12 zero", "metadata.csv:13 notext",
                  "'☃' (U+2603)", "metadata.csv:15 onesample", "60.00 s", "'../../x'",
                  "already used at metadata.csv:2"):
        assert where in text, where
    assert "resampled 8000 Hz -> 22050 Hz: 1" in text and "mixed down 2 channels to mono: 1" in text
    assert "20 rows, 12 valid, 8 dropped" in text and "using 12 valid rows, 8 dropped" in text
    assert digests(root) == before  # the user's files are untouched
    cache = root / ".myxtts_cache"
    assert {p.parent for p in root.rglob("*.npz")} == {cache}
    assert all(len(p.stem) == 40 for p in cache.iterdir())


def test_strict_makes_any_problem_fatal(tmp_path):
    root = faulty_dataset(tmp_path)
    with pytest.raises(DatasetError, match=r"metadata.csv: 8 of 20 rows failed .*--strict"):
        build_data(config(strict=True), root)


def test_no_valid_row_names_the_file(tmp_path):
    write(tmp_path / "metadata.csv", "a|One.\nb|Two.\n")
    with pytest.raises(DatasetError, match=r"metadata.csv: no valid rows .*2 missing audio"):
        build_data(config(), tmp_path)


def test_empty_metadata_stops_with_clear_error(tmp_path):
    write(tmp_path / "metadata.csv", "")
    with pytest.raises(DatasetError, match=r"metadata.csv: no rows \(the file is empty\)"):
        build_data(config(), tmp_path)


def test_split_layout_duplicate_never_in_both_parts(tmp_path, caplog):
    ids = [f"t{i}" for i in range(4)]
    write(tmp_path / "metadata_train.csv", "".join(f"{u}|Train {u}.\n" for u in ids))
    write(tmp_path / "metadata_val.csv", "v0|Validation.\nt1|Also in train.\n")
    for uid in ids + ["v0"]:
        tone(tmp_path / "wavs" / f"{uid}.wav")
    with caplog.at_level(logging.WARNING, logger="myxtts.data"):
        bundle = build_data(config(), tmp_path)
    assert [e.id for e in bundle.train_examples] == ids
    assert [e.id for e in bundle.val_examples] == ["v0"]
    assert "metadata_val.csv:2 t1: id 't1' already used at metadata_train.csv:2" in caplog.text


def test_unknown_symbols_of_a_checkpoint_table_are_dropped(tmp_path):
    table = SymbolTable([s for s in default_symbols("characters", "en").symbols if s != "z"])
    tokenizer = Tokenizer(TextConfig(frontend="characters"), table)
    rows = [Utterance("a", "A zebra.", "s", None, "m:1"), Utterance("b", "A cat.", "s", None, "m:2")]
    report = ValidationReport("m", "test")
    kept = check_text(rows, tokenizer, report, {})
    assert [r.utt.id for r in kept] == ["b"]
    assert report.counts() == {"unknown symbols": 1}
    assert "'z' (U+007A)" in report.problems["unknown symbols"][0]
    assert kept[0].tokens == [table.id_of(c) for c in "a cat."]


# ------------------------------------------------------------------ feature cache

def _utts(*paths: Path) -> list[Utterance]:
    return [Utterance(p.stem, "t", "s", p) for p in paths]


def test_cache_follows_content_and_config(tmp_path):
    wav = tone(tmp_path / "a.wav", seconds=0.5)
    cache = tmp_path / "cache"
    audio = AudioConfig()
    first = extract_audio(_utts(wav), audio, cache, workers=1)[0]
    tone(wav, seconds=0.8)  # the user edits the recording
    second = extract_audio(_utts(wav), audio, cache, workers=1)[0]
    assert second.frames > first.frames
    other = extract_audio(_utts(wav), AudioConfig(n_mels=40), cache, workers=1)[0]
    assert other.mel.shape[1] == 40
    assert len(list(cache.glob("*.npz"))) == 3


def test_cached_pass_computes_nothing(tmp_path, monkeypatch):
    wav = tone(tmp_path / "a.wav")
    cache = tmp_path / "cache"
    first = extract_audio(_utts(wav), AudioConfig(), cache, workers=1)[0]

    def fail(*_args, **_kw):
        raise AssertionError("recomputed a cached entry")

    monkeypatch.setattr(features_cache, "analyse", fail)
    again = extract_audio(_utts(wav), AudioConfig(), cache, workers=1)[0]
    np.testing.assert_array_equal(again.mel, first.mel)
    assert (again.sample_rate, again.channels) == (SR, 1)


def test_corrupt_cache_entry_is_recomputed(tmp_path, caplog):
    wav = tone(tmp_path / "a.wav")
    cache = tmp_path / "cache"
    first = extract_audio(_utts(wav), AudioConfig(), cache, workers=1)[0]
    (entry,) = cache.glob("*.npz")
    entry.write_bytes(b"not a numpy file")
    with caplog.at_level(logging.WARNING, logger="myxtts.data.features_cache"):
        again = extract_audio(_utts(wav), AudioConfig(), cache, workers=1)[0]
    assert "unreadable cache entry" in caplog.text
    np.testing.assert_array_equal(again.mel, first.mel)
    with np.load(entry) as data:  # repaired on disk
        np.testing.assert_array_equal(data["mel"], first.mel)


def test_parallel_workers_match_in_process(tmp_path, monkeypatch):
    import myxtts.data.features_cache as features_cache

    monkeypatch.setattr(features_cache, "FILES_PER_WORKER", 1)  # 2 workers for 4 files
    paths = [tone(tmp_path / f"{i}.wav", seconds=0.4 + 0.1 * i) for i in range(3)]
    paths.append(tmp_path / "missing.wav")
    audio = AudioConfig()
    results = extract_audio(_utts(*paths), audio, tmp_path / "cache", workers=2)
    for path, result in zip(paths[:3], results):
        np.testing.assert_array_equal(result.mel, analyse(path, audio).mel)
    assert results[3].reason == "missing audio"
    assert not list((tmp_path / "cache").glob(".tmp-*"))


# ------------------------------------------------------------------ validate tool

def test_validate_tool_exit_codes_and_json(tmp_path, capsys):
    clean = tmp_path / "clean"
    write(clean / "metadata.csv", "a|One two three.\nb|Four five six.\n")
    tone(clean / "wavs" / "a.wav")
    tone(clean / "wavs" / "b.flac")
    chars = ["--set", "text.frontend=characters", "--set", "data.num_workers=1"]
    assert validate_main([str(clean), *chars]) == 0
    assert "2 rows, 2 valid, 0 dropped" in capsys.readouterr().out
    faulty = faulty_dataset(tmp_path / "faulty")
    before = digests(faulty)
    assert validate_main([str(faulty), *chars, "--json"]) == 1
    (report,) = json.loads(capsys.readouterr().out)
    assert report["counts"] == EXPECTED and report["valid"] == 12
    assert report["notes"]["mixed down 2 channels to mono"]["rows"] == ["metadata.csv:18 stereo"]
    assert digests(faulty) == before and not (faulty / ".myxtts_cache").exists()
    write(tmp_path / "empty" / "metadata.csv", "")
    assert validate_main([str(tmp_path / "empty")]) == 2
    assert "metadata.csv: no rows" in capsys.readouterr().err
