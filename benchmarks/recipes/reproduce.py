"""`--recipe NAME`: run one reference study's groups and put the published numbers beside ours.

Folder (`benchmarks.runfolder`): `<out>/<dataset>/<run-id>/` holds one ordinary run folder per (variant, group),
`<variant>/<group>/`, each rendered as usual, and at the top:
- `config.json`: dataset, task, classes, and "recipe": {"name", "study", "smoke", "variants", "n_boot",
  "runs": [{"dir", "variant", "group", "what"}], "deviations": {variant: [str, ...]}, "not_run": [...]}.
- `metrics.csv`: every group's rows, the `dataset` column set to "<variant>/<group>".
- `reproduction.csv` (`REPRODUCTION_COLUMNS`): one row per published cell (recipe, variant, table, row,
  metric) with the published value, ours (mean and std over seeds of the test-split value computed from the
  group's predictions.csv, the number of seeds, a 95% percentile bootstrap interval of the seed mean over
  test tracks), ours minus published, the model and input that answer it, and the source of the figure.
  Cells the toolkit could not run say why in `status`.
The report (`benchmarks.report.reproduction`) renders `reproduction.md` / `.tex` from it.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from benchmarks import metrics as M
from benchmarks.comparison import finish
from benchmarks.experiment import Experiment
from benchmarks.prepare import check_disk_for_spectrograms, load_dataset
from benchmarks.recipes.base import SMOKE_N_BOOT, Recipe, Variant
from benchmarks.registry import validate
from benchmarks.runfolder import (
    METRIC_COLUMNS,
    REPRODUCTION_COLUMNS,
    REPRODUCTION_FILE,
    Timer,
    decode_predictions,
    environment,
    new_run_dir,
    read_metrics,
    read_predictions,
    write_csv,
    write_json,
)
from features.errors import ConfigError, DatasetError

log = logging.getLogger(__name__)

N_BOOT = 1000
BOOT_SEED = 20201
# Our metric keys as the metric functions name them, per task (published.py's METRICS keys).
ALIASES = {
    "single": {"roc_auc_macro": "roc_auc", "pr_auc_macro": "pr_auc", "f1_macro": "macro_f1", "map": "pr_auc"},
    "multi": {"pr_auc_macro": "map", "macro_f1": "f1_macro", "roc_auc": "roc_auc_macro"},
}


# Published metrics the toolkit cannot compute from its predictions (it predicts validation and test tracks only).
NOT_COMPUTED = {"bce_loss_train": "a training-set loss", "binary_accuracy_train": "a training-set accuracy"}


def _binary(task, y, P, classes):
    Y = np.asarray(y, dtype=bool) if task == "multi" else np.eye(len(classes), dtype=bool)[y]
    return Y, P >= 0.5


def metric_value(task: str, metric: str, y: np.ndarray, P: np.ndarray, classes: Sequence[str]) -> float:
    """One metric of predictions: `benchmarks.metrics`' definition, or one the studies report beside them:
    `roc_auc_samples` (multi-label ROC-AUC averaged over tracks, as sklearn's average="samples"; tracks with
    all or none of the tags are left out, since their AUC is undefined), `binary_accuracy` (1 - Hamming loss
    at 0.5), `precision` / `recall` (micro-averaged over every (track, tag) at 0.5), `bce_loss_val`
    (binary cross-entropy of the track probabilities, mean over tracks and tags)."""
    if metric in ("binary_accuracy", "binary_accuracy_val", "precision", "recall"):
        Y, Yhat = _binary(task, y, P, classes)
        if metric.startswith("binary_accuracy"):
            return float(np.mean(Y == Yhat))
        tp = float((Y & Yhat).sum())
        den = float(Yhat.sum() if metric == "precision" else Y.sum())
        return tp / den if den else float("nan")
    if metric == "bce_loss_val":
        Y, _ = _binary(task, y, P, classes)
        Pc = np.clip(P, 1e-7, 1 - 1e-7)
        return float(-np.mean(np.where(Y, np.log(Pc), np.log(1 - Pc))))
    if metric == "roc_auc_samples":
        Y = np.asarray(y, dtype=bool) if task == "multi" else np.eye(len(classes), dtype=bool)[y]
        keep = Y.any(1) & ~Y.all(1)
        return float(roc_auc_score(Y[keep], P[keep], average="samples")) if keep.any() else float("nan")
    key = ALIASES[task].get(metric, metric)
    values = M.single_label_metrics(y, P, classes) if task == "single" else M.multi_label_metrics(y, P, classes)
    if key not in values:
        raise ConfigError(f"metric {metric!r} is not computed for {task}-label runs")
    return float(values[key])


def seed_values(task: str, metric: str, per_seed: Sequence[tuple[np.ndarray, np.ndarray]], classes,
                n_boot: int, seed: int = BOOT_SEED) -> tuple[np.ndarray, float, float]:
    """(value per seed, low, high): the 95% percentile bootstrap interval of the seed mean, resampling the test
    tracks (the same draw for every seed; the per-seed arrays are aligned by track)."""
    values = np.array([metric_value(task, metric, y, P, classes) for y, P in per_seed])
    n = len(per_seed[0][0])
    rng = np.random.default_rng(seed)
    draws = []
    point_log = logging.getLogger("benchmarks.metrics.point")
    level = point_log.level
    point_log.setLevel(logging.ERROR)  # a resample without some tag's positives warns; the interval says enough
    try:
        for _ in range(n_boot):
            idx = rng.integers(0, n, n)
            vals = [metric_value(task, metric, y[idx], P[idx], classes) for y, P in per_seed]
            if np.all(np.isfinite(vals)):
                draws.append(float(np.mean(vals)))
    finally:
        point_log.setLevel(level)
    if len(draws) < max(10, n_boot // 2):
        return values, float("nan"), float("nan")
    lo, hi = np.percentile(draws, [2.5, 97.5])
    return values, float(lo), float(hi)


def _aligned(preds: pd.DataFrame, classes, task) -> list[tuple[np.ndarray, np.ndarray]]:
    out = []
    for _, rows in preds.sort_values(["seed", "track_id"], kind="stable").groupby("seed", sort=True):
        out.append(decode_predictions(rows, classes, task))
    lengths = {len(y) for y, _ in out}
    if len(lengths) != 1:
        raise DatasetError(f"seeds scored different test tracks ({sorted(lengths)}); cannot pool them")
    return out


def reproduction_rows(recipe: Recipe, variant: Variant, cells: Sequence, group_dirs: Mapping[str, Path],
                      task: str, classes: Sequence[str], n_boot: int) -> list[dict]:
    """REPRODUCTION_COLUMNS rows of one variant: every published cell beside ours from its group's run folder."""
    by_label = {r.label: r for r in recipe.rows}
    preds_of: dict[str, pd.DataFrame | None] = {}
    out = []
    for cell in cells:
        row = by_label.get(cell.row)
        metric = recipe.metric_map.get(cell.metric, cell.metric)
        split = "valid" if cell.table in recipe.valid_tables else "test"
        base = {"recipe": recipe.name, "variant": variant.name, "table": cell.table, "row": cell.row,
                "metric": cell.metric, "published": cell.value, "source": cell.source, "note": cell.note,
                "model": row.model if row else "", "input": (row.input or "") if row else "",
                "group": row.group if row else ""}
        empty = {"ours_mean": np.nan, "ours_std": np.nan, "n_seeds": 0, "ci_low": np.nan, "ci_high": np.nan,
                 "diff": np.nan}
        if row is None:
            out.append({**base, **empty, "status": "no toolkit model answers this row"})
            continue
        if metric in NOT_COMPUTED:
            out.append({**base, **empty, "status": f"not computed: {NOT_COMPUTED[metric]}"})
            continue
        run_dir = group_dirs.get(row.group)
        if run_dir is None:
            out.append({**base, **empty, "status": f"group {row.group} was not run (see deviations)"})
            continue
        if row.group not in preds_of:
            path = run_dir / "predictions.csv"
            preds_of[row.group] = read_predictions(path, classes) if path.is_file() else None
        preds = preds_of[row.group]
        sel = None if preds is None else preds[(preds["split"] == split) & (preds["model"] == row.model)
                                               & (preds["strategy"] == row.strategy)]
        if sel is not None and row.input:
            sel = sel[sel["input"] == row.input]
        if sel is None or sel.empty:
            out.append({**base, **empty, "status": f"{row.model} has no {split} predictions in {row.group}"})
            continue
        per_seed = _aligned(sel, classes, task)
        values, lo, hi = seed_values(task, metric, per_seed, classes, n_boot)
        mean = float(np.mean(values))
        out.append({**base, "ours_mean": mean, "ours_std": float(np.std(values, ddof=1)) if len(values) > 1 else np.nan,
                    "n_seeds": len(values), "ci_low": lo, "ci_high": hi, "diff": mean - cell.value,
                    "status": "ok" if split == "test" else "ok (validation split, as the study's table)",
                    "input": str(sel["input"].iloc[0])})
    return out


