"""The run folder `results/<dataset>/<run-id>/`: the one module that knows its files and columns.

Producers (`benchmarks.comparison`, `benchmarks.study`) write a run folder through `write_run`; the
report (`benchmarks.report`) only reads one, through the readers below. Nothing else opens these files.

Files
-----
- `config.json`: at least {"dataset": str, "task": "single" | "multi", "classes": [str, ...]}; any
  other key is shown in the report, an "environment" sub-dict (library versions, CPU, GPU, git
  commit) in a table of its own and a "notes" list of strings as the run's notes.
- `metrics.csv`: tidy metric values, the single source of truth, columns `METRIC_COLUMNS`
  (dataset, split, model, family, input, strategy, seed, metric, value); metric names and
  conventions in `benchmarks.metrics`.
- `predictions.csv`: one row per (track, split, model, seed), columns `PREDICTION_KEYS` (track_id,
  split, model, family, input, strategy, seed), then `label` (single: the true class name) or
  `labels` (multi: the true tags joined by "|", empty for none), then `pred` (single: predicted
  class; multi: predicted tags at 0.5 joined by "|"), then one probability column `p:<class>` per
  class in class order. Class names must not contain "|". Everything rendered from predictions uses
  the probability columns (argmax, or `>= 0.5`), as the metrics do; `pred` is for people reading it.
- `skipped.csv`: `SKIPPED_COLUMNS` (path, stage, reason), one row per file left out of the run.
- `curves.csv` (deep models): `CURVES_COLUMNS` (model, strategy, seed, epoch, train_loss, valid_score).
- `timings.csv`: `TIMINGS_COLUMNS` (stage, model, seconds; model may be empty for a stage of the run).
- `subsets.csv` (imbalance study): `SUBSET_COLUMNS`, one row per (label, ratio, seed, class) drawn.
- `reproduction.csv` (a recipe folder, `--recipe`): `REPRODUCTION_COLUMNS`, one row per published cell.
- `analysis/` (`ANALYSIS_DIR`, written by `benchmarks.analysis`) and `gallery/` (`GALLERY_DIR`, the deep
  fits' Grad-CAM maps, embeddings and inputs of chosen tracks): the numbers behind the report's dataset
  analysis and gallery figures, as CSV files and `.npz` arrays (`write_part_csv`, `write_npz` and their
  readers); each producer module documents its files' columns and arrays.

Everything is written atomically (a temporary file and a rename) and with fixed float formatting, so
the same results give byte-identical files. Under torchrun only rank 0 creates and writes the run folder
(the other ranks get its path and write nothing).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
import os
import platform
import shutil
import subprocess
import time
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.datasets.base import TASKS
from deep import distributed
from features.errors import ConfigError, DatasetError
from features.skipped import SKIPPED_COLUMNS, empty_skipped

__all__ = [
    "CONFIG_FILE", "CURVES_COLUMNS", "CURVES_FILE", "METRICS_FILE", "METRIC_COLUMNS", "MODEL_KEYS",
    "PREDICTIONS_FILE", "PREDICTION_KEYS", "SKIPPED_COLUMNS", "SKIPPED_FILE", "SUBSETS_FILE", "SUBSET_COLUMNS",
    "TASKS", "TIMINGS_COLUMNS", "ANALYSIS_DIR", "GALLERY_DIR", "part_path", "write_part_csv", "write_npz",
    "read_npz", "read_part_csv", "REPRODUCTION_FILE", "REPRODUCTION_COLUMNS", "TIMINGS_FILE", "Timer",
    "atomic_write_text", "csv_text", "decode_predictions",
    "empty_skipped", "environment", "make_run_dir", "new_run_dir", "read_config", "read_metrics", "read_optional",
    "read_predictions", "read_str_csv", "read_subsets", "require_columns", "run_config", "split_counts", "to_float",
    "to_int", "write_csv", "write_json", "write_run", "write_timings",
]

MODEL_KEYS = ["model", "family", "input", "strategy"]
METRIC_COLUMNS = ["dataset", "split", *MODEL_KEYS, "seed", "metric", "value"]
PREDICTION_KEYS = ["track_id", "split", *MODEL_KEYS, "seed"]
CURVES_COLUMNS = ["model", "strategy", "seed", "epoch", "train_loss", "valid_score"]
TIMINGS_COLUMNS = ["stage", "model", "seconds"]
SUBSET_COLUMNS = ["label", "ratio", "seed", "class", "rank", "n_train", "n_groups", "target", "part", "subset"]
# The files producers write (and the report reads), by name.
CONFIG_FILE, METRICS_FILE, PREDICTIONS_FILE = "config.json", "metrics.csv", "predictions.csv"
SKIPPED_FILE, CURVES_FILE, TIMINGS_FILE, SUBSETS_FILE = "skipped.csv", "curves.csv", "timings.csv", "subsets.csv"
LIBRARIES = ("numpy", "scipy", "pandas", "scikit-learn", "imbalanced-learn", "xgboost", "librosa", "soundfile",
             "soxr", "torch", "essentia", "matplotlib", "mirbench-toolkit")


# -- writing ---------------------------------------------------------------------------------------
def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temporary file and a rename, so a reader never sees a partly written file.

    File names that are not valid UTF-8 (surrogate-escaped by Python) are written backslash-escaped,
    e.g. 'caf\\udce9.wav', so every results file is valid UTF-8.
    """
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text, encoding="utf-8", errors="backslashreplace")
    os.replace(tmp, path)


