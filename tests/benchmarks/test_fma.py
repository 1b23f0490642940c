"""FMA loader on a fixture in the real layout: fma_metadata/tracks.csv (two header rows) and genres.csv,
audio in fma_<subset>/NNN/NNNNNN.mp3."""

import logging
from pathlib import Path

import pytest

from benchmarks.datasets import get_dataset
from benchmarks.datasets.fma import DEFAULT_EXCLUDED, FMA, KNOWN_BAD, TOP_LEVEL_GENRES
from features.errors import ConfigError, DatasetError
from tests.benchmarks.fixtures_tagging import FMA_GENRES, FMATrack, build_fma, fma_top_level, fma_tracks

RANK = {"small": 0, "medium": 1, "large": 2}
SPLIT = {"training": "train", "validation": "valid", "test": "test"}


@pytest.fixture(scope="module")
def fma(tmp_path_factory):
    root = tmp_path_factory.mktemp("fma")
    return root, build_fma(root)


def in_subset(tracks, subset):
    return [t for t in tracks if RANK[t.subset] <= RANK[subset]]


def usable(t):
    return t.audio == "ok" and t.tid not in KNOWN_BAD


def top_levels(t, excluded):
    """The track's top-level genre titles, computed from the fixture's own genre tree."""
    return tuple(sorted({FMA_GENRES[fma_top_level(g)][1] for g in t.genres_all} - set(excluded)))


def test_fixture_is_the_real_tracks_csv_layout(fma):
    root, _ = fma
    head = (root / "fma_metadata" / "tracks.csv").read_text().split("\n")[:3]
    assert head[0].startswith(",album,album,") and head[1].startswith(",comments,date_created,")
    assert head[2] == "track_id" + "," * 52
    assert len(head[0].split(",")) == 53 and ",set,set,track," in head[0]
    assert (
        (root / "fma_metadata" / "genres.csv")
        .read_text()
        .startswith("genre_id,#tracks,parent,title,top_level\n")
    )


@pytest.mark.parametrize("subset", ["small", "medium"])
def test_genre_top(fma, subset):
    root, tracks = fma
    ds = get_dataset("fma", root, subset=subset).load()
    want = {t.tid: t for t in in_subset(tracks, subset) if t.genre_top and usable(t)}
    table = ds.table.set_index("track_id")
    assert set(table.index) == set(want) and ds.task == "single"
    for tid, t in want.items():
        assert table.loc[tid, "label"] == t.genre_top
        assert table.loc[tid, "split"] == SPLIT[t.split]
        assert table.loc[tid, "group"] == f"artist_{t.artist}"
        assert table.loc[tid, "path"] == str(root / f"fma_{subset}" / tid[:3] / f"{tid}.mp3")
    assert ds.classes == sorted({t.genre_top for t in want.values()})
    counts = ds.table["split"].value_counts().to_dict()
    assert counts == {s: sum(SPLIT[t.split] == s for t in want.values()) for s in counts}


def test_subsets_are_nested_and_tracks_without_genre_top_dropped(fma):
    root, tracks = fma
    small = set(get_dataset("fma", root, subset="small").load().table["track_id"])
    medium = get_dataset("fma", root, subset="medium").load()
    ids = set(medium.table["track_id"])
    assert small < ids and {"000003", "000141"} <= ids - small
    # Genres under several top-level genres: no genre_top; left out by rule, not reported as skipped.
    no_top = {t.tid for t in in_subset(tracks, "medium") if not t.genre_top}
    assert no_top == {"000020", "000190", "001039"}
    assert not no_top & ids and not any(Path(p).stem in no_top for p in medium.skipped["path"])


def test_known_bad_and_missing_files_are_skipped_with_reasons(fma):
    root, tracks = fma
    ds = get_dataset("fma", root, subset="medium").load()
    reason = {Path(p).stem: r for p, r in zip(ds.skipped["path"], ds.skipped["reason"], strict=True)}
    assert set(reason) == {"000666", "099134", "098565"}
    assert reason["000666"].startswith("missing")
    # 099134 is a real (empty) file here: skipped by name, before any decoding.
    assert (root / "fma_medium" / "099" / "099134.mp3").is_file()
    assert reason["099134"].startswith("known bad") and reason["098565"].startswith("known bad")
    assert len(KNOWN_BAD) == 21 and {"001486", "133297", "143992"} <= set(KNOWN_BAD)
    assert all(len(k) == 6 and k.isdigit() for k in KNOWN_BAD)


def test_multilabel_top_level_genres_with_default_exclusion(fma):
    root, tracks = fma
    ds = get_dataset("fma", root, task="genres", subset="medium").load()
    assert ds.task == "multi" and FMA.task == "single"  # the option sets the instance's task only
    assert len(set(TOP_LEVEL_GENRES) - set(DEFAULT_EXCLUDED)) == 12 and len(TOP_LEVEL_GENRES) == 16
    want = {t.tid: top_levels(t, DEFAULT_EXCLUDED) for t in in_subset(tracks, "medium") if usable(t)}
    want = {tid: labels for tid, labels in want.items() if labels}
    assert dict(zip(ds.table["track_id"], ds.table["labels"], strict=True)) == want
    # Multi-genre tracks are kept with all their top-level genres; excluded ones are removed from labels.
    assert (
        want["000020"] == ("Folk", "Pop")
        and want["000190"] == ("Rock",)
        and want["001039"] == ("Electronic",)
    )
    # Tracks left with no genre (Experimental only, Spoken only) are dropped.
    assert "000148" not in want and "001082" not in want
    assert ds.classes == sorted({g for labels in want.values() for g in labels})
    assert not set(ds.classes) & set(DEFAULT_EXCLUDED)


