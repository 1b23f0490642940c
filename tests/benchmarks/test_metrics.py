"""Metrics against scikit-learn and hand computations; bootstrap, McNemar, summaries, significance."""

from __future__ import annotations

import logging
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from benchmarks import metrics as M
from features.errors import ConfigError


def _softmax(z):
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def _single(seed: int, n: int = 240, C: int = 6, skill: float = 1.0, decimals: int | None = 2):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, C, n)
    z = rng.normal(size=(n, C))
    z[np.arange(n), y] += skill
    P = _softmax(z)
    if decimals is not None:        # rounding creates ties, which ROC-AUC / AP must handle like scikit-learn
        P = np.round(P, decimals)
        P = P / P.sum(1, keepdims=True)
    return y, P, [f"c{i}" for i in range(C)]


def _multi(seed: int, n: int = 200, C: int = 7, decimals: int | None = 1):
    rng = np.random.default_rng(seed)
    Y = (rng.random((n, C)) < np.linspace(0.1, 0.5, C)).astype(np.int64)
    S = 1 / (1 + np.exp(-(1.5 * (2 * Y - 1) + rng.normal(size=Y.shape) * 1.5)))
    if decimals is not None:
        S = np.round(S, decimals)
    return Y, S, [f"t{i}" for i in range(C)]


def _quiet(fn, *a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*a, **k)


# ------------------------------------------------------------------------------------------- single-label

@pytest.mark.parametrize("seed,decimals", [(0, 2), (1, None), (2, 1)])
def test_single_label_matches_sklearn(seed, decimals):
    y, P, classes = _single(seed, decimals=decimals)
    C = len(classes)
    m = M.single_label_metrics(y, P, classes)
    pred = P.argmax(1)
    assert list(m) == M.metric_names("single", classes)
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, pred), abs=1e-12)
    assert m["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, pred), abs=1e-12)
    assert m["macro_f1"] == pytest.approx(skm.f1_score(y, pred, average="macro"), abs=1e-12)
    assert m["weighted_f1"] == pytest.approx(skm.f1_score(y, pred, average="weighted"), abs=1e-12)
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(y, P, multi_class="ovr", average="macro"), abs=1e-12)
    assert m["pr_auc"] == pytest.approx(skm.average_precision_score(np.eye(C)[y], P, average="macro"), abs=1e-12)
    assert m["log_loss"] == pytest.approx(skm.log_loss(y, y_proba=P, labels=list(range(C))), abs=1e-12)
    assert m["n_auc_classes"] == C
    prec, rec, f1, _ = skm.precision_recall_fscore_support(y, pred, labels=list(range(C)), zero_division=0)
    for c, name in enumerate(classes):
        assert m[f"precision[{name}]"] == pytest.approx(prec[c], abs=1e-12)
        assert m[f"recall[{name}]"] == pytest.approx(rec[c], abs=1e-12)
        assert m[f"f1[{name}]"] == pytest.approx(f1[c], abs=1e-12)


def test_single_label_class_absent_from_y_true(caplog):
    y, P, classes = _single(3, n=150, C=5)
    y = np.where(y == 3, 0, y)              # class 3 never occurs in the test split
    P[:5, 3] += 5                           # but is predicted for some tracks
    P = P / P.sum(1, keepdims=True)
    pred = P.argmax(1)
    assert (pred == 3).any()
    with caplog.at_level(logging.WARNING, logger="benchmarks.metrics"):
        m = M.single_label_metrics(y, P, classes)
    assert "c3" in caplog.text and "left out" in caplog.text
    assert m["n_auc_classes"] == 4
    present = [0, 1, 2, 4]
    assert m["roc_auc"] == pytest.approx(np.mean([skm.roc_auc_score(y == c, P[:, c]) for c in present]), abs=1e-12)
    assert m["pr_auc"] == pytest.approx(np.mean([skm.average_precision_score(y == c, P[:, c]) for c in present]),
                                        abs=1e-12)
    assert np.isnan(m["recall[c3]"])
    assert m["precision[c3]"] == 0.0 and m["f1[c3]"] == 0.0
    assert m["balanced_accuracy"] == pytest.approx(_quiet(skm.balanced_accuracy_score, y, pred), abs=1e-12)
    assert m["macro_f1"] == pytest.approx(_quiet(skm.f1_score, y, pred, average="macro"), abs=1e-12)
    assert m["log_loss"] == pytest.approx(skm.log_loss(y, y_proba=P, labels=list(range(5))), abs=1e-12)