def csv_text(df: pd.DataFrame) -> str:
    """A frame as CSV text: '%.10g' keeps files stable across platforms and identical across identical runs."""
    return df.to_csv(index=False, float_format="%.10g", lineterminator="\n")


def write_csv(df: pd.DataFrame, path: Path) -> None:
    atomic_write_text(path, csv_text(df))


ANALYSIS_DIR, GALLERY_DIR = "analysis", "gallery"
# A recipe folder's published-vs-ours table (`benchmarks.recipes.reproduce` documents the columns).
REPRODUCTION_FILE = "reproduction.csv"
REPRODUCTION_COLUMNS = ["recipe", "variant", "table", "row", "metric", "published", "ours_mean", "ours_std", "n_seeds",
                        "ci_low", "ci_high", "diff", "model", "input", "group", "status", "source", "note"]


def part_path(run_dir: Path, part: str, name: str) -> Path:
    """The file `name` of the run folder's sub-folder `part` (ANALYSIS_DIR or GALLERY_DIR)."""
    if part not in (ANALYSIS_DIR, GALLERY_DIR):
        raise ConfigError(f"part={part!r} must be {ANALYSIS_DIR!r} or {GALLERY_DIR!r}")
    return Path(run_dir) / part / name


def write_part_csv(run_dir: Path, part: str, name: str, df: pd.DataFrame) -> Path:
    """Write `df` as `part/name` (fixed float formatting, atomically); returns the path."""
    path = part_path(run_dir, part, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_csv(df, path)
    return path


def write_npz(run_dir: Path, part: str, name: str, **arrays: np.ndarray) -> Path:
    """Write `arrays` as the uncompressed `.npz` `part/name`, byte-identical for the same arrays (fixed
    member dates, sorted names; np.savez stamps the current time), atomically; returns the path."""
    path = part_path(run_dir, part, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for key in sorted(arrays):
            member = io.BytesIO()
            np.lib.format.write_array(member, np.asarray(arrays[key]), allow_pickle=False)
            zf.writestr(zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0)), member.getvalue())
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(buf.getvalue())
    os.replace(tmp, path)
    return path


def read_npz(run_dir: Path, part: str, name: str) -> dict[str, np.ndarray] | None:
    """The arrays of `part/name`, or None when the file is absent or unreadable."""
    path = part_path(run_dir, part, name)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError) as e:
        logging.getLogger(__name__).warning("%s is unreadable (%s); left out of the report", path, e)
        return None


