"""`FeatureExtractor`: the hand-crafted feature matrix as a scikit-learn transformer.

Its parameters are `FeatureConfig`'s fields plus `extract`'s back-end, worker and cache settings, so
``GridSearchCV(pipe, {"features__n_mfcc": [13, 20]})`` varies a feature setting like any other
hyper-parameter. Its input is a sequence of audio paths (list, array, Series) or a DataFrame with a
``path`` column (a TrackTable); its output has one row per input, in the input's order, and the
columns of `FeatureConfig.columns()`. Features come from `features.extract`, so they are read from
and written to the same on-disk cache: the folds of a grid search compute each file once per config.
"""

from __future__ import annotations

import os
from dataclasses import fields

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from features.config import FEATURE_GROUPS, FeatureConfig
from features.errors import AudioLoadError, ConfigError
from features.extract import extract

__all__ = ["FeatureExtractor", "CONFIG_PARAMS"]

#: The FeatureExtractor parameters that are FeatureConfig fields, in FeatureConfig's order.
CONFIG_PARAMS = tuple(f.name for f in fields(FeatureConfig))


def as_paths(X) -> list[str]:
    """The audio paths of `X`: a sequence of str / PathLike, a 1-column 2-D array, or a DataFrame with `path`."""
    if isinstance(X, pd.DataFrame):
        if "path" in X.columns:
            X = X["path"]
        elif X.shape[1] == 1:
            X = X.iloc[:, 0]
        else:
            raise ConfigError(f"a DataFrame input needs a 'path' column (a TrackTable); it has {list(X.columns)[:5]}")
    if isinstance(X, (str, bytes, os.PathLike)):
        raise ConfigError("X must be a sequence of audio paths, not a single path: wrap it in a list")
    if isinstance(X, np.ndarray) and X.ndim == 2 and X.shape[1] == 1:
        X = X[:, 0]
    if isinstance(X, np.ndarray) and X.ndim != 1:
        raise ConfigError(f"X must be a 1-D sequence of audio paths, got an array of shape {X.shape}")
    try:
        items = list(X)
    except TypeError:
        raise ConfigError(f"X must be a sequence of audio paths, got {type(X).__name__}") from None
    bad = [p for p in items if not isinstance(p, (str, os.PathLike))]
    if bad:
        raise ConfigError(f"X must hold audio paths (str or os.PathLike); got {type(bad[0]).__name__} {bad[0]!r}")
    if not items:
        raise ConfigError("X holds no path (0 samples); FeatureExtractor needs at least one audio file")
    return [os.fspath(p) for p in items]


