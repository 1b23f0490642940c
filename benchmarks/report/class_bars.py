"""The single-label report's per-class bar chart: per-class recall (per-class accuracy, the diagonal of the
row-normalised confusion matrix) of every model, grouped bars drawn with seaborn, with 95% percentile
bootstrap intervals over the test tracks (`intervals.per_class_recall_interval`, fixed seed), one colour
per model as in every figure of the run, "n/a" for a class absent from the split (`recall_bars`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns

from benchmarks.report.base import ranked_keys
from benchmarks.report.figures import figure, img, model_colors, save
from benchmarks.report.intervals import MAX_BOOT, per_class_recall_interval
from benchmarks.report.load import RunData
from benchmarks.report.tables import paragraph

STEM = "per_class_recall"


def recall_values(run: RunData, preds: dict, n_boot: int) -> tuple[list[tuple], np.ndarray]:
    """(model keys in table order, (models, C, 3) array of point, lo, hi per class) from the decoded
    predictions `preds` (model key -> [(y, P) per seed])."""
    ranked = ranked_keys(run)
    keys = [k for k in ranked if k in preds] + [k for k in preds if k not in ranked]
    C = len(run.classes)
    vals = np.full((len(keys), C, 3), np.nan)
    for i, k in enumerate(keys):
        seeds = [(y, np.asarray(P).argmax(1)) for y, P in preds[k]]
        vals[i] = np.stack(per_class_recall_interval(seeds, C, n_boot), axis=1)
    return keys, vals


def recall_bars(run: RunData, preds: dict, files: list[Path]) -> str:
    """per_class_recall.*: grouped horizontal bars (one group per class, one bar per model) with whiskers;
    returns the report's HTML for it ('' without predictions)."""
    if not preds:
        return ""
    n_boot = min(run.n_boot, MAX_BOOT)
    keys, vals = recall_values(run, preds, n_boot)
    C, nk = len(run.classes), len(keys)
    colors = model_colors(run)
    names = [run.short[k] for k in keys]
    fs = 8 if C <= 20 else (6 if C <= 50 else 4)
    df = pd.DataFrame({
        "class": np.tile(np.asarray(run.classes, dtype=object), nk),
        "model": np.repeat(np.asarray(names, dtype=object), C),
        "recall": np.nan_to_num(vals[:, :, 0].ravel()),   # an undefined bar is drawn empty and says n/a
    })  # fmt: skip
    fig = figure(7.5, min(14.0, max(3.5, 0.085 * C * nk + 1.8)))  # about 0.07 in per bar, whiskers readable
    ax = fig.add_subplot()
    sns.barplot(data=df, x="recall", y="class", hue="model", order=list(run.classes), hue_order=names,
                palette={n: colors.get(k) for n, k in zip(names, keys, strict=True)}, errorbar=None, orient="h",
                width=0.8, ax=ax, saturation=1.0)
    for i, bars in enumerate(ax.containers[:nk]):
        y = np.array([b.get_y() + b.get_height() / 2 for b in bars])
        point, lo, hi = vals[i, :, 0], vals[i, :, 1], vals[i, :, 2]
        ok = np.isfinite(lo) & np.isfinite(hi)
        if ok.any():
            err = np.stack([np.clip(point - lo, 0, None), np.clip(hi - point, 0, None)])[:, ok]
            ax.errorbar(point[ok], y[ok], xerr=err, fmt="none", ecolor="#222222", elinewidth=0.9,
                        capsize=2.0 if nk * C <= 40 else 1.2, capthick=0.9)
        zero = np.flatnonzero(point == 0)  # a zero-width bar: a dot in the model's colour, or it reads as missing
        if len(zero):
            ax.plot(np.full(len(zero), 0.008), y[zero], ls="none", marker="o", ms=3.0 if nk * C <= 40 else 2.2,
                    color=colors.get(keys[i]), mec="#333333", mew=0.4, clip_on=False, zorder=3)
        for c in np.flatnonzero(~np.isfinite(point) & np.isfinite(vals[:, :, 0]).any(0)):
            ax.text(0.01, y[c], "n/a", va="center", fontsize=max(4, fs - 2), color="#555555")
    absent = ~np.isfinite(vals[:, :, 0]).any(0)
    for c in np.flatnonzero(absent):
        ax.text(0.01, c, f"n/a (no {run.split} track of this class)", va="center", fontsize=max(5, fs - 1),
                color="#555555")
    ax.set_xlim(0, 1.03)  # room for a whisker's cap at 1
    ax.set_xticks(np.linspace(0, 1, 6))
    ax.set_ylim(C - 0.5, -0.5)
    ax.tick_params(axis="y", labelsize=fs, length=0)
    ax.tick_params(axis="x", labelsize=8)
    ax.set_xlabel("recall (per-class accuracy: share of the class's tracks predicted as it)")
    ax.set_ylabel("true class")
    ax.grid(axis="x", color="#e5e5e5", linewidth=0.6)
    ax.set_axisbelow(True)
    sns.move_legend(ax, "upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0, frameon=False, fontsize=7,
                    title="model", title_fontsize=8)
    ax.set_title(f"Per-class recall, {run.split} split\nbars: mean over seeds; whiskers: 95% bootstrap interval "
                 f"({n_boot} resamples of the tracks); dot: recall 0", fontsize=9)
    note = (f"Per-class recall (per-class accuracy, the diagonal of the confusion matrices below) on the "
            f"{run.split} split: bars the mean over seeds, whiskers a 95% percentile bootstrap interval over the "
            f"{run.split} tracks ({n_boot} resamples, fixed seed); a dot at 0: recall 0 (no track of the class "
            f"predicted as it); n/a: the class has no {run.split} track.")
    return ("<h3>Per-class recall</h3>" + paragraph(note)
            + img(save(fig, run, STEM, files), "per-class recall bars"))