def test_single_label_class_neither_present_nor_predicted():
    y, P, classes = _single(4, n=80, C=4)
    y = np.where(y == 2, 1, y)
    P[:, 2] = 0.0
    P = P / P.sum(1, keepdims=True)
    m = M.single_label_metrics(y, P, classes)
    assert np.isnan(m["f1[c2]"]) and np.isnan(m["recall[c2]"])
    pred = P.argmax(1)
    assert m["macro_f1"] == pytest.approx(skm.f1_score(y, pred, average="macro"), abs=1e-12)


def test_confusion_matches_sklearn():
    rng = np.random.default_rng(5)
    y, p = rng.integers(0, 7, 300), rng.integers(0, 7, 300)
    np.testing.assert_array_equal(M.confusion(y, p, 7), skm.confusion_matrix(y, p, labels=list(range(7))))
    np.testing.assert_array_equal(M.confusion([0, 0], [0, 0], 3), [[2, 0, 0], [0, 0, 0], [0, 0, 0]])


def test_bad_inputs_raise_config_error():
    y, P, classes = _single(0, n=20, C=3)
    with pytest.raises(ConfigError, match="shape"):
        M.single_label_metrics(y, P[:, :2], classes)
    with pytest.raises(ConfigError, match="outside"):
        M.single_label_metrics(np.full(20, 3), P, classes)
    with pytest.raises(ConfigError, match="non-finite"):
        M.single_label_metrics(y, np.full_like(P, np.nan), classes)
    with pytest.raises(ConfigError, match="0/1"):
        M.multi_label_metrics(np.full((20, 3), 2), P, classes)
    with pytest.raises(ConfigError):
        M.paired_bootstrap(y, y, y, metric="auc")


# -------------------------------------------------------------------------------------------- multi-label

@pytest.mark.parametrize("seed,decimals", [(0, 1), (1, None)])
def test_multi_label_matches_sklearn(seed, decimals):
    Y, S, classes = _multi(seed, decimals=decimals)
    rng = np.random.default_rng(seed + 10)
    th = rng.uniform(0.3, 0.7, len(classes))
    m = M.multi_label_metrics(Y, S, classes, thresholds=th)
    assert list(m) == M.metric_names("multi", classes)
    Yh, Yt = (S >= 0.5).astype(int), (S >= th).astype(int)
    assert m["map"] == pytest.approx(skm.average_precision_score(Y, S, average="macro"), abs=1e-12)
    assert m["roc_auc_macro"] == pytest.approx(skm.roc_auc_score(Y, S, average="macro"), abs=1e-12)
    assert m["roc_auc_micro"] == pytest.approx(skm.roc_auc_score(Y, S, average="micro"), abs=1e-12)
    assert m["pr_auc_micro"] == pytest.approx(skm.average_precision_score(Y, S, average="micro"), abs=1e-12)
    for avg in ("macro", "micro", "samples"):
        assert m[f"f1_{avg}"] == pytest.approx(_quiet(skm.f1_score, Y, Yh, average=avg), abs=1e-12)
        assert m[f"f1_{avg}@tuned"] == pytest.approx(_quiet(skm.f1_score, Y, Yt, average=avg), abs=1e-12)
    assert m["hamming_loss"] == pytest.approx(skm.hamming_loss(Y, Yh), abs=1e-12)
    assert m["hamming_loss@tuned"] == pytest.approx(skm.hamming_loss(Y, Yt), abs=1e-12)
    assert m["ranking_loss"] == pytest.approx(skm.label_ranking_loss(Y, S), abs=1e-12)
    assert m["coverage_error"] == pytest.approx(skm.coverage_error(Y, S), abs=1e-12)
    assert m["lrap"] == pytest.approx(skm.label_ranking_average_precision_score(Y, S), abs=1e-12)
    ap = skm.average_precision_score(Y, S, average=None)
    prec, rec, f1, _ = _quiet(skm.precision_recall_fscore_support, Y, Yh, zero_division=0)
    for c, name in enumerate(classes):
        assert m[f"ap[{name}]"] == pytest.approx(ap[c], abs=1e-12)
        assert m[f"precision[{name}]"] == pytest.approx(prec[c], abs=1e-12)
        assert m[f"recall[{name}]"] == pytest.approx(rec[c], abs=1e-12)
        assert m[f"f1[{name}]"] == pytest.approx(f1[c], abs=1e-12)
    assert m["n_eval_labels"] == len(classes)


