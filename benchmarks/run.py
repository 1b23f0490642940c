"""The runner: one command runs a whole comparison and writes tables and figures.

    python -m benchmarks.run --dataset gtzan [--models lr,rf,xgb,svm,knn,mlp,k2c2] [--seeds 0,1,2] ...

Classical models train on hand-crafted features; deep models on the float16 log-mel cache (or, with
--deep-input, STFT / MFCC / CQT / mel+CQT computed on the device, and waveform models on decoded
audio); all on the same split and the same tracks. Everything lands in `results/<dataset>/<run-id>/`
(see README.md); `--study imbalance` hands the run to `benchmarks.study`.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks import config as cfgmod
from benchmarks.config import RunConfig
from benchmarks.datasets import DATASETS, get_dataset
from benchmarks.datasets.base import SKIPPED_COLUMNS, LoadedDataset, empty_skipped
from benchmarks.results import METRIC_COLUMNS, environment, make_run_dir, write_csv, write_json
from features.errors import ConfigError, DatasetError, ToolkitError

log = logging.getLogger("benchmarks.run")


# -- registries -----------------------------------------------------------------------------------
def registries() -> dict[str, list[str]]:
    """Every registry's names, for --help and validation. Deep entries need torch."""
    from baselines import BASELINES
    from features import FEATURE_SETS

    out = {"datasets": list(DATASETS), "features": list(FEATURE_SETS), "classical models": list(BASELINES)}
    try:
        import torch  # noqa: F401
    except ImportError:  # pragma: no cover - a classical-only installation
        out["deep models"], out["deep inputs"] = [], ["mel"]
    else:
        from benchmarks.deeprun import DEEP_INPUTS
        from deep.models import DEEP_MODELS

        out["deep models"] = list(DEEP_MODELS)
        out["deep inputs"] = list(DEEP_INPUTS)
    from resampling import LOSSES, SAMPLERS

    out["samplers"] = list(SAMPLERS)
    out["losses"] = list(LOSSES)
    out["strategies"] = strategy_names(out)
    return out


def strategy_names(reg: dict) -> list[str]:
    return ["none", "class-weight", "balanced-batch", *reg["samplers"], *reg["losses"]]


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
    a("--data-dir", help="dataset folder (default: $<DATASET>_DIR, then ./data/<dataset>)")
    a("--dataset-option", action="append", metavar="KEY=VALUE", help="dataset option, e.g. subset=small; repeatable")
    a("--models", help="comma-separated classical and/or deep models (default: the profile's)")
    a("--split", help="dataset split (default: the dataset's official/fixed split)")
    a("--split-seed", type=int, help="seed of a random split (default 0: the same split every run)")
    a("--seeds", help="comma-separated training seeds, e.g. 0,1,2 (results report mean ± std)")
    a("--profile", choices=cfgmod.PROFILES, help="quick (default) or paper (the reference studies' settings)")
    a("--features", help="feature set for the classical models (default: all)")
    a("--backend", choices=("librosa", "essentia"), help="feature back-end (default: librosa)")
    a("--excerpts", type=float, metavar="SECONDS", help="classical models train on excerpts of this length")
    a("--excerpt-overlap", type=float, help="overlap of excerpts (default 0.5)")
    a("--min-duration", type=float, metavar="SECONDS", help="skip files shorter than this (default 0.5 s)")
    a("--tune", action="store_true", default=None, help="tune a small grid per model on the validation split")
    a("--strategies", help="imbalance strategies, comma-separated (default: none)")
    a("--study", choices=cfgmod.STUDIES, help="study mode")
    a("--imbalance-ratio", dest="imbalance_ratios", help="study: imbalance ratios, e.g. 10,50,100")
    a("--imbalance-profile", choices=cfgmod.IMBALANCE_PROFILES, help="study: long-tail profile")
    a("--epochs", type=int, help="deep: epochs")
    a("--batch-size", type=int, help="deep: batch size")
    a("--lr", type=float, help="deep: learning rate")
    a("--chunk-s", type=float, help="deep: chunk length in seconds")
    a("--deep-input", help="deep: input of the log-mel models: mel (default, cached), mfcc, stft, cqt or mel+cqt "
                           "(computed on the device from decoded audio); waveform and MFCC models keep theirs")
    a("--device", help="deep: auto, cpu or cuda")
    a("--augment", action="store_true", default=None,
      help="deep: time/frequency masking, +-6 dB gain and time shift on training chunks")
    a("--no-torch", action="store_true", default=None, help="refuse deep models (classical-only run)")
    a("--config", help="TOML file with any RunConfig field; flags override it")
    a("--out", help="results folder (default: results)")
    a("--run-id", help="name of the run folder (default: time stamp and config hash)")
    a("--n-jobs", type=int, help="worker processes for features and models (default: all cores)")
    a("--no-cache", dest="cache", action="store_false", default=None, help="recompute features and spectrograms")
    a("--cache-dir", help="cache folder (default: $MIRBENCH_CACHE or ./.cache/mirbench)")
    a("-v", "--verbose", action="store_true", help="debug logging")
    return p


