"""Dataset reading, validation split, feature preparation and batching."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from myxtts.audio.features import MelStats
from myxtts.config.config import AudioConfig, DataConfig, TextConfig
from myxtts.data.batching import Batcher
from myxtts.data.features_cache import Example
from myxtts.data.metadata import DatasetError, Utterance, read_dataset
from myxtts.data.pipeline import split_validation
from myxtts.data.report import ValidationReport
from myxtts.data.validation import prepare_examples
from myxtts.text.tokenizer import Tokenizer

SR = 22050
N_MELS = 8


def write_dataset(root: Path, rows: list[str], wav_ids: list[str],
                  speakers: list[str] | None = None) -> Path:
    (root / "wavs").mkdir(parents=True, exist_ok=True)
    (root / "metadata.csv").write_text("".join(r + "\n" for r in rows), encoding="utf-8")
    for uid in wav_ids:
        (root / "wavs" / f"{uid}.wav").write_bytes(b"")  # read_dataset only checks existence
    if speakers is not None:
        (root / "speakers.csv").write_text("".join(s + "\n" for s in speakers), encoding="utf-8")
    return root


# ------------------------------------------------------------------ read_dataset

def test_two_columns(tmp_path):
    root = write_dataset(tmp_path, ["a|Hello there.", "b|Second one."], ["a", "b"])
    utts = read_dataset(root)
    assert [(u.id, u.text, u.speaker) for u in utts] == [
        ("a", "Hello there.", "speaker0"), ("b", "Second one.", "speaker0")]
    assert utts[0].wav_path == root / "wavs" / "a.wav"


def test_three_columns_uses_normalized_text(tmp_path):
    root = write_dataset(tmp_path, ["a|Dr. Smith|doctor smith", "b|Plain|"], ["a", "b"])
    utts = read_dataset(root)
    assert [u.text for u in utts] == ["doctor smith", "Plain"]


def test_four_columns_speaker_column_wins_over_speakers_csv(tmp_path):
    root = write_dataset(tmp_path, ["a|x|text a|alice", "b|y|text b|bob"], ["a", "b"],
                         speakers=["a|carol", "b|carol"])
    assert [u.speaker for u in read_dataset(root)] == ["alice", "bob"]


def test_speakers_csv_used_without_speaker_column(tmp_path):
    root = write_dataset(tmp_path, ["a|x|text a", "b|y|text b", "c|z"], ["a", "b", "c"],
                         speakers=["a|alice", "b|bob"])
    assert [u.speaker for u in read_dataset(root)] == ["alice", "bob", "speaker0"]


def test_metadata_file_path_accepted(tmp_path):
    root = write_dataset(tmp_path, ["a|Hello"], ["a"])
    assert [u.id for u in read_dataset(root / "metadata.csv")] == ["a"]


def test_rows_are_read_without_checking_audio(tmp_path):
    root = write_dataset(tmp_path, ["a|one", "b|two"], ["a"])
    utts = read_dataset(root)
    assert [u.id for u in utts] == ["a", "b"]
    assert utts[1].wav_path == root / "wavs" / "b.wav" and utts[1].source == "metadata.csv:2"


def test_empty_metadata_names_file(tmp_path):
    root = write_dataset(tmp_path, [], [])
    with pytest.raises(DatasetError, match="metadata.csv"):
        read_dataset(root)


def test_missing_metadata_names_file(tmp_path):
    with pytest.raises(DatasetError, match="metadata.csv"):
        read_dataset(tmp_path)


def test_malformed_row_names_file_and_line(tmp_path):
    root = write_dataset(tmp_path, ["a|fine", "no separator here"], ["a"])
    with pytest.raises(DatasetError, match=r"metadata.csv:2"):
        read_dataset(root)


def test_malformed_speakers_csv_names_file(tmp_path):
    root = write_dataset(tmp_path, ["a|fine"], ["a"], speakers=["a"])
    with pytest.raises(DatasetError, match=r"speakers.csv:1"):
        read_dataset(root)


# ------------------------------------------------------------------ split

def utterances(n: int) -> list[Utterance]:
    return [Utterance(f"u{i:03d}", f"text {i}", f"s{i % 3}", Path(f"u{i:03d}.wav"))
            for i in range(n)]


def test_split_deterministic_disjoint_complete():
    utts = utterances(50)
    train, val = split_validation(utts, 0.1, 2, seed=3)
    shuffled = list(reversed(utts))
    train2, val2 = split_validation(shuffled, 0.1, 2, seed=3)
    assert [u.id for u in val] == [u.id for u in val2]
    assert [u.id for u in train] == [u.id for u in train2]
    assert not {u.id for u in train} & {u.id for u in val}
    assert {u.id for u in train} | {u.id for u in val} == {u.id for u in utts}
    assert len(val) == 5
    _, other = split_validation(utts, 0.1, 2, seed=4)
    assert {u.id for u in other} != {u.id for u in val}


def test_split_minimum_and_too_few():
    _, val = split_validation(utterances(20), 0.05, 8, seed=0)
    assert len(val) == 8
    with pytest.raises(DatasetError, match="min_val_utterances"):
        split_validation(utterances(8), 0.05, 8, seed=0)


# ------------------------------------------------------------------ Batcher

def make_examples(speaker_sizes: dict[str, int], seed: int = 0) -> list[Example]:
    """Examples whose mel channel 0 holds the example's index (identifies a reference)."""
    rng = np.random.default_rng(seed)
    examples = []
    for speaker, count in speaker_sizes.items():
        for _ in range(count):
            idx = len(examples)
            frames = int(rng.integers(20, 150))
            mel = rng.normal(size=(frames, N_MELS)).astype(np.float32)
            mel[:, 0] = idx
            mel[:, 1] = np.arange(frames)  # position, identifies the crop start
            tokens = rng.integers(1, 30, size=int(rng.integers(3, 40))).astype(np.int32)
            examples.append(Example(f"e{idx}", speaker, "t", tokens, mel))
    return examples


