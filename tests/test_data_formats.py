"""Corpus layouts: detection, explicit override, reading, and WAV/FLAC/OGG decoding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from myxtts.config.config import AudioConfig
from myxtts.data.features_cache import analyse
from myxtts.data.formats import detect_format, read_corpus
from myxtts.data.metadata import DatasetError, id_problem

SR = 22050


def tone(path: Path, seconds: float = 0.6, sr: int = SR, channels: int = 1) -> Path:
    """A voiced-looking test signal (220 Hz with a slow amplitude wobble)."""
    t = np.arange(int(seconds * sr)) / sr
    x = (0.3 * np.sin(2 * np.pi * 220 * t) * (1.2 + np.sin(2 * np.pi * 3 * t))).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.stack([x] * channels, 1) if channels > 1 else x, sr)
    return path


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_ljspeech_finds_flac_and_ogg_audio(tmp_path):
    write(tmp_path / "metadata.csv", "a|One.\nb|Two.\nc|Three.\n")
    tone(tmp_path / "wavs" / "a.wav")
    tone(tmp_path / "wavs" / "b.flac")
    tone(tmp_path / "wavs" / "c.ogg")
    corpus = read_corpus(tmp_path)
    assert corpus.format == "ljspeech" and corpus.val_rows is None
    assert [u.wav_path.name for u in corpus.rows] == ["a.wav", "b.flac", "c.ogg"]
    assert [u.source for u in corpus.rows] == ["metadata.csv:1", "metadata.csv:2",
                                               "metadata.csv:3"]


@pytest.mark.parametrize("suffix", ["wav", "flac", "ogg"])
def test_audio_formats_decode_to_the_same_length(tmp_path, suffix):
    audio = AudioConfig(trim_silence=False)
    result = analyse(tone(tmp_path / f"x.{suffix}", seconds=1.0), audio)
    assert not result.reason, result.detail
    assert result.sample_rate == SR and result.channels == 1
    assert result.frames == 1 + SR // audio.hop_length == result.mel.shape[0]


def test_ljspeech_unsafe_id_builds_no_path(tmp_path):
    write(tmp_path / "metadata.csv", "../../x|Escape.\n/abs/path|Absolute.\nok|Fine.\n")
    rows = read_corpus(tmp_path).rows
    assert [u.wav_path for u in rows[:2]] == [None, None]
    assert rows[2].wav_path == tmp_path / "wavs" / "ok.wav"


def test_ljspeech_more_than_five_columns_names_line(tmp_path):
    write(tmp_path / "metadata.csv", "a|t|n|s|en\nb|t|n|s|fa|extra\n")
    with pytest.raises(DatasetError, match=r"metadata.csv:2"):
        read_corpus(tmp_path)


def test_ljspeech_language_column_then_languages_csv_then_default(tmp_path):
    write(tmp_path / "metadata.csv", "a|Hello.||s1|en\nb|سلام.|||fa\nc|درود.\nd|Hi.\n")
    write(tmp_path / "languages.csv", "c|fa\na|fa\n")
    rows = read_corpus(tmp_path).rows
    assert [(u.id, u.language, u.speaker) for u in rows] == [
        ("a", "en", "s1"), ("b", "fa", "speaker0"), ("c", "fa", "speaker0"), ("d", "", "speaker0")]


def test_languages_csv_bad_line_names_file_and_line(tmp_path):
    write(tmp_path / "metadata.csv", "a|Hello.\n")
    write(tmp_path / "languages.csv", "a|en\nb\n")
    with pytest.raises(DatasetError, match=r"languages.csv:2: expected 'id\|language'"):
        read_corpus(tmp_path)


def test_filelist_language_column(tmp_path):
    write(tmp_path / "list.txt", "wavs/a.wav|Hello.|s|en\nwavs/b.wav|سلام.|s|fa\nwavs/c.wav|Hi.\n")
    rows = read_corpus(tmp_path / "list.txt").rows
    assert [u.language for u in rows] == ["en", "fa", ""]


def test_split_files(tmp_path):
    write(tmp_path / "metadata_train.csv", "a|Train one.\nb|Train two.\n")
    write(tmp_path / "metadata_val.csv", "c|Val one.\n")
    write(tmp_path / "speakers.csv", "a|alice\nb|bob\nc|alice\n")
    assert detect_format(tmp_path) == "split"
    corpus = read_corpus(tmp_path)
    assert [u.id for u in corpus.rows] == ["a", "b"]
    assert [(u.id, u.speaker, u.source) for u in corpus.val_rows] == [
        ("c", "alice", "metadata_val.csv:1")]
    assert corpus.val_rows[0].wav_path == tmp_path / "wavs" / "c.wav"
    # the train file itself is accepted too
    assert read_corpus(tmp_path / "metadata_train.csv").format == "split"


def test_vctk_both_releases(tmp_path):
    write(tmp_path / "txt" / "p225" / "p225_001.txt", "Please call Stella.\n")
    write(tmp_path / "txt" / "p226" / "p226_002.txt", "Ask her to bring these things.")
    write(tmp_path / "txt" / "p227" / "p227_003.txt", "No audio for this one.")
    tone(tmp_path / "wav48_silence_trimmed" / "p225" / "p225_001_mic1.flac")
    tone(tmp_path / "wav48_silence_trimmed" / "p225" / "p225_001_mic2.flac")
    tone(tmp_path / "wav48_silence_trimmed" / "p226" / "p226_002.wav")
    tone(tmp_path / "wav48_silence_trimmed" / "p999" / "p999_001_mic1.flac")  # no transcript
    assert detect_format(tmp_path) == "vctk"
    rows = read_corpus(tmp_path).rows
    assert [(u.id, u.speaker, u.text) for u in rows] == [
        ("p225_001", "p225", "Please call Stella."),
        ("p226_002", "p226", "Ask her to bring these things."),
        ("p227_003", "p227", "No audio for this one.")]
    assert rows[0].wav_path.name == "p225_001_mic1.flac"
    assert rows[1].wav_path.name == "p226_002.wav"
    assert not rows[2].wav_path.exists()  # reported as missing audio by validation
    assert rows[0].source == str(Path("txt/p225/p225_001.txt"))


def test_libritts_tree_with_and_without_subset_folder(tmp_path):
    for root in (tmp_path / "plain", tmp_path / "withsubset" / "train-clean-100"):
        chapter = root / "19" / "198"
        write(chapter / "19_198_000000_000000.normalized.txt", "Hello there.")
        write(chapter / "19_198_000000_000000.original.txt", "Hello there!")
        tone(chapter / "19_198_000000_000000.wav")
        write(root / "32" / "21" / "32_21_000001_000000.normalized.txt", "Second speaker.")
        tone(root / "32" / "21" / "32_21_000001_000000.flac")
    for root in (tmp_path / "plain", tmp_path / "withsubset"):
        assert detect_format(root) == "libritts"
        rows = read_corpus(root).rows
        assert [(u.id, u.speaker, u.text, u.wav_path.suffix) for u in rows] == [
            ("19_198_000000_000000", "19", "Hello there.", ".wav"),
            ("32_21_000001_000000", "32", "Second speaker.", ".flac")]


def test_filelist_folder_and_file(tmp_path):
    write(tmp_path / "train.txt", "audio/spk1/a.wav|Hello.|spk1\naudio/spk2/a.flac|Hi.\n")
    write(tmp_path / "notes.txt", "just some notes\n")
    assert detect_format(tmp_path) == "filelist"
    for path in (tmp_path, tmp_path / "train.txt"):
        rows = read_corpus(path).rows
        assert [(u.id, u.speaker, u.text) for u in rows] == [
            ("audio_spk1_a", "spk1", "Hello."), ("audio_spk2_a", "speaker0", "Hi.")]
        assert rows[0].wav_path == tmp_path / "audio" / "spk1" / "a.wav"


def test_filelist_unsafe_paths_keep_raw_id_and_no_path(tmp_path):
    write(tmp_path / "list.txt", "../outside.wav|Escape.\n/etc/x.wav|Absolute.\nok.wav|Fine.\n")
    rows = read_corpus(tmp_path / "list.txt").rows
    assert [(u.id, u.wav_path) for u in rows[:2]] == [("../outside.wav", None),
                                                      ("/etc/x.wav", None)]
    assert id_problem(rows[0].id) and id_problem(rows[1].id) and rows[2].id == "ok"


def test_explicit_format_overrides_detection(tmp_path):
    # a metadata.csv whose rows are file paths: detection says ljspeech (the file name wins)
    write(tmp_path / "metadata.csv", "clips/a.wav|Hello.\n")
    assert read_corpus(tmp_path).format == "ljspeech"
    corpus = read_corpus(tmp_path / "metadata.csv", "filelist")
    assert corpus.format == "filelist" and corpus.rows[0].wav_path == tmp_path / "clips" / "a.wav"


def test_unknown_layout_and_format_errors(tmp_path):
    with pytest.raises(DatasetError, match="unknown dataset layout"):
        read_corpus(tmp_path)
    with pytest.raises(DatasetError, match="data.format"):
        read_corpus(tmp_path, "timit")
    with pytest.raises(DatasetError, match="no such dataset"):
        read_corpus(tmp_path / "missing")
    with pytest.raises(DatasetError, match="VCTK"):
        read_corpus(tmp_path, "vctk")
    write(tmp_path / "a.txt", "x.wav|One.\n")
    write(tmp_path / "b.txt", "y.wav|Two.\n")
    with pytest.raises(DatasetError, match="several file lists"):
        read_corpus(tmp_path)


def test_empty_metadata_names_file(tmp_path):
    write(tmp_path / "metadata.csv", "\n\n")
    with pytest.raises(DatasetError, match=r"metadata.csv: no rows \(the file is empty\)"):
        read_corpus(tmp_path)


def test_not_utf8_names_file(tmp_path):
    (tmp_path / "metadata.csv").write_bytes(b"a|caf\xe9\n")
    with pytest.raises(DatasetError, match="metadata.csv: not UTF-8"):
        read_corpus(tmp_path)


@pytest.mark.parametrize("uid,problem", [
    ("../../x", "path traversal"), ("/abs/path", "absolute path"), ("a/b", "separator"),
    ("a\\b", "separator"), ("..", "path traversal"), ("", "empty"), ("C:x", "absolute"),
    ("a\nb", "control")])
def test_id_problems(uid, problem):
    assert problem in id_problem(uid)


def test_safe_ids():
    for uid in ("LJ001-0001", "p225_001", "a.b", "DEMO-00001", "日本"):
        assert id_problem(uid) is None
