"""Single-label samplers, the reference up/down-sampling scheme and the SAMPLERS registry."""

import logging
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from imblearn.over_sampling import ADASYN, SMOTE, BorderlineSMOTE, RandomOverSampler
from imblearn.pipeline import Pipeline
from imblearn.utils.estimator_checks import check_param_validation, estimator_checks_generator
from sklearn.base import clone
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import (
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_set_params,
)

from resampling import SAMPLERS, Downsample, SafeADASYN, SafeBorderlineSMOTE, SafeSMOTE, Upsample, get_sampler


def _imbalanced(counts=(100, 60, 20), n_features=3, seed=0):
    rng = np.random.RandomState(seed)
    y = np.repeat(np.arange(len(counts)), counts)
    X = rng.randn(y.size, n_features) + y[:, None]
    return X, y


def _expected_failures(estimator):
    # multilabel="auto" accepts multi-hot targets on purpose, which this check forbids
    if getattr(estimator, "multilabel", False) == "auto":
        return {"check_target_type": "accepts multi-label (multi-hot) targets by design"}
    return {}


_CHECKED = [
    Upsample(multilabel=False, size=0.7, random_state=0),
    Downsample(multilabel=False, size=0.7, random_state=0),
    Upsample(random_state=0),
    Downsample(random_state=0),
    # the SMOTE family shares one wrapper; SafeADASYN/SafeBorderlineSMOTE are compared with
    # imbalanced-learn's own classes below
    SafeSMOTE(random_state=0),
]


def _check_cases():
    cases = []
    for est in _CHECKED:
        for case in estimator_checks_generator(est, expected_failed_checks=_expected_failures(est), mark="xfail"):
            values = case.values if hasattr(case, "values") else case
            name = values[1].func.__name__
            cases.append(pytest.param(*values, marks=getattr(case, "marks", ()), id=f"{est!r}-{name}"))
    return cases


@pytest.mark.parametrize("estimator, check", _check_cases())
def test_imblearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize("estimator", [Upsample(), Downsample()], ids=["upsample", "downsample"])
@pytest.mark.parametrize(
    "check",
    [check_no_attributes_set_in_init, check_parameters_default_constructible, check_get_params_invariance,
     check_set_params, check_param_validation],
)
def test_sklearn_api_checks(estimator, check):
    check(type(estimator).__name__, estimator)


def test_auto_mode_accepts_multihot_while_strict_mode_rejects_it():
    X = np.random.RandomState(0).randn(20, 2)
    Y = np.random.RandomState(42).randint(2, size=(20, 3))
    Y[0] = [1, 1, 0]
    _, Y_res = Upsample(random_state=0).fit_resample(X, Y)
    assert Y_res.shape[1] == 3
    with pytest.raises(ValueError, match="Multilabel"):
        Upsample(multilabel=False).fit_resample(X, Y)
    with pytest.raises(ValueError, match="multi-hot"):
        Downsample(multilabel=True).fit_resample(X, np.arange(20) % 2)


# --------------------------------------------------------------------------- counts
def test_registry_ros_rus_smote_counts():
    X, y = _imbalanced()
    assert set(Counter(SAMPLERS["ros"](random_state=0).fit_resample(X, y)[1]).values()) == {100}
    assert set(Counter(SAMPLERS["rus"](random_state=0).fit_resample(X, y)[1]).values()) == {20}
    for name in ("smote", "borderline-smote"):
        counts = Counter(SAMPLERS[name](random_state=0).fit_resample(X, y)[1])
        assert counts[0] == 100 and max(counts.values()) == 100
    assert Counter(SAMPLERS["smote"](random_state=0).fit_resample(X, y)[1]) == {0: 100, 1: 100, 2: 100}


def test_cleaning_combinations_remove_samples_after_smote():
    X, y = _imbalanced()
    for name in ("smote-tomek", "smote-enn"):
        counts = Counter(SAMPLERS[name](random_state=0).fit_resample(X, y)[1])
        # SMOTE balances to 100 per class, cleaning then only removes
        assert all(0 < counts[c] <= 100 for c in range(3))
        assert sum(counts.values()) < 300


@pytest.mark.parametrize("size", [0.25, 0.5, 0.505, 1.0])
def test_upsample_raises_small_classes_to_size_times_max(size):
    X, y = _imbalanced((101, 60, 20))
    sampler = Upsample(size=size, random_state=0)
    X_res, y_res = sampler.fit_resample(X, y)
    level = int(np.floor(size * 101 + 0.5))
    expected = {c: max(n, level) for c, n in Counter(y).items()}
    assert Counter(y_res) == expected
    # the output is the input followed by copies of input rows of the right class
    idx = sampler.sample_indices_
    np.testing.assert_array_equal(X_res, X[idx])
    np.testing.assert_array_equal(idx[: y.size], np.arange(y.size))
    np.testing.assert_array_equal(y_res, y[idx])


