"""Strategy names with a sampler size (`upsample@0.25`): parsing and its errors, the size reaching the sampler
in both families, and the full name as the strategy label of a run (metrics.csv, the study's comparison)."""

import math
import types

import numpy as np
import pandas as pd
import pytest

from benchmarks.config import RunConfig
from benchmarks.families.strategies import action, get_strategy, make_sampler, strategies
from benchmarks.registry import validate
from benchmarks.run import main, parse
from features.errors import ConfigError
from resampling import get_sampler
from resampling.samplers import Upsample

TINY = {"genres": "classical,metal,reggae,disco", "tracks_per_genre": 10, "artists_per_genre": 3, "duration": 1.0,
        "jobs": 1}


def level(size, n_max):
    """The scheme's target count, by hand: round(size * n_max) with halves rounded up."""
    return math.floor(size * n_max + 0.5)


# -- names ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, message", [
    ("upsampl@0.5", "unknown strategy 'upsampl' in 'upsampl@0.5'; choose from none, "),
    ("smoth", "unknown strategy 'smoth'; choose from "),
    ("ros@0.5", "strategy 'ros@0.5': ros takes no parameter after '@'; a size is taken by upsample, downsample"),
    ("focal@1", "strategy 'focal@1': focal takes no parameter"),
    ("none@1", "strategy 'none@1': none takes no parameter"),
    ("downsample@1.5", r"strategy 'downsample@1.5': size=1.5 must be a float in the range \[0.0, 1.0\] for downsample"),
    ("downsample@-0.1", r"size=-0.1 must be a float in the range \[0.0, 1.0\]"),
    ("upsample@-1", r"strategy 'upsample@-1': size=-1 must be a float in the range \[0.0, inf\) for upsample"),
    ("upsample@abc", "strategy 'upsample@abc': the size 'abc' after '@' must be a number, e.g. upsample@0.25"),
    ("upsample@", "the size '' after '@' must be a number"),
    ("upsample@nan", "the size 'nan' after '@' must be a number"),
    ("downsample@inf", "the size 'inf' after '@' must be a number"),
    ("upsample@0.5@1", "the size '0.5@1' after '@' must be a number"),
])
def test_bad_names_are_refused_with_the_value_and_what_was_expected(name, message):
    with pytest.raises(ConfigError, match=message):
        get_strategy(name)
    with pytest.raises(ConfigError, match=message):
        action(name, "classical", model="lr", task="single")


def test_a_sized_name_is_its_table_entry_with_a_size_and_a_plain_name_is_unchanged():
    table = strategies()
    assert get_strategy("upsample") is table["upsample"] and table["upsample"].size is None
    s = get_strategy("upsample@.50")
    assert (s.name, s.base, s.size) == ("upsample@0.5", "upsample", 0.5)  # written canonically
    assert (s.tasks, s.classical, s.deep) == (table["upsample"].tasks, "sampler", "resample-tracks")
    assert get_strategy("downsample@1").name == "downsample@1" and get_strategy("downsample@0").size == 0.0
    assert get_strategy("upsample@3").size == 3.0  # upsample's range has no upper end
    assert action("downsample@0.25", "deep", model="fcn5", task="multi") == ("resample-tracks", "")
    act, why = action("upsample@0.5", "classical", model="lr", task="single")
    assert act == "sampler" and why == ""
    assert make_sampler("upsample").get_params()["size"] == 1.0  # today's default
    with pytest.raises(ConfigError, match="strategy 'focal' is not a sampler; choose from ros, "):
        make_sampler("focal")
    assert make_sampler("downsample@0.75", random_state=3).get_params() == get_sampler(
        "downsample", size=0.75, random_state=3).get_params()


def test_the_runner_takes_sized_names_from_the_command_line_and_toml(tmp_path):
    cfg, _ = parse(["--dataset", "synthetic", "--data-dir", str(tmp_path), "--models", "lr",
                    "--strategies", "none,upsample@0.25,downsample@.5"])
    assert cfg.strategies == ("none", "upsample@0.25", "downsample@.5")
    assert validate(cfg).strategies == ("none", "upsample@0.25", "downsample@0.5")
    toml = tmp_path / "run.toml"
    toml.write_text('dataset = "synthetic"\nmodels = ["lr"]\nstrategies = ["upsample@0.75", "upsample"]\n')
    cfg, _ = parse(["--config", str(toml), "--data-dir", str(tmp_path)])
    assert validate(cfg).strategies == ("upsample@0.75", "upsample")
    with pytest.raises(ConfigError, match="lists a strategy twice"):
        validate(RunConfig(dataset="synthetic", data_dir=str(tmp_path), models=("lr",),
                           strategies=("upsample@0.5", "upsample@0.50")))
    with pytest.raises(ConfigError, match=r"size=2 must be a float in the range \[0.0, 1.0\]"):
        validate(RunConfig(dataset="synthetic", data_dir=str(tmp_path), models=("lr",), strategies=("downsample@2",)))
    code = main(["--dataset", "synthetic", "--data-dir", str(tmp_path), "--models", "lr",
                 "--strategies", "ros@0.5", "--out", str(tmp_path / "r")])
    assert code == 2


