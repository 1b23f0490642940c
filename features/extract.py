"""The hand-crafted feature matrix: one STFT per clip, every frame feature from it, parallel and cached.

`extract(table, config)` returns one row per track (or per excerpt) with named columns (see
`features.config` for the naming scheme), the same whichever back-end computed them:

- ``librosa`` (default): the vectorised functions of `features.frame`, which reproduce librosa's
  definitions. One STFT per clip, computed and consumed in blocks of `BLOCK_FRAMES` frames that
  stay in the CPU cache, serves centroid, bandwidth, roll-off, flatness, contrast, chroma and the
  mel spectrogram under the MFCCs; the onset envelope for the tempo comes from that same log-mel
  spectrogram; ZCR and RMS are computed in the time domain from block sums. No Python loop runs
  per frame.
- ``essentia``: an optional second implementation (`features.essentia_backend`), for checking.

Agreement with the naive computation (librosa.load, then one librosa call per feature from the
audio, mean and std over frames), as tests/features/test_extract.py holds it: moments 1e-6
relative; zcr exact; rms, centroid, bandwidth 1e-5 relative (or 0.01 Hz); roll-off 1e-6
relative; flatness 1e-4 relative; contrast 0.05 dB; MFCCs 2e-3; chroma 1e-5 with the same tuning
(our default is A440, librosa's a per-clip estimate: `tuning="estimate"` reproduces it); tempo
within half a lag of librosa's integer-lag value, because ours is refined between lags.

Per clip: the waveform moments and the tempo are clip-level values; every other feature is
computed per frame and aggregated by `config.stats`. The dB conversions (log-mel under the MFCCs,
contrast peaks and valleys) are floored `top_db` below the maximum of the clip, or of the excerpt
in excerpt mode, as librosa.power_to_db does on the clip it is given.

Edge cases: silent audio gives finite values (centroid, bandwidth, roll-off, ZCR, RMS, chroma,
contrast, moments and deltas 0; flatness 1; MFCCs those of a flat -100 dB log-mel; tempo the lag
nearest `start_bpm`). A clip shorter than one STFT frame (n_fft samples), or in excerpt mode
shorter than one excerpt, is zero-padded to that length and listed in ``df.attrs["padded"]``.
A file that cannot be decoded is left out, logged, and listed in ``df.attrs["skipped"]``.
"""

from __future__ import annotations

import logging
import os
from importlib import metadata

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from features import audio, frame, parallel
from features import cache as cache_mod
from features.config import FEATURE_GROUPS, FEATURE_VERSION, ExcerptConfig, FeatureConfig, feature_set
from features.errors import AudioLoadError, ConfigError, ToolkitError
from features.skipped import SkipTable, skip_table

log = logging.getLogger(__name__)

BACKENDS = ("librosa", "essentia")
STAGE = "features"
#: The cache commits a shard every COMMIT_EVERY tracks or COMMIT_SECONDS seconds, whichever comes first:
#: what a killed run loses is bounded by that.
COMMIT_EVERY = 256
COMMIT_SECONDS = float(os.environ.get("MIRBENCH_COMMIT_SECONDS", "10.0"))
#: Frames per block of the frame-level computation (the block's spectra stay in the CPU cache).
BLOCK_FRAMES = 256


