"""Decoded waveforms for models that read raw audio or compute their input on the device.

`waveform_store(table, sr=...)` decodes every track of a TrackTable once (in worker processes) and
returns a `WaveStore`, a read-only mapping track_id -> array of shape (n_samples,) at `sr` Hz. The
arrays are float16 by default: half the memory of float32, and a relative precision of 2**-11
(about 66 dB below each sample's own magnitude), far below what a spectrogram in dB resolves.

Memory: 1,000 GTZAN clips of 30 s at 22,050 Hz take 1.3 GB in float16; MTAT at 16 kHz takes 24 GB.
Arrays stay in RAM up to `memory_limit` bytes (default: half the memory available when the store is
built); the rest is written to one file in a temporary folder and memory-mapped, so the OS page
cache holds what fits and a chunk read touches only that chunk's pages. A file that cannot be
decoded is left out and listed in ``store.skipped`` (stage "waveform"), never silently dropped.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import weakref
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from features import audio, parallel
from features import cache as cache_mod
from features.errors import AudioLoadError, ConfigError
from features.skipped import SkipTable, skip_table

log = logging.getLogger(__name__)

STAGE = "waveform"
DTYPES = ("float16", "float32")
FLOAT16_MAX = float(np.finfo(np.float16).max)


def available_memory() -> int:
    """Bytes of memory available to new allocations (MemAvailable on Linux; free pages elsewhere)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - no sysconf
        return 4 << 30


def _decode(task: tuple) -> tuple:
    """Worker: ('ok', array (n_samples,) of `dtype`) or ('skip', reason)."""
    path, sr, offset, duration, dtype = task
    try:
        y = audio.load(path, sr=sr, offset=offset, duration=duration)
    except AudioLoadError as e:
        return ("skip", e.cause)
    if dtype == "float16":
        peak = float(np.abs(y).max())
        if peak > FLOAT16_MAX:
            return ("skip", f"samples beyond float16 range (max |x| = {peak:.3g})")
    return ("ok", y.astype(dtype, copy=False))


class _Spill:
    """Append-only file of arrays of one dtype; `open()` maps it read-only once writing is done."""

    def __init__(self, folder: Path, dtype: str):
        self.path = folder / "waveforms.bin"
        self.dtype = np.dtype(dtype)
        self._f = open(self.path, "wb")  # noqa: SIM115 - closed in open()
        self.n_items = 0  # in elements, not bytes
        self.where: dict[str, tuple[int, int]] = {}

    def add(self, track_id: str, arr: np.ndarray) -> None:
        self._f.write(np.ascontiguousarray(arr, dtype=self.dtype).tobytes())
        self.where[track_id] = (self.n_items, len(arr))
        self.n_items += len(arr)

    def close(self) -> None:
        self._f.close()

    def open(self) -> dict[str, np.ndarray]:
        self.close()
        if not self.where:
            return {}
        data = np.memmap(self.path, dtype=self.dtype, mode="r", shape=(self.n_items,))
        return {t: data[a : a + n] for t, (a, n) in self.where.items()}


class WaveStore(Mapping):
    """Read-only mapping track_id -> waveform, shape (n_samples,), dtype float16 or float32, at `sr` Hz.

    Arrays are read-only (in memory, or views of a memory-mapped file for what did not fit);
    slice before converting: ``np.asarray(store[tid][a:b], dtype=np.float32)``.

    Attributes: sr, dtype, track_ids (table order minus skipped), skipped (SkipTable: path, stage,
    reason), spilled (track ids kept on disk), nbytes (all arrays), offset, duration (seconds decoded).
    """

    def __init__(
        self,
        arrays: dict[str, np.ndarray],
        *,
        sr: int,
        dtype: str,
        skipped: SkipTable,
        spilled: list[str] | None = None,
        offset: float = 0.0,
        duration: float | None = None,
        tmpdir: Path | None = None,
    ):
        self._arrays = dict(arrays)
        for a in self._arrays.values():
            if a.flags.writeable:
                a.flags.writeable = False
        self.track_ids: list[str] = list(self._arrays)
        self.sr, self.dtype = int(sr), str(dtype)
        self.skipped = skipped
        self.spilled = list(spilled or [])
        self.offset, self.duration = offset, duration
        self._tmpdir = tmpdir
        if tmpdir is not None:
            self._finalizer = weakref.finalize(self, shutil.rmtree, str(tmpdir), True)

    def __getitem__(self, track_id: str) -> np.ndarray:
        try:
            return self._arrays[track_id]
        except KeyError:
            raise KeyError(f"track_id {track_id!r} is not in this WaveStore ({len(self)} tracks)") from None

    def __len__(self) -> int:
        return len(self._arrays)

    def __iter__(self) -> Iterator[str]:
        return iter(self.track_ids)

    def __contains__(self, track_id: object) -> bool:
        return track_id in self._arrays

    @property
    def nbytes(self) -> int:
        return int(sum(a.nbytes for a in self._arrays.values()))

    def lengths(self) -> pd.Series:
        """Samples per track, indexed by track_id."""
        return pd.Series({t: len(a) for t, a in self._arrays.items()}, name="n_samples", dtype="int64")

    def __repr__(self) -> str:
        return (f"WaveStore({len(self)} tracks, sr={self.sr}, {self.dtype}, {self.nbytes / 1e6:.1f} MB, "
                f"{len(self.spilled)} on disk)")


