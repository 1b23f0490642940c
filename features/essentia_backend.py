"""The essentia back-end: the same columns computed with essentia's algorithms, to cross-check librosa's.

Optional: needs the `essentia` extra (``pip install 'mirbench[essentia]'``); `require()` raises a
ConfigError saying so when it is missing. Frames come from essentia's FrameCutter (centred, zero
padded: the same frames as librosa's, the surplus last frame essentia emits is dropped), windowed by
its periodic Hann window; a Python loop runs essentia's C++ algorithms frame by frame (about 0.1 s
per 30-s clip), so this back-end is for checking, not for speed.

Where the definitions agree and where they differ (tolerances as tested in
tests/features/test_essentia_backend.py, on noise, tones and click trains):

- spectral_centroid: Centroid(range=sr/2) on the magnitude spectrum: same definition (rel. 1e-4
  or 0.01 Hz).
- spectral_bandwidth: sqrt of CentralMoments(range=sr/2)[2]: same definition, p=2 (rel. 1e-4 or
  0.01 Hz).
- spectral_rolloff: RollOff accumulates the *squared* input, librosa the magnitude; the back-end
  feeds RollOff sqrt(|X|) so that both accumulate magnitude (within one bin, 11 Hz at defaults).
- spectral_flatness: Flatness on max(|X|**2, 1e-10), as librosa (rel. 1e-4).
- zcr: ZeroCrossingRate on the frames; librosa pads the signal's ends by repeating the edge sample,
  FrameCutter with zeros, and counts a zero as positive; differences are confined to edge frames
  and exact zeros (abs. 1e-3 on the mean).
- rms: RMS of the (zero-padded) frames: same definition (rel. 1e-4).
- mfcc: mel band energies from MelBands (Slaney mel, unit_tri = librosa's 'slaney' norm, power);
  essentia's per-frame MFCC cannot see the clip maximum the 80-dB floor is relative to, so the dB
  conversion with that floor and the orthonormal DCT-II are applied to the band matrix with numpy
  (abs. 1e-2 dB-units on means).
- chroma: essentia has no STFT chroma (HPCP is built from spectral peaks, Chromagram from a CQT);
  the back-end applies the same Ellis chroma filterbank to essentia's power spectrum, so it checks
  the spectrum, not an independent chroma definition (abs. 1e-4).
- spectral_contrast: essentia's SpectralContrast is Akkermans et al.'s variant (other band edges,
  neighbourRatio, no octave bands); the back-end applies librosa's octave-band definition to
  essentia's magnitude spectrum (abs. 0.05 dB).
- moments: Mean and CentralMoments(mode='sample') of the samples; skewness m3 / m2**1.5 and excess
  kurtosis m4 / m2**2 - 3 (rel. 1e-4).
- tempo: a different estimator, PercivalBpmEstimator (Percival & Tzanetakis 2014) with min/max BPM
  50/210, against librosa's autocorrelation tempogram with a log-normal prior at start_bpm. They
  agree within 2 BPM on steady click trains from 70 to 140 BPM; above about 150 BPM Percival's
  estimator may report half the tempo, and on music the two differ by an octave on some clips.
  Where it finds no periodicity (silence) it reports 0; the back-end then reports librosa's
  fallback (the lag nearest start_bpm) so that silent clips give the same value under both.
"""

from __future__ import annotations

import numpy as np

from features import frame
from features import tempo as tempo_np
from features.config import FeatureConfig
from features.errors import ConfigError, ToolkitError

_ALGOS: dict = {}


def available() -> bool:
    try:
        import essentia  # noqa: F401
    except ImportError:
        return False
    return True


def require() -> None:
    if not available():
        raise ConfigError(
            "backend='essentia' needs the optional essentia package: pip install 'mirbench[essentia]' "
            "(Linux and macOS wheels); or use backend='librosa'"
        )


def _es():
    import essentia
    import essentia.standard as es

    essentia.log.infoActive = False
    essentia.log.warningActive = False
    return es


def _algos(config: FeatureConfig) -> dict:
    key = (config.sr, config.n_fft, config.n_mels)
    if key not in _ALGOS:
        es = _es()
        sr, n_fft = config.sr, config.n_fft
        _ALGOS[key] = {
            "window": es.Windowing(type="hann", size=n_fft, normalized=False, zeroPhase=False, symmetric=False),
            "spectrum": es.Spectrum(size=n_fft),
            "centroid": es.Centroid(range=sr / 2),
            "moments": es.CentralMoments(range=sr / 2),
            "rolloff": es.RollOff(sampleRate=sr, cutoff=config.roll_percent),
            "sqrt": es.UnaryOperator(type="sqrt"),
            "square": es.UnaryOperator(type="square"),
            "floor": es.Clipper(min=1e-10, max=3.0e38),
            "flatness": es.Flatness(),
            "zcr": es.ZeroCrossingRate(threshold=0.0),
            "rms": es.RMS(),
            "melbands": es.MelBands(
                inputSize=n_fft // 2 + 1, numberBands=config.n_mels, sampleRate=sr, lowFrequencyBound=0,
                highFrequencyBound=sr / 2, type="power", normalize="unit_tri", warpingFormula="slaneyMel",
                weighting="linear", log=False,
            ),
            "mean": es.Mean(),
            "sample_moments": es.CentralMoments(mode="sample"),
        }
    return _ALGOS[key]


