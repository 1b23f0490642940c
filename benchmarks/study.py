"""The imbalance study (`--study imbalance`): every selected model under every selected imbalance strategy,
trained on long-tailed subsets of the training split at several imbalance ratios, over several seeds, and
scored on the untouched, balanced validation and test splits.

    python -m benchmarks.run --dataset synthetic --study imbalance --imbalance-ratio 10,50,100 \\
        --imbalance-profile exponential --strategies none,class-weight,ros,rus,smote,focal,cb-focal --seeds 0,1

Design
------
- Single-label data: features and spectrograms are computed once for every track; then, for each ratio and
  seed, `resampling.longtail_subset` draws a long-tailed subset of the *training* tracks (exponential or step
  profile, whole groups at a time, the head class whole, the tail class about 1/ratio of it). The class
  order (head to tail) is a permutation seeded by the training seed alone, so a seed has the same head and
  tail classes at every ratio and, over seeds, no class is always the tail. Validation and test tracks are
  never subsampled. Whole groups make the achievable ratio coarse: with the generated corpus's 4-track
  artists and 32 training tracks per class, every class keeps at least one artist (4 tracks), so nominal
  ratios of 10, 50 and 100 all give an effective head/tail ratio of 8 (32/4), with 3 classes at the floor at
  ratio 10 and 6 at ratios 50 and 100, whose subsets coincide. A (subset, seed) already trained is not
  trained again: its results are reused for the later ratio (noted) and counted once when pooling.
  `subsets.csv` records what was drawn and the report states the effective ratios.
- Multi-label data: the imbalance is the data's own (the ratios are ignored, with a note); the same
  comparison runs on the full training split with the multi-label strategies given (ml-ros, ml-rus,
  mlsmote, focal, cb-focal, asymmetric, ...).
- Strategies that do not apply to a model family are skipped with a note (e.g. focal losses for the
  classical models, SMOTE for spectrograms); `none` is always run, as the reference.
- Extra metrics per (model, strategy, seed), test split: `tail_recall` / `head_recall`, the mean recall
  of the third of the classes with the fewest / most training tracks in that subset (ties broken by the
  long-tail rank); single-label: `ovr_f1_macro` and `ovr_f1_macro@tuned`, one-vs-rest macro-F1 with every
  class scored on its own probability at 0.5 and at per-class thresholds tuned on the validation split to
  maximise F1; multi-label: `tail_recall@tuned` next to the existing `f1_macro` / `f1_macro@tuned`.

The run folder `results/<dataset>/<run-id>/`
-------------------------------------------
- `metrics.csv`: the usual tidy columns; the ratio is part of the `dataset` column, "<dataset>@ir<ratio>"
  ("synthetic@ir10"), or "<dataset>@natural" for a multi-label study, so the usual tables list one row per
  (ratio, model, strategy).
- `subsets.csv`: one row per (label, ratio, seed, class): rank (0 = head), n_train, n_groups, target
  (the profile's count), part (head / middle / tail).
- `ir<ratio>/` (or `natural/`): one ordinary run folder per ratio (config.json, metrics.csv,
  predictions.csv, curves.csv, skipped.csv and its rendered report), re-renderable on its own.
- written by the report's study section: `study.md` / `study.csv` / `study.tex` (per ratio and pooled),
  `study_per_rank.md` / `.csv` (recall by class rank), `study_heatmap.png`, `study_ratio.png`,
  `study_rank_recall.png`, and the study section of `report.html`.

Significance (heatmap stars, `significant_*` columns): for a (model, strategy) the change against `none`
is paired on (ratio, seed): both were trained on the same subset and scored on the same test tracks. A
percentile bootstrap (`benchmarks.metrics`, 2000 resamples) resamples test tracks, each with all its
(ratio, seed) pairs, and recomputes the mean difference; a change is significant when the 95% interval
excludes 0. No correction for the number of cells is applied; with a 40-track test split only large
changes pass.
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from benchmarks import metrics as M
from benchmarks.config import CLASSICAL_DEFAULT, DEEP_DEFAULT, RunConfig
from benchmarks.datasets.base import SKIPPED_COLUMNS, LoadedDataset, empty_skipped
from benchmarks.results import METRIC_COLUMNS, environment, make_run_dir, write_csv, write_json
from features.errors import DatasetError

log = logging.getLogger(__name__)

# Sized for the generated corpus on a 2-core CPU: three fast classical models and a small CNN.
STUDY_MODELS = {"quick": ("lr", "rf", "svm", "small-cnn"), "paper": CLASSICAL_DEFAULT + DEEP_DEFAULT["paper"]}
STUDY_QUICK_EPOCHS = 8  # the quick profile's 12 epochs, cut to fit the study's many fits in minutes
TAIL_SHARE = 1 / 3
STUDY_METRICS = {"single": ("tail_recall", "head_recall", "ovr_f1_macro", "ovr_f1_macro@tuned"),
                 "multi": ("tail_recall", "tail_recall@tuned", "head_recall")}
SUBSET_COLUMNS = ["label", "ratio", "seed", "class", "rank", "n_train", "n_groups", "target", "part", "subset"]
MODEL_COLS = ["model", "family", "input"]
N_BOOT = 2000

# What the study's tables show: (metric, header); DELTAS: the metrics whose change against `none`
# is shown with its significance (the first one is the heatmap's and the line plot's main metric).
COLUMNS = {
    "single": [("macro_f1", "Macro-F1"), ("balanced_accuracy", "Balanced acc."), ("tail_recall", "Tail recall"),
               ("head_recall", "Head recall"), ("ovr_f1_macro", "OvR F1 (0.5)"),
               ("ovr_f1_macro@tuned", "OvR F1 (tuned)")],
    "multi": [("map", "mAP"), ("f1_macro", "F1 macro (0.5)"), ("f1_macro@tuned", "F1 macro (tuned)"),
              ("tail_recall", "Tail recall (0.5)"), ("tail_recall@tuned", "Tail recall (tuned)"),
              ("head_recall", "Head recall (0.5)")],
}
DELTAS = {"single": ["macro_f1", "tail_recall"], "multi": ["f1_macro", "f1_macro@tuned", "tail_recall"]}
LABELS = dict(pair for cols in COLUMNS.values() for pair in cols)


# -- naming ---------------------------------------------------------------------------------------
def default_models(profile: str, *, no_torch: bool = False) -> tuple[str, ...]:
    """The study's models when --models is not given (the quick set fits the 10-minute budget)."""
    from baselines import BASELINES

    models = STUDY_MODELS[profile]
    return tuple(m for m in models if m in BASELINES) if no_torch else models


def ratio_label(dataset: str, ratio: float | None) -> str:
    """The `dataset` column of a study's metric rows: "synthetic@ir10", or "tags@natural" (own imbalance)."""
    return f"{dataset}@natural" if ratio is None else f"{dataset}@ir{ratio:g}"


