"""On-disk cache of feature matrices and log-mel spectrograms, keyed by file identity and settings.

Layout: ``<root>/<kind>/<namespace>/<backend>-<config key>/`` with kind ``features`` or ``mel``,
holding a ``config.json`` (what the folder was computed with) and shards. A shard is a data file
(``.npy``) plus a JSON sidecar that indexes it: file key -> (first row, number of rows), the data
file's size and CRC-32, and the source paths. Both are written to a temporary name and moved into
place with `os.replace`, the sidecar last, so a shard without a valid sidecar was never completed
and is never read. Work is committed shard by shard, so an interrupted run keeps what it finished
and the next run computes only the rest.

A file's key (`file_key`) is a hash of its path relative to the dataset root, its size and modification
time (ns), or with ``cache_key="content"`` a hash of its bytes: touching or replacing a file invalidates
its entries, moving or copying the dataset folder (with its times, or any copy in content mode) does not,
and nothing in a key names the machine, so one cache on a shared file system serves every node. Changing
any setting changes the folder.

Many writers at once (several runs, several nodes) never corrupt it: each commits its own uniquely named
shards by atomic rename, readers see only shards whose sidecar was committed, and `compact` writes the
merged shard before it removes the merged ones, so an interrupted merge leaves duplicates (read once,
merged again by the next `compact`), never a gap.

The root is `cache_dir`, else ``$MIRBENCH_CACHE``, else ``./.cache/mirbench``. Clear it with
`clear()` or ``python -m features.cache clear [--kind features|mel] [--namespace NAME]``;
``python -m features.cache info`` lists what is there.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import logging
import os
import shutil
import time
import uuid
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from features.errors import ConfigError

log = logging.getLogger(__name__)

ENV_VAR = "MIRBENCH_CACHE"
KINDS = ("features", "mel")
FORMAT = 1
DEFAULT_NAMESPACE = "default"
# A data file with no sidecar older than this is debris from a killed writer and is removed.
ORPHAN_AGE_S = 600.0
# Feature folders with more shards than this are merged into one at the end of a run.
COMPACT_ABOVE = 8


def default_cache_dir() -> Path:
    """$MIRBENCH_CACHE if set, else ./.cache/mirbench (relative to the working directory)."""
    env = os.environ.get(ENV_VAR)
    return Path(env).expanduser() if env else Path.cwd() / ".cache" / "mirbench"


def resolve_root(cache_dir: str | os.PathLike | None) -> Path:
    return (Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()).resolve()


def numba_cache_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """Where workers keep numba's compiled functions between runs."""
    return resolve_root(cache_dir) / "numba"


#: How a file is keyed: "stat" (its path relative to the dataset root, size and mtime) or "content" (a hash of
#: its bytes and its size, whatever its path and times).
KEY_MODES = ("stat", "content")


def check_key_mode(mode: str) -> str:
    if mode not in KEY_MODES:
        raise ConfigError(f"cache_key={mode!r} must be one of {list(KEY_MODES)}")
    return mode


def relative_name(path: str | os.PathLike, root: str | os.PathLike | None) -> str:
    """`path` relative to `root` as a POSIX path when it lies under it (compared lexically first, so a link
    inside the dataset keeps its own name, then with links resolved), else the absolute real path."""
    p = os.path.abspath(os.fspath(path))
    if root is not None:
        # lexically first, then both resolved (a table of resolved paths under a root reached by a link)
        for a, r in ((p, os.path.abspath(os.fspath(root))), (os.path.realpath(p), os.path.realpath(root))):
            if a.startswith(r.rstrip(os.sep) + os.sep):
                return Path(os.path.relpath(a, r)).as_posix()
    return os.path.realpath(p)


def file_key(path: str | os.PathLike, *, root: str | os.PathLike | None = None, mode: str = "stat") -> str | None:
    """A file's cache key, 32 hex characters; None if it cannot be stat'ed (or, in content mode, read).

    mode "stat" (default): a hash of (its path relative to the dataset `root`, size, mtime_ns), so a dataset
    folder moved, mounted elsewhere or copied with its times (``cp -a``, ``rsync -a``) keeps its cache, and
    every node of a cluster reading it through a shared file system at any mount point finds the same keys.
    Without `root` (or for a file outside it) the absolute real path takes the relative one's place.
    mode "content": a hash of the file's bytes and size: any copy, anywhere, with any times, hits; it
    reads every file once per call (`file_keys` spreads that over the workers).
    """
    check_key_mode(mode)
    real = os.path.realpath(os.fspath(path))
    try:
        st = os.stat(real)
    except OSError:
        return None
    if mode == "content":
        h = hashlib.blake2b(digest_size=16)
        try:
            with open(real, "rb") as f:
                while chunk := f.read(1 << 20):
                    h.update(chunk)
        except OSError:
            return None
        return hashlib.sha256(f"content\0{h.hexdigest()}\0{st.st_size}".encode()).hexdigest()[:32]
    name = relative_name(path, root)
    ident = f"{name}\0{st.st_size}\0{st.st_mtime_ns}".encode("utf-8", "surrogateescape")  # non-UTF-8 names
    return hashlib.sha256(ident).hexdigest()[:32]


