"""The `python -m benchmarks.datasets.synthetic` command: generate a corpus, time it, and with `--check` measure
how hard it is (logistic regression on MFCC means, artist-aware vs random splits).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import tempfile
import time

import librosa
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MultiLabelBinarizer, StandardScaler
from tqdm.auto import tqdm

from benchmarks.datasets.synthetic.corpus import Synthetic, SyntheticTags, default_jobs, read_manifest, split_column
from features import audio


def mfcc_means(paths, sr: int) -> np.ndarray:
    """Mean over frames of 20 MFCCs (librosa defaults otherwise), shape (n_tracks, 20)."""
    out = np.empty((len(paths), 20))
    for i, p in enumerate(tqdm(list(paths), desc="MFCC means", unit="track", leave=False)):
        y = audio.load(p, sr=sr)
        out[i] = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=20).mean(axis=1)
    return out


def check_difficulty(ds, X: np.ndarray, seeds: list[int], folds: int = 5) -> pd.DataFrame:
    """Logistic regression (StandardScaler + LogisticRegression) on X over splits of ds.table.

    Rows: protocol ('artist-aware' / 'random'), scheme ('80/10/10 test' / 'k-fold CV'), seed, score:
    test accuracy for a single-label corpus, macro ROC-AUC over tags for a multi-label one.
    The 'random' protocol is the same stratified procedure with each track its own group.
    """
    table = ds.table.drop(columns="split")
    multi = ds.task == "multi"
    if multi:
        y = MultiLabelBinarizer(classes=ds.classes).fit_transform(table["labels"])
    else:
        y = table["label"].to_numpy()

    def score(train, test) -> float:
        est = LogisticRegression(max_iter=3000)
        model = make_pipeline(StandardScaler(), OneVsRestClassifier(est) if multi else est)
        if multi:
            cols = (y[train].min(0) != y[train].max(0)) & (y[test].min(0) != y[test].max(0))
            if not cols.any():  # no tag with both outcomes on both sides: AUC undefined
                return float("nan")
            model.fit(X[train], y[train][:, cols])
            return float(roc_auc_score(y[test][:, cols], model.predict_proba(X[test]), average="macro"))
        model.fit(X[train], y[train])
        return float(np.mean(model.predict(X[test]) == y[test]))

    rows = []
    for protocol in ("artist-aware", "random"):
        t = table if protocol == "artist-aware" else table.assign(group=table["track_id"])
        for seed in seeds:
            split = split_column(t, seed=seed)
            rows.append((protocol, "80/10/10 test", seed, score(split == "train", split == "test")))
            fold = split_column(t, seed=seed, folds=folds)
            cv = [score(fold != k, fold == k) for k in range(folds)]
            rows.append((protocol, f"{folds}-fold CV", seed, float(np.nanmean(cv))))
    return pd.DataFrame(rows, columns=["protocol", "scheme", "seed", "score"])


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (the generation workers), in seconds."""
    try:
        import resource
    except ImportError:
        return time.process_time()
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main(argv: list[str] | None = None) -> int:
    """Run the command with `argv` (default: sys.argv[1:]); its exit status."""
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.datasets.synthetic",
        description="Generate the synthetic corpora and measure how hard they are.",
    )
    ap.add_argument("--check", action="store_true", help="measure difficulty (LR on MFCC means) and timings")
    ap.add_argument("--dataset", choices=["synthetic", "synthetic-tags"], default="synthetic")
    ap.add_argument("--data-dir", default=None, help="corpus folder (default: $ENV or ./data/<dataset>)")
    ap.add_argument("--fresh", action="store_true", help="generate into a new temporary folder (to time it)")
    ap.add_argument("--seeds", type=int, default=5, help="number of split seeds (default 5)")
    ap.add_argument("-o", "--option", action="append", default=[], metavar="KEY=VALUE",
                    help="corpus option, e.g. -o tracks_per_genre=40 -o duration=10 (repeatable)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    options = {}
    for kv in args.option:
        if "=" not in kv:
            ap.error(f"--option {kv!r} must look like KEY=VALUE")
        k, v = kv.split("=", 1)
        options[k.strip()] = v.strip()
    cls = Synthetic if args.dataset == "synthetic" else SyntheticTags
    with contextlib.ExitStack() as stack:
        data_dir = stack.enter_context(tempfile.TemporaryDirectory()) if args.fresh else args.data_dir
        module = cls(data_dir, **options)
        root, _ = module.candidate_root()
        fresh = read_manifest(root) is None
        t0, c0 = time.perf_counter(), _cpu_seconds()
        ds = module.load()
        gen_s, gen_cpu = time.perf_counter() - t0, _cpu_seconds() - c0
        n = len(ds.table)
        print(f"{module.name}: {n} tracks, {len(ds.classes)} classes, in {root}")
        print(f"  parameters: {module.params}")
        if fresh:
            jobs = module.jobs or default_jobs(n)
            print(f"  generation: {gen_s:.1f} s wall with {jobs} process(es), {gen_cpu:.1f} s CPU in all "
                  f"({gen_cpu / n * 1000:.0f} ms CPU per track)")
        else:
            print(f"  generation: reused the existing corpus ({gen_s:.1f} s to verify and load); --fresh to time it")
        if ds.task == "multi":
            freq = pd.Series([t for tags in ds.table["labels"] for t in tags]).value_counts() / n
            print("  tag frequencies: " + ", ".join(f"{t} {f:.1%}" for t, f in freq.items()))
            print(f"  rarest {freq.index[-1]} {freq.iloc[-1]:.1%}, most common {freq.index[0]} {freq.iloc[0]:.1%}")
        if not args.check:
            return 0
        t0 = time.perf_counter()
        X = mfcc_means(ds.table["path"], module.params["sr"])
        print(f"  MFCC means: {time.perf_counter() - t0:.1f} s for {n} tracks")
        res = check_difficulty(ds, X, list(range(args.seeds)))
        metric = "test accuracy" if ds.task == "single" else "macro ROC-AUC over tags"
        chance = f"chance {1 / len(ds.classes):.2f}" if ds.task == "single" else "chance 0.50"
        print(f"\nStandardScaler + LogisticRegression on 20 MFCC means: {metric} ({chance}), "
              f"split seeds 0..{args.seeds - 1}")
        summary = res.groupby(["protocol", "scheme"], sort=False)["score"].agg(["mean", "std", "min", "max"])
        print(summary.round(3).to_string())
        g = res[res["protocol"] == "artist-aware"].groupby("scheme", sort=False)["score"].mean()
        r = res[res["protocol"] == "random"].groupby("scheme", sort=False)["score"].mean()
        for scheme in g.index:
            print(f"  artist effect ({scheme}): random split {r[scheme]:.3f} vs artist-aware {g[scheme]:.3f} "
                  f"({r[scheme] - g[scheme]:+.3f})")
    return 0
