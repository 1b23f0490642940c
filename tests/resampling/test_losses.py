"""Losses against hand computations in numpy, and the LOSSES registry."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from resampling import (
    LOSSES,
    AsymmetricLoss,
    LogitAdjustedLoss,
    SigmoidFocalLoss,
    SoftmaxFocalLoss,
    WeightedBCE,
    WeightedCrossEntropy,
    get_loss,
)

C = 5


@pytest.fixture
def single():
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=2.0, size=(16, C))
    targets = rng.integers(0, C, size=16)
    counts = np.array([400, 150, 60, 20, 5])
    return logits, targets, counts


@pytest.fixture
def multi():
    rng = np.random.default_rng(1)
    logits = rng.normal(scale=2.0, size=(12, C))
    targets = (rng.random((12, C)) < 0.3).astype(np.float64)
    counts = np.array([900, 300, 90, 30, 6])
    return logits, targets, counts


def _t(a, dtype=torch.float64):
    return torch.as_tensor(a, dtype=dtype)


def _run(loss, logits, targets):
    tgt = _t(targets, torch.int64) if np.asarray(targets).ndim == 1 else _t(targets)
    return loss.double()(_t(logits), tgt).item()


# numpy references ------------------------------------------------------------------------------
def np_log_softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def np_sigmoid(z):
    return 1 / (1 + np.exp(-z))


def np_bce(z, t):
    p = np_sigmoid(z)
    return -(t * np.log(p) + (1 - t) * np.log(1 - p))


def np_torchvision_sigmoid_focal(z, t, alpha=0.25, gamma=2.0):
    """torchvision.ops.sigmoid_focal_loss as published (reduction='none')."""
    p = np_sigmoid(z)
    ce = np_bce(z, t)
    p_t = p * t + (1 - p) * (1 - t)
    loss = ce * (1 - p_t) ** gamma
    if alpha >= 0:
        loss = (alpha * t + (1 - alpha) * (1 - t)) * loss
    return loss


def cui_weights(counts, beta):
    w = (1 - beta) / (1 - beta ** counts.astype(float))
    return w / w.sum() * counts.size


# ---------------------------------------------------------------------------------------------
def test_weighted_ce_by_hand(single):
    logits, y, counts = single
    w = (1 / counts) / (1 / counts).sum() * C
    ref = np.mean(-w[y] * np_log_softmax(logits)[np.arange(len(y)), y])
    assert _run(WeightedCrossEntropy(weight=w), logits, y) == pytest.approx(ref, rel=1e-6)  # float32 weights
    assert _run(LOSSES["weighted-ce"](class_counts=counts), logits, y) == pytest.approx(ref, rel=1e-6)
    assert _run(LOSSES["weighted"](class_counts=counts, task="single"), logits, y) == pytest.approx(ref, rel=1e-6)
    # unweighted equals torch's cross-entropy
    plain = F.cross_entropy(_t(logits), _t(y, torch.int64)).item()
    assert _run(LOSSES["ce"](), logits, y) == pytest.approx(plain, rel=1e-10)


def test_sqrt_weighted_ce_by_hand(single):
    logits, y, counts = single
    w = (1 / np.sqrt(counts)) / (1 / np.sqrt(counts)).sum() * C
    ref = np.mean(-w[y] * np_log_softmax(logits)[np.arange(len(y)), y])
    assert _run(LOSSES["sqrt-weighted"](class_counts=counts), logits, y) == pytest.approx(ref, rel=1e-6)


def test_weighted_bce_by_hand(multi):
    logits, t, counts = multi
    w = (1 / counts) / (1 / counts).sum() * C
    ref = np.mean(w[None, :] * np_bce(logits, t))
    assert _run(WeightedBCE(weight=w), logits, t) == pytest.approx(ref, rel=1e-6)
    assert _run(LOSSES["weighted-bce"](class_counts=counts, task="multi"), logits, t) == pytest.approx(ref, rel=1e-6)
    pw = np.array([0.5, 1, 2, 3, 4.0])
    ref_pw = np.mean(-(pw * t * np.log(np_sigmoid(logits)) + (1 - t) * np.log(1 - np_sigmoid(logits))))
    assert _run(LOSSES["bce"](task="multi", pos_weight=pw), logits, t) == pytest.approx(ref_pw, rel=1e-6)


def test_softmax_focal_with_gamma_zero_is_cross_entropy(single):
    logits, y, _ = single
    plain = F.cross_entropy(_t(logits), _t(y, torch.int64)).item()
    assert _run(SoftmaxFocalLoss(gamma=0.0), logits, y) == pytest.approx(plain, rel=1e-12)


@pytest.mark.parametrize("gamma, alpha", [(2.0, None), (1.5, 0.25), (2.0, "vector")])
def test_softmax_focal_by_hand(single, gamma, alpha):
    logits, y, _ = single
    if alpha == "vector":
        alpha = np.array([0.1, 0.2, 0.3, 0.4, 0.5])
    logp = np_log_softmax(logits)[np.arange(len(y)), y]
    a = 1.0 if alpha is None else (alpha[y] if isinstance(alpha, np.ndarray) else alpha)
    ref = np.mean(-a * (1 - np.exp(logp)) ** gamma * logp)
    assert _run(SoftmaxFocalLoss(gamma=gamma, alpha=alpha), logits, y) == pytest.approx(ref, rel=1e-6)


@pytest.mark.parametrize("alpha, gamma", [(0.25, 2.0), (0.5, 1.0), (-1, 2.0)])
def test_sigmoid_focal_matches_torchvision_formula(multi, alpha, gamma):
    logits, t, _ = multi
    ref = np_torchvision_sigmoid_focal(logits, t, alpha=alpha, gamma=gamma).mean()
    ours = SigmoidFocalLoss(gamma=gamma, alpha=None if alpha < 0 else alpha)
    assert _run(ours, logits, t) == pytest.approx(ref, rel=1e-10)
    registry = LOSSES["focal"](task="multi", gamma=gamma, alpha=None if alpha < 0 else alpha)
    assert _run(registry, logits, t) == pytest.approx(ref, rel=1e-6)


@pytest.mark.parametrize("beta", [0.9, 0.99, 0.999])
def test_class_balanced_ce_uses_cui_weights(single, beta):
    logits, y, counts = single
    w = cui_weights(counts, beta)
    ref = np.mean(-w[y] * np_log_softmax(logits)[np.arange(len(y)), y])
    assert _run(LOSSES["cb-ce"](class_counts=counts, beta=beta), logits, y) == pytest.approx(ref, rel=1e-6)


def test_class_balanced_focal_softmax_and_cui_sigmoid_forms(single):
    logits, y, counts = single
    beta, gamma = 0.99, 2.0
    w = cui_weights(counts, beta)
    logp = np_log_softmax(logits)[np.arange(len(y)), y]
    ref_softmax = np.mean(-w[y] * (1 - np.exp(logp)) ** gamma * logp)
    loss = LOSSES["cb-focal"](class_counts=counts, beta=beta, gamma=gamma)
    assert _run(loss, logits, y) == pytest.approx(ref_softmax, rel=1e-6)
    # Cui et al.'s reference: sigmoid focal on one-hot labels, every output of example i weighted by w[y_i]
    onehot = np.eye(C)[y]
    ref_sigmoid = np.mean(w[y][:, None] * np_torchvision_sigmoid_focal(logits, onehot, alpha=-1, gamma=gamma))
    loss = LOSSES["cb-focal"](class_counts=counts, beta=beta, gamma=gamma, form="sigmoid")
    assert _run(loss, logits, y) == pytest.approx(ref_sigmoid, rel=1e-6)
    ref_cb_sigmoid = np.mean(w[y][:, None] * np_bce(logits, onehot))
    assert _run(LOSSES["cb-bce"](class_counts=counts, task="single", beta=beta), logits, y) == pytest.approx(
        ref_cb_sigmoid, rel=1e-6)


def test_class_balanced_multilabel_weights_per_label(multi):
    logits, t, counts = multi
    w = cui_weights(counts, 0.999)
    ref = np.mean(w[None, :] * np_bce(logits, t))
    assert _run(LOSSES["cb-bce"](class_counts=counts, task="multi"), logits, t) == pytest.approx(ref, rel=1e-6)
    ref_focal = np.mean(w[None, :] * np_torchvision_sigmoid_focal(logits, t, alpha=-1, gamma=2.0))
    loss = LOSSES["cb-focal"](class_counts=counts, task="multi")
    assert _run(loss, logits, t) == pytest.approx(ref_focal, rel=1e-6)


@pytest.mark.parametrize("tau", [0.0, 1.0, 1.5])
def test_logit_adjusted_is_ce_of_shifted_logits(single, tau):
    logits, y, counts = single
    prior = counts / counts.sum()
    shifted = logits + tau * np.log(prior)
    ref = np.mean(-np_log_softmax(shifted)[np.arange(len(y)), y])
    assert _run(LogitAdjustedLoss(counts, tau=tau), logits, y) == pytest.approx(ref, rel=1e-6)
    assert _run(LOSSES["logit-adjusted"](class_counts=counts, tau=tau), logits, y) == pytest.approx(ref, rel=1e-6)


@pytest.mark.parametrize("gamma_pos, gamma_neg, clip", [(0.0, 4.0, 0.05), (1.0, 2.0, 0.2), (0.0, 0.0, 0.0)])
def test_asymmetric_loss_follows_the_paper(multi, gamma_pos, gamma_neg, clip):
    logits, t, _ = multi
    p = np_sigmoid(logits)
    p_m = np.maximum(p - clip, 0)
    l_pos = t * (1 - p) ** gamma_pos * np.log(p)
    l_neg = (1 - t) * p_m ** gamma_neg * np.log(1 - p_m)
    ref = -(l_pos + l_neg)
    loss = AsymmetricLoss(gamma_pos=gamma_pos, gamma_neg=gamma_neg, clip=clip)
    assert _run(loss, logits, t) == pytest.approx(ref.mean(), rel=1e-10)
    loss_sum = LOSSES["asymmetric"](task="multi", gamma_pos=gamma_pos, gamma_neg=gamma_neg, clip=clip,
                                    reduction="sum")
    assert _run(loss_sum, logits, t) == pytest.approx(ref.sum(), rel=1e-6)
    if gamma_pos == gamma_neg == clip == 0:
        assert _run(loss, logits, t) == pytest.approx(np_bce(logits, t).mean(), rel=1e-10)


def test_reduction_none_keeps_per_example_losses(single):
    logits, y, counts = single
    per = WeightedCrossEntropy(reduction="none").double()(_t(logits), _t(y, torch.int64))
    assert per.shape == (len(y),)
    with pytest.raises(ValueError, match="reduction='avg'"):
        WeightedCrossEntropy(reduction="avg")


# --------------------------------------------------------------------------- registry
def test_registry_names():
    expected = {"ce", "bce", "weighted", "weighted-ce", "weighted-bce", "sqrt-weighted", "focal", "cb-ce",
                "cb-bce", "cb-focal", "logit-adjusted", "asymmetric"}
    assert set(LOSSES) == expected


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_every_loss_trains_for_each_of_its_tasks(name, single, multi):
    for task in sorted(LOSSES[name].tasks):
        logits, targets, counts = single if task == "single" else multi
        loss = get_loss(name, task=task, class_counts=counts)
        z = torch.tensor(logits, dtype=torch.float32, requires_grad=True)
        tgt = torch.tensor(targets, dtype=torch.int64 if task == "single" else torch.float32)
        value = loss(z, tgt)
        assert value.ndim == 0 and torch.isfinite(value)
        value.backward()
        assert torch.isfinite(z.grad).all() and z.grad.abs().sum() > 0
        # a few gradient steps lower the loss
        opt = torch.optim.SGD([z], lr=0.5)
        first = value.item()
        for _ in range(20):
            opt.zero_grad()
            step = loss(z, tgt)
            step.backward()
            opt.step()
        assert loss(z, tgt).item() < first


def test_registry_rejects_wrong_task_and_missing_counts():
    with pytest.raises(ValueError, match="'asymmetric' does not support task='single'.*ce"):
        get_loss("asymmetric", task="single")
    with pytest.raises(ValueError, match="'logit-adjusted' does not support task='multi'"):
        get_loss("logit-adjusted", task="multi", class_counts=np.ones(3))
    with pytest.raises(ValueError, match="unknown loss 'cross'"):
        get_loss("cross")
    with pytest.raises(ValueError, match="needs class_counts"):
        LOSSES["cb-ce"](task="single")
    with pytest.raises(ValueError, match="3 class weights but logits have 5"):
        get_loss("weighted-ce", class_counts=np.array([3, 2, 1]))(torch.zeros(2, 5), torch.zeros(2, dtype=torch.int64))


def test_weights_move_with_the_module():
    loss = get_loss("cb-focal", class_counts=np.array([10, 5, 2]))
    assert loss.alpha.dtype == torch.float32
    assert dict(loss.named_buffers())["alpha"] is loss.alpha
    assert loss.double().alpha.dtype == torch.float64
