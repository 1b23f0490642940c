"""What a model family is handed for one fit: the run's settings, the tracks of each split and their targets."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from benchmarks.config import RunConfig


@dataclass(frozen=True)
class FitContext:
    """The data of one experiment, shared by every fit in it.

    splits: track ids per split ('train', 'valid', 'test'); targets: per split, class indices (n,) or
    multi-hot (n, C) aligned with `splits`; paths: per split, the audio files aligned with `splits`;
    classes: ordered class names; task: 'single' or 'multi'; note: records a sentence for config.json's
    notes (a strategy skipped, an input overridden, a fit resumed); root: the dataset folder.
    """

    cfg: RunConfig
    task: str
    classes: list[str]
    splits: dict[str, list[str]]
    targets: dict[str, np.ndarray]
    note: Callable[[str], None]
    paths: dict[str, list[str]] = field(default_factory=dict)
    root: str | None = None  # the dataset folder: file identities are taken relative to it
