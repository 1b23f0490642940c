"""Paired significance tests between models scored on the same test tracks: McNemar's test
(`mcnemar`) and every model against a reference model from a predictions table (`significance`).

Significance (`significance`)
-----------------------------
The reference model is the one with the best seed-mean validation score (accuracy, or mAP for
tagging), so that choosing it does not use the test tracks it is then compared on; only without
validation predictions for every model is it chosen on the test split (logged, and recorded in the
`selection_split` column), which favours it. Every other model is compared with it on the same test
tracks. Predictions are paired on (track_id, seed); where two models share no seed (e.g. a
deterministic model run once) every seed of one is paired with every seed of the other. The
observed difference (model - reference) is the difference of the seed-averaged metric. The bootstrap
resamples *tracks* (each track with all its seeds), not (track, seed) rows, since seeds do not add
test tracks: its interval reflects the size of the test split. Each difference gets the unadjusted
percentile 95% interval and a two-sided bootstrap p-value (`bootstrap_p`); the k - 1 comparisons
with the reference are one family per metric (accuracy and macro-F1 apart), and `significant` is
Holm's adjusted p-value <= 0.05 within the family. McNemar's test is computed on the discordant
counts pooled over the seed pairs and reported, not used for `significant`: with several seeds those
pairs are not independent, so its p-value is then optimistic. For tagging the compared metric is
mAP: each resample of tracks recomputes every label's AP for both models (a label with only
positives or only negatives in the resample is left out, as in `multi_label_metrics`), and
McNemar's test, which needs one right/wrong decision per track, is not computed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats
from tqdm.auto import tqdm

from benchmarks.metrics.bootstrap import (
    Pair,
    accuracy_diff,
    bootstrap_tests,
    holm,
    macro_f1_diff,
    map_diff,
    weighted_macro_f1,
)
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


def _seed_mean_scores(df: pd.DataFrame, classes: Sequence[str], task: str):
    """Rows per model key and seed, their decoded predictions, and the seed-mean main score per key."""
    models = _per_seed(df)
    decoded = {k: {s: decode_predictions(g, classes, task) for s, g in seeds.items()} for k, seeds in models.items()}
    scores = {k: float(np.mean([_score(y, P, task) for y, P in d.values()])) for k, d in decoded.items()}
    return models, decoded, scores


def _selection(pred_df: pd.DataFrame, classes, task, split: str, select_split: str, keys, split_scores):
    """(the split the reference is chosen on, the seed-mean main score of every key there)."""
    if str(select_split) != str(split):
        sel = pred_df[pred_df["split"].astype(str) == str(select_split)]
        scores = _seed_mean_scores(sel, classes, task)[2] if not sel.empty else {}
        missing = [_model_label(k) for k in keys if k not in scores]
        if not missing:
            return str(select_split), {k: scores[k] for k in keys}
        log.warning("no %s predictions for %s: the reference model is chosen on the %s split, the split it is "
                    "compared on", select_split, ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else ""), split)
    return str(split), dict(split_scores)


def significance(pred_df: pd.DataFrame, classes: Sequence[str], task: str, split: str = "test",
                 n_boot: int = 2000, seed: int = 0, select_split: str = "valid",
                 alpha: float = 0.05) -> pd.DataFrame:
    """Every model against a reference model on `split`, pooled over seeds (see the module docstring).

    pred_df: predictions.csv rows; classes, task: from config.json. The reference model (key: model,
    family, input, strategy) has the highest seed-mean accuracy (single) or mAP (multi) on
    `select_split` (ties: the smallest key), when every model compared has predictions there; else it
    is chosen on `split` itself (logged). Returns one row per model, the reference first, then by the
    `split` score, with columns model, family, input, strategy, is_reference, selection_split,
    selection_score (the seed-mean score the reference was chosen on), n_tracks, n_seeds (seed pairs),
    then for single-label: accuracy, delta_accuracy, accuracy_lo, accuracy_hi, p_boot, p_holm,
    significant, macro_f1, delta_macro_f1, macro_f1_lo, macro_f1_hi, p_boot_macro_f1,
    p_holm_macro_f1, significant_macro_f1, mcnemar_b, mcnemar_c, mcnemar_statistic, mcnemar_p; for
    multi-label: map, delta_map, map_lo, map_hi, p_boot, p_holm, significant (McNemar, defined for one
    decision per track, is not computed). delta = model - reference; lo, hi: the unadjusted percentile
    95% interval; p_boot: the two-sided bootstrap p-value (`bootstrap_p`); p_holm: Holm's adjustment
    over the comparisons with the reference, within each metric; significant: p_holm <= alpha. The
    reference's row has zero deltas, p_boot and p_holm NaN (not tested) and McNemar's p = 1.
    """
    check_task(task)
    df = pred_df[pred_df["split"].astype(str) == str(split)]
    if df.empty:
        raise DatasetError(f"predictions hold no rows for split {split!r}")
    models, decoded, scores = _seed_mean_scores(df, classes, task)
    macro_f1 = {}
    if task == "single":
        macro_f1 = {k: float(np.mean([weighted_macro_f1(np.ones((1, len(y))), y, P.argmax(1), len(classes))[0]
                                      for y, P in d.values()])) for k, d in decoded.items()}
    sel_split, sel_scores = _selection(pred_df, classes, task, split, select_split, list(models), scores)

    def by_score(table):
        return lambda k: (-np.nan_to_num(table[k], nan=-np.inf), k)

    ref = sorted(models, key=by_score(sel_scores))[0]
    log.info("reference model: %s (seed-mean %s %.4f on the %s split)", _model_label(ref), MAIN_METRIC[task],
             sel_scores[ref], sel_split)
    ranked = [ref] + sorted((k for k in models if k != ref), key=by_score(scores))
    main = MAIN_METRIC[task]
    families = [main] + (["macro_f1"] if task == "single" else [])
    rows = []
    for key in tqdm(ranked, desc=f"significance ({split})", unit="model", leave=False, disable=None):
        row = dict(zip(MODEL_KEYS, key, strict=True))
        row["is_reference"] = key == ref
        row["selection_split"], row["selection_score"] = sel_split, sel_scores[key]
        row[main] = scores[key]
        if task == "single":
            row["macro_f1"] = macro_f1[key]
        pairs, n_tracks = _pairs(models[key], models[ref], decoded[key], decoded[ref], task)
        row["n_tracks"], row["n_seeds"] = n_tracks, len(pairs)
        b = c = 0
        if key == ref:
            tests = [(0.0, 0.0, 0.0, np.nan)] * len(families)
        elif not pairs:
            log.warning("%s shares no %s track with the reference model %s: no significance test",
                        _model_label(key), split, _model_label(ref))
            tests = [(np.nan, np.nan, np.nan, np.nan)] * len(families)
        elif task == "single":
            tests = bootstrap_tests(pairs, n_tracks, [accuracy_diff, macro_f1_diff(len(classes))], n_boot, seed)
            for p in pairs:
                db, dc = _discordant(p.a == p.y, p.b == p.y)
                b, c = b + db, c + dc
        else:
            tests = bootstrap_tests(pairs, n_tracks, [map_diff], n_boot, seed)
        for name, (delta, lo, hi, p) in zip(families, tests, strict=True):
            sfx = "" if name == main else f"_{name}"
            row[f"delta_{name}"], row[f"{name}_lo"], row[f"{name}_hi"] = delta, lo, hi
            row[f"p_boot{sfx}"] = p
        if task == "single":
            row["mcnemar_b"], row["mcnemar_c"] = b, c
            if pairs or key == ref:
                row["mcnemar_statistic"], row["mcnemar_p"] = _mcnemar_counts(b, c)
            else:
                row["mcnemar_statistic"], row["mcnemar_p"] = np.nan, np.nan
        rows.append(row)
    for name in families:
        sfx = "" if name == main else f"_{name}"
        adjusted = holm([r[f"p_boot{sfx}"] for r in rows])
        for r, p in zip(rows, adjusted, strict=True):
            r[f"p_holm{sfx}"] = float(p)
            r[f"significant{sfx}"] = bool(np.isfinite(p) and p <= alpha)
    head = [*MODEL_KEYS, "is_reference", "selection_split", "selection_score", "n_tracks", "n_seeds"]
    cols = head + [c for name in families for c in (
        name, f"delta_{name}", f"{name}_lo", f"{name}_hi",
        *(f"{k}{'' if name == main else '_' + name}" for k in ("p_boot", "p_holm", "significant")))]
    if task == "single":
        cols += ["mcnemar_b", "mcnemar_c", "mcnemar_statistic", "mcnemar_p"]
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