def test_multi_label_without_thresholds_has_nan_tuned_entries():
    Y, S, classes = _multi(2)
    m = M.multi_label_metrics(Y, S, classes)
    assert all(np.isnan(m[k]) for k in ("f1_macro@tuned", "f1_micro@tuned", "f1_samples@tuned"))
    assert np.isfinite(m["f1_macro"])


def test_multi_label_single_class_labels_are_reported_and_excluded(caplog):
    Y, S, classes = _multi(3, C=6)
    Y[:, 2] = 0                 # never present in the test split
    Y[:, 4] = 1                 # present on every track
    with caplog.at_level(logging.WARNING, logger="benchmarks.metrics"):
        m = M.multi_label_metrics(Y, S, classes)
    assert "t2" in caplog.text and "t4" in caplog.text
    keep = [0, 1, 3, 5]
    assert m["n_eval_labels"] == 4
    assert np.isnan(m["ap[t2]"]) and np.isnan(m["ap[t4]"]) and np.isnan(m["recall[t2]"])
    assert m["map"] == pytest.approx(skm.average_precision_score(Y[:, keep], S[:, keep], average="macro"), abs=1e-12)
    assert m["roc_auc_macro"] == pytest.approx(skm.roc_auc_score(Y[:, keep], S[:, keep], average="macro"), abs=1e-12)
    Yh = (S >= 0.5).astype(int)
    assert m["f1_macro"] == pytest.approx(skm.f1_score(Y[:, keep], Yh[:, keep], average="macro"), abs=1e-12)
    # micro and per-sample averages use every label
    assert m["roc_auc_micro"] == pytest.approx(skm.roc_auc_score(Y.ravel(), S.ravel()), abs=1e-12)
    assert m["f1_micro"] == pytest.approx(skm.f1_score(Y, Yh, average="micro"), abs=1e-12)
    assert m["ranking_loss"] == pytest.approx(skm.label_ranking_loss(Y, S), abs=1e-12)


def test_recall_and_precision_at_k_by_hand():
    Y = np.array([[1, 0, 0, 1, 0, 0],
                  [0, 1, 1, 1, 0, 0],
                  [0, 0, 0, 0, 0, 0],     # no true tag: left out of Recall@k / Precision@k
                  [0, 0, 0, 0, 0, 1]])
    S = np.array([[0.9, 0.8, 0.1, 0.2, 0.3, 0.0],     # top-3: 0, 1, 4 -> 1 hit of 2
                  [0.1, 0.7, 0.6, 0.5, 0.9, 0.0],     # top-3: 4, 1, 2 -> 2 hits of 3
                  [0.5, 0.5, 0.5, 0.5, 0.5, 0.5],
                  [0.6, 0.5, 0.4, 0.3, 0.2, 0.1]])    # tag 5 is ranked last
    m = M.multi_label_metrics(Y, S, [f"t{i}" for i in range(6)])
    assert m["recall@1"] == pytest.approx((1 / 2 + 0 + 0) / 3)
    assert m["precision@1"] == pytest.approx((1 + 0 + 0) / 3)
    assert m["recall@3"] == pytest.approx((1 / 2 + 2 / 3 + 0) / 3)
    assert m["precision@3"] == pytest.approx((1 / 3 + 2 / 3 + 0) / 3)
    # top-5 of row 0: 0, 1, 4, 3, 2 -> both true tags; row 1: 4, 1, 2, 3, 0 -> all three; row 3: tag 5 missed
    assert m["recall@5"] == pytest.approx((1 + 1 + 0) / 3)
    assert m["precision@5"] == pytest.approx((2 / 5 + 3 / 5 + 0) / 3)


