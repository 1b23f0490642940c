"""Render a run folder's tables, figures and one self-contained HTML page from the files the run wrote,
so a report can be rebuilt (or restyled) without retraining:
`python -m benchmarks.report RUN_DIR [--fig-format png,pdf] [--dpi 300] [--tex-metrics accuracy,macro_f1]`.

The report only reads a run folder (its files and columns are described in `benchmarks.runfolder`, which
reads them) and computes metrics through `benchmarks.metrics`; it never imports a producer.

Written here: `table.md`, `table.csv` (means and stds as numbers), `table.tex` (booktabs, fixed decimals,
right-aligned; `tex_metrics` picks and orders its columns), `per_class.md`, `significance.md` /
`significance.csv` (with predictions and at least two models), figures (each once per format of
`fig_formats`, png / pdf / svg, same stem; PNG at `dpi`, default 200) (single-label: `confusion_<model>` per
model and `confusion_grid`; multi-label: `cooccurrence_<model>` per model, `label_confusion`,
`label_frequencies`, `tag_correlation`, `per_class_ap` with bootstrap intervals; `curves` when curves.csv
exists, the best epoch marked) and `report.html` (embedding the PNG, else the SVG; PDF only: linked).
Heatmaps are drawn with seaborn, every colour bar labelled, undefined cells "n/a" on grey; each model
keeps one colour (seaborn's colorblind palette, main-table order) in every figure of a run.
An imbalance study's folder (`benchmarks.study`) adds `study.md` / `study.csv` / `study.tex`,
`study_per_rank.md` / `.csv`, `study_heatmap`, `study_ratio` and `study_rank_recall`; its
ratio folders, listed in its config.json, are rendered first as ordinary run folders.
The same inputs give byte-identical outputs: nothing depends on the time, PNGs carry no software stamp,
PDFs no creator, producer or date, SVGs no date and fixed ids (`svg.hashsalt`).

The page is a list of section functions, `SECTIONS`: each takes the loaded `RunData` and returns a
`Section` (or None to leave itself out), writing whatever files it renders. A new section is a function
appended to `SECTIONS` or passed to `render(..., sections=...)`.

Modules: `load` (RunData, load_run, model labels), `tables` (Grid and its markdown / LaTeX / HTML
renderings, the main table), `figures` (saving figures per format, model colours, seaborn heatmaps,
confusion matrices), `intervals` (per-class bootstrap intervals), `class_bars` (the single-label
per-class recall bars), `base` (the Section record and shared
views of a run), `sections`, `curves` and `tagging` (the sections, SECTIONS), `study_stats` and `study`
(the imbalance study's section), `page` (report.html, render, main).
"""

from benchmarks.report.base import Section, SectionFn
from benchmarks.report.curves import Curve, curve_data
from benchmarks.report.figures import DPI, FIG_FORMATS, model_colors
from benchmarks.report.intervals import per_class_ap_interval
from benchmarks.report.load import RunData, load_run
from benchmarks.report.page import main, render
from benchmarks.report.sections import (
    SECTIONS,
    section_config,
    section_confusion,
    section_curves,
    section_overview,
    section_per_class,
    section_results,
    section_significance,
    section_skipped,
    section_timings,
)
from benchmarks.report.study import section_study
from benchmarks.report.study_stats import findings, per_rank_table, pooled_summary, study_significance, study_summary
from benchmarks.report.tables import (
    METRIC_LABELS,
    TABLE_METRICS,
    Grid,
    format_table,
    grid_html,
    grid_latex,
    grid_markdown,
    metric_label,
    tex_escape,
)
from benchmarks.report.tagging import section_tagging, tag_correlation
from benchmarks.runfolder import read_metrics, read_predictions

__all__ = [
    "DPI", "FIG_FORMATS", "METRIC_LABELS", "Curve", "curve_data", "model_colors", "per_class_ap_interval",
    "SECTIONS", "TABLE_METRICS", "Grid", "RunData", "Section", "SectionFn", "findings",
    "format_table", "grid_html", "grid_latex", "grid_markdown", "load_run", "main", "metric_label",
    "per_rank_table", "pooled_summary", "read_metrics", "read_predictions", "render", "section_config",
    "section_confusion", "section_curves", "section_overview", "section_per_class", "section_results",
    "section_significance", "section_skipped", "section_study", "section_tagging", "section_timings",
    "study_significance", "study_summary", "tag_correlation", "tex_escape",
]
