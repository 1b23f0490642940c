"""Multi-label imbalance measures and ML-ROS, ML-RUS, MLSMOTE."""

import numpy as np
import pandas as pd
import pytest
from imblearn.pipeline import Pipeline
from imblearn.utils.estimator_checks import check_param_validation
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_get_params_invariance, check_no_attributes_set_in_init

from resampling import MLROS, MLRUS, MLSMOTE, irlbl, label_counts, mean_ir


def _blocks(*blocks):
    """Stack (n_rows, labelset) blocks into a multi-hot matrix with 3 labels, plus seeded features."""
    rows = []
    for n, labels in blocks:
        row = np.zeros(3, dtype=np.int64)
        row[list(labels)] = 1
        rows.append(np.tile(row, (n, 1)))
    Y = np.vstack(rows)
    X = np.random.RandomState(0).randn(len(Y), 4) + Y @ np.array([[3, 0, 0, 0], [0, 3, 0, 0], [0, 0, 3, 1.0]])
    return X, Y


def _random_multilabel(n=300, seed=0):
    rng = np.random.RandomState(seed)
    p = np.array([0.6, 0.3, 0.1, 0.04, 0.25])
    Y = (rng.rand(n, p.size) < p).astype(np.int64)
    X = rng.randn(n, 6) + Y @ rng.randn(p.size, 6)
    return X, Y


def test_irlbl_and_mean_ir_by_hand():
    _, Y = _blocks((100, [0]), (40, [1]), (10, [2]), (5, [0, 2]))
    np.testing.assert_array_equal(label_counts(Y), [105, 40, 15])
    np.testing.assert_allclose(irlbl(Y), [1.0, 105 / 40, 105 / 15])
    assert mean_ir(Y) == pytest.approx((1.0 + 105 / 40 + 105 / 15) / 3)


def test_absent_label_is_infinite_and_left_out_of_mean_ir():
    Y = np.array([[1, 0, 0], [1, 1, 0], [1, 0, 0]])
    np.testing.assert_allclose(irlbl(Y), [1.0, 3.0, np.inf])
    assert mean_ir(Y) == pytest.approx(2.0)


# --------------------------------------------------------------------------- ML-ROS
def test_mlros_clones_the_percentage_asked():
    # labels 100 / 40 / 10: IRLbl 1, 2.5, 10 and MeanIR 4.5, so label 2 alone is a minority label
    X, Y = _blocks((100, [0]), (40, [1]), (10, [2]))
    sampler = MLROS(percentage=5, random_state=0)
    X_res, Y_res = sampler.fit_resample(X, Y)
    assert sampler.n_cloned_ == 8  # round(150 * 5 / 100) = round(7.5), halves up
    np.testing.assert_array_equal(Y_res.sum(axis=0), [100, 40, 18])
    np.testing.assert_array_equal(X_res, X[sampler.sample_indices_])
    assert sampler.sampling_strategy_ == {2: pytest.approx(10.0)}


def test_mlros_stops_when_minority_labels_reach_mean_ir():
    X, Y = _blocks((100, [0]), (40, [1]), (10, [2]))
    sampler = MLROS(percentage=10, random_state=0)
    _, Y_res = sampler.fit_resample(X, Y)
    # 15 clones asked; label 2 leaves the rotation once 100 / (10 + k) <= 4.5, i.e. after k = 13 clones
    assert sampler.n_cloned_ == 13
    np.testing.assert_array_equal(Y_res.sum(axis=0), [100, 40, 23])


def test_mlros_reduces_mean_ir_on_random_multilabel_data():
    X, Y = _random_multilabel()
    sampler = MLROS(percentage=5, random_state=1)
    X_res, Y_res = sampler.fit_resample(X, Y)
    assert len(Y_res) == len(Y) + 15
    assert mean_ir(Y_res) < mean_ir(Y)
    clones = sampler.sample_indices_[len(Y):]
    minority = list(sampler.sampling_strategy_)
    assert np.all(Y[clones][:, minority].any(axis=1))  # every clone carries a minority label
    np.testing.assert_array_equal(Y_res, Y[sampler.sample_indices_])


