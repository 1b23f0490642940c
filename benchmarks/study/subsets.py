"""The imbalance study's training subsets: seeded long-tailed draws of whole groups, their fingerprints,
and the rows of subsets.csv that say what was drawn."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import pandas as pd

from benchmarks.metrics.imbalance import class_parts
from features.errors import DatasetError
from resampling import longtail_subset, longtail_targets


def ratio_label(dataset: str, ratio: float | None) -> str:
    """The `dataset` column of a study's metric rows: "synthetic@ir10", or "tags@natural" (own imbalance)."""
    return f"{dataset}@natural" if ratio is None else f"{dataset}@ir{ratio:g}"


def ratio_dir(ratio: float | None) -> str:
    """The folder of one ratio's run inside the study's run folder: "ir10", or "natural"."""
    return "natural" if ratio is None else f"ir{ratio:g}"


def class_order(classes: Sequence[str], seed: int) -> list[str]:
    """Head-to-tail class order of one seed: a permutation seeded by the seed alone, shared by all ratios."""
    rng = np.random.default_rng([seed, 0x1A11])
    return [classes[i] for i in rng.permutation(len(classes))]


def draw_subset(train: pd.DataFrame, classes: Sequence[str], *, ratio: float, profile: str,
                seed: int) -> tuple[pd.DataFrame, list[str]]:
    """A long-tailed subset of the training rows `train` (TrackTable rows) and its class order (head first).

    Whole groups at a time (`resampling.longtail_subset`); the head class keeps all its tracks.
    """
    missing = sorted(set(classes) - set(train["label"]))
    if missing:
        raise DatasetError(f"classes {missing} have no training track: no long-tailed subset can rank them")
    order = class_order(list(classes), seed)
    idx = longtail_subset(train["label"].to_numpy(), train["group"].to_numpy(), ratio=ratio, profile=profile,
                          seed=seed, class_order=order)
    return train.iloc[idx], order


def subset_id(tracks: pd.DataFrame) -> str:
    """A short fingerprint of a training subset (its sorted track ids): equal subsets, equal ids."""
    return hashlib.sha1("\n".join(sorted(map(str, tracks["track_id"]))).encode()).hexdigest()[:12]


def target_counts(n_max: int, C: int, ratio: float, profile: str, order: list[str]) -> dict[str, float]:
    """The profile's training-track count per class (head first in `order`), before whole groups round it."""
    t = longtail_targets(n_max, C, ratio=ratio, profile=profile)
    return {c: float(t[i]) for i, c in enumerate(order)}


def subset_rows(label, ratio, seed, classes, sub: pd.DataFrame, order, targets, task) -> list[dict]:
    """subsets.csv rows of one (ratio, seed): per class its rank, training tracks and groups, and part."""
    C = len(classes)
    if task == "single":
        counts = np.array([(sub["label"] == c).sum() for c in classes])
        groups = np.array([sub.loc[sub["label"] == c, "group"].nunique() for c in classes])
    else:
        counts = np.array([sum(c in tags for tags in sub["labels"]) for c in classes])
        groups = np.array([sub.loc[sub["labels"].map(lambda t, c=c: c in t), "group"].nunique() for c in classes])
    ranks = np.array([order.index(c) for c in classes])
    parts = class_parts(counts, ranks)
    return [{"label": label, "ratio": "" if ratio is None else ratio, "seed": seed, "class": classes[i],
             "rank": int(ranks[i]), "n_train": int(counts[i]), "n_groups": int(groups[i]),
             "target": targets.get(classes[i], float("nan")) if targets else float("nan"), "part": parts[i]}
            for i in range(C)]
