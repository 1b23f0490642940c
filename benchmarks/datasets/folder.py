"""A user's own music: one sub-folder per class, any supported audio format.

Grouping keeps excerpts of one source (an artist, an album, a long recording cut into pieces) in one
split, and comes from one of:
- `groups.csv` at the root (columns path, group; paths relative to the root);
- `--dataset-option group_by=REGEX`: searched in each file's path below its class folder
  (`album1/take3_part02.wav`, or `take3_part02.wav` in a flat class folder); the group is the capture
  group named `group`, else the first capture group, else the whole match. E.g. `group_by='^([^/]+)/'`
  groups by the first sub-folder (an album), `group_by='^(.+)_part\\d+'` by the name before `_partNN`.
  A file it does not match is its own group (counted in the notes).
Without either, every file is its own group, and the loaded dataset's `notes` say that excerpts or
versions of one recording can then leak across splits.

`split.csv` at the root (columns path, split) pins the split. Without it the split is a group-aware,
stratified 80/10/10 by seed (or k folds with `folds=k`). Files that `groups.csv` or `split.csv` name but
the disk lacks are reported in `skipped`. At least two class folders are needed, each with audio.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pandas as pd

from benchmarks.datasets.base import DatasetModule, absolute, audio_files, skipped_frame
from benchmarks.splits import group_kfold, group_split
from features.audio import AUDIO_EXTENSIONS
from features.errors import ConfigError, DatasetError

log = logging.getLogger(__name__)

OPTIONS = {
    "folds": "k group folds instead of train/valid/test (without split.csv)",
    "group_by": "REGEX searched in each file's path below its class folder; its capture group (named "
    "'group', else the first, else the whole match) is the file's group, e.g. '^([^/]+)/' for album "
    "sub-folders or '^(.+)_part\\d+' for numbered excerpts of one recording",
}
NO_GROUPING = (
    "folder: no grouping known (no groups.csv, no group_by option): every file is its own group, so "
    "excerpts or versions of one recording can leak across splits; give groups.csv (path,group) or "
    "--dataset-option group_by=REGEX"
)


def _read_mapping(root: Path, name: str, column: str) -> dict[str, str] | None:
    f = root / name
    if not f.is_file():
        return None
    # surrogateescape: paths that are not valid UTF-8 still match the names on disk.
    df = pd.read_csv(f, dtype=str, keep_default_na=False, encoding_errors="surrogateescape")
    if not {"path", column} <= set(df.columns):
        raise DatasetError(f"{f} must have columns 'path' and '{column}', found {list(df.columns)}")
    return {Path(p).as_posix(): v for p, v in zip(df["path"], df[column], strict=True)}


def group_of(pattern: re.Pattern, below_class: str) -> str | None:
    """The group `pattern` finds in a file's path below its class folder, or None when it does not match."""
    m = pattern.search(below_class)
    if m is None:
        return None
    if "group" in pattern.groupindex:
        value = m["group"]
    else:
        value = m[1] if pattern.groups else m[0]
    return value or None


