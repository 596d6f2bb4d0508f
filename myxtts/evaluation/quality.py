"""Non-intrusive naturalness: DNSMOS P.835 (Reddy et al., 2022) through the offline
``speechmos`` package (extra ``[quality]``; its ONNX models ship in the wheel).

DNSMOS scores 16 kHz speech on a 1-5 scale without a reference: ``ovrl`` (overall, the
figure the vocoder benchmark compares), ``sig`` (speech signal) and ``bak`` (background).
It needs no same-timing reference, so it scores TTS output as well as copy-synthesis.
"""

from __future__ import annotations

import numpy as np

from myxtts.extras import require

DNSMOS_RATE = 16000


def dnsmos(wav: np.ndarray, sample_rate: int) -> dict[str, float]:
    """``{"ovrl", "sig", "bak"}`` DNSMOS P.835 scores of one waveform."""
    import librosa

    module = require("speechmos.dnsmos", "quality", "DNSMOS naturalness scores")
    require("onnxruntime", "quality", "DNSMOS naturalness scores")
    wav = np.asarray(wav, np.float32)
    if wav.ndim != 1 or wav.size < sample_rate // 10:
        raise ValueError("DNSMOS needs a mono waveform of at least 0.1 s")
    if sample_rate != DNSMOS_RATE:
        wav = librosa.resample(wav, orig_sr=sample_rate, target_sr=DNSMOS_RATE)
    peak = float(np.max(np.abs(wav)))
    if peak > 1.0:
        wav = wav / peak
    scores = module.run(wav, DNSMOS_RATE)
    return {"ovrl": float(scores["ovrl_mos"]), "sig": float(scores["sig_mos"]),
            "bak": float(scores["bak_mos"])}
