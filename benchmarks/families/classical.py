"""The classical family: scikit-learn pipelines on hand-crafted features, fit on the training split only,
predicting track-level probabilities.

In excerpt mode the feature matrix has one row per (track, excerpt); models train on the excerpts
of training tracks and a track's prediction is the mean of its excerpts' probabilities. In an excerpt-unit
run (split_unit="excerpt", `benchmarks.excerpt_items`) every excerpt is an item of its own: one row indexed
by its item id, in its own split, predicted and scored alone.

No model splits its training rows internally. The models that need held-out data during `fit` (the
MLP's early stopping, the SVM's Platt calibration) get the validation split's rows (its tracks'
excerpts in excerpt mode), transformed by the scaler fitted on the training rows and never
resampled; the MLP's epochs are scored like the tuning: the track-level main score of the mean
excerpt probabilities. A run without a validation split has no such held-out data: the MLP is not
early-stopped and the SVM's probabilities are uncalibrated (a note in config.json says so).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

import numpy as np
import pandas as pd

import features
from baselines import (
    BASELINES,
    full_columns,
    make_pipeline,
    param_grid,
    predict_proba_full,
    set_model_params,
    uses_validation,
)
from benchmarks import excerpt_items
from benchmarks.config import RunConfig
from benchmarks.families.base import FitContext
from benchmarks.families.strategies import action, make_sampler
from benchmarks.metrics import main_score

log = logging.getLogger(__name__)

STAGE = "features"  # the timings.csv stage of build_inputs
# What a model with an internal held-out set does in a run without a validation split (config.json notes).
NO_VALIDATION = {
    "mlp": "mlp: the run has no validation split; no early stopping (training stops when the training loss "
           "stops improving)",
    "svm": "svm: the run has no validation split; its probabilities are the uncalibrated softmax / sigmoid of the "
           "decision values (no calibration)",
}


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


def feature_config(cfg: RunConfig) -> features.FeatureConfig:
    """The FeatureConfig of `cfg`: its feature set's, with the run's feature settings (`feature_options`)."""
    return dataclasses.replace(features.FEATURE_SETS[cfg.features](), **dict(cfg.feature_options))


def build_inputs(cfg: RunConfig, table: pd.DataFrame, models=None) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The feature matrix of every track of `table` (one row per track, or per excerpt), and the files
    the extraction left out. `models` is part of the families' shared signature: every classical model
    reads the same matrix."""
    fconf = feature_config(cfg)
    excerpts = None
    if cfg.excerpts:
        excerpts = features.ExcerptConfig(length=cfg.excerpts, overlap=cfg.excerpt_overlap)
    feats = features.extract(excerpt_items.sources(table), fconf, backend=cfg.backend, n_jobs=cfg.n_jobs,
                             cache=cfg.cache, cache_dir=cfg.cache_dir, excerpts=excerpts, cache_key=cfg.cache_key)
    if excerpt_items.is_items(table):  # every excerpt is an item: its own row, its own split, no track mean
        feats = excerpt_items.feature_rows(feats, table)
    return feats, feats.attrs.get("skipped")


def available(feats: pd.DataFrame, track_ids) -> np.ndarray:
    return pd.Index(track_ids).isin(set(feats.index.get_level_values(0)))


def input_name(cfg: RunConfig, model: str) -> str:
    return f"features:{cfg.features}" + (f"@{cfg.excerpts:g}s" if cfg.excerpts else "")


