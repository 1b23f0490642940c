"""benchmarks.stages: the per-stage timing of one clip's extraction wraps the functions the pipeline really
calls (every stage is timed, the wrapped run gives the same features), restores them afterwards (also
after an error), and its figures add up to the compute time it reports."""

import importlib
from collections import defaultdict

import numpy as np
import pytest

from benchmarks import speed, stages
from features import FeatureConfig, audio
from features.errors import ToolkitError

extract_mod = importlib.import_module("features.extract")


def _originals():
    return [getattr(importlib.import_module(m), f) for m, f, _ in stages.STAGES]


def test_every_stage_is_timed_and_the_features_are_unchanged(tmp_path):
    (p,) = speed.make_clips(tmp_path, 1, seconds=3.0)
    y = audio.load(str(p), sr=22050)
    ref = extract_mod.compute(y, FeatureConfig())
    before = _originals()
    totals = defaultdict(float)
    with stages.timed_stages(totals):
        got = extract_mod.compute(y, FeatureConfig())
    np.testing.assert_array_equal(got, ref)
    assert set(totals) == {label for _, _, label in stages.STAGES}  # each wrapped function was called
    assert all(v > 0 for v in totals.values())
    assert _originals() == before  # restored


def test_wrappers_are_restored_after_an_error():
    before = _originals()
    with pytest.raises(RuntimeError, match="boom"), stages.timed_stages({}):
        raise RuntimeError("boom")
    assert _originals() == before


def test_measure_adds_up_and_prints(tmp_path, capsys):
    paths = speed.make_clips(tmp_path, 2, seconds=2.0)
    m = stages.measure(paths, rounds=2)
    assert m["n_clips"] == 2 and m["rounds"] == 2 and m["decode_s"] > 0
    assert sum(m["stages_s"].values()) + m["not_attributed_s"] == pytest.approx(m["compute_s"])
    assert 0 < sum(m["stages_s"].values()) <= m["compute_s"] * 1.05  # the timers nest inside compute
    stages.print_stages(m)
    out = capsys.readouterr().out
    for _, _, label in stages.STAGES:
        assert label in out
    assert "after the STFT" in out and "not attributed" in out


def test_command_line(tmp_path, capsys):
    assert speed.main(["stages", "--rounds", "0"]) == 2
    assert "--rounds=0" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert speed.main(["stages", "--data-dir", str(tmp_path / "empty")]) == 2
    assert "no decodable audio" in capsys.readouterr().err
    speed.make_clips(tmp_path / "d", 2, seconds=1.0)
    assert speed.main(["stages", "--data-dir", str(tmp_path / "d"), "--rounds", "1"]) == 0
    assert "where extraction time goes: 2 clips" in capsys.readouterr().out


def test_a_file_that_does_not_decode_is_skipped_and_said(tmp_path, capsys):
    paths = speed.make_clips(tmp_path / "d", 2, seconds=1.0)
    bad = tmp_path / "d" / "truncated.wav"
    bad.write_bytes(paths[0].read_bytes()[:60])  # a WAV header and almost no data
    m = stages.measure([bad, *paths], rounds=1)
    assert m["n_clips"] == 2
    assert f"skipped {bad}" in capsys.readouterr().err
    with pytest.raises(ToolkitError, match="none of the 1 file"):
        stages.measure([bad], rounds=1)
