"""Leakage-free splits: group-aware, stratified, seeded; and the check that a split respects its groups."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold

from features.errors import DatasetError

SPLITS = ("train", "valid", "test")


def stratification_labels(table: pd.DataFrame) -> np.ndarray:
    """One label per track to stratify on: the label itself, or for multi-label rows the rarest of
    their labels (a common heuristic that keeps rare tags in every split); '' when a row has none."""
    if "label" in table:
        return table["label"].astype(str).to_numpy()
    freq = Counter(t for tags in table["labels"] for t in tags)
    return np.array([min(tags, key=lambda t: (freq[t], t)) if len(tags) else "" for tags in table["labels"]])


def _folds(y: np.ndarray, groups: np.ndarray, n_splits: int, seed: int) -> np.ndarray:
    n_groups = len(set(groups))
    if n_groups < n_splits:
        raise DatasetError(
            f"{n_groups} groups cannot fill {n_splits} folds: a group-aware split needs at least "
            f"{n_splits} distinct groups (artists / source tracks)"
        )
    fold = np.empty(len(y), dtype=np.int64)
    cv = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    try:
        for k, (_, idx) in enumerate(cv.split(np.zeros(len(y)), y, groups)):
            fold[idx] = k
    except ValueError as e:
        raise DatasetError(
            f"cannot draw {n_splits} stratified group folds from {len(y)} tracks in {n_groups} groups ({e}); "
            "use fewer folds or pin the split"
        ) from None
    return fold


def group_kfold(table: pd.DataFrame, k: int, *, seed: int) -> np.ndarray:
    """Fold number (0..k-1) per row: stratified by label, no group in two folds, seeded."""
    if k < 2:
        raise DatasetError(f"folds={k} must be at least 2")
    return _folds(stratification_labels(table), table["group"].astype(str).to_numpy(), k, seed)


def group_split(table: pd.DataFrame, *, valid: float = 0.1, test: float = 0.1, seed: int) -> np.ndarray:
    """'train'/'valid'/'test' per row, stratified by label, no group in two splits, seeded.

    The fractions are taken in tenths (0.1 = one fold of ten): ten stratified group folds are drawn
    and whole folds assigned, so the proportions hold per class up to group granularity.
    """
    n_test, n_valid = round(test * 10), round(valid * 10)
    if n_test < 1 or n_valid < 0 or n_test + n_valid > 9:
        raise DatasetError(f"valid={valid}, test={test}: each must be a multiple of 0.1, test >= 0.1, sum <= 0.9")
    fold = _folds(stratification_labels(table), table["group"].astype(str).to_numpy(), 10, seed)
    out = np.full(len(table), "train", dtype=object)
    out[fold < n_test] = "test"
    out[(fold >= n_test) & (fold < n_test + n_valid)] = "valid"
    return out


def check_groups_disjoint(table: pd.DataFrame) -> None:
    """Raise DatasetError if any group appears in more than one split (leakage between splits)."""
    spans = table.groupby("group")["split"].nunique()
    bad = spans[spans > 1]
    if len(bad):
        raise DatasetError(
            f"{len(bad)} group(s) span several splits, e.g. {list(bad.index[:3])}: excerpts or tracks of one "
            "group must stay in one split"
        )
