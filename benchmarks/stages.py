"""Where one clip's extraction time goes: ``python -m benchmarks.speed stages``.

Runs `features.extract.compute` (the librosa back-end, default `FeatureConfig`) on generated 30-s clips
(`benchmarks.clips.make_clips`) or on the audio files of ``--data-dir``, in this one process with BLAS on
one thread and glibc keeping freed memory (as `features.extract` runs on one core), and times each
stage of the real pipeline, each clip decoded and computed at once as `features.extract` does: the
functions `features.extract` calls are wrapped with a timer for the
duration of the measurement (and restored after), so the stages are those of the code that runs, not
of a copy of it. Decoding (`features.audio.load`) is timed apart. Each round runs every clip once; the
figures are per clip, the median over rounds, and "not attributed" is the rest of the compute time
(the Python between the stages, array assembly). The timers add about a microsecond per call.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

#: (module, function, label) of the timed stages, in pipeline order.
STAGES = [
    ("features.frame", "stft_blocks", "STFT (windowed frames, rfft, magnitude)"),
    ("features.kernels", "spectral_frames", "fused centroid / bandwidth / roll-off / flatness / power"),
    ("features.frame", "spectral_contrast_parts", "spectral contrast (sort of each octave band)"),
    ("features.frame", "chroma", "chroma product and normalisation"),
    ("features.frame", "mel_power", "mel product"),
    ("features.kernels", "rms_zcr", "RMS and ZCR"),
    ("features.frame", "power_to_db", "dB conversions"),
    ("features.frame", "onset_strength", "onset envelope"),
    ("features.kernels", "tempo", "tempo (sliding-DFT tempogram)"),
    ("features.frame", "mfcc", "MFCCs"),
    ("features.kernels", "moments", "waveform moments"),
    ("features.frame", "aggregate", "statistics over frames"),
]


@contextlib.contextmanager
def timed_stages(totals: dict):
    """Wrap each stage function so that its time adds to totals[label]; generators are timed per item."""
    saved = []
    try:
        for mod_name, fn_name, label in STAGES:
            mod = importlib.import_module(mod_name)
            fn = getattr(mod, fn_name)
            saved.append((mod, fn_name, fn))
            setattr(mod, fn_name, _generator_timer(fn, label, totals) if fn_name == "stft_blocks"
                    else _timer(fn, label, totals))
        yield totals
    finally:
        for mod, fn_name, fn in saved:
            setattr(mod, fn_name, fn)


def _timer(fn, label, totals):
    def timed(*args, **kwargs):
        t = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            totals[label] += time.perf_counter() - t
    return timed


def _generator_timer(fn, label, totals):
    def timed(*args, **kwargs):
        it = fn(*args, **kwargs)
        while True:
            t = time.perf_counter()
            try:
                item = next(it)
            except StopIteration:
                totals[label] += time.perf_counter() - t
                return
            totals[label] += time.perf_counter() - t
            yield item
    return timed


def measure(paths: list, *, rounds: int = 3) -> dict:
    """Per-clip seconds of decoding, of each stage and of the whole compute, medians over rounds."""
    from features import audio, parallel
    from features.config import FeatureConfig
    from features.errors import ToolkitError

    extract_mod = importlib.import_module("features.extract")
    config = FeatureConfig()
    parallel.keep_freed_memory()  # as extract's one-process path (for the rest of this command's process)
    with parallel.controller().limit(limits=1):
        def load(p):
            return audio.load(str(p), sr=config.sr, offset=config.offset, duration=config.duration)

        good = []
        for p in paths:  # a file that does not decode is left out of every round, and said so
            try:
                load(p)
            except ToolkitError as e:
                print(f"skipped {p}: {e}", file=sys.stderr)
                continue
            good.append(p)
        if not good:
            raise ToolkitError(f"none of the {len(paths)} file(s) decodes")
        paths = good
        extract_mod.compute(load(paths[0]), config)  # warm-up: numba's kernels load, filterbanks are cached
        per_round = []
        for _ in range(rounds):  # each clip decoded, then computed at once, as features.extract does
            totals: dict = defaultdict(float)
            decode = compute = 0.0
            with timed_stages(totals):
                for p in paths:
                    t0 = time.perf_counter()
                    y = load(p)
                    t1 = time.perf_counter()
                    extract_mod.compute(y, config)
                    decode += t1 - t0
                    compute += time.perf_counter() - t1
            n = len(paths)
            per_round.append({"decode": decode / n, "compute": compute / n, **{k: v / n for k, v in totals.items()}})
    labels = [label for _, _, label in STAGES]
    stages = {k: float(np.median([r.get(k, 0.0) for r in per_round])) for k in labels}
    compute = float(np.median([r["compute"] for r in per_round]))
    decode = float(np.median([r["decode"] for r in per_round]))
    return {"n_clips": len(paths), "rounds": rounds, "decode_s": decode, "compute_s": compute,
            "stages_s": stages, "not_attributed_s": compute - sum(stages.values())}


def print_stages(m: dict) -> None:
    print(f"where extraction time goes: {m['n_clips']} clips, median of {m['rounds']} rounds, one process, "
          "ms per clip")
    print(f"  {'decode (features.audio.load)':58s} {1e3 * m['decode_s']:7.2f}")
    for label, s in m["stages_s"].items():
        print(f"  {label:58s} {1e3 * s:7.2f}")
    print(f"  {'not attributed (Python between stages, assembly)':58s} {1e3 * m['not_attributed_s']:7.2f}")
    after = m["compute_s"] - m["stages_s"][STAGES[0][2]]
    print(f"  {'compute (features.extract.compute), total':58s} {1e3 * m['compute_s']:7.2f}  "
          f"(after the STFT: {1e3 * after:.2f})")


def run_stages(args) -> int:
    from benchmarks.clips import audio_files, make_clips
    from features.errors import ToolkitError

    if args.rounds < 1 or args.n_clips < 1:
        print(f"error: --rounds={args.rounds} and --n-clips={args.n_clips} must be at least 1",
              file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="mirbench-stages-") as tmp:
        if args.data_dir:
            paths = audio_files(Path(args.data_dir), args.n_clips)
            if not paths:
                print(f"error: --data-dir {args.data_dir} holds no decodable audio file", file=sys.stderr)
                return 2
        else:
            paths = make_clips(Path(tmp) / "clips", args.n_clips, seconds=args.seconds)
        try:
            m = measure(paths, rounds=args.rounds)
        except ToolkitError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        print_stages(m)
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("stages", help="per-stage time of one clip's feature extraction (one process)",
                       description=__doc__.split("\n\n")[1])
    p.add_argument("--n-clips", type=int, default=40,
                   help="generated clips, or at most this many files of --data-dir (default 40)")
    p.add_argument("--data-dir", default=None, help="time the audio files under this folder instead")
    p.add_argument("--seconds", type=float, default=30.0, help="generated clip length in seconds (default 30)")
    p.add_argument("--rounds", type=int, default=3, help="rounds over the clips; medians are reported (default 3)")
    p.set_defaults(run=run_stages)
