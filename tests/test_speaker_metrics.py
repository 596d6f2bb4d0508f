"""Speaker metrics: cosine similarity, nearest-centroid identification, per-group summary;
the optional resemblyzer encoder names its extra when missing."""

from __future__ import annotations

import numpy as np
import pytest

from myxtts.evaluation.speaker import (SpeakerJudge, centroids, cosine, identify,
                                       speaker_scores, speaker_similarity)


def voices_embeddings():
    rng = np.random.default_rng(0)
    axes = {"a": np.eye(8)[0], "b": np.eye(8)[1], "c": np.eye(8)[2]}
    return {v: [axis + 0.2 * rng.normal(size=8) for _ in range(4)] for v, axis in axes.items()}


def test_cosine_and_centroids():
    assert cosine(np.array([1.0, 0]), np.array([3.0, 0])) == pytest.approx(1.0)
    assert cosine(np.array([1.0, 0]), np.array([0, 2.0])) == pytest.approx(0.0)
    cents = centroids(voices_embeddings())
    assert all(np.linalg.norm(c) == pytest.approx(1.0) for c in cents.values())
    assert speaker_similarity(cents["a"], cents["a"]) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="all zeros"):
        cosine(np.zeros(3), np.ones(3))
    with pytest.raises(ValueError, match="'x' has no embeddings"):
        centroids({"x": []})


def test_identification_accuracy_and_per_voice_scores():
    emb = voices_embeddings()
    cents = centroids(emb)
    outputs = [emb["a"][0], emb["b"][0], emb["c"][0], emb["a"][1]]
    assert identify(np.stack(outputs), cents) == ["a", "b", "c", "a"]
    # the last output claims to be voice c but sounds like a: one of four misidentified
    scores = speaker_scores(outputs, ["a", "b", "c", "c"], cents)
    assert scores["id_accuracy"] == pytest.approx(0.75)
    assert scores["per_voice"]["c"]["id_accuracy"] == pytest.approx(0.5)
    assert scores["per_voice"]["c"]["identified_as"] == ["c", "a"]
    assert scores["per_voice"]["a"]["similarity"] > 0.8 > scores["per_voice"]["c"]["similarity"]
    with pytest.raises(ValueError, match="no centroid for voice"):
        speaker_scores(outputs, ["a", "b", "c", "zz"], cents)
    assert speaker_scores([], [], cents)["id_accuracy"] is None


def test_judge_summarises_training_and_unseen_groups_separately():
    emb = voices_embeddings()

    class FakeEncoder:
        def embed_file(self, name):
            voice, k = name.split("/")
            return emb[voice][int(k)]

        def embed(self, wav, rate):
            return wav

    judge = SpeakerJudge({v: [f"{v}/{k}" for k in range(4)] for v in emb}, FakeEncoder())
    outputs = [emb["a"][0], emb["b"][1], emb["a"][2]]
    sim, who = judge.judge(outputs[2], "c")
    assert who == "a" and sim < 0.5
    summary = judge.summary(outputs, ["a", "b", "c"], ["training", "training", "unseen"])
    assert summary["training"]["id_accuracy"] == 1.0 and summary["training"]["n"] == 2
    assert summary["unseen"]["id_accuracy"] == 0.0
    assert summary["all"]["id_accuracy"] == pytest.approx(2 / 3)


def test_missing_resemblyzer_names_the_speaker_extra(monkeypatch):
    import builtins

    from myxtts.evaluation import speaker
    from myxtts.extras import MissingExtraError
    real_import = builtins.__import__

    def no_resemblyzer(name, *args, **kw):
        if name.split(".")[0] == "resemblyzer":
            raise ImportError("No module named 'resemblyzer'")
        return real_import(name, *args, **kw)

    monkeypatch.setattr(builtins, "__import__", no_resemblyzer)
    monkeypatch.delitem(__import__("sys").modules, "resemblyzer", raising=False)
    with pytest.raises(MissingExtraError, match=r"speaker similarity.*myxtts\[speaker\]"):
        speaker.SpeakerEncoder()
    assert speaker.optional_speaker_judge({"a": []}) is None


def test_resemblyzer_tells_two_espeak_voices_apart(tmp_path):
    pytest.importorskip("resemblyzer")
    from myxtts.data.demo import make_demo_dataset
    from myxtts.evaluation.speaker import SpeakerEncoder

    out = make_demo_dataset(tmp_path / "d", 6, seed=5, voices=("en-us", "en-gb+f4:p80"))
    rows = [line.split("|") for line in (out / "speakers.csv").read_text().splitlines()]
    encoder = SpeakerEncoder()
    emb = {}
    for uid, voice in rows:
        emb.setdefault(voice, []).append(encoder.embed_file(out / "wavs" / f"{uid}.wav"))
    held = {v: e.pop() for v, e in emb.items()}
    cents = centroids(emb)
    assert identify(np.stack(list(held.values())), cents) == list(held)
    with pytest.raises(ValueError, match="missing.wav"):
        encoder.embed_file(tmp_path / "missing.wav")


def _convergence_benchmark():
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "convergence.py"
    spec = importlib.util.spec_from_file_location("convergence_benchmark", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_rotates_references_and_adds_unseen_sentences(tmp_path, monkeypatch):
    """``benchmarks/convergence.py --references N --unseen-sentences M``: a voice's sentences
    take its first N recordings in turn, none of which is in its centroid; the M extra
    sentences go to the unseen voices only; the first --sentences keep their ids and voices."""
    from types import SimpleNamespace
    from myxtts.evaluation import heldout, speaker

    bench = _convergence_benchmark()
    monkeypatch.setattr(heldout, "espeak_ground_truth", lambda text, voice, sr: np.zeros(8))
    (tmp_path / ".myxtts_demo").write_text("")
    recordings = {g: {v: [tmp_path / f"{v}{k}.wav" for k in range(6)] for v in voices}
                  for g, voices in (("training", ("a", "b")), ("unseen", ("u", "w")))}
    examples = [SimpleNamespace(speaker=v, language="en") for v in ("a", "b")]
    trainer = SimpleNamespace(
        config=SimpleNamespace(audio=SimpleNamespace(sample_rate=22050)),
        data=SimpleNamespace(train_examples=examples, val_examples=[],
                             tokenizer=SimpleNamespace(language="en")))

    def items(**kw):
        args = bench.parse_args(["--sentences", "8", "--language", "en",
                                 *(f"--{k.replace('_', '-')}={v}" for k, v in kw.items())])
        return args, bench.held_out_items(args, trainer, tmp_path, recordings)

    _, plain = items()
    args, rotated = items(references=3, unseen_sentences=6)
    assert [(i.id, i.voice) for i in rotated[:8]] == [(i.id, i.voice) for i in plain]
    assert {i.reference_wav.name for i in plain if i.voice == "a"} == {"a0.wav"}
    assert len(rotated) == 14 and {i.group for i in rotated[8:]} == {"unseen"}
    assert len({i.text for i in rotated}) == 14
    refs_u = [i.reference_wav.name for i in rotated if i.voice == "u"]
    assert refs_u == ["u0.wav", "u1.wav", "u2.wav", "u0.wav", "u1.wav"]

    captured = {}
    monkeypatch.setattr(speaker, "optional_speaker_judge",
                        lambda files, enabled=True: captured.update(files))
    bench.speaker_judge(args, recordings)
    assert captured["u"] == recordings["unseen"]["u"][3:]
    assert not set(captured["u"]) & {i.reference_wav for i in rotated}
