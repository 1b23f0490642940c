"""The examples in the public API's docstrings run, and pass, as doctests (one module per entry)."""

from __future__ import annotations

import doctest
import importlib

import pytest

#: The modules whose docstrings carry the public API's examples: FeatureExtractor, get_dataset, the
#: resampling and deep packages' overviews, and each public function's or class's own example: get_sampler
#: (resampling.samplers), get_loss (resampling.losses), get_model / DEEP_MODELS (deep.models), ChunkDataset
#: (deep.data).
MODULES = ["features.transformer", "benchmarks.datasets", "resampling", "resampling.samplers",
           "resampling.losses", "deep", "deep.models", "deep.data"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # an example that forgot its cache_dir writes here, not in the checkout
    monkeypatch.setenv("MIRBENCH_CACHE", str(tmp_path / "cache"))
    module = importlib.import_module(name)
    examples = sum(len(t.examples) for t in doctest.DocTestFinder().find(module))
    assert examples > 0, f"{name} has no docstring example"
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, report=True)
    assert result.attempted == examples
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed (see the output)"
