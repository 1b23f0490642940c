"""Grouped, stratified k-fold cross-validation (`--split kfold --folds K`): every track is tested once, each
fold written as a run folder and all folds pooled in the folder above them (`benchmarks.runfolder`); it
renders nothing (the report reads the folder).

Design
------
- The dataset is loaded on its seeded split (`prepare.load_dataset`, `splits.kfold_split`: the default of
  synthetic, synthetic-tags and folder; `random` for gtzan and mtat, whose defaults are fixed); a dataset with
  only an official split (fma, jamendo) is refused before any data is read. Inputs (features, spectrograms)
  are built once for every track (`experiment.build_inputs`); tracks they leave out are dropped before the
  folds are drawn, so every track left is scored.
- `splits.group_kfold(table, k, seed=split_seed)` gives each track a fold, stratified by label (multi-label:
  iterative stratification of the groups on the tags they carry) with no group in two folds;
  the loaded train/valid/test column is ignored. Fold i: test = fold i, valid = fold (i + 1) mod k (tuning,
  early stopping, multi-label thresholds), train = the other k - 2 folds; each fold's parts are checked
  group-disjoint (also on the dataset's real group key, e.g. the artist), so every track is in exactly one
  test part and one validation part.
- One `Experiment` per fold on the shared inputs, its metric rows labelled "<dataset>@fold<i>".
- Pooled rows, labelled "<dataset>": the concatenated valid and test predictions of all folds of one
  (model, strategy, seed), every track once in each, scored by `experiment.score` (the experiment's metric
  functions; multi-label thresholds tuned on the pooled validation predictions). The pooled test rows add a
  percentile 95% bootstrap interval over tracks for each metric of `CI_METRICS` (`<metric>@ci95_lo`,
  `<metric>@ci95_hi`; `N_BOOT` resamples, the same resamples for every model).

The run folder `results/<dataset>/<run-id>/`
-------------------------------------------
- `config.json`: the run's settings and a "crossval" entry: {"folds", "split_seed", "base_split", "n_boot",
  "runs": [{"label", "fold", "dir", "n_tracks"}]}.
- `metrics.csv`: the pooled rows, then every fold's rows; `predictions.csv`: every fold's valid and test
  predictions (so a paired test over the test split pairs models on all tracks); `skipped.csv`; `timings.csv`
  (each fit's model field prefixed with its fold, "fold0/lr/none/seed0").
- `fold<i>/`: an ordinary run folder per fold (config.json with "fold": i, metrics.csv, predictions.csv,
  curves.csv for deep models, skipped.csv), re-renderable on its own.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from benchmarks import metrics as M
from benchmarks.config import KFOLD, RunConfig
from benchmarks.datasets import get_dataset
from benchmarks.datasets.base import LoadedDataset
from benchmarks.experiment import Experiment, ExperimentResult, build_inputs, encode_targets, merge_skipped, score
from benchmarks.families import FitContext
from benchmarks.prepare import check_disk_for_spectrograms, load_dataset
from benchmarks.registry import validate
from benchmarks.runfolder import (
    MODEL_KEYS,
    Timer,
    empty_skipped,
    environment,
    new_run_dir,
    run_config,
    split_counts,
    write_run,
)
from benchmarks.splits import check_groups_disjoint, group_kfold
from features.errors import ConfigError, DatasetError

log = logging.getLogger(__name__)

N_BOOT = 2000  # bootstrap resamples of the pooled intervals
CI_SEED = 0  # one seed for every model: the intervals of two models come from the same resampled tracks
CI_METRICS = {"single": ("accuracy", "macro_f1"), "multi": ("map",)}
CI_CELLS = 500_000  # resampling weights held at once (resamples x tracks)
POOL_KEYS = [*MODEL_KEYS, "seed"]


def fold_dir(i: int) -> str:
    return f"fold{i}"


def fold_label(dataset: str, i: int) -> str:
    """The `dataset` column of fold i's metric rows, e.g. "synthetic@fold0"."""
    return f"{dataset}@fold{i}"


def draw_folds(table: pd.DataFrame, task: str, k: int, seed: int) -> tuple[np.ndarray, list[str]]:
    """Fold number (0..k-1) per row of `table` (`splits.group_kfold`: multi-label tables by iterative
    stratification of their groups), with notes on what the folds could not keep: a class with fewer than k
    groups cannot be in every fold."""
    notes = []
    by = table
    with warnings.catch_warnings():
        # Strata smaller than k (a rare class, a long tail of tags) are named in a note instead.
        warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
        fold = group_kfold(by, k, seed=seed)
    empty = sorted(set(range(k)) - set(fold.tolist()))
    if empty:
        raise DatasetError(f"{k} stratified group folds of {len(table)} tracks leave fold(s) {empty} empty; "
                           "use fewer folds")
    if task == "single":
        groups = table.groupby("label")["group"].nunique()
        few = groups[groups < k]
        if len(few):
            notes.append(f"class(es) {', '.join(f'{c} ({n})' for c, n in few.items())} have fewer than {k} "
                         "groups: some folds test, validate or train on none of their tracks")
    for n in notes:
        log.warning(n)
    return fold, notes


