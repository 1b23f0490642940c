"""What the published tagging datasets (MagnaTagATune, MTG-Jamendo, FMA) share: reading their text
metadata whatever the line endings, checking a module's options, and keeping an official split usable
when its own groups cross it.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from features.errors import ConfigError, DatasetError

log = logging.getLogger(__name__)


def read_lines(path: Path) -> list[str]:
    """The lines of a UTF-8 text file, without their endings (LF or CRLF) and without trailing blank lines.

    Only '\\n' ends a line: titles in the metadata may hold other characters that `str.splitlines`
    would also split on.
    """
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise DatasetError(f"{path} is not UTF-8 text (byte {e.start}): is it the right file?") from e
    lines = [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def unquote(field: str) -> str:
    """A field of a fully quoted file without its surrounding double quotes ('""' inside is one quote)."""
    if len(field) >= 2 and field[0] == '"' and field[-1] == '"':
        return field[1:-1].replace('""', '"')
    return field


def check_options(dataset: str, options: dict, allowed: dict[str, str]) -> None:
    """ConfigError naming any option `dataset` does not take, with the ones it does (name: meaning)."""
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        valid = "; ".join(f"{k}: {v}" for k, v in allowed.items())
        raise ConfigError(f"{dataset}: unknown option(s) {unknown}; valid options are {valid}")


def confine_groups(table: pd.DataFrame, dataset: str, what: str) -> pd.DataFrame:
    """Make every group of a fixed, published split lie in one split, logging each that did not.

    The published splits cannot be changed, and `base.check_table` rejects a group found in two splits.
    A group that the publisher put in several splits is therefore cut into one group per split
    (`<group>@<split>`), with a warning naming how many and which: resampling and folds inside a split
    stay group-aware, and the leak of the published split itself is reported instead of hidden.
    """
    if not len(table):
        return table
    spans = table.groupby("group")["split"].nunique()
    leaky = spans.index[spans > 1]
    if len(leaky):
        log.warning(
            "%s: %d %s(s) appear in several splits of the published split (e.g. %s); their tracks are "
            "grouped per split, and results on this split are not %s-disjoint for them",
            dataset, len(leaky), what, list(leaky[:3]), what,
        )  # fmt: skip
        mask = table["group"].isin(set(leaky))
        table.loc[mask, "group"] = (
            table.loc[mask, "group"].astype(str) + "@" + table.loc[mask, "split"].astype(str)
        )
    return table


def first_dir(candidates: list[Path], has) -> Path | None:
    """The first existing folder among `candidates` for which `has(folder)` is true, or None."""
    for c in candidates:
        if c.is_dir() and has(c):
            return c
    return None