def test_upsample_size_one_matches_random_over_sampler_counts():
    X, y = _imbalanced((90, 35, 7))
    ours = Counter(Upsample(size=1.0, random_state=1).fit_resample(X, y)[1])
    ref = Counter(RandomOverSampler(random_state=1).fit_resample(X, y)[1])
    assert ours == ref


@pytest.mark.parametrize("size", [0.0, 0.3, 0.5, 1.0])
def test_downsample_removes_size_times_excess_over_minority(size):
    X, y = _imbalanced((100, 61, 20))
    sampler = Downsample(size=size, random_state=0)
    X_res, y_res = sampler.fit_resample(X, y)
    expected = {c: n - int(np.floor(size * (n - 20) + 0.5)) for c, n in Counter(y).items()}
    assert Counter(y_res) == expected
    np.testing.assert_array_equal(X_res, X[sampler.sample_indices_])
    assert np.all(np.diff(sampler.sample_indices_) > 0)  # kept rows, no duplicates


def test_up_and_downsample_are_seeded():
    X, y = _imbalanced()
    for cls in (Upsample, Downsample):
        a = cls(size=0.5, random_state=3).fit_resample(X, y)[0]
        b = cls(size=0.5, random_state=3).fit_resample(X, y)[0]
        c = cls(size=0.5, random_state=4).fit_resample(X, y)[0]
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)


def _multilabel_fixture():
    """Label 0: 100 single-label tracks; label 2: 10 single + 5 shared with label 0; label 1: 40 single.

    Counts per label: [105, 40, 15].
    """
    Y = np.zeros((155, 3), dtype=np.int64)
    Y[:100, 0] = 1
    Y[100:110, 2] = 1
    Y[110:115, [0, 2]] = 1
    Y[115:, 1] = 1
    X = np.random.RandomState(0).randn(len(Y), 4)
    return X, Y


def test_multilabel_upsample_prefers_single_label_tracks():
    X, Y = _multilabel_fixture()
    sampler = Upsample(size=0.5, random_state=0)
    _, Y_res = sampler.fit_resample(X, Y)
    # level round(0.5 * 105) = 53; copies of single-label tracks raise labels 2 and 1 exactly there
    np.testing.assert_array_equal(Y_res.sum(axis=0), [105, 53, 53])
    copies = sampler.sample_indices_[len(Y):]
    assert np.all(Y[copies].sum(axis=1) == 1)
    # without the preference, copies of the shared tracks also inflate label 0
    free = Upsample(size=0.5, random_state=0, prefer_single_label=False)
    _, Y_free = free.fit_resample(X, Y)
    assert np.any(Y[free.sample_indices_[len(Y):]].sum(axis=1) == 2)
    assert Y_free.sum(axis=0)[0] > 105


def test_multilabel_downsample_prefers_single_label_tracks():
    X, Y = _multilabel_fixture()
    sampler = Downsample(size=0.5, random_state=0)
    _, Y_res = sampler.fit_resample(X, Y)
    # minority 15; label 0: 105 - round(0.5 * 90) = 60; label 1: 40 - round(0.5 * 25) = 27
    np.testing.assert_array_equal(Y_res.sum(axis=0), [60, 27, 15])
    removed = np.setdiff1d(np.arange(len(Y)), sampler.sample_indices_)
    assert np.all(Y[removed].sum(axis=1) == 1)
    assert sampler.sampling_strategy_ == {0: 60, 1: 27}


def test_multilabel_samplers_in_an_imblearn_pipeline():
    X, Y = _multilabel_fixture()
    for sampler in (Upsample(size=1.0, random_state=0), Downsample(size=1.0, random_state=0)):
        pipe = Pipeline([("scale", StandardScaler()), ("sampler", sampler),
                         ("model", KNeighborsClassifier(n_neighbors=3))])
        pipe.fit(X, Y)
        assert pipe.predict(X).shape == Y.shape
        # the sampler ran at fit only: predict returns one row per input
        fitted = pipe.named_steps["sampler"]
        assert fitted.sample_indices_.size != len(Y)


