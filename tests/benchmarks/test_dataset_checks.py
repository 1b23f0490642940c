"""What every dataset load checks and reports: options, the groups of a split (checked for a drawn split,
measured and reported for a published one), folder grouping and classes, missing and duplicated files."""

import shutil

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from benchmarks.config import RunConfig
from benchmarks.datasets import DATASETS, get_dataset
from benchmarks.datasets.base import DatasetModule, LoadedDataset, duplicate_files
from benchmarks.datasets.folder import NO_GROUPING
from benchmarks.datasets.gtzan import GENRES
from benchmarks.runfolder import run_config
from features.errors import ConfigError, DatasetError
from features.skipped import empty_skipped

SR = 8000


def clip(path, seed, seconds=0.05):
    path.parent.mkdir(parents=True, exist_ok=True)
    x = np.random.default_rng(seed).standard_normal(int(SR * seconds)).astype(np.float32) * 0.1
    sf.write(path, x, SR)


# -- options -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_an_unknown_option_names_the_key_and_the_valid_ones(name, tmp_path):
    with pytest.raises(ConfigError, match=r"unknown option\(s\) \['colour'\]; valid options") as e:
        get_dataset(name, tmp_path, colour="red")
    valid = {"gtzan": ["folds"], "folder": ["folds", "group_by"], "synthetic": ["duration", "genres"],
             "synthetic-tags": ["duration"], "mtat": ["tags", "top_n"], "jamendo": ["subset", "quality"],
             "fma": ["task", "subset"]}[name]  # fmt: skip
    assert all(k in str(e.value) for k in valid)


def test_bad_folds_value_is_a_config_error(tmp_path):
    for g in GENRES:
        clip(tmp_path / g / f"{g}.00000.wav", 0)
    with pytest.raises(ConfigError, match="folds='many' must be an integer of at least 2"):
        get_dataset("gtzan", tmp_path, folds="many").load(split="random")


# -- a drawn split is checked, a published one measured ------------------------------------------------


class Toy(DatasetModule):
    """Artist x in train and test; z only in valid. 'published' is kept as published, 'drawn' is not."""

    name, task, env_var, published_at, layout = "toy", "single", "TOY_DIR", "nowhere", "  <root>/"
    split_names, default_split = ("published", "drawn"), "published"
    published_splits = ("published",)
    group_name = "artist"

    def _build(self, root, split, seed):
        table = pd.DataFrame({
            "track_id": [f"t{i}" for i in range(6)], "path": [str(root / f"t{i}.wav") for i in range(6)],
            "label": list("ababab"), "group": list("xxyyzz"),
            "split": ["train", "test", "train", "train", "valid", "test"],
        })  # fmt: skip
        return table, ["a", "b"], empty_skipped()


def test_published_split_is_measured_then_confined_a_drawn_one_is_rejected(tmp_path):
    ds = Toy(tmp_path).load(split="published")
    assert ds.group_leak == {"key": "artist", "test_groups_shared": 1, "test_tracks_shared": 1, "test_tracks": 2,
                             "valid_groups_shared": 0, "valid_tracks_shared": 0, "valid_tracks": 1,
                             "valid_test_groups_shared": 1}
    assert ds.notes == ["toy split 'published' is kept as published, but it is not artist-disjoint: 1 artist, 1 of 2 "
                        "tracks of the test split share an artist with training (0 artists, 0 of 1 track of the "
                        "validation split); 1 artist in both the validation and the test split"]
    assert list(ds.table["group"]) == ["x@train", "x@test", "y", "y", "z@valid", "z@test"]
    with pytest.raises(DatasetError, match=r"2 group\(s\) span several splits, e.g. \['x', 'z'\]"):
        Toy(tmp_path).load(split="drawn")


# -- GTZAN ---------------------------------------------------------------------------------------------


