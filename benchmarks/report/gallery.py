"""The report's look inside the CNNs (`section_gallery`), drawn only from the run folder's `gallery/` files
(columns and arrays: `benchmarks.families.gallery`'s docstring) and predictions.csv:

- `gradcam_<slug>.*`: per deep model (its lowest seed), rows = chosen test tracks, columns = the early,
  middle and best epoch's weights: the input chunk (log-mel) in grey with the Grad-CAM map of the target
  class overlaid (opacity grows with the map; an all-zero map is labelled so), time in seconds, mel band upwards;
- `embedding_<slug>.*`: the test tracks' penultimate embeddings in 2-D (PCA, t-SNE), coloured by class;
- `examples_<slug>.*`: per model, classical ones too: a few test tracks' spectrogram thumbnails beside
  their top-5 predicted classes (bars in the model's colour, true labels marked), and the same in a table;
- `tag_map.*` (multi-label runs): tags placed by 2-D metric MDS (fixed random_state) of distance
  1 - correlation, from (a) the true tags' co-occurrence (phi) over the test tracks and (b) each of the
  two best models' predicted probabilities over the test tracks (`tag_map_distances`).
"""

from __future__ import annotations

import inspect
import math
from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.colors import to_rgb

from benchmarks.report.base import Section, ranked_keys, split_predictions, unique_truth
from benchmarks.report.figures import figure, img, model_colors, save
from benchmarks.report.load import RunData, slugs
from benchmarks.report.tables import Grid, grid_html, paragraph
from benchmarks.runfolder import GALLERY_DIR, read_npz, read_part_csv, to_float, to_int

MAX_ROWS = 6  # tracks per Grad-CAM figure
MAX_EXAMPLES = 4  # tracks per predictions-up-close figure
KEY = ["model", "family", "input", "strategy"]


# -- shared -------------------------------------------------------------------------------------------
def _key(row) -> tuple:
    return tuple(str(row[c]) for c in KEY)


def _first_seed(df: pd.DataFrame) -> pd.DataFrame:
    """Each model key's rows of its lowest seed, keys in the order they first appear."""
    df = df.assign(seed=to_int(df["seed"], "gallery seed"))
    low = df.groupby(KEY, sort=False)["seed"].transform("min")
    return df[df["seed"] == low]


def _label(run: RunData, key: tuple) -> str:
    return run.short.get(key, key[0])


def _slug(run: RunData, key: tuple) -> str:
    return run.slugs.get(key) or slugs([key])[key]


def _ordered(run: RunData, keys) -> list[tuple]:
    ranked = {k: i for i, k in enumerate(ranked_keys(run))}
    return sorted(dict.fromkeys(keys), key=lambda k: (ranked.get(k, len(ranked)), k))


def _bin_label(kind: str) -> str:
    return {"mel": "mel band", "mfcc": "MFCC", "stft": "STFT bin", "cqt": "CQT bin"}.get(kind, f"{kind} bin")


def _extent(n_bins: int, frames: int, seconds: float) -> tuple[list[float], str]:
    if np.isfinite(seconds) and seconds > 0:
        return [0.0, seconds, 0.0, float(n_bins)], "time (s)"
    return [0.0, float(frames), 0.0, float(n_bins)], "time (frames)"


