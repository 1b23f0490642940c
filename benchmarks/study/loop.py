"""The imbalance study's producer: the ratio x seed loop over long-tailed training subsets, one experiment
per subset, written as a study run folder (`benchmarks.runfolder`); it renders nothing."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from benchmarks.config import RunConfig
from benchmarks.datasets.base import LoadedDataset
from benchmarks.experiment import Experiment, build_inputs, merge_skipped
from benchmarks.families.strategies import REFERENCE
from benchmarks.metrics.imbalance import TAIL_SHARE, study_metrics
from benchmarks.prepare import load_dataset
from benchmarks.registry import validate
from benchmarks.runfolder import (
    MODEL_KEYS,
    Timer,
    decode_predictions,
    empty_skipped,
    environment,
    new_run_dir,
    run_config,
    split_counts,
    write_run,
)
from benchmarks.study.subsets import draw_subset, ratio_dir, ratio_label, subset_id, subset_rows, target_counts
from features.errors import DatasetError

log = logging.getLogger(__name__)

STUDY_QUICK_EPOCHS = 8  # the quick profile's 12 epochs, cut to fit the study's many fits in minutes
PRED_KEYS = [*MODEL_KEYS, "seed"]


def study_config(cfg: RunConfig) -> tuple[RunConfig, list[str]]:
    """The study's settings: `none` first among the strategies, fewer epochs under `quick`; with notes."""
    notes = []
    strategies = tuple(dict.fromkeys((REFERENCE, *cfg.strategies)))
    if REFERENCE not in cfg.strategies:
        notes.append("strategy none added: it is the reference every strategy is compared with")
    epochs = cfg.epochs
    if epochs is None and cfg.profile == "quick":
        epochs = STUDY_QUICK_EPOCHS
        notes.append(f"deep models train {epochs} epochs (the study's quick setting; --epochs overrides it)")
    if len(cfg.seeds) < 2:
        notes.append("one seed: changes have no spread over seeds; pass --seeds 0,1,2 for a sturdier study")
        log.warning(notes[-1])
    return dataclasses.replace(cfg, strategies=strategies, epochs=epochs), notes


def study_rows(preds: pd.DataFrame, ds: LoadedDataset, label: str, parts_by_seed: dict[int, np.ndarray]) -> list[dict]:
    """metrics.csv rows of the study's extra metrics, from an experiment's valid/test predictions."""
    rows = []
    if preds.empty:
        return rows
    for key, g in preds.groupby(PRED_KEYS, sort=False):
        by_split = {s: gs for s, gs in g.groupby("split")}
        if "test" not in by_split or "valid" not in by_split:
            continue
        yt, Pt = decode_predictions(by_split["test"], ds.classes, ds.task)
        yv, Pv = decode_predictions(by_split["valid"], ds.classes, ds.task)
        values = study_metrics(ds.task, ds.classes, yt, Pt, yv, Pv, parts_by_seed[int(key[4])])
        base = dict(zip(PRED_KEYS, key, strict=True))
        rows += [{"dataset": label, "split": "test", **base, "metric": k, "value": float(v)} for k, v in values.items()]
    return rows


def run(cfg: RunConfig, timer: Timer | None = None) -> Path:
    """Run the imbalance study described by `cfg` (see `benchmarks.study`); return the run folder."""
    timer = timer or Timer()
    cfg, notes = study_config(validate(cfg))
    with new_run_dir(cfg.out, cfg.dataset, cfg.run_id, cfg.to_dict()) as run_dir:
        log.info("imbalance study, run folder: %s", run_dir)
        return produce(cfg, notes, run_dir, timer)


