"""The report's tables: a `Grid` of text cells rendered as markdown, LaTeX (booktabs) or HTML, the main
models-by-metrics table (`format_table`) with its significance marks, and writing text files."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks import metrics as M
from benchmarks.runfolder import MODEL_KEYS

TABLE_METRICS = {
    "single": ["accuracy", "balanced_accuracy", "macro_f1", "weighted_f1", "roc_auc", "pr_auc", "log_loss"],
    "multi": ["map", "roc_auc_macro", "roc_auc_micro", "pr_auc_micro", "f1_macro", "f1_micro", "f1_samples",
              "f1_macro@tuned", "f1_micro@tuned", "f1_samples@tuned", "hamming_loss", "ranking_loss",
              "recall@3", "hit_rate@3", "precision@3"],
}
METRIC_LABELS = {
    "accuracy": "Accuracy", "balanced_accuracy": "Balanced acc.", "macro_f1": "Macro-F1",
    "weighted_f1": "Weighted F1", "roc_auc": "ROC-AUC", "pr_auc": "PR-AUC", "log_loss": "Log-loss",
    **{f"top{k}_accuracy": f"Top-{k} acc." for k in M.SINGLE_TOP_K},
    "map": "mAP", "roc_auc_macro": "ROC-AUC macro", "roc_auc_micro": "ROC-AUC micro",
    "pr_auc_micro": "PR-AUC micro", "f1_macro": "F1 macro", "f1_micro": "F1 micro", "f1_samples": "F1 samples",
    "f1_macro@tuned": "F1 macro (tuned)", "f1_micro@tuned": "F1 micro (tuned)",
    "f1_samples@tuned": "F1 samples (tuned)", "hamming_loss": "Hamming loss",
    "hamming_loss@tuned": "Hamming loss (tuned)", "ranking_loss": "Ranking loss",
    "coverage_error": "Coverage error", "lrap": "LRAP",
    **{f"recall@{k}": f"Tag recall@{k}" for k in M.TOP_K}, **{f"hit_rate@{k}": f"Hit rate@{k}" for k in M.TOP_K},
    **{f"precision@{k}": f"Precision@{k}" for k in M.TOP_K},
}
PER_CLASS_LABELS = {"precision": "Precision", "recall": "Recall", "f1": "F1", "ap": "AP"}
DAGGER = "†"


# ----------------------------------------------------------------------------------------------
# one grid of text cells, rendered as markdown, LaTeX or HTML


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


def _tex_cell(c: str, bold: bool, align: str) -> str:
    mark = ""
    if align == "r" and c.endswith(f" {DAGGER}"):
        c, mark = c[:-2], "\\rlap{$^\\dagger$}"
    text = tex_escape(c)
    return (f"\\textbf{{{text}}}" if bold and c else text) + mark


def grid_latex(g: Grid, caption: str = "", label: str = "") -> str:
    """A booktabs table (\\toprule, \\midrule, \\bottomrule) in a table float; needs \\usepackage{booktabs}."""
    spec = "".join(g.align)
    out = ["% Rendered by benchmarks.report; needs \\usepackage{booktabs}. Numbers have fixed decimals in",
           "% right-aligned columns; a trailing dagger takes no width (\\rlap), so the digits line up.",
           "% For a wide table, pick columns (--tex-metrics) or wrap the tabular in",
           "% \\resizebox{\\linewidth}{!}{...} (graphicx).",
           "\\begin{table}[t]", "\\centering", "\\small", f"\\begin{{tabular}}{{{spec}}}", "\\toprule",
           " & ".join(tex_escape(h) for h in g.header) + " \\\\", "\\midrule"]
    for i, row in enumerate(g.rows):
        cells = [_tex_cell(c, (i, j) in g.bold, g.align[j]) for j, c in enumerate(row)]
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


def paragraph(text: str) -> str:
    """One HTML paragraph of plain text."""
    return f"<p>{html.escape(text)}</p>"


def write(path: Path, text: str, files: list[Path]) -> None:
    """Write a text file of the report (UTF-8, "\\n" line ends) and add it to `files`."""
    path.write_text(text, encoding="utf-8", newline="\n")
    files.append(path)


def fmt(mean: float, std: float = float("nan"), digits: int = 3) -> str:
    """A table cell "mean ± std" ("n/a" for a missing mean, no "±" for a missing std)."""
    if mean is None or not np.isfinite(mean):
        return "n/a"
    s = f"{mean:.{digits}f}"
    if std is not None and np.isfinite(std):
        s += f" ± {std:.{digits}f}"
    return s


def metric_label(m: str) -> str:
    return METRIC_LABELS.get(m, m) + (" ↓" if m in M.LOWER_IS_BETTER else "")


# ----------------------------------------------------------------------------------------------
# the main results table


@dataclass
class TableData:
    keys: list[tuple]                       # row keys: (dataset?, model, family, input, strategy)
    metrics: list[str]
    cells: dict[tuple, tuple[float, float, int]]   # (row key, metric) -> (mean, std, n)
    n_seeds: dict[tuple, int]
    with_dataset: bool


def table_data(summary: pd.DataFrame, task: str, split: str, metrics: Sequence[str]) -> TableData:
    """The cells of the models-by-metrics table of one split, rows sorted by the main metric."""
    df = summary[summary["split"] == split]
    with_dataset = df["dataset"].nunique() > 1
    kcols = (["dataset"] if with_dataset else []) + MODEL_KEYS
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

    return TableData(sorted(keys, key=sort_key), metrics, cells, n_seeds, with_dataset)


def significance_marks(sig: pd.DataFrame | None, task: str) -> tuple[dict[tuple, set[str]], tuple | None]:
    """Metrics on which each model (key) is significantly worse than the reference model (Holm-adjusted
    bootstrap p-value, `significant` / `significant_macro_f1`), and the reference's key."""
    if sig is None or sig.empty:
        return {}, None
    marks: dict[tuple, set[str]] = {}
    main = M.MAIN_METRIC[task]
    ref = None
    for r in sig.to_dict("records"):
        key = tuple(str(r[c]) for c in MODEL_KEYS)
        if r["is_reference"]:
            ref = key
        s = set()
        if r["significant"] and r[f"delta_{main}"] < 0:
            s.add(main)
        if task == "single" and r["significant_macro_f1"] and r["delta_macro_f1"] < 0:
            s.add("macro_f1")
        marks[key] = s
    return marks, ref


