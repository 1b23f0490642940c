"""The numba kernels of features.kernels against librosa and against dense float64 numpy references.

spectral_frames: centroid, bandwidth, roll-off, flatness and the power spectrum, on tones, noise and a
music-like mix at several FFT sizes (bins not a multiple of the kernel's chunk), on silence, DC and
single frames, on very loud spectra (the flatness's per-bin fallback), from either memory layout and
into given output slices. rms_zcr: against librosa and against the dense references of every length
around the hop and frame sizes, silence and DC included; the non-multiple frame length falls back to
features.frame. moments: against scipy.stats, constant and offset signals included. tempo: the sliding-DFT mean
tempogram against librosa's tempogram averaged over frames and against a dense float64 reference (odd
windows, envelopes past several re-anchoring points, silence, isolated spikes), and the BPM against
librosa and features.frame.tempo.

Tolerances: those of tests/features/test_frame.py and test_speed_frame.py (1e-5 relative against
librosa's float32 arithmetic, 1e-4 for the flatness; ZCR exact; roll-off exactly the bin of librosa's
definition computed with float64 sums); against the float64 references 1e-9 relative.
"""

import librosa
import numpy as np
import pytest
import scipy.stats

from features import frame as F
from features import kernels as K
from features import tempo as T
from tests.features.signals import SR, clicks, mix, noise, sine

N_FFT, HOP = 2048, 512


def _dense(S, roll_percent=0.85, amin=1e-10):
    """Float64 references of centroid and bandwidth (in bins), roll-off bin and flatness, per frame."""
    S = S.astype(np.float64)
    k = np.arange(S.shape[0])[:, None]
    total = S.sum(axis=0)
    ok = total >= np.finfo(np.float32).tiny
    safe = np.where(ok, total, 1.0)
    c = np.where(ok, (k * S).sum(axis=0) / safe, 0.0)
    bw = np.where(ok, np.sqrt(((k - c) ** 2 * S).sum(axis=0) / safe), 0.0)
    cum = np.cumsum(S, axis=0)
    roll = np.argmax(cum >= roll_percent * cum[-1], axis=0)
    P = np.maximum(S * S, amin)
    flat = np.exp(np.log(P).mean(axis=0)) / P.mean(axis=0)
    return c, bw, roll, flat


