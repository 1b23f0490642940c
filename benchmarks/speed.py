"""Speed benchmarks: ``python -m benchmarks.speed features`` and ``python -m benchmarks.speed train``.

``features`` times hand-crafted feature extraction on generated 30-s clips at 22,050 Hz (or on the
audio files of a folder, ``--data-dir``) against the naive script a GTZAN tutorial would write
(librosa.load, then one librosa call per feature, each from the audio: chroma_stft, rms,
spectral_centroid, spectral_bandwidth, spectral_contrast, spectral_rolloff, spectral_flatness,
zero_crossing_rate, feature.tempo, mfcc; moments with numpy and scipy.stats), run in one process and
with the same number of worker processes as ours. Both sides run in the same invocation on the same
clips, each phase in a fresh Python process so that its peak memory (resource.getrusage, the process
and its largest worker) is its own; imports happen before the clock starts, and each side warms up on
one short clip first (so numba compilation, which the naive script would pay once per process, is not
counted against it). Then it times a second extraction served from the cache and the build of the
log-mel cache, prints clips/s, seconds per clip, the speed-ups against the targets and the peak
memory, and checks that our columns agree with the naive script's. A "floor" phase times what no
extraction can avoid: decoding each clip as `features.extract` does, plus one float32 magnitude STFT
of the whole clip with the same n_fft and hop, in one process, through the same one-process path as
extract (glibc keeping freed arrays for reuse; the floor with glibc's default settings, which pays the
page faults of fresh mappings, is printed beside it); extraction on one core is compared with it
(target: at most 1.5x the floor) and with the naive script on one core (target: at least 10x).
``--repeat N`` runs these three one-core phases N times, interleaved (extract, floor, naive per
round, each in a fresh process, extract on a fresh cache), and reports the medians and the range of
the per-round ratios: on a shared or noisy machine one round's ratio can be off by 10% or more.

``stages`` times each stage of one clip's extraction (`benchmarks.stages`).

``train`` is the deep model's training-throughput benchmark (`deep.speed`); its options are
``python -m benchmarks.speed train --help``.

A new subcommand: write ``_add_<name>(subparsers)`` that registers a parser with
``set_defaults(run=...)``, and add it to `SUBCOMMANDS`.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.clips import audio_files, make_clips, mean_seconds

TARGETS = {"vs_naive_1": 10.0, "vs_naive_n": 5.0, "cache_share": 0.02, "mel_clips_per_s": 100.0,
           "one_core_vs_naive": 10.0, "vs_floor": 1.5}


# -- generated clips ------------------------------------------------------------------------------------
def naive_features(path: str, sr: int = 22050) -> np.ndarray:
    """The tutorial's per-clip script: one librosa call per feature, each from the audio.

    Returns the values in the order of FeatureConfig().columns() (mean and std per frame feature).
    """
    import librosa
    import scipy.stats

    y, _ = librosa.load(path, sr=sr, mono=True)
    out = [np.mean(y), np.var(y), scipy.stats.skew(y), scipy.stats.kurtosis(y)]
    zcr = librosa.feature.zero_crossing_rate(y)
    rms = librosa.feature.rms(y=y)
    tempo = librosa.feature.tempo(y=y, sr=sr)[0]
    mfcc = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=20)
    chroma = librosa.feature.chroma_stft(y=y, sr=sr)
    centroid = librosa.feature.spectral_centroid(y=y, sr=sr)
    bandwidth = librosa.feature.spectral_bandwidth(y=y, sr=sr)
    contrast = librosa.feature.spectral_contrast(y=y, sr=sr)
    rolloff = librosa.feature.spectral_rolloff(y=y, sr=sr)
    flatness = librosa.feature.spectral_flatness(y=y)

    def ms(x):
        return np.stack([x.mean(axis=-1), x.std(axis=-1)], axis=-1).ravel()

    out += [*ms(zcr), *ms(rms), tempo, *ms(mfcc), *ms(chroma), *ms(centroid), *ms(bandwidth), *ms(contrast),
            *ms(rolloff), *ms(flatness)]
    return np.asarray(out, dtype=np.float64)


# -- one phase, in a fresh process ---------------------------------------------------------------------
def _cpu_s() -> float:
    """User + system CPU seconds of this process and its finished children so far."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _peak_mb() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    return own, workers


