"""Languages and voice cloning together: a bilingual checkpoint with stored speaker
latents speaks either language in a cloned or named voice; the demo builder refuses
--multi-voice for Persian; held-out evaluation scores languages and speakers at once."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf

from tiny_checkpoint import speaker_mels, write_tiny_checkpoint

FA = "سلام دنیا."


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    return write_tiny_checkpoint(tmp_path_factory.mktemp("bi-voices") / "run", languages="en,fa",
                                 speakers=speaker_mels())


@pytest.fixture(scope="module")
def synth(run):
    from myxtts import Synthesizer
    return Synthesizer.from_checkpoint(run)


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("clips")
    paths = []
    for name, hz in (("a.wav", 120), ("b.wav", 130)):
        t = np.arange(int(22050 * 0.7)) / 22050
        sf.write(folder / name, (0.3 * np.sign(np.sin(2 * np.pi * hz * t))).astype(np.float32),
                 22050)
        paths.append(folder / name)
    return paths


def test_bilingual_checkpoint_clones_and_names_voices_in_each_language(synth, clips):
    assert synth.languages == ("en", "fa") and synth.speakers == ["alice", "bob", "carol"]
    both = synth.reference_latent(clips)
    wav = synth.synthesize(FA, clips, language="fa")
    np.testing.assert_allclose(
        wav, synth.vocoder(synth.synthesize_mel(FA, speaker_latent=both, language="fa")),
        rtol=1e-4, atol=1e-4)
    bob = synth.reference_latent(speaker="bob")
    ids = synth.tokenizer.encode("a", "en")
    en = synth._generate([ids], bob[None], 1.0, language_id=0)[0]
    fa = synth._generate([ids], bob[None], 1.0, language_id=1)[0]
    assert not np.allclose(en[: min(len(en), len(fa))], fa[: min(len(en), len(fa))])
    named = synth.synthesize_batch([FA, "سلام."], speaker="bob", language="fa")
    assert all(w.ndim == 1 and w.size > 0 for w in named)
    with pytest.raises(ValueError, match="language 'de' is not known"):
        synth.synthesize("Hallo.", speaker="bob", language="de")


def test_cli_language_with_speaker_and_several_references(run, clips, tmp_path):
    from myxtts.cli.synthesize import main

    assert main(["--checkpoint", str(run), "--language", "fa", "--speaker", "bob",
                 "--text", FA, "--output", str(tmp_path / "bob.wav")]) == 0
    assert main(["--checkpoint", str(run), "--language", "fa", "--reference-audio",
                 *map(str, clips), "--text", FA, "--output", str(tmp_path / "clips.wav")]) == 0
    assert (tmp_path / "bob.wav").is_file() and (tmp_path / "clips.wav").is_file()


@pytest.mark.parametrize("language", ["fa", "en+fa"])
def test_demo_builder_refuses_multi_voice_in_persian(language, tmp_path, capsys):
    from myxtts.cli.demo_data import main

    assert main(["--output", str(tmp_path / "d"), "--multi-voice", "--language", language]) == 2
    assert "--multi-voice" in capsys.readouterr().err and not (tmp_path / "d").exists()


def test_evaluate_scores_languages_and_speakers_together():
    from myxtts.evaluation.heldout import HeldOutItem, evaluate

    class Synth:
        config = SimpleNamespace(audio=SimpleNamespace(sample_rate=8000))
        default_language = "en"

        def synthesize(self, text, reference_audio=None, language=None):
            return np.sin(np.arange(4000) / (7.0 if language == "fa" else 5.0)).astype(np.float32)

    class Judge:
        def embed(self, wav, rate):
            return np.array([1.0, 0.0])

        def judge(self, embedding, voice):
            return 0.9, voice

        def summary(self, embeddings, voices, groups):
            return {"groups": list(groups), "voices": list(voices), "n": len(embeddings)}

    truth = np.sin(np.arange(4100) / 5.0).astype(np.float32)
    items = [HeldOutItem("e", "a cat", Path("r.wav"), truth, 8000, "en", voice="v1",
                         group="training"),
             HeldOutItem("f", "یک گربه", Path("r.wav"), truth, 8000, "fa", voice="v2",
                         group="unseen")]
    result = evaluate(Synth(), items, speaker_judge=Judge())
    assert set(result["by_language"]) == {"en", "fa"}
    assert result["speaker"] == {"groups": ["training", "unseen"], "voices": ["v1", "v2"], "n": 2}
    assert [(i["language"], i["voice"], i["identified_as"]) for i in result["items"]] == [
        ("en", "v1", "v1"), ("fa", "v2", "v2")]