IDENTITY = MelStats(np.zeros(N_MELS, np.float32), np.ones(N_MELS, np.float32))


def data_config(**kw) -> DataConfig:
    base = dict(batch_size=4, mel_bucket_frames=32, text_bucket_tokens=8,
                reference_max_frames=40)
    base.update(kw)
    return DataConfig(**base)


def test_plan_deterministic_per_seed_and_epoch():
    ex = make_examples({"a": 20, "b": 20})
    one = Batcher(ex, IDENTITY, data_config(), seed=5)
    two = Batcher(ex, IDENTITY, data_config(), seed=5)
    assert one.epoch_plan(0) == two.epoch_plan(0)
    assert one.epoch_plan(3) == two.epoch_plan(3)
    assert one.epoch_plan(0) != one.epoch_plan(1)
    assert one.epoch_plan(0) != Batcher(ex, IDENTITY, data_config(), seed=6).epoch_plan(0)


def test_plan_full_disjoint_batches():
    ex = make_examples({"a": 21, "b": 22})
    batcher = Batcher(ex, IDENTITY, data_config(), seed=1)
    plan = batcher.epoch_plan(0)
    flat = [int(i) for b in plan for i in b]
    assert all(len(b) == 4 for b in plan)
    assert len(plan) == batcher.batches_per_epoch == 43 // 4
    assert len(flat) == len(set(flat))


def test_unshuffled_plan_covers_everything():
    ex = make_examples({"a": 10})
    batcher = Batcher(ex, IDENTITY, data_config(), seed=1, shuffle=False)
    flat = sorted(int(i) for b in batcher.epoch_plan(0) for i in b)
    assert flat == list(range(10))
    assert batcher.batches_per_epoch == 3


def test_batches_identical_for_same_seed_and_resume_start():
    ex = make_examples({"a": 20, "b": 12})
    first = dict(Batcher(ex, IDENTITY, data_config(), seed=2).batches(1))
    resumed = dict(Batcher(ex, IDENTITY, data_config(), seed=2).batches(1, start=3))
    assert sorted(resumed) == [b for b in sorted(first) if b >= 3]
    for b, batch in resumed.items():
        for key in batch:
            np.testing.assert_array_equal(batch[key], first[b][key])


