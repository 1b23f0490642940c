"""The faster code paths of features.frame (issue 14) against librosa and against plain dense computations,
on the cases the general tests do not reach: pure tones on and between the 32-bin blocks of spectral_stats,
other FFT sizes (bins not a multiple of the block), roll-off percentages at the extremes, silent and DC
frames; grouped mel filterbanks against the dense product; block-wise STFT with and without an output
buffer; flatness that overwrites its input; zero-crossing rates of very short signals.

Tolerances: those of tests/features/test_frame.py (float32 round-off against librosa, 1e-5 relative; ZCR
exact); the roll-off is checked exactly against librosa's definition computed with float64 sums.
"""

import librosa
import numpy as np
import pytest

from features import frame as F
from features import tempo as T
from tests.features.signals import SR, mix, noise, sine

N_FFT, HOP = 2048, 512
DF = SR / N_FFT


def _stats_match_librosa(S, n_fft=N_FFT, roll_percent=0.85):
    d = F.spectral_stats(S=S, sr=SR, n_fft=n_fft, roll_percent=roll_percent)
    np.testing.assert_allclose(d["spectral_centroid"], librosa.feature.spectral_centroid(S=S, sr=SR, n_fft=n_fft)[0],
                               rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(d["spectral_bandwidth"],
                               librosa.feature.spectral_bandwidth(S=S, sr=SR, n_fft=n_fft)[0], rtol=1e-5, atol=1e-9)
    # librosa's definition (the first bin whose cumulative magnitude reaches roll_percent of the total) with
    # float64 sums: librosa's own float32 cumulative sum can move a crossing that lies within its round-off.
    cum = np.cumsum(S.astype(np.float64), axis=0)
    first = np.argmax(cum >= roll_percent * cum[-1], axis=0)
    np.testing.assert_array_equal(d["spectral_rolloff"], F.fft_frequencies(sr=SR, n_fft=n_fft)[first])


@pytest.mark.parametrize("freq", [20.0, 31 * DF, 32 * DF, 32.5 * DF, 64 * DF, 1000.0, 5000.0, 11000.0])
def test_spectral_stats_of_tones_on_and_between_blocks(freq):
    _stats_match_librosa(F.stft_magnitude(sine(freq, 1.0) + noise(1.0, amp=1e-4), n_fft=N_FFT, hop_length=HOP))


@pytest.mark.parametrize("n_fft", [64, 100, 512, 4096])
def test_spectral_stats_for_other_fft_sizes(n_fft):
    _stats_match_librosa(F.stft_magnitude(mix(2.0, seed=5), n_fft=n_fft, hop_length=n_fft // 4), n_fft=n_fft)


@pytest.mark.parametrize("roll_percent", [0.01, 0.3, 0.5, 0.95, 0.99])
def test_rolloff_percentages(roll_percent):
    _stats_match_librosa(F.stft_magnitude(mix(3.0, seed=7), n_fft=N_FFT, hop_length=HOP), roll_percent=roll_percent)


def test_spectral_stats_of_silence_and_dc():
    S = F.stft_magnitude(np.zeros(SR, dtype=np.float32), n_fft=N_FFT, hop_length=HOP)
    d = F.spectral_stats(S=S, sr=SR, n_fft=N_FFT)
    for v in d.values():
        np.testing.assert_array_equal(v, 0.0)
    _stats_match_librosa(F.stft_magnitude(np.full(SR, 0.3, dtype=np.float32), n_fft=N_FFT, hop_length=HOP))


@pytest.mark.parametrize("group", [1, 3, 8, 200])
def test_grouped_filterbank_product_equals_the_dense_one(group):
    S = F.stft_magnitude(mix(2.0, seed=1), n_fft=N_FFT, hop_length=HOP)
    P = S * S
    for fb in (F.mel_filterbank(sr=SR, n_fft=N_FFT, n_mels=128), F.mel_filterbank(sr=SR, n_fft=N_FFT, n_mels=40),
               np.random.default_rng(0).random((10, N_FFT // 2 + 1)).astype(np.float32) * (np.arange(1025) % 7 == 0)):
        ref = fb.astype(np.float64) @ P.astype(np.float64)
        for layout in (P, np.ascontiguousarray(P), P[:, :1]):  # frame-major, bin-major, one frame
            got = F.apply_filter_bands(F.filter_bands(fb, group=group), layout)
            assert got.shape == (len(fb), layout.shape[1]) and got.dtype == np.float32
            np.testing.assert_allclose(got, ref[:, : layout.shape[1]], rtol=1e-5, atol=1e-6 * ref.max())


@pytest.mark.parametrize("block", [1, 7, 64, 256, 10_000])
def test_stft_blocks_cover_the_spectrogram(block):
    y = mix(2.0, seed=2)
    whole = F.stft_magnitude(y, n_fft=N_FFT, hop_length=HOP)
    firsts = []
    for a, S in F.stft_blocks(y, n_fft=N_FFT, hop_length=HOP, block=block):
        firsts.append(a)
        np.testing.assert_array_equal(S, whole[:, a : a + S.shape[1]])
    assert firsts == list(range(0, whole.shape[1], block))
    out = np.empty(whole.T.shape, dtype=np.float32)
    for _ in F.stft_blocks(y, n_fft=N_FFT, hop_length=HOP, block=block, out=out):
        pass
    np.testing.assert_array_equal(out.T, whole)


def test_flatness_overwriting_its_input_gives_the_same_values():
    S = F.stft_magnitude(mix(2.0, seed=4), n_fft=N_FFT, hop_length=HOP)
    P = S * S
    ref = librosa.feature.spectral_flatness(S=S)[0]
    np.testing.assert_allclose(F.spectral_flatness(P=P), ref, rtol=1e-5)
    Q = P.copy()
    np.testing.assert_allclose(F.spectral_flatness(P=Q, overwrite_p=True), ref, rtol=1e-5)


@pytest.mark.parametrize("n", [1, 2, 3, 100, 1024, 1025, 3000])
def test_zero_crossing_rate_of_short_signals(n):
    y = mix(1.0, seed=6)[:n]
    got = F.zero_crossing_rate(y=y)
    assert len(got) == 1 + n // HOP
    if n >= 1024:  # librosa needs at least one frame's worth of padding
        np.testing.assert_array_equal(got, librosa.feature.zero_crossing_rate(y)[0])


def test_tempo_of_click_tracks_is_librosas_lag():
    from tests.features.signals import clicks

    for bpm in (70.0, 100.0, 135.0, 180.0):
        y = clicks(bpm, 12.0)
        env = librosa.onset.onset_strength(y=y, sr=SR)
        assert T.tempo(onset_envelope=env, sr=SR, interpolate=False) == pytest.approx(
            librosa.feature.tempo(onset_envelope=env, sr=SR)[0])
