"""What the published tagging datasets (MagnaTagATune, MTG-Jamendo, FMA) share: reading their text
metadata whatever the line endings, and finding their folders. (Options are checked, and the groups of
a published split measured and confined, by `base.DatasetModule` for every dataset.)
"""

from __future__ import annotations

import logging
from pathlib import Path

from features.errors import DatasetError

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


def first_dir(candidates: list[Path], has) -> Path | None:
    """The first existing folder among `candidates` for which `has(folder)` is true, or None."""
    for c in candidates:
        if c.is_dir() and has(c):
            return c
    return None