def ratio_dir(ratio: float | None) -> str:
    return "natural" if ratio is None else f"ir{ratio:g}"


# -- subsets and class parts ----------------------------------------------------------------------
def class_order(classes: Sequence[str], seed: int) -> list[str]:
    """Head-to-tail class order of one seed: a permutation seeded by the seed alone, shared by all ratios."""
    rng = np.random.default_rng([seed, 0x1A11])
    return [classes[i] for i in rng.permutation(len(classes))]


def draw_subset(train: pd.DataFrame, classes: Sequence[str], *, ratio: float, profile: str,
                seed: int) -> tuple[pd.DataFrame, list[str]]:
    """A long-tailed subset of the training rows `train` (TrackTable rows) and its class order (head first).

    Whole groups at a time (`resampling.longtail_subset`); the head class keeps all its tracks.
    """
    from resampling import longtail_subset

    missing = sorted(set(classes) - set(train["label"]))
    if missing:
        raise DatasetError(f"classes {missing} have no training track: no long-tailed subset can rank them")
    order = class_order(list(classes), seed)
    idx = longtail_subset(train["label"].to_numpy(), train["group"].to_numpy(), ratio=ratio, profile=profile,
                          seed=seed, class_order=order)
    return train.iloc[idx], order


def subset_id(tracks: pd.DataFrame) -> str:
    """A short fingerprint of a training subset (its sorted track ids): equal subsets, equal ids."""
    return hashlib.sha1("\n".join(sorted(map(str, tracks["track_id"]))).encode()).hexdigest()[:12]


def class_parts(counts: np.ndarray, ranks: np.ndarray, share: float = TAIL_SHARE) -> np.ndarray:
    """'head', 'middle' or 'tail' per class.

    counts: training examples per class, shape (C,); ranks: long-tail rank per class (0 = head), shape (C,).
    The tail is the max(1, round(C * share)) classes with the fewest examples (ties: the later rank), the
    head as many with the most (ties: the earlier rank); the tail wins where they overlap (C < 3).
    """
    counts, ranks = np.asarray(counts), np.asarray(ranks)
    C = len(counts)
    n = max(1, int(round(C * share)))
    out = np.full(C, "middle", dtype=object)
    out[np.lexsort((ranks, -counts))[:n]] = "head"
    out[np.lexsort((-ranks, counts))[:n]] = "tail"
    return out


def _onehot(y: np.ndarray, C: int) -> np.ndarray:
    Y = np.zeros((len(y), C), dtype=np.int64)
    Y[np.arange(len(y)), y] = 1
    return Y


def _mean_recall(Y: np.ndarray, Yhat: np.ndarray, which: np.ndarray) -> float:
    """Mean over the classes `which` (bool mask) of recall = hits / positives; classes without positives
    in Y are left out (NaN when none is left)."""
    pos = Y.sum(0).astype(np.float64)
    hits = (Y.astype(bool) & Yhat.astype(bool)).sum(0)
    keep = which & (pos > 0)
    return float(np.mean(hits[keep] / pos[keep])) if keep.any() else float("nan")


def study_metrics(task: str, classes: Sequence[str], y_test, P_test, y_valid, P_valid,
                  parts: np.ndarray) -> dict[str, float]:
    """The study's extra test metrics of one model (names in `STUDY_METRICS[task]`).

    y_*: (n,) class indices (single) or (n, C) 0/1 (multi); P_*: (n, C) probabilities; parts: (C,) from
    `class_parts`. Thresholds are tuned on the validation split (`metrics.tune_thresholds`).
    """
    C = len(classes)
    tail, head = parts == "tail", parts == "head"
    if task == "single":
        y = np.asarray(y_test)
        Y, Yhat = _onehot(y, C), _onehot(np.asarray(P_test).argmax(1), C)
        thresholds = M.tune_thresholds(_onehot(np.asarray(y_valid), C), P_valid, classes)
        ovr = M.multi_label_metrics(Y, P_test, classes, thresholds=thresholds)
        return {"tail_recall": _mean_recall(Y, Yhat, tail), "head_recall": _mean_recall(Y, Yhat, head),
                "ovr_f1_macro": ovr["f1_macro"], "ovr_f1_macro@tuned": ovr["f1_macro@tuned"]}
    Y = np.asarray(y_test)
    P = np.asarray(P_test)
    thresholds = M.tune_thresholds(y_valid, P_valid, classes)
    return {"tail_recall": _mean_recall(Y, P >= 0.5, tail), "tail_recall@tuned": _mean_recall(Y, P >= thresholds, tail),
            "head_recall": _mean_recall(Y, P >= 0.5, head)}


# -- the run --------------------------------------------------------------------------------------
class _Tagged:
    """The runner's Timer with the ratio in front of each row's model field."""

    def __init__(self, timer, tag: str):
        self.timer, self.tag = timer, tag

    def __call__(self, stage: str, model: str = ""):
        return self.timer(stage, f"{self.tag}/{model}" if model else self.tag)


def study_config(cfg: RunConfig) -> tuple[RunConfig, list[str]]:
    """The study's settings: `none` first among the strategies, fewer epochs under `quick`; with notes."""
    notes = []
    strategies = tuple(dict.fromkeys(("none", *cfg.strategies)))
    if "none" not in cfg.strategies:
        notes.append("strategy none added: it is the reference every strategy is compared with")
    epochs = cfg.epochs
    if epochs is None and cfg.profile == "quick":
        epochs = STUDY_QUICK_EPOCHS
        notes.append(f"deep models train {epochs} epochs (the study's quick setting; --epochs overrides it)")
    if len(cfg.seeds) < 2:
        notes.append("one seed: changes have no spread over seeds; pass --seeds 0,1,2 for a sturdier study")
        log.warning(notes[-1])
    return dataclasses.replace(cfg, strategies=strategies, epochs=epochs), notes


def _usable(table: pd.DataFrame, feats, store) -> pd.Series:
    ok = pd.Series(True, index=table.index)
    if feats is not None:
        ok &= table["track_id"].isin(set(feats.index.get_level_values(0)))
    if store is not None:
        ok &= table["track_id"].map(lambda t: t in store)
    return ok


def _targets(n_max: int, C: int, ratio: float, profile: str, order: list[str]) -> dict[str, float]:
    from resampling import longtail_targets

    t = longtail_targets(n_max, C, ratio=ratio, profile=profile)
    return {c: float(t[i]) for i, c in enumerate(order)}


