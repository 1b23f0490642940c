"""The comparison: every model of a run under every strategy and seed on one split, written to a run folder
(`benchmarks.runfolder`); it renders nothing (the report reads the folder)."""

from __future__ import annotations

import logging
from pathlib import Path

from benchmarks.config import RunConfig
from benchmarks.datasets.base import LoadedDataset
from benchmarks.experiment import Experiment, ExperimentResult
from benchmarks.prepare import check_disk_for_spectrograms, load_dataset
from benchmarks.runfolder import Timer, environment, make_run_dir, write_run

log = logging.getLogger(__name__)


def run_config(cfg: RunConfig, ds: LoadedDataset, **extra) -> dict:
    """config.json of a run folder: the RunConfig, the dataset's task, classes and split, then `extra`
    (track counts, notes, ...), and the environment last."""
    return {**cfg.to_dict(), "models": list(cfg.models), "strategies": list(cfg.strategies), "task": ds.task,
            "classes": ds.classes, "split_name": ds.split_name, **extra, "environment": environment()}


def split_counts(table) -> dict[str, int]:
    return {str(k): int(v) for k, v in table["split"].astype(str).value_counts().sort_index().items()}


def write_result(run_dir: Path, cfg: RunConfig, ds: LoadedDataset, res: ExperimentResult, timer: Timer | None,
                 **extra) -> Path:
    """Write an experiment's results as the run folder `run_dir`; `extra` goes into config.json."""
    config = run_config(cfg, ds, n_tracks=split_counts(res.table), notes=res.notes, **extra)
    return write_run(run_dir, config=config, metrics=res.metrics, predictions=res.predictions, skipped=res.skipped,
                     curves=res.curves, timer=timer)


def run(cfg: RunConfig, timer: Timer | None = None) -> Path:
    """Run the comparison described by a validated `cfg` (`benchmarks.registry.validate`); return the run folder."""
    timer = timer or Timer()
    run_dir = make_run_dir(cfg.out, cfg.dataset, cfg.run_id, cfg.to_dict())
    log.info("run folder: %s", run_dir)
    with timer("dataset"):
        ds = load_dataset(cfg)
    check_disk_for_spectrograms(cfg, ds)
    res = Experiment(cfg, ds, timer).run()
    return write_result(run_dir, cfg, ds, res, timer)
