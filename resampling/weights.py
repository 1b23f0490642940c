"""Class weights and sample weights against class imbalance, for losses and for the classical
models that accept ``class_weight`` or ``fit(sample_weight=...)``.

Schemes, for a class (or label) with n_c training examples:

- ``"inverse"``: w_c proportional to 1 / n_c;
- ``"sqrt-inverse"``: w_c proportional to 1 / sqrt(n_c);
- ``"effective"``: w_c proportional to (1 - beta) / (1 - beta ** n_c), the inverse effective number
  of samples of Cui et al. (2019), "Class-Balanced Loss Based on Effective Number of Samples";
- ``"none"``: w_c = 1.

A single-label target is an array of labels of shape (n_samples,) (int or str); a multi-label
target is a multi-hot matrix of shape (n_samples, n_labels), whose per-label count is its number of
positive samples.
"""

from __future__ import annotations

import inspect
import logging
from dataclasses import dataclass

import numpy as np

logger = logging.getLogger(__name__)

__all__ = [
    "CLASS_WEIGHT_SUPPORT",
    "SCHEMES",
    "WeightSupport",
    "class_counts",
    "class_weight_dict",
    "class_weights",
    "pos_weights",
    "sample_weights",
    "weight_support",
    "weights_from_counts",
]

SCHEMES = ("inverse", "sqrt-inverse", "effective", "none")


def class_counts(y, classes=None) -> tuple[np.ndarray, np.ndarray]:
    """Examples per class, in the order of ``classes``.

    y: labels, shape (n_samples,), or multi-hot, shape (n_samples, n_labels).
    classes: class order for single-label y (default ``np.unique(y)``); ignored for multi-hot y,
    whose classes are the column indices. Returns (counts int64 (n_classes,), classes (n_classes,)).
    """
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        if not np.isin(y, (0, 1)).all():
            raise ValueError(f"a 2-D target must be multi-hot (only 0 and 1); got values {np.unique(y)[:10]}")
        return y.astype(bool).sum(axis=0).astype(np.int64), np.arange(y.shape[1])
    y = y.reshape(-1)
    if classes is None:
        classes, counts = np.unique(y, return_counts=True)
        return counts.astype(np.int64), classes
    classes = np.asarray(classes)
    unknown = np.setdiff1d(np.unique(y), classes)
    if unknown.size:
        raise ValueError(f"labels {unknown.tolist()} are not in classes={classes.tolist()}")
    counts = np.array([np.count_nonzero(y == c) for c in classes], dtype=np.int64)
    return counts, classes


def weights_from_counts(counts, scheme: str = "inverse", *, beta: float = 0.999,
                        normalize: str | None = "classes") -> np.ndarray:
    """Per-class weights from per-class counts.

    counts: shape (n_classes,), all > 0. normalize: ``"classes"`` scales the weights to sum to
    n_classes (Cui et al.'s convention), ``"samples"`` so that sum_c n_c w_c = sum_c n_c (the average
    weight per training example is 1, as scikit-learn's ``class_weight="balanced"``), None leaves
    them raw. Returns float64 array of shape (n_classes,).
    """
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 1 or counts.size == 0:
        raise ValueError(f"counts must be a non-empty 1-D array; got shape {counts.shape}")
    if np.any(counts <= 0):
        raise ValueError(
            f"every class needs at least one example to be weighted; classes {np.flatnonzero(counts <= 0).tolist()} "
            f"have counts {counts[counts <= 0].tolist()}"
        )
    if scheme == "inverse":
        w = 1.0 / counts
    elif scheme == "sqrt-inverse":
        w = 1.0 / np.sqrt(counts)
    elif scheme == "effective":
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"beta={beta} must be in [0, 1)")
        w = (1.0 - beta) / (1.0 - np.power(beta, counts))
    elif scheme == "none":
        w = np.ones_like(counts)
    else:
        raise ValueError(f"scheme={scheme!r} must be one of {', '.join(SCHEMES)}")
    if normalize == "classes":
        return w * (w.size / w.sum())
    if normalize == "samples":
        return w * (counts.sum() / (counts * w).sum())
    if normalize is None:
        return w
    raise ValueError(f"normalize={normalize!r} must be 'classes', 'samples' or None")


def class_weights(y, scheme: str = "inverse", *, beta: float = 0.999, classes=None,
                  normalize: str | None = "classes") -> np.ndarray:
    """Per-class weights of a training target (see the module docstring for the schemes).

    y: labels, shape (n_samples,), or multi-hot, shape (n_samples, n_labels). classes: order of the
    output for single-label y (default ``np.unique(y)``; every class must occur). Returns float64
    array of shape (n_classes,) normalised as in :func:`weights_from_counts`.
    """
    counts, _ = class_counts(y, classes)
    return weights_from_counts(counts, scheme, beta=beta, normalize=normalize)


