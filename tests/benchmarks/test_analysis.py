"""The dataset analysis (`benchmarks.analysis`), its report section and `python -m benchmarks.analyze`: the numbers
behind each figure against direct computations, byte-identical files, the figures written, the CLI end to end."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from sklearn.decomposition import PCA

from benchmarks.analysis import labels as L
from benchmarks.analysis import matrix as F
from benchmarks.analysis import mel as S
from benchmarks.analysis import write_analysis
from benchmarks.analyze import main as analyze_main
from benchmarks.analyze import render
from benchmarks.config import RunConfig
from benchmarks.experiment import ExperimentResult, Inputs
from benchmarks.families.deep import DeepInputs
from benchmarks.report.analysis import section_analysis
from benchmarks.report.load import RunData
from benchmarks.runfolder import METRIC_COLUMNS, read_npz, read_part_csv
from features.config import FeatureConfig

CLASSES = ["a", "b", "c"]
N_MELS = 8


def single_table(n_per=(12, 8, 4), seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for c, n in zip(CLASSES, n_per, strict=True):
        for i in range(n):
            rows.append({"track_id": f"{c}{i:02d}", "label": c,
                         "split": rng.choice(["train", "train", "train", "valid", "test"])})
    return pd.DataFrame(rows)


def multi_table(n=40, seed=1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        a = rng.random() < 0.5
        tags = tuple(t for t, on in zip(CLASSES, (a, a or rng.random() < 0.2, rng.random() < 0.3), strict=True) if on)
        rows.append({"track_id": f"t{i:02d}", "labels": tags, "split": ["train", "train", "valid", "test"][i % 4]})
    return pd.DataFrame(rows)


def fake_store(table: pd.DataFrame, seed=2) -> dict[str, np.ndarray]:
    """track_id -> float16 dB (N_MELS, frames): a level per class plus noise; lengths vary."""
    rng = np.random.default_rng(seed)
    out = {}
    for i, r in enumerate(table.itertuples(index=False)):
        base = -30.0 - 5.0 * CLASSES.index(r.label if "label" in table else (r.labels or ("a",))[0])
        x = base + np.linspace(0, -20, N_MELS)[:, None] + rng.normal(0, 2, (N_MELS, 50 + 7 * (i % 5)))
        out[r.track_id] = x.astype(np.float16)
    return out


# -- labels -------------------------------------------------------------------------------------------
def test_class_counts_and_imbalance_match_value_counts():
    t = single_table()
    counts = L.class_counts(t, CLASSES, "single")
    for split in ("train", "valid", "test"):
        vc = t[t["split"] == split]["label"].value_counts()
        got = counts[counts["split"] == split].set_index("class")["count"]
        assert got.to_dict() == {c: int(vc.get(c, 0)) for c in CLASSES}
    assert counts[counts["split"] == "all"].set_index("class")["count"].to_dict() == t["label"].value_counts().to_dict()
    vc = t[t["split"] == "train"]["label"].value_counts()
    imb = L.imbalance(counts)
    assert imb["imbalance_ratio"] == pytest.approx(vc.max() / vc.min())
    assert imb["largest_class"] == vc.idxmax() and imb["smallest_count"] == vc.min()


def test_tags_per_track_cooccurrence_and_phi_match_numpy():
    t = multi_table()
    Y = np.array([[c in tags for c in CLASSES] for tags in t["labels"]], dtype=np.int64)
    np.testing.assert_array_equal(L.target_matrix(t, CLASSES, "multi"), Y)
    np.testing.assert_array_equal(L.cooccurrence(Y), Y.T @ Y)
    np.testing.assert_allclose(L.phi(Y), np.corrcoef(Y.T), atol=1e-12)
    tpt = L.tags_per_track(t, CLASSES, "multi")
    allr = tpt[tpt["split"] == "all"].set_index("n_tags")["n_tracks"]
    assert allr.to_dict() == pd.Series(Y.sum(1)).value_counts().to_dict()
    pairs = L.top_pairs(CLASSES, Y.T @ Y, np.corrcoef(Y.T))
    assert list(pairs["phi"]) == sorted(pairs["phi"], reverse=True) and len(pairs) == 3
    assert (pairs.iloc[0]["tag_a"], pairs.iloc[0]["tag_b"]) == ("a", "b")  # b is a's superset by construction


def test_phi_is_nan_for_a_constant_tag():
    Y = np.array([[1, 0], [1, 1], [1, 0]])
    r = L.phi(Y)
    assert np.isnan(r[0]).all() and r[1, 1] == pytest.approx(1.0)


# -- log-mel ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("task", ["single", "multi"])
def test_mel_profiles_are_numpy_means_of_the_store(task):
    t = single_table() if task == "single" else multi_table()
    store = fake_store(t)
    prof, n = S.class_profiles(store, t, CLASSES, task)
    for c, name in enumerate(CLASSES):
        col = t["label"] if task == "single" else t["labels"]
        ids = t.loc[[name == r if task == "single" else name in r for r in col], "track_id"]
        ref = np.mean([store[i].astype(np.float64).mean(1) for i in ids], axis=0)
        np.testing.assert_allclose(prof[c], ref, rtol=1e-12)
        assert n[c] == len(ids)


def test_profile_pca_matches_sklearn_and_an_svd():
    rng = np.random.default_rng(3)
    P = rng.normal(size=(5, N_MELS)) * np.arange(1, N_MELS + 1)
    coords, ratio, ok = S.profile_pca(P)
    ref = PCA(n_components=2, svd_solver="full").fit(P)
    np.testing.assert_allclose(coords, ref.transform(P), atol=1e-10)
    Z = P - P.mean(0)
    _, sv, _ = np.linalg.svd(Z, full_matrices=False)
    np.testing.assert_allclose(ratio, (sv**2 / (sv**2).sum())[:2], rtol=1e-10)
    np.testing.assert_allclose(np.abs(coords), np.abs(np.linalg.svd(Z, full_matrices=False)[0][:, :2] * sv[:2]),
                               atol=1e-10)
    assert ok.all()


def test_track_stats_and_the_planted_silent_and_loud_tracks():
    t = single_table()
    store = fake_store(t)
    store["a00"] = np.full((N_MELS, 60), -100.0, dtype=np.float16)  # digital silence: at the floor
    store["b01"] = (store["b01"].astype(np.float64) - 45).astype(np.float16)  # far quieter, not silent
    store["c02"] = (store["c02"].astype(np.float64) + 60).astype(np.float16)  # far louder
    stats = S.track_stats(store, t, CLASSES, "single")
    x = store["a03"].astype(np.float64)
    row = stats.set_index("track_id").loc["a03"]
    assert row["mean_db"] == pytest.approx(x.mean()) and row["max_db"] == pytest.approx(x.max())
    assert row["energy_db"] == pytest.approx(np.mean(10 * np.log10((10 ** (x / 10)).sum(0))))
    med = np.median(stats["mean_db"])
    mad = np.median(np.abs(stats["mean_db"] - med))
    np.testing.assert_allclose(stats["z"], 0.6745 * (stats["mean_db"] - med) / mad)
    out = S.outliers(stats, S.store_config(store)).set_index("track_id")["reason"]
    assert out["a00"].startswith("silent: max dB at the floor")
    assert out["b01"].startswith("silent: mean dB far below") and out["c02"].startswith("loud")
    assert len(out) == 3


def test_examples_are_middle_crops_of_one_training_track_per_class():
    t = single_table()
    store = fake_store(t)
    ex = S.examples(store, t, CLASSES, "single", seconds=1.0)  # 1 s at 22,050 / 512: 43 frames
    for i, (tid, c) in enumerate(zip(ex["track_id"], ex["class"], strict=True)):
        first = sorted(t[(t["label"] == c) & (t["split"] == "train")]["track_id"])[0]
        assert tid == first
        full = store[tid]
        start = (full.shape[1] - 43) // 2
        np.testing.assert_array_equal(ex["mel"][i, :, :ex["n_frames"][i]], full[:, start:start + 43])
    assert ex["mel"].dtype == np.float16 and float(ex["frame_rate"]) == pytest.approx(22050 / 512)


# -- features -----------------------------------------------------------------------------------------
def signal_in_mfcc(n=150, seed=4) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A feature matrix where only the mfcc columns carry the label (3 classes), and its table."""
    rng = np.random.default_rng(seed)
    cols = FeatureConfig().columns()
    y = np.arange(n) % 3
    X = rng.normal(size=(n, len(cols)))
    mf = np.array([c.startswith("mfcc_") for c in cols])
    X[:, mf] += 1.5 * y[:, None] * rng.choice([-1, 1], mf.sum())
    X[:, cols.index("moment_var")] = np.exp(X[:, cols.index("moment_var")])
    ids = [f"t{i:03d}" for i in range(n)]
    table = pd.DataFrame({"track_id": ids, "label": [CLASSES[k] for k in y],
                          "split": ["train", "train", "train", "valid", "test"] * (n // 5)})
    return pd.DataFrame(X, index=pd.Index(ids, name="track_id"), columns=cols), table


def test_feature_families_cover_every_column():
    fams = F.families_of(FeatureConfig().columns())
    assert list(fams) == ["mfcc", "chroma", "spectral contrast", "spectral shape", "rms", "zcr", "rhythm", "moments"]
    assert sum(len(v) for v in fams.values()) == len(FeatureConfig().columns())
    assert F.feature_family("tempo") == "rhythm" and F.feature_family("spectral_flatness_std") == "spectral shape"


def test_permutation_importance_finds_the_family_with_the_signal_and_trees_sum_to_one():
    feats, table = signal_in_mfcc()
    split = table["split"]
    splits = {s: table.loc[split == s, "track_id"].tolist() for s in ("train", "valid", "test")}
    y = table["label"].map({c: i for i, c in enumerate(CLASSES)}).to_numpy()
    targets = {s: y[(split == s).to_numpy()] for s in splits}
    fam, top = F.importances(["lr", "rf"], feats, splits, targets, task="single", n_classes=3, profile="quick",
                             seed=0)
    for model in ("lr", "rf"):
        perm = fam[(fam["model"] == model) & (fam["kind"] == "permutation")].set_index("feature_family")
        assert perm["importance"].idxmax() == "mfcc"
        assert perm.loc["mfcc", "importance"] > 0.3 and perm["baseline"].iloc[0] > 0.9
    tree = fam[(fam["model"] == "rf") & (fam["kind"] == "tree")]
    assert tree["importance"].sum() == pytest.approx(1.0)
    assert not ((fam["model"] == "lr") & (fam["kind"] == "tree")).any()
    assert len(top) == F.TOP_FEATURES and (top["feature_family"] == "mfcc").mean() > 0.8


def test_embeddings_and_waveform_variance_of_the_feature_matrix():
    feats, table = signal_in_mfcc(n=60)
    emb, facts = F.embeddings(feats, table, CLASSES, "single", seed=0)
    from sklearn.preprocessing import StandardScaler

    # the standardization and the PCA are fitted on the training tracks, then map every track
    X = feats.loc[table["track_id"]].to_numpy()
    train = (table["split"] == "train").to_numpy()
    scaler = StandardScaler().fit(X[train])
    ref = PCA(n_components=2, svd_solver="full").fit(scaler.transform(X[train]))
    np.testing.assert_allclose(emb[["pca_1", "pca_2"]].to_numpy(), ref.transform(scaler.transform(X)), atol=1e-8)
    assert facts["tsne_perplexity"] == pytest.approx(min(30, 59 / 3)) and np.isfinite(emb["tsne_1"]).all()
    var = F.waveform_variance(feats, table, CLASSES, "single")
    assert var.set_index("track_id").loc["t005", "variance"] == pytest.approx(feats.loc["t005", "moment_var"])


# -- the run folder and the report ----------------------------------------------------------------
def fake_run(task: str):
    if task == "single":
        feats, table = signal_in_mfcc(n=60)
    else:
        table = multi_table(n=60)
        feats = signal_in_mfcc(n=60)[0]
        feats.index = pd.Index(table["track_id"], name="track_id")
    inputs = Inputs({"classical": feats, "deep": DeepInputs(fake_store(table))})
    res = ExperimentResult(metrics=[], predictions=pd.DataFrame(), curves=None, skipped=pd.DataFrame(), notes=[],
                           table=table, inputs=inputs)
    cfg = RunConfig(dataset="synthetic", models=("lr", "rf"), n_jobs=1)
    return cfg, SimpleNamespace(classes=CLASSES, task=task), res


def run_data(run_dir: Path, task: str, formats=("png", "pdf")) -> RunData:
    return RunData(run_dir=run_dir, config={}, task=task, classes=CLASSES, dataset="synthetic",
                   metrics=pd.DataFrame(columns=METRIC_COLUMNS), summary=pd.DataFrame(), split="test", keys=[],
                   short={}, fig_formats=formats, dpi=60)


@pytest.mark.parametrize("task", ["single", "multi"])
def test_write_analysis_is_byte_identical_and_the_section_draws_it(tmp_path, task):
    cfg, ds, res = fake_run(task)
    notes_1 = write_analysis(tmp_path / "one", cfg, ds, res)
    notes_2 = write_analysis(tmp_path / "two", cfg, ds, res)
    one, two = sorted((tmp_path / "one" / "analysis").iterdir()), sorted((tmp_path / "two" / "analysis").iterdir())
    assert [p.name for p in one] == [p.name for p in two] and notes_1 == notes_2 == []
    for a, b in zip(one, two, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name
    names = {p.name for p in one}
    assert {"class_counts.csv", "mel_tracks.csv", "mel_profiles.npz", "examples.npz", "embedding.csv",
            "importance_family.csv"} <= names
    assert ("tags.npz" in names) == (task == "multi")
    if task == "multi":
        tags = read_npz(tmp_path / "one", "analysis", "tags.npz")
        Y = L.target_matrix(res.table, CLASSES, "multi")
        np.testing.assert_array_equal(tags["cooccurrence"], Y.T @ Y)

    formats = ("png", "pdf") if task == "single" else ("png",)
    sec = section_analysis(run_data(tmp_path / "one", task, formats))
    stems = {p.stem for p in sec.files}
    want = {"analysis_class_counts", "analysis_mel_levels", "analysis_mel_profiles", "analysis_profile_pca",
            "analysis_examples", "analysis_waveform_variance", "analysis_embedding", "analysis_importance"}
    assert want <= stems and ({"analysis_tags_per_track", "analysis_tag_correlation"} <= stems) == (task == "multi")
    assert {p.suffix for p in sec.files} == {f".{f}" for f in formats} and all(p.stat().st_size > 0 for p in sec.files)
    assert "imbalance ratio" in sec.body


def test_missing_inputs_are_noted_and_the_section_is_none_without_analysis(tmp_path):
    cfg, ds, res = fake_run("single")
    res.inputs = Inputs({})
    notes = write_analysis(tmp_path, cfg, ds, res)
    assert any("log-mel" in n and "benchmarks.analyze --dataset synthetic" in n for n in notes)
    assert any("feature matrix" in n for n in notes)
    assert read_part_csv(tmp_path, "analysis", "notes.csv")["part"].tolist() == ["log-mel", "features"]
    assert section_analysis(run_data(tmp_path / "elsewhere", "single")) is None


# -- the command line -----------------------------------------------------------------------------
TINY = ["--dataset-option", "duration=1.5", "--dataset-option", "jobs=1"]


@pytest.mark.parametrize("dataset,options", [
    ("synthetic", ["--dataset-option", "genres=blues,classical,metal,pop", "--dataset-option", "tracks_per_genre=10",
                   "--dataset-option", "artists_per_genre=10"]),
    ("synthetic-tags", ["--dataset-option", "n_tracks=50", "--dataset-option", "n_artists=20"]),
])
def test_cli_end_to_end_on_the_generated_corpora(tmp_path, capsys, dataset, options):
    argv = ["--dataset", dataset, "--data-dir", str(tmp_path / "data"), *options, *TINY, "--out",
            str(tmp_path / "results"), "--run-id", "x", "--cache-dir", str(tmp_path / "cache"), "--n-jobs", "1",
            "--fig-format", "png", "--dpi", "60"]
    assert analyze_main(argv) == 0
    run_dir = tmp_path / "results" / dataset / "analysis-x"
    assert str(run_dir) in capsys.readouterr().out
    for name in ("config.json", "analysis.html", "analysis.md", "analysis_class_counts.png", "analysis_examples.png",
                 "analysis_importance.png", "analysis/summary.csv"):
        assert (run_dir / name).is_file(), name
    if dataset == "synthetic-tags":
        assert (run_dir / "analysis_tag_correlation.png").is_file()
    before = {p.name: p.read_bytes() for p in (run_dir / "analysis").iterdir()}
    import json

    config = json.loads((run_dir / "config.json").read_text())
    render(run_dir, RunConfig(dataset=dataset, fig_format=("png",), dpi=60), config)  # re-render from the files
    assert {p.name: p.read_bytes() for p in (run_dir / "analysis").iterdir()} == before


@pytest.mark.parametrize("argv,message", [
    (["--dataset", "nope"], "nope"),
    (["--dataset", "synthetic", "--models", "small-cnn"], "classical models only"),
])
def test_cli_errors_exit_2(tmp_path, capsys, argv, message):
    assert analyze_main([*argv, "--out", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err
