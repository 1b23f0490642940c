"""features.extract against the naive librosa computation (one librosa call per feature, from the audio).

Stated tolerances, column by column (also in features.extract's docstring):
  moments 1e-6 relative (float32 audio, float64 sums); zcr exact; rms 1e-5 relative;
  spectral centroid and bandwidth 1e-5 relative or 0.01 Hz; roll-off 1e-6 relative (the same bins);
  flatness 1e-4 relative; contrast 0.05 dB (a valley can be the smallest of a few noise-floor bins,
  where float32 FFT round-off shows); chroma 1e-5 (with the same tuning); mfcc 2e-3;
  tempo within half a lag of librosa's integer-lag value (ours is interpolated between lags).
The tone carries a -80 dB noise floor: on a mathematically pure tone the bins far from it hold only
float32 round-off of the FFT, which differs between FFT libraries and sets the bandwidth (a few percent).
"""

import logging

import librosa
import numpy as np
import pandas as pd
import pytest
import scipy.stats

import features
from features import ExcerptConfig, FeatureConfig
from features.errors import ConfigError
from features.extract import compute
from tests.features.signals import SR, mix, noise, sine, table, write

TOL = {  # prefix: (rtol, atol)
    "moment": (1e-6, 1e-12),
    "zcr": (0.0, 1e-12),
    "rms": (1e-5, 1e-9),
    "spectral_centroid": (1e-5, 1e-2),
    "spectral_bandwidth": (1e-5, 1e-2),
    "spectral_rolloff": (1e-6, 1e-6),
    "spectral_flatness": (1e-4, 1e-9),
    "spectral_contrast": (0.0, 5e-2),
    "chroma": (0.0, 1e-5),
    "mfcc": (0.0, 2e-3),
}


def naive(y, sr=SR, tuning=0.0):
    """The tutorial's computation: one librosa call per feature, each from the audio; mean and std."""
    out = {}
    y64 = y.astype(np.float64)
    out.update(moment_mean=y64.mean(), moment_var=y64.var(), moment_skew=scipy.stats.skew(y64),
               moment_kurt=scipy.stats.kurtosis(y64))

    def put(name, X):
        for i, row in enumerate(X):
            base = name if len(X) == 1 else f"{name}_{i + 1:02d}"
            out[f"{base}_mean"], out[f"{base}_std"] = row.mean(), row.std()

    put("zcr", librosa.feature.zero_crossing_rate(y))
    put("rms", librosa.feature.rms(y=y))
    out["tempo"] = librosa.feature.tempo(y=y, sr=sr)[0]
    put("mfcc", librosa.feature.mfcc(y=y, sr=sr, n_mfcc=20))
    put("chroma", librosa.feature.chroma_stft(y=y, sr=sr, tuning=tuning))
    put("spectral_centroid", librosa.feature.spectral_centroid(y=y, sr=sr))
    put("spectral_bandwidth", librosa.feature.spectral_bandwidth(y=y, sr=sr))
    put("spectral_contrast", librosa.feature.spectral_contrast(y=y, sr=sr))
    put("spectral_rolloff", librosa.feature.spectral_rolloff(y=y, sr=sr))
    put("spectral_flatness", librosa.feature.spectral_flatness(y=y))
    return pd.Series(out)


def assert_matches_naive(got: pd.Series, ref: pd.Series, sr=SR, hop=512):
    assert set(got.index) == set(ref.index)
    for col in ref.index:
        if col == "tempo":
            lag = 60.0 * sr / (hop * ref[col])
            assert abs(got[col] - ref[col]) <= 0.5 * ref[col] / (lag - 0.5) + 1e-9, (got[col], ref[col])
            continue
        rtol, atol = next(v for k, v in TOL.items() if col.startswith(k))
        assert got[col] == pytest.approx(ref[col], rel=rtol, abs=atol), col


@pytest.mark.parametrize("signal", ["mix", "noise", "sine"])
def test_every_column_matches_the_naive_librosa_computation(signal):
    signals = {"mix": lambda: mix(6.0, seed=11), "noise": lambda: noise(4.0, seed=2),
               "sine": lambda: sine(523.25, 4.0) + noise(4.0, amp=1e-4)}
    y = signals[signal]()
    cfg = FeatureConfig()
    got = pd.Series(compute(y, cfg)[0], index=cfg.columns())
    assert_matches_naive(got, naive(y))