def _subset_rows(label, ratio, seed, classes, sub: pd.DataFrame, order, targets, task) -> list[dict]:
    """subsets.csv rows of one (ratio, seed): per class its rank, training tracks and groups, and part."""
    C = len(classes)
    if task == "single":
        counts = np.array([(sub["label"] == c).sum() for c in classes])
        groups = np.array([sub.loc[sub["label"] == c, "group"].nunique() for c in classes])
    else:
        counts = np.array([sum(c in tags for tags in sub["labels"]) for c in classes])
        groups = np.array([sub.loc[sub["labels"].map(lambda t, c=c: c in t), "group"].nunique() for c in classes])
    ranks = np.array([order.index(c) for c in classes])
    parts = class_parts(counts, ranks)
    return [{"label": label, "ratio": "" if ratio is None else ratio, "seed": seed, "class": classes[i],
             "rank": int(ranks[i]), "n_train": int(counts[i]), "n_groups": int(groups[i]),
             "target": targets.get(classes[i], float("nan")) if targets else float("nan"), "part": parts[i]}
            for i in range(C)]


def _study_rows(exp_preds: pd.DataFrame, ds: LoadedDataset, label: str, parts_by_seed: dict[int, np.ndarray]
                ) -> list[dict]:
    """metrics.csv rows of the study's extra metrics, from the experiment's valid/test predictions."""
    rows = []
    if exp_preds.empty:
        return rows
    keys = ["model", "family", "input", "strategy", "seed"]
    for key, g in exp_preds.groupby(keys, sort=False):
        by_split = {s: gs for s, gs in g.groupby("split")}
        if "test" not in by_split or "valid" not in by_split:
            continue
        yt, Pt = M.decode_predictions(by_split["test"], ds.classes, ds.task)
        yv, Pv = M.decode_predictions(by_split["valid"], ds.classes, ds.task)
        values = study_metrics(ds.task, ds.classes, yt, Pt, yv, Pv, parts_by_seed[int(key[4])])
        base = dict(zip(keys, key, strict=True))
        rows += [{"dataset": label, "split": "test", **base, "metric": k, "value": float(v)} for k, v in values.items()]
    return rows


def run_study(cfg: RunConfig) -> Path:
    """Run the imbalance study described by `cfg` (see the module docstring); return the run folder."""
    from benchmarks import report
    from benchmarks.experiment import Experiment
    from benchmarks.run import Timer, load_dataset, validate

    cfg, notes = study_config(validate(cfg))
    run_dir = make_run_dir(cfg.out, cfg.dataset, cfg.run_id, cfg.to_dict())
    log.info("imbalance study, run folder: %s", run_dir)
    timer = Timer()
    with timer("dataset"):
        ds = load_dataset(cfg)
    base = Experiment(cfg, ds, timer)
    feats = base.features() if base.classical else None
    store = base.spectrograms() if base.deep else None
    ok = _usable(ds.table, feats, store)
    if not ok.all():
        log.warning("%d track(s) dropped for every model (see skipped.csv)", int((~ok).sum()))
    table = ds.table[ok].reset_index(drop=True)
    split = table["split"].astype(str)
    train, rest = table[split == "train"], table[split != "train"]
    if train.empty or not (split == "test").any():
        raise DatasetError("no training or no test track left after skipping bad files")
    classes, task = ds.classes, ds.task

    # One unit of work per (ratio, seed) for single-label data; one for a multi-label dataset's own imbalance.
    units = []
    if task == "single":
        ratios = list(dict.fromkeys(cfg.imbalance_ratios))
        units = [(r, s) for r in ratios for s in cfg.seeds]
    else:
        ratios = [None]
        units = [(None, None)]
        notes.append(f"{cfg.dataset} is multi-label: the study compares the strategies on its own imbalance; "
                     f"imbalance ratios {', '.join(f'{r:g}' for r in cfg.imbalance_ratios)} are not applied")
        log.info(notes[-1])

    per_ratio: dict = {r: {"metrics": [], "preds": [], "curves": [], "n_train": {}} for r in ratios}
    subset_rows: list[dict] = []
    exp_notes: list[str] = []
    done: dict[tuple, tuple] = {}
    for ratio, seed in tqdm(units, desc="imbalance study", unit="subset", disable=None):
        label = ratio_label(cfg.dataset, ratio)
        if ratio is None:
            sub, order = train, None
            counts = np.array([sum(c in tags for tags in train["labels"]) for c in classes])
            order = [classes[i] for i in np.argsort(-counts, kind="stable")]
            seeds, targets = cfg.seeds, {}
        else:
            sub, order = draw_subset(train, classes, ratio=ratio, profile=cfg.imbalance_profile, seed=seed)
            n_max = int((train["label"] == order[0]).sum())
            seeds, targets = (seed,), _targets(n_max, len(classes), ratio, cfg.imbalance_profile, order)
        ident = subset_id(sub)
        parts_by_seed = {}
        for s in seeds:
            rows = _subset_rows(label, ratio, s, classes, sub, order, targets, task)
            subset_rows += [{**r, "subset": ident} for r in rows]
            parts_by_seed[s] = np.array([r["part"] for r in rows], dtype=object)
            per_ratio[ratio]["n_train"][str(s)] = len(sub)
        if (ident, seed) in done:
            # Whole groups make the subsets of nearby ratios coincide (e.g. 50 and 100 with 4-track artists):
            # the same tracks, order and seed give the same fits, so the results are reused, not recomputed.
            first, metrics, preds, curves = done[(ident, seed)]
            notes.append(f"ratio {ratio:g}, seed {seed}: the same training subset as ratio {first:g} (whole groups); "
                         f"its results are reused, and pooled results count them once")
            log.info(notes[-1])
            per_ratio[ratio]["metrics"] += [{**r, "dataset": label} for r in metrics]
            per_ratio[ratio]["preds"].append(preds)
            per_ratio[ratio]["curves"] += curves
            continue
        sub_table = pd.concat([sub, rest]).sort_index()
        sub_ds = LoadedDataset(ds.name, sub_table, classes, task, ds.root, empty_skipped(), ds.split_name)
        exp = Experiment(dataclasses.replace(cfg, seeds=tuple(seeds)), sub_ds, _Tagged(timer, ratio_dir(ratio)),
                         inputs=(feats, store), label=label)
        metrics, preds, curves = exp.run()
        exp_notes += [n for n in exp.notes if n not in exp_notes]
        metrics = metrics + _study_rows(preds, sub_ds, label, parts_by_seed)
        curves = [curves] if curves is not None and len(curves) else []
        done[(ident, seed)] = (ratio, metrics, preds, curves)
        per_ratio[ratio]["metrics"] += metrics
        per_ratio[ratio]["preds"].append(preds)
        per_ratio[ratio]["curves"] += curves
    notes += exp_notes

    skipped = base.skipped if len(base.skipped) else empty_skipped()
    env = environment()
    common = {**cfg.to_dict(), "models": list(cfg.models), "strategies": list(cfg.strategies), "task": task,
              "classes": classes, "split_name": ds.split_name}
    runs, all_metrics = [], []
    for ratio in ratios:
        label, name = ratio_label(cfg.dataset, ratio), ratio_dir(ratio)
        d = run_dir / name
        d.mkdir(exist_ok=True)
        data = per_ratio[ratio]
        n_tracks = {"train (subset, per seed)": data["n_train"],
                    **{k: int(v) for k, v in rest["split"].astype(str).value_counts().sort_index().items()}}
        write_json(d / "config.json", {**common, "dataset_label": label, "imbalance_ratio": ratio,
                                       "n_tracks": n_tracks, "notes": notes, "environment": env})
        mdf = pd.DataFrame(data["metrics"], columns=METRIC_COLUMNS)
        write_csv(mdf, d / "metrics.csv")
        preds = [p for p in data["preds"] if len(p)]
        write_csv(pd.concat(preds, ignore_index=True) if preds else pd.DataFrame(), d / "predictions.csv")
        write_csv(skipped[SKIPPED_COLUMNS], d / "skipped.csv")
        if data["curves"]:
            write_csv(pd.concat(data["curves"], ignore_index=True), d / "curves.csv")
        with timer("report", name):
            report.render(d)
        runs.append({"label": label, "ratio": ratio, "dir": name})
        all_metrics.append(mdf)

    write_json(run_dir / "config.json", {
        **common,
        "n_tracks": {str(k): int(v) for k, v in table["split"].astype(str).value_counts().sort_index().items()},
        "imbalance": {"ratios": [r for r in ratios if r is not None], "profile": cfg.imbalance_profile,
                      "tail_share": TAIL_SHARE, "runs": runs},
        "notes": notes, "environment": env,
    })
    write_csv(pd.concat(all_metrics, ignore_index=True), run_dir / "metrics.csv")
    write_csv(pd.DataFrame(subset_rows, columns=SUBSET_COLUMNS), run_dir / "subsets.csv")
    write_csv(skipped[SKIPPED_COLUMNS], run_dir / "skipped.csv")
    write_csv(pd.DataFrame(timer.rows), run_dir / "timings.csv")
    with timer("report"):
        report.render(run_dir)
    write_csv(pd.DataFrame(timer.rows), run_dir / "timings.csv")
    return run_dir