def n_comparisons(sig: pd.DataFrame) -> str:
    """How many models were tested against the reference (the size of each Holm family), as "<N> comparisons"."""
    n = int(np.isfinite(sig["p_boot"].to_numpy(dtype=np.float64)).sum())
    return f"{n} comparison{'' if n == 1 else 's'}"


def reference_basis(sig: pd.DataFrame, task: str, split: str) -> tuple[str, str]:
    """The reference model's label and how it was chosen: "the best in validation accuracy", or the wording
    of the fallback to the compared split."""
    r = sig[sig["is_reference"].astype(bool)].iloc[0]
    label = f"{r['model']} ({r['input']}, {r['strategy']})"
    what = "accuracy" if task == "single" else "mAP"
    sel = str(r["selection_split"])
    if sel == str(split):
        return label, (f"the best in {sel} {what}, chosen on the tracks it is compared on (no separate "
                       "validation predictions for every model), which favours it")
    return label, f"the best in {'validation' if sel == 'valid' else sel} {what}"


def significance_caption(sig: pd.DataFrame, task: str, split: str, any_marked: bool) -> str:
    """The main table's footnote on the † marks: how the reference was chosen and how it was tested."""
    what = "accuracy or macro-F1" if task == "single" else "mAP"
    families = ", separately for accuracy and for macro-F1," if task == "single" else ""
    method = (f"paired bootstrap over the {split} tracks (seeds paired), the p-value of each difference "
              f"Holm-corrected over the {n_comparisons(sig)} with the reference{families} at 0.05")
    tail = (" McNemar's p-values are shown in significance.md but not used for the marks." if task == "single"
            else " Details in significance.md.")
    label, basis = reference_basis(sig, task, split)
    ref = f"the reference model, {label}, {basis}"
    if any_marked:
        return f"{DAGGER} significantly worse in {what} than {ref}: {method}.{tail}"
    return f"No model is significantly worse in {what} than {ref}: {method}.{tail}"


