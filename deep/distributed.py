"""Data-parallel training under torchrun: who this process is, the process group, rank-0 guards, and the
pieces of the fit loop that differ across ranks.

``torchrun --nproc-per-node N -m benchmarks.run ...`` starts N copies of the run; each finds its place in
the launcher's environment (WORLD_SIZE, RANK, LOCAL_RANK). The design:

- batches: ``EpochBatches`` makes the global, seeded batch order of an epoch, the same as in one process;
  ``RankBatches`` hands each rank its contiguous slice of every global batch (``rank_slice``: sizes as
  even as possible, differing by at most one), so the union of a step's slices is exactly the batch one
  process would train on, with the same chunk keys (and so the same random chunks). DDP averages the
  ranks' gradients; ``step_weight`` scales a rank's mean loss by ``n_rank * N / B`` when the slices are
  uneven, so the step's gradient is that of the mean loss over the global batch in every case (the
  factor is exactly 1 when N divides B). Batch norm is synchronised across ranks during training
  (``sync_batchnorm``: torch's SyncBatchNorm on CUDA, ``GlobalBatchNorm`` on the CPU), so its batch
  statistics are those of the global batch too. Dropout and augmentation draw from each rank's own
  generator (``rank_seed``), so they are seeded but not the single-process draws.
- writing: only rank 0 (``is_main``) writes checkpoints, history and the run folder; ``main_first`` lets
  rank 0 build a cache while the others wait, then read it.
- evaluation: ``eval_items`` gives each rank every N-th track (all of its chunks); ``gather_rows`` puts the
  ranks' per-track sums together (``all_gather_object``), so every rank holds the same full predictions
  and takes the same early-stopping decisions.

torch is imported inside the functions: importing this module costs nothing in a run without torch.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from features.errors import ConfigError

logger = logging.getLogger(__name__)

__all__ = [
    "RankBatches", "World", "active", "all_sum", "barrier", "broadcast_object", "check_same", "eval_items",
    "gather_objects", "gather_rows", "init", "is_main", "local_device", "main_first", "rank_batches", "rank_seed",
    "rank_slice", "rng_state", "set_rng_state", "shutdown", "step_weight", "sync_batchnorm", "unwrap", "world", "wrap",
    "exit_process",
]

TIMEOUT = timedelta(hours=2)  # a barrier waits this long for rank 0 to build a cache
_joined = False  # this process joined a process group of more than one process (``init``)


@dataclass(frozen=True)
class World:
    """This process's place: rank (0..size-1), size (processes in all), local_rank (its index on this host)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


def env_world() -> World:
    """The launcher's environment (torchrun sets WORLD_SIZE, RANK, LOCAL_RANK); World() without one."""
    size = int(os.environ.get("WORLD_SIZE", "1") or 1)
    if size <= 1:
        return World()
    rank = int(os.environ.get("RANK", "0"))
    return World(rank, size, int(os.environ.get("LOCAL_RANK", str(rank))))


def active() -> bool:
    """True when a process group of more than one process is initialised (collectives are needed)."""
    if "torch" not in sys.modules:
        return False
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def world() -> World:
    """The initialised process group's rank and size, else the launcher's environment."""
    if active():
        import torch.distributed as dist

        env = env_world()
        return World(dist.get_rank(), dist.get_world_size(), env.local_rank if env.distributed else dist.get_rank())
    return env_world()


def is_main() -> bool:
    """True on rank 0 and in a single process: the one process that writes files."""
    return world().rank == 0


def init(device: str | None = "auto") -> World:
    """Join the process group when launched by torchrun (WORLD_SIZE > 1); a no-op otherwise.

    Backend "nccl" when the deep models train on CUDA (``device`` "auto" with a GPU, or "cuda..."), with
    the CUDA device set to LOCAL_RANK; "gloo" on the CPU. The group is destroyed at exit (``shutdown``).
    """
    env = env_world()
    if not env.distributed or active():
        return world()
    import torch
    import torch.distributed as dist

    cuda = torch.cuda.is_available() and str(device or "auto") != "cpu"
    if cuda:
        torch.cuda.set_device(env.local_rank)
    backend = "nccl" if cuda else "gloo"
    kw = {"device_id": torch.device("cuda", env.local_rank)} if cuda else {}
    dist.init_process_group(backend, timeout=TIMEOUT, **kw)
    global _joined
    _joined = True
    atexit.register(shutdown)
    logger.debug("rank %d of %d (local rank %d, %s backend)", env.rank, env.size, env.local_rank, backend)
    return world()


