"""The imbalance study: long-tailed training subsets, tail/head recall and thresholds, the paired bootstrap of
the changes against no strategy, and the study end to end on small generated corpora (single- and multi-label),
with scikit-learn and pandas as the independent references."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score, recall_score

from benchmarks import report
from benchmarks import study as S
from benchmarks.config import RunConfig
from benchmarks.metrics import imbalance as I
from benchmarks.prepare import load_dataset
from benchmarks.registry import validate
from benchmarks.run import run

# 4 genres x 30 tracks by 15 artists (groups of 2), 1.5-s clips: train 24 tracks a genre, valid and test 3.
TINY = (("genres", "blues,classical,metal,pop"), ("tracks_per_genre", "30"), ("artists_per_genre", "15"),
        ("duration", "1.5"), ("jobs", "1"))
TINY_TAGS = (("n_tracks", "60"), ("n_artists", "20"), ("duration", "1.5"), ("jobs", "1"))


# -- subsets and parts ---------------------------------------------------------------------------------
def train_table(n_classes=10, per_class=32, group_size=4) -> pd.DataFrame:
    rows = []
    for c in range(n_classes):
        for i in range(per_class):
            rows.append({"track_id": f"c{c}.{i:03d}", "label": f"c{c}", "group": f"c{c}-g{i // group_size}",
                         "split": "train"})
    return pd.DataFrame(rows)


def test_draw_subset_is_long_tailed_group_whole_and_seeded():
    train = train_table()
    classes = sorted(train["label"].unique())
    sub, order = S.draw_subset(train, classes, ratio=10, profile="exponential", seed=3)
    counts = sub["label"].value_counts()
    assert counts[order[0]] == 32                       # the head keeps every track
    assert counts[order[-1]] == 4                       # 32 / 10 = 3.2: the tail keeps one 4-track group
    assert counts.reindex(order).is_monotonic_decreasing
    per_group = sub.groupby("group").size()
    assert (per_group == 4).all()                       # whole groups only
    again, order2 = S.draw_subset(train, classes, ratio=10, profile="exponential", seed=3)
    assert order2 == order and again["track_id"].tolist() == sub["track_id"].tolist()
    _, order100 = S.draw_subset(train, classes, ratio=100, profile="exponential", seed=3)
    assert order100 == order                            # one seed: the same head and tail at every ratio
    assert len({tuple(S.draw_subset(train, classes, ratio=10, profile="exponential", seed=s)[1]) for s in range(6)}) > 1
    full, _ = S.draw_subset(train, classes, ratio=1, profile="exponential", seed=0)
    assert len(full) == len(train)
    step, order_s = S.draw_subset(train, classes, ratio=8, profile="step", seed=1)
    c = step["label"].value_counts().reindex(order_s).to_numpy()
    assert (c[:5] == 32).all() and (c[5:] == 4).all()


def test_class_parts_by_hand():
    counts = np.array([32, 20, 12, 8, 4, 4, 4, 4, 4, 4])
    parts = I.class_parts(counts, np.arange(10))
    assert parts.tolist() == ["head"] * 3 + ["middle"] * 4 + ["tail"] * 3    # ties: the later rank is the tail
    shuffled = np.array([4, 32, 4, 20])
    assert I.class_parts(shuffled, np.array([3, 0, 2, 1])).tolist() == ["tail", "head", "middle", "middle"]
    assert I.class_parts(np.array([5, 1]), np.array([0, 1])).tolist() == ["head", "tail"]


def test_study_metrics_match_sklearn():
    rng = np.random.default_rng(0)
    C, classes = 5, [f"k{i}" for i in range(5)]
    y = np.repeat(np.arange(C), 12)
    z = rng.normal(size=(len(y), C))
    z[np.arange(len(y)), y] += 1.0
    P = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    parts = np.array(["head", "middle", "middle", "tail", "tail"], dtype=object)
    out = I.study_metrics("single", classes, y, P, y, P, parts)
    rec = recall_score(y, P.argmax(1), average=None)
    assert out["tail_recall"] == pytest.approx(rec[3:].mean())
    assert out["head_recall"] == pytest.approx(rec[0])
    Y = np.eye(C, dtype=int)[y]
    assert out["ovr_f1_macro"] == pytest.approx(f1_score(Y, (P >= 0.5).astype(int), average="macro", zero_division=0))
    # Thresholds tuned on the same data cannot do worse than 0.5 there (each class's F1 is maximised).
    assert out["ovr_f1_macro@tuned"] >= out["ovr_f1_macro"] - 1e-12

    Ym = (rng.random((80, C)) < [0.5, 0.4, 0.3, 0.1, 0.05]).astype(int)
    Pm = np.clip(0.35 * Ym + rng.random((80, C)) * 0.6, 0, 1)
    outm = I.study_metrics("multi", classes, Ym, Pm, Ym, Pm, parts)
    rec_m = recall_score(Ym, (Pm >= 0.5).astype(int), average=None, zero_division=np.nan)
    assert outm["tail_recall"] == pytest.approx(np.nanmean(rec_m[3:]))
    assert outm["tail_recall@tuned"] >= 0 and np.isfinite(outm["head_recall"])


def test_weighted_statistics_reduce_to_the_plain_ones():
    rng = np.random.default_rng(1)
    Y = (rng.random((50, 4)) < 0.3).astype(int)
    Y[0, 3] = 1
    H = (rng.random((50, 4)) < 0.3).astype(int)
    ones = np.ones((1, 50))
    keep = (Y.sum(0) > 0) & (Y.sum(0) < 50)
    ref = f1_score(Y[:, keep], H[:, keep], average="macro", zero_division=0)
    assert I.weighted_f1_macro_multi(ones, Y, H)[0] == pytest.approx(ref)
    which = np.array([False, True, False, True])
    assert I.weighted_part_recall(ones, Y, H, which)[0] == pytest.approx(
        recall_score(Y, H, average=None, zero_division=0)[which].mean())
    # Integer weights are resampling counts: weight 2 on a track is that track twice.
    W = np.ones((1, 50))
    W[0, :10] = 2
    Y2, H2 = np.vstack([Y, Y[:10]]), np.vstack([H, H[:10]])
    assert I.weighted_f1_macro_multi(W, Y, H)[0] == pytest.approx(I.weighted_f1_macro_multi(np.ones((1, 60)), Y2,
                                                                                           H2)[0])


def test_study_default_models_and_config(tmp_path):
    cfg = validate(RunConfig(dataset="synthetic", study="imbalance", data_dir=str(tmp_path)))
    assert cfg.models == S.STUDY_MODELS["quick"]
    assert validate(RunConfig(dataset="synthetic", study="imbalance", data_dir=str(tmp_path), no_torch=True)
                    ).models == ("lr", "rf", "svm")
    assert validate(RunConfig(dataset="synthetic", data_dir=str(tmp_path))).models[0] == "lr"  # runner unchanged
    scfg, notes = S.study_config(RunConfig(strategies=("ros",), seeds=(0,)))
    assert scfg.strategies == ("none", "ros") and scfg.epochs == S.STUDY_QUICK_EPOCHS
    assert any("none added" in n for n in notes) and any("one seed" in n for n in notes)
    assert S.ratio_label("gtzan", 10.0) == "gtzan@ir10" and S.ratio_label("tags", None) == "tags@natural"


# -- end to end ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def study_cfg(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("study")
    return RunConfig(dataset="synthetic", data_dir=str(tmp / "data"), dataset_options=TINY, study="imbalance",
                     imbalance_ratios=(1.0, 4.0), strategies=("class-weight", "smote", "focal"), seeds=(0, 1),
                     models=("lr", "small-cnn"), epochs=1, out=str(tmp / "results"), run_id="s", n_jobs=1,
                     cache_dir=str(tmp / "cache"))


@pytest.fixture(scope="module")
def study_run(study_cfg):
    return run(study_cfg)


def test_study_writes_every_output(study_run):
    for name in ["config.json", "metrics.csv", "subsets.csv", "skipped.csv", "timings.csv", "table.md", "study.md",
                 "study.csv", "study.tex", "study_per_rank.md", "study_per_rank.csv", "study_heatmap.png",
                 "study_ratio.png", "study_rank_recall.png", "report.html"]:
        assert (study_run / name).is_file(), name
    for sub in ("ir1", "ir4"):
        for name in ["config.json", "metrics.csv", "predictions.csv", "curves.csv", "table.md", "report.html"]:
            assert (study_run / sub / name).is_file(), f"{sub}/{name}"
        assert not (study_run / sub / "study.md").exists()
    page = (study_run / "report.html").read_text()
    assert 'id="study"' in page and "Which strategies help" in page
    assert not (study_run / "per_class.md").exists()   # per-class tables would mix the ratios
    tex = (study_run / "study.tex").read_text()
    assert tex.count("\\begin{table}") == 2 and "\\toprule" in tex


def test_metrics_record_ratio_strategies_and_skips(study_run):
    m = pd.read_csv(study_run / "metrics.csv")
    assert list(m.columns) == ["dataset", "split", "model", "family", "input", "strategy", "seed", "metric", "value"]
    assert set(m["dataset"]) == {"synthetic@ir1", "synthetic@ir4"}
    combos = set(map(tuple, m[["model", "strategy"]].drop_duplicates().to_numpy()))
    assert combos == {("lr", "none"), ("lr", "class-weight"), ("lr", "smote"),
                      ("small-cnn", "none"), ("small-cnn", "class-weight"), ("small-cnn", "focal")}
    test = m[m["split"] == "test"]
    for metric in ("macro_f1", "balanced_accuracy", "tail_recall", "head_recall", "ovr_f1_macro",
                   "ovr_f1_macro@tuned", "recall[blues]"):
        assert len(test[test["metric"] == metric]) == 2 * 6 * 2, metric   # ratios x (model, strategy) x seeds
    notes = json.loads((study_run / "config.json").read_text())["notes"]
    assert any("focal skipped for lr" in n for n in notes)
    assert any("smote skipped for deep" in n for n in notes)
    assert any("strategy none added" in n for n in notes)


def test_subsets_thin_training_only(study_run, study_cfg):
    ds = load_dataset(study_cfg)
    full = ds.split("train")["label"].value_counts()
    sub = pd.read_csv(study_run / "subsets.csv")
    ir1, ir4 = sub[sub["ratio"] == 1], sub[sub["ratio"] == 4]
    for _, g in ir1.groupby("seed"):
        # Ratio 1: every class at the head's count (the profile is relative to the head, which keeps its
        # tracks), or all its own tracks when it has fewer; within one 2-track group.
        head = g.loc[g["rank"] == 0, "class"].iloc[0]
        want = np.minimum(full.reindex(g["class"]).to_numpy(), full[head])
        assert (np.abs(g["n_train"].to_numpy() - want) <= 1).all()
    for _, g in ir4.groupby("seed"):
        g = g.sort_values("rank")
        head, tail = g.iloc[0], g.iloc[-1]
        assert head["n_train"] == full[head["class"]]                              # the head keeps its tracks
        assert abs(tail["n_train"] - full[head["class"]] / 4) <= 2                # about 1/4, whole 2-track groups
        assert (g["n_train"] <= full.reindex(g["class"]).to_numpy()).all()
        assert (g["part"] == "tail").sum() == 1 and g["subset"].nunique() == 1
    # Validation and test tracks are the same for every ratio, seed and model: never subsampled.
    ids = []
    for d in ("ir1", "ir4"):
        p = pd.read_csv(study_run / d / "predictions.csv", dtype={"track_id": str})
        for _, g in p.groupby(["split", "model", "strategy", "seed"]):
            ids.append((g["split"].iloc[0], tuple(sorted(g["track_id"]))))
    by_split = pd.DataFrame(ids, columns=["split", "tracks"]).groupby("split")["tracks"].nunique()
    assert by_split.to_dict() == {"test": 1, "valid": 1}
    p = pd.read_csv(study_run / "ir4" / "predictions.csv", dtype={"track_id": str})
    for split in ("valid", "test"):
        assert set(p.loc[p["split"] == split, "track_id"]) == set(ds.split(split)["track_id"])


def test_tail_recall_and_deltas_recomputed_from_metrics(study_run):
    m = pd.read_csv(study_run / "metrics.csv")
    sub = pd.read_csv(study_run / "subsets.csv")
    t = m[m["split"] == "test"]
    # tail_recall = mean recall of the tail classes of that (ratio, seed)
    for (label, seed), g in sub.groupby(["label", "seed"]):
        tail = g.loc[g["part"] == "tail", "class"].tolist()
        rows = t[(t["dataset"] == label) & (t["seed"] == seed)]
        for _, r in rows.groupby(["model", "strategy"]):
            rec = r.set_index("metric")["value"]
            assert rec["tail_recall"] == pytest.approx(np.mean([rec[f"recall[{c}]"] for c in tail]))
    # study.csv's changes = the pandas mean over seeds of (strategy - none)
    s = pd.read_csv(study_run / "study.csv")
    wide = t[t["metric"] == "macro_f1"].pivot_table(index=["dataset", "model", "seed"], columns="strategy",
                                                     values="value")
    for r in s[(s["label"] != "pooled") & (s["strategy"] != "none")].itertuples():
        d = (wide.loc[(r.label, r.model)][r.strategy] - wide.loc[(r.label, r.model)]["none"]).mean()
        assert r.delta_macro_f1 == pytest.approx(d)
    pooled = s[s["label"] == "pooled"].set_index(["model", "strategy"])
    d = (wide["class-weight"] - wide["none"]).groupby("model").mean()
    assert pooled.loc[("lr", "class-weight"), "delta_macro_f1"] == pytest.approx(d["lr"])
    assert pooled.loc[("lr", "class-weight"), "n_pairs"] == 4


def test_bootstrap_observed_equals_metrics_and_flags_follow_intervals(study_run):
    rd = report.load_run(study_run, n_boot=200)
    sig = report.study_significance(rd, n_boot=200)
    summ = report.study_summary(rd).set_index(["label", "model", "strategy"])
    assert set(sig["stat"]) == {"macro_f1", "tail_recall"}
    for r in sig[sig["label"] != "pooled"].itertuples():
        assert r.delta == pytest.approx(summ.loc[(r.label, r.model, r.strategy), f"delta_{r.stat}"])
        assert r.significant == (r.lo > 0 or r.hi < 0) and r.lo <= r.hi
    assert set(sig.loc[sig["label"] == "pooled", "n_pairs"]) == {4}


def test_study_rerender_is_byte_identical(study_run):
    names = ["study.md", "study.csv", "study.tex", "study_per_rank.md", "table.md"]
    before = {n: (study_run / n).read_bytes() for n in names}
    for n in names:
        (study_run / n).unlink()
    assert report.main([str(study_run)]) == 0
    assert {n: (study_run / n).read_bytes() for n in names} == before


def test_multilabel_study_uses_the_data_own_imbalance(tmp_path):
    cfg = RunConfig(dataset="synthetic-tags", data_dir=str(tmp_path / "data"), dataset_options=TINY_TAGS,
                    study="imbalance", imbalance_ratios=(10.0,), strategies=("none", "ml-ros"), seeds=(0, 1),
                    models=("lr",), out=str(tmp_path / "results"), run_id="t", n_jobs=1,
                    cache_dir=str(tmp_path / "cache"))
    run_dir = run(cfg)
    m = pd.read_csv(run_dir / "metrics.csv")
    assert set(m["dataset"]) == {"synthetic-tags@natural"}
    assert {"f1_macro", "f1_macro@tuned", "tail_recall", "tail_recall@tuned"} <= set(m["metric"])
    sub = pd.read_csv(run_dir / "subsets.csv")
    g = sub[sub["seed"] == 0].sort_values("rank")
    assert (g["n_train"].diff().dropna() <= 0).all()                    # ranked by the data's own frequencies
    md = (run_dir / "study.md").read_text()
    assert "F1 macro (0.5)" in md and "F1 macro (tuned)" in md          # thresholds side by side
    assert not (run_dir / "study_ratio.png").exists()                  # one imbalance level: no ratio plot
    assert (run_dir / "study_heatmap.png").is_file()
    notes = json.loads((run_dir / "config.json").read_text())["notes"]
    assert any("multi-label" in n and "not applied" in n for n in notes)
