"""MTG-Jamendo loader on a fixture in the real layout: data/*.tsv, data/splits/split-N/, audio in 00..99."""

import logging
import shutil
from pathlib import Path

import pytest

from benchmarks.datasets import get_dataset
from benchmarks.datasets.jamendo import Jamendo
from features.errors import ConfigError, DatasetError
from tests.benchmarks.fixtures_tagging import JAMENDO_PREFIX, JamendoTrack, build_jamendo, jamendo_tracks

PART = {"train": "train", "validation": "valid", "test": "test"}


@pytest.fixture(scope="module")
def jamendo(tmp_path_factory):
    root = tmp_path_factory.mktemp("jamendo")
    return root, build_jamendo(root)


@pytest.fixture(scope="module")
def jamendo_low(tmp_path_factory):
    root = tmp_path_factory.mktemp("jamendo_low")
    return root, build_jamendo(root, quality="low")


def expected(tracks, subset, k):
    """track_id -> (labels, split, group) of the tracks with audio that the subset's split-k lists."""
    return {
        t.track_id: (tuple(sorted(t.subset_tags(subset))), PART[t.parts[k]], f"artist_{t.artist:06d}")
        for t in tracks
        if t.subset_tags(subset) and t.audio == "ok"
    }


def as_dict(table):
    return {r.track_id: (r.labels, r.split, r.group) for r in table.itertuples()}


@pytest.mark.parametrize("k", [0, 1])
def test_top50tags_official_split(jamendo, k):
    root, tracks = jamendo
    ds = get_dataset("jamendo", root).load(split=f"split-{k}")
    want = expected(tracks, "top50tags", k)
    assert as_dict(ds.table) == want
    assert ds.task == "multi" and ds.split_name == f"split-{k}"
    assert ds.classes == sorted({tag for labels, _, _ in want.values() for tag in labels})
    counts = ds.table["split"].value_counts().to_dict()
    assert counts == {s: sum(v[1] == s for v in want.values()) for s in ("train", "valid", "test")}
    for r in ds.table.itertuples():
        number = int(r.track_id.split("_")[1])
        assert r.path == str(root / "audio" / f"{number % 100:02d}" / f"{number}.mp3")


def test_split_indices_differ(jamendo):
    root, _ = jamendo
    s0 = get_dataset("jamendo", root).load(split="split-0").table.set_index("track_id")["split"]
    s1 = get_dataset("jamendo", root).load(split="split-1").table.set_index("track_id")["split"]
    assert (s0 != s1.loc[s0.index]).any()


@pytest.mark.parametrize("subset", ["moodtheme", "genre", "instrument", "all"])
def test_subsets(jamendo, subset):
    root, tracks = jamendo
    ds = get_dataset("jamendo", root, subset=subset).load()
    want = expected(tracks, subset, 0)
    assert as_dict(ds.table) == want
    category = {"moodtheme": "mood/theme", "genre": "genre", "instrument": "instrument"}.get(subset)
    if category:
        assert all(c.split("---")[0] == category for c in ds.classes)
    else:
        assert {c.split("---")[0] for c in ds.classes} == {"genre", "instrument", "mood/theme"}
    assert ds.table["duration"].dtype.kind == "f" and "album" in ds.table


def test_crlf_files_leave_no_carriage_return(jamendo):
    root, _ = jamendo
    raw = (root / "data" / "splits" / "split-0" / "autotagging_moodtheme-train.tsv").read_bytes()
    assert b"\r\n" in raw  # the fixture reproduces the Windows line endings
    ds = get_dataset("jamendo", root, subset="moodtheme").load()
    cells = [
        *ds.classes,
        *ds.table["path"],
        *ds.table["group"],
        *(t for ls in ds.table["labels"] for t in ls),
    ]
    assert not any("\r" in c for c in cells)
    assert "mood/theme---sad" in ds.classes


