"""The report's dataset-analysis section: figures and numbers drawn from the run folder's `analysis/` files
(written by the analysis producer; their columns are documented there), never from audio or a model.

`section_analysis(run)` returns None when the run folder has no `analysis/`. Figures (`analysis_<name>.*`, each
once per `run.fig_formats`): class_counts (tracks per class and split, imbalance ratio in the title),
tags_per_track and tag_correlation (multi-label), mel_levels (per-track min / mean / max dB and the mean
energy distribution, outliers marked), mel_profiles (mean mel-band profile per class), profile_pca (PCA of
those profiles), examples (one log-mel crop per class), waveform_variance, embedding (PCA and t-SNE of the
feature vectors) and importance (by feature family, one colour per model). `analysis_markdown(run)` is the
same numbers as markdown (for `python -m benchmarks.analyze`)."""

from __future__ import annotations

import html
import math
from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

from benchmarks.report.base import Section
from benchmarks.report.figures import figure, heatmap, img, model_colors, save
from benchmarks.report.load import RunData
from benchmarks.report.tables import Grid, grid_html, grid_markdown, paragraph
from benchmarks.runfolder import ANALYSIS_DIR, part_path, read_npz, read_part_csv, to_float, to_int

SPLIT_ORDER = ("train", "valid", "test")
SPLIT_COLORS = dict(zip(SPLIT_ORDER, sns.color_palette("colorblind", 3), strict=True))
MAX_EXAMPLES = 50


# -- reading ---------------------------------------------------------------------------------------
def _csv(run: RunData, name: str, floats=(), ints=()) -> pd.DataFrame | None:
    df = read_part_csv(run.run_dir, ANALYSIS_DIR, name)
    if df is None:
        return None
    for c in floats:
        df[c] = to_float(df[c], f"{ANALYSIS_DIR}/{name} column {c}")
    for c in ints:
        df[c] = to_int(df[c], f"{ANALYSIS_DIR}/{name} column {c}")
    return df


def _summary(run: RunData) -> dict[str, str]:
    df = read_part_csv(run.run_dir, ANALYSIS_DIR, "summary.csv")
    return {} if df is None else dict(zip(df["key"], df["value"], strict=True))


def _num(s: dict, key: str) -> float:
    try:
        return float(s.get(key, "nan") or "nan")
    except ValueError:
        return float("nan")


def _fontsize(n: int) -> float:
    return 8 if n <= 20 else (6 if n <= 50 else 4)


def _palette(names: list[str]) -> dict[str, tuple]:
    pal = sns.color_palette("colorblind" if len(names) <= 10 else "husl", len(names))
    return dict(zip(names, pal, strict=True))


def _legend_right(ax, n: int, title: str) -> None:
    if ax.get_legend() is not None:
        sns.move_legend(ax, "upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0, frameon=False,
                        fontsize=7 if n <= 20 else 5, title=title, title_fontsize=8, ncol=1 if n <= 25 else 2)