def run(recipe: Recipe, cells: Sequence, *, variants: Sequence[str] | None, given: Mapping[str, object],
        smoke: bool = False, timer: Timer | None = None, study_deviations: Sequence[str] = (),
        settings: Mapping[str, object] | None = None) -> Path:
    """Run `recipe`'s variants (default: all) and write the recipe folder; return it.

    cells: the published cells (benchmarks.recipes.published); settings: the study's stated settings
    (published.STUDY_SETTINGS, as a dict: written to config.json, shown in the report); given: RunConfig
    fields set on the command line (`Recipe.config`). A missing dataset stops the run with the dataset's own
    message; a group that cannot run (a model refused, a split the data lack) is recorded with the reason and
    the rest goes on."""
    timer = timer or Timer()
    recipe.check()
    chosen = [recipe.variant(v) for v in (variants or [v.name for v in recipe.variants])]
    first, _ = recipe.config(chosen[0], recipe.groups[0], given, smoke=smoke)
    n_boot = SMOKE_N_BOOT if smoke else N_BOOT
    runs, deviations, not_run, metric_frames, repro = [], {}, [], [], []
    task = classes = None
    with new_run_dir(first.out, recipe.dataset, first.run_id, {"recipe": recipe.name, "given": dict(given)}) as top:
        datasets: dict[tuple, object] = {}
        for variant in chosen:
            devs = [*study_deviations, *recipe.deviations, *variant.deviations]
            group_dirs = {}
            answering = [g for g in recipe.groups if any(r.group == g.name for r in recipe.rows)]
            for group in answering or recipe.groups:  # a study without published numbers: every group
                cfg, notes = recipe.config(variant, group, given, smoke=smoke)
                devs += [n for n in notes if n not in devs]
                where = f"{variant.name}/{group.name}"
                try:
                    cfg = validate(cfg)
                    key = (cfg.dataset, cfg.data_dir, cfg.dataset_options, cfg.split, cfg.split_seed, cfg.min_duration)
                    if key not in datasets:
                        with timer("dataset"):
                            datasets[key] = load_dataset(cfg)
                    ds = datasets[key]
                    check_disk_for_spectrograms(cfg, ds)
                    res = Experiment(cfg, _copy(ds), timer.tagged(where), label=where).run()
                except (ConfigError, DatasetError) as e:
                    if not datasets:  # the dataset itself is missing or unreadable: the run cannot start
                        raise
                    msg = f"{where} not run: {e}"
                    log.warning(msg)
                    not_run.append(msg)
                    continue
                sub = top / variant.name / group.name
                finish(sub, cfg, ds, res, timer=None)
                group_dirs[group.name] = sub
                task, classes = ds.task, ds.classes
                runs.append({"dir": f"{variant.name}/{group.name}", "variant": variant.name, "group": group.name,
                             "what": group.what})
                metric_frames.append(read_metrics(sub / "metrics.csv"))
                devs += [f"{where}: {n}" for n in res.notes if "padded" in n or "refused" in n]
            deviations[variant.name] = devs
            if task is not None:
                repro += reproduction_rows(recipe, variant, cells, group_dirs, task, classes, n_boot)
        if task is None:
            raise ConfigError(f"recipe {recipe.name}: no group could run: " + "; ".join(not_run))
        config = {"dataset": recipe.dataset, "task": task, "classes": list(classes),
                  "recipe": {"name": recipe.name, "study": recipe.study, "what": recipe.what, "smoke": smoke,
                             "variants": [v.name for v in chosen], "n_boot": n_boot, "runs": runs,
                             "deviations": deviations, "not_run": not_run,
                             "metrics": [list(m) for m in recipe.metrics], "study_settings": dict(settings or {})},
                  "environment": environment()}
        write_json(top / "config.json", config)
        write_csv(pd.concat(metric_frames, ignore_index=True)[METRIC_COLUMNS], top / "metrics.csv")
        write_csv(pd.DataFrame(repro, columns=REPRODUCTION_COLUMNS), top / REPRODUCTION_FILE)
    return top


def _copy(ds):
    """A LoadedDataset an experiment may change (it drops tracks) without touching the next group's."""
    out = copy.copy(ds)
    out.table = ds.table.copy()
    out.table.attrs = dict(ds.table.attrs)
    return out
