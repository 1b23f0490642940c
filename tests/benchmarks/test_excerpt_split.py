"""Excerpt-unit runs (split_unit="excerpt"): tracks cut into excerpts, the excerpts dealt at random (a declared
leak, as studies that split excerpts did), and every stage after that seeing excerpts as its items; GTZAN's
as-published recipe variant on them."""

import json
import zlib

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from benchmarks.config import RunConfig
from benchmarks.excerpt_items import ExcerptView, excerpt_table, grid
from benchmarks.recipes import RECIPES
from benchmarks.run import main, run
from benchmarks.splits import check_groups_disjoint, excerpt_split, group_leak
from features.config import ExcerptConfig
from features.errors import ConfigError, DatasetError
from tests.benchmarks.test_run import SR, genre_clip

FIXTURE_GENRES = ("blues", "classical", "country")
N_PER_GENRE = 10  # the track-level random split the loader draws first needs 10 tracks of a genre


def gtzan_excerpts(root, seconds: float):
    """GTZAN's layout, three genres of ten clips of `seconds` each (the random split covers what is on disk)."""
    for gi, g in enumerate(FIXTURE_GENRES):
        for i in range(N_PER_GENRE):
            p = root / "genres" / g / f"{g}.{i:05d}.wav"
            p.parent.mkdir(parents=True, exist_ok=True)
            sf.write(p, genre_clip(gi, zlib.crc32(p.name.encode()), seconds=seconds), SR)
    return root


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """3.5-s clips: two whole 1.5-s excerpts each (starts 0 and 1.5 s) without overlap."""
    return gtzan_excerpts(tmp_path_factory.mktemp("gtzan_excerpts"), 3.5)


def tracks(durations: dict[str, float], label_of) -> pd.DataFrame:
    return pd.DataFrame({"track_id": list(durations), "path": [f"/x/{t}.wav" for t in durations],
                         "label": [label_of(t) for t in durations], "group": list(durations), "split": None,
                         "duration": list(durations.values())})


def test_excerpt_table_cuts_every_whole_excerpt():
    t = tracks({"a": 4.0, "b": 2.5, "c": 0.7}, lambda _: "x")
    items = excerpt_table(t, ExcerptConfig(length=1.0, overlap=0.0))
    # 1-s excerpts without overlap: 4 in 4 s, 2 in 2.5 s (the 0.5-s tail is none), and a track shorter than one
    # excerpt is one item.
    assert items["track_id"].tolist() == ["a#00", "a#01", "a#02", "a#03", "b#00", "b#01", "c#00"]
    assert items["source"].tolist() == ["a"] * 4 + ["b"] * 2 + ["c"]
    assert items["start"].tolist() == [0.0, 1.0, 2.0, 3.0, 0.0, 1.0, 0.0]
    assert items["duration"].tolist() == [1.0] * 6 + [pytest.approx(0.7)]
    half = excerpt_table(t, ExcerptConfig(length=1.0, overlap=0.5))  # hop 0.5 s: 7 in 4 s, 4 in 2.5 s
    assert half.groupby("source").size().to_dict() == {"a": 7, "b": 4, "c": 1}
    assert half.loc[half.source == "a", "start"].tolist() == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0]
    # The study's counts: a 30-s GTZAN clip (661,794 samples) gives 10 excerpts of 3 s, 19 at 50% overlap.
    gt = tracks({"g": 661794 / 22050}, lambda _: "x")
    assert len(excerpt_table(gt, ExcerptConfig(3.0, 0.0))) == 10
    assert len(excerpt_table(gt, ExcerptConfig(3.0, 0.5))) == 19


def test_excerpt_split_is_a_seeded_stratified_partition_that_leaks():
    t = tracks({f"{g}{i}": 4.0 for g in "pqr" for i in range(10)}, lambda tid: tid[0])
    items = excerpt_table(t, ExcerptConfig(length=1.0, overlap=0.0))  # 4 excerpts per track: 40 per label
    split = excerpt_split(items, seed=0)
    assert len(split) == len(items) == 120 and set(split) == {"train", "valid", "test"}  # each excerpt in one part
    counts = pd.crosstab(items["label"], split)
    # One fold of ten for test and one for validation, per label: 40 / 10 = 4 each, the other 32 train.
    assert (counts["test"] == 4).all() and (counts["valid"] == 4).all() and (counts["train"] == 32).all()
    assert (excerpt_split(items, seed=0) == split).all()
    assert (excerpt_split(items, seed=1) != split).any()
    spans = pd.Series(split).groupby(items["source"].to_numpy()).nunique()
    assert (spans > 1).sum() > 0  # the leak is the point: one track's excerpts in several splits
    leak = group_leak(items.assign(split=split), "source", "source track")
    assert leak["test_tracks"] == 12 and 0 < leak["test_tracks_shared"] <= 12
    # The declared exception to the leakage check: it holds per excerpt (each its own group), fails per track.
    check_groups_disjoint(items.assign(split=split))
    with pytest.raises(DatasetError, match="source track.*span several splits"):
        check_groups_disjoint(items.assign(split=split), "source", "source track")


