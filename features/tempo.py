"""librosa's global tempo (librosa.feature.tempo with aggregate=np.mean) from an onset envelope, in numpy.

`tempo` is the reference the extractor's fast path (`features.kernels.tempo`, one sliding DFT) is held
to; `tempo_frames` and `tempo_from_tempogram` are the steps the two share: the tempogram's padded
envelope and per-frame weights, and the BPM read from the frame-averaged tempogram under the
log-normal prior. The onset envelope itself is `features.frame.onset_strength`.
"""

from __future__ import annotations

import numpy as np
import scipy.fft

from features.frame import hann_window


def tempo_frequencies(n_bins: int, *, sr: int, hop_length: int) -> np.ndarray:
    """BPM of each autocorrelation lag (lag 0 is inf), shape (n_bins,)."""
    bpm = np.empty(n_bins)
    bpm[0] = np.inf
    bpm[1:] = 60.0 * sr / (hop_length * np.arange(1.0, n_bins))
    return bpm


def tempo(
    *,
    onset_envelope: np.ndarray,
    sr: int,
    hop_length: int = 512,
    start_bpm: float = 120.0,
    std_bpm: float = 1.0,
    ac_size: float = 8.0,
    max_tempo: float | None = 320.0,
    interpolate: bool = True,
) -> float:
    """Global tempo in BPM (librosa.feature.tempo(onset_envelope=...) with aggregate=np.mean, refined).

    onset_envelope: shape (n_frames,). The autocorrelation tempogram over ac_size-second windows,
    each normalised to a maximum of 1, is averaged over frames and weighted by a log-normal prior
    centred on start_bpm; all windows are transformed at once. librosa reports the BPM of the best
    integer lag, a coarse grid (at 22,050 Hz and hop 512 the lags next to 120 BPM are 117.5 and
    123.0 BPM); with `interpolate` the peak of the averaged tempogram is refined by a parabola
    through the best lag and its neighbours (at most half a lag either way). A flat envelope
    (silence) gives the lag nearest start_bpm under the prior.
    """
    padded, win, weight = tempo_frames(onset_envelope, sr=sr, hop_length=hop_length, ac_size=ac_size)
    n = len(weight)
    frames = np.lib.stride_tricks.sliding_window_view(padded.astype(np.float32), win)[:n]  # (n, win)
    window = hann_window(win)
    n_pad = scipy.fft.next_fast_len(2 * win - 1, real=True)
    # The mean over frames of the normalised autocorrelations is the inverse transform of the same
    # weighted mean of the power spectra: one inverse FFT instead of n. float32 halves the cost of the
    # transforms and leaves the argmax over lags unaffected in practice; the spectra are squared in
    # place (no new arrays). (`features.kernels.tempo` slides one DFT instead: 3-4x faster.)
    weight = weight.astype(np.float32)
    acc = np.zeros(2 * (n_pad // 2 + 1))
    for a in range(0, n, 256):  # blocks of frames: the spectra stay in cache and their memory is reused
        spec = scipy.fft.rfft(frames[a : a + 256] * window, n=n_pad, axis=-1, overwrite_x=True, workers=1)
        v = np.square(spec.view(np.float32), out=spec.view(np.float32))  # re**2, im**2 interleaved
        acc += weight[a : a + 256] @ v
    tg = scipy.fft.irfft(acc.reshape(-1, 2).sum(axis=1), n=n_pad)[:win]
    return tempo_from_tempogram(tg, sr=sr, hop_length=hop_length, start_bpm=start_bpm, std_bpm=std_bpm,
                                max_tempo=max_tempo, interpolate=interpolate)


def tempo_frames(onset_envelope: np.ndarray, *, sr: int, hop_length: int = 512,
                 ac_size: float = 8.0) -> tuple[np.ndarray, int, np.ndarray]:
    """The tempogram's inputs: (padded envelope (float64), window length win, weight per frame).

    librosa's autocorrelation tempogram takes frame t as padded[t : t + win] (the envelope padded by
    win // 2 linear-ramp samples each side), Hann-windowed, and normalises its autocorrelation to a
    maximum of 1. An autocorrelation peaks at lag 0 (the frame's energy), a sliding dot product of
    the squared envelope and the squared window, so the mean over frames of the normalised
    autocorrelations is the sum of the autocorrelations weighted by 1 / (n_frames * energy).
    A frame of zero energy gets weight 1 / n_frames (its autocorrelation is 0 anyway).
    """
    env = np.asarray(onset_envelope, dtype=np.float32)
    n = env.shape[-1]
    win = int(int(ac_size * sr) // hop_length)
    padded = np.pad(env, (win // 2, win // 2), mode="linear_ramp", end_values=(0, 0)).astype(np.float64)
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(win) / win)  # periodic Hann, float64 as librosa's
    energy = np.correlate(padded * padded, window * window, mode="valid")[:n]
    energy[energy < np.finfo(np.float32).tiny] = 1.0
    return padded, win, 1.0 / (n * energy)


def tempo_from_tempogram(tg, *, sr, hop_length, start_bpm=120.0, std_bpm=1.0, max_tempo=320.0,
                         interpolate=True) -> float:
    """The BPM `tempo` reports from the frame-averaged, normalised autocorrelation tg (lags 0 .. win - 1)."""
    bpms = tempo_frequencies(len(tg), sr=sr, hop_length=hop_length)
    with np.errstate(divide="ignore"):
        logprior = -0.5 * ((np.log2(bpms) - np.log2(start_bpm)) / std_bpm) ** 2
    if max_tempo is not None:
        logprior[: int(np.argmax(bpms < max_tempo))] = -np.inf
    k = int(np.argmax(np.log1p(1e6 * tg) + logprior))
    if interpolate and 1 <= k - 1 and k + 1 < len(tg):
        a, b, c = tg[k - 1], tg[k], tg[k + 1]
        curvature = a - 2.0 * b + c
        if b >= a and b >= c and curvature < 0:
            shift = float(np.clip(0.5 * (a - c) / curvature, -0.5, 0.5))
            return 60.0 * sr / (hop_length * (k + shift))
    return float(bpms[k])


def prior_tempo(*, sr: int, hop_length: int = 512, start_bpm: float = 120.0, ac_size: float = 8.0,
                max_tempo: float | None = 320.0) -> float:
    """The tempo `tempo` reports for a flat onset envelope (silence): the lag nearest start_bpm."""
    win = int(int(ac_size * sr) // hop_length)
    return tempo_from_tempogram(np.zeros(win), sr=sr, hop_length=hop_length, start_bpm=start_bpm, std_bpm=1.0,
                                max_tempo=max_tempo, interpolate=False)