# -- figures -------------------------------------------------------------------------------------------
def _class_counts(run: RunData, counts: pd.DataFrame, s: dict, files: list[Path]) -> Path:
    df = counts[counts["split"] != "all"]
    splits = [x for x in SPLIT_ORDER if x in set(df["split"])] + sorted(set(df["split"]) - set(SPLIT_ORDER))
    train = counts[counts["split"] == "train"].set_index("class")["count"]
    order = sorted(dict.fromkeys(df["class"]), key=lambda c: (-int(train.get(c, 0)), list(run.classes).index(c)
                                                               if c in run.classes else 0))
    C = len(order)
    fig = figure(7.5, min(16.0, max(3.2, 0.075 * C * len(splits) + 1.6)))
    ax = fig.add_subplot()
    sns.barplot(data=df, x="count", y="class", hue="split", order=order, hue_order=splits, orient="h",
                palette={x: SPLIT_COLORS.get(x, "#888888") for x in splits}, ax=ax, saturation=1.0, width=0.8)
    ax.tick_params(axis="y", labelsize=_fontsize(C), length=0)
    ax.set_xlabel("tracks" + (" carrying the tag" if run.task == "multi" else ""))
    ax.set_ylabel("tag" if run.task == "multi" else "class")
    ax.grid(axis="x", color="#e5e5e5", linewidth=0.6)
    ax.set_axisbelow(True)
    _legend_right(ax, len(splits), "split")
    ratio = _num(s, "imbalance_ratio")
    what = f"imbalance ratio (train) {ratio:.1f}" if math.isfinite(ratio) else "imbalance ratio n/a"
    if s.get("largest_count") == s.get("smallest_count"):
        detail = f"every {'tag' if run.task == 'multi' else 'class'} in train: {s.get('largest_count', '')} tracks"
    else:
        detail = (f"{s.get('largest_class', '')}: {s.get('largest_count', '')} / {s.get('smallest_class', '')}: "
                  f"{s.get('smallest_count', '')} training tracks")
    ax.set_title(f"{'Tags' if run.task == 'multi' else 'Classes'} per split, sorted by training count; {what}\n"
                 f"({detail})", fontsize=9)
    return save(fig, run, "analysis_class_counts", files)


def _tags_per_track(run: RunData, tpt: pd.DataFrame, files: list[Path]) -> Path:
    df = tpt[tpt["split"] != "all"]
    splits = [x for x in SPLIT_ORDER if x in set(df["split"])]
    fig = figure(6.0, 3.4)
    ax = fig.add_subplot()
    sns.barplot(data=df, x="n_tags", y="n_tracks", hue="split", hue_order=splits, ax=ax, saturation=1.0,
                palette={x: SPLIT_COLORS[x] for x in splits})
    ax.set_xlabel("tags per track")
    ax.set_ylabel("tracks")
    allr = tpt[tpt["split"] == "all"]
    mean = (allr["n_tags"] * allr["n_tracks"]).sum() / max(1, allr["n_tracks"].sum())
    ax.set_title(f"Tags per track (mean {mean:.2f} over {int(allr['n_tracks'].sum())} tracks)", fontsize=9)
    _legend_right(ax, len(splits), "split")
    return save(fig, run, "analysis_tags_per_track", files)


def _tag_correlation(run: RunData, tags: dict, files: list[Path]) -> Path:
    names = [str(c) for c in tags["classes"]]
    r = np.asarray(tags["phi"], dtype=np.float64)
    C = len(names)
    annot = [[f"{v:.2f}" if np.isfinite(v) else "" for v in row] for row in r] if C <= 12 else None
    size = max(5.0, 0.16 * C + 2.8)
    fig = figure(size + 1.0, size)
    ax = fig.add_subplot()
    heatmap(ax, r, names, names, annot, vmin=-1.0, vmax=1.0, cmap="RdBu_r", fontsize=_fontsize(C) if C > 20 else 8,
            cbar_label="phi (Pearson correlation of the 0/1 tags)", na_text="n/a" if C <= 30 else None)
    ax.set_xlabel("tag")
    ax.set_ylabel("tag")
    ax.set_title("Tag correlation (phi) over every track; grey: a tag on every track or none", fontsize=9)
    return save(fig, run, "analysis_tag_correlation", files)


