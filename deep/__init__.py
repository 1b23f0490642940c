"""Deep models on spectrograms and waveforms: the model registry, chunk datasets and the fit loop.

    DEEP_MODELS, get_model       the model zoo (deep.models): name -> ModelSpec, a factory of nn.Modules
    ChunkDataset                 fixed-length chunks of per-track arrays (deep.data), a torch Dataset
    WaveformChunkDataset         the same over in-memory waveforms
    fit, predict, FitResult      the training loop and track-level prediction (deep.train)
    TrainConfig, AugmentConfig   the training settings (deep.trainconfig)

These names are imported on first use (they load torch), so ``import deep.<module>`` stays cheap.

>>> import numpy as np, torch
>>> from deep import DEEP_MODELS, ChunkDataset
>>> model = DEEP_MODELS["small-cnn"](n_classes=10, n_mels=128)
>>> model(torch.zeros(2, 128, 64)).shape  # log-mel batch (batch, n_mels, frames) -> logits
torch.Size([2, 10])
>>> store = {"a": np.zeros((128, 100), np.float16), "b": np.zeros((128, 30), np.float16)}
>>> ds = ChunkDataset(store, ["a", "b"], np.array([0, 1]), chunk_frames=64)
>>> x, y, track = ds[1]  # track "b" is shorter than a chunk: padded with silence to 64 frames
>>> tuple(x.shape), int(y), track, len(ds.with_mode("eval", n_eval_chunks=3))
((128, 64), 1, 1, 6)
"""

from __future__ import annotations

from importlib import import_module

# public name -> the module that defines it
_EXPORTS = {
    "DEEP_MODELS": "deep.models",
    "ModelSpec": "deep.models",
    "get_model": "deep.models",
    "ChunkDataset": "deep.data",
    "WaveformChunkDataset": "deep.data",
    "fit": "deep.train",
    "predict": "deep.train",
    "FitResult": "deep.train",
    "TrainConfig": "deep.trainconfig",
    "AugmentConfig": "deep.trainconfig",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'deep' has no attribute {name!r}")