# -- Grad-CAM over training -----------------------------------------------------------------------------
def _gradcam_figure(run: RunData, key: tuple, seed: int, z: dict, files: list[Path]) -> Path:
    maps, inputs, epochs = z["maps"].astype(np.float32), z["inputs"].astype(np.float32), z["epochs"]
    rows = min(len(inputs), MAX_ROWS)
    cols = len(epochs)
    n_bins, frames = inputs.shape[1:]
    spf = float(z["seconds_per_frame"])
    roles = z["roles"] if "roles" in z else np.array(["true"] * len(inputs))
    extent, xlabel = _extent(n_bins, frames, frames * spf)
    fig = figure(max(5.2, 2.9 * cols + 1.0), 2.05 * rows + 0.7)
    color = model_colors(run).get(key, "black")
    mesh = None
    for r in range(rows):
        lo, hi = np.nanpercentile(inputs[r], [1, 99.5])
        for c in range(cols):
            ax = fig.add_subplot(rows, cols, r * cols + c + 1)
            ax.imshow(inputs[r], origin="lower", aspect="auto", cmap="gray", vmin=lo, vmax=hi, extent=extent,
                      interpolation="nearest")
            m = np.clip(maps[r, c], 0, 1)
            mesh = ax.imshow(m, origin="lower", aspect="auto", cmap="jet", vmin=0, vmax=1, extent=extent,
                             alpha=0.15 + 0.55 * m, interpolation="bilinear")
            e = int(epochs[c])
            stage = "best" if c == cols - 1 else ("early" if c == 0 else "middle")
            p = float(z["target_probs"][r, c])
            head = f"{z['track_ids'][r]} · {z['targets'][r]} ({roles[r]})"
            head += f" · {z['why'][r]}" if c == 0 else ""
            ax.set_title(f"{head}\nepoch {e} ({stage}), p = {p:.2f}", fontsize=7, loc="left")
            if not m.any():
                ax.text(0.5, 0.93, "map 0: no positive evidence", transform=ax.transAxes, ha="center",
                        va="top", fontsize=6, color="white", bbox={"facecolor": "#333333", "alpha": 0.7,
                                                                    "linewidth": 0, "pad": 1.5})
            ax.tick_params(labelsize=6)
            ax.set_xlabel(xlabel if r == rows - 1 else "", fontsize=7)
            ax.set_ylabel(_bin_label(key[2]) if c == 0 else "", fontsize=7)
    fig.colorbar(mesh, ax=fig.axes, shrink=0.5, label="Grad-CAM (1: strongest evidence for the target)")
    fig.suptitle(f"{_label(run, key)} (seed {seed}): Grad-CAM of the target class over training",
                 fontsize=9, color=color)
    return save(fig, run, f"gradcam_{_slug(run, key)}", files)


def _gradcam(run: RunData, index: pd.DataFrame, files: list[Path]) -> str:
    out = []
    first = _first_seed(index)
    for key in _ordered(run, [_key(r) for r in first.to_dict("records")]):
        rows = first[[_key(r) == key for r in first.to_dict("records")]]
        z = read_npz(run.run_dir, GALLERY_DIR, str(rows["file"].iloc[0]))
        if z is None or not len(z["inputs"]):
            continue
        path = _gradcam_figure(run, key, int(rows["seed"].iloc[0]), z, files)
        out.append(img(path, f"Grad-CAM over training, {_label(run, key)}"))
    if not out:
        return ""
    note = ("Chosen test tracks (the most and least confident right and wrong ones, then one per class), each "
            "with the eval chunk of highest predicted probability for its target: the true class (multi-label: "
            "the true tag predicted highest), and the predicted class as a second row where it differs. "
            "Grey: the model's input; colour: Grad-CAM of the target (gradient-weighted activations of the last "
            "convolution, upsampled; 1-D convolutions map time only), at the early, middle and best epoch's "
            "weights; p: the target's probability on the chunk.")
    return "<h3>Grad-CAM over training</h3>" + paragraph(note) + "".join(out)


# -- embeddings -------------------------------------------------------------------------------------------
def _palette(names: list[str]):
    pal = sns.color_palette("colorblind" if len(names) <= 10 else "husl", len(names))
    return dict(zip(names, pal, strict=True))


