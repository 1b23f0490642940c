"""Samplers for imbalanced training data and the ``SAMPLERS`` registry.

Single-label samplers come from imbalanced-learn (random over/under-sampling, SMOTE and its
variants); the SMOTE family is wrapped so that a class too small for ``k_neighbors`` gets a smaller
k (logged) instead of a crash. :class:`Upsample` and :class:`Downsample` implement the reference
study's size-controlled scheme for single- and multi-label targets. Every sampler is meant to run
inside ``imblearn.pipeline.Pipeline``, which applies it during ``fit`` only, on training data.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from numbers import Integral, Real
from typing import Any

import numpy as np
from imblearn.base import BaseSampler
from imblearn.combine import SMOTEENN, SMOTETomek
from imblearn.over_sampling import ADASYN, SMOTE, BorderlineSMOTE, RandomOverSampler
from imblearn.under_sampling import RandomUnderSampler
from imblearn.utils import check_neighbors_object
from sklearn.utils import _safe_indexing, check_random_state, column_or_1d
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_consistent_length, validate_data

from resampling.multilabel import (
    MLROS,
    MLRUS,
    MLSMOTE,
    check_multihot,
    check_X_passthrough,
    reset_index,
)

logger = logging.getLogger(__name__)

__all__ = [
    "SAMPLERS",
    "TASKS",
    "Downsample",
    "SafeADASYN",
    "SafeBorderlineSMOTE",
    "SafeSMOTE",
    "SamplerSpec",
    "Upsample",
    "get_sampler",
]

TASKS = frozenset({"single", "multi"})


# --------------------------------------------------------------------------- SMOTE family, safe k
def _effective_k(k: int, y: np.ndarray, strategy: dict, who: str, param: str) -> int:
    """The largest usable neighbour count <= k given the classes that will be over-sampled.

    Interpolating inside a class of n samples needs n >= 2 and allows at most n - 1 neighbours.
    """
    targeted = [c for c, n_new in strategy.items() if n_new > 0]
    if not targeted:
        return k
    sizes = {_key(c): int(np.count_nonzero(y == c)) for c in targeted}
    smallest = min(sizes, key=sizes.get)
    n_small = sizes[smallest]
    if n_small < 2:
        raise ValueError(
            f"{who} cannot interpolate class {smallest!r}: it has {n_small} sample and needs at least 2; "
            "use 'ros' instead, or remove the class from the training data"
        )
    if k > n_small - 1:
        logger.warning("%s: %s=%d reduced to %d because class %r has only %d samples",
                       who, param, k, n_small - 1, smallest, n_small)
        return n_small - 1
    return k


class _SafeNeighboursMixin:
    """Lowers the neighbour count to (size of the smallest over-sampled class - 1) when needed.

    The effective value is stored in the fitted attribute ``<param>_``; the parameter itself is
    never modified. A neighbours estimator passed instead of an integer is used as given.
    """

    _k_param = "k_neighbors"
    _nn_attr = "nn_k_"

    def _needs_class_neighbours(self) -> bool:
        return True

    def _fit_resample(self, X, y):
        k = getattr(self, self._k_param)
        if isinstance(k, Integral) and self._needs_class_neighbours():
            k = _effective_k(k, y, self.sampling_strategy_, type(self).__name__, self._k_param)
        setattr(self, self._k_param + "_", k)
        return super()._fit_resample(X, y)

    def _validate_estimator(self):
        super()._validate_estimator()
        k = getattr(self, self._k_param + "_", None)
        if isinstance(k, Integral) and k != getattr(self, self._k_param):
            setattr(self, self._nn_attr, check_neighbors_object(self._k_param, k, additional_neighbor=1))


class SafeSMOTE(_SafeNeighboursMixin, SMOTE):
    """imbalanced-learn's SMOTE; ``k_neighbors`` is lowered (with a logged warning) for a class with
    fewer than k_neighbors + 1 samples, and a class of 1 sample raises a ValueError naming it.
    Fitted attribute ``k_neighbors_``: the value used."""


class SafeBorderlineSMOTE(_SafeNeighboursMixin, BorderlineSMOTE):
    """imbalanced-learn's BorderlineSMOTE with the same safe ``k_neighbors`` as :class:`SafeSMOTE`
    (for kind="borderline-1", whose neighbours are searched within the class)."""

    def _needs_class_neighbours(self) -> bool:
        return self.kind == "borderline-1"


class SafeADASYN(_SafeNeighboursMixin, ADASYN):
    """imbalanced-learn's ADASYN with the same safe ``n_neighbors`` as :class:`SafeSMOTE`.
    Fitted attribute ``n_neighbors_``: the value used."""

    _k_param = "n_neighbors"
    _nn_attr = "nn_"


# --------------------------------------------------------------------------- reference study scheme
# The ``size`` ranges of the two schemes, shared by their parameter checks and their ``SAMPLERS`` entries.
UPSAMPLE_SIZE = Interval(Real, 0, None, closed="left")
DOWNSAMPLE_SIZE = Interval(Real, 0, 1, closed="both")


def _round_half_up(x: float) -> int:
    return int(math.floor(x + 0.5))


class _ReferenceScheme(BaseSampler):
    """Shared validation of :class:`Upsample` and :class:`Downsample`.

    The target is turned into an indicator matrix Y of shape (n_samples, n_classes): one-hot for a
    single-label target, the multi-hot matrix itself for a multi-label one. Subclasses return the
    row indices of the output from Y; X and y are then indexed, keeping their container types.
    """

    _sampling_type = "bypass"

    def __init__(self, *, size=1.0, multilabel="auto", prefer_single_label=True, random_state=None):
        self.size = size
        self.multilabel = multilabel
        self.prefer_single_label = prefer_single_label
        self.random_state = random_state

    def fit(self, X, y):
        """Check inputs and statistics; use ``fit_resample`` in all cases. Returns self."""
        self.fit_resample(X, y)
        return self

    def fit_resample(self, X, y):
        """Resample the dataset.

        X: array-like, DataFrame or sparse matrix of shape (n_samples, n_features).
        y: labels of shape (n_samples,), or a multi-hot matrix of shape (n_samples, n_labels).
        Returns (X_resampled, y_resampled) with n_samples_new rows, in the container types of the input.
        """
        self._validate_params()
        who = type(self).__name__
        check_classification_targets(y)
        check_consistent_length(X, y)
        multihot = type_of_target(y) == "multilabel-indicator"
        if self.multilabel is True and not multihot:
            raise ValueError(
                f"{who}(multilabel=True) expects a multi-hot target of shape (n_samples, n_labels); "
                f"got a {type_of_target(y)!r} target of shape {np.shape(y)}"
            )
        if multihot:
            Y = check_multihot(y, who=who).astype(bool)
            if self.multilabel is False and np.any(Y.sum(axis=1) != 1):
                raise ValueError(
                    f"{who}(multilabel=False) supports binary, multiclass and one-hot encoded targets; "
                    "Multilabel and multioutput targets are not supported (set multilabel='auto')"
                )
            self.classes_ = np.arange(Y.shape[1])
        else:
            y1 = column_or_1d(y, warn=False)
            self.classes_, inverse = np.unique(y1, return_inverse=True)
            if self.classes_.size < 2:
                raise ValueError(f"{who} needs at least 2 classes; got {self.classes_.size} class")
            Y = np.zeros((y1.shape[0], self.classes_.size), dtype=bool)
            Y[np.arange(y1.shape[0]), inverse] = True
        self.multilabel_ = multihot and bool(np.any(Y.sum(axis=1) != 1))
        X_checked = check_X_passthrough(X)
        validate_data(self, X=X_checked, reset=True, skip_check_array=True)

        rng = check_random_state(self.random_state)
        indices = self._fit_resample(Y, rng)
        self.sample_indices_ = indices
        X_res = reset_index(_safe_indexing(X, indices))
        y_res = reset_index(_safe_indexing(y, indices))
        return X_res, y_res

    def _pool(self, Y: np.ndarray, candidates: np.ndarray, label: int) -> np.ndarray:
        """Rows among candidates carrying label, restricted to single-label rows when there are some
        and ``prefer_single_label`` is set."""
        carriers = candidates[Y[candidates, label]]
        if self.prefer_single_label:
            single = carriers[Y[carriers].sum(axis=1) == 1]
            if single.size:
                return single
        return carriers

    def _fit_resample(self, Y: np.ndarray, rng) -> np.ndarray:  # pragma: no cover - abstract
        """Row indices of the output, given the indicator target Y of shape (n_samples, n_classes)."""
        raise NotImplementedError

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.sampler_tags.sample_indices = True
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        return tags


class Upsample(_ReferenceScheme):
    """The reference study's up-sampling: every class below ``size`` x (count of the most frequent
    class) is raised to that level by copying random tracks of the class (with replacement).

    The level is round(size * n_max), rounding halves up; classes already at or above it are left
    as they are. With multi-label targets (multi-hot y) a class's count is the number of tracks
    carrying the label; labels are visited from the rarest up, each raised to the level counting the
    copies made so far (copying a multi-label track raises all its labels), and copies are drawn from
    the tracks whose only label is that one whenever there are some (``prefer_single_label``).
    Tracks without any label are never copied.

    Parameters
    ----------
    size : float >= 0, default=1.0
        Level as a fraction of the most frequent class's count (1.0: balance to the majority).
    multilabel : bool or "auto", default="auto"
        "auto" treats a multi-hot y as multi-label; False accepts only single-label (or one-hot) y.
    prefer_single_label : bool, default=True
    random_state : int, RandomState instance or None

    Attributes
    ----------
    sampling_strategy_ : dict
        Class (label index for multi-hot y) -> level, for the classes that were below it.
    sample_indices_ : ndarray of shape (n_samples_new,)
        ``arange(n_samples)`` followed by the copied rows.
    classes_ : ndarray; ``multilabel_`` : bool (whether some row had a number of labels other than 1).
    """

    _parameter_constraints: dict = {
        "size": [UPSAMPLE_SIZE],
        "multilabel": ["boolean", StrOptions({"auto"})],
        "prefer_single_label": ["boolean"],
        "random_state": ["random_state"],
    }

    def _fit_resample(self, Y, rng):
        n = Y.shape[0]
        counts = Y.sum(axis=0).astype(np.int64)
        level = _round_half_up(self.size * counts.max())
        self.sampling_strategy_ = {
            _key(self.classes_[c]): level for c in range(Y.shape[1]) if 0 < counts[c] < level
        }
        everyone = np.arange(n)
        copies = []
        for c in np.argsort(counts, kind="stable"):
            if counts[c] == 0:
                logger.warning("Upsample: class %r has no sample and cannot be raised", self.classes_[c])
                continue
            deficit = level - counts[c]
            if deficit <= 0:
                continue
            pool = self._pool(Y, everyone, c)
            drawn = pool[rng.randint(pool.size, size=deficit)]
            copies.append(drawn)
            counts += Y[drawn].sum(axis=0)
        extra = np.concatenate(copies) if copies else np.empty(0, dtype=np.int64)
        return np.concatenate([everyone, extra]).astype(np.int64)


class Downsample(_ReferenceScheme):
    """The reference study's down-sampling: from every class larger than the minority class,
    round(``size`` x (count - minority count)) random tracks are removed (rounding halves up).

    size=1 balances every class to the minority count; size=0 changes nothing. With multi-label
    targets (multi-hot y) counts are per label (the minority count is the smallest non-zero one);
    labels are visited from the most frequent down, each brought to its goal count - removals made
    for earlier labels count too - removing first the tracks whose only label is that one
    (``prefer_single_label``), then random tracks carrying it. Tracks without any label are kept.

    Parameters
    ----------
    size : float in [0, 1], default=1.0
    multilabel, prefer_single_label, random_state : as in :class:`Upsample`.

    Attributes
    ----------
    sampling_strategy_ : dict
        Class (label index for multi-hot y) -> goal count, for the classes that shrink.
    sample_indices_ : ndarray of shape (n_samples_new,)
        Sorted rows kept.
    classes_, multilabel_ : as in :class:`Upsample`.
    """

    _parameter_constraints: dict = {
        "size": [DOWNSAMPLE_SIZE],
        "multilabel": ["boolean", StrOptions({"auto"})],
        "prefer_single_label": ["boolean"],
        "random_state": ["random_state"],
    }

    def _fit_resample(self, Y, rng):
        n = Y.shape[0]
        counts = Y.sum(axis=0).astype(np.int64)
        present = counts > 0
        n_min = counts[present].min()
        goal = counts - np.array([_round_half_up(self.size * (k - n_min)) if k > 0 else 0 for k in counts])
        self.sampling_strategy_ = {
            _key(self.classes_[c]): int(goal[c]) for c in range(Y.shape[1]) if goal[c] < counts[c]
        }
        kept = np.ones(n, dtype=bool)
        for c in np.argsort(-counts, kind="stable"):
            excess = counts[c] - goal[c]
            if excess <= 0:
                continue
            alive = np.flatnonzero(kept)
            carriers = alive[Y[alive, c]]
            preferred = self._pool(Y, alive, c)
            if preferred.size >= excess:
                removed = rng.choice(preferred, size=excess, replace=False)
            else:
                others = np.setdiff1d(carriers, preferred)
                removed = np.concatenate([preferred, rng.choice(others, size=excess - preferred.size,
                                                                replace=False)])
            kept[removed] = False
            counts -= Y[removed].sum(axis=0)
        return np.flatnonzero(kept).astype(np.int64)


def _key(c):
    """Class label as a plain Python value for the sampling_strategy_ dict."""
    return c.item() if isinstance(c, np.generic) else c


# --------------------------------------------------------------------------- registry
@dataclass(frozen=True)
class SamplerSpec:
    """One ``SAMPLERS`` entry: ``spec(random_state=..., **params)`` builds the sampler.

    ``tasks`` says which targets it accepts: "single" (labels of shape (n,)) and/or "multi"
    (multi-hot of shape (n, n_labels)). ``size``: the range of the sampler's ``size`` parameter (an
    sklearn ``Interval``, e.g. [0, 1]), or None when it takes none; a strategy name sets it after
    ``@`` (``upsample@0.25``, `benchmarks.families.strategies`).
    """

    name: str
    factory: Callable[..., Any]
    tasks: frozenset = field(default_factory=lambda: frozenset({"single"}))
    doc: str = ""
    size: Interval | None = None

    def __call__(self, random_state=None, **params):
        return self.factory(random_state=random_state, **params)

    def supports(self, task: str) -> bool:
        return task in self.tasks


def _ros(random_state=None, **params):
    return RandomOverSampler(random_state=random_state, **params)


def _rus(random_state=None, **params):
    return RandomUnderSampler(random_state=random_state, **params)


def _smote(random_state=None, **params):
    return SafeSMOTE(random_state=random_state, **params)


def _adasyn(random_state=None, **params):
    return SafeADASYN(random_state=random_state, **params)


def _borderline(random_state=None, **params):
    return SafeBorderlineSMOTE(random_state=random_state, **params)


def _smote_tomek(random_state=None, k_neighbors=5, sampling_strategy="auto", **params):
    smote = SafeSMOTE(sampling_strategy=sampling_strategy, k_neighbors=k_neighbors, random_state=random_state)
    return SMOTETomek(smote=smote, random_state=random_state, **params)


def _smote_enn(random_state=None, k_neighbors=5, sampling_strategy="auto", **params):
    smote = SafeSMOTE(sampling_strategy=sampling_strategy, k_neighbors=k_neighbors, random_state=random_state)
    return SMOTEENN(smote=smote, random_state=random_state, **params)


def _upsample(random_state=None, **params):
    return Upsample(random_state=random_state, **params)


def _downsample(random_state=None, **params):
    return Downsample(random_state=random_state, **params)


def _mlros(random_state=None, **params):
    return MLROS(random_state=random_state, **params)


def _mlrus(random_state=None, **params):
    return MLRUS(random_state=random_state, **params)


def _mlsmote(random_state=None, **params):
    return MLSMOTE(random_state=random_state, **params)


_SINGLE = frozenset({"single"})
_MULTI = frozenset({"multi"})
_BOTH = frozenset({"single", "multi"})

SAMPLERS: dict[str, SamplerSpec] = {
    s.name: s
    for s in [
        SamplerSpec("ros", _ros, _SINGLE, "random over-sampling of every class to the majority count"),
        SamplerSpec("rus", _rus, _SINGLE, "random under-sampling of every class to the minority count"),
        SamplerSpec("smote", _smote, _SINGLE, "SMOTE (k_neighbors=5, lowered for tiny classes)"),
        SamplerSpec("adasyn", _adasyn, _SINGLE, "ADASYN (n_neighbors=5, lowered for tiny classes)"),
        SamplerSpec("borderline-smote", _borderline, _SINGLE, "Borderline-SMOTE (borderline-1)"),
        SamplerSpec("smote-tomek", _smote_tomek, _SINGLE, "SMOTE then removal of Tomek links"),
        SamplerSpec("smote-enn", _smote_enn, _SINGLE, "SMOTE then edited nearest neighbours cleaning"),
        SamplerSpec("upsample", _upsample, _BOTH,
                    "reference scheme: raise classes below size x max count to that level", UPSAMPLE_SIZE),
        SamplerSpec("downsample", _downsample, _BOTH,
                    "reference scheme: remove size x (count - min count) from every larger class", DOWNSAMPLE_SIZE),
        SamplerSpec("ml-ros", _mlros, _MULTI, "ML-ROS (Charte et al. 2015): clone percentage % minority samples"),
        SamplerSpec("ml-rus", _mlrus, _MULTI, "ML-RUS (Charte et al. 2015): delete percentage % majority samples"),
        SamplerSpec("mlsmote", _mlsmote, _MULTI, "MLSMOTE (Charte et al. 2015): synthetic minority samples"),
    ]
}


def get_sampler(name: str, *, task: str = "single", random_state=None, **params):
    """Build the sampler ``name`` for a ``task`` ("single" or "multi"), checking that it supports it.

    Raises ValueError naming the sampler and the valid choices when the name is unknown or the
    sampler does not support the task (SMOTE on multi-hot targets, ML-ROS on single labels, ...).

    >>> import numpy as np
    >>> X, y = np.random.default_rng(0).normal(size=(30, 4)), np.array([0] * 24 + [1] * 6)
    >>> X_res, y_res = get_sampler("smote", random_state=0).fit_resample(X, y)  # an imblearn sampler
    >>> np.bincount(y_res).tolist()
    [24, 24]
    >>> get_sampler("smote", task="multi")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: sampler 'smote' does not support multi-label targets; for a multi-label task choose from ...
    """
    if name not in SAMPLERS:
        raise ValueError(f"unknown sampler {name!r}; choose from {', '.join(SAMPLERS)}")
    if task not in TASKS:
        raise ValueError(f"task={task!r} must be 'single' or 'multi'")
    spec = SAMPLERS[name]
    if not spec.supports(task):
        valid = [n for n, s in SAMPLERS.items() if s.supports(task)]
        kind = "multi-label" if task == "multi" else "single-label"
        raise ValueError(
            f"sampler {name!r} does not support {kind} targets; for a {kind} task choose from {', '.join(valid)}"
        )
    return spec(random_state=random_state, **params)
