"""FeatureExtractor: the scikit-learn contract, the input forms, the cache, and a grid search with SMOTE.

scikit-learn's estimator checks that apply are run explicitly (`DATA_FREE_CHECKS`): they exercise the
constructor, get_params / set_params, clone, repr, tags and the unfitted errors. The others feed random
numeric matrices to fit / transform, which a transformer of audio paths cannot take, so they do not
apply as written; the ones whose property still makes sense are restated here on audio files:

- fit returns self, idempotent fit, pickling, sample order and subset invariance, transform leaving
  the estimator's __dict__ unchanged, set_output(transform="pandas"), get_feature_names_out:
  restated in `test_contract_on_audio` and `test_set_output_pandas` below.
- not applicable at all: every check on numeric / sparse / NaN / dtype / complex / 1-D-vs-2-D input
  (check_estimators_dtypes, check_fit2d_*, check_fit1d, check_estimator_sparse_*, check_estimators_nan_inf,
  check_complex_data, check_dtype_object, check_f_contiguous_array_estimator, check_readonly_memmap_input,
  check_transformer_preserve_dtypes, check_n_features_in*, check_dataframe_column_names_consistency:
  the input is paths, there is no n_features_in_), check_transformer_general / _data_not_an_array
  (numeric fit-transform equalities), sample weights (none taken), check_param_validation (the
  settings are validated by FeatureConfig, raising ConfigError, a ValueError, in fit), array API and
  polars output checks (numpy/pandas output only).
"""

from __future__ import annotations

import logging
import pickle

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from imblearn.pipeline import Pipeline
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import StandardScaler
from sklearn.utils import estimator_checks as checks

from features import FeatureConfig, FeatureExtractor, extract
from features.errors import AudioLoadError, ConfigError
from features.transformer import CONFIG_PARAMS
from resampling import get_sampler

SR = 22050
FAST = {"groups": ("rms", "zcr", "spectral_centroid", "mfcc"), "n_mfcc": 8}

DATA_FREE_CHECKS = [
    checks.check_estimator_cloneable,
    checks.check_estimator_repr,
    checks.check_no_attributes_set_in_init,
    checks.check_parameters_default_constructible,
    checks.check_get_params_invariance,
    checks.check_set_params,
    checks.check_do_not_raise_errors_in_init_or_set_params,
    checks.check_estimator_tags_renamed,
    checks.check_valid_tag_types,
    checks.check_mixin_order,
    checks.check_transformers_unfitted,
    checks.check_get_feature_names_out_error,
]


def clips(folder, n0=10, n1=6, seconds=1.0):
    """Seeded 1-s clips: class 0 tones (200-400 Hz), class 1 noise bursts; (paths, labels)."""
    rng = np.random.default_rng(0)
    t = np.arange(int(SR * seconds)) / SR
    paths, labels = [], []
    for k in range(n0 + n1):
        label = int(k >= n0)
        if label == 0:
            y = 0.4 * np.sin(2 * np.pi * rng.uniform(200, 400) * t) + 0.01 * rng.standard_normal(t.size)
        else:
            y = 0.2 * rng.standard_normal(t.size) * (1 + np.sin(2 * np.pi * rng.uniform(2, 6) * t))
        path = folder / f"clip{k:02d}.wav"
        sf.write(path, y.astype(np.float32), SR)
        paths.append(str(path))
        labels.append(label)
    return paths, np.array(labels)


