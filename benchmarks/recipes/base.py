"""What a recipe is: one reference study's settings as run groups, the published rows they answer, and every
place the toolkit deviates from the study.

A `Recipe` has variants (e.g. `as-published` and `fault-filtered`); a variant runs one or more `Group`s, each an
ordinary comparison run (`RunConfig` fields: models, inputs, split, profile ...); a published `Row` names the
group, model and input whose test predictions answer it. `Recipe.config` turns a (variant, group) into the
RunConfig that runs it, with what the user gave on the command line on top, each departure from the recipe
recorded as a deviation.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

from benchmarks.config import RunConfig
from benchmarks.families import family_of
from features.errors import ConfigError

# RunConfig fields a user may set on a recipe run without changing what is reproduced: where the data,
# caches and results are, how many workers, the device, the report's formats, tracking.
INFRASTRUCTURE = frozenset({
    "data_dir", "out", "run_id", "n_jobs", "scheduler", "cache_key", "cache", "resume", "cache_dir", "device",
    "fig_format", "dpi", "tex_metrics", "track", "track_uri", "analysis", "gallery", "no_torch", "amp",
})

# Dataset options that say where the files are, not which: applied without a deviation.
DATA_LOCATION = frozenset({"audio_dir", "quality"})

# --smoke: the smallest budget that exercises every stage of a recipe end to end (any fixture of the
# dataset's layout; a model's input longer than the fixture's clips is zero-padded and said so).
SMOKE = {"epochs": 1, "batch_size": 4, "seeds": (0,), "allow_padding": True,
         "train_options": (("patience", None), ("n_eval_chunks", 2))}
DEEP_SMOKE = frozenset({"epochs", "batch_size", "allow_padding", "train_options"})
SMOKE_N_BOOT = 50


@dataclass(frozen=True)
class Group:
    """One comparison run of a variant: `settings` are RunConfig fields (models, deep_input, excerpts ...)."""

    name: str
    settings: Mapping[str, object]
    what: str = ""  # one line for the reproduction table's notes, e.g. "experiment I: CNN-3 on three inputs"


@dataclass(frozen=True)
class Row:
    """A published row answered by `model` (registry name) with `input` (metrics.csv's input column; None:
    whatever the model was fed) in group `group`; `label` is the study's own row label (published.py)."""

    label: str
    group: str
    model: str
    input: str | None = None
    strategy: str = "none"


@dataclass(frozen=True)
class Variant:
    name: str
    what: str
    settings: Mapping[str, object] = field(default_factory=dict)  # RunConfig fields over the recipe's
    deviations: tuple[str, ...] = ()  # where this variant departs from the study, and why


@dataclass(frozen=True)
class Recipe:
    """One reference study. `settings`: RunConfig fields shared by every run (dataset, profile, split ...);
    `metrics`: (our metric key, column label) in table order; `rows`: the published rows we answer;
    `deviations`: where every variant departs from the study; `sweep`: a group per sweep cell (already
    expanded into `groups`)."""

    name: str
    study: str  # the key of benchmarks.recipes.published (PUBLISHED / STUDY_SETTINGS)
    what: str
    settings: Mapping[str, object]
    groups: tuple[Group, ...]
    rows: tuple[Row, ...]
    variants: tuple[Variant, ...]
    metrics: tuple[tuple[str, str], ...]
    deviations: tuple[str, ...] = ()
    metric_map: Mapping[str, str] = field(default_factory=dict)  # a published metric -> ours, where they differ
    valid_tables: tuple[str, ...] = ()  # the study's tables measured on validation data (ours: the valid split)

    @property
    def dataset(self) -> str:
        return str(self.settings["dataset"])

    def variant(self, name: str) -> Variant:
        for v in self.variants:
            if v.name == name:
                return v
        raise ConfigError(f"recipe {self.name} has no variant {name!r}; choose one of "
                          f"{', '.join(v.name for v in self.variants)}")

    def group(self, name: str) -> Group:
        for g in self.groups:
            if g.name == name:
                return g
        raise ConfigError(f"recipe {self.name} has no group {name!r}")  # pragma: no cover - catalog checks

    def check(self) -> None:
        """Every row names a group, every group a model of a row; ConfigError otherwise."""
        names = {g.name for g in self.groups}
        bad = sorted({r.group for r in self.rows} - names)
        if bad:
            raise ConfigError(f"recipe {self.name}: rows name unknown group(s) {bad}")
        fields = {f.name for f in dataclasses.fields(RunConfig)}
        for where, settings in [("recipe", self.settings), *((g.name, g.settings) for g in self.groups),
                                *((v.name, v.settings) for v in self.variants)]:
            unknown = sorted(set(settings) - fields)
            if unknown:
                raise ConfigError(f"recipe {self.name} ({where}): {unknown} are not RunConfig fields")

    def config(self, variant: Variant, group: Group, given: Mapping[str, object], *, smoke: bool = False
               ) -> tuple[RunConfig, list[str]]:
        """The RunConfig of one (variant, group) and the deviations it adds.

        given: the RunConfig fields the user set on the command line. Infrastructure fields (paths, workers,
        device, report options) apply silently; any other field overrides the recipe and is listed as a
        deviation, e.g. `--epochs 5 (the recipe: 20)`. smoke: the `SMOKE` budget on top (one deviation).
        """
        values: dict[str, object] = {**self.settings, **variant.settings, **group.settings}
        notes = []
        for key, value in given.items():
            if key == "dataset_options":  # merged key by key: the recipe's options, the user's on top
                mine = dict(values.get("dataset_options", ()))
                for k, v in dict(value).items():
                    if k not in DATA_LOCATION and str(mine.get(k)) != str(v):
                        was = f" (the recipe: {mine[k]})" if k in mine else ""
                        notes.append(f"--dataset-option {k}={v} given on the command line{was}")
                    mine[k] = v
                values["dataset_options"] = tuple(sorted(mine.items()))
                continue
            if key in INFRASTRUCTURE or key not in {f.name for f in dataclasses.fields(RunConfig)}:
                values[key] = value
                continue
            if key in values and values[key] != value:
                notes.append(f"--{key.replace('_', '-')} {_show(value)} given on the command line (the recipe: "
                             f"{_show(values[key])})")
            elif key not in values:
                notes.append(f"--{key.replace('_', '-')} {_show(value)} given on the command line")
            values[key] = value
        if smoke:  # the deep budget only where the group has a deep model (else "has no effect" refuses it)
            deep = any(family_of(m) == "deep" for m in values.get("models", ()))
            smoke_values = {k: v for k, v in SMOKE.items() if deep or k not in DEEP_SMOKE}
            if "train_options" in smoke_values:  # merged: the recipe's training settings stay
                smoke_values["train_options"] = tuple({**dict(values.get("train_options", ())),
                                                       **dict(smoke_values["train_options"])}.items())
            values.update(smoke_values)
            notes.append("--smoke: 1 epoch, batch 4, one seed, 2 evaluation chunks, no early stopping, clips padded to "
                         "every model's input: checks that the recipe runs end to end; its numbers say nothing about "
                         "the study")
        try:
            return RunConfig(**values), notes
        except TypeError as e:  # pragma: no cover - check() catches unknown fields first
            raise ConfigError(f"recipe {self.name}: {e}") from None


def _show(value) -> str:
    if isinstance(value, (tuple, list)):
        return ",".join(str(v) for v in value) if all(not isinstance(v, tuple) for v in value) else str(value)
    return str(value)