def _mel_levels(run: RunData, mt: pd.DataFrame, out: pd.DataFrame, files: list[Path]) -> Path:
    fig = figure(10.0, 3.8)
    ax1, ax2 = fig.subplots(1, 2, width_ratios=[1, 1.3])
    long = mt.melt(id_vars=["track_id"], value_vars=["min_db", "mean_db", "max_db", "energy_db"],
                   var_name="statistic", value_name="dB")
    long["statistic"] = long["statistic"].map({"min_db": "min", "mean_db": "mean", "max_db": "max",
                                               "energy_db": "mean frame energy"})
    sns.boxplot(data=long, x="dB", y="statistic", ax=ax1, color="#9ecae1", fliersize=2, linewidth=0.8)
    ax1.set_xlabel("dB (log-mel, per track)")
    ax1.set_ylabel("")
    ax1.set_title(f"Log-mel levels of {len(mt)} tracks", fontsize=9)
    sns.histplot(mt["energy_db"], bins=min(40, max(10, len(mt) // 8)), ax=ax2, color="#4c72b0", edgecolor="white")
    ax2.set_xlabel("mean frame energy per track (dB)")
    ax2.set_ylabel("tracks")
    ax2.yaxis.set_major_locator(MaxNLocator(integer=True))
    if len(out):
        e = mt.set_index("track_id").loc[out["track_id"], "energy_db"].to_numpy()
        top = ax2.get_ylim()[1]
        ax2.plot(e, np.full(len(e), top * 0.02), "v", color="#d62728", ms=6, label="outlier", clip_on=False)
        for x, tid, why in list(zip(e, out["track_id"], out["reason"], strict=True))[:8]:
            ax2.annotate(f"{tid} ({why.split(':')[0]})", (x, top * 0.05), rotation=90, fontsize=6, va="bottom",
                         ha="center", color="#d62728")
        ax2.legend(fontsize=7, frameon=False)
    ax2.set_title(f"Mean frame energy per track (10 log10 of a frame's mel power,\nmean over frames); "
                  f"flagged tracks (▼): {len(out)}", fontsize=9)
    return save(fig, run, "analysis_mel_levels", files)


def _mel_profiles(run: RunData, prof: dict, files: list[Path]) -> tuple[Path, Path | None]:
    names = [str(c) for c in prof["classes"]]
    P = np.asarray(prof["profiles"], dtype=np.float64)
    hz = np.asarray(prof["band_hz"], dtype=np.float64)
    colors = _palette(names)
    fig = figure(8.0, 4.2)
    ax = fig.add_subplot()
    for i, c in enumerate(names):
        if np.isfinite(P[i]).all():
            ax.plot(np.arange(P.shape[1]), P[i], color=colors[c], lw=1.2 if len(names) <= 12 else 0.7, label=c)
    ticks = np.unique(np.linspace(0, P.shape[1] - 1, 6).round().astype(int))
    ax.set_xticks(ticks, [f"{t}\n{hz[t]:.0f} Hz" for t in ticks], fontsize=7)
    ax.set_xlabel("mel band (centre frequency)")
    ax.set_ylabel("mean level (dB)")
    ax.grid(color="#eeeeee", linewidth=0.6)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False, fontsize=7 if len(names) <= 20 else 5,
              ncol=1 if len(names) <= 25 else 2, title="tag" if run.task == "multi" else "class", title_fontsize=8)
    ax.set_title("Mean mel-frequency profile per " + ("tag (tracks carrying it)" if run.task == "multi" else "class")
                 + ": mean over tracks of each track's mean over frames", fontsize=9)
    first = save(fig, run, "analysis_mel_profiles", files)
    xy, ratio = np.asarray(prof["pca"], dtype=np.float64), np.asarray(prof["explained_variance_ratio"])
    ok = np.isfinite(xy).all(1)
    if ok.sum() < 2:
        return first, None
    fig = figure(6.0, 5.0)
    ax = fig.add_subplot()
    for i in np.flatnonzero(ok):
        ax.scatter(xy[i, 0], xy[i, 1], color=colors[names[i]], s=40, edgecolor="#333333", linewidth=0.5)
        ax.annotate(names[i], (xy[i, 0], xy[i, 1]), xytext=(4, 3), textcoords="offset points",
                    fontsize=8 if ok.sum() <= 20 else 5)
    ax.set_xlabel(f"PC1 ({100 * ratio[0]:.1f}% of the variance)")
    ax.set_ylabel(f"PC2 ({100 * ratio[1]:.1f}% of the variance)" if np.isfinite(ratio[1]) else "PC2")
    ax.grid(color="#eeeeee", linewidth=0.6)
    ax.set_title("PCA of the class mean mel profiles (one point per " + ("tag)" if run.task == "multi" else "class)"),
                 fontsize=9)
    return first, save(fig, run, "analysis_profile_pca", files)


def _examples(run: RunData, ex: dict, files: list[Path]) -> Path:
    mel = np.asarray(ex["mel"], dtype=np.float32)[:MAX_EXAMPLES]
    n_frames, rate = np.asarray(ex["n_frames"]), float(ex["frame_rate"])
    k = len(mel)
    ncols = min(5, k)
    nrows = math.ceil(k / ncols)
    fig = figure(2.1 * ncols + 0.9, 1.75 * nrows + 0.5)
    finite = mel[np.isfinite(mel)]
    vmin, vmax = (np.percentile(finite, [1, 99.5]) if finite.size else (0.0, 1.0))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    im = None
    for i, ax in enumerate(axes.ravel()):
        if i >= k:
            ax.set_axis_off()
            continue
        m = mel[i][:, : int(n_frames[i])]
        im = ax.imshow(m, origin="lower", aspect="auto", cmap="magma", vmin=vmin, vmax=vmax, interpolation="nearest",
                       extent=(0, m.shape[1] / rate, 0, m.shape[0]))
        ax.set_title(f"{ex['class'][i]}\n{ex['track_id'][i]}", fontsize=7)
        ax.tick_params(labelsize=6)
        if i % ncols == 0:
            ax.set_ylabel("mel band", fontsize=7)
        if i // ncols == nrows - 1 or i + ncols >= k:
            ax.set_xlabel("time (s)", fontsize=7)
    cb = fig.colorbar(im, ax=axes.ravel().tolist(), shrink=0.8)
    cb.set_label("log-mel (dB)", fontsize=8)
    cb.ax.tick_params(labelsize=7)
    fig.suptitle("One training track per " + ("tag" if run.task == "multi" else "class")
                 + " (the first by track id): the middle of the track, at most 10 s", fontsize=9)
    return save(fig, run, "analysis_examples", files)


def _waveform_variance(run: RunData, var: pd.DataFrame, files: list[Path]) -> Path:
    order = [c for c in run.classes if c in set(var["class"])] or list(dict.fromkeys(var["class"]))
    C = len(order)
    fig = figure(7.0, min(14.0, max(3.0, 0.22 * C + 1.4)))
    ax = fig.add_subplot()
    positive = var[var["variance"] > 0]
    sns.boxplot(data=positive, x="variance", y="class", order=order, ax=ax, color="#a1d99b", fliersize=2,
                linewidth=0.8, log_scale=True)
    ax.tick_params(axis="y", labelsize=_fontsize(C), length=0)
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))  # labels at 1, 2, 5 x 10^k
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.3g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())  # the minor labels of a log axis run into each other
    ax.set_xlabel("waveform sample variance (moment_var feature, log scale)")
    ax.set_ylabel("tag" if run.task == "multi" else "class")
    ax.grid(axis="x", color="#eeeeee", linewidth=0.6)
    what = "tag" if run.task == "multi" else "class"
    ax.set_title(f"Waveform sample variance (signal power) per {what}: loudness differences between {what}es"
                 .replace("tages", "tags"), fontsize=9)
    return save(fig, run, "analysis_waveform_variance", files)