def test_grid_is_one_per_run_and_config_refuses_what_cannot_combine():
    cfg = RunConfig(dataset="gtzan", split="random", split_unit="excerpt", excerpts=2.0, excerpt_overlap=0.25)
    assert grid(cfg, ("lr",)) == ExcerptConfig(2.0, 0.25)
    with pytest.raises(ConfigError, match="needs --excerpts"):
        grid(RunConfig(split_unit="excerpt"), ("lr",))
    # Deep models alone: their training excerpt (3 s, or --chunk-s) at their example overlap.
    paper = RunConfig(dataset="gtzan", profile="paper", split_unit="excerpt")
    assert grid(paper, ("cnn3", "cnn4")) == ExcerptConfig(3.0, 0.5)  # the GTZAN study's 19 per song
    exp1 = RunConfig(dataset="gtzan", profile="paper", split_unit="excerpt", train_options=(("example_overlap", 0.0),))
    assert grid(exp1, ("cnn3",)) == ExcerptConfig(3.0, 0.0)
    with pytest.raises(ConfigError, match="different overlaps"):
        grid(RunConfig(split_unit="excerpt", excerpts=3.0), ("lr", "small-cnn"))  # 0.5 for lr, 0.0 for the CNN
    with pytest.raises(ConfigError, match=r"\[spec\] offset would clip them"):
        grid(RunConfig(split_unit="excerpt", chunk_s=1.0, spec_options=(("offset", 1.0),)), ("small-cnn",))
    with pytest.raises(ConfigError, match="split_unit='bogus' must be one of track, excerpt"):
        RunConfig(split_unit="bogus")
    with pytest.raises(ConfigError, match="does not combine with --split kfold"):
        RunConfig(split="kfold", split_unit="excerpt")


def test_excerpt_view_reads_the_slice_of_its_track():
    base = {"a": np.arange(2 * 60, dtype=np.float32).reshape(2, 60), "b": np.zeros((2, 5), np.float32)}
    items = excerpt_table(tracks({"a": 6.0, "b": 0.5, "gone": 2.0}, lambda _: "x"), ExcerptConfig(1.0, 0.5))
    view = ExcerptView(base, items, rate=10.0, frames=True)  # 10 frames per second: 1 s holds frames 0..10
    assert "gone#00" not in view and len(view) == 11 + 1  # a track the store lacks has no excerpt in it
    np.testing.assert_array_equal(view["a#03"], base["a"][:, 15:26])  # start 1.5 s = frame 15, 11 frames
    assert view["a#10"].shape == (2, 10)  # the last excerpt (start 5 s) ends at the track's end
    assert view["b#00"].shape == (2, 5)  # a short track: all of it (the chunk dataset pads it)


def run_cfg(tmp_path, root, **kw) -> RunConfig:
    base = dict(dataset="gtzan", data_dir=str(root), split="random", split_unit="excerpt", n_jobs=1,
                out=str(tmp_path / "results"), run_id="r", cache_dir=str(tmp_path / "cache"))
    return RunConfig(**{**base, **kw})