# -- the report section ---------------------------------------------------------------------------
def _weighted_f1_macro_multi(W: np.ndarray, Y: np.ndarray, Yhat: np.ndarray) -> np.ndarray:
    """F1 macro of 0/1 predictions under bootstrap weights W (B, n): labels with positives and
    negatives in the resample, as in `metrics.multi_label_metrics`. Returns (B,)."""
    Yf, Hf = Y.astype(np.float64), Yhat.astype(np.float64)
    tp, pos, pred = W @ (Yf * Hf), W @ Yf, W @ Hf
    f1 = M._safe_div(2 * tp, pos + pred, np.nan)
    keep = (pos > 0) & (pos < W.sum(1, keepdims=True))
    return M._nanmean(np.where(keep, f1, np.nan), axis=1)


def _weighted_part_recall(W: np.ndarray, Y: np.ndarray, Yhat: np.ndarray, which: np.ndarray) -> np.ndarray:
    """Mean recall over the classes `which` (bool, (C,)) under bootstrap weights W (B, n); (B,)."""
    Yf = Y[:, which].astype(np.float64)
    rec = M._safe_div(W @ (Yf * Yhat[:, which]), W @ Yf, np.nan)
    return M._nanmean(rec, axis=1)


def _diff_fn(stat: str, task: str, n_classes: int):
    """f(pair, W) -> (B,) difference strategy - none of `stat` under bootstrap weights (see metrics)."""
    def f(pair, W):
        if task == "single":
            if stat == "macro_f1":
                return M._macro_f1_diff(n_classes)(pair, W)
            Y, A, B = (np.eye(n_classes)[v] for v in (pair.y, pair.a, pair.b))
        else:
            Y, A, B = pair.y, pair.a, pair.b
        if stat.startswith("tail_recall"):
            tail = pair.cache["tail"]
            return _weighted_part_recall(W, Y, A, tail) - _weighted_part_recall(W, Y, B, tail)
        return _weighted_f1_macro_multi(W, Y, A) - _weighted_f1_macro_multi(W, Y, B)
    return f


def _decisions(task: str, P: np.ndarray, thresholds: np.ndarray | None) -> np.ndarray:
    if task == "single":
        return P.argmax(1)
    return P >= (0.5 if thresholds is None else thresholds)


def study_significance(run, n_boot: int = N_BOOT, seed: int = 0) -> pd.DataFrame:
    """Paired bootstrap of every (label or 'pooled', model, strategy) change against `none`.

    run: the report's RunData of a study folder. Reads each ratio folder's predictions.csv. Returns columns
    label, model, family, input, strategy, stat, n_pairs, delta, lo, hi, significant (empty frame without
    predictions).
    """
    from benchmarks import report as R

    info = run.config.get("imbalance", {})
    task, classes = run.task, run.classes
    C = len(classes)
    parts = _read_subsets(run)
    decoded: dict[tuple, dict] = {}
    for r in info.get("runs", []):
        p = run.run_dir / r["dir"] / "predictions.csv"
        if not p.is_file():
            continue
        df = R.read_predictions(p, classes)
        if df.empty:
            continue
        for key, g in df.groupby(["model", "family", "input", "strategy", "seed"], sort=False):
            by = {s: gs for s, gs in g.groupby("split")}
            if "test" not in by:
                continue
            yt, Pt = M.decode_predictions(by["test"], classes, task)
            thr = None
            if task == "multi" and "valid" in by:
                yv, Pv = M.decode_predictions(by["valid"], classes, task)
                thr = M.tune_thresholds(yv, Pv, classes)
            decoded[(r["label"], *map(str, key[:4]), int(key[4]))] = {
                "ids": by["test"]["track_id"].tolist(), "y": yt, "P": Pt, "thr": thr}
    cols = ["label", *MODEL_COLS, "strategy", "stat", "n_pairs", "delta", "lo", "hi", "significant"]
    if not decoded:
        return pd.DataFrame(columns=cols)
    track_index = {t: i for i, t in enumerate(sorted({t for d in decoded.values() for t in d["ids"]}))}
    stats_ = DELTAS[task]
    pairs: dict[tuple, dict[str, list]] = {}
    pooled_seen: set[tuple] = set()
    for (label, model, family, inp, strategy, s), d in decoded.items():
        ref = decoded.get((label, model, family, inp, "none", s))
        if strategy == "none" or ref is None:
            continue
        common = [t for t in d["ids"] if t in set(ref["ids"])]
        ia = pd.Index(d["ids"]).get_indexer(common)
        ib = pd.Index(ref["ids"]).get_indexer(common)
        tidx = np.array([track_index[t] for t in common], dtype=np.int64)
        tail = parts.get((label, s), {}).get("tail")
        # A subset drawn at two ratios (whole groups) is the same experiment: pooled once.
        ident = (parts.get((label, s), {}).get("subset", f"{label}/{s}"), s, model, family, inp, strategy)
        groups = [label] + (["pooled"] if ident not in pooled_seen else [])
        pooled_seen.add(ident)
        for stat in stats_:
            if stat.startswith("tail_recall") and tail is None:
                continue
            tuned = stat.endswith("@tuned")
            a = _decisions(task, d["P"][ia], d["thr"] if tuned else None)
            b = _decisions(task, ref["P"][ib], ref["thr"] if tuned else None)
            pair = M._Pair(tidx, d["y"][ia], a, b, {"tail": tail})
            for group in groups:
                pairs.setdefault((group, model, family, inp, strategy), {}).setdefault(stat, []).append(pair)
    rows = []
    for key, by_stat in pairs.items():
        for stat, plist in by_stat.items():
            delta, lo, hi = M._run_bootstrap(plist, len(track_index), [_diff_fn(stat, task, C)], n_boot, seed)[0]
            rows.append(dict(zip(cols, [*key[:4], key[4], stat, len(plist), delta, lo, hi,
                                        bool(lo > 0 or hi < 0)], strict=True)))
    return pd.DataFrame(rows, columns=cols)


