"""What every section of the report shares: the `Section` record a section function returns, and the
views of a loaded run that several sections use (models in table order, decoded predictions, true labels)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmarks.report.load import RunData
from benchmarks.report.tables import TABLE_METRICS, table_data
from benchmarks.runfolder import MODEL_KEYS, decode_predictions


@dataclass
class Section:
    """One part of report.html: an anchor id, a title, an HTML body, and the files it wrote."""

    id: str
    title: str
    body: str
    files: list[Path] = field(default_factory=list)


SectionFn = Callable[[RunData], "Section | None"]


def ranked_keys(run: RunData) -> list[tuple]:
    """Model keys (model, family, input, strategy) in the order of the main table."""
    td = table_data(run.summary, run.task, run.split, TABLE_METRICS[run.task])
    return list(dict.fromkeys(k[-4:] for k in td.keys))


def split_predictions(run: RunData) -> dict[tuple, list[tuple[np.ndarray, np.ndarray]]]:
    """Decoded (truth, probabilities) per model key and seed on the report's split, in table order."""
    if run.predictions is None:
        return {}
    df = run.predictions[run.predictions["split"] == run.split]
    out = {}
    for key, g in df.groupby(MODEL_KEYS, sort=False):
        key = tuple(str(k) for k in key)
        out[key] = [decode_predictions(gs, run.classes, run.task) for _, gs in g.groupby("seed", sort=True)]
    order = {k: i for i, k in enumerate(ranked_keys(run))}
    return dict(sorted(out.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])))


def unique_truth(run: RunData) -> np.ndarray | None:
    """True labels of the report split, one row per track (the first model's first seed lists them)."""
    if run.predictions is None:
        return None
    df = run.predictions[run.predictions["split"] == run.split].drop_duplicates("track_id")
    if df.empty:
        return None
    return decode_predictions(df, run.classes, run.task)[0]
