"""The command line: parse, validate, dispatch to a producer and the report, exit codes; nothing but the console
script (`benchmarks.cli`, `mirbench run`) imports it.

    python -m benchmarks.run --dataset gtzan [--models lr,rf,xgb,svm,knn,mlp,k2c2] [--seeds 0,1,2] ...

Classical models train on hand-crafted features; deep models on the float16 log-mel cache (or, with
--deep-input, STFT / MFCC / CQT / mel+CQT computed on the device, and waveform models on decoded
audio); all on the same split and the same tracks. `benchmarks.comparison` (or, with `--study
imbalance`, `benchmarks.study`; with `--split kfold`, `benchmarks.crossval`) writes
`results/<dataset>/<run-id>/` (see `benchmarks.runfolder`), then `benchmarks.report` renders its tables,
figures and report.html.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import logging
import sys
import time
import warnings
from pathlib import Path

from benchmarks import comparison, crossval, recipes, report, study, tracking
from benchmarks import config as cfgmod
from benchmarks.config import RunConfig
from benchmarks.recipes import published, reproduce
from benchmarks.registry import registries, validate
from benchmarks.runfolder import Timer, write_timings
from deep import distributed
from features import scheduler
from features.cache import KEY_MODES, numba_cache_dir
from features.errors import ConfigError, DatasetError, ToolkitError
from features.parallel import resolve_n_jobs


# -- command line ---------------------------------------------------------------------------------
class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit code 2, no traceback
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    reg = registries()
    epilog = "registries:\n" + "\n".join(f"  {k}: {', '.join(v)}" for k, v in reg.items())
    p = Parser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0],
               formatter_class=argparse.RawDescriptionHelpFormatter, epilog=epilog)
    a = p.add_argument
    a("--dataset", help="dataset name (see registries below)")
    a("--recipe", metavar="NAME",
      help="reproduce a reference study: its dataset, split, models, front-ends, training and metrics, with the "
           "published numbers beside ours in reproduction.md (--recipe list: the recipes)")
    a("--variant", help="with --recipe: comma-separated variants to run (default: all of the recipe's)")
    a("--smoke", action="store_true", default=None,
      help="with --recipe: a tiny budget (1 epoch, one seed) that checks the recipe end to end on any copy of the "
           "dataset's layout")
    a("--data-dir", help="dataset folder (default: $<DATASET>_DIR, then ./data/<dataset>)")
    a("--dataset-option", action="append", metavar="KEY=VALUE", help="dataset option, e.g. subset=small; repeatable")
    a("--models", help="comma-separated classical and/or deep models (default: the profile's)")
    a("--split", help="dataset split (default: the dataset's official/fixed split); kfold: grouped, stratified "
                      "k-fold cross-validation, every track tested once (datasets without an official split)")
    a("--split-seed", type=int, help="seed of a random split or of the folds (default 0: the same split every run)")
    a("--split-unit", choices=cfgmod.SPLIT_UNITS,
      help="what the split deals and the metrics score: track (default), excerpt (every track cut into excerpts: "
           "the classical models' --excerpts / --excerpt-overlap, or in a run of deep models only their training "
           "chunk, --chunk-s or 3 s, at [train] example_overlap; the excerpts are dealt at random with --split "
           "random, so excerpts of one song land in train and test, a leak the run states, as in studies that "
           "split excerpts) or excerpt-in-track (the same excerpts as items, each in its track's part of the "
           "dataset's split, official or seeded: no leak; not with --split kfold or --study)")
    a("--excerpt-trim", type=float, metavar="SECONDS",
      help="with an excerpt --split-unit: drop this many seconds at both ends of every track before cutting it into "
           "excerpts (default 0; deep models only); a track left without one whole excerpt is skipped (skipped.csv)")
    a("--folds", type=int, help=f"k of --split kfold (default {RunConfig.folds}, at least {cfgmod.MIN_FOLDS})")
    a("--seeds", help="comma-separated training seeds, e.g. 0,1,2 (results report mean ± std)")
    a("--profile", choices=cfgmod.PROFILES, help="quick (default) or paper (the reference studies' settings)")
    a("--features", help="feature set for the classical models (default: all)")
    a("--backend", choices=cfgmod.BACKENDS, help="feature back-end (default: librosa)")
    a("--excerpts", type=float, metavar="SECONDS", help="classical models train on excerpts of this length")
    a("--excerpt-overlap", type=float, help="overlap of excerpts (default 0.5)")
    a("--min-duration", type=float, metavar="SECONDS", help="skip files shorter than this (default 0.5 s)")
    a("--tune", action="store_true", default=None, help="tune a small grid per model on the validation split")
    a("--strategies", help="imbalance strategies, comma-separated (default: none); upsample and downsample take "
                           "their size after @, e.g. upsample@0.25,downsample@0.5 (plain name: size 1)")
    a("--study", choices=cfgmod.STUDIES, help="study mode")
    a("--imbalance-ratio", dest="imbalance_ratios", help="study: imbalance ratios, e.g. 10,50,100")
    a("--imbalance-profile", choices=cfgmod.IMBALANCE_PROFILES, help="study: long-tail profile")
    a("--epochs", type=int, help="deep: epochs")
    a("--batch-size", type=int, help="deep: batch size")
    a("--lr", type=float, help="deep: learning rate")
    a("--chunk-s", type=float, help="deep: chunk length in seconds")
    a("--deep-input", help="deep: input of the log-mel models: mel (default, cached), mfcc, stft, cqt or mel+cqt "
                           "(computed on the device from decoded audio; mel+cqt: two aligned channels, the "
                           "log-mel and the 84-bin CQT resampled to the log-mel's n_mels bins, input "
                           "'mel+cqt-2ch' in metrics.csv); waveform and MFCC models keep theirs")
    a("--device", help="deep: auto, cpu or cuda")
    a("--no-amp", dest="amp", action="store_false", default=None,
      help="deep: full precision on CUDA (default: mixed precision; no effect on the CPU)")
    for flag, field, kind, what in SPEC_FLAGS:
        a(flag, dest=f"spec_{field}", type=kind, default=None,
          help=f"deep: the log-mel front-end's {what} (the run's shared one under quick; each model's own is "
               f"overridden under paper); the same as [spec] {field} in TOML")
    a("--mel-scale", dest="spec_mel_scale", choices=("slaney", "htk"), default=None,
      help="deep: the mel scale and filters: slaney (librosa's default: Slaney scale, area-normalised) or htk "
           "(HTK scale, peak-normalised, as torchaudio)")
    a("--augment", action="store_true", default=None,
      help="deep: time/frequency masking, +-6 dB gain and time shift on training chunks")
    a("--allow-padding", action="store_true", default=None,
      help="deep: pad clips shorter than a model's own input with silence (noted), instead of refusing a model "
           "whose input would be more than half padding")
    a("--no-torch", action="store_true", default=None, help="refuse deep models (classical-only run)")
    a("--config", help="TOML file with any RunConfig field and any FeatureConfig / SpecConfig / TrainConfig field "
                       "(tables [features], [spec], [train]), or a run folder's config.json to repeat that run; "
                       "flags override it")
    a("--fig-format", dest="fig_format", metavar="FORMATS",
      help=f"report: figure formats, comma-separated from {','.join(cfgmod.FIG_FORMATS)} (default: png)")
    a("--dpi", type=int, help=f"report: figure resolution (default {RunConfig.dpi}, at least {cfgmod.MIN_DPI})")
    a("--tex-metrics", dest="tex_metrics", metavar="METRICS",
      help="report: metrics of the LaTeX table, comma-separated, e.g. accuracy,macro_f1 (default: the table's)")
    a("--analysis", action=argparse.BooleanOptionalAction, default=None,
      help="the dataset analysis in the run folder and report (class/tag distributions, log-mel statistics, "
           "feature embeddings and importances, from the caches the run built): on by default; --no-analysis skips it")
    a("--gallery", type=int, metavar="N",
      help=f"deep fits: Grad-CAM over training, embeddings and predictions up close for N test tracks (default "
           f"{cfgmod.CLI_DEFAULTS['gallery']}; 0: none)")
    a("--track", choices=list(cfgmod.TRACKERS),
      help="log the finished run folder: mlflow (a parent run per run folder, a child run per fit: params, metrics, "
           "per-epoch curves, the report and tables as artifacts) or tensorboard (per-epoch scalars); needs the "
           f"tracking extra ({cfgmod.TRACKING_INSTALL})")
    a("--track-uri", metavar="URI",
      help="with --track: an MLflow tracking URI (default sqlite:///<out>/mlflow.db, a local SQLite file beside the "
           "results, as MLflow's file store mlruns/ is deprecated) or a TensorBoard folder (default <out>/tensorboard)")
    a("--out", help="results folder (default: results)")
    a("--run-id", help="name of the run folder (default: time stamp and config hash)")
    a("--n-jobs", type=int, help="worker processes for features and models (default: all cores); with "
                                 "--scheduler dask, the LocalCluster's workers")
    a("--scheduler", metavar="WHERE",
      help="where extraction, the log-mel cache build and the fits run: local (this machine's process pool, "
           "default), dask (a Dask LocalCluster started for the run) or tcp://HOST:PORT (a running Dask cluster, e.g. "
           f"on SLURM with dask-jobqueue); dask needs the distributed extra ({scheduler.INSTALL})")
    a("--cache-key", choices=KEY_MODES,
      help="how the caches key a file: stat (its path relative to the dataset folder, size and mtime: default) or "
           "content (a hash of its bytes: any copy of the dataset hits, at the cost of reading every file once)")
    a("--no-cache", dest="cache", action="store_false", default=None,
      help="recompute features and spectrograms, and train deep models from scratch")
    a("--resume", action=argparse.BooleanOptionalAction, default=None,
      help="deep: continue a fit from its checkpoint when its data, settings and model code are unchanged "
           "(default); --no-resume trains from scratch")
    a("--cache-dir", help="cache folder (default: $MIRBENCH_CACHE or ./.cache/mirbench)")
    a("-v", "--verbose", action="store_true", help="debug logging")
    return p


def parse(argv=None) -> tuple[RunConfig, argparse.Namespace]:
    ns = build_parser().parse_args(argv)
    return config_of(ns), ns


def config_of(ns: argparse.Namespace) -> RunConfig:
    """The RunConfig of parsed flags: defaults, then the --config file, then the flags given."""
    cli = {k: v for k, v in vars(ns).items()
           if k not in ("config", "verbose", "dataset_option", *RECIPE_FLAGS) and not k.startswith("spec_")}
    if ns.dataset_option:
        cli["dataset_options"] = cfgmod.parse_pairs(ns.dataset_option, "--dataset-option")
    cfg = cfgmod.from_sources(cli, ns.config, base=cfgmod.CLI_DEFAULTS)
    flags = spec_flags(ns)
    if flags:  # over the config file's [spec] settings, setting by setting
        cfg = dataclasses.replace(cfg, spec_options=tuple({**dict(cfg.spec_options), **flags}.items()))
    return cfg


RECIPE_FLAGS = ("recipe", "variant", "smoke")
# The front-end flags: (flag, SpecConfig field, type, what it sets); they land in RunConfig.spec_options.
SPEC_FLAGS = (("--sr", "sr", int, "sample rate (Hz)"), ("--n-fft", "n_fft", int, "FFT size"),
              ("--hop-length", "hop_length", int, "hop (samples)"), ("--n-mels", "n_mels", int, "mel bands"),
              ("--fmax", "fmax", float, "highest mel frequency (Hz)"))


def spec_flags(ns: argparse.Namespace) -> dict:
    """The SpecConfig settings given as front-end flags (--sr, --n-fft, --hop-length, --n-mels, --fmax,
    --mel-scale)."""
    out = {field: getattr(ns, f"spec_{field}") for _, field, _, _ in SPEC_FLAGS
           if getattr(ns, f"spec_{field}", None) is not None}
    scale = getattr(ns, "spec_mel_scale", None)
    if scale is not None:
        out.update(htk=scale == "htk", norm=None if scale == "htk" else "slaney")
    return out


def recipe_given(ns: argparse.Namespace) -> dict:
    """The RunConfig fields given as flags beside --recipe (typed as RunConfig holds them); ConfigError for
    --config or a --dataset other than the recipe's (a recipe sets its own settings)."""
    if ns.config:
        raise ConfigError("--config does not combine with --recipe: the recipe sets the run's settings (flags given "
                          "beside it are applied and listed as deviations)")
    given_keys = [k for k, v in vars(ns).items()
                  if v is not None and k not in ("config", "verbose", "dataset_option", *RECIPE_FLAGS)
                  and not k.startswith("spec_")]
    if spec_flags(ns):
        given_keys.append("spec_options")
    given_keys += [k for k in cfgmod.CLI_DEFAULTS if k not in given_keys]  # the command line's own defaults
    if ns.dataset_option:
        given_keys.append("dataset_options")
    cfg = config_of(ns)
    return {k: getattr(cfg, k) for k in given_keys}