def test_pandas_roundtrip_keeps_columns_and_resets_index():
    X, y = _imbalanced()
    X_df = pd.DataFrame(X, columns=["a", "b", "c"], index=np.arange(len(y)) * 7)
    y_s = pd.Series(y, name="genre", index=X_df.index)
    X_res, y_res = Upsample(random_state=0).fit_resample(X_df, y_s)
    assert list(X_res.columns) == ["a", "b", "c"] and y_res.name == "genre"
    assert X_res.index.is_unique and (X_res.index == y_res.index).all()


def test_string_labels():
    X, y = _imbalanced()
    names = np.array(["blues", "jazz", "rock"])[y]
    _, y_res = Downsample(size=1.0, random_state=0).fit_resample(X, names)
    assert Counter(y_res) == {"blues": 20, "jazz": 20, "rock": 20}


# --------------------------------------------------------------------------- safe neighbours
def test_safe_smote_equals_smote_when_classes_are_large_enough():
    X, y = _imbalanced()
    X_a, y_a = SafeSMOTE(random_state=5).fit_resample(X, y)
    X_b, y_b = SMOTE(random_state=5).fit_resample(X, y)
    np.testing.assert_allclose(X_a, X_b)
    np.testing.assert_array_equal(y_a, y_b)


def test_safe_smote_reduces_k_for_a_tiny_class_and_logs(caplog):
    X, y = _imbalanced((100, 60, 3))
    sampler = SafeSMOTE(random_state=2)
    with caplog.at_level(logging.WARNING, logger="resampling.samplers"):
        X_res, y_res = sampler.fit_resample(X, y)
    assert sampler.k_neighbors == 5 and sampler.k_neighbors_ == 2
    assert "reduced to 2" in caplog.text
    X_ref, y_ref = SMOTE(k_neighbors=2, random_state=2).fit_resample(X, y)
    np.testing.assert_allclose(X_res, X_ref)
    np.testing.assert_array_equal(y_res, y_ref)
    with pytest.raises(ValueError):
        SMOTE(random_state=2).fit_resample(X, y)  # what the wrapper protects from


def test_safe_adasyn_reduces_n_neighbors():
    X, y = _imbalanced((100, 60, 4))
    sampler = SafeADASYN(random_state=0)
    X_res, _ = sampler.fit_resample(X, y)
    assert sampler.n_neighbors_ == 3
    X_ref, _ = ADASYN(n_neighbors=3, random_state=0).fit_resample(X, y)
    np.testing.assert_allclose(X_res, X_ref)


def test_safe_borderline_smote_reduces_k_neighbors():
    X, y = _imbalanced((100, 60, 4))
    # a tight cluster of the tiny class inside the majority: its samples are "in danger"
    X[-4:] = X[0] + 0.01 * np.random.RandomState(1).randn(4, X.shape[1])
    sampler = SafeBorderlineSMOTE(random_state=0)
    X_res, y_res = sampler.fit_resample(X, y)
    assert sampler.k_neighbors_ == 3
    X_ref, y_ref = BorderlineSMOTE(k_neighbors=3, random_state=0).fit_resample(X, y)
    np.testing.assert_allclose(X_res, X_ref)
    assert Counter(y_res)[2] > 4


def test_safe_smote_rejects_a_single_sample_class_by_name():
    X, y = _imbalanced((50, 30, 1))
    with pytest.raises(ValueError, match="class 2.*1 sample"):
        SafeSMOTE().fit_resample(X, y)
    with pytest.raises(ValueError, match="class 2"):
        SAMPLERS["smote-enn"](random_state=0).fit_resample(X, y)


# --------------------------------------------------------------------------- registry
def test_registry_names_and_tasks():
    assert set(SAMPLERS) == {"ros", "rus", "smote", "adasyn", "borderline-smote", "smote-tomek", "smote-enn",
                             "upsample", "downsample", "ml-ros", "ml-rus", "mlsmote"}
    for name, spec in SAMPLERS.items():
        assert spec.name == name
        sampler = spec(random_state=0)
        assert hasattr(sampler, "fit_resample")
        assert repr(clone(sampler)) == repr(sampler)
        assert spec.tasks <= {"single", "multi"} and spec.tasks
        assert spec.doc
    assert SAMPLERS["upsample"].supports("multi") and not SAMPLERS["smote"].supports("multi")


def test_get_sampler_rejects_unknown_names_and_unsupported_tasks():
    with pytest.raises(ValueError, match="unknown sampler 'smot'.*smote"):
        get_sampler("smot")
    with pytest.raises(ValueError, match="'smote' does not support multi-label.*ml-ros"):
        get_sampler("smote", task="multi")
    with pytest.raises(ValueError, match="'mlsmote' does not support single-label"):
        get_sampler("mlsmote", task="single")
    assert get_sampler("upsample", task="multi", random_state=1, size=0.5).size == 0.5