def test_gtzan_random_says_it_is_not_artist_aware(tmp_path):
    for gi, g in enumerate(GENRES):
        for i in range(10):
            clip(tmp_path / "genres" / g / f"{g}.{i:05d}.wav", gi * 10 + i)
    ds = get_dataset("gtzan", tmp_path).load(split="random", seed=0)
    assert any("gtzan split 'random' is not artist-aware" in n for n in ds.notes)
    assert ds.group_leak is None
    with pytest.raises(ConfigError, match="folds applies to split='random' only"):
        get_dataset("gtzan", tmp_path, folds=3).load()


# -- folder --------------------------------------------------------------------------------------------


def recordings(root, n_classes=2, n_recordings=6, parts=3):
    """<root>/class<c>/c<c>rec<r>_part<k>.wav: numbered excerpts cut from one recording each."""
    for c in range(n_classes):
        for r in range(n_recordings):
            for k in range(parts):
                clip(root / f"class{c}" / f"c{c}rec{r}_part{k}.wav", 1000 * c + 10 * r + k)


def test_folder_group_by_regex_groups_files_and_keeps_groups_in_one_split(tmp_path):
    recordings(tmp_path)
    ds = get_dataset("folder", tmp_path, group_by=r"^(.+)_part\d+").load(seed=1)
    t = ds.table
    assert t["group"].nunique() == 12 and set(t["group"]) == {f"c{c}rec{r}" for c in (0, 1) for r in range(6)}
    assert t.groupby("group")["split"].nunique().max() == 1 and set(t["split"]) == {"train", "valid", "test"}
    assert NO_GROUPING not in ds.notes
    # A named group, and files the pattern misses are their own group, with a note saying how many.
    (tmp_path / "class0" / "loose.wav").write_bytes((tmp_path / "class0" / "c0rec0_part0.wav").read_bytes()[:-2])
    ds = get_dataset("folder", tmp_path, group_by=r"(?P<group>c\drec\d)_").load(seed=1)
    assert ds.table.set_index("track_id").loc["class0/loose", "group"] == "class0/loose"
    assert any("matches 36 of 37 files; the other 1 are each their own group" in n for n in ds.notes)


def test_folder_group_by_mistakes_are_config_errors(tmp_path):
    recordings(tmp_path)
    with pytest.raises(ConfigError, match="group_by='.*' matches no file"):
        get_dataset("folder", tmp_path, group_by="^album").load()
    with pytest.raises(ConfigError, match="is not a regular expression"):
        get_dataset("folder", tmp_path, group_by="(unclosed")
    pd.DataFrame({"path": ["class0/c0rec0_part0.wav"], "group": ["g"]}).to_csv(tmp_path / "groups.csv", index=False)
    with pytest.raises(ConfigError, match="use one of them"):
        get_dataset("folder", tmp_path, group_by=r"^(.+)_part").load()


def test_folder_without_groups_says_every_file_is_its_own_group(tmp_path):
    recordings(tmp_path)
    ds = get_dataset("folder", tmp_path).load()
    assert NO_GROUPING in ds.notes and "every file is its own group" in NO_GROUPING
    assert ds.table["group"].nunique() == len(ds.table)


def test_folder_with_one_class_or_an_empty_class_stops_with_a_clear_message(tmp_path):
    for i in range(12):
        clip(tmp_path / "only" / f"t{i}.wav", i)
    with pytest.raises(DatasetError, match=r"found 1 class folder \('only'\).*at least two classes"):
        get_dataset("folder", tmp_path).load()
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no audio here")
    with pytest.raises(DatasetError, match=r"class folder\(s\) \['empty'\] .* hold no audio file"):
        get_dataset("folder", tmp_path).load()
    shutil.rmtree(tmp_path / "empty")
    shutil.rmtree(tmp_path / "only")
    for i in range(3):
        clip(tmp_path / f"loose{i}.wav", i)
    with pytest.raises(DatasetError, match="found no class folder.*3 audio file"):
        get_dataset("folder", tmp_path).load()


