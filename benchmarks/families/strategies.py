"""The imbalance strategies in one table: per strategy, the tasks it applies to and what each model family
does with it. The CLI lists it, validation checks against it, and both families look their action up here.

Classical models (an imbalanced-learn pipeline) can take class weights or a sampler; deep models can take
a weighted or special loss, a class-balanced batch sampler, or a resampled list of whole training tracks
(random over/under-sampling only: synthetic samplers such as SMOTE build feature vectors, not
spectrograms). A strategy a family cannot use is skipped for it with a note saying why.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from benchmarks.datasets.base import TASKS
from features.errors import ConfigError
from resampling import LOSSES, SAMPLERS

ALL_TASKS = frozenset(TASKS)
REFERENCE = "none"  # the strategy every other one is compared with

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
    DEEP_ACTIONS), or None with the reason in classical_skip / deep_skip.
    """

    name: str
    tasks: frozenset
    classical: str | None
    deep: str | None
    classical_skip: str = ""
    deep_skip: str = ""

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


def get_strategy(name: str) -> Strategy:
    table = strategies()
    if name not in table:
        raise ConfigError(f"unknown strategy {name!r}; choose from {', '.join(table)}")
    return table[name]


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
