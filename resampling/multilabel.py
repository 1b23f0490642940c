"""Multi-label resampling after Charte et al. (2015): imbalance measures IRLbl and MeanIR, and the
ML-ROS, ML-RUS and MLSMOTE samplers, usable inside ``imblearn.pipeline.Pipeline`` on multi-hot targets.

imbalanced-learn rejects multi-label targets, so these samplers subclass its ``BaseSampler`` but do
their own validation: ``y`` must be a multi-hot matrix of shape (n_samples, n_labels).

References
----------
F. Charte, A. J. Rivera, M. J. del Jesus, F. Herrera. Addressing imbalance in multilabel
classification: Measures and random resampling algorithms. Neurocomputing 163 (2015) 3-16.
F. Charte, A. J. Rivera, M. J. del Jesus, F. Herrera. MLSMOTE: Approaching imbalanced multilabel
learning through synthetic instance generation. Knowledge-Based Systems 89 (2015) 385-397.
"""

from __future__ import annotations

import logging
from numbers import Integral, Real

import numpy as np
from imblearn.base import BaseSampler
from scipy import sparse
from sklearn.neighbors import NearestNeighbors
from sklearn.utils import _safe_indexing, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_array, check_consistent_length, validate_data

logger = logging.getLogger(__name__)

__all__ = ["MLROS", "MLRUS", "MLSMOTE", "irlbl", "mean_ir", "label_counts"]


# --------------------------------------------------------------------------- measures
def label_counts(Y) -> np.ndarray:
    """Number of positive samples per label.

    Y: multi-hot matrix, shape (n_samples, n_labels). Returns int64 array of shape (n_labels,).
    """
    Y = check_multihot(Y, who="label_counts")
    return Y.astype(bool).sum(axis=0).astype(np.int64)


def irlbl(Y) -> np.ndarray:
    """Imbalance ratio per label, IRLbl(l) = max_l' count(l') / count(l) (Charte et al. 2015, eq. 1).

    Y: multi-hot matrix, shape (n_samples, n_labels). Returns float array of shape (n_labels,):
    1.0 for the most frequent label, larger for rarer ones, ``inf`` for a label with no positive sample.
    """
    return _irlbl_from_counts(label_counts(Y))


def mean_ir(Y) -> float:
    """Mean imbalance ratio, MeanIR = mean of IRLbl over the labels (Charte et al. 2015, eq. 2).

    Y: multi-hot matrix, shape (n_samples, n_labels). Labels with no positive sample (IRLbl = inf)
    are left out of the mean, so one absent label does not make the measure infinite.
    """
    return _mean_ir_from_irlbl(irlbl(Y))


