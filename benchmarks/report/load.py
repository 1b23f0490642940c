"""A run folder loaded once for the report: `load_run` reads it (through `benchmarks.runfolder`) into a
`RunData`, with the metric summary, the significance tests and a display label and file slug per model."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from benchmarks import metrics as M
from benchmarks.runfolder import (
    CONFIG_FILE,
    CURVES_COLUMNS,
    CURVES_FILE,
    METRICS_FILE,
    MODEL_KEYS,
    PREDICTIONS_FILE,
    SKIPPED_COLUMNS,
    SKIPPED_FILE,
    TASKS,
    TIMINGS_COLUMNS,
    TIMINGS_FILE,
    read_config,
    read_metrics,
    read_optional,
    read_predictions,
)
from features.errors import DatasetError

# One logger for the whole report package, named as before the split (tests and users filter on it).
log = logging.getLogger("benchmarks.report")


@dataclass
class RunData:
    """Everything a section may use, loaded once from the run folder.

    summary: `metrics.summarize(metrics)` (of a cross-validation run: of its pooled rows, labelled with the
    plain dataset name; `folds` summarizes the per-fold rows, None otherwise); split: the split the tables
    report ("test" when present);
    significance: `metrics.significance` on that split, every model against the reference model (the
    best on validation); predictions / significance / skipped / curves / timings: None when the file is
    absent (or, for significance, with fewer than two models); short: display label per model key
    (model, family, input, strategy); fig_formats / dpi / tex_metrics: see `benchmarks.report.render`.
    """

    run_dir: Path
    config: dict
    task: str
    classes: list[str]
    dataset: str
    metrics: pd.DataFrame
    summary: pd.DataFrame
    split: str
    keys: list[tuple]
    short: dict[tuple, str]
    predictions: pd.DataFrame | None = None
    significance: pd.DataFrame | None = None
    skipped: pd.DataFrame | None = None
    curves: pd.DataFrame | None = None
    timings: pd.DataFrame | None = None
    n_boot: int = 2000
    slugs: dict[tuple, str] = field(default_factory=dict)
    folds: pd.DataFrame | None = None
    # How figures and table.tex are written (`render` sets them): formats, PNG resolution, table.tex columns.
    fig_formats: tuple[str, ...] = ("png",)
    dpi: int = 200
    tex_metrics: tuple[str, ...] | None = None

    def path(self, name: str) -> Path:
        return self.run_dir / name


def _infer_task_classes(metrics: pd.DataFrame, preds: pd.DataFrame | None) -> tuple[str, list[str]]:
    names = set(metrics["metric"])
    task = "multi" if ("map" in names or (preds is not None and "labels" in preds.columns)) else "single"
    if preds is not None:
        classes = [c[2:] for c in preds.columns if c.startswith("p:")]
    else:
        kind = "precision["
        classes = list(dict.fromkeys(m[len(kind):-1] for m in metrics["metric"] if m.startswith(kind)))
    return task, classes


def load_run(run_dir: Path, n_boot: int = 2000) -> RunData:
    """Read a run folder (files described in `benchmarks.runfolder`) and compute the summary and
    significance tests."""
    run_dir = Path(run_dir)
    mpath = run_dir / METRICS_FILE
    if not mpath.is_file():
        raise DatasetError(f"{run_dir} has no metrics.csv: not a run folder (results/<dataset>/<run-id>)")
    metrics = read_metrics(mpath)
    if metrics.empty:
        raise DatasetError(f"{mpath} holds no rows")
    cpath = run_dir / CONFIG_FILE
    config: dict = read_config(run_dir)
    ppath = run_dir / PREDICTIONS_FILE
    classes = config.get("classes")
    preds = read_predictions(ppath, classes) if ppath.is_file() else None
    task = config.get("task")
    if task is None or classes is None:
        inferred_task, inferred_classes = _infer_task_classes(metrics, preds)
        log.warning("%s: no task/classes in config.json; inferred task=%s and %d classes", run_dir,
                    task or inferred_task, len(classes or inferred_classes))
        task, classes = task or inferred_task, classes or inferred_classes
    if task not in TASKS:
        raise DatasetError(f"{cpath}: task={task!r} must be one of {TASKS}")
    classes = [str(c) for c in classes]
    datasets = list(dict.fromkeys(metrics["dataset"]))
    dataset = str(config.get("dataset") or datasets[0])

    pooled, folds = metrics, None
    if isinstance(config.get("crossval"), dict):  # the tables show the pooled rows; the folds have a section
        is_pooled = metrics["dataset"].astype(str) == dataset
        if is_pooled.any() and not is_pooled.all():
            pooled, folds = metrics[is_pooled], M.summarize(metrics[~is_pooled])
    summary = M.summarize(pooled)
    splits = list(dict.fromkeys(summary["split"]))
    split = "test" if "test" in splits else splits[0]
    keys = list(dict.fromkeys(tuple(str(v) for v in k) for k in summary[MODEL_KEYS].to_numpy().tolist()))
    if preds is not None:
        keys += [k for k in dict.fromkeys(tuple(str(v) for v in k) for k in preds[MODEL_KEYS].to_numpy().tolist())
                 if k not in keys]
    run = RunData(run_dir=run_dir, config=config, task=task, classes=classes, dataset=dataset, metrics=metrics,
                  summary=summary, split=split, keys=keys, short=short_labels(keys), predictions=preds,
                  n_boot=n_boot, folds=folds)
    run.slugs = slugs(keys)
    if preds is not None and (preds["split"] == split).any():
        n_models = preds.loc[preds["split"] == split, MODEL_KEYS].drop_duplicates().shape[0]
        if n_models >= 2:
            run.significance = M.significance(preds, classes, task, split=split, n_boot=n_boot)
    run.skipped = read_optional(run_dir / SKIPPED_FILE, SKIPPED_COLUMNS, log=log)
    run.curves = read_optional(run_dir / CURVES_FILE, CURVES_COLUMNS, ["epoch", "train_loss", "valid_score"],
                               log=log)
    run.timings = read_optional(run_dir / TIMINGS_FILE, TIMINGS_COLUMNS, ["seconds"], log=log)
    return run


# ----------------------------------------------------------------------------------------------
# labels for models


def short_labels(keys: Sequence[tuple]) -> dict[tuple, str]:
    """Display name per (model, family, input, strategy): the model name, plus the parts that tell
    apart keys sharing it, e.g. "cnn3 [mel, oversample]"."""
    out = {}
    for key in keys:
        same = [k for k in keys if k[0] == key[0]]
        parts = [key[i] for i in (1, 2, 3) if len({k[i] for k in same}) > 1]
        out[key] = key[0] + (f" [{', '.join(parts)}]" if parts else "")
    return out


def slugs(keys: Sequence[tuple]) -> dict[tuple, str]:
    """A unique file-name slug per model key, "<model>_<input>_<strategy>" (e.g. confusion_<slug>.png)."""
    out, seen = {}, set()
    for key in keys:
        base = re.sub(r"[^A-Za-z0-9._-]+", "-", "_".join((key[0], key[2], key[3]))).strip("-") or "model"
        slug, i = base, 2
        while slug in seen:
            slug, i = f"{base}-{i}", i + 1
        seen.add(slug)
        out[key] = slug
    return out
