"""benchmarks.scaling: the log-mel cache size it projects is the size the cache really stores, and the Dask phase
of `benchmarks.speed features --scheduler dask` runs on a real LocalCluster, gives the local pool's values and
prints its figures and the projection."""

import re

import numpy as np
import pandas as pd
import pytest

from benchmarks import scaling, speed
from features import spectrogram
from features.spectrogram import SPEC_PRESETS, SpecConfig


@pytest.mark.parametrize("preset", ["fma", "gtzan", "mtat"])
def test_the_projected_mel_bytes_are_what_the_cache_stores(tmp_path, preset):
    clips = speed.make_clips(tmp_path / "clips", 2, seconds=3.0)
    table = pd.DataFrame({"track_id": ["a", "b"], "path": [str(c) for c in clips]})
    sc = SPEC_PRESETS[preset]
    store = spectrogram(table, sc, n_jobs=1, cache_dir=tmp_path / "cache", progress=False)
    arr = store["a"]
    assert arr.dtype == np.float16
    assert scaling.mel_cache_bytes(3.0, sc) == arr.nbytes
    assert scaling.mel_cache_bytes(3.0) == scaling.mel_cache_bytes(3.0, SPEC_PRESETS["fma"])
    assert scaling.mel_cache_bytes(3.0, SpecConfig(n_mels=64)) * 2 == scaling.mel_cache_bytes(3.0, SpecConfig())


def test_projection_scales_with_audio_length_and_workers():
    rows = scaling.projection(0.03, 0.002, 30.0)
    large, full = rows
    assert large["tracks"] == full["tracks"] == 106_574
    # hours on 8 workers are an eighth of one worker's; whole tracks cost their length in clips
    assert large["hours"][8] == pytest.approx(large["hours"][1] / 8)
    assert large["hours"][1] == pytest.approx(106_574 * (0.03 + 0.002) / 3600)
    assert full["hours"][1] == pytest.approx(106_574 * (0.03 * full["seconds_per_track"] / 30 + 0.002) / 3600)
    assert full["seconds_per_track"] == pytest.approx(278.07, abs=0.01)  # 343 days over 106,574 tracks


def test_the_dask_phase_matches_the_local_pool_and_prints_its_figures(capsys):
    pytest.importorskip("distributed")
    s = speed.features_speed(n_clips=3, seconds=1.0, n_jobs=2, scheduler="dask", in_process=True)
    d = s["dask"]
    assert d["workers"] == 2 and d["n_clips"] == 3 and d["noop_seconds_per_task"] > 0
    speed.print_report(s)
    out = capsys.readouterr().out
    assert "Dask LocalCluster, 2 workers" in out and "identical values: True" in out
    m = re.search(r"scheduler overhead per task\s+(\d+\.\d+) ms", out)
    assert m and float(m.group(1)) == pytest.approx(d["noop_seconds_per_task"] * 1e3, abs=0.006)
    assert out.count("tracks  1 worker:") == len(scaling.COLLECTIONS)