def _embedding(run: RunData, emb: pd.DataFrame, files: list[Path]) -> str:
    out = []
    first = _first_seed(emb)
    for key in _ordered(run, [_key(r) for r in first.drop_duplicates(KEY).to_dict("records")]):
        df = first[(first[KEY].astype(str) == pd.Series(key, index=KEY)).all(axis=1)].copy()
        for c in ("pca_1", "pca_2", "tsne_1", "tsne_2"):
            df[c] = to_float(df[c], f"embedding.csv {c}")
        names = [c for c in [*run.classes, "(none)"] if c in set(df["class"])]
        panels = [("PCA", "pca")] + ([("t-SNE", "tsne")] if df["tsne_1"].notna().any() else [])
        fig = figure(4.2 * len(panels) + 1.8, 4.0)
        for i, (title, p) in enumerate(panels):
            ax = fig.add_subplot(1, len(panels), i + 1)
            sns.scatterplot(data=df, x=f"{p}_1", y=f"{p}_2", hue="class", hue_order=names, palette=_palette(names),
                            s=16, linewidth=0.2, edgecolor="#333333", ax=ax, legend=i == len(panels) - 1)
            ax.set_title(f"{title} of the embeddings", fontsize=9)
            ax.set_xlabel(f"{title} 1", fontsize=8)
            ax.set_ylabel(f"{title} 2", fontsize=8)
            ax.tick_params(labelsize=7)
        sns.move_legend(fig.axes[-1], "upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0, frameon=False,
                        fontsize=7, title="true class" if run.task == "single" else "most frequent true tag",
                        title_fontsize=8, ncol=1 if len(names) <= 16 else 2)
        fig.suptitle(f"{_label(run, key)} (seed {int(df['seed'].iloc[0])}): test tracks by their penultimate "
                     f"representation ({len(df)} tracks)", fontsize=9, color=model_colors(run).get(key, "black"))
        out.append(img(save(fig, run, f"embedding_{_slug(run, key)}", files), f"embedding of {_label(run, key)}"))
    if not out:
        return ""
    note = ("Each point is a test track: the mean over its eval chunks of the input of the model's output layer "
            "(best epoch), projected to 2-D by PCA and by t-SNE (fixed seed). Tracks of a class that cluster are "
            "ones the model tells apart before its last layer.")
    return "<h3>Embeddings</h3>" + paragraph(note) + "".join(out)


# -- predictions up close ---------------------------------------------------------------------------------
def _bars(bx, rows: pd.DataFrame, color, task: str, last: bool) -> None:
    """Top-5 bars of one track, best on top; a true label's bar edged black, its name bold with a tick."""
    probs = to_float(rows["probability"], "examples.csv probability").to_numpy()
    true = rows["is_true"].astype(int).to_numpy().astype(bool)
    y = np.arange(len(rows))[::-1]
    bx.barh(y, probs, color=color, edgecolor=np.where(true, "black", "none"), linewidth=1.2, height=0.7)
    labels = [f"{'✓ ' if t else ''}{p}" for p, t in zip(rows["predicted"], true, strict=True)]
    bx.set_yticks(y, labels=labels, fontsize=7)
    for tick, t in zip(bx.get_yticklabels(), true, strict=True):
        tick.set_fontweight("bold" if t else "normal")
    r, g, b = to_rgb(color)
    on_bar = "white" if 0.299 * r + 0.587 * g + 0.114 * b < 0.6 else "black"  # readable on the model's colour
    for yy, p in zip(y, probs, strict=True):  # long bars carry their value inside
        inside = p > 0.8
        bx.text(p - 0.02 if inside else p + 0.02, yy, f"{p:.2f}", va="center", ha="right" if inside else "left",
                fontsize=6, color=on_bar if inside else "black", fontweight="bold" if inside else "normal")
    if task == "multi":
        bx.axvline(0.5, color="#666666", linestyle="--", linewidth=0.7)
    bx.set_xlim(0, 1)
    bx.tick_params(axis="x", labelsize=6)
    bx.set_xlabel(("predicted probability" + (" (dashed: 0.5)" if task == "multi" else "")) if last else "",
                  fontsize=7)