def fold_splits(fold: np.ndarray, i: int, k: int) -> np.ndarray:
    """'train'/'valid'/'test' per row for fold i: test = fold i, valid = fold (i + 1) mod k, train = the rest."""
    out = np.full(len(fold), "train", dtype=object)
    out[fold == (i + 1) % k] = "valid"
    out[fold == i] = "test"
    return out


def intervals(task: str, y: np.ndarray, P: np.ndarray, *, n_boot: int = N_BOOT,
              seed: int = CI_SEED) -> dict[str, tuple[float, float]]:
    """Percentile 95% bootstrap interval over tracks of each metric of `CI_METRICS[task]`.

    y: (n,) class indices or (n, C) 0/1 tags; P: (n, C) probabilities, in the same track order for every
    model (the same seed then resamples the same tracks). The weighted statistics of
    `benchmarks.metrics.bootstrap` reduce to the reported point metrics with every weight 1.
    """
    n, C = P.shape
    if task == "single":
        pred = P.argmax(1)
        correct = (pred == y).astype(np.float64)
        stats = {"accuracy": lambda W: M.safe_div(W @ correct, W.sum(1), np.nan),
                 "macro_f1": lambda W: M.weighted_macro_f1(W, y, pred, C)}
    else:
        wmap = M.WeightedMAP(np.asarray(y, dtype=bool), P)
        stats = {"map": lambda W: M.nanmean(wmap(W), axis=1)}
    rng = np.random.default_rng(seed)
    step = max(1, CI_CELLS // max(n, 1))
    draws: dict[str, list[np.ndarray]] = {m: [] for m in stats}
    for start in range(0, n_boot, step):
        W = M.bootstrap_weights(rng, n, min(step, n_boot - start))
        for m, fn in stats.items():
            draws[m].append(np.asarray(fn(W), dtype=np.float64))
    out = {}
    for m, parts in draws.items():
        d = np.concatenate(parts)
        d = d[np.isfinite(d)]
        lo, hi = np.percentile(d, [2.5, 97.5]) if len(d) else (np.nan, np.nan)
        out[m] = (float(lo), float(hi))
    return out


def pooled_rows(cfg: RunConfig, table: pd.DataFrame, classes: list[str], task: str, preds: pd.DataFrame,
                note) -> list[dict]:
    """metrics.csv rows of the pooled predictions of every (model, strategy, seed): `experiment.score` on the
    concatenated valid and test predictions of all folds (each track of `table` once in each), and the
    bootstrap intervals of the pooled test metrics (`intervals`). A fit missing from a fold is not pooled
    (`note` says so)."""
    if preds.empty:
        return []
    y_all = encode_targets(classes, task, table)
    row_of = pd.Series(np.arange(len(table)), index=table["track_id"].to_numpy())
    n = len(table)
    pcols = [f"p:{c}" for c in classes]
    rows: list[dict] = []
    for key, g in preds.groupby(POOL_KEYS, sort=False, dropna=False):
        base = {"dataset": cfg.dataset, **dict(zip(POOL_KEYS, key, strict=True))}
        base["seed"] = int(base["seed"])
        splits, targets, probs = {}, {}, {}
        for split in ("valid", "test"):
            part = g[g["split"] == split]
            ids = part["track_id"].tolist()
            if len(ids) != n or set(ids) != set(row_of.index):
                break
            order = row_of.loc[ids].to_numpy()
            splits[split], targets[split] = ids, y_all[order]
            probs[split] = part[pcols].to_numpy(dtype=np.float64)
        if len(probs) < 2:
            note(f"{base['model']} ({base['strategy']}, seed {base['seed']}) lacks valid or test predictions in "
                 "some fold: it has no pooled rows")
            continue
        ctx = FitContext(cfg=cfg, task=task, classes=classes, splits=splits, targets=targets, note=note)
        rows += score(ctx, base, probs)
        for m, (lo, hi) in intervals(task, targets["test"], probs["test"]).items():
            rows += [{**base, "split": "test", "metric": f"{m}@ci95_{side}", "value": v}
                     for side, v in (("lo", lo), ("hi", hi))]
    return rows


def run(cfg: RunConfig, timer: Timer | None = None) -> Path:
    """Run the k-fold cross-validation described by `cfg` (validated here; split="kfold"); return the run folder."""
    timer = timer or Timer()
    cfg = validate(cfg)
    if cfg.split != KFOLD:
        raise ConfigError(f"benchmarks.crossval runs split={KFOLD!r}, not split={cfg.split!r}")
    with new_run_dir(cfg.out, cfg.dataset, cfg.run_id, cfg.to_dict()) as run_dir:
        log.info("%d-fold cross-validation, run folder: %s", cfg.folds, run_dir)
        return produce(cfg, run_dir, timer)


def produce(cfg: RunConfig, run_dir: Path, timer: Timer) -> Path:
    """The cross-validation of the validated `cfg` written into `run_dir`."""
    module = get_dataset(cfg.dataset, cfg.data_dir, **dict(cfg.dataset_options))
    with timer("dataset"):
        ds = load_dataset(cfg, for_folds=True)
    check_disk_for_spectrograms(cfg, ds)
    inputs = build_inputs(cfg, ds.table, cfg.models, timer)
    ok = inputs.available(ds.table)
    if not ok.all():
        log.warning("%d track(s) dropped for every model (see skipped.csv)", int((~ok).sum()))
    table = ds.table[ok].reset_index(drop=True)
    if table.empty:
        raise DatasetError("no track left after skipping bad files")
    k, classes, task = cfg.folds, ds.classes, ds.task
    fold, fold_notes = draw_folds(table, task, k, cfg.split_seed)

    notes = [f"{k}-fold cross-validation over the {len(table)} tracks of split {ds.split_name!r} (split seed "
             f"{cfg.split_seed}): folds stratified by label with no {module.group_name} in two folds; fold i is "
             f"tested with fold i+1 (mod {k}) as validation and the other {k - 2} as training. Rows labelled "
             f"{cfg.dataset} pool the test predictions of all folds, every track once (with 95% bootstrap "
             f"intervals over tracks); rows {fold_label(cfg.dataset, 0)} ... are the folds"]
    if module.default_split != ds.split_name:
        notes.append(f"{cfg.dataset}'s default split {module.default_split!r} is not used: k-fold draws its folds "
                     f"over the tracks of split {ds.split_name!r}")
    notes += fold_notes
    keys = [("group", module.group_name)]
    if module.leak_key and module.leak_key[0] != "group" and module.leak_key[0] in table:
        keys.append(module.leak_key)

    results: list[ExperimentResult] = []
    exp_notes: list[str] = []

    def note(msg: str) -> None:
        log.info(msg)
        if msg not in exp_notes:
            exp_notes.append(msg)

    for i in tqdm(range(k), desc="cross-validation", unit="fold", disable=None):
        fold_table = table.assign(split=fold_splits(fold, i, k))
        for column, what in keys:
            check_groups_disjoint(fold_table, column, what)
        fold_ds = LoadedDataset(ds.name, fold_table, classes, task, ds.root, empty_skipped(), ds.split_name)
        res = Experiment(cfg, fold_ds, timer.tagged(fold_dir(i)), inputs=inputs,
                         label=fold_label(cfg.dataset, i)).run()
        for n in res.notes:
            note(n)
        results.append(res)

    preds = [r.predictions for r in results if len(r.predictions)]
    all_preds = pd.concat(preds, ignore_index=True) if preds else pd.DataFrame()
    pooled = pooled_rows(cfg, table, classes, task, all_preds, note)
    notes += exp_notes

    skipped = merge_skipped(ds.skipped, inputs.skipped)
    env = environment()
    runs = []
    for i, res in enumerate(results):
        label, name = fold_label(cfg.dataset, i), fold_dir(i)
        n_tracks = split_counts(res.table)
        write_run(run_dir / name, config=run_config(cfg, ds, env=env, dataset_label=label, split_name=KFOLD, fold=i,
                                                    n_tracks=n_tracks, notes=notes),
                  metrics=res.metrics, predictions=res.predictions, skipped=skipped, curves=res.curves)
        runs.append({"label": label, "fold": i, "dir": name, "n_tracks": n_tracks})
    crossval = {"folds": k, "split_seed": cfg.split_seed, "base_split": ds.split_name, "n_boot": N_BOOT,
                "runs": runs}
    n_tracks = {fold_dir(i): int((fold == i).sum()) for i in range(k)}
    return write_run(run_dir, config=run_config(cfg, ds, env=env, split_name=KFOLD, n_tracks=n_tracks,
                                                crossval=crossval, notes=notes),
                     metrics=pooled + [r for res in results for r in res.metrics], predictions=all_preds,
                     skipped=skipped, timer=timer)
