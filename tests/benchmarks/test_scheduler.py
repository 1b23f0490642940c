"""--scheduler dask: extraction, the log-mel cache and the fit grid on a real 2-worker Dask LocalCluster give
byte-identical results to the local pool, also when a worker is killed mid-run; without Dask the flag stops
with exit code 2 and the install command."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed")

from benchmarks.config import RunConfig  # noqa: E402
from benchmarks.run import run  # noqa: E402
from features import scheduler  # noqa: E402
from features.errors import ConfigError  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
TINY = (("genres", "blues,classical,metal,pop"), ("tracks_per_genre", "10"), ("artists_per_genre", "3"),
        ("duration", "1.0"), ("jobs", "1"))
MODELS = ("lr", "rf", "small-cnn")
COMPARED = ("metrics.csv", "predictions.csv", "curves.csv", "skipped.csv")


@pytest.fixture(scope="module")
def cluster():
    """A LocalCluster with 2 single-threaded worker processes, used through its address (tcp://...)."""
    with scheduler.session("dask", n_workers=2) as client:
        yield client


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return tmp_path_factory.mktemp("sched")


def cfg(tmp: Path, run_id: str, **kw) -> RunConfig:
    base = dict(dataset="synthetic", data_dir=str(tmp / "data"), dataset_options=TINY, models=MODELS, epochs=2,
                out=str(tmp / "results"), run_id=run_id, n_jobs=2, cache_dir=str(tmp / f"cache-{run_id}"))
    base.update(kw)
    return RunConfig(**base)


@pytest.fixture(scope="module")
def local_run(corpus):
    return run(cfg(corpus, "local"))


def same_files(a: Path, b: Path) -> None:
    for name in COMPARED:
        if (a / name).exists() or (b / name).exists():
            assert (a / name).read_bytes() == (b / name).read_bytes(), f"{name} differs"


def test_dask_run_is_byte_identical_and_runs_on_the_workers(corpus, local_run, cluster):
    with distributed.get_task_stream(cluster) as ts:
        dask_run = run(cfg(corpus, "dask", scheduler=cluster.scheduler.address))
    same_files(local_run, dask_run)
    names = {t["key"][0] if isinstance(t["key"], tuple) else t["key"] for t in ts.data}
    kinds = {str(k).split("-")[0] for k in names}
    # features (_work of features.extract), the log-mel build (_work of features.spectrogram), the fits
    assert {"_work", "fit"} <= kinds, kinds
    workers = {t["worker"] for t in ts.data}
    assert len(workers) == 2  # both workers took tasks
    n_fits = sum(str(k).startswith("fit-") for k in names)
    assert n_fits == len(MODELS)


def _pids(client) -> dict:
    return client.run(os.getpid)


def test_a_worker_killed_mid_fit_is_replaced_and_the_results_do_not_change(corpus, local_run, cluster):
    before = _pids(cluster)
    killed: dict = {}

    def killer():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not killed:
            for addr, keys in cluster.processing().items():
                fits = [k for k in keys if str(k).startswith("fit-") and "small-cnn" in str(k)]
                if fits and addr in before:
                    time.sleep(0.3)  # inside the fit, not at its first line
                    if fits[0] not in cluster.processing().get(addr, ()):
                        continue  # it finished meanwhile: wait for the next chance (there is none: fails below)
                    os.kill(before[addr], signal.SIGKILL)
                    killed.update(addr=addr, pid=before[addr], task=fits[0])
                    return
            time.sleep(0.01)

    th = threading.Thread(target=killer, daemon=True)
    th.start()
    dask_run = run(cfg(corpus, "killed", scheduler=cluster.scheduler.address))
    th.join(timeout=5)
    assert killed, "the small-cnn fit was never seen running on a worker"
    same_files(local_run, dask_run)
    cluster.wait_for_workers(2, timeout=60)
    after = _pids(cluster)
    assert killed["pid"] not in after.values()  # the nanny started a new process in its place


def test_scheduler_values_are_checked():
    assert scheduler.check(None) == "local" and scheduler.check(" dask ") == "dask"
    assert scheduler.check("tcp://10.0.0.5:8786") == "tcp://10.0.0.5:8786"
    for bad, needle in (("cluster", "must be 'local', 'dask'"), ("tcp://", "names no host"),
                        ("tcp://:8786", "names no host")):
        with pytest.raises(ConfigError, match=needle):
            scheduler.check(bad)
    with pytest.raises(ConfigError, match="scheduler="):
        RunConfig(scheduler="slurm")


def test_an_unreachable_scheduler_is_a_config_error():
    with pytest.raises(ConfigError, match="cannot connect"):
        with scheduler.session("tcp://127.0.0.1:9", connect_timeout=2):  # the discard port: nothing listens
            pass


HIDE_DASK = """
import importlib.abc, sys
class Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('dask', 'distributed'):
            raise ModuleNotFoundError(name)
        return None
sys.meta_path.insert(0, Hide())
sys.argv = ['benchmarks.run'] + sys.argv[1:]
import runpy
runpy.run_module('benchmarks.run', run_name='__main__')
"""


def test_without_dask_the_flag_exits_2_with_the_install_command(tmp_path):
    """A fresh interpreter in which dask and distributed cannot be imported (a finder refuses them), as on an
    install without the distributed extra."""
    proc = subprocess.run([sys.executable, "-c", HIDE_DASK, "--dataset", "synthetic", "--scheduler", "dask",
                           "--out", str(tmp_path)], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "needs Dask distributed" in proc.stderr and scheduler.INSTALL in proc.stderr
    assert not any(tmp_path.iterdir())  # stopped before any work


def test_a_file_that_fails_to_decode_is_skipped_as_locally(tmp_path, cluster):
    import pandas as pd

    import features
    from tests.features.signals import mix, table

    t = table(tmp_path / "audio", {f"t{i}": mix(1.0, seed=i) for i in range(3)})
    bad = tmp_path / "audio" / "bad.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    t = pd.concat([t, pd.DataFrame([{"track_id": "bad", "path": str(bad)}])], ignore_index=True)
    local = features.extract(t, n_jobs=2, cache_dir=tmp_path / "c1", progress=False)
    with distributed.get_task_stream(cluster) as ts:
        with scheduler.session(cluster.scheduler.address):
            remote = features.extract(t, n_jobs=2, cache_dir=tmp_path / "c2", progress=False)
    assert len(ts.data) >= 4  # the four files went to the workers
    pd.testing.assert_frame_equal(local, remote)
    pd.testing.assert_frame_equal(local.attrs["skipped"], remote.attrs["skipped"])
    assert list(remote.attrs["skipped"]["path"]) == [str(bad)]


def test_torchrun_and_a_dask_scheduler_do_not_combine(tmp_path, monkeypatch, capsys):
    from benchmarks.run import main

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    code = main(["--dataset", "synthetic", "--models", "lr", "--scheduler", "dask", "--out", str(tmp_path)])
    assert code == 2 and "does not combine with torchrun" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_an_imbalance_study_on_dask_is_byte_identical(corpus, cluster):
    """Many experiments in one session (one per ratio and seed, the same label within a ratio): each gets its
    own fits' results."""
    kw = dict(models=("lr", "knn"), study="imbalance", imbalance_ratios=(1.0, 4.0), seeds=(0, 1), epochs=None,
              dataset_options=TINY[:2] + (("tracks_per_genre", "30"), ("artists_per_genre", "15")) + TINY[4:])
    local = run(cfg(corpus, "study-local", **kw))
    dask_run = run(cfg(corpus, "study-dask", scheduler=cluster.scheduler.address, **kw))
    for folder in sorted(p.relative_to(local) for p in local.rglob("metrics.csv")):
        assert (local / folder).read_bytes() == (dask_run / folder).read_bytes(), folder
    assert (local / "subsets.csv").read_bytes() == (dask_run / "subsets.csv").read_bytes()


def test_k_fold_cross_validation_on_dask_is_byte_identical(corpus, cluster):
    kw = dict(models=("lr",), split="kfold", folds=3, epochs=None)
    local = run(cfg(corpus, "cv-local", **kw))
    dask_run = run(cfg(corpus, "cv-dask", scheduler=cluster.scheduler.address, **kw))
    found = sorted(p.relative_to(local) for p in local.rglob("metrics.csv"))
    assert len(found) == 4  # the pooled folder and three folds
    for folder in found:
        assert (local / folder).read_bytes() == (dask_run / folder).read_bytes(), folder
    timings = (dask_run / "timings.csv").read_text()
    assert "fold0/lr/none/seed0" in timings  # the worker's fit time, tagged with its fold
