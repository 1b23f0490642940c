"""A user's own music: one sub-folder per class, any supported audio format.

Optional files at the root: `groups.csv` (columns path, group) keeps excerpts of one source (an
artist, an album, a long recording cut into pieces) in one split; `split.csv` (columns path, split)
pins the split. Paths in both are relative to the root. Without `split.csv` the split is a
group-aware, stratified 80/10/10 by seed (or k folds with `folds=k`).
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from benchmarks.datasets.base import DatasetModule, audio_files, skipped_frame
from benchmarks.splits import group_kfold, group_split
from features.errors import DatasetError

log = logging.getLogger(__name__)


def _read_mapping(root: Path, name: str, column: str) -> dict[str, str] | None:
    f = root / name
    if not f.is_file():
        return None
    # surrogateescape: paths that are not valid UTF-8 still match the names on disk.
    df = pd.read_csv(f, dtype=str, keep_default_na=False, encoding_errors="surrogateescape")
    if not {"path", column} <= set(df.columns):
        raise DatasetError(f"{f} must have columns 'path' and '{column}', found {list(df.columns)}")
    return {Path(p).as_posix(): v for p, v in zip(df["path"], df[column], strict=True)}


class Folder(DatasetModule):
    name = "folder"
    task = "single"
    env_var = "MIRBENCH_FOLDER_DIR"
    published_at = "your own disk (no download)"
    layout = (
        "  <root>/<class>/**/<file>.(wav|flac|ogg|opus|mp3|aif|aiff|au)\n"
        "  <root>/groups.csv   optional: path,group   (path relative to <root>)\n"
        "  <root>/split.csv    optional: path,split   (train / valid / test)"
    )
    split_names = ("random", "pinned")
    default_split = "random"

    def load(self, *, split=None, seed=0):
        # A split.csv pins the split whatever the default.
        if split is None:
            root, _ = self.candidate_root()
            split = "pinned" if (root / "split.csv").is_file() else "random"
        return super().load(split=split, seed=seed)

    def _build(self, root: Path, split: str, seed: int):
        classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
        groups = _read_mapping(root, "groups.csv", "group") or {}
        pinned = _read_mapping(root, "split.csv", "split") if split == "pinned" else None
        if split == "pinned" and pinned is None:
            raise DatasetError(f"split='pinned' needs {root / 'split.csv'} (columns path, split)")
        rows, skipped = [], []
        for cls in classes:
            for path in audio_files(root / cls):
                rel = path.relative_to(root).as_posix()
                if path.is_dir():
                    skipped.append((str(path), "a directory named like an audio file"))
                    continue
                row = {
                    "track_id": str(Path(rel).with_suffix("")),
                    "path": str(path.resolve()),
                    "label": cls,
                    "group": groups.get(rel, str(Path(rel).with_suffix(""))),
                    "split": None,
                }
                if pinned is not None:
                    if rel not in pinned:
                        skipped.append((str(path), "not listed in split.csv"))
                        continue
                    row["split"] = pinned[rel]
                rows.append(row)
        table = pd.DataFrame(rows, columns=["track_id", "path", "label", "group", "split"])
        if len(table) and table["track_id"].duplicated().any():
            # Same stem, different extension: keep the extension in the id.
            dup = table["track_id"].duplicated(keep=False)
            table.loc[dup, "track_id"] = [Path(p).relative_to(root).as_posix() for p in table.loc[dup, "path"]]
        if pinned is not None:
            bad = set(table["split"]) - {"train", "valid", "test"}
            if bad:
                raise DatasetError(f"split.csv holds split value(s) {sorted(bad)}; use train, valid or test")
        elif len(table):
            folds = self.options.get("folds")
            table["split"] = group_kfold(table, int(folds), seed=seed) if folds else group_split(table, seed=seed)
        classes = [c for c in classes if (table["label"] == c).any()]
        return table, classes, skipped_frame(skipped)
