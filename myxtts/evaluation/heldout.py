"""Free-running evaluation on held-out sentences: synthesise, then score against ground truth.

Scores are MCD-DTW against a ground-truth recording of the same sentence, when the
optional offline recogniser is installed the character error rate of its transcript, and,
with a :class:`~myxtts.evaluation.speaker.SpeakerJudge` (extra ``[speaker]``), the speaker
similarity to the item's voice and speaker-identification accuracy among all voices, per
group of items (e.g. ``training`` and ``unseen`` voices).
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


def evaluate(synthesizer, items: list[HeldOutItem], recognizer=None,
             save_dir: str | Path | None = None, speaker_judge=None) -> dict:
    """Score ``synthesizer`` on ``items``; returns per-item scores and their summary."""
    scores: list[ItemScore] = []
    embeddings = []
    for item in items:
        wav = synthesizer.synthesize(item.text, reference_audio=item.reference_wav)
        rate = synthesizer.config.audio.sample_rate
        if save_dir is not None:
            Path(save_dir).mkdir(parents=True, exist_ok=True)
            sf.write(Path(save_dir) / f"{item.id}.wav", wav, rate)
        mcd, backend = mcd_dtw_with_backend(item.ground_truth, wav, rate)
        transcript = cer = None
        if recognizer is not None:
            transcript = recognizer.transcribe(wav, rate)
            from myxtts.evaluation.text_metrics import cer as char_error_rate
            cer = char_error_rate(item.text, transcript)
        score = ItemScore(item.id, item.text, float(mcd), cer, transcript, len(wav) / rate,
                          item.voice)
        if speaker_judge is not None:
            embeddings.append(speaker_judge.embed(wav, rate))
            score.speaker_similarity, score.identified_as = speaker_judge.judge(
                embeddings[-1], item.voice)
        scores.append(score)
    cers = [s.cer for s in scores if s.cer is not None]
    mcds = [s.mcd for s in scores]
    return {
        "n": len(scores),
        "mcd_mean": float(np.mean(mcds)),
        "mcd_median": float(statistics.median(mcds)),
        "cer_mean": float(np.mean(cers)) if cers else None,
        "cer_median": float(statistics.median(cers)) if cers else None,
        "mcd_backend": backend if scores else None,
        "speaker": None if speaker_judge is None else speaker_judge.summary(
            embeddings, [i.voice for i in items], [i.group for i in items]),
        "items": [asdict(s) for s in scores],
    }