def test_top_k_beyond_the_number_of_labels_is_left_out():
    Y, S, _ = _multi(4, C=4)
    m = M.multi_label_metrics(Y, S, ["a", "b", "c", "d"])
    assert "recall@3" in m and "recall@5" not in m and "precision@5" not in m
    assert "hit_rate@3" in m and "hit_rate@5" not in m
    assert list(m) == M.metric_names("multi", ["a", "b", "c", "d"])


def test_tune_thresholds_maximises_validation_f1(caplog):
    Y, S, classes = _multi(5, n=150, decimals=2)
    Y[:, 6] = 0                               # no positive: keeps 0.5
    with caplog.at_level(logging.WARNING, logger="benchmarks.metrics"):
        th = M.tune_thresholds(Y, S, classes)
    assert "t6" in caplog.text
    assert th.shape == (len(classes),) and th[6] == 0.5
    for c in range(6):
        best = max(skm.f1_score(Y[:, c], S[:, c] >= t) for t in np.unique(S[:, c]))
        assert skm.f1_score(Y[:, c], S[:, c] >= th[c]) == pytest.approx(best, abs=1e-12)
        # the midpoint rule: strictly between two distinct scores, or at the lowest one
        assert th[c] not in set(S[:, c]) or th[c] == S[:, c].min()
    m = M.multi_label_metrics(Y, S, classes, thresholds=th)
    keep = list(range(6))
    expected = skm.f1_score(Y[:, keep], (S >= th)[:, keep].astype(int), average="macro")
    assert m["f1_macro@tuned"] == pytest.approx(expected, abs=1e-12)
    assert m["f1_macro@tuned"] >= m["f1_macro"] - 1e-12


def test_cooccurrence_matrix_by_hand():
    rng = np.random.default_rng(6)
    Yt = (rng.random((50, 4)) < 0.4).astype(int)
    Yp = (rng.random((50, 4)) < 0.5).astype(int)
    Yt[:, 3] = 0
    M_ = M.cooccurrence_matrix(Yt, Yp)
    for i in range(3):
        for j in range(4):
            rows = [n for n in range(50) if Yt[n, i]]
            assert M_[i, j] == pytest.approx(sum(Yp[n, j] for n in rows) / len(rows))
    assert np.isnan(M_[3]).all()
    np.testing.assert_allclose(np.diag(M_)[:3], skm.recall_score(Yt, Yp, average=None, zero_division=0)[:3])


def test_multilabel_confusion_matches_sklearn():
    Y, S, _ = _multi(7)
    Yh = (S >= 0.5).astype(int)
    np.testing.assert_array_equal(M.multilabel_confusion(Y, Yh), skm.multilabel_confusion_matrix(Y, Yh))


# ------------------------------------------------------------------------------------------------ McNemar

def _with_discordant(b: int, c: int, n_both_right: int = 30, n_both_wrong: int = 7):
    """y, pred_a, pred_b with exactly b tracks only a gets right and c only b gets right."""
    n = b + c + n_both_right + n_both_wrong
    y = np.zeros(n, dtype=int)
    a = np.zeros(n, dtype=int)
    bb = np.zeros(n, dtype=int)
    a[b:b + c] = 1                               # a wrong, b right
    bb[:b] = 2                                   # a right, b wrong
    a[b + c + n_both_right:] = 1
    bb[b + c + n_both_right:] = 2                # both wrong
    return y, a, bb


