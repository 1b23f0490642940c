"""The dataset analysis ("look at the data"): numbers about a run's tracks, labels, log-mel spectrograms and
hand-crafted features, written to the run folder's `analysis/` sub-folder (`benchmarks.runfolder.ANALYSIS_DIR`)
for the report's dataset-analysis section (`benchmarks.report.analysis`) to draw. A producer: it reads what the
run already built (`ExperimentResult.inputs`: the feature matrix of the classical models, the log-mel store of
the deep ones) and never decodes audio; a part whose input the run did not build is skipped with a note
(`python -m benchmarks.analyze --dataset NAME` builds both from the caches). Everything is seeded: the same run
gives byte-identical files.

`write_analysis(run_dir, cfg, ds, res)` writes the files below and returns notes for the run. The tracks are
those of the run (`res.table`: every split, the tracks every model was scored on); "labels" is a track's label
(single-label) or its tags joined by "|" (multi-label); "class" of a track in the embeddings is its label or
its most frequent tag (ties by class order).

Files of `analysis/`
--------------------
- `summary.csv`: key, value (text): task, n_tracks, n_classes, imbalance_ratio (largest / smallest class
  count in train over the classes train holds), largest_class, largest_count, smallest_class, smallest_count,
  n_classes_absent (classes train lacks), mean_tags_per_track (multi), log-mel facts (mel_tracks,
  n_outliers, floor_db, z_limit, n_mels, sr, hop_length, fmin, fmax, log), profile_pca_explained_1/_2,
  embedding facts (pca_explained_1/_2, tsne_perplexity, embedding_columns, embedding_columns_dropped),
  importance facts (importance_split, importance_valid_tracks, importance_seed, importance_repeats,
  importance_score).
- `notes.csv`: part, note: each part left out and why (and the command that builds its input).
- `class_counts.csv`: split, class, count: tracks carrying each class (multi: tag) per split present
  (train, valid, test) and "all"; zero counts included, classes in class order.
- `tags_per_track.csv` (multi): split, n_tags, n_tracks: how many tracks carry n_tags tags, per split and "all".
- `tags.npz` (multi): classes (C,) str, cooccurrence (C, C) int64 (tracks carrying both tags, Y.T @ Y for the
  multi-hot matrix Y of every track; the diagonal: tracks per tag), phi (C, C) float64 (the phi coefficient,
  the Pearson correlation of two tags' 0/1 columns, as np.corrcoef(Y.T); NaN for a tag on every track or none).
- `top_pairs.csv` (multi): tag_a, tag_b, phi, both (tracks with both), n_a, n_b: the 10 pairs with the
  highest phi.
- `mel_tracks.csv`: track_id, split, labels, n_frames, min_db, max_db, mean_db (over all bands and frames of
  the track's log-mel, in dB: log='log1p' stores are converted back to dB), energy_db (the mean energy: the
  mean over frames of the frame energy 10 log10(sum over mel bands of 10^(dB / 10)), i.e. of the frame's total
  mel power in dB), z (robust z-score of mean_db: 0.6745 (x - median) / MAD over the tracks).
- `mel_outliers.csv`: track_id, split, labels, reason, mean_db, max_db, z: tracks whose max dB is at the floor
  10 log10(amin) ("silent: max dB at the floor"), or whose z is below -3.5 ("silent: ...") or above 3.5
  ("loud: ...", e.g. clipped or boosted).
- `mel_profiles.npz`: classes (C,) str, profiles (C, n_mels) float64 (the mean dB of each mel band per class:
  the mean over the class's tracks, multi: the tracks carrying the tag, of each track's mean over frames; NaN
  for a class without a track), n_tracks (C,) int64, band_hz (n_mels,) band centre frequencies, pca (C, 2) the
  class profiles projected on their first two principal components (sklearn PCA of the defined rows),
  explained_variance_ratio (2,).
- `examples.npz`: mel (k, n_mels, F) float16 dB (one training track per class, the first by track_id carrying
  it, a crop of at most 10 s from its middle; NaN past a shorter crop), n_frames (k,), start_frame (k,),
  track_id (k,) str, class (k,) str, frame_rate () frames per second.
- `waveform_variance.csv`: track_id, split, class, variance: the `moment_var` feature (the waveform's sample
  variance) of every track, one row per class it carries.
- `embedding.csv`: track_id, split, class, pca_1, pca_2, tsne_1, tsne_2: the standardized feature vectors of
  every track (excerpt rows averaged per track) in 2-D: PCA, and t-SNE (seed cfg.seeds[0], init PCA,
  perplexity min(30, (n - 1) / 3)); the standardization and the PCA are fitted on the training tracks only.
- `importance_family.csv`: model, family, input, strategy (the run's model keys), kind, feature_family,
  importance, std, n_columns, baseline. kind "permutation": the drop of the main score (accuracy, or mAP) on
  the validation split when all of a family's columns are shuffled together across the rows, mean and std over
  5 repeats, baseline the unshuffled score; kind "tree" (rf, xgb): the fitted trees' `feature_importances_`
  summed per family (summing to 1 over the families). Families (`matrix.FEATURE_FAMILIES`): mfcc, chroma,
  spectral contrast, spectral shape (centroid, bandwidth, roll-off, flatness), rms, zcr, rhythm (tempo),
  moments, other. Each classical model of the run is fit once on the train split, strategy none, seed
  cfg.seeds[0], with the classical family's pipeline.
- `importance_features.csv`: model, family, input, strategy, rank, feature, feature_family, importance: the
  trees' 20 most important single columns.

Modules: `labels` (counts, imbalance, co-occurrence, phi), `mel` (log-mel statistics, outliers, profiles,
examples), `matrix` (waveform variance, embeddings, importances).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from benchmarks.analysis import labels as L
from benchmarks.analysis import matrix as F
from benchmarks.analysis import mel as S
from benchmarks.config import RunConfig
from benchmarks.datasets.base import LoadedDataset
from benchmarks.families import family_of, load_family
from benchmarks.runfolder import ANALYSIS_DIR, write_npz, write_part_csv
from benchmarks.splits import SPLITS
from deep import distributed

if TYPE_CHECKING:  # the fit loop hands its result over; this package does not run it
    from benchmarks.experiment import ExperimentResult

__all__ = ["FEATURE_FAMILIES", "build_hint", "feature_family", "write_analysis"]

FEATURE_FAMILIES = F.FEATURE_FAMILIES
feature_family = F.feature_family
log = logging.getLogger(__name__)


def build_hint(cfg: RunConfig) -> str:
    """The command that builds the feature matrix and the log-mel cache for the analysis."""
    return f"python -m benchmarks.analyze --dataset {cfg.dataset}"


def _fmt(v) -> str:
    if isinstance(v, float | np.floating):
        return "" if not np.isfinite(v) else f"{float(v):.10g}"
    return str(v)


def write_analysis(run_dir: Path, cfg: RunConfig, ds: LoadedDataset, res: ExperimentResult) -> list[str]:
    """Write the run folder's `analysis/` files (see the module docstring) from the run's table and inputs;
    return notes for the run (each part left out and why). Under torchrun only rank 0 writes (the others return [])."""
    if not distributed.is_main():
        return []
    table, classes, task = res.table, list(ds.classes), ds.task
    data = res.inputs.data if res.inputs is not None else {}
    seed = int(cfg.seeds[0])
    summary: dict[str, object] = {"task": task, "n_tracks": len(table), "n_classes": len(classes)}
    notes: list[tuple[str, str]] = []

    def put(name: str, df: pd.DataFrame) -> None:
        write_part_csv(run_dir, ANALYSIS_DIR, name, df)

    counts = L.class_counts(table, classes, task)
    put("class_counts.csv", counts)
    summary.update(L.imbalance(counts, "train"))
    if task == "multi":
        put("tags_per_track.csv", L.tags_per_track(table, classes, task))
        Y = L.target_matrix(table, classes, task)
        summary["mean_tags_per_track"] = float(Y.sum(1).mean()) if len(Y) else float("nan")
        co, r = L.cooccurrence(Y), L.phi(Y)
        write_npz(run_dir, ANALYSIS_DIR, "tags.npz", classes=np.array(classes), cooccurrence=co, phi=r)
        put("top_pairs.csv", L.top_pairs(classes, co, r))

    deep = data.get("deep")
    mels = dict(getattr(deep, "mels", None) or {})  # one store per distinct front-end (--profile paper)
    store = next(iter(mels.values()), None)
    if len(mels) > 1:
        notes.append(("log-mel", f"the run built {len(mels)} log-mel caches (one per model front-end); the log-mel "
                      f"parts describe the first ({S.store_config(store).sr} Hz, {S.store_config(store).n_mels} "
                      "mels)"))
    if store is None:
        notes.append(("log-mel", "the run built no log-mel cache (no deep model reads log-mel): log-mel statistics, "
                      f"outliers, class profiles and example spectrograms are left out; {build_hint(cfg)} builds it"))
    else:
        _write_mel(run_dir, store, table, classes, task, summary, notes)

    feats = data.get("classical")
    if feats is None:
        notes.append(("features", "the run built no feature matrix (no classical model): waveform variance, feature "
                      f"embeddings and feature importances are left out; {build_hint(cfg)} builds it"))
    else:
        _write_features(run_dir, cfg, feats, table, classes, task, seed, summary, notes)

    put("summary.csv", pd.DataFrame({"key": list(summary), "value": [_fmt(v) for v in summary.values()]}))
    put("notes.csv", pd.DataFrame(notes, columns=["part", "note"]))
    return [f"analysis: {note}" for _, note in notes]


def _write_mel(run_dir, store, table, classes, task, summary, notes) -> None:
    spec = S.store_config(store)
    stats = S.track_stats(store, table, classes, task)
    if stats.empty:
        notes.append(("log-mel", "the log-mel store holds none of the run's tracks: log-mel parts left out"))
        return
    out = S.outliers(stats, spec)
    write_part_csv(run_dir, ANALYSIS_DIR, "mel_tracks.csv", stats)
    write_part_csv(run_dir, ANALYSIS_DIR, "mel_outliers.csv", out)
    summary.update({"mel_tracks": len(stats), "n_outliers": len(out), "floor_db": S.floor_db(spec),
                    "z_limit": S.Z_LIMIT, "n_mels": int(store[stats["track_id"].iloc[0]].shape[0]),
                    "sr": spec.sr, "hop_length": spec.hop_length, "fmin": spec.fmin,
                    "fmax": spec.fmax or spec.sr / 2, "log": spec.log})
    prof, n = S.class_profiles(store, table, classes, task)
    coords, ratio, _ = S.profile_pca(prof)
    band_hz = S.band_frequencies(spec) if prof.shape[1] == spec.n_mels else np.arange(prof.shape[1], dtype=float)
    write_npz(run_dir, ANALYSIS_DIR, "mel_profiles.npz", classes=np.array(classes), profiles=prof, n_tracks=n,
              band_hz=np.asarray(band_hz, dtype=np.float64), pca=coords, explained_variance_ratio=ratio)
    summary.update({"profile_pca_explained_1": ratio[0], "profile_pca_explained_2": ratio[1]})
    ex = S.examples(store, table, classes, task)
    if ex is None:
        notes.append(("examples", "no training track in the log-mel store: example spectrograms left out"))
    else:
        write_npz(run_dir, ANALYSIS_DIR, "examples.npz", **ex)


def _keys(cfg: RunConfig, model: str) -> dict:
    family = family_of(model)
    return {"family": family, "input": load_family(family).input_name(cfg, model), "strategy": "none"}


def _write_features(run_dir, cfg, feats, table, classes, task, seed, summary, notes) -> None:
    var = F.waveform_variance(feats, table, classes, task)
    if var is None:
        notes.append(("waveform variance", f"the feature set {cfg.features!r} has no {F.VARIANCE_COLUMN} column: "
                      "waveform variance per class left out"))
    else:
        write_part_csv(run_dir, ANALYSIS_DIR, "waveform_variance.csv", var)
    emb, facts = F.embeddings(feats, table, classes, task, seed=seed)
    write_part_csv(run_dir, ANALYSIS_DIR, "embedding.csv", emb)
    summary.update(facts)

    models = [m for m in cfg.models if family_of(m) == "classical"]
    if not models:
        notes.append(("importance", "the run has no classical model: feature importances left out"))
        return
    tab = F.held_table(feats, table)
    split = tab["split"].astype(str)
    splits = {s: tab.loc[split == s, "track_id"].astype(str).tolist() for s in SPLITS}
    Y = L.target_matrix(tab, classes, task)
    y = Y.argmax(1) if task == "single" else Y
    targets = {s: y[(split == s).to_numpy()] for s in SPLITS}
    if not splits["train"]:
        notes.append(("importance", "no training track with features: feature importances left out"))
        return
    if not splits["valid"]:
        notes.append(("importance", "the run has no validation split: permutation importances left out (tree "
                      "importances kept)"))
    n_jobs = max(1, cfg.n_jobs) if cfg.n_jobs != -1 else -1
    fam, top = F.importances(models, feats, splits, targets, task=task, n_classes=len(classes),
                             profile=cfg.profile, seed=seed, n_jobs=n_jobs)
    keys = pd.DataFrame([{"model": m, **_keys(cfg, m)} for m in models])
    fam = fam.merge(keys, on="model", how="left", sort=False)
    top = top.merge(keys, on="model", how="left", sort=False)
    fam = fam[["model", "family", "input", "strategy", "kind", "feature_family", "importance", "std", "n_columns",
               "baseline"]]
    top = top[["model", "family", "input", "strategy", "rank", "feature", "feature_family", "importance"]]
    write_part_csv(run_dir, ANALYSIS_DIR, "importance_family.csv", fam)
    write_part_csv(run_dir, ANALYSIS_DIR, "importance_features.csv", top)
    summary.update({"importance_split": "valid" if splits["valid"] else "",
                    "importance_valid_tracks": len(splits["valid"]),
                    "importance_seed": seed, "importance_repeats": F.N_REPEATS,
                    "importance_score": "accuracy" if task == "single" else "mAP"})
