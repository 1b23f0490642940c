"""The model families of a run: classical (scikit-learn pipelines on hand-crafted features) and deep (CNNs
on spectrograms or waveforms), loaded lazily so that a classical-only run never imports the deep family
(its trainer, front-ends and input stores).

Each family module offers the same functions:

    STAGE                                    the timings.csv stage of its input build
    build_inputs(cfg, table, models)         -> (inputs, skipped frame or None), once per run
    available(inputs, track_ids)             -> bool array: which tracks every model of the family can read
    input_name(cfg, model)                   -> the `input` column of metrics.csv
    fit_predict(model, inputs, strategy, seed, ctx: FitContext)
                                             -> ({'valid', 'test': (n, C) probabilities}, info) or None
                                                (None: the strategy does not apply; ctx.note says why)

`strategies.py` holds the one table of imbalance strategies that both families look up.
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

from baselines import BASELINES
from benchmarks.families.base import FitContext

__all__ = ["FAMILIES", "FitContext", "family_of", "load_family"]

# family -> module, imported on first use (the deep family imports torch).
FAMILIES = {"classical": "benchmarks.families.classical", "deep": "benchmarks.families.deep"}


def family_of(model: str) -> str:
    """'classical' for a `baselines.BASELINES` model, else 'deep' (a `deep.models.DEEP_MODELS` entry)."""
    return "classical" if model in BASELINES else "deep"


def load_family(family: str) -> ModuleType:
    return import_module(FAMILIES[family])
