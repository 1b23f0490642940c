"""The training-curves section (`section_curves`, curves.*): training loss and validation score against the
epoch, mean over seeds with a ± std band, one colour per model (the run's), integer epoch ticks, and the
best epoch (highest mean validation score) marked by a point and a labelled vertical line."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from benchmarks.report.base import Section
from benchmarks.report.figures import figure, img, model_colors, save
from benchmarks.report.load import RunData
from benchmarks.report.tables import paragraph


@dataclass
class Curve:
    """One model's curves: epochs, mean / std over seeds of train_loss and valid_score, and the best epoch
    (the first epoch with the highest mean validation score; None without a finite score)."""

    label: str
    model: str
    strategy: str
    epochs: np.ndarray
    loss: pd.DataFrame
    score: pd.DataFrame
    best_epoch: int | None


def curve_data(cv: pd.DataFrame) -> list[Curve]:
    """The curves figure's data, one `Curve` per (model, strategy) of curves.csv, sorted by them."""
    out = []
    for (model, strategy), g in cv.groupby(["model", "strategy"], sort=True):
        label = f"{model} [{strategy}]" if cv["strategy"].nunique() > 1 else str(model)
        loss = g.groupby("epoch", sort=True)["train_loss"].agg(["mean", "std", "count"])
        score = g.groupby("epoch", sort=True)["valid_score"].agg(["mean", "std", "count"])
        s = score["mean"].to_numpy(dtype=np.float64)
        best = int(score.index[int(np.nanargmax(s))]) if np.isfinite(s).any() else None
        out.append(Curve(label, str(model), str(strategy), loss.index.to_numpy(), loss, score, best))
    return out


def _color(run: RunData, colors: dict, model: str, strategy: str):
    for k, c in colors.items():
        if k[0] == model and k[3] == strategy:
            return c
    return None


def section_curves(run: RunData) -> Section | None:
    cv = run.curves
    if cv is None or cv.empty:
        return None
    files: list[Path] = []
    colors = model_colors(run)
    what = "accuracy" if run.task == "single" else "mAP"
    fig = figure(10, 4.0)
    axes = [fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)]
    for cur in curve_data(cv):
        color = _color(run, colors, cur.model, cur.strategy)
        for ax, agg in zip(axes, [cur.loss, cur.score], strict=True):
            if not np.isfinite(agg["mean"]).any():
                continue
            line = ax.plot(agg.index, agg["mean"], marker=".", color=color, label=cur.label)[0]
            if (agg["count"] > 1).any():
                sd = agg["std"].fillna(0.0)
                ax.fill_between(agg.index, agg["mean"] - sd, agg["mean"] + sd, color=line.get_color(), alpha=0.2)
        if cur.best_epoch is not None:
            c = line.get_color()
            best = float(cur.score.loc[cur.best_epoch, "mean"])
            for ax in axes:
                ax.axvline(cur.best_epoch, color=c, ls="--", lw=0.9, alpha=0.8)
            axes[1].plot([cur.best_epoch], [best], marker="*", ms=11, color=c, mec="black", mew=0.6, ls="none",
                         label=f"best epoch {cur.best_epoch} ({cur.label}: {best:.3f})")
    axes[0].set_ylabel("training loss")
    axes[1].set_ylabel(f"validation {what}")
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if axes[1].get_legend_handles_labels()[0]:
        axes[1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1), borderaxespad=0, frameon=False)
    axes[0].set_title("Training loss (mean over seeds ± std)", fontsize=9)
    axes[1].set_title(f"Validation {what}; dashed line, star: best epoch", fontsize=9)
    p = save(fig, run, "curves", files)
    return Section("curves", "Training curves",
                   paragraph("Mean over seeds, band: ± one standard deviation. Dashed line and star: the epoch with "
                             f"the best mean validation {what}.") + img(p, "training curves"), files)
