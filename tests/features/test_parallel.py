"""Worker processes: one thread each, results in order of submission positions, errors propagate."""

import os

import pytest
from threadpoolctl import threadpool_info

from features import parallel
from features.errors import ConfigError


def _threads(_):
    return os.getpid(), {d["filepath"]: d["num_threads"] for d in threadpool_info()}, os.environ["OMP_NUM_THREADS"]


def _boom(x):
    if x == 3:
        raise RuntimeError("three")
    return x


def test_resolve_n_jobs():
    cpus = os.cpu_count()
    assert parallel.resolve_n_jobs(-1) == parallel.resolve_n_jobs(None) == cpus
    assert parallel.resolve_n_jobs(3) == 3
    assert parallel.resolve_n_jobs(-2) == max(1, cpus - 1)
    for bad in (0, 1.5, True):
        with pytest.raises(ConfigError, match="n_jobs="):
            parallel.resolve_n_jobs(bad)


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_workers_are_single_threaded_other_processes(tmp_path, monkeypatch, method):
    monkeypatch.setenv(parallel.START_ENV, method)
    before = {d["internal_api"]: d["num_threads"] for d in threadpool_info()}
    out = dict(parallel.run(_threads, range(4), n_jobs=2, numba_dir=str(tmp_path)))
    assert sorted(out) == [0, 1, 2, 3]
    pids = {pid for pid, _, _ in out.values()}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2
    for _, threads, omp in out.values():
        assert omp == "1" and all(n == 1 for n in threads.values()), threads
    assert {d["internal_api"]: d["num_threads"] for d in threadpool_info()} == before


def test_errors_in_workers_propagate(tmp_path):
    with pytest.raises(RuntimeError, match="three"):
        list(parallel.run(_boom, range(6), n_jobs=2, numba_dir=str(tmp_path)))
    with pytest.raises(RuntimeError, match="three"):
        list(parallel.run(_boom, range(6), n_jobs=1, numba_dir=str(tmp_path)))


def test_unknown_start_method_is_rejected(monkeypatch):
    monkeypatch.setenv(parallel.START_ENV, "teleport")
    with pytest.raises(ConfigError, match="MIRBENCH_MP_START='teleport'"):
        parallel.start_method()
