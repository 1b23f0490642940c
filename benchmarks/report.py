"""Render a run folder's tables, figures and one self-contained HTML page from the files the run wrote,
so a report can be rebuilt (or restyled) without retraining: `python -m benchmarks.report RUN_DIR`.

The run folder `results/<dataset>/<run-id>/`
--------------------------------------------
Written by the runner (read here):

- `config.json`: at least {"dataset": str, "task": "single" | "multi", "classes": [str, ...]}; any
  other key is shown in the report, an "environment" sub-dict (library versions, CPU, GPU, git
  commit) in a table of its own and a "notes" list of strings as the run's notes.
- `metrics.csv`: tidy metric values, the single source of truth; format in `benchmarks.metrics`.
- `predictions.csv`: one row per (track, split, model, seed), columns in this order:
  `track_id, split, model, family, input, strategy, seed` (as in metrics.csv), then `label` (single:
  the true class name) or `labels` (multi: the true tags joined by "|", empty for none), then `pred`
  (single: predicted class; multi: predicted tags at 0.5 joined by "|"), then one probability column
  `p:<class>` per class in class order. Class names must not contain "|". Everything rendered from
  predictions uses the probability columns (argmax, or `>= 0.5`), as the metrics do; `pred` is for
  people reading the file.
- `skipped.csv`: `path, stage, reason`, one row per file left out of the run.
- `curves.csv` (optional, deep models): `model, strategy, seed, epoch, train_loss, valid_score`.
- `timings.csv` (optional): `stage, model, seconds` (model may be empty for a stage of the run).

Written here: `table.md`, `table.csv` (means and stds as numbers), `table.tex` (booktabs), `per_class.md`,
`significance.md` / `significance.csv` (with predictions and at least two models), figures as PNG
(single-label: `confusion_<model>.png` per model and `confusion_grid.png`; multi-label:
`cooccurrence_<model>.png` per model, `label_confusion.png`, `label_frequencies.png`,
`tag_correlation.png`, `per_class_ap.png`; `curves.png` when curves.csv exists) and `report.html`.
An imbalance study's folder (`benchmarks.study`) adds `study.md` / `study.csv` / `study.tex`,
`study_per_rank.md` / `.csv`, `study_heatmap.png`, `study_ratio.png` and `study_rank_recall.png`.
The same inputs give byte-identical outputs: nothing depends on the time, and PNGs carry no
software stamp.

The page is a list of section functions, `SECTIONS`: each takes the loaded `RunData` and returns a
`Section` (or None to leave itself out), writing whatever files it renders. A new section (e.g. an
imbalance study) is a function appended to `SECTIONS` or passed to `render(..., sections=...)`.
"""

from __future__ import annotations

import argparse
import base64
import html
import json
import logging
import math
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from benchmarks import metrics as M
from features.errors import DatasetError, ToolkitError

log = logging.getLogger(__name__)

PREDICTION_KEYS = ["track_id", "split", "model", "family", "input", "strategy", "seed"]
SKIPPED_COLUMNS = ["path", "stage", "reason"]
CURVES_COLUMNS = ["model", "strategy", "seed", "epoch", "train_loss", "valid_score"]
TIMINGS_COLUMNS = ["stage", "model", "seconds"]

TABLE_METRICS = {
    "single": ["accuracy", "balanced_accuracy", "macro_f1", "weighted_f1", "roc_auc", "pr_auc", "log_loss"],
    "multi": ["map", "roc_auc_macro", "roc_auc_micro", "pr_auc_micro", "f1_macro", "f1_micro", "f1_samples",
              "f1_macro@tuned", "f1_micro@tuned", "f1_samples@tuned", "hamming_loss", "ranking_loss",
              "recall@3", "precision@3"],
}
METRIC_LABELS = {
    "accuracy": "Accuracy", "balanced_accuracy": "Balanced acc.", "macro_f1": "Macro-F1",
    "weighted_f1": "Weighted F1", "roc_auc": "ROC-AUC", "pr_auc": "PR-AUC", "log_loss": "Log-loss",
    "map": "mAP", "roc_auc_macro": "ROC-AUC macro", "roc_auc_micro": "ROC-AUC micro",
    "pr_auc_micro": "PR-AUC micro", "f1_macro": "F1 macro", "f1_micro": "F1 micro", "f1_samples": "F1 samples",
    "f1_macro@tuned": "F1 macro (tuned)", "f1_micro@tuned": "F1 micro (tuned)",
    "f1_samples@tuned": "F1 samples (tuned)", "hamming_loss": "Hamming loss",
    "hamming_loss@tuned": "Hamming loss (tuned)", "ranking_loss": "Ranking loss",
    "coverage_error": "Coverage error", "lrap": "LRAP",
    **{f"recall@{k}": f"Recall@{k}" for k in M.TOP_K}, **{f"precision@{k}": f"Precision@{k}" for k in M.TOP_K},
}
PER_CLASS_LABELS = {"precision": "Precision", "recall": "Recall", "f1": "F1", "ap": "AP"}
DAGGER = "†"
DPI = 110


# ----------------------------------------------------------------------------------------------
# reading a run folder


def _read_str_csv(path: Path) -> pd.DataFrame:
    # Everything as text first: track ids such as "000123" and class names such as "NA" stay as written.
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _require(df: pd.DataFrame, cols: Sequence[str], path: Path) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise DatasetError(f"{path}: lacks columns {missing}; expected at least {list(cols)}")


def _to_float(s: pd.Series, what: str) -> pd.Series:
    try:
        return s.replace("", "nan").astype(np.float64)
    except (ValueError, TypeError) as e:
        raise DatasetError(f"{what} holds a value that is not a number ({e})") from None


def _to_int(s: pd.Series, what: str) -> pd.Series:
    try:
        return pd.to_numeric(s, errors="raise").astype(np.int64)
    except (ValueError, TypeError) as e:
        raise DatasetError(f"{what} holds a value that is not an integer ({e})") from None


def read_metrics(path: Path) -> pd.DataFrame:
    """metrics.csv as a DataFrame: text keys, seed int64, value float64 (NaN where empty)."""
    path = Path(path)
    df = _read_str_csv(path)
    _require(df, M.METRICS_COLUMNS, path)
    df = df[M.METRICS_COLUMNS].copy()
    df["seed"] = _to_int(df["seed"], f"{path} column seed")
    df["value"] = _to_float(df["value"], f"{path} column value")
    return df


def read_predictions(path: Path, classes: Sequence[str] | None = None) -> pd.DataFrame:
    """predictions.csv as a DataFrame: text keys and labels, seed int64, `p:<class>` float64."""
    path = Path(path)
    df = _read_str_csv(path)
    _require(df, PREDICTION_KEYS, path)
    if "label" not in df.columns and "labels" not in df.columns:
        raise DatasetError(f"{path}: needs a 'label' (single-label) or 'labels' (multi-label) column")
    df["seed"] = _to_int(df["seed"], f"{path} column seed")
    pcols = [c for c in df.columns if c.startswith("p:")]
    if classes is not None:
        missing = [f"p:{c}" for c in classes if f"p:{c}" not in df.columns]
        if missing:
            raise DatasetError(f"{path}: lacks probability columns {missing[:5]} for the config's classes")
    for c in pcols:
        df[c] = _to_float(df[c], f"{path} column {c}")
    return df


