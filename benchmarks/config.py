"""RunConfig: everything one run depends on, built from CLI flags and an optional TOML file, and
checked value by value when it is built (names against the registries: `benchmarks.registry.validate`).
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass
from pathlib import Path

from baselines import BASELINES
from features.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PROFILES = ("quick", "paper")
CLASSICAL_DEFAULT = ("lr", "rf", "xgb", "svm", "knn", "mlp")
DEEP_DEFAULT = {"quick": ("small-cnn",), "paper": ()}
STUDIES = ("imbalance",)
KFOLD = "kfold"  # the --split value of grouped, stratified k-fold cross-validation (`benchmarks.crossval`)
MIN_FOLDS = 3  # a test fold, a validation fold and at least one training fold
IMBALANCE_PROFILES = ("exponential", "step")
BACKENDS = ("librosa", "essentia")
# --deep-input values, the keys of deep.frontend.FRONTENDS (listed here: a RunConfig needs no torch to be built).
DEEP_INPUTS = ("mel", "stft", "mfcc", "cqt", "mel+cqt")
# The imbalance study's models, sized for the generated corpus on a 2-core CPU: three fast classical
# models and a small CNN.
STUDY_MODELS = {"quick": ("lr", "rf", "svm", "small-cnn"), "paper": CLASSICAL_DEFAULT + DEEP_DEFAULT["paper"]}


@dataclass(frozen=True)
class RunConfig:
    """One benchmark run. Tuples, not lists, so that the config is hashable and frozen."""

    dataset: str = "synthetic"
    data_dir: str | None = None
    dataset_options: tuple[tuple[str, str], ...] = ()
    models: tuple[str, ...] = ()  # empty: the profile's default models
    split: str | None = None  # None: the dataset's default split; "kfold": k-fold cross-validation
    split_seed: int = 0
    folds: int = 5  # k of split="kfold"
    seeds: tuple[int, ...] = (0,)
    profile: str = "quick"
    features: str = "all"
    backend: str = "librosa"
    excerpts: float | None = None  # excerpt length in seconds (classical models train on excerpts)
    excerpt_overlap: float = 0.5
    min_duration: float = 0.5  # seconds; shorter files are skipped with a reason (broken or placeholder files)
    tune: bool = False
    strategies: tuple[str, ...] = ("none",)
    out: str = "results"
    run_id: str | None = None
    n_jobs: int = -1
    cache: bool = True
    resume: bool = True  # deep: continue a fit from its checkpoint when data, settings and model code match
    cache_dir: str | None = None
    # deep settings: None takes the profile's value
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    chunk_s: float | None = None
    deep_input: str = "mel"
    augment: bool = False  # deep: time/frequency masking, gain and time shift during training
    device: str = "auto"
    no_torch: bool = False
    # study mode
    study: str | None = None
    imbalance_ratios: tuple[float, ...] = (10.0,)
    imbalance_profile: str = "exponential"

    def __post_init__(self) -> None:
        """Check every value that needs no registry; ConfigError naming the field and what was expected."""
        _one_of("profile", self.profile, PROFILES)
        _one_of("backend", self.backend, BACKENDS)
        _one_of("imbalance_profile", self.imbalance_profile, IMBALANCE_PROFILES)
        if self.study is not None:
            _one_of("study", self.study, STUDIES)
        if not self.seeds:
            raise ConfigError("seeds must list at least one integer seed")
        if not self.strategies:
            raise ConfigError("strategies must list at least one strategy (none: no imbalance handling)")
        if self.excerpts is not None and self.excerpts <= 0:
            raise ConfigError(f"excerpts={self.excerpts} must be a positive number of seconds")
        if self.min_duration < 0:
            raise ConfigError(f"min_duration={self.min_duration} must be >= 0 seconds")
        if not 0 <= self.excerpt_overlap < 1:
            raise ConfigError(f"excerpt_overlap={self.excerpt_overlap} must be in [0, 1)")
        for name in ("epochs", "batch_size"):
            v = getattr(self, name)
            if v is not None and v < 1:
                raise ConfigError(f"{name}={v} must be a positive integer")
        if self.lr is not None and self.lr <= 0:
            raise ConfigError(f"lr={self.lr} must be positive")
        if self.chunk_s is not None and self.chunk_s <= 0:
            raise ConfigError(f"chunk_s={self.chunk_s} must be a positive number of seconds")
        if isinstance(self.folds, bool) or not isinstance(self.folds, int) or self.folds < MIN_FOLDS:
            raise ConfigError(f"folds={self.folds!r} must be an integer of at least {MIN_FOLDS} (a test fold, a "
                              "validation fold and at least one training fold)")
        if self.split == KFOLD and self.study is not None:
            raise ConfigError(f"--split kfold does not combine with --study {self.study}: the study draws its "
                              "subsets from one training split; drop one of them")
        if self.study == "imbalance" and any(r < 1 for r in self.imbalance_ratios):
            raise ConfigError(f"imbalance ratios {self.imbalance_ratios} must all be >= 1")

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["dataset_options"] = dict(self.dataset_options)
        return d


def _one_of(name: str, value, valid) -> None:
    if value not in valid:
        raise ConfigError(f"{name}={value!r} must be one of {', '.join(map(str, valid))}")


def default_models(cfg: RunConfig) -> tuple[str, ...]:
    """The models a run trains when --models is not given: the profile's (the study's in study mode)."""
    if cfg.study == "imbalance":
        models = STUDY_MODELS[cfg.profile]
    else:
        models = CLASSICAL_DEFAULT + DEEP_DEFAULT[cfg.profile]
    if cfg.no_torch:
        models = tuple(m for m in models if m in BASELINES)
    return models


FIELDS = {f.name: f for f in dataclasses.fields(RunConfig)}
TUPLE_FIELDS = {"models": str, "seeds": int, "strategies": str, "imbalance_ratios": float}


def _coerce(name: str, value):
    """Turn a TOML or CLI value into the field's type; ConfigError naming the field otherwise."""
    if value is None:
        return None
    if name in TUPLE_FIELDS:
        kind = TUPLE_FIELDS[name]
        items = value.split(",") if isinstance(value, str) else list(value)
        try:
            out = tuple(kind(str(v).strip()) if kind is not str else str(v).strip() for v in items if str(v).strip())
        except ValueError:
            raise ConfigError(f"{name}={value!r} must be a comma-separated list of {kind.__name__}") from None
        if not out:  # an empty value given on purpose is a mistake, not "the default"
            raise ConfigError(f"{name}={value!r} lists nothing; name at least one, or leave the setting out")
        return out
    if name == "dataset_options":
        if isinstance(value, dict):
            return tuple(sorted((str(k), str(v)) for k, v in value.items()))
        return tuple(value)
    return value


def from_sources(cli: dict, toml_path: str | None = None) -> RunConfig:
    """Build a RunConfig: defaults, then the TOML file's values, then the CLI values that were given."""
    values: dict = {}
    if toml_path:
        p = Path(toml_path)
        if not p.is_file():
            raise ConfigError(f"--config {toml_path}: file not found")
        try:
            data = tomllib.loads(p.read_text())
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"--config {toml_path}: not valid TOML ({e})") from None
        data = {k.replace("-", "_"): v for k, v in data.items()}
        unknown = sorted(set(data) - set(FIELDS))
        if unknown:
            raise ConfigError(f"--config {toml_path}: unknown setting(s) {unknown}; valid: {sorted(FIELDS)}")
        values.update({k: _coerce(k, v) for k, v in data.items()})
    values.update({k: _coerce(k, v) for k, v in cli.items() if v is not None})
    try:
        return RunConfig(**values)
    except TypeError as e:
        raise ConfigError(str(e)) from None
