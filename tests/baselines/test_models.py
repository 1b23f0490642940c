"""Classical baselines: every registry entry fits, predicts probabilities, keeps samplers out of predict."""

import numpy as np
import pytest
from imblearn.base import BaseSampler
from sklearn.datasets import make_classification, make_multilabel_classification
from sklearn.metrics import accuracy_score, recall_score

from baselines import BASELINES, make_pipeline, param_grid, predict_proba_full, set_model_params


@pytest.fixture(scope="module")
def single():
    X, y = make_classification(n_samples=300, n_features=12, n_informative=6, n_classes=4, n_clusters_per_class=1,
                               class_sep=1.5, random_state=0)
    return X[:200], y[:200], X[200:], y[200:]


@pytest.mark.parametrize("name", list(BASELINES))
def test_single_label_fit_and_probabilities(single, name):
    X, y, Xt, yt = single
    pipe = make_pipeline(name, random_state=0).fit(X, y)
    p = predict_proba_full(pipe, Xt, 4)
    assert p.shape == (100, 4)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-6)
    assert accuracy_score(yt, p.argmax(1)) > 0.6  # chance is 0.25


@pytest.mark.parametrize("name", list(BASELINES))
def test_multi_label_fit_and_probabilities(name):
    X, Y = make_multilabel_classification(n_samples=200, n_features=10, n_classes=5, random_state=1)
    pipe = make_pipeline(name, task="multi", random_state=0).fit(X[:150], Y[:150])
    p = predict_proba_full(pipe, X[150:], 5)
    assert p.shape == (50, 5) and ((p >= 0) & (p <= 1)).all()
    # Better than predicting each label's training prevalence for every clip.
    base = np.abs(Y[150:] - Y[:150].mean(0)).mean()
    assert np.abs(Y[150:] - p).mean() < base


def test_paper_profile_uses_the_reference_settings():
    rf = make_pipeline("rf", profile="paper").named_steps["model"]
    assert (rf.n_estimators, rf.min_samples_split) == (500, 5)
    xgb = make_pipeline("xgb", profile="paper").named_steps["model"]
    assert (xgb.n_estimators, xgb.max_depth, xgb.learning_rate, xgb.subsample) == (500, 5, 0.1, 0.8)
    assert make_pipeline("knn", profile="paper").named_steps["model"].n_neighbors == 7
    assert type(make_pipeline("lr", profile="paper").named_steps["model"]).__name__ == "OneVsRestClassifier"
    svm = make_pipeline("svm", profile="paper").named_steps["model"]
    assert svm.one_vs_rest and not make_pipeline("svm").named_steps["model"].one_vs_rest
    assert make_pipeline("mlp", profile="paper").named_steps["model"].hidden_layer_sizes == (512, 256, 64)


class RecordingSampler(BaseSampler):
    """Duplicates the first row and records every X it is given."""

    _sampling_type = "over-sampling"
    _parameter_constraints: dict = {}
    seen: list = []

    def __init__(self):
        super().__init__(sampling_strategy="auto")

    def _fit_resample(self, X, y):
        RecordingSampler.seen.append(np.array(X))
        return np.vstack([X, X[:1]]), np.concatenate([y, y[:1]])


def test_sampler_runs_on_training_data_only(single):
    X, y, Xt, _ = single
    RecordingSampler.seen = []
    pipe = make_pipeline("lr", sampler=RecordingSampler()).fit(X, y)
    pipe.predict_proba(Xt)
    pipe.predict(Xt)
    assert len(RecordingSampler.seen) == 1
    # The sampler sees the scaled training matrix, never a test row.
    scaled_test = pipe.named_steps["scaler"].transform(Xt)
    seen = RecordingSampler.seen[0]
    assert seen.shape == X.shape
    assert not (seen[:, None, :] == scaled_test[None, :, :]).all(-1).any()


def test_unseen_class_gets_a_zero_column(single):
    X, y, Xt, _ = single
    keep = y != 2
    p = predict_proba_full(make_pipeline("lr").fit(X[keep], y[keep]), Xt, 4)
    assert (p[:, 2] == 0).all() and np.allclose(p.sum(1), 1)


def test_class_weight_raises_minority_recall():
    X, y = make_classification(n_samples=600, n_features=8, n_informative=4, weights=[0.93, 0.07], class_sep=0.6,
                               random_state=3)
    rec = {}
    for cw in (None, "balanced"):
        for name in ("lr", "xgb"):
            p = predict_proba_full(make_pipeline(name, class_weight=cw).fit(X[:400], y[:400]), X[400:], 2)
            rec[name, cw] = recall_score(y[400:], p.argmax(1))
    assert rec["lr", "balanced"] > rec["lr", None]
    assert rec["xgb", "balanced"] > rec["xgb", None]
    with pytest.raises(ValueError, match="class weights"):
        make_pipeline("knn", class_weight="balanced")


def test_grid_and_params_reach_the_estimator_through_ovr():
    pipe = make_pipeline("lr", profile="paper")
    assert len(param_grid("lr")) == 3
    tuned = set_model_params(pipe, {"C": 10.0})
    assert tuned.named_steps["model"].estimator.C == 10.0 and pipe.named_steps["model"].estimator.C == 1.0
    pipe = make_pipeline("svm", profile="paper")
    assert len(param_grid("svm")) == 4
    tuned = set_model_params(pipe, {"C": 10.0, "gamma": 0.01})
    assert (tuned.named_steps["model"].C, tuned.named_steps["model"].gamma) == (10.0, 0.01)
    assert pipe.named_steps["model"].C == 1.0
    with pytest.raises(ValueError, match="unknown classical model"):
        make_pipeline("svn")
