"""The feature cache: hits, invalidation by file identity and settings, integrity checks, resume, clearing."""

import importlib
import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import features
from features import FeatureConfig
from features import cache as fcache
from tests.features.signals import mix, table

fextract = importlib.import_module("features.extract")  # the module; `features.extract` is the function
ROOT = Path(__file__).resolve().parents[2]


def run(t, cache_dir, **kw):
    kw.setdefault("n_jobs", 1)
    return features.extract(t, cache_dir=cache_dir, progress=False, **kw)


@pytest.fixture
def tracks(tmp_path):
    return table(tmp_path / "audio", {f"t{i}": mix(2.0, seed=i) for i in range(4)})


def test_second_call_is_served_from_the_cache(tracks, tmp_path):
    first = run(tracks, tmp_path / "c")
    assert first.attrs["cache"]["hits"] == 0 and first.attrs["cache"]["computed"] == 4
    second = run(tracks, tmp_path / "c")
    assert second.attrs["cache"]["hits"] == 4 and second.attrs["cache"]["computed"] == 0
    pd.testing.assert_frame_equal(first, second)
    # a table in another order, with another track id for the same file, still hits
    other = tracks.iloc[::-1].assign(track_id=lambda d: d["track_id"] + "x")
    third = run(other, tmp_path / "c")
    assert third.attrs["cache"]["hits"] == 4
    np.testing.assert_array_equal(third.to_numpy(), first.to_numpy()[::-1])


def test_no_cache_writes_nothing(tracks, tmp_path):
    df = run(tracks, tmp_path / "c", cache=False)
    assert df.attrs["cache"]["dir"] is None
    assert not (tmp_path / "c").exists()


def test_default_cache_dir_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("MIRBENCH_CACHE", str(tmp_path / "env"))
    assert fcache.default_cache_dir() == tmp_path / "env"
    monkeypatch.delenv("MIRBENCH_CACHE")
    monkeypatch.chdir(tmp_path)
    assert fcache.default_cache_dir() == tmp_path / ".cache" / "mirbench"


def test_touching_or_rewriting_a_file_invalidates_only_that_file(tracks, tmp_path):
    first = run(tracks, tmp_path / "c")
    p = Path(tracks["path"][1])
    st = p.stat()
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    again = run(tracks, tmp_path / "c")
    assert again.attrs["cache"] == {**again.attrs["cache"], "hits": 3, "computed": 1}
    pd.testing.assert_frame_equal(first, again)
    import soundfile as sf

    sf.write(p, mix(2.0, seed=99), 22050, subtype="FLOAT")
    changed = run(tracks, tmp_path / "c")
    assert changed.attrs["cache"]["computed"] == 1
    assert not np.allclose(changed.loc["t1"], first.loc["t1"])
    pd.testing.assert_frame_equal(changed.drop(index="t1"), first.drop(index="t1"))


def test_settings_backend_excerpts_and_namespace_select_separate_folders(tracks, tmp_path):
    c = tmp_path / "c"
    base = fextract.cache_dir_for(FeatureConfig(), cache_dir=c).path
    assert fextract.cache_dir_for(FeatureConfig(), cache_dir=c).path == base
    others = [
        fextract.cache_dir_for(FeatureConfig(n_mfcc=13), cache_dir=c).path,
        fextract.cache_dir_for(FeatureConfig(), backend="essentia", cache_dir=c).path,
        fextract.cache_dir_for(FeatureConfig(), excerpts=features.ExcerptConfig(), cache_dir=c).path,
        fextract.cache_dir_for(FeatureConfig(), cache_dir=c, namespace="gtzan").path,
    ]
    assert len({base, *others}) == 5
    run(tracks, c)
    df = run(tracks, c, config=FeatureConfig(n_mfcc=13))
    assert df.attrs["cache"]["hits"] == 0
    meta = json.loads((base / "config.json").read_text())
    assert meta["config"]["n_mfcc"] == 20 and meta["backend"] == "librosa"


def _only_shard(folder: Path) -> tuple[Path, Path]:
    (sidecar,) = folder.glob("shard-*.json")
    return sidecar.with_suffix(".npy"), sidecar


def test_a_corrupted_shard_is_never_read_back(tracks, tmp_path, caplog):
    first = run(tracks, tmp_path / "c")
    data, _ = _only_shard(Path(first.attrs["cache"]["dir"]))
    raw = bytearray(data.read_bytes())
    raw[-3] ^= 0xFF  # same size, different bytes: the CRC catches it
    data.write_bytes(bytes(raw))
    with caplog.at_level(logging.WARNING, logger="features.cache"):
        again = run(tracks, tmp_path / "c")
    assert "CRC-32" in caplog.text
    assert again.attrs["cache"]["hits"] == 0
    pd.testing.assert_frame_equal(first, again)


