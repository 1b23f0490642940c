"""The generated corpora `synthetic` (ten genre-like classes, single-label, GTZAN-shaped) and `synthetic-tags`
(its multi-label twin): their options, what each renders, and the WAV files and `manifest.json` (parameters,
files, sizes, SHA-256) written under the root on first use, reused later and rebuilt when incomplete or stale.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from benchmarks.datasets.base import DatasetModule, absolute, empty_skipped
from benchmarks.datasets.synthetic.engine import compose, fingerprint, plan_summary, render, track_tags, write_wav
from benchmarks.datasets.synthetic.plans import TrackPlan, make_patch, replace_artist, sample_artist, sample_track
from benchmarks.datasets.synthetic.styles import GENRES, STYLES, TAGS
from benchmarks.splits import group_kfold, group_split
from features.errors import ConfigError, DatasetError
from features.parallel import interruptible, stop_pool, worker_setup

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
MARKER = ".mirbench-generated"
MANIFEST_FORMAT = 1
# Long-tailed mixture of hidden styles for the tags corpus (most common first).
TAGS_STYLE_WEIGHTS = {"pop": 0.22, "rock": 0.17, "hiphop": 0.14, "country": 0.10, "disco": 0.09, "metal": 0.08,
                      "blues": 0.07, "reggae": 0.06, "jazz": 0.04, "classical": 0.03}
BELLS_ARTIST_SHARE = 0.02  # the tags corpus's rarest instrument: this share of artists (at least one)
UNPLUGGED_SHARE = 0.25  # share of the tags corpus's artists with no drums (and, independently, no bass)


@dataclass(frozen=True)
class Entry:
    """One track to generate: where it goes, what it is labelled, and the plan that renders it."""

    rel: str  # path relative to the root, posix
    track_id: str
    group: str
    label: str | None
    plan: TrackPlan


# --------------------------------------------------------------------------------------------------
# Options
# --------------------------------------------------------------------------------------------------
def _as_int(name: str, v, lo: int, hi: int | None = None) -> int:
    try:
        i = int(v)
        if isinstance(v, float) and v != i:
            raise ValueError
    except (TypeError, ValueError):
        raise ConfigError(f"{name}={v!r} must be an integer") from None
    if i < lo or (hi is not None and i > hi):
        span = f">= {lo}" if hi is None else f"between {lo} and {hi}"
        raise ConfigError(f"{name}={v!r} must be an integer {span}")
    return i


def _as_float(name: str, v, lo: float, hi: float) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise ConfigError(f"{name}={v!r} must be a number") from None
    if not (lo <= f <= hi):
        raise ConfigError(f"{name}={v!r} must be a number between {lo} and {hi}")
    return f


def split_column(table: pd.DataFrame, *, seed: int, folds: int | None = None) -> np.ndarray:
    """'train'/'valid'/'test' (80/10/10) or, with `folds`, a fold number per row: no group in two parts,
    stratified by label (multi-label rows: group-aware iterative stratification), by benchmarks.splits."""
    with warnings.catch_warnings():
        # A long tail means strata smaller than the number of folds: expected here, not worth a warning.
        warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
        return group_kfold(table, folds, seed=seed) if folds else group_split(table, seed=seed)


class _Generated(DatasetModule):
    """What both generated corpora share: options, generation with a manifest, the random/fold split."""

    split_names = ("random",)
    default_split = "random"
    published_at = "nowhere: it is generated on first use (no download)"
    common_defaults: ClassVar[dict] = {"duration": 10.0, "sr": 22050, "corpus_seed": 0, "jobs": None, "folds": None}
    defaults: ClassVar[dict]
    options_help = None  # its keys depend on the corpus: checked in __init__, unknown ones are a ConfigError

    def __init__(self, data_dir=None, **options):
        super().__init__(data_dir, **options)
        known = {**self.common_defaults, **self.defaults}
        unknown = sorted(set(options) - set(known))
        if unknown:
            raise ConfigError(f"{self.name}: unknown option(s) {unknown}; valid options: {', '.join(known)}")
        self.params = self._check_params({**known, **options})

    def _check_params(self, o: dict) -> dict:
        p = {
            "duration": _as_float("duration", o["duration"], 0.5, 600.0),
            "sr": _as_int("sr", o["sr"], 8000, 96000),
            "corpus_seed": _as_int("corpus_seed", o["corpus_seed"], 0),
        }
        self.jobs = None if o["jobs"] in (None, "", "auto") else _as_int("jobs", o["jobs"], 1, 256)
        self.folds = None if o["folds"] in (None, "", 0, "0") else _as_int("folds", o["folds"], 2)
        return p

    # -- where the data is: a missing root is created and generated ------------------------------
    def root(self) -> Path:
        root, how = self.candidate_root()
        self.manifest = ensure_corpus(root, self.name, self.params, self.entries, jobs=self.jobs, how=how,
                                      env_var=self.env_var)
        return root

    def entries(self) -> list[Entry]:
        raise NotImplementedError

    def _build(self, root: Path, split: str, seed: int):
        rows = []
        for t in self.manifest["tracks"]:
            row = {"track_id": t["track_id"], "path": str(absolute(root / t["path"])), "group": t["group"]}
            if self.task == "single":
                row["label"] = t["label"]
            else:
                row["labels"] = tuple(t["labels"])
            rows.append(row)
        target = "label" if self.task == "single" else "labels"
        table = pd.DataFrame(rows, columns=["track_id", "path", target, "group"])
        table["split"] = split_column(table, seed=seed, folds=self.folds)
        return table, self.classes_of(table), empty_skipped()

    def classes_of(self, table: pd.DataFrame) -> list[str]:
        raise NotImplementedError

    def validate(self, *, split: str | None = None, decode: bool = True) -> pd.DataFrame:
        """Base checks (listed files decode) plus each file's SHA-256 against the manifest."""
        report = super().validate(split=split, decode=decode)
        root = self.root()
        rows = []
        for t in self.manifest["tracks"]:
            path = root / t["path"]
            if path.is_file() and _sha256(path) != t["sha256"]:
                rows.append({"path": str(path), "stage": "checksum", "reason": "SHA-256 differs from the manifest"})
        if rows:
            report = pd.concat([report, pd.DataFrame(rows)], ignore_index=True) if len(report) else pd.DataFrame(rows)
        return report


