"""Class weights, sample weights and the classical models' weight support."""

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.svm import SVC
from sklearn.utils.class_weight import compute_class_weight, compute_sample_weight
from xgboost import XGBClassifier

from resampling import (
    CLASS_WEIGHT_SUPPORT,
    class_counts,
    class_weight_dict,
    class_weights,
    pos_weights,
    sample_weights,
    weight_support,
    weights_from_counts,
)


def _labels(seed=0):
    rng = np.random.RandomState(seed)
    return rng.choice(np.array(["blues", "jazz", "metal", "pop"]), size=400, p=[0.55, 0.25, 0.15, 0.05])


def test_inverse_weights_match_scikit_learn_balanced():
    y = _labels()
    classes = np.unique(y)
    ref = compute_class_weight("balanced", classes=classes, y=y)
    np.testing.assert_allclose(class_weights(y, "inverse", normalize="samples"), ref)
    assert class_weight_dict(y) == pytest.approx(dict(zip(classes, ref, strict=True)))


def test_sample_weights_match_scikit_learn_balanced():
    y = _labels(1)
    np.testing.assert_allclose(sample_weights(y), compute_sample_weight("balanced", y))


def test_schemes_by_hand_normalised_to_n_classes():
    counts = np.array([500, 120, 30, 4])
    inv = 1 / counts
    np.testing.assert_allclose(weights_from_counts(counts, "inverse"), inv / inv.sum() * 4)
    sq = 1 / np.sqrt(counts)
    np.testing.assert_allclose(weights_from_counts(counts, "sqrt-inverse"), sq / sq.sum() * 4)
    np.testing.assert_allclose(weights_from_counts(counts, "none"), np.ones(4))
    assert weights_from_counts(counts, "sqrt-inverse").sum() == pytest.approx(4)


@pytest.mark.parametrize("beta", [0.0, 0.9, 0.99, 0.999, 0.9999])
def test_effective_number_weights_follow_cui_et_al(beta):
    counts = np.array([5000, 800, 60, 7])
    # Cui et al. 2019: E_n = (1 - beta^n) / (1 - beta); weight = 1 / E_n, normalised to sum to C
    effective = (1 - beta ** counts.astype(float)) / (1 - beta)
    ref = (1 / effective) / (1 / effective).sum() * counts.size
    np.testing.assert_allclose(weights_from_counts(counts, "effective", beta=beta), ref, rtol=1e-12)


def test_effective_weights_interpolate_between_uniform_and_inverse():
    counts = np.array([1000, 100, 10])
    np.testing.assert_allclose(weights_from_counts(counts, "effective", beta=0.0), np.ones(3))
    close = weights_from_counts(counts, "effective", beta=1 - 1e-9)
    np.testing.assert_allclose(close, weights_from_counts(counts, "inverse"), rtol=1e-5)


def test_multilabel_counts_weights_and_sample_weights():
    Y = np.array([[1, 0, 0], [1, 1, 0], [1, 0, 0], [1, 0, 1], [0, 0, 0], [1, 1, 0]])
    counts, classes = class_counts(Y)
    np.testing.assert_array_equal(counts, [5, 2, 1])
    np.testing.assert_array_equal(classes, [0, 1, 2])
    w = 1 / counts
    np.testing.assert_allclose(class_weights(Y, normalize=None), w)
    per = np.array([w[0], (w[0] + w[1]) / 2, w[0], (w[0] + w[2]) / 2, w[0], (w[0] + w[1]) / 2])
    np.testing.assert_allclose(sample_weights(Y), per / per.mean())
    per_max = np.array([w[0], w[1], w[0], w[2], w[0], w[1]])
    np.testing.assert_allclose(sample_weights(Y, reduce="max"), per_max / per_max.mean())
    np.testing.assert_allclose(pos_weights(Y), (6 - counts) / counts)


def test_class_order_and_errors():
    y = np.array([2, 0, 0, 2, 2, 2])
    np.testing.assert_allclose(class_weights(y, classes=[2, 0], normalize=None), [1 / 4, 1 / 2])
    with pytest.raises(ValueError, match=r"classes \[1\].*counts \[0.0\]"):
        class_weights(y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="scheme='log'"):
        class_weights(y, "log")
    with pytest.raises(ValueError, match="beta=1.0"):
        class_weights(y, "effective", beta=1.0)
    with pytest.raises(ValueError, match=r"labels \[2\] are not in classes"):
        class_weights(y, classes=[0])


def test_class_weight_dict_gives_the_same_model_as_balanced():
    rng = np.random.RandomState(0)
    y = np.repeat([0, 1, 2], [120, 40, 10])
    X = rng.randn(y.size, 4) + y[:, None]
    a = LogisticRegression(class_weight="balanced", max_iter=2000).fit(X, y)
    b = LogisticRegression(class_weight=class_weight_dict(y), max_iter=2000).fit(X, y)
    c = LogisticRegression(max_iter=2000).fit(X, y, sample_weight=sample_weights(y))
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(a.coef_, c.coef_, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize(
    "name, estimator",
    [
        ("lr", LogisticRegression()),
        ("rf", RandomForestClassifier()),
        ("svm", SVC()),
        ("xgb", XGBClassifier()),
        ("knn", KNeighborsClassifier()),
        ("mlp", MLPClassifier()),
    ],
)
def test_class_weight_support_table_agrees_with_the_estimators(name, estimator):
    table, seen = CLASS_WEIGHT_SUPPORT[name], weight_support(estimator)
    assert (table.class_weight, table.sample_weight) == (seen.class_weight, seen.sample_weight)
