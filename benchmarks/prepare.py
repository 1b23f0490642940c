"""What every producer does before fitting: load the dataset under the run's settings, skip files too
short to use, and check that the log-mel cache fits on its disk."""

from __future__ import annotations

import logging
import shutil

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from benchmarks.config import KFOLD, RunConfig
from benchmarks.datasets import get_dataset
from benchmarks.datasets.base import LoadedDataset
from benchmarks.families import family_of
from benchmarks.splits import SEEDED_SPLITS, kfold_split
from features.audio import info
from features.cache import resolve_root
from features.errors import AudioLoadError, ConfigError

log = logging.getLogger(__name__)


def drop_short(ds: LoadedDataset, min_duration: float) -> LoadedDataset:
    """Move tracks shorter than `min_duration` seconds (by their header) to `ds.skipped`, with the reason.

    Unreadable headers are left in place: the decoding stage reports them with their own cause.
    """
    short = []
    durations = np.full(len(ds.table), np.nan)
    rows = zip(ds.table.index, ds.table["path"], strict=True)
    for k, (i, path) in enumerate(tqdm(rows, total=len(ds.table), desc=f"{ds.name}: file headers", unit="file",
                                       leave=False, disable=None)):  # None: no bar when not on a terminal
        try:
            h = info(path)
        except AudioLoadError:
            continue
        seconds = h.frames / h.samplerate if h.samplerate else 0.0
        durations[k] = seconds
        if seconds < min_duration:
            short.append((i, path, f"too short: {seconds:.2f} s < min_duration {min_duration:g} s"))
    ds.table = ds.table.assign(duration=durations)
    if short:
        rows = pd.DataFrame([{"path": p, "stage": "dataset", "reason": r} for _, p, r in short])
        for _, p, r in short:
            log.warning("%s: skipping %s: %s", ds.name, p, r)
        ds.skipped = pd.concat([ds.skipped, rows], ignore_index=True)
        ds.table = ds.table.drop(index=[i for i, _, _ in short]).reset_index(drop=True)
    return ds


def load_dataset(cfg: RunConfig, *, for_folds: bool = False) -> LoadedDataset:
    """The dataset of `cfg` on its split, short files skipped; ConfigError when the split lacks train/test.

    split="kfold" is for `benchmarks.crossval` only (`for_folds=True`; any other producer is refused): the
    dataset is loaded on its seeded split (`splits.kfold_split`: gtzan and mtat on `random`), whose tracks
    the cross-validation divides into folds, ignoring the loaded train/valid/test column."""
    if (cfg.split == KFOLD) != for_folds:
        raise ConfigError("split='kfold' is run by benchmarks.crossval (python -m benchmarks.run --split kfold)"
                          if not for_folds else f"k-fold cross-validation needs split='kfold', not {cfg.split!r}")
    module = get_dataset(cfg.dataset, cfg.data_dir, **dict(cfg.dataset_options))
    root, how = module.candidate_root()
    log.info("%s: data in %s (%s); caches in %s", cfg.dataset, root, how, resolve_root(cfg.cache_dir))
    split = kfold_split(module) if for_folds else cfg.split
    ds = drop_short(module.load(split=split, seed=cfg.split_seed), cfg.min_duration)
    if cfg.split_seed != 0 and ds.split_name not in SEEDED_SPLITS:
        raise ConfigError(f"--split-seed {cfg.split_seed} has no effect on the fixed split {ds.split_name!r} of "
                          f"{cfg.dataset}; drop it, or choose a seeded split (--split random) if the dataset has one")
    if cfg.split_unit == "excerpt" and ds.split_name not in SEEDED_SPLITS:
        raise ConfigError(f"split_unit='excerpt' deals excerpts at random (--split-seed); split {ds.split_name!r} of "
                          f"{cfg.dataset} is fixed: use --split {' / '.join(SEEDED_SPLITS)}, or split_unit='track'")
    splits = set(ds.table["split"].astype(str))
    if not {"train", "test"} <= splits:
        raise ConfigError(
            f"split {ds.split_name!r} of {cfg.dataset} gives {sorted(splits)}; the runner needs train/valid/test "
            "(for k-fold cross-validation use --split kfold --folds K)"
        )
    return ds


def check_disk_for_spectrograms(cfg: RunConfig, ds: LoadedDataset) -> None:
    """Refuse to start when the deep models of `cfg` read float16 log-mel caches (one per distinct front-end:
    the run's settings under `quick`, each paper's under `paper`) and these caches of this dataset cannot fit
    on the cache's disk."""
    deep = [m for m in cfg.models if family_of(m) == "deep"]
    if not deep:
        return
    from benchmarks.families import deep as family  # the trainer, front-ends and stores: only for deep runs
    from deep.models import DEEP_MODELS

    plans = [family.input_plan(cfg, DEEP_MODELS[m]) for m in deep]
    configs = {p.spec.key(): p.spec for p in plans if p.source == "mel"}
    if not configs:
        return
    seconds = ds.table["duration"].fillna(30.0).to_numpy() if "duration" in ds.table else np.full(len(ds.table), 30.0)
    need = 0.0
    for sc in configs.values():
        frames = 1 + np.floor(seconds * sc.sr / sc.hop_length)
        need += float((frames * sc.n_mels * 2).sum())  # float16
    root = resolve_root(cfg.cache_dir)
    probe = root
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    if need > free:
        raise ConfigError(
            f"the log-mel caches ({len(configs)} front-end(s)) for {len(ds.table)} tracks need about "
            f"{need / 2**30:.1f} GiB in {root}, but only {free / 2**30:.1f} GiB is free; "
            "use --cache-dir on a larger disk"
        )
    log.info("log-mel cache: about %.2f GiB needed, %.1f GiB free in %s", need / 2**30, free / 2**30, root)