def frame_data(y: np.ndarray, config: FeatureConfig) -> dict[str, np.ndarray]:
    """Frame-level matrices of one clip, the same keys and shapes as `features.extract.frame_data`."""
    es = _es()
    a = _algos(config)
    c = config
    y = np.ascontiguousarray(y, dtype=np.float32)
    n_frames = frame.frame_count(len(y), hop_length=c.hop_length)
    cols = {k: np.zeros(n_frames) for k in ("zcr", "rms", "spectral_centroid", "spectral_bandwidth",
                                            "spectral_rolloff", "spectral_flatness")}
    need_mel = c.has("mfcc")  # the tempo comes from the waveform (segment_tempo)
    mel = np.zeros((n_frames, c.n_mels), dtype=np.float32) if need_mel else None
    spec = np.zeros((n_frames, c.n_fft // 2 + 1), dtype=np.float32)
    frames = es.FrameGenerator(y, frameSize=c.n_fft, hopSize=c.hop_length, startFromZero=False,
                               validFrameThresholdRatio=0, lastFrameToEndOfFile=False)
    t = -1
    for t, fr in enumerate(frames):
        if t >= n_frames:
            break
        s = a["spectrum"](a["window"](fr))
        spec[t] = s
        cols["zcr"][t] = a["zcr"](fr)
        cols["rms"][t] = a["rms"](fr)
        cols["spectral_centroid"][t] = a["centroid"](s)
        cols["spectral_bandwidth"][t] = np.sqrt(max(float(a["moments"](s)[2]), 0.0))
        cols["spectral_rolloff"][t] = a["rolloff"](a["sqrt"](s))
        cols["spectral_flatness"][t] = a["flatness"](a["floor"](a["square"](s)))
        if need_mel:
            mel[t] = a["melbands"](s)
    if t + 1 < n_frames:
        raise ToolkitError(f"essentia's FrameCutter gave {t + 1} frames, expected {n_frames}")
    out = {k: v for k, v in cols.items() if c.has(k)}
    S = spec.T  # (n_bins, n_frames), contiguous per frame
    if c.has("spectral_contrast"):
        peak, valley = frame.spectral_contrast_parts(
            S=S, sr=c.sr, n_fft=c.n_fft, n_bands=c.n_bands, fmin=c.contrast_fmin, quantile=c.contrast_quantile
        )
        out["contrast_peak_db"] = frame.power_to_db(peak, top_db=None)
        out["contrast_valley_db"] = frame.power_to_db(valley, top_db=None)
    if c.has("chroma"):
        P = S * S
        tuning = c.tuning
        if tuning == "estimate":
            tuning = frame.estimate_tuning(P=P, sr=c.sr, n_fft=c.n_fft, n_chroma=c.n_chroma)
        out["chroma"] = frame.chroma(P=P, sr=c.sr, n_fft=c.n_fft, n_chroma=c.n_chroma, tuning=tuning)
    if need_mel:
        out["mel_db"] = frame.power_to_db(mel.T, top_db=None)
    return out


def moments(y: np.ndarray) -> np.ndarray:
    """Mean, variance, skewness, excess kurtosis of the samples with essentia's Mean and CentralMoments."""
    y = np.ascontiguousarray(y, dtype=np.float32)
    a = _ALGOS.get("moments_only") or _es().CentralMoments(mode="sample")
    _ALGOS["moments_only"] = a
    mean = float(np.mean(y, dtype=np.float64))
    m = a(y) if len(y) > 1 else np.zeros(5)
    m2, m3, m4 = float(m[2]), float(m[3]), float(m[4])
    if m2 <= (np.finfo(np.float32).resolution * abs(mean)) ** 2 or m2 == 0.0:
        return np.array([mean, m2, 0.0, 0.0])
    return np.array([mean, m2, m3 / m2**1.5, m4 / m2**2 - 3.0])


def segment_tempo(y_segment: np.ndarray, mel_db: np.ndarray, config: FeatureConfig) -> float:
    """Tempo (BPM) of a segment with PercivalBpmEstimator; its 0 (no periodicity) becomes librosa's fallback."""
    es = _es()
    est = es.PercivalBpmEstimator(sampleRate=int(config.sr), minBPM=50, maxBPM=210)
    bpm = float(est(np.ascontiguousarray(y_segment, dtype=np.float32)))
    if not np.isfinite(bpm) or bpm <= 0:
        return tempo_np.prior_tempo(sr=config.sr, hop_length=config.hop_length, start_bpm=config.start_bpm,
                                 ac_size=config.ac_size, max_tempo=config.max_tempo)
    return bpm
