"""Imbalance handling: samplers (single- and multi-label), losses, class and sample weights,
class-balanced batch sampling and long-tailed training subsets.

Registries: ``SAMPLERS`` (name -> :class:`SamplerSpec`, ``spec(random_state=..., **params)``) and
``LOSSES`` (name -> :class:`LossSpec`, ``spec(class_counts=..., task=..., **params)``); each entry
lists the tasks ("single", "multi") it supports. This package imports no other toolkit package.
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
