"""Pitch and voicing of synthesised speech against its recording (pYIN, librosa).

A vocoder can keep the spectral envelope (low MCD) and still lose the voice's pitch: its
output turns breathy or whispered where the recording is voiced. The measures here say how
much of the recording's pitch survives, frame for frame, when both waveforms share their
timing (copy-synthesis):

* ``voiced_recall``: of the frames voiced in the recording, the fraction voiced in the
  output (1 is best);
* ``vde``: voicing decision error, the fraction of frames whose voiced/unvoiced decision
  differs (0 is best);
* ``f0_cents``: root-mean-square F0 difference in cents over the frames voiced in both
  (0 is best; ``None`` when there are none);
* ``voiced_fraction`` / ``reference_voiced_fraction``: fraction of voiced frames in each.

For waveforms with different timing (TTS output against another recording of the voice),
:func:`pitch_summary` gives a waveform's voiced fraction and median F0 alone.
"""

from __future__ import annotations

import numpy as np

# pYIN search range: from below the lowest adult male voices to above children's.
FMIN_HZ = 50.0
FMAX_HZ = 600.0
FRAME_LENGTH = 1024
HOP_LENGTH = 256


def pitch_track(wav: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """F0 in Hz (NaN where unvoiced) and the voiced flags, one per 256-sample hop."""
    import librosa

    wav = np.asarray(wav, np.float32)
    if wav.ndim != 1:
        raise ValueError(f"pitch tracking needs a mono waveform, got shape {wav.shape}")
    if wav.size < FRAME_LENGTH:
        raise ValueError(f"pitch tracking needs at least {FRAME_LENGTH} samples, "
                         f"got {wav.size}")
    f0, voiced, _ = librosa.pyin(wav, fmin=FMIN_HZ, fmax=FMAX_HZ, sr=sample_rate,
                                 frame_length=FRAME_LENGTH, hop_length=HOP_LENGTH)
    return np.asarray(f0, np.float64), np.asarray(voiced, bool)


def pitch_summary(wav: np.ndarray, sample_rate: int) -> dict[str, float | None]:
    """``voiced_fraction`` and ``f0_median_hz`` (None when no frame is voiced)."""
    f0, voiced = pitch_track(wav, sample_rate)
    return {"voiced_fraction": float(voiced.mean()),
            "f0_median_hz": float(np.median(f0[voiced])) if voiced.any() else None}


def pitch_agreement(reference: np.ndarray, output: np.ndarray,
                    sample_rate: int) -> dict[str, float | None]:
    """Frame-by-frame pitch agreement of ``output`` with ``reference`` (same timing: the
    longer one is cut to the shorter). Keys in the module docstring."""
    ref_f0, ref_v = pitch_track(reference, sample_rate)
    out_f0, out_v = pitch_track(output, sample_rate)
    n = min(ref_v.size, out_v.size)
    ref_f0, ref_v, out_f0, out_v = ref_f0[:n], ref_v[:n], out_f0[:n], out_v[:n]
    both = ref_v & out_v
    cents = (1200.0 * np.log2(out_f0[both] / ref_f0[both])) if both.any() else None
    return {
        "voiced_recall": float(both.sum() / ref_v.sum()) if ref_v.any() else None,
        "vde": float(np.mean(ref_v != out_v)),
        "f0_cents": float(np.sqrt(np.mean(cents ** 2))) if cents is not None else None,
        "voiced_fraction": float(out_v.mean()),
        "reference_voiced_fraction": float(ref_v.mean()),
    }
