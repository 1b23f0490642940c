"""MagnaTagATune loader on a fixture in the real layout: quoted tab-separated annotations, mp3 tree 0..f."""

import logging
from pathlib import Path

import pytest

import benchmarks.datasets
from benchmarks.datasets import get_dataset
from benchmarks.datasets.mtat import KNOWN_BAD, MTAT, SYNONYMS
from features.errors import ConfigError, DatasetError
from tests.benchmarks.fixtures_tagging import MTAT_TAGS, MTATClip, build_mtat, mtat_leaky_clips

TOP50 = (Path(benchmarks.datasets.__file__).parent / "data" / "mtat_top50_tags.txt").read_text().split("\n")
TOP50 = [t.strip() for t in TOP50 if t.strip()]
FOLDER_SPLIT = {**dict.fromkeys("0123456789ab", "train"), "c": "valid", **dict.fromkeys("def", "test")}
USABLE = {"ok"}  # audio kinds that load when the 0.5-s duration check is on


@pytest.fixture(scope="module")
def mtat(tmp_path_factory):
    root = tmp_path_factory.mktemp("mtat")
    return root, build_mtat(root)


def load(root, split=None, **options):
    options.setdefault("min_duration", 0.5)
    return get_dataset("mtat", root, **options).load(split=split)


def by_id(clips):
    return {str(c.clip_id): c for c in clips}


def test_fixture_has_the_real_header(mtat):
    root, _ = mtat
    first = (root / "annotations_final.csv").read_bytes().split(b"\n", 1)[0].decode()
    fields = first.split("\t")
    assert len(fields) == 190 and all(f.startswith('"') and f.endswith('"') for f in fields)
    assert fields[0] == '"clip_id"' and fields[-1] == '"mp3_path"'
    assert len(set(MTAT_TAGS)) == 188 and set(TOP50) <= set(MTAT_TAGS)


def test_top50_classes_labels_and_folder_split(mtat):
    root, clips = mtat
    ds = load(root)
    assert ds.task == "multi" and ds.classes == TOP50
    expected = {
        str(c.clip_id): c
        for c in clips
        if c.audio in USABLE and set(c.tags) & set(TOP50) and c.mp3_path not in KNOWN_BAD
    }
    table = ds.table.set_index("track_id")
    assert set(table.index) == set(expected)
    for cid, c in expected.items():
        row = table.loc[cid]
        assert row["labels"] == tuple(t for t in TOP50 if t in c.tags)  # in class order
        assert row["split"] == FOLDER_SPLIT[c.folder]
        assert row["path"] == str(root / "mp3" / c.mp3_path) and Path(row["path"]).is_file()
    counts = ds.table["split"].value_counts().to_dict()
    assert counts == {s: sum(FOLDER_SPLIT[c.folder] == s for c in expected.values()) for s in set(counts)}
    assert set(counts) == {"train", "valid", "test"}


def test_untagged_clips_are_dropped_and_bad_files_reported(mtat):
    root, clips = mtat
    ds = load(root)
    clip = by_id(clips)
    # Clips without any top-50 tag are a rule of the benchmark: neither kept nor reported as skipped.
    untagged = [c for c in clips if not set(c.tags) & set(TOP50)]
    assert {c.clip_id for c in untagged} == {10, 101}
    reasons = {Path(p).name: r for p, r in zip(ds.skipped["path"], ds.skipped["reason"], strict=True)}
    for c in untagged:
        assert Path(c.mp3_path).name not in reasons and str(c.clip_id) not in set(ds.table["track_id"])
    name = {cid: Path(c.mp3_path).name for cid, c in clip.items()}
    assert reasons[name["71"]].startswith("missing")
    assert reasons[name["35644"]].startswith("known bad") and reasons[name["55753"]].startswith("known bad")
    assert "0.30 s" in reasons[name["81"]] and "min_duration=0.5" in reasons[name["81"]]
    assert reasons[name["90"]].startswith("unreadable header")
    assert set(ds.skipped["stage"]) == {"dataset"} and len(ds.skipped) == 5


def test_groups_are_artists_confined_per_split_under_the_official_split(mtat):
    root, clips = mtat
    table = load(root).table.set_index("track_id")
    clip = by_id(clips)
    for cid in table.index:
        assert table.loc[cid, "song"] == clip[cid].source_track
    # Two clips of one song share a group; one artist's two albums sit in test and train: the artist is
    # counted as a leak, then grouped per split, so the group column never crosses the split.
    assert table.loc["2", "group"] == table.loc["6", "group"] == "american_bach_soloists@test"
    assert table.loc["11", "group"] == "american_bach_soloists@train"
    assert table.loc["2", "artist"] == table.loc["11", "artist"] == "american_bach_soloists"
    assert table.loc["20", "group"] == table.loc["20", "artist"] == "tilopa"
    assert table.groupby("group")["split"].nunique().max() == 1


