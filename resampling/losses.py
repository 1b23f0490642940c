"""Losses for imbalanced training of the deep models, and the ``LOSSES`` registry.

Every loss is an ``nn.Module`` called as ``loss(logits, targets)`` with logits of shape
(batch, n_classes) and targets either int64 class indices of shape (batch,) (single-label) or a
float multi-hot matrix of shape (batch, n_classes) (multi-label). Class weights are buffers, so
``loss.to(device)`` moves them.

Reduction: ``"mean"`` is the plain mean of the (weighted) per-example losses for softmax losses
and of the per-element losses for sigmoid losses; it is NOT ``nn.CrossEntropyLoss(weight=w)``'s
``sum(w_i l_i) / sum(w_i)`` (so the weighted loss is an unbiased estimate of the re-weighted risk,
and the class-balanced losses follow Cui et al.'s reference code).

References: Lin et al. 2017 (focal loss); Cui et al. 2019 (class-balanced loss); Menon et al.
2021 (logit adjustment); Ridnik et al. 2021 (asymmetric loss).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from resampling.weights import weights_from_counts

logger = logging.getLogger(__name__)

__all__ = [
    "LOSSES",
    "AsymmetricLoss",
    "LogitAdjustedLoss",
    "LossSpec",
    "SigmoidFocalLoss",
    "SoftmaxFocalLoss",
    "WeightedBCE",
    "WeightedCrossEntropy",
    "get_loss",
]

_REDUCTIONS = ("mean", "sum", "none")


def _reduce(loss: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _check_reduction(reduction: str) -> str:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction={reduction!r} must be one of {', '.join(_REDUCTIONS)}")
    return reduction


def _as_buffer(values, name: str) -> torch.Tensor | None:
    if values is None:
        return None
    t = torch.as_tensor(np.asarray(values, dtype=np.float32))
    if t.ndim != 1:
        raise ValueError(f"{name} must be a 1-D sequence of per-class values; got shape {tuple(t.shape)}")
    return t


def _check_logits(logits: torch.Tensor, n: int | None, who: str) -> None:
    if logits.ndim != 2:
        raise ValueError(f"{who} expects logits of shape (batch, n_classes); got {tuple(logits.shape)}")
    if n is not None and logits.shape[1] != n:
        raise ValueError(f"{who} has {n} class weights but logits have {logits.shape[1]} classes")


def _onehot_targets(logits: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(float targets of logits' shape, int64 class index per example or None for multi-hot targets)."""
    if targets.ndim == 1:
        index = targets.long()
        return F.one_hot(index, logits.shape[1]).to(logits.dtype), index
    if targets.shape != logits.shape:
        raise ValueError(f"multi-hot targets of shape {tuple(targets.shape)} do not match logits "
                         f"of shape {tuple(logits.shape)}")
    return targets.to(logits.dtype), None


class WeightedCrossEntropy(nn.Module):
    """Softmax cross-entropy with optional class weights (single-label).

    l_i = -w[y_i] * log softmax(z_i)[y_i]; ``mean`` averages l_i over the batch.
    weight: shape (n_classes,) or None. forward(logits (B, C), targets int64 (B,)) -> scalar
    (or (B,) with reduction="none").
    """

    def __init__(self, weight=None, reduction: str = "mean"):
        super().__init__()
        self.reduction = _check_reduction(reduction)
        self.register_buffer("weight", _as_buffer(weight, "weight"))

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        _check_logits(logits, None if self.weight is None else self.weight.numel(), type(self).__name__)
        loss = F.cross_entropy(logits, targets.long(), reduction="none")
        if self.weight is not None:
            loss = loss * self.weight[targets.long()]
        return _reduce(loss, self.reduction)


class WeightedBCE(nn.Module):
    """Binary cross-entropy on logits with optional class weights and ``pos_weight``.

    Multi-hot targets (B, C): element (i, c) has loss -w_c [p_c t log s(z) + (1 - t) log(1 - s(z))]
    (class weight per label, as ``BCEWithLogitsLoss(weight=w, pos_weight=p)``). Int64 targets (B,)
    are one-hot encoded and weighted per example by w[y_i] (Cui et al.'s class-balanced sigmoid
    loss for single-label data). ``mean`` averages over all B x C elements.
    """

    def __init__(self, weight=None, pos_weight=None, reduction: str = "mean"):
        super().__init__()
        self.reduction = _check_reduction(reduction)
        self.register_buffer("weight", _as_buffer(weight, "weight"))
        self.register_buffer("pos_weight", _as_buffer(pos_weight, "pos_weight"))

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        _check_logits(logits, None if self.weight is None else self.weight.numel(), type(self).__name__)
        t, index = _onehot_targets(logits, targets)
        loss = F.binary_cross_entropy_with_logits(logits, t, pos_weight=self.pos_weight, reduction="none")
        if self.weight is not None:
            loss = loss * (self.weight[index][:, None] if index is not None else self.weight)
        return _reduce(loss, self.reduction)


