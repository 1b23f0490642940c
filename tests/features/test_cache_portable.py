"""A cache that travels: keys name no machine (a dataset folder moved or copied keeps its cache, through the
dataset loader and the runner), content keys survive copies that change times, and many writers plus an
interrupted merge never lose or corrupt a row."""

import json
import multiprocessing as mp
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import features
from benchmarks.config import RunConfig
from benchmarks.datasets.synthetic import Synthetic
from benchmarks.run import run
from features import cache as fcache
from features.errors import ConfigError
from tests.features.signals import mix, table

TINY = {"genres": "classical,metal,reggae,disco", "tracks_per_genre": 10, "artists_per_genre": 3, "duration": 1.0,
        "jobs": 1}


def extract(t, cache_dir, **kw):
    return features.extract(t, n_jobs=1, cache_dir=cache_dir, progress=False, **kw)


def test_keys_are_relative_to_the_root_and_name_no_machine(tmp_path):
    a = tmp_path / "a" / "genre" / "x.wav"
    a.parent.mkdir(parents=True)
    a.write_bytes(b"0123")
    b = tmp_path / "elsewhere" / "mount" / "genre" / "x.wav"
    b.parent.mkdir(parents=True)
    shutil.copy2(a, b)  # same bytes, same mtime
    assert fcache.relative_name(a, tmp_path / "a") == "genre/x.wav"
    assert fcache.file_key(a, root=tmp_path / "a") == fcache.file_key(b, root=tmp_path / "elsewhere" / "mount")
    # without a root the absolute path is part of the key (as for a table the toolkit knows no root of)
    assert fcache.file_key(a) != fcache.file_key(b)
    # a link to the root reaches the same relative names
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "a")
    assert fcache.file_key(link / "genre" / "x.wav", root=link) == fcache.file_key(a, root=tmp_path / "a")
    assert fcache.file_key(a.resolve(), root=link) == fcache.file_key(a, root=tmp_path / "a")
    # touching changes a stat key, not a content key; changing a byte changes both
    ck = fcache.file_key(a, mode="content")
    os.utime(b, ns=(1, 1))
    assert fcache.file_key(b, root=tmp_path / "elsewhere" / "mount") != fcache.file_key(a, root=tmp_path / "a")
    assert fcache.file_key(b, mode="content") == ck
    b.write_bytes(b"0124")
    assert fcache.file_key(b, mode="content") != ck
    with pytest.raises(ConfigError, match="cache_key="):
        fcache.file_key(a, mode="inode")


def test_a_moved_dataset_keeps_its_feature_and_mel_cache(tmp_path):
    """Through the dataset loader (which hands the root to the caches): move the folder, load it from its new
    place, and nothing is computed again."""
    Synthetic(tmp_path / "old", **TINY).load()
    cache = tmp_path / "cache"
    first = Synthetic(tmp_path / "old", **TINY).load().table
    f1 = extract(first, cache)
    m1 = features.spectrogram(first, n_jobs=1, cache_dir=cache, progress=False)
    assert f1.attrs["cache"]["computed"] == 40 and m1.cache["computed"] == 40
    shutil.move(tmp_path / "old", tmp_path / "new")  # a rename keeps the times
    moved = Synthetic(tmp_path / "new", **TINY).load().table
    assert moved.attrs["root"] == str(tmp_path / "new")
    f2 = extract(moved, cache)
    m2 = features.spectrogram(moved, n_jobs=1, cache_dir=cache, progress=False)
    assert f2.attrs["cache"] == {**f1.attrs["cache"], "hits": 40, "computed": 0}
    assert m2.cache["hits"] == 40 and m2.cache["computed"] == 0
    pd.testing.assert_frame_equal(f1, f2)
    for tid in first["track_id"]:
        np.testing.assert_array_equal(m1[tid], m2[tid])


def test_a_copy_with_new_times_hits_only_with_content_keys(tmp_path):
    t = table(tmp_path / "a", {f"t{i}": mix(1.0, seed=i) for i in range(3)})
    cache = tmp_path / "cache"
    stat1 = extract(t, cache, root=tmp_path / "a")
    cont1 = extract(t, cache, root=tmp_path / "a", cache_key="content")
    shutil.copytree(tmp_path / "a", tmp_path / "b", copy_function=shutil.copyfile)  # new mtimes
    t2 = t.assign(path=[str(tmp_path / "b" / Path(p).name) for p in t["path"]])
    stat2 = extract(t2, cache, root=tmp_path / "b")
    cont2 = extract(t2, cache, root=tmp_path / "b", cache_key="content")
    assert stat2.attrs["cache"]["computed"] == 3  # new times: a stat key cannot know the bytes are the same
    assert cont2.attrs["cache"]["hits"] == 3 and cont2.attrs["cache"]["computed"] == 0
    pd.testing.assert_frame_equal(stat1, cont1)
    pd.testing.assert_frame_equal(cont1, cont2)


