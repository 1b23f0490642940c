"""The deep training loop: seeded, resumable training on random chunks, evaluation on averaged chunks.

``fit`` trains a model that returns logits on a ``ChunkDataset`` (one random chunk per track and
epoch), scores the validation tracks each epoch with a caller-given ``score_fn`` (higher is better),
stops early, keeps and restores the best weights, and checkpoints each epoch so an interrupted run
resumes to the same result. ``predict`` gives track-level probabilities: the mean over a track's evenly
spaced evaluation chunks of softmax (single-label) or sigmoid (multi-label) outputs. The configuration
(``deep.trainconfig``), batch order and augmentation (``deep.batches``) live in their own modules and
are re-exported here.
"""

from __future__ import annotations

import copy
import csv
import logging
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Sampler, Subset
from tqdm.auto import tqdm

from deep import distributed as ddp
from deep.batches import EpochBatches, augment_input, augment_spectrogram, model_input, seed_worker
from deep.data import ChunkDataset
from deep.schedules import make_optimizer, next_phase
from deep.trainconfig import PROFILES, RESUME_FREE, AugmentConfig, TrainConfig
from features.errors import ConfigError

logger = logging.getLogger(__name__)

__all__ = [
    "AugmentConfig",
    "FitResult",
    "PROFILES",
    "TrainConfig",
    "augment_input",
    "augment_spectrogram",
    "fit",
    "load_checkpoint",
    "predict",
    "resolve_device",
]

Task = Literal["single", "multi"]
ScoreFn = Callable[[np.ndarray, np.ndarray], float]
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Callback = Callable[[int, nn.Module, dict], None]

CHECKPOINT_VERSION = 1


# --- results -------------------------------------------------------------------------------------
@dataclass
class FitResult:
    """What ``fit`` returns; the model itself is restored in place to the best epoch's weights.

    history: one dict per epoch: epoch (1-based), train_loss, valid_score, lr (at the epoch's end),
        seconds, train_seconds, valid_seconds, n_samples, clips_per_s, data_wait_share (share of the
        training time spent waiting for batches), improved.
    best_epoch: 1-based epoch whose weights were restored (0 when no epoch gave a finite score).
    data_wait_share: over all epochs trained in this call.
    """

    history: list[dict]
    best_epoch: int
    best_score: float
    stopped_early: bool
    data_wait_share: float
    device: str
    resumed_from_epoch: int = 0
    checkpoint_dir: str | None = None

    def curves(self):
        """History as a pandas DataFrame indexed by epoch (the per-epoch curves the report plots)."""
        import pandas as pd

        return pd.DataFrame(self.history).set_index("epoch")

    def save_history(self, path: str | os.PathLike) -> None:
        """Write the per-epoch history as CSV (the same file ``fit`` keeps in its checkpoint folder)."""
        _write_history(self.history, Path(path))


# --- devices, seeding, flags ---------------------------------------------------------------------
def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """"auto"/None -> CUDA when present, else CPU; anything else -> torch.device(device). Under torchrun
    a CUDA device without an index is the process's own GPU, cuda:LOCAL_RANK."""
    if device is None or device == "auto":
        return ddp.local_device(torch.device("cuda" if torch.cuda.is_available() else "cpu"))
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise ConfigError(f"device={device!r} is not a torch device") from e
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device={device!r} asked for but CUDA is not available")
    return ddp.local_device(dev)


class _GlobalFlags:
    """Sets torch's determinism flags for a run and puts the previous values back afterwards."""

    def __init__(self, deterministic: bool, device: torch.device):
        self.deterministic, self.device = deterministic, device

    def __enter__(self):
        self.saved = (
            torch.are_deterministic_algorithms_enabled(),
            torch.is_deterministic_algorithms_warn_only_enabled(),
            torch.backends.cudnn.deterministic,
            torch.backends.cudnn.benchmark,
        )
        if self.device.type == "cuda":
            torch.backends.cudnn.deterministic = self.deterministic
            torch.backends.cudnn.benchmark = not self.deterministic
        elif self.deterministic:
            torch.use_deterministic_algorithms(True, warn_only=True)
        return self

    def __exit__(self, *exc):
        enabled, warn_only, cudnn_det, cudnn_bench = self.saved
        torch.use_deterministic_algorithms(enabled, warn_only=warn_only)
        torch.backends.cudnn.deterministic = cudnn_det
        torch.backends.cudnn.benchmark = cudnn_bench
        return False



