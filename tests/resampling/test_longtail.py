"""Long-tailed subsets drawn group by group."""

import logging

import numpy as np
import pytest

from resampling import longtail_subset, longtail_targets


def _grouped(n_classes=6, groups_per_class=30, seed=0):
    """Each class has groups (artists) of 1 to 6 tracks; every group holds a single class."""
    rng = np.random.default_rng(seed)
    labels, groups = [], []
    for c in range(n_classes):
        for g in range(groups_per_class):
            size = rng.integers(1, 7)
            labels += [f"genre{c}"] * size
            groups += [f"artist{c}_{g}"] * size
    order = rng.permutation(len(labels))
    return np.array(labels)[order], np.array(groups)[order]


def _counts(labels, idx, classes):
    return np.array([np.count_nonzero(labels[idx] == c) for c in classes])


def test_targets_by_hand():
    np.testing.assert_allclose(longtail_targets(100, 5, ratio=10), 100 * 10.0 ** (-np.arange(5) / 4))
    np.testing.assert_allclose(longtail_targets(100, 5, ratio=10, profile="step"), [100, 100, 100, 10, 10])
    np.testing.assert_allclose(longtail_targets(100, 4, ratio=20, profile="step"), [100, 100, 5, 5])
    np.testing.assert_allclose(longtail_targets(80, 4, ratio=1), [80, 80, 80, 80])
    with pytest.raises(ValueError, match="ratio=0.5"):
        longtail_targets(10, 3, ratio=0.5)
    with pytest.raises(ValueError, match="profile='linear'"):
        longtail_targets(10, 3, ratio=2, profile="linear")


@pytest.mark.parametrize("profile", ["exponential", "step"])
@pytest.mark.parametrize("ratio", [5, 20])
def test_counts_follow_the_profile_within_half_a_group(profile, ratio):
    labels, groups = _grouped()
    classes = np.array([f"genre{c}" for c in range(6)])
    order = list(classes[[3, 0, 5, 1, 4, 2]])
    idx = longtail_subset(labels, groups, ratio=ratio, profile=profile, seed=0, class_order=order)
    n = _counts(labels, idx, order)
    full = _counts(labels, np.arange(len(labels)), order)
    # the head class keeps all its tracks
    assert n[0] == full[0]
    target = np.minimum(longtail_targets(full[0], 6, ratio=ratio, profile=profile), full)
    max_group = 6
    assert np.all(np.abs(n - target) <= max_group / 2)
    # tail has about 1/ratio of the head, at least one group
    assert n[-1] >= 1
    assert np.all(np.diff(n[: 6 if profile == "exponential" else 3]) <= max_group)


def test_groups_are_kept_whole_and_indices_sorted():
    labels, groups = _grouped(seed=1)
    idx = longtail_subset(labels, groups, ratio=10, seed=3)
    assert np.all(np.diff(idx) > 0) and idx.dtype == np.int64
    chosen = np.isin(np.arange(len(labels)), idx)
    for g in np.unique(groups):
        member = chosen[groups == g]
        assert member.all() or not member.any()


def test_seeded():
    labels, groups = _grouped(seed=2)
    a = longtail_subset(labels, groups, ratio=10, seed=5)
    b = longtail_subset(labels, groups, ratio=10, seed=5)
    c = longtail_subset(labels, groups, ratio=10, seed=6)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_default_order_is_a_seeded_permutation_and_frequency_order_is_by_count():
    labels, groups = _grouped(n_classes=8, seed=4)
    classes, full = np.unique(labels, return_counts=True)
    heads = set()
    for seed in range(8):
        n = _counts(labels, longtail_subset(labels, groups, ratio=50, seed=seed), classes)
        heads.add(classes[np.argmax(n == full)])  # only the head keeps every track at ratio 50
    assert len(heads) > 1  # the head class changes with the seed
    idx = longtail_subset(labels, groups, ratio=50, seed=0, class_order="frequency")
    n = _counts(labels, idx, classes)
    assert n[np.argmax(full)] == full.max()


def test_groups_spanning_classes_stay_whole():
    rng = np.random.default_rng(7)
    labels = rng.choice(np.array(["a", "b", "c", "d"]), size=600, p=[0.4, 0.3, 0.2, 0.1])
    groups = rng.integers(0, 120, size=600)  # artists with tracks in several genres
    idx = longtail_subset(labels, groups, ratio=4, seed=0, class_order=["a", "b", "c", "d"])
    chosen = np.isin(np.arange(600), idx)
    for g in np.unique(groups):
        assert chosen[groups == g].all() or not chosen[groups == g].any()
    # the head class keeps all its tracks even though its artists also bring other genres
    assert np.all(chosen[labels == "a"])
    assert np.count_nonzero(labels[idx] == "d") >= 1


def test_tail_keeps_at_least_one_group(caplog):
    labels = np.repeat(["head", "mid", "tail"], [40, 30, 30])
    groups = np.concatenate([np.arange(40), 100 + np.arange(30) // 3, 200 + np.arange(30) // 10])
    with caplog.at_level(logging.INFO, logger="resampling.longtail"):
        idx = longtail_subset(labels, groups, ratio=1000, seed=0, class_order=["head", "mid", "tail"])
    assert np.count_nonzero(labels[idx] == "tail") == 10  # one whole group of 10, target 0.04
    assert "keeps one group" in caplog.text
    assert np.count_nonzero(labels[idx] == "head") == 40


def test_no_groups_means_one_group_per_track_and_exact_counts():
    labels = np.repeat(["x", "y", "z"], [50, 50, 50])
    idx = longtail_subset(labels, None, ratio=25, seed=0, class_order=["x", "y", "z"])
    # targets 50, 10, 2: with single-track groups the counts hit them exactly
    np.testing.assert_array_equal(_counts(labels, idx, ["x", "y", "z"]), [50, 10, 2])


def test_invalid_input_is_named():
    with pytest.raises(ValueError, match="single-label"):
        longtail_subset(np.eye(3), None, ratio=2, seed=0)
    with pytest.raises(ValueError, match="groups must have shape"):
        longtail_subset(np.array([0, 1, 1]), np.array([0, 1]), ratio=2, seed=0)
    with pytest.raises(ValueError, match="class_order"):
        longtail_subset(np.array([0, 1, 1]), None, ratio=2, seed=0, class_order=[0, 2])
