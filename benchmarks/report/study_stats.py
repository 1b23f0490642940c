"""The imbalance study's numbers for its report section, from a study folder (`benchmarks.study`): the
per-ratio and pooled summaries of the changes against strategy `none`, their paired bootstrap, recall by
class rank, the effective ratios drawn (subsets.csv) and one sentence of findings per model."""

from __future__ import annotations

import numpy as np
import pandas as pd

from benchmarks.metrics import Pair, nanmean, run_bootstrap, tune_thresholds
from benchmarks.metrics.imbalance import decisions, paired_diff_fn
from benchmarks.runfolder import MODEL_KEYS, PREDICTIONS_FILE, decode_predictions, read_predictions, read_subsets

MODEL_COLS = MODEL_KEYS[:3]  # model, family, input: a model's identity apart from its strategy
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


def study_significance(run, n_boot: int = N_BOOT, seed: int = 0) -> pd.DataFrame:
    """Paired bootstrap of every (label or 'pooled', model, strategy) change against `none`.

    run: the report's RunData of a study folder. Reads each ratio folder's predictions.csv. Returns columns
    label, model, family, input, strategy, stat, n_pairs, delta, lo, hi, significant (empty frame without
    predictions).
    """
    info = run.config.get("imbalance", {})
    task, classes = run.task, run.classes
    C = len(classes)
    parts = subset_parts(run)
    decoded: dict[tuple, dict] = {}
    for r in info.get("runs", []):
        p = run.run_dir / r["dir"] / PREDICTIONS_FILE
        if not p.is_file():
            continue
        df = read_predictions(p, classes)
        if df.empty:
            continue
        for key, g in df.groupby([*MODEL_KEYS, "seed"], sort=False):
            by = {s: gs for s, gs in g.groupby("split")}
            if "test" not in by:
                continue
            yt, Pt = decode_predictions(by["test"], classes, task)
            thr = None
            if task == "multi" and "valid" in by:
                yv, Pv = decode_predictions(by["valid"], classes, task)
                thr = tune_thresholds(yv, Pv, classes)
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
            a = decisions(task, d["P"][ia], d["thr"] if tuned else None)
            b = decisions(task, ref["P"][ib], ref["thr"] if tuned else None)
            pair = Pair(tidx, d["y"][ia], a, b, {"tail": tail})
            for group in groups:
                pairs.setdefault((group, model, family, inp, strategy), {}).setdefault(stat, []).append(pair)
    rows = []
    for key, by_stat in pairs.items():
        for stat, plist in by_stat.items():
            delta, lo, hi = run_bootstrap(plist, len(track_index), [paired_diff_fn(stat, task, C)], n_boot, seed)[0]
            rows.append(dict(zip(cols, [*key[:4], key[4], stat, len(plist), delta, lo, hi,
                                        bool(lo > 0 or hi < 0)], strict=True)))
    return pd.DataFrame(rows, columns=cols)


def subset_parts(run) -> dict[tuple, dict[str, np.ndarray]]:
    """{(label, seed): {"tail": bool (C,), "rank": int (C,), "n_train": int (C,)}} from subsets.csv."""
    df = read_subsets(run.run_dir)
    if df is None:
        return {}
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


def study_ratios(run) -> list[tuple[str, float | None]]:
    """(label, ratio) of the study's runs in order; from config.json, else from metrics.csv's labels."""
    runs = run.config.get("imbalance", {}).get("runs")
    if runs:
        return [(r["label"], r["ratio"]) for r in runs]
    out = []
    for label in dict.fromkeys(run.metrics["dataset"]):
        tail = str(label).rsplit("@ir", 1)
        out.append((label, float(tail[1]) if len(tail) == 2 else None))
    return out


def per_seed_table(run) -> pd.DataFrame:
    """Test metrics wide: one row per (label, model, family, input, strategy, seed), one column per metric."""
    m = run.metrics[run.metrics["split"] == "test"]
    return m.pivot_table(index=["dataset", *MODEL_COLS, "strategy", "seed"], columns="metric", values="value",
                         aggfunc="first", sort=False).reset_index()


def study_summary(run) -> pd.DataFrame:
    """Per (label, model, strategy): mean and std over seeds of the study's columns, and the mean paired
    change against `none` (same label, model and seed) with the number of seeds where it is positive."""
    task = run.task
    wide = per_seed_table(run)
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
    labels = [lbl for lbl, _ in study_ratios(run)]
    models = list(run.config.get("models") or []) + list(dict.fromkeys(df["model"]))
    strategies = list(run.config.get("strategies") or []) + list(dict.fromkeys(df["strategy"]))
    first = {}
    for name, seq in (("label", labels), ("model", models), ("strategy", strategies)):
        first[name] = {v: i for i, v in reversed(list(enumerate(seq)))}
    cols = [c for c in ("label", "model", "strategy") if c in df.columns]
    key = [df[c].map(lambda v, c=c: first[c].get(v, len(first[c]))) for c in cols]
    order = np.lexsort(tuple(k.to_numpy() for k in reversed(key)))
    return df.iloc[order].reset_index(drop=True)


def pooled_summary(run, per_seed: pd.DataFrame) -> pd.DataFrame:
    """Per (model, strategy), over every label and seed: mean of the paired changes against `none`."""
    task = run.task
    keys = [*MODEL_COLS, "strategy"]
    # A subset drawn at two ratios (whole groups) gives the same fits twice: count it once.
    parts = subset_parts(run)
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


def sig_lookup(sig: pd.DataFrame) -> dict[tuple, tuple[float, float, bool]]:
    """{(label, model, strategy, stat): (lo, hi, significant)} from `study_significance`'s frame."""
    return {(r.label, r.model, r.strategy, r.stat): (r.lo, r.hi, bool(r.significant))
            for r in sig.itertuples(index=False)}


def effective_ratios(run) -> list[str]:
    """One sentence per label: the training tracks drawn and the head / tail counts (effective ratio)."""
    df = read_subsets(run.run_dir)
    if df is None:
        return []
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


def per_rank_table(run) -> pd.DataFrame:
    """Test recall by long-tail class rank (0 = head), mean over seeds, per (label, model, strategy)."""
    parts = subset_parts(run)
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
            mean = nanmean(stack, axis=0)
            row = dict(zip(["label", *MODEL_COLS, "strategy"], map(str, key), strict=True))
            row.update({f"rank{r}": float(mean[r]) for r in range(C)})
            rows.append(row)
    return _ordered(run, pd.DataFrame(rows))


def findings(run, pooled: pd.DataFrame, sig: pd.DataFrame) -> list[str]:
    """One sentence per model: which strategies change the main metric and the tail recall, pooled."""
    task = run.task
    look = sig_lookup(sig)
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
