"""Excerpt items in their track's split (split_unit="excerpt-in-track") with a trim at both ends of every track:
the counts and starts by hand, the config's refusals, the deep store view of the trimmed frames, a run on a
fixture of MTG-Jamendo's real layout with long clips, and the Jamendo mood recipe's as-published variant."""

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from benchmarks.config import RunConfig
from benchmarks.excerpt_items import ExcerptView, excerpt_counts, excerpt_table, grid
from benchmarks.recipes import RECIPES
from benchmarks.registry import no_effect
from benchmarks.run import main, run
from features.config import ExcerptConfig
from features.errors import ConfigError
from tests.benchmarks.fixtures_tagging import build_jamendo, jamendo_tracks, write_mp3

FRAME = ExcerptConfig(length=29.1, overlap=0.0)  # the mood study's frames


def tracks(durations: dict[str, float]) -> pd.DataFrame:
    return pd.DataFrame({"track_id": list(durations), "path": [f"/x/{t}.mp3" for t in durations],
                         "labels": [("a",)] * len(durations), "group": [f"g-{t}" for t in durations],
                         "split": "train", "duration": list(durations.values())})


def test_trimmed_counts_and_starts_by_hand():
    # floor((d - 2 * 20 - 29.1) / 29.1) + 1 whole frames: 100 s -> floor(30.9 / 29.1) + 1 = 2, 130 s -> 3,
    # 69.2 s -> 1 (29.2 s left), 69.0 s -> 0 (29.0 s left: the incomplete frame is dropped).
    durations = {"a": 100.0, "b": 130.0, "c": 69.2, "d": 69.0}
    assert excerpt_counts(list(durations.values()), FRAME, trim=20.0).tolist() == [2, 3, 1, 0]
    items = excerpt_table(tracks(durations), FRAME, trim=20.0)
    assert items["track_id"].tolist() == ["a#00", "a#01", "b#00", "b#01", "b#02", "c#00"]
    assert items["start"].tolist() == pytest.approx([20.0, 49.1, 20.0, 49.1, 78.2, 20.0])
    assert items["duration"].tolist() == pytest.approx([29.1] * 6)  # whole frames only
    assert (items["start"] + items["length"] <= items["source"].map(durations) - 20.0 + 1e-9).all()
    # Half overlap (hop 14.55 s): floor((60 - 29.1) / 14.55) + 1 = 3 frames in a 100-s track.
    assert excerpt_counts([100.0], ExcerptConfig(29.1, 0.5), trim=20.0).tolist() == [3]
    # Without a trim a short track is still one item (the whole track), as before; 100 s: floor(70.9 / 29.1) + 1.
    assert excerpt_counts([20.0, 100.0], FRAME).tolist() == [1, 3]


def test_config_refuses_what_the_trim_and_the_mode_cannot_do():
    with pytest.raises(ConfigError, match="excerpt_trim=-1.0 must be a number of seconds >= 0"):
        RunConfig(split_unit="excerpt-in-track", excerpt_trim=-1.0)
    with pytest.raises(ConfigError, match="--excerpt-trim has no effect: it trims tracks before they are cut into "
                                          "excerpt items and --split-unit is not one of excerpt, excerpt-in-track"):
        no_effect(RunConfig(excerpt_trim=20.0), ("small-cnn",))
    no_effect(RunConfig(split_unit="excerpt-in-track", excerpt_trim=20.0), ("small-cnn",))  # in effect: no error
    for kw, what in (({"split": "kfold"}, "--split kfold"), ({"study": "imbalance"}, "--study imbalance")):
        with pytest.raises(ConfigError, match=f"split_unit='excerpt-in-track' does not combine with {what}"):
            RunConfig(split_unit="excerpt-in-track", **kw)
    with pytest.raises(ConfigError, match="acts on deep models' excerpts only"):
        grid(RunConfig(split_unit="excerpt-in-track", excerpts=3.0, excerpt_trim=20.0), ("lr",))
    cfg = RunConfig(split_unit="excerpt-in-track", chunk_s=29.1, excerpt_trim=20.0)
    assert grid(cfg, ("small-cnn",)) == FRAME


def test_view_reads_the_trimmed_frames():
    # 10 frames per second: a 29.1-s frame is 292 frames (0 .. 291), frame k starts at (20 + 29.1 k) * 10.
    base = {"a": np.arange(2 * 1000, dtype=np.float32).reshape(2, 1000), "short": np.zeros((2, 300), np.float32)}
    items = excerpt_table(tracks({"a": 100.0, "short": 100.0}), FRAME, trim=20.0)
    view = ExcerptView(base, items, rate=10.0, frames=True)
    np.testing.assert_array_equal(view["a#00"], base["a"][:, 200:492])
    np.testing.assert_array_equal(view["a#01"], base["a"][:, 491:783])
    # "short" is listed at 100 s but holds 30 s: its second frame (start 491) lies past the stored end.
    assert "short#00" in view and "short#01" not in view and view.beyond == ["short#01"]
    assert len(view) == 3


# -- a fixture of MTG-Jamendo's layout with long clips (the shared fixture's are 1 s) ------------------------
# track number -> seconds; part in split-0: train 215, 917542, 917543, 1396987, 87483, 1222940; validation
# 938389, 918148; test 1026811, 1181911, 1181943 (the moodtheme subset: the tracks with a mood tag).
SECONDS = {215: 100.0, 917542: 75.0, 917543: 75.0, 1396987: 100.0, 87483: 75.0, 1222940: 45.0,
           938389: 75.0, 918148: 100.0, 1026811: 100.0, 1181911: 75.0, 1181943: 45.0}


