"""The command line of the dataset analysis ("look at the data"), without training anything but the small
importance fits:

    python -m benchmarks.analyze --dataset NAME [--data-dir D] [--dataset-option K=V] [--split S]
        [--models lr,rf] [--out results] [--run-id ID] [--cache-dir C] [--n-jobs N] [--fig-format png,pdf] [--dpi N]

It loads the dataset on its split, builds (or reads from the caches) the feature matrix of the classical family
and the log-mel cache of the deep family, writes `results/<dataset>/analysis-<id>/` with config.json, skipped.csv
and `analysis/` (`benchmarks.analysis`), renders the report's analysis section there (figures,
`analysis.html`, `analysis.md`) and prints where. Nothing imports this module.
"""

from __future__ import annotations

import argparse
import html
import logging
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

from benchmarks import config as cfgmod
from benchmarks.analysis import write_analysis
from benchmarks.config import RunConfig
from benchmarks.experiment import ExperimentResult, Inputs, merge_skipped
from benchmarks.families import classical, family_of
from benchmarks.prepare import load_dataset
from benchmarks.registry import registries, validate
from benchmarks.report.analysis import analysis_markdown, section_analysis
from benchmarks.report.figures import DPI
from benchmarks.report.load import RunData
from benchmarks.runfolder import (
    CONFIG_FILE,
    METRIC_COLUMNS,
    SKIPPED_COLUMNS,
    SKIPPED_FILE,
    Timer,
    atomic_write_text,
    config_hash,
    new_run_dir,
    run_config,
    split_counts,
    write_csv,
    write_json,
    write_timings,
)
from features import spectrogram
from features.errors import ConfigError, DatasetError, ToolkitError

PROG = "python -m benchmarks.analyze"
DEFAULT_MODELS = ("lr", "rf")  # the importance fits: a linear model and trees, seconds on 400 tracks
log = logging.getLogger(__name__)


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit code 2, no traceback
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    reg = registries()
    p = Parser(prog=PROG, description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
               epilog=f"datasets: {', '.join(reg['datasets'])}\nclassical models: {', '.join(reg['classical models'])}")
    a = p.add_argument
    a("--dataset", required=True, help="dataset name (see below)")
    a("--data-dir", help="dataset folder (default: $<DATASET>_DIR, then ./data/<dataset>)")
    a("--dataset-option", action="append", metavar="KEY=VALUE", help="dataset option, e.g. subset=small; repeatable")
    a("--split", help="dataset split (default: the dataset's official/fixed split)")
    a("--models", help=f"classical models whose feature importances are computed (default: {','.join(DEFAULT_MODELS)})")
    a("--out", help="results folder (default: results)")
    a("--run-id", help="the folder is analysis-<run-id> (default: time stamp and config hash)")
    a("--cache-dir", help="cache folder (default: $MIRBENCH_CACHE or ./.cache/mirbench)")
    a("--n-jobs", type=int, help="worker processes for features and spectrograms (default: all cores)")
    a("--fig-format", dest="fig_format", metavar="FORMATS",
      help=f"figure formats, comma-separated from {','.join(cfgmod.FIG_FORMATS)} (default: png)")
    a("--dpi", type=int, help=f"figure resolution (default {DPI})")
    a("-v", "--verbose", action="store_true", help="debug logging")
    return p


def config_of(ns: argparse.Namespace) -> RunConfig:
    """The RunConfig of the parsed flags (`benchmarks.config.from_sources`), classical models only."""
    cli = {k: v for k, v in vars(ns).items() if k not in ("verbose", "dataset_option", "run_id")}
    cli["models"] = ns.models or ",".join(DEFAULT_MODELS)
    if ns.dataset_option:
        cli["dataset_options"] = cfgmod.parse_pairs(ns.dataset_option, "--dataset-option")
    cfg = validate(cfgmod.from_sources(cli))
    deep = [m for m in cfg.models if family_of(m) != "classical"]
    if deep:
        raise ConfigError(f"--models {','.join(deep)}: the analysis fits classical models only; choose from "
                          f"{', '.join(registries()['classical models'])}")
    run_id = f"analysis-{ns.run_id or time.strftime('%Y%m%d-%H%M%S', time.gmtime()) + '-' + config_hash(cfg.to_dict())}"
    return cfgmod.from_sources({**cli, "run_id": run_id})


