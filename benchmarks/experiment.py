"""The fit loop of one experiment: inputs once, then every (seed, strategy, model) fit on the same tracks
and scored; it returns its results and writes no files.

Every model is scored on the same tracks: a track that failed in any stage a requested model needs
is dropped for all models and listed in the skipped files with the stage and the reason. In an excerpt-unit
run (split_unit "excerpt" or "excerpt-in-track", `benchmarks.excerpt_items`) the items are the tracks' excerpts,
dealt at random or each in its track's split.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from benchmarks import grid
from benchmarks import metrics as M
from benchmarks.config import EXCERPT_UNITS, RunConfig
from benchmarks.datasets.base import LoadedDataset
from benchmarks.excerpt_items import as_excerpts
from benchmarks.families import FitContext, family_of, load_family
from benchmarks.runfolder import SKIPPED_COLUMNS, Timer, empty_skipped
from benchmarks.splits import SPLITS
from features.errors import DatasetError

log = logging.getLogger(__name__)

FAMILY_ORDER = ("classical", "deep")  # inputs are built, and failures attributed, in this order


def encode_targets(classes: list[str], task: str, table: pd.DataFrame) -> np.ndarray:
    """Class indices (n,) for single-label tables, multi-hot (n, C) for multi-label ones."""
    index = {c: i for i, c in enumerate(classes)}
    if task == "single":
        return table["label"].map(index).to_numpy(dtype=np.int64)
    Y = np.zeros((len(table), len(classes)), dtype=np.int64)
    for r, tags in enumerate(table["labels"]):
        for t in tags:
            Y[r, index[t]] = 1
    return Y


def merge_skipped(*frames: pd.DataFrame | None) -> pd.DataFrame:
    """One row per file: the first frame (stage) that left it out says why; later stages repeat the cause."""
    parts = [pd.DataFrame(f[SKIPPED_COLUMNS]) for f in frames if f is not None and len(f)]
    if not parts:
        return empty_skipped()
    return pd.concat(parts, ignore_index=True).drop_duplicates(subset="path", keep="first", ignore_index=True)


@dataclass
class Inputs:
    """What a run's models read, built once for every track of a table: per family its inputs (the
    feature matrix; the deep models' stores), and the files the builds left out."""

    data: dict[str, object]
    skipped: pd.DataFrame = field(default_factory=empty_skipped)

    def available(self, table: pd.DataFrame) -> pd.Series:
        """Per row of `table`, whether every family's inputs hold the track."""
        ok = pd.Series(True, index=table.index)
        for family, data in self.data.items():
            ok &= load_family(family).available(data, table["track_id"].tolist())
        return ok


def build_inputs(cfg: RunConfig, table: pd.DataFrame, models, timer: Timer) -> Inputs:
    """Build the inputs of every family that `models` need, for every track of `table`, timed by stage."""
    needed = {family_of(m) for m in models}
    data, skipped = {}, []
    for family in FAMILY_ORDER:
        if family not in needed:
            continue
        module = load_family(family)
        with timer(module.STAGE):
            data[family], left_out = module.build_inputs(cfg, table, [m for m in models if family_of(m) == family])
        skipped.append(left_out)
    return Inputs(data, merge_skipped(*skipped))


@dataclass
class ExperimentResult:
    """What an experiment produced: tidy metric rows, valid/test predictions, per-epoch curves of deep
    models (None without), the files left out, notes, and the table of the tracks every model was scored on."""

    metrics: list[dict]
    predictions: pd.DataFrame
    curves: pd.DataFrame | None
    skipped: pd.DataFrame
    notes: list[str]
    table: pd.DataFrame
    inputs: Inputs | None = None  # what the models read (the feature matrix, the deep stores)
    # per fit that returned one: (key, info["gallery"]) with key the metric rows' model keys and seed
    galleries: list[tuple[dict, dict]] = field(default_factory=list)


