"""Internal splits of the classical models: every one of them is the run's validation split.

Two registry models used to split their training rows internally, after the sampler had run: the MLP
(scikit-learn's `early_stopping=True, validation_fraction=0.15`) and the SVM (libsvm's Platt scaling,
`probability=True`, 5-fold cross-validation). With random over-sampling a copied row landed on both
sides of that split, SMOTE points were validated on the rows they were built from, and in excerpt
mode the excerpts of one track were split apart. Here:

- `ValidatedPipeline` is imbalanced-learn's Pipeline with `fit(X, y, X_valid=, y_valid=, valid_score=)`:
  the scaler is fit on the training rows, the sampler resamples the training rows only, and the
  validation rows are transformed by the fitted scaler (never resampled) and handed to the final
  estimator, when it takes them (`uses_validation`). Estimators without an internal split fit as in
  the plain Pipeline.
- `EarlyStoppingMLP` trains scikit-learn's MLPClassifier one epoch at a time (`partial_fit`, no
  internal split), scores every epoch on the validation rows and restores the best epoch's weights.
- `CalibratedSVC` fits an SVC (no `probability`), freezes it and calibrates its decision values on the
  validation rows: temperature scaling for more than two classes (one parameter; the SVC's decisions
  are kept), Platt's sigmoid for two classes and per label. The calibration data is data the SVC
  never saw and no resampled copy came from.

Without validation rows (a run with no validation split) neither model has a held-out set: the MLP
stops when its training loss stops improving (scikit-learn's `early_stopping=False` criterion) and the
SVM's probabilities are the uncalibrated softmax (sigmoid for two classes and per label) of its
decision values; `calibration_` / `stopping_` say which, and a warning is logged.

Labels that are constant in the training targets (a tag every training track has, or none has) get
that constant as their probability (`constant_labels`).
"""

from __future__ import annotations

import inspect
import logging
from math import log

import numpy as np
from imblearn.pipeline import Pipeline
from scipy.optimize import minimize, minimize_scalar
from scipy.special import expit, logsumexp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.multiclass import OneVsRestClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.svm import SVC
from sklearn.utils import check_random_state

log_ = logging.getLogger(__name__)

__all__ = ["CalibratedSVC", "EarlyStoppingMLP", "ValidatedPipeline", "constant_labels", "platt_sigmoid",
           "temperature", "uses_validation"]


def uses_validation(estimator) -> bool:
    """Whether `estimator.fit` takes the run's validation rows (X_valid, y_valid)."""
    try:
        return "X_valid" in inspect.signature(estimator.fit).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
        return False


def constant_labels(Y: np.ndarray) -> np.ndarray:
    """Per column of a multi-hot Y: 1.0 (every row has it), 0.0 (no row has it) or NaN (both occur)."""
    Y = np.asarray(Y)
    out = np.full(Y.shape[1], np.nan)
    out[(Y == 1).all(axis=0)] = 1.0
    out[(Y == 0).all(axis=0)] = 0.0
    return out


class ValidatedPipeline(Pipeline):
    """imbalanced-learn's Pipeline whose `fit` can hand the run's validation rows to the final estimator.

    `fit(X, y, X_valid=None, y_valid=None, valid_score=None)`: when the final estimator takes them
    (`uses_validation`), every transformer is fit on the training rows X and applied to X_valid, every
    sampler resamples the training rows only (X_valid is never resampled), and the final estimator is
    fit with the transformed validation rows. Otherwise the validation rows are not used and `fit` is
    the plain Pipeline's. `predict`, `predict_proba` etc. are unchanged (samplers are skipped).
    """

    def fit(self, X, y=None, X_valid=None, y_valid=None, valid_score=None, **params):
        final = self._final_estimator
        if final == "passthrough" or not uses_validation(final):
            return super().fit(X, y, **params)
        if params:
            raise TypeError(f"ValidatedPipeline.fit with validation rows takes no step parameters: {sorted(params)}")
        self.steps = list(self.steps)
        self._validate_steps()
        Xt, yt, Xv = X, y, X_valid
        for _, step in self.steps[:-1]:
            if step is None or step == "passthrough":
                continue
            if hasattr(step, "transform") or hasattr(step, "fit_transform"):
                Xt = step.fit_transform(Xt, yt)
                if Xv is not None:
                    Xv = step.transform(Xv)
            else:  # a sampler: the training rows only
                Xt, yt = step.fit_resample(Xt, yt)
        final.fit(Xt, yt, X_valid=Xv, y_valid=y_valid, valid_score=valid_score)
        return self


