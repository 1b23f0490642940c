"""Frame-level features as plain functions in librosa's style, vectorised over frames.

Every function takes keyword arguments with librosa's names (`sr`, `n_fft`, `hop_length`), accepts
a precomputed spectrogram so that one STFT serves every feature, and states its shapes. Frames are
centred (frame t covers samples around t * hop_length, the signal zero-padded by n_fft // 2 on
each side), so a signal of n samples has 1 + n // hop_length frames, as in librosa. Each function
names the librosa function it reproduces; the tests check them against it.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import scipy.fft

TINY32 = float(np.finfo(np.float32).tiny)


# -- filterbanks and grids (cached per setting) ----------------------------------------------------
@lru_cache(maxsize=32)
def hann_window(n: int) -> np.ndarray:
    """Periodic Hann window of length n (scipy.signal.get_window('hann', n, fftbins=True)), float32."""
    w = (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)).astype(np.float32)
    w.flags.writeable = False
    return w


@lru_cache(maxsize=32)
def fft_frequencies(*, sr: int, n_fft: int) -> np.ndarray:
    """Centre frequency of each STFT bin, shape (1 + n_fft // 2,), float64."""
    f = np.fft.rfftfreq(n_fft, 1.0 / sr)
    f.flags.writeable = False
    return f


@lru_cache(maxsize=32)
def mel_filterbank(
    *, sr: int, n_fft: int, n_mels: int = 128, fmin: float = 0.0, fmax: float | None = None, htk: bool = False
) -> np.ndarray:
    """librosa.filters.mel (Slaney-normalised triangles), shape (n_mels, 1 + n_fft // 2), float32."""
    import librosa

    fb = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk, norm="slaney")
    fb = np.ascontiguousarray(fb, dtype=np.float32)
    fb.flags.writeable = False
    return fb


@lru_cache(maxsize=32)
def chroma_filterbank(*, sr: int, n_fft: int, n_chroma: int = 12, tuning: float = 0.0) -> np.ndarray:
    """librosa.filters.chroma (Ellis's Gaussian bumps, bin 0 = C), shape (n_chroma, 1 + n_fft // 2), float32."""
    import librosa

    fb = librosa.filters.chroma(sr=sr, n_fft=n_fft, n_chroma=n_chroma, tuning=tuning)
    fb = np.ascontiguousarray(fb, dtype=np.float32)
    fb.flags.writeable = False
    return fb


@lru_cache(maxsize=32)
def contrast_bands(
    *, sr: int, n_fft: int, n_bands: int = 6, fmin: float = 200.0, quantile: float = 0.02
) -> tuple[tuple[int, int, int], ...]:
    """(first bin, end bin, q) of each of the n_bands + 1 contrast sub-bands, as librosa.feature.spectral_contrast.

    Band k spans the octave [fmin * 2**(k-1), fmin * 2**k] (band 0 is [0, fmin], the last runs to
    Nyquist); peak and valley are the means of its q largest and q smallest bins.
    """
    freq = fft_frequencies(sr=sr, n_fft=n_fft)
    octa = np.zeros(n_bands + 2)
    octa[1:] = fmin * (2.0 ** np.arange(0, n_bands + 1))
    bands = []
    for k, (f_low, f_high) in enumerate(zip(octa[:-1], octa[1:], strict=True)):
        current = (freq >= f_low) & (freq <= f_high)
        idx = np.flatnonzero(current)
        if k > 0:
            current[idx[0] - 1] = True
        if k == n_bands:
            current[idx[-1] + 1 :] = True
        q = max(int(np.rint(quantile * current.sum())), 1)
        rows = np.flatnonzero(current)
        lo, hi = int(rows[0]), int(rows[-1]) + 1
        if k < n_bands:
            hi -= 1
        bands.append((lo, hi, q))
    return tuple(bands)


def frame_count(n_samples: int, *, hop_length: int) -> int:
    """Number of centred frames of a signal of n_samples (librosa's convention)."""
    return 1 + n_samples // hop_length