def test_padding_lengths_and_contents():
    ex = make_examples({"a": 12, "b": 12})
    cfg = data_config()
    batcher = Batcher(ex, IDENTITY, cfg, seed=0)
    plan = batcher.epoch_plan(0)
    for (b, batch), indices in zip(batcher.batches(0), plan):
        assert batch["text_ids"].shape[1] % cfg.text_bucket_tokens == 0
        assert batch["mel"].shape[1] % cfg.mel_bucket_frames == 0
        assert batch["mel"].shape[1] - max(ex[i].mel.shape[0] for i in indices) < \
            cfg.mel_bucket_frames
        assert batch["text_ids"].dtype == np.int32 and batch["mel"].dtype == np.float32
        for row, i in enumerate(indices):
            n, t = len(ex[i].tokens), ex[i].mel.shape[0]
            r = batch["ref_lengths"][row]
            assert batch["text_lengths"][row] == n and batch["mel_lengths"][row] == t
            np.testing.assert_array_equal(batch["text_ids"][row, :n], ex[i].tokens)
            assert not batch["text_ids"][row, n:].any()
            np.testing.assert_array_equal(batch["mel"][row, :t], ex[i].mel)
            assert not batch["mel"][row, t:].any()
            assert 0 < r <= cfg.reference_max_frames
            assert not batch["ref_mel"][row, r:].any()
        assert batch["ref_mel"].shape[1] == batch["ref_lengths"].max()


def test_reference_same_speaker_other_utterance():
    ex = make_examples({"a": 6, "b": 5, "solo": 1})
    cfg = data_config(batch_size=3)
    batcher = Batcher(ex, IDENTITY, cfg, seed=0, shuffle=False)
    seen = 0
    for _, batch in batcher.batches(0):
        n_batch = len(batch["text_lengths"])
        plan_rows = [int(i) for i in batch["mel"][:, 0, 0]]  # channel 0 = example index
        for row in range(n_batch):
            i = plan_rows[row]
            r = batch["ref_lengths"][row]
            ref = batch["ref_mel"][row, :r]
            source = int(ref[0, 0])
            assert np.all(ref[:, 0] == source)
            assert ex[source].speaker == ex[i].speaker
            if ex[i].speaker == "solo":
                assert source == i
            else:
                assert source != i
            start = int(ref[0, 1])
            np.testing.assert_array_equal(ref, ex[source].mel[start:start + r])
            assert r == min(ex[source].mel.shape[0], cfg.reference_max_frames)
            seen += 1
    assert seen == len(ex)


def test_batcher_normalises_with_stats():
    ex = make_examples({"a": 4})
    stats = MelStats(np.full(N_MELS, 2.0, np.float32), np.full(N_MELS, 4.0, np.float32))
    batcher = Batcher(ex, stats, data_config(), seed=0, shuffle=False)
    _, batch = next(batcher.batches(0))
    i = int(round(batch["mel"][0, 0, 0] * 4.0 + 2.0))
    t = ex[i].mel.shape[0]
    np.testing.assert_allclose(batch["mel"][0, :t], (ex[i].mel - 2.0) / 4.0, rtol=1e-6)


def test_batcher_rejects_no_examples():
    with pytest.raises(ValueError):
        Batcher([], IDENTITY, data_config(), seed=0)


# ------------------------------------------------------------------ prepare_examples

