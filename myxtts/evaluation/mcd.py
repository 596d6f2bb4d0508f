"""Mel-cepstral distortion (MCD, dB) between a reference and a synthesised waveform, DTW-aligned.

Two backends give the same kind of number:

* ``"pymcd"``: the optional PyPI package ``pymcd`` (mode ``"dtw"``; needs pyworld, pysptk,
  fastdtw). It reads files, so the arrays are written to temporary float WAVs first.
* ``"builtin"``: our own numpy/librosa computation, no extra packages. It follows the same
  recipe so the numbers agree closely. Measured on espeak-ng sentences (pymcd / builtin, dB):
  identical 0 / 0; +20 dB white noise 2.49 / 2.47; Griffin-Lim 6.39 / 6.37; en-gb voice
  5.39 / 5.40; en-us+f3 (female) voice 9.13 / 9.06 and 8.85 / 8.59; white noise 24.53 / 24.54.
  The recipe:

  1. resample to 22.05 kHz; frames every 5 ms;
  2. a CheapTrick-style spectral envelope (Morise 2015) with the 500 Hz default pitch the
     reference falls back to for F0 below its 130 Hz floor: 3-period Hann window, DC
     removal, folding below F0, 2/3-F0 boxcar smoothing, cepstral liftering (q1 = -0.15).
     Pitch-adaptive windows (voiced F0 > 130 Hz) are not modelled, the main source of the
     remaining difference (high voices);
  3. order-13 mel-cepstrum (all-pass alpha 0.65) of the envelope, computed by frequency
     warping of the log spectrum, with the log-periodogram floored at 1e-8;
  4. FastDTW (Salvador & Chan 2007, radius 1) on coefficients 1..13, ties broken
     vertical > horizontal > diagonal;
  5. MCD = 10/ln(10) * sqrt(2) * mean over path pairs of ||c_ref - c_syn|| (c0 included).

``"auto"`` uses pymcd when it imports, else builtin. :func:`mcd_dtw_with_backend` tells which.
"""

from __future__ import annotations

import math
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np

Backend = Literal["auto", "pymcd", "builtin"]

ANALYSIS_RATE = 22050
FRAME_PERIOD_MS = 5.0
FFT_SIZE = 512
ORDER = 13
ALPHA = 0.65
DEFAULT_F0 = 500.0
LIFTER_Q1 = -0.15
LOG_PERIODOGRAM_FLOOR = 1e-8
DB_SCALE = 10.0 / math.log(10.0) * math.sqrt(2.0)

PYMCD_INSTALL_HINT = "pip install pymcd  (pulls pyworld, pysptk, fastdtw)"


def pymcd_available() -> bool:
    """True when the optional ``pymcd`` package (and its native deps) import."""
    try:
        from pymcd.mcd import Calculate_MCD  # noqa: F401
    except (ImportError, OSError):
        return False
    return True


def mcd_dtw(
    ref_wav: np.ndarray, syn_wav: np.ndarray, sample_rate: int, backend: Backend = "auto"
) -> float:
    """DTW-aligned mel-cepstral distortion in dB (0 for identical audio)."""
    return mcd_dtw_with_backend(ref_wav, syn_wav, sample_rate, backend)[0]


def mcd_dtw_with_backend(
    ref_wav: np.ndarray, syn_wav: np.ndarray, sample_rate: int, backend: Backend = "auto"
) -> tuple[float, str]:
    """Like :func:`mcd_dtw` but also returns the backend that produced it ("pymcd"/"builtin")."""
    ref = _check_wav(ref_wav, "ref_wav")
    syn = _check_wav(syn_wav, "syn_wav")
    if not isinstance(sample_rate, (int, np.integer)) or sample_rate <= 0:
        raise ValueError(f"sample_rate: expected a positive integer, got {sample_rate!r}")
    if backend not in ("auto", "pymcd", "builtin"):
        raise ValueError(f"backend: expected 'auto', 'pymcd' or 'builtin', got {backend!r}")
    if backend == "pymcd" and not pymcd_available():
        raise ImportError(f"backend='pymcd' needs the optional package: {PYMCD_INSTALL_HINT}")
    if backend == "pymcd" or (backend == "auto" and pymcd_available()):
        return _mcd_pymcd(ref, syn, int(sample_rate)), "pymcd"
    return _mcd_builtin(ref, syn, int(sample_rate)), "builtin"