def test_mcnemar_exact_by_hand():
    y, a, b = _with_discordant(10, 2)
    stat, p = M.mcnemar(y, a, b)
    hand = 2 * sum(math.comb(12, k) for k in range(3)) / 2**12      # = 2 * 79 / 4096
    assert stat == 2.0
    assert p == pytest.approx(hand, rel=1e-12)
    assert p == pytest.approx(M.mcnemar(y, b, a)[1], rel=1e-12)        # symmetric


def test_mcnemar_chi_square_by_hand():
    y, a, b = _with_discordant(30, 12)
    stat, p = M.mcnemar(y, a, b)
    hand = (abs(30 - 12) - 1) ** 2 / 42
    assert stat == pytest.approx(hand, rel=1e-12)
    assert p == pytest.approx(math.erfc(math.sqrt(hand / 2)), rel=1e-9)  # chi-square, 1 df, survival


def test_mcnemar_without_discordant_pairs():
    y, a, b = _with_discordant(0, 0)
    assert M.mcnemar(y, a, b) == (0.0, 1.0)


# ---------------------------------------------------------------------------------------------- bootstrap

@pytest.mark.parametrize("metric", ["accuracy", "macro_f1"])
def test_bootstrap_identical_predictions(metric):
    y, P, _ = _single(8, n=100)
    assert M.paired_bootstrap(y, P.argmax(1), P.argmax(1), metric=metric, n_boot=300) == (0.0, 0.0, 0.0)


def test_bootstrap_observed_difference_reproducibility_and_ci():
    y, Pa, _ = _single(9, n=290, C=10, skill=1.5)
    _, Pb, _ = _single(10, n=290, C=10, skill=1.2)
    pa, pb = Pa.argmax(1), Pb.argmax(1)
    rng = np.random.default_rng(10)
    pb = np.where(rng.random(290) < 0.5, pa, pb)        # correlated models, as on a real test split
    refs = (("accuracy", skm.accuracy_score), ("macro_f1", lambda t, p: skm.f1_score(t, p, average="macro")))
    for metric, ref in refs:
        d, lo, hi = M.paired_bootstrap(y, pa, pb, metric=metric, n_boot=1000, seed=3)
        assert d == pytest.approx(ref(y, pa) - ref(y, pb), abs=1e-12)
        assert lo <= d <= hi and lo < hi
        assert M.paired_bootstrap(y, pa, pb, metric=metric, n_boot=1000, seed=3) == (d, lo, hi)
        assert M.paired_bootstrap(y, pa, pb, metric=metric, n_boot=1000, seed=4) != (d, lo, hi)
    # the percentile interval of a mean difference has the analytic normal width, 2 * 1.96 * sd / sqrt(n)
    diff = (pa == y).astype(float) - (pb == y).astype(float)
    d, lo, hi = M.paired_bootstrap(y, pa, pb, metric="accuracy", n_boot=4000, seed=0)
    assert hi - lo == pytest.approx(2 * 1.96 * diff.std() / math.sqrt(len(y)), rel=0.12)


def test_bootstrap_clearly_better_model_excludes_zero():
    y, Pa, _ = _single(11, n=290, C=10, skill=3.0)
    _, Pb, _ = _single(12, n=290, C=10, skill=0.5)
    for metric in ("accuracy", "macro_f1"):
        d, lo, hi = M.paired_bootstrap(y, Pa.argmax(1), Pb.argmax(1), metric=metric, n_boot=500)
        assert 0 < lo <= d <= hi
        d, lo, hi = M.paired_bootstrap(y, Pb.argmax(1), Pa.argmax(1), metric=metric, n_boot=500)
        assert lo <= d <= hi < 0