def test_missing_audio_is_skipped_with_reason(jamendo):
    root, tracks = jamendo
    ds = get_dataset("jamendo", root, subset="genre").load()
    missing = [t for t in tracks if t.audio == "missing"]
    assert [Path(p).name for p in ds.skipped["path"]] == [f"{t.number}.mp3" for t in missing]
    assert ds.skipped["reason"].str.startswith("missing").all()
    assert missing[0].track_id not in set(ds.table["track_id"])
    # Its genre is still a class: other tracks on disk carry it.
    assert "genre---electronic" in ds.classes


def test_low_quality_audio(jamendo, jamendo_low, caplog):
    root_low, tracks = jamendo_low
    with caplog.at_level(logging.INFO):
        ds = get_dataset("jamendo", root_low).load()
    assert "low-quality audio" in caplog.text
    assert len(ds.table) == len(expected(tracks, "top50tags", 0))
    assert ds.table["path"].str.endswith(".low.mp3").all() and all(
        Path(p).is_file() for p in ds.table["path"]
    )
    explicit = get_dataset("jamendo", root_low, quality="low").load()
    assert list(explicit.table["path"]) == list(ds.table["path"])
    # Asking for the variant that is not there reports every file as missing.
    with pytest.raises(DatasetError, match="holds no usable track"):
        get_dataset("jamendo", root_low, quality="full").load()
    root, _ = jamendo
    full = get_dataset("jamendo", root).load()
    assert not full.table["path"].str.endswith(".low.mp3").any()


def test_missing_metadata(jamendo, tmp_path):
    with pytest.raises(DatasetError, match=r"JAMENDO_DIR[\s\S]*Expected layout"):
        get_dataset("jamendo", tmp_path / "nowhere").load()
    (tmp_path / "audio" / "00").mkdir(parents=True)
    with pytest.raises(DatasetError, match=r"data/splits/[\s\S]*autotagging_<subset>"):
        get_dataset("jamendo", tmp_path).load()
    root, _ = jamendo
    shutil.copytree(root / "data", tmp_path / "data")
    (tmp_path / "data" / "splits" / "split-0" / "autotagging_genre-test.tsv").unlink()
    with pytest.raises(
        DatasetError, match=r"lacks the split file data/splits/split-0/autotagging_genre-test\.tsv"
    ):
        get_dataset("jamendo", tmp_path, subset="genre").load()
    shutil.rmtree(tmp_path / "audio")
    with pytest.raises(DatasetError, match="no audio folders 00..99"):
        get_dataset("jamendo", tmp_path, subset="instrument").load(split="split-1")


def test_trailing_tabs_untagged_rows_and_duplicates(jamendo, tmp_path):
    root, _ = jamendo
    shutil.copytree(root / "data", tmp_path / "data")
    train = tmp_path / "data" / "splits" / "split-0" / "autotagging_top50tags-train.tsv"
    lines = train.read_text().rstrip("\n").split("\n")
    # A trailing tab after the tags, and a row without any tag column.
    lines[1] += "\t"
    lines.append("track_0000777\tartist_000777\talbum_000777\t77/777.mp3\t100.0")
    train.write_text("\n".join(lines) + "\n")
    ds = get_dataset("jamendo", tmp_path, audio_dir=root / "audio").load()
    first = lines[1].split("\t")[0]
    assert first in set(ds.table["track_id"]) and not any(t == "" for ls in ds.table["labels"] for t in ls)
    row = ds.skipped[ds.skipped["path"].str.endswith("777.mp3")]
    assert list(row["reason"]) == ["no tag in the top50tags split files"]
    test_file = train.with_name("autotagging_top50tags-test.tsv")
    test_file.write_text(test_file.read_text() + lines[1] + "\n")
    with pytest.raises(DatasetError, match=f"{first} is listed in autotagging_top50tags-"):
        get_dataset("jamendo", tmp_path, audio_dir=root / "audio").load()


