"""RunConfig: everything one run depends on, built from CLI flags and an optional TOML file (or a run
folder's config.json, to repeat that run), and checked value by value when it is built (names against
the registries: `benchmarks.registry.validate`).

Every FeatureConfig, SpecConfig and TrainConfig field is settable in TOML: a flat key naming a field of
exactly one of them (`n_mfcc = 40`), or a key of the tables `[features]`, `[spec]`, `[train]` (also
spelled `[feature_options]`, `[spec_options]`, `[train_options]`, as config.json writes them), which a
name in two of them (sr, n_fft, hop_length, n_mels, top_db, offset, duration) needs. They land in
`feature_options` / `spec_options` / `train_options`; RunConfig's own fields (epochs, batch_size, lr,
device, augment, amp) win over TrainConfig's same-named ones.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

from baselines import BASELINES
from deep.trainconfig import TrainConfig
from features import scheduler
from features.cache import check_key_mode
from features.config import FEATURE_SETS, FeatureConfig
from features.errors import ConfigError
from features.spectrogram import SpecConfig

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PROFILES = ("quick", "paper")
CLASSICAL_DEFAULT = ("lr", "rf", "xgb", "svm", "knn", "mlp")
DEEP_DEFAULT = {"quick": ("small-cnn",), "paper": ()}
STUDIES = ("imbalance",)
SPLIT_UNITS = ("track", "excerpt", "excerpt-in-track")
EXCERPT_UNITS = ("excerpt", "excerpt-in-track")  # the split units whose items are excerpts (`benchmarks.excerpt_items`)
KFOLD = "kfold"  # the --split value of grouped, stratified k-fold cross-validation (`benchmarks.crossval`)
MIN_FOLDS = 3  # a test fold, a validation fold and at least one training fold
IMBALANCE_PROFILES = ("exponential", "step")
BACKENDS = ("librosa", "essentia")
# --deep-input values, the keys of deep.frontend.FRONTENDS (listed here: a RunConfig needs no torch to be built).
DEEP_INPUTS = ("mel", "stft", "mfcc", "cqt", "mel+cqt")
# The imbalance study's models, sized for the generated corpus on a 2-core CPU: three fast classical
# models and a small CNN.
STUDY_MODELS = {"quick": ("lr", "rf", "svm", "small-cnn"), "paper": CLASSICAL_DEFAULT + DEEP_DEFAULT["paper"]}
FIG_FORMATS = ("png", "pdf", "svg")
MIN_DPI = 50
# --track values -> the package each needs (the optional extra `tracking`); `benchmarks.tracking` logs a run folder.
TRACKERS = {"mlflow": "mlflow", "tensorboard": "tensorboard"}
TRACKING_INSTALL = "pip install -e '.[tracking]'"

log = logging.getLogger(__name__)


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
    # the unit the split deals and the metrics score: "track", or "excerpt" (each track cut into its excerpts,
    # dealt at random by split_seed: one song's excerpts fall in train and test, a declared leak, as in studies
    # that split excerpts; `benchmarks.excerpt_items`), or "excerpt-in-track" (the same excerpts as items, each
    # in its source track's split: the dataset's split decides, nothing leaks)
    split_unit: str = "track"
    # seconds dropped at both ends of every track before it is cut into excerpts (excerpt split units only)
    excerpt_trim: float = 0.0
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
    # where extraction, the log-mel cache build and the fits run (`features.scheduler`): "local" (this machine's
    # process pool), "dask" (a LocalCluster of n_jobs workers for the run) or a Dask scheduler address
    scheduler: str = "local"
    cache_key: str = "stat"  # "stat" (path relative to the dataset root, size, mtime) or "content" (a file hash)
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
    # deep: keyword arguments of the deep models' constructors as (key, value) pairs, e.g. (("hidden", 64),)
    # (a dict in config.json; each key must be a parameter of every deep model of the run)
    model_options: tuple[tuple[str, object], ...] = ()
    # deep: pad a clip shorter than a model's own input with silence whatever the share (noted), instead of
    # refusing a model whose input would be more than half padding
    allow_padding: bool = False
    device: str = "auto"
    # deep: mixed precision on CUDA (TrainConfig.amp; no effect on the CPU); False: full precision
    amp: bool = True
    no_torch: bool = False
    # study mode
    study: str | None = None
    imbalance_ratios: tuple[float, ...] = (10.0,)
    imbalance_profile: str = "exponential"
    # settings of the configs a run builds, as (key, value) pairs (dicts in config.json); see the docstring
    feature_options: tuple[tuple[str, object], ...] = ()
    spec_options: tuple[tuple[str, object], ...] = ()
    train_options: tuple[tuple[str, object], ...] = ()
    # the report
    fig_format: tuple[str, ...] = ("png",)
    dpi: int = 200
    tex_metrics: tuple[str, ...] = ()  # empty: the table's default metrics
    # the run folder's dataset analysis (`benchmarks.analysis`: distributions, log-mel statistics, embeddings,
    # feature importance, from the caches the run built) and its gallery (`gallery` test tracks per deep fit:
    # Grad-CAM over training, embeddings, predictions up close; 0: none). Off in a RunConfig built in Python;
    # the command line turns both on unless told otherwise (CLI_DEFAULTS).
    analysis: bool = False
    gallery: int = 0
    # experiment tracking of the finished run folder (`benchmarks.tracking`): None, "mlflow" or "tensorboard"
    track: str | None = None
    track_uri: str | None = None  # None: sqlite:///<out>/mlflow.db (MLflow) or <out>/tensorboard (TensorBoard)

    def __post_init__(self) -> None:
        """Check every value that needs no registry; ConfigError naming the field and what was expected."""
        for name in OPTION_FIELDS:
            object.__setattr__(self, name, _freeze_options(name, getattr(self, name)))
        _check_options(self)
        bad = [f for f in self.fig_format if f not in FIG_FORMATS]
        if bad or not self.fig_format or len(set(self.fig_format)) != len(self.fig_format):
            raise ConfigError(f"fig_format={','.join(self.fig_format)!r} must be distinct formats from "
                              f"{', '.join(FIG_FORMATS)}")
        if isinstance(self.gallery, bool) or not isinstance(self.gallery, int) or self.gallery < 0:
            raise ConfigError(f"gallery={self.gallery!r} must be a number of tracks >= 0 (0: no gallery)")
        if isinstance(self.dpi, bool) or not isinstance(self.dpi, int) or self.dpi < MIN_DPI:
            raise ConfigError(f"dpi={self.dpi!r} must be an integer of at least {MIN_DPI}")
        if not all(isinstance(m, str) and m for m in self.tex_metrics):
            raise ConfigError(f"tex_metrics={self.tex_metrics!r} must be metric names")
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
        _one_of("split_unit", self.split_unit, SPLIT_UNITS)
        if self.split_unit == "excerpt" and (self.split == KFOLD or self.study is not None):
            raise ConfigError(f"split_unit='excerpt' does not combine with "
                              f"{'--split kfold' if self.split == KFOLD else f'--study {self.study}'}: it deals "
                              "excerpts into one train/valid/test split (--split random); drop one of them")
        if self.split_unit == "excerpt-in-track" and (self.split == KFOLD or self.study is not None):
            raise ConfigError(f"split_unit='excerpt-in-track' does not combine with "
                              f"{'--split kfold' if self.split == KFOLD else f'--study {self.study}'}: its excerpts "
                              "take their tracks' parts of one train/valid/test split (the dataset's, or --split "
                              "random); drop one of them")
        if isinstance(self.excerpt_trim, bool) or not isinstance(self.excerpt_trim, int | float) \
                or not self.excerpt_trim >= 0:
            raise ConfigError(f"excerpt_trim={self.excerpt_trim!r} must be a number of seconds >= 0")
        if self.study == "imbalance" and any(r < 1 for r in self.imbalance_ratios):
            raise ConfigError(f"imbalance ratios {self.imbalance_ratios} must all be >= 1")
        _check_tracking(self.track, self.track_uri)
        object.__setattr__(self, "scheduler", scheduler.check(self.scheduler))
        check_key_mode(self.cache_key)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["dataset_options"] = dict(self.dataset_options)
        d["model_options"] = dict(self.model_options)
        for name in OPTION_FIELDS:
            d[name] = {k: list(v) if isinstance(v, tuple) else v for k, v in getattr(self, name)}
        return d


def _one_of(name: str, value, valid) -> None:
    if value not in valid:
        raise ConfigError(f"{name}={value!r} must be one of {', '.join(map(str, valid))}")


def require_tracker(track: str) -> None:
    """ConfigError unless `track` is a tracker (TRACKERS) whose package is installed: looked up, not imported."""
    _one_of("track", track, TRACKERS)
    if importlib.util.find_spec(TRACKERS[track]) is None:
        raise ConfigError(f"--track {track} needs the {TRACKERS[track]} package of the tracking extra: "
                          f"{TRACKING_INSTALL}")


def _check_tracking(track: str | None, uri: str | None) -> None:
    """--track names a tracker whose package is installed (looked up, not imported); --track-uri needs --track."""
    if track is None:
        if uri is not None:
            raise ConfigError("--track-uri has no effect: it acts on experiment tracking and --track is not given; "
                              "drop it or change the run")
        return
    require_tracker(track)
    if uri is not None and (not isinstance(uri, str) or not uri.strip()):
        raise ConfigError(f"track_uri={uri!r} must be a tracking URI (MLflow) or a folder (TensorBoard)")


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
TUPLE_FIELDS = {"models": str, "seeds": int, "strategies": str, "imbalance_ratios": float, "fig_format": str,
                "tex_metrics": str}
MAY_BE_EMPTY = frozenset({"tex_metrics"})  # an empty list is a value (the default), not a mistake


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
        if not out and name not in MAY_BE_EMPTY:  # an empty value given on purpose is a mistake, not "the default"
            raise ConfigError(f"{name}={value!r} lists nothing; name at least one, or leave the setting out")
        return out
    if name == "model_options":  # a list value (TOML `channels = [32, 64]`) as a tuple: a RunConfig is hashable
        items = value.items() if isinstance(value, dict) else value
        return tuple(sorted((str(k), _freeze(v)) for k, v in items))
    if name == "dataset_options":
        if isinstance(value, dict):
            return tuple(sorted((str(k), str(v)) for k, v in value.items()))
        return tuple(value)
    if name in OPTION_FIELDS:
        return _freeze_options(name, value)
    return value


def parse_pairs(items, flag: str) -> tuple[tuple[str, str], ...]:
    """KEY=VALUE strings of a repeatable flag (e.g. --dataset-option) as (key, value) pairs; ConfigError naming
    the flag for an item without "="."""
    pairs = []
    for item in items:
        if "=" not in item:
            raise ConfigError(f"{flag} {item!r} must look like KEY=VALUE")
        k, v = item.split("=", 1)
        pairs.append((k.strip(), v.strip()))
    return tuple(pairs)


# What the command line (`benchmarks.run`) sets where neither a flag nor the config file does: every run from
# it gets the dataset analysis and a gallery of 8 tracks per deep fit.
CLI_DEFAULTS = {"analysis": True, "gallery": 8}


def from_sources(cli: dict, config_path: str | None = None, base: dict | None = None) -> RunConfig:
    """Build a RunConfig: defaults, then `base` (the command line's own defaults, CLI_DEFAULTS), then the config
    file's values (TOML, or a run folder's config.json), then the CLI values that were given."""
    values: dict = dict(base or {})
    if config_path:
        values.update(_read_config(config_path))
    values.update({k: _coerce(k, v) for k, v in cli.items() if v is not None})
    try:
        return RunConfig(**values)
    except TypeError as e:
        raise ConfigError(str(e)) from None


# -- the settings of FeatureConfig, SpecConfig and TrainConfig -------------------------------------
# option field -> (its TOML table, the config class, the fields a run sets itself, with what sets them)
OPTION_FIELDS = {
    "feature_options": ("features", FeatureConfig, {}),
    "spec_options": ("spec", SpecConfig, {}),
    "train_options": ("train", TrainConfig, {"chunk_frames": "chunk_s", "seed": "seeds"}),
}
OPTION_KEYS = {name: {f.name for f in dataclasses.fields(cls)} for name, (_, cls, _) in OPTION_FIELDS.items()}
TABLES = {**{table: name for name, (table, _, _) in OPTION_FIELDS.items()}, **{n: n for n in OPTION_FIELDS}}


def _freeze(value):
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value


def _freeze_options(name: str, value) -> tuple:
    """(key, value) pairs, sorted by key, lists made tuples (a RunConfig is hashable); from a dict or pairs."""
    items = value.items() if isinstance(value, dict) else value
    try:
        pairs = [(str(k), v) for k, v in items]
    except (TypeError, ValueError):
        raise ConfigError(f"{name}={value!r} must be a table of settings (key = value)") from None
    for k, v in pairs:
        if isinstance(v, dict):
            raise ConfigError(f"{name}: {k}={v!r} must be a number, string, boolean or list, not a table")
    return tuple(sorted((k, _freeze(v)) for k, v in pairs))


def _check_options(cfg: RunConfig) -> None:
    """Keys against the configs' fields; values by building the configs (their own validation)."""
    for name, (table, cls, run_set) in OPTION_FIELDS.items():
        opts = dict(getattr(cfg, name))
        for key in opts:
            if key in run_set:
                raise ConfigError(f"[{table}] {key} is set by the run; use {run_set[key]}")
            if key in FIELDS:
                raise ConfigError(f"[{table}] {key} is a run setting; give it as {key} (or --{key.replace('_', '-')})")
            if key not in OPTION_KEYS[name]:
                raise ConfigError(f"[{table}] {key} is no {cls.__name__} field; valid: {sorted(OPTION_KEYS[name])}")
    try:
        if cfg.features in FEATURE_SETS:  # an unknown set is the registry check's to report
            dataclasses.replace(FEATURE_SETS[cfg.features](), **dict(cfg.feature_options))
        SpecConfig(**dict(cfg.spec_options))
        TrainConfig(**dict(cfg.train_options))
    except TypeError as e:  # a value of the wrong kind, compared or counted by the config's checks
        raise ConfigError(f"a feature, spectrogram or training setting has a value of the wrong type ({e})") from None


