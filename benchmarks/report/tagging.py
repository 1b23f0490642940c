"""The multi-label report's tagging diagnostics: label frequencies, tag correlation, co-occurrence and
per-label 2x2 confusion matrices, and per-class AP bars (`section_tagging`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from benchmarks import metrics as M
from benchmarks.report.base import Section, ranked_keys, split_predictions, unique_truth
from benchmarks.report.figures import figure, heatmap, img, save
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
    ax.set_ylabel("tracks")
    ax.set_title(f"Label frequencies ({run.split} split, {len(Yu)} tracks)", fontsize=10)
    return "<h3>Label frequencies</h3>" + img(save(fig, run.path("label_frequencies.png"), files),
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
    im = heatmap(ax, off, run.classes, run.classes, None, vmin=-lim, vmax=lim, cmap="RdBu_r", fontsize=fs)
    ax.set_title(f"Tag correlation (phi coefficient, {run.split} split; diagonal left blank)", fontsize=10)
    fig.colorbar(im, ax=ax, shrink=0.8)
    out = "<h3>Tag correlation</h3>" + img(save(fig, run.path("tag_correlation.png"), files),
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
        im = heatmap(ax, co, run.classes, run.classes, annot, fontsize=fs)
        ax.set_xlabel("predicted tag (threshold 0.5)")
        ax.set_ylabel("true tag")
        ax.set_title(f"{run.short[key]}: M[i, j] = P(predicted j | true i)", fontsize=10)
        fig.colorbar(im, ax=ax, shrink=0.8)
        out += img(save(fig, run.path(f"cooccurrence_{run.slugs[key]}.png"), files),
                   f"co-occurrence confusion matrix of {run.short[key]}")
    return out


def _label_confusion(run: RunData, preds: dict, freq: np.ndarray, files: list[Path]) -> str:
    chosen = _chosen_labels(freq, run.classes)
    fig = figure(1.9 * len(chosen) + 0.6, 1.9 * len(preds) + 0.6)
    for r, (key, seeds) in enumerate(preds.items()):
        Y, Yhat = _pooled_multi(seeds)
        mcm = M.multilabel_confusion(Y[:, chosen], Yhat[:, chosen])
        for j, c in enumerate(chosen):
            ax = fig.add_subplot(len(preds), len(chosen), r * len(chosen) + j + 1)
            m = mcm[j]
            norm = M.safe_div(m, m.sum(1, keepdims=True), np.nan)
            heatmap(ax, norm, ["neg", "pos"], ["neg", "pos"], [[str(v) for v in row] for row in m], fontsize=7)
            ax.set_title(f"{run.classes[c]} (n={int(freq[c])})", fontsize=7)
            if j == 0:
                ax.set_ylabel(f"{run.short[key]}\ntrue", fontsize=7)
            if r == len(preds) - 1:
                ax.set_xlabel("predicted", fontsize=7)
    what = "every tag" if len(run.classes) <= 6 else "the four most frequent and the two rarest tags"
    return "<h3>Per-label 2x2 confusion matrices</h3>" + paragraph(
        f"Rows: models; columns: {what} (n: {run.split} tracks with the tag). Counts at threshold 0.5 pooled "
        "over seeds; colour: share of the true row.") + img(
        save(fig, run.path("label_confusion.png"), files), "2x2 confusion matrices of chosen labels")


def _ap_bars(run: RunData, files: list[Path], fs: int) -> str:
    df = run.summary[(run.summary["split"] == run.split) & run.summary["metric"].str.startswith("ap[")]
    if df.empty:
        return ""
    keys = ranked_keys(run)
    C = len(run.classes)
    vals = np.full((len(keys), C), np.nan)
    kidx = {k: i for i, k in enumerate(keys)}
    cidx = {f"ap[{c}]": j for j, c in enumerate(run.classes)}
    for r in df[[*MODEL_KEYS, "metric", "mean"]].itertuples(index=False):
        k = tuple(str(v) for v in r[:4])
        if k in kidx and r.metric in cidx:
            vals[kidx[k], cidx[r.metric]] = r.mean
    fig = figure(7.5, max(3.5, 0.16 * C * max(1, min(len(keys), 4)) ** 0.5 + 1.5))
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
    return "<h3>Per-class AP</h3>" + img(save(fig, run.path("per_class_ap.png"), files), "per-class AP bars")


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
    parts.append(_ap_bars(run, files, fs))
    body = "".join(parts)
    if not body:
        return None
    return Section("tagging", "Tagging diagnostics", body, files)
