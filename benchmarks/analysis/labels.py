"""The label side of the dataset analysis: class (or tag) counts per split and the imbalance ratio, tags per
track, tag co-occurrence and the phi correlation of tags (multi-label), from the run's TrackTable only."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from benchmarks.splits import SPLITS

TOP_PAIRS = 10


def target_matrix(table: pd.DataFrame, classes: Sequence[str], task: str) -> np.ndarray:
    """(n_tracks, C) 0/1 int64: the one-hot class (single) or the multi-hot tags (multi) of each row."""
    index = {c: i for i, c in enumerate(classes)}
    Y = np.zeros((len(table), len(classes)), dtype=np.int64)
    col = table["label"] if task == "single" else table["labels"]
    for r, v in enumerate(col):
        for t in ([v] if task == "single" else v):
            Y[r, index[t]] = 1
    return Y


def main_class(table: pd.DataFrame, classes: Sequence[str], task: str) -> list[str]:
    """One class per track: its label (single), or its most frequent tag over the whole table (multi; ties by
    class order; "(none)" for a track without tags)."""
    if task == "single":
        return [str(v) for v in table["label"]]
    Y = target_matrix(table, classes, task)
    freq = Y.sum(0)
    out = []
    for row in Y:
        on = np.flatnonzero(row)
        out.append(str(classes[on[np.argmax(freq[on])]]) if len(on) else "(none)")
    return out


def class_counts(table: pd.DataFrame, classes: Sequence[str], task: str) -> pd.DataFrame:
    """Rows (split, class, count) for every split present (train, valid, test order) and "all", every class
    in class order (zero counts included)."""
    Y = target_matrix(table, classes, task)
    split = table["split"].astype(str).to_numpy()
    present = [s for s in SPLITS if (split == s).any()] + sorted(set(split) - set(SPLITS))
    rows = []
    for s in [*present, "all"]:
        counts = Y.sum(0) if s == "all" else Y[split == s].sum(0)
        rows += [{"split": s, "class": c, "count": int(n)} for c, n in zip(classes, counts, strict=True)]
    return pd.DataFrame(rows, columns=["split", "class", "count"])


def imbalance(counts: pd.DataFrame, split: str = "train") -> dict:
    """Largest / smallest class count of `split` over the classes it holds, with their names, and how many
    classes it lacks. NaN ratio when the split holds no class."""
    c = counts[counts["split"] == split]
    held = c[c["count"] > 0]
    if held.empty:
        return {"imbalance_ratio": float("nan"), "largest_class": "", "largest_count": 0, "smallest_class": "",
                "smallest_count": 0, "n_classes_absent": int(len(c))}
    big = held.loc[held["count"].idxmax()]
    small = held.loc[held["count"].idxmin()]
    return {"imbalance_ratio": float(big["count"]) / float(small["count"]), "largest_class": str(big["class"]),
            "largest_count": int(big["count"]), "smallest_class": str(small["class"]),
            "smallest_count": int(small["count"]), "n_classes_absent": int((c["count"] == 0).sum())}


def tags_per_track(table: pd.DataFrame, classes: Sequence[str], task: str) -> pd.DataFrame:
    """Rows (split, n_tags, n_tracks): how many tracks of each split (and "all") carry n_tags tags."""
    n = target_matrix(table, classes, task).sum(1)
    split = table["split"].astype(str).to_numpy()
    rows = []
    for s in [*dict.fromkeys(s for s in [*SPLITS, *sorted(set(split))] if (split == s).any()), "all"]:
        sel = n if s == "all" else n[split == s]
        values, counts = np.unique(sel, return_counts=True)
        rows += [{"split": s, "n_tags": int(v), "n_tracks": int(k)} for v, k in zip(values, counts, strict=True)]
    return pd.DataFrame(rows, columns=["split", "n_tags", "n_tracks"])


def cooccurrence(Y: np.ndarray) -> np.ndarray:
    """(C, C) int64: tracks carrying both tags (the diagonal: tracks carrying the tag), Y.T @ Y."""
    Y = np.asarray(Y, dtype=np.int64)
    return Y.T @ Y


def phi(Y: np.ndarray) -> np.ndarray:
    """(C, C) phi coefficient of every pair of tags: the Pearson correlation of their 0/1 columns (as
    np.corrcoef), NaN where a tag is on every track or on none."""
    Y = np.asarray(Y, dtype=np.float64)
    Z = Y - Y.mean(0)
    cov = Z.T @ Z
    sd = np.sqrt(np.diag(cov))
    with np.errstate(invalid="ignore", divide="ignore"):
        out = cov / np.outer(sd, sd)
    out[(sd == 0)[:, None] | (sd == 0)[None, :]] = np.nan
    return np.clip(out, -1.0, 1.0)


def top_pairs(classes: Sequence[str], co: np.ndarray, r: np.ndarray, k: int = TOP_PAIRS) -> pd.DataFrame:
    """The k most positively correlated tag pairs (highest phi; ties by co-occurrence, then names):
    columns tag_a, tag_b, phi, both, n_a, n_b."""
    rows = []
    for i in range(len(classes)):
        for j in range(i + 1, len(classes)):
            if np.isfinite(r[i, j]):
                rows.append({"tag_a": classes[i], "tag_b": classes[j], "phi": float(r[i, j]), "both": int(co[i, j]),
                             "n_a": int(co[i, i]), "n_b": int(co[j, j])})
    df = pd.DataFrame(rows, columns=["tag_a", "tag_b", "phi", "both", "n_a", "n_b"])
    if df.empty:
        return df
    df = df.sort_values(["phi", "both", "tag_a", "tag_b"], ascending=[False, False, True, True], kind="mergesort")
    return df.head(k).reset_index(drop=True)