# --- checkpoints ---------------------------------------------------------------------------------
def _save_atomic(obj: dict, path: Path) -> None:
    """torch.save to a temporary file in the same folder, fsync, then os.replace (never a partial file)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        torch.save(obj, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load_checkpoint(path: str | os.PathLike) -> dict | None:
    """A checkpoint saved by ``fit`` (loaded with ``weights_only=True``), or None if absent or unreadable.

    A corrupt or partial file is reported with a logged warning, never raised.
    """
    path = Path(path)
    if not path.exists():
        return None
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any failure to read means: not usable
        logger.warning("checkpoint %s is unreadable (%s: %s); ignoring it", path, type(e).__name__, e)
        return None
    if not isinstance(ckpt, dict) or ckpt.get("version") != CHECKPOINT_VERSION or "model" not in ckpt:
        logger.warning("checkpoint %s is not a mirbench training checkpoint; ignoring it", path)
        return None
    return ckpt


def _write_history(history: list[dict], path: Path) -> None:
    if not history:
        return
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(history[0]))
        writer.writeheader()
        writer.writerows(history)
    os.replace(tmp, path)


def _resumable(ckpt: dict, config: TrainConfig, steps_per_epoch: int) -> str | None:
    """Why a checkpoint cannot continue this run, or None if it can."""
    saved = ckpt.get("config", {})
    now = config.to_dict()
    changed = sorted(k for k in now if k not in RESUME_FREE and saved.get(k) != now[k])
    if changed:
        return f"settings changed since it was written: {changed}"
    if config.optimizer == "adamw-onecycle":
        if saved.get("epochs") != config.epochs:
            return f"the one-cycle schedule spans {saved.get('epochs')} epochs, not {config.epochs}"
        if ckpt.get("steps_per_epoch") != steps_per_epoch:
            return "the number of batches per epoch changed"
    return None


# --- the loop ------------------------------------------------------------------------------------
def _default_loss(task: Task) -> nn.Module:
    return nn.CrossEntropyLoss() if task == "single" else nn.BCEWithLogitsLoss()


def _check_logits(logits: torch.Tensor, y: torch.Tensor, task: Task) -> None:
    if logits.dim() != 2 or logits.shape[0] != y.shape[0]:
        raise ConfigError(
            f"the model returned shape {tuple(logits.shape)}; expected logits (batch, n_classes)"
        )
    if task == "single" and int(y.max()) >= logits.shape[1]:
        raise ConfigError(f"class index {int(y.max())} given to a model with {logits.shape[1]} outputs")
    if task == "multi" and y.shape[1] != logits.shape[1]:
        raise ConfigError(f"{y.shape[1]} tags given to a model with {logits.shape[1]} outputs")


def _amp_dtype(device: torch.device) -> torch.dtype:
    return torch.bfloat16 if device.type == "cuda" and torch.cuda.is_bf16_supported() else torch.float16


def fit(
    model: nn.Module,
    train: ChunkDataset,
    valid: ChunkDataset,
    *,
    config: TrainConfig | None = None,
    task: Task | None = None,
    score_fn: ScoreFn,
    loss_fn: LossFn | None = None,
    sampler: Sampler | None = None,
    frontend: nn.Module | None = None,
    checkpoint_dir: str | os.PathLike | None = None,
    resume: bool = True,
    progress: bool = True,
    callbacks: Sequence[Callback] = (),
) -> FitResult:
    """Train ``model`` on random chunks of ``train``, select and restore the best epoch on ``valid``.

    model: maps a batch (batch, ...) of inputs (the dataset's chunks, or ``frontend``'s output) to
        logits (batch, n_classes). Build it under ``torch.manual_seed`` for reproducible initial weights.
    train: a ChunkDataset (mode "random" is used whatever its mode). valid: the validation tracks (its
        evaluation chunks are used); early stopping and checkpoint selection see only these.
    task: "single" or "multi"; defaults to the datasets' (inferred from their targets).
    score_fn(y_true, probs) -> float, higher is better: y_true is ``valid.targets`` ((n_tracks,) int or
        (n_tracks, n_classes)), probs (n_tracks, n_classes) from ``predict``. A NaN score never counts
        as an improvement.
    loss_fn(logits, targets) -> scalar: defaults to CrossEntropyLoss (single) / BCEWithLogitsLoss (multi);
        logits arrive as float32, targets as int64 (batch,) or float32 (batch, n_classes).
    sampler: an optional torch Sampler over ``range(len(train))``: of indices (e.g. a weighted sampler),
        chunked into ``batch_size`` batches, or of whole batches (a ``BatchSampler`` or any sampler with a
        ``batch_size`` attribute, e.g. a class-balanced batch sampler). Its ``set_epoch`` is called if it
        has one; give it one (or a fixed generator) for resumed runs to equal uninterrupted ones.
    frontend: optional module applied on the device to each batch before the model (e.g. ``LogMel``
        when the data are waveforms and the model wants log-mel); it is not trained or checkpointed.
    checkpoint_dir: where last.pt, best.pt and history.csv are written after every epoch; with
        ``resume`` a run continues from last.pt when its settings allow (else it restarts, with a warning).
    callbacks: called as ``cb(epoch, model, history_row)`` after each epoch's checkpoint is written (on
        every rank under torchrun; ``deep.distributed.is_main()`` tells rank 0).

    Under torchrun (a process group initialised, ``deep.distributed.init``) the model trains in
    DistributedDataParallel on each rank's slice of the same global batches, with batch norm over the
    global batch; only rank 0 writes checkpoints and history; validation is gathered across ranks
    (``predict``), so every rank takes the same decisions. See ``deep.distributed``.

    Seeds torch's global generators with ``config.seed`` (dropout and augmentation use them); data order
    and chunk positions come from generators keyed by (seed, epoch), so a run is reproducible on CPU.
    Returns a FitResult; ``model`` is left on the training device with the best epoch's weights.
    """
    config = config or TrainConfig()
    train = train if train.mode == "random" else train.with_mode("random")
    valid = valid if valid.mode == "eval" else valid.with_mode("eval")
    task = task or train.task
    if task not in ("single", "multi"):
        raise ConfigError(f"task={task!r} must be 'single' or 'multi'")
    if train.task != task or valid.task != task:
        raise ConfigError(f"task={task!r} but the datasets hold {train.task!r}/{valid.task!r} targets")
    if config.chunk_frames is not None and {train.chunk_frames, valid.chunk_frames} != {config.chunk_frames}:
        raise ConfigError(
            f"config.chunk_frames={config.chunk_frames} but the datasets use "
            f"{train.chunk_frames} (train) and {valid.chunk_frames} (valid)"
        )
    if config.n_eval_chunks is not None and config.n_eval_chunks != valid.n_eval_chunks:
        raise ConfigError(f"config.n_eval_chunks={config.n_eval_chunks} but valid uses {valid.n_eval_chunks}")
    device = resolve_device(config.device)
    ckpt_dir = Path(checkpoint_dir) if checkpoint_dir is not None else None
    if ckpt_dir is not None and ddp.is_main():  # under torchrun only rank 0 writes checkpoints
        ckpt_dir.mkdir(parents=True, exist_ok=True)

    with _GlobalFlags(config.deterministic, device):
        # Dropout and augmentation draw from torch's global generators: seeded here, saved in checkpoints.
        torch.manual_seed(ddp.rank_seed(config.seed))  # config.seed in one process and on rank 0
        model.to(device)
        if frontend is not None:
            frontend.to(device).eval()
        loss_fn = loss_fn if loss_fn is not None else _default_loss(task)
        if isinstance(loss_fn, nn.Module):
            loss_fn.to(device)

        batches = EpochBatches(len(train), config.batch_size, config.seed, base=sampler)
        steps_per_epoch = len(batches)
        if steps_per_epoch == 0:
            raise ConfigError("the training sampler yields no batches")
        loader_gen = torch.Generator()
        loader = DataLoader(
            train,
            batch_sampler=ddp.rank_batches(batches),  # under torchrun: this rank's slice of each batch
            num_workers=config.num_workers,
            pin_memory=device.type == "cuda",
            worker_init_fn=seed_worker if config.num_workers else None,
            generator=loader_gen,
            persistent_workers=config.num_workers > 0,
        )
        # adam-sgd: a checkpoint's optimizer is that of the phase its last epoch trained in
        last_epoch = _saved_epoch(ckpt_dir) if ckpt_dir is not None and resume else 0
        optimizer, scheduler = make_optimizer(model, config, steps_per_epoch, epoch=max(last_epoch - 1, 0))
        use_amp = config.amp and device.type == "cuda"
        amp_dtype = _amp_dtype(device)
        scaler = torch.amp.GradScaler(device.type, enabled=use_amp and amp_dtype == torch.float16)

        history: list[dict] = []
        best = {"epoch": 0, "score": float("nan"), "bad_epochs": 0}
        best_weights: dict | None = None
        start_epoch, stopped = 0, False

        if ckpt_dir is not None and resume:
            restored = _restore(ckpt_dir, model, optimizer, scheduler, scaler, config, steps_per_epoch)
            if restored is not None:
                history, best, best_weights, start_epoch, stopped = restored
                logger.info("resuming from %s at epoch %d", ckpt_dir / "last.pt", start_epoch)
        ddp.check_same(start_epoch, "the epoch resumed from")
        net = ddp.wrap(model, device)  # DDP under torchrun, else the model itself

        resumed_from = start_epoch
        total_wait = total_train = 0.0
        epochs = range(start_epoch, config.epochs) if not stopped else range(0)
        bar = tqdm(epochs, desc="epochs", disable=not progress, leave=False)
        for epoch in bar:
            t_epoch = time.perf_counter()
            if config.optimizer == "adam-sgd" and epoch in np.cumsum(config.phase_epochs):
                optimizer, scheduler = next_phase(model, optimizer, scheduler, best_weights, config, epoch)
            batches.set_epoch(epoch)
            loader_gen.manual_seed(config.seed * 100_003 + epoch)
            loss, n_samples, wait, busy = _train_epoch(
                net, loader, optimizer, scheduler, scaler, loss_fn, frontend, config, task, device,
                use_amp, amp_dtype, progress,
            )
            total_wait, total_train = total_wait + wait, total_train + wait + busy
            t_valid = time.perf_counter()
            probs = predict(model, valid, task=task, device=device, frontend=frontend, amp=use_amp,
                            batch_size=config.eval_batch_size or 2 * config.batch_size)
            score = float(score_fn(valid.targets, probs))
            if not math.isfinite(score):
                logger.warning("epoch %d: validation score is %s; not counted as an improvement",
                               epoch + 1, score)
            if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau) and math.isfinite(score):
                scheduler.step(score)
            first = best["epoch"] == 0
            improved = math.isfinite(score) and (first or score > best["score"] + config.min_delta)
            if improved:
                best.update(epoch=epoch + 1, score=score, bad_epochs=0)
                best_weights = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
            else:
                best["bad_epochs"] += 1
            now = time.perf_counter()
            row = {
                "epoch": epoch + 1,
                "train_loss": loss,
                "valid_score": score,
                "lr": float(optimizer.param_groups[0]["lr"]),
                "seconds": now - t_epoch,
                "train_seconds": wait + busy,
                "valid_seconds": now - t_valid,
                "n_samples": n_samples,
                "clips_per_s": n_samples / (wait + busy) if wait + busy > 0 else float("nan"),
                "data_wait_share": wait / (wait + busy) if wait + busy > 0 else float("nan"),
                "improved": bool(improved),
            }
            history.append(row)
            stopped = config.patience is not None and best["bad_epochs"] >= config.patience
            logger.info("epoch %d/%d: loss %.4f, valid %.4f%s, lr %.2e, %.1f s, data wait %.0f%%",
                        epoch + 1, config.epochs, loss, score, " *" if improved else "", row["lr"],
                        row["seconds"], 100 * row["data_wait_share"])
            bar.set_postfix(loss=f"{loss:.3f}", valid=f"{score:.3f}", best=best["epoch"])
            rng = ddp.rng_state() if ckpt_dir is not None else None  # under torchrun: every rank's
            if ckpt_dir is not None and ddp.is_main():
                # last.pt first: if the run dies before best.pt is written, last.pt holds those weights.
                _save_atomic({
                    "version": CHECKPOINT_VERSION,
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "scaler": scaler.state_dict(),
                    "epoch": epoch + 1,
                    "steps_per_epoch": steps_per_epoch,
                    "rng": rng,
                    "history": history,
                    "best": dict(best),
                    "stopped": stopped,
                    "config": config.to_dict(),
                }, ckpt_dir / "last.pt")
                if improved:
                    _save_atomic({"version": CHECKPOINT_VERSION, "model": best_weights, "epoch": epoch + 1,
                                  "score": score}, ckpt_dir / "best.pt")
                _write_history(history, ckpt_dir / "history.csv")
            for callback in callbacks:
                callback(epoch + 1, model, row)
            if stopped:
                logger.info("early stop after epoch %d: no improvement for %d epochs (best epoch %d, %.4f)",
                            epoch + 1, config.patience, best["epoch"], best["score"])
                break
        bar.close()
        ddp.unwrap(net)

        if best_weights is not None:
            model.load_state_dict(best_weights)
        else:
            logger.warning("no epoch gave a finite validation score; keeping the last weights")

    return FitResult(
        history=history,
        best_epoch=int(best["epoch"]),
        best_score=float(best["score"]),
        stopped_early=bool(stopped),
        data_wait_share=total_wait / total_train if total_train > 0 else float("nan"),
        device=str(device),
        resumed_from_epoch=resumed_from,
        checkpoint_dir=str(ckpt_dir) if ckpt_dir is not None else None,
    )


def _saved_epoch(ckpt_dir: Path) -> int:
    last = load_checkpoint(ckpt_dir / "last.pt") if (ckpt_dir / "last.pt").is_file() else None
    return int(last.get("epoch", 0)) if last is not None else 0


def _restore(ckpt_dir: Path, model, optimizer, scheduler, scaler, config, steps_per_epoch):
    """(history, best, best_weights, start_epoch, stopped) from last.pt/best.pt, or None to start fresh."""
    last = load_checkpoint(ckpt_dir / "last.pt")
    if last is None:
        return None
    why = _resumable(last, config, steps_per_epoch)
    if why is not None:
        logger.warning("not resuming from %s: %s; training from scratch", ckpt_dir / "last.pt", why)
        return None
    best = dict(last["best"])
    best_weights = None
    if best["epoch"] > 0:
        saved_best = load_checkpoint(ckpt_dir / "best.pt")
        if saved_best is not None and saved_best.get("epoch") == best["epoch"]:
            best_weights = saved_best["model"]
        elif best["epoch"] == last["epoch"]:
            best_weights = last["model"]  # the run stopped between writing last.pt and best.pt
        else:
            logger.warning("best.pt in %s is missing or stale; training from scratch", ckpt_dir)
            return None
    saved = [copy.deepcopy(x.state_dict()) for x in (model, optimizer, scheduler, scaler)]
    try:
        model.load_state_dict(last["model"])
        optimizer.load_state_dict(last["optimizer"])
        scheduler.load_state_dict(last["scheduler"])
        scaler.load_state_dict(last["scaler"])
    except (RuntimeError, KeyError, ValueError, TypeError) as e:
        for obj, state in zip((model, optimizer, scheduler, scaler), saved, strict=True):
            obj.load_state_dict(state)  # a failed load must not leave half-restored weights behind
        logger.warning("checkpoint %s does not fit this model (%s); training from scratch", ckpt_dir, e)
        return None
    ddp.set_rng_state(last["rng"])
    stopped = config.patience is not None and best["bad_epochs"] >= config.patience
    return list(last["history"]), best, best_weights, int(last["epoch"]), stopped


def _train_epoch(model, loader, optimizer, scheduler, scaler, loss_fn, frontend, config, task, device,
                 use_amp, amp_dtype, progress) -> tuple[float, int, float, float]:
    """One pass over the loader: (mean loss per sample, samples, seconds waiting for data, seconds busy).

    Waiting is all time outside the step (the DataLoader's next() including worker start-up, and the
    host-to-device copy); busy is augmentation, front-end, forward, backward and optimizer step, ending
    with the loss read back (a device sync), so the split is honest on CUDA too.
    """
    model.train()
    onecycle = isinstance(scheduler, torch.optim.lr_scheduler.OneCycleLR)
    aug = config.augment if config.augment.active else None
    loss_sum, n_seen, wait, busy, skipped = 0.0, 0, 0.0, 0.0, 0
    t_mark = time.perf_counter()
    checked = False
    for x, y, _ in tqdm(loader, desc="train", disable=not progress, leave=False):
        x = x.to(device, non_blocking=True)
        y = y.to(device, non_blocking=True)
        t_ready = time.perf_counter()
        wait += t_ready - t_mark
        with torch.autocast(device_type=device.type, dtype=amp_dtype, enabled=use_amp):
            logits = model(model_input(x, frontend, aug))
        if not checked:
            _check_logits(logits, y, task)
            checked = True
        loss = loss_fn(logits.float(), y)
        optimizer.zero_grad(set_to_none=True)
        finite, weight = ddp.step_weight(loss, len(y))  # under torchrun: every rank's finite; slice weight
        if finite:
            scaler.scale(loss if weight == 1.0 else loss * weight).backward()
            if config.grad_clip is not None:
                scaler.unscale_(optimizer)
                nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            scaler.step(optimizer)
            scaler.update()
            loss_sum += float(loss.item()) * len(y)
            n_seen += len(y)
        else:
            skipped += 1
        if onecycle and scheduler.last_epoch < scheduler.total_steps - 1:
            scheduler.step()
        t_mark = time.perf_counter()
        busy += t_mark - t_ready
    if skipped:
        logger.warning("%d batches with a non-finite loss were skipped", skipped)
    loss_sum, n_seen = ddp.all_sum([loss_sum, n_seen], device)  # under torchrun: over the global batches
    n_seen = int(n_seen)
    return (loss_sum / n_seen if n_seen else float("nan")), n_seen, wait, busy


# --- inference -----------------------------------------------------------------------------------
def predict(
    model: nn.Module,
    dataset: ChunkDataset,
    *,
    task: Task | None = None,
    batch_size: int = 64,
    device: str | torch.device | None = None,
    frontend: nn.Module | None = None,
    amp: bool = False,
    num_workers: int = 0,
    progress: bool = False,
) -> np.ndarray:
    """Track-level probabilities, shape (n_tracks, n_classes) float64, rows in ``dataset.track_ids`` order.

    Each row is the mean over the track's ``n_eval_chunks`` evenly spaced chunks of softmax (single) or
    sigmoid (multi) of the logits. A dataset in random mode is evaluated through its eval view.
    device: None keeps the model where it is; "auto" or a device string moves it there.
    Under torchrun every rank must call it: each predicts every N-th track, and the rows are gathered.
    """
    task = task or dataset.task
    if task not in ("single", "multi"):
        raise ConfigError(f"task={task!r} must be 'single' or 'multi'")
    ds = dataset if dataset.mode == "eval" else dataset.with_mode("eval")
    if device is None:
        param = next(iter(model.parameters()), None)
        dev = param.device if param is not None else torch.device("cpu")
    else:
        dev = resolve_device(device)
        model.to(dev)
    if frontend is not None:
        frontend.to(dev)
    # A private generator: DataLoader draws a worker seed at each iter(), which must not consume the
    # global RNG (that would make a caller's later draws depend on whether it evaluated).
    items = ddp.eval_items(ds.n_tracks, ds.n_eval_chunks)  # None in a single process: every item
    loader = DataLoader(ds if items is None else Subset(ds, items), batch_size=batch_size, shuffle=False,
                        num_workers=num_workers, pin_memory=dev.type == "cuda",
                        generator=torch.Generator().manual_seed(0))
    sums: torch.Tensor | None = None
    counts = torch.zeros(ds.n_tracks, dtype=torch.float64)
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            for x, _, track in tqdm(loader, desc="predict", disable=not progress, leave=False):
                x = x.to(dev, non_blocking=True)
                use_amp = amp and dev.type == "cuda"
                with torch.autocast(device_type=dev.type, dtype=_amp_dtype(dev), enabled=use_amp):
                    logits = model(model_input(x, frontend, None))
                logits = logits.float()
                probs = torch.softmax(logits, dim=1) if task == "single" else torch.sigmoid(logits)
                probs = probs.to("cpu", torch.float64)
                if sums is None:
                    sums = torch.zeros(ds.n_tracks, probs.shape[1], dtype=torch.float64)
                sums.index_add_(0, track, probs)
                counts.index_add_(0, track, torch.ones(len(track), dtype=torch.float64))
    finally:
        model.train(was_training)
    sums, counts = ddp.gather_rows(sums, counts)
    if sums is None:
        raise ConfigError("the dataset is empty")
    return (sums / counts[:, None]).numpy()
