"""Class-balanced sampling of training examples for the deep models.

Each draw picks a class uniformly at random, then an example of that class uniformly at random
(with replacement), so every class is seen equally often whatever its size. For multi-label data
(multi-hot labels) a label is drawn uniformly among the labels that have examples, then an example
carrying it; examples without any label are never drawn.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import numpy as np
from torch.utils.data import Sampler

logger = logging.getLogger(__name__)

__all__ = ["ClassBalancedBatchSampler", "ClassBalancedSampler"]


class ClassBalancedSampler(Sampler[int]):
    """Yields ``num_samples`` dataset indices per epoch, class-balanced (use as ``DataLoader(sampler=...)``).

    labels: shape (n_items,) of class labels (int or str), or multi-hot of shape (n_items, n_labels).
    num_samples: epoch length in examples; default ``n_items``.
    seed: the draws of epoch e come from ``numpy.random.default_rng([seed, e])``. The epoch counts up
    by one after each full iteration; ``set_epoch(e)`` sets it explicitly (as with
    ``DistributedSampler``), so a run is reproducible either way.
    """

    def __init__(self, labels, *, num_samples: int | None = None, seed: int = 0):
        labels = np.asarray(labels)
        if labels.ndim == 2 and labels.shape[1] > 1:
            if not np.isin(labels, (0, 1)).all():
                raise ValueError("2-D labels must be multi-hot (only 0 and 1)")
            Y = labels.astype(bool)
            self.multilabel = True
            self.pools = [np.flatnonzero(Y[:, c]) for c in range(Y.shape[1])]
            empty = [c for c, p in enumerate(self.pools) if p.size == 0]
            if empty:
                logger.warning("ClassBalancedSampler: labels %s have no example and are never drawn", empty)
            self.classes = np.array([c for c, p in enumerate(self.pools) if p.size > 0])
            self.pools = [p for p in self.pools if p.size > 0]
        elif labels.ndim <= 2:
            y = labels.reshape(-1)
            self.multilabel = False
            self.classes, inverse = np.unique(y, return_inverse=True)
            self.pools = [np.flatnonzero(inverse == c) for c in range(self.classes.size)]
        else:
            raise ValueError(f"labels must have shape (n_items,) or (n_items, n_labels); got {labels.shape}")
        if not self.pools:
            raise ValueError("ClassBalancedSampler needs at least one class with an example")
        self.n_items = labels.shape[0]
        if num_samples is None:
            num_samples = self.n_items
        if int(num_samples) != num_samples or num_samples < 1:
            raise ValueError(f"num_samples={num_samples} must be a positive integer")
        self.num_samples = int(num_samples)
        self.seed = int(seed)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def draw(self, epoch: int) -> tuple[np.ndarray, np.ndarray]:
        """(indices (num_samples,), class position of each draw (num_samples,)) for an epoch."""
        rng = np.random.default_rng([self.seed, epoch])
        which = rng.integers(0, len(self.pools), size=self.num_samples)
        indices = np.empty(self.num_samples, dtype=np.int64)
        for c, pool in enumerate(self.pools):
            slots = np.flatnonzero(which == c)
            indices[slots] = pool[rng.integers(0, pool.size, size=slots.size)]
        return indices, which

    def _next_epoch(self) -> np.ndarray:
        indices, _ = self.draw(self.epoch)
        self.epoch += 1
        return indices

    def __iter__(self) -> Iterator[int]:
        return iter(self._next_epoch().tolist())

    def __len__(self) -> int:
        return self.num_samples


class ClassBalancedBatchSampler(Sampler[list[int]]):
    """Batches of class-balanced indices (use as ``DataLoader(batch_sampler=...)``).

    labels, num_samples, seed: as in :class:`ClassBalancedSampler` (epoch length in examples,
    default the dataset length). batch_size: examples per batch. drop_last: drop a last, smaller
    batch. ``len()`` is the number of batches per epoch.
    """

    def __init__(self, labels, batch_size: int, *, num_samples: int | None = None, drop_last: bool = False,
                 seed: int = 0):
        if int(batch_size) != batch_size or batch_size < 1:
            raise ValueError(f"batch_size={batch_size} must be a positive integer")
        self.sampler = ClassBalancedSampler(labels, num_samples=num_samples, seed=seed)
        self.batch_size = int(batch_size)
        self.drop_last = bool(drop_last)

    @property
    def multilabel(self) -> bool:
        return self.sampler.multilabel

    def set_epoch(self, epoch: int) -> None:
        self.sampler.set_epoch(epoch)

    def __iter__(self) -> Iterator[list[int]]:
        indices = self.sampler._next_epoch()
        stop = len(self) * self.batch_size
        for start in range(0, stop, self.batch_size):
            yield indices[start:start + self.batch_size].tolist()

    def __len__(self) -> int:
        n = self.sampler.num_samples
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