class Synthetic(_Generated):
    """Ten genre-like classes (GTZAN names), `tracks_per_genre` tracks each by `artists_per_genre` artists.

    Layout `<root>/<genre>/<genre>.000NN.wav`; group = the generating artist (`blues-a03`), so the default
    split (artist-aware, stratified 80/10/10 by seed, or `folds=k`) keeps artists apart.
    """

    name = "synthetic"
    task = "single"
    env_var = "MIRBENCH_SYNTHETIC_DIR"
    layout = (
        "  <root>/manifest.json                 (written by the generator)\n"
        "  <root>/<genre>/<genre>.000NN.wav     (22,050 Hz mono PCM_16 by default)\n"
        f"  with <genre> in {', '.join(GENRES)}"
    )
    # 10 genres x 40 tracks x 10 s by 10 artists each: 400 tracks, 4 per artist, so that a test fold of the
    # artist-aware split holds about one artist per genre; generation takes seconds on two cores.
    defaults: ClassVar[dict] = {"tracks_per_genre": 40, "artists_per_genre": 10, "genres": None}

    def _check_params(self, o: dict) -> dict:
        p = super()._check_params(o)
        genres = o["genres"]
        if genres in (None, "", "all"):
            genres = list(GENRES)
        elif isinstance(genres, str):
            genres = [g.strip() for g in genres.split(",") if g.strip()]
        genres = list(genres)
        bad = [g for g in genres if g not in GENRES]
        if bad or len(genres) < 2 or len(set(genres)) != len(genres):
            raise ConfigError(f"genres={o['genres']!r} must be two or more distinct names among {', '.join(GENRES)}")
        tpg = _as_int("tracks_per_genre", o["tracks_per_genre"], 1)
        apg = _as_int("artists_per_genre", o["artists_per_genre"], 1)
        if apg > tpg:
            raise ConfigError(f"artists_per_genre={apg} must be at most tracks_per_genre={tpg}")
        k = self.folds or 10  # the 80/10/10 split is drawn as ten stratified artist-aware folds
        if tpg < k or apg * len(genres) < k:
            raise ConfigError(
                f"tracks_per_genre={tpg}, artists_per_genre={apg} over {len(genres)} genres are too few for "
                f"{k} stratified artist-aware folds: they need at least {k} tracks per genre and {k} artists in all"
            )
        return {**p, "tracks_per_genre": tpg, "artists_per_genre": apg,
                "genres": [g for g in GENRES if g in genres]}

    def entries(self) -> list[Entry]:
        return genre_entries(self.params)

    def classes_of(self, table):
        return list(self.params["genres"])