def mel_cepstrum(wav: np.ndarray, sample_rate: int) -> np.ndarray:
    """Builtin ``[frames, ORDER + 1]`` mel-cepstra (5 ms frames) used by the builtin MCD."""
    wav = _check_wav(wav, "wav").astype(np.float64)
    if sample_rate != ANALYSIS_RATE:
        import librosa

        wav = librosa.resample(wav, orig_sr=sample_rate, target_sr=ANALYSIS_RATE)
    envelope = _spectral_envelope(wav)
    log_amp = 0.5 * np.log(envelope ** 2 + LOG_PERIODOGRAM_FLOOR)
    return log_amp @ _warp_matrix(FFT_SIZE, ALPHA, ORDER).T


# ----------------------------------------------------------------------------- backends


def _check_wav(wav: np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(wav)
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D mono waveform, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name}: empty waveform")
    if not np.issubdtype(arr.dtype, np.number) or not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: waveform must be finite numbers")
    return arr.astype(np.float32)


def _mcd_pymcd(ref: np.ndarray, syn: np.ndarray, sample_rate: int) -> float:
    import soundfile as sf
    from pymcd.mcd import Calculate_MCD

    with tempfile.TemporaryDirectory(prefix="myxtts_mcd_") as tmp:
        ref_path, syn_path = Path(tmp) / "ref.wav", Path(tmp) / "syn.wav"
        sf.write(ref_path, ref, sample_rate, subtype="FLOAT")
        sf.write(syn_path, syn, sample_rate, subtype="FLOAT")
        return float(Calculate_MCD(MCD_mode="dtw").calculate_mcd(str(ref_path), str(syn_path)))


def _mcd_builtin(ref: np.ndarray, syn: np.ndarray, sample_rate: int) -> float:
    ref_mc = mel_cepstrum(ref, sample_rate)
    syn_mc = mel_cepstrum(syn, sample_rate)
    path = fast_dtw_path(ref_mc[:, 1:], syn_mc[:, 1:], radius=1)
    diff = ref_mc[path[:, 0]] - syn_mc[path[:, 1]]
    return float(DB_SCALE * np.sqrt((diff * diff).sum(axis=1)).mean())


# ----------------------------------------------------------------------------- features