def parse(argv=None) -> tuple[RunConfig, argparse.Namespace]:
    parser = build_parser()
    ns = parser.parse_args(argv)
    cli = {k: v for k, v in vars(ns).items() if k not in ("config", "verbose", "dataset_option")}
    if ns.dataset_option:
        opts = []
        for item in ns.dataset_option:
            if "=" not in item:
                raise ConfigError(f"--dataset-option {item!r} must look like KEY=VALUE")
            k, v = item.split("=", 1)
            opts.append((k.strip(), v.strip()))
        cli["dataset_options"] = tuple(opts)
    cfg = cfgmod.from_sources(cli, ns.config)
    return cfg, ns


def _choice(what: str, value, valid) -> None:
    if value not in valid:
        raise ConfigError(f"unknown {what} {value!r}; choose from {', '.join(map(str, valid))}")


def validate(cfg: RunConfig) -> RunConfig:
    """Check every name and combination before any work; return the config with defaults filled in."""
    reg = registries()
    _choice("dataset", cfg.dataset, reg["datasets"])
    _choice("feature set", cfg.features, reg["features"])
    _choice("profile", cfg.profile, cfgmod.PROFILES)
    models = cfg.models or cfgmod.CLASSICAL_DEFAULT + (() if cfg.no_torch else cfgmod.DEEP_DEFAULT[cfg.profile])
    if cfg.study == "imbalance" and not cfg.models:
        from benchmarks.study import default_models

        models = default_models(cfg.profile, no_torch=cfg.no_torch)
    known = reg["classical models"] + reg["deep models"]
    for m in models:
        _choice("model", m, known)
        if cfg.no_torch and m in reg["deep models"]:
            raise ConfigError(f"model {m!r} is a deep model and --no-torch was given; drop one of them")
    if len(set(models)) != len(models):
        raise ConfigError(f"models={','.join(models)} lists a model twice")
    for s in cfg.strategies:
        _choice("strategy", s, reg["strategies"])
    # Building the module is cheap (no data is read); it tells the task, so that impossible
    # combinations stop here, before any data is generated, decoded or trained on.
    task = get_dataset(cfg.dataset, cfg.data_dir, **dict(cfg.dataset_options)).task
    from resampling import LOSSES, SAMPLERS

    for s in cfg.strategies:
        spec = SAMPLERS.get(s) or LOSSES.get(s)
        if spec is not None and task not in spec.tasks:
            fits = [n for n, sp in [*SAMPLERS.items(), *LOSSES.items()] if task in sp.tasks]
            raise ConfigError(
                f"strategy {s!r} does not support the {task}-label task of {cfg.dataset}; "
                f"for {task}-label data choose from none, class-weight, balanced-batch, {', '.join(fits)}"
            )
    _choice("deep input", cfg.deep_input, reg["deep inputs"])
    if not cfg.seeds:
        raise ConfigError("seeds must list at least one integer seed")
    if cfg.excerpts is not None and cfg.excerpts <= 0:
        raise ConfigError(f"excerpts={cfg.excerpts} must be a positive number of seconds")
    if cfg.min_duration < 0:
        raise ConfigError(f"min_duration={cfg.min_duration} must be >= 0 seconds")
    if not 0 <= cfg.excerpt_overlap < 1:
        raise ConfigError(f"excerpt_overlap={cfg.excerpt_overlap} must be in [0, 1)")
    for name in ("epochs", "batch_size"):
        v = getattr(cfg, name)
        if v is not None and v < 1:
            raise ConfigError(f"{name}={v} must be a positive integer")
    if cfg.lr is not None and cfg.lr <= 0:
        raise ConfigError(f"lr={cfg.lr} must be positive")
    if cfg.study == "imbalance" and any(r < 1 for r in cfg.imbalance_ratios):
        raise ConfigError(f"imbalance ratios {cfg.imbalance_ratios} must all be >= 1")
    if cfg.backend == "essentia":
        try:
            import essentia  # noqa: F401
        except ImportError:
            raise ConfigError("backend 'essentia' needs the essentia extra: pip install -e '.[essentia]'") from None
    return cfgmod.RunConfig(**{**cfg.__dict__, "models": tuple(models)})


# -- the run --------------------------------------------------------------------------------------
class Timer:
    def __init__(self):
        self.rows: list[dict] = []

    def __call__(self, stage: str, model: str = ""):
        timer = self

        class _Ctx:
            def __enter__(self):
                self.t0 = time.perf_counter()

            def __exit__(self, *exc):
                timer.rows.append({"stage": stage, "model": model, "seconds": round(time.perf_counter() - self.t0, 3)})

        return _Ctx()


def encode_targets(ds: LoadedDataset, table: pd.DataFrame) -> np.ndarray:
    """Class indices (n,) for single-label tables, multi-hot (n, C) for multi-label ones."""
    index = {c: i for i, c in enumerate(ds.classes)}
    if ds.task == "single":
        return table["label"].map(index).to_numpy(dtype=np.int64)
    Y = np.zeros((len(table), len(ds.classes)), dtype=np.int64)
    for r, tags in enumerate(table["labels"]):
        for t in tags:
            Y[r, index[t]] = 1
    return Y


