"""The prepared GPU check (`make gpu-check`): one short script to run whenever a CUDA device is lent.

In under 8 minutes on one GPU it measures, and writes to ``--out`` (summary.json and summary.md, the
Markdown table to paste into the README with the device name; the recipes' folders under runs/):

1. training throughput (clips/s) and the share of step time spent waiting for data
   (`deep.speed.train_speed`) of one model per deep family, each on its paper front-end (sample rate,
   n_fft, hop, mel bands), with AMP on, and AMP off for three of them; the target is a data wait under
   10% of step time;
2. one ``--smoke`` recipe per deep family on fixtures of the datasets' real layouts, generated in a
   temporary folder (the repository's ``tests`` package writes them: the check is a development tool
   and runs from a checkout), AMP on, and the Won et al. recipe (log-mel and waveform models) AMP off
   too: every stage of a deep run (log-mel cache, training with AMP and pinned memory, evaluation,
   report) on the device, end to end. A smoke recipe's numbers say nothing about the studies.

``--device cpu --quick`` runs the same steps at a toy size (the test suite runs it that way so that the
script cannot rot on machines without a GPU; its figures mean nothing).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

DATA_WAIT_TARGET = 0.10
# (family, registry model, AMP off too?): one model per deep family of the registry.
SPEED_MODELS = (
    ("FMA k2c2 (Choi et al. 2017)", "k2c2", True),
    ("Choi et al. 2016 FCN", "fcn5", False),
    ("GTZAN CNN-3..7", "cnn5", False),
    ("Won et al. 2020 short-chunk", "shortchunk-res", True),
    ("Won et al. 2020 Musicnn", "musicnn", False),
    ("sample-level waveform", "samplecnn", True),
)
QUICK_SPEED_MODELS = (("GTZAN CNN-3..7", "cnn5", True),)  # --quick: a 3-s model, AMP asked on and off
# (recipe, variant, AMP off too?): one smoke recipe per deep family.
RECIPES = (
    ("mtat-won2020", "as-published", True),
    ("fma-k2c2", "as-published", False),
    ("gtzan-cnn-study", "fault-filtered", False),
    ("jamendo-mood-resampling", "corrected", False),
)
# What the fixtures need beside a recipe's options (their clips are 1-1.5 s long).
FIXTURE_OPTIONS = {"mtat": ["--dataset-option", "min_duration=0.5"]}


def device_info(device: str) -> dict:
    import torch

    from deep.train import resolve_device

    dev = resolve_device(device)
    info = {"device": str(dev), "torch": torch.__version__, "cuda": torch.version.cuda}
    if dev.type == "cuda":
        props = torch.cuda.get_device_properties(dev)
        info.update(name=props.name, memory_gib=round(props.total_memory / 2**30, 1))
    else:
        info["name"] = "cpu"
    return info


def speed_runs(device: str, quick: bool) -> list[dict]:
    """`train_speed` of every SPEED_MODELS entry at its paper front-end, AMP on (and off where marked)."""
    from deep.models import get_spec
    from deep.speed import train_speed

    out = []
    models = QUICK_SPEED_MODELS if quick else SPEED_MODELS
    for family, name, both in models:
        spec = get_spec(name)
        fe = spec.frontend
        kw = {"sr": spec.paper_sr or 16000} if spec.input == "waveform" else (
            {"sr": fe.sr, "n_fft": fe.n_fft, "hop_length": fe.hop_length, "n_mels": fe.n_mels} if fe else {})
        if quick:
            kw.update(n_clips=4, clip_s=max(3.0, spec.default_chunk_s or 3.0) + 0.5, batch_size=2, epochs=2)
        for amp in (True, False) if both else (True,):
            t0 = time.perf_counter()
            try:
                res = train_speed(name, device=device, amp=amp, **kw)
            except Exception as e:  # one model failing must not hide the others' figures
                log.exception("%s (amp %s) failed", name, amp)
                res = {"model": name, "error": f"{type(e).__name__}: {e}"}
            res.update(family=family, amp_asked=amp, wall_s=round(time.perf_counter() - t0, 1))
            out.append(res)
            print(_speed_line(res), flush=True)
    return out


def _speed_line(r: dict) -> str:
    if "error" in r:
        return f"  {r['model']:16s} amp {'on ' if r['amp_asked'] else 'off'}  FAILED: {r['error']}"
    ok = r["data_wait_share"] < DATA_WAIT_TARGET
    return (f"  {r['model']:16s} amp {'on ' if r['amp'] else 'off'}  {r['clips_per_s']:8.1f} clips/s  "
            f"data wait {100 * r['data_wait_share']:5.1f}% (target < {100 * DATA_WAIT_TARGET:g}%: "
            f"{'PASS' if ok else 'MISS'})  step {r['step_ms']:.1f} ms")


def build_fixtures(root: Path, datasets: set[str]) -> dict[str, Path]:
    """Fixtures of `datasets` in their real on-disk layouts under `root`: {dataset: its folder}."""
    from tests.benchmarks.fixtures_tagging import build_fma, build_jamendo, build_mtat

    builders = {"mtat": build_mtat, "jamendo": build_jamendo, "fma": build_fma, "gtzan": build_gtzan}
    out = {}
    for name in sorted(datasets):
        out[name] = root / name
        builders[name](out[name])
    return out


def build_gtzan(root: Path, per_list: int = 4, seconds: float = 1.5) -> None:
    """The Kaggle layout (genres_original/<genre>/<genre>.000NN.wav) with the first `per_list` tracks of each
    genre in each fault-filtered list: a tone per genre plus noise, so that a model can beat chance."""
    import soundfile as sf

    from benchmarks.datasets.gtzan import GENRES, split_list

    sr = 22050
    t = np.arange(int(sr * seconds)) / sr
    for split in ("train", "valid", "test"):
        seen: dict[str, int] = {}
        for rel in split_list(split):
            genre = rel.split("/")[0]
            seen[genre] = seen.get(genre, 0) + 1
            if seen[genre] > per_list:
                continue
            rng = np.random.default_rng(zlib.crc32(rel.encode()))
            f0 = 110.0 * 2 ** (GENRES.index(genre) / 3)
            y = 0.4 * np.sin(2 * np.pi * f0 * t) + 0.05 * rng.standard_normal(len(t))
            path = root / "genres_original" / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, y.astype(np.float32), sr)


def recipe_runs(device: str, quick: bool, work: Path, runs: Path) -> list[dict]:
    """Every RECIPES entry with --smoke on its dataset's fixture (built under `work`, with the caches), on
    `device`, its recipe folder under `runs`; exit code and wall time each."""
    from benchmarks.recipes import RECIPES as CATALOG
    from benchmarks.run import main

    chosen = RECIPES[1:2] if quick else RECIPES
    roots = build_fixtures(work / "data", {CATALOG[name].dataset for name, _, _ in chosen})
    out = []
    for name, variant, both in chosen:
        dataset = CATALOG[name].dataset
        for amp in (True, False) if both else (True,):
            run_id = f"{name}-amp-{'on' if amp else 'off'}"
            argv = ["--recipe", name, "--smoke", "--variant", variant, "--data-dir", str(roots[dataset]),
                    "--out", str(runs), "--run-id", run_id, "--device", device, "--n-jobs", "2",
                    "--cache-dir", str(work / "cache"), "--gallery", "0", "--no-analysis",
                    *FIXTURE_OPTIONS.get(dataset, []), *(() if amp else ("--no-amp",))]
            t0 = time.perf_counter()
            code = main(argv)
            res = {"recipe": name, "variant": variant, "amp": amp, "exit_code": code,
                   "wall_s": round(time.perf_counter() - t0, 1), "run_dir": str(runs / dataset / run_id)}
            out.append(res)
            print(f"  {name:26s} amp {'on ' if amp else 'off'}  exit {code}  {res['wall_s']:.0f} s", flush=True)
    return out


def summary_markdown(info: dict, speed: list[dict], recipes: list[dict]) -> str:
    lines = [f"GPU check on {info['name']} ({info['device']}; torch {info['torch']}, CUDA {info['cuda']})", "",
             "| family | model | AMP | clips/s | data wait | step ms |", "|---|---|---|---|---|---|"]
    for r in speed:
        if "error" in r:
            lines.append(f"| {r['family']} | {r['model']} | {'on' if r['amp_asked'] else 'off'} | failed | | |")
            continue
        lines.append(f"| {r['family']} | {r['model']} | {'on' if r['amp'] else 'off'} | {r['clips_per_s']:.1f} | "
                     f"{100 * r['data_wait_share']:.1f}% | {r['step_ms']:.1f} |")
    lines += ["", "| smoke recipe | variant | AMP | exit code | wall s |", "|---|---|---|---|---|"]
    lines += [f"| {r['recipe']} | {r['variant']} | {'on' if r['amp'] else 'off'} | {r['exit_code']} | "
              f"{r['wall_s']:.0f} |" for r in recipes]
    return "\n".join(lines) + "\n"


def run(out: Path, device: str = "cuda", quick: bool = False) -> dict:
    """Both steps; writes out/summary.json and out/summary.md and returns the summary."""
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    info = device_info(device)
    print(f"GPU check on {info['name']} ({info['device']})", flush=True)
    print("training throughput:", flush=True)
    speed = speed_runs(info["device"], quick)
    print("smoke recipes:", flush=True)
    with tempfile.TemporaryDirectory(prefix="mirbench-gpu-check-") as tmp:
        recipes = recipe_runs(info["device"], quick, Path(tmp), out / "runs")
    summary = {"device": info, "speed": speed, "recipes": recipes, "data_wait_target": DATA_WAIT_TARGET,
               "seconds": round(time.perf_counter() - t0, 1)}
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    (out / "summary.md").write_text(summary_markdown(info, speed, recipes))
    print(f"written: {out / 'summary.md'} ({summary['seconds']:.0f} s in all)", flush=True)
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.gpu_check", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=Path("results/gpu-check"))
    p.add_argument("--device", default="cuda", help="cuda (default), cuda:1, ... or cpu (with --quick: a dry run)")
    p.add_argument("--quick", action="store_true", help="toy sizes: checks the script, not the device")
    args = p.parse_args(argv)
    if args.device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            print("no CUDA device: the GPU check needs one (--device cpu --quick is a dry run)", file=sys.stderr)
            return 2
    s = run(args.out, args.device, args.quick)
    failed = [r for r in s["speed"] if "error" in r] + [r for r in s["recipes"] if r["exit_code"] != 0]
    return 1 if failed else 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    sys.exit(main())
