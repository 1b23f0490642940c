"""GTZAN and folder loaders on fixtures written in the real on-disk layouts, and the split helpers."""

import logging

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from benchmarks.datasets import DATASETS, get_dataset
from benchmarks.datasets.gtzan import GENRES, split_list
from benchmarks.splits import check_groups_disjoint, group_kfold, group_split
from features.errors import ConfigError, DatasetError

SR = 8000


def write_clip(path, seed, seconds=0.05):
    path.parent.mkdir(parents=True, exist_ok=True)
    x = np.random.default_rng(seed).standard_normal(int(SR * seconds)).astype(np.float32) * 0.1
    sf.write(path, x, SR)


@pytest.fixture(scope="module")
def gtzan_root(tmp_path_factory):
    """All 1000 GTZAN file names in the Kaggle layout (genres_original/), tiny clips."""
    root = tmp_path_factory.mktemp("gtzan")
    for gi, g in enumerate(GENRES):
        for i in range(100):
            write_clip(root / "genres_original" / g / f"{g}.{i:05d}.wav", gi * 100 + i)
    # As in the common copies, jazz.00054 is unreadable.
    (root / "genres_original" / "jazz" / "jazz.00054.wav").write_bytes(b"\x00" * 10)
    return root


def test_fault_filtered_counts_hold(gtzan_root, caplog):
    with caplog.at_level(logging.WARNING):
        ds = get_dataset("gtzan", gtzan_root).load()
    counts = ds.table["split"].value_counts().to_dict()
    # 443 / 197 / 290 listed; jazz.00054 is in the training list and skipped by name.
    assert counts == {"train": 442, "valid": 197, "test": 290}
    assert list(ds.skipped["path"].str.rsplit("/", n=1).str[-1]) == ["jazz.00054.wav"]
    assert "known bad" in ds.skipped["reason"].iloc[0]
    assert "jazz.00054" in caplog.text
    assert ds.classes == GENRES and ds.task == "single"
    assert set(ds.table["track_id"]).isdisjoint({"jazz.00054"})
    # Each track's split is the one of its list.
    for s in ("train", "valid", "test"):
        listed = {p.split("/")[1][:-4] for p in split_list(s)} - {"jazz.00054"}
        assert set(ds.split(s)["track_id"]) == listed


def test_lists_are_disjoint_and_sized():
    lists = {s: set(split_list(s)) for s in ("train", "valid", "test")}
    assert [len(lists[s]) for s in ("train", "valid", "test")] == [443, 197, 290]
    assert not (lists["train"] & lists["valid"] or lists["train"] & lists["test"] or lists["valid"] & lists["test"])


@pytest.mark.parametrize("layout", ["genres", "."])
def test_other_gtzan_layouts(tmp_path, layout):
    base = tmp_path / layout
    for g in GENRES:
        for i in range(10):
            write_clip(base / g / f"{g}.{i:05d}.wav", i)
    ds = get_dataset("gtzan", tmp_path).load(split="random", seed=1)
    assert len(ds.table) == 100
    assert ds.table["path"].map(lambda p: p.startswith(str(base.resolve()))).all()
    # The same seed in every genre folder wrote byte-identical files: they are named, not hidden.
    assert any("100 audio files are byte-identical copies" in n and "10 set(s)" in n for n in ds.notes)
    # The split is not a dataset option (it used to be silently ignored).
    with pytest.raises(ConfigError, match=r"unknown option\(s\) \['split'\].*--split"):
        get_dataset("gtzan", tmp_path, split="random")


def test_missing_listed_files_are_reported_not_dropped(tmp_path):
    for g in GENRES:
        write_clip(tmp_path / "genres" / g / f"{g}.00000.wav", 0)
    ds = get_dataset("gtzan", tmp_path).load()
    # 930 listed, at most 10 present; every other one appears in skipped with a reason.
    assert len(ds.table) + len(ds.skipped) == 930
    assert ds.skipped["reason"].str.contains("missing|known bad").all()


def test_random_split_is_stratified_seeded_and_kfold(gtzan_root):
    a = get_dataset("gtzan", gtzan_root).load(split="random", seed=0).table
    b = get_dataset("gtzan", gtzan_root).load(split="random", seed=0).table
    c = get_dataset("gtzan", gtzan_root).load(split="random", seed=1).table
    assert a["split"].tolist() == b["split"].tolist()
    assert a["split"].tolist() != c["split"].tolist()
    per = pd.crosstab(a["label"], a["split"])
    # 99 or 100 tracks per genre (jazz.00054 skipped): 80/10/10 within one track.
    assert per["test"].between(9, 11).all() and per["valid"].between(9, 11).all()
    k = get_dataset("gtzan", gtzan_root, folds=5).load(split="random", seed=0).table
    assert sorted(k["split"].unique()) == [0, 1, 2, 3, 4]
    with pytest.raises(ConfigError):
        get_dataset("gtzan", gtzan_root).load(split="nope")


def test_missing_dataset_message_says_where_and_what(tmp_path, monkeypatch):
    monkeypatch.delenv("GTZAN_DIR", raising=False)
    with pytest.raises(DatasetError) as e:
        get_dataset("gtzan", tmp_path / "absent").load()
    msg = str(e.value)
    for needle in ("absent", "GTZAN_DIR", "./data/gtzan", "genres_original", "marsyas", "--dataset synthetic"):
        assert needle in msg
    monkeypatch.setenv("GTZAN_DIR", str(tmp_path / "from-env"))
    with pytest.raises(DatasetError, match="from-env"):
        get_dataset("gtzan").load()