def _embedding(run: RunData, emb: pd.DataFrame, s: dict, files: list[Path]) -> Path:
    names = [c for c in run.classes if c in set(emb["class"])] + sorted(set(emb["class"]) - set(run.classes))
    colors = _palette(names)
    fig = figure(11.0, 4.8)
    axes = fig.subplots(1, 2)
    splits = [x for x in SPLIT_ORDER if x in set(emb["split"])]
    markers = dict(zip(SPLIT_ORDER, ("o", "s", "^"), strict=True))
    for ax, kind in zip(axes, ("pca", "tsne"), strict=True):
        d = emb[np.isfinite(emb[f"{kind}_1"])]
        if d.empty:
            ax.text(0.5, 0.5, "n/a (too few tracks)", ha="center", va="center", transform=ax.transAxes)
            ax.set_axis_off()
            continue
        sns.scatterplot(data=d, x=f"{kind}_1", y=f"{kind}_2", hue="class", hue_order=names, palette=colors,
                        style="split", style_order=splits, markers={x: markers[x] for x in splits}, s=14,
                        linewidth=0.2, edgecolor="#333333", ax=ax, legend=kind == "tsne")
        if kind == "pca":
            ax.set_xlabel(f"PC1 ({100 * _num(s, 'pca_explained_1'):.1f}% of the variance)")
            ax.set_ylabel(f"PC2 ({100 * _num(s, 'pca_explained_2'):.1f}% of the variance)")
            ax.set_title("PCA of the standardized feature vectors", fontsize=9)
        else:
            ax.set_xlabel("t-SNE 1")
            ax.set_ylabel("t-SNE 2")
            ax.set_title(f"t-SNE (perplexity {_num(s, 'tsne_perplexity'):.0f}, fixed seed)", fontsize=9)
            _legend_right(ax, len(names) + len(splits), "")
    what = "most frequent tag" if run.task == "multi" else "class"
    fig.suptitle(f"Hand-crafted features of {len(emb)} tracks (all splits), coloured by {what}, marker: split",
                 fontsize=9)
    return save(fig, run, "analysis_embedding", files)