# -- the one STFT -------------------------------------------------------------------------------
def _frames(y: np.ndarray, n_fft: int, hop_length: int) -> np.ndarray:
    """Centred, zero-padded frames of y as a strided view, shape (1 + len(y) // hop_length, n_fft), float32."""
    yp = np.pad(np.asarray(y, dtype=np.float32), n_fft // 2)
    return np.lib.stride_tricks.sliding_window_view(yp, n_fft)[::hop_length]


def stft_blocks(y: np.ndarray, *, n_fft: int = 2048, hop_length: int = 512, block: int = 128, out=None):
    """|STFT| (as `stft_magnitude`) in consecutive blocks of frames: yields (first frame, S_block).

    S_block: float32 of shape (1 + n_fft // 2, <= block), the transpose of a C-contiguous array
    (a view of `out`, shape (n_frames, n_bins), when given). Computing every feature block by block
    keeps the spectra in the CPU cache; the windowed frames go through one reused buffer that the
    transform overwrites.
    """
    frames = _frames(y, n_fft, hop_length)
    window = hann_window(n_fft)
    n, n_bins = frames.shape[0], n_fft // 2 + 1
    sub = max(1, min(block, (1 << 17) // n_fft))  # frames per transform: their buffers stay in cache
    buf = np.empty((min(sub, n), n_fft), dtype=np.float32)
    for a in range(0, n, block):
        m = min(block, n - a)
        S = np.empty((m, n_bins), dtype=np.float32) if out is None else out[a : a + m]
        for s in range(0, m, sub):
            x = np.multiply(frames[a + s : a + min(s + sub, m)], window, out=buf[: min(sub, m - s)])
            np.abs(scipy.fft.rfft(x, axis=-1, overwrite_x=True, workers=1), out=S[s : s + len(x)])
        yield a, S.T


def stft_magnitude(y: np.ndarray, *, n_fft: int = 2048, hop_length: int = 512) -> np.ndarray:
    """|STFT| with a periodic Hann window, centred frames, zero padding (librosa.stft's defaults).

    y: shape (n_samples,), float32. Returns float32 of shape (1 + n_fft // 2, n_frames); the
    array is the transpose of a C-contiguous (n_frames, n_bins) buffer, so per-frame slices are
    contiguous. Requires n_samples >= n_fft // 2 + 1 (the padding is a plain zero pad). Blocks of
    frames keep the windowed frames and their spectra in cache: faster than one big transform.
    """
    out = np.empty((frame_count(len(y), hop_length=hop_length), n_fft // 2 + 1), dtype=np.float32)
    for _ in stft_blocks(y, n_fft=n_fft, hop_length=hop_length, block=len(out), out=out):
        pass
    return out.T


# -- time domain --------------------------------------------------------------------------------
def rms(*, y: np.ndarray, frame_length: int = 2048, hop_length: int = 512) -> np.ndarray:
    """Root-mean-square energy per frame from the waveform (librosa.feature.rms(y=...), zero padding).

    y: shape (n_samples,). Returns float64 of shape (1 + n_samples // hop_length,). Frame sums come
    from one cumulative sum, so the cost does not grow with frame_length.
    """
    pad = frame_length // 2
    n_frames = frame_count(len(y), hop_length=hop_length)
    y = np.asarray(y, dtype=np.float32)
    if frame_length % hop_length == 0:
        # Sums over hop-sized blocks, then over frame_length / hop_length consecutive blocks.
        per = frame_length // hop_length
        n_blocks = n_frames + per - 1
        yp = np.zeros(n_blocks * hop_length, dtype=np.float32)
        yp[pad : pad + len(y)] = y
        blocks = np.square(yp, out=yp).reshape(n_blocks, hop_length).sum(axis=1, dtype=np.float64)
        c = np.concatenate([[0.0], np.cumsum(blocks)])
        power = (c[per : per + n_frames] - c[:n_frames]) / frame_length
    else:
        c = np.zeros(len(y) + 2 * pad + 1)
        np.cumsum(np.square(y, dtype=np.float64), out=c[pad + 1 : pad + 1 + len(y)])
        c[pad + 1 + len(y) :] = c[pad + len(y)]
        starts = np.arange(n_frames) * hop_length
        power = (c[starts + frame_length] - c[starts]) / frame_length
    return np.sqrt(np.maximum(power, 0.0))


def zero_crossing_rate(
    *, y: np.ndarray, frame_length: int = 2048, hop_length: int = 512, threshold: float = 1e-10
) -> np.ndarray:
    """Fraction of sign changes per frame (librosa.feature.zero_crossing_rate: edge padding, |y| <= threshold
    counts as zero, zero counts as positive, crossings / frame_length).

    y: shape (n_samples,). Returns float64 of shape (1 + n_samples // hop_length,).
    """
    pad = frame_length // 2
    y = np.asarray(y)
    neg = y < -threshold  # below -threshold: negative; the rest (zero included) counts as positive
    # Pair (i, i + 1) of the edge-padded signal: the padding repeats the end samples, so no pair in it crosses.
    crossings = np.zeros(len(y) + 2 * pad - 1, dtype=bool)
    np.not_equal(neg[1:], neg[:-1], out=crossings[pad : pad + max(len(y) - 1, 0)])
    n_frames = frame_count(len(y), hop_length=hop_length)
    starts = np.arange(n_frames) * hop_length
    if frame_length % hop_length == 0:
        # Counts per hop-sized block, summed over the frame's blocks, less the pair past its end.
        per = frame_length // hop_length
        n_blocks = n_frames + per - 1
        padded = np.zeros(n_blocks * hop_length, dtype=bool)  # pairs past the last frame are not needed
        m = min(len(crossings), len(padded))
        padded[:m] = crossings[:m]
        blocks = np.count_nonzero(padded.reshape(n_blocks, hop_length), axis=1)
        c = np.concatenate([[0], np.cumsum(blocks)])
        counts = c[per : per + n_frames] - c[:n_frames] - padded[starts + frame_length - 1]
        return counts / frame_length
    c = np.zeros(len(crossings) + 1, dtype=np.int64)
    np.cumsum(crossings, out=c[1:])
    return (c[starts + frame_length - 1] - c[starts]) / frame_length


def waveform_moments(y: np.ndarray) -> np.ndarray:
    """Mean, variance, skewness and excess kurtosis of the samples (scipy.stats, bias=True).

    y: shape (n_samples,). Returns float64 of shape (4,). A constant signal (silence) has
    skewness and kurtosis 0 rather than undefined (scipy's test for "constant" is used).
    """
    y = np.asarray(y)
    n = len(y)
    mu = float(np.mean(y, dtype=np.float64))
    s2 = s3 = s4 = 0.0
    block = 1 << 15  # float64 blocks that stay in cache: full precision at float32 speed
    for a in range(0, n, block):
        d = y[a : a + block].astype(np.float64)
        d -= mu
        d2 = d * d
        s2 += float(np.sum(d2))
        s3 += float(d2 @ d)
        s4 += float(d2 @ d2)
    m2, m3, m4 = s2 / n, s3 / n, s4 / n
    if m2 <= (np.finfo(np.float64).resolution * mu) ** 2 or m2 == 0.0:
        return np.array([mu, m2, 0.0, 0.0])
    return np.array([mu, m2, m3 / m2**1.5, m4 / m2**2 - 3.0])


# -- from the magnitude spectrogram -------------------------------------------------------------
def spectral_stats(
    *, S: np.ndarray, sr: int, n_fft: int, roll_percent: float = 0.85
) -> dict[str, np.ndarray]:
    """Centroid, bandwidth (p=2) and roll-off per frame, in Hz.

    S: magnitude spectrogram, shape (1 + n_fft // 2, n_frames). Returns float64 arrays of shape
    (n_frames,) under 'spectral_centroid', 'spectral_bandwidth', 'spectral_rolloff', equal to
    librosa.feature.spectral_centroid / spectral_bandwidth / spectral_rolloff(S=S). An all-zero
    frame gives 0 for all three, as librosa does.

    One float64 matrix product gives, for each block of `_BLOCK` bins, its magnitude sum A and its
    first and second moments B, C about the block's centre; the centroid and the variance about it
    follow block by block (no cancellation between large raw moments), and the block sums locate
    the roll-off (see `_rolloff_bins`).
    """
    St = S.T  # (n_frames, n_bins), C-contiguous for stft_magnitude's output
    n_frames, n_bins = St.shape
    n_blocks = -(-n_bins // _BLOCK)
    X = np.empty((n_frames, n_blocks * _BLOCK))  # float64, zero-padded to whole blocks
    X[:, :n_bins] = St
    X[:, n_bins:] = 0.0
    j = np.arange(_BLOCK) - (_BLOCK - 1) / 2.0
    A, B, C = np.moveaxis((X.reshape(-1, _BLOCK) @ np.stack([np.ones(_BLOCK), j, j * j], axis=1)).reshape(
        n_frames, n_blocks, 3), -1, 0)
    df = sr / n_fft
    centre = (np.arange(n_blocks) * _BLOCK + (_BLOCK - 1) / 2.0) * df  # Hz
    total = A.sum(axis=1)
    ok = total >= TINY32
    safe = np.where(ok, total, 1.0)
    centroid = np.where(ok, (A @ centre + df * B.sum(axis=1)) / safe, 0.0)
    D = centre[None, :] - centroid[:, None]  # block centre relative to the centroid, Hz
    var = np.einsum("ij,ij->i", D * D, A) + 2.0 * df * np.einsum("ij,ij->i", D, B) + df * df * C.sum(axis=1)
    bandwidth = np.where(ok, np.sqrt(np.maximum(var / safe, 0.0)), 0.0)
    rolloff = fft_frequencies(sr=sr, n_fft=n_fft)[_rolloff_bins(X, A, roll_percent, n_bins)]
    return {"spectral_centroid": centroid, "spectral_bandwidth": bandwidth, "spectral_rolloff": rolloff}


_BLOCK = 32  # bins per block of spectral_stats


def _rolloff_bins(X: np.ndarray, sums: np.ndarray, roll_percent: float, n_bins: int) -> np.ndarray:
    """First bin where the cumulative magnitude reaches roll_percent of the total, per frame.

    X: shape (n_frames, n_blocks * _BLOCK), float64, zero past n_bins; sums: its sums over each
    block, shape (n_frames, n_blocks). The block sums locate the crossing, then one block per frame
    is summed bin by bin: the same answer as a full cumulative sum over the bins (librosa's method)
    at a fraction of its cost. Returns int of shape (n_frames,).
    """
    n_frames = X.shape[0]
    cum_blocks = np.cumsum(sums, axis=1)  # (n_frames, n_blocks)
    threshold = roll_percent * cum_blocks[:, -1]
    rows = np.arange(n_frames)
    b = np.argmax(cum_blocks >= threshold[:, None], axis=1)
    before = np.where(b > 0, cum_blocks[rows, np.maximum(b - 1, 0)], 0.0)
    idx = b[:, None] * _BLOCK + np.arange(_BLOCK)  # (n_frames, _BLOCK)
    within = before[:, None] + np.cumsum(X[rows[:, None], idx], axis=1)
    return np.minimum(idx[rows, np.argmax(within >= threshold[:, None], axis=1)], n_bins - 1)


def spectral_flatness(*, P: np.ndarray, amin: float = 1e-10, overwrite_p: bool = False) -> np.ndarray:
    """Geometric over arithmetic mean of the power spectrum per frame (librosa.feature.spectral_flatness).

    P: power spectrogram |X|**2, shape (n_bins, n_frames); overwritten (saving a copy) when
    overwrite_p. Returns float32 of shape (n_frames,). Values under amin are raised to amin first,
    so a silent frame has flatness 1.
    """
    Pt = np.maximum(P, np.float32(amin), out=P if overwrite_p else None)
    amean = np.mean(Pt, axis=0)
    gmean = np.exp(np.mean(np.log(Pt, out=Pt), axis=0))
    return gmean / amean


def spectral_contrast_parts(
    *, S: np.ndarray, sr: int, n_fft: int, n_bands: int = 6, fmin: float = 200.0, quantile: float = 0.02
) -> tuple[np.ndarray, np.ndarray]:
    """Peak and valley (linear magnitude) of each contrast sub-band per frame.

    S: magnitude spectrogram, shape (1 + n_fft // 2, n_frames). Returns two float32 arrays of
    shape (n_bands + 1, n_frames).
    """
    St = S.T  # (n_frames, n_bins), contiguous for stft_magnitude's output
    n_frames = St.shape[0]
    peak = np.empty((n_bands + 1, n_frames), dtype=np.float32)
    valley = np.empty_like(peak)
    bands = contrast_bands(sr=sr, n_fft=n_fft, n_bands=n_bands, fmin=fmin, quantile=quantile)
    # Consecutive bands with q == 1 (the narrow low ones): their minima and maxima in one call each.
    k1 = next((k for k, (_, _, q) in enumerate(bands) if q > 1), len(bands))
    if k1:
        lo, hi = bands[0][0], bands[k1 - 1][1]
        starts = [b[0] - lo for b in bands[:k1]]
        valley[:k1] = np.minimum.reduceat(St[:, lo:hi], starts, axis=1).T
        peak[:k1] = np.maximum.reduceat(St[:, lo:hi], starts, axis=1).T
    for k in range(k1, len(bands)):
        lo, hi, q = bands[k]
        band = St[:, lo:hi]
        if q == 1:
            valley[k] = band.min(axis=1)
            peak[k] = band.max(axis=1)
        else:
            # A full sort beats np.partition here: numpy's sort is SIMD-vectorised, partition is not.
            ordered = np.sort(band, axis=1)
            valley[k] = ordered[:, :q].sum(axis=1) / np.float32(q)
            peak[k] = ordered[:, -q:].sum(axis=1) / np.float32(q)
    return peak, valley


def power_to_db(x: np.ndarray, *, amin: float = 1e-10, top_db: float | None = 80.0) -> np.ndarray:
    """10 * log10(max(amin, x)), floored at top_db below the maximum (librosa.power_to_db, ref=1)."""
    db = np.maximum(amin, x)
    if isinstance(db, np.ndarray) and db.dtype.kind == "f":  # in place: the same values, no temporaries
        db = np.multiply(np.log10(db, out=db), 10.0, out=db)
    else:
        db = 10.0 * np.log10(db)
    if top_db is not None and db.size:
        db = np.maximum(db, db.max() - top_db)
    return db


def spectral_contrast(
    *,
    S: np.ndarray,
    sr: int,
    n_fft: int,
    n_bands: int = 6,
    fmin: float = 200.0,
    quantile: float = 0.02,
    top_db: float | None = 80.0,
) -> np.ndarray:
    """Octave-band spectral contrast in dB (librosa.feature.spectral_contrast(S=S)).

    S: magnitude spectrogram, shape (1 + n_fft // 2, n_frames). Returns shape (n_bands + 1, n_frames).
    As in librosa, peaks and valleys go through power_to_db (each floored top_db below its own
    maximum over the input), so a silent input gives 0.
    """
    peak, valley = spectral_contrast_parts(S=S, sr=sr, n_fft=n_fft, n_bands=n_bands, fmin=fmin, quantile=quantile)
    return power_to_db(peak, top_db=top_db) - power_to_db(valley, top_db=top_db)


def chroma(*, P: np.ndarray, sr: int, n_fft: int, n_chroma: int = 12, tuning: float = 0.0) -> np.ndarray:
    """Chromagram from a power spectrogram (librosa.feature.chroma_stft(S=P, tuning=tuning)).

    P: shape (1 + n_fft // 2, n_frames). Returns float32 of shape (n_chroma, n_frames), each frame
    scaled to a maximum of 1; an all-zero frame stays 0.
    """
    fb = chroma_filterbank(sr=sr, n_fft=n_fft, n_chroma=n_chroma, tuning=float(tuning))
    raw = (P.T @ fb.T).T if frame_major(P) else fb @ P  # the product in the operands' own layout
    peak = np.max(np.abs(raw), axis=0)
    peak[peak < TINY32] = 1.0
    return raw / peak


def estimate_tuning(*, P: np.ndarray, sr: int, n_fft: int, n_chroma: int = 12) -> float:
    """librosa's tuning estimate (in fractions of a chroma bin) from a power spectrogram, shape (n_bins, n_frames)."""
    import librosa

    return float(librosa.estimate_tuning(S=P, sr=sr, n_fft=n_fft, bins_per_octave=n_chroma))


def filter_bands(fb: np.ndarray, group: int = 8) -> tuple[tuple[int, int, int, int, np.ndarray], ...]:
    """A filterbank (n_filters, n_bins) as groups of `group` consecutive filters, for `apply_filter_bands`.

    Each group is (first filter, end filter, first bin, end bin, weights of shape (end filter - first
    filter, end bin - first bin)), the bins being those where any filter of the group is non-zero.
    """
    fb = np.asarray(fb, dtype=np.float32)
    out = []
    for m0 in range(0, fb.shape[0], group):
        rows = fb[m0 : m0 + group]
        nz = np.flatnonzero(rows.any(axis=0))
        lo, hi = (int(nz[0]), int(nz[-1]) + 1) if len(nz) else (0, 0)
        out.append((m0, m0 + len(rows), lo, hi, np.ascontiguousarray(rows[:, lo:hi])))
    return tuple(out)


def apply_filter_bands(bands: tuple, P: np.ndarray) -> np.ndarray:
    """fb @ P for a filterbank given by `filter_bands`: shape (n_filters, n_frames), float32.

    Each mel triangle touches only its own few bins, so the product runs group by group over the
    bins of the group's filters: about 1/10 of the multiplications of the dense product (and the same
    result, zero weights included), in a few matrix products rather than one per filter.
    """
    n_filters = bands[-1][1] if bands else 0
    dtype = np.result_type(P.dtype, np.float32)
    if frame_major(P):  # P.T @ w.T in P's own layout: 2-3x faster than transposing P in the product
        out_t = np.zeros((P.shape[1], n_filters), dtype=dtype)
        Pt = P.T
        for m0, m1, lo, hi, w in bands:
            if hi > lo:
                np.matmul(Pt[:, lo:hi], w.T, out=out_t[:, m0:m1])
        return out_t.T
    out = np.zeros((n_filters, P.shape[1]), dtype=dtype)
    for m0, m1, lo, hi, w in bands:
        if hi > lo:
            np.matmul(w, P[lo:hi], out=out[m0:m1])
    return out


def frame_major(P: np.ndarray) -> bool:
    """Whether a (n_bins, n_frames) array is the transpose of a C-contiguous one (each frame contiguous), as
    `stft_blocks` yields and the power spectra computed from it are."""
    return P.ndim == 2 and P.shape[1] > 1 and P.T.flags.c_contiguous and not P.flags.c_contiguous


@lru_cache(maxsize=32)
def _mel_bands(*, sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float | None) -> tuple:
    return filter_bands(mel_filterbank(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax))


def mel_power(*, P: np.ndarray, sr: int, n_fft: int, n_mels: int = 128, fmin: float = 0.0, fmax=None) -> np.ndarray:
    """Mel spectrogram from a power spectrogram (librosa.feature.melspectrogram(S=P)), shape (n_mels, n_frames)."""
    return apply_filter_bands(_mel_bands(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax), P)


@lru_cache(maxsize=32)
def dct_matrix(n: int, n_out: int, dtype: str = "float32") -> np.ndarray:
    """The first n_out rows of the orthonormal DCT-II matrix of size n, shape (min(n_out, n), n)."""
    D = scipy.fft.dct(np.eye(n), type=2, norm="ortho", axis=0)[:n_out].astype(dtype)
    D.flags.writeable = False
    return D


def mfcc(*, S_db: np.ndarray, n_mfcc: int = 20) -> np.ndarray:
    """MFCCs from a log-power mel spectrogram (librosa.feature.mfcc(S=S_db): DCT-II, orthonormal, no lifter).

    S_db: shape (n_mels, n_frames). Returns shape (n_mfcc, n_frames), in S_db's precision (float32 or
    float64). Only the n_mfcc coefficients kept are computed: one matrix product with the DCT's rows.
    """
    S_db = np.asarray(S_db)
    dtype = "float32" if S_db.dtype == np.float32 else "float64"
    return dct_matrix(S_db.shape[0], n_mfcc, dtype) @ S_db


def delta(data: np.ndarray, *, width: int = 9, order: int = 1) -> np.ndarray:
    """Savitzky-Golay derivative along frames (librosa.feature.delta(data, width=width, order=order)).

    data: shape (n_rows, n_frames). When there are fewer than `width` frames the window shrinks to
    the largest odd length that fits (at least order + 2 frames); with fewer frames than that the
    derivative is 0.
    """
    n = data.shape[-1]
    if n < width:
        width = n if n % 2 else n - 1
    if width < max(3, order + 2):
        return np.zeros_like(data)
    from scipy.signal import savgol_filter  # imported here: scipy.signal takes ~0.6 s to import

    return savgol_filter(data, width, polyorder=order, deriv=order, axis=-1, mode="interp")


def onset_strength(*, S_db: np.ndarray, n_fft: int = 2048, hop_length: int = 512, lag: int = 1) -> np.ndarray:
    """Spectral-flux onset envelope from a log-power mel spectrogram (librosa.onset.onset_strength(S=S_db)).

    S_db: shape (n_mels, n_frames). Returns float of shape (n_frames,), delayed by
    lag + n_fft // (2 * hop_length) frames to align with the centred frames, as librosa.
    """
    n_frames = S_db.shape[-1]
    flux = np.maximum(0.0, S_db[:, lag:] - S_db[:, :-lag]).mean(axis=0)
    pad = lag + n_fft // (2 * hop_length)
    return np.concatenate([np.zeros(pad, dtype=flux.dtype), flux])[:n_frames]


# -- aggregation over frames ----------------------------------------------------------------------
def aggregate(X: np.ndarray, stats: tuple[str, ...]) -> np.ndarray:
    """Statistics of each row over frames.

    X: shape (n_rows, n_frames). Returns float64 of shape (n_rows, len(stats)). std is the
    population value (ddof=0); skew and kurt (excess) are scipy.stats' biased estimators, 0 for a
    constant row.
    """
    X = np.asarray(X, dtype=np.float64)
    out = np.empty((X.shape[0], len(stats)))
    mu = X.mean(axis=1)
    need_moments = "std" in stats or "skew" in stats or "kurt" in stats
    if need_moments:
        d = X - mu[:, None]
        m2 = np.mean(d * d, axis=1)
        const = m2 <= (np.finfo(np.float64).resolution * mu) ** 2
        safe = np.where(const | (m2 == 0), 1.0, m2)
    for j, s in enumerate(stats):
        if s == "mean":
            out[:, j] = mu
        elif s == "std":
            out[:, j] = np.sqrt(m2)
        elif s == "min":
            out[:, j] = X.min(axis=1)
        elif s == "max":
            out[:, j] = X.max(axis=1)
        elif s == "median":
            out[:, j] = np.median(X, axis=1)
        elif s == "skew":
            out[:, j] = np.where(const | (m2 == 0), 0.0, np.mean(d**3, axis=1) / safe**1.5)
        elif s == "kurt":
            out[:, j] = np.where(const | (m2 == 0), 0.0, np.mean(d**4, axis=1) / safe**2 - 3.0)
        else:
            raise ValueError(f"stat={s!r} is not one of mean, std, min, max, median, skew, kurt")
    return out
