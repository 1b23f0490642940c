"""The multi-label report's tagging diagnostics: label frequencies, tag correlation, co-occurrence and
per-label 2x2 confusion matrices, and per-class AP bars (`section_tagging`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from benchmarks import metrics as M
from benchmarks.report.base import Section, ranked_keys, split_predictions, unique_truth
from benchmarks.report.figures import figure, heatmap, img, model_colors, save
from benchmarks.report.intervals import MAX_BOOT, per_class_ap_interval
from benchmarks.report.load import RunData
from benchmarks.report.tables import Grid, grid_html, paragraph
from benchmarks.runfolder import MODEL_KEYS


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
    fig = figure(max(6, 0.22 * C + 2), 3.6)
    ax = fig.add_subplot()
    ax.bar(range(C), Yu.sum(0), color="#4c72b0")
    ax.set_xticks(range(C), labels=run.classes, rotation=90, fontsize=fs)
    ax.set_xlim(-0.6, C - 0.4)
    ax.set_xlabel("tag")
    ax.set_ylabel("tracks with the tag")
    ax.set_title(f"Label frequencies ({run.split} split, {len(Yu)} tracks)", fontsize=10)
    return "<h3>Label frequencies</h3>" + img(save(fig, run, "label_frequencies", files),
                                              "label frequencies")


def tag_correlation(Y: np.ndarray) -> np.ndarray:
    """Phi coefficients (Pearson correlation of 0/1 indicators) between tags.

    Y: (n, C) 0/1. Returns (C, C) float64; NaN for a tag that never or always occurs.
    """
    Y = np.asarray(Y, dtype=np.float64)
    Z = Y - Y.mean(0)
    sd = np.sqrt((Z**2).sum(0))
    return M.safe_div(Z.T @ Z, np.outer(sd, sd), np.nan)


def _tag_correlation(run: RunData, Yu: np.ndarray, fs: int, files: list[Path]) -> str:
    C = len(run.classes)
    corr = tag_correlation(Yu)
    off = corr.copy()
    np.fill_diagonal(off, np.nan)           # the unit diagonal would wash out the colour scale
    lim = float(np.nanmax(np.abs(off))) if np.isfinite(off).any() else 1.0
    lim = max(lim, 0.1)
    size = max(5, 0.18 * C + 2.5)
    fig = figure(size + 1, size)
    ax = fig.add_subplot()
    annot = None
    if C <= 12:
        annot = [["" if i == j or not np.isfinite(off[i, j]) else f"{off[i, j]:.2f}" for j in range(C)]
                 for i in range(C)]
    heatmap(ax, off, run.classes, run.classes, annot, vmin=-lim, vmax=lim, cmap="RdBu_r", fontsize=fs,
            cbar_label="phi coefficient", na_text=None)
    for i in range(C):          # the diagonal is blank by choice; undefined (constant tag) cells say n/a
        for j in range(C):
            if i != j and not np.isfinite(off[i, j]) and C <= 30:
                ax.text(j + 0.5, i + 0.5, "n/a", ha="center", va="center", fontsize=max(5, fs - 2), color="#555555")
    ax.set_xlabel("tag")
    ax.set_ylabel("tag")
    ax.set_title(f"Tag correlation, {run.split} split\n(grey diagonal left blank)", fontsize=10)
    out = "<h3>Tag correlation</h3>" + img(save(fig, run, "tag_correlation", files),
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
    out = "<h3>Co-occurrence confusion matrices</h3>" + paragraph(
        "Row i: tracks tagged i; column j: the share of them predicted j at threshold 0.5 (the diagonal is the "
        f"recall), {run.split} split, pooled over seeds.")
    for key, seeds in preds.items():
        Y, Yhat = _pooled_multi(seeds)
        co = M.cooccurrence_matrix(Y, Yhat)
        size = max(5, 0.2 * C + 2.5)
        fig = figure(size + 1, size)
        ax = fig.add_subplot()
        annot = None
        if C <= 15:
            annot = [[f"{co[i, j]:.2f}" if np.isfinite(co[i, j]) and co[i, j] >= 0.005 else "" for j in range(C)]
                     for i in range(C)]
        heatmap(ax, co, run.classes, run.classes, annot, fontsize=fs, cbar_label="P(predicted j | true i)")
        ax.set_xlabel("predicted tag j (threshold 0.5)")
        ax.set_ylabel("true tag i")
        ax.set_title(f"{run.short[key]}: co-occurrence, {run.split} split", fontsize=10)
        out += img(save(fig, run, f"cooccurrence_{run.slugs[key]}", files),
                   f"co-occurrence confusion matrix of {run.short[key]}")
    return out


def _label_confusion(run: RunData, preds: dict, freq: np.ndarray, files: list[Path]) -> str:
    chosen = _chosen_labels(freq, run.classes)
    fig = figure(1.9 * len(chosen) + 1.4, 1.9 * len(preds) + 0.6)
    mesh = None
    for r, (key, seeds) in enumerate(preds.items()):
        Y, Yhat = _pooled_multi(seeds)
        mcm = M.multilabel_confusion(Y[:, chosen], Yhat[:, chosen])
        for j, c in enumerate(chosen):
            ax = fig.add_subplot(len(preds), len(chosen), r * len(chosen) + j + 1)
            m = mcm[j]
            norm = M.safe_div(m, m.sum(1, keepdims=True), np.nan)
            mesh = heatmap(ax, norm, ["neg", "pos"], ["neg", "pos"], [[str(v) for v in row] for row in m], fontsize=7)
            ax.set_xticklabels(["neg", "pos"], rotation=0, ha="center", fontsize=7)
            ax.set_title(f"{run.classes[c]} (n={int(freq[c])})", fontsize=7)
            ax.set_ylabel(f"{run.short[key]}\ntrue" if j == 0 else "", fontsize=7)
            ax.set_xlabel("predicted" if r == len(preds) - 1 else "", fontsize=7)
    fig.colorbar(mesh, ax=fig.axes, shrink=0.6, label="share of the true row; numbers: counts")
    what = "every tag" if len(run.classes) <= 6 else "the four most frequent and the two rarest tags"
    return "<h3>Per-label 2x2 confusion matrices</h3>" + paragraph(
        f"Rows: models; columns: {what} (n: {run.split} tracks with the tag). Counts at threshold 0.5 pooled "
        "over seeds; colour: share of the true row.") + img(
        save(fig, run, "label_confusion", files), "2x2 confusion matrices of chosen labels")


def _ap_bars(run: RunData, preds: dict, files: list[Path], fs: int) -> str:
    """per_class_ap.*: per-class AP of every model with 95% percentile bootstrap intervals over the tracks
    (from the predictions; without them the seed means of metrics.csv, no interval)."""
    keys = ranked_keys(run)
    C = len(run.classes)
    vals = np.full((len(keys), C, 3), np.nan)
    if preds:
        keys = [k for k in keys if k in preds] + [k for k in preds if k not in keys]
        vals = np.full((len(keys), C, 3), np.nan)
        for i, k in enumerate(keys):
            vals[i] = np.stack(per_class_ap_interval(preds[k], min(run.n_boot, MAX_BOOT)), axis=1)
    else:
        df = run.summary[(run.summary["split"] == run.split) & run.summary["metric"].str.startswith("ap[")]
        if df.empty:
            return ""
        kidx = {k: i for i, k in enumerate(keys)}
        cidx = {f"ap[{c}]": j for j, c in enumerate(run.classes)}
        for r in df[[*MODEL_KEYS, "metric", "mean"]].itertuples(index=False):
            k = tuple(str(v) for v in r[:4])
            if k in kidx and r.metric in cidx:
                vals[kidx[k], cidx[r.metric], 0] = r.mean
    colors = model_colors(run)
    nk = len(keys)
    fig = figure(7.5, max(3.5, 0.22 * C * max(1, min(nk, 4)) ** 0.5 + 1.6))
    ax = fig.add_subplot()
    h = 0.8 / nk
    ypos = np.arange(C)[::-1]
    for i, k in enumerate(keys):
        y = ypos + 0.4 - h * (i + 0.5)
        point, lo, hi = vals[i, :, 0], vals[i, :, 1], vals[i, :, 2]
        err = np.stack([np.clip(point - lo, 0, None), np.clip(hi - point, 0, None)])
        ax.barh(y, np.nan_to_num(point), height=h, color=colors.get(k), label=run.short[k],
                xerr=np.nan_to_num(err) if np.isfinite(lo).any() else None,
                error_kw={"elinewidth": 0.8, "capsize": 1.5, "ecolor": "#333333"})
        for c in np.flatnonzero(~np.isfinite(point) & np.isfinite(vals[:, :, 0]).any(0)):
            ax.text(0.01, y[c], "n/a", va="center", fontsize=max(4, fs - 2), color="#555555")
    for c in np.flatnonzero(~np.isfinite(vals[:, :, 0]).any(0)):
        ax.text(0.01, ypos[c], "n/a (undefined: the tag is on all or none of the tracks)", va="center",
                fontsize=max(5, fs - 1), color="#555555")
    ax.set_yticks(ypos, labels=run.classes, fontsize=fs)
    ax.set_ylim(-0.6, C - 0.4)
    ax.set_xlim(0, 1.0)
    ax.set_xlabel("average precision (AP)")
    ax.set_ylabel("tag")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0, frameon=False)
    how = (f"bars: mean over seeds; whiskers: 95% bootstrap interval ({min(run.n_boot, MAX_BOOT)} resamples "
           "of the tracks)") if preds else "mean over seeds"
    ax.set_title(f"Per-class AP, {run.split} split\n{how}", fontsize=9)
    return "<h3>Per-class AP</h3>" + img(save(fig, run, "per_class_ap", files), "per-class AP bars")


def section_tagging(run: RunData) -> Section | None:
    if run.task != "multi":
        return None
    preds = split_predictions(run)
    Yu = unique_truth(run)
    files: list[Path] = []
    C = len(run.classes)
    fs = 8 if C <= 20 else (6 if C <= 50 else 4)
    parts = []
    if Yu is not None:
        parts += [_label_frequencies(run, Yu, fs, files), _tag_correlation(run, Yu, fs, files)]
    if preds:
        parts += [_cooccurrence(run, preds, fs, files), _label_confusion(run, preds, Yu.sum(0), files)]
    parts.append(_ap_bars(run, preds, files, fs))
    body = "".join(parts)
    if not body:
        return None
    return Section("tagging", "Tagging diagnostics", body, files)