def test_default_min_duration_skips_short_clips(mtat):
    root, _ = mtat
    # Every fixture clip lasts 1 s or less: under the standard 29.1 s nothing is left.
    with pytest.raises(DatasetError, match="holds no usable track"):
        get_dataset("mtat", root).load()


def test_no_duration_check_then_validate_decodes(mtat):
    root, clips = mtat
    module = get_dataset("mtat", root, min_duration=None)
    ds = module.load()
    ids = set(ds.table["track_id"])
    assert {"81", "90"} <= ids  # short and corrupt clips are only caught by reading the file
    report = module.validate()
    decode = report[report["stage"] == "decode"]
    assert [Path(p).name for p in decode["path"]] == [Path(by_id(clips)["90"].mp3_path).name]
    assert len(report) == len(ds.skipped) + 1


def test_top10(mtat):
    root, clips = mtat
    ds = load(root, tags="top10")
    top10 = "guitar classical slow techno strings drums electronic rock fast piano".split()
    assert ds.classes == top10
    kept = set(ds.table["track_id"])
    for c in clips:
        if c.audio in USABLE and c.mp3_path not in KNOWN_BAD:
            assert (str(c.clip_id) in kept) == bool(set(c.tags) & set(top10))
    assert "50" not in kept  # woman, vocal, pop, dance: no top-10 tag


@pytest.mark.parametrize("n", [1, 5, 12])
def test_top_n_by_frequency(mtat, n):
    root, clips = mtat
    ds = load(root, top_n=n)
    # Counted over every clip of annotations_final.csv; ties keep the file's column order.
    count = {t: sum(t in c.tags for c in clips) for t in MTAT_TAGS}
    expected = sorted(MTAT_TAGS, key=lambda t: (-count[t], MTAT_TAGS.index(t)))[:n]
    assert ds.classes == expected
    assert all(set(labels) <= set(expected) and labels for labels in ds.table["labels"])


def test_synonym_merge(mtat):
    root, _ = mtat
    ds = load(root, merge_synonyms=True)
    merged_away = {"woman", "female vocal", "female voice", "man", "male vocal", "male voice", "no vocal"}
    merged_away |= {"no voice", "vocals", "voice", "classic", "choral", "beats"}
    assert set(TOP50) - set(ds.classes) == merged_away and set(ds.classes) <= set(TOP50)
    assert ds.classes == [t for t in TOP50 if t not in merged_away]  # the top-50 order is kept
    labels = dict(zip(ds.table["track_id"], ds.table["labels"], strict=True))
    assert labels["50"] == ("vocal", "female", "pop", "dance")  # woman -> female, in the top-50 order
    assert set(labels["51"]) == {"female", "singing", "pop"}  # women -> female
    assert set(labels["61"]) >= {"synth", "no vocals", "weird"}  # synthesizer, no vocal
    assert "no vocals" in labels["41"] and "classical" in labels["31"] and "choir" in labels["110"]
    assert "beat" in labels["21"] and "male" in labels["100"] and "guitar" in labels["100"]
    # Without merging the same clips keep their own spellings.
    table = load(root).table
    plain = dict(zip(table["track_id"], table["labels"], strict=True))
    assert "woman" in plain["50"] and "female" not in plain["50"] and "classic" in plain["31"]


def test_merge_then_top_n_counts_merged_tags(mtat):
    root, clips = mtat
    n = 4
    canon = {t: t for t in MTAT_TAGS} | {m: c for c, members in SYNONYMS.items() for m in members}
    names = list(dict.fromkeys(canon[t] for t in MTAT_TAGS))
    merged = {c: sum(any(canon[t] == c for t in clip.tags) for clip in clips) for c in names}
    expected = sorted(names, key=lambda c: (-merged[c], names.index(c)))[:n]
    plain = {t: sum(t in clip.tags for clip in clips) for t in MTAT_TAGS}
    assert expected != sorted(MTAT_TAGS, key=lambda t: (-plain[t], MTAT_TAGS.index(t)))[:n]
    assert load(root, merge_synonyms=True, top_n=n).classes == expected


def test_artists_from_clip_info(mtat):
    root, _ = mtat
    artist = dict(zip(*[load(root, min_duration=None).table[c] for c in ("track_id", "artist")], strict=True))
    # The compilation clip takes its artist from clip_info_final.csv, not from its file name.
    assert artist["100"] == artist["90"] == "electric_frankenstein"
    assert artist["2"] == artist["11"] == "american_bach_soloists" and artist["20"] == "tilopa"