def _read_subsets(run) -> dict[tuple, dict[str, np.ndarray]]:
    """{(label, seed): {"tail": bool (C,), "rank": int (C,), "n_train": int (C,)}} from subsets.csv."""
    path = run.run_dir / "subsets.csv"
    if not path.is_file():
        return {}
    df = pd.read_csv(path, dtype={"label": str, "class": str, "part": str}, keep_default_na=False)
    out = {}
    index = {c: i for i, c in enumerate(run.classes)}
    for (label, seed), g in df.groupby(["label", "seed"], sort=False):
        C = len(run.classes)
        tail, rank, n = np.zeros(C, bool), np.zeros(C, np.int64), np.zeros(C, np.int64)
        for r in g.itertuples(index=False):
            i = index[str(r[3])]
            tail[i], rank[i], n[i] = r.part == "tail", int(r.rank), int(r.n_train)
        ident = str(g["subset"].iloc[0]) if "subset" in g.columns else f"{label}/{seed}"
        out[(str(label), int(seed))] = {"tail": tail, "rank": rank, "n_train": n, "subset": ident}
    return out


def _ratios(run) -> list[tuple[str, float | None]]:
    """(label, ratio) of the study's runs in order; from config.json, else from metrics.csv's labels."""
    runs = run.config.get("imbalance", {}).get("runs")
    if runs:
        return [(r["label"], r["ratio"]) for r in runs]
    out = []
    for label in dict.fromkeys(run.metrics["dataset"]):
        tail = str(label).rsplit("@ir", 1)
        out.append((label, float(tail[1]) if len(tail) == 2 else None))
    return out


def _per_seed_table(run) -> pd.DataFrame:
    """Test metrics wide: one row per (label, model, family, input, strategy, seed), one column per metric."""
    m = run.metrics[run.metrics["split"] == "test"]
    return m.pivot_table(index=["dataset", *MODEL_COLS, "strategy", "seed"], columns="metric", values="value",
                         aggfunc="first", sort=False).reset_index()


def study_summary(run) -> pd.DataFrame:
    """Per (label, model, strategy): mean and std over seeds of the study's columns, and the mean paired
    change against `none` (same label, model and seed) with the number of seeds where it is positive."""
    task = run.task
    wide = _per_seed_table(run)
    metrics = [m for m, _ in COLUMNS[task] if m in wide.columns]
    keys = ["dataset", *MODEL_COLS, "strategy"]
    ref = wide[wide["strategy"] == "none"].set_index(["dataset", *MODEL_COLS, "seed"])[metrics]
    rows = []
    for key, g in wide.groupby(keys, sort=False):
        row = dict(zip(keys, key, strict=True))
        row["n_seeds"] = int(g["seed"].nunique())
        for m in metrics:
            v = g[m].to_numpy(dtype=np.float64)
            row[f"{m}_mean"] = float(np.nanmean(v)) if np.isfinite(v).any() else np.nan
            row[f"{m}_std"] = float(np.nanstd(v, ddof=1)) if np.isfinite(v).sum() > 1 else np.nan
        for m in DELTAS[task]:
            if m not in metrics:
                continue
            idx = pd.MultiIndex.from_frame(g[["dataset", *MODEL_COLS, "seed"]])
            base = ref[m].reindex(idx).to_numpy(dtype=np.float64)
            d = g[m].to_numpy(dtype=np.float64) - base
            ok = np.isfinite(d)
            row[f"delta_{m}"] = float(d[ok].mean()) if ok.any() else np.nan
            row[f"n_better_{m}"] = int((d[ok] > 0).sum())
        rows.append(row)
    return _ordered(run, pd.DataFrame(rows).rename(columns={"dataset": "label"}))


def _ordered(run, df: pd.DataFrame) -> pd.DataFrame:
    """Rows in study order: ratio (as run), then model and strategy as configured."""
    if df.empty:
        return df
    labels = [lbl for lbl, _ in _ratios(run)]
    models = list(run.config.get("models") or []) + list(dict.fromkeys(df["model"]))
    strategies = list(run.config.get("strategies") or []) + list(dict.fromkeys(df["strategy"]))
    first = {}
    for name, seq in (("label", labels), ("model", models), ("strategy", strategies)):
        first[name] = {v: i for i, v in reversed(list(enumerate(seq)))}
    cols = [c for c in ("label", "model", "strategy") if c in df.columns]
    key = [df[c].map(lambda v, c=c: first[c].get(v, len(first[c]))) for c in cols]
    order = np.lexsort(tuple(k.to_numpy() for k in reversed(key)))
    return df.iloc[order].reset_index(drop=True)


def _colors(strategies: Sequence[str]) -> dict[str, str]:
    """One colour per strategy, the same in every figure; `none` in black."""
    others = [s for s in strategies if s != "none"]
    return {"none": "black", **{s: f"C{i % 10}" for i, s in enumerate(others)}}


def _legend(fig) -> None:
    seen = {}
    for ax in fig.axes:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            seen.setdefault(lab, h)
    if seen:
        fig.legend(list(seen.values()), list(seen), loc="outside right center", fontsize=7)