def run_phase(spec: dict) -> dict:
    """Run one timed phase described by `spec`; returns timings and peak memory."""
    import pandas as pd

    import features
    from features import parallel

    paths = [str(p) for p in spec["paths"]]
    table = pd.DataFrame({"track_id": [f"{i:06d}" for i in range(len(paths))], "path": paths})
    kind, n_jobs = spec["kind"], int(spec["n_jobs"])
    res: dict = {"kind": kind, "n_jobs": n_jobs, "n_clips": len(paths)}
    if kind == "naive":
        import librosa  # noqa: F401  (imported before the clock, as the script's own imports)

        naive_features(spec["warmup"])
        c0, t0 = _cpu_s(), time.perf_counter()
        values = [None] * len(paths)
        for i, v in parallel.run(naive_features, paths, n_jobs=n_jobs, numba_dir=spec["numba_dir"]):
            values[i] = v
        res["seconds"] = time.perf_counter() - t0
        res["cpu_seconds"] = _cpu_s() - c0
        res["values"] = np.stack(values).tolist()
    elif kind == "extract":
        import soundfile as sf

        from features.extract import compute

        compute(sf.read(spec["warmup"], dtype="float32")[0])
        c0, t0 = _cpu_s(), time.perf_counter()
        df = features.extract(table, n_jobs=n_jobs, cache=True, cache_dir=spec["cache_dir"], progress=False)
        res["seconds"] = time.perf_counter() - t0
        res["cpu_seconds"] = _cpu_s() - c0
        res["values"] = df.reindex(table["track_id"]).to_numpy().tolist()  # NaN rows: files it skipped
        res["columns"] = list(df.columns)
        res["peak_mb"] = _peak_mb()
        if spec.get("again"):
            t0 = time.perf_counter()
            df2 = features.extract(table, n_jobs=n_jobs, cache=True, cache_dir=spec["cache_dir"], progress=False)
            res["cached_seconds"] = time.perf_counter() - t0
            res["cache_hits"] = df2.attrs["cache"]["hits"]
            res["cache_equal"] = bool(df2.equals(df))
    elif kind == "floor":
        from features import audio, frame
        from features.config import FeatureConfig
        from features.extract import prepare

        config = FeatureConfig()

        def floor(path):
            y = audio.load(path, sr=config.sr, offset=config.offset, duration=config.duration)
            y, _ = prepare(y, config, None)
            return frame.stft_magnitude(y, n_fft=config.n_fft, hop_length=config.hop_length)

        floor(spec["warmup"])
        # First with glibc's default allocator settings (each clip's arrays are mapped afresh: the page
        # faults of a plain script), then through the one-process path that extract and the naive script
        # take (BLAS on one thread, freed arrays kept for reuse). The second is the floor the target uses:
        # the first would credit extract with page faults it does not pay.
        c0, t0 = _cpu_s(), time.perf_counter()
        with parallel.controller().limit(limits=1):
            for p in paths:
                floor(p)
        res["default_alloc_seconds"] = time.perf_counter() - t0
        c0, t0 = _cpu_s(), time.perf_counter()
        for _ in parallel.run(floor, paths, n_jobs=1, numba_dir=spec["numba_dir"]):
            pass
        res["seconds"] = time.perf_counter() - t0
        res["cpu_seconds"] = _cpu_s() - c0
    elif kind == "mel":
        import soundfile as sf

        from features.spectrogram import SpecConfig, log_mel

        config = SpecConfig()
        log_mel(sf.read(spec["warmup"], dtype="float32")[0], config)
        c0, t0 = _cpu_s(), time.perf_counter()
        store = features.spectrogram(table, config, n_jobs=n_jobs, cache=True, cache_dir=spec["cache_dir"],
                                     progress=False)
        res["seconds"] = time.perf_counter() - t0
        res["cpu_seconds"] = _cpu_s() - c0
        first = store[store.track_ids[0]]
        res["shape"] = list(first.shape)
        res["dtype"] = str(first.dtype)
    elif kind == "dask":
        from benchmarks.scaling import dask_phase

        res = dask_phase(spec)
    else:
        raise ValueError(f"phase kind={kind!r} must be naive, extract, floor, mel or dask")
    res.setdefault("peak_mb", _peak_mb())
    return res


def _phase_main() -> None:
    """Entry of a phase subprocess: a JSON spec in argv[1], a JSON result on stdout's last line."""
    spec = json.loads(sys.argv[1])
    res = run_phase(spec)
    sys.stdout.write("\n" + json.dumps(res) + "\n")


