"""Dataset modules, one per dataset, all of the same shape (see `base.py`), and their registry."""

from __future__ import annotations

from importlib import import_module

from features.errors import ConfigError

# name -> "module:Class"; imported on use so that one dataset's optional needs never block another.
_ENTRIES = {
    "gtzan": "benchmarks.datasets.gtzan:GTZAN",
    "folder": "benchmarks.datasets.folder:Folder",
    "synthetic": "benchmarks.datasets.synthetic:Synthetic",
    "synthetic-tags": "benchmarks.datasets.synthetic:SyntheticTags",
    "mtat": "benchmarks.datasets.mtat:MTAT",
    "jamendo": "benchmarks.datasets.jamendo:Jamendo",
    "fma": "benchmarks.datasets.fma:FMA",
}


def _factory(spec: str):
    def make(data_dir=None, **options):
        module, cls = spec.split(":")
        return getattr(import_module(module), cls)(data_dir, **options)

    make.__doc__ = f"Build the dataset module {spec}."
    return make


__all__ = ["DATASETS", "get_dataset"]

DATASETS = {name: _factory(spec) for name, spec in _ENTRIES.items()}


def get_dataset(name: str, data_dir=None, **options):
    """The dataset module registered as `name`; ConfigError listing the valid names otherwise.

    `data_dir` is its root (None: the module's environment variable or default place); `options` are
    the module's own (see its docstring). ``.load()`` returns a LoadedDataset whose ``table`` is the
    TrackTable (track_id, path, label or labels, group, split). The generated `synthetic` corpus is
    written on first use:

    >>> import tempfile
    >>> from benchmarks.datasets import get_dataset
    >>> tmp = tempfile.mkdtemp()
    >>> ds = get_dataset("synthetic", tmp, genres="blues,metal", tracks_per_genre=10, artists_per_genre=5,
    ...                  duration=0.5, jobs=1).load()
    >>> ds.classes, ds.task, len(ds.table), list(ds.table.columns)
    (['blues', 'metal'], 'single', 20, ['track_id', 'path', 'label', 'group', 'split'])
    >>> import shutil; shutil.rmtree(tmp)
    """
    if name not in DATASETS:
        raise ConfigError(f"unknown dataset {name!r}; choose from {', '.join(DATASETS)}")
    return DATASETS[name](data_dir, **options)
