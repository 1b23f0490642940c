"""The classical models as scikit-learn estimators, each inside an imbalanced-learn Pipeline.

`make_pipeline(name, ...)` returns Pipeline(scaler -> [sampler] -> estimator). imbalanced-learn's
Pipeline applies a sampler during `fit` only, so resampling can never touch the data being
predicted. Profiles: `quick` (small and fast, for demos and tests) and `paper` (the settings of the
reference GTZAN study: RF 500 trees, min_samples_split 5; XGBoost max_depth 5, learning rate 0.1,
500 trees, subsample 0.8; KNN k=7; SVM (RBF) and LR one-vs-rest).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from imblearn.pipeline import Pipeline
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from xgboost import XGBClassifier

PROFILES = ("quick", "paper")

warnings.filterwarnings("ignore", message="The `probability` parameter was deprecated", category=FutureWarning)
TASKS = ("single", "multi")


class XGBLabelClassifier(ClassifierMixin, BaseEstimator):
    """XGBoost for single-label (integer classes) and multi-label (multi-hot Y) targets.

    Adds `sample_weight` from `class_weight` ('balanced' or a dict) the way scikit-learn estimators
    do, since XGBClassifier has no `class_weight` of its own; multi-label targets use XGBoost's native
    multi-output trees (one binary logistic output per label).
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
            target = y.astype(int)
        else:
            self.classes_, target = np.unique(y, return_inverse=True)
        if self.class_weight is not None and sample_weight is None and not self.multilabel_:
            from sklearn.utils.class_weight import compute_sample_weight

            sample_weight = compute_sample_weight(self.class_weight, target)
        self.model_ = XGBClassifier(
            n_estimators=self.n_estimators, max_depth=self.max_depth, learning_rate=self.learning_rate,
            subsample=self.subsample, colsample_bytree=self.colsample_bytree, tree_method="hist",
            n_jobs=self.n_jobs, random_state=0 if self.random_state is None else int(self.random_state),
        )
        self.model_.fit(X, target, sample_weight=sample_weight)
        return self

    def predict_proba(self, X):
        p = self.model_.predict_proba(X)
        if not self.multilabel_ and len(self.classes_) == 2 and p.ndim == 1:
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
    if "probability" in SVC().get_params():
        # libsvm's Platt scaling (deprecated in scikit-learn 1.9, removed in 1.11).
        est = SVC(kernel="rbf", C=1.0, gamma="scale", probability=True, class_weight=class_weight,
                  random_state=random_state)
    else:  # pragma: no cover - scikit-learn >= 1.11
        from sklearn.calibration import CalibratedClassifierCV

        est = CalibratedClassifierCV(SVC(kernel="rbf", C=1.0, gamma="scale", class_weight=class_weight,
                                         random_state=random_state), ensemble=False, cv=3)
    if task == "multi" or profile == "paper":
        return OneVsRestClassifier(est, n_jobs=n_jobs)
    return est


def _knn(*, profile, task, random_state, class_weight, n_jobs):
    return KNeighborsClassifier(n_neighbors=7, n_jobs=n_jobs)  # native multi-output


def _mlp(*, profile, task, random_state, class_weight, n_jobs):
    hidden = (512, 256, 64) if profile == "paper" else (256, 128)
    return MLPClassifier(hidden_layer_sizes=hidden, alpha=1e-3, learning_rate_init=1e-3, max_iter=400,
                         early_stopping=True, validation_fraction=0.15, n_iter_no_change=20,
                         random_state=random_state)


BASELINES: dict[str, BaselineSpec] = {
    "lr": BaselineSpec("lr", _lr, "Logistic regression", True, {"C": [0.1, 1.0, 10.0]}),
    "rf": BaselineSpec("rf", _rf, "Random forest", True, {"max_features": ["sqrt", 0.3]}),
    "xgb": BaselineSpec("xgb", _xgb, "XGBoost", True, {"max_depth": [3, 5], "learning_rate": [0.05, 0.1]}),
    "svm": BaselineSpec("svm", _svm, "SVM (RBF)", True, {"C": [1.0, 10.0], "gamma": ["scale", 0.01]}),
    "knn": BaselineSpec("knn", _knn, "k-nearest neighbours", False, {"n_neighbors": [3, 7, 15]}),
    "mlp": BaselineSpec("mlp", _mlp, "Multi-layer perceptron", False, {"alpha": [1e-4, 1e-3, 1e-2]}),
}


def make_pipeline(name: str, *, sampler=None, profile="quick", task="single", random_state=0,
                  class_weight=None, n_jobs=1) -> Pipeline:
    """Pipeline(scaler -> [sampler] -> estimator) for the registry entry `name`.

    `sampler`: an imbalanced-learn sampler (or None); it runs on training data during `fit` only.
    """
    if name not in BASELINES:
        raise ValueError(f"unknown classical model {name!r}; choose from {', '.join(BASELINES)}")
    est = BASELINES[name](profile=profile, task=task, random_state=random_state,
                          class_weight=class_weight, n_jobs=n_jobs)
    steps = [("scaler", StandardScaler())]
    if sampler is not None:
        steps.append(("sampler", sampler))
    steps.append(("model", est))
    return Pipeline(steps)


def set_model_params(pipe: Pipeline, params: dict) -> Pipeline:
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


def predict_proba_full(pipe, X, n_classes: int) -> np.ndarray:
    """Class probabilities, shape (n, n_classes), with a zero column for classes unseen in training.

    Single-label targets are class indices 0..n_classes-1; multi-label estimators (one-vs-rest,
    native multi-output) are normalised to one positive-class probability per label.
    """
    p = pipe.predict_proba(X)
    if isinstance(p, list):  # native multi-output (RF, KNN): one (n, 2) array per label
        return np.stack([pl[:, 1] if pl.shape[1] == 2 else np.zeros(len(pl)) for pl in p], axis=1)
    p = np.asarray(p, dtype=np.float64)
    classes = pipe.classes_ if hasattr(pipe, "classes_") else np.arange(p.shape[1])
    if p.shape[1] == n_classes and np.array_equal(np.asarray(classes), np.arange(n_classes)):
        return p
    full = np.zeros((p.shape[0], n_classes))
    full[:, np.asarray(classes, dtype=int)] = p
    return full
