"""Percentile bootstrap intervals of per-class metrics for the report's bar charts (per-tag AP, per-class
recall): the test tracks are resampled (a deterministic seed), each track with all its seeds, and the
per-class metric (the mean over seeds) is recomputed on every resample."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from benchmarks import metrics as M
from benchmarks.metrics.bootstrap import bootstrap_weights

BOOT_SEED = 20240607
MAX_BOOT = 1000
_CELLS = 500_000  # resampling weights held at once (resamples x tracks)


def bootstrap_indices(n: int, n_boot: int, seed: int = BOOT_SEED) -> np.ndarray:
    """(n_boot, n) track indices drawn with replacement from range(n) by `np.random.default_rng(seed)`."""
    return np.random.default_rng(seed).integers(0, n, size=(n_boot, n))


def _weights(idx: np.ndarray, n: int) -> np.ndarray:
    """How often each track occurs in each resample: (n_boot, n)."""
    w = np.zeros((idx.shape[0], n))
    np.add.at(w, (np.repeat(np.arange(idx.shape[0]), idx.shape[1]), idx.ravel()), 1.0)
    return w


def _weighted_ap(y: np.ndarray, s: np.ndarray, w: np.ndarray) -> np.ndarray:
    """AP (scikit-learn's definition, as `metrics.ap_columns`) of scores s (n,) against y (n,) bool on
    each resample, given as track counts w (B, n): equal to the AP of the resampled tracks. NaN where a
    resample holds no positive or no negative."""
    order, ends = M.ap_order(s)
    wy = w[:, order] * y[order]
    tp = np.cumsum(wy, axis=1)[:, ends]
    seen = np.cumsum(w[:, order], axis=1)[:, ends]
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = tp / seen
        recall = tp / tp[:, -1:]
        ap = np.sum(np.diff(recall, prepend=0.0, axis=1) * np.nan_to_num(precision), axis=1)
    ap[(tp[:, -1] == 0) | (tp[:, -1] == seen[:, -1])] = np.nan
    return ap


def per_class_ap_interval(seeds: Sequence[tuple[np.ndarray, np.ndarray]], n_boot: int, seed: int = BOOT_SEED,
                          level: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-class AP and its percentile bootstrap interval.

    seeds: (Y (n, C) 0/1, S (n, C) scores) per seed, the same n tracks in the same order. The point value
    is the mean over seeds of `metrics.ap_columns`; each resample draws the tracks once for all seeds
    (`bootstrap_indices(n, n_boot, seed)`). Returns (point, lo, hi), each (C,), NaN for a class without
    positives or without negatives (undefined, as in metrics.csv) or whose resamples mostly lack either.
    """
    Y0 = np.asarray(seeds[0][0]).astype(bool)
    n, C = Y0.shape
    point = np.mean(np.stack([M.ap_columns(np.asarray(Y).astype(bool), np.asarray(S, dtype=np.float64))
                                 for Y, S in seeds]), axis=0) if n else np.full(C, np.nan)
    pos = Y0.sum(0)
    point[(pos == 0) | (pos == n)] = np.nan          # only one class present: undefined, as in metrics.csv
    lo, hi = np.full(C, np.nan), np.full(C, np.nan)
    if n == 0 or n_boot < 1:
        return point, lo, hi
    w = _weights(bootstrap_indices(n, n_boot, seed), n)
    a = (1 - level) / 2
    for c in range(C):
        if not np.isfinite(point[c]):
            continue
        boot = np.mean([_weighted_ap(np.asarray(Y)[:, c].astype(bool), np.asarray(S, dtype=np.float64)[:, c], w)
                        for Y, S in seeds], axis=0)
        boot = boot[np.isfinite(boot)]
        if len(boot) >= n_boot / 2:
            lo[c], hi[c] = np.percentile(boot, [100 * a, 100 * (1 - a)])
    return point, lo, hi


def per_class_recall_interval(seeds: Sequence[tuple[np.ndarray, np.ndarray]], n_classes: int, n_boot: int,
                              seed: int = BOOT_SEED, level: float = 0.95
                              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-class recall (per-class accuracy: the share of a class's tracks predicted as it, the diagonal of
    the row-normalised confusion matrix) and its percentile bootstrap interval.

    seeds: (y (n,) true class index, pred (n,) predicted class index) per seed, the same n tracks in the
    same order. The point value is the mean over seeds; each resample draws the tracks once for all seeds, as
    track counts from `benchmarks.metrics.bootstrap.bootstrap_weights(np.random.default_rng(seed), n, ...)`
    (drawn in chunks of resamples from that one generator). Returns (point, lo, hi), each (n_classes,): NaN
    for a class absent from the tracks (undefined, as in metrics.csv), and an interval NaN where fewer than
    half the resamples hold the class.
    """
    ys = [np.asarray(y, dtype=np.int64) for y, _ in seeds]
    hits = [np.asarray(p, dtype=np.int64) == y for y, (_, p) in zip(ys, seeds, strict=True)]
    n = len(ys[0]) if ys else 0
    point, lo, hi = np.full(n_classes, np.nan), np.full(n_classes, np.nan), np.full(n_classes, np.nan)
    if n == 0:
        return point, lo, hi
    onehot = [np.eye(n_classes)[y] for y in ys]                 # (n, C) per seed
    point = np.mean([M.safe_div((o * h[:, None]).sum(0), o.sum(0), np.nan) for o, h in zip(onehot, hits, strict=True)],
                    axis=0)
    if n_boot < 1:
        return point, lo, hi
    rng = np.random.default_rng(seed)
    boot = []
    step = max(1, _CELLS // n)
    for start in range(0, n_boot, step):
        W = bootstrap_weights(rng, n, min(step, n_boot - start))  # (b, n) track counts
        boot.append(np.mean([M.safe_div(W @ (o * h[:, None]), W @ o, np.nan)
                             for o, h in zip(onehot, hits, strict=True)], axis=0))
    boot = np.concatenate(boot)                                 # (n_boot, C)
    a = (1 - level) / 2
    for c in np.flatnonzero(np.isfinite(point)):
        b = boot[np.isfinite(boot[:, c]), c]
        if len(b) >= n_boot / 2:
            lo[c], hi[c] = np.percentile(b, [100 * a, 100 * (1 - a)])
    return point, lo, hi
