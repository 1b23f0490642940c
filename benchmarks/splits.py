"""Leakage-free splits: group-aware, stratified, seeded; the check that a split respects its groups, and
the leak count of a published split that does not."""

from __future__ import annotations

import logging
from collections import Counter

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold

from features.errors import ConfigError, DatasetError

log = logging.getLogger(__name__)

SPLITS = ("train", "valid", "test")
SEEDED_SPLITS = ("random",)  # the dataset splits drawn from --split-seed; every other split is fixed


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


def check_groups_disjoint(table: pd.DataFrame, column: str = "group", what: str = "group") -> None:
    """Raise DatasetError if any value of `column` (the group, or another group key such as the artist)
    appears in more than one split (leakage between splits)."""
    spans = table.groupby(column)["split"].nunique()
    bad = spans[spans > 1]
    if len(bad):
        raise DatasetError(
            f"{len(bad)} {what}(s) span several splits, e.g. {list(bad.index[:3])}: excerpts or tracks of one "
            f"{what} must stay in one split"
        )


def group_leak(table: pd.DataFrame, column: str, what: str) -> dict:
    """How far a fixed split leaks on the group key `column` (what it is: 'artist'): for the validation and
    the test split, the keys they share with the training split and the tracks carrying them; and the
    keys found in both the validation and the test split.

    {"key": what, "test_groups_shared", "test_tracks_shared", "test_tracks", the same for valid,
    "valid_test_groups_shared"}.
    """
    split = table["split"].astype(str)
    keys = table[column].astype(str)
    train = set(keys[split == "train"])
    out: dict = {"key": what}
    for part in ("test", "valid"):
        mine = keys[split == part]
        shared = mine.isin(train)
        out[f"{part}_groups_shared"] = int(mine[shared].nunique())
        out[f"{part}_tracks_shared"] = int(shared.sum())
        out[f"{part}_tracks"] = len(mine)
    out["valid_test_groups_shared"] = len(set(keys[split == "valid"]) & set(keys[split == "test"]))
    return out


def confine_groups(table: pd.DataFrame, dataset: str, what: str) -> pd.DataFrame:
    """Make every group of a fixed, published split lie in one split, logging each that did not.

    Only for a published split that is kept as published although it leaks (its leak is counted on the
    real group key first, see `group_leak`): a group found in several splits is cut into one group per
    split (`<group>@<split>`), so that resampling and folds inside a split stay group-aware and the
    `group` column never crosses splits. A split the toolkit draws itself is never confined: there a
    group in two splits is an error (`check_groups_disjoint`).
    """
    if not len(table):
        return table
    spans = table.groupby("group")["split"].nunique()
    leaky = spans.index[spans > 1]
    if len(leaky):
        log.warning(
            "%s: %d %s(s) appear in several splits of the published split (e.g. %s); their tracks are "
            "grouped per split, and results on this split are not %s-disjoint for them",
            dataset, len(leaky), what, list(leaky[:3]), what,
        )  # fmt: skip
        table = table.copy()
        mask = table["group"].isin(set(leaky))
        table.loc[mask, "group"] = (
            table.loc[mask, "group"].astype(str) + "@" + table.loc[mask, "split"].astype(str)
        )
    return table


def kfold_split(module) -> str:
    """The split whose tracks k-fold cross-validation divides into folds: the dataset's default when it is
    seeded, else its seeded split (gtzan, mtat: `random`); ConfigError for a dataset with fixed splits only."""
    if module.default_split in SEEDED_SPLITS:
        return module.default_split
    seeded = [s for s in module.split_names if s in SEEDED_SPLITS]
    if not seeded:
        raise ConfigError(f"--split kfold: {module.name} has an official split ({', '.join(module.split_names)}) "
                          "and no seeded one to draw folds from; k-fold needs a dataset without an official split")
    return seeded[0]