def _read_optional(path: Path, cols: Sequence[str], numeric: Sequence[str] = ()) -> pd.DataFrame | None:
    """An optional file of the run folder, or None when absent or malformed (a warning says why): a
    broken side file leaves its section out instead of stopping the report."""
    if not path.is_file():
        return None
    try:
        df = _read_str_csv(path)
        _require(df, cols, path)
        for c in numeric:
            df[c] = _to_float(df[c], f"{path} column {c}")
    except (DatasetError, ValueError, pd.errors.ParserError) as e:
        log.warning("%s left out of the report: %s", path.name, e)
        return None
    return df


@dataclass
class RunData:
    """Everything a section may use, loaded once from the run folder.

    summary: `metrics.summarize(metrics)`; split: the split the tables report ("test" when present);
    predictions / significance / skipped / curves / timings: None when the file is absent (or, for
    significance, with fewer than two models); short: display label per model key
    (model, family, input, strategy).
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
    """Read a run folder (see the module docstring) and compute the summary and significance tests."""
    run_dir = Path(run_dir)
    mpath = run_dir / "metrics.csv"
    if not mpath.is_file():
        raise DatasetError(f"{run_dir} has no metrics.csv: not a run folder (results/<dataset>/<run-id>)")
    metrics = read_metrics(mpath)
    if metrics.empty:
        raise DatasetError(f"{mpath} holds no rows")
    config: dict = {}
    cpath = run_dir / "config.json"
    if cpath.is_file():
        try:
            config = json.loads(cpath.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise DatasetError(f"{cpath}: not valid JSON ({e})") from None
    ppath = run_dir / "predictions.csv"
    classes = config.get("classes")
    preds = read_predictions(ppath, classes) if ppath.is_file() else None
    task = config.get("task")
    if task is None or classes is None:
        inferred_task, inferred_classes = _infer_task_classes(metrics, preds)
        log.warning("%s: no task/classes in config.json; inferred task=%s and %d classes", run_dir,
                    task or inferred_task, len(classes or inferred_classes))
        task, classes = task or inferred_task, classes or inferred_classes
    if task not in M.TASKS:
        raise DatasetError(f"{cpath}: task={task!r} must be one of {M.TASKS}")
    classes = [str(c) for c in classes]
    datasets = list(dict.fromkeys(metrics["dataset"]))
    dataset = str(config.get("dataset") or datasets[0])

    summary = M.summarize(metrics)
    splits = list(dict.fromkeys(summary["split"]))
    split = "test" if "test" in splits else splits[0]
    keys = list(dict.fromkeys(tuple(str(v) for v in k) for k in summary[M.MODEL_KEYS].to_numpy().tolist()))
    if preds is not None:
        keys += [k for k in dict.fromkeys(tuple(str(v) for v in k) for k in preds[M.MODEL_KEYS].to_numpy().tolist())
                 if k not in keys]
    run = RunData(run_dir=run_dir, config=config, task=task, classes=classes, dataset=dataset, metrics=metrics,
                  summary=summary, split=split, keys=keys, short=_short_labels(keys), predictions=preds,
                  n_boot=n_boot)
    run.slugs = _slugs(keys)
    if preds is not None and (preds["split"] == split).any():
        n_models = preds.loc[preds["split"] == split, M.MODEL_KEYS].drop_duplicates().shape[0]
        if n_models >= 2:
            run.significance = M.significance(preds, classes, task, split=split, n_boot=n_boot)
    run.skipped = _read_optional(run_dir / "skipped.csv", SKIPPED_COLUMNS)
    run.curves = _read_optional(run_dir / "curves.csv", CURVES_COLUMNS, ["epoch", "train_loss", "valid_score"])
    run.timings = _read_optional(run_dir / "timings.csv", TIMINGS_COLUMNS, ["seconds"])
    return run


# ----------------------------------------------------------------------------------------------
# labels for models


def _short_labels(keys: Sequence[tuple]) -> dict[tuple, str]:
    """Display name per (model, family, input, strategy): the model name, plus the parts that tell
    apart keys sharing it, e.g. "cnn3 [mel, oversample]"."""
    out = {}
    for key in keys:
        same = [k for k in keys if k[0] == key[0]]
        parts = [key[i] for i in (1, 2, 3) if len({k[i] for k in same}) > 1]
        out[key] = key[0] + (f" [{', '.join(parts)}]" if parts else "")
    return out


def _slugs(keys: Sequence[tuple]) -> dict[tuple, str]:
    out, seen = {}, set()
    for key in keys:
        base = re.sub(r"[^A-Za-z0-9._-]+", "-", "_".join((key[0], key[2], key[3]))).strip("-") or "model"
        slug, i = base, 2
        while slug in seen:
            slug, i = f"{base}-{i}", i + 1
        seen.add(slug)
        out[key] = slug
    return out


# ----------------------------------------------------------------------------------------------
# tables: one grid of text cells, rendered as markdown, LaTeX or HTML


@dataclass
class Grid:
    """A table of text cells. align: "l"/"r" per column; bold: (row, column) cells to emphasise."""

    header: list[str]
    rows: list[list[str]]
    align: list[str]
    bold: set[tuple[int, int]] = field(default_factory=set)


def _md_cell(s: str) -> str:
    return s.replace("|", "\\|")


def grid_markdown(g: Grid) -> str:
    """GitHub-flavoured markdown table, columns padded for reading in a terminal."""
    cells = [[_md_cell(h) for h in g.header]]
    for i, row in enumerate(g.rows):
        cells.append([f"**{_md_cell(c)}**" if (i, j) in g.bold and c else _md_cell(c) for j, c in enumerate(row)])
    widths = [max(3, *(len(r[j]) for r in cells)) for j in range(len(g.header))]

    def line(r):
        return "| " + " | ".join(c.ljust(w) if a == "l" else c.rjust(w)
                                 for c, w, a in zip(r, widths, g.align, strict=True)) + " |"

    sep = "| " + " | ".join((":" + "-" * (w - 1)) if a == "l" else ("-" * (w - 1) + ":")
                            for w, a in zip(widths, g.align, strict=True)) + " |"
    return "\n".join([line(cells[0]), sep, *(line(r) for r in cells[1:])]) + "\n"


_TEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
        "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "±": r"$\pm$", "†": r"$^\dagger$",
        "↓": r"$\downarrow$", "Δ": r"$\Delta$", "–": "--", "<": r"$<$", ">": r"$>$"}


def tex_escape(s: str) -> str:
    """Text made safe for LaTeX: specials escaped, ± † ↓ as math symbols."""
    return "".join(_TEX.get(ch, ch) for ch in s)


def grid_latex(g: Grid, caption: str = "", label: str = "") -> str:
    """A booktabs table (\\toprule, \\midrule, \\bottomrule) in a table float; needs \\usepackage{booktabs}."""
    spec = "".join(g.align)
    out = ["% Rendered by benchmarks.report; needs \\usepackage{booktabs}. For a wide table, wrap the",
           "% tabular in \\resizebox{\\linewidth}{!}{...} (graphicx).",
           "\\begin{table}[t]", "\\centering", "\\small", f"\\begin{{tabular}}{{{spec}}}", "\\toprule",
           " & ".join(tex_escape(h) for h in g.header) + " \\\\", "\\midrule"]
    for i, row in enumerate(g.rows):
        cells = [f"\\textbf{{{tex_escape(c)}}}" if (i, j) in g.bold and c else tex_escape(c) for j, c in enumerate(row)]
        out.append(" & ".join(cells) + " \\\\")
    out += ["\\bottomrule", "\\end{tabular}"]
    if caption:
        out.append(f"\\caption{{{tex_escape(caption)}}}")
    if label:
        out.append(f"\\label{{{label}}}")
    out.append("\\end{table}")
    return "\n".join(out) + "\n"


def grid_html(g: Grid, css_class: str = "") -> str:
    cls = f' class="{css_class}"' if css_class else ""
    head = "".join(f'<th class="{a}">{html.escape(h)}</th>' for h, a in zip(g.header, g.align, strict=True))
    body = []
    for i, row in enumerate(g.rows):
        tds = []
        for j, c in enumerate(row):
            text = html.escape(c)
            if (i, j) in g.bold and c:
                text = f"<strong>{text}</strong>"
            tds.append(f'<td class="{g.align[j]}">{text}</td>')
        body.append("<tr>" + "".join(tds) + "</tr>")
    return f"<table{cls}><thead><tr>{head}</tr></thead><tbody>" + "".join(body) + "</tbody></table>"


def _fmt(mean: float, std: float = float("nan"), digits: int = 3) -> str:
    if mean is None or not np.isfinite(mean):
        return "n/a"
    s = f"{mean:.{digits}f}"
    if std is not None and np.isfinite(std):
        s += f" ± {std:.{digits}f}"
    return s


def metric_label(m: str) -> str:
    return METRIC_LABELS.get(m, m) + (" ↓" if m in M.LOWER_IS_BETTER else "")


@dataclass
class _TableData:
    keys: list[tuple]                       # row keys: (dataset?, model, family, input, strategy)
    metrics: list[str]
    cells: dict[tuple, tuple[float, float, int]]   # (row key, metric) -> (mean, std, n)
    n_seeds: dict[tuple, int]
    with_dataset: bool


def _table_data(summary: pd.DataFrame, task: str, split: str, metrics: Sequence[str]) -> _TableData:
    df = summary[summary["split"] == split]
    with_dataset = df["dataset"].nunique() > 1
    kcols = (["dataset"] if with_dataset else []) + M.MODEL_KEYS
    cells: dict[tuple, tuple[float, float, int]] = {}
    n_seeds: dict[tuple, int] = {}
    for row in df[[*kcols, "metric", "mean", "std", "n"]].itertuples(index=False):
        key = tuple(str(v) for v in row[:len(kcols)])
        cells[(key, row.metric)] = (float(row.mean), float(row.std), int(row.n))
        n_seeds[key] = max(n_seeds.get(key, 0), int(row.n))
    keys = list(dict.fromkeys(map(tuple, df[kcols].astype(str).to_numpy().tolist())))
    present = set(df["metric"])
    metrics = [m for m in metrics if m in present]
    main = M.MAIN_METRIC[task] if M.MAIN_METRIC[task] in present else (metrics[0] if metrics else None)

    def sort_key(k):
        v = cells.get((k, main), (np.nan,))[0] if main else np.nan
        v = -v if main in M.LOWER_IS_BETTER else v
        return (0 if np.isfinite(v) else 1, -v if np.isfinite(v) else 0.0, k)

    return _TableData(sorted(keys, key=sort_key), metrics, cells, n_seeds, with_dataset)


def _marks(sig: pd.DataFrame | None, task: str) -> tuple[dict[tuple, set[str]], tuple | None]:
    """Metrics on which each model (key) is significantly worse than the best, and the best's key."""
    if sig is None or sig.empty:
        return {}, None
    marks: dict[tuple, set[str]] = {}
    main = M.MAIN_METRIC[task]
    best = None
    for r in sig.to_dict("records"):
        key = tuple(str(r[c]) for c in M.MODEL_KEYS)
        if r["is_best"]:
            best = key
        s = set()
        if r["significant"] and r[f"delta_{main}"] < 0:
            s.add(main)
        if task == "single" and r["significant_macro_f1"] and r["delta_macro_f1"] < 0:
            s.add("macro_f1")
        marks[key] = s
    return marks, best


