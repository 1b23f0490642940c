"""The log-mel side of the dataset analysis, read from the run's log-mel store (never from audio): per-track
level statistics and their outliers, the mean mel-frequency profile per class and its PCA, and one example
spectrogram per class."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA

from benchmarks.analysis.labels import target_matrix
from features.spectrogram import SpecConfig

Z_LIMIT = 3.5  # robust z-score beyond which a track is flagged (Iglewicz & Hoaglin)
EXAMPLE_SECONDS = 10.0
FLOOR_TOL_DB = 1e-3


def store_config(store: Mapping) -> SpecConfig:
    """The store's SpecConfig (a MelStore carries it); SpecConfig() for a plain mapping."""
    cfg = getattr(store, "config", None)
    return cfg if isinstance(cfg, SpecConfig) else SpecConfig()


def to_db(x: np.ndarray, spec: SpecConfig) -> np.ndarray:
    """A stored log-mel array as float64 dB: as stored under log='db'; under 'log1p', back to the mel power
    (expm1(x) / log_c) and then 10 * log10(max(amin, power))."""
    x = np.asarray(x, dtype=np.float64)
    if spec.log == "db":
        return x
    return 10.0 * np.log10(np.maximum(spec.amin, np.expm1(x) / spec.log_c))


def floor_db(spec: SpecConfig) -> float:
    """The lowest value a stored dB can take: 10 * log10(amin)."""
    return float(10.0 * np.log10(spec.amin))


def frame_energy_db(db: np.ndarray, spec: SpecConfig) -> np.ndarray:
    """(n_frames,) energy of each frame in dB: 10 * log10(max(amin, sum over the mel bands of 10^(dB / 10)))."""
    power = np.power(10.0, db / 10.0).sum(0)
    return 10.0 * np.log10(np.maximum(spec.amin, power))


def robust_z(x: np.ndarray) -> np.ndarray:
    """0.6745 * (x - median) / MAD (Iglewicz & Hoaglin's modified z-score); with MAD = 0, the mean absolute
    deviation * 1.2533 in its place; zeros when every value is the median."""
    x = np.asarray(x, dtype=np.float64)
    if not len(x):
        return x
    med = np.median(x)
    dev = np.abs(x - med)
    mad = np.median(dev)
    if mad > 0:
        return 0.6745 * (x - med) / mad
    mean_ad = dev.mean()
    return (x - med) / (1.253314 * mean_ad) if mean_ad > 0 else np.zeros_like(x)


def track_stats(store: Mapping, table: pd.DataFrame, classes: Sequence[str], task: str) -> pd.DataFrame:
    """One row per track of `table` held by `store`: track_id, split, labels ("|"-joined), n_frames, min_db,
    max_db, mean_db (over every band and frame), energy_db (mean over frames of `frame_energy_db`), z (robust z
    of mean_db over the tracks)."""
    spec = store_config(store)
    rows = []
    for r in table.itertuples(index=False):
        tid = str(r.track_id)
        if tid not in store:
            continue
        db = to_db(store[tid], spec)
        labels = str(r.label) if task == "single" else "|".join(r.labels)
        rows.append({"track_id": tid, "split": str(r.split), "labels": labels, "n_frames": int(db.shape[1]),
                     "min_db": float(db.min()), "max_db": float(db.max()), "mean_db": float(db.mean()),
                     "energy_db": float(frame_energy_db(db, spec).mean())})
    df = pd.DataFrame(rows, columns=["track_id", "split", "labels", "n_frames", "min_db", "max_db", "mean_db",
                                     "energy_db"])
    df["z"] = robust_z(df["mean_db"].to_numpy())
    return df


def outliers(stats: pd.DataFrame, spec: SpecConfig, limit: float = Z_LIMIT) -> pd.DataFrame:
    """The flagged tracks of `track_stats`: columns track_id, split, labels, reason, mean_db, max_db, z.
    reason: "silent: max dB at the floor" (every value at 10 log10(amin)), "silent: mean dB far below the
    median" (z < -limit) or "loud: mean dB far above the median" (z > limit, e.g. clipped or boosted)."""
    floor = floor_db(spec)
    rows = []
    for r in stats.itertuples(index=False):
        if r.max_db <= floor + FLOOR_TOL_DB:
            reason = "silent: max dB at the floor"
        elif r.z < -limit:
            reason = f"silent: mean dB far below the median (robust z {r.z:.1f} < -{limit:g})"
        elif r.z > limit:
            reason = f"loud: mean dB far above the median (robust z {r.z:.1f} > {limit:g})"
        else:
            continue
        rows.append({"track_id": r.track_id, "split": r.split, "labels": r.labels, "reason": reason,
                     "mean_db": r.mean_db, "max_db": r.max_db, "z": r.z})
    return pd.DataFrame(rows, columns=["track_id", "split", "labels", "reason", "mean_db", "max_db", "z"])


