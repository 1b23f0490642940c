"""The models' internal held-out data is the run's validation rows: the pipeline hands them over scaled and
never resampled, the SVM is calibrated on them (the same fits as scikit-learn's CalibratedClassifierCV over the
frozen SVC: temperature scaling, Platt), the MLP is early-stopped on them; constant labels get their constant
from every model."""

import numpy as np
import pytest
from imblearn.base import BaseSampler
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.datasets import make_classification, make_multilabel_classification
from sklearn.frozen import FrozenEstimator
from sklearn.neural_network import _multilayer_perceptron
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from baselines import BASELINES, CalibratedSVC, EarlyStoppingMLP, make_pipeline, predict_proba_full
from resampling import SAMPLERS


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(n_samples=400, n_features=10, n_informative=6, n_classes=3, n_clusters_per_class=1,
                               class_sep=1.2, random_state=0)
    return X[:200], y[:200], X[200:300], y[200:300], X[300:], y[300:]


class Doubler(BaseSampler):
    """Over-sampler that appends a copy of every row and records what it was given."""

    _sampling_type = "over-sampling"
    _parameter_constraints: dict = {}
    seen: list = []

    def __init__(self):
        super().__init__(sampling_strategy="auto")

    def _fit_resample(self, X, y):
        Doubler.seen.append(np.array(X))
        return np.vstack([X, X]), np.concatenate([y, y])


class TakesValidation(ClassifierMixin, BaseEstimator):
    def fit(self, X, y, X_valid=None, y_valid=None, valid_score=None):
        self.got_ = (np.array(X), np.array(y), None if X_valid is None else np.array(X_valid), y_valid)
        self.classes_ = np.unique(y)
        return self

    def predict_proba(self, X):
        return np.full((len(X), len(self.classes_)), 1 / len(self.classes_))


def test_pipeline_hands_scaled_unresampled_validation_rows_to_the_model(data):
    X, y, Xv, yv, _, _ = data
    from baselines.validation import ValidatedPipeline

    Doubler.seen = []
    pipe = ValidatedPipeline([("scaler", StandardScaler()), ("sampler", Doubler()), ("model", TakesValidation())])
    pipe.fit(X, y, X_valid=Xv, y_valid=yv)
    Xt, yt, Xvt, yvt = pipe.named_steps["model"].got_
    scaler = StandardScaler().fit(X)
    np.testing.assert_allclose(Xvt, scaler.transform(Xv))             # scaled by the training-fitted scaler
    assert len(Xvt) == len(Xv) and np.array_equal(yvt, yv)             # never resampled
    (seen,) = Doubler.seen
    np.testing.assert_allclose(seen, scaler.transform(X))              # the sampler saw the training rows only
    assert len(Xt) == 2 * len(X) and np.array_equal(yt, np.concatenate([y, y]))
    # A model without an internal split fits as in the plain pipeline; the validation rows are not used.
    lr = make_pipeline("lr", sampler=Doubler()).fit(X, y, X_valid=Xv, y_valid=yv)
    ref = make_pipeline("lr", sampler=Doubler()).fit(X, y)
    np.testing.assert_array_equal(lr.predict_proba(Xv), ref.predict_proba(Xv))


@pytest.mark.parametrize("one_vs_rest", [False, True])
@pytest.mark.parametrize("binary", [False, True])
def test_calibrated_svc_matches_calibrated_classifier_cv_on_the_frozen_svc(data, one_vs_rest, binary):
    X, y, Xv, yv, Xt, _ = data
    if binary:
        y, yv = (y == 1).astype(int), (yv == 1).astype(int)
    model = CalibratedSVC(one_vs_rest=one_vs_rest).fit(X, y, X_valid=Xv, y_valid=yv)
    assert model.calibration_ == "validation"
    # scikit-learn's calibration of the same frozen SVC on the same validation rows: Platt's sigmoid for two
    # classes, temperature scaling for more (which keeps the SVC's decisions).
    rows = np.arange(len(Xv))
    method = "sigmoid" if binary else "temperature"
    ref = CalibratedClassifierCV(FrozenEstimator(model.svc_), method=method, cv=[(rows, rows)]).fit(Xv, yv)
    np.testing.assert_allclose(model.predict_proba(Xt), ref.predict_proba(Xt), atol=1e-7)
    if binary:
        assert model.calibrated_.all()
    else:
        assert model.beta_ != 1.0
        np.testing.assert_array_equal(model.predict(Xt), model.classes_[model.decision_function(Xt).argmax(1)])