def _irlbl_from_counts(counts: np.ndarray) -> np.ndarray:
    counts = np.asarray(counts, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.where(counts > 0, counts.max() / np.maximum(counts, 1), np.inf)


def _mean_ir_from_irlbl(ir: np.ndarray) -> float:
    finite = ir[np.isfinite(ir)]
    if finite.size == 0:
        raise ValueError("MeanIR is undefined: no label has a positive sample")
    return float(finite.mean())


# --------------------------------------------------------------------------- validation helpers
def check_multihot(y, *, who: str) -> np.ndarray:
    """y as an ndarray of shape (n_samples, n_labels) holding only 0 and 1 (dtype preserved)."""
    if sparse.issparse(y):
        y = y.toarray()
    Y = np.asarray(y)
    if Y.ndim != 2:
        raise ValueError(
            f"{who} expects a multi-hot target of shape (n_samples, n_labels); got y with shape {Y.shape}"
        )
    if Y.shape[1] < 2:
        raise ValueError(f"{who} needs a multi-hot target with at least 2 label columns; got {Y.shape[1]}")
    if Y.dtype == object or not np.isin(Y, (0, 1)).all():
        raise ValueError(f"{who} expects a multi-hot target holding only 0 and 1; got values {np.unique(Y)[:10]}")
    return Y


def check_X_passthrough(X):
    """X left as it is when it is a DataFrame or a sparse matrix, else a 2-D array of any dtype."""
    if hasattr(X, "iloc") or sparse.issparse(X):
        return X
    return check_array(X, accept_sparse=["csr", "csc"], dtype=None, ensure_all_finite=False)


def reset_index(obj):
    """Drop the (now repeated) pandas index after row selection, as imbalanced-learn does."""
    if hasattr(obj, "reset_index"):
        return obj.reset_index(drop=True)
    return obj


def _like(original, array: np.ndarray):
    """array in the container type of original (list, DataFrame, Series or ndarray)."""
    if isinstance(original, list):
        return array.tolist()
    if hasattr(original, "columns"):
        import pandas as pd

        frame = pd.DataFrame(array, columns=original.columns)
        # restore float widths only: interpolated values must not be truncated into integer columns
        return frame.astype({c: d for c, d in original.dtypes.items() if d.kind == "f"})
    if hasattr(original, "iloc"):
        import pandas as pd

        return pd.Series(array, name=original.name, dtype=original.dtype)
    return array


class _MultiHotSampler(BaseSampler):
    """Base of the samplers that take a multi-hot target of shape (n_samples, n_labels).

    ``fit_resample`` validates the inputs, sets ``n_features_in_`` (and ``feature_names_in_``),
    ``sampling_strategy_`` (a dict label index -> what the sampler targets) and calls ``_resample``.
    """

    _sampling_type = "bypass"

    def fit(self, X, y):
        """Check inputs and statistics; use ``fit_resample`` in all cases. Returns self."""
        self.fit_resample(X, y)
        return self

    def fit_resample(self, X, y):
        """Resample the dataset.

        X: array-like of shape (n_samples, n_features). y: multi-hot, shape (n_samples, n_labels).
        Returns (X_resampled, y_resampled) with n_samples_new rows, in the container types of the input.
        """
        self._validate_params()
        who = type(self).__name__
        check_consistent_length(X, y)
        if type_of_target(y) != "multilabel-indicator":
            raise ValueError(
                f"{who} expects a multi-hot target of shape (n_samples, n_labels); got a "
                f"{type_of_target(y)!r} target of shape {np.shape(y)}. For single-label targets use "
                "'ros', 'rus', 'smote', 'upsample' or 'downsample'"
            )
        Y = check_multihot(y, who=who)
        X_checked = check_X_passthrough(X)
        validate_data(self, X=X_checked, reset=True, skip_check_array=True)
        return self._fit_resample(X, X_checked, y, Y)

    def _fit_resample(self, X_orig, X, y_orig, Y):  # pragma: no cover - abstract
        """(X_resampled, y_resampled) from the original inputs, validated X and multi-hot Y."""
        raise NotImplementedError

    def _index_output(self, X_orig, y_orig, indices: np.ndarray):
        self.sample_indices_ = indices
        X_res = reset_index(_safe_indexing(X_orig, indices))
        y_res = reset_index(_safe_indexing(y_orig, indices))
        return X_res, y_res

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = False
        return tags


def _minority_labels(counts: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
    """(IRLbl, MeanIR, label indices whose IRLbl > MeanIR) for the current label counts."""
    ir = _irlbl_from_counts(counts)
    mir = _mean_ir_from_irlbl(ir)
    absent = np.flatnonzero(counts == 0)
    if absent.size:
        logger.warning("labels %s have no positive sample; they are ignored by the multi-label samplers",
                       absent.tolist())
    return ir, mir, np.flatnonzero(np.isfinite(ir) & (ir > mir))


# --------------------------------------------------------------------------- ML-ROS
class MLROS(_MultiHotSampler):
    """ML-ROS: label-aware random over-sampling (Charte et al. 2015, Algorithm 1).

    The dataset grows by ``percentage`` % of its size. Minority bags hold the samples of each label
    whose IRLbl exceeds MeanIR (both computed once on the input); round-robin over the bags, one
    random sample of the bag is cloned, and a bag leaves the rotation once its label's IRLbl
    (recomputed on the growing dataset) is no longer above MeanIR. Cloning stops at exactly
    round(n_samples * percentage / 100) clones (halves rounded up), or earlier when every bag has
    left the rotation.

    Parameters
    ----------
    percentage : float, default=25
        Size of the increase, in percent of n_samples (> 0).
    random_state : int, RandomState instance or None
        Seed of the random choices.

    Attributes
    ----------
    sample_indices_ : ndarray of shape (n_samples_new,)
        Rows of the input forming the output: ``arange(n_samples)`` followed by the cloned rows.
    irlbl_ : ndarray of shape (n_labels,)
        IRLbl of the input. ``mean_ir_`` : float, MeanIR of the input.
    sampling_strategy_ : dict
        Label index -> IRLbl at the start, for the minority labels.
    n_cloned_ : int
        Number of clones added.
    """

    _parameter_constraints: dict = {
        "percentage": [Interval(Real, 0, None, closed="neither")],
        "random_state": ["random_state"],
    }

    def __init__(self, *, percentage=25.0, random_state=None):
        self.percentage = percentage
        self.random_state = random_state

    def _fit_resample(self, X_orig, X, y_orig, Y):
        rng = check_random_state(self.random_state)
        Yb = Y.astype(bool)
        n = Yb.shape[0]
        counts = Yb.sum(axis=0).astype(np.int64)
        ir, mir, minority = _minority_labels(counts)
        self.irlbl_, self.mean_ir_ = ir, mir
        self.sampling_strategy_ = {int(lab): float(ir[lab]) for lab in minority}
        to_clone = int(np.floor(n * self.percentage / 100.0 + 0.5))
        bags = {int(lab): np.flatnonzero(Yb[:, lab]) for lab in minority}
        clones: list[int] = []
        while len(clones) < to_clone and bags:
            for lab in list(bags):
                if len(clones) >= to_clone:
                    break
                bag = bags[lab]
                pick = int(bag[rng.randint(bag.size)])
                clones.append(pick)
                counts += Yb[pick]
                if counts.max() / counts[lab] <= mir:
                    del bags[lab]
        if len(clones) < to_clone:
            logger.info("ML-ROS cloned %d of the %d samples asked: every minority label reached MeanIR",
                        len(clones), to_clone)
        self.n_cloned_ = len(clones)
        indices = np.concatenate([np.arange(n), np.asarray(clones, dtype=np.int64)])
        return self._index_output(X_orig, y_orig, indices)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.sampler_tags.sample_indices = True
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        return tags


# --------------------------------------------------------------------------- ML-RUS
class MLRUS(_MultiHotSampler):
    """ML-RUS: label-aware random under-sampling (Charte et al. 2015, Algorithm 2).

    The dataset shrinks by ``percentage`` % of its size (rounded, halves up). Majority bags hold the
    samples of each label whose IRLbl is below MeanIR (both computed once on the input); round-robin over the bags, one
    random sample still in the bag is deleted from the dataset (and so from every bag), and a bag
    leaves the rotation once its label's IRLbl (recomputed on the shrinking dataset) reaches MeanIR
    or the bag is empty. As in the paper, deleted samples may also carry minority labels.

    Parameters
    ----------
    percentage : float, default=25
        Size of the reduction, in percent of n_samples, in (0, 100).
    random_state : int, RandomState instance or None
        Seed of the random choices.

    Attributes
    ----------
    sample_indices_ : ndarray of shape (n_samples_new,)
        Sorted rows of the input that are kept.
    irlbl_, mean_ir_, sampling_strategy_ : as in :class:`MLROS` (for the majority labels).
    n_deleted_ : int
        Number of samples deleted.
    """

    _parameter_constraints: dict = {
        "percentage": [Interval(Real, 0, 100, closed="neither")],
        "random_state": ["random_state"],
    }

    def __init__(self, *, percentage=25.0, random_state=None):
        self.percentage = percentage
        self.random_state = random_state

    def _fit_resample(self, X_orig, X, y_orig, Y):
        rng = check_random_state(self.random_state)
        Yb = Y.astype(bool)
        n = Yb.shape[0]
        counts = Yb.sum(axis=0).astype(np.int64)
        ir, mir, _ = _minority_labels(counts)
        majority = np.flatnonzero(ir < mir)
        self.irlbl_, self.mean_ir_ = ir, mir
        self.sampling_strategy_ = {int(lab): float(ir[lab]) for lab in majority}
        to_delete = int(np.floor(n * self.percentage / 100.0 + 0.5))
        kept = np.ones(n, dtype=bool)
        bags = {int(lab): list(np.flatnonzero(Yb[:, lab])) for lab in majority}
        n_deleted = 0
        while n_deleted < to_delete and bags:
            for lab in list(bags):
                if n_deleted >= to_delete:
                    break
                pick = _draw_kept(bags[lab], kept, rng)
                if pick is None:
                    del bags[lab]
                    continue
                kept[pick] = False
                n_deleted += 1
                counts -= Yb[pick]
                if counts[lab] == 0 or counts.max() / counts[lab] >= mir:
                    del bags[lab]
        if n_deleted < to_delete:
            logger.info("ML-RUS deleted %d of the %d samples asked: every majority label reached MeanIR",
                        n_deleted, to_delete)
        self.n_deleted_ = n_deleted
        return self._index_output(X_orig, y_orig, np.flatnonzero(kept))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.sampler_tags.sample_indices = True
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        return tags


def _draw_kept(bag: list[int], kept: np.ndarray, rng) -> int | None:
    """Remove and return a uniformly drawn member of bag that is still kept (None if there is none).

    Members deleted through another bag are dropped lazily here (swap-remove), so a draw costs O(1)
    on average instead of a pass over the bag.
    """
    while bag:
        j = rng.randint(len(bag))
        i = bag[j]
        bag[j] = bag[-1]
        bag.pop()
        if kept[i]:
            return int(i)
    return None


# --------------------------------------------------------------------------- MLSMOTE
class MLSMOTE(_MultiHotSampler):
    """MLSMOTE: synthetic multi-label samples for the minority labels (Charte et al. 2015, KBS).

    MeanIR is computed once on the input. Labels are visited in column order; a label whose IRLbl
    (on the dataset grown so far) exceeds MeanIR is a minority label, and every sample carrying it
    (synthetic ones from earlier labels included) seeds one synthetic sample: among its
    ``k_neighbors`` nearest neighbours (Euclidean) within the label's bag, one reference neighbour is
    drawn, and each feature is set to ``x_f + u_f * (ref_f - x_f)`` with ``u_f ~ U(0, 1)`` drawn per
    feature, as in the paper. The label set of the synthetic sample comes from the seed and its
    neighbours: ``"ranking"`` keeps the labels carried by more than half of them (the paper's
    default), ``"intersection"`` the labels all of them carry, ``"union"`` those any of them carries.

    A bag smaller than ``k_neighbors + 1`` uses all its other members as neighbours (logged); a bag
    of one sample is skipped. Features must be numeric and dense (nominal features and the VDM
    distance of the paper are not supported).

    Parameters
    ----------
    k_neighbors : int, default=5
    label_generation : {"ranking", "intersection", "union"}, default="ranking"
    random_state : int, RandomState instance or None

    Attributes
    ----------
    irlbl_, mean_ir_ : imbalance of the input. ``sampling_strategy_``: minority label -> number of
    synthetic samples generated for it. ``synthetic_origin_`` : ndarray of shape (n_new, 2), for each
    synthetic row (in output order) the output row of its seed and of its reference neighbour.
    ``n_synthetic_`` : int.
    """

    _parameter_constraints: dict = {
        "k_neighbors": [Interval(Integral, 1, None, closed="left")],
        "label_generation": [StrOptions({"ranking", "intersection", "union"})],
        "random_state": ["random_state"],
    }

    def __init__(self, *, k_neighbors=5, label_generation="ranking", random_state=None):
        self.k_neighbors = k_neighbors
        self.label_generation = label_generation
        self.random_state = random_state

    def _fit_resample(self, X_orig, X, y_orig, Y):
        rng = check_random_state(self.random_state)
        if sparse.issparse(X):
            raise ValueError("MLSMOTE needs a dense feature matrix; got a sparse matrix")
        X = check_array(X, dtype=[np.float64, np.float32])
        Yb = Y.astype(bool)
        counts = Yb.sum(axis=0).astype(np.int64)
        ir, mir, _ = _minority_labels(counts)
        self.irlbl_, self.mean_ir_ = ir, mir
        X_all, Y_all = [X], [Yb]
        X_cur, Y_cur = X, Yb
        origins: list[np.ndarray] = []
        generated: dict[int, int] = {}
        for lab in range(Yb.shape[1]):
            counts = Y_cur.sum(axis=0)
            if counts[lab] == 0 or counts.max() / counts[lab] <= mir:
                continue
            bag = np.flatnonzero(Y_cur[:, lab])
            if bag.size < 2:
                logger.warning("MLSMOTE skips label %d: it has a single sample, nothing to interpolate", lab)
                continue
            k = min(self.k_neighbors, bag.size - 1)
            if k < self.k_neighbors:
                logger.info("MLSMOTE uses k_neighbors=%d for label %d, which has only %d samples",
                            k, lab, bag.size)
            neigh = _neighbours_excluding_self(X_cur[bag], k)  # (bag, k), positions within bag
            ref = neigh[np.arange(bag.size), rng.randint(k, size=bag.size)]
            seeds, refs = X_cur[bag], X_cur[bag[ref]]
            u = rng.uniform(size=seeds.shape).astype(X.dtype)
            X_new = (seeds + u * (refs - seeds)).astype(X.dtype)
            votes = Y_cur[bag].astype(np.int64) + Y_cur[bag[neigh]].sum(axis=1)  # (bag, n_labels)
            if self.label_generation == "ranking":
                Y_new = votes > (k + 1) / 2
            elif self.label_generation == "intersection":
                Y_new = votes == k + 1
            else:
                Y_new = votes > 0
            origins.append(np.column_stack([bag, bag[ref]]))
            generated[lab] = int(bag.size)
            X_cur = np.vstack([X_cur, X_new])
            Y_cur = np.vstack([Y_cur, Y_new])
            X_all.append(X_new)
            Y_all.append(Y_new)
        self.sampling_strategy_ = generated
        self.synthetic_origin_ = (np.vstack(origins) if origins else np.empty((0, 2), dtype=np.int64))
        self.n_synthetic_ = int(sum(generated.values()))
        Y_out = Y_cur.astype(Y.dtype)
        return _like(X_orig, X_cur), _like(y_orig, Y_out)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags


def _neighbours_excluding_self(X: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k nearest neighbours of each row of X among the other rows, shape (n, k).

    Robust to duplicate rows: the query row itself is removed wherever it appears in its neighbour list.
    """
    nn = NearestNeighbors(n_neighbors=k + 1).fit(X)
    idx = nn.kneighbors(X, return_distance=False)  # (n, k + 1)
    not_self = idx != np.arange(X.shape[0])[:, None]
    # rows where self was not returned keep their first k neighbours
    not_self[not_self.all(axis=1), -1] = False
    return idx[not_self].reshape(X.shape[0], k)
