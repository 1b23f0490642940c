"""Leakage-free splits: group-aware, stratified, seeded; the check that a split respects its groups, and
the leak count of a published split that does not.

Single-label tables (a `label` column) are stratified by label with scikit-learn's StratifiedGroupKFold.
Multi-label tables (a `labels` column of tag tuples) use group-aware iterative stratification
(`multilabel_group_folds`): the label matrix is summed per group, the groups are dealt into folds by the
iterative stratification of Sechidis et al. (2011) as the `iterative-stratification` package implements it
(`iterstrat.ml_stratifiers.MultilabelStratifiedKFold`, seeded with the split seed), and every track follows
its group, so no group is in two folds.

The one declared exception is `excerpt_split` (a run with split_unit="excerpt"): it deals the excerpts of the
tracks, not the tracks, so one song's excerpts fall in several splits, as in studies that split excerpts at
random; such a run says so in its log and its notes (`benchmarks.excerpt_items`)."""

from __future__ import annotations

import logging
from collections import Counter

import numpy as np
import pandas as pd
from iterstrat.ml_stratifiers import MultilabelStratifiedKFold
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

from features.errors import ConfigError, DatasetError

log = logging.getLogger(__name__)

SPLITS = ("train", "valid", "test")
SEEDED_SPLITS = ("random",)  # the dataset splits drawn from --split-seed; every other split is fixed


def stratification_labels(table: pd.DataFrame) -> np.ndarray:
    """One label per track: the label itself, or for multi-label rows the rarest of their labels ('' when a
    row has none). The single-label splits stratify on it; multi-label splits do not (they use
    `multilabel_group_folds`): the rarest-tag form is kept as the baseline the multi-label split tests
    measure the iterative stratification against."""
    if "label" in table:
        return table["label"].astype(str).to_numpy()
    freq = Counter(t for tags in table["labels"] for t in tags)
    return np.array([min(tags, key=lambda t: (freq[t], t)) if len(tags) else "" for tags in table["labels"]])


def group_codes(table: pd.DataFrame) -> np.ndarray:
    """Index (0..G-1) of each row's group, numbered in sorted order of the group keys (so the row order of
    the table does not matter); a row with no group (missing, None or '') is a group of its own."""
    keys = table["group"].to_numpy(dtype=object) if "group" in table else np.full(len(table), None, dtype=object)
    missing = pd.isna(keys) | (keys.astype(str) == "")
    text = np.array([f"\0row{i}" if m else str(k) for i, (k, m) in enumerate(zip(keys, missing, strict=True))],
                    dtype=object)
    return pd.factorize(text, sort=True)[0].astype(np.int64)