def _model_colors(run: RunData, keys: list[tuple]) -> dict[tuple, tuple]:
    known = model_colors(run) if "split" in run.summary.columns and len(run.summary) else {}
    pal = sns.color_palette("colorblind", 10)
    extra = [k for k in keys if k not in known]
    return {**{k: pal[(len(known) + i) % 10] for i, k in enumerate(extra)}, **known}


def _importance(run: RunData, imp: pd.DataFrame, s: dict, files: list[Path]) -> Path:
    imp = imp.assign(key=[tuple(r) for r in imp[["model", "family", "input", "strategy"]].to_numpy().tolist()])
    keys = list(dict.fromkeys(imp["key"]))
    colors = _model_colors(run, keys)
    label = {k: run.short.get(k, k[0]) for k in keys}
    imp["model_label"] = imp["key"].map(label)
    kinds = [k for k in ("permutation", "tree") if (imp["kind"] == k).any()]
    # ranked: the family whose shuffling costs most (mean over models, permutation first) on top
    ranking = imp[imp["kind"] == kinds[0]].groupby("feature_family", sort=False)["importance"].mean()
    fams = sorted(dict.fromkeys(imp["feature_family"]), key=lambda f: -float(ranking.get(f, -np.inf)))
    fig = figure(5.2 * len(kinds) + 1.4, max(3.2, 0.1 * len(fams) * len(keys) + 1.6))
    axes = np.atleast_1d(fig.subplots(1, len(kinds)))
    for ax, kind in zip(axes, kinds, strict=True):
        d = imp[imp["kind"] == kind]
        models = [label[k] for k in keys if (d["key"] == k).any()]
        pal = {label[k]: colors[k] for k in keys}
        sns.barplot(data=d, x="importance", y="feature_family", hue="model_label", order=fams, hue_order=models,
                    palette=pal, orient="h", errorbar=None, ax=ax, saturation=1.0, width=0.8)
        if kind == "permutation":
            for i, bars in enumerate(ax.containers[:len(models)]):
                sub = d[d["model_label"] == models[i]].set_index("feature_family").reindex(fams)
                y = [b.get_y() + b.get_height() / 2 for b in bars]
                ax.errorbar(sub["importance"], y, xerr=sub["std"].fillna(0), fmt="none", ecolor="#222222",
                            elinewidth=0.8, capsize=1.5)
            ax.axvline(0, color="#555555", lw=0.7)
            ax.set_xlabel(f"drop in validation {s.get('importance_score', 'score')} when the family is shuffled")
            ax.set_title(f"Permutation importance by feature family\n(mean ± std over "
                         f"{s.get('importance_repeats', '5')} shuffles of the {s.get('importance_valid_tracks', '')} "
                         "validation tracks)", fontsize=9)
        else:
            ax.set_xlabel("share of the trees' feature importance (sums to 1)")
            ax.set_title("Tree importance (feature_importances_) by family", fontsize=9)
        ax.set_ylabel("feature family" if ax is axes[0] else "")
        ax.grid(axis="x", color="#eeeeee", linewidth=0.6)
        ax.set_axisbelow(True)
        if ax.get_legend() is not None:
            ax.get_legend().remove()
    handles = [Patch(color=colors[k], label=label[k]) for k in keys]
    axes[-1].legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0, frameon=False,
                    fontsize=7, title="model", title_fontsize=8)
    return save(fig, run, "analysis_importance", files)