def class_profiles(store: Mapping, table: pd.DataFrame, classes: Sequence[str], task: str
                   ) -> tuple[np.ndarray, np.ndarray]:
    """((C, n_mels) mean dB per mel band and class, (C,) tracks per class): the mean over the class's tracks
    (multi: the tracks carrying the tag) held by `store` of each track's mean over frames, so that every track
    counts once whatever its length; NaN rows for a class without a track."""
    spec = store_config(store)
    held = table[np.array([str(t) in store for t in table["track_id"]], dtype=bool)]
    if held.empty:
        return np.full((len(classes), spec.n_mels), np.nan), np.zeros(len(classes), dtype=np.int64)
    per_track = np.stack([to_db(store[str(t)], spec).mean(1) for t in held["track_id"]])  # (n, n_mels)
    Y = target_matrix(held, classes, task).astype(np.float64)  # (n, C)
    n = Y.sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        prof = (Y.T @ per_track) / n[:, None]
    prof[n == 0] = np.nan
    return prof, n.astype(np.int64)


def profile_pca(profiles: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PCA (sklearn, 2 components at most) of the class profiles that are defined: ((C, 2) coordinates, NaN
    for an undefined class, (2,) explained variance ratios, (C,) bool: defined)."""
    ok = np.isfinite(profiles).all(1)
    coords = np.full((len(profiles), 2), np.nan)
    ratio = np.full(2, np.nan)
    k = min(2, int(ok.sum()), profiles.shape[1])
    if k >= 1 and ok.sum() >= 2:
        pca = PCA(n_components=k, svd_solver="full").fit(profiles[ok])
        coords[ok, :k] = pca.transform(profiles[ok])
        ratio[:k] = pca.explained_variance_ratio_
    return coords, ratio, ok


def band_frequencies(spec: SpecConfig) -> np.ndarray:
    """(n_mels,) centre frequency (Hz) of each mel band (librosa.mel_frequencies, the filterbank's spacing)."""
    import librosa

    return librosa.mel_frequencies(n_mels=spec.n_mels + 2, fmin=spec.fmin, fmax=spec.fmax or spec.sr / 2,
                                   htk=spec.htk)[1:-1]


def examples(store: Mapping, table: pd.DataFrame, classes: Sequence[str], task: str,
             seconds: float = EXAMPLE_SECONDS) -> dict[str, np.ndarray] | None:
    """One training track per class (the first by track_id carrying it), a crop of at most `seconds` from its
    middle: {"mel": (k, n_mels, F) float16 dB, NaN past a shorter crop, "n_frames": (k,), "start_frame": (k,),
    "track_id": (k,) str, "class": (k,) str, "frame_rate": () frames per second}; None when no class has one."""
    spec = store_config(store)
    held = np.array([str(t) in store for t in table["track_id"]], dtype=bool)
    train = table[(table["split"].astype(str) == "train").to_numpy() & held]
    train = train.assign(_tid=train["track_id"].astype(str)).sort_values("_tid", kind="mergesort")
    Y = target_matrix(train, classes, task)
    width = max(1, int(round(seconds * spec.sr / spec.hop_length)))
    picks = []
    for c, name in enumerate(classes):
        rows = np.flatnonzero(Y[:, c])
        if len(rows):
            picks.append((name, str(train["_tid"].iloc[rows[0]])))
    if not picks:
        return None
    crops, starts = [], []
    for _, tid in picks:
        db = to_db(store[tid], spec)
        start = max(0, (db.shape[1] - width) // 2)
        crops.append(db[:, start:start + width])
        starts.append(start)
    F = max(c.shape[1] for c in crops)
    mel = np.full((len(crops), crops[0].shape[0], F), np.nan, dtype=np.float16)
    for i, c in enumerate(crops):
        mel[i, :, :c.shape[1]] = c.astype(np.float16)
    return {"mel": mel, "n_frames": np.array([c.shape[1] for c in crops], dtype=np.int64),
            "start_frame": np.array(starts, dtype=np.int64), "track_id": np.array([t for _, t in picks]),
            "class": np.array([n for n, _ in picks]), "frame_rate": np.array(spec.sr / spec.hop_length)}