class FeatureExtractor(TransformerMixin, BaseEstimator):
    """Audio paths -> hand-crafted feature matrix (n_items, n_features), cached as `features.extract` caches.

    Parameters: every `FeatureConfig` field (sr, n_fft, hop_length, n_mfcc, ..., groups, offset,
    duration; see its docstring), and backend ('librosa' or 'essentia'), n_jobs (worker processes,
    -1: one per core), cache (read and write the on-disk feature cache), cache_dir (default
    $MIRBENCH_CACHE or ./.cache/mirbench). ``fit`` checks the settings and learns nothing from the
    data; ``transform`` returns float64 rows in the order of X. A file that cannot be decoded (or
    gives non-finite features) raises AudioLoadError naming every such file: a transformer must
    return one row per input, and NaN rows would only fail later, further from their cause.

    Attributes after fit: ``config_`` (the FeatureConfig), ``feature_names_out_`` (column names).

    >>> import tempfile, numpy as np, soundfile as sf
    >>> from features import FeatureExtractor
    >>> tmp = tempfile.mkdtemp()
    >>> t = np.arange(22050) / 22050
    >>> paths = [f"{tmp}/{hz}.wav" for hz in (220, 440)]
    >>> for hz, p in zip((220, 440), paths):
    ...     sf.write(p, 0.5 * np.sin(2 * np.pi * hz * t), 22050)
    >>> fx = FeatureExtractor(groups=("rms", "zcr"), stats=("mean",), cache_dir=tmp)
    >>> fx.set_output(transform="pandas").fit_transform(paths).round(2)  # 440 Hz: twice the zero crossings
       zcr_mean  rms_mean
    0      0.02      0.35
    1      0.04      0.35
    >>> import shutil; shutil.rmtree(tmp)
    """

    def __init__(
        self,
        *,
        sr=22050,
        n_fft=2048,
        hop_length=512,
        n_mfcc=20,
        n_mels=128,
        mfcc_deltas=0,
        delta_width=9,
        n_chroma=12,
        tuning=0.0,
        n_bands=6,
        contrast_fmin=200.0,
        contrast_quantile=0.02,
        roll_percent=0.85,
        top_db=80.0,
        start_bpm=120.0,
        max_tempo=320.0,
        ac_size=8.0,
        tempo_interpolate=True,
        stats=("mean", "std"),
        groups=FEATURE_GROUPS,
        offset=0.0,
        duration=None,
        backend="librosa",
        n_jobs=1,
        cache=True,
        cache_dir=None,
    ):
        self.sr = sr
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.n_mfcc = n_mfcc
        self.n_mels = n_mels
        self.mfcc_deltas = mfcc_deltas
        self.delta_width = delta_width
        self.n_chroma = n_chroma
        self.tuning = tuning
        self.n_bands = n_bands
        self.contrast_fmin = contrast_fmin
        self.contrast_quantile = contrast_quantile
        self.roll_percent = roll_percent
        self.top_db = top_db
        self.start_bpm = start_bpm
        self.max_tempo = max_tempo
        self.ac_size = ac_size
        self.tempo_interpolate = tempo_interpolate
        self.stats = stats
        self.groups = groups
        self.offset = offset
        self.duration = duration
        self.backend = backend
        self.n_jobs = n_jobs
        self.cache = cache
        self.cache_dir = cache_dir

    @classmethod
    def from_config(cls, config: FeatureConfig, **params) -> FeatureExtractor:
        """A FeatureExtractor with `config`'s settings (and backend / n_jobs / cache / cache_dir in `params`)."""
        return cls(**{name: getattr(config, name) for name in CONFIG_PARAMS}, **params)

    def feature_config(self) -> FeatureConfig:
        """The FeatureConfig of the current parameters (ConfigError when they are invalid)."""
        return FeatureConfig(**{name: getattr(self, name) for name in CONFIG_PARAMS})

    def fit(self, X, y=None):
        """Check the settings and X; nothing is learnt from the data. Returns self."""
        config = self.feature_config()
        if self.backend not in ("librosa", "essentia"):
            raise ConfigError(f"backend={self.backend!r} is unknown; choose 'librosa' or 'essentia'")
        as_paths(X)
        self.config_ = config
        self.feature_names_out_ = np.asarray(config.columns(), dtype=object)
        return self

    def transform(self, X) -> np.ndarray:
        """Features of each path in X: float64 array (len(X), len(feature_names_out_)), rows in X's order."""
        check_is_fitted(self, "config_")
        paths = as_paths(X)
        table = pd.DataFrame({"track_id": [str(i) for i in range(len(paths))], "path": paths})
        df = extract(table, self.config_, backend=self.backend, n_jobs=self.n_jobs, cache=self.cache,
                     cache_dir=self.cache_dir, progress=False)
        skipped = df.attrs["skipped"]
        if len(skipped):
            listed = "; ".join(f"{r.path}: {r.reason}" for r in skipped.head(5).itertuples())
            more = f" (and {len(skipped) - 5} more)" if len(skipped) > 5 else ""
            raise AudioLoadError(
                skipped["path"].iloc[0],
                f"{len(skipped)} of {len(paths)} file(s) gave no features: {listed}{more}",
            )
        return df.loc[table["track_id"]].to_numpy(dtype=np.float64)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """The column names of the feature matrix (`FeatureConfig.columns()`); input_features is ignored."""
        check_is_fitted(self, "feature_names_out_")
        return self.feature_names_out_.copy()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.requires_fit = True
        return tags
