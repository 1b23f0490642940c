"""Scaling figures of `python -m benchmarks.speed features --scheduler dask`: the same extraction through a Dask
LocalCluster next to the local process pool, the scheduler's overhead per task, and a projection of
extraction time and log-mel cache size for the largest collections the toolkit reads.

The projection is arithmetic on measured numbers, and says so: hours = tracks x (seconds of audio per track /
seconds per clip) x (measured compute seconds per clip per worker + measured overhead per task) / workers.
It assumes the decode cost per second of audio of the measured clips (generated WAV, or the clips of
--data-dir); MP3 decoding costs more per second than WAV, so run it with --data-dir on a folder of the
collection's own files for a projection of that collection.
"""

from __future__ import annotations

import time

import numpy as np

#: Collections projected: (name, tracks, mean seconds of audio per track the extraction reads, note).
COLLECTIONS = (
    ("FMA large (30-s clips)", 106_574, 30.0, "fma_large: every track's 30-s clip"),
    # The FMA paper: 917 GiB and 343 days of audio from 106,574 tracks, so 278 s per track on average.
    ("FMA full (whole tracks)", 106_574, 343 * 86400 / 106_574, "fma_full: the untrimmed tracks"),
)
WORKERS = (1, 8, 64)


def _noop(x):
    return x


def _warm(path: str) -> None:
    from features import audio
    from features.extract import compute

    compute(audio.load(path, sr=22050))


def dask_phase(spec: dict) -> dict:
    """Extraction of spec['paths'] on a fresh LocalCluster of spec['n_jobs'] workers, timed after a warm-up
    task per worker (worker start and imports are reported apart), and the round trip of no-op tasks through
    the same driver (`features.parallel.run`): the scheduler's overhead per task."""
    import pandas as pd

    import features
    from features import parallel, scheduler

    paths = [str(p) for p in spec["paths"]]
    table = pd.DataFrame({"track_id": [f"{i:06d}" for i in range(len(paths))], "path": paths})
    n = int(spec["n_jobs"])
    res: dict = {"kind": "dask", "n_jobs": n, "n_clips": len(paths)}
    t0 = time.perf_counter()
    with scheduler.session("dask", n_workers=n) as client:
        res["start_seconds"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        client.run(_warm, spec["warmup"])  # on every worker: imports, filterbanks, numba compilation
        # then a few clips through the cluster, untimed: a long extraction runs in this steady state (the
        # first tasks of a fresh cluster are measured 40% slower than the later ones)
        head = table.iloc[: min(len(table), 4 * n)]
        features.extract(head, n_jobs=n, cache=False, progress=False)
        res["warm_seconds"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        df = features.extract(table, n_jobs=n, cache=True, cache_dir=spec["cache_dir"], progress=False)
        res["seconds"] = time.perf_counter() - t0
        res["values"] = df.reindex(table["track_id"]).to_numpy().tolist()
        n_noop = int(spec.get("n_noop", 400))
        t0 = time.perf_counter()
        for _ in parallel.run(_noop, range(n_noop), n_jobs=n, numba_dir=""):
            pass
        res["noop_seconds_per_task"] = (time.perf_counter() - t0) / n_noop
        res["workers"] = scheduler.n_workers(client)
    return res


def mel_cache_bytes(seconds: float, spec=None) -> int:
    """Bytes of one track's float16 log-mel in the cache (`features.spectrogram`: n_mels x frames, 2 bytes each)
    under the front-end `spec` (a SpecConfig; default: the FMA preset, 32 kHz, hop 320, 128 mels)."""
    from features.spectrogram import SPEC_PRESETS

    sc = SPEC_PRESETS["fma"] if spec is None else spec
    return sc.n_mels * sc.n_frames(int(round(seconds * sc.sr))) * 2


def projection(s_per_clip: float, overhead_s: float, clip_seconds: float) -> list[dict]:
    """Hours to extract each of COLLECTIONS on 1, 8 and 64 workers, and its log-mel cache size.

    s_per_clip: measured compute seconds per clip per worker (one process, the single-process phase);
    overhead_s: measured scheduler seconds per task; clip_seconds: length of the measured clips."""
    rows = []
    for name, tracks, seconds, note in COLLECTIONS:
        per_track = s_per_clip * seconds / clip_seconds + overhead_s
        rows.append({
            "collection": name, "tracks": tracks, "seconds_per_track": seconds, "note": note,
            "hours": {w: tracks * per_track / w / 3600 for w in WORKERS},
            "mel_cache_gib": tracks * mel_cache_bytes(seconds) / 2**30,
        })
    return rows


def summary_lines(local: dict, dask: dict, s_per_clip: float, clip_seconds: float) -> list[str]:
    """The lines `benchmarks.speed` prints for the Dask phase and the projection."""
    n = dask["n_jobs"]
    same = bool(np.array_equal(np.asarray(local["values"]), np.asarray(dask["values"]), equal_nan=True))
    local_rate = local["n_clips"] / local["seconds"]
    dask_rate = dask["n_clips"] / dask["seconds"]
    per_task = (dask["seconds"] - local["seconds"]) * n / dask["n_clips"]
    lines = [
        f"Dask LocalCluster, {n} workers (started in {dask['start_seconds']:.1f} s, warm-up "
        f"{dask['warm_seconds']:.1f} s, not counted):",
        f"  local pool, {n} processes      {local_rate:8.1f} clips/s",
        f"  Dask, {n} workers              {dask_rate:8.1f} clips/s   ({dask_rate / local_rate:.2f}x the local pool; "
        f"identical values: {same})",
        f"  scheduler overhead per task    {dask['noop_seconds_per_task'] * 1e3:8.2f} ms round trip of a no-op task; "
        f"{per_task * 1e3:+.1f} ms of worker time per clip against the local pool",
        f"projection (measured {s_per_clip * 1e3:.1f} ms per {clip_seconds:g}-s clip on one core, plus "
        f"{dask['noop_seconds_per_task'] * 1e3:.1f} ms per task; hours of extraction; log-mel cache of the fma "
        "front-end: 32 kHz, hop 320, 128 mels, float16):",
    ]
    overhead = dask["noop_seconds_per_task"]
    for row in projection(s_per_clip, overhead, clip_seconds):
        hours = ", ".join(f"{w} worker{'s' if w > 1 else ''}: {h:,.2f} h" for w, h in row["hours"].items())
        lines.append(f"  {row['collection']:<28} {row['tracks']:>7,} tracks  {hours};  "
                     f"log-mel cache {row['mel_cache_gib']:,.0f} GiB")
    return lines


__all__ = ["dask_phase", "projection", "summary_lines", "mel_cache_bytes", "COLLECTIONS", "WORKERS"]
