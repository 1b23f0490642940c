"""The report's figures: creating and saving a matplotlib figure (PNG without a software stamp, so the
same inputs give the same bytes), embedding it in HTML, the annotated heatmap, and confusion matrices."""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from benchmarks import metrics as M
from benchmarks.report.load import RunData

DPI = 110


def figure(w: float, h: float) -> Figure:
    """A figure of w x h inches with the constrained layout, drawn by the Agg backend (no pyplot state)."""
    fig = Figure(figsize=(w, h), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save(fig: Figure, path: Path, files: list[Path]) -> Path:
    """Save `fig` as a PNG at `DPI` with no software stamp, add it to `files` and return its path."""
    fig.savefig(path, dpi=DPI, metadata={"Software": None})
    files.append(path)
    return path


def img(path: Path, alt: str) -> str:
    """A PNG embedded in HTML as a data URI, in a <figure>."""
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<figure><img alt="{html.escape(alt)}" src="data:image/png;base64,{data}"></figure>'


def heatmap(ax, mat: np.ndarray, rows: Sequence[str], cols: Sequence[str], annot=None, vmin=0.0, vmax=1.0,
            cmap="Blues", fontsize=8, aspect="equal"):
    """Draw `mat` on `ax` with labelled rows and columns and optional text per cell; returns the image."""
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


def confusion_figure(run: RunData, key: tuple, cm: np.ndarray, n_seeds: int, files: list[Path]) -> Path:
    """confusion_<slug>.png: one model's confusion matrix, coloured by the share of the true class."""
    C = len(run.classes)
    norm = M.safe_div(cm, cm.sum(1, keepdims=True), np.nan)
    size = max(4.5, 0.5 * C + 2.5)
    fig = figure(size + 1, size)
    ax = fig.add_subplot()
    annot = None
    if C <= 30:
        annot = [[f"{norm[i, j]:.2f}\n{cm[i, j]}" if C <= 12 and cm[i, j] else (str(cm[i, j]) if cm[i, j] else "")
                  for j in range(C)] for i in range(C)]
    im = heatmap(ax, norm, run.classes, run.classes, annot, fontsize=9 if C <= 12 else 7)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    acc = np.trace(cm) / cm.sum()
    pooled = f", counts pooled over {n_seeds} seeds" if n_seeds > 1 else ""
    ax.set_title(f"{run.short[key]}: accuracy {acc:.3f} ({run.split}{pooled})\ncolour: share of the true class",
                 fontsize=10)
    fig.colorbar(im, ax=ax, shrink=0.8)
    return save(fig, run.path(f"confusion_{run.slugs[key]}.png"), files)


def confusion_grid(run: RunData, cms: dict[tuple, np.ndarray], files: list[Path]) -> Path:
    """confusion_grid.png: every model's confusion matrix side by side."""
    C = len(run.classes)
    n = len(cms)
    ncols = min(3, n)
    nrows = math.ceil(n / ncols)
    cell = max(3.2, 0.32 * C + 1.6)
    fig = figure(cell * ncols + 0.8, cell * nrows + 0.3)
    for i, (key, cm) in enumerate(cms.items()):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        norm = M.safe_div(cm, cm.sum(1, keepdims=True), np.nan)
        annot = [[str(cm[r, c]) if cm[r, c] else "" for c in range(C)] for r in range(C)] if C <= 12 else None
        im = heatmap(ax, norm, run.classes, run.classes, annot, fontsize=6 if C > 10 else 7)
        ax.set_title(f"{run.short[key]} (acc {np.trace(cm) / cm.sum():.3f})", fontsize=9)
        ax.set_xlabel("predicted", fontsize=8)
        ax.set_ylabel("true", fontsize=8)
    fig.colorbar(im, ax=fig.axes, shrink=0.6, label="share of the true class")
    return save(fig, run.path("confusion_grid.png"), files)
