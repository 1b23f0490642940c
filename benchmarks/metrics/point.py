"""Point metrics for genre classification (single-label) and auto-tagging (multi-label): the value of
every metric of one model on one split, the validation score, and their aggregation over seeds.

Metric values are computed here with numpy from first principles (ranks for ROC-AUC, the step-wise
precision-recall sum for AP) and checked against scikit-learn in the tests; the paired bootstrap
(`benchmarks.metrics.bootstrap`) reuses the same code with resampling weights, so a reported interval
is about the reported number.

metrics.csv (tidy, the single source of truth of a run; one row per value)
-------------------------------------------------------------------------
Columns, in this order (`METRIC_COLUMNS`, owned by `benchmarks.runfolder`):

    dataset   str    dataset name, e.g. "gtzan"
    split     str    "train" / "valid" / "test" (or a fold number written as a string)
    model     str    registry name, e.g. "lr", "cnn3"
    family    str    "classical" or "deep"
    input     str    e.g. "features:all", "mel"
    strategy  str    imbalance strategy, "none" by default
    seed      int
    metric    str    a name from `SINGLE_METRICS` / `MULTI_METRICS`, or a per-class name
                     `precision[<class>]`, `recall[<class>]`, `f1[<class>]`, `ap[<class>]`
    value     float  NaN (an empty field) where undefined, e.g. the recall of a class absent from y_true

Rows of one (dataset, split, model, family, input, strategy, seed) follow `metric_names(task, classes)`:
the task's fixed list, then the per-class entries in class order. `metrics_frame` builds them.

Conventions (those of scikit-learn unless noted)
------------------------------------------------
- Single-label predictions are the argmax of the probabilities; multi-label predictions are
  `probs >= threshold` (0.5, or the per-class thresholds tuned on the validation split).
- Per-class precision of a never-predicted class is 0; recall of a class absent from y_true is NaN
  (scikit-learn writes 0), F1 of a class absent from both y_true and the predictions is NaN.
  Macro-F1 averages the classes present in y_true or in the predictions (scikit-learn's default
  label set); balanced accuracy averages the recall of the classes present in y_true.
- One-vs-rest ROC-AUC and PR-AUC (average precision, no interpolation) are undefined for a class
  (or tag) that has only positives or only negatives in y_true: such a class is left out of the macro
  average, a warning names it, and `n_auc_classes` (single) / `n_eval_labels` (multi) says how many
  classes were averaged. Multi-label F1 macro uses the same label set as mAP; micro and per-sample
  averages use every label.
- Top-k metrics rank classes by score, ties broken by class order (so top-1 is the argmax, i.e.
  accuracy). Single-label `top{k}_accuracy` (k in `SINGLE_TOP_K`): share of tracks whose true class
  is among the k highest-scored, left out for k >= C (always 1). Multi-label, over the tracks with at
  least one true tag (k in `TOP_K`, left out for k > C): `recall@k`, the share of a track's true
  tags found in its top k (tag recall); `hit_rate@k`, the share of tracks with at least one true
  tag in the top k (what the FMA study reports as "Recall@3"); `precision@k`, the share of the top
  k that are true.
- Lower is better for the metrics in `LOWER_IS_BETTER`; counts (`COUNT_METRICS`) are not scores.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import accuracy_score, average_precision_score

from benchmarks.runfolder import METRIC_COLUMNS, MODEL_KEYS, TASKS
from features.errors import ConfigError, DatasetError

log = logging.getLogger(__name__)

GROUP_KEYS = ["dataset", "split", *MODEL_KEYS]

SINGLE_TOP_K = (3, 5)
SINGLE_METRICS = [
    "accuracy",
    *[f"top{k}_accuracy" for k in SINGLE_TOP_K],
    "balanced_accuracy",
    "macro_f1",
    "weighted_f1",
    "roc_auc",
    "pr_auc",
    "log_loss",
    "n_auc_classes",
]
TOP_K = (1, 3, 5)
MULTI_METRICS = [
    "map",
    "roc_auc_macro",
    "roc_auc_micro",
    "pr_auc_micro",
    "f1_macro",
    "f1_micro",
    "f1_samples",
    "f1_macro@tuned",
    "f1_micro@tuned",
    "f1_samples@tuned",
    "hamming_loss",
    "hamming_loss@tuned",
    "ranking_loss",
    "coverage_error",
    "lrap",
    *[f"recall@{k}" for k in TOP_K],
    *[f"hit_rate@{k}" for k in TOP_K],
    *[f"precision@{k}" for k in TOP_K],
    "n_eval_labels",
]
PER_CLASS_METRICS = {"single": ("precision", "recall", "f1"), "multi": ("ap", "precision", "recall", "f1")}
LOWER_IS_BETTER = frozenset(
    {"log_loss", "hamming_loss", "hamming_loss@tuned", "ranking_loss", "coverage_error"}
)
COUNT_METRICS = frozenset({"n_auc_classes", "n_eval_labels"})
MAIN_METRIC = {"single": "accuracy", "multi": "map"}


def _top_k_of(name: str) -> int | None:
    """k of a top-k metric name ("top3_accuracy", "recall@3", "hit_rate@3", "precision@3"), else None."""
    if name.startswith("top") and name.endswith("_accuracy"):
        return int(name[3:-len("_accuracy")])
    head, at, k = name.partition("@")
    return int(k) if at and head in ("recall", "hit_rate", "precision") else None


def metric_names(task: str, classes: Sequence[str]) -> list[str]:
    """Every metric name a run of `task` writes, in the fixed order: the task's list (less the top-k
    entries left out for this number of classes), then per class."""
    check_task(task)
    C = len(classes)
    if task == "single":
        head = [m for m in SINGLE_METRICS if (_top_k_of(m) or 0) < C]
    else:
        head = [m for m in MULTI_METRICS if (_top_k_of(m) or 0) <= C]
    return head + [f"{m}[{c}]" for m in PER_CLASS_METRICS[task] for c in classes]


def metrics_frame(
    values: Mapping[str, float],
    *,
    dataset: str,
    split: str,
    model: str,
    family: str,
    input: str,
    strategy: str = "none",
    seed: int,
) -> pd.DataFrame:
    """Tidy metrics.csv rows (columns `METRIC_COLUMNS`) for one model, split and seed.

    values: a dict from `single_label_metrics` / `multi_label_metrics`; its order is kept.
    """
    names = list(values)
    return pd.DataFrame(
        {
            "dataset": [str(dataset)] * len(names),
            "split": [str(split)] * len(names),
            "model": [str(model)] * len(names),
            "family": [str(family)] * len(names),
            "input": [str(input)] * len(names),
            "strategy": [str(strategy)] * len(names),
            "seed": np.full(len(names), int(seed), dtype=np.int64),
            "metric": names,
            "value": np.array([float(values[m]) for m in names], dtype=np.float64),
        }
    )


# ----------------------------------------------------------------------------------------------
# input checks


def check_task(task: str) -> None:
    if task not in TASKS:
        raise ConfigError(f"task={task!r} must be one of {TASKS}")


def _check_probs(probs, n_classes: int, name: str = "probs") -> np.ndarray:
    P = np.asarray(probs, dtype=np.float64)
    if P.ndim != 2 or P.shape[1] != n_classes or P.shape[0] == 0:
        raise ConfigError(f"{name} has shape {P.shape}: expected (n_tracks>0, {n_classes}) for {n_classes} classes")
    if not np.isfinite(P).all():
        raise ConfigError(f"{name} holds {int((~np.isfinite(P)).sum())} non-finite values: expected probabilities")
    return P


def _check_single(y_true, probs, classes: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    P = _check_probs(probs, len(classes))
    y = np.asarray(y_true)
    if y.shape != (P.shape[0],) or not np.issubdtype(y.dtype, np.integer):
        raise ConfigError(
            f"y_true has shape {y.shape} and dtype {y.dtype}: expected integer class indices ({P.shape[0]},)"
        )
    if y.min() < 0 or y.max() >= len(classes):
        raise ConfigError(f"y_true holds indices outside [0, {len(classes)}): min {y.min()}, max {y.max()}")
    return y.astype(np.int64), P


def check_labels(y_true, y_pred, name_a: str = "y_true", name_b: str = "y_pred") -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(y_true), np.asarray(y_pred)
    if a.ndim != 1 or a.shape != b.shape or len(a) == 0:
        raise ConfigError(f"{name_a} {a.shape} and {name_b} {b.shape} must be equal-length non-empty 1-D arrays")
    if not (np.issubdtype(a.dtype, np.integer) and np.issubdtype(b.dtype, np.integer)):
        raise ConfigError(f"{name_a} and {name_b} must hold integer class indices, got {a.dtype} and {b.dtype}")
    return a.astype(np.int64), b.astype(np.int64)


def _check_binary(Y, name: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
    A = np.asarray(Y)
    if A.ndim != 2 or A.shape[0] == 0 or (shape is not None and A.shape != shape):
        want = f"{shape}" if shape is not None else "(n_tracks>0, n_classes)"
        raise ConfigError(f"{name} has shape {A.shape}: expected {want}")
    if A.dtype != bool:
        if not np.isin(A, (0, 1)).all():
            raise ConfigError(f"{name} must hold only 0/1 (or booleans)")
        A = A.astype(bool)
    return A


# ----------------------------------------------------------------------------------------------
# building blocks


def safe_div(num: np.ndarray, den: np.ndarray, fill: float) -> np.ndarray:
    num, den = np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)
    out = np.full(np.broadcast(num, den).shape, fill, dtype=np.float64)
    np.divide(num, den, out=out, where=den != 0)
    return out


def nanmean(x: np.ndarray, axis=None) -> np.ndarray | float:
    """Mean of the finite entries; NaN (without a RuntimeWarning) where there are none."""
    x = np.asarray(x, dtype=np.float64)
    ok = np.isfinite(x)
    total = np.where(ok, x, 0.0).sum(axis=axis)
    count = ok.sum(axis=axis)
    out = safe_div(total, count, np.nan)
    return float(out) if np.ndim(out) == 0 else out


def _auc_columns(Y: np.ndarray, S: np.ndarray) -> np.ndarray:
    """ROC-AUC per column by the Mann-Whitney rank statistic (ties count one half).

    Y: (n, C) bool, S: (n, C) scores. Returns (C,); NaN for a column with one class only.
    """
    n = Y.shape[0]
    ranks = stats.rankdata(S, axis=0)
    pos = Y.sum(axis=0).astype(np.float64)
    neg = n - pos
    u = np.where(Y, ranks, 0.0).sum(axis=0) - pos * (pos + 1) / 2
    return safe_div(u, pos * neg, np.nan)


def ap_order(s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Descending order of scores s (n,) and the last index (in that order) of each run of ties."""
    order = np.argsort(-s, kind="mergesort")
    s_sorted = s[order]
    ends = np.r_[np.flatnonzero(s_sorted[1:] != s_sorted[:-1]), len(s) - 1]
    return order, ends