def _spectral_envelope(wav: np.ndarray, f0: float = DEFAULT_F0) -> np.ndarray:
    """CheapTrick-style power envelope at a fixed F0, shape ``[frames, FFT_SIZE // 2 + 1]``."""
    fs, n_fft = ANALYSIS_RATE, FFT_SIZE
    n_frames = int(len(wav) / fs * 1000.0 / FRAME_PERIOD_MS) + 1
    centers = np.round(np.arange(n_frames) * FRAME_PERIOD_MS / 1000.0 * fs).astype(np.int64)
    half = int(round(1.5 * fs / f0))
    offsets = np.arange(-half, half + 1)
    window = 0.5 * np.cos(np.pi * offsets * f0 / (1.5 * fs)) + 0.5
    window /= np.sqrt(np.sum(window ** 2))
    index = np.clip(centers[:, None] + offsets[None, :], 0, len(wav) - 1)
    frames = wav[index] * window
    frames -= window * (frames.sum(axis=1, keepdims=True) / window.sum())
    power = np.abs(np.fft.rfft(frames, n_fft, axis=1)) ** 2

    bin_hz = fs / n_fft
    n_bins = n_fft // 2 + 1
    # Fold the energy below F0 back (the window cannot resolve it).
    low = np.arange(int(f0 / bin_hz) + 1)
    power[:, low] += _interp_columns(power, (f0 - low * bin_hz) / bin_hz)
    # Boxcar smoothing of width 2/3 F0 via the running integral (mirrored edges).
    width = f0 * 2.0 / 3.0
    pad = int(np.ceil(width / bin_hz)) + 2
    ext = np.concatenate([power[:, pad:0:-1], power, power[:, -2:-pad - 2:-1]], axis=1)
    integral = np.concatenate([np.zeros((len(ext), 1)), np.cumsum(ext, axis=1) * bin_hz], axis=1)
    centre_pos = np.arange(n_bins) + pad + 0.5  # bin centres in integral-edge units
    upper = _interp_columns(integral, centre_pos + width / 2 / bin_hz)
    lower = _interp_columns(integral, centre_pos - width / 2 / bin_hz)
    smooth = np.maximum((upper - lower) / width, 1e-300)
    # Cepstral liftering: smoothing over F0 plus spectral recovery.
    cep = np.fft.irfft(np.log(smooth), n_fft, axis=1)
    quef = np.minimum(np.arange(n_fft), n_fft - np.arange(n_fft)) / fs
    lifter = np.ones(n_fft)
    lifter[1:] = np.sinc(f0 * quef[1:])
    lifter *= (1.0 - 2.0 * LIFTER_Q1) + 2.0 * LIFTER_Q1 * np.cos(2.0 * np.pi * quef * f0)
    return np.exp(np.fft.rfft(cep * lifter, axis=1).real)