def run_recipe(ns: argparse.Namespace) -> Path:
    """--recipe NAME: run the recipe's groups (`benchmarks.recipes.reproduce`), render the recipe folder."""
    recipe = recipes.get_recipe(ns.recipe)
    given = recipe_given(ns)
    if "dataset" in given and given["dataset"] != recipe.dataset:
        raise ConfigError(f"recipe {recipe.name} runs on {recipe.dataset}, not {given['dataset']}; drop --dataset "
                          f"(a copy of {recipe.dataset}'s layout goes in --data-dir)")
    variants = [v.strip() for v in ns.variant.split(",") if v.strip()] if ns.variant else None
    for v in variants or []:
        recipe.variant(v)
    cfg = RunConfig(**{k: v for k, v in given.items() if k != "dataset"}, dataset=recipe.dataset)
    timer = Timer()
    with scheduler.session(cfg.scheduler, n_workers=resolve_n_jobs(cfg.n_jobs),
                           numba_dir=str(numba_cache_dir(cfg.cache_dir))):
        run_dir = reproduce.run(recipe, published.cells(recipe.study), variants=variants, given=given,
                                smoke=bool(ns.smoke), timer=timer, settings=published.settings_of(recipe.study))
    if not distributed.is_main():
        return run_dir
    with timer("report"):
        report.render(run_dir, **report_options(cfg))
    write_timings(run_dir, timer)
    return run_dir


