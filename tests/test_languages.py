"""One model for several languages: rows with languages, the language embedding, old
single-language checkpoints, ``--language`` at inference, per-language evaluation."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from myxtts.config.config import TextConfig
from myxtts.data.metadata import Utterance
from myxtts.data.report import ValidationReport
from myxtts.data.validation import check_text, settle_languages
from myxtts.text.tokenizer import Tokenizer
from tiny_checkpoint import write_tiny_checkpoint


# ------------------------------------------------------------------ data

def rows(*languages: str) -> list[Utterance]:
    texts = {"en": "A cat sat.", "fa": "گربه نشست.", "": "A dog ran.", "de": "Hallo."}
    return [Utterance(f"u{i}", texts.get(lang, "x"), "s", None, f"metadata.csv:{i + 1}", lang)
            for i, lang in enumerate(languages)]


@pytest.mark.parametrize("default, found, language, languages", [
    ("en", ["", "en"], "en", ""),            # one language: no embedding, as before
    ("en", ["", "fa"], "en", "en,fa"),       # the default first
    ("fa", ["en", ""], "fa", "fa,en"),
    ("en", ["fa", "fa"], "fa", ""),          # no row in the default: the data's language
    ("en", ["", "de"], "en", ""),            # unsupported codes are left to validation
])
def test_settle_languages_from_the_rows(default, found, language, languages):
    text = TextConfig(language=default)
    settle_languages(text, rows(*found))
    assert (text.language, text.languages) == (language, languages)


def test_settle_languages_keeps_an_explicit_list():
    text = TextConfig(languages="fa,en")
    assert settle_languages(text, rows("en")) == ("fa", "en")


def test_unknown_language_is_a_counted_skip_naming_file_and_line():
    tokenizer = Tokenizer(TextConfig(frontend="characters", languages="en,fa"))
    report = ValidationReport("metadata.csv", "ljspeech")
    kept = check_text(rows("en", "de", "fa", ""), tokenizer, report, {})
    assert [(r.utt.id, r.language) for r in kept] == [("u0", "en"), ("u2", "fa"), ("u3", "en")]
    assert report.counts() == {"unknown language": 1}
    assert report.problems["unknown language"][0].startswith(
        "metadata.csv:2 u1: language 'de' is not supported; use one of en, fa")
    assert tokenizer.decode(kept[1].tokens) == "گربه نشست."


def test_a_language_the_model_does_not_know_is_skipped():
    tokenizer = Tokenizer(TextConfig(frontend="characters"))       # an English-only model
    report = ValidationReport("metadata.csv", "ljspeech")
    kept = check_text(rows("en", "fa"), tokenizer, report, {})
    assert [r.utt.id for r in kept] == ["u0"]
    assert "language 'fa' is not one of the model's languages (en" in \
        report.problems["unknown language"][0]


def test_batches_carry_language_ids(tmp_path):
    from myxtts.audio.features import MelStats
    from myxtts.config.config import DataConfig
    from myxtts.data.batching import Batcher
    from myxtts.data.features_cache import Example

    mel = np.zeros((20, 4), np.float32)
    examples = [Example(f"e{i}", "s", "t", np.ones(3, np.int32), mel, lang, i % 2)
                for i, lang in enumerate(["en", "fa", "en", "fa"])]
    batcher = Batcher(examples, MelStats(np.zeros(4, np.float32), np.ones(4, np.float32)),
                      DataConfig(batch_size=4), seed=1, shuffle=False)
    batch = batcher.make_batch([0, 1, 2, 3], np.random.default_rng(0))
    assert batch["language_ids"].tolist() == [0, 1, 0, 1]


# ------------------------------------------------------------------ model and checkpoints

@pytest.fixture(scope="module")
def old_run(tmp_path_factory) -> Path:
    return write_tiny_checkpoint(tmp_path_factory.mktemp("mono") / "run")


@pytest.fixture(scope="module")
def bilingual_run(tmp_path_factory) -> Path:
    return write_tiny_checkpoint(tmp_path_factory.mktemp("bi") / "run", languages="en,fa")


def test_single_language_checkpoint_has_no_language_variables(old_run):
    from myxtts.inference.synthesizer import load_checkpoint

    loaded = load_checkpoint(old_run)
    assert loaded.model.language_embedding is None
    assert not any("language" in v.path for v in loaded.model.weights)
    assert loaded.config.text.languages == ""


def test_old_checkpoint_speaks_its_language_and_names_the_ones_it_knows(old_run):
    from myxtts.inference.synthesizer import Synthesizer

    synth = Synthesizer.from_checkpoint(old_run)
    assert synth.languages == ("en",) and synth.default_language == "en"
    default = synth.synthesize_mel("Hello there.")
    np.testing.assert_allclose(synth.synthesize_mel("Hello there.", language="en"), default)
    with pytest.raises(ValueError, match=r"language 'fa' is not known.*knows en \(default en\)"):
        synth.synthesize("سلام", language="fa")


def test_bilingual_checkpoint_speaks_both_languages(bilingual_run):
    from myxtts.inference.synthesizer import Synthesizer

    synth = Synthesizer.from_checkpoint(bilingual_run)
    assert synth.languages == ("en", "fa")
    assert synth.model.language_embedding is not None
    wav = synth.synthesize("سلام دنیا.", language="fa")
    assert wav.ndim == 1 and wav.size > 0 and np.all(np.isfinite(wav))
    # the same symbols in another language go through another language vector
    ids = synth.tokenizer.encode("a", "en")
    latent = synth.default_latent()[None]
    en = synth._generate([ids], latent, 1.0, language_id=0)[0]
    fa = synth._generate([ids], latent, 1.0, language_id=1)[0]
    assert not np.allclose(en[: min(len(en), len(fa))], fa[: min(len(en), len(fa))])
    with pytest.raises(ValueError, match=r"language 'de' is not known.*knows en, fa"):
        synth.synthesize_mel("Hallo", language="de")


def test_inference_cli_language(bilingual_run, old_run, tmp_path, capsys):
    from myxtts.cli.synthesize import main

    out = tmp_path / "fa.wav"
    assert main(["--checkpoint", str(bilingual_run), "--language", "fa", "--text", "سلام.",
                 "--output", str(out)]) == 0
    assert out.is_file()
    capsys.readouterr()
    assert main(["--checkpoint", str(old_run), "--language", "fa", "--text", "سلام.",
                 "--output", str(tmp_path / "x.wav")]) == 2
    err = capsys.readouterr().err
    assert "--language: language 'fa' is not known by this model; it knows en" in err
    assert not (tmp_path / "x.wav").exists()


# ------------------------------------------------------------------ evaluation per language

class _Synth:
    config = SimpleNamespace(audio=SimpleNamespace(sample_rate=8000))
    default_language = "en"

    def __init__(self):
        self.calls = []

    def synthesize(self, text, reference_audio=None, language=None):
        self.calls.append(language)
        return np.sin(np.arange(4000) / (7.0 if language == "fa" else 5.0)).astype(np.float32)


class _EnglishRecognizer:
    language = "en"

    def transcribe(self, wav, rate):
        return "a cat" if wav.size == 4000 else "a cap"


def test_evaluate_scores_each_language_and_cer_only_where_the_recogniser_reads_it():
    from myxtts.evaluation.heldout import HeldOutItem, evaluate

    truth = np.sin(np.arange(4100) / 5.0).astype(np.float32)
    items = [HeldOutItem("e", "a cat", Path("r.wav"), truth, 8000, "en"),
             HeldOutItem("f", "یک گربه", Path("r.wav"), truth, 8000, "fa")]
    synth = _Synth()
    result = evaluate(synth, items, _EnglishRecognizer())
    assert synth.calls == ["en", "fa"]
    en, fa = result["by_language"]["en"], result["by_language"]["fa"]
    assert en["cer_mean"] == 0.0 and en["ground_truth_cer_mean"] == pytest.approx(0.2)
    assert en["cer_ratio"] == 0.0
    assert fa["cer_mean"] is None and "Whisper tiny.en" in fa["cer_note"]
    assert fa["mcd_mean"] > en["mcd_mean"] >= 0
    assert result["n"] == 2 and result["cer_mean"] == 0.0


def test_a_bilingual_run_resumes_with_a_config_that_does_not_list_its_languages(tmp_path):
    """A resumed model keeps its checkpoint's languages: a fresh config (languages unset,
    as ``benchmarks/convergence.py`` builds one) resumes and trains; one naming other
    languages is refused before anything is built."""
    from myxtts.config.config import XTTSConfig
    from myxtts.data.demo import make_demo_dataset
    from myxtts.training.checkpoints import CheckpointError
    from myxtts.training.trainer import XTTSTrainer
    from tiny_model import shrink_model

    def config():
        c = shrink_model(XTTSConfig(), decoder_layers=1)
        c.data.batch_size, c.data.min_val_utterances = 4, 2
        c.training.mixed_precision = "float32"
        return c

    data = make_demo_dataset(tmp_path / "enfa", num_utterances=12, language="en+fa")
    first = XTTSTrainer(config(), tmp_path / "run")
    first.prepare_data(data)
    assert first.config.text.languages == "en,fa"
    checkpoint = first.train(max_steps=2, progress=False).checkpoint

    resumed = XTTSTrainer(config(), tmp_path / "run")
    resumed.prepare_data(data, resume=checkpoint)
    assert resumed.config.text.languages == "en,fa"
    assert resumed.data.tokenizer.languages == ("en", "fa")
    summary = resumed.train(max_steps=3, progress=False)
    assert summary.steps == 3 and resumed.model.language_embedding is not None

    other = config()
    other.text.languages = "en"
    with pytest.raises(CheckpointError, match=r"text.languages is 'en'.*knows en,fa"):
        XTTSTrainer(other, tmp_path / "run").prepare_data(data, resume=checkpoint)
