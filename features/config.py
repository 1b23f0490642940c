"""Settings of the hand-crafted feature set: `FeatureConfig` is the one place its numbers live.

A config names every setting that changes a value in the feature matrix, so its `key()` (with the
back-end and `FEATURE_VERSION`) is the cache key. `FEATURE_SETS` maps names to config factories;
`ExcerptConfig` describes the excerpt mode (features per window, keyed by track and excerpt).

Column naming scheme (identical for every back-end):

- per-clip scalars: ``tempo`` (BPM), ``moment_mean``, ``moment_var``, ``moment_skew``,
  ``moment_kurt`` (central moments of the waveform samples; kurtosis is the excess kurtosis).
- per-frame features aggregated over frames: ``<feature>_<stat>``, e.g. ``zcr_mean``,
  ``rms_std``, ``spectral_centroid_mean``, ``spectral_bandwidth_std``, ``spectral_rolloff_mean``,
  ``spectral_flatness_std``.
- per-frame vectors: ``<feature>_<NN>_<stat>`` with a 1-based, zero-padded index: ``mfcc_01`` is
  the 0th cepstral coefficient (the energy-like one), ``mfcc_delta_03`` / ``mfcc_delta2_03`` its
  deltas, ``chroma_01`` is C and ``chroma_12`` is B, ``spectral_contrast_01`` the lowest octave band
  (below `contrast_fmin`) and ``spectral_contrast_07`` the residual band up to Nyquist.
- `<stat>` is one of `STATS`: mean, std (population, ddof=0), min, max, median, skew, kurt (excess).

Columns come in the order of `FEATURE_GROUPS`, then by coefficient, then by statistic.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from functools import lru_cache

from features.errors import ConfigError

#: Bump when the definition of any column changes: it is part of every cache key.
FEATURE_VERSION = 1

FEATURE_GROUPS = (
    "moments",
    "zcr",
    "rms",
    "tempo",
    "mfcc",
    "chroma",
    "spectral_centroid",
    "spectral_bandwidth",
    "spectral_contrast",
    "spectral_rolloff",
    "spectral_flatness",
)
#: The feature list of the reference GTZAN study (no spectral flatness).
REFERENCE_GROUPS = tuple(g for g in FEATURE_GROUPS if g != "spectral_flatness")
STATS = ("mean", "std", "min", "max", "median", "skew", "kurt")
MOMENT_NAMES = ("moment_mean", "moment_var", "moment_skew", "moment_kurt")
TUNING_POLICIES = ("estimate",)


def positive_int(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{name}={value!r} must be a positive integer")


def _is_number(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)


def positive_float(name: str, value) -> None:
    if not _is_number(value) or value <= 0:
        raise ConfigError(f"{name}={value!r} must be a positive finite number")


def _index(i: int, n: int) -> str:
    return f"{i + 1:0{max(2, len(str(n)))}d}"


@dataclass(frozen=True)
class FeatureConfig:
    """Every number behind the hand-crafted feature matrix.

    sr: sampling rate the audio is decoded to (Hz). n_fft, hop_length: STFT frame and hop (samples);
      the frame-level ZCR and RMS use the same frame and hop, so every frame feature has
      1 + n_samples // hop_length frames (centred frames, librosa's convention).
    n_mfcc: cepstral coefficients kept; n_mels: mel bands under them (Slaney mel, 0 Hz to Nyquist);
      the onset envelope for the tempo comes from the same log-mel spectrogram.
    mfcc_deltas: 0 none, 1 adds first-order deltas, 2 also second-order (Savitzky-Golay,
      `delta_width` frames, librosa.feature.delta).
    n_chroma: chroma bins. tuning: the chroma tuning policy, a deviation from A440 in fractions of a
      bin (0.0, the default, is A440 for every clip: a per-clip estimate mostly chases noise in genre
      data and costs ~40 ms per clip), or "estimate" for librosa's per-clip estimate
      (librosa.estimate_tuning on the clip's power spectrogram, librosa.feature.chroma_stft's default).
    n_bands, contrast_fmin, contrast_quantile: spectral contrast over n_bands octaves above
      contrast_fmin plus the bands below and above (n_bands + 1 values per frame).
    roll_percent: energy fraction of the roll-off. top_db: floor of the dB conversions (log-mel
      under the MFCCs and contrast peaks/valleys), relative to the loudest value of the clip (or
      excerpt), as librosa.power_to_db.
    start_bpm, max_tempo, ac_size: tempo estimation (librosa.feature.tempo: autocorrelation
      tempogram over ac_size seconds, log-normal prior centred on start_bpm). tempo_interpolate:
      refine the best lag by parabolic interpolation (librosa reports the integer lag's BPM, a grid
      5.6 BPM wide at 120 BPM with the default sr and hop); see features.tempo.tempo.
    stats: aggregation over frames (see `STATS`). groups: feature groups kept (see `FEATURE_GROUPS`).
    offset, duration: the part of each file read, in seconds (None: to the end).
    """

    sr: int = 22050
    n_fft: int = 2048
    hop_length: int = 512
    n_mfcc: int = 20
    n_mels: int = 128
    mfcc_deltas: int = 0
    delta_width: int = 9
    n_chroma: int = 12
    tuning: float | str = 0.0
    n_bands: int = 6
    contrast_fmin: float = 200.0
    contrast_quantile: float = 0.02
    roll_percent: float = 0.85
    top_db: float = 80.0
    start_bpm: float = 120.0
    max_tempo: float = 320.0
    ac_size: float = 8.0
    tempo_interpolate: bool = True
    stats: tuple[str, ...] = ("mean", "std")
    groups: tuple[str, ...] = FEATURE_GROUPS
    offset: float = 0.0
    duration: float | None = None

    def __post_init__(self) -> None:
        for name in ("sr", "n_fft", "hop_length", "n_mfcc", "n_mels", "n_chroma", "n_bands", "delta_width"):
            positive_int(name, getattr(self, name))
        for name in ("contrast_fmin", "top_db", "start_bpm", "max_tempo", "ac_size"):
            positive_float(name, getattr(self, name))
        if self.n_fft < 4 or self.n_fft % 2:
            raise ConfigError(f"n_fft={self.n_fft} must be an even integer >= 4")
        if self.hop_length > self.n_fft:
            raise ConfigError(f"hop_length={self.hop_length} must not exceed n_fft={self.n_fft}")
        if self.n_mfcc > self.n_mels:
            raise ConfigError(f"n_mfcc={self.n_mfcc} must not exceed n_mels={self.n_mels}")
        if self.mfcc_deltas not in (0, 1, 2):
            raise ConfigError(f"mfcc_deltas={self.mfcc_deltas!r} must be 0, 1 or 2")
        if self.delta_width < 3 or self.delta_width % 2 == 0:
            raise ConfigError(f"delta_width={self.delta_width} must be an odd integer >= 3")
        if isinstance(self.tuning, str):
            if self.tuning not in TUNING_POLICIES:
                raise ConfigError(f"tuning={self.tuning!r} must be a number (bins from A440) or 'estimate'")
        elif not _is_number(self.tuning) or not -0.5 <= self.tuning < 0.5:
            raise ConfigError(f"tuning={self.tuning!r} must be in [-0.5, 0.5) bins or 'estimate'")
        if not 0.0 < self.contrast_quantile < 1.0:
            raise ConfigError(f"contrast_quantile={self.contrast_quantile} must lie in (0, 1)")
        if not 0.0 < self.roll_percent < 1.0:
            raise ConfigError(f"roll_percent={self.roll_percent} must lie in (0, 1)")
        top_edge = self.contrast_fmin * 2.0 ** (self.n_bands - 1)
        if top_edge >= self.sr / 2:
            raise ConfigError(
                f"spectral contrast bands reach {top_edge:g} Hz, at or above Nyquist ({self.sr / 2:g} Hz): "
                f"lower n_bands={self.n_bands} or contrast_fmin={self.contrast_fmin}"
            )
        stats = tuple(self.stats)
        groups = tuple(self.groups)
        object.__setattr__(self, "stats", stats)
        object.__setattr__(self, "groups", groups)
        bad = [s for s in stats if s not in STATS]
        if bad or not stats or len(set(stats)) != len(stats):
            raise ConfigError(f"stats={stats!r} must be distinct names from {list(STATS)}")
        bad = [g for g in groups if g not in FEATURE_GROUPS]
        if bad or not groups or len(set(groups)) != len(groups):
            raise ConfigError(f"groups={groups!r} must be distinct names from {list(FEATURE_GROUPS)}")
        if self.offset < 0:
            raise ConfigError(f"offset={self.offset} must be >= 0 seconds")
        if self.duration is not None and not self.duration > 0:
            raise ConfigError(f"duration={self.duration} must be > 0 seconds or None")

    # -- what the matrix holds ---------------------------------------------------------------------
    def has(self, group: str) -> bool:
        return group in self.groups

    def frame_rows(self) -> list[tuple[str, str]]:
        """The frame-level rows, in column order: (group, row name without statistic)."""
        rows: list[tuple[str, str]] = []
        for g in FEATURE_GROUPS:
            if g not in self.groups or g in ("moments", "tempo"):
                continue
            if g == "mfcc":
                rows += [(g, f"mfcc_{_index(i, self.n_mfcc)}") for i in range(self.n_mfcc)]
                for order, tag in ((1, "delta"), (2, "delta2")):
                    if self.mfcc_deltas >= order:
                        rows += [(g, f"mfcc_{tag}_{_index(i, self.n_mfcc)}") for i in range(self.n_mfcc)]
            elif g == "chroma":
                rows += [(g, f"chroma_{_index(i, self.n_chroma)}") for i in range(self.n_chroma)]
            elif g == "spectral_contrast":
                n = self.n_bands + 1
                rows += [(g, f"spectral_contrast_{_index(i, n)}") for i in range(n)]
            else:
                rows.append((g, g))
        return rows

    def columns(self) -> list[str]:
        """Column names of the feature matrix, in order (see the module docstring for the scheme)."""
        return list(_columns(self))

    def _columns(self) -> tuple[str, ...]:
        cols: list[str] = []
        frame = {g: [r for gg, r in self.frame_rows() if gg == g] for g in FEATURE_GROUPS}
        for g in FEATURE_GROUPS:
            if g not in self.groups:
                continue
            if g == "moments":
                cols += list(MOMENT_NAMES)
            elif g == "tempo":
                cols.append("tempo")
            else:
                cols += [f"{r}_{s}" for r in frame[g] for s in self.stats]
        return tuple(cols)

    # -- identity ----------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        d = asdict(self)
        d["stats"] = list(self.stats)
        d["groups"] = list(self.groups)
        return d

    def key(self) -> str:
        """Stable hash of every setting and `FEATURE_VERSION` (hex, 16 characters)."""
        payload = json.dumps({"version": FEATURE_VERSION, **self.to_dict()}, sort_keys=True, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def replace(self, **changes) -> FeatureConfig:
        return replace(self, **changes)

    @classmethod
    def from_dict(cls, d: dict) -> FeatureConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"unknown FeatureConfig field(s) {unknown}; expected some of {sorted(known)}")
        d = dict(d)
        for k in ("stats", "groups"):
            if k in d:
                d[k] = tuple(d[k])
        return cls(**d)


@lru_cache(maxsize=64)
def _columns(config: FeatureConfig) -> tuple[str, ...]:
    return config._columns()


@dataclass(frozen=True)
class ExcerptConfig:
    """Excerpt mode: features per window of `length` seconds, consecutive windows overlapping by `overlap`.

    The reference GTZAN study used length=3.0 with overlap=0.0 (10 excerpts per 30-s clip) and
    overlap=0.5 (19 excerpts). Window starts are rounded down to a multiple of the STFT hop so that
    each excerpt is a slice of the clip's frames: excerpt e spans samples [start_e, start_e + length * sr) and frames
    start_e / hop .. start_e / hop + length * sr // hop (the frames centred inside it). Frames within
    n_fft / 2 of an excerpt edge see the neighbouring audio rather than zero padding, which is the
    only difference from running the features on the cut-out excerpt. A tail shorter than `length`
    is not an excerpt of its own; a clip shorter than one window is zero-padded to one window.
    """

    length: float = 3.0
    overlap: float = 0.5

    def __post_init__(self) -> None:
        positive_float("length", self.length)
        if not _is_number(self.overlap) or not 0.0 <= self.overlap < 1.0:
            raise ConfigError(f"overlap={self.overlap!r} must lie in [0, 1)")

    def window(self, sr: int) -> tuple[int, float]:
        """(window length in samples, exact window hop in samples) at `sr`."""
        n = int(round(self.length * sr))
        return n, n * (1.0 - self.overlap)

    def starts(self, n_samples: int, sr: int, hop_length: int) -> list[int]:
        """Start sample of every excerpt of a clip of `n_samples` (at least one).

        Excerpt e nominally starts at e * hop; the start is rounded down to a multiple of
        `hop_length` so that the excerpt is a slice of the clip's frames.
        """
        n, hop = self.window(sr)
        if n < hop_length:
            raise ConfigError(f"excerpt length={self.length} s is shorter than one hop ({hop_length} samples)")
        if n_samples <= n:
            return [0]
        count = int(math.floor((n_samples - n) / hop + 1e-9)) + 1
        return [int(math.floor(e * hop / hop_length + 1e-9)) * hop_length for e in range(count)]

    def to_dict(self) -> dict:
        return asdict(self)


def _all(**overrides) -> FeatureConfig:
    return FeatureConfig(**overrides)


def _reference(**overrides) -> FeatureConfig:
    return FeatureConfig(**{"groups": REFERENCE_GROUPS, **overrides})


def _mfcc(**overrides) -> FeatureConfig:
    return FeatureConfig(**{"groups": ("mfcc",), "stats": ("mean", "std"), **overrides})


def _extended(**overrides) -> FeatureConfig:
    return FeatureConfig(**{"mfcc_deltas": 2, "stats": STATS, **overrides})


#: name -> factory(**overrides) -> FeatureConfig.
FEATURE_SETS: dict[str, Callable[..., FeatureConfig]] = {
    "all": _all,  # every group, mean and std: the full set of the issue
    "reference": _reference,  # the reference GTZAN study's list: all but spectral flatness
    "mfcc": _mfcc,  # 20 MFCC means and stds, for the MFCC + SVM baseline
    "extended": _extended,  # all groups, MFCC deltas and delta-deltas, every statistic
}


def feature_set(name: str, **overrides) -> FeatureConfig:
    """The FeatureConfig registered as `name`, with `overrides` applied."""
    if name not in FEATURE_SETS:
        raise ConfigError(f"feature set {name!r} is unknown; choose from {sorted(FEATURE_SETS)}")
    return FEATURE_SETS[name](**overrides)