class Folder(DatasetModule):
    name = "folder"
    task = "single"
    env_var = "MIRBENCH_FOLDER_DIR"
    published_at = "your own disk (no download)"
    layout = (
        "  <root>/<class>/**/<file>.(wav|flac|ogg|opus|mp3|aif|aiff|au)   (at least two class folders)\n"
        "  <root>/groups.csv   optional: path,group   (path relative to <root>)\n"
        "  <root>/split.csv    optional: path,split   (train / valid / test)"
    )
    split_names = ("random", "pinned")
    default_split = "random"
    options_help = OPTIONS

    def __init__(self, data_dir=None, **options):
        super().__init__(data_dir, **options)
        self.group_by = None
        regex = options.get("group_by")
        if regex is not None:
            try:
                self.group_by = re.compile(str(regex))
            except re.error as e:
                raise ConfigError(f"folder: group_by={regex!r} is not a regular expression ({e})") from None

    def load(self, *, split=None, seed=0):
        # A split.csv pins the split whatever the default.
        if split is None:
            root, _ = self.candidate_root()
            split = "pinned" if (root / "split.csv").is_file() else "random"
        return super().load(split=split, seed=seed)

    def class_files(self, root: Path) -> dict[str, list[Path]]:
        """class -> its audio files; DatasetError unless there are two classes or more, each with audio."""
        classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
        files = {c: audio_files(root / c) for c in classes}
        empty = [c for c, fs in files.items() if not any(p.is_file() for p in fs)]
        if empty:
            raise DatasetError(
                f"folder: class folder(s) {empty} of {root} hold no audio file ({', '.join(AUDIO_EXTENSIONS)}); "
                "every sub-folder of the root is a class and needs at least one audio file: add audio, or "
                "move the folder out of the root"
            )
        if len(classes) < 2:
            loose = sum(1 for p in root.iterdir() if p.is_file() and p.name.lower().endswith(AUDIO_EXTENSIONS))
            found = f"{len(classes)} class folder ({classes[0]!r})" if classes else "no class folder"
            hint = f"; {loose} audio file(s) lie directly in the root, outside any class folder" if loose else ""
            raise DatasetError(
                f"folder: found {found} in {root}{hint}; a classification needs at least two classes, one "
                "sub-folder per class holding its audio files (<root>/<class>/<file>.wav)"
            )
        return files

    def _build(self, root: Path, split: str, seed: int):
        folds = self.folds_option()
        files = self.class_files(root)
        groups = _read_mapping(root, "groups.csv", "group")
        if groups is not None and self.group_by is not None:
            raise ConfigError(
                f"folder: both {root / 'groups.csv'} and group_by={self.group_by.pattern!r} give the groups; "
                "use one of them"
            )
        pinned = _read_mapping(root, "split.csv", "split") if split == "pinned" else None
        if split == "pinned" and pinned is None:
            raise DatasetError(f"split='pinned' needs {root / 'split.csv'} (columns path, split)")
        rows, skipped, unmatched = [], [], 0
        for cls, paths in files.items():
            for path in paths:
                rel = path.relative_to(root).as_posix()
                if path.is_dir():
                    skipped.append((str(path), "a directory named like an audio file"))
                    continue
                track_id = str(Path(rel).with_suffix(""))
                group = None
                if groups is not None:
                    group = groups.get(rel)
                elif self.group_by is not None:
                    group = group_of(self.group_by, path.relative_to(root / cls).as_posix())
                row = {"track_id": track_id, "path": str(absolute(path)), "label": cls, "group": group or track_id,
                       "split": None}  # fmt: skip
                if pinned is not None:
                    if rel not in pinned:
                        skipped.append((str(path), "not listed in split.csv"))
                        continue
                    row["split"] = pinned[rel]
                rows.append(row)
                unmatched += group is None
        table = pd.DataFrame(rows, columns=["track_id", "path", "label", "group", "split"])
        self.check_classes(files, table, skipped)
        seen = {p.relative_to(root).as_posix() for fs in files.values() for p in fs}
        for name, mapping in (("groups.csv", groups), ("split.csv", pinned)):
            skipped += self.unmatched_entries(root, name, mapping, seen)
        self.note_grouping(groups, len(table), unmatched)
        if len(table) and table["track_id"].duplicated().any():
            # Same stem, different extension: keep the extension in the id.
            dup = table["track_id"].duplicated(keep=False)
            table.loc[dup, "track_id"] = [Path(p).relative_to(root).as_posix() for p in table.loc[dup, "path"]]
        if pinned is not None:
            bad = set(table["split"]) - {"train", "valid", "test"}
            if bad:
                raise DatasetError(f"split.csv holds split value(s) {sorted(bad)}; use train, valid or test")
        elif len(table):
            table["split"] = group_kfold(table, folds, seed=seed) if folds else group_split(table, seed=seed)
        return table, list(files), skipped_frame(skipped)

    def check_classes(self, files: dict[str, list[Path]], table: pd.DataFrame, skipped: list) -> None:
        """DatasetError naming a class none of whose files is kept (all skipped, e.g. not in split.csv)."""
        lost = [c for c in files if not (table["label"] == c).any()]
        if lost:
            raise DatasetError(
                f"folder: class(es) {lost} have audio files but none is kept ({len(skipped)} file(s) skipped, "
                f"e.g. {skipped[0][0]}: {skipped[0][1]}); every class needs at least one usable file"
            )

    def unmatched_entries(self, root: Path, name: str, mapping: dict | None, seen: set[str]) -> list[tuple]:
        """(path, reason) for each file `name` lists that is not an audio file of a class folder."""
        out = []
        for rel in mapping or {}:
            if rel in seen:
                continue
            path = root / rel
            if path.exists():
                out.append((str(path), f"listed in {name} but not an audio file in a class folder"))
            else:
                out.append((str(path), f"missing: listed in {name} but not on disk"))
        return out

    def note_grouping(self, groups: dict | None, n_files: int, unmatched: int) -> None:
        """The notes on how the files are grouped: none known, or some files left in groups of their own."""
        if groups is None and self.group_by is None:
            self.note(NO_GROUPING)
        elif unmatched == n_files and self.group_by is not None:
            raise ConfigError(
                f"folder: group_by={self.group_by.pattern!r} matches no file (it is searched in each file's path "
                "below its class folder, e.g. 'album1/take3_part02.wav'); fix the pattern or drop it"
            )
        elif unmatched:
            source = "groups.csv lists" if groups is not None else f"group_by={self.group_by.pattern!r} matches"
            self.note(
                f"folder: {source} {n_files - unmatched} of {n_files} files; the other {unmatched} are each their "
                "own group, so excerpts of one recording among them can leak across splits"
            )