# --------------------------------------------------------------------------- ML-RUS
def test_mlrus_deletes_the_percentage_asked():
    X, Y = _blocks((100, [0]), (40, [1]), (10, [2]))
    sampler = MLRUS(percentage=20, random_state=0)
    _, Y_res = sampler.fit_resample(X, Y)
    # labels 0 and 1 are majority labels (IRLbl 1 and 2.5 < 4.5); 30 deletions, alternating
    assert sampler.n_deleted_ == 30
    np.testing.assert_array_equal(Y_res.sum(axis=0), [85, 25, 10])


def test_mlrus_excludes_a_bag_once_its_label_reaches_mean_ir():
    X, Y = _blocks((100, [0]), (40, [1]), (10, [2]))
    sampler = MLRUS(percentage=40, random_state=0)
    _, Y_res = sampler.fit_resample(X, Y)
    # label 1 leaves after its k-th deletion with (100 - k) / (40 - k) >= 4.5, i.e. k = 23;
    # the other 60 - 46 = 14 deletions all come from label 0
    np.testing.assert_array_equal(Y_res.sum(axis=0), [63, 17, 10])
    assert mean_ir(Y_res) < mean_ir(Y)


def test_mlrus_on_random_multilabel_data():
    X, Y = _random_multilabel()
    sampler = MLRUS(percentage=15, random_state=2)
    X_res, Y_res = sampler.fit_resample(X, Y)
    assert len(Y) - len(Y_res) == 45
    # every deleted sample came from a majority bag (IRLbl below MeanIR); as in the paper, it may
    # also carry a rarer label, so MeanIR need not fall on data with co-occurring labels
    deleted = np.setdiff1d(np.arange(len(Y)), sampler.sample_indices_)
    majority = np.flatnonzero(irlbl(Y) < mean_ir(Y))
    np.testing.assert_array_equal(sorted(sampler.sampling_strategy_), majority)
    assert np.all(Y[deleted][:, majority].any(axis=1))
    np.testing.assert_array_equal(X_res, X[sampler.sample_indices_])
    assert np.unique(sampler.sample_indices_).size == len(Y_res)