def group_label_sums(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(codes, sums, tags): each row's group index (`group_codes`), the (G, C) count of each tag over the
    tracks of each group, and the C tags in sorted order."""
    codes = group_codes(table)
    tags = sorted({str(t) for ts in table["labels"] for t in ts})
    col = {t: j for j, t in enumerate(tags)}
    sums = np.zeros((int(codes.max()) + 1 if len(codes) else 0, len(tags)), dtype=np.int64)
    for g, ts in zip(codes, table["labels"], strict=True):
        for t in set(map(str, ts)):
            sums[g, col[t]] += 1
    return codes, sums, tags


def multilabel_group_folds(table: pd.DataFrame, n_splits: int, seed: int) -> np.ndarray:
    """Fold number (0..n_splits-1) per row of a multi-label table: group-aware iterative stratification.

    The label matrix is summed per group (`group_label_sums`), and `MultilabelStratifiedKFold(n_splits,
    shuffle=True, random_state=seed)` deals the groups into folds; each track takes its group's fold.
    The stratifier sees "the group carries the tag" (sum > 0), not the sums themselves: iterstrat handles a
    0/1 indicator matrix only (it casts y to bool, and its `IterativeStratification` uses each row as a
    boolean mask when it updates the wanted counts, so a count would be misread as an index). So a tag's
    share is balanced over the groups that carry it, which is what a group-disjoint split can control: a
    tag carried by g groups can be in at most g parts, and the rarest tags (fewest groups) are placed first.
    Fold sizes are balanced in groups (ties broken towards the fold that still wants the most groups).
    Same table and seed, same folds, whatever the row order when every track has a group (a group-less
    track's own group is keyed by its row).
    """
    codes, sums, _ = group_label_sums(table)
    n_groups = sums.shape[0]
    if n_groups < n_splits:
        raise DatasetError(
            f"{n_groups} groups cannot fill {n_splits} folds: a group-aware split needs at least "
            f"{n_splits} distinct groups (artists / source tracks)"
        )
    Y = sums > 0
    if Y.shape[1] < 2:  # iterstrat wants a multilabel-indicator target: at least two columns
        Y = np.hstack([Y, np.zeros((n_groups, 2 - Y.shape[1]), dtype=bool)])
    fold_of_group = np.empty(n_groups, dtype=np.int64)
    cv = MultilabelStratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    for k, (_, idx) in enumerate(cv.split(np.zeros((n_groups, 1)), Y)):
        fold_of_group[idx] = k
    return fold_of_group[codes]


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
    """Fold number (0..k-1) per row: stratified by label (multi-label: `multilabel_group_folds`), no group in
    two folds, seeded."""
    if k < 2:
        raise DatasetError(f"folds={k} must be at least 2")
    if "labels" in table and "label" not in table:
        return multilabel_group_folds(table, k, seed)
    return _folds(stratification_labels(table), table["group"].astype(str).to_numpy(), k, seed)


def group_split(table: pd.DataFrame, *, valid: float = 0.1, test: float = 0.1, seed: int) -> np.ndarray:
    """'train'/'valid'/'test' per row, stratified by label, no group in two splits, seeded.

    The fractions are taken in tenths (0.1 = one fold of ten): ten stratified group folds are drawn
    and whole folds assigned, so the proportions hold per class up to group granularity. Multi-label
    tables (a `labels` column and no `label`) are folded by `multilabel_group_folds` (per tag, in groups).
    """
    n_test, n_valid = round(test * 10), round(valid * 10)
    if n_test < 1 or n_valid < 0 or n_test + n_valid > 9:
        raise DatasetError(f"valid={valid}, test={test}: each must be a multiple of 0.1, test >= 0.1, sum <= 0.9")
    if "labels" in table and "label" not in table:
        fold = multilabel_group_folds(table, 10, seed)
    else:
        fold = _folds(stratification_labels(table), table["group"].astype(str).to_numpy(), 10, seed)
    return _parts(fold, n_test, n_valid)


def _parts(fold: np.ndarray, n_test: int, n_valid: int) -> np.ndarray:
    """'test' for the first `n_test` folds of ten, 'valid' for the next `n_valid`, 'train' for the rest."""
    out = np.full(len(fold), "train", dtype=object)
    out[fold < n_test] = "test"
    out[(fold >= n_test) & (fold < n_test + n_valid)] = "valid"
    return out


def excerpt_split(items: pd.DataFrame, *, valid: float = 0.1, test: float = 0.1, seed: int) -> np.ndarray:
    """'train'/'valid'/'test' per EXCERPT of an excerpt table (`benchmarks.excerpt_items`), stratified by label
    and seeded, in the proportions of `group_split` (whole folds of ten), with no regard to the source track.

    This is the leaky split of studies that split excerpts at random: excerpts of one song fall in several
    splits. Single-label rows are folded by StratifiedKFold (every excerpt its own group: StratifiedGroupKFold
    with singleton groups, without its per-group cost), multi-label rows by `multilabel_group_folds` over
    singleton groups.
    """
    n_test, n_valid = round(test * 10), round(valid * 10)
    if n_test < 1 or n_valid < 0 or n_test + n_valid > 9:
        raise DatasetError(f"valid={valid}, test={test}: each must be a multiple of 0.1, test >= 0.1, sum <= 0.9")
    if "labels" in items and "label" not in items:
        return _parts(multilabel_group_folds(items.assign(group=items["track_id"]), 10, seed), n_test, n_valid)
    y = stratification_labels(items)
    fold = np.empty(len(y), dtype=np.int64)
    try:
        for k, (_, idx) in enumerate(StratifiedKFold(10, shuffle=True, random_state=seed).split(np.zeros(len(y)), y)):
            fold[idx] = k
    except ValueError as e:
        raise DatasetError(f"cannot deal {len(y)} excerpts into 10 stratified folds ({e})") from None
    return _parts(fold, n_test, n_valid)


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