# -- per clip ---------------------------------------------------------------------------------------
def frame_data(y: np.ndarray, config: FeatureConfig) -> dict[str, np.ndarray]:
    """Frame-level matrices of one clip with the librosa back-end.

    y: shape (n_samples,), float32. Returns arrays over the clip's 1 + n_samples // hop_length
    frames: 'zcr', 'rms', 'spectral_centroid', 'spectral_bandwidth', 'spectral_rolloff',
    'spectral_flatness' of shape (n_frames,); 'chroma' (n_chroma, n_frames); 'contrast_peak_db' and
    'contrast_valley_db' (n_bands + 1, n_frames) and 'mel_db' (n_mels, n_frames) in dB without the
    top_db floor (it is applied per clip or excerpt by `finish`). Only the groups in config are computed.
    """
    from features import kernels  # here: numba loads with the first clip, not with `import features`

    c = config
    out: dict[str, np.ndarray] = {}
    if c.has("zcr") or c.has("rms"):
        rms, zcr = kernels.rms_zcr(y, frame_length=c.n_fft, hop_length=c.hop_length)  # one pass for both
        if c.has("zcr"):
            out["zcr"] = zcr
        if c.has("rms"):
            out["rms"] = rms
    spectral = ("spectral_centroid", "spectral_bandwidth", "spectral_rolloff", "spectral_flatness",
                "spectral_contrast", "chroma", "mfcc", "tempo")
    if not any(c.has(g) for g in spectral):
        return out
    n_frames = frame.frame_count(len(y), hop_length=c.hop_length)
    tuning = c.tuning
    if c.has("chroma") and tuning == "estimate":
        # The tuning estimate needs the whole clip's spectrogram before any chroma frame.
        whole = frame.stft_magnitude(y, n_fft=c.n_fft, hop_length=c.hop_length)
        tuning = frame.estimate_tuning(P=whole * whole, sr=c.sr, n_fft=c.n_fft, n_chroma=c.n_chroma)
        blocks = [(a, whole[:, a : a + BLOCK_FRAMES]) for a in range(0, n_frames, BLOCK_FRAMES)]
    else:
        blocks = frame.stft_blocks(y, n_fft=c.n_fft, hop_length=c.hop_length, block=BLOCK_FRAMES)
    need_mel = c.has("mfcc") or c.has("tempo")
    # The fused kernel gives centroid, bandwidth, roll-off, flatness and the power spectrum in one pass
    # over each block; its outputs land in these arrays (those of groups not asked for are scratch).
    fused = {"centroid": np.empty(n_frames), "bandwidth": np.empty(n_frames),
             "rolloff": np.empty(n_frames, dtype=np.int64), "flatness": np.empty(n_frames, dtype=np.float32)}
    power = np.empty((c.n_fft // 2 + 1, BLOCK_FRAMES), dtype=np.float32, order="F")  # one block's |X|**2
    use_kernel = need_mel or any(c.has(g) for g in spectral if g not in ("spectral_contrast", "mfcc", "tempo"))
    # Chroma and mel are stored frame-major, (n_frames, n), the layout their products come out in from the
    # frame-major power spectra (`frame.apply_filter_bands`); the returned arrays are their transposes.
    if c.has("chroma"):
        chroma_t = np.empty((n_frames, c.n_chroma), dtype=np.float32)
    if c.has("spectral_contrast"):
        peak = np.empty((c.n_bands + 1, n_frames), dtype=np.float32)
        valley = np.empty_like(peak)
    if need_mel:
        mel_t = np.empty((n_frames, c.n_mels), dtype=np.float32)
    for a, S in blocks:  # every frame feature block by block, while the block's spectra are in cache
        b = slice(a, a + S.shape[1])
        P = power[:, : S.shape[1]]
        if use_kernel:
            kernels.spectral_frames(S, roll_percent=c.roll_percent,
                                    out={**{k: v[b] for k, v in fused.items()}, "power": P})
        if c.has("spectral_contrast"):
            peak[:, b], valley[:, b] = frame.spectral_contrast_parts(
                S=S, sr=c.sr, n_fft=c.n_fft, n_bands=c.n_bands, fmin=c.contrast_fmin, quantile=c.contrast_quantile
            )
        if c.has("chroma"):
            chroma_t[b] = frame.chroma(P=P, sr=c.sr, n_fft=c.n_fft, n_chroma=c.n_chroma, tuning=tuning).T
        if need_mel:
            mel_t[b] = frame.mel_power(P=P, sr=c.sr, n_fft=c.n_fft, n_mels=c.n_mels).T
    df = c.sr / c.n_fft  # Hz per bin
    if c.has("spectral_centroid"):
        out["spectral_centroid"] = np.multiply(fused["centroid"], df, out=fused["centroid"])
    if c.has("spectral_bandwidth"):
        out["spectral_bandwidth"] = np.multiply(fused["bandwidth"], df, out=fused["bandwidth"])
    if c.has("spectral_rolloff"):
        out["spectral_rolloff"] = frame.fft_frequencies(sr=c.sr, n_fft=c.n_fft)[fused["rolloff"]]
    if c.has("spectral_flatness"):
        out["spectral_flatness"] = fused["flatness"]
    if c.has("spectral_contrast"):
        out["contrast_peak_db"] = frame.power_to_db(peak, top_db=None)
        out["contrast_valley_db"] = frame.power_to_db(valley, top_db=None)
    if c.has("chroma"):
        out["chroma"] = chroma_t.T
    if need_mel:
        out["mel_db"] = frame.power_to_db(mel_t, top_db=None).T
    return out


def librosa_tempo(y_segment: np.ndarray, mel_db: np.ndarray, config: FeatureConfig) -> float:
    """Tempo (BPM) of a segment from its floored log-mel spectrogram, shape (n_mels, n_frames)."""
    from features import kernels

    c = config
    env = frame.onset_strength(S_db=mel_db, n_fft=c.n_fft, hop_length=c.hop_length)
    return kernels.tempo(
        onset_envelope=env, sr=c.sr, hop_length=c.hop_length, start_bpm=c.start_bpm, ac_size=c.ac_size,
        max_tempo=c.max_tempo, interpolate=c.tempo_interpolate,
    )


def segments(n_samples: int, config: FeatureConfig, excerpts: ExcerptConfig | None) -> list[tuple[int, int, int, int]]:
    """(first sample, n samples, first frame, n frames) of the whole clip or of each excerpt."""
    hop = config.hop_length
    if excerpts is None:
        return [(0, n_samples, 0, frame.frame_count(n_samples, hop_length=hop))]
    n, _ = excerpts.window(config.sr)
    n_frames = 1 + n // hop
    return [(s, n, s // hop, n_frames) for s in excerpts.starts(n_samples, config.sr, hop)]


def finish(
    data: dict[str, np.ndarray],
    y: np.ndarray,
    config: FeatureConfig,
    segs: list[tuple[int, int, int, int]],
    *,
    tempo_fn,
    moments_fn=None,
) -> np.ndarray:
    """Feature rows from frame-level matrices: shape (len(segs), len(config.columns())), float64.

    Per segment: waveform moments of its samples (`moments_fn`, by default `features.kernels.moments`), tempo from
    `tempo_fn(y_segment, floored mel_db, config)`,
    MFCCs (and deltas) from its floored log-mel, contrast from its floored peaks and valleys, and
    `config.stats` of every frame row over its frames (all groups' rows stacked: one `frame.aggregate`).
    """
    if moments_fn is None:
        from features import kernels

        moments_fn = kernels.moments
    c = config
    out = np.empty((len(segs), len(c.columns())))
    for r, (s0, ns, t0, nt) in enumerate(segs):
        t1 = t0 + nt
        mel_db = None
        if "mel_db" in data:
            mel_db = data["mel_db"][:, t0:t1]
            mel_db = np.maximum(mel_db, mel_db.max() - c.top_db)
        clip: dict[str, float | np.ndarray] = {}  # clip-level values by group
        rows: list[tuple[str, np.ndarray]] = []  # frame rows by group, in column order
        for g in FEATURE_GROUPS:
            if not c.has(g):
                continue
            if g == "moments":
                clip[g] = moments_fn(y[s0 : s0 + ns])
            elif g == "tempo":
                clip[g] = np.array([tempo_fn(y[s0 : s0 + ns], mel_db, c)])
            elif g == "mfcc":
                M = frame.mfcc(S_db=mel_db, n_mfcc=c.n_mfcc)
                rows.append((g, M))
                rows += [(g, frame.delta(M, width=c.delta_width, order=o)) for o in range(1, c.mfcc_deltas + 1)]
            elif g == "spectral_contrast":
                peak = data["contrast_peak_db"][:, t0:t1]
                valley = data["contrast_valley_db"][:, t0:t1]
                rows.append((g, np.maximum(peak, peak.max() - c.top_db) - np.maximum(valley, valley.max() - c.top_db)))
            elif g == "chroma":
                rows.append((g, data["chroma"][:, t0:t1]))
            else:
                rows.append((g, data[g][None, t0:t1]))
        stacked = np.concatenate([X for _, X in rows], axis=0, dtype=np.float64) if rows else None
        stats = frame.aggregate(stacked, c.stats) if rows else None
        values: list[np.ndarray] = []
        k = 0
        for g in FEATURE_GROUPS:
            if g in clip:
                values.append(clip[g])
            elif c.has(g):
                n = sum(len(X) for gg, X in rows if gg == g)
                values.append(stats[k : k + n].ravel())
                k += n
        out[r] = np.concatenate(values)
    return out


def prepare(y: np.ndarray, config: FeatureConfig, excerpts: ExcerptConfig | None) -> tuple[np.ndarray, bool]:
    """The clip zero-padded to one STFT frame (or one excerpt) if shorter; (samples, padded?)."""
    need = config.n_fft if excerpts is None else max(config.n_fft, excerpts.window(config.sr)[0])
    if len(y) >= need:
        return y, False
    return np.pad(y, (0, need - len(y))), True


def compute(
    y: np.ndarray,
    config: FeatureConfig | None = None,
    *,
    backend: str = "librosa",
    excerpts: ExcerptConfig | None = None,
) -> np.ndarray:
    """Features of one decoded clip: shape (1, n_columns), or (n_excerpts, n_columns) in excerpt mode.

    y: mono samples at config.sr, shape (n_samples,). Column names: `config.columns()`.
    """
    config = config or FeatureConfig()
    _check_backend(backend)
    y, _ = prepare(np.asarray(y, dtype=np.float32), config, excerpts)
    return _compute(y, config, backend, excerpts)


def _compute(y: np.ndarray, config: FeatureConfig, backend: str, excerpts: ExcerptConfig | None) -> np.ndarray:
    segs = segments(len(y), config, excerpts)
    if backend == "essentia":
        from features import essentia_backend

        data = essentia_backend.frame_data(y, config)
        return finish(data, y, config, segs, tempo_fn=essentia_backend.segment_tempo,
                      moments_fn=essentia_backend.moments)
    return finish(frame_data(y, config), y, config, segs, tempo_fn=librosa_tempo)


def warm_up(config: FeatureConfig, backend: str = "librosa", excerpts: ExcerptConfig | None = None) -> None:
    """Run the whole computation once on a short silent clip in this process.

    Imports, filterbanks and FFT plans are then in place before the workers fork from this process,
    so each worker does not pay for them again (importing librosa alone takes a second or more).
    """
    n = config.n_fft * 4 if excerpts is None else max(config.n_fft * 4, excerpts.window(config.sr)[0])
    _compute(np.zeros(n, dtype=np.float32), config, backend, excerpts)


def _work(task: tuple) -> tuple:
    """Worker: decode one file and compute its rows. Returns ('ok', rows, padded) or ('skip', reason)."""
    path, config, backend, excerpts = task
    try:
        y = audio.load(path, sr=config.sr, offset=config.offset, duration=config.duration)
    except AudioLoadError as e:
        return ("skip", e.cause)
    y, padded = prepare(y, config, excerpts)
    try:
        rows = _compute(y, config, backend, excerpts)
    except Exception as e:  # a bug or a library failure on this file: say which file
        raise ToolkitError(f"{path}: {backend} feature computation failed: {type(e).__name__}: {e}") from e
    if not np.isfinite(rows).all():
        bad = [col for col, ok in zip(config.columns(), np.isfinite(rows).all(axis=0), strict=True) if not ok]
        return ("skip", f"non-finite feature values in {bad[:5]}")
    return ("ok", rows, padded)


# -- the table ------------------------------------------------------------------------------------------
def _check_backend(backend: str) -> None:
    if backend not in BACKENDS:
        raise ConfigError(f"backend={backend!r} is unknown; choose from {list(BACKENDS)}")
    if backend == "essentia":
        from features import essentia_backend

        essentia_backend.require()


def table_tracks(table: pd.DataFrame) -> tuple[list[str], list[str]]:
    """(track ids, paths) of a TrackTable, checked: both columns present, ids unique, no empty path."""
    if not isinstance(table, pd.DataFrame):
        raise ConfigError(f"table must be a pandas DataFrame (a TrackTable), got {type(table).__name__}")
    missing = [c for c in ("track_id", "path") if c not in table.columns]
    if missing:
        raise ConfigError(f"table lacks column(s) {missing}; a TrackTable has at least track_id and path")
    tids = table["track_id"].astype(str).tolist()
    if len(set(tids)) != len(tids):
        dup = pd.Series(tids)[pd.Series(tids).duplicated()].iloc[0]
        raise ConfigError(f"track_id {dup!r} appears more than once in the table")
    paths = table["path"].tolist()
    bad = [t for t, p in zip(tids, paths, strict=True) if p is None or pd.isna(p) or str(p) == ""]
    if bad:
        raise ConfigError(f"track(s) {bad[:5]} have no path")
    return tids, [os.fspath(p) for p in paths]


def _versions(backend: str) -> dict[str, str]:
    names = ["librosa"] + (["essentia"] if backend == "essentia" else [])
    out = {}
    for n in names:
        try:
            out[n] = metadata.version(n)
        except metadata.PackageNotFoundError:
            out[n] = "unknown"
    return out


def cache_dir_for(
    config: FeatureConfig,
    *,
    backend: str = "librosa",
    excerpts: ExcerptConfig | None = None,
    cache_dir=None,
    namespace: str | None = None,
) -> cache_mod.ShardDir:
    """The cache folder of this (config, backend, excerpt setting, library versions) combination."""
    import hashlib
    import json

    meta = {
        "kind": "features",
        "version": FEATURE_VERSION,
        "backend": backend,
        "libraries": _versions(backend),
        "config": config.to_dict(),
        "columns": config.columns(),
        "excerpts": excerpts.to_dict() if excerpts else None,
    }
    ident = {k: meta[k] for k in ("version", "backend", "libraries", "config", "excerpts")}
    key = hashlib.sha256(json.dumps(ident, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return cache_mod.ShardDir.for_config(
        "features", backend=backend, config_key=key, meta=meta, cache_dir=cache_dir, namespace=namespace
    )


def _resolve_config(config) -> FeatureConfig:
    if config is None:
        return FeatureConfig()
    if isinstance(config, str):
        return feature_set(config)
    if not isinstance(config, FeatureConfig):
        raise ConfigError(f"config must be a FeatureConfig, a FEATURE_SETS name or None, got {type(config).__name__}")
    return config


def _resolve_excerpts(excerpts) -> ExcerptConfig | None:
    if excerpts is None or excerpts is False:
        return None
    if excerpts is True:
        return ExcerptConfig()
    if not isinstance(excerpts, ExcerptConfig):
        raise ConfigError(f"excerpts must be an ExcerptConfig, True or None, got {type(excerpts).__name__}")
    return excerpts


def extract(
    table: pd.DataFrame,
    config: FeatureConfig | str | None = None,
    *,
    backend: str = "librosa",
    n_jobs: int = -1,
    cache: bool = True,
    cache_dir: str | os.PathLike | None = None,
    excerpts: ExcerptConfig | bool | None = None,
    namespace: str | None = None,
    progress: bool = True,
    root: str | os.PathLike | None = None,
    cache_key: str = "stat",
) -> pd.DataFrame:
    """Feature matrix of a TrackTable: one row per track, or per (track, excerpt) in excerpt mode.

    table: DataFrame with at least `track_id` (unique) and `path`. config: a FeatureConfig or a
    `FEATURE_SETS` name (default: the full set). backend: 'librosa' or 'essentia' (optional extra).
    n_jobs: worker processes (-1: one per core). cache: read and write the on-disk cache
    (`features.cache`), under cache_dir (default $MIRBENCH_CACHE or ./.cache/mirbench) and
    `namespace` (a sub-folder, e.g. the dataset name; default 'default').
    excerpts: an ExcerptConfig (or True for 3-s windows with 50% overlap) for excerpt mode.
    root: the dataset folder, to which cache keys are relative (default: ``table.attrs["root"]``, which the
    dataset loaders set); cache_key: 'stat' (relative path, size, mtime) or 'content' (the file's bytes),
    see `features.cache.file_key`. Inside a Dask `features.scheduler.session` the files are computed
    on its cluster.

    Returns float64 columns `config.columns()`, indexed by `track_id` (excerpt mode: a MultiIndex
    (track_id, excerpt), excerpt numbered from 0), rows in table order minus skipped files.
    ``attrs``: 'skipped' (SkipTable: path, stage='features', reason), 'padded' (track ids computed
    in this call that were zero-padded because shorter than one frame or excerpt), 'config',
    'backend', 'excerpts', 'cache' ({'dir', 'hits', 'computed'}).
    """
    config = _resolve_config(config)
    excerpts = _resolve_excerpts(excerpts)
    _check_backend(backend)
    tids, paths = table_tracks(table)
    n_jobs = parallel.resolve_n_jobs(n_jobs)
    columns = config.columns()
    rows: dict[int, np.ndarray] = {}
    padded: set[int] = set()
    skipped: dict[int, str] = {}
    keys: list[str | None] = [None] * len(paths)
    shard_dir = None
    numba_dir = str(cache_mod.numba_cache_dir(cache_dir))
    if cache:
        shard_dir = cache_dir_for(config, backend=backend, excerpts=excerpts, cache_dir=cache_dir, namespace=namespace)
        keys = cache_mod.file_keys(paths, root=root if root is not None else table.attrs.get("root"),
                                   mode=cache_key, n_jobs=n_jobs, numba_dir=numba_dir)
        hits = cache_mod.read_rows(shard_dir, {k for k in keys if k})
        for i, k in enumerate(keys):
            if k in hits and hits[k].shape[1] == len(columns):
                rows[i] = hits[k]
    n_hits = len(rows)
    # A file listed under several track ids is computed once.
    todo: dict[str, list[int]] = {}
    for i, p in enumerate(paths):
        if i not in rows:
            todo.setdefault(keys[i] or os.path.realpath(p), []).append(i)
    groups = list(todo.values())
    log.info(
        "features (%s): %d tracks, %d from cache, %d to compute on %d worker(s)",
        backend, len(paths), n_hits, len(groups), min(n_jobs, max(1, len(groups))),
    )
    if len(groups) > 1 and n_jobs > 1:
        warm_up(config, backend, excerpts)
    writer = cache_mod.RowWriter(shard_dir, every=COMMIT_EVERY, seconds=COMMIT_SECONDS) if cache and groups else None
    tasks = [(paths[g[0]], config, backend, excerpts) for g in groups]
    bar = tqdm(total=len(tasks), desc=f"features ({backend})", unit="clip", disable=None if progress else True)
    try:
        for pos, res in parallel.run(_work, tasks, n_jobs=n_jobs, numba_dir=numba_dir):
            bar.update(1)
            group = groups[pos]
            if res[0] == "skip":
                log.warning("features: skipping %s: %s", paths[group[0]], res[1])
                for i in group:
                    skipped[i] = res[1]
                continue
            _, values, was_padded = res
            for i in group:
                rows[i] = values
                if was_padded:
                    padded.add(i)
            if writer is not None and keys[group[0]]:
                writer.add(keys[group[0]], values, os.path.realpath(paths[group[0]]))
    finally:
        bar.close()
        if writer is not None:
            writer.flush()
    if writer is not None and writer.failed is None:
        try:
            cache_mod.compact(shard_dir)
        except OSError as e:
            log.warning("cache: could not compact %s: %s", shard_dir.path, e)
    df = _assemble(rows, tids, columns, excerpts)
    df.attrs["skipped"] = skip_table([(paths[i], skipped[i]) for i in sorted(skipped)], STAGE)
    df.attrs["padded"] = [tids[i] for i in sorted(padded)]
    df.attrs["config"] = config.to_dict()
    df.attrs["backend"] = backend
    df.attrs["excerpts"] = excerpts.to_dict() if excerpts else None
    df.attrs["cache"] = {
        "dir": str(shard_dir.path) if shard_dir is not None else None,
        "hits": n_hits,
        "computed": len(rows) - n_hits,
    }
    if skipped:
        log.warning("features: %d of %d file(s) skipped; see df.attrs['skipped']", len(skipped), len(paths))
    return df


def _assemble(rows: dict[int, np.ndarray], tids: list[str], columns: list[str], excerpts) -> pd.DataFrame:
    order = sorted(rows)
    if not order:
        values = np.empty((0, len(columns)))
    else:
        values = np.concatenate([rows[i] for i in order], axis=0)
    if excerpts is None:
        index = pd.Index([tids[i] for i in order], name="track_id", dtype=str)
    else:
        index = pd.MultiIndex.from_arrays(
            [
                pd.Index([tids[i] for i in order for _ in range(len(rows[i]))], dtype=str),
                np.concatenate([np.arange(len(rows[i])) for i in order]) if order else np.empty(0, dtype=int),
            ],
            names=["track_id", "excerpt"],
        )
    return pd.DataFrame(values, index=index, columns=pd.Index(columns, dtype=str))


__all__ = ["extract", "compute", "frame_data", "finish", "segments", "BACKENDS", "SkipTable", "table_tracks"]