def run(cfg: RunConfig) -> Path:
    """Produce the run folder of `cfg` (a comparison, a study or a cross-validation; each validates `cfg`),
    render the report, log it to the tracker of --track (`benchmarks.tracking`); return the folder."""
    timer = Timer()
    if cfg.split == cfgmod.KFOLD:
        producer = crossval.run
    else:
        producer = study.run if cfg.study == "imbalance" else comparison.run
    with scheduler.session(cfg.scheduler, n_workers=resolve_n_jobs(cfg.n_jobs),
                           numba_dir=str(numba_cache_dir(cfg.cache_dir))):
        run_dir = producer(cfg, timer)
    if not distributed.is_main():  # torchrun: rank 0 alone renders, tracks and writes timings
        return run_dir
    with timer("report"):
        report.render(run_dir, **report_options(cfg))
    if cfg.track:
        with timer("tracking"):
            tracking.log_run(run_dir, kind=cfg.track, uri=cfg.track_uri)
    write_timings(run_dir, timer)
    return run_dir


def report_options(cfg: RunConfig) -> dict:
    """The figure and table settings of `cfg`, as keywords of `report.render`: only those it takes (its
    fig_formats / dpi / tex_metrics parameters are being added; a render without them gets none)."""
    options = {"fig_formats": cfg.fig_format, "dpi": cfg.dpi, "tex_metrics": cfg.tex_metrics or None}
    params = inspect.signature(report.render).parameters
    return {k: v for k, v in options.items() if k in params}


