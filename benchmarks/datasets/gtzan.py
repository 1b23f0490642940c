"""GTZAN (Tzanetakis & Cook 2002): 1000 30-s clips, 10 genres, single-label.

Default split: the fault-filtered, artist-conscious split of Kereliuk, Sturm and Larsen (2015),
443 / 197 / 290 tracks, shipped as package data. `random` is a stratified, seeded 80/10/10 split
(or k folds with `folds=k`) over all tracks; it is not artist-aware (GTZAN has no artist field, every
track is its own group), and says so in the loaded dataset's `notes`.
"""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path

import pandas as pd

from benchmarks.datasets.base import DatasetModule, absolute, skipped_frame
from benchmarks.splits import group_kfold, group_split
from features.errors import ConfigError

log = logging.getLogger(__name__)

GENRES = ["blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock"]
# Undecodable in the common copies of GTZAN; skipped by name, with a logged note.
KNOWN_BAD = {"jazz/jazz.00054.wav": "known bad: undecodable in the common copies of GTZAN"}
AUDIO_SUBDIRS = ("genres_original", "genres", ".")


def split_list(name: str) -> list[str]:
    """The fault-filtered list `name` ('train', 'valid', 'test') as paths relative to the genre folders."""
    text = resources.files("benchmarks.datasets").joinpath(f"data/gtzan/{name}_filtered.txt").read_text()
    return [line.strip() for line in text.splitlines() if line.strip()]


class GTZAN(DatasetModule):
    name = "gtzan"
    task = "single"
    env_var = "GTZAN_DIR"
    published_at = "http://marsyas.info/downloads/datasets.html (also mirrored on Kaggle as 'GTZAN Dataset')"
    layout = (
        "  <root>/genres_original/<genre>/<genre>.000NN.wav   (Kaggle copy)\n"
        "  <root>/genres/<genre>/<genre>.000NN.wav            (original tarball)\n"
        "  <root>/<genre>/<genre>.000NN.wav\n"
        f"  with <genre> in {', '.join(GENRES)}"
    )
    split_names = ("fault-filtered", "random")
    default_split = "fault-filtered"
    options_help = {"folds": "k stratified folds instead of train/valid/test (split='random' only)"}

    def audio_dir(self, root: Path) -> Path:
        for sub in AUDIO_SUBDIRS:
            base = absolute(root / sub)
            if any((base / g).is_dir() for g in GENRES):
                return base
        raise self.missing_error(root, "given", "has no genre folders (blues/, classical/, ...)")

    def _build(self, root: Path, split: str, seed: int):
        folds = self.folds_option()
        if folds and split != "random":
            raise ConfigError("folds applies to split='random' only; the fault-filtered split is fixed")
        base = self.audio_dir(root)
        skipped: list[tuple[str, str]] = []
        if split == "fault-filtered":
            entries = [(rel, s) for s in ("train", "valid", "test") for rel in split_list(s)]
        else:
            entries = [(f"{g}/{p.name}", None) for g in GENRES for p in sorted((base / g).glob(f"{g}.*.wav"))]
        rows = []
        for rel, s in entries:
            path = base / rel
            if rel in KNOWN_BAD:
                skipped.append((str(path), KNOWN_BAD[rel]))
                continue
            if not path.is_file():
                skipped.append((str(path), "missing: listed in the split but not on disk"))
                continue
            genre = rel.split("/")[0]
            track_id = Path(rel).stem
            # GTZAN ships no artist field; the fault-filtered lists are artist-conscious by construction.
            rows.append({"track_id": track_id, "path": str(path), "label": genre, "group": track_id, "split": s})
        table = pd.DataFrame(rows, columns=["track_id", "path", "label", "group", "split"])
        if split == "random" and len(table):
            table["split"] = group_kfold(table, folds, seed=seed) if folds else group_split(table, seed=seed)
            self.note(
                "gtzan split 'random' is not artist-aware: GTZAN ships no artist labels, so every track is its "
                "own group and one artist's tracks (some of them near-duplicates) fall in training and test "
                "alike, which inflates scores; the default split 'fault-filtered' is artist-conscious"
            )
        if split == "fault-filtered":
            listed = {rel for rel, _ in entries}
            extra = sum(1 for g in GENRES for p in (base / g).glob("*.wav") if f"{g}/{p.name}" not in listed)
            if extra:
                log.info("gtzan: %d tracks on disk are left out by the fault-filtered split on purpose", extra)
        return table, list(GENRES), skipped_frame(skipped)