def _main_grid(summary: pd.DataFrame, task: str, split: str, significance: pd.DataFrame | None = None,
               metrics: Sequence[str] | None = None) -> tuple[Grid, _TableData, list[str]]:
    """The models-by-metrics grid, its data and its footnotes (plain text)."""
    td = _table_data(summary, task, split, metrics or TABLE_METRICS[task])
    marks, best = _marks(significance, task)
    head = (["Dataset"] if td.with_dataset else []) + ["Model", "Family", "Input", "Strategy", "Seeds"]
    g = Grid(header=head + [metric_label(m) for m in td.metrics], rows=[],
             align=["l"] * (len(head) - 1) + ["r"] + ["r"] * len(td.metrics))
    for key in td.keys:
        mkey = key[-4:]
        row = list(key) + [str(td.n_seeds.get(key, 0))]
        for m in td.metrics:
            mean, std, _ = td.cells.get((key, m), (np.nan, np.nan, 0))
            cell = _fmt(mean, std)
            if m in marks.get(mkey, ()):
                cell += f" {DAGGER}"
            row.append(cell)
        g.rows.append(row)
    for j, m in enumerate(td.metrics):
        vals = [round(td.cells.get((k, m), (np.nan,))[0], 3) for k in td.keys]
        finite = [v for v in vals if np.isfinite(v)]
        if not finite:
            continue
        best_v = min(finite) if m in M.LOWER_IS_BETTER else max(finite)
        g.bold |= {(i, len(head) + j) for i, v in enumerate(vals) if v == best_v}
    datasets = sorted({k[0] for k in td.keys}) if td.with_dataset else list(dict.fromkeys(summary["dataset"]))
    notes = [f"{', '.join(map(str, datasets))}, {split} split: mean ± std over seeds (std with ddof=1; "
             "± omitted with one seed). Bold: best per column. ↓: lower is better."]
    if significance is not None and best is not None:
        what = "accuracy or macro-F1" if task == "single" else "mAP"
        label = f"{best[0]} ({best[2]}, {best[3]})"
        if any(marks.values()):
            notes.append(f"{DAGGER} significantly worse than the best model, {label}: the 95% paired bootstrap "
                         f"interval of the difference in {what} excludes 0 (tracks resampled, seeds paired; "
                         "details in significance.md).")
        else:
            notes.append(f"No model is significantly worse than the best model, {label}, in {what} (95% paired "
                         "bootstrap interval of the difference; details in significance.md).")
    return g, td, notes


