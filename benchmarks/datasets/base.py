"""What every dataset module shares: the TrackTable contract, where data is looked for, and validation.

A dataset module subclasses `DatasetModule`, fills in its class attributes and `_build`, and is
registered in `benchmarks.datasets.DATASETS`. See `gtzan.py` for the model to follow.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from benchmarks.splits import check_groups_disjoint, confine_groups, group_leak
from features import audio
from features.errors import AudioLoadError, ConfigError, DatasetError
from features.skipped import SKIPPED_COLUMNS, empty_skipped

log = logging.getLogger(__name__)

TASKS = ("single", "multi")
DATA_ENV = "MIRBENCH_DATA"  # the folder holding every dataset's folder (<root>/<dataset>), after <DATASET>_DIR


def absolute(path) -> Path:
    """`path` made absolute (user and relative parts expanded) without resolving symbolic links, so that a
    symlinked library is listed, and skipped files are named, as the user laid it out."""
    return Path(os.path.abspath(os.path.expanduser(os.fspath(path))))
HEAD_BYTES = 1 << 16  # duplicate check: files of one size are compared on this many first bytes, then whole


@dataclass
class LoadedDataset:
    """A TrackTable with what goes with it.

    table: one row per track: track_id (str, unique), path (absolute str), label (str) or labels
      (tuple of str), group (str), split ('train'/'valid'/'test' or a fold number).
    classes: the ordered class (or tag) names; task: 'single' or 'multi'.
    skipped: files left out, with the stage ('dataset') and the reason, never silently dropped.
    notes: one sentence per fact a reader of the results must know (a published split's group leak, no
      grouping known, duplicated audio, a split that is not artist-aware); config.json's notes start with them.
    group_leak: for a published split kept as published, how far it leaks on the dataset's real group
      key (`benchmarks.splits.group_leak`: key, test/valid groups and tracks shared with training); None
      when the split is one the toolkit checks instead (no group in two splits, else DatasetError).
    """

    name: str
    table: pd.DataFrame
    classes: list[str]
    task: str
    root: Path
    skipped: pd.DataFrame = field(default_factory=empty_skipped)
    split_name: str = ""
    notes: list[str] = field(default_factory=list)
    group_leak: dict | None = None

    def __post_init__(self) -> None:
        check_table(self.table, self.classes, self.task)
        # The caches key files by their path relative to this folder (`features.cache.file_key`); pandas
        # carries attrs through the selections, assigns and concatenations the runner makes.
        self.table.attrs["root"] = str(self.root)

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
    """Base of one dataset: where its files are expected, how its table and split are built, validate().

    Groups. `group` is what the rest of the toolkit sees and never crosses splits. A split the toolkit
    draws (random, folds) must keep every group, and the real group key `leak_key` when a module names
    one, in one split: otherwise loading stops. A split in `published_splits` is kept as published even
    when it leaks: the leak is counted on `leak_key` (column, what it is) before anything is renamed,
    logged and returned as `notes` and `group_leak`, and only then are the groups that cross it cut per
    split (`confine_groups`) for resampling inside a split.
    """

    name: ClassVar[str]
    task: ClassVar[str]
    env_var: ClassVar[str]
    published_at: ClassVar[str]
    layout: ClassVar[str]
    split_names: ClassVar[tuple[str, ...]]
    default_split: ClassVar[str]
    # option name -> what it means; any other option is a ConfigError. None: the module checks its own.
    options_help: ClassVar[dict[str, str] | None] = {}
    published_splits: ClassVar[tuple[str, ...]] = ()
    group_name: ClassVar[str] = "group"  # what the `group` column holds ('artist', 'source song')
    leak_key: ClassVar[tuple[str, str] | None] = None  # (column, what): default ('group', group_name)
    leak_alternative: ClassVar[str] = ""  # appended to a leak note: where to find a split that does not leak

    def __init__(self, data_dir: str | os.PathLike | None = None, **options):
        self.data_dir = data_dir
        self.options = options
        self.notes: list[str] = []
        if self.options_help is not None:
            check_options(self.name, options, self.options_help)

    def note(self, message: str) -> None:
        """Log `message` as a warning and keep it for the loaded dataset's `notes` (once)."""
        log.warning("%s", message)
        if message not in self.notes:
            self.notes.append(message)

    def folds_option(self) -> int | None:
        """The `folds` option as an integer >= 2, or None when not given."""
        value = self.options.get("folds")
        if value in (None, "", 0, "0"):
            return None
        try:
            k = int(value)
        except (TypeError, ValueError):
            k = -1
        if k < 2:
            raise ConfigError(f"{self.name}: folds={value!r} must be an integer of at least 2")
        return k

    # -- where the data is -------------------------------------------------------------------------
    def candidate_root(self) -> tuple[Path, str]:
        """The folder to use and how it was chosen (flag, environment variable, or default)."""
        if self.data_dir is not None:
            return absolute(self.data_dir), "--data-dir"
        env = os.environ.get(self.env_var)
        if env:
            return absolute(env), f"${self.env_var}"
        data = os.environ.get(DATA_ENV)
        if data:
            return absolute(Path(data) / self.name), f"${DATA_ENV}/{self.name}"
        return absolute(Path.cwd() / "data" / self.name), "the default location"

    def root(self) -> Path:
        root, how = self.candidate_root()
        if not root.is_dir():
            raise self.missing_error(root, how, "does not exist")
        return root

    def missing_error(self, root: Path, how: str, what: str) -> DatasetError:
        return DatasetError(
            f"{self.name}: {root} ({how}) {what}.\n"
            f"Looked in: --data-dir, then ${self.env_var}, then ${DATA_ENV}/{self.name}, then ./data/{self.name}.\n"
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
        self.notes = []
        table, classes, skipped = self._build(root, split, seed)
        if len(table) == 0:
            raise self.missing_error(root, "found", "holds no usable track")
        table = table.reset_index(drop=True)
        table["track_id"] = table["track_id"].astype(str)
        table["group"] = table["group"].astype(str)
        for row in skipped.itertuples():
            log.warning("%s: skipping %s: %s", self.name, row.path, row.reason)
        table, leak = self.check_split_groups(table, split)
        self.note_duplicates(table, root)
        ds = LoadedDataset(
            self.name, table, classes, self.task, root, skipped, split, notes=list(self.notes), group_leak=leak
        )
        counts = table["split"].astype(str).value_counts().to_dict()
        log.info(
            "%s: %d tracks (%s), %d classes, %d skipped", self.name, len(table), counts, len(classes), len(skipped)
        )
        return ds

    def _build(self, root: Path, split: str, seed: int) -> tuple[pd.DataFrame, list[str], pd.DataFrame]:
        raise NotImplementedError

    def check_split_groups(self, table: pd.DataFrame, split: str) -> tuple[pd.DataFrame, dict | None]:
        """(table, group_leak): a drawn split must keep the real group key in one split (DatasetError
        otherwise); a published one is measured on it, reported, and only then confined (see the class)."""
        column, what = self.leak_key or ("group", self.group_name)
        if split not in self.published_splits:
            if column != "group":
                check_groups_disjoint(table, column, what)
            return table, None
        leak = group_leak(table, column, what)
        if leak["test_tracks_shared"] or leak["valid_tracks_shared"] or leak["valid_test_groups_shared"]:
            self.note(leak_sentence(self.name, split, leak) + self.leak_alternative)
        else:
            log.info("%s: split %s shares no %s between its parts", self.name, split, what)
        return confine_groups(table, self.name, self.group_name), leak

    def note_duplicates(self, table: pd.DataFrame, root: Path) -> None:
        """A note naming the byte-identical audio files of the table, if any (see `duplicate_files`)."""
        sets = duplicate_files(table["path"])
        if not sets:
            return
        split_of = dict(zip(table["path"].astype(str), table["split"].astype(str), strict=True))

        def rel(p: str) -> str:
            return Path(p).relative_to(root).as_posix() if Path(p).is_relative_to(root) else p

        for s in sets:
            log.warning("%s: byte-identical audio files: %s", self.name, " = ".join(rel(p) for p in s))
        crossing = sum(len({split_of[p] for p in s}) > 1 for s in sets)
        shown = "; ".join(" = ".join(rel(p) for p in s) for s in sets[:3]) + ("; ..." if len(sets) > 3 else "")
        msg = (
            f"{self.name}: {sum(map(len, sets))} audio files are byte-identical copies of one another "
            f"({len(sets)} set(s): {shown}); each copy counts as a track of its own"
        )
        if crossing:
            msg += f", and {crossing} set(s) lie in several splits, so the same audio is trained and evaluated on"
        self.note(msg)

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


def check_options(dataset: str, options: dict, allowed: dict[str, str]) -> None:
    """ConfigError naming any option `dataset` does not take, with the ones it does (name: meaning)."""
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        hint = "; the split is chosen with --split (load(split=...)), not as an option" if "split" in unknown else ""
        if not allowed:
            raise ConfigError(f"{dataset}: unknown option(s) {unknown}; {dataset} takes no dataset option{hint}")
        valid = "; ".join(f"{k}: {v}" for k, v in allowed.items())
        raise ConfigError(f"{dataset}: unknown option(s) {unknown}; valid options are {valid}{hint}")


def leak_sentence(dataset: str, split: str, leak: dict) -> str:
    """The leak of a published split in words, e.g. '1 artist, 2 of 5 tracks of the test split share an
    artist with training'."""
    what = leak["key"]
    article = "an" if what[:1] in "aeiou" else "a"

    def count(n: int, word: str) -> str:
        return f"{n} {word}{'' if n == 1 else 's'}"

    def part(name: str, label: str) -> str:
        n, m, total = leak[f"{name}_groups_shared"], leak[f"{name}_tracks_shared"], leak[f"{name}_tracks"]
        return f"{count(n, what)}, {m} of {count(total, 'track')} of the {label} split"

    both = leak.get("valid_test_groups_shared", 0)
    return (
        f"{dataset} split {split!r} is kept as published, but it is not {what}-disjoint: {part('test', 'test')} "
        f"share {article} {what} with training ({part('valid', 'validation')})"
        + (f"; {count(both, what)} in both the validation and the test split" if both else "")
    )


def duplicate_files(paths: Iterable) -> list[list[str]]:
    """Sets (two or more, sorted) of byte-identical files among `paths`, sorted.

    Cheap: only files of one size are read, their first `HEAD_BYTES` first and in whole only where those
    agree. Empty and unreadable files are left out (decoding reports them).
    """
    by_size: dict[int, list[str]] = defaultdict(list)
    for p in dict.fromkeys(map(str, paths)):
        try:
            size = os.stat(p).st_size
        except OSError:
            continue
        if size:
            by_size[size].append(p)
    out = []
    for size, same in by_size.items():
        if len(same) < 2:
            continue
        for head in _same_digest(same, HEAD_BYTES):
            out += [sorted(s) for s in (_same_digest(head, None) if size > HEAD_BYTES else [head])]
    return sorted(out)


def _same_digest(paths: list[str], limit: int | None) -> list[list[str]]:
    """The sets (two or more) of `paths` whose first `limit` bytes (None: all) hash the same."""
    by: dict[bytes, list[str]] = defaultdict(list)
    for p in paths:
        h = hashlib.blake2b(digest_size=16)
        try:
            with open(p, "rb") as f:
                if limit is not None:
                    h.update(f.read(limit))
                else:
                    for chunk in iter(lambda f=f: f.read(1 << 20), b""):
                        h.update(chunk)
        except OSError:
            continue
        by[h.digest()].append(p)
    return [s for s in by.values() if len(s) > 1]


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
