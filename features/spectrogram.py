"""Log-mel spectrograms for the CNNs: computed once per track, stored as memory-mapped float16.

`spectrogram(table, SpecConfig(...))` returns a `MelStore`, a read-only mapping
track_id -> array of shape (n_mels, n_frames). Arrays are views into memory-mapped shard files,
so reading a chunk of one track touches only that chunk's pages, never the whole cache.

The values, per track (what `log_mel` computes and `SpecConfig.compress` applies):

    P    = |STFT(y)| ** power              periodic Hann, centred frames, zero padding (librosa.stft);
                                           pad_mode='reflect' and win_length < n_fft as torch.stft does
    M    = SpecConfig.mel_basis() @ P      librosa.filters.mel (Slaney mel and norm by default)
    'db':    10 * log10(max(amin, M))      librosa.power_to_db(M, ref=1.0, amin=amin, top_db=top_db);
                                           with the default top_db=None no per-track floor, so a
                                           chunk computed on the fly equals the cached slice
    'log1p': log(1 + log_c * M)            the compression of Dieleman & Schrauwen / musicnn (C = 10,000)

No per-track normalisation: a CNN front-end standardises with statistics of the training set.
A clip shorter than one frame (n_fft samples) is zero-padded to one frame and listed in
``store.padded``; a file that cannot be decoded is left out and listed in ``store.skipped``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
import weakref
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, fields, replace
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from features import audio, frame, parallel
from features import cache as cache_mod
from features.config import positive_float, positive_int
from features.errors import AudioLoadError, ConfigError, ToolkitError
from features.skipped import SkipTable, skip_table

log = logging.getLogger(__name__)

#: Bump when the definition of the stored values changes: part of every cache key.
SPEC_VERSION = 1
STAGE = "spectrogram"
LOG_MODES = ("db", "log1p")
PAD_MODES = ("constant", "reflect")
#: Fields added after SPEC_VERSION 1, with their defaults: left out of `to_dict` (and so of every
#: cache key) while at these values, so caches of the default settings keep their keys.
_LATER_FIELDS = {"win_length": None, "pad_mode": "constant"}
FLOAT16_MAX = float(np.finfo(np.float16).max)


@dataclass(frozen=True)
class SpecConfig:
    """Settings of the stored log-mel spectrograms (the defaults are the reference GTZAN study's).

    sr: sampling rate the audio is decoded to (Hz); n_fft, hop_length: STFT frame and hop
    (samples), so a track of n samples has 1 + n // hop_length frames; win_length (None: n_fft), the
    Hann window's length, centred in the n_fft frame as torch.stft does; pad_mode: how the signal is
    extended by n_fft // 2 at both ends for the centred frames ('constant': zeros, librosa >= 0.10;
    'reflect': torch.stft's and so torchaudio's default); n_mels, fmin, fmax (None:
    sr / 2), htk, norm: the mel filterbank (librosa.filters.mel); power: exponent of the magnitude
    (2: power, 1: magnitude); log: 'db' or 'log1p' (see the module docstring) with amin, top_db
    (None: no floor) or log_c; offset, duration: the part of each file used (seconds).
    """

    sr: int = 22050
    n_fft: int = 1024
    hop_length: int = 512
    n_mels: int = 128
    fmin: float = 0.0
    fmax: float | None = None
    htk: bool = False
    norm: str | None = "slaney"
    power: float = 2.0
    log: str = "db"
    amin: float = 1e-10
    top_db: float | None = None
    log_c: float = 10000.0
    offset: float = 0.0
    duration: float | None = None
    win_length: int | None = None
    pad_mode: str = "constant"

    def __post_init__(self) -> None:
        for name in ("sr", "n_fft", "hop_length", "n_mels"):
            positive_int(name, getattr(self, name))
        for name in ("power", "amin", "log_c"):
            positive_float(name, getattr(self, name))
        if self.n_fft < 4 or self.n_fft % 2:
            raise ConfigError(f"n_fft={self.n_fft} must be an even integer >= 4")
        if self.win_length is not None:
            positive_int("win_length", self.win_length)
            if self.win_length > self.n_fft:
                raise ConfigError(f"win_length={self.win_length} must not exceed n_fft={self.n_fft}")
        if self.pad_mode not in PAD_MODES:
            raise ConfigError(f"pad_mode={self.pad_mode!r} must be one of {PAD_MODES}")
        if self.hop_length > self.n_fft:
            raise ConfigError(f"hop_length={self.hop_length} must not exceed n_fft={self.n_fft}")
        fmax = self.sr / 2 if self.fmax is None else self.fmax
        if not 0.0 <= self.fmin < fmax <= self.sr / 2:
            raise ConfigError(
                f"fmin={self.fmin}, fmax={self.fmax} must satisfy 0 <= fmin < fmax <= sr / 2 = {self.sr / 2:g}"
            )
        if self.log not in LOG_MODES:
            raise ConfigError(f"log={self.log!r} must be one of {LOG_MODES}")
        if self.top_db is not None:
            positive_float("top_db", self.top_db)
        if self.norm not in ("slaney", None):
            raise ConfigError(f"norm={self.norm!r} must be 'slaney' or None")
        if self.offset < 0:
            raise ConfigError(f"offset={self.offset} must be >= 0 seconds")
        if self.duration is not None and not self.duration > 0:
            raise ConfigError(f"duration={self.duration} must be > 0 seconds or None")

    def mel_basis(self) -> np.ndarray:
        """librosa.filters.mel with these settings: float32, shape (n_mels, 1 + n_fft // 2)."""
        import librosa

        return librosa.filters.mel(
            sr=self.sr, n_fft=self.n_fft, n_mels=self.n_mels, fmin=self.fmin, fmax=self.fmax, htk=self.htk,
            norm=self.norm, dtype=np.float32,
        )

    def n_frames(self, n_samples: int) -> int:
        """Frames of a track of n_samples (centred frames)."""
        return frame.frame_count(max(n_samples, self.n_fft), hop_length=self.hop_length)

    def compress(self, mel: np.ndarray) -> np.ndarray:
        """The log compression applied to a mel spectrogram (any shape)."""
        if self.log == "db":
            return frame.power_to_db(mel, amin=self.amin, top_db=self.top_db)
        return np.log1p(self.log_c * mel)

    def floor(self) -> float:
        """The stored value of silence (an all-zero mel power): 10 * log10(amin) in 'db' (-100 dB with the
        default amin), 0.0 in 'log1p'. What a chunk is padded with (never 0 dB, a loud value)."""
        return float(self.compress(np.zeros(1, dtype=np.float32))[0])

    def to_dict(self) -> dict:
        d = asdict(self)
        for name, default in _LATER_FIELDS.items():
            if d[name] == default:
                del d[name]
        return d

    def key(self) -> str:
        payload = json.dumps({"version": SPEC_VERSION, **self.to_dict()}, sort_keys=True, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def replace(self, **changes) -> SpecConfig:
        return replace(self, **changes)

    @classmethod
    def from_dict(cls, d: dict) -> SpecConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"unknown SpecConfig field(s) {unknown}; expected some of {sorted(known)}")
        return cls(**d)


#: Settings of the reference studies (shared/REFERENCES.md).
SPEC_PRESETS: dict[str, SpecConfig] = {
    "gtzan": SpecConfig(),  # 22,050 Hz, n_fft 1024, hop 512, 128 mels
    "fma": SpecConfig(sr=32000, n_fft=800, hop_length=320, n_mels=128),
    "mtat": SpecConfig(sr=16000, n_fft=512, hop_length=256, n_mels=128, fmax=8000.0),
    "jamendo-mood": SpecConfig(sr=12000, n_fft=2048, hop_length=1024, n_mels=96),
}


def log_mel(y: np.ndarray, config: SpecConfig) -> np.ndarray:
    """Log-mel spectrogram of one clip: float32, shape (n_mels, 1 + n_samples // hop_length).

    y: mono samples at config.sr, shape (n_samples,), at least n_fft // 2 + 1 of them.
    """
    bands = _mel_bands(config)
    mel = np.empty((config.n_mels, frame.frame_count(len(y), hop_length=config.hop_length)), dtype=np.float32)
    plain = config.pad_mode == "constant" and config.win_length in (None, config.n_fft)
    blocks = (frame.stft_blocks(y, n_fft=config.n_fft, hop_length=config.hop_length, block=256) if plain
              else _stft_blocks(y, config, block=256))
    for a, S in blocks:
        P = S * S if config.power == 2.0 else S**config.power
        mel[:, a : a + S.shape[1]] = frame.apply_filter_bands(bands, P)
    return config.compress(mel)


def _stft_blocks(y: np.ndarray, config: SpecConfig, block: int = 256):
    """|STFT| as torch.stft(center=True, pad_mode=config.pad_mode, window=periodic Hann of win_length
    zero-padded to n_fft at its centre), in blocks of frames: yields (first frame, S of shape
    (1 + n_fft // 2, <= block)) like `features.frame.stft_blocks`."""
    import scipy.fft

    n_fft, hop = config.n_fft, config.hop_length
    win = config.win_length or n_fft
    window = np.zeros(n_fft, dtype=np.float32)
    left = (n_fft - win) // 2
    window[left : left + win] = frame.hann_window(win)
    yp = np.pad(np.asarray(y, dtype=np.float32), n_fft // 2, mode=config.pad_mode)
    frames = np.lib.stride_tricks.sliding_window_view(yp, n_fft)[::hop]
    for a in range(0, len(frames), block):
        x = frames[a : a + block] * window
        yield a, np.abs(scipy.fft.rfft(x, axis=-1)).astype(np.float32).T


_BANDS: dict[str, tuple] = {}


def _mel_bands(config: SpecConfig) -> tuple:
    k = config.key()
    if k not in _BANDS:
        _BANDS[k] = frame.filter_bands(config.mel_basis())
    return _BANDS[k]


def _work(task: tuple) -> tuple:
    """Worker: ('ok', float16 array (n_frames, n_mels), padded) or ('skip', reason)."""
    path, config = task
    try:
        y = audio.load(path, sr=config.sr, offset=config.offset, duration=config.duration)
    except AudioLoadError as e:
        return ("skip", e.cause)
    padded = len(y) < config.n_fft
    if padded:
        y = np.pad(y, (0, config.n_fft - len(y)))
    try:
        m = log_mel(y, config)
    except Exception as e:
        raise ToolkitError(f"{path}: log-mel computation failed: {type(e).__name__}: {e}") from e
    if not np.isfinite(m).all():
        return ("skip", "non-finite log-mel values")
    if np.abs(m).max() > FLOAT16_MAX:
        return ("skip", f"log-mel values beyond float16 range (max |x| = {np.abs(m).max():.3g})")
    return ("ok", np.ascontiguousarray(m.T, dtype=np.float16), padded)


class MelStore(Mapping):
    """Read-only mapping track_id -> log-mel array, float16, shape (n_mels, n_frames).

    Each array is a read-only view (transposed, so not C-contiguous) into a memory-mapped shard:
    ``store[tid][:, a:b]`` reads only frames a..b from disk. Copy with
    ``np.asarray(store[tid][:, a:b], dtype=np.float32)`` before handing it to torch. The store
    pickles without its data (worker processes of a data loader re-open the files).

    Attributes: track_ids (list, table order minus skipped), n_mels, config (SpecConfig),
    skipped (SkipTable: path, stage, reason), padded (track ids zero-padded to one frame),
    cache (dict: dir, hits, computed).
    """

    def __init__(
        self,
        config: SpecConfig,
        entries: dict[str, tuple[Path, int, int]],
        *,
        skipped: SkipTable,
        padded: list[str] | None = None,
        cache: dict | None = None,
        tmpdir: Path | None = None,
    ):
        self.config = config
        self._entries = dict(entries)
        self.track_ids: list[str] = list(entries)
        self.n_mels = config.n_mels
        self.skipped = skipped
        self.padded = list(padded or [])
        self.cache = dict(cache or {})
        self._maps: dict[Path, np.ndarray] = {}
        self._tmpdir = tmpdir
        if tmpdir is not None:
            self._finalizer = weakref.finalize(self, shutil.rmtree, str(tmpdir), True)

    def _map(self, path: Path) -> np.ndarray:
        m = self._maps.get(path)
        if m is None:
            m = np.load(path, mmap_mode="r", allow_pickle=False)
            self._maps[path] = m
        return m

    def __getitem__(self, track_id: str) -> np.ndarray:
        try:
            path, start, n = self._entries[track_id]
        except KeyError:
            raise KeyError(f"track_id {track_id!r} is not in this MelStore ({len(self)} tracks)") from None
        return np.asarray(self._map(path)[start : start + n]).T

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[str]:
        return iter(self.track_ids)

    def __contains__(self, track_id: object) -> bool:
        return track_id in self._entries

    def n_frames(self, track_id: str) -> int:
        """Frames of one track without touching its data."""
        return self._entries[track_id][2]

    def lengths(self) -> pd.Series:
        """Frames per track, indexed by track_id."""
        return pd.Series({t: e[2] for t, e in self._entries.items()}, name="n_frames", dtype="int64")

    def verify(self) -> list[str]:
        """Re-read every shard and check its CRC-32 against its sidecar; returns the problems found."""
        problems = []
        for data in sorted({e[0] for e in self._entries.values()}):
            sidecar = data.with_suffix(".json")
            try:
                meta = json.loads(sidecar.read_text())
                import zlib

                if zlib.crc32(data.read_bytes()) != meta["crc32"]:
                    problems.append(f"{data}: CRC-32 differs from its sidecar")
            except (OSError, ValueError, KeyError) as e:
                problems.append(f"{data}: {e}")
        return problems

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_maps"] = {}
        state.pop("_finalizer", None)
        state["_tmpdir"] = None  # only the creating process removes a temporary store
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)

    def __repr__(self) -> str:
        return f"MelStore({len(self)} tracks, n_mels={self.n_mels}, sr={self.config.sr}, hop={self.config.hop_length})"


def _versions() -> dict[str, str]:
    try:
        return {"librosa": metadata.version("librosa")}
    except metadata.PackageNotFoundError:
        return {"librosa": "unknown"}


def spectrogram(
    table: pd.DataFrame,
    config: SpecConfig | str | None = None,
    *,
    n_jobs: int = -1,
    cache: bool = True,
    cache_dir: str | os.PathLike | None = None,
    namespace: str | None = None,
    progress: bool = True,
    root: str | os.PathLike | None = None,
    cache_key: str = "stat",
) -> MelStore:
    """Log-mel spectrogram of every track of a TrackTable, as a memory-mapped `MelStore`.

    table: DataFrame with at least `track_id` (unique) and `path`. config: a SpecConfig or a
    `SPEC_PRESETS` name (default: SpecConfig()). n_jobs: worker processes (-1: one per core).
    cache: keep the arrays in the on-disk cache (`features.cache`, kind 'mel') under cache_dir /
    namespace and reuse them on the next call; with cache=False they go to a temporary folder
    removed when the store is garbage-collected. root, cache_key: how files are keyed, as in
    `features.extract` (default root: ``table.attrs["root"]``). Inside a Dask `features.scheduler.session`
    the spectrograms are computed on its cluster and written to the cache by this process.
    """
    from features.extract import table_tracks

    if config is None:
        config = SpecConfig()
    elif isinstance(config, str):
        if config not in SPEC_PRESETS:
            raise ConfigError(f"spectrogram preset {config!r} is unknown; choose from {sorted(SPEC_PRESETS)}")
        config = SPEC_PRESETS[config]
    elif not isinstance(config, SpecConfig):
        raise ConfigError(f"config must be a SpecConfig, a SPEC_PRESETS name or None, got {type(config).__name__}")
    tids, paths = table_tracks(table)
    n_jobs = parallel.resolve_n_jobs(n_jobs)
    tmpdir = None
    meta = {"kind": "mel", "version": SPEC_VERSION, "libraries": _versions(), "config": config.to_dict()}
    ident = json.dumps({k: meta[k] for k in ("version", "libraries", "config")}, sort_keys=True, default=str)
    config_key = hashlib.sha256(ident.encode()).hexdigest()[:16]
    if cache:
        shard_dir = cache_mod.ShardDir.for_config(
            "mel", backend="librosa", config_key=config_key, meta=meta, cache_dir=cache_dir, namespace=namespace
        )
        keys = cache_mod.file_keys(paths, root=root if root is not None else table.attrs.get("root"), mode=cache_key,
                                   n_jobs=n_jobs, numba_dir=str(cache_mod.numba_cache_dir(cache_dir)))
    else:
        tmpdir = Path(tempfile.mkdtemp(prefix="mirbench-mel-"))
        shard_dir = cache_mod.ShardDir(tmpdir, meta)
        keys = [f"tmp{i}" for i in range(len(paths))]
    where: dict[str, tuple[Path, int, int]] = {}
    for shard in shard_dir.shards() if cache else []:
        for k, (a, n) in shard.index.items():
            where.setdefault(k, (shard.data, a, n))
    entries: dict[int, tuple[Path, int, int]] = {i: where[k] for i, k in enumerate(keys) if k in where}
    n_hits = len(entries)
    todo: dict[str, list[int]] = {}
    for i, p in enumerate(paths):
        if i not in entries:
            todo.setdefault(keys[i] or f"nokey:{os.path.realpath(p)}", []).append(i)
    groups = list(todo.items())
    log.info("spectrogram: %d tracks, %d from cache, %d to compute", len(paths), n_hits, len(groups))
    skipped: dict[int, str] = {}
    padded: set[int] = set()
    if len(groups) > 1 and n_jobs > 1:
        log_mel(np.zeros(config.n_fft * 4, dtype=np.float32), config)  # imports and filterbank before forking
    writer = _MelWriter(shard_dir)
    tasks = [(paths[g[0]], config) for _, g in groups]
    bar = tqdm(total=len(tasks), desc="log-mel", unit="clip", disable=None if progress else True)
    try:
        for pos, res in parallel.run(_work, tasks, n_jobs=n_jobs, numba_dir=str(cache_mod.numba_cache_dir(cache_dir))):
            bar.update(1)
            key, group = groups[pos]
            if res[0] == "skip":
                log.warning("spectrogram: skipping %s: %s", paths[group[0]], res[1])
                for i in group:
                    skipped[i] = res[1]
                continue
            _, arr, was_padded = res
            if was_padded:
                padded.update(group)
            # Tracks whose file has no identity (it vanished) are stored under a one-off key.
            writer.add(key if not key.startswith("nokey:") else f"nokey{pos}", arr, os.path.realpath(paths[group[0]]),
                       group)
            for shard, committed in writer.take_committed():
                for k, idxs in committed:
                    a, n = shard.index[k]
                    for i in idxs:
                        entries[i] = (shard.data, a, n)
    finally:
        bar.close()
        writer.flush()
        for shard, committed in writer.take_committed():
            for k, idxs in committed:
                a, n = shard.index[k]
                for i in idxs:
                    entries[i] = (shard.data, a, n)
    ordered = {tids[i]: entries[i] for i in range(len(tids)) if i in entries}
    store = MelStore(
        config,
        ordered,
        skipped=skip_table([(paths[i], skipped[i]) for i in sorted(skipped)], STAGE),
        padded=[tids[i] for i in sorted(padded)],
        cache={"dir": str(shard_dir.path) if cache else None, "hits": n_hits, "computed": len(entries) - n_hits},
        tmpdir=tmpdir,
    )
    if skipped:
        log.warning("spectrogram: %d of %d file(s) skipped; see store.skipped", len(skipped), len(paths))
    return store


class _MelWriter:
    """Buffers float16 arrays (n_frames, n_mels) and commits them as shards of about 64 MB or every 10 s."""

    def __init__(self, shard_dir: cache_mod.ShardDir, *, max_bytes: int = 64 << 20, seconds: float = 10.0):
        self.dir = shard_dir
        self.max_bytes = max_bytes
        self.seconds = seconds
        self._items: list[tuple[str, np.ndarray, str, list[int]]] = []
        self._bytes = 0
        self._last = time.monotonic()
        self._committed: list[tuple[cache_mod.Shard, list[tuple[str, list[int]]]]] = []

    def add(self, key: str, arr: np.ndarray, path: str, idxs: list[int]) -> None:
        self._items.append((key, arr, path, idxs))
        self._bytes += arr.nbytes
        if self._bytes >= self.max_bytes or time.monotonic() - self._last >= self.seconds:
            self.flush()

    def flush(self) -> None:
        if not self._items:
            return
        index, paths, start = {}, {}, 0
        for key, arr, path, _ in self._items:
            index[key] = (start, len(arr))
            paths[key] = path
            start += len(arr)
        try:
            shard = self.dir.write([a for _, a, _, _ in self._items], index, paths, durable=False)
        except OSError as e:
            raise ToolkitError(
                f"cannot write log-mel spectrograms under {self.dir.path} ({type(e).__name__}: {e}); "
                "point cache_dir (or $MIRBENCH_CACHE) at a writable folder"
            ) from e
        self._committed.append((shard, [(k, idxs) for k, _, _, idxs in self._items]))
        self._items, self._bytes = [], 0
        self._last = time.monotonic()

    def take_committed(self):
        out, self._committed = self._committed, []
        return out
