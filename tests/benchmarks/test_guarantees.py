"""What the toolkit guarantees, each as a test that fails if the property breaks: interrupted runs resume
to the same metrics, identical seeds give byte-identical results, and nothing held out reaches training."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from benchmarks.config import RunConfig
from benchmarks.run import run

SR = 22050
ROOT = Path(__file__).resolve().parents[2]


def make_folder(root: Path, n_classes=3, per_class=20, seconds=1.0):
    for c in range(n_classes):
        for i in range(per_class):
            rng = np.random.default_rng(c * 1000 + i)
            t = np.arange(int(SR * seconds)) / SR
            x = 0.4 * np.sin(2 * np.pi * 180 * 2 ** (c / 1.5) * (1 + 0.02 * rng.standard_normal()) * t)
            x += 0.1 * rng.standard_normal(len(t))
            p = root / f"c{c}" / f"t{i:03d}.wav"
            p.parent.mkdir(parents=True, exist_ok=True)
            sf.write(p, x.astype(np.float32), SR)
    return root


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return make_folder(tmp_path_factory.mktemp("music"))


def cli(data_dir, out, cache, *extra):
    return [sys.executable, "-m", "benchmarks.run", "--dataset", "folder", "--data-dir", str(data_dir), "--out",
            str(out), "--run-id", "r", "--cache-dir", str(cache), "--n-jobs", "1", *extra]


def run_until(cmd, pattern: str, env=None, wait_for=None, timeout=240) -> bool:
    """Start `cmd`, SIGKILL it once a log line matches `pattern` and then, if given, once `wait_for()` is
    true (polled every 10 ms); True if it was killed while still running."""
    proc = subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                            env={**os.environ, **(env or {})})
    deadline = time.time() + timeout
    for line in proc.stderr:
        if re.search(pattern, line):
            while wait_for is not None and not wait_for() and proc.poll() is None and time.time() < deadline:
                time.sleep(0.01)
            if proc.poll() is not None:
                return False
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return True
        if time.time() > deadline:
            break
    proc.kill()
    proc.wait()
    return False


def test_sigkill_during_cnn_training_resumes_to_the_same_metrics(folder, tmp_path):
    args = ("--models", "lr,small-cnn", "--epochs", "4")
    clean = subprocess.run(cli(folder, tmp_path / "clean", tmp_path / "cache-clean", *args), cwd=ROOT,
                           capture_output=True, text=True)
    assert clean.returncode == 0, clean.stderr[-2000:]
    cmd = cli(folder, tmp_path / "killed", tmp_path / "cache-killed", *args)
    assert run_until(cmd, r"epoch 2/4"), "the run ended before it could be interrupted"
    assert not (tmp_path / "killed" / "folder" / "r" / "metrics.csv").exists()
    again = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "resuming from" in again.stderr
    a = (tmp_path / "clean" / "folder" / "r" / "metrics.csv").read_bytes()
    b = (tmp_path / "killed" / "folder" / "r" / "metrics.csv").read_bytes()
    assert a == b


def test_sigkill_during_feature_extraction_resumes_from_the_cache(tmp_path):
    data = make_folder(tmp_path / "many", n_classes=3, per_class=60, seconds=2.0)
    args = ("--models", "lr,knn")
    env = {"MIRBENCH_COMMIT_SECONDS": "0"}  # commit every track, so that a kill keeps what was done
    cmd = cli(data, tmp_path / "killed", tmp_path / "cache", *args)
    # Kill as soon as the first shard of features is committed (however long numba takes to warm up).
    committed = lambda: any((tmp_path / "cache" / "features").rglob("shard-*.json"))  # noqa: E731
    assert run_until(cmd, r"features \(librosa\): \d+ tracks, 0 from cache", env=env, wait_for=committed)
    again = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env={**os.environ, **env})
    assert again.returncode == 0, again.stderr[-2000:]
    reused = int(re.search(r"features \(librosa\): 180 tracks, (\d+) from cache", again.stderr).group(1))
    assert 0 < reused < 180, reused  # killed mid-way; the finished part was kept and reused
    clean = subprocess.run(cli(data, tmp_path / "clean", tmp_path / "cache-clean", *args), cwd=ROOT,
                           capture_output=True, text=True)
    assert clean.returncode == 0
    assert (tmp_path / "clean" / "folder" / "r" / "metrics.csv").read_bytes() == (
        tmp_path / "killed" / "folder" / "r" / "metrics.csv").read_bytes()


def test_same_seed_byte_identical_different_seed_different(folder, tmp_path):
    def go(name, seeds):
        cfg = RunConfig(dataset="folder", data_dir=str(folder), models=("lr", "rf", "xgb", "mlp", "small-cnn"),
                        seeds=seeds, epochs=2, out=str(tmp_path / name), run_id="r", n_jobs=1,
                        cache_dir=str(tmp_path / f"cache-{name}"))
        return (run(cfg) / "metrics.csv").read_bytes()

    first, second = go("a", (0,)), go("b", (0,))
    assert first == second
    third = pd.read_csv(tmp_path / "b" / "folder" / "r" / "metrics.csv")
    other = pd.read_csv(pd.io.common.StringIO(go("c", (1,)).decode()))
    deep = lambda m: m[(m.model == "small-cnn") & (m.split == "valid")].set_index("metric")["value"]  # noqa: E731
    assert not np.allclose(deep(third).to_numpy(), deep(other).to_numpy())


def test_early_stopping_sees_validation_tracks_only(folder, tmp_path, monkeypatch):
    """Early stopping and checkpoint selection see the validation tracks, training sees training tracks only."""
    import deep.train as train

    seen = {"valid": [], "train": []}
    orig_fit = train.fit

    def spy_fit(model, train_ds, valid_ds, **kw):
        seen["train"].append(list(train_ds.track_ids))
        seen["valid"].append(list(valid_ds.track_ids))
        return orig_fit(model, train_ds, valid_ds, **kw)

    monkeypatch.setattr(train, "fit", spy_fit)
    cfg = RunConfig(dataset="folder", data_dir=str(folder), models=("small-cnn",), epochs=1, out=str(tmp_path),
                    run_id="r", n_jobs=1, cache_dir=str(tmp_path / "cache"))
    run_dir = run(cfg)
    pred = pd.read_csv(run_dir / "predictions.csv")
    test_ids = set(pred.loc[pred.split == "test", "track_id"])
    valid_ids = set(pred.loc[pred.split == "valid", "track_id"])
    assert seen["valid"] and set(seen["valid"][0]) == valid_ids
    assert not set(seen["train"][0]) & (test_ids | valid_ids)


def test_augmentation_reaches_training_and_is_seeded(folder, tmp_path):
    """--augment changes what the CNN learns; with the same seed it is still byte-identical."""

    def go(name, augment):
        cfg = RunConfig(dataset="folder", data_dir=str(folder), models=("small-cnn",), epochs=2, augment=augment,
                        out=str(tmp_path / name), run_id="r", n_jobs=1, cache_dir=str(tmp_path / f"c-{name}"))
        return (run(cfg) / "metrics.csv").read_bytes()

    plain, aug, aug_again = go("plain", False), go("aug", True), go("aug2", True)
    assert aug == aug_again
    assert aug != plain