def format_table(summary_df: pd.DataFrame, task: str, *, split: str | None = None,
                 significance: pd.DataFrame | None = None, notes: Sequence[str] = ()) -> str:
    """The main results table as markdown: rows = models sorted by the main metric (accuracy / mAP),
    columns = the task's main metrics, cells "mean ± std", best per column in bold, † on a cell whose
    model is significantly worse than the best (when `significance` is given), footnotes below.

    summary_df: `metrics.summarize(...)`; split: default "test" when present, else the first split.
    """
    M._check_task(task)
    if split is None:
        splits = list(dict.fromkeys(summary_df["split"]))
        split = "test" if "test" in splits else splits[0]
    g, _, foot = _main_grid(summary_df, task, split, significance)
    return grid_markdown(g) + "".join(f"\n{n}\n" for n in [*foot, *notes])


def _table_csv(td: _TableData, marks: dict[tuple, set[str]], task: str) -> pd.DataFrame:
    rows = []
    kcols = (["dataset"] if td.with_dataset else []) + M.MODEL_KEYS
    marked = [M.MAIN_METRIC[task]] + (["macro_f1"] if task == "single" else [])
    for key in td.keys:
        r = dict(zip(kcols, key, strict=True))
        r["n_seeds"] = td.n_seeds.get(key, 0)
        for m in td.metrics:
            mean, std, _ = td.cells.get((key, m), (np.nan, np.nan, 0))
            r[f"{m}_mean"], r[f"{m}_std"] = mean, std
        if marks:
            for m in marked:
                r[f"{m}_worse_than_best"] = m in marks.get(key[-4:], set())
        rows.append(r)
    return pd.DataFrame(rows)


def _csv_text(df: pd.DataFrame) -> str:
    return df.to_csv(index=False, float_format="%.10g", lineterminator="\n")


def _write(path: Path, text: str, files: list[Path]) -> None:
    path.write_text(text, encoding="utf-8", newline="\n")
    files.append(path)


# ----------------------------------------------------------------------------------------------
# figures


def _figure(w: float, h: float) -> Figure:
    fig = Figure(figsize=(w, h), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, path: Path, files: list[Path]) -> Path:
    fig.savefig(path, dpi=DPI, metadata={"Software": None})
    files.append(path)
    return path


def _heatmap(ax, mat: np.ndarray, rows: Sequence[str], cols: Sequence[str], annot=None, vmin=0.0, vmax=1.0,
             cmap="Blues", fontsize=8, aspect="equal"):
    im = ax.imshow(np.ma.masked_invalid(mat), cmap=cmap, vmin=vmin, vmax=vmax, aspect=aspect)
    ax.set_xticks(range(len(cols)), labels=cols, rotation=45, ha="right", fontsize=fontsize)
    ax.set_yticks(range(len(rows)), labels=rows, fontsize=fontsize)
    if annot is not None:
        mid = (vmin + vmax) / 2
        for i in range(mat.shape[0]):
            for j in range(mat.shape[1]):
                if annot[i][j]:
                    v = mat[i, j]
                    color = "white" if np.isfinite(v) and v > mid else "black"
                    ax.text(j, i, annot[i][j], ha="center", va="center", fontsize=max(5, fontsize - 1), color=color)
    return im


def _test_predictions(run: RunData) -> dict[tuple, list[tuple[np.ndarray, np.ndarray]]]:
    """Decoded (truth, probabilities) per model key and seed on the report's split, in table order."""
    if run.predictions is None:
        return {}
    df = run.predictions[run.predictions["split"] == run.split]
    out = {}
    for key, g in df.groupby(M.MODEL_KEYS, sort=False):
        key = tuple(str(k) for k in key)
        out[key] = [M.decode_predictions(gs, run.classes, run.task) for _, gs in g.groupby("seed", sort=True)]
    order = {k: i for i, k in enumerate(_ranked_keys(run))}
    return dict(sorted(out.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])))


def _ranked_keys(run: RunData) -> list[tuple]:
    td = _table_data(run.summary, run.task, run.split, TABLE_METRICS[run.task])
    return list(dict.fromkeys(k[-4:] for k in td.keys))


def _unique_truth(run: RunData) -> np.ndarray | None:
    """True labels of the report split, one row per track (the first model's first seed lists them)."""
    if run.predictions is None:
        return None
    df = run.predictions[run.predictions["split"] == run.split].drop_duplicates("track_id")
    if df.empty:
        return None
    return M.decode_predictions(df, run.classes, run.task)[0]


def _confusion_figure(run, key, cm, n_seeds, files) -> Path:
    C = len(run.classes)
    norm = M._safe_div(cm, cm.sum(1, keepdims=True), np.nan)
    size = max(4.5, 0.5 * C + 2.5)
    fig = _figure(size + 1, size)
    ax = fig.add_subplot()
    annot = None
    if C <= 30:
        annot = [[f"{norm[i, j]:.2f}\n{cm[i, j]}" if C <= 12 and cm[i, j] else (str(cm[i, j]) if cm[i, j] else "")
                  for j in range(C)] for i in range(C)]
    im = _heatmap(ax, norm, run.classes, run.classes, annot, fontsize=9 if C <= 12 else 7)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    acc = np.trace(cm) / cm.sum()
    pooled = f", counts pooled over {n_seeds} seeds" if n_seeds > 1 else ""
    ax.set_title(f"{run.short[key]}: accuracy {acc:.3f} ({run.split}{pooled})\ncolour: share of the true class",
                 fontsize=10)
    fig.colorbar(im, ax=ax, shrink=0.8)
    return _save(fig, run.path(f"confusion_{run.slugs[key]}.png"), files)


def _confusion_grid(run, cms: dict[tuple, np.ndarray], files) -> Path:
    C = len(run.classes)
    n = len(cms)
    ncols = min(3, n)
    nrows = math.ceil(n / ncols)
    cell = max(3.2, 0.32 * C + 1.6)
    fig = _figure(cell * ncols + 0.8, cell * nrows + 0.3)
    for i, (key, cm) in enumerate(cms.items()):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        norm = M._safe_div(cm, cm.sum(1, keepdims=True), np.nan)
        annot = [[str(cm[r, c]) if cm[r, c] else "" for c in range(C)] for r in range(C)] if C <= 12 else None
        im = _heatmap(ax, norm, run.classes, run.classes, annot, fontsize=6 if C > 10 else 7)
        ax.set_title(f"{run.short[key]} (acc {np.trace(cm) / cm.sum():.3f})", fontsize=9)
        ax.set_xlabel("predicted", fontsize=8)
        ax.set_ylabel("true", fontsize=8)
    fig.colorbar(im, ax=fig.axes, shrink=0.6, label="share of the true class")
    return _save(fig, run.path("confusion_grid.png"), files)