def _route(data: dict, source: str) -> dict:
    """Sort a config file's keys into RunConfig fields, flat config fields and tables; ConfigError for a
    key that names nothing, or names fields of two configs outside a table."""
    values: dict = {}
    options: dict[str, dict] = {name: {} for name in OPTION_FIELDS}
    unknown = []
    for key, value in data.items():
        if key in TABLES and isinstance(value, dict):
            name = TABLES[key]
            for sub, v in value.items():
                sub = sub.replace("-", "_")
                if sub in FIELDS and sub in OPTION_KEYS[name]:  # RunConfig's own field wins (epochs, lr, ...)
                    values[sub] = v
                else:
                    options[name][sub] = v
        elif key in FIELDS:
            values[key] = value
        else:
            owners = [name for name in OPTION_FIELDS if key in OPTION_KEYS[name]]
            if len(owners) > 1:
                tables = " or ".join(f"[{OPTION_FIELDS[n][0]}] {key} = ..." for n in owners)
                raise ConfigError(f"--config {source}: {key} is a setting of "
                                  f"{' and '.join(OPTION_FIELDS[n][1].__name__ for n in owners)}; put it in a "
                                  f"table: {tables}")
            if owners:
                options[owners[0]][key] = value
            else:
                unknown.append(key)
    if unknown:
        settable = set().union(*(OPTION_KEYS[n] - set(OPTION_FIELDS[n][2]) for n in OPTION_FIELDS))
        valid = sorted(set(FIELDS) | settable | set(TABLES))
        raise ConfigError(f"--config {source}: unknown setting(s) {sorted(unknown)}; valid: {valid}")
    out = {k: _coerce(k, v) for k, v in values.items()}
    for name, opts in options.items():
        if opts:
            out[name] = _freeze_options(name, {**dict(out.get(name, ())), **opts})
    return out


def _read_config(path: str) -> dict:
    """The RunConfig values of a TOML file or of a run folder's config.json (whose keys the run added, and
    its run_id, are ignored and logged: a repeated run gets a folder of its own)."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"--config {path}: file not found")
    if p.suffix.lower() == ".json":
        try:
            data = json.loads(p.read_text())
        except json.JSONDecodeError as e:
            raise ConfigError(f"--config {path}: not valid JSON ({e})") from None
        if not isinstance(data, dict):
            raise ConfigError(f"--config {path}: expected a JSON object (a run folder's config.json)")
        ignored = sorted(k for k in data if k not in FIELDS or k == "run_id")
        if ignored:
            log.info("--config %s: ignoring what the run added (and its run id): %s", path, ", ".join(ignored))
        data = {k: v for k, v in data.items() if k in FIELDS and k != "run_id"}
        return _route(data, path)
    try:
        data = tomllib.loads(p.read_text())
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"--config {path}: not valid TOML ({e})") from None
    return _route({k.replace("-", "_"): v for k, v in data.items()}, path)
