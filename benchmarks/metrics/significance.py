"""Paired significance tests between models scored on the same test tracks: McNemar's test
(`mcnemar`) and every model against the best one from a predictions table (`significance`).

Significance (`significance`)
-----------------------------
Models are compared with the best one on the same test tracks. Predictions are paired on
(track_id, seed); where two models share no seed (e.g. a deterministic model run once) every seed
of one is paired with every seed of the other. The observed difference is the difference of the
seed-averaged metric. The bootstrap resamples *tracks* (each track with all its seeds), not
(track, seed) rows, since seeds do not add test tracks: its interval reflects the size of the test
split. McNemar's test is computed on the discordant counts pooled over the seed pairs; with
several seeds those pairs are not independent, so its p-value is then optimistic and the
`significant` flag relies on the bootstrap interval. For tagging the compared metric is mAP: each
resample of tracks recomputes every label's AP for both models (a label with only positives or only
negatives in the resample is left out, as in `multi_label_metrics`), and McNemar's test, which needs
one right/wrong decision per track, is not computed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats
from tqdm.auto import tqdm

from benchmarks.metrics.bootstrap import Pair, accuracy_diff, macro_f1_diff, map_diff, run_bootstrap, weighted_macro_f1
from benchmarks.metrics.point import MAIN_METRIC, ap_columns, check_labels, check_task, nanmean
from benchmarks.runfolder import MODEL_KEYS, decode_predictions
from features.errors import DatasetError

log = logging.getLogger(__name__)


def mcnemar(y_true, pred_a, pred_b) -> tuple[float, float]:
    """McNemar's test of equal error rates of two classifiers on the same tracks.

    y_true, pred_a, pred_b: (n,) class indices. With b = #(a right, b wrong) and c = #(a wrong,
    b right): if b + c < 25 the exact two-sided binomial test, statistic = min(b, c) and
    p = min(1, 2 P(X <= min(b, c))), X ~ Binomial(b + c, 1/2); otherwise the chi-square test with
    continuity correction, statistic = (|b - c| - 1)^2 / (b + c) on 1 degree of freedom. With
    b + c = 0 the models never disagree on correctness: (0.0, 1.0). Returns (statistic, p_value).
    """
    y, a = check_labels(y_true, pred_a, "y_true", "pred_a")
    _, bb = check_labels(y_true, pred_b, "y_true", "pred_b")
    b, c = _discordant(y == a, y == bb)
    return _mcnemar_counts(b, c)


def _discordant(correct_a: np.ndarray, correct_b: np.ndarray) -> tuple[int, int]:
    return int(np.sum(correct_a & ~correct_b)), int(np.sum(~correct_a & correct_b))


def _mcnemar_counts(b: int, c: int) -> tuple[float, float]:
    m = b + c
    if m == 0:
        return 0.0, 1.0
    if m < 25:
        k = min(b, c)
        return float(k), float(min(1.0, 2 * stats.binom.cdf(k, m, 0.5)))
    statistic = (abs(b - c) - 1) ** 2 / m
    return float(statistic), float(stats.chi2.sf(statistic, 1))


# ----------------------------------------------------------------------------------------------
# significance from a predictions table


def _model_label(key: tuple) -> str:
    model, _, inp, strategy = key
    return f"{model} ({inp}, {strategy})"


def _per_seed(pred_df: pd.DataFrame) -> dict[tuple, dict[int, pd.DataFrame]]:
    """Rows of each model key (model, family, input, strategy) and seed, indexed by track_id."""
    out: dict[tuple, dict[int, pd.DataFrame]] = {}
    for key, g in pred_df.groupby(MODEL_KEYS, sort=False):
        key = tuple(str(k) for k in key)
        seeds = {}
        for s, gs in g.groupby("seed", sort=True):
            if gs["track_id"].duplicated().any():
                dup = gs.loc[gs["track_id"].duplicated(), "track_id"].iloc[0]
                raise DatasetError(f"predictions of {_model_label(key)} seed {s} list track {dup!r} twice")
            seeds[int(s)] = gs.set_index("track_id", drop=False)
        out[key] = seeds
    return out


def _score(y, P, task: str) -> float:
    if task == "single":
        return float(np.mean(P.argmax(1) == y))
    pos = y.sum(0)
    keep = (pos > 0) & (pos < len(y))
    return nanmean(ap_columns(y[:, keep], P[:, keep]))


def significance(pred_df: pd.DataFrame, classes: Sequence[str], task: str, split: str = "test",
                 n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Every model against the best one on `split`, pooled over seeds (see the module docstring).

    pred_df: predictions.csv rows; classes, task: from config.json. The best model (key: model, family,
    input, strategy) has the highest seed-mean accuracy (single) or mAP (multi). Returns one row per
    model, best first then by that score, with columns model, family, input, strategy, is_best,
    n_tracks, n_seeds (seed pairs), then for single-label: accuracy, delta_accuracy, accuracy_lo,
    accuracy_hi, macro_f1, delta_macro_f1, macro_f1_lo, macro_f1_hi, significant_macro_f1,
    mcnemar_b, mcnemar_c, mcnemar_statistic, mcnemar_p; for multi-label: map, delta_map, map_lo,
    map_hi (a track-resampling bootstrap of the difference in mAP; McNemar, defined for one
    decision per track, is not computed); and `significant`: the 95% interval of the main metric's
    difference (model - best) excludes 0. The best model's row has zero deltas and p = 1.
    """
    check_task(task)
    df = pred_df[pred_df["split"].astype(str) == str(split)]
    if df.empty:
        raise DatasetError(f"predictions hold no rows for split {split!r}")
    models = _per_seed(df)
    decoded = {k: {s: decode_predictions(g, classes, task) for s, g in seeds.items()} for k, seeds in models.items()}
    scores = {k: float(np.mean([_score(y, P, task) for y, P in d.values()])) for k, d in decoded.items()}
    macro_f1 = {}
    if task == "single":
        macro_f1 = {k: float(np.mean([weighted_macro_f1(np.ones((1, len(y))), y, P.argmax(1), len(classes))[0]
                                      for y, P in d.values()])) for k, d in decoded.items()}
    ranked = sorted(models, key=lambda k: (-np.nan_to_num(scores[k], nan=-np.inf), k))
    best = ranked[0]
    main = MAIN_METRIC[task]
    rows = []
    for key in tqdm(ranked, desc=f"significance ({split})", unit="model", leave=False, disable=None):
        row = dict(zip(MODEL_KEYS, key, strict=True))
        row["is_best"] = key == best
        row[main] = scores[key]
        if task == "single":
            row["macro_f1"] = macro_f1[key]
        pairs, n_tracks = _pairs(models[key], models[best], decoded[key], decoded[best], task)
        row["n_tracks"], row["n_seeds"] = n_tracks, len(pairs)
        n_stats = 2 if task == "single" else 1
        b = c = 0
        if key == best:
            stats_ = [(0.0, 0.0, 0.0)] * n_stats
        elif not pairs:
            log.warning("%s shares no test track with the best model %s: no significance test",
                        _model_label(key), _model_label(best))
            stats_ = [(np.nan, np.nan, np.nan)] * n_stats
        elif task == "single":
            stats_ = run_bootstrap(pairs, n_tracks, [accuracy_diff, macro_f1_diff(len(classes))], n_boot, seed)
            for p in pairs:
                db, dc = _discordant(p.a == p.y, p.b == p.y)
                b, c = b + db, c + dc
        else:
            stats_ = run_bootstrap(pairs, n_tracks, [map_diff], n_boot, seed)
        delta, lo, hi = stats_[0]
        row[f"delta_{main}"], row[f"{main}_lo"], row[f"{main}_hi"] = delta, lo, hi
        if task == "single":
            d2, lo2, hi2 = stats_[1]
            row["delta_macro_f1"], row["macro_f1_lo"], row["macro_f1_hi"] = d2, lo2, hi2
            row["significant_macro_f1"] = bool(lo2 > 0 or hi2 < 0)
            row["mcnemar_b"], row["mcnemar_c"] = b, c
            if pairs or key == best:
                row["mcnemar_statistic"], row["mcnemar_p"] = _mcnemar_counts(b, c)
            else:
                row["mcnemar_statistic"], row["mcnemar_p"] = np.nan, np.nan
        row["significant"] = bool(lo > 0 or hi < 0)
        rows.append(row)
    if task == "single":
        cols = [*MODEL_KEYS, "is_best", "n_tracks", "n_seeds", "accuracy", "delta_accuracy", "accuracy_lo",
                "accuracy_hi", "macro_f1", "delta_macro_f1", "macro_f1_lo", "macro_f1_hi", "significant_macro_f1",
                "mcnemar_b", "mcnemar_c", "mcnemar_statistic", "mcnemar_p", "significant"]
    else:
        cols = [*MODEL_KEYS, "is_best", "n_tracks", "n_seeds", "map", "delta_map", "map_lo", "map_hi", "significant"]
    out = pd.DataFrame(rows, columns=cols)
    for c in ("n_tracks", "n_seeds"):
        out[c] = out[c].astype(np.int64)
    return out