class Experiment:
    def __init__(self, cfg: RunConfig, ds: LoadedDataset, timer: Timer, *, inputs: Inputs | None = None,
                 label: str | None = None):
        """inputs: built beforehand for a superset of ds.table's tracks (the imbalance study builds them
        once for all its training subsets; default: built here); label: the `dataset` column of the
        metric rows (default cfg.dataset)."""
        self.cfg = cfg
        self.ds = ds
        self.timer = timer
        self.inputs = inputs
        self.label = label or cfg.dataset
        self.notes: list[str] = []

    def note(self, msg: str) -> None:
        log.info(msg)
        if msg not in self.notes:
            self.notes.append(msg)

    def run(self) -> ExperimentResult:
        cfg, ds = self.cfg, self.ds
        if cfg.split_unit in EXCERPT_UNITS:  # the tracks become their excerpts (at random: a declared leak)
            as_excerpts(cfg, ds, cfg.models, self.note)
        inputs = self.inputs if self.inputs is not None else build_inputs(cfg, ds.table, cfg.models, self.timer)
        ok = inputs.available(ds.table)
        if not ok.all():
            log.warning("%d track(s) dropped for every model (see skipped.csv)", int((~ok).sum()))
        table = ds.table[ok].reset_index(drop=True)
        if cfg.excerpts and "duration" in table and any(family_of(m) == "classical" for m in cfg.models):
            n_short = int((table["duration"] < cfg.excerpts).sum())
            if n_short:
                self.note(f"{n_short} of {len(table)} tracks are shorter than the {cfg.excerpts:g}-s excerpts asked "
                          "for: each of them gives one excerpt, the whole track")
        y_all = encode_targets(ds.classes, ds.task, table)
        split_col = table["split"].astype(str)
        splits = {s: table.loc[split_col == s, "track_id"].tolist() for s in SPLITS}
        targets = {s: y_all[(split_col == s).to_numpy()] for s in splits}
        paths = {s: table.loc[split_col == s, "path"].astype(str).tolist() for s in SPLITS}
        if not splits["train"] or not splits["test"]:
            raise DatasetError("no training or no test track left after skipping bad files")
        ctx = FitContext(cfg=cfg, task=ds.task, classes=ds.classes, splits=splits, targets=targets, note=self.note,
                         paths=paths, root=table.attrs.get("root"))

        metric_rows: list[dict] = []
        pred_frames: list[pd.DataFrame] = []
        curve_frames: list[pd.DataFrame] = []
        galleries: list[tuple[dict, dict]] = []
        fits = [(seed, strategy, model) for seed in cfg.seeds for strategy in cfg.strategies for model in cfg.models]
        results = grid.run_fits(fits, inputs.data, ctx, self.timer, label=self.label)
        for (seed, strategy, model), res in zip(fits, results, strict=True):
            if res is None:
                continue
            family = family_of(model)
            probs, info = res
            key = {"dataset": self.label, "model": model, "family": family,
                   "input": load_family(family).input_name(cfg, model), "strategy": strategy, "seed": seed}
            metric_rows += score(ctx, key, probs)
            pred_frames += [predictions(ctx, table, key, s, probs[s]) for s in ("valid", "test") if s in probs]
            if info.get("curves") is not None:
                curve_frames.append(info["curves"].assign(model=model, strategy=strategy, seed=seed))
            if info.get("gallery") is not None:
                galleries.append((key, info["gallery"]))
        preds = pd.concat(pred_frames, ignore_index=True) if pred_frames else pd.DataFrame()
        curves = pd.concat(curve_frames, ignore_index=True) if curve_frames else None
        return ExperimentResult(metric_rows, preds, curves, merge_skipped(ds.skipped, inputs.skipped),
                                list(self.notes), table, inputs, galleries)


def score(ctx: FitContext, key: dict, probs: dict[str, np.ndarray]) -> list[dict]:
    """metrics.csv rows of one fit: every metric on every predicted split (multi-label thresholds tuned on
    the validation split and applied to the test split)."""
    rows = []
    thresholds = None
    if ctx.task == "multi" and "valid" in probs:
        thresholds = M.tune_thresholds(ctx.targets["valid"], probs["valid"], classes=ctx.classes)
    for split, p in probs.items():
        y = ctx.targets[split]
        if ctx.task == "single":
            values = M.single_label_metrics(y, p, ctx.classes)
        else:
            values = M.multi_label_metrics(y, p, ctx.classes, thresholds=thresholds if split == "test" else None)
        rows += [{**key, "split": split, "metric": k, "value": float(v)} for k, v in values.items()]
    return rows


def predictions(ctx: FitContext, table: pd.DataFrame, key: dict, split: str, p: np.ndarray) -> pd.DataFrame:
    """predictions.csv rows of one fit on one split (format: `benchmarks.runfolder`)."""
    classes = ctx.classes
    ids = ctx.splits[split]
    rows = table.set_index("track_id").loc[ids]
    df = pd.DataFrame({"track_id": ids, "split": split, "model": key["model"], "family": key["family"],
                       "input": key["input"], "strategy": key["strategy"], "seed": key["seed"]})
    if ctx.task == "single":
        df["label"] = rows["label"].to_numpy()
        df["pred"] = [classes[i] for i in p.argmax(1)]
    else:
        df["labels"] = ["|".join(t) for t in rows["labels"]]
        df["pred"] = ["|".join(c for c, on in zip(classes, r, strict=True) if on) for r in p >= 0.5]
    probs = pd.DataFrame(p, columns=[f"p:{c}" for c in classes])
    return pd.concat([df, probs], axis=1)
