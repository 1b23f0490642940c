"""Imbalance handling: samplers (single- and multi-label), losses, class and sample weights,
class-balanced batch sampling and long-tailed training subsets.

Registries: ``SAMPLERS`` (name -> :class:`SamplerSpec`, ``spec(random_state=..., **params)``) and
``LOSSES`` (name -> :class:`LossSpec`, ``spec(class_counts=..., task=..., **params)``); each entry
lists the tasks ("single", "multi") it supports. This package imports no other toolkit package.

>>> import numpy as np, torch
>>> from resampling import SAMPLERS, get_sampler, get_loss
>>> X, y = np.random.default_rng(0).normal(size=(30, 4)), np.array([0] * 24 + [1] * 6)
>>> X_res, y_res = get_sampler("smote", random_state=0).fit_resample(X, y)  # an imblearn sampler
>>> np.bincount(y_res).tolist(), sorted(SAMPLERS["smote"].tasks)
([24, 24], ['single'])
>>> loss = get_loss("focal", task="single", gamma=2.0)  # an nn.Module: loss(logits, targets)
>>> round(float(loss(torch.zeros(4, 2), torch.tensor([0, 0, 1, 1]))), 4)  # log(2) * (1 - 0.5) ** 2
0.1733
"""

from resampling.batch import ClassBalancedBatchSampler, ClassBalancedSampler
from resampling.longtail import longtail_subset, longtail_targets
from resampling.losses import (
    LOSSES,
    AsymmetricLoss,
    LogitAdjustedLoss,
    LossSpec,
    SigmoidFocalLoss,
    SoftmaxFocalLoss,
    WeightedBCE,
    WeightedCrossEntropy,
    get_loss,
)
from resampling.multilabel import MLROS, MLRUS, MLSMOTE, irlbl, label_counts, mean_ir
from resampling.samplers import (
    SAMPLERS,
    Downsample,
    SafeADASYN,
    SafeBorderlineSMOTE,
    SafeSMOTE,
    SamplerSpec,
    Upsample,
    get_sampler,
)
from resampling.weights import (
    CLASS_WEIGHT_SUPPORT,
    WeightSupport,
    class_counts,
    class_weight_dict,
    class_weights,
    pos_weights,
    sample_weights,
    weight_support,
    weights_from_counts,
)

__all__ = [
    "CLASS_WEIGHT_SUPPORT",
    "LOSSES",
    "MLROS",
    "MLRUS",
    "MLSMOTE",
    "SAMPLERS",
    "AsymmetricLoss",
    "ClassBalancedBatchSampler",
    "ClassBalancedSampler",
    "Downsample",
    "LogitAdjustedLoss",
    "LossSpec",
    "SafeADASYN",
    "SafeBorderlineSMOTE",
    "SafeSMOTE",
    "SamplerSpec",
    "SigmoidFocalLoss",
    "SoftmaxFocalLoss",
    "Upsample",
    "WeightSupport",
    "WeightedBCE",
    "WeightedCrossEntropy",
    "class_counts",
    "class_weight_dict",
    "class_weights",
    "get_loss",
    "get_sampler",
    "irlbl",
    "label_counts",
    "longtail_subset",
    "longtail_targets",
    "mean_ir",
    "pos_weights",
    "sample_weights",
    "weight_support",
    "weights_from_counts",
]
