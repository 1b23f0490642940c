"""Fused numba kernels of the frame-level features, for `features.extract`.

- `spectral_frames`: per frame of a block of magnitude spectra, librosa's centroid, bandwidth (p=2
  about the centroid), roll-off and flatness (of the power spectrum raised to amin), and the power
  spectrum itself for the mel and chroma products: one pass over the frame's 1 + n_fft // 2 bins
  (while they are in L1 cache) instead of one numpy pass over the whole block per feature.
- `rms_zcr`: RMS energy and zero-crossing rate per frame from one pass over the samples.
- `moments`: mean, variance, skewness and kurtosis of the samples in two passes.
- `tempo`: librosa's mean-tempogram tempo from one sliding DFT of the onset envelope instead of
  an FFT per frame.

Every sum is float64. The values equal those of the numpy functions of `features.frame` (which
reproduce librosa's) up to float round-off: tests/features/test_kernels.py holds them to it.

The kernels compile on first use (about 1-2 s for all of them) into numba's on-disk cache
(``cache=True``: NUMBA_CACHE_DIR in workers, see `features.parallel`); later processes load them
in a fraction of that. `features.extract.warm_up` runs them once before workers fork, and the
benchmarks warm up before their clocks start, so no clip pays for the compilation.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import scipy.fft

from features import frame
from features import tempo as tempo_np

#: Bins per chunk of the fused pass: the roll-off is located chunk by chunk, and the flatness's
#: geometric mean multiplies the chunk's powers into GROUP products of CHUNK // GROUP bins each (in
#: a tree that vectorises), then those into a running product whose logarithm is taken only when
#: it nears float64's limits: a few logarithms per frame instead of one per bin.
CHUNK = 64
GROUP = 4
HUGE = 1e300  # a product above this (or inf) is redone bin by bin
_FLAGS = {"nsz", "arcp", "contract", "reassoc"}  # no nnan/ninf: silent frames rely on exact tests


@numba.njit(cache=True, nogil=True, fastmath=_FLAGS)
def _spectral_frames(St, roll_percent, amin, scale, tiny, centroid, bandwidth, rolloff, flatness,
                     power):  # pragma: no cover - compiled
    m, n = St.shape
    n_chunks = n // CHUNK
    sums = np.empty(n_chunks + 1)
    buf = np.empty(CHUNK)
    # The powers are scaled by a power of two (exactly) that maps amin to about 1e-7, so that a
    # group product of 16 of them lies in [1e-112, 1e150] for powers up to ~2e6 (|X| up to ~1500):
    # the running product stays within [1e-262, 1e300] between its logarithms.
    lo_p = amin * scale
    for t in range(m):
        x = St[t]
        p_out = power[t]
        total = 0.0
        first = 0.0
        psum = 0.0
        logsum = 0.0
        acc = 1.0  # running product of the group products (each >= (amin * scale) ** 16 ~ 1e-112)
        for c in range(n_chunks + 1):
            c0 = c * CHUNK
            w = min(CHUNK, n - c0)
            sa = 0.0
            sb = 0.0
            ps = 0.0
            if w == CHUNK:
                for j in range(CHUNK):
                    v = np.float64(x[c0 + j])
                    sa += v
                    sb += (c0 + j) * v
                    p32 = x[c0 + j] * x[c0 + j]
                    p_out[c0 + j] = p32
                    p = max(np.float64(p32) * scale, lo_p)
                    ps += p
                    buf[j] = p
                h = CHUNK // 2
                while h >= GROUP:
                    for j in range(h):
                        buf[j] *= buf[j + h]
                    h //= 2
                for j in range(GROUP):
                    g = buf[j]
                    if g < 1e150:  # into the running product; its logarithm once it leaves [1e-150, 1e150]
                        acc *= g
                        if acc > 1e150 or acc < 1e-150:
                            logsum += math.log(acc)
                            acc = 1.0
                    elif g < HUGE:
                        logsum += math.log(g)
                    else:  # very loud bins: one logarithm per bin of this group
                        for k in range(c0 + j, c0 + CHUNK, GROUP):
                            logsum += math.log(max(np.float64(x[k] * x[k]) * scale, lo_p))
            else:
                for k in range(c0, n):
                    v = np.float64(x[k])
                    sa += v
                    sb += k * v
                    p32 = x[k] * x[k]
                    p_out[k] = p32
                    p = max(np.float64(p32) * scale, lo_p)
                    ps += p
                    logsum += math.log(p)
            sums[c] = sa
            total += sa
            first += sb
            psum += ps
        logsum += math.log(acc)
        # exp(mean(log)) / mean of the scaled powers: the scale cancels.
        flatness[t] = math.exp(logsum / n) / (psum / n)
        if total >= tiny:
            cb = first / total  # centroid in bins
            var = 0.0
            for k in range(n):
                d = k - cb
                var += np.float64(x[k]) * d * d
            centroid[t] = cb
            bandwidth[t] = math.sqrt(max(var / total, 0.0))
        else:
            centroid[t] = 0.0
            bandwidth[t] = 0.0
        # Roll-off: the first bin where the running sum reaches roll_percent of the total.
        threshold = roll_percent * total
        cum = 0.0
        found = n - 1
        for c in range(n_chunks + 1):
            if cum + sums[c] >= threshold:
                run = cum
                hit = -1
                for k in range(c * CHUNK, min(c * CHUNK + CHUNK, n)):
                    run += np.float64(x[k])
                    if run >= threshold:
                        hit = k
                        break
                if hit >= 0:
                    found = hit
                    break
            cum += sums[c]
        rolloff[t] = found


def spectral_frames(
    S: np.ndarray, *, roll_percent: float = 0.85, amin: float = 1e-10, out: dict | None = None
) -> dict[str, np.ndarray]:
    """Centroid and bandwidth (in bins), roll-off bin, flatness and power spectrum per frame, in one pass.

    S: magnitude spectrogram, shape (n_bins, n_frames), float32 (the transpose of a C-contiguous
    array, as `features.frame.stft_blocks` yields, is read without a copy). Returns 'centroid' and
    'bandwidth' (float64, in bins: times sr / n_fft for Hz), 'rolloff' (int64 bin index), 'flatness'
    (float32) of shape (n_frames,), and 'power' (S * S, float32, shape (n_bins, n_frames), the
    transpose of a C-contiguous array): librosa's spectral_centroid, spectral_bandwidth (p=2, about
    the centroid), spectral_rolloff (the first bin whose cumulative magnitude reaches roll_percent of
    the frame's total) and spectral_flatness (of the power spectrum raised to amin). An all-zero frame
    gives centroid, bandwidth and roll-off 0 and flatness 1, as librosa. `out`: arrays of those names
    and shapes to fill instead of new ones (strided slices of larger arrays are fine).
    """
    St = np.ascontiguousarray(np.asarray(S, dtype=np.float32).T)
    m, n = St.shape
    if out is None:
        out = {"centroid": np.empty(m), "bandwidth": np.empty(m), "rolloff": np.empty(m, dtype=np.int64),
               "flatness": np.empty(m, dtype=np.float32), "power": np.empty((n, m), dtype=np.float32, order="F")}
    if m:
        scale = 2.0 ** round(-np.log2(amin) - np.log2(1e7))  # amin * scale ~ 1e-7
        _spectral_frames(St, float(roll_percent), float(amin), scale, float(np.finfo(np.float32).tiny),
                         out["centroid"], out["bandwidth"], out["rolloff"], out["flatness"], out["power"].T)
    return out


@numba.njit(cache=True, nogil=True, fastmath=_FLAGS)
def _block_sums(y, hop, pad, threshold, n_blocks, energy, crossings):  # pragma: no cover - compiled
    n = y.shape[0]
    for b in range(n_blocks):
        i0 = min(max(b * hop - pad, 0), n)
        i1 = max(min((b + 1) * hop - pad, n), i0)
        x = y[i0:i1]  # a slice: its loops index from 0, which lets them vectorise
        s = 0.0
        for i in range(x.shape[0]):
            v = np.float64(x[i])
            s += v * v
        energy[b] = s
        # Pairs (i, i + 1) of the signal for i in [i0, i1); the edge padding adds no crossing.
        x = y[i0 : min(i1 + 1, n)]
        z = 0
        for i in range(x.shape[0] - 1):
            z += (x[i] < -threshold) != (x[i + 1] < -threshold)
        crossings[b] = z


@numba.njit(cache=True, nogil=True)
def _frames_from_blocks(y, per, hop, pad, frame_length, threshold, energy, crossings, rms, zcr):  # pragma: no cover
    n = y.shape[0]
    for t in range(rms.shape[0]):
        s = 0.0
        z = 0
        for b in range(t, t + per):
            s += energy[b]
            z += crossings[b]
        i = t * hop + frame_length - 1 - pad  # the frame's pair past its end: in the last block, not the frame
        if 0 <= i < n - 1:
            z -= (y[i] < -threshold) != (y[i + 1] < -threshold)
        rms[t] = math.sqrt(s / frame_length)
        zcr[t] = z / frame_length


def rms_zcr(y: np.ndarray, *, frame_length: int = 2048, hop_length: int = 512,
            threshold: float = 1e-10) -> tuple[np.ndarray, np.ndarray]:
    """RMS energy and zero-crossing rate per centred frame, from one pass over the samples.

    The same values as `features.frame.rms` (librosa.feature.rms(y=...), zero padding) and
    `features.frame.zero_crossing_rate` (librosa's: edge padding, |y| <= threshold counts as zero
    and zero as positive, crossings / frame_length), each of shape (1 + n_samples // hop_length,),
    float64. One pass sums the squares (float64) and counts the sign changes per hop-sized block; a
    frame adds its frame_length / hop_length blocks. Needs frame_length a multiple of hop_length
    (otherwise the two functions of `features.frame` are used).
    """
    if frame_length % hop_length:
        return (frame.rms(y=y, frame_length=frame_length, hop_length=hop_length),
                frame.zero_crossing_rate(y=y, frame_length=frame_length, hop_length=hop_length, threshold=threshold))
    y = np.ascontiguousarray(y)
    if y.dtype not in (np.float32, np.float64):
        y = y.astype(np.float64)
    n_frames = frame.frame_count(len(y), hop_length=hop_length)
    per = frame_length // hop_length
    n_blocks = n_frames + per - 1
    energy = np.empty(n_blocks)
    crossings = np.empty(n_blocks, dtype=np.int64)
    thr = y.dtype.type(threshold)  # compared in the samples' precision, as numpy (and librosa) do
    pad = frame_length // 2
    _block_sums(y, hop_length, pad, thr, n_blocks, energy, crossings)
    rms, zcr = np.empty(n_frames), np.empty(n_frames)
    _frames_from_blocks(y, per, hop_length, pad, frame_length, thr, energy, crossings, rms, zcr)
    return rms, zcr


@numba.njit(cache=True, nogil=True, fastmath={"nsz", "arcp", "contract", "reassoc"})
def _moments(y):  # pragma: no cover - compiled
    n = y.shape[0]
    s = 0.0
    for i in range(n):
        s += np.float64(y[i])
    mu = s / n
    s2 = 0.0
    s3 = 0.0
    s4 = 0.0
    for i in range(n):
        d = np.float64(y[i]) - mu
        d2 = d * d
        s2 += d2
        s3 += d2 * d
        s4 += d2 * d2
    return mu, s2 / n, s3 / n, s4 / n


def moments(y: np.ndarray) -> np.ndarray:
    """Mean, variance, skewness and excess kurtosis of the samples (scipy.stats, bias=True), float64 sums.

    y: shape (n_samples,), n_samples >= 1. Returns float64 of shape (4,); a constant signal (silence)
    has skewness and kurtosis 0 (scipy's test for "constant"), as `features.frame.waveform_moments`.
    """
    y = np.ascontiguousarray(y, dtype=np.float32)
    mu, m2, m3, m4 = _moments(y)
    if m2 <= (np.finfo(np.float64).resolution * mu) ** 2 or m2 == 0.0:
        return np.array([mu, m2, 0.0, 0.0])
    return np.array([mu, m2, m3 / m2**1.5, m4 / m2**2 - 3.0])


#: Frames between two fresh transforms of the sliding DFT in `tempo` (bounds its float64 drift).
SLIDE_ANCHOR = 1024


@numba.njit(cache=True, nogil=True, fastmath=_FLAGS)
def _slide_power(padded, t0, t1, win, weight, xr, xi, wr, wi, sign, fr, fi, acc):  # pragma: no cover - compiled
    K = win + 1
    for t in range(t0, t1):
        # The Hann-windowed spectrum from the rectangular one, F[k] = X[k] / 2 - (X[k-2] + X[k+2]) / 4,
        # needs bins -2, -1, win+1, win+2: the conjugates of bins 2, 1, win-1, win-2.
        for k in range(K):
            fr[k + 2] = xr[k]
            fi[k + 2] = xi[k]
        fr[0] = xr[2]
        fi[0] = -xi[2]
        fr[1] = xr[1]
        fi[1] = -xi[1]
        fr[K + 2] = xr[K - 2]
        fi[K + 2] = -xi[K - 2]
        fr[K + 3] = xr[K - 3]
        fi[K + 3] = -xi[K - 3]
        c = weight[t]
        for k in range(K):
            re = 0.5 * fr[k + 2] - 0.25 * (fr[k] + fr[k + 4])
            im = 0.5 * fi[k + 2] - 0.25 * (fi[k] + fi[k + 4])
            acc[k] += c * (re * re + im * im)
        if t + 1 < t1:
            # Slide by one sample: X_{t+1}[k] = (X_t[k] - x[t] + x[t + win] (-1)**k) e^{2 pi i k / (2 win)}.
            a = padded[t]
            b = padded[t + win]
            for k in range(K):
                r = xr[k] - a + b * sign[k]
                i = xi[k]
                xr[k] = r * wr[k] - i * wi[k]
                xi[k] = r * wi[k] + i * wr[k]


def mean_tempogram(onset_envelope: np.ndarray, *, sr: int, hop_length: int = 512, ac_size: float = 8.0) -> np.ndarray:
    """The mean over frames of librosa's autocorrelation tempogram (each frame normalised to a maximum
    of 1), lags 0 .. win - 1 with win = int(ac_size * sr) // hop_length, float64, by a sliding DFT.

    It is the inverse transform of the weighted mean of the frames' power spectra
    (`features.tempo.tempo_frames`). The spectra come from one 2 * win-point DFT slid one sample per
    frame (O(win) per frame instead of an FFT; a fresh transform every SLIDE_ANCHOR frames bounds
    the float64 drift), with the Hann window applied in the frequency domain (at this length its
    spectrum has three non-zero bins). 2 * win >= 2 * win - 1 points give the lags 0 .. win - 1
    exactly, as zero-padded FFTs do. Needs win >= 3.
    """
    padded, win, weight = tempo_np.tempo_frames(onset_envelope, sr=sr, hop_length=hop_length, ac_size=ac_size)
    if win < 3:
        raise ValueError(f"the tempogram window ({win} frames) must be at least 3 frames")
    n = len(weight)
    n_pad = 2 * win
    k = np.arange(win + 1)
    wr, wi = np.cos(2 * np.pi * k / n_pad), np.sin(2 * np.pi * k / n_pad)
    sign = np.where(k % 2 == 0, 1.0, -1.0)
    fr, fi = np.empty(win + 5), np.empty(win + 5)
    acc = np.zeros(win + 1)
    for t0 in range(0, n, SLIDE_ANCHOR):
        X = np.fft.rfft(padded[t0 : t0 + win], n=n_pad)
        xr, xi = np.ascontiguousarray(X.real), np.ascontiguousarray(X.imag)
        _slide_power(padded, t0, min(t0 + SLIDE_ANCHOR, n), win, weight, xr, xi, wr, wi, sign, fr, fi, acc)
    return scipy.fft.irfft(acc, n=n_pad)[:win]


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
    """`features.tempo.tempo` (librosa's tempo from the mean tempogram and a log-normal prior) with
    `mean_tempogram`'s sliding DFT: the same BPM, 3-4x faster. A window under 3 frames falls back to
    `features.tempo.tempo`."""
    win = int(int(ac_size * sr) // hop_length)
    if win < 3:
        return tempo_np.tempo(onset_envelope=onset_envelope, sr=sr, hop_length=hop_length, start_bpm=start_bpm,
                              std_bpm=std_bpm, ac_size=ac_size, max_tempo=max_tempo, interpolate=interpolate)
    tg = mean_tempogram(onset_envelope, sr=sr, hop_length=hop_length, ac_size=ac_size)
    return tempo_np.tempo_from_tempogram(tg, sr=sr, hop_length=hop_length, start_bpm=start_bpm, std_bpm=std_bpm,
                                         max_tempo=max_tempo, interpolate=interpolate)


__all__ = ["CHUNK", "GROUP", "SLIDE_ANCHOR", "spectral_frames", "rms_zcr", "moments", "mean_tempogram", "tempo"]