def _ap_binary(y: np.ndarray, s: np.ndarray) -> float:
    """Average precision (scikit-learn's definition: sum over thresholds of ΔRecall × precision).

    y: (n,) bool, s: (n,) scores. NaN when y has no positive.
    """
    order, ends = ap_order(s)
    tp = np.cumsum(y[order])[ends].astype(np.float64)
    if tp[-1] == 0:
        return float("nan")
    precision = tp / (ends + 1)
    recall = tp / tp[-1]
    return float(np.sum(np.diff(recall, prepend=0.0) * precision))


def ap_columns(Y: np.ndarray, S: np.ndarray) -> np.ndarray:
    """Average precision per column. Y: (n, C) bool, S: (n, C). Returns (C,), NaN without positives."""
    return np.array([_ap_binary(Y[:, c], S[:, c]) for c in range(Y.shape[1])], dtype=np.float64)


def _prf(tp: np.ndarray, support: np.ndarray, predicted: np.ndarray):
    """Precision, recall, F1 per class from counts (arrays of equal shape), with this module's
    conventions: precision 0 without predictions, recall NaN without support, F1 NaN without both."""
    precision = safe_div(tp, predicted, 0.0)
    recall = safe_div(tp, support, np.nan)
    f1 = safe_div(2 * tp, support + predicted, np.nan)
    return precision, recall, f1


