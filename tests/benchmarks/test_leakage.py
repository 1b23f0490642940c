"""No held-out track reaches any fitted step, on every dataset's default split.

Every `fit` of the scaler, every sampler, every threshold tuning and every deep training call is
instrumented (wrapped, then the real method runs) and compared with the run's own split.
"""

import json
import zlib

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from sklearn.preprocessing import StandardScaler

import benchmarks.experiment as experiment
from benchmarks.config import RunConfig
from benchmarks.datasets import get_dataset
from benchmarks.datasets.gtzan import GENRES, split_list
from benchmarks.run import run
from resampling.multilabel import MLROS
from tests.benchmarks.fixtures_tagging import build_fma, build_jamendo, build_mtat


def gtzan(root):
    for s in ("train", "valid", "test"):
        for rel in [r for r in split_list(s) if int(r.split(".")[1]) % 10 < 3][:40]:
            rng = np.random.default_rng(zlib.crc32(rel.encode()))
            g = GENRES.index(rel.split("/")[0])
            t = np.arange(22050) / 22050
            (root / "genres" / rel).parent.mkdir(parents=True, exist_ok=True)
            sf.write(root / "genres" / rel, (0.3 * np.sin(2 * np.pi * 100 * (g + 1) * t)
                                             + 0.05 * rng.standard_normal(len(t))).astype(np.float32), 22050)


def folder(root, sizes=(20, 20, 20)):
    for c, size in enumerate(sizes):
        for i in range(size):
            p = root / f"k{c}" / f"{i}.wav"
            p.parent.mkdir(parents=True, exist_ok=True)
            sf.write(p, np.random.default_rng(c * 50 + i).standard_normal(22050).astype(np.float32) * (c + 1) / 10,
                     22050)


CASES = {
    "gtzan": (gtzan, (), "ros"),
    "folder": (folder, (), "smote"),
    "mtat": (build_mtat, (("min_duration", "0.5"),), "ml-ros"),
    "jamendo": (build_jamendo, (), "ml-ros"),
    "fma": (build_fma, (("task", "genres"),), "ml-ros"),
}


@pytest.mark.parametrize("dataset", list(CASES))
def test_fitted_steps_see_training_tracks_only(dataset, tmp_path, monkeypatch):
    build, options, strategy = CASES[dataset]
    root = tmp_path / dataset
    root.mkdir()
    build(root)
    seen = {"scaler": [], "sampler": [], "thresholds": []}
    orig_scaler, orig_tune, orig_mlros = StandardScaler.fit, experiment.M.tune_thresholds, MLROS.fit_resample

    def scaler_fit(self, X, y=None, **kw):
        seen["scaler"].append(len(X))
        return orig_scaler(self, X, y, **kw)

    def tune(Y, P, **kw):
        seen["thresholds"].append(len(Y))
        return orig_tune(Y, P, **kw)

    def mlros(self, X, y):
        seen["sampler"].append(len(X))
        return orig_mlros(self, X, y)

    monkeypatch.setattr(StandardScaler, "fit", scaler_fit)
    monkeypatch.setattr(experiment.M, "tune_thresholds", tune)
    monkeypatch.setattr(MLROS, "fit_resample", mlros)
    cfg = RunConfig(dataset=dataset, data_dir=str(root), dataset_options=options, models=("lr",),
                    strategies=("none", strategy), out=str(tmp_path / "out"), run_id="r", n_jobs=1,
                    cache_dir=str(tmp_path / "cache"))
    run_dir = run(cfg)
    conf = json.loads((run_dir / "config.json").read_text())
    n = conf["n_tracks"]
    # The split itself: no group in two splits (the loader checks it on load; checked again here).
    table = get_dataset(dataset, root, **dict(options)).load().table
    assert table.groupby("group")["split"].nunique().max() == 1
    # One scaler fit per strategy, on exactly the training tracks.
    assert seen["scaler"] == [n["train"]] * 2
    if strategy == "ml-ros":
        assert seen["sampler"] == [n["train"]]
    if conf["task"] == "multi":
        assert seen["thresholds"] and set(seen["thresholds"]) == {n["valid"]}
    pred = pd.read_csv(run_dir / "predictions.csv")
    assert set(pred["split"]) <= {"valid", "test"}
    assert len(set(pred["track_id"])) == n["valid"] + n["test"]


def test_deep_resampled_copies_stay_in_training(tmp_path, monkeypatch):
    """Random over-sampling for a CNN repeats training tracks only; the copies never reach validation."""
    import deep.train as train

    root = tmp_path / "music"
    folder(root, sizes=(40, 20, 10))
    calls = []
    orig_fit = train.fit

    def spy(model, train_ds, valid_ds, *, sampler=None, **kw):
        calls.append((list(train_ds.track_ids), list(valid_ds.track_ids), list(sampler) if sampler else None))
        return orig_fit(model, train_ds, valid_ds, sampler=sampler, **kw)

    monkeypatch.setattr(train, "fit", spy)
    cfg = RunConfig(dataset="folder", data_dir=str(root), models=("small-cnn",), strategies=("ros",), epochs=1,
                    out=str(tmp_path / "out"), run_id="r", n_jobs=1, cache_dir=str(tmp_path / "cache"))
    run(cfg)
    (train_ids, valid_ids, order), = calls
    assert not set(train_ids) & set(valid_ids)
    assert order is not None and max(order) < len(train_ids) and len(order) > len(train_ids)  # copies, in train