# --------------------------------------------------------------------------- SVM: Platt on validation
def platt_sigmoid(f: np.ndarray, target: np.ndarray, max_abs=30.0) -> tuple[float, float]:
    """Platt's sigmoid P(target | f) = 1 / (1 + exp(a f + b)) fitted by maximum likelihood, with Platt's
    prior-smoothed targets ((n+ + 1) / (n+ + 2) and 1 / (n- + 2)); the same fit as scikit-learn's
    `CalibratedClassifierCV(method="sigmoid")`. Returns (a, b)."""
    f = np.asarray(f, dtype=np.float64).ravel()
    t = np.asarray(target).astype(bool).ravel()
    scale = 1.0
    m = float(np.max(np.abs(f))) if len(f) else 0.0
    if m >= max_abs:
        scale = m
        f = f / scale
    n1 = float(t.sum())
    n0 = len(t) - n1
    T = np.where(t, (n1 + 1.0) / (n1 + 2.0), 1.0 / (n0 + 2.0))

    def loss_grad(ab):
        z = ab[0] * f + ab[1]  # P = sigmoid(-z)
        loss = float(np.sum(T * np.logaddexp(0.0, z) + (1.0 - T) * np.logaddexp(0.0, -z)))
        g = expit(z) - (1.0 - T)
        return loss, np.array([g @ f, g.sum()])

    res = minimize(loss_grad, np.array([0.0, log((n0 + 1.0) / (n1 + 1.0))]), method="L-BFGS-B", jac=True,
                   options={"gtol": 1e-6, "ftol": 64 * np.finfo(float).eps})
    return float(res.x[0] / scale), float(res.x[1])


def temperature(F: np.ndarray, y_idx: np.ndarray) -> float:
    """The inverse temperature beta of softmax(beta * F) fitted by the multinomial log-likelihood of the
    column indices `y_idx`; the same fit as scikit-learn's `CalibratedClassifierCV(method="temperature")`."""
    F = np.asarray(F, dtype=np.float64)
    rows = np.arange(len(F))

    def nll(log_beta):
        z = np.exp(log_beta) * F
        return float(np.mean(logsumexp(z, axis=1) - z[rows, y_idx]))

    res = minimize_scalar(nll, bounds=(-10.0, 10.0), options={"xatol": 64 * np.finfo(float).eps})
    return float(np.exp(res.x))