def _img(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<figure><img alt="{html.escape(alt)}" src="data:image/png;base64,{data}"></figure>'


# ----------------------------------------------------------------------------------------------
# sections


@dataclass
class Section:
    """One part of report.html: an anchor id, a title, an HTML body, and the files it wrote."""

    id: str
    title: str
    body: str
    files: list[Path] = field(default_factory=list)


SectionFn = Callable[[RunData], "Section | None"]


def _p(text: str) -> str:
    return f"<p>{html.escape(text)}</p>"


def section_overview(run: RunData) -> Section:
    cfg = run.config
    items = [("Dataset", run.dataset), ("Run", run.run_dir.name),
             ("Task", "single-label classification" if run.task == "single" else "multi-label tagging"),
             ("Classes", f"{len(run.classes)}: {', '.join(run.classes[:60])}{' ...' if len(run.classes) > 60 else ''}"),
             ("Models", ", ".join(run.short[k] for k in _ranked_keys(run))),
             ("Seeds", ", ".join(str(s) for s in sorted(set(run.metrics["seed"])))),
             ("Splits in metrics.csv", ", ".join(dict.fromkeys(run.summary["split"]))),
             ("Tables report", f"the {run.split} split")]
    if isinstance(cfg.get("n_tracks"), dict):
        items.append(("Tracks per split", ", ".join(f"{k}: {v}" for k, v in cfg["n_tracks"].items())))
    if run.skipped is not None:
        items.append(("Skipped files", str(len(run.skipped))))
    body = "<dl>" + "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(str(v))}</dd>" for k, v in items) + "</dl>"
    notes = cfg.get("notes")
    if isinstance(notes, list) and notes:
        body += "<h3>Notes from the run</h3><ul>" + "".join(f"<li>{html.escape(str(n))}</li>" for n in notes) + "</ul>"
    return Section("overview", "Overview", body)


def _auc_note(run: RunData, split: str) -> list[str]:
    name = "n_auc_classes" if run.task == "single" else "n_eval_labels"
    vals = run.summary[(run.summary["split"] == split) & (run.summary["metric"] == name)]["mean"]
    if len(vals) and vals.min() < len(run.classes):
        if run.task == "single":
            what, unit = "ROC-AUC and PR-AUC average", "classes: a class"
        else:
            what, unit = "Macro averages (mAP, ROC-AUC, F1) cover", "tags: a tag"
        return [f"{what} {int(vals.min())} of {len(run.classes)} {unit} with only positives or only "
                f"negatives in the {split} split is left out."]
    return []


def section_results(run: RunData) -> Section:
    files: list[Path] = []
    g, td, notes = _main_grid(run.summary, run.task, run.split, run.significance)
    notes = notes + _auc_note(run, run.split)
    _write(run.path("table.md"), grid_markdown(g) + "".join(f"\n{n}\n" for n in notes), files)
    marks, _ = _marks(run.significance, run.task)
    _write(run.path("table.csv"), _csv_text(_table_csv(td, marks, run.task)), files)
    label = "tab:" + re.sub(r"[^A-Za-z0-9]+", "-", f"{run.dataset}-{run.split}").strip("-")
    _write(run.path("table.tex"), grid_latex(g, caption=" ".join(notes), label=label), files)

    body = grid_html(g, "results") + "".join(_p(n) for n in notes)
    shown = set(TABLE_METRICS[run.task]) | M.COUNT_METRICS
    canon = M.SINGLE_METRICS if run.task == "single" else M.MULTI_METRICS
    others = [m for m in canon if m not in shown]
    present = set(run.summary.loc[run.summary["split"] == run.split, "metric"])
    if [m for m in others if m in present]:
        g2, _, _ = _main_grid(run.summary, run.task, run.split, None, others)
        body += f"<h3>Further metrics ({html.escape(run.split)} split)</h3>" + grid_html(g2, "results")
    for split in dict.fromkeys(run.summary["split"]):
        if split == run.split:
            continue
        g3, _, n3 = _main_grid(run.summary, run.task, split, None)
        body += f"<h3>{html.escape(str(split))} split</h3>" + grid_html(g3, "results") + "".join(_p(n) for n in n3)
    return Section("results", "Results", body, files)


def _sig_grid(sig: pd.DataFrame, task: str, short: dict[tuple, str]) -> Grid:
    def ci(d, lo, hi):
        return "n/a" if not np.isfinite(d) else f"{d:+.3f} [{lo:+.3f}, {hi:+.3f}]"

    def pval(p):
        return "n/a" if not np.isfinite(p) else ("<0.001" if p < 0.001 else f"{p:.3f}")

    if task == "single":
        head = ["Model", "Tracks", "Seed pairs", "Accuracy", "Δ accuracy [95% CI]", "Macro-F1",
                "Δ macro-F1 [95% CI]", "McNemar b/c", "McNemar p", "Significant"]
    else:
        head = ["Model", "Tracks", "Seed pairs", "mAP", "Δ mAP [95% CI]", "Significant"]
    g = Grid(head, [], ["l"] + ["r"] * (len(head) - 2) + ["l"])
    for i, r in enumerate(sig.to_dict("records")):
        key = tuple(str(r[c]) for c in M.MODEL_KEYS)
        name = short.get(key, key[0]) + (" (best)" if r["is_best"] else "")
        if task == "single":
            sig_txt = ", ".join(m for m, f in (("accuracy", r["significant"]), ("macro-F1", r["significant_macro_f1"]))
                                if f)
            row = [name, str(r["n_tracks"]), str(r["n_seeds"]), _fmt(r["accuracy"]),
                   ci(r["delta_accuracy"], r["accuracy_lo"], r["accuracy_hi"]), _fmt(r["macro_f1"]),
                   ci(r["delta_macro_f1"], r["macro_f1_lo"], r["macro_f1_hi"]),
                   f"{r['mcnemar_b']}/{r['mcnemar_c']}", pval(r["mcnemar_p"]), sig_txt or "no"]
        else:
            row = [name, str(r["n_tracks"]), str(r["n_seeds"]), _fmt(r["map"]),
                   ci(r["delta_map"], r["map_lo"], r["map_hi"]), "mAP" if r["significant"] else "no"]
        if r["is_best"]:
            g.bold.add((i, 0))
        g.rows.append(row)
    return g