@pytest.mark.parametrize(
    "line, message",
    [
        ("TRACK_ID\tARTIST\tALBUM_ID\tPATH\tDURATION\tTAGS", "expected the tab-separated columns"),
        ("0000214\tartist_000014\talbum_000031\t14/214.mp3\t124.6\tgenre---rock", "TRACK_ID '0000214'"),
        (
            "track_0000214\tartist_000014\talbum_000031\t14/214.mp3\t124.6\trock",
            "tag 'rock'; expected 'category---tag'",
        ),
        ("track_0000214\tartist_000014\talbum_000031\t14/214.mp3\tlong\tgenre---rock", "DURATION 'long'"),
    ],
)
def test_malformed_rows(jamendo, tmp_path, line, message):
    root, _ = jamendo
    shutil.copytree(root / "data", tmp_path / "data")
    f = tmp_path / "data" / "splits" / "split-0" / "autotagging_top50tags-validation.tsv"
    lines = f.read_text().rstrip("\n").split("\n")
    lines[0 if line.startswith("TRACK_ID") else 1] = line
    f.write_text("\n".join(lines) + "\n")
    with pytest.raises(DatasetError, match=message):
        get_dataset("jamendo", tmp_path, audio_dir=root / "audio").load()


def test_options_and_split_names(jamendo):
    root, _ = jamendo
    assert Jamendo.split_names == tuple(f"split-{k}" for k in range(5)) and set(JAMENDO_PREFIX) == {
        "all", "top50tags", "moodtheme", "genre", "instrument",
    }  # fmt: skip
    with pytest.raises(ConfigError, match="subset='mood' must be one of"):
        Jamendo(root, subset="mood")
    with pytest.raises(ConfigError, match="quality='high'"):
        Jamendo(root, quality="high")
    with pytest.raises(ConfigError, match=r"unknown option\(s\) \['split_index'\]"):
        Jamendo(root, split_index=2)
    with pytest.raises(ConfigError, match="split='split-5' is not a split of jamendo"):
        Jamendo(root).load(split="split-5")


def test_an_artist_in_two_parts_is_counted_reported_and_grouped_per_part(tmp_path):
    tracks = jamendo_tracks()
    # Artist 14's other tracks are in train (split-0) and test (split-1); this one is in test in both.
    tracks.append(JamendoTrack(216, 14, 32, ("genre---rock", "genre---punkrock"), ("test", "test")))
    build_jamendo(tmp_path, tracks)
    ds = get_dataset("jamendo", tmp_path).load(split="split-0")
    leak = ds.group_leak
    assert leak["key"] == "artist" and (leak["test_groups_shared"], leak["test_tracks_shared"]) == (1, 1)
    assert (leak["valid_groups_shared"], leak["valid_tracks_shared"]) == (0, 0)
    assert leak["test_tracks"] == int((ds.table["split"] == "test").sum())
    (note,) = [n for n in ds.notes if "not artist-disjoint" in n]
    assert f"1 artist, 1 of {leak['test_tracks']} tracks of the test split share an artist with training" in note
    table = ds.table.set_index("track_id")
    assert table.loc["track_0000216", "group"] == "artist_000014@test"
    assert table.loc["track_0000214", "group"] == "artist_000014@train"
    assert (table["artist"].str.split("@").str[0] == table["artist"]).all()
    assert table.groupby("group")["split"].nunique().max() == 1
    # In split-1 the artist lies in one part: measured, nothing to report.
    clean = get_dataset("jamendo", tmp_path).load(split="split-1")
    assert clean.group_leak["test_tracks_shared"] == clean.group_leak["valid_tracks_shared"] == 0
    assert not [n for n in clean.notes if "not artist-disjoint" in n]


def test_a_copy_with_one_subset_uses_it(jamendo, tmp_path):
    """A copy holding only the moodtheme split files loads without --dataset-option subset=..., with a note."""
    root, tracks = jamendo
    copy = tmp_path / "moodtheme-only"
    shutil.copytree(root, copy, symlinks=True)
    for f in (copy / "data" / "splits").rglob("*.tsv"):
        if "moodtheme" not in f.name:
            f.unlink()
    ds = get_dataset("jamendo", copy).load()
    want = expected(tracks, "moodtheme", 0)
    assert {r.track_id: r.labels for r in ds.table.itertuples()} == {t: v[0] for t, v in want.items()}
    assert any("subset moodtheme used" in n for n in ds.notes)
    with pytest.raises(DatasetError, match="lacks the split file"):  # asked for explicitly: not substituted
        get_dataset("jamendo", copy, subset="genre").load()
