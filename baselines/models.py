"""The classical models as scikit-learn estimators, each inside an imbalanced-learn Pipeline.

`make_pipeline(name, ...)` returns Pipeline(scaler -> [sampler] -> estimator), a `ValidatedPipeline`:
imbalanced-learn's Pipeline applies a sampler during `fit` only, so resampling can never touch the
data being predicted, and `fit(X, y, X_valid=, y_valid=)` hands the run's validation rows (scaled,
never resampled) to the models that have an internal split: the MLP is early-stopped on them and
the SVM's probabilities are calibrated on them (see `baselines.validation`); no model splits its
training rows internally. Profiles: `quick` (small and fast, for demos and tests) and `paper` (the
settings of the reference GTZAN study: RF 500 trees, min_samples_split 5; XGBoost max_depth 5,
learning rate 0.1, 500 trees, subsample 0.8; KNN k=7; SVM (RBF) and LR one-vs-rest).

A label constant in the training targets (a tag every training track has, or none has) gets that
constant as its probability from every model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler
from xgboost import XGBClassifier

from baselines.validation import CalibratedSVC, EarlyStoppingMLP, ValidatedPipeline, constant_labels

PROFILES = ("quick", "paper")

TASKS = ("single", "multi")


class XGBLabelClassifier(ClassifierMixin, BaseEstimator):
    """XGBoost for single-label (integer classes) and multi-label (multi-hot Y) targets.

    Adds `sample_weight` from `class_weight` ('balanced' or a dict) the way scikit-learn estimators
    do, since XGBClassifier has no `class_weight` of its own; multi-label targets use XGBoost's native
    multi-output trees (one binary logistic output per label); a label constant in training (every
    row has it, or none) is that constant, 1.0 or 0.0, and the trees fit the other labels.
    """

    def __init__(self, n_estimators=200, max_depth=4, learning_rate=0.1, subsample=0.8, colsample_bytree=0.8,
                 class_weight=None, n_jobs=1, random_state=None):
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.learning_rate = learning_rate
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.class_weight = class_weight
        self.n_jobs = n_jobs
        self.random_state = random_state

    def fit(self, X, y, sample_weight=None):
        y = np.asarray(y)
        self.multilabel_ = y.ndim == 2
        if self.multilabel_:
            self.classes_ = np.arange(y.shape[1])
            # A label every (or no) training row has is that constant; the trees fit the others.
            self.constant_ = constant_labels(y)
            self.columns_ = np.flatnonzero(np.isnan(self.constant_))
            target = y[:, self.columns_].astype(int)
            if target.shape[1] == 1:
                target = target[:, 0]
        else:
            self.classes_, target = np.unique(y, return_inverse=True)
        if self.class_weight is not None and sample_weight is None and not self.multilabel_:
            from sklearn.utils.class_weight import compute_sample_weight

            sample_weight = compute_sample_weight(self.class_weight, target)
        self.model_ = None  # no trees when every label is constant
        if not self.multilabel_ or len(self.columns_):
            self.model_ = XGBClassifier(
                n_estimators=self.n_estimators, max_depth=self.max_depth, learning_rate=self.learning_rate,
                subsample=self.subsample, colsample_bytree=self.colsample_bytree, tree_method="hist",
                n_jobs=self.n_jobs, random_state=0 if self.random_state is None else int(self.random_state),
            ).fit(X, target, sample_weight=sample_weight)
        return self

    def predict_proba(self, X):
        if self.multilabel_:
            out = np.tile(self.constant_, (len(X), 1))
            if self.model_ is not None:
                p = self.model_.predict_proba(X)
                out[:, self.columns_] = p[:, 1:] if len(self.columns_) == 1 and p.shape[1] == 2 else p
            return out
        p = self.model_.predict_proba(X)
        if len(self.classes_) == 2 and p.ndim == 1:
            p = np.stack([1 - p, p], axis=1)
        return p

    def predict(self, X):
        p = self.predict_proba(X)
        if self.multilabel_:
            return (p >= 0.5).astype(int)
        return self.classes_[p.argmax(axis=1)]


@dataclass(frozen=True)
class BaselineSpec:
    """One registry entry: `spec(profile=..., task=..., random_state=..., class_weight=..., n_jobs=...)`."""

    name: str
    build: Callable[..., BaseEstimator]
    title: str
    class_weight: bool  # accepts class weights (as class_weight= or through sample weights)
    grid: dict = field(default_factory=dict)  # small grid for --tune, as estimator params

    def __call__(self, *, profile="quick", task="single", random_state=0, class_weight=None, n_jobs=1):
        if profile not in PROFILES:
            raise ValueError(f"profile={profile!r} must be one of {PROFILES}")
        if task not in TASKS:
            raise ValueError(f"task={task!r} must be one of {TASKS}")
        if class_weight is not None and not self.class_weight:
            raise ValueError(f"model {self.name!r} does not accept class weights")
        return self.build(profile=profile, task=task, random_state=random_state,
                          class_weight=class_weight, n_jobs=n_jobs)


def _lr(*, profile, task, random_state, class_weight, n_jobs):
    est = LogisticRegression(C=1.0, max_iter=2000, class_weight=class_weight, random_state=random_state)
    if task == "multi" or profile == "paper":
        return OneVsRestClassifier(est, n_jobs=n_jobs)
    return est  # multinomial


def _rf(*, profile, task, random_state, class_weight, n_jobs):
    from sklearn.ensemble import RandomForestClassifier

    n = 500 if profile == "paper" else 200
    # Native multi-output for multi-label targets.
    return RandomForestClassifier(n_estimators=n, min_samples_split=5, class_weight=class_weight,
                                  random_state=random_state, n_jobs=n_jobs)


def _xgb(*, profile, task, random_state, class_weight, n_jobs):
    if profile == "paper":
        return XGBLabelClassifier(n_estimators=500, max_depth=5, learning_rate=0.1, subsample=0.8,
                                  colsample_bytree=1.0, class_weight=class_weight, n_jobs=n_jobs,
                                  random_state=random_state)
    return XGBLabelClassifier(n_estimators=150, max_depth=4, learning_rate=0.1, subsample=0.8,
                              class_weight=class_weight, n_jobs=n_jobs, random_state=random_state)


def _svm(*, profile, task, random_state, class_weight, n_jobs):
    # Probabilities calibrated on the run's validation split over the frozen SVC (temperature scaling for
    # more than two classes, Platt's sigmoid for two and per tag), not libsvm's internal cross-validation
    # on the resampled training rows.
    return CalibratedSVC(kernel="rbf", C=1.0, gamma="scale", class_weight=class_weight,
                         one_vs_rest=task == "single" and profile == "paper", random_state=random_state,
                         n_jobs=n_jobs)


def _knn(*, profile, task, random_state, class_weight, n_jobs):
    return KNeighborsClassifier(n_neighbors=7, n_jobs=n_jobs)  # native multi-output


def _mlp(*, profile, task, random_state, class_weight, n_jobs):
    hidden = (512, 256, 64) if profile == "paper" else (256, 128)
    # Early stopping on the run's validation split (patience 20 epochs, best epoch restored), not on a
    # fraction of the resampled training rows.
    return EarlyStoppingMLP(hidden_layer_sizes=hidden, alpha=1e-3, learning_rate_init=1e-3, max_iter=400,
                            n_iter_no_change=20, random_state=random_state)


BASELINES: dict[str, BaselineSpec] = {
    "lr": BaselineSpec("lr", _lr, "Logistic regression", True, {"C": [0.1, 1.0, 10.0]}),
    "rf": BaselineSpec("rf", _rf, "Random forest", True, {"max_features": ["sqrt", 0.3]}),
    "xgb": BaselineSpec("xgb", _xgb, "XGBoost", True, {"max_depth": [3, 5], "learning_rate": [0.05, 0.1]}),
    "svm": BaselineSpec("svm", _svm, "SVM (RBF)", True, {"C": [1.0, 10.0], "gamma": ["scale", 0.01]}),
    "knn": BaselineSpec("knn", _knn, "k-nearest neighbours", False, {"n_neighbors": [3, 7, 15]}),
    "mlp": BaselineSpec("mlp", _mlp, "Multi-layer perceptron", False, {"alpha": [1e-4, 1e-3, 1e-2]}),
}


def make_pipeline(name: str, *, sampler=None, profile="quick", task="single", random_state=0,
                  class_weight=None, n_jobs=1) -> ValidatedPipeline:
    """Pipeline(scaler -> [sampler] -> estimator) for the registry entry `name`.

    `sampler`: an imbalanced-learn sampler (or None); it runs on training data during `fit` only.
    `fit(X, y, X_valid=..., y_valid=..., valid_score=...)` gives the MLP and the SVM the run's
    validation rows for early stopping and calibration (see `baselines.validation`).
    """
    if name not in BASELINES:
        raise ValueError(f"unknown classical model {name!r}; choose from {', '.join(BASELINES)}")
    est = BASELINES[name](profile=profile, task=task, random_state=random_state,
                          class_weight=class_weight, n_jobs=n_jobs)
    steps = [("scaler", StandardScaler())]
    if sampler is not None:
        steps.append(("sampler", sampler))
    steps.append(("model", est))
    return ValidatedPipeline(steps)


def set_model_params(pipe: ValidatedPipeline, params: dict) -> ValidatedPipeline:
    """A clone of `pipe` with `params` set on the estimator (through a one-vs-rest wrapper if any)."""
    pipe = clone(pipe)
    model = pipe.named_steps["model"]
    prefix = "model__estimator__" if isinstance(model, OneVsRestClassifier) else "model__"
    pipe.set_params(**{prefix + k: v for k, v in params.items()})
    return pipe


def param_grid(name: str) -> list[dict]:
    """Every combination of the registry entry's small grid (for tuning on the validation split)."""
    from sklearn.model_selection import ParameterGrid

    return list(ParameterGrid(BASELINES[name].grid)) if BASELINES[name].grid else [{}]