def _interp_columns(values: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Linear interpolation of every row of ``values`` at fractional column ``positions``."""
    positions = np.clip(positions, 0, values.shape[1] - 1)
    left = np.minimum(np.floor(positions).astype(np.int64), values.shape[1] - 2)
    frac = positions - left
    return values[:, left] * (1.0 - frac) + values[:, left + 1] * frac


@lru_cache(maxsize=8)
def _warp_matrix(n_fft: int, alpha: float, order: int, grid: int = 4096) -> np.ndarray:
    """Linear map from a log-amplitude spectrum (n_fft//2+1 bins) to its mel-cepstrum.

    The log spectrum is expanded exactly as a cosine series (its real cepstrum), evaluated
    on a uniform grid of all-pass-warped frequencies, and projected onto cos(m * w~).
    """
    n_bins = n_fft // 2 + 1
    k = np.arange(n_bins)
    fold = np.where((k == 0) | (k == n_fft // 2), 1.0, 2.0)
    warped = np.pi * (np.arange(grid) + 0.5) / grid
    # Linear frequency whose warped value is `warped` (all-pass with -alpha inverts the map).
    linear = warped + 2.0 * np.arctan(-alpha * np.sin(warped) / (1.0 + alpha * np.cos(warped)))
    to_cepstrum = fold[None, :] * np.cos(2.0 * np.pi * np.outer(k, k) / n_fft) / n_fft
    evaluate = fold[None, :] * np.cos(np.outer(linear, k))
    project = np.cos(np.outer(np.arange(order + 1), warped)) / grid
    matrix = project @ evaluate @ to_cepstrum
    matrix[1:] *= 2.0  # one-sided convention: log|H| = c0 + sum_m c_m cos(m w~)
    return matrix


# ----------------------------------------------------------------------------- alignment


def fast_dtw_path(x: np.ndarray, y: np.ndarray, radius: int = 1) -> np.ndarray:
    """FastDTW warping path ``[steps, 2]`` (Euclidean frame cost) between ``x`` and ``y``.

    Coarsens both sequences by averaging frame pairs, aligns recursively, and refines
    inside the projected path widened by ``radius`` cells.
    """
    if radius < 1:
        raise ValueError(f"radius: expected >= 1, got {radius}")
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    if len(x) < radius + 2 or len(y) < radius + 2:
        return _windowed_dtw(x, y, np.zeros(len(x), np.int64), np.full(len(x), len(y) - 1))
    coarse = fast_dtw_path(_halve(x), _halve(y), radius)
    lo, hi = _project_window(coarse, len(x), len(y), radius)
    return _windowed_dtw(x, y, lo, hi)


def _halve(seq: np.ndarray) -> np.ndarray:
    even = len(seq) - len(seq) % 2
    return (seq[0:even:2] + seq[1:even:2]) / 2.0


def _project_window(
    coarse: np.ndarray, n_x: int, n_y: int, radius: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per-row inclusive column bounds of the refined search window."""
    n_coarse = n_x // 2 + radius + 1
    c_lo = np.full(n_coarse, np.iinfo(np.int64).max)
    c_hi = np.full(n_coarse, -1)
    for shift in range(-radius, radius + 1):
        rows = coarse[:, 0] + shift
        keep = (rows >= 0) & (rows < n_coarse)
        np.minimum.at(c_lo, rows[keep], coarse[keep, 1] - radius)
        np.maximum.at(c_hi, rows[keep], coarse[keep, 1] + radius)
    rows = np.arange(n_x) // 2
    lo = np.clip(2 * c_lo[rows], 0, n_y - 1)
    hi = np.clip(2 * c_hi[rows] + 1, 0, n_y - 1)
    return lo, hi


def _windowed_dtw(x: np.ndarray, y: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """DTW restricted to columns ``lo[i]..hi[i]`` of each row; returns the optimal path."""
    n_x = len(x)
    acc: list[np.ndarray] = []
    prev = np.array([0.0])  # virtual cell before (0, 0)
    prev_lo, prev_hi = -1, -1
    for i in range(n_x):
        cols = np.arange(lo[i], hi[i] + 1)
        cost = np.sqrt(((y[cols] - x[i]) ** 2).sum(axis=1))
        up = _row_lookup(prev, prev_lo, prev_hi, cols)
        diag = _row_lookup(prev, prev_lo, prev_hi, cols - 1)
        if i == 0:
            up = np.full(len(cols), np.inf)
            diag = np.where(cols == 0, 0.0, np.inf)
        row = cost + np.minimum(up, diag)
        # Horizontal moves D[j] = min(D[j], D[j-1] + cost[j]), relaxed to the fixed point
        # (same arithmetic as a left-to-right scan, so exact ties survive for the backtrack).
        while True:
            relaxed = np.minimum(row[1:], row[:-1] + cost[1:])
            if np.array_equal(relaxed, row[1:]):
                break
            row[1:] = relaxed
        acc.append(row)
        prev, prev_lo, prev_hi = row, int(lo[i]), int(hi[i])

    path = [(n_x - 1, len(y) - 1)]
    i, j = path[0]
    while i > 0 or j > 0:
        candidates = (  # order breaks ties: vertical, horizontal, diagonal
            (_cell(acc, lo, hi, i - 1, j), i - 1, j),
            (_cell(acc, lo, hi, i, j - 1), i, j - 1),
            (_cell(acc, lo, hi, i - 1, j - 1), i - 1, j - 1),
        )
        _, i, j = min(candidates, key=lambda c: c[0])
        path.append((i, j))
    return np.array(path[::-1], dtype=np.int64)


def _row_lookup(row: np.ndarray, row_lo: int, row_hi: int, cols: np.ndarray) -> np.ndarray:
    inside = (cols >= row_lo) & (cols <= row_hi)
    out = np.full(len(cols), np.inf)
    out[inside] = row[cols[inside] - row_lo]
    return out


def _cell(acc: list[np.ndarray], lo: np.ndarray, hi: np.ndarray, i: int, j: int) -> float:
    if i < 0 or j < 0 or j < lo[i] or j > hi[i]:
        return math.inf
    return float(acc[i][j - lo[i]])