def produce(cfg: RunConfig, notes: list[str], run_dir: Path, timer: Timer) -> Path:
    """The study of `cfg` (after `study_config`, whose `notes` it extends) written into `run_dir`."""
    with timer("dataset"):
        ds = load_dataset(cfg)
    inputs = build_inputs(cfg, ds.table, cfg.models, timer)
    ok = inputs.available(ds.table)
    if not ok.all():
        log.warning("%d track(s) dropped for every model (see skipped.csv)", int((~ok).sum()))
    table = ds.table[ok].reset_index(drop=True)
    split = table["split"].astype(str)
    train, rest = table[split == "train"], table[split != "train"]
    if train.empty or not (split == "test").any():
        raise DatasetError("no training or no test track left after skipping bad files")
    classes, task = ds.classes, ds.task

    # One unit of work per (ratio, seed) for single-label data; one for a multi-label dataset's own imbalance.
    if task == "single":
        ratios = list(dict.fromkeys(cfg.imbalance_ratios))
        units = [(r, s) for r in ratios for s in cfg.seeds]
    else:
        ratios = [None]
        units = [(None, None)]
        notes.append(f"{cfg.dataset} is multi-label: the study compares the strategies on its own imbalance; "
                     f"imbalance ratios {', '.join(f'{r:g}' for r in cfg.imbalance_ratios)} are not applied")
        log.info(notes[-1])

    per_ratio: dict = {r: {"metrics": [], "preds": [], "curves": [], "n_train": {}} for r in ratios}
    subsets: list[dict] = []
    exp_notes: list[str] = []
    done: dict[tuple, tuple] = {}
    for ratio, seed in tqdm(units, desc="imbalance study", unit="subset", disable=None):
        label = ratio_label(cfg.dataset, ratio)
        if ratio is None:
            sub = train
            counts = np.array([sum(c in tags for tags in train["labels"]) for c in classes])
            order = [classes[i] for i in np.argsort(-counts, kind="stable")]
            seeds, targets = cfg.seeds, {}
        else:
            sub, order = draw_subset(train, classes, ratio=ratio, profile=cfg.imbalance_profile, seed=seed)
            n_max = int((train["label"] == order[0]).sum())
            seeds, targets = (seed,), target_counts(n_max, len(classes), ratio, cfg.imbalance_profile, order)
        ident = subset_id(sub)
        parts_by_seed = {}
        for s in seeds:
            rows = subset_rows(label, ratio, s, classes, sub, order, targets, task)
            subsets += [{**r, "subset": ident} for r in rows]
            parts_by_seed[s] = np.array([r["part"] for r in rows], dtype=object)
            per_ratio[ratio]["n_train"][str(s)] = len(sub)
        if (ident, seed) in done:
            # Whole groups make the subsets of nearby ratios coincide (e.g. 50 and 100 with 4-track artists):
            # the same tracks, order and seed give the same fits, so the results are reused, not recomputed.
            first, metrics, preds, curves = done[(ident, seed)]
            notes.append(f"ratio {ratio:g}, seed {seed}: the same training subset as ratio {first:g} (whole groups); "
                         f"its results are reused, and pooled results count them once")
            log.info(notes[-1])
            per_ratio[ratio]["metrics"] += [{**r, "dataset": label} for r in metrics]
            per_ratio[ratio]["preds"].append(preds)
            per_ratio[ratio]["curves"] += curves
            continue
        sub_table = pd.concat([sub, rest]).sort_index()
        sub_ds = LoadedDataset(ds.name, sub_table, classes, task, ds.root, empty_skipped(), ds.split_name)
        res = Experiment(dataclasses.replace(cfg, seeds=tuple(seeds)), sub_ds, timer.tagged(ratio_dir(ratio)),
                         inputs=inputs, label=label).run()
        exp_notes += [n for n in res.notes if n not in exp_notes]
        metrics = res.metrics + study_rows(res.predictions, sub_ds, label, parts_by_seed)
        curves = [res.curves] if res.curves is not None and len(res.curves) else []
        done[(ident, seed)] = (ratio, metrics, res.predictions, curves)
        per_ratio[ratio]["metrics"] += metrics
        per_ratio[ratio]["preds"].append(res.predictions)
        per_ratio[ratio]["curves"] += curves
    notes += exp_notes

    skipped = merge_skipped(ds.skipped, inputs.skipped)
    env = environment()
    runs, all_metrics = [], []
    for ratio in ratios:
        label, name = ratio_label(cfg.dataset, ratio), ratio_dir(ratio)
        data = per_ratio[ratio]
        n_tracks = {"train (subset, per seed)": data["n_train"], **split_counts(rest)}
        preds = [p for p in data["preds"] if len(p)]
        write_run(run_dir / name, config=run_config(cfg, ds, env=env, dataset_label=label, imbalance_ratio=ratio,
                                                    n_tracks=n_tracks, notes=notes),
                  metrics=data["metrics"], predictions=pd.concat(preds, ignore_index=True) if preds else pd.DataFrame(),
                  skipped=skipped, curves=pd.concat(data["curves"], ignore_index=True) if data["curves"] else None)
        runs.append({"label": label, "ratio": ratio, "dir": name})
        all_metrics += data["metrics"]

    imbalance = {"ratios": [r for r in ratios if r is not None], "profile": cfg.imbalance_profile,
                 "tail_share": TAIL_SHARE, "runs": runs}
    return write_run(run_dir, config=run_config(cfg, ds, env=env, n_tracks=split_counts(table),
                                                imbalance=imbalance, notes=notes),
                     metrics=all_metrics, predictions=None, skipped=skipped, timer=timer, subsets=subsets)