def pooled_summary(run, per_seed: pd.DataFrame) -> pd.DataFrame:
    """Per (model, strategy), over every label and seed: mean of the paired changes against `none`."""
    task = run.task
    keys = [*MODEL_COLS, "strategy"]
    # A subset drawn at two ratios (whole groups) gives the same fits twice: count it once.
    parts = _read_subsets(run)
    subset = [parts.get((str(d), int(s)), {}).get("subset", f"{d}/{s}")
              for d, s in zip(per_seed["dataset"], per_seed["seed"], strict=True)]
    per_seed = per_seed.assign(_subset=subset).drop_duplicates(["_subset", "seed", *keys])
    ref = per_seed[per_seed["strategy"] == "none"].set_index(["dataset", *MODEL_COLS, "seed"])
    rows = []
    for key, g in per_seed.groupby(keys, sort=False):
        row = dict(zip(keys, key, strict=True))
        row["n_pairs"] = len(g)
        idx = pd.MultiIndex.from_frame(g[["dataset", *MODEL_COLS, "seed"]])
        for m in DELTAS[task]:
            if m not in g.columns:
                continue
            d = g[m].to_numpy(dtype=np.float64) - ref[m].reindex(idx).to_numpy(dtype=np.float64)
            ok = np.isfinite(d)
            row[f"delta_{m}"] = float(d[ok].mean()) if ok.any() else np.nan
            row[f"n_better_{m}"] = int((d[ok] > 0).sum())
        rows.append(row)
    return _ordered(run, pd.DataFrame(rows))


def _sig_lookup(sig: pd.DataFrame) -> dict[tuple, tuple[float, float, bool]]:
    return {(r.label, r.model, r.strategy, r.stat): (r.lo, r.hi, bool(r.significant))
            for r in sig.itertuples(index=False)}


def _delta_cell(d: float, sig: tuple | None) -> str:
    if d is None or not np.isfinite(d):
        return "n/a"
    return f"{d:+.3f}" + ("*" if sig is not None and sig[2] else "")


def _fmt(mean: float, std: float) -> str:
    if not np.isfinite(mean):
        return "n/a"
    return f"{mean:.3f}" + (f" ± {std:.3f}" if np.isfinite(std) else "")


def _grids(run, summary: pd.DataFrame, pooled: pd.DataFrame, sig: pd.DataFrame, ratio_of: dict):
    from benchmarks import report as R

    task = run.task
    look = _sig_lookup(sig)
    cols = [(m, h) for m, h in COLUMNS[task] if f"{m}_mean" in summary.columns]
    head = ["Ratio", "Model", "Strategy", "Seeds"]
    for m, h in cols:
        head.append(h)
        if m in DELTAS[task]:
            head.append(f"Δ {h}")
    g = R.Grid(head, [], ["l", "l", "l", "r"] + ["r"] * (len(head) - 4))
    for r in summary.to_dict("records"):
        ratio = ratio_of.get(r["label"])
        row = ["own" if ratio is None else f"{ratio:g}", r["model"], r["strategy"], str(r["n_seeds"])]
        for m, _ in cols:
            row.append(_fmt(r[f"{m}_mean"], r[f"{m}_std"]))
            if m in DELTAS[task]:
                s = look.get((r["label"], r["model"], r["strategy"], m))
                row.append("–" if r["strategy"] == "none" else _delta_cell(r.get(f"delta_{m}", np.nan), s))
        g.rows.append(row)
    ph = ["Model", "Strategy", "Pairs"]
    for m in DELTAS[task]:
        ph += [f"Δ {LABELS[m]} [95% CI]", "Seeds better"]
    pg = R.Grid(ph, [], ["l", "l"] + ["r"] * (len(ph) - 2))
    for r in pooled.to_dict("records"):
        if r["strategy"] == "none":
            continue
        row = [r["model"], r["strategy"], str(r["n_pairs"])]
        for m in DELTAS[task]:
            s = look.get(("pooled", r["model"], r["strategy"], m))
            cell = _delta_cell(r.get(f"delta_{m}", np.nan), s)
            if s is not None and np.isfinite(s[0]):
                cell += f" [{s[0]:+.3f}, {s[1]:+.3f}]"
            row += [cell, f"{r.get(f'n_better_{m}', 0)}/{r['n_pairs']}"]
        pg.rows.append(row)
    return g, pg


def _effective_ratios(run) -> list[str]:
    path = run.run_dir / "subsets.csv"
    if not path.is_file():
        return []
    df = pd.read_csv(path, keep_default_na=False)
    out = []
    for label, g in df.groupby("label", sort=False):
        per_seed = g.groupby("seed")["n_train"].agg(["max", "min", "sum"])
        per_tail = g[g["part"] == "tail"].groupby("seed")["n_train"].mean()
        ratio = per_seed["max"] / per_seed["min"].clip(lower=1)
        if run.task == "multi":
            out.append(f"{label}: training tracks per tag from {per_seed['max'].mean():.0f} (most frequent) to "
                       f"{per_seed['min'].mean():.0f} (rarest), imbalance ratio {ratio.mean():.1f}; tail third "
                       f"{per_tail.mean():.1f} tracks a tag")
            continue
        out.append(f"{label}: {per_seed['sum'].mean():.0f} training tracks on average, head/tail "
                   f"{per_seed['max'].mean():.0f}/{per_seed['min'].mean():.1f} tracks (effective ratio "
                   f"{ratio.min():.1f}–{ratio.max():.1f} over seeds), tail third {per_tail.mean():.1f} tracks a class")
    return out


def _heatmap_figure(run, summary, pooled, sig, ratios, files):
    from benchmarks import report as R

    task = run.task
    look = _sig_lookup(sig)
    models = list(dict.fromkeys(summary["model"]))
    strategies = [s for s in dict.fromkeys(summary["strategy"]) if s != "none"]
    if not strategies or not models:
        return None
    panels = [(label, f"ratio {ratio:g}" if ratio is not None else "own imbalance") for label, ratio in ratios]
    if len(panels) > 1:
        panels.append(("pooled", "all ratios"))
    stats_ = [m for m in DELTAS[task] if f"delta_{m}" in summary.columns]
    mats = {}
    for stat in stats_:
        for label, _ in panels:
            src = pooled if label == "pooled" else summary[summary["label"] == label]
            mat = np.full((len(strategies), len(models)), np.nan)
            for r in src.to_dict("records"):
                if r["strategy"] in strategies and r["model"] in models:
                    mat[strategies.index(r["strategy"]), models.index(r["model"])] = r.get(f"delta_{stat}", np.nan)
            mats[(stat, label)] = mat
    finite = np.concatenate([m[np.isfinite(m)] for m in mats.values()] + [np.zeros(1)])
    lim = max(0.05, float(np.abs(finite).max()))
    w = max(2.6, 0.75 * len(models) + 1.4)
    fig = R._figure(w * len(panels) + 1.0, (0.42 * len(strategies) + 1.4) * len(stats_))
    im = None
    for i, stat in enumerate(stats_):
        for j, (label, title) in enumerate(panels):
            ax = fig.add_subplot(len(stats_), len(panels), i * len(panels) + j + 1)
            mat = mats[(stat, label)]
            im = ax.imshow(np.ma.masked_invalid(mat), cmap="RdBu", vmin=-lim, vmax=lim, aspect="auto")
            ax.set_facecolor("#dddddd")
            ax.set_xticks(range(len(models)), labels=models, rotation=30, ha="right", fontsize=8)
            ax.set_yticks(range(len(strategies)), labels=strategies if j == 0 else [""] * len(strategies), fontsize=8)
            for a in range(len(strategies)):
                for b in range(len(models)):
                    v = mat[a, b]
                    s = look.get((label, models[b], strategies[a], stat))
                    text = "–" if not np.isfinite(v) else f"{v:+.2f}" + ("*" if s and s[2] else "")
                    ax.text(b, a, text, ha="center", va="center", fontsize=7,
                            color="white" if np.isfinite(v) and abs(v) > 0.6 * lim else "black")
            ax.set_title(f"Δ {LABELS[stat]}, {title}", fontsize=9)
    fig.colorbar(im, ax=fig.axes, shrink=0.7, label="change against none (mean over seeds)")
    return R._save(fig, run.path("study_heatmap.png"), files)