def expected_split(root, length: float) -> pd.Series:
    """The split of every excerpt, redrawn from the clips on disk: their excerpt ids by hand, dealt by
    excerpt_split (3.5-s clips, `length`-s excerpts without overlap)."""
    rows = []
    for g in FIXTURE_GENRES:
        for i in range(N_PER_GENRE):
            n = int((sf.info(root / "genres" / g / f"{g}.{i:05d}.wav").duration - length) // length) + 1
            rows += [{"track_id": f"{g}.{i:05d}#{k:02d}", "label": g} for k in range(n)]
    items = pd.DataFrame(rows)
    return pd.Series(excerpt_split(items, seed=0), index=items["track_id"])


def accuracy_by_hand(pred: pd.DataFrame) -> float:
    p = pred[[c for c in pred.columns if c.startswith("p:")]].to_numpy()
    classes = [c[2:] for c in pred.columns if c.startswith("p:")]
    truth = pred["track_id"].str.split(".").str[0]  # the genre is the file name's prefix
    return float(np.mean(np.array(classes)[p.argmax(1)] == truth.to_numpy()))


def test_classical_run_scores_excerpt_items(clips, tmp_path):
    run_dir = run(run_cfg(tmp_path, clips, models=("lr",), excerpts=1.5, excerpt_overlap=0.0))
    split = expected_split(clips, 1.5)
    assert len(split) == 60  # 30 clips x 2 excerpts
    config = json.loads((run_dir / "config.json").read_text())
    assert config["split_unit"] == "excerpt" and config["n_tracks"] == split.value_counts().to_dict()
    assert any("LEAKY BY DESIGN" in n for n in config["notes"]) and config["group_leak"]["test_tracks_shared"] > 0
    assert "Items are EXCERPTS dealt at random" in (run_dir / "table.md").read_text()  # the pasted table says so
    pred = pd.read_csv(run_dir / "predictions.csv")
    test = pred[pred.split == "test"]
    assert sorted(test["track_id"]) == sorted(split.index[split == "test"])  # 1 fold of ten: 2 of 20 per genre
    assert len(test) == 6
    m = pd.read_csv(run_dir / "metrics.csv")
    acc = m[(m.split == "test") & (m.metric == "accuracy")]["value"]
    assert len(acc) == 1 and acc.iloc[0] == pytest.approx(accuracy_by_hand(test))


def test_deep_run_scores_the_same_excerpts(clips, tmp_path):
    """small-cnn on 1.5-s chunks: its excerpts are the classical run's (1.5 s, no overlap), dealt the same way."""
    run_dir = run(run_cfg(tmp_path, clips, models=("small-cnn",), chunk_s=1.5, epochs=1, batch_size=8))
    split = expected_split(clips, 1.5)
    pred = pd.read_csv(run_dir / "predictions.csv")
    for part in ("valid", "test"):
        assert sorted(pred.loc[pred.split == part, "track_id"]) == sorted(split.index[split == part])
    m = pd.read_csv(run_dir / "metrics.csv")
    acc = m[(m.split == "test") & (m.metric == "accuracy")]["value"]
    assert acc.iloc[0] == pytest.approx(accuracy_by_hand(pred[pred.split == "test"]))
    config = json.loads((run_dir / "config.json").read_text())
    assert any("LEAKY BY DESIGN" in n for n in config["notes"])
    assert not any("padded" in n for n in config["notes"])  # 1.5 s = 65 frames: each item is one whole chunk


def test_excerpt_unit_needs_a_seeded_split(clips, tmp_path):
    with pytest.raises(ConfigError, match="split_unit='excerpt' deals excerpts at random"):
        run(run_cfg(tmp_path, clips, split=None, models=("lr",), excerpts=1.5))


def test_recipe_as_published_runs_on_excerpts_and_fault_filtered_is_unchanged(tmp_path, capsys):
    recipe = RECIPES["gtzan-cnn-study"]
    for group in recipe.groups:  # fault-filtered: tracks on the fixed split, as before
        cfg, _ = recipe.config(recipe.variant("fault-filtered"), group, {})
        assert cfg.split is None and cfg.split_unit == "track"
    root = gtzan_excerpts(tmp_path / "gtzan", 6.5)
    code = main(["--recipe", "gtzan-cnn-study", "--smoke", "--variant", "as-published", "--data-dir", str(root),
                 "--out", str(tmp_path), "--run-id", "smoke", "--n-jobs", "1", "--cache-dir", str(tmp_path / "cache"),
                 "--gallery", "0", "--no-analysis"])
    assert code == 0, capsys.readouterr().err
    top = tmp_path / "gtzan" / "smoke"
    info = json.loads((top / "config.json").read_text())["recipe"]
    assert not info["not_run"] and len(info["runs"]) == len(recipe.groups)
    assert any(d.startswith("Matches the study") for d in info["deviations"]["as-published"])
    # 6.5-s clips: 3-s excerpts, 2 per clip without overlap (experiment I), 3 at 50% (experiment II, classical).
    per_clip = {"exp1-mel": 2, "exp1-stft": 2, "exp1-mfcc": 2, "exp2": 3, "classical": 3}
    for group, n in per_clip.items():
        config = json.loads((top / "as-published" / group / "config.json").read_text())
        assert config["split_unit"] == "excerpt" and sum(config["n_tracks"].values()) == 30 * n, group
        assert any("LEAKY BY DESIGN" in note for note in config["notes"]), group
        pred = pd.read_csv(top / "as-published" / group / "predictions.csv")
        assert pred["track_id"].str.contains("#").all()
    df = pd.read_csv(top / "reproduction.csv", keep_default_na=False)
    assert set(df["variant"]) == {"as-published"} and df["status"].str.startswith("ok").any()