def _spawn_phase(spec: dict) -> dict:
    code = "from benchmarks.speed import _phase_main; _phase_main()"
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    proc = subprocess.run([sys.executable, "-c", code, json.dumps(spec)], capture_output=True, text=True, env=env,
                          cwd=root)
    if proc.returncode != 0:
        raise RuntimeError(f"phase {spec['kind']} (n_jobs={spec['n_jobs']}) failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -- the `features` subcommand --------------------------------------------------------------------------
def features_speed(
    *,
    n_clips: int | None = 120,
    seconds: float = 30.0,
    sr: int = 22050,
    n_jobs: int = -1,
    workdir: str | None = None,
    keep: bool = False,
    in_process: bool = False,
    data_dir: str | os.PathLike | None = None,
    scheduler: str = "local",
    repeat: int = 1,
) -> dict:
    """Run every phase; returns a dict of figures (see `print_report`).

    repeat: rounds of the one-core phases (extract, floor, naive); the one-core figures are their medians.

    scheduler: 'dask' adds a phase extracting the same clips on a Dask LocalCluster of n_jobs workers, the
    scheduler's overhead per task, and the projection of `benchmarks.scaling`.

    data_dir: time the audio files of this folder (recursive; at most n_clips of them, all when n_clips
    is None) instead of generated clips; `seconds` is then their mean duration.
    """
    from features import parallel
    from features.errors import ConfigError

    n_jobs = parallel.resolve_n_jobs(n_jobs)
    if scheduler not in ("local", "dask"):
        raise ConfigError(f"--scheduler {scheduler!r}: the benchmark compares the local pool with a LocalCluster "
                          "it starts itself: local or dask")
    if scheduler == "dask":
        from features import scheduler as sched

        sched.check("dask")  # the distributed extra is installed
    if data_dir is not None:
        if not Path(data_dir).is_dir():
            raise ConfigError(f"--data-dir {data_dir} is not a folder")
        clips = audio_files(Path(data_dir), n_clips)
        if len(clips) < 2:
            raise ConfigError(f"--data-dir {data_dir} holds {len(clips)} decodable audio file(s); "
                              "at least 2 are needed")
        n_clips, seconds = len(clips), mean_seconds(clips)
    elif n_clips is None:
        n_clips = 120
    base = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="mirbench-speed-"))
    try:
        if data_dir is None:
            clips = make_clips(base / "clips", n_clips, seconds=seconds, sr=sr)
        warm = make_clips(base / "warmup", 1, seconds=2.0, sr=sr, seed=1)[0]
        common = {"paths": [str(p) for p in clips], "warmup": str(warm), "numba_dir": str(base / "numba")}
        phases = {
            "naive_1": {"kind": "naive", "n_jobs": 1},
            "naive_n": {"kind": "naive", "n_jobs": n_jobs},
            "fast_1": {"kind": "extract", "n_jobs": 1, "cache_dir": str(base / "cache1")},
            "floor_1": {"kind": "floor", "n_jobs": 1},
            "fast_n": {"kind": "extract", "n_jobs": n_jobs, "cache_dir": str(base / "cacheN"), "again": True},
            "mel_n": {"kind": "mel", "n_jobs": n_jobs, "cache_dir": str(base / "cacheM")},
        }
        if scheduler == "dask":
            phases["dask_n"] = {"kind": "dask", "n_jobs": n_jobs, "cache_dir": str(base / "cacheD")}
        results = {}
        for name, spec in phases.items():
            spec = {**common, **spec}
            results[name] = run_phase(spec) if in_process else _spawn_phase(spec)
        rounds = [{k: results[k] for k in ("fast_1", "floor_1", "naive_1")}]
        for r in range(1, repeat):
            again = {"fast_1": {"kind": "extract", "n_jobs": 1, "cache_dir": str(base / f"cache1-round{r}")},
                     "floor_1": {"kind": "floor", "n_jobs": 1}, "naive_1": {"kind": "naive", "n_jobs": 1}}
            rounds.append({k: (run_phase if in_process else _spawn_phase)({**common, **spec})
                           for k, spec in again.items()})
        results["rounds"] = rounds
    finally:
        if not keep:
            shutil.rmtree(base, ignore_errors=True)
    return summarize(results, n_clips=n_clips, seconds=seconds, sr=sr, n_jobs=n_jobs,
                     workdir=str(base) if keep else None, data_dir=str(data_dir) if data_dir is not None else None)