def fit_predict(model: str, feats: pd.DataFrame, strategy: str, seed: int, ctx: FitContext):
    """Fit `model` under `strategy` on the training tracks; ({'valid', 'test': probabilities}, info), or
    None when the strategy does not apply to it (ctx.note says why)."""
    cfg, task = ctx.cfg, ctx.task
    act, why = action(strategy, "classical", model=model, task=task, class_weights=BASELINES[model].class_weight)
    if act is None:
        ctx.note(why)
        return None
    class_weight = "balanced" if act == "class-weight" else None
    sampler_factory = None
    if act == "sampler":
        sampler_factory = lambda: make_sampler(strategy, random_state=seed)  # noqa: E731  (its size: upsample@0.25)
    n_jobs = max(1, cfg.n_jobs) if cfg.n_jobs != -1 else -1
    out, info = fit_pipeline(
        model, feats, ctx.splits, ctx.targets, task=task, n_classes=len(ctx.classes), profile=cfg.profile,
        seed=seed, sampler_factory=sampler_factory, class_weight=class_weight, tune=cfg.tune,
        score_fn=lambda y, p: main_score(task, y, p), n_jobs=n_jobs,
    )
    if info.get("note"):
        ctx.note(info.pop("note"))
    return out, info


def fit_pipeline(
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
    or multi-hot (n, C) aligned with `splits`. Only 'train' rows are fitted on (scaler, sampler and
    estimator); 'valid' rows are the held-out rows of the MLP's early stopping and the SVM's
    calibration (scaled, never resampled; `score_fn` on track means scores the MLP's epochs) and are
    used for tuning when `tune`; 'test' is only predicted.
    """
    Xtr, own = rows_for(feats, splits["train"])
    ytr = targets["train"][own]
    has_valid = bool(splits.get("valid"))
    fit_kw: dict = {}
    if has_valid:
        # The internal held-out rows of the MLP (early stopping) and the SVM (calibration): the validation
        # split's rows, scaled by the pipeline's training-fitted scaler and never resampled.
        Xva, own_va = rows_for(feats, splits["valid"])
        fit_kw = {"X_valid": Xva, "y_valid": targets["valid"][own_va]}
        if score_fn is not None:
            n_valid = len(splits["valid"])

            def valid_score(p, classes):  # the tuning score, on track means of the rows' probabilities
                return score_fn(targets["valid"], track_mean(full_columns(p, classes, n_classes), own_va, n_valid))

            fit_kw["valid_score"] = valid_score

    def build(params):
        pipe = make_pipeline(name, sampler=sampler_factory() if sampler_factory else None, profile=profile,
                             task=task, random_state=seed, class_weight=class_weight, n_jobs=n_jobs)
        pipe = set_model_params(pipe, params) if params else pipe
        k = pipe.named_steps["model"].get_params().get("n_neighbors")
        if k is not None and k > len(Xtr):
            log.warning("%s: n_neighbors=%d exceeds the %d training rows; using %d", name, k, len(Xtr), len(Xtr))
            pipe = set_model_params(pipe, {"n_neighbors": len(Xtr)})
        return pipe

    def fit(pipe):
        return pipe.fit(Xtr, ytr, **fit_kw)

    def predict(pipe, split):
        X, owner = rows_for(feats, splits[split])
        return track_mean(predict_proba_full(pipe, X, n_classes), owner, len(splits[split]))

    info: dict = {}
    if not has_valid and uses_validation(BASELINES[name](profile=profile, task=task)):
        info["note"] = NO_VALIDATION.get(name, f"{name}: the run has no validation split; its internal fits have "
                                               "no held-out rows")
        log.warning(info["note"])
    if tune and has_valid:
        if score_fn is None:
            raise ValueError("tune=True needs a score_fn")
        best = None
        for params in param_grid(name):
            pipe = fit(build(params))
            score = score_fn(targets["valid"], predict(pipe, "valid"))
            log.info("%s %s: validation score %.4f", name, params, score)
            if best is None or score > best[0]:
                best = (score, params, pipe)
        info["tuned_params"] = best[1]
        info["valid_score"] = best[0]
        pipe = best[2]
    else:
        pipe = fit(build({}))
    model = pipe.named_steps["model"]
    if getattr(model, "stopping_", None) == "validation":
        info["best_epoch"] = model.best_epoch_
        log.info("%s: early-stopped on the validation split, best epoch %d of %d", name, model.best_epoch_,
                 model.n_epochs_)
    out = {s: predict(pipe, s) for s in ("valid", "test") if splits.get(s)}
    return out, info
