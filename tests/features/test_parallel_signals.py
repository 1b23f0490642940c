"""Worker pools never outlive the run: on SIGTERM (or Ctrl-C) the runner stops its workers, and if it is
killed outright (SIGKILL) the kernel kills them (PR_SET_PDEATHSIG), so none goes on writing files."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """
import os, sys, time
from features.parallel import run
out = sys.argv[1]
def slow(i):
    open(os.path.join(out, f"worker-{os.getpid()}"), "w").close()
    time.sleep(120)
    return i
for _ in run(slow, range(4), n_jobs=2, numba_dir=out):
    pass
"""

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


def start_and_wait_for_workers(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(tmp_path)], cwd=ROOT, stderr=subprocess.DEVNULL,
                            env={**os.environ, "MIRBENCH_MP_START": "fork"})
    deadline = time.time() + 60
    while len(list(tmp_path.glob("worker-*"))) < 2:
        assert proc.poll() is None and time.time() < deadline, "the workers did not start"
        time.sleep(0.05)
    return proc, [int(p.name.split("-")[1]) for p in tmp_path.glob("worker-*")]


def wait_gone(pids, seconds=15.0) -> list[int]:
    deadline = time.time() + seconds
    while time.time() < deadline and any(alive(p) for p in pids):
        time.sleep(0.05)
    return [p for p in pids if alive(p)]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_workers_do_not_outlive_the_parent(sig, tmp_path):
    proc, workers = start_and_wait_for_workers(tmp_path)
    assert all(alive(p) for p in workers)
    proc.send_signal(sig)
    proc.wait(timeout=30)  # the parent stops promptly, not after its workers' two-minute tasks
    assert wait_gone(workers) == []