def test_folder_metadata_naming_absent_files_is_reported(tmp_path):
    recordings(tmp_path, n_recordings=2, parts=2)
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.wav"))
    splits = ["train", "test"] * (len(files) // 2)
    pd.DataFrame({"path": [*files, "class1/gone.wav"], "split": [*splits, "train"]}).to_csv(
        tmp_path / "split.csv", index=False
    )
    ds = get_dataset("folder", tmp_path).load()
    assert len(ds.table) == len(files)
    reasons = dict(zip(ds.skipped["path"].map(lambda p: p.rsplit("/", 1)[-1]), ds.skipped["reason"], strict=True))
    assert reasons == {"gone.wav": "missing: listed in split.csv but not on disk"}


# -- duplicates ----------------------------------------------------------------------------------------


def test_byte_identical_files_are_named_in_a_note(tmp_path):
    recordings(tmp_path)
    copy = tmp_path / "class1" / "copy_of_c0rec0_part0.wav"
    shutil.copyfile(tmp_path / "class0" / "c0rec0_part0.wav", copy)
    ds = get_dataset("folder", tmp_path).load(seed=0)
    (note,) = [n for n in ds.notes if "byte-identical" in n]
    assert "2 audio files" in note and "1 set(s)" in note
    assert "class0/c0rec0_part0.wav = class1/copy_of_c0rec0_part0.wav" in note
    # Same size, other bytes: not a duplicate (the sizes collide, the hashes do not); empty files are left out.
    same_size = [str(p) for p in sorted(tmp_path.rglob("*.wav"))]
    assert len({(tmp_path / p).stat().st_size for p in same_size}) == 1
    (tmp_path / "a.wav").write_bytes(b"")
    (tmp_path / "b.wav").write_bytes(b"")
    assert duplicate_files([*same_size, tmp_path / "a.wav", tmp_path / "b.wav"]) == [
        sorted([str(tmp_path / "class0" / "c0rec0_part0.wav"), str(copy)])
    ]


# -- into config.json ----------------------------------------------------------------------------------


def test_run_config_puts_dataset_notes_first_and_records_the_leak(tmp_path):
    ds = Toy(tmp_path).load(split="published")
    conf = run_config(RunConfig(), ds, env={}, notes=["strategy x skipped", ds.notes[0]])
    assert conf["notes"] == [ds.notes[0], "strategy x skipped"]
    assert conf["group_leak"] == ds.group_leak
    table = pd.DataFrame({"track_id": ["a", "b"], "path": ["/a.wav", "/b.wav"], "label": ["x", "y"],
                          "group": ["a", "b"], "split": ["train", "test"]})
    plain = run_config(RunConfig(), LoadedDataset("plain", table, ["x", "y"], "single", tmp_path), env={})
    assert "group_leak" not in plain and "notes" not in plain


# -- paths as the user laid them out -------------------------------------------------------------------


def test_a_symlinked_library_is_listed_and_skipped_under_its_link_paths(tmp_path):
    """The table (and so skipped.csv) names files by the path the user gave, not the symlink's target."""
    from benchmarks.run import run

    real = tmp_path / "disk" / "library"
    for c in range(2):
        for i in range(12):
            clip(real / f"c{c}" / f"t{i}.wav", 100 * c + i, seconds=1.0)
    cut = real / "c0" / "cut.wav"
    clip(cut, 99, seconds=3.0)
    cut.write_bytes(cut.read_bytes()[: len(cut.read_bytes()) // 2])  # a truncated WAV
    link = tmp_path / "music"
    link.symlink_to(real, target_is_directory=True)

    ds = get_dataset("folder", link).load()
    assert all(p.startswith(str(link) + "/") for p in ds.table["path"])
    run_dir = run(RunConfig(dataset="folder", data_dir=str(link), models=("lr",), out=str(tmp_path / "out"),
                            run_id="r", n_jobs=1, cache_dir=str(tmp_path / "cache")))
    skipped = pd.read_csv(run_dir / "skipped.csv")
    assert skipped["path"].tolist() == [str(link / "c0" / "cut.wav")]
    assert "truncated" in skipped["reason"].iloc[0]
