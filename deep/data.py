"""Chunk datasets: fixed-length excerpts of cached log-mels or in-memory waveforms, per track.

Training draws one random chunk per track and epoch; evaluation takes evenly spaced chunks whose
predictions are averaged per track. A track shorter than a chunk is padded with the value of silence
(never looped: a loop invents repetitions the music does not have, and the papers zero-padded).
The store is any read-only ``Mapping[str, np.ndarray]`` (the feature package's memory-mapped
``MelStore`` or a plain dict); the time axis is always the last one, so the same class serves log-mels
``(n_mels, n_frames)``, stacked inputs ``(channels, bins, n_frames)`` and waveforms ``(samples,)``.
Arrays are sliced before they are converted to float32, so a float16 memory map is read and converted
one chunk at a time, never one track.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import torch
from torch.utils.data import Dataset

from features.errors import ConfigError, DatasetError

logger = logging.getLogger(__name__)

__all__ = ["ChunkDataset", "WaveformChunkDataset", "chunk_starts", "task_of"]

Key = int | tuple[int, int, int]
SILENCE_DB = -100.0  # 10 * log10(1e-10): the cache's dB value of silence, the default padding


def task_of(targets: np.ndarray) -> Literal["single", "multi"]:
    """"single" for 1-D integer class indices (n_tracks,), "multi" for a multi-hot (n_tracks, n_classes)."""
    targets = np.asarray(targets)
    if targets.ndim == 1 and np.issubdtype(targets.dtype, np.integer):
        return "single"
    if targets.ndim == 2:
        return "multi"
    raise ConfigError(
        f"targets of shape {targets.shape} and dtype {targets.dtype} must be integer class indices "
        "(n_tracks,) or a multi-hot array (n_tracks, n_classes)"
    )


def chunk_starts(n_frames: int, chunk_frames: int, n_chunks: int) -> np.ndarray:
    """Evenly spaced start frames of ``n_chunks`` chunks covering a track, shape (n_chunks,) int64.

    The first chunk starts at 0 and the last ends at the track's end (``linspace(0, n_frames -
    chunk_frames, n_chunks)``, rounded), so 10 chunks of 3 s over a 30-s track do not overlap.
    A track shorter than a chunk gives starts of 0 (every chunk is the padded track).
    """
    last = max(int(n_frames) - int(chunk_frames), 0)
    return np.rint(np.linspace(0, last, int(n_chunks))).astype(np.int64)


class ChunkDataset(Dataset):
    """Fixed-length chunks of per-track arrays, with their targets and track positions.

    store: Mapping track_id -> array whose last axis is time, e.g. float16 log-mel (n_mels, n_frames).
    track_ids: the tracks of this split, in the order of ``targets`` and of ``predict``'s rows.
    targets: int class indices (n_tracks,) for single-label, or multi-hot (n_tracks, n_classes).
    chunk_frames: chunk length along the last axis (frames for spectrograms, samples for waveforms).
    mode: "random" (training: ``chunks_per_track`` random chunks per track and epoch, len = n_tracks *
        chunks_per_track), "eval" (``n_eval_chunks`` evenly spaced chunks per track, len = n_tracks *
        n_eval_chunks, item i is chunk i % n_eval_chunks of track i // n_eval_chunks) or "excerpts"
        (training on every fixed excerpt of every track, as the GTZAN study's multiframe data: 1 + round((frames
        - chunk_frames) / hop) excerpts with hop = chunk_frames * (1 - excerpt_overlap), spread evenly from the
        track's start to its end (`chunk_starts`), len = their total; overlap 0: 10 excerpts of 3 s per 30-s
        track, 0.5: 19, as the study counts them).
    pad: how a track shorter than a chunk is lengthened: "constant", the only mode, appends ``pad_value``
        after its end (tracks are never looped). pad_value: None (default) takes the store's value of
        silence, ``store.config.floor()`` for a `features.spectrogram.MelStore` (-100 dB: 10 * log10 of the
        power floor 1e-10, not 0 dB, which would be loud), else -100.0; waveforms pad with 0.0.
    seed: random chunk positions are a pure function of (seed, epoch, draw, track), so they do not
        depend on worker count or order, and a resumed run draws the same chunks.

    Items are ``(x, y, track_index)``: x float32 tensor of shape ``(..., chunk_frames)``; y an int64
    scalar (single) or float32 (n_classes,) (multi); track_index an int (position in ``track_ids``).
    ``dataset[i]`` uses the epoch set by ``set_epoch``; the trainer passes keys ``(i, epoch, draw)``
    instead, so a track drawn twice in an epoch (oversampling) gets two different chunks.

    >>> store = {"a": np.zeros((128, 100), np.float16), "b": np.zeros((128, 30), np.float16)}
    >>> ds = ChunkDataset(store, ["a", "b"], np.array([0, 1]), chunk_frames=64)
    >>> x, y, track = ds[1]  # track "b" is shorter than a chunk: padded with -100 dB to 64 frames
    >>> tuple(x.shape), x.dtype, int(y), track, float(x[0, -1])
    ((128, 64), torch.float32, 1, 1, -100.0)
    >>> len(ds), len(ds.with_mode("eval", n_eval_chunks=3))  # eval: 3 evenly spaced chunks per track
    (2, 6)
    """

    def __init__(
        self,
        store: Mapping[str, np.ndarray],
        track_ids: Sequence[str],
        targets: np.ndarray,
        chunk_frames: int,
        *,
        mode: Literal["random", "eval", "excerpts"] = "random",
        n_eval_chunks: int = 8,
        chunks_per_track: int = 1,
        excerpt_overlap: float = 0.0,
        pad: Literal["constant"] = "constant",
        pad_value: float | None = None,
        seed: int = 0,
    ):
        if mode not in ("random", "eval", "excerpts"):
            raise ConfigError(f"mode={mode!r} must be 'random', 'eval' or 'excerpts'")
        if not 0.0 <= float(excerpt_overlap) < 1.0:
            raise ConfigError(f"excerpt_overlap={excerpt_overlap!r} must lie in [0, 1)")
        if pad != "constant":
            raise ConfigError(f"pad={pad!r} must be 'constant': short tracks are padded with silence, never looped")
        if pad_value is None:
            floor = getattr(getattr(store, "config", None), "floor", None)
            pad_value = floor() if callable(floor) else SILENCE_DB
        for name, value in (("chunk_frames", chunk_frames), ("n_eval_chunks", n_eval_chunks),
                            ("chunks_per_track", chunks_per_track)):
            if not isinstance(value, (int, np.integer)) or value <= 0:
                raise ConfigError(f"{name}={value!r} must be a positive integer")
        self.track_ids = [str(t) for t in track_ids]
        if len(set(self.track_ids)) != len(self.track_ids):
            raise ConfigError("track_ids contains duplicates")
        targets = np.asarray(targets)
        self.task = task_of(targets)
        if len(targets) != len(self.track_ids):
            raise ConfigError(f"{len(targets)} targets given for {len(self.track_ids)} tracks")
        missing = [t for t in self.track_ids if t not in store]
        if missing:
            raise DatasetError(f"{len(missing)} tracks are not in the store, e.g. {missing[:5]}")
        self.store = store
        self.targets = targets.astype(np.int64) if self.task == "single" else targets.astype(np.float32)
        self.chunk_frames = int(chunk_frames)
        self.mode = mode
        self.n_eval_chunks = int(n_eval_chunks)
        self.chunks_per_track = int(chunks_per_track)
        self.excerpt_overlap = float(excerpt_overlap)
        self.pad, self.pad_value = pad, float(pad_value)
        self.seed = int(seed)
        self.epoch = 0
        self._lengths = np.array([np.shape(store[t])[-1] for t in self.track_ids], dtype=np.int64)
        if np.any(self._lengths == 0):
            empty = [t for t, n in zip(self.track_ids, self._lengths, strict=True) if n == 0]
            raise DatasetError(f"{len(empty)} tracks have empty arrays, e.g. {empty[:5]}")
        self._excerpts = self._excerpt_index() if mode == "excerpts" else None
        n_short = int(np.sum(self._lengths < self.chunk_frames))
        if n_short:
            logger.info("%d of %d tracks are shorter than a chunk of %d and are padded (%s)",
                        n_short, len(self.track_ids), self.chunk_frames, self.pad)

    # --- sizes and views --------------------------------------------------------------------------
    @property
    def n_tracks(self) -> int:
        return len(self.track_ids)

    @property
    def n_classes(self) -> int:
        """Multi-hot width, or the highest class index seen + 1 (size models from the class list)."""
        return int(self.targets.max()) + 1 if self.task == "single" else int(self.targets.shape[1])

    @property
    def lengths(self) -> np.ndarray:
        """Length of each track along the time axis, shape (n_tracks,)."""
        return self._lengths.copy()

    def _excerpt_index(self) -> np.ndarray:
        """(n_excerpts, 2) int64 rows (track position, start frame) of every fixed excerpt, track by track."""
        hop = self.chunk_frames * (1.0 - self.excerpt_overlap)
        rows = []
        for t, n in enumerate(self._lengths):
            room = max(int(n) - self.chunk_frames, 0)
            # the excerpt count nearest the asked hop, spread evenly from the start to the end of the track
            for start in chunk_starts(int(n), self.chunk_frames, 1 + int(round(room / hop))):
                rows.append((t, int(start)))
        return np.array(rows, dtype=np.int64).reshape(-1, 2)

    @property
    def excerpt_tracks(self) -> np.ndarray | None:
        """excerpts mode: the track position of each item (n_items,), else None."""
        return None if self._excerpts is None else self._excerpts[:, 0].copy()

    def __len__(self) -> int:
        if self._excerpts is not None:
            return len(self._excerpts)
        per_track = self.chunks_per_track if self.mode == "random" else self.n_eval_chunks
        return self.n_tracks * per_track

    def set_epoch(self, epoch: int) -> None:
        """Epoch used by plain integer indices in random mode."""
        self.epoch = int(epoch)

    def with_mode(self, mode: Literal["random", "eval"], **changes) -> ChunkDataset:
        """A copy over the same store and tracks in another mode (and other settings given by name)."""
        kwargs = dict(
            chunk_frames=self.chunk_frames, mode=mode, n_eval_chunks=self.n_eval_chunks,
            chunks_per_track=self.chunks_per_track, pad=self.pad, pad_value=self.pad_value, seed=self.seed,
            excerpt_overlap=self.excerpt_overlap,
        )
        kwargs.update(changes)
        return type(self)(self.store, self.track_ids, self.targets, **kwargs)

    # --- chunk positions --------------------------------------------------------------------------
    def locate(self, key: Key) -> tuple[int, int]:
        """(track position, start frame) of an item; a start may be 0 for tracks shorter than a chunk.

        key: an int in ``range(len(self))`` or, in random mode, ``(i, epoch, draw)``.
        """
        if isinstance(key, tuple):
            i, epoch, draw = (int(k) for k in key)
        else:
            i, epoch, draw = int(key), self.epoch, -1
        if not 0 <= i < len(self):
            raise IndexError(f"index {i} out of range for {len(self)} items")
        if self._excerpts is not None:
            track, start = self._excerpts[i]
            return int(track), int(start)
        if self.mode == "eval":
            track, k = divmod(i, self.n_eval_chunks)
            start = chunk_starts(self._lengths[track], self.chunk_frames, self.n_eval_chunks)[k]
            return track, int(start)
        track = i % self.n_tracks
        room = int(self._lengths[track]) - self.chunk_frames
        if room <= 0:
            return track, 0
        # Keyed generator: positions reproducible whatever the worker, order, or resume point.
        rng = np.random.default_rng([self.seed, epoch + 1, draw + 1, i])
        return track, int(rng.integers(0, room + 1))

    def chunk(self, track: int, start: int) -> np.ndarray:
        """The float32 chunk of a track starting at ``start``, shape (..., chunk_frames), padded if short."""
        arr = self.store[self.track_ids[track]]
        piece = np.asarray(arr[..., start : start + self.chunk_frames], dtype=np.float32)
        short = self.chunk_frames - piece.shape[-1]
        if short > 0:
            widths = [(0, 0)] * (piece.ndim - 1) + [(0, short)]
            piece = np.pad(piece, widths, mode="constant", constant_values=self.pad_value)
        return piece

    def __getitem__(self, key: Key) -> tuple[torch.Tensor, torch.Tensor, int]:
        track, start = self.locate(key)
        x = torch.from_numpy(np.ascontiguousarray(self.chunk(track, start)))
        y = torch.as_tensor(self.targets[track])
        return x, y, track

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(n_tracks={self.n_tracks}, task={self.task!r}, mode={self.mode!r}, "
                f"chunk_frames={self.chunk_frames}, n_eval_chunks={self.n_eval_chunks})")


class WaveformChunkDataset(ChunkDataset):
    """``ChunkDataset`` over in-memory waveforms ``(samples,)``: chunks of ``chunk_samples`` samples.

    Short tracks are zero-padded (``pad_value`` 0.0, silence), never looped. Items are
    ``(x, y, track_index)`` with x float32 of shape (chunk_samples,).
    """

    def __init__(
        self,
        store: Mapping[str, np.ndarray],
        track_ids: Sequence[str],
        targets: np.ndarray,
        chunk_samples: int | None = None,
        *,
        chunk_frames: int | None = None,
        pad_value: float = 0.0,
        **kwargs,
    ):
        if (chunk_samples is None) == (chunk_frames is None):
            raise ConfigError("give exactly one of chunk_samples and chunk_frames (they are the same length)")
        bad = [t for t in list(track_ids)[:1000] if t in store and np.ndim(store[t]) != 1]
        if bad:
            shape = np.shape(store[bad[0]])
            raise DatasetError(f"waveforms must be 1-D (samples,); track {bad[0]!r} has shape {shape}")
        super().__init__(store, track_ids, targets,
                         chunk_samples if chunk_samples is not None else chunk_frames,
                         pad_value=pad_value, **kwargs)

    @property
    def chunk_samples(self) -> int:
        return self.chunk_frames