class SyntheticTags(_Generated):
    """Multi-label twin of `synthetic`: tags for the instruments, tempo class, mode and texture rendered,
    long-tailed (the rarest tag on about 2% of tracks, `drums` on well over half).

    Layout `<root>/audio/tags.000NN.wav`; group = the generating artist (`artist-017`).
    """

    name = "synthetic-tags"
    task = "multi"
    env_var = "MIRBENCH_SYNTHETIC_TAGS_DIR"
    layout = (
        "  <root>/manifest.json               (written by the generator; holds the tags)\n"
        "  <root>/audio/tags.000NN.wav        (22,050 Hz mono PCM_16 by default)"
    )
    defaults: ClassVar[dict] = {"n_tracks": 400, "n_artists": 100}

    def _check_params(self, o: dict) -> dict:
        p = super()._check_params(o)
        n = _as_int("n_tracks", o["n_tracks"], 1)
        k = _as_int("n_artists", o["n_artists"], 1)
        if k > n:
            raise ConfigError(f"n_artists={k} must be at most n_tracks={n}")
        if k < (self.folds or 10):
            raise ConfigError(f"n_artists={k} is too few for {self.folds or 10} artist-aware folds")
        return {**p, "n_tracks": n, "n_artists": k}

    def entries(self) -> list[Entry]:
        return tag_entries(self.params)

    def classes_of(self, table):
        present = {t for tags in table["labels"] for t in tags}
        absent = [t for t in TAGS if t not in present]
        if absent:
            log.info("%s: tag(s) %s occur in no track of this corpus; left out of the classes", self.name, absent)
        return [t for t in TAGS if t in present]


# --------------------------------------------------------------------------------------------------
# What to generate
# --------------------------------------------------------------------------------------------------
def _assign(n_items: int, n_bins: int) -> np.ndarray:
    """Bin of each of n_items when split into n_bins contiguous, near-equal runs."""
    return np.arange(n_items) * n_bins // n_items


def genre_entries(params: dict) -> list[Entry]:
    """Every track of the genre corpus with its plan; deterministic in `params`."""
    seed, dur = params["corpus_seed"], params["duration"]
    tpg, apg = params["tracks_per_genre"], params["artists_per_genre"]
    out = []
    for genre in params["genres"]:
        gi = GENRES.index(genre)  # seeds depend on the genre, not on which genres were asked for
        artists = [sample_artist(STYLES[genre], np.random.default_rng([seed, 1, gi, a]), f"{genre}-a{a:02d}")
                   for a in range(apg)]
        for i, a in enumerate(_assign(tpg, apg)):
            track_id = f"{genre}.{i:05d}"
            plan = sample_track(artists[a], np.random.default_rng([seed, 2, gi, i]), track_id, dur)
            out.append(Entry(f"{genre}/{track_id}.wav", track_id, artists[a].artist_id, genre, plan))
    return out