def full_columns(p: np.ndarray, classes, n_classes: int) -> np.ndarray:
    """Probabilities (n, len(classes)) of the classes `classes` (indices into 0..n_classes-1) as
    (n, n_classes), with a zero column for every class not in `classes`."""
    p = np.asarray(p, dtype=np.float64)
    classes = np.arange(p.shape[1]) if classes is None else np.asarray(classes)
    if p.shape[1] == n_classes and np.array_equal(classes, np.arange(n_classes)):
        return p
    full = np.zeros((p.shape[0], n_classes))
    full[:, classes.astype(int)] = p
    return full


def predict_proba_full(pipe, X, n_classes: int) -> np.ndarray:
    """Class probabilities, shape (n, n_classes), with a zero column for classes unseen in training.

    Single-label targets are class indices 0..n_classes-1; multi-label estimators (one-vs-rest,
    native multi-output) are normalised to one positive-class probability per label. A label that
    was constant in training (one class in a native multi-output estimator) gets that class: 1.0 for
    a label every training row had, 0.0 for one none had.
    """
    p = pipe.predict_proba(X)
    if isinstance(p, list):  # native multi-output (RF, KNN): one (n, n_seen_classes) array per label
        per_label = getattr(pipe, "classes_", None)
        cols = []
        for j, pl in enumerate(p):
            seen = np.asarray(per_label[j]) if per_label is not None else np.arange(pl.shape[1])
            if 1 in seen:
                cols.append(pl[:, list(seen).index(1)])
            else:  # only 0 was seen in training
                cols.append(np.zeros(len(pl)))
        return np.stack(cols, axis=1).astype(np.float64)
    return full_columns(p, pipe.classes_ if hasattr(pipe, "classes_") else None, n_classes)
