"""The report's figures: creating a figure, saving it once per format (PNG, PDF, SVG) so the same inputs
give the same bytes (no software stamp, no date, fixed SVG ids), embedding it in HTML, one colour per
model for the whole run, the seaborn heatmap (colour bar labelled, "n/a" on grey where a value is
undefined), and confusion matrices."""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib
import numpy as np
import seaborn as sns
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from benchmarks import metrics as M
from benchmarks.report.base import ranked_keys
from benchmarks.report.load import RunData

DPI = 200
FIG_FORMATS = ("png", "pdf", "svg")
NA_COLOR = "#d9d9d9"
# Fixed SVG ids and TrueType (Type 42) fonts in PDF, which journals ask for instead of Type 3.
_RC = {"svg.hashsalt": "mirbench", "pdf.fonttype": 42, "svg.fonttype": "path"}
_METADATA = {"png": {"Software": None}, "pdf": {"Creator": None, "Producer": None, "CreationDate": None},
             "svg": {"Date": None}}


def figure(w: float, h: float) -> Figure:
    """A figure of w x h inches with the constrained layout, drawn by the Agg backend (no pyplot state)."""
    fig = Figure(figsize=(w, h), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save(fig: Figure, run: RunData, stem: str, files: list[Path]) -> Path:
    """Save `fig` as <stem>.<ext> for each of `run.fig_formats` (PNG at `run.dpi`), with no software stamp
    or date, add them to `files`, and return the file report.html shows: the PNG, else the SVG, else the PDF."""
    written = {}
    with matplotlib.rc_context(_RC):
        for ext in run.fig_formats:
            p = run.path(f"{stem}.{ext}")
            fig.savefig(p, format=ext, dpi=run.dpi, metadata=_METADATA[ext])
            files.append(p)
            written[ext] = p
    return next(written[e] for e in ("png", "svg", "pdf") if e in written)


def img(path: Path, alt: str) -> str:
    """A figure for report.html: a PNG or SVG embedded as a data URI; a PDF only linked (browsers do not
    show a PDF in an <img>), saying so."""
    if path.suffix == ".pdf":
        return (f'<figure><a href="{html.escape(path.name)}">{html.escape(path.name)}</a> '
                f"({html.escape(alt)}; written as PDF only, not embedded)</figure>")
    mime = "image/svg+xml" if path.suffix == ".svg" else "image/png"
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<figure><img alt="{html.escape(alt)}" src="data:{mime};base64,{data}"></figure>'


def model_colors(run: RunData) -> dict[tuple, tuple]:
    """One colour per model key, fixed for every figure of the run: seaborn's colorblind palette in the
    order of the main table (repeating after ten models)."""
    keys = list(dict.fromkeys(ranked_keys(run) + list(run.keys)))
    pal = sns.color_palette("colorblind", 10)
    return {k: pal[i % len(pal)] for i, k in enumerate(keys)}


def heatmap(ax, mat: np.ndarray, rows: Sequence[str], cols: Sequence[str], annot=None, vmin=0.0, vmax=1.0,
            cmap="Blues", fontsize=8, cbar_label: str | None = None, na_text: str | None = "n/a",
            square: bool = True, annot_fontsize: float | None = None):
    """Draw `mat` on `ax` as a seaborn-style heatmap: labelled rows and columns, optional text per cell (`annot`,
    strings), a colour bar labelled `cbar_label` (none when None), undefined (NaN) cells grey with `na_text`.
    Returns the colour mesh (for a colour bar shared by several axes)."""
    mat = np.asarray(mat, dtype=np.float64)
    ax.set_facecolor(NA_COLOR)
    # seaborn's look (white cell borders, ticks at cell centres, first row on top, an optional colour bar),
    # drawn with pcolormesh: sns.heatmap draws the whole figure once per call to check its tick labels,
    # which made a figure of many small heatmaps (the per-label 2x2 grid) quadratic in their number.
    mesh = ax.pcolormesh(np.ma.masked_invalid(mat), cmap=cmap, vmin=vmin, vmax=vmax, edgecolors="white",
                         linewidth=0.4)
    ax.set_xlim(0, mat.shape[1])
    ax.set_ylim(mat.shape[0], 0)
    if square:
        ax.set_aspect("equal")
    for side in ax.spines.values():
        side.set_visible(False)
    ax.set_xticks(np.arange(mat.shape[1]) + 0.5)
    ax.set_yticks(np.arange(mat.shape[0]) + 0.5)
    if cbar_label is not None:
        cb = ax.figure.colorbar(mesh, ax=ax, shrink=0.8)
        cb.set_label(cbar_label)
        cb.outline.set_visible(False)
    if annot is not None:
        colors = mesh.cmap(mesh.norm(np.nan_to_num(mat, nan=vmin)))
        lum = colors[..., :3] @ np.array([0.299, 0.587, 0.114])
        size = annot_fontsize or max(5, fontsize - 1)
        for (i, j), text in np.ndenumerate(np.asarray(annot, dtype=object)):
            if text not in (None, "") and np.isfinite(mat[i, j]):
                ax.text(j + 0.5, i + 0.5, str(text), ha="center", va="center", fontsize=size,
                        color="white" if lum[i, j] < 0.408 else "#262626")
    ax.set_xticklabels(list(cols), rotation=45, ha="right", rotation_mode="anchor", fontsize=fontsize)
    ax.set_yticklabels(list(rows), rotation=0, fontsize=fontsize)
    ax.tick_params(length=0)
    if na_text and mat.size <= 900:
        for i, j in zip(*np.nonzero(~np.isfinite(mat)), strict=True):
            ax.text(j + 0.5, i + 0.5, na_text, ha="center", va="center", fontsize=max(5, fontsize - 2),
                    color="#555555")
    return mesh


def _recall(cm: np.ndarray) -> np.ndarray:
    return M.safe_div(cm, cm.sum(1, keepdims=True), np.nan)


def confusion_figure(run: RunData, key: tuple, cm: np.ndarray, n_seeds: int, files: list[Path]) -> Path:
    """confusion_<slug>.*: one model's confusion matrix, coloured by the row-normalised recall (the share of
    the true class), annotated with the share and the count (the count only past 12 classes)."""
    C = len(run.classes)
    norm = _recall(cm)
    size = max(4.8, 0.55 * C + 2.6)
    fig = figure(size + 1.2, size)
    ax = fig.add_subplot()
    annot = None
    if C <= 30:
        annot = [[(f"{norm[i, j]:.2f}\n({cm[i, j]})" if C <= 12 else str(cm[i, j])) if cm[i, j] else ""
                  for j in range(C)] for i in range(C)]
    heatmap(ax, norm, run.classes, run.classes, annot, fontsize=9 if C <= 12 else 7,
            cbar_label="recall (share of the true class)")
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    acc = np.trace(cm) / cm.sum()
    pooled = f", counts pooled over {n_seeds} seeds" if n_seeds > 1 else ""
    what = "share of the true class (count)" if C <= 12 else "count"
    ax.set_title(f"{run.short[key]}: accuracy {acc:.3f}\n{run.split} split{pooled}; cells: {what}", fontsize=10)
    return save(fig, run, f"confusion_{run.slugs[key]}", files)


def confusion_grid(run: RunData, cms: dict[tuple, np.ndarray], files: list[Path]) -> Path:
    """confusion_grid.*: every model's confusion matrix side by side, one labelled colour bar."""
    C = len(run.classes)
    n = len(cms)
    ncols = min(3, n)
    nrows = math.ceil(n / ncols)
    cell = max(2.8, 0.27 * C + 1.3)
    fig = figure(cell * ncols + 1.0, cell * nrows + 0.3)
    mesh = None
    for i, (key, cm) in enumerate(cms.items()):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        annot = [[str(cm[r, c]) if cm[r, c] else "" for c in range(C)] for r in range(C)] if C <= 12 else None
        mesh = heatmap(ax, _recall(cm), run.classes, run.classes, annot, fontsize=6 if C > 10 else 7,
                       annot_fontsize=7)
        ax.set_title(f"{run.short[key]} (accuracy {np.trace(cm) / cm.sum():.3f})", fontsize=9)
        ax.set_xlabel("predicted class", fontsize=8)
        ax.set_ylabel("true class" if i % ncols == 0 else "", fontsize=8)
        if i % ncols:
            ax.set_yticklabels([])
    fig.colorbar(mesh, ax=fig.axes, shrink=0.6, label="recall (share of the true class); numbers: counts")
    return save(fig, run, "confusion_grid", files)