def tag_entries(params: dict) -> list[Entry]:
    """Every track of the tags corpus with its plan; deterministic in `params`.

    Artists' hidden styles follow TAGS_STYLE_WEIGHTS (allocated by largest remainder, then shuffled);
    bells are kept out of the style palettes and given, as a sparse ornament line, to BELLS_ARTIST_SHARE of
    the artists, which makes `bells` the rarest tag by construction; UNPLUGGED_SHARE of the artists play
    without drums, and as many without bass.
    """
    seed, dur, n, k = params["corpus_seed"], params["duration"], params["n_tracks"], params["n_artists"]
    rng = np.random.default_rng([seed, 11])
    names = list(TAGS_STYLE_WEIGHTS)
    w = np.array([TAGS_STYLE_WEIGHTS[s] for s in names])
    quota = np.floor(w / w.sum() * k).astype(int)
    for j in np.argsort(-(w / w.sum() * k - quota), kind="stable")[: k - quota.sum()]:
        quota[j] += 1
    styles = rng.permutation(np.repeat(names, quota))
    bells = set(rng.choice(k, size=max(1, int(round(BELLS_ARTIST_SHARE * k))), replace=False).tolist())
    others = [STYLES[s] for s in names]
    artists = []
    for a in range(k):
        art = sample_artist(STYLES[str(styles[a])], np.random.default_rng([seed, 12, a]), f"artist-{a:03d}",
                               others=others, exclude=("bells",))
        extra = np.random.default_rng([seed, 13, a])
        # Some artists play without a drummer or a bass player, so that those tags carry information.
        if extra.random() < UNPLUGGED_SHARE:
            art = replace_artist(art, pattern="none")
        if extra.random() < UNPLUGGED_SHARE:
            art = replace_artist(art, bass="none")
        if a in bells:
            art = replace_artist(art, ornament=make_patch("bells", extra))
        artists.append(art)
    out = []
    for i, a in enumerate(_assign(n, k)):
        track_id = f"tags.{i:05d}"
        plan = sample_track(artists[a], np.random.default_rng([seed, 14, i]), track_id, dur)
        out.append(Entry(f"audio/{track_id}.wav", track_id, artists[a].artist_id, None, plan))
    return out


# --------------------------------------------------------------------------------------------------
# Generation, manifest, reuse
# --------------------------------------------------------------------------------------------------
def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def render_entry(entry: Entry, root: str, sr: int) -> dict:
    """Render one track to `root/entry.rel` atomically; its manifest record. Runs in worker processes."""
    score = compose(entry.plan)
    y = render(entry.plan, score, sr=sr)
    path = Path(root) / entry.rel
    path.parent.mkdir(parents=True, exist_ok=True)
    write_wav(path, y, sr)
    rec = {"track_id": entry.track_id, "path": entry.rel, "group": entry.group}
    if entry.label is not None:
        rec["label"] = entry.label
    else:
        rec["labels"] = list(track_tags(entry.plan, score))
    rec.update({"bytes": path.stat().st_size, "sha256": _sha256(path), "meta": plan_summary(entry.plan, score)})
    return rec


@contextlib.contextmanager
def _locked(root: Path):
    """Hold an exclusive lock on the corpus folder (two processes never generate it at once)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock, generation is still atomic per file
        yield
        return
    with open(root / ".lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def read_manifest(root: Path) -> dict | None:
    """The manifest under `root`, or None when absent or unreadable (then the corpus is regenerated)."""
    f = root / MANIFEST
    if not f.is_file():
        return None
    try:
        m = json.loads(f.read_text())
        if not isinstance(m, dict) or not isinstance(m.get("tracks"), list):
            raise ValueError("no track list")
        for t in m["tracks"]:
            if not isinstance(t, dict) or not RECORD_KEYS <= set(t) or not _inside(root, root / str(t["path"])):
                raise ValueError(f"bad track record {str(t)[:80]}")
        return m
    except (OSError, ValueError) as e:
        log.warning("%s is unreadable (%s); the corpus will be regenerated", f, e)
        return None


RECORD_KEYS = {"track_id", "path", "group", "bytes", "sha256"}


def _inside(root: Path, path: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
        return True
    except ValueError:
        return False


def _write_json_atomic(path: Path, obj) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(obj, indent=1) + "\n")
    os.replace(tmp, path)


def default_jobs(n_tracks: int) -> int:
    """Worker processes to render `n_tracks` with: one per 16 tracks, at least 1, at most the usable CPUs and 8."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cpus, 8, n_tracks // 16))


