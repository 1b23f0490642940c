"""Experiment tracking: a finished run folder logged to MLflow or TensorBoard (`--track`, the extra `tracking`).

    python -m benchmarks.tracking RUN_DIR [--track mlflow|tensorboard] [--uri URI]

A reader of the run folder, like the report: it reads config.json, metrics.csv and curves.csv through
`benchmarks.runfolder` and writes nothing into the folder.

MLflow (`--track mlflow`): one experiment per dataset, `mirbench/<dataset>`; a parent run per run folder (its
name the run id; params: the RunConfig fields of config.json, flattened and cut to MLflow's limits; tags: git
commit, task, split name; artifacts: table.md, table.csv, table.tex, report.html, config.json, metrics.csv, those
that exist) and one nested child run per fit (model, family, input, strategy, seed) with its metrics on every
split as `<split>/<metric>` and its per-epoch `train_loss` / `valid_score` (step = epoch) from curves.csv. A
study or cross-validation folder is logged by its top folder, whose metrics.csv holds every row (a fit of a
ratio or fold is a child named after its dataset label). The default store is a local SQLite file beside the
results, `sqlite:///<out>/mlflow.db` (MLflow's plain file store `mlruns/` is deprecated), artifacts in
`<out>/mlartifacts/`; any tracking URI may be given instead.

TensorBoard (`--track tensorboard`): one event folder per fit under `<out>/tensorboard/<dataset>/<run-id>/`
(or under the folder given), with the per-epoch scalars and the final metrics (step 0).
"""

from __future__ import annotations

import argparse
import logging
import math
import re
import sys
import time
from pathlib import Path

import pandas as pd

from benchmarks.config import FIELDS, TRACKERS, require_tracker
from benchmarks.runfolder import (
    CONFIG_FILE,
    CURVES_COLUMNS,
    CURVES_FILE,
    METRICS_FILE,
    MODEL_KEYS,
    read_config,
    read_metrics,
    read_optional,
)
from features.errors import ConfigError, DatasetError, ToolkitError

log = logging.getLogger(__name__)

ARTIFACTS = ("table.md", "table.csv", "table.tex", "report.html", CONFIG_FILE, METRICS_FILE)
FIT_KEYS = ["dataset", *MODEL_KEYS, "seed"]
# MLflow's limits (mlflow.utils.validation): key length, param and tag value length; kept here so that nothing
# but a logging call imports mlflow.
MAX_KEY, MAX_PARAM, MAX_TAG = 250, 6000, 5000
BATCH = 100  # params / metrics per log_batch call


def sanitize(name: str) -> str:
    """A metric or param key MLflow accepts: alphanumerics, _ - . space / kept, everything else (@ [ ] ...) -> _."""
    return re.sub(r"[^\w\-. /]", "_", str(name), flags=re.ASCII)[:MAX_KEY]


def flatten(d: dict, prefix: str = "") -> dict[str, str]:
    """Nested dicts as dotted keys; lists joined by commas; every value a string."""
    out: dict[str, str] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, f"{key}."))
        elif isinstance(v, list | tuple):
            out[key] = ",".join(map(str, v))
        else:
            out[key] = str(v)
    return out


def run_params(config: dict) -> dict[str, str]:
    """The RunConfig fields of a config.json, flattened, keys sanitized, values cut to MLflow's limit."""
    fields = {k: v for k, v in config.items() if k in FIELDS}
    return {sanitize(k): v[:MAX_PARAM] for k, v in flatten(fields).items()}


def default_uri(kind: str, out: Path) -> str:
    """Where a run under `out` (the results folder) is tracked when no URI is given."""
    out = Path(out).resolve()
    return f"sqlite:///{out / 'mlflow.db'}" if kind == "mlflow" else str(out / "tensorboard")


def fit_name(fit: dict, dataset: str) -> str:
    label = "" if fit["dataset"] == dataset else f"{fit['dataset']}/"
    return f"{label}{fit['model']}/{fit['strategy']}/seed{fit['seed']}"


def fits(metrics: pd.DataFrame) -> list[tuple[dict, pd.DataFrame]]:
    """One (keys, metric rows) per fit of metrics.csv, in the file's order."""
    return [(dict(zip(FIT_KEYS, keys, strict=True)), rows)
            for keys, rows in metrics.groupby(FIT_KEYS, sort=False)]


def fit_curve(curves: pd.DataFrame | None, fit: dict) -> pd.DataFrame | None:
    """The curves.csv rows of one fit (model, strategy, seed), by epoch; None when it has none."""
    if curves is None:
        return None
    rows = curves[(curves["model"] == fit["model"]) & (curves["strategy"] == fit["strategy"])
                  & (curves["seed"].astype(str) == str(fit["seed"]))]
    return rows.sort_values("epoch") if len(rows) else None


def final_metrics(rows: pd.DataFrame) -> dict[str, float]:
    """`<split>/<metric>` -> value, finite values only (MLflow stores no NaN a reader can compare)."""
    return {sanitize(f"{r.split}/{r.metric}"): float(r.value) for r in rows.itertuples()
            if math.isfinite(float(r.value))}


def read_run(run_dir: Path) -> tuple[dict, pd.DataFrame, pd.DataFrame | None]:
    run_dir = Path(run_dir)
    if not (run_dir / METRICS_FILE).is_file():
        raise DatasetError(f"{run_dir}: no {METRICS_FILE}; not a finished run folder")
    curves = read_optional(run_dir / CURVES_FILE, CURVES_COLUMNS, ["epoch", "train_loss", "valid_score"], log=log)
    return read_config(run_dir), read_metrics(run_dir / METRICS_FILE), curves


