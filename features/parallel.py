"""Worker processes for per-file work: one process per core, each single-threaded.

BLAS/OpenMP/numba threads are pinned to 1 in every worker (at start-up through the environment,
and at run time through threadpoolctl for libraries already loaded), so that n workers use n
cores and nothing more; numba compiles into a persistent cache folder shared between runs; and
glibc is told to keep freed memory for reuse (see `_keep_freed_memory`).

Workers are started with `fork` on Linux (they inherit the imported modules, so a pool costs
milliseconds, not the seconds an import of librosa takes), `spawn` elsewhere; set
``MIRBENCH_MP_START`` to ``spawn`` or ``forkserver`` to override (for example from a process
whose own threads make forking unsafe).
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import contextmanager

from features.errors import ConfigError

log = logging.getLogger(__name__)

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
START_ENV = "MIRBENCH_MP_START"


def resolve_n_jobs(n_jobs: int | None) -> int:
    """-1 (or None) means os.cpu_count(); -k means cpu_count + 1 - k (joblib's rule); k > 0 is k."""
    cpus = os.cpu_count() or 1
    if n_jobs is None:
        return cpus
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0:
        raise ConfigError(f"n_jobs={n_jobs!r} must be a positive integer or -1 (all cores)")
    if n_jobs < 0:
        return max(1, cpus + 1 + n_jobs)
    return n_jobs


def start_method() -> str:
    method = os.environ.get(START_ENV) or ("fork" if sys.platform.startswith("linux") else "spawn")
    if method not in mp.get_all_start_methods():
        raise ConfigError(f"{START_ENV}={method!r} must be one of {mp.get_all_start_methods()}")
    return method


# The parent's threadpoolctl controller, inherited by forked workers (see _init_worker).
_FORK_CONTROLLER = None
# glibc mallopt parameters: M_TRIM_THRESHOLD, M_MMAP_THRESHOLD.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


def _keep_freed_memory(keep: bool = True) -> None:
    """Make glibc keep freed blocks for reuse instead of returning them to the OS (keep=False: undo).

    Each clip allocates and frees the same few megabyte-sized arrays; by default glibc maps them
    afresh every time, and the page faults of touching new pages cost as much as the feature
    computation itself (measured: 14 ms -> 7.5 ms per log-mel clip). Set for good in workers, and
    for the duration of `run`'s one-process loop in the caller's process. keep=False restores
    glibc's documented default values (128 KiB for both); glibc's *dynamic* mmap threshold, which
    any mallopt call of these parameters switches off, is not restored (glibc has no call for that),
    so the caller's process keeps a fixed 128 KiB threshold afterwards. A no-op off glibc.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, (64 << 20) if keep else 128 * 1024)
        libc.mallopt(_M_TRIM_THRESHOLD, (256 << 20) if keep else 128 * 1024)
    except (OSError, AttributeError):  # not glibc (musl, ...)
        pass


def keep_freed_memory() -> None:
    """`_keep_freed_memory` for worker processes the toolkit did not start itself (Dask's; `features.scheduler`)."""
    _keep_freed_memory()


_CONTROLLER: tuple[int, object] | None = None


def controller():
    """A threadpoolctl controller of the libraries loaded in this process (scanning them takes ~0.1 s,
    so the controller is kept, and rebuilt only when modules have been imported since)."""
    global _CONTROLLER
    if _CONTROLLER is None or _CONTROLLER[0] != len(sys.modules):
        from threadpoolctl import ThreadpoolController

        _CONTROLLER = (len(sys.modules), ThreadpoolController())
    return _CONTROLLER[1]


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def worker_setup() -> None:
    """A pool initializer: the worker leaves SIGINT and SIGTERM to its parent (Ctrl-C reaches the whole
    process group; the parent stops the pool) and asks the kernel to kill it when the parent dies, however
    the parent dies (SIGKILL included), so that no orphaned worker goes on writing into a cache or data
    folder. The kill-with-parent part is Linux only."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - no prctl
        pass
    if os.getppid() == 1:  # the parent died before prctl took effect
        os._exit(1)


@contextmanager
def interruptible():
    """While the body runs in the main thread, SIGTERM raises KeyboardInterrupt as Ctrl-C does, so that the
    `finally` clauses that stop worker pools run; the previous handler is restored afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def to_interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, to_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def stop_pool(pool: ProcessPoolExecutor, *, interrupted: bool) -> None:
    """Shut `pool` down: cancel what has not started and wait for the rest; when `interrupted`, terminate
    the workers first instead of waiting for their current task."""
    if not interrupted:
        pool.shutdown(wait=True, cancel_futures=True)
        return
    # ProcessPoolExecutor has no public way to stop running tasks: kill its processes, then let the
    # executor see them gone.
    procs = list(getattr(pool, "_processes", {}).values())
    for proc in procs:
        proc.kill()
    for proc in procs:
        proc.join(timeout=10)
    pool.shutdown(wait=True, cancel_futures=True)


def _init_worker(numba_dir: str) -> None:
    """Pin threads to 1: through the environment for libraries not loaded yet, and with threadpoolctl
    for those already loaded. A forked worker reuses the controller the parent built before forking
    (scanning the loaded libraries again would cost ~0.1 s per worker). The worker dies with its parent
    (`worker_setup`)."""
    worker_setup()
    for var in THREAD_VARS:
        os.environ[var] = "1"
    os.environ.setdefault("NUMBA_CACHE_DIR", numba_dir)
    _keep_freed_memory()
    if _FORK_CONTROLLER is not None:
        _FORK_CONTROLLER.limit(limits=1)
    else:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    numba = sys.modules.get("numba")
    if numba is not None:
        # Not numba.set_num_threads(): it would start numba's thread pool (and load OpenMP) in every
        # worker. A pool started later reads this setting; the toolkit itself runs no parallel numba code.
        numba.config.NUMBA_NUM_THREADS = 1
        numba.config.CACHE_DIR = os.environ["NUMBA_CACHE_DIR"]


# The Dask clients made current by `features.scheduler.session`, innermost last.
_CLUSTERS: list = []


@contextmanager
def on_cluster(client):
    """Send the work of `run` to the Dask cluster of `client` while the body runs."""
    _CLUSTERS.append(client)
    try:
        yield client
    finally:
        _CLUSTERS.remove(client)


def cluster():
    """The Dask client work goes to now, or None (this machine's process pool)."""
    return _CLUSTERS[-1] if _CLUSTERS else None


def run(
    fn: Callable,
    items: Iterable,
    *,
    n_jobs: int,
    numba_dir: str,
    window: int = 4,
) -> Iterator[tuple[int, object]]:
    """Apply `fn` to each item; yields (position, result) in completion order.

    n_jobs: number of worker processes (already resolved); 1 runs in this process with BLAS
    threads pinned to 1 for the duration. Inside `on_cluster` (a Dask `features.scheduler.session`), the
    tasks go to its cluster instead (n_jobs is then the cluster's business). At most `window` tasks per
    worker are in flight, so a long list does not pile up results in memory. Exceptions raised by `fn` propagate.
    """
    items = list(items)
    if not items:
        return
    client = cluster()
    if client is not None:  # a Dask cluster: its concurrent.futures executor, the same driver
        pool = client.get_executor(pure=False)
        pending: dict = {}
        n_workers = max(1, len(client.scheduler_info().get("workers", {})))
        try:
            yield from _drive(pool, fn, iter(enumerate(items)), pending, n_workers * window)
        finally:
            for fut in pending:
                fut.cancel()
        return
    if n_jobs <= 1 or len(items) == 1:
        # As in a worker, glibc keeps the clips' freed arrays for the next clip (no page faults of
        # fresh mappings) while the loop runs; its defaults come back afterwards.
        _keep_freed_memory()
        try:
            with controller().limit(limits=1):
                for i, item in enumerate(items):
                    yield i, fn(item)
        finally:
            _keep_freed_memory(False)
        return
    global _FORK_CONTROLLER
    n_workers = min(n_jobs, len(items))
    method = start_method()
    _FORK_CONTROLLER = controller() if method == "fork" else None
    pool = ProcessPoolExecutor(
        max_workers=n_workers, mp_context=mp.get_context(method), initializer=_init_worker, initargs=(numba_dir,)
    )
    pending: dict = {}
    it = iter(enumerate(items))
    interrupted = True  # until the loop ends normally, or by an exception of fn's
    try:
        with interruptible():
            yield from _drive(pool, fn, it, pending, n_workers * window)
        interrupted = False
    except Exception:
        interrupted = False
        raise
    finally:
        for fut in pending:
            fut.cancel()
        stop_pool(pool, interrupted=interrupted)


def _drive(pool, fn, it, pending: dict, limit: int) -> Iterator[tuple[int, object]]:
    """Keep at most `limit` tasks of `fn` in flight over the items of `it`; yield (position, result)."""
    done_all = False
    while True:
        while not done_all and len(pending) < limit:
            try:
                i, item = next(it)
            except StopIteration:
                done_all = True
                break
            pending[pool.submit(fn, item)] = i
        if not pending:
            break
        finished, _ = wait(pending, return_when=FIRST_COMPLETED)
        for fut in finished:
            i = pending.pop(fut)
            yield i, fut.result()