def shutdown() -> None:
    """Destroy the process group, if one is initialised (safe to call twice)."""
    if "torch" in sys.modules:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()


def exit_process(code: int) -> None:
    """End the process with ``code``; after a process group, without the interpreter's C++ teardown.

    Measured with torch 2.13 on the CPU (gloo, 2 processes under torchrun, a busy core beside them): about
    1 exit in 10 of a process that trained a DistributedDataParallel model aborts after its last line of
    Python ("terminate called without an active exception", SIGABRT), even after ``destroy_process_group``;
    torchrun then reports the run as failed though every file is written. So after ``init`` joined a group,
    the exit handlers run (``shutdown``, logging, MLflow), the streams are flushed, and ``os._exit(code)``
    skips the C++ static destructors. Without a group: ``sys.exit(code)``."""
    if not _joined:
        sys.exit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def local_device(device):
    """Under torchrun a CUDA device without an index is this process's GPU, cuda:LOCAL_RANK; else unchanged."""
    w = world()
    if w.distributed and device.type == "cuda" and device.index is None:
        import torch

        return torch.device("cuda", w.local_rank)
    return device


# --- collectives (no-ops in a single process) ----------------------------------------------------
def barrier() -> None:
    if active():
        import torch
        import torch.distributed as dist

        if dist.get_backend() == "nccl":
            dist.barrier(device_ids=[torch.cuda.current_device()])
        else:
            dist.barrier()


@contextmanager
def main_first() -> Iterator[None]:
    """Rank 0 runs the body first (e.g. builds a cache) while the others wait; then they run it (and read)."""
    if not is_main():
        barrier()
    yield
    if is_main():
        barrier()