def read_part_csv(run_dir: Path, part: str, name: str) -> pd.DataFrame | None:
    """`part/name` as text columns (convert with `to_float` / `to_int`), or None when absent."""
    path = part_path(run_dir, part, name)
    return read_str_csv(path) if path.is_file() else None


def write_json(path: Path, data: dict) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


def config_hash(d: dict) -> str:
    return hashlib.sha1(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:8]


@contextmanager
def new_run_dir(out: str, dataset: str, run_id: str | None, cfg_dict: dict) -> Iterator[Path]:
    """`make_run_dir`, as a context: when the body fails before a file is written, the folder and the parents
    it created are removed again, so a run refused after start-up leaves no empty run folder behind."""
    missing = [p for p in (Path(out), Path(out) / dataset) if not p.exists()]
    run_dir = make_run_dir(out, dataset, run_id, cfg_dict)
    try:
        yield run_dir
    except BaseException:
        if distributed.is_main() and run_dir.is_dir() and not any(p.is_file() for p in run_dir.rglob("*")):
            shutil.rmtree(run_dir, ignore_errors=True)
            for p in reversed(missing):
                with suppress(OSError):
                    p.rmdir()  # only if still empty
        raise


def make_run_dir(out: str, dataset: str, run_id: str | None, cfg_dict: dict) -> Path:
    """Create (and check that we can write) `out/<dataset>/<run-id>`; ConfigError naming the folder otherwise.
    Under torchrun rank 0 names and creates it; the other ranks get its name and create nothing."""
    run_id = run_id or distributed.broadcast_object(time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-"
                                                    + config_hash(cfg_dict))
    run_dir = Path(out) / dataset / run_id
    if not distributed.is_main():
        return run_dir
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        probe = run_dir / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as e:
        raise ConfigError(f"--out {out}: cannot write the results folder {run_dir} ({e.strerror or e})") from None
    return run_dir


def split_counts(table: pd.DataFrame) -> dict[str, int]:
    """Tracks per split of a TrackTable, for config.json's `n_tracks`."""
    return {str(k): int(v) for k, v in table["split"].astype(str).value_counts().sort_index().items()}


def run_config(cfg, ds, *, env: dict | None = None, **extra) -> dict:
    """config.json of a run folder: the RunConfig `cfg` (`to_dict()`), the loaded dataset's task, classes
    and split name, then `extra` (track counts, notes, ...), and the environment last (`env`, default
    computed now). The dataset's own notes (`ds.notes`) come first in "notes" (each once, in order), and
    a published split's leak count (`ds.group_leak`) is recorded as "group_leak" when the loader made one."""
    notes = list(dict.fromkeys([*getattr(ds, "notes", []), *extra.get("notes", [])]))
    if notes or "notes" in extra:
        extra = {**extra, "notes": notes}
    leak = getattr(ds, "group_leak", None)
    if leak is not None:
        extra = {"group_leak": leak, **extra}
    return {**cfg.to_dict(), "models": list(cfg.models), "strategies": list(cfg.strategies), "task": ds.task,
            "classes": ds.classes, "split_name": ds.split_name, **extra,
            "environment": environment() if env is None else env}


def write_run(run_dir: Path, *, config: dict, metrics: list[dict] | pd.DataFrame, predictions: pd.DataFrame | None,
              skipped: pd.DataFrame | None, curves: pd.DataFrame | None = None, timer: Timer | None = None,
              subsets: pd.DataFrame | None = None) -> Path:
    """Write one run folder's files (see the module docstring); the single writer of every producer.

    metrics: metric rows (dicts with `METRIC_COLUMNS` keys) or a frame; predictions: predictions.csv rows
    (None: no predictions.csv, as in a study's top folder, whose predictions are in its ratio folders);
    skipped: files left out (None or empty: none); curves: per-epoch rows of deep models, written when
    non-empty; timer: its rows go to timings.csv; subsets: the imbalance study's subsets.csv.
    """
    run_dir = Path(run_dir)
    if not distributed.is_main():  # torchrun: rank 0 alone writes the run folder
        return run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json(run_dir / CONFIG_FILE, config)
    write_csv(pd.DataFrame(metrics, columns=METRIC_COLUMNS), run_dir / METRICS_FILE)
    if predictions is not None:
        write_csv(predictions, run_dir / PREDICTIONS_FILE)
    if subsets is not None:
        write_csv(pd.DataFrame(subsets, columns=SUBSET_COLUMNS), run_dir / SUBSETS_FILE)
    skipped = skipped if skipped is not None and len(skipped) else empty_skipped()
    write_csv(skipped[SKIPPED_COLUMNS], run_dir / SKIPPED_FILE)
    if curves is not None and len(curves):
        write_csv(curves, run_dir / CURVES_FILE)
    if timer is not None:
        write_timings(run_dir, timer)
    return run_dir