class CalibratedSVC(ClassifierMixin, BaseEstimator):
    """An RBF SVC (one-vs-one, or one-vs-rest with `one_vs_rest`; one-vs-rest per label for multi-hot
    targets) whose probabilities are calibrated on the run's validation rows over the frozen SVC.

    `fit(X, y, X_valid, y_valid)` fits the SVC on (X, y) and calls `calibrate(X_valid, y_valid)`, which
    maps the validation rows' decision values to probabilities: for more than two classes, temperature
    scaling, softmax(beta * decision values), one parameter shared by the classes, so the SVC's own
    decisions (the argmax) are kept; for two classes and for every label of a multi-label target,
    Platt's sigmoid (slope and intercept). A Platt column whose validation rows are all positive or
    all negative keeps the uncalibrated sigmoid of the decision value; without validation rows every
    column is uncalibrated (sigmoid, or softmax with beta = 1), `calibration_` is 'none' and a warning
    is logged. A label constant in the training targets gets that constant.
    Fitted: `svc_`, `calibration_` ('validation' / 'none'), `beta_` (temperature) or `platt_` and
    `calibrated_` (per Platt column).
    """

    def __init__(self, C=1.0, kernel="rbf", gamma="scale", class_weight=None, one_vs_rest=False, random_state=None,
                 n_jobs=1):
        self.C = C
        self.kernel = kernel
        self.gamma = gamma
        self.class_weight = class_weight
        self.one_vs_rest = one_vs_rest
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _svc(self):
        return SVC(kernel=self.kernel, C=self.C, gamma=self.gamma, class_weight=self.class_weight,
                   random_state=self.random_state)

    def fit(self, X, y, X_valid=None, y_valid=None, valid_score=None):
        y = np.asarray(y)
        self.multilabel_ = y.ndim == 2
        if self.multilabel_:
            self.classes_ = np.arange(y.shape[1])
            self.constant_ = constant_labels(y)
            self.columns_ = np.flatnonzero(np.isnan(self.constant_))  # the labels an SVC is fit for
            self.svc_ = None
            if len(self.columns_) == 1:
                self.svc_ = self._svc().fit(X, y[:, self.columns_[0]])
            elif len(self.columns_) > 1:
                self.svc_ = OneVsRestClassifier(self._svc(), n_jobs=self.n_jobs).fit(X, y[:, self.columns_])
        else:
            self.svc_ = (OneVsRestClassifier(self._svc(), n_jobs=self.n_jobs) if self.one_vs_rest
                         else self._svc()).fit(X, y)
            self.classes_ = self.svc_.classes_
        self.n_features_in_ = np.asarray(X).shape[1]
        return self.calibrate(X_valid, y_valid)

    @property
    def _softmax(self) -> bool:
        return not self.multilabel_ and len(self.classes_) > 2

    def decision_function(self, X) -> np.ndarray:
        """The frozen SVC's decision values, (n, k): k = classes (one column for two), or fitted labels."""
        if self.svc_ is None:
            return np.zeros((len(X), 0))
        d = np.asarray(self.svc_.decision_function(X), dtype=np.float64)
        return d.reshape(len(X), -1)

    def calibrate(self, X, y) -> CalibratedSVC:
        """Fit the calibration on the rows (X, y) - the run's validation rows, never training rows."""
        k = 0 if self.svc_ is None else (len(self.columns_) if self.multilabel_ else
                                         (1 if len(self.classes_) == 2 else len(self.classes_)))
        self.beta_ = 1.0
        self.platt_ = np.tile([-1.0, 0.0], (0 if self._softmax else k, 1))  # (a, b): uncalibrated sigmoid
        self.calibrated_ = np.zeros(len(self.platt_), dtype=bool)
        if X is None or len(X) == 0:
            self.calibration_ = "none"
            log_.warning("svm: no validation rows; probabilities are the uncalibrated %s of the decision values",
                         "softmax" if self._softmax else "sigmoid")
            return self
        self.calibration_ = "validation"
        if not k:
            return self
        F, y = self.decision_function(X), np.asarray(y)
        if self._softmax:
            pos = {c: i for i, c in enumerate(self.classes_)}
            keep = np.array([c in pos for c in y], dtype=bool)  # a class the SVC never saw has no column
            if keep.any():
                self.beta_ = temperature(F[keep], np.array([pos[c] for c in y[keep]]))
            return self
        T = y[:, self.columns_].astype(bool) if self.multilabel_ else (y == self.classes_[1])[:, None]
        for j in range(k):
            if T[:, j].any() and not T[:, j].all():
                self.platt_[j] = platt_sigmoid(F[:, j], T[:, j])
                self.calibrated_[j] = True
        return self

    def predict_proba(self, X) -> np.ndarray:
        F = self.decision_function(X)
        if self._softmax:
            z = self.beta_ * F
            return np.exp(z - logsumexp(z, axis=1, keepdims=True))
        P = expit(-(F * self.platt_[:, 0] + self.platt_[:, 1]))
        if self.multilabel_:
            out = np.tile(self.constant_, (len(X), 1))
            out[:, self.columns_] = P
            return out
        return np.hstack([1.0 - P, P])

    def predict(self, X):
        P = self.predict_proba(X)
        if self.multilabel_:
            return (P >= 0.5).astype(int)
        return self.classes_[P.argmax(axis=1)]


# --------------------------------------------------------------------------- MLP: early stopping on validation
def _mean_log_loss(y, P, classes, multilabel: bool, eps=1e-12) -> float:
    P = np.clip(P, eps, 1 - eps)
    if multilabel:
        Y = np.asarray(y, dtype=np.float64)
        return float(-np.mean(Y * np.log(P) + (1 - Y) * np.log(1 - P)))
    pos = {c: i for i, c in enumerate(classes)}
    keep = np.array([c in pos for c in y], dtype=bool)  # a class unseen in training has no column
    if not keep.any():
        return 0.0
    idx = np.array([pos[c] for c in np.asarray(y)[keep]])
    return float(-np.mean(np.log(P[keep][np.arange(len(idx)), idx])))


