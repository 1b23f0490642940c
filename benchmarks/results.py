"""The run folder: where results go, written atomically, with the environment recorded for reproducibility."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import time
from importlib import metadata
from pathlib import Path

import pandas as pd

from features.errors import ConfigError

LIBRARIES = ("numpy", "scipy", "pandas", "scikit-learn", "imbalanced-learn", "xgboost", "librosa", "soundfile",
             "soxr", "torch", "essentia", "matplotlib", "mirbench")
METRIC_COLUMNS = ["dataset", "split", "model", "family", "input", "strategy", "seed", "metric", "value"]


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temporary file and a rename, so a reader never sees a partly written file.

    File names that are not valid UTF-8 (surrogate-escaped by Python) are written backslash-escaped,
    e.g. 'caf\\udce9.wav', so every results file is valid UTF-8.
    """
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text, encoding="utf-8", errors="backslashreplace")
    os.replace(tmp, path)


def write_csv(df: pd.DataFrame, path: Path) -> None:
    # '%.10g' keeps the files stable across platforms and byte-identical across identical runs.
    atomic_write_text(path, df.to_csv(index=False, float_format="%.10g", lineterminator="\n"))


def config_hash(d: dict) -> str:
    return hashlib.sha1(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:8]


def make_run_dir(out: str, dataset: str, run_id: str | None, cfg_dict: dict) -> Path:
    run_id = run_id or time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + config_hash(cfg_dict)
    run_dir = Path(out) / dataset / run_id
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        probe = run_dir / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as e:
        raise ConfigError(f"--out {out}: cannot write the results folder {run_dir} ({e.strerror or e})") from None
    return run_dir


def git_commit() -> str | None:
    here = Path(__file__).resolve().parent.parent
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        if sha.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return sha.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment() -> dict:
    versions = {}
    for lib in LIBRARIES:
        try:
            versions[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            versions[lib] = None
    gpu = None
    try:
        import torch

        if torch.cuda.is_available():
            gpu = torch.cuda.get_device_name(0)
    except ImportError:
        pass
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu_name(),
        "cpu_count": os.cpu_count(),
        "gpu": gpu,
        "libraries": versions,
        "git_commit": git_commit(),
    }


def write_json(path: Path, data: dict) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")
