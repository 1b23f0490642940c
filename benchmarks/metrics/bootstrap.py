"""The paired bootstrap: the difference of a metric between two models scored on the same tracks,
with a percentile 95% interval from resampling tracks with replacement.

A resample is a row of integer weights (how often each track is drawn); the weighted statistics
below (accuracy, macro-F1, per-label AP) reduce to the point metrics of `benchmarks.metrics.point`
with all weights 1, so the observed difference is the difference of the reported numbers.
`run_bootstrap` runs any such statistic over seed pairs (`Pair`) of two models (`bootstrap_tests`
adds a two-sided bootstrap p-value, `bootstrap_p`, and `holm` adjusts a family of them);
`paired_bootstrap` is the one-pair form on class indices, and `benchmarks.metrics.significance` the
form on a predictions table.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from benchmarks.metrics.point import ap_order, check_labels, nanmean, safe_div
from features.errors import ConfigError

_BOOT_CELLS = 500_000        # resampling weights held at once (resamples x rows): bounds memory, stays in cache


@dataclass
class Pair:
    """One seed pair of two models on their common tracks: arrays aligned on track order.

    tidx: (n,) index of each row's track in the pooled track list; y: (n,) or (n, C) truth;
    a, b: (n,) predicted indices (single) or (n, C) scores (multi); cache: per-pair precomputation.
    """

    tidx: np.ndarray
    y: np.ndarray
    a: np.ndarray
    b: np.ndarray
    cache: dict = field(default_factory=dict)


def bootstrap_weights(rng: np.random.Generator, n_units: int, size: int) -> np.ndarray:
    """(size, n_units) counts of each unit in `size` resamples with replacement of n_units units."""
    idx = rng.integers(0, n_units, size=(size, n_units))
    flat = idx + (np.arange(size) * n_units)[:, None]
    return np.bincount(flat.ravel(), minlength=size * n_units).reshape(size, n_units).astype(np.float64)


def _weighted_accuracy(W: np.ndarray, correct: np.ndarray) -> np.ndarray:
    return safe_div(W @ correct.astype(np.float64), W.sum(1), np.nan)


def weighted_macro_f1(W: np.ndarray, y: np.ndarray, p: np.ndarray, n_classes: int) -> np.ndarray:
    onehot_t = np.eye(n_classes)[y]
    onehot_p = np.eye(n_classes)[p]
    tp = W @ (onehot_t * onehot_p)
    f1 = safe_div(2 * tp, W @ onehot_t + W @ onehot_p, np.nan)
    return nanmean(f1, axis=1)


class WeightedMAP:
    """Per-label AP of one model under bootstrap weights, with the sort orders computed once.

    y: (n, C) bool, s: (n, C) scores. `__call__(W)` with W (B, n) row weights returns (B, C) AP, NaN for
    a label with only positives or only negatives in the resample (left out as in `multi_label_metrics`).

    Only tie groups holding a positive change the AP sum, so per label the tracks are cut into
    segments, one per such group: the tracks scored in (previous group, this group]. A sparse
    0/1 matrix maps tracks to (label, segment) rows, for all tracks (precision's denominator) and for
    positives (its numerator); one sparse product per resample batch gives every label's segment
    weights, and cumulative sums within a label give the weights scored at or above each group.
    """

    def __init__(self, y: np.ndarray, s: np.ndarray):
        n, n_labels = y.shape
        self.n_labels = n_labels
        rows_all, cols_all, rows_pos, cols_pos, sizes, labels = [], [], [], [], [], []
        offset = 0
        for c in range(n_labels):
            order, ends = ap_order(s[:, c])
            y_sorted = y[order, c]
            if not y_sorted.any():
                continue
            group_of = np.repeat(np.arange(len(ends)), np.diff(np.r_[-1, ends]))
            pos_at = np.flatnonzero(y_sorted)                         # sorted positions of the positives
            seg_ends = ends[np.unique(group_of[pos_at])]              # last sorted position of each segment
            head = np.arange(seg_ends[-1] + 1)                        # tracks after the last one never count
            rows_all.append(offset + np.searchsorted(seg_ends, head))
            cols_all.append(order[head])
            rows_pos.append(offset + np.searchsorted(seg_ends, pos_at))
            cols_pos.append(order[pos_at])
            sizes.append(len(seg_ends))
            labels.append(c)
            offset += len(seg_ends)
        self.labels = np.array(labels, dtype=np.int64)
        self.label_of_row = np.repeat(np.arange(len(labels)), sizes)
        self.starts = np.r_[0, np.cumsum(sizes)[:-1]].astype(np.int64) if sizes else np.zeros(0, np.int64)
        self.last = self.starts + np.array(sizes, dtype=np.int64) - 1

        def matrix(rows, cols):
            r = np.concatenate(rows) if rows else np.zeros(0, np.int64)
            k = np.concatenate(cols) if cols else np.zeros(0, np.int64)
            return sparse.csr_array((np.ones(len(r), dtype=np.float32), (r, k)), shape=(offset, n))

        self.all_, self.pos_ = matrix(rows_all, cols_all), matrix(rows_pos, cols_pos)

    def _within_label_cumsum(self, seg: np.ndarray) -> np.ndarray:
        """(G, B) cumulative sums of segment weights, restarting at each label's first segment."""
        cs = seg.cumsum(0)
        base = np.zeros((len(self.starts), cs.shape[1]), dtype=cs.dtype)
        base[1:] = cs[self.starts[1:] - 1]
        cs -= base[self.label_of_row]
        return cs

    def __call__(self, W: np.ndarray) -> np.ndarray:
        out = np.full((W.shape[0], self.n_labels), np.nan)
        if not len(self.labels):
            return out
        # Integer resampling counts: float32 products are exact below 2**24 tracks; sums go to float64.
        Wt = np.ascontiguousarray(W.T, dtype=np.float32)                        # (n, B)
        seg_pos = np.asarray(self.pos_ @ Wt, dtype=np.float64)                   # (G, B) positive weight per segment
        tp = self._within_label_cumsum(seg_pos)                                  # positive weight scored >= group
        tot = self._within_label_cumsum(np.asarray(self.all_ @ Wt, dtype=np.float64))   # all weight scored >= group
        # AP = sum over groups of (recall step) x precision = sum(seg_pos * tp / tot) / n_pos
        np.divide(tp, tot, out=tot, where=tot > 0)                              # tot now holds the precision
        seg_pos *= tot
        n_pos = tp[self.last]                                                    # (L, B)
        ap = safe_div(np.add.reduceat(seg_pos, self.starts, axis=0), n_pos, np.nan)
        valid = (n_pos > 0) & (n_pos < W.sum(1)[None, :])
        out[:, self.labels] = np.where(valid, ap, np.nan).T
        return out


def bootstrap_tests(pairs: list[Pair], n_units: int, stat_fns, n_boot: int, seed: int):
    """Observed difference, percentile 95% interval and two-sided bootstrap p-value per statistic.

    stat_fns: list of callables f(pair, W) -> (B,) difference a - b per resample, W (B, n_pair) the
    weights of the pair's rows. The statistic of several seed pairs is the mean over the pairs.
    Returns a list of (delta, lo, hi, p), p from `bootstrap_p` on the resampled differences.
    """
    rng = np.random.default_rng(seed)
    rows = max(len(p.tidx) for p in pairs)
    batch = max(1, min(n_boot, _BOOT_CELLS // max(rows, 1)))
    observed = [np.mean([f(p, np.ones((1, len(p.tidx))))[0] for p in pairs]) for f in stat_fns]
    draws = [[] for _ in stat_fns]
    done = 0
    while done < n_boot:
        size = min(batch, n_boot - done)
        W = bootstrap_weights(rng, n_units, size)
        for i, f in enumerate(stat_fns):
            per_pair = np.stack([f(p, W[:, p.tidx]) for p in pairs])
            draws[i].append(nanmean(per_pair, axis=0))
        done += size
    out = []
    for obs, d in zip(observed, draws, strict=True):
        d = np.concatenate(d)
        d = d[np.isfinite(d)]
        lo, hi = (np.percentile(d, [2.5, 97.5]) if len(d) else (np.nan, np.nan))
        out.append((float(obs), float(lo), float(hi), bootstrap_p(d)))
    return out


def bootstrap_p(draws: np.ndarray) -> float:
    """Two-sided bootstrap p-value of "the difference is 0" from resampled differences (a - b).

    p = 2 * min(share of draws <= 0, share of draws >= 0), clipped to [1/B, 1] with B the number of
    finite draws: about the smallest alpha at which the percentile (1 - alpha) interval reaches 0, so
    p < 0.05 where the 95% interval excludes 0 (up to the percentile's interpolation). Differences
    are a - b (model - reference in `significance`); p is symmetric in the sign, so swapping a and b
    gives the same p. NaN without a finite draw.
    """
    d = np.asarray(draws, dtype=np.float64)
    d = d[np.isfinite(d)]
    if not len(d):
        return float("nan")
    p = 2 * min(np.mean(d <= 0), np.mean(d >= 0))
    return float(np.clip(p, 1 / len(d), 1.0))


def holm(p_values) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (step-down): the i-th smallest of m finite p-values becomes
    max over j <= i of min(1, (m - j + 1) p_(j)). Reject at level alpha where the adjusted p <= alpha;
    this controls the family-wise error rate over the m tests. NaN entries stay NaN and do not count."""
    p = np.asarray(p_values, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = len(ok)
    if not m:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    adjusted = np.minimum(1.0, (m - np.arange(m)) * p[order])
    out[order] = np.maximum.accumulate(adjusted)
    return out


def run_bootstrap(pairs: list[Pair], n_units: int, stat_fns, n_boot: int, seed: int):
    """Observed difference and percentile 95% interval for each statistic (`bootstrap_tests` without
    the p-value). Returns a list of (delta, lo, hi)."""
    return [t[:3] for t in bootstrap_tests(pairs, n_units, stat_fns, n_boot, seed)]


def accuracy_diff(pair: Pair, W: np.ndarray) -> np.ndarray:
    return _weighted_accuracy(W, pair.a == pair.y) - _weighted_accuracy(W, pair.b == pair.y)


def macro_f1_diff(n_classes: int):
    def f(pair: Pair, W: np.ndarray) -> np.ndarray:
        return (weighted_macro_f1(W, pair.y, pair.a, n_classes)
                - weighted_macro_f1(W, pair.y, pair.b, n_classes))
    return f


def map_diff(pair: Pair, W: np.ndarray) -> np.ndarray:
    if "map" not in pair.cache:
        pair.cache["map"] = (WeightedMAP(pair.y, pair.a), WeightedMAP(pair.y, pair.b))
    map_a, map_b = pair.cache["map"]
    ap_a, ap_b = map_a(W), map_b(W)
    return nanmean(ap_a, axis=1) - nanmean(ap_b, axis=1)


def paired_bootstrap(y_true, pred_a, pred_b, metric: str = "accuracy", n_boot: int = 2000,
                     seed: int = 0) -> tuple[float, float, float]:
    """Paired bootstrap of the difference metric(a) - metric(b) on the same tracks.

    y_true, pred_a, pred_b: (n,) class indices; metric: 'accuracy' or 'macro_f1'. Tracks are resampled
    with replacement n_boot times (the same resample for both models), seeded. Returns
    (delta, lo, hi): the observed difference and the percentile 95% interval.
    """
    y, a = check_labels(y_true, pred_a, "y_true", "pred_a")
    _, b = check_labels(y_true, pred_b, "y_true", "pred_b")
    if metric not in ("accuracy", "macro_f1"):
        raise ConfigError(f"metric={metric!r} must be 'accuracy' or 'macro_f1'")
    if n_boot < 1:
        raise ConfigError(f"n_boot={n_boot} must be a positive integer")
    n_classes = int(max(y.max(), a.max(), b.max())) + 1
    fn = accuracy_diff if metric == "accuracy" else macro_f1_diff(n_classes)
    pair = Pair(np.arange(len(y)), y, a, b)
    return run_bootstrap([pair], len(y), [fn], n_boot, seed)[0]
