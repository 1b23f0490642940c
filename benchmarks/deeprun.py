"""Deep models in the runner: spectrograms once per run, then one seeded, resumable fit per model.

Training draws one random chunk per training track and epoch; early stopping and the best
checkpoint use the validation split only; valid and test predictions average evenly spaced chunks.
Imbalance strategies map onto what a deep model can use: weighted or special losses, a
class-balanced batch sampler, or a resampled list of training tracks (random over/under-sampling
of whole tracks; synthetic samplers such as SMOTE do not apply to spectrograms and are skipped).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Sampler

from benchmarks.config import RunConfig
from features.errors import ConfigError

log = logging.getLogger(__name__)

# The runner's deep profiles. `quick` is sized for the generated corpus on a 2-core CPU.
DEEP_PROFILES = {
    "quick": dict(train="default", epochs=12, batch_size=32, lr=3e-3, patience=6, n_eval_chunks=4),
    "paper": dict(train="paper", n_eval_chunks=8),
}
RESAMPLING_FOR_DEEP = ("ros", "rus", "upsample", "downsample", "ml-ros", "ml-rus")


def spec_config(cfg: RunConfig):
    from features import SpecConfig

    return SpecConfig()  # 22,050 Hz, n_fft 1024, hop 512, 128 mels: the reference GTZAN study


def spectrogram_store(cfg: RunConfig, table):
    from features import spectrogram

    return spectrogram(table, spec_config(cfg), n_jobs=cfg.n_jobs, cache=cfg.cache, cache_dir=cfg.cache_dir)


class ResampledTracks(Sampler):
    """Yields a fixed multiset of training-track positions (from a sampler's `sample_indices_`), shuffled
    per epoch from (seed, epoch) so that a resumed run sees the same order."""

    def __init__(self, indices: np.ndarray, seed: int):
        self.indices = np.asarray(indices, dtype=np.int64)
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.indices)

    def __iter__(self):
        rng = np.random.default_rng([self.seed, self.epoch])
        return iter(self.indices[rng.permutation(len(self.indices))].tolist())


def train_config(cfg: RunConfig, seed: int, chunk_frames: int):
    from deep.train import TrainConfig

    prof = dict(DEEP_PROFILES[cfg.profile])
    base = prof.pop("train")
    overrides = {k: v for k, v in prof.items()}
    for name in ("epochs", "batch_size", "lr"):
        if getattr(cfg, name) is not None:
            overrides[name] = getattr(cfg, name)
    dev = cfg.device
    return TrainConfig.profile(base, **overrides, chunk_frames=chunk_frames, seed=seed, device=dev)


def _strategy(exp, model: str, strategy: str, seed: int, batch_size: int):
    """(loss_fn, sampler) for `strategy`, or None when it does not apply (with a note)."""
    from resampling import LOSSES, SAMPLERS
    from resampling.batch import ClassBalancedBatchSampler

    task = exp.ds.task
    y = exp.targets["train"]
    counts = np.bincount(y, minlength=len(exp.ds.classes)) if task == "single" else y.sum(0)
    if strategy == "none":
        return None, None
    if strategy == "class-weight":
        return LOSSES["weighted"](class_counts=counts, task=task), None
    if strategy in LOSSES:
        spec = LOSSES[strategy]
        if task not in spec.tasks:
            exp.note(f"strategy {strategy} skipped for {model}: it does not support {task}-label targets")
            return None
        return spec(class_counts=counts, task=task), None
    if strategy == "balanced-batch":
        return None, ClassBalancedBatchSampler(y, batch_size, seed=seed)
    if strategy in RESAMPLING_FOR_DEEP and strategy in SAMPLERS:
        spec = SAMPLERS[strategy]
        if task not in spec.tasks:
            exp.note(f"strategy {strategy} skipped: it does not support {task}-label targets")
            return None
        sampler = spec(random_state=seed)
        sampler.fit_resample(np.arange(len(y)).reshape(-1, 1).astype(float), y)
        return None, ResampledTracks(sampler.sample_indices_, seed)
    exp.note(f"strategy {strategy} skipped for deep models: it synthesises feature vectors, not spectrograms")
    return None


def checkpoint_dir(cfg: RunConfig, exp, model: str, strategy: str, seed: int, tc) -> Path:
    """One folder per (dataset, split content, model, strategy, seed, settings): a rerun resumes there."""
    from features.cache import resolve_root

    ident = {
        "dataset": cfg.dataset, "model": model, "strategy": strategy, "seed": seed, "profile": cfg.profile,
        "train": tc.to_dict(), "spec": spec_config(cfg).to_dict(),
        "tracks": hashlib.sha1(json.dumps(exp.splits, sort_keys=True).encode()).hexdigest(),
    }
    key = hashlib.sha1(json.dumps(ident, sort_keys=True, default=str).encode()).hexdigest()[:16]
    root = resolve_root(cfg.cache_dir)
    return root / "checkpoints" / f"{cfg.dataset}-{model}-{strategy}-s{seed}-{key}"


def fit_predict_deep(exp, model: str, store, strategy: str, seed: int):
    """Train `model` on the experiment's training tracks; ({'valid','test': probabilities}, info) or None."""
    from benchmarks.experiment import main_score
    from deep.data import ChunkDataset
    from deep.frontend import MelToMFCC
    from deep.models import DEEP_MODELS
    from deep.train import fit, predict

    cfg, task = exp.cfg, exp.ds.task
    spec = DEEP_MODELS[model]
    if spec.input == "waveform":
        exp.note(f"{model} takes waveform input; the runner feeds deep models log-mel: skipped")
        return None
    sc = spec_config(cfg)
    seconds = cfg.chunk_s if cfg.chunk_s is not None else (3.0 if cfg.profile == "quick" else None)
    chunk = spec.chunk_length(sc.sr, sc.hop_length, seconds)
    tc = train_config(cfg, seed, chunk)
    strat = _strategy(exp, model, strategy, seed, tc.batch_size)
    if strat is None:
        return None
    loss_fn, sampler = strat
    n_threads = os.cpu_count() if cfg.n_jobs in (-1, None) else max(1, cfg.n_jobs)
    torch.set_num_threads(n_threads)
    n_eval = DEEP_PROFILES[cfg.profile]["n_eval_chunks"]
    datasets = {
        "train": ChunkDataset(store, exp.splits["train"], exp.targets["train"], chunk, mode="random", seed=seed)
    }
    for s in ("valid", "test"):
        if exp.splits.get(s):
            datasets[s] = ChunkDataset(store, exp.splits[s], exp.targets[s], chunk, mode="eval", n_eval_chunks=n_eval)
    if "valid" not in datasets:
        raise ConfigError(f"deep model {model} needs a validation split for early stopping; this split has none")
    frontend = None
    kw = {}
    if spec.input == "mfcc":
        frontend = MelToMFCC(n_mels=store.n_mels, n_mfcc=20)
        kw["n_mfcc"] = 20
    torch.manual_seed(seed)
    net = spec(len(exp.ds.classes), n_mels=store.n_mels, **kw)
    ckpt = checkpoint_dir(cfg, exp, model, strategy, seed, tc)
    res = fit(net, datasets["train"], datasets["valid"], config=tc, task=task,
              score_fn=lambda y, p: main_score(task, y, p), loss_fn=loss_fn, sampler=sampler,
              frontend=frontend, checkpoint_dir=ckpt, resume=True, progress=False)
    log.info("%s/%s/seed %d: best validation score %.4f at epoch %d (%.1f%% of step time waiting for data)",
             model, strategy, seed, res.best_score, res.best_epoch, 100 * res.data_wait_share)
    probs = {s: predict(net, datasets[s], task=task, frontend=frontend, batch_size=tc.batch_size)
             for s in ("valid", "test") if s in datasets}
    curves = res.curves().reset_index()[["epoch", "train_loss", "valid_score"]]
    return probs, {"curves": curves, "best_epoch": res.best_epoch}
