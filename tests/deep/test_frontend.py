"""Torch front-ends against librosa: filterbanks, log-mel, STFT, MFCC and pseudo-CQT on generated audio."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import torch

from deep.frontend import (
    CQT,
    MFCC,
    LogMel,
    MelCQT,
    MelToMFCC,
    STFTdB,
    build_frontend,
    dct_matrix,
    power_to_db,
    resample_bins,
)
from features.errors import ConfigError
from features.spectrogram import SpecConfig

# Float32 STFTs in torch and numpy differ by rounding, which is relative to each signal's peak energy:
# within 60 dB of an item's peak the dB values agree to 1e-3 dB; bins 90-100 dB down (the clicks and
# sines here reach the -100 dB floor) may differ by a few hundredths of a dB.
DB_TOL = 1e-3
FLOOR_TOL = 0.1


def _assert_db_close(out: np.ndarray, ref: np.ndarray, tol: float = DB_TOL, floor_tol: float = FLOOR_TOL):
    """out, ref: (batch, bins, frames) dB. Tight within 60 dB of each item's peak, loose elsewhere."""
    assert out.shape == ref.shape
    diff = np.abs(out - ref)
    loud = ref > ref.max(axis=(1, 2), keepdims=True) - 60.0
    assert loud.mean() > 0.3  # the tight check covers a real share of the bins
    assert diff[loud].max() < tol
    assert diff.max() < floor_tol


