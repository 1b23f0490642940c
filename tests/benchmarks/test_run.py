"""The runner end to end on fixtures in real layouts, its command line, and its leakage guarantees."""

import json
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from sklearn.preprocessing import StandardScaler

from benchmarks.config import RunConfig
from benchmarks.datasets.gtzan import GENRES, split_list
from benchmarks.run import main, parse, run

SR = 22050
OUTPUTS = ["config.json", "metrics.csv", "predictions.csv", "skipped.csv", "timings.csv", "table.md", "table.csv",
           "table.tex", "per_class.md", "report.html", "confusion_grid.png"]


def genre_clip(gi: int, seed: int, seconds=1.5):
    """A clip whose pitch and noise level depend on the genre, so that models can beat chance."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(SR * seconds)) / SR
    f0 = 110 * 2 ** (gi / 3) * (1 + 0.02 * rng.standard_normal())
    x = 0.4 * np.sin(2 * np.pi * f0 * t) + 0.2 * np.sin(2 * np.pi * 2 * f0 * t)
    x += (0.02 + 0.03 * (gi % 3)) * rng.standard_normal(len(t))
    return x.astype(np.float32)


@pytest.fixture(scope="module")
def gtzan_fixture(tmp_path_factory):
    """The published Kaggle layout with the first four tracks of each genre in each fault-filtered list."""
    root = tmp_path_factory.mktemp("gtzan")
    for split in ("train", "valid", "test"):
        by_genre = {}
        for rel in split_list(split):
            by_genre.setdefault(rel.split("/")[0], []).append(rel)
        for g, rels in by_genre.items():
            for rel in rels[:4]:
                p = root / "genres_original" / rel
                p.parent.mkdir(parents=True, exist_ok=True)
                sf.write(p, genre_clip(GENRES.index(g), zlib.crc32(rel.encode())), SR)
    # A corrupt file in the lists: reported in skipped.csv, the run goes on.
    bad = root / "genres_original" / split_list("test")[5]
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    return root


def cfg_for(tmp_path, **kw):
    base = dict(out=str(tmp_path / "results"), run_id="r", n_jobs=1, cache_dir=str(tmp_path / "cache"),
                models=("lr", "rf", "xgb", "svm", "knn", "mlp"))
    base.update(kw)
    return RunConfig(**base)


def test_gtzan_fixture_run_writes_every_output(gtzan_fixture, tmp_path):
    run_dir = run(cfg_for(tmp_path, dataset="gtzan", data_dir=str(gtzan_fixture)))
    for name in OUTPUTS:
        assert (run_dir / name).is_file(), name
    m = pd.read_csv(run_dir / "metrics.csv")
    assert list(m.columns) == ["dataset", "split", "model", "family", "input", "strategy", "seed", "metric", "value"]
    acc = m[(m.split == "test") & (m.metric == "accuracy")].set_index("model")["value"]
    assert set(acc.index) == {"lr", "rf", "xgb", "svm", "knn", "mlp"}
    assert acc.max() > 0.3  # 10 classes: chance is 0.1
    skipped = pd.read_csv(run_dir / "skipped.csv")
    corrupt = skipped[skipped["stage"] == "features"]
    assert len(corrupt) == 1 and "corrupt" in corrupt["reason"].iloc[0]
    assert skipped["reason"].str.contains("known bad").sum() == 1  # jazz.00054, by name
    pred = pd.read_csv(run_dir / "predictions.csv")
    assert set(pred["split"]) == {"valid", "test"}
    assert np.allclose(pred[[f"p:{g}" for g in GENRES]].sum(axis=1), 1, atol=1e-6)
    # Every model is scored on the same test tracks; the corrupt one is in none of them.
    per_model = pred[pred.split == "test"].groupby("model")["track_id"].apply(frozenset)
    assert per_model.nunique() == 1
    assert Path(corrupt["path"].iloc[0]).stem not in per_model.iloc[0]


def test_rerender_is_byte_identical(gtzan_fixture, tmp_path):
    run_dir = run(cfg_for(tmp_path, dataset="gtzan", data_dir=str(gtzan_fixture), models=("lr", "knn"),
                          seeds=(0, 1)))
    tables = ["table.md", "table.csv", "table.tex", "per_class.md"]
    first = {n: (run_dir / n).read_bytes() for n in tables}
    for n in tables:
        (run_dir / n).unlink()
    assert subprocess.run([sys.executable, "-m", "benchmarks.report", str(run_dir)]).returncode == 0
    assert {n: (run_dir / n).read_bytes() for n in tables} == first
    assert "±" in first["table.md"].decode()


def test_folder_fixture_run(tmp_path):
    root = tmp_path / "music"
    rows = []
    for c in range(3):
        for i in range(20):
            rel = f"style{c}/take{i:02d}.flac"
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            sf.write(root / rel, genre_clip(c * 3, c * 100 + i, seconds=1.0), SR, format="FLAC")
            rows.append({"path": rel, "group": f"session{c}-{i // 2}"})
    pd.DataFrame(rows).to_csv(root / "groups.csv", index=False)
    models = ("lr", "rf", "xgb", "svm", "knn", "mlp", "small-cnn")
    run_dir = run(cfg_for(tmp_path, dataset="folder", data_dir=str(root), models=models, epochs=2))
    for name in [*OUTPUTS, "curves.csv"]:
        assert (run_dir / name).is_file(), name
    m = pd.read_csv(run_dir / "metrics.csv")
    assert set(m["model"]) == set(models)
    assert set(m.loc[m.model == "small-cnn", "family"]) == {"deep"}
    assert len(pd.read_csv(run_dir / "curves.csv")) == 2
    pred = pd.read_csv(run_dir / "predictions.csv")
    tracks = pred.drop_duplicates("track_id").merge(
        pd.DataFrame(rows).assign(track_id=lambda d: d["path"].str[:-5]), on="track_id")
    assert tracks.groupby("group")["split"].nunique().max() == 1  # no session in two splits


def test_no_test_track_reaches_scaler_sampler_or_estimator(gtzan_fixture, tmp_path, monkeypatch):
    """Instrument every fit: the scaler, the sampler and the estimator see training tracks only."""
    from imblearn.over_sampling import RandomOverSampler
    from sklearn.linear_model import LogisticRegression

    import features

    seen = {"scaler": [], "sampler": [], "model": []}
    orig_scaler, orig_sampler, orig_lr = StandardScaler.fit, RandomOverSampler.fit_resample, LogisticRegression.fit

    def scaler_fit(self, X, y=None, **kw):
        seen["scaler"].append(np.array(X))
        return orig_scaler(self, X, y, **kw)

    def sampler_fit(self, X, y, **kw):
        seen["sampler"].append(np.array(X))
        return orig_sampler(self, X, y, **kw)

    def lr_fit(self, X, y, **kw):
        seen["model"].append(np.array(X))
        return orig_lr(self, X, y, **kw)

    monkeypatch.setattr(StandardScaler, "fit", scaler_fit)
    monkeypatch.setattr(RandomOverSampler, "fit_resample", sampler_fit)
    monkeypatch.setattr(LogisticRegression, "fit", lr_fit)
    cfg = cfg_for(tmp_path, dataset="gtzan", data_dir=str(gtzan_fixture), models=("lr",), strategies=("ros",),
                  excerpts=0.5, tune=True, analysis=True)  # the dataset analysis fits a scaler and models too
    run_dir = run(cfg)
    pred = pd.read_csv(run_dir / "predictions.csv")
    from benchmarks.datasets import get_dataset

    table = get_dataset("gtzan", gtzan_fixture).load().table
    train_ids = set(table.loc[table["split"] == "train", "track_id"])  # identities from the split itself
    held_out = set(table["track_id"]) - train_ids  # valid and test tracks
    assert set(pred["track_id"]) <= held_out
    feats = features.extract(table, features.FEATURE_SETS["all"](), n_jobs=1, cache_dir=tmp_path / "cache",
                             excerpts=features.ExcerptConfig(length=0.5, overlap=0.5))
    tids = feats.index.get_level_values(0)
    train_rows = feats[tids.isin(train_ids)].to_numpy()
    held_rows = feats[tids.isin(held_out)].to_numpy()
    assert len(held_rows) and seen["scaler"] and seen["sampler"] and seen["model"]

    def same_rows(X, rows):  # (rows of X, rows): which excerpt each row of X is, to rtol 1e-6
        return (np.abs(X[:, None, :] - rows[None, :, :]) <= 1e-6 * np.abs(rows[None, :, :]) + 1e-9).all(-1)

    # The dataset analysis standardizes its embedding plots on the training tracks' mean feature vectors.
    train_means = feats[tids.isin(train_ids)].groupby(level=0, sort=True).mean().to_numpy()
    analysis_fits = [X for X in seen["scaler"] if len(X) == len(train_means)
                     and (same_rows(X, train_means).sum(axis=1) == 1).all()]
    assert len(analysis_fits) == 1
    for X in [X for X in seen["scaler"] if not any(X is a for a in analysis_fits)]:
        # Exactly the training excerpts, each once, and no held-out excerpt.
        match = same_rows(X, train_rows)
        assert (match.sum(axis=1) == 1).all() and (match.sum(axis=0) == 1).all()
        assert not (np.abs(X[:, None, :] - held_rows[None, :, :]).max(-1) < 1e-9).any()
    with monkeypatch.context() as m:
        m.setattr(StandardScaler, "fit", orig_scaler)
        scaler = StandardScaler().fit(train_rows)
    scaled_train, scaled_held = scaler.transform(train_rows), scaler.transform(held_rows)
    for X in seen["sampler"]:  # the sampler gets the scaled training excerpts, each once
        match = same_rows(X, scaled_train)
        assert (match.sum(axis=1) == 1).all() and (match.sum(axis=0) == 1).all()
    for X in seen["model"]:  # the estimator: training excerpts only (copies allowed), every one of them
        match = same_rows(X, scaled_train)
        assert (match.sum(axis=1) == 1).all() and match.any(axis=0).all()
    for X in seen["sampler"] + seen["model"]:
        assert not (np.abs(X[:, None, :] - scaled_held[None, :, :]).max(-1) < 1e-6).any()


def test_cli_errors_are_one_line_with_exit_code_2(capsys, tmp_path):
    cases = [
        (["--dataset", "gtzn"], "unknown dataset 'gtzn'; choose from gtzan"),
        (["--dataset", "synthetic", "--models", "lr,resnet9000"], "unknown model 'resnet9000'"),
        (["--dataset", "synthetic", "--strategies", "smoth"], "unknown strategy 'smoth'"),
        (["--dataset", "synthetic", "--models", "small-cnn", "--no-torch"], "--no-torch"),
        (["--dataset", "synthetic", "--seeds", "a,b"], "seeds="),
        (["--dataset", "synthetic", "--profile", "fast"], "invalid choice"),
        (["--dataset", "synthetic", "--bogus"], "unrecognized arguments"),
        (["--dataset", "gtzan", "--data-dir", str(tmp_path / "none")], "--dataset synthetic"),
        (["--dataset", "synthetic", "--excerpts", "-1"], "excerpts=-1"),
    ]
    for argv, fragment in cases:
        with pytest.raises(SystemExit) as e:
            sys.exit(main([*argv, "--out", str(tmp_path / "r")]))
        assert e.value.code == 2, argv
        err = capsys.readouterr().err
        assert fragment in err, (argv, err)
        assert "Traceback" not in err


def test_help_lists_every_registry(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for needle in ("datasets: gtzan", "classical models: lr", "k2c2", "small-cnn", "smote", "focal", "mtat"):
        assert needle in out


def test_toml_config_and_flags_override(tmp_path):
    toml = tmp_path / "run.toml"
    toml.write_text('dataset = "gtzan"\nmodels = ["lr", "knn"]\nseeds = [0, 1, 2]\nprofile = "paper"\n')
    cfg, _ = parse(["--config", str(toml), "--seeds", "5"])
    assert (cfg.dataset, cfg.models, cfg.seeds, cfg.profile) == ("gtzan", ("lr", "knn"), (5,), "paper")
    toml.write_text('datset = "gtzan"\n')
    from features.errors import ConfigError

    with pytest.raises(ConfigError, match="datset"):
        parse(["--config", str(toml)])


def test_unwritable_results_folder(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code = main(["--dataset", "synthetic", "--models", "lr", "--out", str(blocker / "sub")])
    assert code == 2 and "cannot write" in capsys.readouterr().err


@pytest.fixture(autouse=True)
def _cleanup_cache(tmp_path):
    yield
    shutil.rmtree(tmp_path / "cache", ignore_errors=True)


def test_spectrogram_cache_larger_than_free_disk_is_refused(gtzan_fixture, tmp_path, monkeypatch, capsys):
    import shutil as _shutil
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(_shutil, "disk_usage", lambda p: usage(10**6, 10**6 - 1000, 1000))  # a nearly full disk
    code = main(["--dataset", "gtzan", "--data-dir", str(gtzan_fixture), "--models", "lr,small-cnn",
                 "--out", str(tmp_path / "r"), "--cache-dir", str(tmp_path / "cache")])
    err = capsys.readouterr().err
    assert code == 2 and "GiB" in err and "--cache-dir" in err
    assert not (tmp_path / "cache").exists()  # nothing was computed


def test_the_command_line_adds_the_analysis_and_the_gallery(gtzan_fixture, tmp_path, capsys):
    """A run from the command line gets analysis/ and gallery/ and their report sections; a RunConfig built in
    Python has neither unless it asks (the Python default is the lean run)."""
    args = ["--dataset", "gtzan", "--data-dir", str(gtzan_fixture), "--models", "lr,small-cnn", "--epochs", "2",
            "--out", str(tmp_path), "--n-jobs", "1", "--cache-dir", str(tmp_path / "cache")]
    assert main([*args, "--run-id", "cli"]) == 0
    run_dir = tmp_path / "gtzan" / "cli"
    cfg = json.loads((run_dir / "config.json").read_text())
    assert cfg["analysis"] is True and cfg["gallery"] == 8
    assert (run_dir / "analysis" / "class_counts.csv").is_file()
    assert (run_dir / "analysis" / "mel_profiles.npz").is_file()
    gallery = pd.read_csv(run_dir / "gallery" / "gallery.csv")
    assert set(gallery["model"]) == {"small-cnn"} and 0 < gallery["track_id"].nunique() <= 8
    page = (run_dir / "report.html").read_text()
    assert 'id="analysis"' in page and 'id="gallery"' in page
    assert main([*args, "--run-id", "lean", "--no-analysis", "--gallery", "0"]) == 0
    assert not (tmp_path / "gtzan" / "lean" / "analysis").exists()
    assert not (tmp_path / "gtzan" / "lean" / "gallery").exists()
    assert RunConfig().analysis is False and RunConfig().gallery == 0
