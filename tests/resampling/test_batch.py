"""Class-balanced sampling for the deep models."""

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from resampling import ClassBalancedBatchSampler, ClassBalancedSampler


def _imbalanced_labels():
    return np.repeat(np.array(["rock", "jazz", "harp"]), [900, 90, 10])


def test_classes_are_drawn_uniformly_over_many_batches():
    labels = _imbalanced_labels()
    sampler = ClassBalancedBatchSampler(labels, batch_size=50, num_samples=30000, seed=0)
    drawn = np.concatenate(list(sampler))
    assert drawn.size == 30000
    freq = np.array([np.mean(labels[drawn] == c) for c in ("rock", "jazz", "harp")])
    # binomial std of a share of 1/3 over 30000 draws is 0.0027: allow 4 std
    np.testing.assert_allclose(freq, 1 / 3, atol=0.011)
    # within the tail class, every track is drawn, roughly equally (with replacement)
    tail = np.bincount(drawn[labels[drawn] == "harp"] - 990, minlength=10)
    assert tail.min() > 0.75 * tail.mean() and tail.max() < 1.25 * tail.mean()


def test_multilabel_draws_labels_uniformly():
    rng = np.random.default_rng(0)
    Y = (rng.random((2000, 4)) < np.array([0.5, 0.2, 0.05, 0.01])).astype(int)
    sampler = ClassBalancedSampler(Y, num_samples=40000, seed=1)
    indices, which = sampler.draw(0)
    assert sampler.multilabel
    np.testing.assert_allclose(np.bincount(which, minlength=4) / which.size, 0.25, atol=0.01)
    # every draw carries the label it was drawn for
    assert np.all(Y[indices, sampler.classes[which]] == 1)
    # the rarest label is carried by at least its quarter of the draws
    assert Y[indices, 3].mean() >= 0.24
    # rows without labels are never drawn
    assert np.all(Y[indices].sum(axis=1) > 0)


def test_seeded_and_epoch_dependent():
    labels = _imbalanced_labels()
    a = ClassBalancedBatchSampler(labels, batch_size=32, seed=7)
    b = ClassBalancedBatchSampler(labels, batch_size=32, seed=7)
    first_a, first_b = list(a), list(b)
    assert first_a == first_b
    second_a = list(a)
    assert second_a != first_a  # a new epoch draws anew
    b.set_epoch(1)
    assert list(b) == second_a  # set_epoch reproduces it
    c = ClassBalancedBatchSampler(labels, batch_size=32, seed=8)
    assert list(c) != first_a


def test_epoch_length_batch_count_and_drop_last():
    labels = _imbalanced_labels()
    default = ClassBalancedBatchSampler(labels, batch_size=64)
    batches = list(default)
    assert len(default) == len(batches) == 16  # ceil(1000 / 64)
    assert sum(len(b) for b in batches) == 1000 and len(batches[-1]) == 1000 - 15 * 64
    dropped = ClassBalancedBatchSampler(labels, batch_size=64, drop_last=True)
    assert len(dropped) == len(list(dropped)) == 15
    assert len(ClassBalancedBatchSampler(labels, batch_size=10, num_samples=95)) == 10
    single = ClassBalancedSampler(labels, num_samples=123)
    assert len(single) == len(list(single)) == 123


def test_works_as_a_dataloader_batch_sampler():
    labels = np.repeat([0, 1], [95, 5])
    data = TensorDataset(torch.arange(100), torch.as_tensor(labels))
    loader = DataLoader(data, batch_sampler=ClassBalancedBatchSampler(labels, batch_size=20, seed=0))
    seen = torch.cat([y for _, y in loader])
    assert seen.numel() == 100
    assert 30 <= int(seen.sum()) <= 70  # about half from the 5-example class
    loader = DataLoader(data, sampler=ClassBalancedSampler(labels, seed=0), batch_size=25)
    assert sum(len(x) for x, _ in loader) == 100


def test_invalid_arguments_are_named():
    with pytest.raises(ValueError, match="batch_size=0"):
        ClassBalancedBatchSampler([0, 1], batch_size=0)
    with pytest.raises(ValueError, match="num_samples=-3"):
        ClassBalancedSampler([0, 1], num_samples=-3)
    with pytest.raises(ValueError, match="multi-hot"):
        ClassBalancedSampler(np.full((4, 3), 2))