def _examples_figure(run: RunData, key: tuple, df: pd.DataFrame, thumbs: dict, files: list[Path]) -> Path:
    tracks = list(dict.fromkeys(df["track_id"]))[:MAX_EXAMPLES]
    color = model_colors(run).get(key, "#4c72b0")
    with_thumbs = any(t in thumbs for t in tracks)  # none (a run without deep galleries): bars only
    fig = figure(8.0 if with_thumbs else 4.6, 1.75 * len(tracks) + 0.6)
    grid = fig.add_gridspec(len(tracks), 2, width_ratios=[1.25, 1.0]) if with_thumbs else None
    for r, tid in enumerate(tracks):
        rows = df[df["track_id"] == tid].sort_values("rank")
        why = str(rows["why"].iloc[0])
        title = f"{tid} ({why})\ntrue: {rows['true'].iloc[0].replace('|', ', ') or '(none)'}"
        if not with_thumbs:
            bx = fig.add_subplot(len(tracks), 1, r + 1)
            bx.set_title(title, fontsize=7, loc="left")
            _bars(bx, rows, color, run.task, last=r == len(tracks) - 1)
            continue
        ax = fig.add_subplot(grid[r, 0])
        if tid in thumbs:
            th, secs = thumbs[tid]
            th = th[:, ~np.isnan(th).all(0)][~np.isnan(th).all(1)]
            extent, xlabel = _extent(th.shape[0], th.shape[1], secs)
            lo, hi = np.nanpercentile(th, [1, 99.5])
            ax.imshow(th, origin="lower", aspect="auto", cmap="magma", vmin=lo, vmax=hi, extent=extent)
            ax.set_xlabel(xlabel if r == len(tracks) - 1 else "", fontsize=7)
            ax.set_ylabel("band", fontsize=7)
        else:
            ax.text(0.5, 0.5, "no spectrogram stored\n(no deep fit saw this track)", ha="center", va="center",
                    fontsize=7, color="#555555", transform=ax.transAxes)
            ax.set_xticks([])
            ax.set_yticks([])
        ax.tick_params(labelsize=6)
        ax.set_title(title, fontsize=7, loc="left")
        _bars(fig.add_subplot(grid[r, 1]), rows, color, run.task, last=r == len(tracks) - 1)
    fig.suptitle(f"{_label(run, key)} (seed {int(df['seed'].iloc[0])}): top-5 predictions of chosen test tracks\n"
                 "✓ and black edge: a true label", fontsize=9)
    return save(fig, run, f"examples_{_slug(run, key)}", files)


def _examples(run: RunData, ex: pd.DataFrame, files: list[Path]) -> str:
    if ex.empty:
        return ""
    z = read_npz(run.run_dir, GALLERY_DIR, "examples.npz")
    thumbs = {}
    if z is not None:
        for t, th, s in zip(z["track_ids"], z["thumbs"], z["seconds"], strict=True):
            thumbs[str(t)] = (th.astype(np.float32), float(s))
    first = _first_seed(ex)
    out = []
    g = Grid(["Model", "Track", "Chosen as", "True", "Top-5 predicted (probability; ✓ true)"], [],
             ["l", "l", "l", "l", "l"])
    for key in _ordered(run, [_key(r) for r in first.drop_duplicates(KEY).to_dict("records")]):
        df = first[(first[KEY].astype(str) == pd.Series(key, index=KEY)).all(axis=1)]
        out.append(img(_examples_figure(run, key, df, thumbs, files), f"predictions up close, {_label(run, key)}"))
        for tid, rows in df.groupby("track_id", sort=False):
            rows = rows.sort_values("rank")
            top = ", ".join(f"{'✓ ' if int(t) else ''}{p} ({float(q):.2f})" for p, q, t in
                            zip(rows["predicted"], rows["probability"], rows["is_true"], strict=True))
            g.rows.append([_label(run, key), str(tid), str(rows["why"].iloc[0]),
                           str(rows["true"].iloc[0]).replace("|", ", "), top])
    link = f'<p>All rows: <a href="{GALLERY_DIR}/examples.csv">{GALLERY_DIR}/examples.csv</a>.</p>'
    note = (f"For each model (its lowest seed), test tracks chosen from its own predictions as above; "
            f"figures show the first {MAX_EXAMPLES}, with the spectrogram a deep fit saw (pooled).")
    return ("<h3>Predictions up close</h3>" + paragraph(note) + "".join(out) + grid_html(g, "results")
            + link)


# -- the tag map ------------------------------------------------------------------------------------------
def tag_map_distances(X: np.ndarray) -> np.ndarray:
    """1 - Pearson correlation between the columns of X (n, C): for 0/1 tags the phi coefficient, for
    probabilities their correlation over tracks. A constant column (a tag never or always present)
    correlates 0 with every other (distance 1). Returns (C, C) float64, symmetric, zero diagonal."""
    X = np.asarray(X, dtype=np.float64)
    Z = X - X.mean(0)
    sd = np.sqrt((Z**2).sum(0))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = (Z.T @ Z) / np.outer(sd, sd)
    corr = np.where(np.isfinite(corr), corr, 0.0)
    D = np.clip(1.0 - (corr + corr.T) / 2, 0.0, 2.0)
    np.fill_diagonal(D, 0.0)
    return D