def test_extract_on_a_table_matches_compute_and_keeps_table_order(tmp_path):
    sig = {"b": mix(3.0, seed=1), "a": noise(3.0, seed=4), "c": sine(300.0, 3.0)}
    t = table(tmp_path, sig)
    df = features.extract(t, n_jobs=1, cache=False, progress=False)
    assert list(df.index) == ["b", "a", "c"] and df.index.name == "track_id"
    assert list(df.columns) == FeatureConfig().columns()
    assert (df.dtypes == np.float64).all()
    for tid, y in sig.items():
        # extract() pins BLAS to one thread; float32 reductions under another thread count differ in the
        # last bits (2e-6 relative on chroma_02_std of the noise clip with numpy 2.4 / librosa 0.11).
        np.testing.assert_allclose(df.loc[tid].to_numpy(), compute(y)[0], rtol=1e-5, atol=1e-12)
    assert_matches_naive(df.loc["b"], naive(sig["b"]))


def test_tuning_estimate_reproduces_librosas_default_chroma():
    y = sine(450.0, 3.0) + noise(3.0, amp=0.01)
    cfg = FeatureConfig(tuning="estimate", groups=("chroma",))
    got = pd.Series(compute(y, cfg)[0], index=cfg.columns())
    chroma = librosa.feature.chroma_stft(y=y, sr=SR)  # tuning=None: librosa estimates it
    np.testing.assert_allclose(got[[f"chroma_{i:02d}_mean" for i in range(1, 13)]], chroma.mean(axis=1), atol=1e-5)


def test_parallel_workers_give_identical_results(tmp_path):
    t = table(tmp_path, {f"t{i}": mix(2.0, seed=i) for i in range(5)})
    serial = features.extract(t, n_jobs=1, cache=False, progress=False)
    par = features.extract(t, n_jobs=2, cache=False, progress=False)
    pd.testing.assert_frame_equal(serial, par)


def test_undecodable_short_and_silent_files(tmp_path, caplog):
    t = table(tmp_path, {"good": mix(3.0), "silent": np.zeros(3 * SR, np.float32), "short": noise(1.0)[:300]})
    (tmp_path / "junk.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk")
    extra = pd.DataFrame({"track_id": ["junk", "gone"], "path": [str(tmp_path / "junk.wav"), str(tmp_path / "no.wav")]})
    t = pd.concat([t.iloc[:1], extra, t.iloc[1:]], ignore_index=True)
    with caplog.at_level(logging.WARNING, logger="features.extract"):
        df = features.extract(t, n_jobs=2, cache=False, progress=False)
    assert list(df.index) == ["good", "silent", "short"]
    sk = df.attrs["skipped"]
    assert list(sk.columns) == ["path", "stage", "reason"]
    assert list(sk["path"]) == [str(tmp_path / "junk.wav"), str(tmp_path / "no.wav")]
    assert set(sk["stage"]) == {"features"}
    assert "file not found" in sk["reason"].iloc[1] and "corrupt" in sk["reason"].iloc[0]
    assert "junk.wav" in caplog.text and "no.wav" in caplog.text
    assert df.attrs["padded"] == ["short"]
    assert np.isfinite(df.to_numpy()).all()
    silent = df.loc["silent"]
    assert silent["spectral_centroid_mean"] == 0 and silent["rms_mean"] == 0 and silent["moment_kurt"] == 0
    assert silent["spectral_flatness_mean"] == pytest.approx(1.0, abs=1e-5)
    # the frame's attrs survive pandas operations that compare them
    assert pd.concat([df.iloc[:1], df.iloc[1:]]).shape == df.shape