def test_artists_from_file_names_without_clip_info(mtat, tmp_path):
    root, _ = mtat
    build_mtat(tmp_path, clip_info=False, audio=False)
    table = load(tmp_path, audio_dir=root / "mp3", min_duration=None).table
    artist = dict(zip(table["track_id"], table["artist"], strict=True))
    assert artist["100"] == "magnatune_compilation" and artist["90"] == "electric_frankenstein"
    assert artist["2"] == artist["11"] == "american_bach_soloists"


def test_random_split_is_artist_disjoint(tmp_path):
    clips = [
        MTATClip(k + 1, "0123456789abcdef"[k], f"Artist {k}", "Album", 1, "Song", 0, ("guitar",))
        for k in range(12)
    ]
    # A compilation clip of Artist 0: the file name says otherwise, clip_info_final.csv names the artist.
    clips.append(
        MTATClip(99, "f", "Magnatune Compilation", "Best Of", 2, "Hit", 0, ("guitar",), "ok", "Artist 0")
    )
    build_mtat(tmp_path, clips)
    first = get_dataset("mtat", tmp_path, min_duration=0.5).load(split="random", seed=3)
    again = get_dataset("mtat", tmp_path, min_duration=0.5).load(split="random", seed=3)
    assert list(first.table["split"]) == list(again.table["split"])
    table = first.table.set_index("track_id")
    assert set(table["split"]) == {"train", "valid", "test"}
    assert (table["group"] == table["artist"]).all() and table["group"].nunique() == 12
    assert table.loc["99", "group"] == table.loc["1", "group"] == "artist_0"
    assert table.loc["99", "split"] == table.loc["1", "split"]
    folds = get_dataset("mtat", tmp_path, min_duration=0.5, folds=3).load(split="random").table
    assert set(folds["split"]) == {0, 1, 2} and folds.groupby("group")["split"].nunique().max() == 1


def test_crlf_annotations_parse_the_same(mtat, tmp_path):
    root, _ = mtat
    build_mtat(tmp_path, newline="\r\n", audio=False)
    assert b'"\r\n"' in (tmp_path / "annotations_final.csv").read_bytes()
    crlf = load(tmp_path, audio_dir=root / "mp3").table
    lf = load(root).table
    assert list(crlf["labels"]) == list(lf["labels"]) and list(crlf["split"]) == list(lf["split"])
    assert not any("\r" in p for p in crlf["path"])


def test_a_song_across_folders_is_grouped_per_split(tmp_path, caplog):
    song = dict(artist="Tilopa", album="Out of the Blue", track=3, title="Dark Morning")
    clips = [
        MTATClip(1, "0", start=0, tags=("techno",), **song),
        MTATClip(2, "d", start=29, tags=("techno",), **song),
        MTATClip(3, "d", "Kitka", "Wintersongs", 8, "Koliada", 0, ("choir",)),
    ]
    build_mtat(tmp_path, clips)
    with caplog.at_level(logging.WARNING):
        ds = load(tmp_path)
    table = ds.table.set_index("track_id")
    assert "1 artist(s) appear in several splits" in caplog.text
    assert table.loc["1", "group"] == "tilopa@train" and table.loc["2", "group"] == "tilopa@test"
    assert table.loc["1", "song"] == table.loc["2", "song"] == clips[0].source_track
    assert table.loc["3", "group"] == "kitka"
    assert (ds.group_leak["test_groups_shared"], ds.group_leak["test_tracks_shared"]) == (1, 1)


def test_missing_data_and_metadata(tmp_path):
    with pytest.raises(DatasetError, match=r"MTAT_DIR[\s\S]*Expected layout"):
        get_dataset("mtat", tmp_path / "nowhere").load()
    (tmp_path / "mp3" / "0").mkdir(parents=True)
    with pytest.raises(DatasetError, match=r"lacks the metadata file annotations_final\.csv[\s\S]*mp3_path"):
        get_dataset("mtat", tmp_path).load()


def test_missing_audio_tree(tmp_path):
    build_mtat(tmp_path, audio=False)
    with pytest.raises(DatasetError, match="no audio sub-folders 0..f"):
        load(tmp_path)


