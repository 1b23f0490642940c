"""A rerun never reports a model trained on other data: a deep fit resumes from its checkpoint only when the
data it learns from (files, labels), its settings and its code are unchanged, and says so in config.json."""

import json
from dataclasses import replace

import numpy as np
import soundfile as sf

from benchmarks.config import RunConfig
from benchmarks.families.base import FitContext
from benchmarks.families.deep import checkpoint_dir, input_plan, train_config
from benchmarks.prepare import load_dataset
from benchmarks.run import run
from deep.models import DEEP_MODELS
from tests.benchmarks.test_guarantees import SR, make_folder


def resumed_notes(run_dir) -> list[str]:
    notes = json.loads((run_dir / "config.json").read_text())["notes"]
    return [n for n in notes if "resumed from its checkpoint" in n]


def test_rerun_resumes_only_on_the_same_data_and_settings(tmp_path):
    data = make_folder(tmp_path / "music", n_classes=3, per_class=10)
    cfg = RunConfig(dataset="folder", data_dir=str(data), models=("small-cnn",), epochs=2, n_jobs=1,
                    out=str(tmp_path / "out"), cache_dir=str(tmp_path / "cache"))
    first = run(replace(cfg, run_id="first"))
    assert resumed_notes(first) == []
    again = run(replace(cfg, run_id="again"))
    assert len(resumed_notes(again)) == 1  # same files, labels, settings: resumed, and said so
    assert (again / "metrics.csv").read_bytes() == (first / "metrics.csv").read_bytes()

    assert resumed_notes(run(replace(cfg, run_id="no-resume", resume=False))) == []
    assert resumed_notes(run(replace(cfg, run_id="no-cache", cache=False))) == []

    # New audio under the same track id (the old checkpoint learned from other data): trained afresh.
    ds = load_dataset(cfg)
    path = ds.table.loc[ds.table["split"] == "train", "path"].iloc[0]
    rng = np.random.default_rng(7)
    sf.write(path, (0.3 * rng.standard_normal(SR)).astype(np.float32), SR)
    changed = run(replace(cfg, run_id="changed"))
    assert resumed_notes(changed) == []


def test_checkpoint_key_covers_labels_files_and_model(tmp_path):
    for name in "abcdey":
        sf.write(tmp_path / f"{name}.wav", np.full(100, 0.1 * (ord(name) - 96), dtype=np.float32), SR)
    cfg = RunConfig(dataset="folder", models=("small-cnn",), epochs=2)
    spec = DEEP_MODELS["small-cnn"]
    plan = input_plan(cfg, spec)
    tc = train_config(cfg, 0, 129, "small-cnn", 4)
    splits = {"train": ["a", "b", "c"], "valid": ["d"], "test": ["e"]}
    paths = {s: [str(tmp_path / f"{t}.wav") for t in ids] for s, ids in splits.items()}
    targets = {"train": np.array([0, 1, 1]), "valid": np.array([0]), "test": np.array([1])}

    def key(targets=targets, paths=paths, classes=("p", "q"), net=None):
        ctx = FitContext(cfg=cfg, task="single", classes=list(classes), splits=splits, targets=targets,
                         note=lambda _: None, paths=paths)
        return checkpoint_dir(cfg, ctx, "small-cnn", "none", 0, tc, plan, net).name

    base = key()
    assert key() == base
    assert key(targets={**targets, "train": np.array([0, 1, 0])}) != base  # a label changed
    assert key(paths={**paths, "valid": [str(tmp_path / "y.wav")]}) != base  # another file for a validation track
    assert key(classes=("q", "p")) != base
    net2, net3 = spec(2, n_mels=128), spec(3, n_mels=128)
    assert key(net=net2) != base and key(net=net2) != key(net=net3)  # the model's code and shape
    assert key(targets={**targets, "test": np.array([0])}) == base  # the test split is never learned from