def test_the_runner_after_moving_the_dataset_recomputes_nothing(tmp_path, caplog):
    """The features, the log-mel cache and the deep fit's checkpoint all follow the folder: the second run
    computes no feature or spectrogram and resumes the finished fit, and its metrics are the first run's."""
    opts = tuple((k, str(v)) for k, v in TINY.items())
    base = dict(dataset="synthetic", dataset_options=opts, models=("lr", "small-cnn"), epochs=1, n_jobs=1,
                out=str(tmp_path / "results"), cache_dir=str(tmp_path / "cache"))
    first = run(RunConfig(data_dir=str(tmp_path / "old"), run_id="a", **base))
    shutil.move(tmp_path / "old", tmp_path / "new")
    caplog.clear()
    with caplog.at_level("INFO"):
        second = run(RunConfig(data_dir=str(tmp_path / "new"), run_id="b", **base))
    log = caplog.text
    assert "40 tracks, 40 from cache, 0 to compute" in log  # features
    assert "spectrogram: 40 tracks, 40 from cache, 0 to compute" in log
    notes = " ".join(json.loads((second / "config.json").read_text())["notes"])
    assert "resumed from its checkpoint" in notes, notes
    assert (first / "metrics.csv").read_bytes() == (second / "metrics.csv").read_bytes()


def _write_many(args) -> None:
    folder, worker, n = args
    sd = fcache.ShardDir(Path(folder), {"kind": "features"})
    w = fcache.RowWriter(sd, every=1)
    for i in range(n):
        w.add(f"w{worker}-k{i}", np.full((1, 3), worker * 1000 + i, dtype=np.float64), f"/x/{worker}/{i}")
        if i % 5 == 4:
            fcache.compact(sd, max_shards=2)  # merges running beside other writers
    w.flush()


def test_many_writers_and_merges_at_once_lose_and_corrupt_nothing(tmp_path):
    folder = tmp_path / "shards"
    with mp.get_context("spawn").Pool(4) as pool:
        pool.map(_write_many, [(str(folder), w, 20) for w in range(4)])
    sd = fcache.ShardDir(folder)
    keys = {f"w{w}-k{i}" for w in range(4) for i in range(20)}
    rows = fcache.read_rows(sd, keys)
    assert set(rows) == keys
    for k, v in rows.items():
        w, i = int(k[1]), int(k.split("-k")[1])
        np.testing.assert_array_equal(v, np.full((1, 3), w * 1000 + i))


def test_an_interrupted_merge_is_detected_and_redone(tmp_path, monkeypatch):
    sd = fcache.ShardDir(tmp_path / "shards", {"kind": "features"})
    for i in range(6):
        sd.write([np.full((1, 2), i, dtype=np.float64)], {f"k{i}": (0, 1)}, {f"k{i}": f"/a/{i}"})
    real_remove = fcache.ShardDir.remove
    calls = []

    def dies_after_two(self, shard):
        if len(calls) == 2:
            raise KeyboardInterrupt("killed mid-merge")
        calls.append(shard)
        real_remove(self, shard)

    monkeypatch.setattr(fcache.ShardDir, "remove", dies_after_two)
    with pytest.raises(KeyboardInterrupt):
        fcache.compact(sd, max_shards=2)
    monkeypatch.setattr(fcache.ShardDir, "remove", real_remove)
    left = sd.shards()
    assert len(left) == 5  # the merged shard and 4 of the 6 it merged: duplicates, no gap
    rows = fcache.read_rows(sd, {f"k{i}" for i in range(6)})
    assert {k: float(v[0, 0]) for k, v in rows.items()} == {f"k{i}": float(i) for i in range(6)}
    fcache.compact(sd, max_shards=2)  # the next merge finishes the job
    assert len(sd.shards()) == 1
    rows = fcache.read_rows(sd, {f"k{i}" for i in range(6)})
    assert {k: float(v[0, 0]) for k, v in rows.items()} == {f"k{i}": float(i) for i in range(6)}