def _ratio_figure(run, summary, ratios, files):
    from benchmarks import report as R

    task = run.task
    if sum(r is not None for _, r in ratios) < 2:
        return None
    main = DELTAS[task][0]
    stats_ = [m for m in (main, "tail_recall") if f"{m}_mean" in summary.columns]
    models = list(dict.fromkeys(summary["model"]))
    strategies = list(dict.fromkeys(summary["strategy"]))
    colors = _colors(strategies)
    ratio_of = dict(ratios)
    fig = R._figure(3.2 * len(models) + 1.6, 2.8 * len(stats_))
    for i, stat in enumerate(stats_):
        for j, model in enumerate(models):
            ax = fig.add_subplot(len(stats_), len(models), i * len(models) + j + 1)
            for strategy in strategies:
                g = summary[(summary["model"] == model) & (summary["strategy"] == strategy)]
                if g.empty:
                    continue
                x = np.array([ratio_of[lbl] for lbl in g["label"]], dtype=np.float64)
                order = np.argsort(x)
                y, e = g[f"{stat}_mean"].to_numpy()[order], np.nan_to_num(g[f"{stat}_std"].to_numpy()[order])
                ax.errorbar(x[order], y, yerr=e, marker="o", ms=3, capsize=2, lw=1.2 if strategy != "none" else 2.2,
                            color=colors[strategy], label=strategy)
            ax.set_xscale("log")
            xs = sorted(r for _, r in ratios if r is not None)
            ax.set_xticks(xs, labels=[f"{r:g}" for r in xs])
            ax.minorticks_off()
            ax.set_title(model, fontsize=9)
            if j == 0:
                ax.set_ylabel(LABELS[stat], fontsize=9)
            if i == len(stats_) - 1:
                ax.set_xlabel("imbalance ratio (nominal)", fontsize=8)
    _legend(fig)
    return R._save(fig, run.path("study_ratio.png"), files)


def per_rank_table(run) -> pd.DataFrame:
    """Test recall by long-tail class rank (0 = head), mean over seeds, per (label, model, strategy)."""
    parts = _read_subsets(run)
    m = run.metrics[(run.metrics["split"] == "test") & run.metrics["metric"].str.startswith("recall[")]
    if m.empty or not parts:
        return pd.DataFrame()
    index = {f"recall[{c}]": i for i, c in enumerate(run.classes)}
    C = len(run.classes)
    rows = []
    for key, g in m.groupby(["dataset", *MODEL_COLS, "strategy"], sort=False):
        per_seed = []
        for s, gs in g.groupby("seed"):
            info = parts.get((str(key[0]), int(s)))
            if info is None:
                continue
            rec = np.full(C, np.nan)
            for r in gs.itertuples(index=False):
                if r.metric in index:
                    rec[info["rank"][index[r.metric]]] = r.value
            per_seed.append(rec)
        if per_seed:
            stack = np.vstack(per_seed)
            mean = M._nanmean(stack, axis=0)
            row = dict(zip(["label", *MODEL_COLS, "strategy"], map(str, key), strict=True))
            row.update({f"rank{r}": float(mean[r]) for r in range(C)})
            rows.append(row)
    return _ordered(run, pd.DataFrame(rows))


def _rank_counts(run, label: str) -> np.ndarray | None:
    parts = _read_subsets(run)
    seeds = [v for (lbl, _), v in parts.items() if lbl == label]
    if not seeds:
        return None
    C = len(run.classes)
    n = np.zeros(C)
    for v in seeds:
        n[v["rank"]] += v["n_train"]
    return n / len(seeds)


def _rank_figure(run, ranks: pd.DataFrame, ratios, files):
    from benchmarks import report as R

    if ranks.empty:
        return None
    label = max(ratios, key=lambda lr: -1 if lr[1] is None else lr[1])[0]
    df = ranks[ranks["label"] == label]
    if df.empty:
        return None
    C = len(run.classes)
    models = list(dict.fromkeys(df["model"]))
    strategies = list(dict.fromkeys(ranks["strategy"]))
    colors = _colors(strategies)
    counts = _rank_counts(run, label)
    fig = R._figure(3.2 * len(models) + 1.6, 3.2)
    for j, model in enumerate(models):
        ax = fig.add_subplot(1, len(models), j + 1)
        if counts is not None:
            ax2 = ax.twinx()
            ax2.bar(range(C), counts, color="#bbbbbb", alpha=0.35, width=0.8)
            ax2.set_yticks([])
            ax.set_zorder(ax2.get_zorder() + 1)
            ax.patch.set_visible(False)
        for strategy in strategies:
            g = df[(df["model"] == model) & (df["strategy"] == strategy)]
            if g.empty:
                continue
            y = g[[f"rank{r}" for r in range(C)]].to_numpy(dtype=np.float64)[0]
            ax.plot(range(C), y, marker=".", lw=2.2 if strategy == "none" else 1.1,
                    color=colors[strategy], label=strategy)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xticks(range(C))
        ax.set_xlabel("class rank (0 = head); bars: training tracks", fontsize=7)
        ax.set_title(model, fontsize=9)
        if j == 0:
            ax.set_ylabel("test recall (mean over seeds)", fontsize=8)
    _legend(fig)
    fig.suptitle(f"Recall by class rank, {label}", fontsize=10)
    return R._save(fig, run.path("study_rank_recall.png"), files)