def test_a_truncated_or_uncommitted_shard_is_ignored(tracks, tmp_path, caplog):
    first = run(tracks, tmp_path / "c")
    folder = Path(first.attrs["cache"]["dir"])
    data, sidecar = _only_shard(folder)
    data.write_bytes(data.read_bytes()[:-10])
    with caplog.at_level(logging.WARNING, logger="features.cache"):
        again = run(tracks, tmp_path / "c")
    assert "ignoring shard" in caplog.text and again.attrs["cache"]["hits"] == 0
    pd.testing.assert_frame_equal(first, again)
    # A data file whose sidecar was never written (killed between the two) does not count...
    for sc in folder.glob("shard-*.json"):
        sc.unlink()
    assert fcache.ShardDir(folder).shards() == []
    assert run(tracks, tmp_path / "c").attrs["cache"]["hits"] == 0
    # ...and is removed once it is older than any writer could still be working on it.
    stale = next(folder.glob("shard-*.npy"))
    sidecar_of_stale = stale.with_suffix(".json")
    sidecar_of_stale.unlink(missing_ok=True)
    old = time.time() - fcache.ORPHAN_AGE_S - 60
    os.utime(stale, (old, old))
    fcache.ShardDir(folder).shards()
    assert not stale.exists()


def test_many_small_commits_are_compacted(tracks, tmp_path, monkeypatch):
    monkeypatch.setattr(fextract, "COMMIT_EVERY", 1)
    monkeypatch.setattr(fcache, "COMPACT_ABOVE", 2)
    first = run(tracks, tmp_path / "c")
    folder = Path(first.attrs["cache"]["dir"])
    assert len(list(folder.glob("shard-*.json"))) == 1
    again = run(tracks, tmp_path / "c")
    assert again.attrs["cache"]["hits"] == 4
    pd.testing.assert_frame_equal(first, again)


RESUME_SCRIPT = textwrap.dedent(
    """
    import importlib, os, signal, sys, threading, time
    import pandas as pd
    import features
    fe = importlib.import_module("features.extract")
    fe.COMMIT_EVERY = 1
    table = pd.read_json(sys.argv[1])
    cache_dir = sys.argv[2]

    def watch():
        while True:
            found = []
            for root, _, files in os.walk(cache_dir):
                found += [f for f in files if f.startswith("shard-") and f.endswith(".json")]
            if len(found) >= 2:
                os.kill(os.getpid(), signal.SIGKILL)
            time.sleep(0.002)

    threading.Thread(target=watch, daemon=True).start()
    features.extract(table, n_jobs=1, cache_dir=cache_dir, progress=False)
    print("finished without being killed")
    """
)


def test_a_killed_run_resumes_where_it_stopped(tmp_path):
    short = {f"a{i}": mix(1.0, seed=i) for i in range(2)}
    long = {f"b{i}": mix(20.0, seed=10 + i) for i in range(4)}
    t = table(tmp_path / "audio", {**short, **long})
    spec = tmp_path / "table.json"
    t.to_json(spec)
    cache_dir = tmp_path / "c"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", RESUME_SCRIPT, str(spec), str(cache_dir)], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stdout + proc.stderr
    resumed = run(t, cache_dir)
    hits = resumed.attrs["cache"]["hits"]
    assert 2 <= hits < len(t)
    assert hits + resumed.attrs["cache"]["computed"] == len(t)
    pd.testing.assert_frame_equal(resumed, run(t, tmp_path / "fresh", cache=False))


def test_clear_and_the_command_line(tracks, tmp_path, capsys):
    c = tmp_path / "c"
    run(tracks, c)
    run(tracks, c, namespace="other")
    info = fcache.info(c)
    assert set(info["namespace"]) == {"default", "other"} and (info["entries"] == 4).all()
    assert fcache.main(["--cache-dir", str(c), "info"]) == 0
    assert "features" in capsys.readouterr().out
    freed = fcache.clear(c, kind="features", namespace="other")
    assert freed > 0 and not (c / "features" / "other").exists() and (c / "features" / "default").exists()
    assert fcache.main(["--cache-dir", str(c), "clear"]) == 0
    assert "freed" in capsys.readouterr().out
    assert not (c / "features").exists()
    assert run(tracks, c).attrs["cache"]["hits"] == 0
    with pytest.raises(ValueError, match="kind='audio'"):
        fcache.clear(c, kind="audio")
    with pytest.raises(ValueError, match="namespace='../x'"):
        run(tracks, c, namespace="../x")


def test_an_unwritable_cache_folder_is_reported_and_extraction_goes_on(tracks, tmp_path, caplog):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with caplog.at_level(logging.WARNING, logger="features.cache"):
        df = run(tracks, blocker / "cache")
    assert "going on without caching" in caplog.text
    pd.testing.assert_frame_equal(df, run(tracks, tmp_path / "c", cache=False))
    with pytest.raises(features.errors.ToolkitError, match="writable folder"):
        features.spectrogram(tracks, cache_dir=blocker / "cache", n_jobs=1, progress=False)
