"""Frame-level functions against librosa, scipy and hand computations, on seeded generated audio.

Tolerances: float32 round-off against librosa (relative 1e-5 or better) unless a line says otherwise;
roll-off and ZCR are exact; tempo is librosa's exactly without interpolation and within half a lag
with it.
"""

import librosa
import numpy as np
import pytest
import scipy.signal
import scipy.stats

from features import frame as F
from features import tempo as T
from tests.features.signals import SR, clicks, mix, noise, sine

N_FFT, HOP = 2048, 512


@pytest.fixture(scope="module")
def y():
    return mix(4.0, seed=3)


@pytest.fixture(scope="module")
def S(y):
    return F.stft_magnitude(y, n_fft=N_FFT, hop_length=HOP)


def test_stft_magnitude_matches_librosa(y, S):
    ref = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP))
    assert S.shape == ref.shape == (N_FFT // 2 + 1, 1 + len(y) // HOP)
    assert S.dtype == np.float32
    np.testing.assert_allclose(S, ref, atol=1e-5 * ref.max())


@pytest.mark.parametrize("n", [1, 100, 1025, 2048, 2049, 5000])
def test_frame_counts_follow_librosa_for_short_signals(n):
    x = noise(1.0)[:n]
    assert F.stft_magnitude(x, n_fft=N_FFT, hop_length=HOP).shape[1] == 1 + n // HOP
    assert len(F.rms(y=x)) == len(F.zero_crossing_rate(y=x)) == 1 + n // HOP


def test_time_domain_features_match_librosa(y):
    np.testing.assert_allclose(F.rms(y=y), librosa.feature.rms(y=y)[0], rtol=1e-5, atol=1e-9)
    np.testing.assert_array_equal(F.zero_crossing_rate(y=y), librosa.feature.zero_crossing_rate(y)[0])
    # A frame_length that is not a multiple of the hop takes the other code path.
    np.testing.assert_allclose(F.rms(y=y, frame_length=1000, hop_length=300),
                               librosa.feature.rms(y=y, frame_length=1000, hop_length=300)[0], rtol=1e-5, atol=1e-9)


def test_zcr_counts_a_hand_built_square_wave():
    # Period 8 samples: 2 crossings every 8 samples; a frame of 2048 holds 2047 pairs.
    x = np.tile(np.r_[np.ones(4), -np.ones(4)], 2000).astype(np.float32)
    z = F.zero_crossing_rate(y=x)
    assert z[5] == pytest.approx(511 / 2048, abs=1 / 2048)


def test_spectral_stats_match_librosa(y, S):
    d = F.spectral_stats(S=S, sr=SR, n_fft=N_FFT)
    np.testing.assert_allclose(d["spectral_centroid"], librosa.feature.spectral_centroid(S=S, sr=SR)[0], rtol=1e-5)
    np.testing.assert_allclose(d["spectral_bandwidth"], librosa.feature.spectral_bandwidth(S=S, sr=SR)[0], rtol=1e-5)
    np.testing.assert_array_equal(d["spectral_rolloff"], librosa.feature.spectral_rolloff(S=S, sr=SR)[0])
    d = F.spectral_stats(S=S, sr=SR, n_fft=N_FFT, roll_percent=0.3)
    np.testing.assert_array_equal(d["spectral_rolloff"],
                                  librosa.feature.spectral_rolloff(S=S, sr=SR, roll_percent=0.3)[0])


def test_sine_puts_centroid_and_rolloff_at_its_frequency():
    for f in (440.0, 1234.0, 5000.0):
        S = F.stft_magnitude(sine(f, 1.0), n_fft=N_FFT, hop_length=HOP)
        d = F.spectral_stats(S=S, sr=SR, n_fft=N_FFT)
        mid = slice(4, -4)  # away from the zero-padded edges
        assert np.median(d["spectral_centroid"][mid]) == pytest.approx(f, rel=0.01)
        assert np.median(d["spectral_rolloff"][mid]) == pytest.approx(f, abs=2 * SR / N_FFT)
        assert np.median(d["spectral_bandwidth"][mid]) < 100.0  # a pure tone is narrow


def test_flatness_matches_librosa_and_separates_noise_from_tone(y, S):
    np.testing.assert_allclose(F.spectral_flatness(P=S * S), librosa.feature.spectral_flatness(S=S)[0], rtol=1e-5)
    white = F.stft_magnitude(noise(2.0), n_fft=N_FFT, hop_length=HOP)
    tone = F.stft_magnitude(sine(1000.0, 2.0), n_fft=N_FFT, hop_length=HOP)
    # White noise: |X|^2 is exponential, whose flatness is exp(-euler_gamma) = 0.56; a tone is ~0.
    assert np.median(F.spectral_flatness(P=white**2)) == pytest.approx(np.exp(-np.euler_gamma), abs=0.03)
    assert np.median(F.spectral_flatness(P=tone**2)) < 1e-3


def test_contrast_matches_librosa(S):
    ref = librosa.feature.spectral_contrast(S=S, sr=SR)
    got = F.spectral_contrast(S=S, sr=SR, n_fft=N_FFT)
    assert got.shape == ref.shape == (7, S.shape[1])
    np.testing.assert_allclose(got, ref, atol=1e-3)
    ref = librosa.feature.spectral_contrast(S=S, sr=SR, n_bands=4, fmin=300.0, quantile=0.05)
    got = F.spectral_contrast(S=S, sr=SR, n_fft=N_FFT, n_bands=4, fmin=300.0, quantile=0.05)
    np.testing.assert_allclose(got, ref, atol=1e-3)


def test_contrast_is_high_for_a_tone_and_low_for_noise():
    tone = F.stft_magnitude(sine(1000.0, 2.0), n_fft=N_FFT, hop_length=HOP)
    white = F.stft_magnitude(noise(2.0), n_fft=N_FFT, hop_length=HOP)
    band = 3  # 800-1600 Hz holds the tone
    assert np.median(F.spectral_contrast(S=tone, sr=SR, n_fft=N_FFT)[band]) > 40.0
    assert np.median(F.spectral_contrast(S=white, sr=SR, n_fft=N_FFT)[band]) < 25.0


@pytest.mark.parametrize("tuning", [0.0, 0.2])
def test_chroma_matches_librosa(S, tuning):
    P = S * S
    assert F.frame_major(P) and not F.frame_major(np.ascontiguousarray(P))
    ref = librosa.feature.chroma_stft(S=P, sr=SR, tuning=tuning)
    for layout in (P, np.ascontiguousarray(P)):  # the product runs in either layout
        np.testing.assert_allclose(F.chroma(P=layout, sr=SR, n_fft=N_FFT, tuning=tuning), ref, atol=1e-5)


def test_chroma_of_a440_peaks_on_a_and_estimate_tuning_is_librosas():
    x = sine(440.0, 2.0)
    P = F.stft_magnitude(x, n_fft=N_FFT, hop_length=HOP) ** 2
    c = F.chroma(P=P, sr=SR, n_fft=N_FFT)
    assert int(np.argmax(c.mean(axis=1))) == 9  # C=0 ... A=9
    assert F.estimate_tuning(P=P, sr=SR, n_fft=N_FFT) == librosa.estimate_tuning(S=P, sr=SR, n_fft=N_FFT)


def test_mel_mfcc_and_onset_match_librosa(y, S):
    P = S * S
    mel = F.mel_power(P=P, sr=SR, n_fft=N_FFT)
    ref_mel = librosa.feature.melspectrogram(S=P, sr=SR)
    np.testing.assert_allclose(mel, ref_mel, rtol=1e-4, atol=1e-6 * ref_mel.max())
    db = F.power_to_db(mel)
    np.testing.assert_allclose(db, librosa.power_to_db(ref_mel), atol=1e-3)
    ref_mfcc = librosa.feature.mfcc(y=y, sr=SR, n_mfcc=20)
    np.testing.assert_allclose(F.mfcc(S_db=db, n_mfcc=20), ref_mfcc, atol=2e-3)
    np.testing.assert_allclose(F.onset_strength(S_db=db), librosa.onset.onset_strength(y=y, sr=SR), atol=1e-4)


def test_delta_matches_librosa_and_handles_short_inputs(y):
    M = librosa.feature.mfcc(y=y, sr=SR, n_mfcc=5)
    for order in (1, 2):
        np.testing.assert_allclose(F.delta(M, order=order), librosa.feature.delta(M, order=order), atol=1e-5)
    short = M[:, :5]
    np.testing.assert_allclose(F.delta(short), librosa.feature.delta(short, width=5), atol=1e-5)
    assert not F.delta(M[:, :2]).any()


def test_tempo_without_interpolation_is_librosas(y):
    for x in (y, clicks(97.0, 10.0), noise(6.0)):
        env = librosa.onset.onset_strength(y=x, sr=SR)
        assert T.tempo(onset_envelope=env, sr=SR, interpolate=False) == pytest.approx(
            librosa.feature.tempo(onset_envelope=env, sr=SR)[0]
        )


@pytest.mark.parametrize("bpm", [75.0, 100.0, 120.0, 140.0, 160.0])
def test_click_train_tempo_within_2_bpm(bpm):
    x = clicks(bpm, 12.0)
    S = F.stft_magnitude(x, n_fft=N_FFT, hop_length=HOP)
    env = F.onset_strength(S_db=F.power_to_db(F.mel_power(P=S * S, sr=SR, n_fft=N_FFT)))
    got = T.tempo(onset_envelope=env, sr=SR)
    assert got == pytest.approx(bpm, abs=2.0)
    # librosa's integer-lag answer is within half a lag of ours
    lag = 60.0 * SR / (HOP * bpm)
    assert abs(got - librosa.feature.tempo(onset_envelope=env, sr=SR)[0]) <= bpm / lag * 0.6 + 1e-6


def test_silence_tempo_is_the_prior_lag():
    env = np.zeros(400, dtype=np.float32)
    got = T.tempo(onset_envelope=env, sr=SR)
    assert got == T.prior_tempo(sr=SR) == pytest.approx(librosa.feature.tempo(onset_envelope=env, sr=SR)[0])


def test_waveform_moments_match_scipy():
    x = mix(2.0, seed=5) + 0.05
    got = F.waveform_moments(x)
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(got, [x64.mean(), x64.var(), scipy.stats.skew(x64), scipy.stats.kurtosis(x64)],
                               rtol=1e-9)
    np.testing.assert_array_equal(F.waveform_moments(np.full(100, 0.25, np.float32)), [0.25, 0.0, 0.0, 0.0])


def test_aggregate_matches_numpy_and_scipy():
    X = np.random.default_rng(1).gamma(2.0, size=(4, 300))
    X[3] = 7.0  # a constant row
    stats = ("mean", "std", "min", "max", "median", "skew", "kurt")
    got = F.aggregate(X, stats)
    V = X[:3]
    ref = np.stack([V.mean(1), V.std(1), V.min(1), V.max(1), np.median(V, 1),
                    scipy.stats.skew(V, axis=1), scipy.stats.kurtosis(V, axis=1)], axis=1)
    np.testing.assert_allclose(got[:3], ref, rtol=1e-10)
    np.testing.assert_array_equal(got[3], [7.0, 0.0, 7.0, 7.0, 7.0, 0.0, 0.0])


def test_hann_window_is_scipys_periodic_hann():
    np.testing.assert_allclose(F.hann_window(1024), scipy.signal.get_window("hann", 1024, fftbins=True), atol=1e-7)


def test_silence_gives_finite_documented_values():
    z = np.zeros(SR, dtype=np.float32)
    S = F.stft_magnitude(z, n_fft=N_FFT, hop_length=HOP)
    d = F.spectral_stats(S=S, sr=SR, n_fft=N_FFT)
    assert all(not v.any() for v in d.values())
    np.testing.assert_allclose(F.spectral_flatness(P=S * S), 1.0, rtol=1e-5)
    assert not F.chroma(P=S * S, sr=SR, n_fft=N_FFT).any()
    assert not F.spectral_contrast(S=S, sr=SR, n_fft=N_FFT).any()
    db = F.power_to_db(F.mel_power(P=S * S, sr=SR, n_fft=N_FFT))
    np.testing.assert_allclose(db, -100.0, rtol=1e-6)
    np.testing.assert_allclose(F.mfcc(S_db=db)[0], -100.0 * np.sqrt(128), rtol=1e-5)
    np.testing.assert_allclose(F.mfcc(S_db=db)[1:], 0.0, atol=1e-3)


@pytest.mark.parametrize("n", [1, 511, 2047, 2049, 4095, 33333])
@pytest.mark.parametrize("frame_length, hop_length", [(2048, 512), (1024, 256), (2048, 2048), (1000, 300)])
def test_zcr_is_exact_for_any_length_and_hop(n, frame_length, hop_length):
    x = np.random.default_rng(n).standard_normal(n).astype(np.float32)
    x[np.random.default_rng(n + 1).random(n) < 0.05] = 0.0  # exact zeros count as positive
    np.testing.assert_array_equal(
        F.zero_crossing_rate(y=x, frame_length=frame_length, hop_length=hop_length),
        librosa.feature.zero_crossing_rate(x, frame_length=frame_length, hop_length=hop_length)[0],
    )