def test_weighted_statistics_equal_metrics_on_the_resample():
    """The bootstrap reweights rows instead of copying them; check it against a literal resample."""
    Y, S, _ = _multi(13, n=60, C=5, decimals=1)
    y, P, _ = _single(13, n=60, C=4)
    rng = np.random.default_rng(0)
    W = M.bootstrap_weights(rng, 60, 3)
    assert (W.sum(1) == 60).all()
    wmap = M.WeightedMAP(Y.astype(bool), S)(W)
    wf1 = M.weighted_macro_f1(W, y, P.argmax(1), 4)
    for b in range(3):
        idx = np.repeat(np.arange(60), W[b].astype(int))
        Yr, Sr = Y[idx], S[idx]
        keep = (Yr.sum(0) > 0) & (Yr.sum(0) < len(idx))
        np.testing.assert_allclose(wmap[b, keep], skm.average_precision_score(Yr[:, keep], Sr[:, keep], average=None),
                                   atol=1e-12)
        assert np.isnan(wmap[b, ~keep]).all()
        assert wf1[b] == pytest.approx(skm.f1_score(y[idx], P.argmax(1)[idx], average="macro"), abs=1e-12)


# -------------------------------------------------------------------------------------- summaries, tables

def _tidy(seeds=(0, 1, 2)):
    rows = []
    for seed in seeds:
        for model, skill in (("a", 2.0), ("b", 0.8)):
            y, P, classes = _single(100 + seed, n=120, C=4, skill=skill)
            rows.append(M.metrics_frame(M.single_label_metrics(y, P, classes), dataset="d", split="test",
                                        model=model, family="deep", input="mel", strategy="none", seed=seed))
    return pd.concat(rows, ignore_index=True)


def test_summarize_matches_pandas():
    df = _tidy()
    s = M.summarize(df)
    ref = df.groupby(["model", "metric"])["value"].agg(["mean", "std", "count"])
    assert len(s) == len(ref)
    for r in s.itertuples():
        mean, std, count = ref.loc[(r.model, r.metric)]
        assert r.mean == pytest.approx(mean, abs=1e-12, nan_ok=True)
        assert r.std == pytest.approx(std, abs=1e-12, nan_ok=True)
        assert r.n == count
    assert list(s.loc[s["model"] == "a", "metric"]) == M.metric_names("single", ["c0", "c1", "c2", "c3"])


def test_summarize_one_seed_has_nan_std():
    s = M.summarize(_tidy(seeds=(0,)))
    assert s["std"].isna().all() and (s.loc[s["metric"] == "accuracy", "n"] == 1).all()


def _predictions(seeds_by_model, n=120, C=4):
    """predictions.csv rows for models (name -> (skill, seeds)); one true label per track for all."""
    classes = [f"c{i}" for i in range(C)]
    rng = np.random.default_rng(42)
    y = rng.integers(0, C, n)
    frames = []
    for m, (name, (skill, seeds)) in enumerate(seeds_by_model.items()):
        for seed in seeds:
            r = np.random.default_rng(100 * m + seed)
            z = r.normal(size=(n, C))
            z[np.arange(n), y] += skill
            P = _softmax(z)
            df = pd.DataFrame({"track_id": [f"t{i}" for i in range(n)], "split": "test", "model": name,
                               "family": "deep", "input": "mel", "strategy": "none", "seed": seed,
                               "label": [classes[i] for i in y], "pred": [classes[i] for i in P.argmax(1)]})
            frames.append(pd.concat([df, pd.DataFrame(P, columns=[f"p:{c}" for c in classes])], axis=1))
    return pd.concat(frames, ignore_index=True), classes, y