def _check(S, n_fft=N_FFT, roll_percent=0.85, librosa_too=True):
    d = K.spectral_frames(S, roll_percent=roll_percent)
    df = SR / n_fft
    c, bw, roll, flat = _dense(S, roll_percent)
    np.testing.assert_allclose(d["centroid"], c, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(d["bandwidth"], bw, rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(d["rolloff"], roll)
    np.testing.assert_allclose(d["flatness"], flat, rtol=1e-6, atol=1e-12)  # float32 output
    np.testing.assert_array_equal(d["power"], S * S)
    assert d["power"].dtype == np.float32 and d["power"].T.flags.c_contiguous
    if librosa_too:
        np.testing.assert_allclose(d["centroid"] * df, librosa.feature.spectral_centroid(S=S, sr=SR, n_fft=n_fft)[0],
                                   rtol=1e-5, atol=1e-9)
        np.testing.assert_allclose(d["bandwidth"] * df,
                                   librosa.feature.spectral_bandwidth(S=S, sr=SR, n_fft=n_fft)[0], rtol=1e-5, atol=1e-9)
        np.testing.assert_allclose(d["flatness"], librosa.feature.spectral_flatness(S=S)[0], rtol=1e-4, atol=1e-9)
    return d


@pytest.mark.parametrize("freq", [20.0, 1000.0, 5000.0, 11000.0])
def test_spectral_frames_of_tones(freq):
    _check(F.stft_magnitude(sine(freq, 1.0) + noise(1.0, amp=1e-4), n_fft=N_FFT, hop_length=HOP))


@pytest.mark.parametrize("n_fft", [64, 100, 126, 128, 130, 512, 4096])
def test_spectral_frames_for_other_fft_sizes(n_fft):
    _check(F.stft_magnitude(mix(2.0, seed=5), n_fft=n_fft, hop_length=n_fft // 4), n_fft=n_fft)


@pytest.mark.parametrize("roll_percent", [0.01, 0.5, 0.85, 0.99, 1.0])
def test_spectral_frames_rolloff_percentages(roll_percent):
    _check(F.stft_magnitude(mix(3.0, seed=7), n_fft=N_FFT, hop_length=HOP), roll_percent=roll_percent)


def test_spectral_frames_equal_features_frame_on_noise():
    S = F.stft_magnitude(noise(2.0, seed=3), n_fft=N_FFT, hop_length=HOP)
    d = K.spectral_frames(S)
    ref = F.spectral_stats(S=S, sr=SR, n_fft=N_FFT)
    df = SR / N_FFT
    np.testing.assert_allclose(d["centroid"] * df, ref["spectral_centroid"], rtol=1e-9)
    np.testing.assert_allclose(d["bandwidth"] * df, ref["spectral_bandwidth"], rtol=1e-9)
    np.testing.assert_array_equal(F.fft_frequencies(sr=SR, n_fft=N_FFT)[d["rolloff"]], ref["spectral_rolloff"])
    np.testing.assert_allclose(d["flatness"], F.spectral_flatness(P=S * S), rtol=1e-5)


def test_spectral_frames_of_silence_dc_and_single_frames():
    S = F.stft_magnitude(np.zeros(SR // 4, dtype=np.float32), n_fft=N_FFT, hop_length=HOP)
    d = K.spectral_frames(S)
    for k in ("centroid", "bandwidth", "rolloff"):
        np.testing.assert_array_equal(d[k], 0)
    np.testing.assert_array_equal(d["flatness"], 1.0)
    _check(F.stft_magnitude(np.full(SR // 4, 0.3, dtype=np.float32), n_fft=N_FFT, hop_length=HOP))
    one = F.stft_magnitude(noise(0.05, seed=1)[:N_FFT], n_fft=N_FFT, hop_length=HOP)[:, :1]
    _check(one)
    empty = K.spectral_frames(np.zeros((N_FFT // 2 + 1, 0), dtype=np.float32))
    assert all(v.shape[-1] == 0 for v in empty.values())


def test_flatness_of_very_loud_spectra_uses_one_logarithm_per_bin():
    # Products of 16 powers above 1e300 (scaled by 2**33): the per-bin fallback of the kernel.
    S = F.stft_magnitude(noise(1.0, seed=4, amp=1e5), n_fft=N_FFT, hop_length=HOP)
    assert S.max() > 1e6
    d = _check(S, librosa_too=False)
    assert np.isfinite(d["flatness"]).all()
    # A frame mixing loud and silent bins.
    S2 = np.zeros((N_FFT // 2 + 1, 3), dtype=np.float32)
    S2[::7, 0] = 1e7
    S2[:, 1] = 1e-3
    S2[:100, 2] = 3e8
    _check(S2, librosa_too=False)


def test_spectral_frames_read_either_layout_and_fill_given_slices():
    S = F.stft_magnitude(mix(1.0, seed=2), n_fft=N_FFT, hop_length=HOP)  # the transpose of a C array
    ref = K.spectral_frames(S)
    again = K.spectral_frames(np.ascontiguousarray(S))
    for k in ref:
        np.testing.assert_array_equal(again[k], ref[k])
    m = S.shape[1]
    big = {"centroid": np.zeros(m + 5), "bandwidth": np.zeros(m + 5), "rolloff": np.zeros(m + 5, dtype=np.int64),
           "flatness": np.zeros(m + 5, dtype=np.float32)}
    power = np.zeros((S.shape[0], m + 5), dtype=np.float32, order="F")
    K.spectral_frames(S, out={**{k: v[2 : 2 + m] for k, v in big.items()}, "power": power[:, 2 : 2 + m]})
    for k, v in big.items():
        np.testing.assert_array_equal(v[2 : 2 + m], ref[k])
        assert not v[:2].any() and not v[2 + m :].any()
    np.testing.assert_array_equal(power[:, 2 : 2 + m], ref["power"])


def _dense_rms_zcr(y, frame_length, hop, threshold=1e-10):
    pad = frame_length // 2
    n_frames = 1 + len(y) // hop
    yp = np.pad(y.astype(np.float64), pad)
    ye = np.pad(y, pad, mode="edge")
    neg = ye < -np.float32(threshold)
    rms = np.empty(n_frames)
    zcr = np.empty(n_frames)
    for t in range(n_frames):
        f = yp[t * hop : t * hop + frame_length]
        f = np.pad(f, (0, frame_length - len(f)))
        rms[t] = np.sqrt(np.sum(f * f) / frame_length)
        s = neg[t * hop : t * hop + frame_length]
        zcr[t] = np.count_nonzero(s[1:] != s[:-1]) / frame_length
    return rms, zcr


@pytest.mark.parametrize("n", [1, 2, 3, 511, 512, 513, 1024, 1025, 2047, 2048, 2049, 5000])
@pytest.mark.parametrize("kind", ["noise", "silence", "dc"])
def test_rms_zcr_against_dense_references(n, kind):
    y = {"noise": noise(1.0, seed=n)[:n], "silence": np.zeros(n, dtype=np.float32),
         "dc": np.full(n, -0.25, dtype=np.float32)}[kind]
    for frame_length, hop in ((2048, 512), (1024, 256), (512, 512)):
        rms, zcr = K.rms_zcr(y, frame_length=frame_length, hop_length=hop)
        ref_rms, ref_zcr = _dense_rms_zcr(y, frame_length, hop)
        np.testing.assert_allclose(rms, ref_rms, rtol=1e-9, atol=1e-15)
        np.testing.assert_array_equal(zcr, ref_zcr)
        np.testing.assert_array_equal(zcr, F.zero_crossing_rate(y=y, frame_length=frame_length, hop_length=hop))


@pytest.mark.parametrize("signal", ["mix", "sine", "tiny"])
def test_rms_zcr_match_librosa(signal):
    y = {"mix": mix(3.0, seed=1), "sine": sine(440.0, 2.0),
         # samples at +-threshold: zero for the crossing count, as librosa
         "tiny": np.tile(np.array([1e-10, -1e-10, -2e-10, 3e-10, 0.0], dtype=np.float32), 2000)}[signal]
    rms, zcr = K.rms_zcr(y)
    np.testing.assert_allclose(rms, librosa.feature.rms(y=y)[0], rtol=1e-5, atol=1e-9)
    np.testing.assert_array_equal(zcr, librosa.feature.zero_crossing_rate(y)[0])


def test_rms_zcr_fall_back_when_the_frame_is_not_whole_hops():
    y = mix(1.0, seed=3)
    rms, zcr = K.rms_zcr(y, frame_length=2048, hop_length=300)
    np.testing.assert_array_equal(rms, F.rms(y=y, frame_length=2048, hop_length=300))
    np.testing.assert_array_equal(zcr, F.zero_crossing_rate(y=y, frame_length=2048, hop_length=300))


@pytest.mark.parametrize("signal", ["noise", "mix", "offset", "silence", "dc", "one"])
def test_moments_match_scipy(signal):
    y = {"noise": noise(2.0, seed=9), "mix": mix(2.0, seed=9), "offset": 1000.0 + noise(1.0, seed=2, amp=1e-3),
         "silence": np.zeros(1000, dtype=np.float32), "dc": np.full(1000, 0.7, dtype=np.float32),
         "one": np.array([0.25], dtype=np.float32)}[signal].astype(np.float32)
    got = K.moments(y)
    np.testing.assert_allclose(got, F.waveform_moments(y), rtol=1e-9, atol=1e-12)
    y64 = y.astype(np.float64)
    if signal in ("silence", "dc", "one"):
        np.testing.assert_allclose(got, [y64.mean(), 0.0, 0.0, 0.0], rtol=1e-12, atol=1e-15)
    else:
        ref = [y64.mean(), y64.var(), scipy.stats.skew(y64), scipy.stats.kurtosis(y64)]
        np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-12)


# -- tempo: the sliding-DFT tempogram ------------------------------------------------------------------
def _dense_mean_tempogram(env, win):
    """Float64 reference: librosa's tempogram by definition (linear-ramp padding, periodic Hann window,
    autocorrelation by direct sums, each frame divided by its lag-0 value) averaged over frames."""
    env = np.asarray(env, dtype=np.float32)
    padded = np.pad(env, (win // 2, win // 2), mode="linear_ramp", end_values=(0, 0)).astype(np.float64)
    w = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(win) / win)  # scipy's periodic Hann, float64
    out = np.zeros(win)
    for t in range(len(env)):
        x = padded[t : t + win] * w
        ac = np.array([x[: win - k] @ x[k:] for k in range(win)])
        out += ac / ac[0] if ac[0] >= np.finfo(np.float32).tiny else 0.0
    return out / len(env)


def _envelope(y):
    return librosa.onset.onset_strength(y=y, sr=SR).astype(np.float32)


@pytest.mark.parametrize("hop,ac_size", [(512, 8.0), (512, 3.0), (441, 2.0)])  # windows of 344, 129 (odd), 100
def test_mean_tempogram_equals_the_dense_reference(hop, ac_size):
    env = librosa.onset.onset_strength(y=mix(12.0, seed=3), sr=SR, hop_length=hop).astype(np.float32)
    win = int(int(ac_size * SR) // hop)
    got = K.mean_tempogram(env, sr=SR, hop_length=hop, ac_size=ac_size)
    assert got.shape == (win,)
    np.testing.assert_allclose(got, _dense_mean_tempogram(env, win), rtol=0, atol=1e-12)


def test_mean_tempogram_matches_librosa_across_re_anchoring():
    # 70 s of clicks: 3,015 frames, so the DFT slides through two fresh transforms (every 1,024 frames).
    env = _envelope(clicks(111.0, 70.0))
    assert len(env) > 2 * K.SLIDE_ANCHOR + 1
    ref = librosa.feature.tempogram(onset_envelope=env, sr=SR, win_length=344).mean(axis=1)  # ac_size 8 s
    got = K.mean_tempogram(env, sr=SR)
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)  # librosa's float32 autocorrelation


def test_mean_tempogram_of_silence_and_of_a_spike():
    silent = K.mean_tempogram(np.zeros(500, dtype=np.float32), sr=SR)
    assert not silent.any()
    spike = np.zeros(900, dtype=np.float32)
    spike[450] = 1.0  # frames containing only the spike: autocorrelation 1 at lag 0, 0 elsewhere
    got = K.mean_tempogram(spike, sr=SR)
    np.testing.assert_allclose(got, _dense_mean_tempogram(spike, len(got)), atol=1e-9)
    assert got[0] == pytest.approx(_dense_mean_tempogram(spike, len(got))[0], rel=1e-9)


@pytest.mark.parametrize("signal", ["mix", "clicks97", "noise", "clicks140"])
def test_tempo_kernel_is_librosas_and_features_frames(signal):
    y = {"mix": mix(15.0, seed=1), "clicks97": clicks(97.0, 20.0), "noise": noise(10.0),
         "clicks140": clicks(140.0, 30.0, seed=2)}[signal]
    env = _envelope(y)
    assert K.tempo(onset_envelope=env, sr=SR, interpolate=False) == pytest.approx(
        librosa.feature.tempo(onset_envelope=env, sr=SR)[0])
    assert K.tempo(onset_envelope=env, sr=SR) == pytest.approx(T.tempo(onset_envelope=env, sr=SR), rel=1e-7)


def test_tempo_kernel_of_silence_and_of_a_tiny_window():
    env = np.zeros(400, dtype=np.float32)
    assert K.tempo(onset_envelope=env, sr=SR) == T.prior_tempo(sr=SR)
    with pytest.raises(ValueError, match="at least 3 frames"):
        K.mean_tempogram(env, sr=SR, ac_size=0.05)
    # a window under 3 frames: the numpy path answers
    assert K.tempo(onset_envelope=env, sr=SR, ac_size=0.05) == T.tempo(onset_envelope=env, sr=SR, ac_size=0.05)
