"""MagnaTagATune (Law et al. 2009): 25,863 clips of about 29 s cut from Magnatune songs, 188 binary tags.

Default: the standard top-50 benchmark. The 50 tags in the order of the package list
`data/mtat_top50_tags.txt`; the split by audio sub-folder (`0`-`b` train, `c` valid, `d`-`f` test);
clips without any of the 50 tags dropped; clips shorter than 29.1 s (read from the file header)
skipped. Options change the tag set (`tags="top10"`, `tags="all"`, `top_n=N` by frequency) and merge
synonymous tags (`merge_synonyms=True`, table `SYNONYMS`).

Groups. Each clip is a segment of a song, and the folder split keeps the clips of one song in one
folder but not the songs of one artist: the official split is artist-leaky (an artist's albums are
spread over train, valid and test). The group is the artist (column `artist`: from `clip_info_final.csv`
when present, else from the file name); the source song (`<artist>-<album>-<track>-<title>`, from the
file name) is kept in the column `song`. `split="random"` is artist-disjoint (checked on load). The
official split is kept as published: its artist leak is counted on load and reported (`notes`,
`group_leak`: artists and clips of the validation and test splits that share an artist with training),
and only then is an artist it puts in several splits grouped per split (`<artist>@<split>`).
"""

from __future__ import annotations

import logging
import re
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from benchmarks.datasets.base import DatasetModule, absolute, skipped_frame
from benchmarks.datasets.tagging import first_dir, read_lines, unquote
from benchmarks.splits import group_kfold, group_split
from features import audio
from features.errors import AudioLoadError, ConfigError, DatasetError

log = logging.getLogger(__name__)

ANNOTATIONS = "annotations_final.csv"
CLIP_INFO = "clip_info_final.csv"
FOLDERS = tuple("0123456789abcdef")
SPLIT_OF_FOLDER = {**{f: "train" for f in "0123456789ab"}, "c": "valid", **{f: "test" for f in "def"}}
AUDIO_SUBDIRS = ("mp3", "audio", ".")
MIN_DURATION = 29.1

# The top-10 set: tags on at least 2,000 clips, redundant ones (synonyms of a kept tag) removed.
TOP10 = ("guitar", "classical", "slow", "techno", "strings", "drums", "electronic", "rock", "fast", "piano")

# Synonym groups merged by `merge_synonyms=True`: canonical tag -> the tags merged into it (a clip has the
# canonical tag when it has any of them). Compiled from the synonym and spelling-variant groups of the
# MTAT literature (e.g. the synonymous top-50 tags discussed by Choi et al., "The effects of noisy labels
# on deep convolutional neural networks for music tagging", 2018); only true synonyms, plurals and
# misspellings are merged, never a tag with a wider or narrower meaning ('female opera', 'girl',
# 'electric', 'fast beat', 'no beat' stay apart). The canonical name is the group's top-50 tag that comes
# first in the top-50 order, so merged top-50 classes keep their usual names.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "female": ("female", "woman", "women", "female vocal", "female vocals", "female voice", "female singer",
               "female singing", "woman singing"),
    "male": ("male", "man", "men", "male vocal", "male vocals", "male voice", "male singer", "man singing"),
    "no vocals": ("no vocals", "no vocal", "no voice", "no voices", "no singing", "no singer"),
    "vocal": ("vocal", "vocals", "voice", "voices"),
    "singing": ("singing", "singer"),
    "classical": ("classical", "classic", "clasical"),
    "choir": ("choir", "choral", "chorus"),
    "opera": ("opera", "operatic"),
    "beat": ("beat", "beats"),
    "drums": ("drums", "drum"),
    "guitar": ("guitar", "guitars"),
    "strings": ("strings", "string"),
    "violin": ("violin", "violins"),
    "flute": ("flute", "flutes"),
    "harpsichord": ("harpsichord", "harpsicord"),
    "synth": ("synth", "synthesizer"),
    "electronic": ("electronic", "electronica", "electro"),
    "indian": ("indian", "india"),
    "weird": ("weird", "strange"),
    "fast": ("fast", "quick"),
    "orchestra": ("orchestra", "orchestral"),
    "chant": ("chant", "chanting"),
    "horn": ("horn", "horns"),
    "space": ("space", "spacey"),
    "jazz": ("jazz", "jazzy"),
}  # fmt: skip