def test_custom_exclusion(fma):
    root, tracks = fma
    everything = get_dataset("fma", root, task="genres", subset="medium", exclude_genres=()).load()
    labels = dict(zip(everything.table["track_id"], everything.table["labels"], strict=True))
    assert labels["000148"] == ("Experimental",) and labels["001039"] == ("Electronic", "Instrumental")
    assert labels["001082"] == ("Spoken",)
    no_rock = get_dataset("fma", root, task="genres", subset="medium", exclude_genres=["Rock"]).load()
    labels = dict(zip(no_rock.table["track_id"], no_rock.table["labels"], strict=True))
    assert "000182" not in labels and labels["000190"] == ("Experimental",)
    # The single-label task takes the list too (none excluded by default).
    top = get_dataset("fma", root, exclude_genres="Hip-Hop, Rock").load()
    assert not {"Hip-Hop", "Rock"} & set(top.classes) and "Experimental" in top.classes
    with pytest.raises(ConfigError, match=r"\['Hiphop'\] are not top-level genres; choose from"):
        FMA(root, exclude_genres=["Hiphop"])


def test_full_subset_uses_untrimmed_audio_without_the_clip_list(tmp_path):
    tracks = build_fma(tmp_path, audio_subsets=("full",))
    ds = get_dataset("fma", tmp_path, subset="full").load()
    # The known-bad list is about wrongly trimmed clips: fma_full's 099134 is kept (validate() decodes it).
    assert "099134" in set(ds.table["track_id"])
    assert len(ds.table) == sum(bool(t.genre_top) and t.audio != "missing" for t in tracks)
    assert ds.table["path"].str.contains("/fma_full/").all()


def test_artist_across_official_splits_is_grouped_per_split(tmp_path, caplog):
    tracks = fma_tracks()
    tracks.append(
        FMATrack(3457, 32, "small", "training", (5,), title="Prelude")
    )  # artist 32 is also in valid
    build_fma(tmp_path, tracks, audio_subsets=("small",))
    with caplog.at_level(logging.WARNING):
        table = get_dataset("fma", tmp_path).load().table.set_index("track_id")
    assert "1 artist(s) appear in several splits" in caplog.text
    assert (
        table.loc["003457", "group"] == "artist_32@train"
        and table.loc["003456", "group"] == "artist_32@valid"
    )
    assert table.loc["000002", "group"] == "artist_1"
    # The leak is counted on the artist before the groups are cut, and reported.
    ds = get_dataset("fma", tmp_path).load()
    leak = ds.group_leak
    assert leak["key"] == "artist" and (leak["valid_groups_shared"], leak["valid_tracks_shared"]) == (1, 1)
    assert (leak["test_groups_shared"], leak["test_tracks_shared"]) == (0, 0)
    (note,) = [n for n in ds.notes if "not artist-disjoint" in n]
    assert f"1 artist, 1 of {leak['valid_tracks']} tracks of the validation split" in note
    assert ds.table.set_index("track_id").loc["003456", "artist"] == "artist_32"


def test_missing_metadata(fma, tmp_path):
    with pytest.raises(DatasetError, match=r"FMA_DIR[\s\S]*Expected layout"):
        get_dataset("fma", tmp_path / "nowhere").load()
    (tmp_path / "fma_small").mkdir()
    with pytest.raises(
        DatasetError, match=r"lacks the metadata file fma_metadata/tracks\.csv[\s\S]*two header rows"
    ):
        get_dataset("fma", tmp_path).load()
    root, _ = fma
    (tmp_path / "fma_metadata").mkdir()
    (tmp_path / "fma_metadata" / "tracks.csv").write_bytes(
        (root / "fma_metadata" / "tracks.csv").read_bytes()
    )
    with pytest.raises(DatasetError, match=r"lacks the metadata file fma_metadata/genres\.csv"):
        get_dataset("fma", tmp_path, task="genres").load()
    with pytest.raises(DatasetError, match="has no audio folder fma_medium/"):
        get_dataset("fma", tmp_path, subset="medium").load()


def test_malformed_metadata(tmp_path):
    tracks = fma_tracks()[:3]
    tracks[0].extra = {("track", "genres_all"): "[21, 12"}
    build_fma(tmp_path, tracks, audio_subsets=())
    with pytest.raises(DatasetError, match=r"track 2: genres_all '\[21, 12' is not a list"):
        get_dataset("fma", tmp_path, task="genres").load()
    # A flat, one-row header is not the published layout.
    f = tmp_path / "fma_metadata" / "tracks.csv"
    lines = f.read_text().split("\n")
    f.write_text("\n".join(["track_id," + lines[1][1:]] + lines[3:]))
    with pytest.raises(DatasetError, match="two header rows"):
        get_dataset("fma", tmp_path).load()


def test_bad_options(fma):
    root, _ = fma
    with pytest.raises(ConfigError, match="task='tags' must be one of"):
        FMA(root, task="tags")
    with pytest.raises(ConfigError, match="subset='tiny' must be one of"):
        FMA(root, subset="tiny")
    with pytest.raises(ConfigError, match=r"unknown option\(s\) \['genre'\]"):
        FMA(root, genre="Rock")
    with pytest.raises(ConfigError, match="split='random' is not a split of fma"):
        FMA(root).load(split="random")