def test_prepare_examples_skips_bad_audio(tmp_path):
    wavs = tmp_path / "wavs"
    wavs.mkdir()
    t = np.arange(SR) / SR
    good = (0.4 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 3 * t))).astype(np.float32)
    sf.write(wavs / "good.wav", good, SR)
    sf.write(wavs / "silent.wav", np.zeros(SR, np.float32), SR)
    (wavs / "corrupt.wav").write_bytes(b"RIFF....WAVEgarbage" * 10)
    sf.write(wavs / "short.wav", good[: SR // 20], SR)
    utts = [Utterance(uid, "hello world", "s", wavs / f"{uid}.wav")
            for uid in ("good", "silent", "corrupt", "short")]
    tokenizer = Tokenizer(TextConfig(frontend="characters"))
    audio = AudioConfig(trim_silence=False)
    cache = tmp_path / "cache"
    data = DataConfig(num_workers=1)
    report = ValidationReport(tmp_path, "test")
    examples = prepare_examples(utts, tokenizer, audio, data, cache, report)
    assert [e.id for e in examples] == ["good"]
    assert report.counts() == {"audio does not decode": 1, "silent audio": 1, "too short": 1}
    assert "corrupt.wav" in report.problems["audio does not decode"][0]
    assert "silent.wav" in report.problems["silent audio"][0]
    assert "short.wav" in report.problems["too short"][0]
    good_ex = examples[0]
    assert good_ex.mel.shape == (1 + SR // audio.hop_length, audio.n_mels)
    assert good_ex.tokens.tolist() == tokenizer.encode("hello world")
    # second call reads the cache and gives the same features
    again = prepare_examples(utts[:1], tokenizer, audio, data, cache,
                             ValidationReport(tmp_path, "test"))
    np.testing.assert_array_equal(again[0].mel, good_ex.mel)
    assert len(list(cache.glob("*.npz"))) == 2  # good and short: duration is checked later


def test_validation_references_come_from_the_speakers_training_utterances(caplog):
    train_ex = make_examples({"a": 5, "b": 4})
    val_ex = make_examples({"a": 1, "b": 1, "new": 2})
    cfg = data_config(batch_size=2)
    train = Batcher(train_ex, IDENTITY, cfg, seed=0)
    with caplog.at_level("WARNING"):
        val = Batcher(val_ex, IDENTITY, cfg, seed=0, shuffle=False, references=train)
    assert val.unseen_speakers == ["new"] and val.lone_speakers == []
    assert "1 of 3 validation speakers have no training utterances (new)" in caplog.text
    for _, batch in val.batches(0):
        for row in range(len(batch["text_lengths"])):
            i = int(batch["mel"][row, 0, 0])
            ref = batch["ref_mel"][row, :batch["ref_lengths"][row]]
            source = int(ref[0, 0])  # channel 0 = example index within its own list
            if val_ex[i].speaker == "new":  # no training utterances: the other val one
                assert val_ex[source].speaker == "new" and source != i
            else:
                assert train_ex[source].speaker == val_ex[i].speaker
                start = int(ref[0, 1])
                np.testing.assert_array_equal(ref, train_ex[source].mel[start:start + len(ref)])


def test_speakers_with_one_utterance_are_counted_and_warned_once(caplog):
    cfg = data_config(batch_size=2)
    with caplog.at_level("WARNING"):
        train = Batcher(make_examples({"a": 4, "solo": 1, "alone": 1}), IDENTITY, cfg, seed=0)
    assert train.lone_speakers == ["alone", "solo"]
    warnings = [r.getMessage() for r in caplog.records if "only one utterance" in r.getMessage()]
    assert len(warnings) == 1
    assert "2 of 3 training speakers" in warnings[0] and "its own reference" in warnings[0]
    caplog.clear()
    with caplog.at_level("WARNING"):
        val = Batcher(make_examples({"a": 1, "solo": 1}), IDENTITY, cfg, seed=0, shuffle=False,
                      references=train)
    assert val.lone_speakers == [] and "only one utterance" not in caplog.text


# ------------------------------------------------------------------ voice warp

def test_warp_matrix_moves_content_by_the_factor():
    import librosa

    from myxtts.audio.features import mel_warp_matrix

    audio = AudioConfig(n_mels=80, fmin=0.0, fmax=8000.0)
    hz = librosa.mel_frequencies(82, fmin=0.0, fmax=8000.0)[1:-1]
    np.testing.assert_allclose(mel_warp_matrix(audio, 1.0), np.eye(80), atol=1e-6)
    for factor in (0.9, 1.12):
        peak = np.zeros(80)
        peak[40] = 1.0
        moved = mel_warp_matrix(audio, factor) @ peak
        assert (moved * hz).sum() / moved.sum() == pytest.approx(hz[40] * factor, rel=0.02)
    assert np.allclose(mel_warp_matrix(audio, 1.12).sum(axis=1), 1.0)  # flat stays flat


def test_voice_warp_makes_new_voices_of_item_and_reference_alike():
    """Warped items: mel and reference warped by the same factor, a speaker label of their
    own; the other items are exactly what the batcher gives without the warp."""
    rng = np.random.default_rng(0)
    spectrum = rng.normal(size=N_MELS).astype(np.float32)
    examples = [Example(f"e{i}", "ab"[i % 2], "t", np.arange(1, 6, dtype=np.int32),
                        np.tile(spectrum, (30 + i, 1))) for i in range(16)]
    audio = AudioConfig(n_mels=N_MELS)
    plain = Batcher(examples, IDENTITY, data_config(batch_size=8), seed=3, audio=audio)
    warped = Batcher(examples, IDENTITY, data_config(batch_size=8, voice_warp=0.2), seed=3,
                     audio=audio)
    seen = 0
    for (_, a), (_, b) in zip(plain.batches(0), warped.batches(0)):
        for row in range(8):
            if b["speaker_ids"][row] == a["speaker_ids"][row]:
                np.testing.assert_array_equal(b["mel"][row], a["mel"][row])
                np.testing.assert_array_equal(b["ref_mel"][row], a["ref_mel"][row])
                continue
            seen += 1
            assert b["speaker_ids"][row] >= 2  # a label no recorded speaker has
            assert list(b["speaker_ids"]).count(b["speaker_ids"][row]) == 1
            frame = b["mel"][row, 0]
            assert not np.allclose(frame, spectrum)
            np.testing.assert_allclose(b["ref_mel"][row, 0], frame, atol=1e-5)
    assert seen > 0
    # Validation batchers (no audio config) and voice_warp 0 never warp.
    val = Batcher(examples, IDENTITY, data_config(batch_size=8, voice_warp=0.2), seed=3,
                  shuffle=False, references=plain)
    for _, batch in val.batches(0):
        np.testing.assert_allclose(batch["mel"][:, 0], np.tile(spectrum, (8, 1)))


def test_voice_warp_min_keeps_new_voices_away_from_their_source():
    """With voice_warp_min every warped item's content moves by at least that factor, up or
    down, and by no more than voice_warp; a minimum not below the maximum is refused."""
    import librosa

    from myxtts.config.config import ConfigError

    audio = AudioConfig(n_mels=80, fmin=0.0, fmax=8000.0)
    hz = librosa.mel_frequencies(82, fmin=0.0, fmax=8000.0)[1:-1]
    peak = np.full(80, 1e-6, np.float32)
    peak[40] = 1.0
    examples = [Example(f"e{i}", "ab"[i % 2], "t", np.arange(1, 6, dtype=np.int32),
                        np.tile(peak, (30, 1))) for i in range(64)]
    warped = Batcher(examples, MelStats(np.zeros(80, np.float32), np.ones(80, np.float32)),
                     data_config(batch_size=16, voice_warp=0.2, voice_warp_min=0.1), seed=5,
                     audio=audio)
    ratios = []
    for _, batch in warped.batches(0):
        for row in np.flatnonzero(batch["speaker_ids"] >= 2):
            frame = batch["mel"][row, 0]
            ratios.append((frame * hz).sum() / frame.sum() / hz[40])
    ratios = np.array(ratios)
    assert len(ratios) > 16
    assert (ratios > 1).any() and (ratios < 1).any()  # both directions
    assert np.all(np.abs(np.log(ratios)) >= np.log(1.1) * 0.9)
    assert np.all(np.abs(np.log(ratios)) <= np.log(1.2) * 1.1)
    with pytest.raises(ConfigError, match="^data.voice_warp_min: must be < data.voice_warp"):
        DataConfig(voice_warp=0.1, voice_warp_min=0.1)


def test_voice_envelope_gives_new_voices_one_smooth_envelope_on_item_and_reference():
    """voice_envelope alone: about half of the items get a speaker label of their own and
    the same smooth, zero-mean curve (RMS at most voice_envelope nats) added to every
    frame of their mel and reference; floor bins stay at the floor; the other items are
    exactly the plain batcher's."""
    n_mels, floor = 80, float(np.log(1e-5))
    rng = np.random.default_rng(1)
    spectrum = rng.normal(-4.0, 1.0, size=n_mels).astype(np.float32)
    spectrum[-5:] = floor  # silent top bins
    examples = [Example(f"e{i}", "ab"[i % 2], "t", np.arange(1, 6, dtype=np.int32),
                        np.tile(spectrum, (30 + i, 1))) for i in range(32)]
    audio = AudioConfig(n_mels=n_mels, mel_floor=1e-5)
    stats = MelStats(np.full(n_mels, -4.0, np.float32), np.full(n_mels, 2.0, np.float32))
    plain = Batcher(examples, stats, data_config(batch_size=16), seed=3, audio=audio)
    shaped = Batcher(examples, stats, data_config(batch_size=16, voice_envelope=0.4), seed=3,
                     audio=audio)
    curves = []
    for (_, a), (_, b) in zip(plain.batches(0), shaped.batches(0)):
        for row in range(16):
            if b["speaker_ids"][row] == a["speaker_ids"][row]:
                np.testing.assert_array_equal(b["mel"][row], a["mel"][row])
                np.testing.assert_array_equal(b["ref_mel"][row], a["ref_mel"][row])
                continue
            assert list(b["speaker_ids"]).count(b["speaker_ids"][row]) == 1
            n, r = int(b["mel_lengths"][row]), int(b["ref_lengths"][row])
            mel, ref = (stats.denormalize(x) for x in (b["mel"][row, :n], b["ref_mel"][row, :r]))
            curve = mel[0] - spectrum
            np.testing.assert_allclose(mel, np.tile(mel[0], (n, 1)), atol=1e-5)  # every frame
            np.testing.assert_allclose(ref - spectrum, np.tile(curve, (r, 1)), atol=1e-4)
            np.testing.assert_allclose(mel[0, -5:], floor, atol=1e-5)
            curves.append(curve[:-5])
    assert len(curves) >= 8
    rms = np.sqrt(np.mean(np.square(curves), axis=1))
    assert np.all(rms <= 0.4 * 1.01) and rms.max() > 0.2
    assert np.all(np.abs(np.mean(curves, axis=1)) < 0.1)  # no loudness change
    # Smooth: neighbouring bins differ by far less than the curve's range.
    assert np.all(np.abs(np.diff(curves, axis=1)).max(axis=1) < 0.5 * np.ptp(curves, axis=1))


def test_voice_envelope_with_the_warp_changes_item_and_reference_alike():
    """With voice_warp too, a new voice's mel and reference get the same warp and the same
    envelope; validation batchers (no audio config) never change; a negative envelope is
    refused naming the field."""
    from myxtts.config.config import ConfigError

    n_mels = 80
    spectrum = np.random.default_rng(2).normal(-4.0, 1.0, size=n_mels).astype(np.float32)
    examples = [Example(f"e{i}", "ab"[i % 2], "t", np.arange(1, 6, dtype=np.int32),
                        np.tile(spectrum, (30 + i, 1))) for i in range(16)]
    stats = MelStats(np.zeros(n_mels, np.float32), np.ones(n_mels, np.float32))
    config = data_config(batch_size=8, voice_warp=0.2, voice_envelope=0.5)
    both = Batcher(examples, stats, config, seed=4, audio=AudioConfig(n_mels=n_mels))
    seen = 0
    for _, b in both.batches(0):
        for row in np.flatnonzero(b["speaker_ids"] >= 2):
            seen += 1
            frame = b["mel"][row, 0]
            assert np.abs(frame - spectrum).max() > 1e-3
            np.testing.assert_allclose(b["ref_mel"][row, 0], frame, atol=1e-5)
    assert seen > 0
    val = Batcher(examples, stats, config, seed=4, shuffle=False, references=both)
    for _, batch in val.batches(0):
        np.testing.assert_allclose(batch["mel"][:, 0], np.tile(spectrum, (8, 1)))
    with pytest.raises(ConfigError, match="^data.voice_envelope"):
        DataConfig(voice_envelope=-0.1)