def drop_short(ds: LoadedDataset, min_duration: float) -> LoadedDataset:
    """Move tracks shorter than `min_duration` seconds (by their header) to `ds.skipped`, with the reason.

    Unreadable headers are left in place: the decoding stage reports them with their own cause.
    """
    from features.audio import info
    from features.errors import AudioLoadError

    short = []
    durations = np.full(len(ds.table), np.nan)
    for k, (i, path) in enumerate(zip(ds.table.index, ds.table["path"], strict=True)):
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


def check_disk_for_spectrograms(cfg: RunConfig, ds: LoadedDataset) -> None:
    """Refuse to start when the float16 log-mel cache of this dataset cannot fit on the cache's disk."""
    import shutil

    from benchmarks.deeprun import spec_config
    from features.cache import resolve_root

    sc = spec_config(cfg)
    seconds = ds.table["duration"].fillna(30.0).to_numpy() if "duration" in ds.table else np.full(len(ds.table), 30.0)
    frames = 1 + np.floor(seconds * sc.sr / sc.hop_length)
    need = float((frames * sc.n_mels * 2).sum())  # float16
    root = resolve_root(cfg.cache_dir)
    probe = root
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    if need > free:
        raise ConfigError(
            f"the log-mel cache for {len(ds.table)} tracks needs about {need / 2**30:.1f} GiB in {root}, "
            f"but only {free / 2**30:.1f} GiB is free; use --cache-dir on a larger disk"
        )
    log.info("log-mel cache: about %.2f GiB needed, %.1f GiB free in %s", need / 2**30, free / 2**30, root)


def load_dataset(cfg: RunConfig) -> LoadedDataset:
    module = get_dataset(cfg.dataset, cfg.data_dir, **dict(cfg.dataset_options))
    ds = drop_short(module.load(split=cfg.split, seed=cfg.split_seed), cfg.min_duration)
    splits = set(ds.table["split"].astype(str))
    if not {"train", "test"} <= splits:
        raise ConfigError(
            f"split {ds.split_name!r} of {cfg.dataset} gives {sorted(splits)}; the runner needs train/valid/test "
            "(k-fold tables are for the Python API)"
        )
    return ds


def run(cfg: RunConfig) -> Path:
    """Run the comparison described by `cfg`; return the run folder."""
    from benchmarks import report
    from benchmarks.experiment import Experiment

    cfg = validate(cfg)
    if cfg.study == "imbalance":
        from benchmarks.study import run_study

        return run_study(cfg)
    run_dir = make_run_dir(cfg.out, cfg.dataset, cfg.run_id, cfg.to_dict())
    log.info("run folder: %s", run_dir)
    timer = Timer()
    with timer("dataset"):
        ds = load_dataset(cfg)
    deep = [m for m in cfg.models if m not in registries()["classical models"]]
    if deep:
        from benchmarks.deeprun import input_plan
        from deep.models import DEEP_MODELS

        if any(input_plan(cfg, DEEP_MODELS[m]).source == "mel" for m in deep):
            check_disk_for_spectrograms(cfg, ds)
    exp = Experiment(cfg, ds, timer)
    metrics, predictions, curves = exp.run()
    cfg_out = {
        **cfg.to_dict(),
        "models": list(cfg.models),
        "task": ds.task,
        "classes": ds.classes,
        "split_name": ds.split_name,
        "n_tracks": {str(k): int(v) for k, v in exp.table["split"].astype(str).value_counts().sort_index().items()},
        "notes": exp.notes,
        "environment": environment(),
    }
    write_json(run_dir / "config.json", cfg_out)
    write_csv(pd.DataFrame(metrics, columns=METRIC_COLUMNS), run_dir / "metrics.csv")
    write_csv(predictions, run_dir / "predictions.csv")
    skipped = exp.skipped if len(exp.skipped) else empty_skipped()
    write_csv(skipped[SKIPPED_COLUMNS], run_dir / "skipped.csv")
    if curves is not None and len(curves):
        write_csv(curves, run_dir / "curves.csv")
    # Timings go in before the render so that the report shows them; the render's own time is added after.
    write_csv(pd.DataFrame(timer.rows), run_dir / "timings.csv")
    with timer("report"):
        report.render(run_dir)
    write_csv(pd.DataFrame(timer.rows), run_dir / "timings.csv")
    return run_dir


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
        cfg, ns = parse(argv)
        logging.basicConfig(level=logging.DEBUG if ns.verbose else logging.INFO,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")
        for handler in logging.getLogger().handlers:
            handler.addFilter(_OncePerMessage())
        cfg = validate(cfg)
    except ConfigError as e:
        print(f"python -m benchmarks.run: error: {e}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    try:
        run_dir = run(cfg)
    except (ConfigError, DatasetError) as e:
        print(f"python -m benchmarks.run: error: {e}", file=sys.stderr)
        return 2
    except ToolkitError as e:
        print(f"python -m benchmarks.run: failed: {e}", file=sys.stderr)
        return 1
    table = (run_dir / "table.md").read_text() if (run_dir / "table.md").exists() else ""
    print(table)
    print(f"Results: {run_dir}  ({time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
