"""FMA, the Free Music Archive dataset (Defferrard et al. 2017): 106,574 tracks (30-s clips) of 16,341
artists, with a hierarchy of 163 genres under 16 top-level genres and an official artist-aware split.

Subsets (`subset=`): `small` (8,000 tracks, default), `medium` (25,000) and `large` (106,574), nested
(small within medium within large) as recorded in `tracks.csv` (`('set', 'subset')`); `full` is the
large set with untrimmed audio in `fma_full/`. Split: the official `('set', 'split')`
(training / validation / test). Group: the artist id (also kept in the column `artist`). The split is
published as artist-aware; an artist it puts in two splits is counted on load and reported (`notes`,
`group_leak`), and its tracks are grouped per split.

Tasks (`task=`):
- `genre_top` (single-label, default): the track's top-level genre; tracks without one (their genres
  span several top-level genres) are dropped.
- `genres` (multi-label): the top-level genres of all the track's genres (`genres_all`, mapped through
  `genres.csv`'s `top_level`), minus an exclusion list; tracks left with none are dropped. By default 12
  musical top-level genres are kept, as in the reference study, by excluding `DEFAULT_EXCLUDED`:
  Spoken (speech, not music), and Experimental, Instrumental and Old-Time / Historic (catch-all
  categories of form or era that cut across musical styles). `exclude_genres=[...]` replaces the list
  (`exclude_genres=()` keeps all 16); a track's other genres are kept when one of its genres is excluded.

Dropping by rule (no genre_top, only excluded genres) is logged as a count; missing and known-bad
audio files are returned in `skipped`, each with its reason.
"""

from __future__ import annotations

import ast
import logging
from pathlib import Path

import pandas as pd

from benchmarks.datasets.base import DatasetModule, absolute, skipped_frame
from features.errors import ConfigError, DatasetError

log = logging.getLogger(__name__)

TOP_LEVEL_GENRES = (
    "International", "Blues", "Jazz", "Classical", "Old-Time / Historic", "Country", "Pop", "Rock",
    "Easy Listening", "Soul-RnB", "Electronic", "Folk", "Spoken", "Hip-Hop", "Experimental", "Instrumental",
)  # fmt: skip
DEFAULT_EXCLUDED = ("Spoken", "Experimental", "Instrumental", "Old-Time / Historic")
SUBSETS = ("small", "medium", "large", "full")
_RANK = {"small": 0, "medium": 1, "large": 2}
SPLITS = {"training": "train", "validation": "valid", "test": "test"}
TASKS = {"genre_top": "single", "genres": "multi"}
REQUIRED = [
    ("set", "subset"),
    ("set", "split"),
    ("artist", "id"),
    ("track", "genre_top"),
    ("track", "genres_all"),
]

# Clips known to hold no audio, or much less than 30 s, in fma_small / fma_medium / fma_large: the API gave
# a wrong song duration and the 30-s clip was cut at the wrong place (mdeff/fma issues #8, #41 and #44,
# listed on the repository's wiki page of known issues). Not exhaustive: a clip that fails to decode for
# another reason is reported by `validate()` and at feature extraction. fma_full (untrimmed) is not affected.
_TRIM_REASON = (
    "known bad: clipped beyond the song's real length (wrong API duration, mdeff/fma#8), little or no audio"
)
KNOWN_BAD = {
    tid: _TRIM_REASON
    for tid in (
        "001486", "005574", "065753", "080391", "098558", "098559", "098560", "098565", "098566", "098567",
        "098568", "098569", "098571", "099134", "105247", "108924", "108925", "126981", "127336", "133297",
        "143992",
    )
}  # fmt: skip

OPTIONS = {
    "task": "'genre_top' (single-label, default) or 'genres' (multi-label top-level genres)",
    "subset": f"one of {list(SUBSETS)} (default 'small')",
    "exclude_genres": "top-level genres to leave out "
    f"(default: none for genre_top, {list(DEFAULT_EXCLUDED)} for genres)",
    "audio_dir": "the folder holding NNN/NNNNNN.mp3 (default <root>/fma_<subset>)",
}


def audio_rel(track_id: int) -> str:
    """The clip's path under fma_<subset>/ ('000/000002.mp3')."""
    tid = f"{track_id:06d}"
    return f"{tid[:3]}/{tid}.mp3"