# -- MLflow ---------------------------------------------------------------------------------------
def _experiment_id(client, name: str, uri: str) -> str:
    exp = client.get_experiment_by_name(name)
    if exp is not None:
        return exp.experiment_id
    location = None
    if uri.startswith("sqlite:///"):  # artifacts beside the database, not in ./mlruns of the current folder
        db = Path(uri.removeprefix("sqlite:///"))
        location = (db.parent / "mlartifacts" / sanitize(name).replace("/", "-")).resolve().as_uri()
    return client.create_experiment(name, artifact_location=location)


def _log_batch(client, run_id: str, *, params: dict | None = None, metrics: list | None = None) -> None:
    from mlflow.entities import Param

    items = [Param(k, v) for k, v in (params or {}).items()]
    for i in range(0, len(items), BATCH):
        client.log_batch(run_id, params=items[i:i + BATCH])
    metrics = metrics or []
    for i in range(0, len(metrics), BATCH * 10):
        client.log_batch(run_id, metrics=metrics[i:i + BATCH * 10])


def log_mlflow(run_dir: Path, uri: str) -> str:
    """Log `run_dir` to the MLflow store at `uri`; the parent run's id."""
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    config, metrics, curves = read_run(run_dir)
    dataset = str(config.get("dataset") or run_dir.parent.name)
    client = MlflowClient(tracking_uri=uri)
    exp_id = _experiment_id(client, f"mirbench/{dataset}", uri)
    env = config.get("environment") or {}
    tags = {"git_commit": env.get("git_commit"), "task": config.get("task"), "split_name": config.get("split_name"),
            "dataset": dataset, "mirbench.run_dir": str(Path(run_dir).resolve())}
    parent = client.create_run(exp_id, run_name=run_dir.name,
                               tags={k: str(v)[:MAX_TAG] for k, v in tags.items() if v is not None})
    pid = parent.info.run_id
    try:
        _log_batch(client, pid, params=run_params(config))
        for fit, rows in fits(metrics):
            now = int(time.time() * 1000)
            child = client.create_run(exp_id, run_name=fit_name(fit, dataset), tags={"mlflow.parentRunId": pid})
            cid = child.info.run_id
            points = [Metric(k, v, now, 0) for k, v in final_metrics(rows).items()]
            curve = fit_curve(curves, fit)
            if curve is not None:
                for r in curve.itertuples():
                    points += [Metric(name, float(getattr(r, name)), now, int(r.epoch))
                               for name in ("train_loss", "valid_score") if math.isfinite(float(getattr(r, name)))]
            _log_batch(client, cid, params={k: str(v) for k, v in fit.items()}, metrics=points)
            client.set_terminated(cid)
        for name in ARTIFACTS:
            if (run_dir / name).is_file():
                client.log_artifact(pid, str(run_dir / name))
    except BaseException:
        client.set_terminated(pid, status="FAILED")
        raise
    client.set_terminated(pid)
    return pid


# -- TensorBoard ----------------------------------------------------------------------------------
def log_tensorboard(run_dir: Path, logdir: str) -> Path:
    """Write one event folder per fit under `logdir/<dataset>/<run-id>/`; that folder."""
    from torch.utils.tensorboard import SummaryWriter

    config, metrics, curves = read_run(run_dir)
    dataset = str(config.get("dataset") or run_dir.parent.name)
    root = Path(logdir) / dataset / run_dir.name
    for fit, rows in fits(metrics):
        with SummaryWriter(log_dir=str(root / fit_name(fit, dataset).replace("/", "-"))) as w:
            curve = fit_curve(curves, fit)
            if curve is not None:
                for r in curve.itertuples():
                    for name in ("train_loss", "valid_score"):
                        if math.isfinite(float(getattr(r, name))):
                            w.add_scalar(name, float(getattr(r, name)), int(r.epoch))
            for k, v in final_metrics(rows).items():
                w.add_scalar(k, v, 0)
    return root


def log_run(run_dir: Path, *, kind: str = "mlflow", uri: str | None = None) -> str:
    """Log a finished run folder with `kind`; `uri` None: beside the results (`default_uri`, the folder two
    above the run folder). Returns the MLflow parent run id or the TensorBoard folder. A store that fails is a
    ToolkitError saying that the run folder is complete and how to log it again."""
    require_tracker(kind)
    run_dir = Path(run_dir)
    uri = uri or default_uri(kind, run_dir.resolve().parents[1])
    try:
        where = log_mlflow(run_dir, uri) if kind == "mlflow" else str(log_tensorboard(run_dir, uri))
    except (ConfigError, DatasetError):
        raise
    except Exception as e:
        raise ToolkitError(f"--track {kind} to {uri} failed ({type(e).__name__}: {e}); the run folder {run_dir} is "
                           f"complete: log it again with python -m benchmarks.tracking {run_dir}") from e
    log.info("tracked %s with %s at %s (%s)", run_dir, kind, uri, where)
    return where


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.tracking", description=__doc__.split("\n\n")[0])
    p.add_argument("run_dir", help="a finished run folder (results/<dataset>/<run-id>)")
    p.add_argument("--track", choices=list(TRACKERS), default="mlflow", help="tracker (default: mlflow)")
    p.add_argument("--uri", help="MLflow tracking URI or TensorBoard folder (default: sqlite:///<out>/mlflow.db, "
                                 "a local SQLite file, as MLflow's file store is deprecated; <out>/tensorboard)")
    ns = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        print(log_run(Path(ns.run_dir), kind=ns.track, uri=ns.uri))
    except (ConfigError, DatasetError) as e:
        print(f"{p.prog}: error: {e}", file=sys.stderr)
        return 2
    except ToolkitError as e:
        print(f"{p.prog}: failed: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