class SoftmaxFocalLoss(nn.Module):
    """Softmax focal loss (Lin et al. 2017), single-label.

    l_i = -alpha_{y_i} (1 - p_{i,y_i})^gamma log p_{i,y_i} with p = softmax(z). alpha: None (1),
    a float, or per-class weights of shape (n_classes,). gamma=0 and alpha=None give cross-entropy.
    forward(logits (B, C), targets int64 (B,)).
    """

    def __init__(self, gamma: float = 2.0, alpha=None, reduction: str = "mean"):
        super().__init__()
        if gamma < 0:
            raise ValueError(f"gamma={gamma} must be >= 0")
        self.gamma = float(gamma)
        self.reduction = _check_reduction(reduction)
        self.scalar_alpha = float(alpha) if isinstance(alpha, int | float) else None
        self.register_buffer("alpha", None if self.scalar_alpha is not None else _as_buffer(alpha, "alpha"))

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        _check_logits(logits, None if self.alpha is None else self.alpha.numel(), type(self).__name__)
        y = targets.long()
        logp = F.log_softmax(logits, dim=1).gather(1, y[:, None]).squeeze(1)  # (B,)
        loss = -torch.pow(1.0 - logp.exp(), self.gamma) * logp
        if self.alpha is not None:
            loss = loss * self.alpha[y]
        elif self.scalar_alpha is not None:
            loss = loss * self.scalar_alpha
        return _reduce(loss, self.reduction)


class SigmoidFocalLoss(nn.Module):
    """Sigmoid focal loss, the formula of ``torchvision.ops.sigmoid_focal_loss`` plus class weights.

    p = sigmoid(z); ce = BCE(z, t); p_t = p t + (1 - p)(1 - t); l = ce (1 - p_t)^gamma, times
    alpha_t = alpha t + (1 - alpha)(1 - t) when alpha is not None (torchvision uses alpha=0.25 and
    alpha < 0 to disable; here None disables). ``weight`` (n_classes,) multiplies label c's elements
    for multi-hot targets (B, C), or all elements of example i by w[y_i] for int64 targets (B,)
    (Cui et al.'s class-balanced focal loss). ``mean`` averages over all B x C elements.
    """

    def __init__(self, gamma: float = 2.0, alpha: float | None = None, weight=None, reduction: str = "mean"):
        super().__init__()
        if gamma < 0:
            raise ValueError(f"gamma={gamma} must be >= 0")
        if alpha is not None and not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha={alpha} must be in [0, 1] or None")
        self.gamma = float(gamma)
        self.alpha = alpha
        self.reduction = _check_reduction(reduction)
        self.register_buffer("weight", _as_buffer(weight, "weight"))

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        _check_logits(logits, None if self.weight is None else self.weight.numel(), type(self).__name__)
        t, index = _onehot_targets(logits, targets)
        p = torch.sigmoid(logits)
        ce = F.binary_cross_entropy_with_logits(logits, t, reduction="none")
        p_t = p * t + (1 - p) * (1 - t)
        loss = ce * torch.pow(1 - p_t, self.gamma)
        if self.alpha is not None:
            loss = loss * (self.alpha * t + (1 - self.alpha) * (1 - t))
        if self.weight is not None:
            loss = loss * (self.weight[index][:, None] if index is not None else self.weight)
        return _reduce(loss, self.reduction)