class FMA(DatasetModule):
    name = "fma"
    task = "single"
    env_var = "FMA_DIR"
    published_at = "https://github.com/mdeff/fma (fma_metadata.zip and fma_<subset>.zip)"
    layout = (
        "  <root>/fma_metadata/tracks.csv   two header rows (('album','artist','set','track'), field), then\n"
        "                                   a 'track_id,,,...' row; one row per track\n"
        "  <root>/fma_metadata/genres.csv   genre_id,#tracks,parent,title,top_level\n"
        "  <root>/fma_<subset>/<NNN>/<NNNNNN>.mp3   (<subset> in small, medium, large, full;\n"
        "                                          NNN = the first 3 digits of the 6-digit track id)"
    )
    split_names = ("official",)
    default_split = "official"
    options_help = OPTIONS
    # Published as artist-aware; kept as published, and any artist it shares is counted and reported.
    published_splits = ("official",)
    group_name = "artist"
    leak_key = ("artist", "artist")

    def __init__(self, data_dir=None, **options):
        super().__init__(data_dir, **options)
        self.label_task = options.get("task", "genre_top")
        if self.label_task not in TASKS:
            raise ConfigError(f"fma: task={self.label_task!r} must be one of {list(TASKS)}")
        self.task = TASKS[self.label_task]  # instance attribute: base.load() reads self.task
        self.subset = options.get("subset", "small")
        if self.subset not in SUBSETS:
            raise ConfigError(f"fma: subset={self.subset!r} must be one of {list(SUBSETS)}")
        excluded = options.get("exclude_genres")
        if excluded is None:
            excluded = DEFAULT_EXCLUDED if self.label_task == "genres" else ()
        if isinstance(excluded, str):
            excluded = [g.strip() for g in excluded.split(",") if g.strip()]
        unknown = [g for g in excluded if g not in TOP_LEVEL_GENRES]
        if unknown:
            raise ConfigError(
                f"fma: exclude_genres {unknown} are not top-level genres; "
                f"choose from {list(TOP_LEVEL_GENRES)}"
            )
        self.excluded = tuple(excluded)

    # -- files -------------------------------------------------------------------------------------
    def metadata_file(self, root: Path, name: str) -> Path:
        for folder in (root / "fma_metadata", root):
            if (folder / name).is_file():
                return folder / name
        raise self.missing_error(root, "found", f"lacks the metadata file fma_metadata/{name}")

    def read_tracks(self, root: Path) -> pd.DataFrame:
        """tracks.csv as a frame with two-level columns, indexed by the integer track id."""
        path = self.metadata_file(root, "tracks.csv")
        try:
            tracks = pd.read_csv(path, index_col=0, header=[0, 1], low_memory=False)
        except (ValueError, pd.errors.ParserError) as e:
            raise DatasetError(
                f"{path}: not the FMA tracks.csv layout (two header rows, then track_id): {e}"
            ) from e
        missing = [c for c in REQUIRED if c not in tracks.columns]
        if missing:
            raise DatasetError(
                f"{path} lacks column(s) {missing}; expected two header rows (category, field) as in the "
                "published fma_metadata/tracks.csv"
            )
        if not pd.api.types.is_integer_dtype(tracks.index):
            raise DatasetError(
                f"{path}: the first column holds {tracks.index[:3].tolist()}; expected integer track ids"
            )
        return tracks

    def read_top_level(self, root: Path) -> dict[int, str]:
        """genre_id -> the title of its top-level genre, from genres.csv."""
        path = self.metadata_file(root, "genres.csv")
        genres = pd.read_csv(path)
        need = {"genre_id", "title", "top_level"}
        if not need <= set(genres.columns):
            raise DatasetError(
                f"{path} has columns {list(genres.columns)}; expected genre_id,#tracks,parent,title,top_level"
            )
        title = dict(zip(genres["genre_id"].astype(int), genres["title"].astype(str), strict=True))
        out = {}
        for gid, top in zip(genres["genre_id"].astype(int), genres["top_level"].astype(int), strict=True):
            if top not in title:
                raise DatasetError(
                    f"{path}: genre {gid} has top_level {top}, which is not a genre_id of the file"
                )
            out[gid] = title[top]
        return out

    def audio_dir(self, root: Path) -> Path:
        given = self.options.get("audio_dir")
        base = absolute(given) if given is not None else root / f"fma_{self.subset}"
        if not base.is_dir():
            if given is not None:
                raise DatasetError(f"fma: audio_dir={str(given)!r} is not a folder")
            raise self.missing_error(root, "found", f"has no audio folder fma_{self.subset}/")
        return base

    # -- labels ------------------------------------------------------------------------------------
    def _genres_all(self, tracks: pd.DataFrame, top_of: dict[int, str]) -> pd.Series:
        """track id -> the set of top-level genre titles of its `genres_all`."""
        unknown: set[int] = set()
        out = {}
        for tid, text in tracks[("track", "genres_all")].items():
            try:
                ids = ast.literal_eval(text) if isinstance(text, str) else []
            except (ValueError, SyntaxError):
                raise DatasetError(
                    f"fma: track {tid}: genres_all {text!r} is not a list like '[21, 12]'"
                ) from None
            if not isinstance(ids, (list, tuple)):
                raise DatasetError(f"fma: track {tid}: genres_all {text!r} is not a list like '[21, 12]'")
            unknown.update(int(g) for g in ids if int(g) not in top_of)
            out[tid] = {top_of[int(g)] for g in ids if int(g) in top_of}
        if unknown:
            log.warning(
                "fma: genre id(s) %s of tracks.csv are not in genres.csv and are ignored",
                sorted(unknown)[:10],
            )
        return pd.Series(out, dtype=object)

    # -- the table ---------------------------------------------------------------------------------
    def _build(self, root: Path, split: str, seed: int):
        tracks = self.read_tracks(root)
        subset = tracks[("set", "subset")].astype(str)
        bad = sorted(set(subset) - set(_RANK))
        if bad:
            raise DatasetError(f"fma: tracks.csv ('set', 'subset') holds {bad[:5]}; expected {list(_RANK)}")
        limit = _RANK["large" if self.subset == "full" else self.subset]
        tracks = tracks[subset.map(_RANK) <= limit]
        splits = tracks[("set", "split")].astype(str)
        bad = sorted(set(splits) - set(SPLITS))
        if bad:
            raise DatasetError(f"fma: tracks.csv ('set', 'split') holds {bad[:5]}; expected {list(SPLITS)}")

        if self.label_task == "genre_top":
            top = tracks[("track", "genre_top")]
            has_top = top.notna() & (top.astype(str).str.strip() != "")
            n_none = int((~has_top).sum())
            labels = top[has_top].astype(str)
            n_excluded = int(labels.isin(self.excluded).sum())
            labels = labels[~labels.isin(self.excluded)]
            if n_none:
                log.info(
                    "fma: %d tracks of %s have no genre_top (genres under several top-level genres) "
                    "and are left out",
                    n_none,
                    self.subset,
                )
        else:
            sets = self._genres_all(tracks, self.read_top_level(root))
            n_none = int((sets.map(len) == 0).sum())
            if n_none:
                log.info("fma: %d tracks of %s have no genre at all and are left out", n_none, self.subset)
            kept = sets.map(lambda s: tuple(sorted(s - set(self.excluded))))
            n_excluded = int((kept.map(len) == 0).sum()) - n_none
            labels = kept[kept.map(len) > 0]
        if n_excluded:
            log.info(
                "fma: %d tracks of %s have only excluded genres %s and are left out",
                n_excluded,
                self.subset,
                list(self.excluded),
            )

        base = self.audio_dir(root)
        artist = tracks[("artist", "id")]
        rows, skipped = [], []
        for tid, label in labels.items():
            rel = audio_rel(int(tid))
            path = base / rel
            key = rel.split("/")[1][:-4]
            if key in KNOWN_BAD and self.subset != "full":
                skipped.append((str(path), KNOWN_BAD[key]))
                continue
            if not path.is_file():
                skipped.append(
                    (str(path), f"missing: in the {self.subset} subset of tracks.csv but not on disk")
                )
                continue
            a = artist[tid]
            group = f"artist_{int(a)}" if pd.notna(a) else key  # no artist id: the track is its own group
            row = {"track_id": key, "path": str(path), "group": group, "split": SPLITS[splits[tid]], "artist": group}
            row["label" if self.task == "single" else "labels"] = label
            rows.append(row)
        target = "label" if self.task == "single" else "labels"
        table = pd.DataFrame(rows, columns=["track_id", "path", target, "group", "split", "artist"])
        if self.task == "single":
            classes = sorted(set(table[target]))
        else:
            classes = sorted({g for gs in table[target] for g in gs})
        return table, classes, skipped_frame(skipped)