@pytest.fixture(scope="module")
def long_jamendo(tmp_path_factory):
    root = tmp_path_factory.mktemp("jamendo_long")
    listed = jamendo_tracks()
    for t in listed:
        t.duration = SECONDS.get(t.number, 1.0)
    build_jamendo(root, listed, audio=False)
    for i, t in enumerate(listed):
        if t.number in SECONDS:
            write_mp3(root / "audio" / t.rel_path, t.duration, seed=i)
    return root, {t.track_id: t.parts[0].replace("validation", "valid") for t in listed if t.number in SECONDS}


def by_hand(parts: dict[str, str], length: float, trim: float) -> pd.Series:
    """The split of every item: floor((d - 2 trim - length) / length) + 1 frames per track, in its track's part."""
    out = {}
    for tid, part in parts.items():
        left = SECONDS[int(tid.split("_")[1])] - 2 * trim
        for k in range(int((left - length) // length) + 1 if left >= length else 0):
            out[f"{tid}#{k:02d}"] = part
    return pd.Series(out)


def test_run_scores_one_row_per_item_each_in_its_tracks_split(long_jamendo, tmp_path):
    root, parts = long_jamendo
    cfg = RunConfig(dataset="jamendo", data_dir=str(root), dataset_options=(("subset", "moodtheme"),),
                    split_unit="excerpt-in-track", excerpt_trim=20.0, models=("small-cnn",), chunk_s=10.0,
                    epochs=1, batch_size=4, n_jobs=1, out=str(tmp_path / "results"), run_id="r",
                    cache_dir=str(tmp_path / "cache"))
    run_dir = run(cfg)
    want = by_hand(parts, 10.0, 20.0)  # 100 s: 6 items, 75 s: 3, 45 s: none (5 s left)
    assert want.value_counts().to_dict() == {"train": 21, "valid": 9, "test": 9}
    config = json.loads((run_dir / "config.json").read_text())
    assert config["split_unit"] == "excerpt-in-track" and config["n_tracks"] == want.value_counts().to_dict()
    assert any("items are excerpts of tracks, each in its track's split" in n for n in config["notes"])
    assert not any("LEAKY" in n for n in config["notes"])
    table = (run_dir / "table.md").read_text()  # the pasted table says what its items are, and that nothing leaks
    assert "Items are EXCERPTS of tracks, after dropping 20 s at both ends" in table and "leak" not in table
    skipped = pd.read_csv(run_dir / "skipped.csv")
    short = skipped[skipped.stage == "excerpts"]
    assert sorted(short["path"].str.extract(r"(\d+)\.mp3")[0].astype(int)) == [1181943, 1222940]
    assert short["reason"].str.contains("45 s long: no whole 10-s excerpt after dropping 20 s").all()
    pred = pd.read_csv(run_dir / "predictions.csv", keep_default_na=False)
    for part in ("valid", "test"):
        rows = pred[pred.split == part]
        assert sorted(rows["track_id"]) == sorted(want.index[want == part])  # one row per item
    test = pred[pred.split == "test"]
    classes = [c[2:] for c in test.columns if c.startswith("p:")]
    Y = np.array([[c in s.split("|") for c in classes] for s in test["labels"]], dtype=int)
    P = test[[f"p:{c}" for c in classes]].to_numpy()
    m = pd.read_csv(run_dir / "metrics.csv")
    auc = m[(m.split == "test") & (m.metric == "roc_auc_micro")]["value"]
    assert len(auc) == 1 and auc.iloc[0] == pytest.approx(roc_auc_score(Y.ravel(), P.ravel()))


def test_jamendo_recipe_as_published_runs_on_frames_with_smoke(long_jamendo, tmp_path, capsys):
    recipe = RECIPES["jamendo-mood-resampling"]
    cfg, _ = recipe.config(recipe.variant("corrected"), recipe.group("base"), {})
    assert cfg.split_unit == "track" and cfg.excerpt_trim == 0.0  # corrected stays track-level
    root, parts = long_jamendo
    code = main(["--recipe", "jamendo-mood-resampling", "--smoke", "--variant", "as-published", "--data-dir",
                 str(root), "--out", str(tmp_path), "--run-id", "smoke", "--n-jobs", "1", "--cache-dir",
                 str(tmp_path / "cache"), "--gallery", "0", "--no-analysis"])
    assert code == 0, capsys.readouterr().err
    top = tmp_path / "jamendo" / "smoke"
    info = json.loads((top / "config.json").read_text())["recipe"]
    assert not info["not_run"] and any(d.startswith("Matches the study") for d in info["deviations"]["as-published"])
    want = by_hand(parts, 29.1, 20.0)  # 100 s: 2 frames (starts 20 and 49.1 s), 75 s: 1, 45 s: none
    assert want.value_counts().to_dict() == {"train": 7, "valid": 3, "test": 3}
    for group in ("base", "resampled"):
        config = json.loads((top / "as-published" / group / "config.json").read_text())
        assert config["split_unit"] == "excerpt-in-track" and config["excerpt_trim"] == 20.0
        assert config["n_tracks"] == want.value_counts().to_dict(), group
        # a frame is 1 + floor(29.1 * 12000 / 1024) = 342 log-mel frames, at least fcn5-mood's 256: no padding
        assert config["models"] == ["fcn5-mood"] and not any("padded" in n for n in config["notes"]), config["notes"]
        pred = pd.read_csv(top / "as-published" / group / "predictions.csv")
        assert pred["strategy"].nunique() == (1 if group == "base" else 8)
        for strategy, test in pred[pred.split == "test"].groupby("strategy"):  # every fit scores the frames
            assert sorted(test["track_id"]) == sorted(want.index[want == "test"]), (group, strategy)
    df = pd.read_csv(top / "reproduction.csv", keep_default_na=False)
    assert df["status"].str.startswith("ok").any()