class LogitAdjustedLoss(nn.Module):
    """Logit-adjusted softmax cross-entropy (Menon et al. 2021), single-label.

    l_i = CE(z_i + tau * log(pi), y_i) with pi the training class prior (counts / sum). The model's
    raw logits stay the prediction at inference time. class_counts: shape (n_classes,), all > 0.
    """

    def __init__(self, class_counts, tau: float = 1.0, reduction: str = "mean"):
        super().__init__()
        counts = np.asarray(class_counts, dtype=np.float64)
        if counts.ndim != 1 or np.any(counts <= 0):
            raise ValueError(f"class_counts must be a 1-D array of positive counts; got {counts.tolist()}")
        self.tau = float(tau)
        self.reduction = _check_reduction(reduction)
        self.register_buffer("log_prior", torch.as_tensor(np.log(counts / counts.sum()), dtype=torch.float32))

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        _check_logits(logits, self.log_prior.numel(), type(self).__name__)
        adjusted = logits + self.tau * self.log_prior.to(logits.dtype)
        return _reduce(F.cross_entropy(adjusted, targets.long(), reduction="none"), self.reduction)


class AsymmetricLoss(nn.Module):
    """Asymmetric loss (Ridnik et al. 2021), multi-label.

    p = sigmoid(z), p_m = max(p - clip, 0) (probability shifting of the negatives);
    element loss = -[t (1 - p)^gamma_pos log p + (1 - t) p_m^gamma_neg log(1 - p_m)], logs clamped at
    eps. The authors' code sums over the batch; ``mean`` here averages over the B x C elements
    (use reduction="sum" to reproduce theirs). forward(logits (B, C), targets float multi-hot (B, C)).
    """

    def __init__(self, gamma_pos: float = 0.0, gamma_neg: float = 4.0, clip: float = 0.05,
                 eps: float = 1e-8, reduction: str = "mean"):
        super().__init__()
        if gamma_pos < 0 or gamma_neg < 0:
            raise ValueError(f"gamma_pos={gamma_pos} and gamma_neg={gamma_neg} must be >= 0")
        if not 0.0 <= clip < 1.0:
            raise ValueError(f"clip={clip} must be in [0, 1)")
        self.gamma_pos, self.gamma_neg, self.clip, self.eps = float(gamma_pos), float(gamma_neg), float(clip), eps
        self.reduction = _check_reduction(reduction)

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        _check_logits(logits, None, type(self).__name__)
        t, _ = _onehot_targets(logits, targets)
        p = torch.sigmoid(logits)
        p_m = (p - self.clip).clamp(min=0) if self.clip > 0 else p
        pos = t * torch.pow(1 - p, self.gamma_pos) * torch.log(p.clamp(min=self.eps))
        neg = (1 - t) * torch.pow(p_m, self.gamma_neg) * torch.log((1 - p_m).clamp(min=self.eps))
        return _reduce(-(pos + neg), self.reduction)


# --------------------------------------------------------------------------- registry
@dataclass(frozen=True)
class LossSpec:
    """One ``LOSSES`` entry: ``spec(class_counts=..., task=..., **params)`` builds the loss module.

    class_counts: training examples per class (positives per label for multi-label), shape
    (n_classes,); needed by the weighted, class-balanced and logit-adjusted losses.
    """

    name: str
    factory: Callable[..., nn.Module]
    tasks: frozenset = field(default_factory=lambda: frozenset({"single", "multi"}))
    doc: str = ""
    needs_counts: bool = False

    def __call__(self, class_counts=None, task: str = "single", **params: Any) -> nn.Module:
        if task not in self.tasks:
            raise ValueError(f"loss {self.name!r} supports task(s) {sorted(self.tasks)}; got task={task!r}")
        if self.needs_counts and class_counts is None:
            raise ValueError(f"loss {self.name!r} needs class_counts (training examples per class)")
        return self.factory(class_counts=class_counts, task=task, **params)


def _weights(class_counts, scheme, beta=0.999):
    return weights_from_counts(class_counts, scheme, beta=beta, normalize="classes")


def _ce(class_counts=None, task="single", reduction="mean"):
    return WeightedCrossEntropy(reduction=reduction)


def _bce(class_counts=None, task="multi", reduction="mean", pos_weight=None):
    return WeightedBCE(pos_weight=pos_weight, reduction=reduction)


def _weighted(scheme):
    def factory(class_counts=None, task="single", reduction="mean"):
        w = _weights(class_counts, scheme)
        if task == "single":
            return WeightedCrossEntropy(weight=w, reduction=reduction)
        return WeightedBCE(weight=w, reduction=reduction)

    return factory


def _focal(class_counts=None, task="single", gamma=2.0, alpha=None, reduction="mean"):
    if task == "single":
        return SoftmaxFocalLoss(gamma=gamma, alpha=alpha, reduction=reduction)
    return SigmoidFocalLoss(gamma=gamma, alpha=alpha, reduction=reduction)


