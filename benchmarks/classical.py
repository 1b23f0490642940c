"""Classical models on feature matrices: fit on the training split only, predict track-level probabilities.

In excerpt mode the feature matrix has one row per (track, excerpt); models train on the excerpts
of training tracks and a track's prediction is the mean of its excerpts' probabilities.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
import pandas as pd

from baselines import make_pipeline, param_grid, predict_proba_full, set_model_params

log = logging.getLogger(__name__)


def rows_for(feats: pd.DataFrame, track_ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(matrix, track position per row) of the feature rows of `track_ids`, in that order.

    Works for a plain index (one row per track) and for a (track_id, excerpt) MultiIndex.
    """
    pos = {t: i for i, t in enumerate(track_ids)}
    if isinstance(feats.index, pd.MultiIndex):
        level = feats.index.get_level_values(0)
        mask = level.isin(track_ids)
        sub = feats[mask]
        owner = np.array([pos[t] for t in sub.index.get_level_values(0)], dtype=np.int64)
        return sub.to_numpy(dtype=np.float64), owner
    sub = feats.loc[track_ids]
    return sub.to_numpy(dtype=np.float64), np.arange(len(track_ids))


def track_mean(probs: np.ndarray, owner: np.ndarray, n_tracks: int) -> np.ndarray:
    """Mean of row probabilities per track: (n_rows, C) -> (n_tracks, C)."""
    out = np.zeros((n_tracks, probs.shape[1]))
    np.add.at(out, owner, probs)
    counts = np.bincount(owner, minlength=n_tracks)
    if (counts == 0).any():
        raise ValueError(f"{int((counts == 0).sum())} track(s) have no feature rows")
    return out / counts[:, None]


def fit_predict(
    name: str,
    feats: pd.DataFrame,
    splits: dict[str, list[str]],
    targets: dict[str, np.ndarray],
    *,
    task: str,
    n_classes: int,
    profile: str,
    seed: int,
    sampler_factory: Callable[[], object] | None = None,
    class_weight=None,
    tune: bool = False,
    score_fn: Callable[[np.ndarray, np.ndarray], float] | None = None,
    n_jobs: int = 1,
) -> tuple[dict[str, np.ndarray], dict]:
    """Fit `name` on the training tracks and return ({split: (n_tracks, n_classes) probabilities}, info).

    splits: track ids per split ('train', 'valid', 'test'); targets: per split, class indices (n,)
    or multi-hot (n, C) aligned with `splits`. Only 'train' rows reach `fit` (scaler, sampler and
    estimator); 'valid' is used for tuning when `tune`, and 'test' is only predicted.
    """
    Xtr, own = rows_for(feats, splits["train"])
    ytr = targets["train"][own]

    def build(params):
        pipe = make_pipeline(name, sampler=sampler_factory() if sampler_factory else None, profile=profile,
                             task=task, random_state=seed, class_weight=class_weight, n_jobs=n_jobs)
        pipe = set_model_params(pipe, params) if params else pipe
        k = pipe.named_steps["model"].get_params().get("n_neighbors")
        if k is not None and k > len(Xtr):
            log.warning("%s: n_neighbors=%d exceeds the %d training rows; using %d", name, k, len(Xtr), len(Xtr))
            pipe = set_model_params(pipe, {"n_neighbors": len(Xtr)})
        return pipe

    def predict(pipe, split):
        X, owner = rows_for(feats, splits[split])
        return track_mean(predict_proba_full(pipe, X, n_classes), owner, len(splits[split]))

    info: dict = {}
    if tune and splits.get("valid"):
        if score_fn is None:
            raise ValueError("tune=True needs a score_fn")
        best = None
        for params in param_grid(name):
            pipe = build(params).fit(Xtr, ytr)
            score = score_fn(targets["valid"], predict(pipe, "valid"))
            log.info("%s %s: validation score %.4f", name, params, score)
            if best is None or score > best[0]:
                best = (score, params, pipe)
        info["tuned_params"] = best[1]
        info["valid_score"] = best[0]
        pipe = best[2]
    else:
        pipe = build({}).fit(Xtr, ytr)
    out = {s: predict(pipe, s) for s in ("valid", "test") if splits.get(s)}
    return out, info