def _sig_notes(run: RunData) -> list[str]:
    common = ("Δ = model − best, pooled over seeds: predictions are paired on (track, seed) and the seed-mean "
              f"metric is compared; the 95% interval is a percentile bootstrap ({run.n_boot} resamples of the "
              f"{run.split} tracks, each track with all its seeds). Significant: the interval excludes 0.")
    if run.task == "single":
        return [common, "McNemar: b = tracks the model gets right and the best gets wrong, c = the reverse, "
                "summed over seed pairs; exact binomial test when b + c < 25, chi-square with continuity "
                "correction otherwise. With several seeds the pairs are not independent and its p-value "
                "is optimistic."]
    return [common, "McNemar's test needs one right/wrong decision per track and is not computed for tagging."]


def section_significance(run: RunData) -> Section | None:
    if run.significance is None:
        return None
    files: list[Path] = []
    g = _sig_grid(run.significance, run.task, run.short)
    notes = _sig_notes(run)
    _write(run.path("significance.md"), grid_markdown(g) + "".join(f"\n{n}\n" for n in notes), files)
    _write(run.path("significance.csv"), _csv_text(run.significance), files)
    return Section("significance", "Significance against the best model",
                   grid_html(g, "results") + "".join(_p(n) for n in notes), files)


def _support(run: RunData) -> np.ndarray | None:
    y = _unique_truth(run)
    if y is None:
        return None
    return np.bincount(y, minlength=len(run.classes)) if run.task == "single" else y.sum(0)


def _per_class_grids(run: RunData) -> list[tuple[str, Grid]]:
    df = run.summary[run.summary["split"] == run.split]
    keys = _ranked_keys(run)
    cell = {}
    for r in df[[*M.MODEL_KEYS, "metric", "mean", "std"]].itertuples(index=False):
        cell[(tuple(str(v) for v in r[:4]), r.metric)] = (float(r.mean), float(r.std))
    support = _support(run)
    out = []
    for kind in M.PER_CLASS_METRICS[run.task]:
        names = [f"{kind}[{c}]" for c in run.classes]
        if not any((k, n) in cell for k in keys for n in names):
            continue
        head = ["Class"] + (["Support"] if support is not None else []) + [run.short[k] for k in keys]
        lead = 2 if support is not None else 1
        g = Grid(head, [], ["l"] + ["r"] * (len(head) - 1))
        for i, (c, n) in enumerate(zip(run.classes, names, strict=True)):
            vals = [cell.get((k, n), (np.nan, np.nan)) for k in keys]
            g.rows.append([c] + ([str(int(support[i]))] if support is not None else []) + [_fmt(*v) for v in vals])
            rounded = [round(v[0], 3) for v in vals]
            finite = [v for v in rounded if np.isfinite(v)]
            if finite and len(keys) > 1:
                g.bold |= {(i, lead + j) for j, v in enumerate(rounded) if v == max(finite)}
        out.append((f"{PER_CLASS_LABELS[kind]} per class", g))
    return out


def section_per_class(run: RunData) -> Section | None:
    if run.summary["dataset"].nunique() > 1:
        # The grids key cells by model only; with several datasets (an imbalance study's ratios) they
        # would mix them. The study section and the per-ratio folders give per-class results instead.
        return None
    grids = _per_class_grids(run)
    if not grids:
        return None
    files: list[Path] = []
    note = (f"{run.dataset}, {run.split} split: mean ± std over seeds. Bold: best model per class. Support: "
            f"{run.split} tracks of the class. n/a: undefined (recall of a class absent from the split, AP of a tag "
            "with only one class present, F1 of a class neither present nor predicted).")
    if run.task == "multi":
        note += " Precision, recall and F1 at threshold 0.5."
    md = "".join(f"## {t}\n\n{grid_markdown(g)}\n" for t, g in grids) + note + "\n"
    _write(run.path("per_class.md"), md, files)
    body = "".join(f"<h3>{html.escape(t)}</h3>{grid_html(g, 'results')}" for t, g in grids) + _p(note)
    return Section("per-class", "Per-class results", body, files)


def section_confusion(run: RunData) -> Section | None:
    if run.task != "single":
        return None
    preds = _test_predictions(run)
    if not preds:
        return None
    files: list[Path] = []
    C = len(run.classes)
    cms = {}
    body = ""
    for key, seeds in preds.items():
        cms[key] = sum(M.confusion(y, P.argmax(1), C) for y, P in seeds)
        p = _confusion_figure(run, key, cms[key], len(seeds), files)
        body += _img(p, f"confusion matrix of {run.short[key]}")
    grid = _confusion_grid(run, cms, files)
    body = (_p(f"Rows: true class, columns: predicted class; colour: share of the true class, numbers: counts "
               f"({run.split} split, pooled over seeds).") + _img(grid, "confusion matrices of all models") + body)
    return Section("confusion", "Confusion matrices", body, files)


def _pooled_multi(seeds) -> tuple[np.ndarray, np.ndarray]:
    Y = np.concatenate([y for y, _ in seeds])
    P = np.concatenate([p for _, p in seeds])
    return Y, P >= 0.5


def _chosen_labels(freq: np.ndarray, classes: Sequence[str]) -> list[int]:
    """The 4 most frequent labels and the 2 rarest with at least one positive (all when C <= 6)."""
    if len(classes) <= 6:
        return list(range(len(classes)))
    order = sorted(range(len(classes)), key=lambda c: (-freq[c], c))
    top = order[:4]
    rare = [c for c in sorted(range(len(classes)), key=lambda c: (freq[c], c)) if freq[c] > 0 and c not in top][:2]
    return top + rare


def _label_frequencies(run: RunData, Yu: np.ndarray, fs: int, files: list[Path]) -> str:
    C = len(run.classes)
    fig = _figure(max(6, 0.22 * C + 2), 3.6)
    ax = fig.add_subplot()
    ax.bar(range(C), Yu.sum(0), color="#4c72b0")
    ax.set_xticks(range(C), labels=run.classes, rotation=90, fontsize=fs)
    ax.set_ylabel("tracks")
    ax.set_title(f"Label frequencies ({run.split} split, {len(Yu)} tracks)", fontsize=10)
    return "<h3>Label frequencies</h3>" + _img(_save(fig, run.path("label_frequencies.png"), files),
                                               "label frequencies")


def tag_correlation(Y: np.ndarray) -> np.ndarray:
    """Phi coefficients (Pearson correlation of 0/1 indicators) between tags.

    Y: (n, C) 0/1. Returns (C, C) float64; NaN for a tag that never or always occurs.
    """
    Y = np.asarray(Y, dtype=np.float64)
    Z = Y - Y.mean(0)
    sd = np.sqrt((Z**2).sum(0))
    return M._safe_div(Z.T @ Z, np.outer(sd, sd), np.nan)