def _key_task(task: tuple) -> str | None:
    path, root, mode = task
    return file_key(path, root=root, mode=mode)


def file_keys(paths: list[str], *, root=None, mode: str = "stat", n_jobs: int = 1,
              numba_dir: str | None = None) -> list[str | None]:
    """`file_key` of each path; content hashes are computed on the worker pool (or the Dask cluster)."""
    check_key_mode(mode)
    if mode == "stat":
        return [file_key(p, root=root) for p in paths]
    from features import parallel

    out: list[str | None] = [None] * len(paths)
    tasks = [(p, root, mode) for p in paths]
    for i, k in parallel.run(_key_task, tasks, n_jobs=n_jobs, numba_dir=numba_dir or str(numba_cache_dir())):
        out[i] = k
    return out


def _check_namespace(namespace: str | None) -> str:
    ns = DEFAULT_NAMESPACE if namespace is None else str(namespace)
    if not ns or ns in (".", "..") or any(c in ns for c in "/\\\0"):
        raise ConfigError(f"namespace={namespace!r} must be a plain, non-empty folder name")
    return ns


def _atomic_write(path: Path, chunks, *, durable: bool = True) -> tuple[int, int]:
    """Write the byte chunks to a temporary file and move it to `path`; returns (size, CRC-32)."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    size, crc = 0, 0
    try:
        with open(tmp, "wb") as f:
            for chunk in chunks:
                mv = memoryview(chunk).cast("B")
                f.write(mv)
                size += mv.nbytes
                crc = zlib.crc32(mv, crc)
            f.flush()
            if durable:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return size, crc


def _npy_chunks(parts: list[np.ndarray]) -> list:
    """The .npy file of the row-wise concatenation of `parts`, as chunks (no concatenated copy is made)."""
    first = parts[0]
    shape = (sum(len(p) for p in parts), *first.shape[1:])
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": np.lib.format.dtype_to_descr(first.dtype), "fortran_order": False, "shape": shape}
    )
    return [header.getvalue(), *(np.ascontiguousarray(p, dtype=first.dtype) for p in parts)]


@dataclass
class Shard:
    """One committed shard: its data file and its index (key -> (first row, number of rows))."""

    data: Path
    sidecar: Path
    index: dict[str, tuple[int, int]]
    paths: dict[str, str]
    nbytes: int
    crc32: int
    shape: tuple[int, ...]
    dtype: str

    def read_bytes(self) -> bytes:
        """The data file's bytes after checking its size and CRC; raises OSError if they do not match."""
        raw = self.data.read_bytes()
        if len(raw) != self.nbytes or zlib.crc32(raw) != self.crc32:
            raise OSError(f"{self.data.name}: size or CRC-32 differs from its sidecar")
        return raw

    def load(self) -> np.ndarray:
        """The whole shard, integrity-checked (for small shards)."""
        return np.load(io.BytesIO(self.read_bytes()), allow_pickle=False)

    def memmap(self) -> np.ndarray:
        """The shard memory-mapped read-only, after checking its size against the sidecar."""
        size = self.data.stat().st_size
        if size != self.nbytes:
            raise OSError(f"{self.data.name}: {size} bytes on disk, its sidecar says {self.nbytes}")
        arr = np.load(self.data, mmap_mode="r", allow_pickle=False)
        if tuple(arr.shape) != self.shape or str(arr.dtype) != self.dtype:
            raise OSError(f"{self.data.name}: header {arr.shape} {arr.dtype} differs from its sidecar")
        return arr