def write_timings(run_dir: Path, timer: Timer) -> None:
    if not distributed.is_main():  # torchrun: rank 0 alone writes the run folder
        return
    write_csv(pd.DataFrame(timer.rows, columns=TIMINGS_COLUMNS), Path(run_dir) / TIMINGS_FILE)


class Timer:
    """Wall time per stage: `with timer("features"):` adds a row of timings.csv (stage, model, seconds)."""

    def __init__(self):
        self.rows: list[dict] = []

    def __call__(self, stage: str, model: str = ""):
        return _Span(self, stage, model)

    def add(self, stage: str, model: str, seconds: float) -> None:
        """A row timed elsewhere (a fit on a Dask worker)."""
        self.rows.append({"stage": stage, "model": model, "seconds": round(seconds, 3)})

    def tagged(self, tag: str) -> TaggedTimer:
        """This timer with `tag` in front of each row's model field (a study's ratio, a fold)."""
        return TaggedTimer(self, tag)


class TaggedTimer:
    def __init__(self, timer: Timer, tag: str):
        self.timer, self.tag = timer, tag

    def _model(self, model: str) -> str:
        return f"{self.tag}/{model}" if model else self.tag

    def __call__(self, stage: str, model: str = ""):
        return self.timer(stage, self._model(model))

    def add(self, stage: str, model: str, seconds: float) -> None:
        self.timer.add(stage, self._model(model), seconds)


class _Span:
    def __init__(self, timer: Timer, stage: str, model: str):
        self.timer, self.stage, self.model = timer, stage, model

    def __enter__(self):
        self.t0 = time.perf_counter()

    def __exit__(self, *exc):
        self.timer.rows.append({"stage": self.stage, "model": self.model,
                                "seconds": round(time.perf_counter() - self.t0, 3)})


# -- the environment config.json records -----------------------------------------------------------
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
        import torch  # only to name the GPU: a report-only reader of this module need not import torch

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


# -- reading ---------------------------------------------------------------------------------------
def read_str_csv(path: Path) -> pd.DataFrame:
    # Everything as text first: track ids such as "000123" and class names such as "NA" stay as written.
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def require_columns(df: pd.DataFrame, cols: Sequence[str], path: Path) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise DatasetError(f"{path}: lacks columns {missing}; expected at least {list(cols)}")


def to_float(s: pd.Series, what: str) -> pd.Series:
    try:
        return s.replace("", "nan").astype(np.float64)
    except (ValueError, TypeError) as e:
        raise DatasetError(f"{what} holds a value that is not a number ({e})") from None


def to_int(s: pd.Series, what: str) -> pd.Series:
    try:
        return pd.to_numeric(s, errors="raise").astype(np.int64)
    except (ValueError, TypeError) as e:
        raise DatasetError(f"{what} holds a value that is not an integer ({e})") from None


