"""The house rules of the layout (README, code map): no import circle, no private name used across modules,
no file over 600 lines; the report never imports a producer; a classical-only run never loads the deep family."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HOUSE_CHECK = ROOT.parent / "shared" / "tools" / "house_check.py"
PRODUCERS = ("benchmarks.run", "benchmarks.comparison", "benchmarks.study", "benchmarks.crossval",
             "benchmarks.experiment", "benchmarks.families", "benchmarks.prepare", "benchmarks.registry")


def modules_after(code: str) -> set[str]:
    """The names in sys.modules after running `code` in a fresh interpreter."""
    res = subprocess.run([sys.executable, "-c", code + "\nimport sys\nprint('\\n'.join(sys.modules))"], cwd=ROOT,
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-3000:]
    return set(res.stdout.split())


def is_producer(module: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in PRODUCERS)


@pytest.mark.skipif(not HOUSE_CHECK.is_file(), reason="../shared/tools/house_check.py is not beside the checkout")
def test_house_check_finds_no_circle_private_name_or_long_file():
    res = subprocess.run([sys.executable, str(HOUSE_CHECK), str(ROOT)], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "circle 1" not in res.stdout
    assert "private names" not in res.stdout, res.stdout
    assert "files over" not in res.stdout, res.stdout


def test_report_imports_no_producer():
    loaded = modules_after("import benchmarks.report, benchmarks.report.page")
    assert "benchmarks.report.study" in loaded
    assert not {m for m in loaded if is_producer(m)}


def test_classical_only_run_never_loads_the_deep_family(tmp_path):
    code = f"""
from benchmarks.config import RunConfig
from benchmarks.experiment import Experiment
from benchmarks.prepare import load_dataset
from benchmarks.runfolder import Timer
cfg = RunConfig(dataset="synthetic", data_dir={str(tmp_path)!r}, models=("lr",), cache_dir={str(tmp_path / "c")!r},
                n_jobs=1, dataset_options=(("genres", "blues,metal"), ("tracks_per_genre", "20"),
                                           ("artists_per_genre", "10"), ("duration", "1.0"), ("jobs", "1")))
res = Experiment(cfg, load_dataset(cfg), Timer()).run()
assert {{r["model"] for r in res.metrics}} == {{"lr"}}
"""
    loaded = modules_after(code)
    assert "benchmarks.families.classical" in loaded
    assert "benchmarks.families.deep" not in loaded and "deep.train" not in loaded and "deep.models" not in loaded