def test_registry_rejects_unknown_names():
    with pytest.raises(ConfigError, match="gtzan"):
        get_dataset("gtzn")
    assert {"gtzan", "folder", "synthetic", "synthetic-tags", "mtat", "jamendo", "fma"} <= set(DATASETS)


def make_folder(root, n_classes=3, per_class=12, per_group=2, exts=("wav", "flac", "ogg")):
    rows = []
    for c in range(n_classes):
        for i in range(per_class):
            ext = exts[i % len(exts)]
            rel = f"class{c}/sub/t{i:02d}.{ext}"
            p = root / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            x = np.random.default_rng(c * 100 + i).standard_normal(SR // 10).astype(np.float32) * 0.1
            sf.write(p, x, SR, format={"wav": "WAV", "flac": "FLAC", "ogg": "OGG"}[ext])
            rows.append({"path": rel, "group": f"src{c}-{i // per_group}"})
    return pd.DataFrame(rows)


def test_folder_group_aware_split(tmp_path):
    groups = make_folder(tmp_path, n_classes=3, per_class=40, per_group=2)
    groups.to_csv(tmp_path / "groups.csv", index=False)
    (tmp_path / "README.txt").write_text("not audio")
    ds = get_dataset("folder", tmp_path).load(seed=3)
    t = ds.table
    assert len(t) == 120 and ds.classes == ["class0", "class1", "class2"]
    assert t.groupby("group")["split"].nunique().max() == 1
    assert set(t["split"]) == {"train", "valid", "test"}
    assert t.loc[t["track_id"] == "class1/sub/t05", "group"].item() == "src1-2"
    check_groups_disjoint(t)


def test_folder_pinned_split(tmp_path):
    groups = make_folder(tmp_path, per_class=4)
    pinned = groups[["path"]].assign(split=["train", "train", "valid", "test"] * 3)
    pinned.iloc[:-1].to_csv(tmp_path / "split.csv", index=False)
    ds = get_dataset("folder", tmp_path).load()
    assert ds.split_name == "pinned"
    assert dict(zip(ds.table["track_id"], ds.table["split"], strict=True))["class0/sub/t02"] == "valid"
    # The one file missing from split.csv is reported, not silently dropped.
    assert len(ds.table) == 11 and ds.skipped["reason"].str.contains("split.csv").all()


def test_folder_directory_named_like_audio_is_reported(tmp_path):
    make_folder(tmp_path, n_classes=2, per_class=10, per_group=1)
    (tmp_path / "class0" / "weird.wav").mkdir()
    ds = get_dataset("folder", tmp_path).load()
    assert ds.skipped["path"].str.endswith("weird.wav").any()


def test_group_split_never_shares_groups_and_needs_enough_groups():
    rng = np.random.default_rng(0)
    t = pd.DataFrame({"label": rng.choice(list("abc"), 300), "group": rng.integers(0, 60, 300).astype(str)})
    s = group_split(t, seed=0)
    t["split"] = s
    check_groups_disjoint(t)
    assert 0.05 < (s == "test").mean() < 0.2
    k = group_kfold(t, 3, seed=0)
    assert set(k) == {0, 1, 2}
    t["split"] = k
    check_groups_disjoint(t)
    g = t["group"].value_counts().index[0]  # a group with several tracks
    first = t.index[t["group"] == g][0]
    t.loc[first, "split"] = (t.loc[first, "split"] + 1) % 3
    with pytest.raises(DatasetError, match="span several splits"):
        check_groups_disjoint(t)
    few = pd.DataFrame({"label": list("ab") * 4, "group": ["g1", "g2"] * 4})
    with pytest.raises(DatasetError, match="distinct groups"):
        group_split(few, seed=0)


def test_multilabel_stratification_uses_rarest_tag():
    from benchmarks.splits import stratification_labels

    t = pd.DataFrame({"labels": [("a", "b"), ("a",), ("a", "c"), ()]})
    assert stratification_labels(t).tolist() == ["b", "a", "c", ""]


def test_mirbench_data_is_the_root_of_every_dataset_after_its_own_variable(tmp_path, monkeypatch):
    monkeypatch.delenv("GTZAN_DIR", raising=False)
    monkeypatch.setenv("MIRBENCH_DATA", str(tmp_path / "all"))
    root, how = get_dataset("gtzan").candidate_root()
    assert root == tmp_path / "all" / "gtzan" and how == "$MIRBENCH_DATA/gtzan"
    with pytest.raises(DatasetError, match=r"\$MIRBENCH_DATA/gtzan"):
        get_dataset("gtzan").load()
    monkeypatch.setenv("GTZAN_DIR", str(tmp_path / "own"))  # the dataset's own variable comes first
    assert get_dataset("gtzan").candidate_root()[0] == tmp_path / "own"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MIRBENCH_DATA", "rel")  # printed and used as an absolute path
    monkeypatch.delenv("GTZAN_DIR")
    assert get_dataset("gtzan").candidate_root()[0] == tmp_path / "rel" / "gtzan"