def test_excerpt_mode_rows_are_the_excerpts_features(tmp_path):
    y = mix(10.0, seed=8)
    t = table(tmp_path, {"x": y, "y": mix(4.0, seed=9)})
    ex = ExcerptConfig(3.0, 0.5)
    df = features.extract(t, n_jobs=1, cache=False, excerpts=ex, progress=False)
    assert df.index.names == ["track_id", "excerpt"]
    starts = ex.starts(len(y), SR, 512)
    assert len(df.loc["x"]) == len(starts) == 5 and len(df.loc["y"]) == 1
    assert list(df.loc["x"].index) == list(range(5))
    n = int(3.0 * SR)
    S = np.abs(librosa.stft(y))  # the whole clip's STFT: excerpts are slices of its frames
    for e, s in enumerate(starts):
        row = df.loc[("x", e)]
        seg = y[s : s + n].astype(np.float64)
        assert row["moment_var"] == pytest.approx(seg.var(), rel=1e-6)
        assert row["moment_skew"] == pytest.approx(scipy.stats.skew(seg), rel=1e-6)
        t0 = s // 512
        Se = S[:, t0 : t0 + 1 + n // 512]
        mfcc = librosa.feature.mfcc(S=librosa.power_to_db(librosa.feature.melspectrogram(S=Se**2, sr=SR)))
        np.testing.assert_allclose(row[[f"mfcc_{i:02d}_mean" for i in range(1, 21)]], mfcc.mean(axis=1), atol=2e-3)
        cen = librosa.feature.spectral_centroid(S=Se, sr=SR)
        assert row["spectral_centroid_std"] == pytest.approx(cen.std(), rel=1e-5)
        # against the features of the cut-out excerpt: only the frames at its edges differ
        alone = pd.Series(compute(y[s : s + n])[0], index=df.columns)
        assert row["spectral_centroid_mean"] == pytest.approx(alone["spectral_centroid_mean"], rel=0.03)
    assert df.loc["x"]["moment_var"].nunique() == 5


def test_feature_sets_are_subsets_of_the_full_matrix(tmp_path):
    t = table(tmp_path, {"a": mix(2.0, seed=3)})
    full = features.extract(t, n_jobs=1, cache=False, progress=False)
    mf = features.extract(t, "mfcc", n_jobs=1, cache=False, progress=False)
    assert mf.shape == (1, 40)
    pd.testing.assert_frame_equal(mf, full[mf.columns])


def test_bad_arguments_are_rejected_with_the_reason(tmp_path):
    t = table(tmp_path, {"a": noise(1.0)})
    with pytest.raises(ConfigError, match="backend='torch' is unknown"):
        features.extract(t, backend="torch")
    with pytest.raises(ConfigError, match="lacks column"):
        features.extract(t.drop(columns="path"))
    with pytest.raises(ConfigError, match="appears more than once"):
        features.extract(pd.concat([t, t]))
    with pytest.raises(ConfigError, match="n_jobs=0"):
        features.extract(t, n_jobs=0)
    with pytest.raises(ConfigError, match="have no path"):
        features.extract(pd.DataFrame({"track_id": ["a"], "path": [None]}))
    with pytest.raises(ConfigError, match="feature set 'tiny'"):
        features.extract(t, "tiny")


def test_empty_table_gives_an_empty_matrix_with_the_columns():
    df = features.extract(pd.DataFrame({"track_id": [], "path": []}), cache=False, progress=False)
    assert df.shape == (0, len(FeatureConfig().columns()))
    assert len(df.attrs["skipped"]) == 0


def test_resampling_and_stereo_files_are_decoded_to_the_config_rate(tmp_path):
    y = mix(3.0, seed=4)
    p = write(tmp_path / "st.flac", np.stack([y, y], axis=1), subtype="PCM_24")
    q = tmp_path / "hi.wav"
    y44 = librosa.resample(y, orig_sr=SR, target_sr=44100)
    write(q, y44, sr=44100)
    df = features.extract(pd.DataFrame({"track_id": ["st", "hi"], "path": [str(p), str(q)]}), n_jobs=1, cache=False,
                          progress=False)
    ref = compute(y)[0]
    cols = list(df.columns)
    i = cols.index("spectral_centroid_mean")
    assert df.loc["st"].iloc[i] == pytest.approx(ref[i], rel=1e-4)
    back = compute(librosa.resample(y44, orig_sr=44100, target_sr=SR, res_type="soxr_hq"))[0]
    assert df.loc["hi"].iloc[i] == pytest.approx(back[i], rel=1e-3)
