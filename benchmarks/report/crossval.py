"""The cross-validation section of report.html (`section_crossval`) and `crossval.md`: per model, the pooled
score over all tracks with its 95% bootstrap interval beside the spread of the per-fold scores."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.report.base import Section, ranked_keys
from benchmarks.report.load import RunData
from benchmarks.report.tables import Grid, grid_html, grid_markdown, metric_label, paragraph, write
from benchmarks.runfolder import MODEL_KEYS

MAIN = {"single": ("accuracy", "macro_f1"), "multi": ("map",)}


def _value(summary, key: tuple, split: str, metric: str) -> float:
    sel = (summary["split"] == split) & (summary["metric"] == metric)
    for col, v in zip(MODEL_KEYS, key, strict=True):
        sel &= summary[col].astype(str) == v
    vals = summary.loc[sel, "mean"].to_numpy(dtype=np.float64)
    return float(vals[0]) if len(vals) else float("nan")


def _fold_values(folds, key: tuple, split: str, metric: str) -> np.ndarray:
    sel = (folds["split"] == split) & (folds["metric"] == metric)
    for col, v in zip(MODEL_KEYS, key, strict=True):
        sel &= folds[col].astype(str) == v
    return folds.loc[sel, "mean"].to_numpy(dtype=np.float64)


def crossval_grid(run: RunData) -> Grid:
    """One row per model: pooled score [95% CI] and per-fold mean ± std (min–max) of each main metric."""
    metrics = MAIN[run.task]
    head = ["Model", "Folds"]
    for m in metrics:
        head += [f"{metric_label(m)} pooled [95% CI]", f"{metric_label(m)} over folds"]
    g = Grid(head, [], ["l", "r"] + ["r"] * (len(head) - 2))
    for key in ranked_keys(run):
        row = [run.short[key], ""]
        n_folds = 0
        for m in metrics:
            pooled = _value(run.summary, key, run.split, m)
            lo, hi = (_value(run.summary, key, run.split, f"{m}@ci95_{b}") for b in ("lo", "hi"))
            cell = "n/a" if not np.isfinite(pooled) else f"{pooled:.3f}"
            if np.isfinite(lo) and np.isfinite(hi):
                cell += f" [{lo:.3f}, {hi:.3f}]"
            v = _fold_values(run.folds, key, run.split, m)
            v = v[np.isfinite(v)]
            n_folds = max(n_folds, len(v))
            spread = "n/a"
            if len(v):
                std = f" ± {v.std(ddof=1):.3f}" if len(v) > 1 else ""
                spread = f"{v.mean():.3f}{std} ({v.min():.3f}–{v.max():.3f})"
            row += [cell, spread]
        row[1] = str(n_folds)
        g.rows.append(row)
    return g


def section_crossval(run: RunData) -> Section | None:
    """None except in a cross-validation's top folder (config.json has "crossval" and per-fold rows)."""
    if run.folds is None or run.folds.empty:
        return None
    info = run.config.get("crossval", {})
    files: list[Path] = []
    g = crossval_grid(run)
    note = (f"Grouped, stratified {info.get('folds', '?')}-fold cross-validation (split seed "
            f"{info.get('split_seed', '?')}): every track is tested once and validated once (on the fold after "
            f"its test fold). Pooled: the {run.split} predictions of all folds scored together, with a 95% "
            "bootstrap interval over tracks; over folds: mean ± std (min–max) of the per-fold scores, whose "
            "tables are in the fold folders. The main table and the significance tests use the pooled "
            "predictions.")
    write(run.path("crossval.md"), grid_markdown(g) + f"\n{note}\n", files)
    return Section("crossval", "Cross-validation", grid_html(g, "results") + paragraph(note), files)
