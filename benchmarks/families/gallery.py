"""The deep family's gallery: after a fit, Grad-CAM maps of chosen test tracks at early, middle and best
weights, the penultimate embedding of every test track (`gallery_data`, run where the fit ran), and the
run folder's `gallery/` files written from them and from predictions.csv (`write_gallery`).

Files (under `gallery/`, written through `benchmarks.runfolder`; same results give the same bytes):

- `gradcam_<model>_<strategy>_s<seed>.npz`, one per deep fit with a gallery; rows r = (track, target):
    inputs (rows, n_bins, frames) float16: the model's input chunk (log-mel in dB, or the front-end's
        output: MFCC, STFT, CQT; of mel+cqt's two channels the log-mel, channel 0, on whose grid the map
        of both lies) of highest predicted probability for the target among the eval chunks;
    maps (rows, snapshots, n_bins, frames) float16 in [0, 1]: Grad-CAM of the target (`deep.inspect`);
    epochs (snapshots,) int64: the epochs of the weights (early, middle, best; fewer when they coincide);
    track_ids, why, targets, roles (rows,) str: track, why it was chosen (`choose_tracks`), target class
        name, "true" (the true class; multi: the true tag predicted highest) or "predicted" (the top
        predicted class where it differs, or the top tag of a track without tags);
    target_index, chunk_start (rows,) int64: class index; the chunk's first frame in the track;
    target_probs (rows, snapshots) float32: the target's probability on that chunk at each snapshot;
    best_epoch () int64; seconds_per_frame () float64 (NaN when unknown).
- `gallery.csv`: one row per npz row: model, family, input, strategy, seed, file, row, track_id, why,
    target, role, chunk_start, epochs (joined by "|"), p_best (target probability at the best epoch).
- `embedding.csv`: per deep fit and test track: model, family, input, strategy, seed, track_id, class
    (single: the true class; multi: the track's true tag that is most frequent among the test tracks,
    "(none)" without a tag), labels (all true labels, "|"), pca_1, pca_2 (PCA of the embeddings, the
    mean over a track's eval chunks of the head's input), tsne_1, tsne_2 (t-SNE, random_state 0,
    perplexity min(30, (n - 1) / 3); empty below 5 tracks).
- `examples.csv`: predictions up close for every model of predictions.csv, classical ones too: per model
    key and its lowest seed, the test tracks `choose_tracks` picks from its probabilities, five rows each:
    model, family, input, strategy, seed, track_id, why, true (true labels, "|"), rank (1..5),
    predicted (class), probability, is_true (1 when the predicted class is a true label).
- `examples.npz`: track_ids (n,) str, thumbs (n, bins, frames) float16: a thumbnail (the middle eval
    chunk of the model input, its first channel, average-pooled to at most 48 x 96; NaN-padded to a
    common shape) of each example track a deep fit saw, and seconds (n,) float64: the chunk's duration
    (NaN when unknown).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from benchmarks.runfolder import GALLERY_DIR, PREDICTION_KEYS, decode_predictions, write_npz, write_part_csv
from deep import distributed
from features.errors import ConfigError

if TYPE_CHECKING:  # torch is imported where a fit's gallery is made: writing the files needs none of it
    import torch
    from torch import nn

    from deep.data import ChunkDataset
    from deep.inspect import Snapshots

log = logging.getLogger(__name__)

KEY_COLUMNS = ["model", "family", "input", "strategy", "seed"]
TOP_K = 5
THUMB_SHAPE = (48, 96)  # 9 KB a test track travels back with each fit
WHY_FIXED = ("most confident correct", "most confident wrong", "least confident correct", "least confident wrong")


# -- choosing tracks ----------------------------------------------------------------------------------
def _correct_and_confidence(probs: np.ndarray, y: np.ndarray, task: str) -> tuple[np.ndarray, np.ndarray]:
    """Per track: whether the top predicted class is right (multi: a true tag), and its probability."""
    top = probs.argmax(1)
    conf = probs[np.arange(len(probs)), top]
    right = top == y if task == "single" else y[np.arange(len(y)), top].astype(bool)
    return right, conf


def choose_tracks(probs_test: np.ndarray, y_test: np.ndarray, track_ids: Sequence[str], task: str,
                  classes: Sequence[str], n: int) -> list[tuple[str, str]]:
    """Up to `n` distinct test tracks worth a close look, as (track_id, why), deterministically.

    probs_test (n_tracks, C); y_test (n_tracks,) class indices or (n_tracks, C) 0/1; confidence is the
    top predicted probability, "correct" means the top predicted class is the true class (multi: one of
    the true tags). First the most confident correct, most confident wrong, least confident correct and
    least confident wrong track (those that exist), then round-robin over the classes in class order the
    class's next track (tracks of the class (multi: with the tag) by the class's probability, highest
    first), why = "class <name>", until `n` tracks or none left. Ties go to the earlier track.
    """
    probs = np.asarray(probs_test, dtype=np.float64)
    y = np.asarray(y_test)
    if task not in ("single", "multi"):
        raise ConfigError(f"task={task!r} must be 'single' or 'multi'")
    if len(probs) != len(y) or len(probs) != len(track_ids):
        raise ConfigError(f"{len(probs)} probability rows, {len(y)} targets and {len(track_ids)} track ids differ")
    if n <= 0 or not len(probs):
        return []
    right, conf = _correct_and_confidence(probs, y, task)
    idx = np.arange(len(probs))
    chosen: list[int] = []
    why: list[str] = []

    def add(i: int, reason: str) -> None:
        if i not in chosen and len(chosen) < n:
            chosen.append(int(i))
            why.append(reason)

    for reason, mask, sign in zip(WHY_FIXED, (right, ~right, right, ~right), (-1, -1, 1, 1), strict=True):
        cand = idx[mask & ~np.isin(idx, chosen)]
        if len(cand):
            add(int(cand[np.lexsort((cand, sign * conf[cand]))[0]]), reason)
    queues = []
    for c in range(len(classes)):
        members = idx[(y == c) if task == "single" else y[:, c].astype(bool)]
        queues.append(list(members[np.lexsort((members, -probs[members, c]))]))
    while len(chosen) < n and any(queues):
        for c, q in enumerate(queues):
            while q and q[0] in chosen:
                q.pop(0)
            if q:
                add(q.pop(0), f"class {classes[c]}")
    return [(str(track_ids[i]), w) for i, w in zip(chosen, why, strict=True)]


# -- after a fit: maps, inputs and embeddings -----------------------------------------------------------
def _model_input(frontend: nn.Module | None, x: torch.Tensor, dev: torch.device) -> torch.Tensor:
    import torch

    x = x.to(dev)
    if frontend is None:
        return x
    with torch.no_grad():
        return frontend.to(dev)(x)


def _probs(net: nn.Module, x: torch.Tensor, task: str) -> np.ndarray:
    import torch

    was = net.training
    net.eval()
    try:
        with torch.no_grad():
            logits = net(x).float()
    finally:
        net.train(was)
    p = torch.softmax(logits, 1) if task == "single" else torch.sigmoid(logits)
    return p.cpu().numpy()


def _targets_of(i: int, probs: np.ndarray, y: np.ndarray, task: str) -> list[tuple[int, str]]:
    """(class, role) pairs: the true class (multi: the true tag of highest predicted probability; a track
    without tags: the top predicted tag), role "true", then the top predicted class, role "predicted",
    when it differs."""
    top = int(probs[i].argmax())
    if task == "single":
        first = int(y[i])
    else:
        tags = np.flatnonzero(y[i])
        if not len(tags):
            return [(top, "predicted")]
        first = int(tags[np.argmax(probs[i, tags])])
    return [(first, "true")] if top == first else [(first, "true"), (top, "predicted")]


def gallery_data(net: nn.Module, snapshots: Snapshots, test_dataset: ChunkDataset, frontend: nn.Module | None,
                 probs_test: np.ndarray, y_test: np.ndarray, track_ids: Sequence[str], task: str,
                 classes: Sequence[str], n: int, best_epoch: int, *, seconds_per_frame: float | None = None,
                 batch_size: int = 32) -> dict | None:
    """The gallery of one fit, run right after it (the net holds the best weights, which it holds again
    on return): see the module docstring for what each array means. None (logged) for a model Grad-CAM
    cannot map (waveform input, no convolution) or when `n` is 0.

    test_dataset: the test tracks (eval chunks are used); probs_test (n_tracks, C) the fit's test
    predictions in `track_ids` order; y_test its targets; snapshots: the fit's `Snapshots` callback.
    Returns plain numpy arrays, lists and numbers (it travels between processes).
    """
    import torch

    from deep.inspect import grad_cam, last_conv

    if n <= 0:
        return None
    if getattr(net, "input_kind", "mel") == "waveform":
        log.info("gallery: %s takes waveforms; no Grad-CAM maps", type(net).__name__)
        return None
    try:
        last_conv(net)
    except ConfigError as e:
        log.info("gallery: no Grad-CAM maps (%s)", e)
        return None
    ds = test_dataset if test_dataset.mode == "eval" else test_dataset.with_mode("eval")
    pos = {t: i for i, t in enumerate(ds.track_ids)}
    y = np.asarray(y_test)
    dev = next(iter(net.parameters())).device
    best_state = {k: v.detach().to("cpu", copy=True) for k, v in net.state_dict().items()}
    picked = snapshots.pick(best_epoch, best_state)
    rows = []  # (track_id, why, target, chunk start, role)
    chunks = []
    k = ds.n_eval_chunks
    for tid, why in choose_tracks(probs_test, y, track_ids, task, classes, n):
        i = list(track_ids).index(tid)
        items = [ds[pos[tid] * k + j] for j in range(k)]
        x = _model_input(frontend, torch.stack([it[0] for it in items]), dev)
        p = _probs(net, x, task)  # (k, C)
        for target, role in _targets_of(i, probs_test, y, task):
            j = int(p[:, target].argmax())
            rows.append((tid, why, target, ds.locate(pos[tid] * k + j)[1], role))
            chunks.append(x[j])
    if not rows:
        return None
    inputs = torch.stack(chunks)  # the model's: (rows, n_bins, frames) or (rows, channels, n_bins, frames)
    shown = inputs[:, 0] if inputs.dim() == 4 else inputs  # (rows, n_bins, frames): the first channel
    targets = np.array([r[2] for r in rows], dtype=np.int64)
    maps, tprobs = [], []
    try:
        for epoch, state in picked:
            net.load_state_dict(state)
            try:
                m = np.concatenate([grad_cam(net, inputs[s : s + batch_size], targets[s : s + batch_size])
                                    for s in range(0, len(rows), batch_size)])
            except ConfigError as e:
                log.info("gallery: no Grad-CAM maps for %s (%s)", type(net).__name__, e)
                return None
            maps.append(m)
            p = np.concatenate([_probs(net, inputs[s : s + batch_size], task)
                                for s in range(0, len(rows), batch_size)])
            tprobs.append(p[np.arange(len(rows)), targets])
            log.debug("gallery: Grad-CAM at epoch %d done", epoch)
    finally:
        net.load_state_dict(best_state)
    emb, thumbs = _embed_all(net, ds, frontend, dev, batch_size)
    return {
        "track_ids": [r[0] for r in rows], "why": [r[1] for r in rows],
        "targets": [str(classes[t]) for t in targets], "target_index": targets, "roles": [r[4] for r in rows],
        "chunk_start": np.array([r[3] for r in rows], dtype=np.int64),
        "inputs": shown.cpu().numpy().astype(np.float16),
        "maps": np.stack(maps, axis=1).astype(np.float16),
        "epochs": np.array([e for e, _ in picked], dtype=np.int64),
        "target_probs": np.stack(tprobs, axis=1).astype(np.float32),
        "best_epoch": int(best_epoch),
        "seconds_per_frame": float("nan") if seconds_per_frame is None else float(seconds_per_frame),
        "embedding": emb, "embedding_track_ids": list(ds.track_ids),
        "embedding_labels": _labels(ds.targets, classes, ds.task),
        "thumbs": thumbs,
        "thumb_seconds": float(inputs.shape[-1] * seconds_per_frame) if seconds_per_frame else float("nan"),
    }


def _labels(y: np.ndarray, classes: Sequence[str], task: str) -> list[str]:
    if task == "single":
        return [str(classes[int(v)]) for v in y]
    return ["|".join(str(c) for c, on in zip(classes, row, strict=True) if on) for row in y]


def _embed_all(net, ds: ChunkDataset, frontend, dev, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """(mean over each track's eval chunks of `embed`, (n_tracks, dim) float32; the middle chunk's input
    average-pooled to at most THUMB_SHAPE, (n_tracks, bins, frames) float16)."""
    import torch
    import torch.nn.functional as F

    from deep.inspect import embed

    sums, thumbs = None, [None] * ds.n_tracks
    counts = np.zeros(ds.n_tracks)
    mid = ds.n_eval_chunks // 2
    for s in range(0, len(ds), batch_size):
        items = [ds[i] for i in range(s, min(s + batch_size, len(ds)))]
        x = _model_input(frontend, torch.stack([it[0] for it in items]), dev)
        e = embed(net, x, batch_size)
        if sums is None:
            sums = np.zeros((ds.n_tracks, e.shape[1]), np.float64)
        tracks = np.array([it[2] for it in items])
        np.add.at(sums, tracks, e)
        np.add.at(counts, tracks, 1)
        for r, i in enumerate(range(s, s + len(items))):
            if i % ds.n_eval_chunks == mid:
                img = x[r, 0] if x[r].dim() == 3 else x[r]
                size = (min(THUMB_SHAPE[0], img.shape[-2]), min(THUMB_SHAPE[1], img.shape[-1]))
                thumbs[i // ds.n_eval_chunks] = F.adaptive_avg_pool2d(img[None].float(), size)[0].cpu().numpy()
    return (sums / counts[:, None]).astype(np.float32), np.stack(thumbs).astype(np.float16)


# -- the run folder's gallery/ ----------------------------------------------------------------------------
def _stem(key: dict) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", f"{key['model']}_{key['strategy']}_s{key['seed']}").strip("-")


def _key_cols(key: dict) -> dict:
    return {c: key[c] for c in KEY_COLUMNS}


def _projections(emb: np.ndarray) -> np.ndarray:
    """(n, 4): PCA 1-2 and t-SNE 1-2 (NaN below 5 tracks), rounded to 6 decimals for stable files."""
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    n = len(emb)
    out = np.full((n, 4), np.nan)
    if n >= 2:
        k = min(2, n, emb.shape[1])
        out[:, :k] = PCA(n_components=k, svd_solver="full").fit_transform(emb.astype(np.float64))
    if n >= 5:
        tsne = TSNE(n_components=2, perplexity=min(30.0, (n - 1) / 3), init="pca", random_state=0, n_jobs=1)
        out[:, 2:] = tsne.fit_transform(emb.astype(np.float64))
    return np.round(out, 6)


def _embedding_rows(key: dict, g: dict) -> pd.DataFrame:
    labels = [str(v) for v in g["embedding_labels"]]
    tags = [v.split("|") if v else [] for v in labels]
    freq = pd.Series([t for ts in tags for t in ts], dtype=object).value_counts()
    main = [min(ts, key=lambda t: (-freq[t], t)) if ts else "(none)" for ts in tags]
    proj = _projections(np.asarray(g["embedding"]))
    df = pd.DataFrame({**_key_cols(key), "track_id": list(g["embedding_track_ids"]),
                       "class": main, "labels": labels})
    for j, c in enumerate(("pca_1", "pca_2", "tsne_1", "tsne_2")):
        df[c] = proj[:, j]
    return df


def _examples(predictions: pd.DataFrame, n: int) -> pd.DataFrame:
    """examples.csv rows from predictions.csv's test rows (see the module docstring)."""
    cols = ["model", "family", "input", "strategy", "seed", "track_id", "why", "true", "rank", "predicted",
            "probability", "is_true"]
    if predictions is None or predictions.empty or n <= 0:
        return pd.DataFrame(columns=cols)
    pcols = [c for c in predictions.columns if c.startswith("p:")]
    classes = [c[2:] for c in pcols]
    task = "multi" if "labels" in predictions.columns else "single"
    test = predictions[predictions["split"].astype(str) == "test"]
    out = []
    for key, g in test.groupby(PREDICTION_KEYS[2:6], sort=True):
        g = g[g["seed"] == g["seed"].min()]
        y, P = decode_predictions(g, classes, task)
        ids = g["track_id"].astype(str).tolist()
        for tid, why in choose_tracks(P, y, ids, task, classes, n):
            i = ids.index(tid)
            true = {classes[int(y[i])]} if task == "single" else {classes[c] for c in np.flatnonzero(y[i])}
            order = np.lexsort((np.arange(len(classes)), -P[i]))[:TOP_K]
            for r, c in enumerate(order, start=1):
                out.append({"model": key[0], "family": key[1], "input": key[2], "strategy": key[3],
                            "seed": int(g["seed"].iloc[0]), "track_id": tid, "why": why,
                            "true": "|".join(sorted(true, key=classes.index)), "rank": r, "predicted": classes[c],
                            "probability": round(float(P[i, c]), 6), "is_true": int(classes[c] in true)})
    return pd.DataFrame(out, columns=cols)


