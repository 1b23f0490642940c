"""What every dataset module shares: the TrackTable contract, where data is looked for, and validation.

A dataset module subclasses `DatasetModule`, fills in its class attributes and `_build`, and is
registered in `benchmarks.datasets.DATASETS`. See `gtzan.py` for the model to follow.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from benchmarks.splits import check_groups_disjoint
from features import audio
from features.errors import AudioLoadError, ConfigError, DatasetError
from features.skipped import SKIPPED_COLUMNS, empty_skipped

log = logging.getLogger(__name__)

TASKS = ("single", "multi")


@dataclass
class LoadedDataset:
    """A TrackTable with what goes with it.

    table: one row per track: track_id (str, unique), path (absolute str), label (str) or labels
      (tuple of str), group (str), split ('train'/'valid'/'test' or a fold number).
    classes: the ordered class (or tag) names; task: 'single' or 'multi'.
    skipped: files left out, with the stage ('dataset') and the reason, never silently dropped.
    """

    name: str
    table: pd.DataFrame
    classes: list[str]
    task: str
    root: Path
    skipped: pd.DataFrame = field(default_factory=empty_skipped)
    split_name: str = ""

    def __post_init__(self) -> None:
        check_table(self.table, self.classes, self.task)

    def split(self, name: str) -> pd.DataFrame:
        return self.table[self.table["split"].astype(str) == str(name)]


def check_table(table: pd.DataFrame, classes: list[str], task: str) -> None:
    """Enforce the TrackTable contract; raise DatasetError naming what is wrong."""
    if task not in TASKS:
        raise DatasetError(f"task={task!r} must be one of {TASKS}")
    target = "label" if task == "single" else "labels"
    missing = [c for c in ("track_id", "path", target, "group", "split") if c not in table.columns]
    if missing:
        raise DatasetError(f"TrackTable lacks column(s) {missing}")
    if not table["track_id"].is_unique:
        dup = table["track_id"][table["track_id"].duplicated()].iloc[0]
        raise DatasetError(f"track_id {dup!r} is not unique")
    known = set(classes)
    if task == "single":
        unknown = set(table["label"]) - known
    else:
        unknown = {t for tags in table["labels"] for t in tags} - known
    if unknown:
        raise DatasetError(f"labels {sorted(unknown)[:5]} are not among the dataset's classes")
    check_groups_disjoint(table)


class DatasetModule:
    """Base of one dataset: where its files are expected, how its table and split are built, validate()."""

    name: ClassVar[str]
    task: ClassVar[str]
    env_var: ClassVar[str]
    published_at: ClassVar[str]
    layout: ClassVar[str]
    split_names: ClassVar[tuple[str, ...]]
    default_split: ClassVar[str]

    def __init__(self, data_dir: str | os.PathLike | None = None, **options):
        self.data_dir = data_dir
        self.options = options

    # -- where the data is -------------------------------------------------------------------------
    def candidate_root(self) -> tuple[Path, str]:
        """The folder to use and how it was chosen (flag, environment variable, or default)."""
        if self.data_dir is not None:
            return Path(self.data_dir).expanduser().resolve(), "--data-dir"
        env = os.environ.get(self.env_var)
        if env:
            return Path(env).expanduser().resolve(), f"${self.env_var}"
        return (Path.cwd() / "data" / self.name).resolve(), "the default location"

    def root(self) -> Path:
        root, how = self.candidate_root()
        if not root.is_dir():
            raise self.missing_error(root, how, "does not exist")
        return root

    def missing_error(self, root: Path, how: str, what: str) -> DatasetError:
        return DatasetError(
            f"{self.name}: {root} ({how}) {what}.\n"
            f"Looked in: --data-dir, then ${self.env_var}, then ./data/{self.name}.\n"
            f"Expected layout:\n{self.layout}\n"
            f"The dataset is published at {self.published_at}.\n"
            "`--dataset synthetic` runs with no download."
        )

    # -- the table ---------------------------------------------------------------------------------
    def load(self, *, split: str | None = None, seed: int = 0) -> LoadedDataset:
        split = split or self.default_split
        if split not in self.split_names:
            raise ConfigError(f"split={split!r} is not a split of {self.name}; choose from {list(self.split_names)}")
        root = self.root()
        table, classes, skipped = self._build(root, split, seed)
        if len(table) == 0:
            raise self.missing_error(root, "found", "holds no usable track")
        table = table.reset_index(drop=True)
        table["track_id"] = table["track_id"].astype(str)
        table["group"] = table["group"].astype(str)
        for row in skipped.itertuples():
            log.warning("%s: skipping %s: %s", self.name, row.path, row.reason)
        ds = LoadedDataset(self.name, table, classes, self.task, root, skipped, split)
        counts = table["split"].astype(str).value_counts().to_dict()
        log.info(
            "%s: %d tracks (%s), %d classes, %d skipped", self.name, len(table), counts, len(classes), len(skipped)
        )
        return ds

    def _build(self, root: Path, split: str, seed: int) -> tuple[pd.DataFrame, list[str], pd.DataFrame]:
        raise NotImplementedError

    def validate(self, *, split: str | None = None, decode: bool = True) -> pd.DataFrame:
        """Every missing or undecodable file, as a DataFrame (path, stage, reason); empty when all is well."""
        ds = self.load(split=split)
        rows = [r._asdict() for r in ds.skipped.itertuples(index=False)]
        if decode:
            for path in tqdm(ds.table["path"], desc=f"validate {self.name}", leave=False):
                try:
                    audio.load(path, sr=None)
                except AudioLoadError as e:
                    rows.append({"path": path, "stage": "decode", "reason": e.cause})
        return pd.DataFrame(rows, columns=SKIPPED_COLUMNS) if rows else empty_skipped()


def skipped_frame(rows: list[tuple[str, str]], stage: str = "dataset") -> pd.DataFrame:
    if not rows:
        return empty_skipped()
    return pd.DataFrame([{"path": str(p), "stage": stage, "reason": r} for p, r in rows], columns=SKIPPED_COLUMNS)


def audio_files(folder: Path) -> list[Path]:
    """Audio files under `folder` (recursive, sorted, hidden entries ignored)."""
    out = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and not _looks_audio(d))
        for name in filenames:
            if not name.startswith(".") and _looks_audio(name):
                out.append(Path(dirpath) / name)
        # A directory named like an audio file is reported by the caller, not walked into.
        for d in os.listdir(dirpath):
            if _looks_audio(d) and (Path(dirpath) / d).is_dir():
                out.append(Path(dirpath) / d)
    return sorted(out)


def _looks_audio(name: str) -> bool:
    return name.lower().endswith(audio.AUDIO_EXTENSIONS)


def as_tuple_labels(values) -> list[tuple[str, ...]]:
    return [tuple(v) for v in values]


def rng_for(seed: int, *salt: int) -> np.random.Generator:
    return np.random.default_rng([seed, *salt])
