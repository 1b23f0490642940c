"""The imbalance study's metrics (`benchmarks.study`): head / middle / tail parts of the classes, the
study's extra test metrics, and their bootstrap-weighted forms for the paired changes against `none`.

- `class_parts`: 'head', 'middle' or 'tail' per class, by the number of training examples in the subset.
- `study_metrics` (names in `STUDY_METRICS[task]`), test split: `tail_recall` / `head_recall`, the mean
  recall of the third (`TAIL_SHARE`) of the classes with the fewest / most training tracks (ties broken by
  the long-tail rank); single-label: `ovr_f1_macro` and `ovr_f1_macro@tuned`, one-vs-rest macro-F1 with
  every class scored on its own probability at 0.5 and at per-class thresholds tuned on the validation
  split to maximise F1; multi-label: `tail_recall@tuned`.
- `weighted_f1_macro_multi`, `weighted_part_recall`: the same statistics under bootstrap weights W (B, n);
  `paired_diff_fn` gives the difference function that `benchmarks.metrics.bootstrap.run_bootstrap` takes,
  and `decisions` the predictions (argmax, or probabilities at thresholds) it compares.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from benchmarks.metrics.bootstrap import macro_f1_diff
from benchmarks.metrics.point import multi_label_metrics, nanmean, safe_div, tune_thresholds

TAIL_SHARE = 1 / 3
STUDY_METRICS = {"single": ("tail_recall", "head_recall", "ovr_f1_macro", "ovr_f1_macro@tuned"),
                 "multi": ("tail_recall", "tail_recall@tuned", "head_recall")}


def class_parts(counts: np.ndarray, ranks: np.ndarray, share: float = TAIL_SHARE) -> np.ndarray:
    """'head', 'middle' or 'tail' per class.

    counts: training examples per class, shape (C,); ranks: long-tail rank per class (0 = head), shape (C,).
    The tail is the max(1, round(C * share)) classes with the fewest examples (ties: the later rank), the
    head as many with the most (ties: the earlier rank); the tail wins where they overlap (C < 3).
    """
    counts, ranks = np.asarray(counts), np.asarray(ranks)
    C = len(counts)
    n = max(1, int(round(C * share)))
    out = np.full(C, "middle", dtype=object)
    out[np.lexsort((ranks, -counts))[:n]] = "head"
    out[np.lexsort((-ranks, counts))[:n]] = "tail"
    return out


def onehot(y: np.ndarray, C: int) -> np.ndarray:
    Y = np.zeros((len(y), C), dtype=np.int64)
    Y[np.arange(len(y)), y] = 1
    return Y


def mean_recall(Y: np.ndarray, Yhat: np.ndarray, which: np.ndarray) -> float:
    """Mean over the classes `which` (bool mask) of recall = hits / positives; classes without positives
    in Y are left out (NaN when none is left)."""
    pos = Y.sum(0).astype(np.float64)
    hits = (Y.astype(bool) & Yhat.astype(bool)).sum(0)
    keep = which & (pos > 0)
    return float(np.mean(hits[keep] / pos[keep])) if keep.any() else float("nan")


def study_metrics(task: str, classes: Sequence[str], y_test, P_test, y_valid, P_valid,
                  parts: np.ndarray) -> dict[str, float]:
    """The study's extra test metrics of one model (names in `STUDY_METRICS[task]`).

    y_*: (n,) class indices (single) or (n, C) 0/1 (multi); P_*: (n, C) probabilities; parts: (C,) from
    `class_parts`. Thresholds are tuned on the validation split (`metrics.tune_thresholds`).
    """
    C = len(classes)
    tail, head = parts == "tail", parts == "head"
    if task == "single":
        y = np.asarray(y_test)
        Y, Yhat = onehot(y, C), onehot(np.asarray(P_test).argmax(1), C)
        thresholds = tune_thresholds(onehot(np.asarray(y_valid), C), P_valid, classes)
        ovr = multi_label_metrics(Y, P_test, classes, thresholds=thresholds)
        return {"tail_recall": mean_recall(Y, Yhat, tail), "head_recall": mean_recall(Y, Yhat, head),
                "ovr_f1_macro": ovr["f1_macro"], "ovr_f1_macro@tuned": ovr["f1_macro@tuned"]}
    Y = np.asarray(y_test)
    P = np.asarray(P_test)
    thresholds = tune_thresholds(y_valid, P_valid, classes)
    return {"tail_recall": mean_recall(Y, P >= 0.5, tail), "tail_recall@tuned": mean_recall(Y, P >= thresholds, tail),
            "head_recall": mean_recall(Y, P >= 0.5, head)}


# -- under bootstrap weights (the paired changes against `none`) ----------------------------------
def weighted_f1_macro_multi(W: np.ndarray, Y: np.ndarray, Yhat: np.ndarray) -> np.ndarray:
    """F1 macro of 0/1 predictions under bootstrap weights W (B, n): labels with positives and
    negatives in the resample, as in `metrics.multi_label_metrics`. Returns (B,)."""
    Yf, Hf = Y.astype(np.float64), Yhat.astype(np.float64)
    tp, pos, pred = W @ (Yf * Hf), W @ Yf, W @ Hf
    f1 = safe_div(2 * tp, pos + pred, np.nan)
    keep = (pos > 0) & (pos < W.sum(1, keepdims=True))
    return nanmean(np.where(keep, f1, np.nan), axis=1)


def weighted_part_recall(W: np.ndarray, Y: np.ndarray, Yhat: np.ndarray, which: np.ndarray) -> np.ndarray:
    """Mean recall over the classes `which` (bool, (C,)) under bootstrap weights W (B, n); (B,)."""
    Yf = Y[:, which].astype(np.float64)
    rec = safe_div(W @ (Yf * Yhat[:, which]), W @ Yf, np.nan)
    return nanmean(rec, axis=1)


def paired_diff_fn(stat: str, task: str, n_classes: int):
    """f(pair, W) -> (B,) difference strategy - none of `stat` under bootstrap weights (see metrics)."""
    def f(pair, W):
        if task == "single":
            if stat == "macro_f1":
                return macro_f1_diff(n_classes)(pair, W)
            Y, A, B = (np.eye(n_classes)[v] for v in (pair.y, pair.a, pair.b))
        else:
            Y, A, B = pair.y, pair.a, pair.b
        if stat.startswith("tail_recall"):
            tail = pair.cache["tail"]
            return weighted_part_recall(W, Y, A, tail) - weighted_part_recall(W, Y, B, tail)
        return weighted_f1_macro_multi(W, Y, A) - weighted_f1_macro_multi(W, Y, B)
    return f


def decisions(task: str, P: np.ndarray, thresholds: np.ndarray | None) -> np.ndarray:
    if task == "single":
        return P.argmax(1)
    return P >= (0.5 if thresholds is None else thresholds)
