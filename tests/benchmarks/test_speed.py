"""benchmarks.speed: the generated clips, the naive script's columns, and a tiny in-process run of `features`."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from benchmarks import speed
from features import FeatureConfig, extract


def test_clips_are_seeded_and_30_s_at_22050(tmp_path):
    a = speed.make_clips(tmp_path / "a", 2, seconds=1.0)
    b = speed.make_clips(tmp_path / "b", 2, seconds=1.0)
    x, sr = sf.read(a[1])
    assert sr == 22050 and len(x) == 22050 and np.abs(x).max() <= 0.9 + 1e-4
    np.testing.assert_array_equal(x, sf.read(b[1])[0])
    assert not np.array_equal(x, sf.read(a[0])[0])


def test_naive_script_computes_the_same_columns(tmp_path):
    (p,) = speed.make_clips(tmp_path, 1, seconds=4.0)
    naive = pd.Series(speed.naive_features(str(p)), index=FeatureConfig().columns())
    ours = extract(pd.DataFrame({"track_id": ["x"], "path": [str(p)]}), n_jobs=1, cache=False, progress=False).iloc[0]
    same = [c for c in ours.index if not c.startswith("chroma") and c != "tempo"]
    np.testing.assert_allclose(ours[same], naive[same], rtol=2e-4, atol=1e-2)
    # the script estimates the tuning per clip; ours is A440 unless told otherwise
    chroma = [c for c in ours.index if c.startswith("chroma")]
    assert np.corrcoef(ours[chroma], naive[chroma])[0, 1] > 0.9


def test_features_subcommand_end_to_end(tmp_path, capsys):
    s = speed.features_speed(n_clips=2, seconds=2.0, n_jobs=2, workdir=str(tmp_path / "w"), keep=True,
                             in_process=True)
    assert s["cache_hits"] == 2 and s["cache_equal"]
    assert set(s["clips_per_s"]) == {"naive_1", "naive_n", "fast_1", "fast_n", "mel_n"}
    assert s["phases"]["mel_n"]["shape"][0] == 128 and s["phases"]["mel_n"]["dtype"] == "float16"
    assert s["agreement_with_naive"]["mfcc"] < 1e-4
    speed.print_report(s)
    out = capsys.readouterr().out
    assert "PASS" in out or "MISS" in out
    for text in ("clips/s", "s/clip", "peak RSS", "served from cache", "target >= 10x", "agreement"):
        assert text in out
    assert Path(tmp_path / "w" / "clips" / "clip0001.wav").exists()


def test_command_line_lists_subcommands_and_rejects_bad_values(capsys):
    assert speed.main(["features", "--n-clips", "1"]) == 2
    assert "--n-clips=1" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        speed.main(["--help"])
    out = capsys.readouterr().out
    assert "features" in out and "train" in out