# -- the size reaches the sampler ------------------------------------------------------------------------------
# Counts 10, 4 and 1: max 10, min 1. By hand (halves up):
#   upsample@0.25: level round(2.5) = 3 -> 10, 4, 3;  upsample@0.5: level 5 -> 10, 5, 5;  upsample: 10, 10, 10
#   downsample@0.5: remove round(4.5) = 5 and round(1.5) = 2 -> 5, 2, 1;  downsample@1: 1, 1, 1
Y1 = np.array([0] * 10 + [1] * 4 + [2] * 1)
HAND = {"upsample@0.25": [10, 4, 3], "upsample@0.5": [10, 5, 5], "upsample": [10, 10, 10],
        "downsample@0.5": [5, 2, 1], "downsample@1": [1, 1, 1], "downsample@0": [10, 4, 1]}


@pytest.mark.parametrize("name", list(HAND))
def test_the_sized_sampler_is_the_samplers_own_with_that_size(name):
    X = np.arange(len(Y1), dtype=float).reshape(-1, 1)
    s = get_strategy(name)
    ours = make_sampler(name, random_state=7)
    X_res, y_res = ours.fit_resample(X, Y1)
    ref = get_sampler(s.base, random_state=7, **({} if s.size is None else {"size": s.size}))
    ref.fit_resample(X, Y1)
    np.testing.assert_array_equal(ours.sample_indices_, ref.sample_indices_)
    assert np.bincount(y_res, minlength=3).tolist() == HAND[name]
    if s.base == "upsample" and s.size is not None:
        assert np.bincount(y_res).max() == 10 and np.bincount(y_res)[2] == max(1, level(s.size, 10))


# A multi-hot label matrix: 8 rows of A, 3 of B, 1 of B+C, 1 of C (counts A 8, B 4, C 2). upsample@0.5: level 4;
# C is raised first, from its only single-label row (2 copies) -> 8, 4, 4 and 15 rows. upsample: level 8; C gets 6
# copies of its single-label row, then B 4 copies of single-label B rows -> 8, 8, 8 and 23 rows.
Y_MULTI = np.array([[1, 0, 0]] * 8 + [[0, 1, 0]] * 3 + [[0, 1, 1]] + [[0, 0, 1]])
HAND_MULTI = {"upsample@0.5": ([8, 4, 4], 15), "upsample": ([8, 8, 8], 23)}


@pytest.mark.parametrize("name", list(HAND_MULTI))
def test_the_deep_family_resamples_tracks_with_the_size(name):
    from benchmarks.families.deep import strategy_parts

    notes = []
    ctx = types.SimpleNamespace(task="multi", classes=["a", "b", "c"], targets={"train": Y_MULTI}, note=notes.append)
    loss, tracks = strategy_parts(ctx, "small-cnn", name, seed=5, batch_size=4)
    s = get_strategy(name)
    ref = get_sampler("upsample", task="multi", random_state=5, **({} if s.size is None else {"size": s.size}))
    ref.fit_resample(np.arange(len(Y_MULTI), dtype=float).reshape(-1, 1), Y_MULTI)
    assert loss is None and not notes
    np.testing.assert_array_equal(tracks.indices, ref.sample_indices_)
    counts, n = HAND_MULTI[name]
    assert Y_MULTI[tracks.indices].sum(0).tolist() == counts and len(tracks.indices) == n


# -- end to end ------------------------------------------------------------------------------------------------
def test_a_study_run_keys_its_results_by_the_full_name(tmp_path, monkeypatch):
    """The runner on the generated corpus (imbalance study, lr): one row per sized strategy in metrics.csv, each
    compared with none in study.csv."""
    seen = []
    fit_resample = Upsample.fit_resample

    def spy(self, X, y):
        X_res, y_res = fit_resample(self, X, y)
        seen.append((self.size, np.bincount(y).tolist(), np.bincount(y_res).tolist()))
        return X_res, y_res

    monkeypatch.setattr(Upsample, "fit_resample", spy)
    opts = [x for k, v in TINY.items() for x in ("--dataset-option", f"{k}={v}")]
    code = main(["--dataset", "synthetic", "--data-dir", str(tmp_path / "data"), *opts, "--models", "lr",
                 "--features", "mfcc", "--strategies", "upsample@0.5,upsample@0.75,upsample", "--study", "imbalance",
                 "--imbalance-ratio", "4", "--out", str(tmp_path / "out"), "--run-id", "r", "--n-jobs", "1",
                 "--cache-dir", str(tmp_path / "cache"), "--no-analysis", "--gallery", "0"])
    assert code == 0
    run_dir = tmp_path / "out" / "synthetic" / "r"
    m = pd.read_csv(run_dir / "metrics.csv")
    assert set(m["strategy"]) == {"none", "upsample@0.5", "upsample@0.75", "upsample"}
    test = m[(m["split"] == "test") & (m["metric"] == "macro_f1")]
    assert sorted(test["strategy"]) == ["none", "upsample", "upsample@0.5", "upsample@0.75"]
    # each fit's sampler had its size, and raised every class to the hand-computed level
    assert sorted(size for size, _, _ in seen) == [0.5, 0.75, 1.0]
    for size, before, after in seen:
        assert after == [max(c, level(size, max(before))) for c in before]
    before = seen[0][1]
    assert before != [max(before)] * len(before)  # the study's subset is imbalanced: size 1 changes it
    study = pd.read_csv(run_dir / "study.csv")
    sized = study[study["strategy"] == "upsample@0.5"]
    assert len(sized) and (study["strategy"] == "none").any()
    assert "upsample@0.5" in (run_dir / "study.md").read_text()