# --------------------------------------------------------------------------- MLSMOTE
def _knn_within(X, k):
    """Reference neighbours by brute force: for each row, the k nearest other rows (Euclidean)."""
    d = ((X[:, None, :] - X[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    return np.argsort(d, axis=1, kind="stable")[:, :k]


def test_mlsmote_generates_between_neighbours_for_minority_labels():
    # label 2 (12 samples, half of them also carrying label 0) is the only minority label
    X, Y = _blocks((100, [0]), (90, [1]), (6, [2]), (6, [0, 2]))
    k = 5
    sampler = MLSMOTE(k_neighbors=k, random_state=0)
    X_res, Y_res = sampler.fit_resample(X, Y)
    n = len(Y)
    assert sampler.n_synthetic_ == 12 and len(Y_res) == n + 12
    np.testing.assert_array_equal(X_res[:n], X)
    bag = np.flatnonzero(Y[:, 2])
    ref_neigh = _knn_within(X[bag], k)
    new = X_res[n:]
    for row, (seed, ref) in enumerate(sampler.synthetic_origin_):
        assert seed in bag and ref in bag
        # the reference is one of the seed's k nearest neighbours within the label's bag
        assert np.flatnonzero(bag == ref)[0] in ref_neigh[np.flatnonzero(bag == seed)[0]]
        lo, hi = np.minimum(X[seed], X[ref]), np.maximum(X[seed], X[ref])
        assert np.all(new[row] >= lo - 1e-12) and np.all(new[row] <= hi + 1e-12)
        # ranking: labels carried by more than half of the seed and its k neighbours
        members = np.concatenate([[np.flatnonzero(bag == seed)[0]], ref_neigh[np.flatnonzero(bag == seed)[0]]])
        votes = Y[bag[members]].sum(axis=0)
        np.testing.assert_array_equal(Y_res[n + row], (votes > (k + 1) / 2).astype(int))
    assert Y_res[n:, 2].all()
    assert mean_ir(Y_res) < mean_ir(Y)


@pytest.mark.parametrize("mode", ["intersection", "union"])
def test_mlsmote_label_generation_modes(mode):
    X, Y = _blocks((100, [0]), (90, [1]), (6, [2]), (6, [0, 2]))
    sampler = MLSMOTE(k_neighbors=3, label_generation=mode, random_state=0)
    _, Y_res = sampler.fit_resample(X, Y)
    bag = np.flatnonzero(Y[:, 2])
    neigh = _knn_within(X[bag], 3)
    for row, (seed, _) in enumerate(sampler.synthetic_origin_):
        s = np.flatnonzero(bag == seed)[0]
        members = Y[bag[np.concatenate([[s], neigh[s]])]]
        expected = members.all(axis=0) if mode == "intersection" else members.any(axis=0)
        np.testing.assert_array_equal(Y_res[len(Y) + row], expected.astype(int))


def test_mlsmote_small_bag_uses_fewer_neighbours_and_keeps_float32():
    X, Y = _blocks((50, [0]), (40, [1]), (3, [2]))
    X = X.astype(np.float32)
    X_res, Y_res = MLSMOTE(k_neighbors=5, random_state=0).fit_resample(X, Y)
    assert X_res.dtype == np.float32 and len(Y_res) == len(Y) + 3


# --------------------------------------------------------------------------- contract
@pytest.mark.parametrize("cls", [MLROS, MLRUS, MLSMOTE])
def test_multilabel_samplers_reject_single_label_targets(cls):
    X = np.random.RandomState(0).randn(30, 2)
    with pytest.raises(ValueError, match="multi-hot"):
        cls().fit_resample(X, np.arange(30) % 3)
    with pytest.raises(ValueError, match="only 0 and 1"):
        cls().fit_resample(X, np.full((30, 3), 2))


@pytest.mark.parametrize("cls", [MLROS, MLRUS, MLSMOTE])
@pytest.mark.parametrize("check", [check_no_attributes_set_in_init, check_get_params_invariance])
def test_sklearn_api(cls, check):
    check(cls.__name__, cls())


@pytest.mark.parametrize("cls", [MLROS, MLRUS, MLSMOTE])
def test_invalid_parameters_are_named(cls):
    X, Y = _random_multilabel(60)
    with pytest.raises(ValueError, match="'random_state' parameter of"):
        cls(random_state="seven").fit_resample(X, Y)
    check_param_validation(cls.__name__, cls())


@pytest.mark.parametrize("cls", [MLROS, MLRUS, MLSMOTE])
@pytest.mark.parametrize(
    "model", [KNeighborsClassifier(n_neighbors=3), OneVsRestClassifier(LogisticRegression(max_iter=500))],
    ids=["knn", "ovr-lr"],
)
def test_drop_into_an_imblearn_pipeline_on_multihot_targets(cls, model):
    X, Y = _random_multilabel()
    pipe = Pipeline([("scale", StandardScaler()), ("sampler", cls(random_state=0)), ("model", model)])
    pipe.fit(X, Y)
    pred = pipe.predict(X)
    assert pred.shape == Y.shape
    assert (pred == Y).mean() > 0.7  # learnt something from the resampled data
    sampler = pipe.named_steps["sampler"]
    assert sampler.n_features_in_ == X.shape[1]


@pytest.mark.parametrize("cls", [MLROS, MLRUS, MLSMOTE])
def test_pandas_in_pandas_out(cls):
    X, Y = _random_multilabel(120)
    X_df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    Y_df = pd.DataFrame(Y, columns=["rock", "pop", "jazz", "harp", "voice"])
    X_res, Y_res = cls(random_state=0).fit_resample(X_df, Y_df)
    assert list(X_res.columns) == list(X_df.columns) and list(Y_res.columns) == list(Y_df.columns)
    assert len(X_res) == len(Y_res) and X_res.index.is_unique
    X_np, Y_np = cls(random_state=0).fit_resample(X, Y)
    np.testing.assert_allclose(X_res.to_numpy(), X_np)
    np.testing.assert_array_equal(Y_res.to_numpy(), Y_np)