def _cb_ce(class_counts=None, task="single", beta=0.999, reduction="mean"):
    return WeightedCrossEntropy(weight=_weights(class_counts, "effective", beta), reduction=reduction)


def _cb_bce(class_counts=None, task="multi", beta=0.999, reduction="mean"):
    return WeightedBCE(weight=_weights(class_counts, "effective", beta), reduction=reduction)


def _cb_focal(class_counts=None, task="single", beta=0.999, gamma=2.0, form=None, reduction="mean"):
    w = _weights(class_counts, "effective", beta)
    form = form or ("softmax" if task == "single" else "sigmoid")
    if form == "softmax":
        if task != "single":
            raise ValueError("cb-focal with form='softmax' needs a single-label task")
        return SoftmaxFocalLoss(gamma=gamma, alpha=w, reduction=reduction)
    if form == "sigmoid":
        return SigmoidFocalLoss(gamma=gamma, alpha=None, weight=w, reduction=reduction)
    raise ValueError(f"form={form!r} must be 'softmax' or 'sigmoid'")


def _logit_adjusted(class_counts=None, task="single", tau=1.0, reduction="mean"):
    return LogitAdjustedLoss(class_counts, tau=tau, reduction=reduction)


def _asymmetric(class_counts=None, task="multi", gamma_pos=0.0, gamma_neg=4.0, clip=0.05, eps=1e-8,
                reduction="mean"):
    return AsymmetricLoss(gamma_pos=gamma_pos, gamma_neg=gamma_neg, clip=clip, eps=eps, reduction=reduction)


_S, _M, _B = frozenset({"single"}), frozenset({"multi"}), frozenset({"single", "multi"})

LOSSES: dict[str, LossSpec] = {
    s.name: s
    for s in [
        LossSpec("ce", _ce, _S, "softmax cross-entropy"),
        LossSpec("bce", _bce, _M, "binary cross-entropy on logits (optional pos_weight)"),
        LossSpec("weighted", _weighted("inverse"), _B, "CE / BCE with inverse-frequency class weights", True),
        LossSpec("weighted-ce", _weighted("inverse"), _S, "CE with inverse-frequency class weights", True),
        LossSpec("weighted-bce", _weighted("inverse"), _M, "BCE with inverse-frequency label weights", True),
        LossSpec("sqrt-weighted", _weighted("sqrt-inverse"), _B,
                 "CE / BCE with square-root inverse-frequency weights", True),
        LossSpec("focal", _focal, _B, "focal loss: softmax (single) or sigmoid (multi); gamma, alpha"),
        LossSpec("cb-ce", _cb_ce, _S, "class-balanced softmax CE (Cui et al. 2019); beta", True),
        LossSpec("cb-bce", _cb_bce, _B, "class-balanced sigmoid BCE (Cui et al. 2019); beta", True),
        LossSpec("cb-focal", _cb_focal, _B, "class-balanced focal loss (Cui et al. 2019); beta, gamma, form", True),
        LossSpec("logit-adjusted", _logit_adjusted, _S, "logit-adjusted CE (Menon et al. 2021); tau", True),
        LossSpec("asymmetric", _asymmetric, _M,
                 "asymmetric loss (Ridnik et al. 2021); gamma_pos, gamma_neg, clip"),
    ]
}


def get_loss(name: str, *, task: str = "single", class_counts=None, **params) -> nn.Module:
    """Build the loss ``name`` for a ``task`` ("single" or "multi").

    Raises ValueError naming the loss and the valid choices when the name is unknown or the loss
    does not support the task.

    >>> import torch
    >>> loss = get_loss("focal", task="single", gamma=2.0)  # an nn.Module: loss(logits, targets)
    >>> round(float(loss(torch.zeros(4, 2), torch.tensor([0, 0, 1, 1]))), 4)  # log(2) * (1 - 0.5) ** 2
    0.1733
    >>> bce = get_loss("bce", task="multi")  # multi-hot float targets (batch, n_classes)
    >>> round(float(bce(torch.zeros(2, 3), torch.ones(2, 3))), 4)  # log(2)
    0.6931
    """
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; choose from {', '.join(LOSSES)}")
    spec = LOSSES[name]
    if task not in spec.tasks:
        valid = [n for n, s in LOSSES.items() if task in s.tasks]
        raise ValueError(f"loss {name!r} does not support task={task!r}; choose from {', '.join(valid)}")
    return spec(class_counts=class_counts, task=task, **params)