def test_significance_single_label():
    preds, classes, y = _predictions({"weak": (0.3, [0, 1]), "best": (2.5, [0, 1]), "mid": (2.2, [0, 1])})
    sig = M.significance(preds, classes, "single", n_boot=500)
    assert list(sig["model"]) == ["best", "mid", "weak"]
    assert sig.iloc[0]["is_reference"] and sig.iloc[0]["delta_accuracy"] == 0 and not sig.iloc[0]["significant"]
    assert (sig["selection_split"] == "test").all()          # no validation predictions: chosen on test

    def acc(model, seed):
        g = preds[(preds["model"] == model) & (preds["seed"] == seed)]
        return skm.accuracy_score(y, g[[f"p:{c}" for c in classes]].to_numpy().argmax(1))

    weak = sig[sig["model"] == "weak"].iloc[0]
    assert weak["delta_accuracy"] == pytest.approx(np.mean([acc("weak", s) - acc("best", s) for s in (0, 1)]))
    assert weak["accuracy"] == pytest.approx(np.mean([acc("weak", s) for s in (0, 1)]))
    assert weak["significant"] and weak["accuracy_hi"] < 0 and weak["mcnemar_p"] < 1e-6
    assert weak["n_tracks"] == 120 and weak["n_seeds"] == 2
    def argmax(model, seed):
        g = preds[(preds["model"] == model) & (preds["seed"] == seed)]
        return g[[f"p:{k}" for k in classes]].to_numpy().argmax(1)

    b = c = 0
    for s in (0, 1):
        pw, pbst = argmax("weak", s), argmax("best", s)
        b += int(np.sum((pw == y) & (pbst != y)))
        c += int(np.sum((pw != y) & (pbst == y)))
    assert (weak["mcnemar_b"], weak["mcnemar_c"]) == (b, c)
    mid = sig[sig["model"] == "mid"].iloc[0]
    assert mid["accuracy_lo"] <= mid["delta_accuracy"] <= mid["accuracy_hi"]


def test_significance_pairs_on_common_seeds_and_shuffled_rows():
    preds, classes, _ = _predictions({"a": (2.0, [0, 1, 2]), "b": (1.0, [1])})
    shuffled = preds.sample(frac=1.0, random_state=0)
    sig = M.significance(shuffled, classes, "single", n_boot=200)
    assert sig.set_index("model").loc["b", "n_seeds"] == 1
    ref = M.significance(preds, classes, "single", n_boot=200)
    pd.testing.assert_frame_equal(sig, ref)


def test_significance_multi_label_uses_map():
    rng = np.random.default_rng(1)
    tags = ["a", "b", "c", "d"]
    Y = (rng.random((100, 4)) < 0.3).astype(int)
    frames = []
    for name, skill in (("good", 2.5), ("poor", 0.5)):
        for seed in (0, 1):
            r = np.random.default_rng(seed + (10 if name == "poor" else 0))
            P = 1 / (1 + np.exp(-(skill * (2 * Y - 1) + r.normal(size=Y.shape))))
            df = pd.DataFrame({"track_id": [f"x{i}" for i in range(100)], "split": "test", "model": name,
                               "family": "deep", "input": "mel", "strategy": "none", "seed": seed,
                               "labels": ["|".join(t for t, on in zip(tags, row, strict=True) if on) for row in Y],
                               "pred": ""})
            frames.append(pd.concat([df, pd.DataFrame(P, columns=[f"p:{t}" for t in tags])], axis=1))
    preds = pd.concat(frames, ignore_index=True)
    sig = M.significance(preds, tags, "multi", n_boot=300)
    assert "mcnemar_p" not in sig.columns
    poor = sig[sig["model"] == "poor"].iloc[0]

    def mean_ap(model):
        out = []
        for s in (0, 1):
            g = preds[(preds["model"] == model) & (preds["seed"] == s)]
            out.append(skm.average_precision_score(Y, g[[f"p:{t}" for t in tags]].to_numpy(), average="macro"))
        return np.array(out)

    assert poor["delta_map"] == pytest.approx(np.mean(mean_ap("poor") - mean_ap("good")), abs=1e-12)
    assert poor["map_lo"] <= poor["delta_map"] <= poor["map_hi"] < 0 and poor["significant"]
