"""Free-running evaluation on held-out sentences: synthesise, then score against ground truth.

Scores are MCD-DTW against a ground-truth recording of the same sentence; when the
optional offline recogniser is installed and reads the item's language, the character
error rate of its transcript next to its CER on the ground truth (the ratio says how much
of the error is the model's); and, with a :class:`~myxtts.evaluation.speaker.SpeakerJudge`
(extra ``[speaker]``), the speaker similarity to the item's voice and speaker-identification
accuracy among all voices, per group of items (e.g. ``training`` and ``unseen`` voices).
The bundled recogniser is Whisper tiny.en, so Persian items get no CER. MCD and CER are
also summarised per language.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from myxtts.evaluation.mcd import mcd_dtw_with_backend


@dataclass
class HeldOutItem:
    """A sentence to speak, the voice's reference audio, and the ground-truth audio."""

    id: str
    text: str
    reference_wav: Path
    ground_truth: np.ndarray
    sample_rate: int
    language: str = ""  # "" = the synthesizer's default language
    voice: str = ""     # the voice to clone (speaker metrics need it)
    group: str = ""     # e.g. "training" or "unseen" voices: speaker metrics per group


@dataclass
class ItemScore:
    id: str
    text: str
    mcd: float
    cer: float | None
    transcript: str | None
    seconds: float
    language: str = ""
    ground_truth_cer: float | None = None
    voice: str = ""
    speaker_similarity: float | None = None
    identified_as: str | None = None


def espeak_ground_truth(text: str, voice: str, sample_rate: int, speed: int = 165) -> np.ndarray:
    """Speak ``text`` with espeak-ng (the voice the demo data uses, a demo voice spec such as
    ``en-us+f1:p80``) as float32 audio."""
    from myxtts.data.demo_voices import espeak_args

    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise RuntimeError("espeak-ng not found: apt-get install espeak-ng")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "gt.wav"
        subprocess.run([espeak, "-b", "1", *espeak_args(voice, speed), "-w", str(path)],
                       input=text.encode("utf-8"), check=True, capture_output=True)
        wav, rate = sf.read(path, dtype="float32")
    if rate != sample_rate:
        import librosa
        wav = librosa.resample(wav, orig_sr=rate, target_sr=sample_rate)
    return wav.astype(np.float32)


def _reads(recognizer, language: str) -> bool:
    """Whether ``recognizer`` transcribes ``language`` (its ``language`` attribute)."""
    return recognizer is not None and getattr(recognizer, "language", "en") == language


def _summary(scores: list[ItemScore]) -> dict:
    cers = [s.cer for s in scores if s.cer is not None]
    gt = [s.ground_truth_cer for s in scores if s.ground_truth_cer is not None]
    mcds = [s.mcd for s in scores]
    cer_mean = float(np.mean(cers)) if cers else None
    gt_mean = float(np.mean(gt)) if gt else None
    return {
        "n": len(scores),
        "mcd_mean": float(np.mean(mcds)) if mcds else None,
        "mcd_median": float(statistics.median(mcds)) if mcds else None,
        "cer_mean": cer_mean,
        "cer_median": float(statistics.median(cers)) if cers else None,
        "ground_truth_cer_mean": gt_mean,
        "cer_ratio": (cer_mean / gt_mean) if cer_mean is not None and gt_mean else None,
    }


def evaluate(synthesizer, items: list[HeldOutItem], recognizer=None,
             save_dir: str | Path | None = None, speaker_judge=None) -> dict:
    """Score ``synthesizer`` on ``items``; returns per-item scores, their summary, a
    summary per language (``by_language``; ``cer_note`` says why a language has no CER)
    and, with ``speaker_judge``, speaker metrics per group (``speaker``)."""
    scores: list[ItemScore] = []
    default = getattr(synthesizer, "default_language", "en")
    backend = None
    embeddings = []
    for item in items:
        language = item.language or default
        kwargs = {"language": item.language} if item.language else {}
        wav = synthesizer.synthesize(item.text, reference_audio=item.reference_wav, **kwargs)
        rate = synthesizer.config.audio.sample_rate
        if save_dir is not None:
            Path(save_dir).mkdir(parents=True, exist_ok=True)
            sf.write(Path(save_dir) / f"{item.id}.wav", wav, rate)
        mcd, backend = mcd_dtw_with_backend(item.ground_truth, wav, rate)
        transcript = cer = gt_cer = None
        if _reads(recognizer, language):
            from myxtts.evaluation.text_metrics import cer as char_error_rate
            transcript = recognizer.transcribe(wav, rate)
            cer = char_error_rate(item.text, transcript)
            gt_cer = char_error_rate(item.text, recognizer.transcribe(item.ground_truth,
                                                                      item.sample_rate))
        score = ItemScore(item.id, item.text, float(mcd), cer, transcript, len(wav) / rate,
                          language, gt_cer, item.voice)
        if speaker_judge is not None:
            embeddings.append(speaker_judge.embed(wav, rate))
            score.speaker_similarity, score.identified_as = speaker_judge.judge(
                embeddings[-1], item.voice)
        scores.append(score)
    by_language = {}
    for language in dict.fromkeys(s.language for s in scores):
        part = _summary([s for s in scores if s.language == language])
        if part["cer_mean"] is None:
            part["cer_note"] = ("no offline recogniser installed" if recognizer is None else
                                f"the recogniser reads {getattr(recognizer, 'language', 'en')} "
                                f"only (Whisper tiny.en): MCD-DTW only")
        by_language[language] = part
    speaker = None if speaker_judge is None else speaker_judge.summary(
        embeddings, [i.voice for i in items], [i.group for i in items])
    return {**_summary(scores), "mcd_backend": backend, "by_language": by_language,
            "speaker": speaker, "items": [asdict(s) for s in scores]}