# Zero-byte files in the distributed mp3 archive (known across the field; not exhaustive: any other
# unreadable clip is reported when its header is read, by `validate()`, or at feature extraction).
KNOWN_BAD = {
    "6/norine_braun-now_and_zen-08-gently-117-146.mp3":
        "known bad: zero-byte file in the MTAT archive (clip 35644)",
    "8/jacob_heringman-josquin_des_prez_lute_settings-19-gintzler__pater_noster-204-233.mp3":
        "known bad: zero-byte file in the MTAT archive (clip 55753)",
    (
        "9/american_baroque-dances_and_suites_of_rameau_and_couperin-25-"
        "le_petit_rien_xiveme_ordre_couperin-88-117.mp3"
    ):
        "known bad: zero-byte file in the MTAT archive (clip 57881)",
}  # fmt: skip

_BOOLS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
_CLIP_NAME = re.compile(r"^(?P<track>.+)-(?P<start>\d+)-(?P<end>\d+)\.mp3$")

OPTIONS = {
    "tags": "'top50' (default, the standard list), 'top10', or 'all' (the 188 tags)",
    "top_n": "N: the N most frequent tags instead (counted over all clips, after merging if asked)",
    "merge_synonyms": "True merges synonymous tags (mtat.SYNONYMS) before choosing the tags",
    "min_duration": "seconds (default 29.1); shorter clips are skipped; None reads no header",
    "audio_dir": "the folder holding 0/ .. f/ (default: <root>/mp3, <root>/audio or <root>)",
    "folds": "k group folds instead of train/valid/test (split='random' only)",
}


def top50_tags() -> list[str]:
    """The 50 tags of the standard MTAT benchmark, in its order (package data)."""
    text = resources.files("benchmarks.datasets").joinpath("data/mtat_top50_tags.txt").read_text()
    return [line.strip() for line in text.splitlines() if line.strip()]


def source_track(mp3_path: str) -> str:
    """The song a clip was cut from: the file name without its trailing `-<start>-<end>.mp3`."""
    name = mp3_path.rsplit("/", 1)[-1]
    m = _CLIP_NAME.match(name)
    return m["track"] if m else name.rsplit(".", 1)[0]


def artist_slug(text: str) -> str:
    """An artist name as MTAT file names write it ('American Bach Soloists' -> 'american_bach_soloists')."""
    return re.sub(r"[^a-z0-9]", "_", text.strip().lower())


def canonical_map(tags: list[str]) -> dict[str, str]:
    """tag -> its canonical tag under `SYNONYMS` (itself when in no group)."""
    out = {t: t for t in tags}
    for canon, members in SYNONYMS.items():
        for m in members:
            if m in out:
                out[m] = canon
    return out


