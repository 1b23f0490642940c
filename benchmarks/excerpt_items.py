"""Excerpt-unit runs: every track is cut into its excerpts, and the excerpts, not the tracks, are the items that
are fitted on, predicted and scored. RunConfig.split_unit says who splits them:

- "excerpt": the excerpts are dealt at random, as studies that split excerpts at random did. The leak is the
  point: excerpts of one song fall in training and test, so the scores are not an estimate of accuracy on
  unseen songs. A run in this mode logs a warning, writes the leak (counted on the source track,
  `benchmarks.splits.group_leak`) into its notes and config.json, and reports per-excerpt numbers.
- "excerpt-in-track" (`IN_TRACK`): every excerpt keeps its source track's part of the dataset's split (official
  or seeded) and its track's group, as studies that scored fixed-length frames of split tracks did; nothing
  leaks that the track split does not.

The excerpt grid (`grid`) is one per run: the classical models' excerpts (`excerpts` seconds, `excerpt_overlap`),
or, in a run of deep models only, their training excerpts (`chunk_s`, else 3 s, with the TrainConfig
`example_overlap` of their profile and the run's [train] settings). With `excerpt_trim` T (deep models only),
T seconds are dropped at both ends of every track first. Item `<track>#<k>` is excerpt k, starting
T + k * hop seconds into its track (hop = length * (1 - overlap)), with k from 0 to
floor((duration - 2T - length) / hop): whole excerpts only. A track shorter than one excerpt is one item without a
trim (`features.ExcerptConfig`'s count), and is skipped, listed in skipped.csv, with one (the study's incomplete
frame dropped). Classical models read the feature row of (track, k) computed in excerpt mode; deep models read
the frames of their track's log-mel (or samples of its waveform) through `ExcerptView`, so caches stay one
entry per whole track (the grid refuses a [spec] or [features] offset/duration, which would cache less).
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable, Iterator, Mapping

import numpy as np
import pandas as pd

from benchmarks.config import RunConfig
from benchmarks.families import family_of
from benchmarks.families.paper import QUICK_CHUNK_S, profile_settings
from benchmarks.splits import excerpt_split, group_leak
from deep.trainconfig import TrainConfig
from features.config import ExcerptConfig
from features.errors import ConfigError

log = logging.getLogger(__name__)

IN_TRACK = "excerpt-in-track"  # the split unit whose excerpts keep their track's split
SEP = "#"  # item id = f"{track_id}{SEP}{k:02d}"
ITEM_COLUMNS = ("source", "excerpt", "start", "length")  # what an excerpt table adds to a TrackTable


def item_id(track_id: str, k: int) -> str:
    return f"{track_id}{SEP}{k:02d}"


def is_items(table: pd.DataFrame) -> bool:
    """Whether `table` is an excerpt table (one row per excerpt, `ITEM_COLUMNS`) rather than a TrackTable."""
    return all(c in table.columns for c in ITEM_COLUMNS)


def grid(cfg: RunConfig, models) -> ExcerptConfig:
    """The excerpts that are the items of an excerpt-unit run of `models`; ConfigError when its models would
    cut tracks differently (one split needs one grid)."""
    if not models:
        raise ConfigError(f"split_unit={cfg.split_unit!r}: the run's models define its excerpts, and it names none")
    clipped = [f"[{t}] {k}" for t, opts in (("features", cfg.feature_options), ("spec", cfg.spec_options))
               for k, v in opts if k in ("offset", "duration") and v not in (None, 0, 0.0)]
    if clipped:
        raise ConfigError(f"split_unit={cfg.split_unit!r} cuts whole tracks into excerpts; {', '.join(clipped)} "
                          "would clip them first: drop it (--excerpt-trim drops seconds at both ends)")
    deep = [m for m in models if family_of(m) == "deep"]
    default_overlap = {f.name: f.default for f in dataclasses.fields(TrainConfig)}["example_overlap"]
    overlaps = {m: float(profile_settings(cfg, m).get("example_overlap", default_overlap)) for m in deep}
    if len(deep) < len(models):  # classical models: their excerpts are the grid
        if cfg.excerpt_trim:
            raise ConfigError(f"excerpt_trim={cfg.excerpt_trim:g} acts on deep models' excerpts only: the classical "
                              f"models of this run ({', '.join(m for m in models if m not in deep)}) are fitted on "
                              "excerpts cut from the track's start; drop the trim or run them apart")
        if cfg.excerpts is None:
            raise ConfigError(f"split_unit={cfg.split_unit!r} with classical models needs --excerpts SECONDS (the "
                              "excerpts they are fitted and scored on)")
        ex = ExcerptConfig(length=float(cfg.excerpts), overlap=float(cfg.excerpt_overlap))
    else:
        ex = ExcerptConfig(length=float(cfg.chunk_s or QUICK_CHUNK_S), overlap=overlaps[deep[0]])
    odd = {m: o for m, o in overlaps.items() if o != ex.overlap}
    if odd:
        raise ConfigError(f"split_unit={cfg.split_unit!r}: the run's models cut tracks with different overlaps "
                          f"(excerpts {ex.overlap:g}, example_overlap of {odd}); give every model the same ([train] "
                          "example_overlap, --excerpt-overlap) so that one set of excerpts is split")
    return ex


def excerpt_counts(durations, ex: ExcerptConfig, trim: float = 0.0) -> np.ndarray:
    """Whole excerpts of `ex` per track of `durations` (seconds) after dropping `trim` seconds at both ends:
    floor((d - 2 * trim - length) / hop) + 1. A track shorter than one excerpt counts 1 without a trim (the whole
    track, as `features.ExcerptConfig` counts it) and 0 with one; an unknown duration (NaN) counts 1."""
    hop = ex.length * (1.0 - ex.overlap)
    out = []
    for d in np.asarray(durations, dtype=float):
        left = d - 2.0 * trim
        if not np.isfinite(d):
            out.append(1)
        elif left < ex.length - 1e-9:
            out.append(0 if trim > 0 else 1)
        else:
            out.append(int(math.floor((left - ex.length) / hop + 1e-9)) + 1)
    return np.array(out, dtype=np.int64)


def excerpt_table(table: pd.DataFrame, ex: ExcerptConfig, *, trim: float = 0.0) -> pd.DataFrame:
    """One row per excerpt of every track of `table` (its `duration` column, seconds: the file headers', or the
    dataset's metadata) after dropping `trim` seconds at both ends (`excerpt_counts`: a track without a whole
    excerpt then has no row): the track's columns, with `track_id` the item id, `group` the item id, `source` the
    track, `excerpt` k, `start` (trim + k * hop) and `length` in seconds, `duration` the excerpt's. A track
    without a known duration gives one item (its decoding stage then reports it)."""
    hop = ex.length * (1.0 - ex.overlap)
    dur = table["duration"].to_numpy(dtype=float) if "duration" in table else np.full(len(table), np.nan)
    counts = excerpt_counts(dur, ex, trim)
    items = table.loc[table.index.repeat(counts)].reset_index(drop=True)
    k = np.concatenate([np.arange(n) for n in counts]) if len(counts) else np.zeros(0, dtype=np.int64)
    items["source"] = items["track_id"].astype(str)
    items["excerpt"] = k
    items["start"] = trim + k * hop
    items["length"] = ex.length
    items["duration"] = np.minimum(ex.length, np.repeat(dur, counts) - trim - k * hop) if len(items) else []
    items["duration"] = items["duration"].fillna(ex.length)
    items["track_id"] = [item_id(t, int(j)) for t, j in zip(items["source"], k, strict=True)]
    items["group"] = items["track_id"]  # every excerpt its own group: what the random excerpt split assumes
    items.attrs = dict(table.attrs)
    return items


def sources(table: pd.DataFrame) -> pd.DataFrame:
    """The tracks an excerpt table was cut from (one row each, with the track's own id and group, without the
    excerpts' columns and durations), or `table` itself when it is a TrackTable."""
    if not is_items(table):
        return table
    out = table.drop_duplicates("source").assign(track_id=lambda t: t["source"], group=lambda t: t["source"])
    out = out.drop(columns=[*ITEM_COLUMNS, "duration"], errors="ignore").reset_index(drop=True)
    out.attrs = dict(table.attrs)
    return out


def as_excerpts(cfg: RunConfig, ds, models, note: Callable[[str], None]) -> None:
    """Turn the loaded dataset `ds` (a TrackTable) into its excerpt table, in place: the excerpts of
    `grid(cfg, models)` after cfg.excerpt_trim, the tracks without a whole one added to `ds.skipped`.
    split_unit "excerpt": dealt at random (`splits.excerpt_split`, seeded by cfg.split_seed), the leak counted on
    the source track (`ds.group_leak`) and said in the run's notes and log. "excerpt-in-track": each in its track's
    split and group (`ds.group_leak` stays the dataset's), said in one note."""
    ex = grid(cfg, models)
    trim = float(cfg.excerpt_trim)
    items = excerpt_table(ds.table, ex, trim=trim)
    _skip_short(ds, ex, trim, note)
    how = (f"{ex.length:g} s ({ex.overlap:.0%} overlap)" + (f" after dropping {trim:g} s at both ends" if trim else ""))
    if cfg.split_unit == IN_TRACK:
        items["group"] = ds.table.set_index("track_id")["group"].reindex(items["source"]).to_numpy()
        note(f"split_unit='excerpt-in-track': items are excerpts of tracks, each in its track's split: the "
             f"{items['source'].nunique()} tracks of split {getattr(ds, 'split_name', '?')!r} are cut into "
             f"{len(items)} excerpts of {how}; every metric, interval and confusion matrix is per excerpt")
        ds.table = items
        return
    items["split"] = excerpt_split(items, seed=cfg.split_seed)
    leak = group_leak(items, "source", "source track")
    msg = (f"split_unit='excerpt': LEAKY BY DESIGN, as in studies that split excerpts: the {len(ds.table)} tracks "
           f"are cut into {len(items)} excerpts of {how} and the EXCERPTS are "
           f"dealt at random (split seed {cfg.split_seed}), so {leak['test_tracks_shared']} of {leak['test_tracks']} "
           f"test excerpts (and {leak['valid_tracks_shared']} of {leak['valid_tracks']} validation excerpts) come "
           "from a track that also has training excerpts; every metric, interval and confusion matrix is per "
           "excerpt, and none estimates accuracy on unseen songs")
    log.warning(msg)
    note(msg)
    ds.table = items
    ds.group_leak = leak


def _skip_short(ds, ex: ExcerptConfig, trim: float, note: Callable[[str], None]) -> None:
    """Log each track of `ds.table` without a whole excerpt after the trim and list it in `ds.skipped` (stage
    'excerpts'), as the study that trimmed its tracks dropped incomplete frames."""
    dur = ds.table["duration"].to_numpy(dtype=float) if "duration" in ds.table else np.full(len(ds.table), np.nan)
    short = excerpt_counts(dur, ex, trim) == 0
    if not short.any():
        return
    rows = []
    for tid, path, d in zip(ds.table["track_id"][short], ds.table["path"][short], dur[short], strict=True):
        reason = (f"{d:g} s long: no whole {ex.length:g}-s excerpt after dropping {trim:g} s at both ends "
                  f"(needs {ex.length + 2 * trim:g} s)")
        log.warning("excerpt items: %s skipped: %s", tid, reason)
        rows.append({"path": str(path), "stage": "excerpts", "reason": reason})
    old = [ds.skipped] if getattr(ds, "skipped", None) is not None and len(ds.skipped) else []
    ds.skipped = pd.concat([*(pd.DataFrame(f) for f in old), pd.DataFrame(rows)], ignore_index=True)
    note(f"{int(short.sum())} of {len(ds.table)} tracks are shorter than one {ex.length:g}-s excerpt after dropping "
         f"{trim:g} s at both ends ({ex.length + 2 * trim:g} s): skipped (skipped.csv)")


def feature_rows(feats: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    """The excerpt-mode feature matrix of the source tracks (a (track_id, excerpt) MultiIndex) as one row per
    item of `items`, indexed by item id; items without a row (a skipped track) are left out, rows of no item
    (an excerpt count that differs from the header's) are dropped with a warning."""
    want = pd.MultiIndex.from_arrays([items["source"].astype(str), items["excerpt"].astype(np.int64)])
    have = want.isin(feats.index)
    out = feats.loc[want[have]]
    out.index = pd.Index(items["track_id"].astype(str).to_numpy()[have], name="track_id", dtype=str)
    extra = int((~feats.index.isin(want)).sum())
    if extra:
        log.warning("excerpt items: %d feature row(s) of excerpts beyond the grid of the file headers are not items",
                    extra)
    out.attrs = dict(feats.attrs)
    return out


class ExcerptView(Mapping):
    """item id -> its excerpt of a per-track store: ``base[track][..., start:start + length]`` along the last
    (time) axis, `start` and `length` converted from seconds at `rate` steps per second (frames: sr / hop, the
    frames centred inside the excerpt as `features.ExcerptConfig` counts them; samples: sr). Slicing a memory
    map reads nothing until a chunk is taken. An item that starts at or after the end of its track as stored (a
    duration the dataset's metadata states longer than the audio) is not in the view, logged (`beyond`), so
    the runner drops it for every model. Other attributes (`config`, `skipped`, `n_mels`) are the base's."""

    def __init__(self, base: Mapping, items: pd.DataFrame, *, rate: float, frames: bool):
        self.base = base
        where = {
            str(i): (str(s), int(math.floor(t * rate + 1e-9)))
            for i, s, t in zip(items["track_id"], items["source"], items["start"], strict=True) if str(s) in base
        }
        steps = {s: np.shape(base[s])[-1] for s in {s for s, _ in where.values()}}
        self._where = {i: w for i, w in where.items() if w[1] < steps[w[0]]}
        self.beyond = sorted(set(where) - set(self._where))
        if self.beyond:
            log.warning("excerpt items: %d excerpt(s) start after the end of their track's audio as stored (its "
                        "listed duration is longer), left out: %s", len(self.beyond), ", ".join(self.beyond[:5]))
        seconds = float(items["length"].iloc[0]) if len(items) else 0.0
        self.length = int(seconds * rate + 1e-9) + 1 if frames else int(round(seconds * rate))

    def __getitem__(self, key: str) -> np.ndarray:
        track, start = self._where[key]
        return self.base[track][..., start : start + self.length]

    def __iter__(self) -> Iterator[str]:
        return iter(self._where)

    def __len__(self) -> int:
        return len(self._where)

    def __contains__(self, key: object) -> bool:
        return key in self._where

    def __getattr__(self, name: str):
        base = self.__dict__.get("base")
        if base is None or name.startswith("__"):
            raise AttributeError(name)
        return getattr(base, name)

    def __repr__(self) -> str:
        return f"ExcerptView({len(self)} excerpts of {len(self.base)} tracks, {self.length} steps)"


def excerpt_inputs(inputs, items: pd.DataFrame):
    """The deep family's inputs (`DeepInputs`, built per source track) as seen by the items of `items`: every
    log-mel and waveform store wrapped in an `ExcerptView`; `inputs` itself for a TrackTable."""
    if not is_items(items):
        return inputs
    mels = {k: ExcerptView(s, items, rate=s.config.sr / s.config.hop_length, frames=True)
            for k, s in inputs.mels.items()}
    waves = {sr: ExcerptView(w, items, rate=float(sr), frames=False) for sr, w in inputs.waves.items()}
    return type(inputs)(mels=mels, waves=waves)