class EarlyStoppingMLP(ClassifierMixin, BaseEstimator):
    """scikit-learn's MLPClassifier (Adam), early-stopped on the run's validation rows.

    `fit(X, y, X_valid, y_valid, valid_score)` runs one `partial_fit` epoch at a time on the training
    rows (no internal split: `early_stopping=False`), scores each epoch on the validation rows with
    `valid_score(probabilities, classes)` (higher is better; default: minus the log-loss), ties broken
    by the lower validation log-loss, stops after `n_iter_no_change` epochs without improvement (or
    `max_iter` epochs) and restores the best epoch's weights. Deterministic for an integer
    `random_state` (one RandomState drives initialisation and shuffling over all epochs).
    Without validation rows it is MLPClassifier(early_stopping=False).fit: training stops when the
    training loss improves by less than `tol` for `n_iter_no_change` epochs.
    Fitted: `net_`, `best_epoch_`, `n_epochs_`, `validation_scores_`, `stopping_`.
    """

    def __init__(self, hidden_layer_sizes=(256, 128), alpha=1e-3, learning_rate_init=1e-3, batch_size="auto",
                 max_iter=400, n_iter_no_change=20, tol=1e-4, random_state=None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.alpha = alpha
        self.learning_rate_init = learning_rate_init
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.random_state = random_state

    def _net(self, random_state):
        return MLPClassifier(hidden_layer_sizes=self.hidden_layer_sizes, alpha=self.alpha,
                             learning_rate_init=self.learning_rate_init, batch_size=self.batch_size,
                             max_iter=self.max_iter, n_iter_no_change=self.n_iter_no_change, tol=self.tol,
                             early_stopping=False, random_state=random_state)

    def fit(self, X, y, X_valid=None, y_valid=None, valid_score=None):
        y = np.asarray(y)
        self.multilabel_ = y.ndim == 2
        self.classes_ = np.arange(y.shape[1]) if self.multilabel_ else np.unique(y)
        self.constant_ = constant_labels(y) if self.multilabel_ else None
        self.n_features_in_ = np.asarray(X).shape[1]
        if X_valid is None or len(X_valid) == 0:
            log_.warning("mlp: no validation rows; no early stopping (training stops when the training loss "
                         "stops improving)")
            self.net_ = self._net(self.random_state).fit(X, y)
            self.n_epochs_ = self.best_epoch_ = int(self.net_.n_iter_)
            self.validation_scores_ = []
            self.stopping_ = "training loss"
            return self
        y_valid = np.asarray(y_valid)
        net = self._net(check_random_state(self.random_state))
        best, history, stale = None, [], 0
        for epoch in range(1, self.max_iter + 1):
            net.partial_fit(X, y, classes=self.classes_)
            P = self._fill_constant(net.predict_proba(X_valid))
            loss = _mean_log_loss(y_valid, P, self.classes_, self.multilabel_)
            score = float(valid_score(P, self.classes_)) if valid_score is not None else -loss
            history.append(score)
            if best is None or score > best[0] + self.tol or (score >= best[0] and loss < best[1] - self.tol):
                best = (score, loss, epoch, [c.copy() for c in net.coefs_], [b.copy() for b in net.intercepts_])
                stale = 0
            else:
                stale += 1
                if stale >= self.n_iter_no_change:
                    break
        net.coefs_, net.intercepts_ = best[3], best[4]
        self.net_ = net
        self.best_epoch_, self.n_epochs_ = best[2], epoch
        self.validation_scores_ = history
        self.stopping_ = "validation"
        return self

    def _fill_constant(self, P):
        if self.multilabel_:
            const = ~np.isnan(self.constant_)
            P = np.array(P, dtype=np.float64)
            P[:, const] = self.constant_[const]
        return P

    def predict_proba(self, X) -> np.ndarray:
        return self._fill_constant(self.net_.predict_proba(X))

    def predict(self, X):
        P = self.predict_proba(X)
        if self.multilabel_:
            return (P >= 0.5).astype(int)
        return self.classes_[P.argmax(axis=1)]