def test_calibrated_svc_calibrates_on_the_given_rows_only(data, monkeypatch):
    X, y, Xv, yv, Xt, _ = data
    seen = []
    orig = SVC.decision_function
    monkeypatch.setattr(SVC, "decision_function", lambda self, Z: seen.append(np.array(Z)) or orig(self, Z))
    model = CalibratedSVC().fit(X, y, X_valid=Xv, y_valid=yv)
    assert len(seen) == 1 and np.array_equal(seen[0], Xv)              # only the validation rows
    assert getattr(model.svc_, "probability", None) is not True        # no libsvm internal CV
    # A validation split without class 2 and with a class 7 the SVC never saw: calibrated on the rest.
    yv2 = np.where(yv == 2, 7, yv)
    m2 = CalibratedSVC().fit(X, y, X_valid=Xv, y_valid=yv2)
    keep = yv2 != 7
    ref = CalibratedSVC().fit(X, y, X_valid=Xv[keep], y_valid=yv2[keep])
    assert m2.beta_ == ref.beta_ != 1.0
    # Binary: a validation split with one class only leaves the sigmoid uncalibrated.
    yb = (y == 1).astype(int)
    m3 = CalibratedSVC().fit(X, yb, X_valid=Xv, y_valid=np.zeros(len(Xv), int))
    assert m3.calibration_ == "validation" and not m3.calibrated_.any()
    # No validation rows: the uncalibrated softmax of the decision values, said so.
    m4 = CalibratedSVC().fit(X, y)
    assert m4.calibration_ == "none" and m4.beta_ == 1.0
    np.testing.assert_allclose(m4.predict_proba(Xt).sum(1), 1)


def test_mlp_early_stops_on_the_validation_rows(data, monkeypatch):
    X, y, Xv, yv, Xt, _ = data

    def no_split(*a, **kw):
        raise AssertionError("the MLP split its training rows")

    monkeypatch.setattr(_multilayer_perceptron, "train_test_split", no_split)
    kw = dict(hidden_layer_sizes=(32,), max_iter=200, n_iter_no_change=5, random_state=3)
    m = EarlyStoppingMLP(**kw).fit(X, y, X_valid=Xv, y_valid=yv)
    assert m.stopping_ == "validation" and not m.net_.early_stopping
    assert m.n_epochs_ - m.best_epoch_ == 5 or m.n_epochs_ == 200
    # The restored weights are the best epoch's: their validation score (minus the log-loss) is the best one.
    p = np.clip(m.predict_proba(Xv)[np.arange(len(yv)), yv], 1e-12, 1)
    assert -np.mean(np.log(p)) == pytest.approx(-max(m.validation_scores_), rel=1e-9)
    assert m.validation_scores_[m.best_epoch_ - 1] == max(m.validation_scores_)
    # Deterministic for a seed; another seed is another net.
    again = EarlyStoppingMLP(**kw).fit(X, y, X_valid=Xv, y_valid=yv)
    np.testing.assert_array_equal(again.predict_proba(Xt), m.predict_proba(Xt))
    other = EarlyStoppingMLP(**{**kw, "random_state": 4}).fit(X, y, X_valid=Xv, y_valid=yv)
    assert not np.array_equal(other.predict_proba(Xt), m.predict_proba(Xt))
    # A custom validation score (accuracy) is what selects the epoch; ties go to the lower log-loss.
    scores = []

    def acc(P, classes):
        scores.append(float((classes[P.argmax(1)] == yv).mean()))
        return scores[-1]

    a = EarlyStoppingMLP(**kw).fit(X, y, X_valid=Xv, y_valid=yv, valid_score=acc)
    assert a.validation_scores_ == scores and scores[a.best_epoch_ - 1] == max(scores)
    # Without validation rows: no early stopping, the training-loss criterion.
    n = EarlyStoppingMLP(**kw).fit(X, y)
    assert n.stopping_ == "training loss"


def test_registry_models_with_an_internal_split_take_the_validation_rows():
    from baselines import uses_validation

    takes = {name for name in BASELINES if uses_validation(BASELINES[name]())}
    assert takes == {"mlp", "svm"}
    mlp = BASELINES["mlp"]()
    assert (mlp.hidden_layer_sizes, mlp.alpha, mlp.learning_rate_init, mlp.max_iter, mlp.n_iter_no_change) == \
        ((256, 128), 1e-3, 1e-3, 400, 20)


@pytest.mark.parametrize("sampler", [None, "ml-ros"])
@pytest.mark.parametrize("name", list(BASELINES))
def test_a_label_constant_in_training_gets_its_constant(name, sampler):
    """A tag every training row has gets probability 1.0, a tag none has 0.0, from every model."""
    X, Y = make_multilabel_classification(n_samples=240, n_features=10, n_classes=5, random_state=1)
    Y[:160, 0] = 1                       # every training row
    Y[:160, 1] = 0                       # no training row (validation and test rows may have it)
    s = SAMPLERS[sampler](random_state=0) if sampler else None
    pipe = make_pipeline(name, task="multi", sampler=s).fit(X[:160], Y[:160], X_valid=X[160:200],
                                                             y_valid=Y[160:200])
    P = predict_proba_full(pipe, X[200:], 5)
    assert (P[:, 0] == 1.0).all() and (P[:, 1] == 0.0).all()
    assert ((P[:, 2:] >= 0) & (P[:, 2:] <= 1)).all() and P[:, 2:].std(0).min() > 0
    # Without validation rows too.
    P2 = predict_proba_full(make_pipeline(name, task="multi").fit(X[:160], Y[:160]), X[200:], 5)
    assert (P2[:, 0] == 1.0).all() and (P2[:, 1] == 0.0).all()
