"""The toolkit's one exception family.

Lives in the signal layer because every other package may depend on `features`; `resampling` and
`baselines` (which depend on nothing) raise `ValueError`, which `ConfigError` also is.
"""

from __future__ import annotations


class ToolkitError(Exception):
    """Base of every error the toolkit raises on purpose."""


class ConfigError(ToolkitError, ValueError):
    """A setting, flag or combination of them is invalid."""


class DatasetError(ToolkitError):
    """A dataset is missing, incomplete or laid out differently from what its module expects."""


class AudioLoadError(ToolkitError):
    """An audio file could not be decoded; the message names the file and the cause."""

    def __init__(self, path, cause: str):
        self.path = str(path)
        self.cause = cause
        super().__init__(f"{path}: {cause}")