def page(run: RunData, body: str, title: str) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{html.escape(title)}</title>\n<style>body{{font-family:system-ui,sans-serif;margin:2em auto;"
            "max-width:1200px;padding:0 1em}img{max-width:100%}table.results{border-collapse:collapse;font-size:.88em}"
            "table.results td,table.results th{padding:.2em .6em;border-bottom:1px solid #e4e4e4}</style>\n"
            f"</head>\n<body>\n<h1>{html.escape(title)}</h1>\n{body}\n</body>\n</html>\n")


def render(run_dir: Path, cfg: RunConfig, config: dict) -> list[Path]:
    """The analysis section's figures, analysis.html and analysis.md in `run_dir` (no metrics needed)."""
    empty = pd.DataFrame(columns=METRIC_COLUMNS)
    run = RunData(run_dir=run_dir, config=config, task=config["task"], classes=list(config["classes"]),
                  dataset=cfg.dataset, metrics=empty, summary=pd.DataFrame(), split="test", keys=[], short={},
                  fig_formats=tuple(cfg.fig_format), dpi=cfg.dpi)
    sec = section_analysis(run)
    if sec is None:
        raise DatasetError(f"{run_dir} has no analysis/ folder")
    title = f"mirbench dataset analysis: {cfg.dataset} / {run_dir.name}"
    atomic_write_text(run_dir / "analysis.html", page(run, sec.body, title))
    atomic_write_text(run_dir / "analysis.md", analysis_markdown(run))
    return [*sec.files, run_dir / "analysis.html", run_dir / "analysis.md"]


def analyze(cfg: RunConfig, timer: Timer | None = None) -> tuple[Path, list[Path]]:
    """Build the inputs of `cfg`'s dataset from the caches, write the analysis run folder and render it."""
    from benchmarks.families import deep as family  # the log-mel settings live with the deep family

    timer = timer or Timer()
    with new_run_dir(cfg.out, cfg.dataset, cfg.run_id, cfg.to_dict()) as run_dir:
        with timer("dataset"):
            ds = load_dataset(cfg)
        with timer(classical.STAGE):
            feats, feat_skipped = classical.build_inputs(cfg, ds.table)
        with timer(family.STAGE):
            mel = spectrogram(ds.table, family.spec_config(cfg), n_jobs=cfg.n_jobs, cache=cfg.cache,
                              cache_dir=cfg.cache_dir, cache_key=cfg.cache_key)
        deep = family.DeepInputs(mel)
        inputs = Inputs({"classical": feats, "deep": deep}, merge_skipped(feat_skipped, deep.skipped))
        table = ds.table[inputs.available(ds.table)].reset_index(drop=True)
        skipped = merge_skipped(ds.skipped, inputs.skipped)
        res = ExperimentResult(metrics=[], predictions=pd.DataFrame(), curves=None, skipped=skipped, notes=[],
                               table=table, inputs=inputs)
        with timer("analysis"):
            notes = write_analysis(run_dir, cfg, ds, res)
        config = run_config(cfg, ds, n_tracks=split_counts(table), notes=notes)
        write_json(run_dir / CONFIG_FILE, config)
        write_csv(skipped[SKIPPED_COLUMNS], run_dir / SKIPPED_FILE)
        with timer("report"):
            files = render(run_dir, cfg, config)
        write_timings(run_dir, timer)
    return run_dir, files


def main(argv=None) -> int:
    warnings.filterwarnings("ignore", category=FutureWarning, module="librosa")
    t0 = time.perf_counter()
    verbose = False
    try:
        ns = build_parser().parse_args(argv)
        verbose = ns.verbose
        logging.basicConfig(level=logging.DEBUG if ns.verbose else logging.INFO,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")
        logging.getLogger("fontTools").setLevel(logging.WARNING)  # PDF font subsetting, line by line otherwise
        cfg = config_of(ns)
        run_dir, files = analyze(cfg)
    except (ConfigError, DatasetError) as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    except ToolkitError as e:
        print(f"{PROG}: failed: {e}", file=sys.stderr)
        return 1
    except Exception as e:  # a library error: one line saying what failed, the traceback only with -v
        log.debug("traceback", exc_info=True)
        print(f"{PROG}: failed: {type(e).__name__}: {e}" + ("" if verbose else " (rerun with -v for the traceback)"),
              file=sys.stderr)
        return 1
    for f in files:
        print(f)
    print(f"Analysis: {run_dir}  ({time.perf_counter() - t0:.1f} s; open {run_dir / 'analysis.html'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