# -- text --------------------------------------------------------------------------------------------
def _outlier_grid(out: pd.DataFrame) -> Grid:
    return Grid(["Track", "Split", "Labels", "Reason", "Mean dB", "Max dB"],
                [[r.track_id, r.split, r.labels, r.reason, f"{float(r.mean_db):.1f}", f"{float(r.max_db):.1f}"]
                 for r in out.itertuples(index=False)], ["l", "l", "l", "l", "r", "r"])


def _pairs_grid(pairs: pd.DataFrame) -> Grid:
    return Grid(["Tag A", "Tag B", "phi", "Tracks with both", "Tracks A", "Tracks B"],
                [[r.tag_a, r.tag_b, f"{float(r.phi):.3f}", r.both, r.n_a, r.n_b]
                 for r in pairs.itertuples(index=False)],
                ["l", "l", "r", "r", "r", "r"])


def _facts(run: RunData, s: dict) -> list[str]:
    out = []
    ratio = _num(s, "imbalance_ratio")
    unit = "tags" if run.task == "multi" else "classes"
    if math.isfinite(ratio):
        out.append(f"{s.get('n_tracks')} tracks, {s.get('n_classes')} {unit}; "
                   f"imbalance ratio in train: {ratio:.2f} (largest {s.get('largest_class')}: {s.get('largest_count')}"
                   f" tracks, smallest {s.get('smallest_class')}: {s.get('smallest_count')}); {unit} without a "
                   f"training track: {s.get('n_classes_absent', '0')}.")
    if "mean_tags_per_track" in s:
        out.append(f"Mean tags per track: {_num(s, 'mean_tags_per_track'):.2f}.")
    if "n_outliers" in s:
        out.append(f"Log-mel statistics of {s.get('mel_tracks')} tracks ({s.get('n_mels')} mel bands, {s.get('sr')} Hz,"
                   f" hop {s.get('hop_length')}); flagged: {s.get('n_outliers')} track(s) whose mean dB has a robust "
                   f"z-score (median and MAD) beyond ±{s.get('z_limit')}, or whose maximum is at the floor "
                   f"{_num(s, 'floor_db'):.0f} dB.")
    if "profile_pca_explained_1" in s and math.isfinite(_num(s, "profile_pca_explained_1")):
        a, b = 100 * _num(s, "profile_pca_explained_1"), 100 * _num(s, "profile_pca_explained_2")
        out.append(f"PCA of the class mean mel profiles: the first two components explain {a:.1f}% and {b:.1f}% "
                   "of their variance.")
    return out