def _mds(D: np.ndarray) -> np.ndarray:
    from sklearn.manifold import MDS

    params = inspect.signature(MDS).parameters
    if "metric_mds" in params:  # scikit-learn >= 1.8 spells "precomputed" as the metric
        mds = MDS(n_components=2, metric="precomputed", metric_mds=True, init="classical_mds", random_state=0,
                  normalized_stress="auto")
    else:
        mds = MDS(n_components=2, dissimilarity="precomputed", random_state=0, n_init=4, normalized_stress="auto")
    return mds.fit_transform(D)


def _tag_panel(ax, xy: np.ndarray, tags: list[str], present: np.ndarray, color, title: str) -> None:
    ax.scatter(xy[present, 0], xy[present, 1], s=18, color=color, edgecolor="#222222", linewidth=0.3)
    ax.scatter(xy[~present, 0], xy[~present, 1], s=14, color="#bbbbbb", marker="x", linewidth=0.8)
    fs = 7 if len(tags) <= 30 else 5
    for (x, y), t, p in zip(xy, tags, present, strict=True):
        ax.annotate(t, (x, y), xytext=(3, 2), textcoords="offset points", fontsize=fs,
                    color="#222222" if p else "#888888")
    ax.margins(0.15)
    ax.set_title(title, fontsize=8)
    ax.set_xlabel("MDS 1", fontsize=7)
    ax.set_ylabel("MDS 2", fontsize=7)
    ax.tick_params(labelsize=6)
    ax.set_aspect("equal", adjustable="datalim")


def _tag_map(run: RunData, files: list[Path]) -> str:
    Y = unique_truth(run)
    if Y is None or len(run.classes) < 3:
        return ""
    preds = split_predictions(run)
    models = [k for k in _ordered(run, preds) if k in preds][:2]
    panels = [("(a) true tags: co-occurrence (phi)", tag_map_distances(Y), Y.any(0), "#555555")]
    colors = model_colors(run)
    for i, k in enumerate(models):
        P = np.concatenate([p for _, p in preds[k]])
        panels.append((f"({'bc'[i]}) {_label(run, k)}: predicted probabilities", tag_map_distances(P),
                       np.ptp(P, axis=0) > 0, colors.get(k)))
    n = len(panels)
    ncols = min(n, 3)
    side = 3.6 if len(run.classes) <= 30 else 4.8
    fig = figure(side * ncols, side * math.ceil(n / ncols) + 0.5)
    for i, (title, D, present, color) in enumerate(panels):
        _tag_panel(fig.add_subplot(math.ceil(n / ncols), ncols, i + 1), _mds(D), list(run.classes),
                   np.asarray(present, bool), color, title)
    fig.suptitle(f"Tag map, {run.split} split: tags that co-occur or are predicted together lie close "
                 "(MDS of 1 - correlation)", fontsize=9)
    note = (f"Each tag is a point; distances approximate 1 - correlation between tags over the {run.split} tracks "
            f"({len(Y)} tracks): (a) of the true tags (phi coefficient: co-occurrence), then of each of the best "
            "two models' predicted probabilities (pooled over seeds). Metric MDS, fixed random_state; axes have no "
            "units, and each panel may be rotated or mirrored relative to the others. Grey crosses: tags absent "
            "from (or constant over) the tracks.")
    return "<h3>Tag map</h3>" + paragraph(note) + img(save(fig, run, "tag_map", files), "tag map")


# -- the section ------------------------------------------------------------------------------------------
def section_gallery(run: RunData) -> Section | None:
    """Grad-CAM over training, embeddings, predictions up close and (multi-label) the tag map; None when
    the run folder has no gallery/."""
    if not (run.run_dir / GALLERY_DIR).is_dir():
        return None
    files: list[Path] = []
    parts = []
    index = read_part_csv(run.run_dir, GALLERY_DIR, "gallery.csv")
    if index is not None and not index.empty:
        parts.append(_gradcam(run, index, files))
    emb = read_part_csv(run.run_dir, GALLERY_DIR, "embedding.csv")
    if emb is not None and not emb.empty:
        parts.append(_embedding(run, emb, files))
    ex = read_part_csv(run.run_dir, GALLERY_DIR, "examples.csv")
    if ex is not None:
        parts.append(_examples(run, ex, files))
    if run.task == "multi":
        parts.append(_tag_map(run, files))
    body = "".join(parts)
    if not body:
        return None
    return Section("gallery", "Inside the models: Grad-CAM, embeddings, predictions up close", body, files)