def write_gallery(run_dir: Path, galleries: list[tuple[dict, dict]], predictions: pd.DataFrame | None, *,
                  n_examples: int = 8) -> list[Path]:
    """Write the run folder's `gallery/` files (module docstring) from the fits' galleries, each (key, the
    dict `gallery_data` returned) with key the metric rows' dataset, model, family, input, strategy and
    seed, and from the run's predictions (examples.csv: `n_examples` tracks per model). Under torchrun
    only rank 0 writes. Returns the files written."""
    if not distributed.is_main():
        return []
    run_dir = Path(run_dir)
    files, index, embeds = [], [], []
    thumbs: dict[str, tuple[np.ndarray, float]] = {}
    for key, g in sorted(galleries, key=lambda kg: tuple(str(kg[0][c]) for c in KEY_COLUMNS)):
        name = f"gradcam_{_stem(key)}.npz"
        files.append(write_npz(
            run_dir, GALLERY_DIR, name, inputs=np.asarray(g["inputs"], np.float16),
            maps=np.asarray(g["maps"], np.float16), epochs=np.asarray(g["epochs"], np.int64),
            track_ids=np.array(g["track_ids"], dtype=str), why=np.array(g["why"], dtype=str),
            targets=np.array(g["targets"], dtype=str), roles=np.array(g["roles"], dtype=str),
            target_index=np.asarray(g["target_index"], np.int64),
            chunk_start=np.asarray(g["chunk_start"], np.int64),
            target_probs=np.asarray(g["target_probs"], np.float32),
            best_epoch=np.array(g["best_epoch"], np.int64),
            seconds_per_frame=np.array(g["seconds_per_frame"], np.float64)))
        epochs = "|".join(str(int(e)) for e in g["epochs"])
        for r, tid in enumerate(g["track_ids"]):
            index.append({**_key_cols(key), "file": name, "row": r, "track_id": tid, "why": g["why"][r],
                          "target": g["targets"][r], "role": g["roles"][r], "chunk_start": int(g["chunk_start"][r]),
                          "epochs": epochs,
                          "p_best": round(float(g["target_probs"][r][-1]), 6)})
        embeds.append(_embedding_rows(key, g))
        for tid, th in zip(g["embedding_track_ids"], g["thumbs"], strict=True):
            thumbs.setdefault(str(tid), (np.asarray(th, np.float16), float(g.get("thumb_seconds", np.nan))))
    if index:
        files.append(write_part_csv(run_dir, GALLERY_DIR, "gallery.csv", pd.DataFrame(index)))
        files.append(write_part_csv(run_dir, GALLERY_DIR, "embedding.csv", pd.concat(embeds, ignore_index=True)))
    examples = _examples(predictions, n_examples)
    files.append(write_part_csv(run_dir, GALLERY_DIR, "examples.csv", examples))
    shown = [t for t in dict.fromkeys(examples["track_id"].astype(str)) if t in thumbs]
    if shown:
        shape = np.max([thumbs[t][0].shape for t in shown], axis=0)
        stack = np.full((len(shown), *shape), np.nan, np.float16)
        for i, t in enumerate(shown):
            th = thumbs[t][0]
            stack[i, : th.shape[0], : th.shape[1]] = th
        files.append(write_npz(run_dir, GALLERY_DIR, "examples.npz", track_ids=np.array(shown, dtype=str),
                               thumbs=stack, seconds=np.array([thumbs[t][1] for t in shown], np.float64)))
    return files
