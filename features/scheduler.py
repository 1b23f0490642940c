"""Where per-file work and the experiment's fits run: this machine's process pool, or a Dask cluster.

    local              the process pool of `features.parallel` (the default)
    dask               a `distributed.LocalCluster` started for the run: n_jobs worker processes, one
                       thread each, on this machine
    tcp://HOST:PORT    an existing Dask cluster (its scheduler's address; tls:// and ucx:// too), e.g. one
                       started on SLURM with dask-jobqueue (README, "Scaling out")

Dask's `Client.get_executor()` implements the `concurrent.futures` interface the local pool has, so the same
driver (`features.parallel.run`) submits to either. A worker that dies mid-task (killed, out of memory) is
replaced by its nanny and the scheduler runs the task again elsewhere (up to Dask's
``distributed.scheduler.allowed-failures`` times, default 3); a task that *raises* is not retried, since a
decode error or a bug gives the same answer every time. Results are collected by the client, which alone
writes the feature and log-mel caches and the run folder (a worker writes only a deep fit's checkpoints), so a
cluster run writes what a local run writes.

Workers must see the same files at the same paths as the client (a shared file system): the audio and the
cache folder (log-mel shards are memory-mapped by the deep fits, which write their checkpoints there).

`session(spec, n_workers)` makes a cluster current for its body; `active()` is the current client or None.
The optional extra ``distributed`` provides dask and distributed; without it, asking for Dask is a
`ConfigError` naming the install command.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

from features import parallel
from features.errors import ConfigError

log = logging.getLogger(__name__)

LOCAL, DASK = "local", "dask"
#: Address schemes of an existing Dask scheduler.
SCHEMES = ("tcp://", "tls://", "ucx://", "inproc://")
INSTALL = "pip install -e '.[distributed]'"

def check(spec: str | None) -> str:
    """The scheduler spec, normalised ('local', 'dask' or an address); ConfigError if malformed or if it needs
    Dask and Dask is not installed (looked up, not imported)."""
    spec = LOCAL if spec is None else str(spec).strip()
    if spec in (LOCAL, DASK):
        pass
    elif spec.startswith(SCHEMES):
        host = spec.split("://", 1)[1]
        if not host or host.startswith(":"):
            raise ConfigError(f"scheduler={spec!r}: the address names no host, e.g. tcp://10.0.0.5:8786")
    else:
        raise ConfigError(f"scheduler={spec!r} must be 'local', 'dask' or a Dask scheduler address "
                          f"({', '.join(s + 'HOST:PORT' for s in SCHEMES[:2])})")
    if spec != LOCAL and not _installed("distributed"):
        raise ConfigError(f"scheduler={spec!r} needs Dask distributed, which is not installed: {INSTALL}")
    return spec


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # an import hook refusing it, a broken install
        return False


def active():
    """The Dask client of the innermost open `session`, or None (work runs on the local pool)."""
    return parallel.cluster()


def worker_setup(numba_dir: str | None = None) -> None:
    """Run on every Dask worker (and again on a worker that replaces a dead one): BLAS/OpenMP threads pinned
    to 1, numba's compile cache shared with local runs. Idempotent."""
    for var in parallel.THREAD_VARS:
        os.environ[var] = "1"
    if numba_dir:
        os.environ.setdefault("NUMBA_CACHE_DIR", numba_dir)
    # Dask starts workers with MALLOC_TRIM_THRESHOLD_=65536, so each clip's megabyte arrays would be returned to
    # the OS and faulted in again (measured: 55 ms of compute per 30-s clip instead of 25).
    parallel.keep_freed_memory()
    parallel.controller().limit(limits=1)


def _plugin(numba_dir: str | None):
    from distributed.diagnostics.plugin import WorkerPlugin

    class Setup(WorkerPlugin):
        name = "mirbench-setup"

        def setup(self, worker):
            worker_setup(numba_dir)

    return Setup()


@contextmanager
def session(spec: str | None, *, n_workers: int = 1, numba_dir: str | None = None,
            connect_timeout: float = 30.0) -> Iterator[object]:
    """Make the cluster of `spec` current for the body; yields its client (None for 'local').

    'dask' starts a LocalCluster of `n_workers` processes with one thread each (workers not daemonic, so a
    fit may start its own processes) and closes it afterwards; an address connects to a running cluster and
    leaves it running (connect_timeout: seconds to wait for its scheduler).
    """
    spec = check(spec)
    if spec == LOCAL:
        yield None
        return
    import dask
    from distributed import Client, LocalCluster

    quiet = logging.getLogger("distributed")
    level = quiet.level
    if level == logging.NOTSET:  # Dask logs every worker's start and stop at INFO; its warnings still show
        quiet.setLevel(logging.WARNING)
    # Workers not daemonic (a fit may start processes of its own); the nannies read this whenever they
    # (re)start a worker, so it holds for the whole session.
    with dask.config.set({"distributed.worker.daemon": False, "distributed.worker.profile.enabled": False}):
        cluster = None
        try:
            if spec == DASK:
                cluster = LocalCluster(n_workers=max(1, n_workers), threads_per_worker=1, processes=True,
                                       dashboard_address=":0")  # any free port: runs side by side
                client = Client(cluster)
            else:
                try:
                    client = Client(spec, timeout=connect_timeout)
                except (OSError, TimeoutError) as e:
                    raise ConfigError(f"scheduler {spec}: cannot connect ({type(e).__name__}: {e})") from e
            try:
                client.register_plugin(_plugin(numba_dir))
                n = len(client.scheduler_info().get("workers", {}))
                log.info("scheduler: Dask at %s with %d worker(s)%s; dashboard %s", client.scheduler.address, n,
                         " (a LocalCluster for this run)" if cluster is not None else "", client.dashboard_link)
                with parallel.on_cluster(client):
                    yield client
            finally:
                client.close()
        finally:
            if cluster is not None:
                cluster.close()
            quiet.setLevel(level)


def n_workers(client) -> int:
    """Workers the cluster has now (at least 1)."""
    return max(1, len(client.scheduler_info().get("workers", {})))


def worker_resources(client) -> dict[str, float]:
    """The resources the cluster's workers declare, summed (e.g. {'GPU': 4}); {} when none declares any."""
    total: dict[str, float] = {}
    for w in client.scheduler_info().get("workers", {}).values():
        for k, v in (w.get("resources") or {}).items():
            total[k] = total.get(k, 0) + v
    return total


__all__ = ["LOCAL", "DASK", "INSTALL", "check", "active", "session", "n_workers", "worker_resources"]