def findings(run, pooled: pd.DataFrame, sig: pd.DataFrame) -> list[str]:
    """One sentence per model: which strategies change the main metric and the tail recall, pooled."""
    task = run.task
    look = _sig_lookup(sig)
    main = DELTAS[task][0]
    out = []
    for model, g in pooled[pooled["strategy"] != "none"].groupby("model", sort=False):
        parts = []
        for stat in (main, "tail_recall"):
            if f"delta_{stat}" not in g.columns:
                continue
            ups, downs = [], []
            for r in g.to_dict("records"):
                s = look.get(("pooled", model, r["strategy"], stat))
                d = r.get(f"delta_{stat}", np.nan)
                if s and s[2] and np.isfinite(d):
                    (ups if d > 0 else downs).append(f"{r['strategy']} {d:+.3f}")
            if ups or downs:
                what = [f"up with {', '.join(ups)}"] if ups else []
                what += [f"down with {', '.join(downs)}"] if downs else []
                parts.append(f"{LABELS[stat]}: " + "; ".join(what))
            else:
                parts.append(f"{LABELS[stat]}: no significant change")
        best = g.loc[g[f"delta_{main}"].idxmax()] if g[f"delta_{main}"].notna().any() else None
        tail = f" Largest mean gain in {LABELS[main]}: {best['strategy']} ({best[f'delta_{main}']:+.3f})." \
            if best is not None else ""
        out.append(f"{model}: " + ". ".join(parts) + "." + tail)
    return out


def section(run):
    """The study section of report.html and the study's tables and figures (see the module docstring);
    None for a run folder that is not an imbalance study."""
    from benchmarks import report as R

    if run.config.get("study") != "imbalance" or "imbalance" not in run.config:
        return None
    summary = study_summary(run)
    if summary.empty:
        return None
    files: list[Path] = []
    ratios = _ratios(run)
    ratio_of = dict(ratios)
    per_seed = _per_seed_table(run)
    pooled = pooled_summary(run, per_seed)
    sig = study_significance(run, n_boot=run.n_boot)
    grid, pgrid = _grids(run, summary, pooled, sig, ratio_of)
    eff = _effective_ratios(run)
    found = findings(run, pooled, sig)
    main = DELTAS[run.task][0]
    method = (f"Δ: change against strategy none, paired on (ratio, seed): same training subset, same test tracks; "
              f"mean over seeds (pooled: over ratios and seeds). *: the 95% paired bootstrap interval "
              f"({run.n_boot} resamples of the test tracks, each with all its pairs) excludes 0; no correction "
              f"for the number of cells. Tail / head recall: mean test recall of the third of the classes with the "
              f"fewest / most training tracks in the subset.")
    thresholds = ("OvR F1: every class decided on its own probability, at 0.5 or at a per-class threshold tuned "
                  "on the validation split to maximise F1." if run.task == "single" else
                  "(0.5): tags predicted at probability 0.5; (tuned): at per-tag thresholds tuned on the "
                  "validation split to maximise F1.")
    notes = [method, thresholds]
    over = "pooled over ratios and seeds" if len(ratios) > 1 else "over seeds"
    if sig.empty:
        notes.append("No predictions.csv in the ratio folders: significance was not tested.")
    md = ("# Imbalance study\n\n" + "".join(f"- {e}\n" for e in eff) + ("\n" if eff else "")
          + f"## Which strategies help ({over})\n\n" + "".join(f"- {f}\n" for f in found)
          + "\n" + R.grid_markdown(pgrid) + "\n## Per ratio\n\n" + R.grid_markdown(grid)
          + "".join(f"\n{n}\n" for n in notes))
    R._write(run.path("study.md"), md, files)
    csv = summary.copy()
    csv.insert(1, "ratio", [ratio_of.get(lbl) for lbl in csv["label"]])
    for m in DELTAS[run.task]:
        for col in ("lo", "hi", "significant"):
            csv[f"delta_{m}_{col}"] = [
                _sig_lookup(sig).get((r["label"], r["model"], r["strategy"], m), (np.nan, np.nan, False))[
                    ("lo", "hi", "significant").index(col)] for r in csv.to_dict("records")]
    pooled_csv = pooled.assign(label="pooled", ratio=np.nan)
    for m in DELTAS[run.task]:
        look = _sig_lookup(sig)
        for col in ("lo", "hi", "significant"):
            pooled_csv[f"delta_{m}_{col}"] = [
                look.get(("pooled", r["model"], r["strategy"], m), (np.nan, np.nan, False))[
                    ("lo", "hi", "significant").index(col)] for r in pooled_csv.to_dict("records")]
    R._write(run.path("study.csv"), R._csv_text(pd.concat([csv, pooled_csv], ignore_index=True)), files)
    tex = (R.grid_latex(pgrid, caption=f"Change against no strategy, pooled over ratios and seeds. {method}",
                        label="tab:study-pooled")
           + R.grid_latex(grid, caption=f"Imbalance study, test split, mean ± std over seeds. {thresholds}",
                          label="tab:study"))
    R._write(run.path("study.tex"), tex, files)
    ranks = per_rank_table(run)
    if not ranks.empty:
        R._write(run.path("study_per_rank.csv"), R._csv_text(ranks), files)
        C = len(run.classes)
        rg = R.Grid(["Ratio", "Model", "Strategy", *[str(r) for r in range(C)]], [], ["l", "l", "l"] + ["r"] * C)
        for r in ranks.to_dict("records"):
            ratio = ratio_of.get(r["label"])
            rg.rows.append(["own" if ratio is None else f"{ratio:g}", r["model"], r["strategy"],
                            *[("n/a" if not np.isfinite(r[f"rank{k}"]) else f"{r[f'rank{k}']:.2f}") for k in range(C)]])
        head = (f"Test recall by class rank (0 = head, {C - 1} = tail), mean over seeds; "
                "the class at a rank differs by seed.")
        R._write(run.path("study_per_rank.md"), head + "\n\n" + R.grid_markdown(rg), files)
    body = "".join(R._p(e) for e in eff)
    body += "<h3>Which strategies help</h3><ul>" + "".join(f"<li>{html.escape(f)}</li>" for f in found) + "</ul>"
    heat = _heatmap_figure(run, summary, pooled, sig, ratios, files)
    if heat is not None:
        body += R._img(heat, f"heatmap of the change in {LABELS[main]} against no strategy")
    else:
        body += R._p("Only strategy none ran: nothing to compare.")
    line = _ratio_figure(run, summary, ratios, files)
    if line is not None:
        body += "<h3>Against the imbalance ratio</h3>" + R._img(line, f"{LABELS[main]} against imbalance ratio")
    else:
        body += R._p("One imbalance level: no plot against the ratio.")
    rank = _rank_figure(run, ranks, ratios, files)
    if rank is not None:
        body += "<h3>Recall by class rank</h3>" + R._img(rank, "test recall by class rank")
    body += (f"<h3>{over.capitalize()}</h3>" + R.grid_html(pgrid, "results")
             + "<h3>Per ratio</h3>" + R.grid_html(grid, "results") + "".join(R._p(n) for n in notes))
    return R.Section("study", "Imbalance study", body, files)