def broadcast_object(obj: Any) -> Any:
    """Rank 0's ``obj`` on every rank (e.g. a run folder's name made from the clock)."""
    if not active():
        return obj
    import torch.distributed as dist

    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def gather_objects(obj: Any) -> list:
    """Every rank's ``obj``, in rank order, on every rank."""
    if not active():
        return [obj]
    import torch.distributed as dist

    out: list = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def all_sum(values: Sequence[float], device) -> list[float]:
    """Element-wise sums over the ranks of a few numbers (in float64)."""
    if not active():
        return list(values)
    import torch
    import torch.distributed as dist

    t = torch.tensor([float(v) for v in values], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return t.tolist()


# --- training ------------------------------------------------------------------------------------
def rank_seed(seed: int) -> int:
    """The seed of this rank's global torch generators: ``seed`` itself on rank 0 and in one process."""
    rank = world().rank
    return int(seed) if rank == 0 else int(seed) + 1_000_003 * rank


def rank_slice(batch: Sequence, rank: int, size: int) -> list:
    """Rank ``rank``'s contiguous part of a global batch: the first ``len % size`` ranks take one item more."""
    q, r = divmod(len(batch), size)
    start = rank * q + min(rank, r)
    return list(batch[start : start + q + (rank < r)])


class RankBatches:
    """This rank's slice of every global batch of ``batches`` (an ``EpochBatches``), for a DataLoader's
    ``batch_sampler``. A global batch with fewer items than ranks is refused (a rank would get none)."""

    def __init__(self, batches, rank: int, size: int):
        self.batches, self.rank, self.size = batches, rank, size

    def set_epoch(self, epoch: int) -> None:
        self.batches.set_epoch(epoch)

    def __iter__(self):
        for batch in self.batches:
            if len(batch) < self.size:
                raise ConfigError(f"a batch of {len(batch)} cannot be split over {self.size} processes; "
                                  "use a batch size of at least the number of processes")
            yield rank_slice(batch, self.rank, self.size)

    def __len__(self) -> int:
        return len(self.batches)


def step_weight(loss, n_items: int) -> tuple[bool, float]:
    """(every rank's loss is finite, factor for this rank's mean loss) for one step.

    Single process: (isfinite(loss), 1.0). Under DDP one all-reduce gives the number of ranks with a
    non-finite loss (all skip the step together, or DDP would wait for a backward that never comes) and the
    global batch size B; the factor ``n_items * N / B`` makes DDP's average of the ranks' gradients the
    gradient of the mean loss over the global batch (1.0 when the slices are even). It assumes ``loss`` is
    a mean over the slice's items (an unweighted mean; a class-weighted mean normalises by the slice's
    weights, and is then approximate).
    """
    import torch

    finite = bool(torch.isfinite(loss))
    if not active():
        return finite, 1.0
    import torch.distributed as dist

    t = torch.tensor([0.0 if finite else 1.0, float(n_items)], dtype=torch.float64, device=loss.device)
    dist.all_reduce(t)
    bad, total = t.tolist()
    factor = n_items * dist.get_world_size() / total
    return bad == 0, (1.0 if factor == 1.0 else factor)


def rank_batches(batches):
    """``RankBatches`` of this rank when a process group is active, else ``batches`` itself."""
    if not active():
        return batches
    w = world()
    return RankBatches(batches, w.rank, w.size)


def check_same(value: Any, what: str) -> None:
    """Refuse to go on when the ranks disagree on ``value`` (e.g. the epoch a fit resumes from)."""
    values = gather_objects(value)
    if any(v != values[0] for v in values):
        raise ConfigError(f"the processes disagree on {what}: {values}")


def wrap(model, device):
    """``model`` in DistributedDataParallel, its batch norms over the global batch (``sync_batchnorm``), when
    a process group is active; else ``model`` itself. ``unwrap`` puts the batch norms back."""
    if not active():
        if env_world().distributed:
            logger.warning("WORLD_SIZE=%d but no process group: call deep.distributed.init() first; this process "
                           "trains alone", env_world().size)
        return model
    from torch.nn.parallel import DistributedDataParallel

    swapped = sync_batchnorm(model, device)
    ids = [device.index] if device.type == "cuda" else None
    net = DistributedDataParallel(model, device_ids=ids, output_device=device.index if ids else None)
    net.swapped_norms = swapped
    return net


def unwrap(net):
    """The model inside ``wrap``'s result, with its own batch norm modules back (the same tensors)."""
    for parent, name, child in reversed(getattr(net, "swapped_norms", [])):
        child.train(getattr(parent, name).training)
        setattr(parent, name, child)
    return getattr(net, "module", net)


def _global_batchnorm_class():
    import torch
    import torch.distributed as dist
    from torch import nn

    class SumOverRanks(torch.autograd.Function):
        """All-reduce (sum) with a backward pass: every rank's output depends on every rank's input, so the
        gradient of the input is the sum over ranks of the output's gradients, again an all-reduce."""

        @staticmethod
        def forward(ctx, x):
            x = x.clone(memory_format=torch.contiguous_format)
            dist.all_reduce(x)
            return x

        @staticmethod
        def backward(ctx, grad):
            grad = grad.clone(memory_format=torch.contiguous_format)
            dist.all_reduce(grad)
            return grad

    class GlobalBatchNorm(nn.BatchNorm2d):
        """Batch norm over the global batch with gloo on the CPU (torch's SyncBatchNorm, which DDP refuses on
        the CPU, is CUDA-only): the batch mean and variance are all-reduced sums (autograd-aware, so the
        backward pass sums the gradient over the ranks, as SyncBatchNorm's does); any input of at least 2
        dimensions (batch, channels, ...); in eval mode, or without a process group, plain batch norm."""

        def _check_input_dim(self, x):
            if x.dim() < 2:
                raise ValueError(f"expected at least 2D input (got {x.dim()}D input)")

        def forward(self, x):
            if not (self.training and active()):
                return super().forward(x)
            dims = [0, *range(2, x.dim())]
            shape = [1, x.shape[1]] + [1] * (x.dim() - 2)
            xf = x.float()
            count = torch.tensor([xf.numel() // xf.shape[1]], dtype=torch.float32, device=x.device)
            sums = SumOverRanks.apply(torch.cat([xf.sum(dims), count]))
            n = sums[-1].detach()
            mean = sums[:-1] / n
            centred = xf - mean.view(shape)
            var = SumOverRanks.apply((centred * centred).sum(dims)) / n
            y = centred * torch.rsqrt(var + self.eps).view(shape)
            if self.affine:
                y = y * self.weight.view(shape) + self.bias.view(shape)
            if self.track_running_stats:
                with torch.no_grad():
                    self.num_batches_tracked.add_(1)
                    f = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
                    self.running_mean.mul_(1 - f).add_(mean.detach(), alpha=f)
                    unbiased = var.detach() * (n / (n - 1)) if n > 1 else var.detach()
                    self.running_var.mul_(1 - f).add_(unbiased, alpha=f)
            return y.to(x.dtype)

    return GlobalBatchNorm


def __getattr__(name: str):
    if name == "GlobalBatchNorm":  # built on first use: the class needs torch
        cls = _global_batchnorm_class()
        globals()[name] = cls
        return cls
    raise AttributeError(f"module 'deep.distributed' has no attribute {name!r}")


def sync_batchnorm(model, device) -> list:
    """Swap each batch norm of ``model`` for one over the global batch (torch's SyncBatchNorm on CUDA,
    ``GlobalBatchNorm`` on the CPU) sharing its parameters and buffers; returns what ``unwrap`` puts back."""
    from torch import nn

    cls = nn.SyncBatchNorm if device.type == "cuda" else __getattr__("GlobalBatchNorm")
    norms = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
    swapped = []
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, norms) and not isinstance(child, (nn.SyncBatchNorm, __getattr__("GlobalBatchNorm"))):
                stand_in = cls(child.num_features, child.eps, child.momentum, child.affine, child.track_running_stats)
                for attr in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked"):
                    setattr(stand_in, attr, getattr(child, attr))
                stand_in.train(child.training)
                setattr(parent, name, stand_in)
                swapped.append((parent, name, child))
    return swapped


def rng_state() -> dict:
    """The torch generators' state for a checkpoint: this process's, plus under DDP every rank's ("by_rank")."""
    import torch

    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    if active():
        state["by_rank"] = gather_objects(dict(state))
    return state


def set_rng_state(state: dict) -> None:
    """Restore ``rng_state()``: this rank's entry when the checkpoint has one per rank of this world size."""
    import torch

    by_rank = state.get("by_rank")
    w = world()
    if by_rank is not None and len(by_rank) == w.size:
        state = by_rank[w.rank]
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state["cuda"])


# --- evaluation ----------------------------------------------------------------------------------
def eval_items(n_tracks: int, n_chunks: int) -> list[int] | None:
    """Items of an eval-mode ChunkDataset (item i: chunk i % n_chunks of track i // n_chunks) this rank
    predicts: every chunk of every N-th track, from track ``rank``; None in a single process (all of them)."""
    if not active():
        return None
    w = world()
    return [t * n_chunks + k for t in range(w.rank, n_tracks, w.size) for k in range(n_chunks)]


def gather_rows(sums, counts):
    """Per-track sums and counts (torch float64, rows of the tracks this rank predicted, zeros elsewhere)
    put together from every rank with ``all_gather_object``: each track's row comes from the rank that
    predicted it. Unchanged in a single process."""
    if not active():
        return sums, counts
    w = world()
    rows = list(range(w.rank, counts.shape[0], w.size))
    parts = gather_objects((rows, None if sums is None else sums[rows], counts[rows]))
    width = next((s.shape[1] for _, s, _ in parts if s is not None), None)
    if width is None:
        return None, counts
    sums = sums.new_zeros(counts.shape[0], width) if sums is not None else counts.new_zeros(counts.shape[0], width)
    for r, s, c in parts:
        if s is not None:
            sums[r] = s
            counts[r] = c
    return sums, counts