def waveform_store(
    table: pd.DataFrame,
    *,
    sr: int,
    dtype: str = "float16",
    offset: float = 0.0,
    duration: float | None = None,
    n_jobs: int = -1,
    memory_limit: int | None = None,
    spill_dir: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    progress: bool = True,
) -> WaveStore:
    """Decode every track of a TrackTable to mono at `sr` Hz: a `WaveStore` track_id -> (n_samples,).

    table: DataFrame with at least `track_id` (unique) and `path`. dtype: "float16" (default) or
    "float32". offset, duration: the part of each file decoded (seconds; as `SpecConfig`'s). n_jobs:
    decoding processes (-1: one per core). memory_limit: bytes of arrays kept in RAM (None: half of
    the memory available now; 0: all on disk); the rest goes to a memory-mapped file in a temporary
    folder under `spill_dir` (default: the system's), removed with the store. cache_dir: where the
    workers' numba cache lives (see `features.cache`).
    """
    from features.extract import table_tracks

    if dtype not in DTYPES:
        raise ConfigError(f"dtype={dtype!r} must be one of {DTYPES}")
    if isinstance(sr, bool) or not isinstance(sr, (int, np.integer)) or sr <= 0:
        raise ConfigError(f"sr={sr!r} must be a positive integer (Hz)")
    if memory_limit is not None and memory_limit < 0:
        raise ConfigError(f"memory_limit={memory_limit} must be a non-negative number of bytes or None")
    tids, paths = table_tracks(table)
    n_jobs = parallel.resolve_n_jobs(n_jobs)
    limit = available_memory() // 2 if memory_limit is None else int(memory_limit)
    tasks = [(p, int(sr), float(offset), duration, dtype) for p in paths]
    arrays: dict[int, np.ndarray] = {}
    spill: _Spill | None = None
    tmpdir: Path | None = None
    skipped: dict[int, str] = {}
    in_ram = 0
    bar = tqdm(total=len(tasks), desc=f"waveform {sr} Hz", unit="clip", disable=None if progress else True)
    try:
        numba_dir = str(cache_mod.numba_cache_dir(cache_dir))
        for pos, res in parallel.run(_decode, tasks, n_jobs=n_jobs, numba_dir=numba_dir):
            bar.update(1)
            if res[0] == "skip":
                log.warning("waveform: skipping %s: %s", paths[pos], res[1])
                skipped[pos] = res[1]
                continue
            arr = res[1]
            if in_ram + arr.nbytes <= limit:
                arrays[pos] = arr
                in_ram += arr.nbytes
                continue
            if spill is None:
                if spill_dir is not None:
                    Path(spill_dir).mkdir(parents=True, exist_ok=True)
                tmpdir = Path(tempfile.mkdtemp(prefix="mirbench-wave-", dir=spill_dir))
                spill = _Spill(tmpdir, dtype)
                log.info("waveform: over the memory limit of %.2f GB; the rest goes to %s", limit / 1e9, tmpdir)
            spill.add(tids[pos], arr)
    except BaseException:
        if spill is not None:
            spill.close()
        if tmpdir is not None:
            shutil.rmtree(tmpdir, ignore_errors=True)
        raise
    finally:
        bar.close()
    on_disk = spill.open() if spill is not None else {}
    ordered = {}
    for i, t in enumerate(tids):
        if i in arrays:
            ordered[t] = arrays[i]
        elif t in on_disk:
            ordered[t] = on_disk[t]
    store = WaveStore(
        ordered, sr=sr, dtype=dtype, offset=offset, duration=duration, tmpdir=tmpdir,
        skipped=skip_table([(paths[i], skipped[i]) for i in sorted(skipped)], STAGE),
        spilled=[t for t in tids if t in on_disk],
    )
    log.info("waveform: %d tracks at %d Hz, %.2f GB %s (%d on disk); %d skipped",
             len(store), sr, store.nbytes / 1e9, dtype, len(store.spilled), len(skipped))
    return store
