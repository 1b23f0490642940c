"""Every registry's names in one place (for --help) and the check of a RunConfig's names and combinations
against them, before any data is read."""

from __future__ import annotations

import dataclasses

from baselines import BASELINES
from benchmarks.config import DEEP_INPUTS, EXCERPT_UNITS, KFOLD, RunConfig, default_models
from benchmarks.datasets import DATASETS, get_dataset
from benchmarks.families.strategies import get_strategy, names_for, strategies
from benchmarks.splits import kfold_split
from deep.models import DEEP_MODELS
from features import FEATURE_SETS
from features.errors import ConfigError
from resampling import LOSSES, SAMPLERS


def registries() -> dict[str, list[str]]:
    """Every registry's names, for --help and validation."""
    return {"datasets": list(DATASETS), "features": list(FEATURE_SETS), "classical models": list(BASELINES),
            "deep models": list(DEEP_MODELS), "deep inputs": list(DEEP_INPUTS), "samplers": list(SAMPLERS),
            "losses": list(LOSSES), "strategies": list(strategies())}


# Settings that act on one kind of model or mode only: (flag, field, the group it acts on). A setting changed
# from its default where its group is absent would be silently ignored, so it stops the run instead.
ONLY_FOR = [
    ("--features", "features", "classical"), ("--backend", "backend", "classical"),
    ("--excerpts", "excerpts", "classical"), ("--excerpt-overlap", "excerpt_overlap", "excerpts"),
    ("--tune", "tune", "classical"),
    ("--epochs", "epochs", "deep"), ("--batch-size", "batch_size", "deep"), ("--lr", "lr", "deep"),
    ("--chunk-s", "chunk_s", "deep"), ("--deep-input", "deep_input", "deep"), ("--augment", "augment", "deep"),
    ("--allow-padding", "allow_padding", "deep"),
    ("--device", "device", "deep"), ("--no-resume", "resume", "deep"),
    ("a FeatureConfig setting", "feature_options", "classical"), ("a SpecConfig setting", "spec_options", "deep"),
    ("a TrainConfig setting", "train_options", "deep"), ("a model option", "model_options", "deep"),
    ("--imbalance-ratio", "imbalance_ratios", "study"), ("--imbalance-profile", "imbalance_profile", "study"),
    ("--folds", "folds", "kfold"), ("--excerpt-trim", "excerpt_trim", "excerpt-unit"),
]
GROUP_WORDS = {"classical": "it acts on classical models and this run has none",
               "deep": "it acts on deep models and this run has none",
               "excerpts": "it acts on excerpts and --excerpts is not given",
               "study": "it acts on the imbalance study and --study is not given",
               "kfold": "it acts on k-fold cross-validation and --split kfold is not given",
               "excerpt-unit": f"it trims tracks before they are cut into excerpt items and --split-unit is not one "
                               f"of {', '.join(EXCERPT_UNITS)}"}


def no_effect(cfg: RunConfig, models) -> None:
    """ConfigError for the first setting that would change nothing in this run (see ONLY_FOR)."""
    present = {"classical": any(m in BASELINES for m in models), "deep": any(m not in BASELINES for m in models),
               "excerpts": cfg.excerpts is not None, "study": cfg.study is not None,
               "kfold": cfg.split == KFOLD, "excerpt-unit": cfg.split_unit in EXCERPT_UNITS}
    defaults = RunConfig()
    for flag, name, group in ONLY_FOR:
        if not present[group] and getattr(cfg, name) != getattr(defaults, name):
            raise ConfigError(f"{flag} has no effect: {GROUP_WORDS[group]} (models: {', '.join(models)}); "
                              f"drop it or change the run")


def _choice(what: str, value, valid) -> None:
    if value not in valid:
        raise ConfigError(f"unknown {what} {value!r}; choose from {', '.join(map(str, valid))}")


def validate(cfg: RunConfig) -> RunConfig:
    """Check every name and combination before any work; return the config with its models filled in."""
    reg = registries()
    _choice("dataset", cfg.dataset, reg["datasets"])
    _choice("feature set", cfg.features, reg["features"])
    models = cfg.models or default_models(cfg)
    known = reg["classical models"] + reg["deep models"]
    for m in models:
        _choice("model", m, known)
        if cfg.no_torch and m in reg["deep models"]:
            raise ConfigError(f"model {m!r} is a deep model and --no-torch was given; drop one of them")
    for key, _ in cfg.model_options:
        refuse = [m for m in models if m in reg["deep models"] and not DEEP_MODELS[m].build.accepts(key)]
        if refuse:  # (without a deep model, ONLY_FOR says the options have no effect)
            raise ConfigError(f"model option {key!r} is not a parameter of {', '.join(refuse)}; model options "
                              "apply to every deep model of the run")
    if len(set(models)) != len(models):
        raise ConfigError(f"models={','.join(models)} lists a model twice")
    named = tuple(get_strategy(s).name for s in cfg.strategies)  # sized ones canonical: upsample@.50 -> @0.5
    if len(set(named)) != len(named):
        raise ConfigError(f"strategies={','.join(cfg.strategies)} lists a strategy twice")
    # Building the module is cheap (no data is read); it tells the task, so that impossible
    # combinations stop here, before any data is generated, decoded or trained on.
    module = get_dataset(cfg.dataset, cfg.data_dir, **dict(cfg.dataset_options))
    task = module.task
    if cfg.split == KFOLD:
        kfold_split(module)
        if "folds" in dict(cfg.dataset_options):
            raise ConfigError("--dataset-option folds has no effect with --split kfold, which draws its own "
                              f"folds; drop it and give --folds (now {cfg.folds})")
    for s in named:
        if task not in get_strategy(s).tasks:
            raise ConfigError(
                f"strategy {s!r} does not support the {task}-label task of {cfg.dataset}; "
                f"for {task}-label data choose from {', '.join(names_for(task))}"
            )
    _choice("deep input", cfg.deep_input, reg["deep inputs"])
    no_effect(cfg, models)
    if cfg.backend == "essentia":
        try:
            import essentia  # noqa: F401  (an optional extra: imported only when asked for)
        except ImportError:
            raise ConfigError("backend 'essentia' needs the essentia extra: pip install -e '.[essentia]'") from None
    return dataclasses.replace(cfg, models=tuple(models), strategies=named)