def summarize(results: dict, *, n_clips: int, seconds: float, sr: int, n_jobs: int, workdir, data_dir=None) -> dict:
    from features.config import FeatureConfig

    def rate(r):
        return r["n_clips"] / r["seconds"]

    floor = results.get("floor_1")  # the floor phase, reported apart from the table of phases
    dask = results.get("dask_n")  # so is the Dask phase
    rounds = results.get("rounds") or [{k: results[k] for k in ("fast_1", "naive_1")} | {"floor_1": floor}]
    results = {k: v for k, v in results.items() if k not in ("floor_1", "dask_n", "rounds")}
    naive = np.asarray(results["naive_1"]["values"])
    fast = np.asarray(results["fast_n"]["values"])
    cols = FeatureConfig().columns()
    scale = np.maximum(np.abs(naive).max(axis=0), 1e-12)
    rel = np.nanmax(np.abs(fast - naive), axis=0) / scale  # NaN rows: files extract skipped
    agree = {}
    for group in ("moment", "zcr", "rms", "mfcc", "spectral_centroid", "spectral_bandwidth", "spectral_contrast",
                  "spectral_rolloff", "spectral_flatness", "chroma"):
        idx = [i for i, c in enumerate(cols) if c.startswith(group)]
        agree[group] = float(rel[idx].max())
    tempo_i = cols.index("tempo")
    agree["tempo_bpm"] = float(np.nanmax(np.abs(fast[:, tempo_i] - naive[:, tempo_i])))
    out = {
        "n_clips": n_clips,
        "seconds_per_clip_audio": seconds,
        "sr": sr,
        "n_jobs": n_jobs,
        "cpu_count": os.cpu_count(),
        "phases": {k: {kk: vv for kk, vv in v.items() if kk not in ("values", "columns")} for k, v in results.items()},
        "clips_per_s": {k: rate(v) for k, v in results.items()},
        "speedup_vs_naive_1": rate(results["fast_n"]) / rate(results["naive_1"]),
        "speedup_vs_naive_n": rate(results["fast_n"]) / rate(results["naive_n"]),
        "speedup_1_vs_1": rate(results["fast_1"]) / rate(results["naive_1"]),
        "one_core": one_core(rounds),
        "floor": {k: v for k, v in floor.items() if k != "values"} if floor else None,
        "cpu_ratio": results["naive_1"]["cpu_seconds"] / results["fast_n"]["cpu_seconds"],
        "cache_share": results["fast_n"]["cached_seconds"] / results["fast_n"]["seconds"],
        "cache_hits": results["fast_n"]["cache_hits"],
        "cache_equal": results["fast_n"]["cache_equal"],
        "mel_clips_per_s": rate(results["mel_n"]),
        "agreement_with_naive": agree,
        "workdir": workdir,
        "data_dir": data_dir,
    }
    if dask is not None:
        from benchmarks.scaling import projection, summary_lines

        one = 1.0 / rate(results["fast_1"])
        out["dask"] = {k: v for k, v in dask.items() if k != "values"}
        out["dask"]["lines"] = summary_lines(results["fast_n"], dask, one, seconds)
        out["dask"]["projection"] = projection(one, dask["noop_seconds_per_task"], seconds)
    return out


def one_core(rounds: list[dict]) -> dict:
    """Seconds per clip on one core and the ratios of issue 14's targets: the medians over rounds (each a dict
    of the fast_1, floor_1 and naive_1 phases; floor_1 may be None), with each round's figures under 'rounds'."""
    per = []
    for r in rounds:
        fast, floor, naive = (r[k]["seconds"] / r[k]["n_clips"] if r.get(k) else None
                              for k in ("fast_1", "floor_1", "naive_1"))
        per.append({"naive_s_per_clip": naive, "extract_s_per_clip": fast, "floor_s_per_clip": floor,
                    "floor_default_alloc_s_per_clip": (r["floor_1"]["default_alloc_seconds"] / r["floor_1"]["n_clips"]
                                                       if r.get("floor_1") else None),
                    "extract_vs_naive": naive / fast, "extract_vs_floor": fast / floor if floor else None})
    out = {k: (float(np.median([p[k] for p in per])) if per[0][k] is not None else None) for k in per[0]}
    out["n_rounds"] = len(per)
    out["rounds"] = per
    if per[0]["extract_vs_floor"] is not None:
        out["extract_vs_floor_range"] = [min(p["extract_vs_floor"] for p in per),
                                         max(p["extract_vs_floor"] for p in per)]
    out["extract_vs_naive_range"] = [min(p["extract_vs_naive"] for p in per), max(p["extract_vs_naive"] for p in per)]
    return out