@pytest.mark.parametrize(
    "damage, message",
    [
        (
            lambda lines: lines[:2] + [lines[2].rsplit("\t", 1)[0]] + lines[3:],
            r"line 3: 189 tab-separated fields",
        ),
        (
            lambda lines: lines[:1] + [lines[1].replace('\t"0"\t', '\t"2"\t', 1)] + lines[2:],
            r"line 2: tag values \['2'\]",
        ),
        (
            lambda lines: [lines[0].replace('"clip_id"', '"id"')] + lines[1:],
            r"expected tab-separated, quoted",
        ),
        (lambda lines: lines + [lines[1]], r"clip_id '2' appears more than once"),
    ],
)
def test_malformed_annotations(tmp_path, damage, message):
    build_mtat(tmp_path, audio=False)
    f = tmp_path / "annotations_final.csv"
    f.write_text("\n".join(damage(f.read_text().rstrip("\n").split("\n"))) + "\n")
    with pytest.raises(DatasetError, match=message):
        load(tmp_path, audio_dir=tmp_path)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"tags": "top20"}, "must be 'top50', 'top10' or 'all'"),
        ({"top_n": 0}, "top_n=0 must be a positive integer"),
        ({"top_n": 5, "tags": "all"}, "either tags= or top_n="),
        ({"min_duration": "long"}, "min_duration='long'"),
        ({"merge_synonyms": "maybe"}, "merge_synonyms='maybe' must be true or false"),
        ({"tag": "top50"}, r"unknown option\(s\) \['tag'\]"),
    ],
)
def test_bad_options(options, message):
    with pytest.raises(ConfigError, match=message):
        MTAT(None, **options)


def test_bad_split_and_folds(mtat):
    root, _ = mtat
    with pytest.raises(ConfigError, match="folds applies to split='random' only"):
        load(root, folds=3)
    with pytest.raises(ConfigError, match="choose from"):
        load(root, "valid")
    with pytest.raises(ConfigError, match="top_n=189 exceeds the 188 tags"):
        load(root, top_n=189)


# -- the published split's artist leak ------------------------------------------------------------------


def test_official_split_leak_is_counted_on_the_artist_and_reported(tmp_path):
    build_mtat(tmp_path, mtat_leaky_clips())
    ds = load(tmp_path)
    # Test: Tilopa (clips 3, 4) and, by clip_info_final.csv, Jeff Wahl (compilation clip 8); valid: Beth Quist.
    assert ds.group_leak == {
        "key": "artist",
        "test_groups_shared": 2, "test_tracks_shared": 3, "test_tracks": 4,
        "valid_groups_shared": 1, "valid_tracks_shared": 1, "valid_tracks": 2, "valid_test_groups_shared": 0,
    }  # fmt: skip
    (note,) = [n for n in ds.notes if "not artist-disjoint" in n]
    assert "2 artists, 3 of 4 tracks of the test split share an artist with training" in note
    assert "1 artist, 1 of 2 tracks of the validation split" in note and "--split random" in note
    # The published split itself is kept, and the groups the toolkit sees still never cross it.
    table = ds.table.set_index("track_id")
    assert table.loc["3", "split"] == "test" and table.loc["1", "split"] == "train"
    assert table.groupby("group")["split"].nunique().max() == 1
    assert table.loc["8", "artist"] == table.loc["7", "artist"] == "jeff_wahl"


def test_official_leak_without_clip_info_uses_file_names_and_says_so(tmp_path):
    build_mtat(tmp_path, mtat_leaky_clips(), clip_info=False)
    ds = load(tmp_path)
    # Without clip_info_final.csv the compilation clip is 'magnatune_compilation': one test leak fewer.
    assert (ds.group_leak["test_groups_shared"], ds.group_leak["test_tracks_shared"]) == (1, 2)
    assert any("clip_info_final.csv is absent" in n for n in ds.notes)


@pytest.mark.filterwarnings("ignore:The least populated class")
def test_random_split_is_the_artist_disjoint_alternative(tmp_path, monkeypatch):
    clips = mtat_leaky_clips()
    clips += [MTATClip(20 + k, "0123456789"[k], f"Extra {k}", "Album", 1, "Song", 0, ("guitar",)) for k in range(10)]
    build_mtat(tmp_path, clips)
    ds = get_dataset("mtat", tmp_path, min_duration=0.5).load(split="random", seed=0)
    assert ds.group_leak is None and not [n for n in ds.notes if "not artist-disjoint" in n]
    assert (ds.table["group"] == ds.table["artist"]).all()
    assert ds.table.groupby("artist")["split"].nunique().max() == 1
    # A drawn split that put one artist in two splits would stop the load, not be renamed away.
    monkeypatch.setattr(
        "benchmarks.datasets.mtat.group_split",
        lambda table, seed: table["path"].map(lambda p: FOLDER_SPLIT[Path(p).parent.name]),
    )
    with pytest.raises(DatasetError, match="artist.*span several splits"):
        get_dataset("mtat", tmp_path, min_duration=0.5).load(split="random", seed=0)