def confusion(y_true, y_pred, n_classes: int) -> np.ndarray:
    """Confusion matrix of counts, rows = true class, columns = predicted class.

    y_true, y_pred: (n,) integer class indices in [0, n_classes). Returns (n_classes, n_classes) int64.
    """
    y, p = check_labels(y_true, y_pred)
    if min(y.min(), p.min()) < 0 or max(y.max(), p.max()) >= n_classes:
        raise ConfigError(f"class indices must lie in [0, {n_classes}); got values from "
                          f"{min(y.min(), p.min())} to {max(y.max(), p.max())}")
    return np.bincount(y * n_classes + p, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def multilabel_confusion(Y_true, Y_pred) -> np.ndarray:
    """One 2x2 matrix per label, [[TN, FP], [FN, TP]] (scikit-learn's layout).

    Y_true, Y_pred: (n, C) 0/1. Returns (C, 2, 2) int64.
    """
    Yt = _check_binary(Y_true, "Y_true")
    Yp = _check_binary(Y_pred, "Y_pred", Yt.shape)
    tp = (Yt & Yp).sum(0)
    fp = (~Yt & Yp).sum(0)
    fn = (Yt & ~Yp).sum(0)
    tn = len(Yt) - tp - fp - fn
    return np.stack([np.stack([tn, fp], -1), np.stack([fn, tp], -1)], 1).astype(np.int64)


def cooccurrence_matrix(Y_true, Y_pred) -> np.ndarray:
    """M[i, j] = P(predicted j | true i): the share of tracks tagged i that were predicted j.

    Y_true, Y_pred: (n, C) 0/1. Returns (C, C) float64; row i is NaN when no track is tagged i.
    The diagonal is the per-label recall; off-diagonal mass shows which tags are confused with,
    or predicted alongside, which.
    """
    Yt = _check_binary(Y_true, "Y_true")
    Yp = _check_binary(Y_pred, "Y_pred", Yt.shape)
    joint = Yt.astype(np.float64).T @ Yp.astype(np.float64)
    return safe_div(joint, Yt.sum(0)[:, None].astype(np.float64), np.nan)


# ----------------------------------------------------------------------------------------------
# single-label


def _true_class_rank(y: np.ndarray, P: np.ndarray) -> np.ndarray:
    """0-based place of each track's true class when its classes are sorted by descending score, ties
    broken by class order (place 0 is the argmax). y: (n,) indices, P: (n, C). Returns (n,) int64."""
    s_true = P[np.arange(len(y)), y][:, None]
    before = (P > s_true) | ((P == s_true) & (np.arange(P.shape[1])[None, :] < y[:, None]))
    return before.sum(1).astype(np.int64)


def single_label_metrics(y_true, probs, classes: Sequence[str]) -> dict[str, float]:
    """Every single-label metric of one model on one split.

    y_true: (n,) int class indices; probs: (n, C) class probabilities (rows summing to 1);
    classes: the C class names. Returns {name: value} in `metric_names("single", classes)` order:
    accuracy, top3_accuracy, top5_accuracy (each only for k < C), balanced_accuracy, macro_f1,
    weighted_f1, roc_auc (one-vs-rest, macro), pr_auc (macro average precision), log_loss,
    n_auc_classes, then precision[c], recall[c], f1[c].
    """
    y, P = _check_single(y_true, probs, classes)
    n, C = P.shape
    pred = P.argmax(axis=1)
    cm = confusion(y, pred, C)
    tp = np.diag(cm).astype(np.float64)
    support = cm.sum(axis=1).astype(np.float64)
    predicted = cm.sum(axis=0).astype(np.float64)
    precision, recall, f1 = _prf(tp, support, predicted)

    out: dict[str, float] = {"accuracy": float(tp.sum() / n)}
    rank = _true_class_rank(y, P)
    for k in SINGLE_TOP_K:
        if k < C:
            out[f"top{k}_accuracy"] = float(np.mean(rank < k))
    out |= {
        "balanced_accuracy": nanmean(recall),
        "macro_f1": nanmean(f1),
        "weighted_f1": float(np.sum(np.where(support > 0, f1, 0.0) * support) / n),
    }
    eval_cls = (support > 0) & (support < n)
    if not eval_cls.all():
        left = [classes[c] for c in np.flatnonzero(~eval_cls)]
        log.warning("ROC-AUC/PR-AUC: %d of %d classes have no positive or no negative track in y_true and "
                    "are left out of the macro average: %s", len(left), C, ", ".join(map(str, left)))
    Y = np.zeros((n, C), dtype=bool)
    Y[np.arange(n), y] = True
    auc = _auc_columns(Y[:, eval_cls], P[:, eval_cls])
    ap = ap_columns(Y[:, eval_cls], P[:, eval_cls])
    out["roc_auc"] = nanmean(auc)
    out["pr_auc"] = nanmean(ap)

    sums = P.sum(axis=1)
    if not np.allclose(sums, 1.0, atol=1e-3):
        log.warning("log-loss: probability rows sum to %.4g..%.4g, not 1; the value is not a proper log-loss",
                    sums.min(), sums.max())
    eps = np.finfo(np.float64).eps
    out["log_loss"] = float(-np.mean(np.log(np.clip(P[np.arange(n), y], eps, 1 - eps))))
    out["n_auc_classes"] = float(eval_cls.sum())
    for name, arr in (("precision", precision), ("recall", recall), ("f1", f1)):
        for c, cls in enumerate(classes):
            out[f"{name}[{cls}]"] = float(arr[c])
    return out


# ----------------------------------------------------------------------------------------------
# multi-label


def _binarize(P: np.ndarray, thresholds) -> np.ndarray:
    t = np.broadcast_to(np.asarray(thresholds, dtype=np.float64), (P.shape[1],))
    return P >= t


def _f1_averages(Y: np.ndarray, Yhat: np.ndarray, eval_mask: np.ndarray) -> tuple[float, float, float]:
    """F1 macro (over eval labels), micro (all labels) and per sample (scikit-learn: 0 for a track
    with no true and no predicted tag). Y, Yhat: (n, C) bool."""
    tp = (Y & Yhat).sum(0).astype(np.float64)
    support = Y.sum(0).astype(np.float64)
    predicted = Yhat.sum(0).astype(np.float64)
    _, _, f1 = _prf(tp, support, predicted)
    macro = nanmean(f1[eval_mask])
    micro = float(safe_div(2 * tp.sum(), support.sum() + predicted.sum(), 0.0))
    per_sample = safe_div(2 * (Y & Yhat).sum(1), Y.sum(1) + Yhat.sum(1), 0.0)
    return macro, micro, float(per_sample.mean())


def _ranking_metrics(Y: np.ndarray, S: np.ndarray) -> tuple[float, float, float]:
    """Ranking loss, coverage error and label-ranking average precision, with scikit-learn's
    conventions for ties (a tie counts as mis-ordered / ranked at the worst place) and for tracks with
    no or all labels relevant (ranking loss 0, LRAP 1, coverage 0 without relevant labels)."""
    n, C = Y.shape
    n_pos = Y.sum(1)
    min_rel = np.where(Y, S, np.inf).min(1)
    coverage = np.where(n_pos > 0, (S >= min_rel[:, None]).sum(1), 0)

    rank_loss = np.zeros(n)
    lrap = np.ones(n)
    chunk = max(1, 4_000_000 // (C * C))
    for start in range(0, n, chunk):
        y, s = Y[start:start + chunk], S[start:start + chunk]
        ge = s[:, None, :] >= s[:, :, None]              # ge[i, l, m]: score of m >= score of l
        npos = y.sum(1)
        bad = (ge & (y[:, :, None] & ~y[:, None, :])).sum((1, 2))   # relevant l, irrelevant m, s_m >= s_l
        rank_all = ge.sum(2)                             # labels scored >= l
        rank_rel = (ge & y[:, None, :]).sum(2)           # relevant labels scored >= l
        frac = np.where(y, rank_rel / rank_all, 0.0).sum(1)
        proper = (npos > 0) & (npos < C)
        rank_loss[start:start + chunk] = np.where(proper, safe_div(bad, npos * (C - npos), 0.0), 0.0)
        lrap[start:start + chunk] = np.where(proper, safe_div(frac, npos, 1.0), 1.0)
    return float(rank_loss.mean()), float(coverage.mean()), float(lrap.mean())


def _top_k(Y: np.ndarray, S: np.ndarray, k: int) -> tuple[float, float, float]:
    """Recall@k, hit rate@k and Precision@k averaged over tracks with at least one true tag.

    Recall@k (tag recall): share of a track's true tags among its k highest-scored tags; hit rate@k:
    1 if at least one of them is true, else 0; Precision@k: share of those k tags that are true. Ties
    in score are broken by class order.
    """
    has = Y.sum(1) > 0
    if not has.any():
        return float("nan"), float("nan"), float("nan")
    top = np.argsort(-S[has], axis=1, kind="stable")[:, :k]
    hits = np.take_along_axis(Y[has], top, axis=1).sum(1)
    return float(np.mean(hits / Y[has].sum(1))), float(np.mean(hits > 0)), float(np.mean(hits / k))


def multi_label_metrics(Y_true, probs, classes: Sequence[str], thresholds=None) -> dict[str, float]:
    """Every multi-label (tagging) metric of one model on one split.

    Y_true: (n, C) 0/1 true tags; probs: (n, C) independent tag probabilities; classes: C tag names;
    thresholds: optional (C,) per-class thresholds from `tune_thresholds` on the validation split.
    Returns {name: value} in `metric_names("multi", classes)` order; the `@tuned` entries are NaN
    without thresholds, and recall@k / hit_rate@k / precision@k are left out for k > C. Per class:
    ap[c] (NaN for a tag with only one class in Y_true), and precision[c], recall[c], f1[c] at 0.5.
    """
    P = _check_probs(probs, len(classes))
    Y = _check_binary(Y_true, "Y_true", P.shape)
    n, C = P.shape
    pos = Y.sum(0)
    eval_mask = (pos > 0) & (pos < n)
    if not eval_mask.all():
        left = [classes[c] for c in np.flatnonzero(~eval_mask)]
        log.warning("%d of %d tags have only positives or only negatives in Y_true and are left out of the "
                    "macro averages (mAP, ROC-AUC macro, F1 macro): %s", len(left), C, ", ".join(map(str, left)))
    ap = np.full(C, np.nan)
    ap[eval_mask] = ap_columns(Y[:, eval_mask], P[:, eval_mask])
    auc = _auc_columns(Y[:, eval_mask], P[:, eval_mask])
    out: dict[str, float] = {
        "map": nanmean(ap),
        "roc_auc_macro": nanmean(auc),
        "roc_auc_micro": float(_auc_columns(Y.reshape(-1, 1), P.reshape(-1, 1))[0]),
        "pr_auc_micro": _ap_binary(Y.ravel(), P.ravel()),
    }
    Yhat = _binarize(P, 0.5)
    out["f1_macro"], out["f1_micro"], out["f1_samples"] = _f1_averages(Y, Yhat, eval_mask)
    if thresholds is not None:
        t = np.asarray(thresholds, dtype=np.float64)
        if t.shape != (C,):
            raise ConfigError(f"thresholds has shape {t.shape}: expected ({C},), one per class")
        Yt = _binarize(P, t)
        out["f1_macro@tuned"], out["f1_micro@tuned"], out["f1_samples@tuned"] = _f1_averages(Y, Yt, eval_mask)
        out["hamming_loss@tuned"] = float(np.mean(Y != Yt))
    else:
        for name in ("f1_macro@tuned", "f1_micro@tuned", "f1_samples@tuned", "hamming_loss@tuned"):
            out[name] = float("nan")
    out["hamming_loss"] = float(np.mean(Y != Yhat))
    out["ranking_loss"], out["coverage_error"], out["lrap"] = _ranking_metrics(Y, P)
    for k in TOP_K:
        if k <= C:
            out[f"recall@{k}"], out[f"hit_rate@{k}"], out[f"precision@{k}"] = _top_k(Y, P, k)
    out["n_eval_labels"] = float(eval_mask.sum())

    order = [m for m in MULTI_METRICS if m in out]
    result = {m: out[m] for m in order}
    tp = (Y & Yhat).sum(0).astype(np.float64)
    precision, recall, f1 = _prf(tp, pos.astype(np.float64), Yhat.sum(0).astype(np.float64))
    for name, arr in (("ap", ap), ("precision", precision), ("recall", recall), ("f1", f1)):
        for c, cls in enumerate(classes):
            result[f"{name}[{cls}]"] = float(arr[c])
    return result


def tune_thresholds(Y_valid, probs_valid, classes: Sequence[str] | None = None) -> np.ndarray:
    """Per-class thresholds that maximise F1 on the validation split.

    Y_valid: (n, C) 0/1; probs_valid: (n, C). Returns (C,) float64. For each class every distinct
    validation score is a candidate (predict `prob >= t`); among equal F1 the highest threshold wins.
    The threshold returned is the midpoint between the chosen score and the next lower distinct
    score (the same predictions on the validation split, less brittle on new data), or the lowest
    score when predicting every track is best. A class without positives keeps 0.5 (logged, by name
    when `classes` is given).
    """
    P = _check_probs(probs_valid, np.shape(probs_valid)[-1] if np.ndim(probs_valid) == 2 else 0, "probs_valid")
    Y = _check_binary(Y_valid, "Y_valid", P.shape)
    C = P.shape[1]
    out = np.full(C, 0.5)
    no_pos = []
    for c in range(C):
        n_pos = int(Y[:, c].sum())
        if n_pos == 0:
            no_pos.append(c)
            continue
        order, ends = ap_order(P[:, c])
        s_sorted = P[order, c]
        tp = np.cumsum(Y[order, c])[ends]
        f1 = 2 * tp / (ends + 1 + n_pos)
        best = int(np.argmax(f1))
        i = ends[best]
        out[c] = s_sorted[i] if i + 1 == len(s_sorted) else (s_sorted[i] + s_sorted[i + 1]) / 2
    if no_pos:
        names = [str(classes[c]) for c in no_pos] if classes is not None and len(classes) == C else no_pos
        log.warning("tune_thresholds: %d classes without a positive validation track keep threshold 0.5: %s",
                    len(no_pos), ", ".join(map(str, names)))
    return out


# ----------------------------------------------------------------------------------------------
# the validation score


def main_score(task: str, y: np.ndarray, probs: np.ndarray) -> float:
    """The validation score used for tuning and early stopping: accuracy, or mAP over labels with positives."""
    if task == "single":
        return float(accuracy_score(y, probs.argmax(1)))
    keep = (y.sum(0) > 0) & (y.sum(0) < len(y))
    return float(average_precision_score(y[:, keep], probs[:, keep], average="macro")) if keep.any() else 0.0


# ----------------------------------------------------------------------------------------------
# aggregation over seeds


def _ordered_unique(values) -> list:
    return list(dict.fromkeys(values))


def summarize(metrics_df: pd.DataFrame) -> pd.DataFrame:
    """Mean, standard deviation (ddof=1; NaN with one seed) and count over seeds.

    metrics_df: tidy rows with `METRIC_COLUMNS`. Returns one row per (dataset, split, model, family,
    input, strategy, metric) with columns those keys + mean, std, n (seeds with a finite value),
    ordered by first appearance of the group and by the fixed metric order.
    """
    missing = [c for c in METRIC_COLUMNS if c not in metrics_df.columns]
    if missing:
        raise DatasetError(f"metrics table lacks columns {missing}; expected {METRIC_COLUMNS}")
    df = metrics_df[METRIC_COLUMNS].copy()
    try:
        df["value"] = df["value"].astype(np.float64)
    except (TypeError, ValueError) as e:
        raise DatasetError(f"metrics table column value holds a non-number ({e})") from None
    keys = [*GROUP_KEYS, "metric"]
    grouped = df.groupby(keys, sort=False, dropna=False)["value"]
    out = grouped.agg(["mean", "count"]).rename(columns={"count": "n"})
    out["std"] = grouped.std(ddof=1)
    out = out.reset_index()[[*keys, "mean", "std", "n"]]
    out.loc[out["n"] < 2, "std"] = np.nan

    canonical = {m: i for i, m in enumerate(SINGLE_METRICS + [m for m in MULTI_METRICS if m not in SINGLE_METRICS])}
    first_seen = {m: i for i, m in enumerate(_ordered_unique(df["metric"]))}
    group_rank = {g: i for i, g in enumerate(_ordered_unique(map(tuple, df[GROUP_KEYS].to_numpy().tolist())))}
    rank_metric = out["metric"].map(lambda m: canonical.get(m, len(canonical) + first_seen[m]))
    rank_group = [group_rank[tuple(r)] for r in out[GROUP_KEYS].to_numpy().tolist()]
    out = out.assign(_g=rank_group, _m=rank_metric.to_numpy()).sort_values(["_g", "_m"], kind="stable")
    out = out.drop(columns=["_g", "_m"]).reset_index(drop=True)
    out["n"] = out["n"].astype(np.int64)
    return out