def print_report(s: dict) -> None:
    ph = s["phases"]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    clips = (f"{s['n_clips']} clips from {s['data_dir']} (mean {s['seconds_per_clip_audio']:.1f} s; decoded at "
             f"{s['sr']} Hz)" if s.get("data_dir") else
             f"{s['n_clips']} generated clips of {s['seconds_per_clip_audio']:g} s at {s['sr']} Hz")
    print(
        f"features speed: {clips}, "
        f"{s['n_jobs']} worker(s) on {s['cpu_count']} CPU(s); load average now {load:.1f} "
        "(other work on the machine slows every phase)"
    )
    rows = [
        ("naive librosa script, 1 process", "naive_1"),
        (f"naive librosa script, {s['n_jobs']} processes", "naive_n"),
        ("features.extract, 1 process", "fast_1"),
        (f"features.extract, {s['n_jobs']} processes", "fast_n"),
        (f"log-mel cache build, {s['n_jobs']} processes", "mel_n"),
    ]
    print(f"{'phase':44s} {'wall s':>8s} {'clips/s':>9s} {'s/clip':>8s} {'s/clip/core':>12s} {'CPU s/clip':>11s} "
          f"{'peak RSS MB (main / largest worker)':>36s}")
    for label, key in rows:
        r = ph[key]
        per = r["seconds"] / r["n_clips"]
        own, workers = r["peak_mb"]
        print(f"{label:44s} {r['seconds']:8.2f} {r['n_clips'] / r['seconds']:9.1f} {per:8.4f} "
              f"{per * r['n_jobs']:12.4f} {r['cpu_seconds'] / r['n_clips']:11.4f} {own:17.0f} / {workers:<16.0f}")
    cached = ph["fast_n"]["cached_seconds"]
    print(f"{'second features.extract (served from cache)':44s} {cached:8.3f} {s['n_clips'] / cached:9.0f} "
          f"{cached / s['n_clips']:8.5f}   ({s['cache_hits']} hits, identical: {s['cache_equal']})")

    def verdict(ok):
        return "PASS" if ok else "MISS"

    checks = [
        (f"extract ({s['n_jobs']} proc) vs naive (1 proc)", f"{s['speedup_vs_naive_1']:.1f}x",
         f">= {TARGETS['vs_naive_1']:g}x", s["speedup_vs_naive_1"] >= TARGETS["vs_naive_1"]),
        (f"extract vs naive, both {s['n_jobs']} processes", f"{s['speedup_vs_naive_n']:.1f}x",
         f">= {TARGETS['vs_naive_n']:g}x", s["speedup_vs_naive_n"] >= TARGETS["vs_naive_n"]),
        ("cache hit / first extraction", f"{100 * s['cache_share']:.2f}%", f"< {100 * TARGETS['cache_share']:g}%",
         s["cache_share"] < TARGETS["cache_share"]),
        (f"log-mel cache build ({s['n_jobs']} proc)", f"{s['mel_clips_per_s']:.0f} clips/s",
         f">= {TARGETS['mel_clips_per_s']:g} clips/s", s["mel_clips_per_s"] >= TARGETS["mel_clips_per_s"]),
    ]
    print(f"speed-ups (wall clock; 1 process each: {s['speedup_1_vs_1']:.1f}x; in CPU seconds per clip, "
          f"naive / extract: {s['cpu_ratio']:.1f}x)")
    for what, got, target, ok in checks:
        print(f"  {what:44s} {got:>14s}   target {target:14s} {verdict(ok)}")
    one = s.get("one_core")
    if one:
        floor = "" if one["floor_s_per_clip"] is None else (
            f", floor (decode as extract does + one float32 |STFT| of the clip, freed memory kept as extract "
            f"keeps it) {one['floor_s_per_clip']:.4f} (with glibc's default allocator settings "
            f"{one['floor_default_alloc_s_per_clip']:.4f})")
        n = one.get("n_rounds", 1)
        over = f" (medians of {n} rounds)" if n > 1 else ""
        print(f"one core, s/clip{over}: naive script {one['naive_s_per_clip']:.4f}, features.extract "
              f"{one['extract_s_per_clip']:.4f}{floor}")

        def spread(key, fmt):
            lo, hi = one.get(key + "_range") or (None, None)
            return f"; rounds {lo:{fmt}}-{hi:{fmt}}x" if n > 1 else ""

        print(f"  {'extract vs naive, 1 process each':44s} {one['extract_vs_naive']:8.1f}x (target >= "
              f"{TARGETS['one_core_vs_naive']:g}x)  {verdict(one['extract_vs_naive'] >= TARGETS['one_core_vs_naive'])}"
              f"{spread('extract_vs_naive', '.1f')}")
        if one["extract_vs_floor"] is not None:
            print(f"  {'extract vs floor, 1 process each':44s} {one['extract_vs_floor']:8.2f}x (target <= "
                  f"{TARGETS['vs_floor']:g}x) {verdict(one['extract_vs_floor'] <= TARGETS['vs_floor'])}"
                  f"{spread('extract_vs_floor', '.2f')}")
    a = s["agreement_with_naive"]
    print("agreement with the naive script (max |difference| / max |value| per group; chroma differs by the tuning "
          "policy: ours A440, the script's a per-clip estimate; tempo is refined between lags):")
    print("  " + ", ".join(f"{k} {v:.1e}" for k, v in a.items() if k != "tempo_bpm")
          + f", tempo max |diff| {a['tempo_bpm']:.2f} BPM")
    for line in (s.get("dask") or {}).get("lines", []):
        print(line)


