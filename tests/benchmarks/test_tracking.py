"""--track mlflow / tensorboard: a finished run folder logged to a real local store and read back with the
tracker's own reader (MLflow's client, TensorBoard's event reader); --track without its package, --track-uri
without --track."""

import importlib.util
import json

import pandas as pd
import pytest

from benchmarks import tracking
from benchmarks.config import RunConfig
from benchmarks.run import main, run
from benchmarks.runfolder import read_metrics

SR = 8000
HAS_MLFLOW = importlib.util.find_spec("mlflow") is not None
HAS_TENSORBOARD = importlib.util.find_spec("tensorboard") is not None
needs_mlflow = pytest.mark.skipif(not HAS_MLFLOW, reason="mlflow is not installed (pip install -e '.[tracking]')")


@pytest.fixture(scope="module")
def tracked(pinned_folder, tmp_path_factory):
    """lr and small-cnn (2 epochs) on the tiny folder, logged to a SQLite MLflow store."""
    if not HAS_MLFLOW:
        pytest.skip("mlflow is not installed (pip install -e '.[tracking]')")
    tmp = tmp_path_factory.mktemp("tracked")
    uri = f"sqlite:///{tmp}/mlflow.db"
    run_dir = run(RunConfig(dataset="folder", data_dir=str(pinned_folder), models=("lr", "small-cnn"), epochs=2,
                            seeds=(0,), out=str(tmp / "r"), run_id="r1", n_jobs=1, cache_dir=str(tmp / "c"),
                            track="mlflow", track_uri=uri))
    return run_dir, uri


@needs_mlflow
def test_mlflow_parent_and_child_runs_hold_the_run_folder(tracked):
    from mlflow.tracking import MlflowClient

    run_dir, uri = tracked
    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name("mirbench/folder")
    assert exp is not None
    runs = client.search_runs([exp.experiment_id])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert len(parents) == 1
    parent = parents[0]
    assert parent.info.run_name == "r1" and parent.info.status == "FINISHED"
    assert parent.data.params["dataset"] == "folder" and parent.data.params["seeds"] == "0"
    assert parent.data.params["models"] == "lr,small-cnn" and parent.data.params["epochs"] == "2"
    assert parent.data.tags["task"] == "single"
    config = json.loads((run_dir / "config.json").read_text())
    assert parent.data.tags["split_name"] == str(config["split_name"])
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert {"table.md", "report.html", "config.json", "metrics.csv"} <= artifacts

    children = {r.data.params["model"]: r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id}
    metrics = read_metrics(run_dir / "metrics.csv")
    n_fits = len(metrics.groupby(["dataset", "model", "family", "input", "strategy", "seed"]))
    assert len(children) == n_fits == 2 and set(children) == {"lr", "small-cnn"}
    for model, child in children.items():
        want = metrics[(metrics["model"] == model) & (metrics["split"] == "test") & (metrics["metric"] == "accuracy")]
        assert child.data.metrics["test/accuracy"] == pytest.approx(float(want["value"].iloc[0]))
        assert child.data.params["family"] in ("classical", "deep") and child.data.params["seed"] == "0"

    curves = pd.read_csv(run_dir / "curves.csv")
    history = client.get_metric_history(children["small-cnn"].info.run_id, "valid_score")
    assert [m.step for m in sorted(history, key=lambda m: m.step)] == [1, 2]
    want = curves[curves["model"] == "small-cnn"].sort_values("epoch")
    assert [m.value for m in sorted(history, key=lambda m: m.step)] == pytest.approx(list(want["valid_score"]))
    assert client.get_metric_history(children["lr"].info.run_id, "valid_score") == []


@needs_mlflow
def test_an_existing_run_folder_is_logged_by_the_module_entry(tracked, tmp_path):
    from mlflow.tracking import MlflowClient

    run_dir, _ = tracked
    uri = f"sqlite:///{tmp_path}/again.db"
    assert tracking.main([str(run_dir), "--uri", uri]) == 0
    exp = MlflowClient(tracking_uri=uri).get_experiment_by_name("mirbench/folder")
    assert len(MlflowClient(tracking_uri=uri).search_runs([exp.experiment_id])) == 3  # parent + 2 fits


@pytest.mark.skipif(not (HAS_TENSORBOARD and HAS_MLFLOW), reason="the tracking extra is not installed")
def test_tensorboard_writes_per_epoch_scalars(tracked, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run_dir, _ = tracked
    root = tracking.log_run(run_dir, kind="tensorboard", uri=str(tmp_path / "tb"))
    acc = EventAccumulator(str(tmp_path / "tb" / "folder" / "r1" / "small-cnn-none-seed0")).Reload()
    assert root.endswith("r1")
    assert [e.step for e in acc.Scalars("valid_score")] == [1, 2]
    assert "test/accuracy" in acc.Tags()["scalars"]


def test_track_without_its_package_stops_with_the_install_command(pinned_folder, tmp_path, capsys, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "mlflow" else real(name, *a))
    out = tmp_path / "r"
    code = main(["--dataset", "folder", "--data-dir", str(pinned_folder), "--models", "lr", "--out", str(out),
                 "--track", "mlflow"])
    err = capsys.readouterr().err
    assert code == 2 and "pip install -e '.[tracking]'" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_track_uri_without_track_stops(pinned_folder, tmp_path, capsys):
    out = tmp_path / "r"
    code = main(["--dataset", "folder", "--data-dir", str(pinned_folder), "--models", "lr", "--out", str(out),
                 "--track-uri", f"sqlite:///{tmp_path}/x.db"])
    err = capsys.readouterr().err
    assert code == 2 and "--track-uri has no effect" in err
    assert not out.exists()


def test_names_are_made_valid_for_mlflow():
    assert tracking.sanitize("test/p@5[tag]") == "test/p_5_tag_"
    assert tracking.run_params({"dataset": "x", "seeds": [0, 1], "train_options": {"a": 1}, "task": "single",
                                "environment": {"git_commit": "abc"}}) == {
        "dataset": "x", "seeds": "0,1", "train_options.a": "1"}