class _OncePerMessage(logging.Filter):
    """Warnings repeated for every model and seed (a tag absent from the test split) are shown once."""

    def __init__(self):
        super().__init__()
        self.seen: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        msg = record.getMessage()
        if msg in self.seen:
            return False
        self.seen.add(msg)
        return True


def main(argv=None) -> int:
    warnings.filterwarnings("ignore", category=FutureWarning, module="librosa")
    try:
        ns = build_parser().parse_args(argv)
        logging.basicConfig(level=logging.DEBUG if ns.verbose else logging.INFO,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")
        for handler in logging.getLogger().handlers:
            handler.addFilter(_OncePerMessage())
        if ns.recipe:
            return recipe_main(ns)
        if ns.variant or ns.smoke:
            raise ConfigError("--variant and --smoke go with --recipe NAME")
        cfg = config_of(ns)  # after the logging set-up: --config logs what of a config.json it ignores
        cfg = validate(cfg)
    except ConfigError as e:
        print(f"python -m benchmarks.run: error: {e}", file=sys.stderr)
        return 2
    if distributed.env_world().distributed and cfg.scheduler != scheduler.LOCAL:
        print(f"python -m benchmarks.run: error: --scheduler {cfg.scheduler} does not combine with torchrun: each of "
              "its processes would start or join the cluster; use one of them", file=sys.stderr)
        return 2
    world = distributed.init(cfg.device)  # torchrun: join the process group (a no-op in one process)
    if world.distributed:
        logging.getLogger("benchmarks.run").info("torchrun: rank %d of %d", world.rank, world.size)
        if world.rank and not ns.verbose:
            logging.getLogger().setLevel(logging.WARNING)  # rank 0 tells the run's progress
    try:
        return produce(lambda: run(cfg), "table.md", ns.verbose)
    finally:
        distributed.shutdown()


def produce(make, shown: str, verbose: bool) -> int:
    """Run `make()` (which returns the run folder), print its `shown` file and where it is; the exit codes of
    `main`: 2 for a configuration or dataset error, 1 for a failure (one line; the traceback only with -v)."""
    t0 = time.perf_counter()
    try:
        run_dir = make()
    except (ConfigError, DatasetError) as e:
        print(f"python -m benchmarks.run: error: {e}", file=sys.stderr)
        return 2
    except ToolkitError as e:
        print(f"python -m benchmarks.run: failed: {e}", file=sys.stderr)
        return 1
    except Exception as e:  # a library error: one line saying what failed, the traceback only with -v
        logging.getLogger("benchmarks.run").debug("traceback", exc_info=True)
        print(f"python -m benchmarks.run: failed: {type(e).__name__}: {e}"
              + ("" if verbose else " (rerun with -v for the traceback)"), file=sys.stderr)
        return 1
    if not distributed.is_main():
        return 0
    path = run_dir / shown
    print(path.read_text() if path.exists() else "")
    print(f"Results: {run_dir}  ({time.perf_counter() - t0:.1f} s)")
    return 0


def recipe_main(ns: argparse.Namespace) -> int:
    """--recipe: list the recipes, or run one; the exit codes of `main`."""
    if ns.recipe == "list":
        print(recipes.listing(), end="")
        return 0
    return produce(lambda: run_recipe(ns), "reproduction.md", ns.verbose)


if __name__ == "__main__":
    distributed.exit_process(main())  # under torchrun, past a C++ teardown that can abort (see there)