def class_weight_dict(y, scheme: str = "inverse", *, beta: float = 0.999,
                      normalize: str | None = "samples") -> dict:
    """``{label: weight}`` for scikit-learn's ``class_weight=`` (single-label y of shape (n_samples,)).

    With scheme="inverse" and the default normalize="samples" this equals ``class_weight="balanced"``.
    """
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        raise ValueError("class_weight_dict needs single-label y of shape (n_samples,); "
                         f"got shape {y.shape} (use sample_weights for multi-label targets)")
    counts, classes = class_counts(y)
    w = weights_from_counts(counts, scheme, beta=beta, normalize=normalize)
    return {c.item() if isinstance(c, np.generic) else c: float(v) for c, v in zip(classes, w, strict=True)}


def sample_weights(y, scheme: str = "inverse", *, beta: float = 0.999, reduce: str = "mean") -> np.ndarray:
    """Per-example weights for ``fit(X, y, sample_weight=...)``, scaled to average 1.

    y: labels, shape (n_samples,), or multi-hot, shape (n_samples, n_labels). A single-label example
    gets its class's weight; a multi-label example the mean (``reduce="mean"``) or the maximum
    (``"max"``) of the weights of its positive labels, and an example without any label the smallest
    label weight. Returns float64 array of shape (n_samples,). With scheme="inverse" and single-label
    y this equals scikit-learn's ``compute_sample_weight("balanced", y)``.
    """
    y = np.asarray(y)
    counts, classes = class_counts(y)
    w = weights_from_counts(counts, scheme, beta=beta, normalize=None)
    if y.ndim == 2 and y.shape[1] > 1:
        Y = y.astype(bool)
        if reduce == "mean":
            per = (Y * w).sum(axis=1) / np.maximum(Y.sum(axis=1), 1)
        elif reduce == "max":
            per = (Y * w).max(axis=1)
        else:
            raise ValueError(f"reduce={reduce!r} must be 'mean' or 'max'")
        per = np.where(Y.any(axis=1), per, w.min())
    else:
        per = w[np.searchsorted(classes, y.reshape(-1))]
    return per / per.mean()


def pos_weights(Y) -> np.ndarray:
    """``pos_weight`` for BCE on a multi-hot target: n_negative / n_positive per label.

    Y: multi-hot, shape (n_samples, n_labels); every label needs a positive. Returns (n_labels,).
    """
    counts, _ = class_counts(Y)
    Y = np.asarray(Y)
    if Y.ndim != 2:
        raise ValueError(f"pos_weights needs multi-hot Y of shape (n_samples, n_labels); got shape {Y.shape}")
    if np.any(counts == 0):
        raise ValueError(f"labels {np.flatnonzero(counts == 0).tolist()} have no positive example")
    return (Y.shape[0] - counts) / counts


# --------------------------------------------------------------------------- classical models
@dataclass(frozen=True)
class WeightSupport:
    """How a classical model takes weights: ``class_weight`` in its constructor ("balanced" or a
    dict label -> weight) and/or ``sample_weight`` in ``fit``."""

    class_weight: bool
    sample_weight: bool
    note: str = ""


CLASS_WEIGHT_SUPPORT: dict[str, WeightSupport] = {
    "lr": WeightSupport(True, True, "LogisticRegression(class_weight='balanced' | dict)"),
    "rf": WeightSupport(True, True, "RandomForestClassifier(class_weight='balanced' | 'balanced_subsample' | dict)"),
    "svm": WeightSupport(True, True, "SVC(class_weight='balanced' | dict); scales C per class"),
    "xgb": WeightSupport(False, True, "XGBClassifier has no class_weight: pass fit(sample_weight=sample_weights(y))"),
    "knn": WeightSupport(False, False, "KNeighborsClassifier takes no weights: use a sampler"),
    "mlp": WeightSupport(False, True, "MLPClassifier.fit(sample_weight=...) (scikit-learn >= 1.7)"),
}
CLASS_WEIGHT_SUPPORT["xgboost"] = CLASS_WEIGHT_SUPPORT["xgb"]


def weight_support(estimator) -> WeightSupport:
    """What an estimator instance accepts, by introspection: a ``class_weight`` parameter and/or a
    ``sample_weight`` argument of ``fit``. Works for any scikit-learn-compatible estimator."""
    has_cw = "class_weight" in estimator.get_params(deep=False)
    try:
        has_sw = "sample_weight" in inspect.signature(estimator.fit).parameters
    except (TypeError, ValueError):
        has_sw = False
    return WeightSupport(has_cw, has_sw, type(estimator).__name__)