def _add_features(sub) -> None:
    p = sub.add_parser("features", help="hand-crafted feature extraction vs the naive librosa script",
                       description=__doc__.split("\n\n")[1])
    p.add_argument("--n-clips", type=int, default=None,
                   help="generated clips (default 120: enough that worker start-up does not dominate); with "
                        "--data-dir, at most this many of its files (default: all)")
    p.add_argument("--data-dir", default=None,
                   help="time the audio files under this folder (recursive: .wav, .flac, .ogg, .mp3, ...) instead "
                        "of generated clips, every phase on the same files")
    p.add_argument("--seconds", type=float, default=30.0, help="clip length in seconds (default 30)")
    p.add_argument("--sr", type=int, default=22050, help="sampling rate of the clips (default 22050)")
    p.add_argument("--n-jobs", type=int, default=-1, help="worker processes (default: one per core)")
    p.add_argument("--workdir", default=None, help="folder for clips and caches (default: a temporary one)")
    p.add_argument("--keep", action="store_true", help="keep the clips and caches")
    p.add_argument("--json", type=Path, default=None, help="also write the figures to this JSON file")
    p.add_argument("--repeat", type=int, default=1,
                   help="rounds of the one-core phases (extract, floor, naive), interleaved; their medians and the "
                        "range of the per-round ratios are reported (default 1)")
    p.add_argument("--scheduler", choices=("local", "dask"), default="local",
                   help="dask: also extract the clips on a Dask LocalCluster of --n-jobs workers, print clips/s next "
                        "to the local pool, the overhead per task and a projection for FMA (distributed extra)")
    p.set_defaults(run=_run_features)


def _run_features(args) -> int:
    from features.errors import ConfigError

    if args.n_clips is not None and args.n_clips < 2:
        print(f"error: --n-clips={args.n_clips} must be at least 2", file=sys.stderr)
        return 2
    if args.repeat < 1:
        print(f"error: --repeat={args.repeat} must be at least 1", file=sys.stderr)
        return 2
    if args.seconds <= 0 or args.sr <= 0:
        print(f"error: --seconds={args.seconds} and --sr={args.sr} must be positive", file=sys.stderr)
        return 2
    try:
        s = features_speed(n_clips=args.n_clips, seconds=args.seconds, sr=args.sr, n_jobs=args.n_jobs,
                           workdir=args.workdir, keep=args.keep, data_dir=args.data_dir, scheduler=args.scheduler,
                           repeat=args.repeat)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print_report(s)
    if args.json is not None:
        args.json.write_text(json.dumps(s, indent=2))
    return 0


def _add_train(sub) -> None:
    p = sub.add_parser("train", help="training throughput of a deep model (deep.speed; `train --help` for options)",
                       add_help=False)
    p.set_defaults(run=None)


def _add_stages(sub) -> None:
    from benchmarks.stages import add_parser

    add_parser(sub)


SUBCOMMANDS = {"features": _add_features, "stages": _add_stages, "train": _add_train}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.speed", description="mirbench speed benchmarks.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="{" + ",".join(SUBCOMMANDS) + "}")
    for add in SUBCOMMANDS.values():
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "train":  # its options belong to deep.speed's own parser
        from deep.speed import main as train_main

        return train_main(argv[1:])
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    raise SystemExit(main())