def _signals(sr: int, seconds: float, seed: int = 0) -> np.ndarray:
    """(3, samples) float32: two sines + noise, white noise, a click train over a quiet sine."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(sr * seconds)) / sr
    sines = 0.5 * np.sin(2 * np.pi * 440 * t) + 0.3 * np.sin(2 * np.pi * 1234.5 * t)
    sines += 0.01 * rng.standard_normal(t.size)
    noise = 0.2 * rng.standard_normal(t.size)
    clicks = 0.05 * np.sin(2 * np.pi * 97 * t)
    clicks[:: sr // 7] += 0.9
    return np.stack([sines, noise, clicks]).astype(np.float32)


def _librosa_logmel(y, **kw):
    return librosa.power_to_db(librosa.feature.melspectrogram(y=y, **kw), ref=1.0, amin=1e-10, top_db=None)


@pytest.mark.parametrize(
    "settings",
    [
        dict(sr=22050, n_fft=2048, hop_length=512, n_mels=128),
        dict(sr=16000, n_fft=512, hop_length=256, n_mels=96, fmax=8000.0),
        dict(sr=32000, n_fft=800, hop_length=320, n_mels=128),  # the FMA study: odd, non-power-of-2 window
        dict(sr=12000, n_fft=2048, hop_length=1024, n_mels=96, fmin=20.0),
    ],
)
def test_logmel_matches_librosa(settings):
    y = _signals(settings["sr"], 1.3)
    front = LogMel(**settings)
    ref_basis = librosa.filters.mel(
        sr=settings["sr"], n_fft=settings["n_fft"], n_mels=settings["n_mels"],
        fmin=settings.get("fmin", 0.0), fmax=settings.get("fmax"),
    )
    assert np.array_equal(front.mel_basis.numpy(), ref_basis)

    out = front(torch.from_numpy(y)).numpy()
    ref = np.stack([_librosa_logmel(s, **settings) for s in y])
    assert out.dtype == np.float32
    assert out.shape == ref.shape == (3, settings["n_mels"], 1 + y.shape[1] // settings["hop_length"])
    _assert_db_close(out, ref)


def test_logmel_accepts_channel_axis_and_stays_float32_under_autocast():
    y = torch.from_numpy(_signals(8000, 0.5))
    front = LogMel(sr=8000, n_fft=256, hop_length=64, n_mels=32)
    plain = front(y)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        auto = front(y[:, None, :])
    assert auto.dtype == torch.float32
    assert torch.equal(plain, auto)


def test_power_to_db_matches_librosa_with_and_without_top_db():
    rng = np.random.default_rng(1)
    power = (rng.random((2, 10, 7)) ** 6).astype(np.float32)
    power[0, 0, 0] = 0.0
    t = torch.from_numpy(power)
    assert np.allclose(power_to_db(t).numpy(), librosa.power_to_db(power, top_db=None), atol=1e-4)
    for i in range(2):  # top_db is taken per batch item, as librosa does per array
        assert np.allclose(power_to_db(t, top_db=40.0)[i].numpy(), librosa.power_to_db(power[i], top_db=40.0),
                           atol=1e-4)


def test_stft_db_matches_librosa():
    y = _signals(22050, 1.0)
    out = STFTdB(n_fft=1024, hop_length=512)(torch.from_numpy(y)).numpy()
    ref = np.stack([librosa.power_to_db(np.abs(librosa.stft(s, n_fft=1024, hop_length=512)) ** 2, top_db=None)
                    for s in y])
    assert out.shape == ref.shape == (3, 513, 1 + y.shape[1] // 512)
    _assert_db_close(out, ref, floor_tol=0.5)  # single bins near -100 dB: no mel averaging of rounding


def test_dct_matrix_is_orthonormal_dct_ii():
    import scipy.fft

    x = np.random.default_rng(2).standard_normal((40, 5))
    d = dct_matrix(13, 40).astype(np.float64)
    assert np.allclose(d @ x, scipy.fft.dct(x, type=2, norm="ortho", axis=0)[:13], atol=1e-5)
    full = dct_matrix(40, 40).astype(np.float64)
    assert np.allclose(full @ full.T, np.eye(40), atol=1e-5)


def test_mfcc_matches_librosa():
    sr = 22050
    y = _signals(sr, 1.0)
    logmel = np.stack([_librosa_logmel(s, sr=sr, n_mels=128) for s in y])
    ref = np.stack([librosa.feature.mfcc(S=m, n_mfcc=20) for m in logmel])
    from_mel = MelToMFCC(n_mels=128, n_mfcc=20)(torch.from_numpy(logmel)).numpy()
    assert from_mel.shape == ref.shape == (3, 20, logmel.shape[-1])
    assert np.abs(from_mel - ref).max() < 1e-3 * np.abs(ref).max()
    from_wav = MFCC(sr=sr, n_mfcc=20)(torch.from_numpy(y)).numpy()
    # An orthonormal DCT keeps the L2 norm of the per-frame log-mel error (at most FLOOR_TOL * sqrt(128)).
    assert np.abs(from_wav - ref).max() < 0.05


def test_cqt_matches_librosa_pseudo_cqt():
    sr = 22050
    y = _signals(sr, 1.0)
    front = CQT(sr=sr, hop_length=512, n_bins=84)
    out = front(torch.from_numpy(y)).numpy()
    ref = np.stack([
        librosa.amplitude_to_db(librosa.pseudo_cqt(s, sr=sr, hop_length=512, n_bins=84), ref=1.0, amin=1e-5,
                                top_db=None)
        for s in y
    ])
    assert out.shape == ref.shape == (3, 84, 1 + y.shape[1] // 512)
    _assert_db_close(out, ref)
    # A 440 Hz sine peaks in the A4 bin (84 bins from C1: A4 is bin 45).
    assert int(np.argmax(out[0].mean(axis=1))) == 45


def _librosa_cqt_db(y, *, sr, hop_length, n_bins=84):
    return librosa.amplitude_to_db(librosa.pseudo_cqt(y, sr=sr, hop_length=hop_length, n_bins=n_bins), ref=1.0,
                                   amin=1e-5, top_db=None)


def _interp_bins(db: np.ndarray, n_bins: int) -> np.ndarray:
    """(bins, frames) -> (n_bins, frames): each frame linearly interpolated at n_bins evenly spaced positions
    from the first to the last bin (numpy's own interpolation, independent of torch's)."""
    pos = np.linspace(0, db.shape[0] - 1, n_bins)
    return np.stack([np.interp(pos, np.arange(db.shape[0]), col) for col in db.T], axis=1)


def test_resample_bins_is_linear_interpolation_keeping_the_end_bins():
    x = np.random.default_rng(3).standard_normal((2, 84, 5)).astype(np.float32)
    for n in (128, 96, 40):
        out = resample_bins(torch.from_numpy(x), n).numpy()
        assert out.shape == (2, n, 5)
        np.testing.assert_allclose(out, np.stack([_interp_bins(item, n) for item in x]), atol=1e-4)  # float32 positions
    assert torch.equal(resample_bins(torch.from_numpy(x), 84), torch.from_numpy(x))


def test_mel_cqt_channels_are_librosas_log_mel_and_its_cqt_resampled_to_the_mel_bins():
    sr, hop = 22050, 512
    y = _signals(sr, 1.0)
    out = MelCQT(sr=sr, n_fft=1024, hop_length=hop, n_mels=128)(torch.from_numpy(y)).numpy()
    frames = 1 + y.shape[1] // hop
    assert out.shape == (3, 2, 128, frames) and out.dtype == np.float32  # same hop: frames aligned
    mel = np.stack([_librosa_logmel(s, sr=sr, n_fft=1024, hop_length=hop, n_mels=128) for s in y])
    _assert_db_close(out[:, 0], mel)
    cqt = np.stack([_librosa_cqt_db(s, sr=sr, hop_length=hop) for s in y])  # (3, 84, frames)
    _assert_db_close(out[:, 1], np.stack([_interp_bins(c, 128) for c in cqt]))
    # The end bins stay C1 and B7: the 440 Hz sine's peak moves from CQT bin 45 to 45 * 127 / 83 = 68.9.
    assert int(np.argmax(out[0, 1].mean(axis=1))) == 69
    # With as many mel bands as CQT bins the CQT channel is the CQT itself.
    same = MelCQT(sr=sr, n_fft=1024, hop_length=hop, n_mels=84)(torch.from_numpy(y[:1]))
    assert torch.equal(same[:, 1], CQT(sr=sr, hop_length=hop, n_bins=84)(torch.from_numpy(y[:1])))


def test_mel_cqt_from_config_gives_the_cached_log_mel_as_channel_0():
    sc = SpecConfig(sr=16000, n_fft=512, hop_length=256, n_mels=96, fmax=8000.0, htk=True, norm=None,
                    pad_mode="reflect")
    y = torch.from_numpy(_signals(16000, 0.5))
    front = MelCQT.from_config(sc)
    out = front(y)
    assert out.shape == (3, 2, 96, 1 + y.shape[1] // 256) and front.n_bins == 96
    assert torch.equal(out[:, 0], LogMel.from_config(sc)(y))
    assert torch.equal(out[:, 1], resample_bins(CQT(sr=16000, hop_length=256)(y), 96))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        auto = front(y)
    assert auto.dtype == torch.float32 and torch.equal(auto, out)


def test_build_frontend_and_errors():
    assert build_frontend("waveform") is None
    assert isinstance(build_frontend("mel", sr=8000, n_fft=256, hop_length=64, n_mels=16), LogMel)
    with pytest.raises(ConfigError, match="unknown"):
        build_frontend("wavelet")
    with pytest.raises(ConfigError, match="n_mel"):
        build_frontend("stft", n_mel=3)
    with pytest.raises(ConfigError, match="hop_length"):
        LogMel(hop_length=0)
    with pytest.raises(ConfigError, match="Nyquist"):
        CQT(sr=8000, n_bins=96)
    with pytest.raises(ConfigError, match="samples"):
        LogMel()(torch.zeros(2, 3, 4, 5))


def test_from_config_reads_attributes_and_mappings():
    class Spec:
        sr, n_fft, hop_length, n_mels, fmin, fmax = 16000, 512, 256, 48, 0.0, 8000.0
        other = "ignored"

    a = LogMel.from_config(Spec())
    b = LogMel.from_config({"sr": 16000, "n_fft": 512, "hop_length": 256, "n_mels": 48, "fmax": 8000.0})
    assert a.mel_basis.shape == (48, 257)
    assert torch.equal(a.mel_basis, b.mel_basis)
    assert a.hop_length == 256