def _tag_correlation(run: RunData, Yu: np.ndarray, fs: int, files: list[Path]) -> str:
    C = len(run.classes)
    corr = tag_correlation(Yu)
    off = corr.copy()
    np.fill_diagonal(off, np.nan)           # the unit diagonal would wash out the colour scale
    lim = float(np.nanmax(np.abs(off))) if np.isfinite(off).any() else 1.0
    lim = max(lim, 0.1)
    size = max(5, 0.18 * C + 2.5)
    fig = _figure(size + 1, size)
    ax = fig.add_subplot()
    im = _heatmap(ax, off, run.classes, run.classes, None, vmin=-lim, vmax=lim, cmap="RdBu_r", fontsize=fs)
    ax.set_title(f"Tag correlation (phi coefficient, {run.split} split; diagonal left blank)", fontsize=10)
    fig.colorbar(im, ax=ax, shrink=0.8)
    out = "<h3>Tag correlation</h3>" + _img(_save(fig, run.path("tag_correlation.png"), files),
                                            "tag correlation heatmap")
    iu = np.triu_indices(C, 1)
    pairs = [(float(corr[i, j]), i, j) for i, j in zip(*iu, strict=True) if np.isfinite(corr[i, j])]
    pairs.sort(key=lambda t: (-t[0], t[1], t[2]))
    if pairs:
        g = Grid(["Tag", "Tag", "Correlation", "Tracks with both"], [], ["l", "l", "r", "r"])
        for r, i, j in pairs[:10]:
            g.rows.append([run.classes[i], run.classes[j], f"{r:.3f}", str(int((Yu[:, i] & Yu[:, j]).sum()))])
        out += "<h4>Most correlated tag pairs</h4>" + grid_html(g, "results")
    return out


def _cooccurrence(run: RunData, preds: dict, fs: int, files: list[Path]) -> str:
    C = len(run.classes)
    out = "<h3>Co-occurrence confusion matrices</h3>" + _p(
        "Row i: tracks tagged i; column j: the share of them predicted j at threshold 0.5 (the diagonal is the "
        f"recall), {run.split} split, pooled over seeds.")
    for key, seeds in preds.items():
        Y, Yhat = _pooled_multi(seeds)
        co = M.cooccurrence_matrix(Y, Yhat)
        size = max(5, 0.2 * C + 2.5)
        fig = _figure(size + 1, size)
        ax = fig.add_subplot()
        annot = None
        if C <= 15:
            annot = [[f"{co[i, j]:.2f}" if np.isfinite(co[i, j]) and co[i, j] >= 0.005 else "" for j in range(C)]
                     for i in range(C)]
        im = _heatmap(ax, co, run.classes, run.classes, annot, fontsize=fs)
        ax.set_xlabel("predicted tag (threshold 0.5)")
        ax.set_ylabel("true tag")
        ax.set_title(f"{run.short[key]}: M[i, j] = P(predicted j | true i)", fontsize=10)
        fig.colorbar(im, ax=ax, shrink=0.8)
        out += _img(_save(fig, run.path(f"cooccurrence_{run.slugs[key]}.png"), files),
                    f"co-occurrence confusion matrix of {run.short[key]}")
    return out


def _label_confusion(run: RunData, preds: dict, freq: np.ndarray, files: list[Path]) -> str:
    chosen = _chosen_labels(freq, run.classes)
    fig = _figure(1.9 * len(chosen) + 0.6, 1.9 * len(preds) + 0.6)
    for r, (key, seeds) in enumerate(preds.items()):
        Y, Yhat = _pooled_multi(seeds)
        mcm = M.multilabel_confusion(Y[:, chosen], Yhat[:, chosen])
        for j, c in enumerate(chosen):
            ax = fig.add_subplot(len(preds), len(chosen), r * len(chosen) + j + 1)
            m = mcm[j]
            norm = M._safe_div(m, m.sum(1, keepdims=True), np.nan)
            _heatmap(ax, norm, ["neg", "pos"], ["neg", "pos"], [[str(v) for v in row] for row in m], fontsize=7)
            ax.set_title(f"{run.classes[c]} (n={int(freq[c])})", fontsize=7)
            if j == 0:
                ax.set_ylabel(f"{run.short[key]}\ntrue", fontsize=7)
            if r == len(preds) - 1:
                ax.set_xlabel("predicted", fontsize=7)
    what = "every tag" if len(run.classes) <= 6 else "the four most frequent and the two rarest tags"
    return "<h3>Per-label 2x2 confusion matrices</h3>" + _p(
        f"Rows: models; columns: {what} (n: {run.split} tracks with the tag). Counts at threshold 0.5 pooled "
        "over seeds; colour: share of the true row.") + _img(
        _save(fig, run.path("label_confusion.png"), files), "2x2 confusion matrices of chosen labels")


def section_tagging(run: RunData) -> Section | None:
    if run.task != "multi":
        return None
    preds = _test_predictions(run)
    Yu = _unique_truth(run)
    files: list[Path] = []
    C = len(run.classes)
    fs = 8 if C <= 20 else (6 if C <= 50 else 4)
    parts = []
    if Yu is not None:
        parts += [_label_frequencies(run, Yu, fs, files), _tag_correlation(run, Yu, fs, files)]
    if preds:
        parts += [_cooccurrence(run, preds, fs, files), _label_confusion(run, preds, Yu.sum(0), files)]
    parts.append(_ap_bars(run, files, fs))
    body = "".join(parts)
    if not body:
        return None
    return Section("tagging", "Tagging diagnostics", body, files)


def _ap_bars(run: RunData, files: list[Path], fs: int) -> str:
    df = run.summary[(run.summary["split"] == run.split) & run.summary["metric"].str.startswith("ap[")]
    if df.empty:
        return ""
    keys = _ranked_keys(run)
    C = len(run.classes)
    vals = np.full((len(keys), C), np.nan)
    kidx = {k: i for i, k in enumerate(keys)}
    cidx = {f"ap[{c}]": j for j, c in enumerate(run.classes)}
    for r in df[[*M.MODEL_KEYS, "metric", "mean"]].itertuples(index=False):
        k = tuple(str(v) for v in r[:4])
        if k in kidx and r.metric in cidx:
            vals[kidx[k], cidx[r.metric]] = r.mean
    fig = _figure(7.5, max(3.5, 0.16 * C * max(1, min(len(keys), 4)) ** 0.5 + 1.5))
    ax = fig.add_subplot()
    h = 0.8 / len(keys)
    ypos = np.arange(C)[::-1]
    for i, k in enumerate(keys):
        ax.barh(ypos + 0.4 - h * (i + 0.5), np.nan_to_num(vals[i]), height=h, label=run.short[k])
    ax.set_yticks(ypos, labels=run.classes, fontsize=fs)
    ax.set_xlim(0, 1)
    ax.set_xlabel(f"average precision ({run.split} split, mean over seeds)")
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title("Per-class AP", fontsize=10)
    return "<h3>Per-class AP</h3>" + _img(_save(fig, run.path("per_class_ap.png"), files), "per-class AP bars")