def read_config(run_dir: Path) -> dict:
    """config.json of a run folder, {} when absent; DatasetError when it is not valid JSON."""
    cpath = Path(run_dir) / CONFIG_FILE
    if not cpath.is_file():
        return {}
    try:
        return json.loads(cpath.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise DatasetError(f"{cpath}: not valid JSON ({e})") from None


def read_metrics(path: Path) -> pd.DataFrame:
    """metrics.csv as a DataFrame: text keys, seed int64, value float64 (NaN where empty)."""
    path = Path(path)
    df = read_str_csv(path)
    require_columns(df, METRIC_COLUMNS, path)
    df = df[METRIC_COLUMNS].copy()
    df["seed"] = to_int(df["seed"], f"{path} column seed")
    df["value"] = to_float(df["value"], f"{path} column value")
    return df


def read_predictions(path: Path, classes: Sequence[str] | None = None) -> pd.DataFrame:
    """predictions.csv as a DataFrame: text keys and labels, seed int64, `p:<class>` float64."""
    path = Path(path)
    df = read_str_csv(path)
    require_columns(df, PREDICTION_KEYS, path)
    if "label" not in df.columns and "labels" not in df.columns:
        raise DatasetError(f"{path}: needs a 'label' (single-label) or 'labels' (multi-label) column")
    df["seed"] = to_int(df["seed"], f"{path} column seed")
    pcols = [c for c in df.columns if c.startswith("p:")]
    if classes is not None:
        missing = [f"p:{c}" for c in classes if f"p:{c}" not in df.columns]
        if missing:
            raise DatasetError(f"{path}: lacks probability columns {missing[:5]} for the config's classes")
    for c in pcols:
        df[c] = to_float(df[c], f"{path} column {c}")
    return df


def read_optional(path: Path, cols: Sequence[str], numeric: Sequence[str] = (), *, log) -> pd.DataFrame | None:
    """An optional file of the run folder, or None when absent or malformed (`log`, a logger, warns why):
    a broken side file leaves its section out instead of stopping the report."""
    if not path.is_file():
        return None
    try:
        df = read_str_csv(path)
        require_columns(df, cols, path)
        for c in numeric:
            df[c] = to_float(df[c], f"{path} column {c}")
    except (DatasetError, ValueError, pd.errors.ParserError) as e:
        log.warning("%s left out of the report: %s", path.name, e)
        return None
    return df


def read_subsets(run_dir: Path) -> pd.DataFrame | None:
    """subsets.csv of an imbalance study (text columns as written), or None when absent."""
    path = Path(run_dir) / SUBSETS_FILE
    if not path.is_file():
        return None
    return pd.read_csv(path, dtype={"label": str, "class": str, "part": str}, keep_default_na=False)


def decode_predictions(df: pd.DataFrame, classes: Sequence[str], task: str) -> tuple[np.ndarray, np.ndarray]:
    """Truth and probabilities from predictions.csv rows.

    Returns (y, P): y (n,) int class indices (single) or (n, C) bool tags (multi), P (n, C) float64
    from the `p:<class>` columns in class order.
    """
    if task not in TASKS:
        raise ConfigError(f"task={task!r} must be one of {TASKS}")
    cols = [f"p:{c}" for c in classes]
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise DatasetError(f"predictions lack probability columns {missing[:5]}{' ...' if len(missing) > 5 else ''}")
    P = df[cols].to_numpy(dtype=np.float64)
    index = {c: i for i, c in enumerate(classes)}
    if task == "single":
        if "label" not in df.columns:
            raise DatasetError("single-label predictions need a 'label' column")
        labels = df["label"].astype(str).to_numpy()
        unknown = sorted(set(labels) - set(index))
        if unknown:
            raise DatasetError(f"predictions name classes {unknown[:5]} that are not in the config's classes")
        return np.array([index[v] for v in labels], dtype=np.int64), P
    if "labels" not in df.columns:
        raise DatasetError("multi-label predictions need a 'labels' column")
    Y = np.zeros(P.shape, dtype=bool)
    for i, v in enumerate(df["labels"].tolist()):
        tags = [] if v is None or (isinstance(v, float) and math.isnan(v)) or v == "" else str(v).split("|")
        for t in tags:
            if t not in index:
                raise DatasetError(f"predictions name tag {t!r} that is not in the config's classes")
            Y[i, index[t]] = True
    return Y, P