@pytest.fixture(scope="module")
def audio(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clips")
    return clips(folder)


@pytest.mark.parametrize("check", DATA_FREE_CHECKS, ids=lambda c: c.__name__)
def test_sklearn_checks_that_apply(check):
    check("FeatureExtractor", FeatureExtractor())


def test_params_are_feature_config_fields():
    params = FeatureExtractor().get_params()
    defaults = FeatureConfig().to_dict()
    assert set(CONFIG_PARAMS) == set(defaults)
    assert set(params) == set(CONFIG_PARAMS) | {"backend", "n_jobs", "cache", "cache_dir"}
    for name in CONFIG_PARAMS:
        value = params[name]
        assert (list(value) if isinstance(value, tuple) else value) == defaults[name], name
    cfg = FeatureConfig(n_mfcc=13, stats=("mean",))
    assert FeatureExtractor.from_config(cfg, cache=False).feature_config() == cfg
    assert clone(FeatureExtractor(n_mfcc=13)).set_params(n_fft=1024).get_params()["n_fft"] == 1024


def test_invalid_settings_fail_in_fit_not_init(audio):
    paths, _ = audio
    fx = FeatureExtractor(n_mfcc=500)  # more MFCCs than mel bands: stored as given
    assert fx.n_mfcc == 500
    with pytest.raises(ConfigError, match="n_mfcc"):
        fx.fit(paths)
    with pytest.raises(ConfigError, match="backend"):
        FeatureExtractor(backend="nope").fit(paths)
    with pytest.raises(NotFittedError):
        FeatureExtractor().transform(paths)


@pytest.mark.parametrize("bad", ["one.wav", [], [1, 2], np.zeros((2, 3), dtype=object),
                                 pd.DataFrame({"a": [1], "b": [2]})])
def test_bad_inputs_are_named(bad):
    with pytest.raises(ConfigError, match="path"):
        FeatureExtractor().fit(bad)


def test_contract_on_audio(audio, tmp_path):
    paths, _ = audio
    fx = FeatureExtractor(**FAST, cache_dir=tmp_path)
    assert fx.fit(paths) is fx
    names = fx.get_feature_names_out()
    assert list(names) == FeatureConfig(**FAST).columns()
    state = {k: v for k, v in fx.__dict__.items()}
    X = fx.transform(paths)
    assert X.shape == (len(paths), len(names)) and X.dtype == np.float64 and np.isfinite(X).all()
    assert fx.__dict__.keys() == state.keys() and all(fx.__dict__[k] is state[k] for k in state)
    np.testing.assert_array_equal(fx.fit(paths).transform(paths), X)  # idempotent fit
    order = np.random.default_rng(1).permutation(len(paths))
    np.testing.assert_array_equal(fx.transform([paths[i] for i in order]), X[order])  # order invariance
    np.testing.assert_array_equal(fx.transform(paths[3:7]), X[3:7])  # subset invariance
    np.testing.assert_array_equal(fx.transform([paths[2], paths[2]]), X[[2, 2]])  # repeated paths
    table = pd.DataFrame({"track_id": [f"t{i}" for i in range(len(paths))], "path": paths})
    np.testing.assert_array_equal(fx.transform(table), X)  # a TrackTable
    np.testing.assert_array_equal(fx.transform(np.array(paths, dtype=object)[:, None]), X)  # a 1-column array
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(fx)).transform(paths), X)
    np.testing.assert_array_equal(FeatureExtractor(**FAST, cache=False).fit_transform(paths), X)


def test_set_output_pandas(audio, tmp_path):
    paths, _ = audio
    fx = FeatureExtractor(**FAST, cache_dir=tmp_path).set_output(transform="pandas")
    s = pd.Series(paths[:4], index=["d", "c", "b", "a"])
    df = fx.fit_transform(s)
    assert isinstance(df, pd.DataFrame)
    assert list(df.columns) == list(fx.get_feature_names_out())
    assert list(df.index) == ["d", "c", "b", "a"]
    np.testing.assert_array_equal(df.to_numpy(), fx.set_output(transform="default").transform(paths[:4]))


def test_undecodable_file_raises_naming_it(audio, tmp_path):
    paths, _ = audio
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"not audio at all")
    with pytest.raises(AudioLoadError, match="broken.wav") as info:
        FeatureExtractor(**FAST, cache_dir=tmp_path).fit_transform([paths[0], str(broken)])
    assert "1 of 2 file(s)" in str(info.value)


def test_grid_search_with_smote_reuses_the_cache(audio, tmp_path, caplog):
    paths, y = audio
    cache_dir = tmp_path / "cache"
    pipe = Pipeline([
        ("features", FeatureExtractor(groups=("mfcc", "rms", "zcr"), cache_dir=cache_dir)),
        ("scale", StandardScaler()),
        ("smote", get_sampler("smote", random_state=0)),
        ("model", LogisticRegression(max_iter=1000)),
    ])
    search = GridSearchCV(pipe, param_grid={"features__n_mfcc": [13, 20]}, cv=2).fit(paths, y)
    assert search.best_params_["features__n_mfcc"] in (13, 20)
    assert search.best_estimator_.predict(paths).shape == (len(paths),)
    assert len(search.best_estimator_.named_steps["features"].get_feature_names_out()) == 2 * search.best_params_[
        "features__n_mfcc"] + 4
    assert any(cache_dir.rglob("*")), "the grid search wrote no feature cache"
    # Every file was computed once per n_mfcc during the search: transforming them again reads the cache.
    for n_mfcc in (13, 20):
        fx = FeatureExtractor(groups=("mfcc", "rms", "zcr"), n_mfcc=n_mfcc, cache_dir=cache_dir)
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="features.extract"):
            fx.fit_transform(paths)
        assert f"{len(paths)} tracks, {len(paths)} from cache, 0 to compute" in caplog.text
        table = pd.DataFrame({"track_id": [str(i) for i in range(len(paths))], "path": paths})
        stats = extract(table, fx.feature_config(), n_jobs=1, cache_dir=cache_dir, progress=False).attrs["cache"]
        assert stats["hits"] == len(paths) and stats["computed"] == 0
