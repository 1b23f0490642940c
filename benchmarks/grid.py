"""Where the experiment's (seed, strategy, model) fits run: one after another here, or as tasks of the Dask
cluster of `features.scheduler.session` (`--scheduler dask` / an address).

A fit is a whole task: the family's `fit_predict` on the worker. The run's inputs go to the cluster once per
family, as a task of their own (so a worker's death loses no input): the feature matrix, or the log-mel
store, which travels as its file paths and is memory-mapped on the worker (workers need the cache folder
on a shared file system). Results come back to the client in the order of the fits, so metrics.csv,
predictions.csv and the notes are the ones a local run writes.
A fit is deterministic in its seed, so the fit the scheduler runs again after its worker died gives the
same numbers (a deep fit resumes from its checkpoint, which restores the RNG state).

Deep fits on CUDA go to workers that declare a ``GPU`` resource (``dask worker --resources GPU=1``); when
no worker declares one they run in this process, on its device, and a note says so.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import uuid

from tqdm.auto import tqdm

from benchmarks.families import FitContext, family_of, load_family
from benchmarks.runfolder import Timer
from features import scheduler

log = logging.getLogger(__name__)

Fit = tuple[int, str, str]  # (seed, strategy, model)


def fit_task(family: str, model: str, data, strategy: str, seed: int, ctx: FitContext):
    """One fit, wherever it runs: (fit_predict's result, the notes it made, its wall seconds)."""
    notes: list[str] = []
    ctx = dataclasses.replace(ctx, note=notes.append)
    t0 = time.perf_counter()
    res = load_family(family).fit_predict(model, data, strategy, seed, ctx)
    return res, notes, round(time.perf_counter() - t0, 3)


def _inputs(data):
    return data


def run_fits(fits: list[Fit], data: dict, ctx: FitContext, timer: Timer, *, label: str) -> list:
    """fit_predict's result (None or (probs, info)) of each fit, in the order of `fits`; ctx.note gets each
    fit's notes in that order, the timer a 'fit+predict' row per fit."""
    client = scheduler.active()
    if client is None:
        return _run_here(fits, data, ctx, timer, label)
    return _run_on_cluster(client, fits, data, ctx, timer, label)


def _run_here(fits, data, ctx, timer, label) -> list:
    out = []
    # disable=None: no bar (and no carriage returns) when the output is not a terminal
    for seed, strategy, model in tqdm(fits, desc=f"fits ({label})", unit="fit", leave=False, disable=None):
        family = family_of(model)
        with timer("fit+predict", f"{model}/{strategy}/seed{seed}"):
            out.append(load_family(family).fit_predict(model, data[family], strategy, seed, ctx))
    return out


def _on_gpu(ctx: FitContext, family: str) -> bool:
    if family != "deep":
        return False
    from deep.train import resolve_device

    return resolve_device(ctx.cfg.device).type == "cuda"


def _run_on_cluster(client, fits, data, ctx, timer, label) -> list:
    from distributed import as_completed

    remote_ctx = dataclasses.replace(ctx, note=None)
    # Keys unique to this call: a key the scheduler still remembers from an earlier experiment (the same label,
    # released but not yet forgotten) would hand back that experiment's result.
    token = uuid.uuid4().hex[:8]
    has_gpu = scheduler.worker_resources(client).get("GPU", 0) > 0
    scattered: dict = {}
    futures, here = {}, {}
    for pos, (seed, strategy, model) in enumerate(fits):
        family = family_of(model)
        if _on_gpu(ctx, family) and not has_gpu:
            here[pos] = (family, model, strategy, seed)
            continue
        if family not in scattered:
            # A task whose argument is the data, not client.scatter: the scheduler keeps the task, so a copy lost
            # with a dead worker is made again instead of failing every fit that needs it.
            scattered[family] = client.submit(_inputs, data[family], pure=False,
                                              key=f"inputs-{label}-{family}-{token}")
        kw = {"resources": {"GPU": 1}} if _on_gpu(ctx, family) else {}
        fut = client.submit(fit_task, family, model, scattered[family], strategy, seed, remote_ctx, pure=False,
                            key=f"fit-{label}-{model}-{strategy}-seed{seed}-{pos}-{token}", **kw)
        futures[fut] = pos
    if here:
        ctx.note(f"{len(here)} deep fit(s) on CUDA ran on the client: no Dask worker declares a GPU resource "
                 "(start workers with --resources GPU=1 to send them to the cluster)")
    log.info("grid: %d fit(s) on the Dask cluster, %d here", len(futures), len(here))
    results: dict[int, tuple] = {}
    bar = tqdm(total=len(fits), desc=f"fits ({label}, dask)", unit="fit", leave=False, disable=None)
    try:
        for pos, (family, model, strategy, seed) in here.items():
            results[pos] = fit_task(family, model, data[family], strategy, seed, remote_ctx)
            bar.update(1)
        for fut in as_completed(list(futures)):
            results[futures[fut]] = fut.result()
            bar.update(1)
    finally:
        bar.close()
        for fut in futures:
            if not fut.done():
                fut.cancel()
    out = []
    for pos, (seed, strategy, model) in enumerate(fits):
        res, notes, seconds = results[pos]
        for n in notes:
            ctx.note(n)
        timer.add("fit+predict", f"{model}/{strategy}/seed{seed}", seconds)
        out.append(res)
    return out


__all__ = ["run_fits", "fit_task"]