class MTAT(DatasetModule):
    name = "mtat"
    task = "multi"
    env_var = "MTAT_DIR"
    published_at = "https://mirg.city.ac.uk/codeapps/the-magnatagatune-dataset"
    layout = (
        f"  <root>/{ANNOTATIONS}          tab-separated, every field in double quotes:\n"
        "                                     clip_id, 188 tag columns of 0/1, mp3_path\n"
        f"  <root>/{CLIP_INFO}            optional (clip_id, ..., artist, album, ...): artist groups\n"
        "  <root>/mp3/<0..f>/<artist>-<album>-<NN>-<title>-<start>-<end>.mp3\n"
        "      (the sub-folders 0..f may also sit in <root>/audio/ or in <root> itself)"
    )
    split_names = ("official", "random")
    default_split = "official"
    options_help = OPTIONS
    # The folder split is artist-leaky as published: kept, and its leak counted on the artist.
    published_splits = ("official",)
    group_name = "artist"
    leak_key = ("artist", "artist")
    leak_alternative = "; split 'random' (--split random) is the artist-disjoint alternative"

    def __init__(self, data_dir=None, **options):
        super().__init__(data_dir, **options)
        self.tags = options.get("tags", "top50")
        if self.tags not in ("top50", "top10", "all"):
            raise ConfigError(f"mtat: tags={self.tags!r} must be 'top50', 'top10' or 'all' (or use top_n=N)")
        self.top_n = options.get("top_n")
        if self.top_n is not None:
            if "tags" in options:
                raise ConfigError(
                    "mtat: give either tags= or top_n=, not both (top_n picks among all 188 tags)"
                )
            try:
                self.top_n = int(self.top_n)
            except (TypeError, ValueError):
                self.top_n = -1
            if self.top_n < 1:
                raise ConfigError(f"mtat: top_n={options['top_n']!r} must be a positive integer")
        self.merge_synonyms = options.get("merge_synonyms", False)
        if isinstance(self.merge_synonyms, str):  # from a command line or a TOML string
            self.merge_synonyms = _BOOLS.get(self.merge_synonyms.strip().lower(), self.merge_synonyms)
        if not isinstance(self.merge_synonyms, bool):
            raise ConfigError(f"mtat: merge_synonyms={options['merge_synonyms']!r} must be true or false")
        self.min_duration = options.get("min_duration", MIN_DURATION)
        if self.min_duration is not None:
            try:
                self.min_duration = float(self.min_duration)
            except (TypeError, ValueError):
                self.min_duration = -1.0
            if not self.min_duration >= 0:
                raise ConfigError(
                    f"mtat: min_duration={options['min_duration']!r} must be seconds >= 0 or None"
                )

    # -- files -------------------------------------------------------------------------------------
    def audio_dir(self, root: Path) -> Path:
        given = self.options.get("audio_dir")
        if given is not None:
            base = absolute(given)
            if not base.is_dir():
                raise DatasetError(f"mtat: audio_dir={str(given)!r} is not a folder")
            return base
        found = first_dir(
            [absolute(root / s) for s in AUDIO_SUBDIRS], lambda d: any((d / f).is_dir() for f in FOLDERS)
        )
        if found is None:
            raise self.missing_error(
                root, "found", "has no audio sub-folders 0..f (looked in <root>/mp3, <root>/audio, <root>)"
            )
        return found

    def read_annotations(self, root: Path) -> tuple[list[str], list[str], list[str], np.ndarray]:
        """(tags, clip_ids, mp3_paths, Y) from annotations_final.csv; Y: bool, shape (n_clips, n_tags)."""
        path = root / ANNOTATIONS
        if not path.is_file():
            raise self.missing_error(root, "found", f"lacks the metadata file {ANNOTATIONS}")
        lines = read_lines(path)
        if not lines:
            raise DatasetError(
                f"{path} is empty; expected a header line (clip_id, 188 tags, mp3_path) and one line per clip"
            )
        header = [unquote(f) for f in lines[0].split("\t")]
        if len(header) < 3 or header[0] != "clip_id" or header[-1] != "mp3_path":
            raise DatasetError(
                f"{path}: header starts {header[:2]} and ends {header[-1:]}; expected tab-separated, quoted "
                '"clip_id", the tag names, "mp3_path"'
            )
        tags = header[1:-1]
        ids, paths, rows = [], [], []
        for n, line in enumerate(lines[1:], start=2):
            if not line.strip():
                continue
            fields = [unquote(f) for f in line.split("\t")]
            if len(fields) != len(header):
                raise DatasetError(
                    f"{path}, line {n}: {len(fields)} tab-separated fields, the header has {len(header)}"
                )
            values = fields[1:-1]
            bad = set(values) - {"0", "1"}
            if bad:
                raise DatasetError(f"{path}, line {n}: tag values {sorted(bad)[:3]}; expected 0 or 1")
            ids.append(fields[0])
            paths.append(fields[-1])
            rows.append([v == "1" for v in values])
        dup = pd.Series(ids)[pd.Series(ids).duplicated()]
        if len(dup):
            raise DatasetError(f"{path}: clip_id {dup.iloc[0]!r} appears more than once")
        y = np.array(rows, dtype=bool).reshape(len(rows), len(tags))
        return tags, ids, paths, y

    def read_artists(self, root: Path) -> dict[str, str]:
        """clip_id -> artist (as in the file names) from clip_info_final.csv; {} when the file is absent."""
        path = root / CLIP_INFO
        if not path.is_file():
            return {}
        lines = read_lines(path)
        header = [unquote(f) for f in lines[0].split("\t")] if lines else []
        if "clip_id" not in header or "artist" not in header:
            raise DatasetError(
                f"{path}: header {header[:10]} lacks 'clip_id' or 'artist' (tab-separated, quoted)"
            )
        i_id, i_artist = header.index("clip_id"), header.index("artist")
        out, bad = {}, []
        for n, line in enumerate(lines[1:], start=2):
            fields = [unquote(f) for f in line.split("\t")]
            if len(fields) != len(header):
                bad.append(n)
                continue
            out[fields[i_id]] = artist_slug(fields[i_artist])
        if bad:
            log.warning(
                "mtat: %s lines %s have a wrong number of fields; "
                "those clips take the artist from the file name",
                path,
                bad[:5],
            )
        return out

    # -- tags --------------------------------------------------------------------------------------
    def choose_classes(self, tags: list[str], y: np.ndarray) -> tuple[list[str], np.ndarray]:
        """The class list and the clip-by-class matrix (bool, shape (n_clips, n_classes))."""
        if self.merge_synonyms:
            canon = canonical_map(tags)
            names = list(dict.fromkeys(canon[t] for t in tags))
            index = {t: i for i, t in enumerate(tags)}
            y = np.stack([y[:, [index[t] for t in tags if canon[t] == c]].any(axis=1) for c in names], axis=1)
        else:
            canon, names = {t: t for t in tags}, list(tags)
        col = {t: i for i, t in enumerate(names)}
        if self.top_n is not None:
            if self.top_n > len(names):
                raise ConfigError(f"mtat: top_n={self.top_n} exceeds the {len(names)} tags available")
            counts = y.sum(axis=0)
            order = sorted(range(len(names)), key=lambda i: (-counts[i], i))  # ties: header order
            classes = [names[i] for i in order[: self.top_n]]
        elif self.tags == "all":
            classes = names
        else:
            wanted = top50_tags() if self.tags == "top50" else list(TOP10)
            missing = [t for t in wanted if t not in canon]
            if missing:
                raise DatasetError(
                    f"mtat: {ANNOTATIONS} has no column for tag(s) {missing} of the {self.tags} set"
                )
            classes = list(dict.fromkeys(canon[t] for t in wanted))
        return classes, y[:, [col[c] for c in classes]]

    # -- the table ---------------------------------------------------------------------------------
    def _build(self, root: Path, split: str, seed: int):
        folds = self.folds_option()
        if folds and split != "random":
            raise ConfigError("mtat: folds applies to split='random' only; the official split is fixed")
        tags, ids, mp3_paths, y = self.read_annotations(root)
        classes, yc = self.choose_classes(tags, y)
        base = self.audio_dir(root)
        artists = self.read_artists(root)
        if not artists:
            self.note(
                f"mtat: {CLIP_INFO} is absent, so artists are read from the file names: clips of a compilation "
                "count as the artist 'magnatune_compilation', and artist groups and leak counts are approximate"
            )
        rows, skipped = [], []
        n_untagged = 0
        for cid, rel, has in zip(ids, mp3_paths, yc, strict=True):
            if not has.any():
                n_untagged += 1
                continue
            path = base / rel
            folder = rel.split("/", 1)[0]
            if folder not in SPLIT_OF_FOLDER or "/" not in rel:
                skipped.append((str(path), f"mp3_path {rel!r} is not in a sub-folder 0..f"))
                continue
            if rel in KNOWN_BAD:
                skipped.append((str(path), KNOWN_BAD[rel]))
                continue
            if not path.is_file():
                skipped.append((str(path), "missing: listed in annotations_final.csv but not on disk"))
                continue
            name = rel.split("/", 1)[1]
            rows.append({
                "track_id": cid,
                "path": str(path),
                "labels": tuple(c for c, h in zip(classes, has, strict=True) if h),
                "song": source_track(rel),
                "artist": artists.get(cid) or name.split("-", 1)[0],
                "split": SPLIT_OF_FOLDER[folder],
            })  # fmt: skip
        if n_untagged:
            log.info(
                "mtat: %d clips carry none of the %d chosen tags and are left out", n_untagged, len(classes)
            )
        if self.min_duration is not None:
            rows = self._check_durations(rows, skipped)
        cols = ["track_id", "path", "labels", "group", "split", "artist", "song"]
        table = pd.DataFrame(rows, columns=["track_id", "path", "labels", "song", "artist", "split"])
        # The artist: under the official split confined per split by `DatasetModule.load` once its leak is
        # counted; under the random split never in two splits (checked on load).
        table["group"] = table["artist"]
        table = table[cols].copy()
        if split == "random" and len(table):
            table["split"] = group_kfold(table, folds, seed=seed) if folds else group_split(table, seed=seed)
        return table, classes, skipped_frame(skipped)

    def _check_durations(self, rows: list[dict], skipped: list) -> list[dict]:
        """Rows whose file header says they last at least `min_duration`; the others go to `skipped`."""
        kept = []
        for row in tqdm(rows, desc="mtat: clip durations", leave=False, disable=len(rows) < 2000):
            try:
                info = audio.info(row["path"])
            except AudioLoadError as e:
                skipped.append((row["path"], f"unreadable header: {e.cause}"))
                continue
            seconds = info.frames / info.samplerate if info.samplerate else 0.0
            if seconds < self.min_duration:
                skipped.append(
                    (row["path"], f"lasts {seconds:.2f} s, shorter than min_duration={self.min_duration} s")
                )
                continue
            kept.append(row)
        return kept