def section_analysis(run: RunData) -> Section | None:
    """The dataset analysis of the run folder's `analysis/` files, or None without that folder."""
    if not part_path(run.run_dir, ANALYSIS_DIR, "").is_dir():
        return None
    files: list[Path] = []
    s = _summary(run)
    body = "".join(paragraph(t) for t in _facts(run, s))
    notes = _csv(run, "notes.csv")
    if notes is not None and len(notes):
        body += "<ul>" + "".join(f"<li>{html.escape(str(n))}</li>" for n in notes["note"]) + "</ul>"
    counts = _csv(run, "class_counts.csv", ints=["count"])
    if counts is not None and len(counts):
        body += "<h3>Class distribution</h3>" + img(_class_counts(run, counts, s, files), "tracks per class and split")
    tpt = _csv(run, "tags_per_track.csv", ints=["n_tags", "n_tracks"])
    if tpt is not None and len(tpt):
        body += "<h3>Tags per track</h3>" + img(_tags_per_track(run, tpt, files), "tags per track")
    tags = read_npz(run.run_dir, ANALYSIS_DIR, "tags.npz")
    if tags is not None and len(tags["classes"]) >= 2:
        body += "<h3>Tag correlation</h3>" + img(_tag_correlation(run, tags, files), "tag correlation heatmap")
        pairs = _csv(run, "top_pairs.csv", floats=["phi"])
        if pairs is not None and len(pairs):
            body += paragraph("The most correlated tag pairs (phi over every track):") + grid_html(_pairs_grid(pairs),
                                                                                                   "results")
    mt = _csv(run, "mel_tracks.csv", floats=["min_db", "max_db", "mean_db", "energy_db", "z"])
    out = _csv(run, "mel_outliers.csv", floats=["mean_db", "max_db", "z"])
    if mt is not None and len(mt):
        out = out if out is not None else mt.iloc[:0]
        body += "<h3>Log-mel levels</h3>" + img(_mel_levels(run, mt, out, files), "log-mel levels per track")
        body += (grid_html(_outlier_grid(out), "results") if len(out)
                 else paragraph("No track is flagged as silent or loud."))
    prof = read_npz(run.run_dir, ANALYSIS_DIR, "mel_profiles.npz")
    if prof is not None and len(prof["classes"]):
        first, pca = _mel_profiles(run, prof, files)
        body += "<h3>Mean mel-frequency profiles</h3>" + img(first, "mean mel profile per class")
        if pca is not None:
            body += img(pca, "PCA of the class mean profiles")
    ex = read_npz(run.run_dir, ANALYSIS_DIR, "examples.npz")
    if ex is not None and len(ex["mel"]):
        body += "<h3>Example spectrograms</h3>" + img(_examples(run, ex, files), "one log-mel crop per class")
    var = _csv(run, "waveform_variance.csv", floats=["variance"])
    if var is not None and len(var):
        body += "<h3>Waveform variance</h3>" + img(_waveform_variance(run, var, files), "waveform variance per class")
    emb = _csv(run, "embedding.csv", floats=["pca_1", "pca_2", "tsne_1", "tsne_2"])
    if emb is not None and len(emb):
        body += "<h3>Feature embeddings</h3>" + img(_embedding(run, emb, s, files), "PCA and t-SNE of the features")
    imp = _csv(run, "importance_family.csv", floats=["importance", "std", "baseline"])
    if imp is not None and len(imp):
        body += "<h3>Feature importance</h3>" + img(_importance(run, imp, s, files), "importance by feature family")
        top = _csv(run, "importance_features.csv", floats=["importance"])
        if top is not None and len(top):
            g = Grid(["Model", "Rank", "Feature", "Family", "Importance"],
                     [[r.model, r.rank, r.feature, r.feature_family, f"{float(r.importance):.4f}"]
                      for r in top[top["rank"].astype(int) <= 10].itertuples(index=False)], ["l", "r", "l", "l", "r"])
            body += paragraph("The trees' ten most important single features:") + grid_html(g, "results")
    return Section("analysis", "Dataset analysis", body, files)


def analysis_markdown(run: RunData) -> str:
    """The analysis's numbers as markdown: facts, notes, flagged tracks, top tag pairs."""
    s = _summary(run)
    parts = [f"# Dataset analysis: {run.dataset}\n", *(f"{t}\n" for t in _facts(run, s))]
    notes = _csv(run, "notes.csv")
    if notes is not None and len(notes):
        parts += ["## Left out\n", *(f"- {n}" for n in notes["note"]), ""]
    out = _csv(run, "mel_outliers.csv", floats=["mean_db", "max_db", "z"])
    if out is not None:
        parts += ["## Flagged tracks\n", grid_markdown(_outlier_grid(out)) if len(out) else "None.\n"]
    pairs = _csv(run, "top_pairs.csv", floats=["phi"])
    if pairs is not None and len(pairs):
        parts += ["## Most correlated tag pairs\n", grid_markdown(_pairs_grid(pairs))]
    return "\n".join(parts) + "\n"
