"""Free-running evaluation on held-out sentences: synthesise, then score against ground truth.

Scores are MCD-DTW against a ground-truth recording of the same sentence and, when the
optional offline recogniser is installed, the character error rate of its transcript.
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


@dataclass
class ItemScore:
    id: str
    text: str
    mcd: float
    cer: float | None
    transcript: str | None
    seconds: float


def espeak_ground_truth(text: str, voice: str, sample_rate: int, speed: int = 165) -> np.ndarray:
    """Speak ``text`` with espeak-ng (the voice the demo data uses) as float32 audio."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise RuntimeError("espeak-ng not found: apt-get install espeak-ng")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "gt.wav"
        subprocess.run([espeak, "-b", "1", "-v", voice, "-s", str(speed), "-w", str(path)],
                       input=text.encode("utf-8"), check=True, capture_output=True)
        wav, rate = sf.read(path, dtype="float32")
    if rate != sample_rate:
        import librosa
        wav = librosa.resample(wav, orig_sr=rate, target_sr=sample_rate)
    return wav.astype(np.float32)


def evaluate(synthesizer, items: list[HeldOutItem], recognizer=None,
             save_dir: str | Path | None = None) -> dict:
    """Score ``synthesizer`` on ``items``; returns per-item scores and their summary."""
    scores: list[ItemScore] = []
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
        scores.append(ItemScore(item.id, item.text, float(mcd), cer, transcript,
                                len(wav) / rate))
    cers = [s.cer for s in scores if s.cer is not None]
    mcds = [s.mcd for s in scores]
    return {
        "n": len(scores),
        "mcd_mean": float(np.mean(mcds)),
        "mcd_median": float(statistics.median(mcds)),
        "cer_mean": float(np.mean(cers)) if cers else None,
        "cer_median": float(statistics.median(cers)) if cers else None,
        "mcd_backend": backend if scores else None,
        "items": [asdict(s) for s in scores],
    }