def section_curves(run: RunData) -> Section | None:
    cv = run.curves
    if cv is None or cv.empty:
        return None
    files: list[Path] = []
    fig = _figure(10, 3.8)
    axes = [fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)]
    for (model, strategy), g in cv.groupby(["model", "strategy"], sort=True):
        label = f"{model} [{strategy}]" if cv["strategy"].nunique() > 1 else str(model)
        for ax, col in zip(axes, ["train_loss", "valid_score"], strict=True):
            agg = g.groupby("epoch", sort=True)[col].agg(["mean", "std", "count"])
            if not np.isfinite(agg["mean"]).any():
                continue
            line = ax.plot(agg.index, agg["mean"], marker=".", label=label)[0]
            if (agg["count"] > 1).any():
                sd = agg["std"].fillna(0.0)
                ax.fill_between(agg.index, agg["mean"] - sd, agg["mean"] + sd, color=line.get_color(), alpha=0.2)
    axes[0].set_ylabel("training loss")
    axes[1].set_ylabel("validation score")
    for ax in axes:
        ax.set_xlabel("epoch")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    p = _save(fig, run.path("curves.png"), files)
    return Section("curves", "Training curves",
                   _p("Mean over seeds, band: ± one standard deviation.") + _img(p, "training curves"), files)


def section_timings(run: RunData) -> Section | None:
    t = run.timings
    if t is None or t.empty:
        return None
    agg = t.groupby(["stage", "model"], sort=False)["seconds"].agg(["count", "sum", "mean"]).reset_index()
    g = Grid(["Stage", "Model", "Runs", "Total (s)", "Mean (s)"], [], ["l", "l", "r", "r", "r"])
    for r in agg.itertuples(index=False):
        g.rows.append([str(r.stage), str(r.model), str(r.count), f"{r.sum:.2f}", f"{r.mean:.2f}"])
    return Section("timings", "Timings", grid_html(g, "results") + _p(f"Total: {t['seconds'].sum():.1f} s."))


def section_skipped(run: RunData) -> Section:
    sk = run.skipped
    if sk is None:
        return Section("skipped", "Skipped files", _p("No skipped.csv in the run folder."))
    if sk.empty:
        return Section("skipped", "Skipped files", _p("No file was skipped."))
    g = Grid(["Path", "Stage", "Reason"], [[str(r.path), str(r.stage), str(r.reason)]
                                            for r in sk[SKIPPED_COLUMNS].itertuples(index=False)], ["l", "l", "l"])
    return Section("skipped", f"Skipped files ({len(sk)})", grid_html(g, "results"))


def _flatten(d: dict, prefix: str = "") -> list[tuple[str, str]]:
    out = []
    for k, v in d.items():
        name = f"{prefix}{k}"
        if isinstance(v, dict):
            out += _flatten(v, name + ".")
        else:
            out.append((name, "" if v is None else (json.dumps(v) if isinstance(v, list) else str(v))))
    return out


def section_config(run: RunData) -> Section:
    cfg = {k: v for k, v in run.config.items() if k != "environment"}
    body = "<pre>" + html.escape(json.dumps(cfg, indent=2, default=str)) + "</pre>" if cfg else _p("No config.json.")
    env = run.config.get("environment")
    if isinstance(env, dict) and env:
        g = Grid(["Item", "Value"], [list(r) for r in _flatten(env)], ["l", "l"])
        body += "<h3>Environment</h3>" + grid_html(g, "results")
    return Section("config", "Configuration and environment", body)


def section_study(run: RunData) -> Section | None:
    """An imbalance study's heatmap, line plot, per-rank recall and tables (see `benchmarks.study`);
    None for an ordinary run."""
    if run.config.get("study") != "imbalance":
        return None
    from benchmarks.study import section

    return section(run)


SECTIONS: list[SectionFn] = [
    section_overview,
    section_study,  # None except in an imbalance study's folder, where it leads
    section_results,
    section_significance,
    section_per_class,
    section_confusion,
    section_tagging,
    section_curves,
    section_timings,
    section_skipped,
    section_config,
]

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2em auto;max-width:1200px;
padding:0 1em;color:#222;line-height:1.4}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table.results{border-collapse:collapse;margin:.6em 0;font-size:.88em}
table.results th,table.results td{padding:.25em .6em;border-bottom:1px solid #e4e4e4}
table.results thead th{border-bottom:2px solid #444}
td.r,th.r{text-align:right;font-variant-numeric:tabular-nums}td.l,th.l{text-align:left}
figure{margin:1em 0}img{max-width:100%;height:auto}
pre{background:#f6f6f6;padding:.8em;overflow-x:auto;font-size:.85em}
dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dt{font-weight:600}dd{margin:0}
nav ul{columns:2}
"""


def _page(run: RunData, sections: list[Section]) -> str:
    title = f"mirbench report: {run.dataset} / {run.run_dir.name}"
    toc = "<nav><ul>" + "".join(f'<li><a href="#{s.id}">{html.escape(s.title)}</a></li>' for s in sections)
    toc += "</ul></nav>"
    parts = [f'<section id="{s.id}"><h2>{html.escape(s.title)}</h2>{s.body}</section>' for s in sections]
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
            f"<h1>{html.escape(title)}</h1>\n{toc}\n" + "\n".join(parts) + "\n</body>\n</html>\n")


def render(run_dir: Path, *, sections: Sequence[SectionFn] | None = None, n_boot: int = 2000) -> list[Path]:
    """Render every table, figure and report.html of a run folder from its CSV files.

    run_dir: results/<dataset>/<run-id> holding at least metrics.csv. sections: the section functions
    to run (default `SECTIONS`). n_boot: bootstrap resamples of the significance tests.
    Returns the paths written, report.html last. Raises DatasetError for a missing or malformed file.
    """
    run = load_run(Path(run_dir), n_boot=n_boot)
    done: list[Section] = []
    for fn in SECTIONS if sections is None else sections:
        sec = fn(run)
        if sec is not None:
            done.append(sec)
    files = [f for s in done for f in s.files]
    _write(run.path("report.html"), _page(run, done), files)
    log.info("rendered %d files into %s", len(files), run.run_dir)
    return files


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m benchmarks.report RUN_DIR`: re-render a run folder; exit code 2 if it is not one."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.report",
        description="Re-render the tables, figures and report.html of a run folder from its metrics.csv and "
                    "predictions.csv, without retraining.")
    parser.add_argument("run_dir", metavar="RUN_DIR", type=Path, help="results/<dataset>/<run-id>")
    parser.add_argument("--n-boot", type=int, default=2000, help="bootstrap resamples for significance (default 2000)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress")
    ns = parser.parse_args(argv)
    prog = parser.prog
    if not (ns.run_dir / "metrics.csv").is_file():
        print(f"{prog}: error: {ns.run_dir} has no metrics.csv (expected a run folder results/<dataset>/<run-id>)",
              file=sys.stderr)
        return 2
    if ns.n_boot < 1:
        print(f"{prog}: error: --n-boot={ns.n_boot} must be a positive integer", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO if ns.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        files = render(ns.run_dir, n_boot=ns.n_boot)
    except DatasetError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
    except ToolkitError as e:
        print(f"{prog}: failed: {e}", file=sys.stderr)
        return 1
    for f in files:
        print(f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
