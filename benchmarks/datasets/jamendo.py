"""MTG-Jamendo (Bogdanov et al. 2019): 55,000 full tracks under Creative Commons licences, 195 tags in
three categories (genre, instrument, mood/theme), with five official artist-disjoint splits.

One subset at a time (`subset=`): `top50tags` (default, the 50 most frequent tags), `moodtheme`,
`genre`, `instrument`, or `all` (`autotagging.tsv`). The split is one of the official `split-0` ..
`split-4` (train / validation / test). Classes are the full tag names (`genre---rock`,
`mood/theme---happy`), sorted; the group is the artist (`ARTIST_ID`, also kept in the column `artist`).
The splits are published as artist-disjoint; an artist a copy's split files put in two parts is counted
on load and reported (`notes`, `group_leak`), and its tracks are grouped per part. The audio comes in full quality
(`NN/<id>.mp3`) or the low-quality variant (`NN/<id>.low.mp3`); `quality="auto"` uses whichever is there.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pandas as pd

from benchmarks.datasets.base import DatasetModule, absolute, skipped_frame
from benchmarks.datasets.tagging import first_dir, read_lines
from features.errors import ConfigError, DatasetError

log = logging.getLogger(__name__)

HEADER = ["TRACK_ID", "ARTIST_ID", "ALBUM_ID", "PATH", "DURATION", "TAGS"]
SUBSETS = {
    "top50tags": "autotagging_top50tags",
    "moodtheme": "autotagging_moodtheme",
    "genre": "autotagging_genre",
    "instrument": "autotagging_instrument",
    "all": "autotagging",
}
PARTS = {"train": "train", "validation": "valid", "test": "test"}
N_SPLITS = 5
QUALITIES = ("auto", "full", "low")
METADATA_DIRS = ("data", "mtg-jamendo-dataset/data", ".")
AUDIO_SUBDIRS = ("audio", "raw_30s/audio", "audio-low", "raw_30s/audio-low", "mp3", ".")
_TRACK_ID = re.compile(r"^track_\d+$")

OPTIONS = {
    "subset": f"one of {list(SUBSETS)} (default 'top50tags')",
    "quality": "'auto' (default), 'full' (NN/<id>.mp3) or 'low' (NN/<id>.low.mp3)",
    "audio_dir": "the folder holding 00/ .. 99/ (default: <root>/audio, <root>/raw_30s/audio, ... or <root>)",
}


def low_quality(rel: str) -> str:
    """The low-quality file of a PATH ('48/948.mp3' -> '48/948.low.mp3')."""
    return rel[:-4] + ".low.mp3" if rel.endswith(".mp3") else rel


def read_tsv(path: Path) -> list[dict]:
    """The rows of one MTG-Jamendo metadata file: track_id, artist, album, rel_path, duration, tags (list).

    Tab-separated, header TRACK_ID ARTIST_ID ALBUM_ID PATH DURATION TAGS, then one `category---tag` per
    trailing column (as many columns as the track has tags); LF or CRLF line endings.
    """
    lines = read_lines(path)
    header = lines[0].split("\t") if lines else []
    if [h.strip() for h in header[: len(HEADER)]] != HEADER:
        raise DatasetError(f"{path}: header {header[:6]}; expected the tab-separated columns {HEADER}")
    rows = []
    for n, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.rstrip("\t ").split("\t")
        if len(fields) < 5:
            raise DatasetError(f"{path}, line {n}: {len(fields)} fields; expected at least {HEADER[:5]}")
        tid, artist, album, rel, duration = (f.strip() for f in fields[:5])
        if not _TRACK_ID.match(tid):
            raise DatasetError(f"{path}, line {n}: TRACK_ID {tid!r}; expected 'track_' and digits")
        tags = [t.strip() for t in fields[5:] if t.strip()]
        bad = [t for t in tags if "---" not in t]
        if bad:
            raise DatasetError(f"{path}, line {n}: tag {bad[0]!r}; expected 'category---tag'")
        try:
            seconds = float(duration)
        except ValueError:
            raise DatasetError(f"{path}, line {n}: DURATION {duration!r} is not a number") from None
        rows.append(
            {"track_id": tid, "artist": artist, "album": album, "rel": rel, "duration": seconds, "tags": tags}
        )
    return rows


class Jamendo(DatasetModule):
    name = "jamendo"
    task = "multi"
    env_var = "JAMENDO_DIR"
    published_at = (
        "https://mtg.github.io/mtg-jamendo-dataset/ (metadata: https://github.com/MTG/mtg-jamendo-dataset)"
    )
    layout = (
        "  <root>/data/autotagging_<subset>.tsv      (the metadata of the GitHub repository, <subset> in\n"
        "                                    top50tags, moodtheme, genre, instrument; or autotagging.tsv)\n"
        "  <root>/data/splits/split-<0..4>/autotagging_<subset>-{train,validation,test}.tsv\n"
        "  <root>/audio/<00..99>/<id>.mp3   or <id>.low.mp3 (low-quality variant)\n"
        "      tab-separated: TRACK_ID ARTIST_ID ALBUM_ID PATH DURATION TAGS (one category---tag per column)"
    )
    split_names = tuple(f"split-{k}" for k in range(N_SPLITS))
    default_split = "split-0"
    options_help = OPTIONS
    # Published as artist-disjoint; kept as published, and any artist they share is counted and reported.
    published_splits = split_names
    group_name = "artist"
    leak_key = ("artist", "artist")

    def __init__(self, data_dir=None, **options):
        super().__init__(data_dir, **options)
        self.subset = options.get("subset", "top50tags")
        if self.subset not in SUBSETS:
            raise ConfigError(f"jamendo: subset={self.subset!r} must be one of {list(SUBSETS)}")
        self.quality = options.get("quality", "auto")
        if self.quality not in QUALITIES:
            raise ConfigError(f"jamendo: quality={self.quality!r} must be one of {list(QUALITIES)}")

    # -- files -------------------------------------------------------------------------------------
    def metadata_dir(self, root: Path) -> Path:
        found = first_dir([absolute(root / d) for d in METADATA_DIRS], lambda d: (d / "splits").is_dir())
        if found is None:
            raise self.missing_error(
                root,
                "found",
                "lacks the metadata folder data/splits/ (clone https://github.com/MTG/mtg-jamendo-dataset)",
            )
        return found

    def split_files(self, root: Path, split: str) -> dict[str, Path]:
        """part ('train', 'validation', 'test') -> the official file of this subset and split index.

        Without a `subset` option, a copy that holds the split files of one subset only uses that one.
        """
        folder = self.metadata_dir(root) / "splits" / split
        if "subset" not in self.options:
            present = [s for s, stem in SUBSETS.items() if all((folder / f"{stem}-{p}.tsv").is_file() for p in PARTS)]
            if len(present) == 1 and present[0] != self.subset:
                self.subset = present[0]
                self.note(f"jamendo: subset {self.subset} used, the only one whose split files this copy holds "
                          f"(--dataset-option subset=... to choose)")
        files = {part: folder / f"{SUBSETS[self.subset]}-{part}.tsv" for part in PARTS}
        for f in files.values():
            if not f.is_file():
                rel = f.relative_to(root) if f.is_relative_to(root) else f
                raise self.missing_error(root, "found", f"lacks the split file {rel}")
        return files

    def audio_dir(self, root: Path) -> Path:
        given = self.options.get("audio_dir")
        if given is not None:
            base = absolute(given)
            if not base.is_dir():
                raise DatasetError(f"jamendo: audio_dir={str(given)!r} is not a folder")
            return base
        two_digit = [f"{k:02d}" for k in range(100)]
        found = first_dir(
            [absolute(root / s) for s in AUDIO_SUBDIRS], lambda d: any((d / n).is_dir() for n in two_digit)
        )
        if found is None:
            raise self.missing_error(
                root,
                "found",
                "has no audio folders 00..99 (looked in <root>/audio, <root>/raw_30s/audio, <root>)",
            )
        return found

    def pick_quality(self, base: Path, rels: list[str]) -> str:
        """'full' or 'low': as asked, or for 'auto' the variant more of the listed files exist in."""
        if self.quality != "auto":
            return self.quality
        sample = rels[:200]
        full = sum((base / r).is_file() for r in sample)
        low = sum((base / low_quality(r)).is_file() for r in sample)
        chosen = "low" if low > full else "full"
        log.info(
            "jamendo: using the %s-quality audio (%d full, %d low of %d listed files checked)",
            chosen,
            full,
            low,
            len(sample),
        )
        return chosen

    # -- the table ---------------------------------------------------------------------------------
    def _build(self, root: Path, split: str, seed: int):
        files = self.split_files(root, split)
        listed: dict[str, tuple[dict, str]] = {}
        for part, f in files.items():
            for row in read_tsv(f):
                tid = row["track_id"]
                if tid in listed:
                    where = (
                        "twice in " + f.name
                        if listed[tid][1] == PARTS[part]
                        else f"in {f.name} and another part"
                    )
                    raise DatasetError(
                        f"jamendo: {tid} is listed {where} of {split}; each track belongs to one part"
                    )
                listed[tid] = (row, PARTS[part])
        self._note_unlisted(root, split, listed)
        base = self.audio_dir(root)
        quality = self.pick_quality(base, [row["rel"] for row, _ in listed.values()])
        rows, skipped = [], []
        for tid, (row, part) in listed.items():
            rel = row["rel"] if quality == "full" else low_quality(row["rel"])
            path = base / rel
            if not row["tags"]:
                skipped.append((str(path), f"no tag in the {self.subset} split files"))
                continue
            if not path.is_file():
                skipped.append(
                    (str(path), f"missing: listed in {SUBSETS[self.subset]}-*.tsv of {split} but not on disk")
                )
                continue
            rows.append({
                "track_id": tid,
                "path": str(path),
                "labels": tuple(sorted(set(row["tags"]))),
                "group": row["artist"],
                "split": part,
                "artist": row["artist"],
                "album": row["album"],
                "duration": row["duration"],
            })  # fmt: skip
        table = pd.DataFrame(
            rows, columns=["track_id", "path", "labels", "group", "split", "artist", "album", "duration"]
        )
        # The classes are the tags of the tracks kept (a tag only on missing files would be an empty column).
        classes = sorted({t for labels in table["labels"] for t in labels})
        lost = sorted({t for row, _ in listed.values() for t in row["tags"]} - set(classes))
        if lost:
            log.warning("jamendo: tag(s) %s are left out: none of their tracks is on disk", lost)
        return table, classes, skipped_frame(skipped)

    def _note_unlisted(self, root: Path, split: str, listed: dict) -> None:
        """Log how many tracks of the subset file no part of the split lists (the splits drop a few)."""
        meta = self.metadata_dir(root)
        full = meta / f"{SUBSETS[self.subset]}.tsv"
        if full.is_file():
            unlisted = {r["track_id"] for r in read_tsv(full)} - set(listed)
            if unlisted:
                log.info(
                    "jamendo: %d tracks of %s are in no part of %s (left out by the official split)",
                    len(unlisted),
                    full.name,
                    split,
                )