def ensure_corpus(root: Path, name: str, params: dict, entries_fn, *, jobs: int | None = None,
                  how: str = "--data-dir", env_var: str = "") -> dict:
    """Make sure `root` holds the corpus of `params`; return its manifest.

    Reuses a complete corpus with the same parameters and generator (`engine.fingerprint()`: its
    version and a hash of the engine's source); re-renders only the files
    that are missing or whose size differs from the manifest; regenerates everything (after removing the
    manifest, so an interruption never leaves a corpus that looks complete) when the parameters differ.
    Refuses to write into a non-empty folder it did not generate.
    """
    if root.exists() and not root.is_dir():
        raise DatasetError(f"{name}: {root} ({how}) is a file; expected a folder for the generated corpus")
    root.mkdir(parents=True, exist_ok=True)
    with _locked(root):
        want = {"corpus": name, "format": MANIFEST_FORMAT, "generator": fingerprint(), "params": params}
        old = read_manifest(root)
        same = old is not None and all(old.get(k) == v for k, v in want.items())
        if same:
            bad = [t for t in old["tracks"] if not _intact(root / t["path"], t.get("bytes"))]
            if not bad:
                log.debug("%s: reusing the corpus in %s", name, root)
                return old
            log.warning("%s: %d file(s) missing or truncated in %s (e.g. %s); re-rendering them",
                        name, len(bad), root, bad[0]["path"])
        else:
            ours = (root / MARKER).exists() or old is not None
            foreign = [p.name for p in root.iterdir() if p.name not in (".lock", MARKER) and not p.name.startswith(".")]
            if foreign and not ours:
                raise DatasetError(
                    f"{name}: {root} ({how}) is not empty and holds no {MANIFEST} of a generated corpus "
                    f"(found e.g. {sorted(foreign)[:3]}); refusing to write into it. Point --data-dir"
                    f"{' or $' + env_var if env_var else ''} at an empty or new folder."
                )
            if old is not None:
                log.info("%s: the corpus in %s was generated with other parameters; regenerating", name, root)
            (root / MARKER).write_text("written by mirbench's synthetic-corpus generator\n")
            (root / MANIFEST).unlink(missing_ok=True)
        for tmp in root.rglob(".*.tmp-*"):  # left by an interrupted run
            tmp.unlink(missing_ok=True)

        entries = entries_fn()
        records = {t["path"]: t for t in old["tracks"]} if same else {}
        todo = [e for e in entries if e.rel not in records or not _intact(root / e.rel, records[e.rel].get("bytes"))]
        if not same and old is not None:
            keep = {e.rel for e in entries}
            for t in old["tracks"]:
                if t["path"] not in keep:
                    stale = root / t["path"]
                    stale.unlink(missing_ok=True)
                    with contextlib.suppress(OSError):  # only succeeds when the folder is now empty
                        stale.parent.rmdir()
        if todo:
            log.info("%s: rendering %d track(s) into %s", name, len(todo), root)
        t0 = time.perf_counter()
        for rec in _render_all(todo, root, params["sr"], jobs, name):
            records[rec["path"]] = rec
        elapsed = time.perf_counter() - t0
        manifest = {**want, "tracks": [records[e.rel] for e in entries]}
        _write_json_atomic(root / MANIFEST, manifest)
        log.info("%s: rendered %d track(s) in %.1f s into %s", name, len(todo), elapsed, root)
        return manifest


def _intact(path: Path, size) -> bool:
    try:
        return path.is_file() and path.stat().st_size == size
    except OSError:
        return False


def _render_all(todo: list[Entry], root: Path, sr: int, jobs: int | None, name: str):
    jobs = jobs or default_jobs(len(todo))
    bar = tqdm(total=len(todo), desc=f"generate {name}", unit="track", leave=False, disable=len(todo) < 2)
    try:
        if jobs <= 1 or len(todo) < 2:
            for e in todo:
                yield render_entry(e, str(root), sr)
                bar.update()
            return
        import multiprocessing as mp

        # fork is fast, but a forked child of a process that runs torch's thread pools can deadlock:
        # then spawn (each worker imports the toolkit afresh, about two seconds).
        method = "fork" if "fork" in mp.get_all_start_methods() and "torch" not in sys.modules else "spawn"
        size = max(1, min(8, len(todo) // (jobs * 8)))  # small chunks: a smooth progress bar, little overhead
        ex = ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context(method), initializer=worker_setup)
        interrupted = True  # until every chunk is rendered, or a render raises
        try:
            with interruptible():  # SIGTERM stops the workers as Ctrl-C does; they never outlive this process
                futures = [ex.submit(_render_chunk, todo[i : i + size], str(root), sr)
                           for i in range(0, len(todo), size)]
                for fut in as_completed(futures):
                    for rec in fut.result():
                        yield rec
                        bar.update()
            interrupted = False
        except Exception:
            interrupted = False
            raise
        finally:
            stop_pool(ex, interrupted=interrupted)
    finally:
        bar.close()


def _render_chunk(entries: list[Entry], root: str, sr: int) -> list[dict]:
    return [render_entry(e, root, sr) for e in entries]