def main_grid(summary: pd.DataFrame, task: str, split: str, significance: pd.DataFrame | None = None,
              metrics: Sequence[str] | None = None) -> tuple[Grid, TableData, list[str]]:
    """The models-by-metrics grid, its data and its footnotes (plain text)."""
    td = table_data(summary, task, split, metrics or TABLE_METRICS[task])
    marks, ref = significance_marks(significance, task)
    head = (["Dataset"] if td.with_dataset else []) + ["Model", "Family", "Input", "Strategy", "Seeds"]
    g = Grid(header=head + [metric_label(m) for m in td.metrics], rows=[],
             align=["l"] * (len(head) - 1) + ["r"] + ["r"] * len(td.metrics))
    for key in td.keys:
        mkey = key[-4:]
        row = list(key) + [str(td.n_seeds.get(key, 0))]
        for m in td.metrics:
            mean, std, _ = td.cells.get((key, m), (np.nan, np.nan, 0))
            cell = fmt(mean, std)
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
    if any(m.startswith(("recall@", "hit_rate@")) for m in td.metrics):
        notes.append("Tag recall@k: the share of a track's true tags among its k top-scored tags; hit rate@k: the "
                     "share of tracks with at least one true tag among them (what the FMA study reports as "
                     "Recall@3); both over the tracks with a true tag.")
    if significance is not None and ref is not None:
        notes.append(significance_caption(significance, task, split, any(marks.values())))
    return g, td, notes


def format_table(summary_df: pd.DataFrame, task: str, *, split: str | None = None,
                 significance: pd.DataFrame | None = None, notes: Sequence[str] = ()) -> str:
    """The main results table as markdown: rows = models sorted by the main metric (accuracy / mAP),
    columns = the task's main metrics, cells "mean ± std", best per column in bold, † on a cell whose
    model is significantly worse than the reference model (when `significance`, from
    `metrics.significance`, is given: the best on validation, Holm-corrected bootstrap tests),
    footnotes below.

    summary_df: `metrics.summarize(...)`; split: default "test" when present, else the first split.
    """
    M.check_task(task)
    if split is None:
        splits = list(dict.fromkeys(summary_df["split"]))
        split = "test" if "test" in splits else splits[0]
    g, _, foot = main_grid(summary_df, task, split, significance)
    return grid_markdown(g) + "".join(f"\n{n}\n" for n in [*foot, *notes])


def table_csv(td: TableData, marks: dict[tuple, set[str]], task: str) -> pd.DataFrame:
    """table.csv's rows: the key columns, n_seeds, `<metric>_mean` / `_std` and the significance marks
    (`<metric>_worse_than_reference`)."""
    rows = []
    kcols = (["dataset"] if td.with_dataset else []) + MODEL_KEYS
    marked = [M.MAIN_METRIC[task]] + (["macro_f1"] if task == "single" else [])
    for key in td.keys:
        r = dict(zip(kcols, key, strict=True))
        r["n_seeds"] = td.n_seeds.get(key, 0)
        for m in td.metrics:
            mean, std, _ = td.cells.get((key, m), (np.nan, np.nan, 0))
            r[f"{m}_mean"], r[f"{m}_std"] = mean, std
        if marks:
            for m in marked:
                r[f"{m}_worse_than_reference"] = m in marks.get(key[-4:], set())
        rows.append(r)
    return pd.DataFrame(rows)
