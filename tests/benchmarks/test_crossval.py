"""k-fold cross-validation (`--split kfold`): every track tested once and validated once, group-disjoint
folds, pooled metrics checked against scikit-learn on the pooled predictions, the refusals, determinism and
the report of the top folder, on small generated corpora and a folder of clips."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from sklearn.metrics import accuracy_score, f1_score

from benchmarks import comparison, report
from benchmarks import crossval as CV
from benchmarks.config import RunConfig
from benchmarks.datasets import get_dataset
from benchmarks.metrics import tune_thresholds
from benchmarks.prepare import load_dataset
from benchmarks.run import main, parse, run
from benchmarks.splits import kfold_split
from features.errors import ConfigError

# 4 genres x 30 tracks by 15 artists (groups of 2), 1.5-s clips (as in test_study).
TINY = (("genres", "blues,classical,metal,pop"), ("tracks_per_genre", "30"), ("artists_per_genre", "15"),
        ("duration", "1.5"), ("jobs", "1"))
TINY_TAGS = (("n_tracks", "60"), ("n_artists", "20"), ("duration", "1.5"), ("jobs", "1"))
FOLDS = 4
SR = 22050


def read_csv(path):
    return pd.read_csv(path, dtype={"track_id": str}, keep_default_na=False)


@pytest.fixture(scope="module")
def cv_cfg(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cv")
    return RunConfig(dataset="synthetic", data_dir=str(tmp / "data"), dataset_options=TINY, split="kfold",
                     folds=FOLDS, models=("lr", "small-cnn"), epochs=1, out=str(tmp / "results"), run_id="cv",
                     n_jobs=1, cache_dir=str(tmp / "cache"))


@pytest.fixture(scope="module")
def cv_run(cv_cfg):
    return run(cv_cfg)


@pytest.fixture(scope="module")
def tracks(cv_cfg, cv_run):
    return load_dataset(cv_cfg, for_folds=True).table.set_index("track_id")


def fold_parts(run_dir, model="lr"):
    """Per fold: the test and validation track ids of `model`, read from the fold folders."""
    out = []
    for i in range(FOLDS):
        p = read_csv(run_dir / f"fold{i}" / "predictions.csv")
        p = p[p["model"] == model]
        out.append({s: set(p.loc[p["split"] == s, "track_id"]) for s in ("test", "valid")})
    return out


def test_every_track_is_tested_once_and_validated_once(cv_run, tracks):
    parts = fold_parts(cv_run)
    for split in ("test", "valid"):
        ids = [t for part in parts for t in part[split]]
        assert len(ids) == len(set(ids)) == len(tracks), split
        assert set(ids) == set(tracks.index)
    for i, part in enumerate(parts):
        assert part["valid"] == parts[(i + 1) % FOLDS]["test"]          # fold i validates on fold i + 1
    top = read_csv(cv_run / "predictions.csv")
    for (model, split), g in top.groupby(["model", "split"]):
        assert sorted(g["track_id"]) == sorted(tracks.index), (model, split)


def test_folds_are_group_disjoint(cv_run, tracks):
    for part in fold_parts(cv_run):
        train = set(tracks.index) - part["test"] - part["valid"]
        groups = {s: set(tracks.loc[sorted(ids), "group"]) for s, ids in (("train", train), *part.items())}
        assert len(train) > 0
        assert not groups["train"] & groups["test"]
        assert not groups["train"] & groups["valid"]
        assert not groups["valid"] & groups["test"]


def test_pooled_metrics_equal_sklearn_on_pooled_predictions(cv_run, cv_cfg):
    m = read_csv(cv_run / "metrics.csv")
    classes = json.loads((cv_run / "config.json").read_text())["classes"]
    preds = read_csv(cv_run / "predictions.csv")
    for model in cv_cfg.models:
        g = preds[(preds["model"] == model) & (preds["split"] == "test")]
        y = g["label"].map({c: i for i, c in enumerate(classes)}).to_numpy()
        p = g[[f"p:{c}" for c in classes]].to_numpy(dtype=float).argmax(1)
        pooled = m[(m["dataset"] == "synthetic") & (m["split"] == "test") & (m["model"] == model)]
        value = pooled.set_index("metric")["value"].astype(float)
        assert value["accuracy"] == pytest.approx(accuracy_score(y, p))
        assert value["macro_f1"] == pytest.approx(f1_score(y, p, average="macro"))
        for metric in ("accuracy", "macro_f1"):
            assert value[f"{metric}@ci95_lo"] <= value[metric] <= value[f"{metric}@ci95_hi"]
            assert value[f"{metric}@ci95_lo"] < value[f"{metric}@ci95_hi"]


def test_per_fold_rows_and_early_stopping_on_the_carved_validation_fold(cv_run):
    m = read_csv(cv_run / "metrics.csv")
    labels = {f"synthetic@fold{i}" for i in range(FOLDS)}
    assert set(m["dataset"]) == {"synthetic"} | labels
    per = m[m["metric"] == "accuracy"].groupby("dataset")
    for label in labels:
        rows = per.get_group(label)
        assert set(rows["model"]) == {"lr", "small-cnn"} and set(rows["split"]) == {"valid", "test"}
    cfg = json.loads((cv_run / "config.json").read_text())
    assert cfg["split_name"] == "kfold" and cfg["crossval"]["folds"] == FOLDS
    assert [r["dir"] for r in cfg["crossval"]["runs"]] == [f"fold{i}" for i in range(FOLDS)]
    for i in range(FOLDS):
        sub = cv_run / f"fold{i}"
        curves = read_csv(sub / "curves.csv")
        assert set(curves["model"]) == {"small-cnn"} and len(curves) == 1      # epochs=1, scored on valid
        assert np.isfinite(curves["valid_score"].astype(float)).all()
        fold_m = read_csv(sub / "metrics.csv")
        assert set(fold_m["dataset"]) == {f"synthetic@fold{i}"}
        assert json.loads((sub / "config.json").read_text())["fold"] == i
    timings = read_csv(cv_run / "timings.csv")
    assert {"fold0/lr/none/seed0", f"fold{FOLDS - 1}/small-cnn/none/seed0"} <= set(timings["model"])


def test_report_renders_the_top_folder(cv_run):
    files = report.render(cv_run)
    assert cv_run / "report.html" in files
    table = (cv_run / "table.md").read_text()
    assert "@fold" not in table                                                # the main table: pooled rows
    for i in range(FOLDS):                                                     # each fold folder rendered
        assert cv_run / f"fold{i}" / "table.md" in files
    sig = read_csv(cv_run / "significance.csv")
    assert (sig["n_tracks"].astype(int) == 120).all()                          # paired over all tracks
    m = read_csv(cv_run / "metrics.csv")
    test = m[(m["split"] == "test") & (m["metric"] == "accuracy") & (m["model"] == "lr")]
    pooled = float(test.loc[test["dataset"] == "synthetic", "value"].iloc[0])
    folds = test.loc[test["dataset"].str.startswith("synthetic@fold"), "value"].astype(float)
    lr_row = next(r for r in (cv_run / "crossval.md").read_text().splitlines() if r.startswith("| lr "))
    cells = [c.strip() for c in lr_row.strip("|").split("|")]
    assert cells[1] == str(FOLDS) and cells[2].startswith(f"{pooled:.3f} [")
    assert cells[3].startswith(f"{folds.mean():.3f} ± {folds.std(ddof=1):.3f} ({folds.min():.3f}–{folds.max():.3f})")


def test_same_config_twice_gives_identical_files(tmp_path, cv_cfg, cv_run):
    outs = []
    for name in ("a", "b"):
        cfg = dataclasses.replace(cv_cfg, models=("lr", "rf"), epochs=None, out=str(tmp_path / name), run_id="same")
        outs.append(CV.run(cfg))
    for f in ("metrics.csv", "predictions.csv", "skipped.csv", "fold0/metrics.csv", "fold3/predictions.csv"):
        assert (outs[0] / f).read_bytes() == (outs[1] / f).read_bytes(), f
    other = CV.run(dataclasses.replace(cv_cfg, models=("lr",), epochs=None, split_seed=1, out=str(tmp_path / "c")))
    before, after = (read_csv(d / "fold0" / "predictions.csv") for d in (outs[0], other))
    assert set(before["track_id"]) != set(after["track_id"])                 # the split seed draws the folds


def test_multilabel_pooled_thresholds_are_tuned_on_pooled_validation(tmp_path):
    cfg = RunConfig(dataset="synthetic-tags", data_dir=str(tmp_path / "data"), dataset_options=TINY_TAGS,
                    split="kfold", folds=3, models=("lr",), out=str(tmp_path / "results"), run_id="t", n_jobs=1,
                    cache_dir=str(tmp_path / "cache"))
    run_dir = CV.run(cfg)
    classes = json.loads((run_dir / "config.json").read_text())["classes"]
    preds = read_csv(run_dir / "predictions.csv")
    m = read_csv(run_dir / "metrics.csv")
    pooled = m[(m["dataset"] == "synthetic-tags") & (m["split"] == "test")].set_index("metric")["value"]
    n = len(load_dataset(cfg, for_folds=True).table)

    def part(split):
        g = preds[preds["split"] == split]
        assert g["track_id"].nunique() == len(g) == n
        Y = np.array([[c in str(v).split("|") for c in classes] for v in g["labels"]], dtype=int)
        return Y, g[[f"p:{c}" for c in classes]].to_numpy(dtype=float)

    (Yv, Pv), (Yt, Pt) = part("valid"), part("test")
    t = tune_thresholds(Yv, Pv)
    keep = (Yt.sum(0) > 0) & (Yt.sum(0) < len(Yt))
    expected = f1_score(Yt[:, keep], (Pt >= t)[:, keep].astype(int), average="macro", zero_division=0)
    assert float(pooled["f1_macro@tuned"]) == pytest.approx(expected)
    assert float(pooled["map@ci95_lo"]) <= float(pooled["map"]) <= float(pooled["map@ci95_hi"])


def test_folder_kfold_keeps_groups_and_ignores_split_csv(tmp_path):
    root = tmp_path / "music"
    rows = []
    rng = np.random.default_rng(0)
    for c in range(3):
        for i in range(12):
            rel = f"style{c}/take{i:02d}.wav"
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            t = np.arange(SR) / SR
            x = 0.4 * np.sin(2 * np.pi * 110 * 2 ** c * t) + 0.05 * rng.standard_normal(SR)
            sf.write(root / rel, x.astype(np.float32), SR)
            rows.append({"path": rel, "group": f"session{c}-{i // 2}", "split": ("train", "valid", "test")[i % 3]})
    pd.DataFrame(rows)[["path", "group"]].to_csv(root / "groups.csv", index=False)
    pd.DataFrame(rows)[["path", "split"]].to_csv(root / "split.csv", index=False)
    cfg = RunConfig(dataset="folder", data_dir=str(root), split="kfold", folds=3, models=("lr",),
                    out=str(tmp_path / "results"), run_id="f", n_jobs=1, cache_dir=str(tmp_path / "cache"))
    run_dir = CV.run(cfg)
    group = {r["path"][:-4]: r["group"] for r in rows}
    preds = read_csv(run_dir / "predictions.csv")
    test = preds[preds["split"] == "test"]
    assert sorted(test["track_id"]) == sorted(group)
    fold_of = {}
    for i in range(3):
        for t in read_csv(run_dir / f"fold{i}" / "predictions.csv").query("split == 'test'")["track_id"]:
            fold_of[t] = i
    by_group = pd.DataFrame({"group": [group[t] for t in fold_of], "fold": list(fold_of.values())})
    assert by_group.groupby("group")["fold"].nunique().max() == 1            # no session in two folds
    assert json.loads((run_dir / "config.json").read_text())["crossval"]["base_split"] == "random"


# -- the refusals and the settings ------------------------------------------------------------------------------
def exit_code(argv, capsys, tmp_path):
    code = main([*argv, "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return code, err


@pytest.mark.parametrize("argv, fragment", [
    (["--dataset", "synthetic", "--folds", "4"], "--folds has no effect"),
    (["--dataset", "synthetic", "--split", "random", "--folds", "4"], "--split kfold is not given"),
    (["--dataset", "fma", "--split", "kfold"], "k-fold needs a dataset without an official split"),
    (["--dataset", "jamendo", "--split", "kfold"], "k-fold needs a dataset without an official split"),
    (["--dataset", "synthetic", "--split", "kfold", "--study", "imbalance"], "--study imbalance"),
    (["--dataset", "synthetic", "--split", "kfold", "--folds", "2"], "folds=2 must be an integer of at least 3"),
    (["--dataset", "synthetic", "--split", "kfold", "--dataset-option", "folds=5"], "--dataset-option folds"),
])
def test_cli_refusals_exit_2(argv, fragment, capsys, tmp_path):
    code, err = exit_code([*argv, "--data-dir", str(tmp_path / "none")], capsys, tmp_path)
    assert code == 2 and fragment in err, err
    assert not (tmp_path / "none").exists() and not (tmp_path / "r").exists()   # refused before any data


def test_kfold_split_of_each_dataset(tmp_path):
    assert kfold_split(get_dataset("synthetic", tmp_path)) == "random"
    assert kfold_split(get_dataset("gtzan", tmp_path)) == "random"            # the fault-filtered default is fixed
    assert kfold_split(get_dataset("mtat", tmp_path)) == "random"
    for name in ("fma", "jamendo"):
        with pytest.raises(ConfigError, match="official split"):
            kfold_split(get_dataset(name, tmp_path))
    assert RunConfig().folds == 5 and RunConfig(split="kfold").split == "kfold"
    with pytest.raises(ConfigError, match="folds"):
        RunConfig(folds=2)
    cfg = RunConfig(dataset="synthetic", data_dir=str(tmp_path / "data"), split="kfold", models=("lr",),
                    out=str(tmp_path / "results"))
    with pytest.raises(ConfigError, match="benchmarks.crossval"):   # another producer does not run it as a split
        comparison.run(cfg)
    assert not (tmp_path / "data").exists() and not (tmp_path / "results").exists()


def test_toml_selects_kfold(tmp_path):
    toml = tmp_path / "run.toml"
    toml.write_text('dataset = "synthetic"\nsplit = "kfold"\nfolds = 4\n')
    cfg, _ = parse(["--config", str(toml)])
    assert (cfg.split, cfg.folds) == ("kfold", 4)
    cfg, _ = parse(["--config", str(toml), "--folds", "6"])
    assert cfg.folds == 6
    toml.write_text('dataset = "synthetic"\nsplit = "kfold"\nfolds = "four"\n')
    with pytest.raises(ConfigError, match="folds"):
        parse(["--config", str(toml)])
