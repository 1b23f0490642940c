"""Training-speed benchmark: clips per second through the real training loop, and the share of step
time spent waiting for data (the input pipeline must never starve the model).

Runs ``deep.train.fit`` on generated data laid out as in a real run: float16 log-mels memory-mapped
from disk (the feature cache's layout), or in-memory waveforms with the log-mel computed on the device
in batches. Called by ``python -m benchmarks.speed train --model k2c2`` through ``main(argv)``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from deep.data import ChunkDataset, WaveformChunkDataset
from deep.frontend import LogMel, MelToMFCC
from deep.train import TrainConfig, fit, resolve_device
from features.errors import ConfigError

logger = logging.getLogger(__name__)

__all__ = ["main", "train_speed"]

SOURCES = ("auto", "cache", "waveform")
N_MFCC = 20  # MFCC models get the reference study's 20 coefficients, from the mel on the device


def _resolve_model(
    model: str | Callable[..., nn.Module],
) -> tuple[str, Callable[..., nn.Module], str, int, float]:
    """(name, factory, input kind, min_frames, default chunk seconds) for a registry name or a factory.

    A factory ``(n_classes=..., n_mels=...) -> nn.Module`` is taken as a log-mel model with no minimum.
    """
    if callable(model) and not isinstance(model, str):
        return getattr(model, "__name__", "custom"), model, "mel", 1, 3.0
    from deep.models import get_spec  # lazily: the zoo is only needed here

    spec = get_spec(model)
    return spec.name, spec, spec.input, spec.min_frames, spec.default_chunk_s


def _auto_workers(device: torch.device, source: str) -> int:
    """Workers only help when batches come from disk and the CPU is free for them (i.e. a GPU trains)."""
    if device.type != "cuda" or source != "cache":
        return 0
    return max(0, min(4, (os.cpu_count() or 1) // 2))


def train_speed(
    model_name: str | Callable[..., nn.Module] = "k2c2",
    *,
    n_clips: int | None = None,
    clip_s: float = 30.0,
    sr: int = 22050,
    n_mels: int = 128,
    batch_size: int = 16,
    epochs: int = 2,
    device: str = "auto",
    source: str = "auto",
    n_fft: int = 2048,
    hop_length: int = 512,
    chunk_s: float | None = None,
    num_workers: int | None = None,
    amp: bool = True,
    n_classes: int = 10,
    seed: int = 0,
    progress: bool = False,
) -> dict[str, Any]:
    """Train ``model_name`` for ``epochs`` on ``n_clips`` generated clips and measure the loop.

    model_name: a ``deep.models`` registry name, or a factory ``(n_classes=, n_mels=) -> nn.Module``
        taking log-mel (batch, n_mels, frames).
    source: "cache" (float16 log-mel (n_mels, frames) per clip, memory-mapped from .npy files, as the
        feature cache stores them), "waveform" (float32 (samples,) in memory; mel models then get
        ``LogMel`` on the device), or "auto" (waveform for waveform models, else cache).
    chunk_s: training chunk length in seconds (default: the model's paper setting, at least its
        ``min_frames``). num_workers: None picks 0 on CPU and up to 4 for a cached source on CUDA.
    n_clips: training clips per epoch; None gives 256 on CUDA and 32 on CPU (k2c2 on 30-s clips runs
        at about one clip per second on two CPU cores).

    Returns a dict: model, device, source, input, n_clips, chunk (frames, or samples for waveform
    input), batch_size, epochs, num_workers, amp, n_params, clips_per_s and data_wait_share (over the
    epochs after the first, which pays for warm-up; the first epoch alone if ``epochs`` is 1),
    step_ms (mean training step), first_epoch_clips_per_s, seconds (whole benchmark).
    """
    dev = resolve_device(device)
    if n_clips is None:
        n_clips = 256 if dev.type == "cuda" else 32
    for name, value in (("n_clips", n_clips), ("batch_size", batch_size), ("epochs", epochs),
                        ("n_mels", n_mels), ("sr", sr)):
        if not isinstance(value, int) or value <= 0:
            raise ConfigError(f"{name}={value!r} must be a positive integer")
    if not clip_s > 0:
        raise ConfigError(f"clip_s={clip_s} must be positive")
    if source not in SOURCES:
        raise ConfigError(f"source={source!r} must be one of {SOURCES}")
    name, factory, input_kind, min_frames, default_chunk_s = _resolve_model(model_name)
    if source == "auto":
        source = "waveform" if input_kind == "waveform" else "cache"
    if input_kind == "waveform" and source != "waveform":
        raise ConfigError(f"{name} takes waveforms; use source='waveform'")
    workers = _auto_workers(dev, source) if num_workers is None else int(num_workers)
    seconds = default_chunk_s if chunk_s is None else float(chunk_s)
    samples = int(round(clip_s * sr))
    if input_kind == "waveform":
        chunk = max(min_frames, int(round(seconds * sr)))
    else:
        chunk = max(min_frames, 1 + int(round(seconds * sr)) // hop_length)

    rng = np.random.default_rng(seed)
    # n_clips training clips plus one batch of validation clips (the benchmark times training only)
    labels = rng.integers(0, n_classes, n_clips + batch_size)
    ids = [f"clip{i:05d}" for i in range(len(labels))]
    t_start = time.perf_counter()
    frontend: nn.Module | None = None
    with tempfile.TemporaryDirectory(prefix="mirbench-speed-") as tmp:
        if source == "cache":
            frames = 1 + samples // hop_length
            store = {}
            for i, tid in enumerate(ids):
                # dB-like values with a class-dependent band, as float16 on disk
                mel = (-60 + 10 * rng.standard_normal((n_mels, frames))).astype(np.float16)
                mel[(labels[i] * 7) % n_mels] += 20
                path = Path(tmp) / f"{tid}.npy"
                np.save(path, mel)
                store[tid] = np.load(path, mmap_mode="r")
            dataset_cls = ChunkDataset
            if input_kind == "mfcc":
                frontend = MelToMFCC(n_mels=n_mels, n_mfcc=N_MFCC)
        else:
            t = np.arange(samples, dtype=np.float32) / sr
            store = {
                tid: (0.3 * np.sin(2 * np.pi * (110.0 * (1 + labels[i])) * t)
                      + 0.05 * rng.standard_normal(samples)).astype(np.float32)
                for i, tid in enumerate(ids)
            }
            dataset_cls = WaveformChunkDataset
            if input_kind != "waveform":
                # the model wants a spectrogram: computed on the device, in batches, inside the step
                frontend = LogMel(sr=sr, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels)
                if input_kind == "mfcc":
                    frontend = nn.Sequential(frontend, MelToMFCC(n_mels=n_mels, n_mfcc=N_MFCC))
                chunk = (chunk - 1) * hop_length  # samples giving `chunk` frames
        train = dataset_cls(store, ids[:n_clips], labels[:n_clips], chunk, seed=seed)
        valid = dataset_cls(store, ids[n_clips:], labels[n_clips:], chunk, mode="eval", n_eval_chunks=1)
        torch.manual_seed(seed)
        extra = {"n_mfcc": N_MFCC} if input_kind == "mfcc" else {}
        model = factory(n_classes=n_classes, n_mels=n_mels, **extra)
        n_params = sum(p.numel() for p in model.parameters())
        config = TrainConfig(epochs=epochs, batch_size=batch_size, patience=None, amp=amp, device=str(dev),
                             num_workers=workers, seed=seed, deterministic=False)

        def accuracy(y: np.ndarray, p: np.ndarray) -> float:
            return float(np.mean(np.argmax(p, axis=1) == y))

        result = fit(model, train, valid, config=config, score_fn=accuracy, frontend=frontend,
                     progress=progress)
    hist = result.history
    timed = hist[1:] if len(hist) > 1 else hist
    train_s = sum(h["train_seconds"] for h in timed)
    clips = sum(h["n_samples"] for h in timed)
    wait = sum(h["data_wait_share"] * h["train_seconds"] for h in timed)
    steps = sum(h["n_samples"] for h in timed) / batch_size
    out = {
        "model": name,
        "device": str(dev),
        "device_name": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
        "source": source,
        "input": input_kind,
        "n_clips": n_clips,
        "clip_s": clip_s,
        "sr": sr,
        "n_mels": n_mels,
        "chunk": chunk,
        "batch_size": batch_size,
        "epochs": epochs,
        "num_workers": workers,
        "amp": bool(amp and dev.type == "cuda"),
        "torch_threads": torch.get_num_threads(),
        "n_params": int(n_params),
        "clips_per_s": clips / train_s if train_s > 0 else float("nan"),
        "data_wait_share": wait / train_s if train_s > 0 else float("nan"),
        "step_ms": 1000 * train_s / steps if steps else float("nan"),
        "first_epoch_clips_per_s": hist[0]["clips_per_s"],
        "seconds": time.perf_counter() - t_start,
    }
    if out["data_wait_share"] > 0.2:
        logger.warning("%s: %.0f%% of step time waits for data; try more workers or a cached source",
                       name, 100 * out["data_wait_share"])
    return out


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.speed train",
        description="Training throughput of a deep model: clips per second and the share of step time "
        "spent waiting for data.",
    )
    p.add_argument("--model", default="k2c2", help="a deep.models registry name (default k2c2)")
    p.add_argument("--n-clips", type=int, default=None,
                   help="training clips per epoch (default 256 on CUDA, 32 on CPU)")
    p.add_argument("--clip-s", type=float, default=30.0, help="clip length in seconds (default 30)")
    p.add_argument("--sr", type=int, default=22050)
    p.add_argument("--n-mels", type=int, default=128)
    p.add_argument("--n-fft", type=int, default=2048)
    p.add_argument("--hop-length", type=int, default=512)
    p.add_argument("--chunk-s", type=float, default=None,
                   help="training chunk in seconds (default: the paper's)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--epochs", type=int, default=2,
                   help="the first epoch is warm-up and not timed (default 2)")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda, cuda:1, ...")
    p.add_argument("--source", choices=SOURCES, default="auto",
                   help="cache: memory-mapped float16 log-mel; waveform: in memory, mel on the device")
    p.add_argument("--num-workers", type=int, default=None, help="DataLoader workers (default: auto)")
    p.add_argument("--no-amp", action="store_true", help="full precision on CUDA")
    p.add_argument("--json", type=Path, default=None, help="also write the measurements to this JSON file")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry: parse ``argv`` (without the ``train`` subcommand word), run, print one summary line."""
    args = _parser().parse_args(argv)
    try:
        res = train_speed(
            args.model, n_clips=args.n_clips, clip_s=args.clip_s, sr=args.sr, n_mels=args.n_mels,
            batch_size=args.batch_size, epochs=args.epochs, device=args.device, source=args.source,
            n_fft=args.n_fft, hop_length=args.hop_length, chunk_s=args.chunk_s, num_workers=args.num_workers,
            amp=not args.no_amp,
        )
    except ConfigError as e:
        print(f"error: {e}")
        return 2
    unit = "samples" if res["input"] == "waveform" or res["source"] == "waveform" else "frames"
    print(
        f"{res['model']} on {res['device']} ({res['device_name']}), {res['source']} -> {res['input']}, "
        f"batch {res['batch_size']} x {res['chunk']} {unit}, {res['num_workers']} workers"
        f"{', amp' if res['amp'] else ''}: {res['clips_per_s']:.1f} clips/s, "
        f"{100 * res['data_wait_share']:.1f}% of step time waiting for data "
        f"(step {res['step_ms']:.0f} ms; first epoch {res['first_epoch_clips_per_s']:.1f} clips/s)"
    )
    if args.json is not None:
        args.json.write_text(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
