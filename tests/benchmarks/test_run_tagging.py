"""The runner on the multi-label loaders' fixtures (real metadata formats) and on synthetic-tags options."""

import json

import pandas as pd
import pytest

from benchmarks.config import RunConfig
from benchmarks.run import main, run
from tests.benchmarks.fixtures_tagging import build_fma, build_jamendo, build_mtat

TAGGING_FILES = ["table.md", "table.tex", "per_class.md", "report.html", "label_frequencies.png", "tag_correlation.png",
                 "per_class_ap.png", "label_confusion.png"]


@pytest.mark.parametrize(
    "dataset,build,options",
    [
        ("mtat", build_mtat, (("min_duration", "0.5"),)),
        ("jamendo", build_jamendo, ()),
        ("fma", build_fma, (("task", "genres"),)),
        ("fma", build_fma, (("task", "genre_top"),)),
    ],
)
def test_tagging_dataset_fixture_runs(tmp_path, dataset, build, options):
    root = tmp_path / dataset
    build(root)
    cfg = RunConfig(dataset=dataset, data_dir=str(root), dataset_options=options, models=("lr", "knn", "rf"),
                    out=str(tmp_path / "results"), run_id="r", n_jobs=1, cache_dir=str(tmp_path / "cache"))
    run_dir = run(cfg)
    conf = json.loads((run_dir / "config.json").read_text())
    m = pd.read_csv(run_dir / "metrics.csv")
    skipped = pd.read_csv(run_dir / "skipped.csv")
    assert len(skipped) > 0 and skipped["reason"].notna().all()  # the fixtures hold missing and broken files
    if conf["task"] == "multi":
        for name in TAGGING_FILES:
            assert (run_dir / name).is_file(), name
        for metric in ("map", "roc_auc_macro", "ranking_loss", "recall@1"):
            assert metric in set(m["metric"]), metric
        pred = pd.read_csv(run_dir / "predictions.csv")
        assert "labels" in pred.columns and all(f"p:{c}" in pred.columns for c in conf["classes"])
    else:
        assert "accuracy" in set(m["metric"]) and (run_dir / "confusion_grid.png").is_file()


def test_smote_on_a_multilabel_dataset_is_refused_before_any_work(tmp_path, capsys):
    code = main(["--dataset", "synthetic-tags", "--strategies", "smote", "--models", "lr",
                 "--out", str(tmp_path / "r"), "--data-dir", str(tmp_path / "never-generated")])
    assert code == 2
    err = capsys.readouterr().err
    assert "smote" in err and "multi" in err
    assert not (tmp_path / "never-generated").exists()