class ShardDir:
    """A folder of shards for one (kind, namespace, backend, settings) combination."""

    def __init__(self, path: Path, meta: dict | None = None):
        self.path = Path(path)
        self.meta = meta or {}

    @classmethod
    def for_config(
        cls,
        kind: str,
        *,
        backend: str,
        config_key: str,
        meta: dict,
        cache_dir: str | os.PathLike | None = None,
        namespace: str | None = None,
    ) -> ShardDir:
        if kind not in KINDS:
            raise ConfigError(f"kind={kind!r} must be one of {KINDS}")
        path = resolve_root(cache_dir) / kind / _check_namespace(namespace) / f"{backend}-{config_key}"
        return cls(path, meta)

    def ensure(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        cfg = self.path / "config.json"
        if not cfg.exists() and self.meta:
            _atomic_write(cfg, [json.dumps(self.meta, indent=2, sort_keys=True, default=str).encode()], durable=False)

    # -- reading -----------------------------------------------------------------------------------
    def shards(self) -> list[Shard]:
        """Every completed shard, oldest first; incomplete or unreadable ones are logged and left out."""
        if not self.path.is_dir():
            return []
        out = []
        sidecars = sorted(self.path.glob("shard-*.json"))
        for sc in sidecars:
            try:
                meta = json.loads(sc.read_text())
                if meta.get("format") != FORMAT:
                    raise ValueError(f"format {meta.get('format')!r}, expected {FORMAT}")
                data = self.path / meta["data"]
                size = data.stat().st_size
                if size != meta["nbytes"]:
                    raise ValueError(f"data file holds {size} bytes, the sidecar says {meta['nbytes']}")
                out.append(
                    Shard(
                        data=data,
                        sidecar=sc,
                        index={k: (int(v[0]), int(v[1])) for k, v in meta["index"].items()},
                        paths=dict(meta.get("paths", {})),
                        nbytes=int(meta["nbytes"]),
                        crc32=int(meta["crc32"]),
                        shape=tuple(meta["shape"]),
                        dtype=str(meta["dtype"]),
                    )
                )
            except FileNotFoundError:
                continue  # removed by a concurrent compaction or clear
            except (OSError, ValueError, KeyError, TypeError) as e:
                log.warning("cache: ignoring shard %s: %s", sc, e)
        self._remove_orphans({s.data.name for s in out} | {self._data_name(sc) for sc in sidecars})
        return out

    @staticmethod
    def _data_name(sidecar: Path) -> str:
        return sidecar.name[: -len(".json")] + ".npy"

    def _remove_orphans(self, keep: set[str]) -> None:
        now = time.time()
        for p in [*self.path.glob("shard-*.npy"), *self.path.glob(".*.tmp")]:
            if p.name in keep:
                continue
            try:
                if now - p.stat().st_mtime > ORPHAN_AGE_S:
                    log.info("cache: removing %s, a data file whose writer never committed it", p)
                    p.unlink()
            except OSError:
                pass

    # -- writing -----------------------------------------------------------------------------------
    def write(
        self,
        parts: list[np.ndarray],
        index: dict[str, tuple[int, int]],
        paths: dict[str, str],
        *,
        durable: bool = True,
    ) -> Shard:
        """Commit the row-wise concatenation of `parts` (rows indexed by `index`) as a new shard.

        The data file is moved into place first, then its sidecar. `durable` also fsyncs the data
        file (large log-mel shards skip it: a shard damaged by a system crash fails the size check
        or `MelStore.verify()`).
        """
        self.ensure()
        name = f"shard-{time.time_ns():020d}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        data = self.path / f"{name}.npy"
        nbytes, crc = _atomic_write(data, _npy_chunks(parts), durable=durable)
        shape = [sum(len(p) for p in parts), *parts[0].shape[1:]]
        meta = {
            "format": FORMAT,
            "data": data.name,
            "nbytes": nbytes,
            "crc32": crc,
            "shape": shape,
            "dtype": str(parts[0].dtype),
            "index": {k: [int(a), int(b)] for k, (a, b) in index.items()},
            "paths": paths,
        }
        sidecar = self.path / f"{name}.json"
        _atomic_write(sidecar, [json.dumps(meta).encode()])
        return Shard(data, sidecar, dict(index), dict(paths), nbytes, crc, tuple(shape), meta["dtype"])

    def remove(self, shard: Shard) -> None:
        for p in (shard.sidecar, shard.data):  # sidecar first: the shard stops existing at once
            try:
                p.unlink()
            except FileNotFoundError:
                pass


class RowWriter:
    """Collects rows per file key and commits them as shards every `every` keys or `seconds` seconds.

    If the cache folder cannot be written (read-only, disk full), it says so once and stops writing:
    the extraction goes on without the cache.
    """

    def __init__(self, shard_dir: ShardDir, *, every: int = 256, seconds: float = 10.0, max_bytes: int = 128 << 20):
        self.dir = shard_dir
        self.every = every
        self.seconds = seconds
        self.max_bytes = max_bytes
        self._rows: list[np.ndarray] = []
        self._keys: list[tuple[str, str]] = []
        self._bytes = 0
        self._last = time.monotonic()
        self.committed = 0
        self.failed: str | None = None

    def add(self, key: str, rows: np.ndarray, path: str) -> None:
        self._rows.append(rows)
        self._keys.append((key, path))
        self._bytes += rows.nbytes
        if (
            len(self._keys) >= self.every
            or self._bytes >= self.max_bytes
            or time.monotonic() - self._last >= self.seconds
        ):
            self.flush()

    def flush(self) -> None:
        if not self._keys:
            return
        index, paths, start = {}, {}, 0
        for (key, path), rows in zip(self._keys, self._rows, strict=True):
            index[key] = (start, len(rows))
            paths[key] = path
            start += len(rows)
        if self.failed is None:
            try:
                self.dir.write(self._rows, index, paths)
                self.committed += len(self._keys)
            except OSError as e:
                self.failed = f"{type(e).__name__}: {e}"
                log.warning("cache: cannot write under %s (%s); going on without caching", self.dir.path, self.failed)
        self._rows, self._keys, self._bytes = [], [], 0
        self._last = time.monotonic()


def read_rows(shard_dir: ShardDir, keys: set[str]) -> dict[str, np.ndarray]:
    """Rows cached for each of `keys` that is present in a valid shard (CRC-checked)."""
    found: dict[str, np.ndarray] = {}
    for shard in shard_dir.shards():
        wanted = [k for k in shard.index if k in keys and k not in found]
        if not wanted:
            continue
        try:
            arr = shard.load()
        except (OSError, ValueError) as e:
            log.warning("cache: ignoring shard %s: %s", shard.data, e)
            continue
        for k in wanted:
            a, n = shard.index[k]
            found[k] = arr[a : a + n]
    return found


def compact(shard_dir: ShardDir, *, max_shards: int | None = None) -> None:
    """Merge row shards into one when there are more than `max_shards` (default COMPACT_ABOVE): keeps reads fast."""
    max_shards = COMPACT_ABOVE if max_shards is None else max_shards
    shards = shard_dir.shards()
    if len(shards) <= max_shards:
        return
    rows, index, paths, start = [], {}, {}, 0
    merged = []
    for shard in shards:
        try:
            arr = shard.load()
        except (OSError, ValueError) as e:
            log.warning("cache: dropping unreadable shard %s: %s", shard.data, e)
            shard_dir.remove(shard)
            continue
        merged.append(shard)
        for k, (a, n) in shard.index.items():
            if k in index:
                continue
            rows.append(arr[a : a + n])
            index[k] = (start, n)
            paths[k] = shard.paths.get(k, "")
            start += n
    if rows:
        shard_dir.write(rows, index, paths)
    for shard in merged:
        shard_dir.remove(shard)


def clear(cache_dir: str | os.PathLike | None = None, *, kind: str | None = None, namespace: str | None = None) -> int:
    """Delete cached features and/or spectrograms; returns the number of bytes freed.

    kind: 'features', 'mel' or None (both, and the numba cache). namespace: only that namespace.
    """
    root = resolve_root(cache_dir)
    if kind is not None and kind not in KINDS:
        raise ConfigError(f"kind={kind!r} must be one of {KINDS} or None")
    targets: list[Path] = []
    for k in KINDS if kind is None else (kind,):
        base = root / k
        targets.append(base / _check_namespace(namespace) if namespace is not None else base)
    if kind is None and namespace is None:
        targets.append(root / "numba")
    freed = 0
    for t in targets:
        if t.exists():
            freed += sum(p.stat().st_size for p in t.rglob("*") if p.is_file())
            shutil.rmtree(t)
            log.info("cache: removed %s", t)
    return freed


def info(cache_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """One row per settings folder: kind, namespace, folder, shards, entries, bytes."""
    root = resolve_root(cache_dir)
    rows = []
    for kind in KINDS:
        for folder in sorted((root / kind).glob("*/*")) if (root / kind).is_dir() else []:
            sd = ShardDir(folder)
            shards = sd.shards()
            keys = set().union(*(s.index for s in shards)) if shards else set()
            rows.append(
                {
                    "kind": kind,
                    "namespace": folder.parent.name,
                    "folder": folder.name,
                    "shards": len(shards),
                    "entries": len(keys),
                    "bytes": sum(p.stat().st_size for p in folder.iterdir() if p.is_file()),
                }
            )
    return pd.DataFrame(rows, columns=["kind", "namespace", "folder", "shards", "entries", "bytes"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m features.cache", description="Inspect or clear the mirbench cache."
    )
    parser.add_argument("--cache-dir", default=None, help=f"cache root (default: ${ENV_VAR} or ./.cache/mirbench)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("info", help="list cached feature sets and spectrograms")
    p = sub.add_parser("clear", help="delete cached entries")
    p.add_argument("--kind", choices=KINDS, default=None)
    p.add_argument("--namespace", default=None)
    args = parser.parse_args(argv)
    if args.command == "info":
        table = info(args.cache_dir)
        print(f"cache root: {resolve_root(args.cache_dir)}")
        print("(empty)" if table.empty else table.to_string(index=False))
    else:
        freed = clear(args.cache_dir, kind=args.kind, namespace=args.namespace)
        print(f"freed {freed / 1e6:.1f} MB under {resolve_root(args.cache_dir)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
