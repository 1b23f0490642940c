"""The table of files left out of a run (path, stage, reason), shared by `extract` and `spectrogram`."""

from __future__ import annotations

import pandas as pd

SKIPPED_COLUMNS = ["path", "stage", "reason"]


def empty_skipped() -> pd.DataFrame:
    """A table of no skipped files, with the columns (all str) of one that lists some."""
    return pd.DataFrame({c: pd.Series(dtype=str) for c in SKIPPED_COLUMNS})


class SkipTable(pd.DataFrame):
    """A DataFrame (columns path, stage, reason) whose ``==`` compares whole tables and returns a bool.

    It travels in ``DataFrame.attrs``; pandas compares attrs with ``==`` when it concatenates or
    merges frames, which for a plain DataFrame raises "truth value ... is ambiguous". Use
    ``.eq()`` for an element-wise comparison.
    """

    @property
    def _constructor(self):
        return SkipTable

    def __eq__(self, other):  # type: ignore[override]
        return isinstance(other, pd.DataFrame) and self.equals(other)

    def __ne__(self, other):  # type: ignore[override]
        return not self.__eq__(other)

    __hash__ = None  # type: ignore[assignment]


def skip_table(rows: list[tuple[str, str]], stage: str) -> SkipTable:
    """A SkipTable of (path, reason) pairs at `stage`."""
    return SkipTable(
        {
            "path": pd.Series([str(p) for p, _ in rows], dtype=str),
            "stage": pd.Series([stage] * len(rows), dtype=str),
            "reason": pd.Series([str(r) for _, r in rows], dtype=str),
        }
    )
