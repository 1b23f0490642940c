"""No held-out track reaches any fitted step, on every dataset's default split.

Every `fit` of the scaler, every sampler, every threshold tuning and every deep training call is
instrumented (wrapped, then the real method runs). What each one saw is compared by identity, never by
count: feature rows are mapped back to the track they belong to (the one row of the run's feature matrix they
equal; scaled rows through the scaler fitted before them), tuning rows to the track whose predictions they
are, and the resulting track ids must equal the ids of the training (or validation) split the dataset gives.
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
from benchmarks.splits import SPLITS
from resampling import SAMPLERS
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


def identify(X, ref: np.ndarray, ids: pd.Index, tol: float) -> list[str]:
    """The track of each row of `X`: the one row of `ref` (rows named by `ids`) it equals, to `tol`."""
    X = np.asarray(X, dtype=np.float64)
    assert X.ndim == 2 and X.shape[1] == ref.shape[1], (X.shape, ref.shape)
    dist = np.abs(X[:, None, :] - ref[None, :, :]).max(axis=-1)  # (rows of X, rows of ref)
    hits = dist <= tol
    assert (hits.sum(axis=1) == 1).all(), "a row that matches no track, or several"
    return list(ids[hits.argmax(axis=1)])


def prob_owner(P, pred: pd.DataFrame, pcols: list[str]) -> list[str]:
    """The track of each probability row of `P`: predictions.csv's rows equal to it (printed to 10 digits)."""
    ref = pred[pcols].to_numpy(dtype=np.float64)
    owners = []
    for p in np.asarray(P, dtype=np.float64):
        tids = set(pred["track_id"][np.abs(ref - p).max(axis=1) <= 1e-9])
        assert len(tids) == 1, ("a tuning row that matches no prediction, or several tracks'", tids)
        owners.append(tids.pop())
    return owners


@pytest.mark.parametrize("dataset", list(CASES))
def test_fitted_steps_see_training_tracks_only(dataset, tmp_path, monkeypatch):
    import benchmarks.families.classical as classical

    build, options, strategy = CASES[dataset]
    root = tmp_path / dataset
    root.mkdir()
    build(root)
    sampler_cls = type(SAMPLERS[strategy](random_state=0))
    seen = {"feats": [], "scaler": [], "sampler": [], "thresholds": []}
    orig_build, orig_scaler, orig_tune = classical.build_inputs, StandardScaler.fit, experiment.M.tune_thresholds
    orig_sampler = sampler_cls.fit_resample

    def build_inputs(*a, **kw):
        feats, skipped = orig_build(*a, **kw)
        seen["feats"].append(feats)
        return feats, skipped

    def scaler_fit(self, X, y=None, **kw):
        out = orig_scaler(self, X, y, **kw)
        seen["scaler"].append((np.array(X, dtype=np.float64), self))
        return out

    def tune(Y, P, **kw):
        seen["thresholds"].append((np.array(Y), np.array(P)))
        return orig_tune(Y, P, **kw)

    def sampler(self, X, y):
        # the rows a sampler gets are scaled by the scaler fitted just before it, in the same pipeline
        seen["sampler"].append((np.array(X, dtype=np.float64), seen["scaler"][-1][1]))
        return orig_sampler(self, X, y)

    monkeypatch.setattr(classical, "build_inputs", build_inputs)
    monkeypatch.setattr(StandardScaler, "fit", scaler_fit)
    monkeypatch.setattr(experiment.M, "tune_thresholds", tune)
    monkeypatch.setattr(sampler_cls, "fit_resample", sampler)
    cfg = RunConfig(dataset=dataset, data_dir=str(root), dataset_options=options, models=("lr",),
                    strategies=("none", strategy), out=str(tmp_path / "out"), run_id="r", n_jobs=1,
                    cache_dir=str(tmp_path / "cache"), analysis=True)  # the dataset analysis fits models too
    run_dir = run(cfg)
    conf = json.loads((run_dir / "config.json").read_text())
    # The split itself: no group in two splits (the loader checks it on load; checked again here).
    ds = get_dataset(dataset, root, **dict(options)).load()
    table = ds.table
    assert table.groupby("group")["split"].nunique().max() == 1
    # Every track with features, by the split its dataset gives it: these are the identities to compare with.
    (feats,) = seen["feats"]
    assert feats.index.is_unique
    ids = {s: sorted(set(table.loc[table["split"] == s, "track_id"]) & set(feats.index)) for s in SPLITS}
    assert all(ids.values()) and conf["n_tracks"] == {s: len(v) for s, v in ids.items()}
    raw = feats.to_numpy(dtype=np.float64)
    # One scaler fit per strategy, then the dataset analysis's two (lr refit for its feature importances, and
    # the standardization of its embedding plots): every one on exactly the training tracks, each once.
    assert len(seen["scaler"]) == 2 + 2
    for X, _ in seen["scaler"]:
        assert sorted(identify(X, raw, feats.index, tol=0.0)) == ids["train"]
    # The sampler resamples the training tracks, each once, and nothing else.
    assert len(seen["sampler"]) == 1
    for X, scaler in seen["sampler"]:
        assert sorted(identify(X, scaler.transform(raw), feats.index, tol=1e-9)) == ids["train"]
    pred = pd.read_csv(run_dir / "predictions.csv", dtype={"track_id": str})
    if conf["task"] == "multi":
        # Thresholds are tuned on the validation tracks' predictions and labels, each track once.
        pcols = [f"p:{c}" for c in ds.classes]
        labels = table.set_index("track_id")["labels"]
        assert len(seen["thresholds"]) == 2
        for Y, P in seen["thresholds"]:
            owners = prob_owner(P, pred, pcols)
            assert sorted(owners) == ids["valid"]
            expected = np.array([[c in labels[t] for c in ds.classes] for t in owners], dtype=Y.dtype)
            np.testing.assert_array_equal(Y, expected)
    else:
        assert not seen["thresholds"]
    # Only validation and test tracks are predicted, each under its own split.
    assert set(pred["split"]) <= {"valid", "test"}
    for s in ("valid", "test"):
        assert sorted(set(pred.loc[pred["split"] == s, "track_id"])) == ids[s], s


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
    table = get_dataset("folder", root).load().table
    assert sorted(train_ids) == sorted(table.loc[table["split"] == "train", "track_id"])
    assert sorted(valid_ids) == sorted(table.loc[table["split"] == "valid", "track_id"])
    # The resampled order holds positions in the training list only: every training track, plus copies of
    # training tracks until each class has as many as the largest (random over-sampling to the majority).
    assert order is not None and set(order) == set(range(len(train_ids)))
    drawn = pd.Series([train_ids[i] for i in order])
    assert set(drawn) == set(train_ids) and not set(drawn) & set(valid_ids)
    per_class = drawn.map(table.set_index("track_id")["label"]).value_counts()
    majority = table[table["split"] == "train"]["label"].value_counts().max()
    assert len(per_class) == 3 and (per_class == majority).all(), per_class
