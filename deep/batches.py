"""Training batches: the seeded, resumable batch order of an epoch and the on-device augmentation of each batch.

``EpochBatches`` yields the ``(index, epoch, draw)`` keys a ``ChunkDataset`` in random mode reads (the
global order: under torchrun each rank takes its slice of every batch, ``deep.distributed.RankBatches``);
``augment_input`` / ``augment_spectrogram`` apply an ``AugmentConfig`` to a batch (training only), and
``model_input`` turns a raw batch into the model's input; ``seed_worker`` seeds a DataLoader worker.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import BatchSampler, Sampler

from deep.trainconfig import AugmentConfig

__all__ = ["EpochBatches", "augment_input", "augment_spectrogram", "model_input", "seed_worker"]


# --- augmentation --------------------------------------------------------------------------------
def _span_mask(batch: int, length: int, max_width: int, n: int, device: torch.device) -> torch.Tensor:
    """(batch, length) bool: the union of n random spans of width 0..max_width per item."""
    mask = torch.zeros(batch, length, dtype=torch.bool, device=device)
    if max_width <= 0 or n <= 0:
        return mask
    pos = torch.arange(length, device=device)
    for _ in range(n):
        width = torch.randint(0, max_width + 1, (batch, 1), device=device)
        start = (torch.rand(batch, 1, device=device) * (length - width + 1)).long()
        mask |= (pos >= start) & (pos < start + width)
    return mask


def augment_input(x: torch.Tensor, aug: AugmentConfig, *, waveform: bool) -> torch.Tensor:
    """Gain and circular time shift on a raw batch (before any front-end).

    x: (batch, ..., time): waveforms (batch, samples) when ``waveform``, else dB spectrograms
    (batch, [channels,] bins, frames). Returns a new tensor of the same shape.
    """
    b = x.shape[0]
    if aug.gain_db:
        gain = (torch.rand(b, device=x.device) * 2 - 1) * aug.gain_db
        gain = gain.view(b, *([1] * (x.dim() - 1)))
        x = x * torch.pow(10.0, gain / 20.0) if waveform else x + gain
    if aug.shift:
        t = x.shape[-1]
        max_shift = int(aug.shift * t)
        if max_shift > 0:
            shifts = torch.randint(-max_shift, max_shift + 1, (b,), device=x.device)
            idx = (torch.arange(t, device=x.device)[None, :] - shifts[:, None]) % t  # (batch, time)
            idx = idx.view(b, *([1] * (x.dim() - 2)), t).expand_as(x)
            x = torch.gather(x, -1, idx)
    return x


def augment_spectrogram(x: torch.Tensor, aug: AugmentConfig) -> torch.Tensor:
    """Time and frequency masks filled with each item's mean; x: (batch, [channels,] bins, frames) or
    waveforms (batch, samples) (time masks only, filled with 0). Returns a new tensor of the same shape."""
    if not (aug.time_masks or aug.freq_masks):
        return x
    b, t = x.shape[0], x.shape[-1]
    spectral = x.dim() >= 3
    fill = x.mean(dim=tuple(range(1, x.dim())), keepdim=True) if spectral else torch.zeros_like(x[:, :1])
    mask = torch.zeros_like(x, dtype=torch.bool)
    if aug.time_masks:
        tm = _span_mask(b, t, int(aug.time_mask_frac * t), aug.time_masks, x.device)
        mask |= tm.view(b, *([1] * (x.dim() - 2)), t)
    if aug.freq_masks and spectral:
        f = x.shape[-2]
        fm = _span_mask(b, f, int(aug.freq_mask_frac * f), aug.freq_masks, x.device)
        mask |= fm.view(b, *([1] * (x.dim() - 3)), f, 1)
    return torch.where(mask, fill.to(x.dtype), x)


def model_input(x: torch.Tensor, frontend: nn.Module | None, aug: AugmentConfig | None) -> torch.Tensor:
    """Raw batch -> model input: augment the raw input, apply the front-end, mask (training only)."""
    waveform = frontend is not None or x.dim() == 2
    if aug is not None and aug.active:
        x = augment_input(x, aug, waveform=waveform)
    if frontend is not None:
        with torch.no_grad():
            x = frontend(x)
    if aug is not None and aug.active:
        x = augment_spectrogram(x, aug)
    return x


def seed_worker(worker_id: int) -> None:
    """Seed numpy and random in each worker from the seed torch gave it (derived from the run seed)."""
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)  # noqa: NPY002 - seeds the legacy global generator user code in workers may use
    random.seed(seed)


# --- batches -------------------------------------------------------------------------------------
def _is_batch_sampler(sampler: Any) -> bool:
    """A sampler that yields lists of indices (a BatchSampler, or any sampler exposing ``batch_size``)."""
    return isinstance(sampler, BatchSampler) or getattr(sampler, "batch_size", None) is not None


class EpochBatches(Sampler):
    """Batches of keys ``(index, epoch, draw)`` for a ChunkDataset in random mode.

    Without a base sampler, a permutation seeded by (seed, epoch); with one, its indices (chunked into
    batches) or its batches. ``draw`` numbers the items of the epoch, so a track drawn twice gets two
    different random chunks, and every position depends on the epoch, not on the order of past calls.
    """

    def __init__(self, n_items: int, batch_size: int, seed: int, base: Sampler | None = None):
        self.n_items, self.batch_size, self.seed, self.base = n_items, batch_size, seed, base
        self.base_yields_batches = base is not None and _is_batch_sampler(base)
        # Drop a last partial batch (a batch of 1 breaks batch norm) unless it is the only one.
        self.drop_last = n_items >= batch_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)
        if self.base is not None and hasattr(self.base, "set_epoch"):
            self.base.set_epoch(epoch)

    def _index_batches(self) -> Iterator[list[int]]:
        if self.base_yields_batches:
            yield from (list(batch) for batch in self.base)
            return
        if self.base is None:
            order = np.random.default_rng([self.seed, self.epoch, 7]).permutation(self.n_items)
        else:
            order = list(self.base)
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            if len(batch) < self.batch_size and self.drop_last:
                return
            yield list(batch)

    def __iter__(self) -> Iterator[list[tuple[int, int, int]]]:
        draw = 0
        for batch in self._index_batches():
            keys = []
            for i in batch:
                keys.append((int(i), self.epoch, draw))
                draw += 1
            yield keys

    def __len__(self) -> int:
        if self.base_yields_batches:
            return len(self.base)
        n = self.n_items if self.base is None else len(self.base)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)