def _pairs(seeds_a, seeds_b, dec_a, dec_b, task) -> tuple[list[Pair], int]:
    """Seed pairs of two models on their common tracks; tracks indexed over the union of pairs."""
    common = sorted(set(seeds_a) & set(seeds_b))
    seed_pairs = [(s, s) for s in common] or [(sa, sb) for sa in sorted(seeds_a) for sb in sorted(seeds_b)]
    if not common:
        log.info("no common seed: pairing every seed of one model with every seed of the other")
    raw = []
    for sa, sb in seed_pairs:
        ia, ib = seeds_a[sa].index, seeds_b[sb].index
        tracks = sorted(set(ia) & set(ib))
        if not tracks:
            continue
        pa, pb = ia.get_indexer(tracks), ib.get_indexer(tracks)
        (ya, Pa), (yb, Pb) = dec_a[sa], dec_b[sb]
        if not np.array_equal(ya[pa], yb[pb]):
            raise DatasetError("two models disagree on the true labels of the same tracks in predictions")
        raw.append((tracks, ya[pa], Pa[pa], Pb[pb]))
    track_index = {t: i for i, t in enumerate(sorted({t for r in raw for t in r[0]}))}
    pairs = []
    for tracks, y, Pa, Pb in raw:
        tidx = np.array([track_index[t] for t in tracks], dtype=np.int64)
        if task == "single":
            pairs.append(Pair(tidx, y, Pa.argmax(1), Pb.argmax(1)))
        else:
            pairs.append(Pair(tidx, y, Pa, Pb))
    return pairs, len(track_index)
