"""Honest comparisons: the reference model is chosen on validation, "vs reference" tests are Holm-corrected,
and the top-k metrics say what they count (tag recall vs hit rate; single-label top-k accuracy vs scikit-learn)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from benchmarks import metrics as M
from benchmarks import report as R
from benchmarks.report.tables import main_grid

CLASSES = ["c0", "c1", "c2", "c3"]


def _softmax(z):
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def _pred_frame(name: str, split: str, y: np.ndarray, P: np.ndarray, seed: int = 0, ids=None) -> pd.DataFrame:
    ids = ids if ids is not None else [f"{split}{i:04d}" for i in range(len(y))]
    df = pd.DataFrame({"track_id": ids, "split": split, "model": name, "family": "deep", "input": "mel",
                       "strategy": "none", "seed": seed, "label": [CLASSES[i] for i in y],
                       "pred": [CLASSES[i] for i in P.argmax(1)]})
    return pd.concat([df, pd.DataFrame(P, columns=[f"p:{c}" for c in CLASSES])], axis=1)


def _skilled_predictions(skills: dict[str, dict[str, float]], seeds=(0, 1), n=200):
    """predictions.csv rows of models whose skill (added to the true class's logit) differs by split."""
    rng = np.random.default_rng(5)
    truth = {s: rng.integers(0, len(CLASSES), n) for s in ("valid", "test")}
    frames = []
    for m, (name, by_split) in enumerate(skills.items()):
        for seed in seeds:
            for split, y in truth.items():
                r = np.random.default_rng(1000 * seed + 10 * m + (split == "test"))
                z = r.normal(size=(n, len(CLASSES)))
                z[np.arange(n), y] += by_split[split]
                frames.append(_pred_frame(name, split, y, _softmax(z), seed))
    return pd.concat(frames, ignore_index=True)


def _write_run(run_dir: Path, preds: pd.DataFrame) -> Path:
    """A run folder (metrics.csv from single_label_metrics, predictions.csv, config.json) from predictions."""
    run_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for (name, split, seed), g in preds.groupby(["model", "split", "seed"], sort=False):
        y, P = M.decode_predictions(g, CLASSES, "single")
        rows.append(M.metrics_frame(M.single_label_metrics(y, P, CLASSES), dataset="fake", split=split, model=name,
                                    family="deep", input="mel", strategy="none", seed=seed))
    pd.concat(rows).to_csv(run_dir / "metrics.csv", index=False)
    preds.to_csv(run_dir / "predictions.csv", index=False)
    (run_dir / "config.json").write_text(json.dumps({"dataset": "fake", "task": "single", "classes": CLASSES}))
    return run_dir


# --------------------------------------------------------------------------- the reference is chosen on validation

# "val_best" is the best model on the validation split, "test_best" on the test split.
SKILLS = {"val_best": {"valid": 3.0, "test": 1.6}, "test_best": {"valid": 1.4, "test": 3.0},
          "weak": {"valid": 0.2, "test": 0.2}}


def test_reference_is_the_validation_best_not_the_test_best():
    preds = _skilled_predictions(SKILLS)
    sig = M.significance(preds, CLASSES, "single", n_boot=300)
    test = sig.set_index("model")
    assert test["accuracy"].idxmax() == "test_best"                  # the test split would pick another model
    assert sig.iloc[0]["model"] == "val_best" and sig.iloc[0]["is_reference"]
    assert sig["is_reference"].sum() == 1 and (sig["selection_split"] == "valid").all()
    assert test.loc["val_best", "selection_score"] == test["selection_score"].max()
    assert test.loc["test_best", "delta_accuracy"] > 0                # compared with the reference, not the best
    assert test.loc["weak", "delta_accuracy"] < 0 and test.loc["weak", "significant"]
    # the selection score is the seed-mean validation accuracy
    valid = preds[(preds["split"] == "valid") & (preds["model"] == "test_best")]
    accs = []
    for _, g in valid.groupby("seed"):
        y, P = M.decode_predictions(g, CLASSES, "single")
        accs.append(skm.accuracy_score(y, P.argmax(1)))
    assert test.loc["test_best", "selection_score"] == pytest.approx(np.mean(accs), abs=1e-12)


def test_reference_falls_back_to_the_test_split_and_says_so(caplog):
    preds = _skilled_predictions(SKILLS)
    preds = preds[~((preds["split"] == "valid") & (preds["model"] == "weak"))]     # one model lacks validation
    with caplog.at_level("WARNING", logger="benchmarks.metrics"):
        sig = M.significance(preds, CLASSES, "single", n_boot=200)
    assert "no valid predictions for weak" in caplog.text
    assert sig.iloc[0]["model"] == "test_best" and (sig["selection_split"] == "test").all()
    summary = M.summarize(pd.concat([M.metrics_frame({"accuracy": 0.5}, dataset="fake", split="test", model=m,
                                                     family="deep", input="mel", seed=0) for m in SKILLS]))
    _, _, notes = main_grid(summary, "single", "test", sig)
    assert ("the best in test accuracy, chosen on the tracks it is compared on (no separate validation predictions "
            "for every model), which favours it") in notes[-1]


def test_report_names_the_validation_reference(tmp_path):
    run_dir = _write_run(tmp_path / "run", _skilled_predictions(SKILLS))
    R.render(run_dir, n_boot=300)
    text = (run_dir / "table.md").read_text()
    header = [c.strip() for c in text.splitlines()[0].split("|")[1:-1]]
    rows = {r[0]: r for r in ([c.strip() for c in ln.split("|")[1:-1]] for ln in text.splitlines()[2:5])}
    acc = header.index("Accuracy")
    assert list(rows) == ["test_best", "val_best", "weak"]           # rows still sorted by test accuracy
    assert "†" not in "".join(rows["test_best"]) and "†" not in "".join(rows["val_best"])
    assert rows["weak"][acc].endswith("†")
    caption = ("† significantly worse in accuracy or macro-F1 than the reference model, val_best (mel, none), the best "
               "in validation accuracy: paired bootstrap over the test tracks (seeds paired), the p-value of each "
               "difference Holm-corrected over the 2 comparisons with the reference, separately for accuracy and "
               "for macro-F1, at 0.05. McNemar's p-values are shown in significance.md but not used for the marks.")
    assert caption in text
    tex = (run_dir / "table.tex").read_text()
    assert "Holm-corrected over the 2 comparisons" in tex and "validation accuracy" in tex
    page = (run_dir / "report.html").read_text()
    assert "Holm-corrected over the 2 comparisons" in page
    sig_md = (run_dir / "significance.md").read_text()
    assert "val_best (reference)" in sig_md and "Validation accuracy" in sig_md
    assert "Holm–Bonferroni adjustment over the 2 comparisons" in sig_md
    assert "not used for the marks" in sig_md
    csv = pd.read_csv(run_dir / "significance.csv")
    assert {"p_boot", "p_holm", "p_boot_macro_f1", "p_holm_macro_f1", "accuracy_lo", "accuracy_hi",
            "selection_split", "selection_score", "is_reference"} <= set(csv.columns)
    # metrics.csv carries no significance
    assert not any("p_" in m or "signif" in m for m in pd.read_csv(run_dir / "metrics.csv")["metric"])


# ------------------------------------------------------------------------------------------------- Holm

def test_holm_by_hand():
    p = np.array([0.04, 0.01, np.nan, 0.03])
    # sorted: 0.01 * 3 = 0.03, 0.03 * 2 = 0.06, 0.04 * 1 = 0.04 -> monotone: 0.06
    np.testing.assert_allclose(M.holm(p), [0.06, 0.03, np.nan, 0.06])
    np.testing.assert_allclose(M.holm([0.5, 0.6]), [1.0, 1.0])
    assert np.isnan(M.holm([np.nan])).all() and M.holm([]).shape == (0,)


def test_bootstrap_p_by_hand():
    assert M.bootstrap_p(np.zeros(100)) == 1.0
    draws = np.r_[np.full(97, -1.0), np.full(3, 0.5)]
    assert M.bootstrap_p(draws) == pytest.approx(0.06)               # 2 * 3/100: the side above 0
    assert M.bootstrap_p(-draws) == pytest.approx(0.06)              # symmetric in the sign
    assert M.bootstrap_p(np.full(50, -1.0)) == pytest.approx(1 / 50)  # clipped to 1/B
    assert M.bootstrap_p(np.r_[np.full(10, 0.0), np.full(90, 1.0)]) == pytest.approx(0.2)   # ties count both sides
    assert np.isnan(M.bootstrap_p([np.nan]))


def _discordant_predictions(n_challengers: int, n=200):
    """A reference right on 170 of 200 tracks and challengers each with b = 6 tracks right where the reference
    is wrong and c = 16 wrong where it is right (Δ accuracy = -0.05): each alone is significant at 0.05, but not
    after Holm's correction over three."""
    C = len(CLASSES)
    y = np.arange(n) % C
    ref_ok = np.ones(n, bool)
    ref_ok[:30] = False

    def probs(ok):
        P = np.full((n, C), 0.1)
        P[np.arange(n), np.where(ok, y, (y + 1) % C)] = 0.7
        return P

    frames = [_pred_frame("ref", "test", y, probs(ref_ok))]
    for j in range(n_challengers):
        ok = ref_ok.copy()
        ok[6 * j:6 * j + 6] = True
        ok[40 + 20 * j:56 + 20 * j] = False
        frames.append(_pred_frame(f"m{j}", "test", y, probs(ok)))
    return pd.concat(frames, ignore_index=True)


def _table_accuracy_cells(preds, sig):
    rows = []
    for (name, seed), g in preds.groupby(["model", "seed"], sort=False):
        y, P = M.decode_predictions(g, CLASSES, "single")
        rows.append(M.metrics_frame(M.single_label_metrics(y, P, CLASSES), dataset="fake", split="test", model=name,
                                    family="deep", input="mel", seed=seed))
    g, td, notes = main_grid(M.summarize(pd.concat(rows)), "single", "test", sig)
    j = g.header.index("Accuracy")
    return {r[0]: r[j] for r in g.rows}, notes


def test_holm_correction_removes_a_mark_the_unadjusted_test_would_set():
    alone = M.significance(_discordant_predictions(1), CLASSES, "single", n_boot=2000).set_index("model")
    assert alone.loc["m0", "p_boot"] < 0.05 and alone.loc["m0", "p_holm"] == alone.loc["m0", "p_boot"]
    assert alone.loc["m0", "significant"]

    preds = _discordant_predictions(3)
    sig = M.significance(preds, CLASSES, "single", n_boot=2000)
    others = sig[~sig["is_reference"]]
    np.testing.assert_allclose(others["delta_accuracy"], -0.05, atol=1e-12)
    assert (others["accuracy_hi"] < 0).all()                          # each unadjusted 95% interval excludes 0 ...
    assert (others["p_boot"] < 0.05).all()                            # ... and each unadjusted p is below 0.05,
    assert (others["p_holm"] > 0.05).all() and not others["significant"].any()   # but not after Holm over 3
    np.testing.assert_allclose(others["p_holm"], M.holm(others["p_boot"].to_numpy()))
    # macro-F1 is a family of its own, adjusted over the same 3 comparisons
    np.testing.assert_allclose(others["p_holm_macro_f1"], M.holm(others["p_boot_macro_f1"].to_numpy()))
    assert (others["significant_macro_f1"] == (others["p_holm_macro_f1"] <= 0.05)).all()

    cells, notes = _table_accuracy_cells(preds, sig)
    assert not any(c.endswith("†") for c in cells.values())          # no accuracy cell is marked
    assert "Holm-corrected over the 3 comparisons" in notes[-1]
    cells_alone, _ = _table_accuracy_cells(_discordant_predictions(1), M.significance(
        _discordant_predictions(1), CLASSES, "single", n_boot=2000))
    assert cells_alone["m0"].endswith("†")                           # the same model, tested alone, is marked


def test_multi_label_significance_has_holm_columns():
    rng = np.random.default_rng(3)
    tags = ["a", "b", "c", "d"]
    frames = []
    for split, n in (("valid", 80), ("test", 120)):
        Y = (rng.random((n, 4)) < 0.35).astype(int)
        for m, (name, skill) in enumerate((("good", 2.5), ("mid", 1.0), ("poor", 0.3))):
            r = np.random.default_rng(10 * m + n)
            P = 1 / (1 + np.exp(-(skill * (2 * Y - 1) + r.normal(size=Y.shape))))
            df = pd.DataFrame({"track_id": [f"{split}{i}" for i in range(n)], "split": split, "model": name,
                               "family": "deep", "input": "mel", "strategy": "none", "seed": 0,
                               "labels": ["|".join(t for t, on in zip(tags, row, strict=True) if on) for row in Y],
                               "pred": ""})
            frames.append(pd.concat([df, pd.DataFrame(P, columns=[f"p:{t}" for t in tags])], axis=1))
    sig = M.significance(pd.concat(frames, ignore_index=True), tags, "multi", n_boot=300)
    assert sig.iloc[0]["model"] == "good" and (sig["selection_split"] == "valid").all()
    others = sig[~sig["is_reference"]]
    np.testing.assert_allclose(others["p_holm"], M.holm(others["p_boot"].to_numpy()))
    assert (others["significant"] == (others["p_holm"] <= 0.05)).all()
    assert "p_boot_macro_f1" not in sig.columns and "mcnemar_p" not in sig.columns


# ------------------------------------------------------------------------------------------- top-k metrics

def test_hit_rate_and_tag_recall_differ_by_hand():
    Y = np.array([[1, 1, 1, 0, 0, 0],
                  [0, 0, 0, 1, 0, 0],
                  [0, 0, 0, 0, 0, 0],      # no true tag: left out of both
                  [0, 0, 0, 0, 1, 1]])
    S = np.array([[0.9, 0.1, 0.1, 0.8, 0.7, 0.0],     # top-3: 0, 3, 4 -> 1 of 3 true tags; a hit
                  [0.1, 0.2, 0.3, 0.9, 0.0, 0.0],     # top-3: 3, 2, 1 -> 1 of 1; a hit
                  [0.5, 0.5, 0.5, 0.5, 0.5, 0.5],
                  [0.9, 0.8, 0.7, 0.0, 0.1, 0.2]])    # top-3: 0, 1, 2 -> 0 of 2; a miss
    m = M.multi_label_metrics(Y, S, [f"t{i}" for i in range(6)])
    assert m["recall@3"] == pytest.approx((1 / 3 + 1 + 0) / 3)      # share of true tags found: 4/9
    assert m["hit_rate@3"] == pytest.approx((1 + 1 + 0) / 3)        # at least one true tag in the top 3: 2/3
    assert m["precision@3"] == pytest.approx((1 / 3 + 1 / 3 + 0) / 3)
    assert m["hit_rate@1"] == pytest.approx(2 / 3) and m["recall@1"] == pytest.approx((1 / 3 + 1 + 0) / 3)
    # top-5 of row 0: 0, 3, 4, 1, 2 -> all three true tags; row 3: 0, 1, 2, 5, 4 -> both
    assert m["hit_rate@5"] == 1.0 and m["recall@5"] == 1.0


@pytest.mark.parametrize("seed,C,decimals", [(0, 6, None), (1, 10, None), (2, 8, 1), (3, 10, 2)])
def test_top_k_accuracy_matches_sklearn(seed, C, decimals):
    rng = np.random.default_rng(seed)
    n = 300
    y = rng.integers(0, C, n)
    z = rng.normal(size=(n, C))
    z[np.arange(n), y] += 0.8
    P = _softmax(z)
    if decimals is not None:            # ties: broken by class order, as the argmax of accuracy breaks them
        P = np.round(P, decimals)
    classes = [f"k{i}" for i in range(C)]
    m = M.single_label_metrics(y, P, classes)
    assert list(m) == M.metric_names("single", classes)
    labels = list(range(C))
    for k in M.SINGLE_TOP_K:
        if decimals is None:
            ref = skm.top_k_accuracy_score(y, P, k=k, labels=labels)
        else:
            # scikit-learn puts the higher class index first among ties; on reversed columns that is ours
            ref = skm.top_k_accuracy_score(C - 1 - y, P[:, ::-1], k=k, labels=labels)
        assert m[f"top{k}_accuracy"] == pytest.approx(ref, abs=1e-12)
    assert m["top3_accuracy"] <= m["top5_accuracy"] and m["accuracy"] <= m["top3_accuracy"]
    if decimals is not None:
        assert m["accuracy"] == pytest.approx(skm.top_k_accuracy_score(C - 1 - y, P[:, ::-1], k=1, labels=labels))


def test_top_k_accuracy_left_out_when_trivial():
    rng = np.random.default_rng(4)
    y = rng.integers(0, 5, 50)
    P = _softmax(rng.normal(size=(50, 5)))
    classes = [f"k{i}" for i in range(5)]
    m = M.single_label_metrics(y, P, classes)
    assert "top3_accuracy" in m and "top5_accuracy" not in m          # top-5 of 5 classes is always 1
    assert list(m) == M.metric_names("single", classes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert skm.top_k_accuracy_score(y, P, k=5, labels=list(range(5))) == 1.0


def test_new_metrics_have_labels_and_table_placement():
    for m in [*M.SINGLE_METRICS, *M.MULTI_METRICS]:
        if m not in M.COUNT_METRICS:
            assert m in R.METRIC_LABELS, m
    assert R.metric_label("recall@3") == "Tag recall@3" and R.metric_label("hit_rate@3") == "Hit rate@3"
    assert R.metric_label("top3_accuracy") == "Top-3 acc."
    assert "hit_rate@3" in R.TABLE_METRICS["multi"] and "recall@3" in R.TABLE_METRICS["multi"]
    assert not any(m.startswith("top") for m in R.TABLE_METRICS["single"])
