"""The comparison: every model of a run under every strategy and seed on one split, written to a run folder
(`benchmarks.runfolder`); it renders nothing (the report reads the folder)."""

from __future__ import annotations

import logging
from pathlib import Path

from benchmarks.analysis import write_analysis
from benchmarks.config import RunConfig
from benchmarks.experiment import Experiment, ExperimentResult
from benchmarks.families.gallery import write_gallery
from benchmarks.prepare import check_disk_for_spectrograms, load_dataset
from benchmarks.registry import validate
from benchmarks.runfolder import Timer, new_run_dir, run_config, split_counts, write_run

log = logging.getLogger(__name__)


def run(cfg: RunConfig, timer: Timer | None = None) -> Path:
    """Run the comparison described by `cfg` (validated here); return the run folder."""
    timer = timer or Timer()
    cfg = validate(cfg)
    with new_run_dir(cfg.out, cfg.dataset, cfg.run_id, cfg.to_dict()) as run_dir:
        log.info("run folder: %s", run_dir)
        with timer("dataset"):
            ds = load_dataset(cfg)
        check_disk_for_spectrograms(cfg, ds)
        res = Experiment(cfg, ds, timer).run()
        return finish(run_dir, cfg, ds, res, timer)


def finish(run_dir: Path, cfg: RunConfig, ds, res: ExperimentResult, timer: Timer | None) -> Path:
    """Write one experiment's run folder: its files, the dataset analysis (`cfg.analysis`) and the deep fits'
    gallery (`cfg.gallery`); timer: its rows go to timings.csv (None: none written here)."""
    notes = list(res.notes)
    if cfg.analysis:
        with (timer or Timer())("analysis"):
            notes += write_analysis(run_dir, cfg, ds, res)
    config = run_config(cfg, ds, n_tracks=split_counts(res.table), notes=notes)
    write_run(run_dir, config=config, metrics=res.metrics, predictions=res.predictions, skipped=res.skipped,
              curves=res.curves, timer=timer)
    if cfg.gallery > 0:
        write_gallery(run_dir, res.galleries, res.predictions, n_examples=cfg.gallery)
    return run_dir
