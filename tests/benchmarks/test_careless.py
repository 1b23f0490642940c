"""Careless input stops with exit code 2 and one line naming the value, before any work, and leaves no empty
run folder behind; a setting that would change nothing is refused instead of silently ignored."""

import pytest

from benchmarks import comparison
from benchmarks.run import main

SR = 22050


@pytest.mark.parametrize("argv, says", [
    (["--models", ""], "models='' lists nothing"),
    (["--strategies", " , "], "lists nothing"),
    (["--models", "small-cnn", "--tune"], "--tune has no effect"),
    (["--models", "small-cnn", "--excerpts", "2"], "--excerpts has no effect"),
    (["--models", "lr", "--epochs", "3"], "--epochs has no effect"),
    (["--models", "lr", "--no-resume"], "--no-resume has no effect"),
    (["--models", "lr", "--excerpt-overlap", "0.25"], "--excerpt-overlap has no effect"),
    (["--models", "lr", "--imbalance-ratio", "50"], "--imbalance-ratio has no effect"),
    (["--models", "lr", "--imbalance-profile", "step"], "--imbalance-profile has no effect"),
])
def test_a_setting_that_changes_nothing_stops_the_run(argv, says, tmp_path, capsys):
    code = main(["--dataset", "synthetic", "--data-dir", str(tmp_path / "d"), "--out", str(tmp_path / "r"), *argv])
    err = capsys.readouterr().err
    assert code == 2 and says in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists() and not (tmp_path / "d").exists()  # no work, no folder


def test_split_seed_on_a_fixed_split_stops_and_leaves_no_run_folder(pinned_folder, tmp_path, capsys):
    out = tmp_path / "results"
    code = main(["--dataset", "folder", "--data-dir", str(pinned_folder), "--models", "lr", "--split-seed", "3",
                 "--out", str(out), "--cache-dir", str(tmp_path / "c")])
    assert code == 2 and "--split-seed 3 has no effect on the fixed split 'pinned'" in capsys.readouterr().err
    assert not out.exists()
    # The same run without the flag works (the refusal is about the flag, not the data).
    assert main(["--dataset", "folder", "--data-dir", str(pinned_folder), "--models", "lr", "--out", str(out),
                 "--cache-dir", str(tmp_path / "c"), "--n-jobs", "1"]) == 0


def test_missing_dataset_leaves_no_empty_run_folder(tmp_path, capsys):
    out = tmp_path / "results"
    assert main(["--dataset", "gtzan", "--data-dir", str(tmp_path / "nowhere"), "--models", "lr",
                 "--out", str(out)]) == 2
    assert "gtzan" in capsys.readouterr().err
    assert not out.exists()


def test_a_library_error_is_one_line_not_a_traceback(pinned_folder, tmp_path, capsys, monkeypatch):
    def boom(self):
        raise ValueError("Found array with 0 sample(s)")

    monkeypatch.setattr(comparison.Experiment, "run", boom)
    out = tmp_path / "results"
    code = main(["--dataset", "folder", "--data-dir", str(pinned_folder), "--models", "lr", "--out", str(out),
                 "--cache-dir", str(tmp_path / "c")])
    err = capsys.readouterr().err
    assert code == 1
    assert "failed: ValueError: Found array with 0 sample(s) (rerun with -v for the traceback)" in err
    assert "Traceback" not in err
    assert not out.exists()


def test_clips_shorter_than_asked_are_said_in_the_notes(pinned_folder, tmp_path):
    """1-s clips with 2-s excerpts and 3-s CNN chunks: the run goes on, and config.json says what happened."""
    import json

    from benchmarks.config import RunConfig
    from benchmarks.run import run

    run_dir = run(RunConfig(dataset="folder", data_dir=str(pinned_folder), models=("lr", "small-cnn"), excerpts=2.0,
                            chunk_s=3.0, epochs=1, out=str(tmp_path / "r"), run_id="r", n_jobs=1,
                            cache_dir=str(tmp_path / "c")))
    notes = json.loads((run_dir / "config.json").read_text())["notes"]
    assert any("12 of 12 tracks are shorter than the 2-s excerpts" in n for n in notes), notes
    assert any(n.startswith("small-cnn: its input of 130 frames (3.0 s) is longer than the clips") and
               "padded with silence" in n for n in notes), notes  # padded, never looped


def test_a_config_setting_for_an_absent_family_stops_the_run(tmp_path, capsys):
    toml = tmp_path / "run.toml"
    toml.write_text('models = "lr"\n[spec]\nn_mels = 64\n')
    code = main(["--dataset", "synthetic", "--data-dir", str(tmp_path / "d"), "--config", str(toml),
                 "--out", str(tmp_path / "r")])
    assert code == 2 and "a SpecConfig setting has no effect" in capsys.readouterr().err
    toml.write_text('models = "small-cnn"\nn_mfcc = 40\n')
    code = main(["--dataset", "synthetic", "--data-dir", str(tmp_path / "d"), "--config", str(toml),
                 "--out", str(tmp_path / "r")])
    assert code == 2 and "a FeatureConfig setting has no effect" in capsys.readouterr().err
