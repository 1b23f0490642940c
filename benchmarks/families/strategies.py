"""The imbalance strategies in one table: per strategy, the tasks it applies to and what each model family
does with it. The CLI lists it, validation checks against it, and both families look their action up here.

Classical models (an imbalanced-learn pipeline) can take class weights or a sampler; deep models can take
a weighted or special loss, a class-balanced batch sampler, or a resampled list of whole training tracks
(random over/under-sampling only: synthetic samplers such as SMOTE build feature vectors, not
spectrograms). A strategy a family cannot use is skipped for it with a note saying why.

A sampler with a `size` (the reference scheme's upsample and downsample) takes it after `@` in the strategy
name: `upsample@0.25`. The full name is the strategy's label in every result; a plain name keeps the
sampler's default (size 1).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from functools import cache

from benchmarks.datasets.base import TASKS
from features.errors import ConfigError
from resampling import LOSSES, SAMPLERS

ALL_TASKS = frozenset(TASKS)
REFERENCE = "none"  # the strategy every other one is compared with
PARAM = "@"  # what separates a strategy's name from its sampler's size: upsample@0.25

# What a family does with a strategy (None: it cannot use it).
CLASSICAL_ACTIONS = ("none", "class-weight", "sampler")
DEEP_ACTIONS = ("none", "weighted-loss", "loss", "batch-sampler", "resample-tracks")
# Samplers that pick whole training tracks (no synthetic points), so a deep model can train on the result.
RESAMPLING_FOR_DEEP = ("ros", "rus", "upsample", "downsample", "ml-ros", "ml-rus")
DEEP_ONLY = "it applies to deep models only"


@dataclass(frozen=True)
class Strategy:
    """One imbalance strategy.

    tasks: the targets it supports. classical / deep: the family's action (one of CLASSICAL_ACTIONS /
    DEEP_ACTIONS), or None with the reason in classical_skip / deep_skip. size: the sampler's size given
    after PARAM in the name (`upsample@0.25`), None for a plain name (the sampler's default).
    """

    name: str
    tasks: frozenset
    classical: str | None
    deep: str | None
    classical_skip: str = ""
    deep_skip: str = ""
    size: float | None = None

    @property
    def base(self) -> str:
        """The table's name of the strategy: upsample for upsample@0.25."""
        return self.name.partition(PARAM)[0]

    def __post_init__(self) -> None:
        if self.classical not in (*CLASSICAL_ACTIONS, None) or self.deep not in (*DEEP_ACTIONS, None):
            raise ValueError(f"strategy {self.name!r}: unknown action {self.classical!r} / {self.deep!r}")
        if (self.classical is None and not self.classical_skip) or (self.deep is None and not self.deep_skip):
            raise ValueError(f"strategy {self.name!r}: a family that cannot use it needs the reason")


@cache
def strategies() -> dict[str, Strategy]:
    """name -> Strategy, in the order --help lists them: none, class-weight, balanced-batch, samplers, losses."""
    table = {
        REFERENCE: Strategy(REFERENCE, ALL_TASKS, "none", "none"),  # no imbalance handling
        # inverse-frequency class weights; a weighted loss for deep models
        "class-weight": Strategy("class-weight", ALL_TASKS, "class-weight", "weighted-loss"),
        "balanced-batch": Strategy("balanced-batch", ALL_TASKS, None, "batch-sampler", classical_skip=DEEP_ONLY),
    }
    for name, spec in SAMPLERS.items():
        deep = "resample-tracks" if name in RESAMPLING_FOR_DEEP else None
        table[name] = Strategy(name, frozenset(spec.tasks), "sampler", deep,
                               deep_skip="" if deep else "it synthesises feature vectors, not spectrograms")
    for name, spec in LOSSES.items():
        table.setdefault(name, Strategy(name, frozenset(spec.tasks), None, "loss", classical_skip=DEEP_ONLY))
    return table


def sized() -> list[str]:
    """The strategies that take a size after PARAM (samplers with a `size` parameter), in table order."""
    return [n for n in strategies() if n in SAMPLERS and SAMPLERS[n].size is not None]


def _size(name: str, base: str, text: str) -> float:
    """The size written after PARAM in strategy `name`, checked against the sampler's own range."""
    spec = SAMPLERS.get(base)
    if spec is None or spec.size is None:
        raise ConfigError(f"strategy {name!r}: {base} takes no parameter after {PARAM!r}; a size is taken by "
                          f"{', '.join(sized())} (e.g. upsample{PARAM}0.25)")
    try:
        size = float(text)
    except ValueError:
        size = math.nan
    if not math.isfinite(size) or text != text.strip():
        raise ConfigError(f"strategy {name!r}: the size {text!r} after {PARAM!r} must be a number, "
                          f"e.g. {base}{PARAM}0.25")
    if not spec.size.is_satisfied_by(size):
        raise ConfigError(f"strategy {name!r}: size={text} must be {spec.size} for {base}")
    return size


def get_strategy(name: str) -> Strategy:
    """The Strategy of `name`: a table name, or a sized one (`upsample@0.25`) whose name is written canonically
    (`upsample@.250` -> `upsample@0.25`). ConfigError naming the value and what was expected otherwise."""
    table = strategies()
    base, sep, text = str(name).partition(PARAM)
    if base not in table:
        what = repr(name) if not sep else f"{base!r} in {name!r}"
        raise ConfigError(f"unknown strategy {what}; choose from {', '.join(table)} (a sampler's size after "
                          f"{PARAM!r}: {', '.join(f'{n}{PARAM}0.5' for n in sized())})")
    if not sep:
        return table[base]
    size = _size(name, base, text)
    shown = f"{size:g}" if float(f"{size:g}") == size else repr(size)
    return dataclasses.replace(table[base], name=f"{base}{PARAM}{shown}", size=size)


def make_sampler(name: str, *, random_state=None):
    """The sampler of sampler strategy `name` ('ros', 'upsample@0.25': Upsample(size=0.25)), seeded; a plain
    name builds the sampler with its defaults."""
    s = get_strategy(name)
    if s.base not in SAMPLERS:
        raise ConfigError(f"strategy {name!r} is not a sampler; choose from {', '.join(SAMPLERS)}")
    params = {} if s.size is None else {"size": s.size}
    return SAMPLERS[s.base](random_state=random_state, **params)


def names_for(task: str) -> list[str]:
    """The strategies that support `task`, in table order."""
    return [n for n, s in strategies().items() if task in s.tasks]


def action(name: str, family: str, *, model: str, task: str, class_weights: bool = True) -> tuple[str | None, str]:
    """What `family` ("classical" or "deep") does with strategy `name` for `model` on a `task` run.

    class_weights: whether the classical model accepts class weights. Returns (action, "") or
    (None, note) where the note says why the strategy is skipped for this model.
    """
    s = get_strategy(name)
    act = s.classical if family == "classical" else s.deep
    if act is None:
        why = s.classical_skip if family == "classical" else s.deep_skip
        who = model if family == "classical" else "deep models"
        return None, f"strategy {name} skipped for {who}: {why}"
    if act == "class-weight":
        if not class_weights:
            return None, f"strategy {name} skipped for {model}: the model takes no class weights"
        if task == "multi":
            return None, f"strategy {name} skipped for {model}: multi-label class weights apply to losses"
    if task not in s.tasks:
        return None, f"strategy {name} skipped for {model}: it does not support {task}-label targets"
    return act, ""
