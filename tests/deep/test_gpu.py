"""The CUDA code paths of the trainer (mixed precision, pinned host memory, device placement) on a real GPU.

Opt-in by hardware: marked `gpu` and skipped where `torch.cuda.is_available()` is false. A tiny zoo model
(`small-cnn`) is trained with `deep.train.fit` on seeded synthetic log-mel data with ``device="cuda"`` and
``amp=True``; the training loss must fall, the forward pass must really run under autocast (half-precision
activations on the device), and `predict` must hand back finite probabilities as a host (CPU) array.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deep.data import ChunkDataset
from deep.models import get_model
from deep.train import TrainConfig, fit, predict

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(),
                       reason="needs a CUDA device (torch.cuda.is_available() is False)"),
]

N_MELS, N_FRAMES, CHUNK, N_CLASSES = 32, 256, 128, 3


def mel_tracks(n: int, seed: int, prefix: str) -> tuple[dict[str, np.ndarray], list[str], np.ndarray]:
    """float16 dB "log-mel" arrays: a -60 dB noise floor plus +25 dB in the band of the track's class."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, N_CLASSES, n)
    bands = np.array_split(np.arange(N_MELS), N_CLASSES)
    store, ids = {}, []
    for k, c in enumerate(labels):
        x = -60 + 3 * rng.standard_normal((N_MELS, N_FRAMES))
        x[bands[c]] += 25
        ids.append(f"{prefix}{k:03d}")
        store[ids[-1]] = x.astype(np.float16)
    return store, ids, labels


def accuracy(y, p) -> float:
    return float(np.mean(np.argmax(p, axis=1) == y))


def test_small_cnn_trains_on_cuda_with_amp():
    s_tr, tr_ids, y_tr = mel_tracks(96, seed=1, prefix="tr")
    s_va, va_ids, y_va = mel_tracks(48, seed=2, prefix="va")
    store = {**s_tr, **s_va}
    train = ChunkDataset(store, tr_ids, y_tr, CHUNK, seed=0)
    valid = ChunkDataset(store, va_ids, y_va, CHUNK, mode="eval", n_eval_chunks=2)
    torch.manual_seed(0)
    model = get_model("small-cnn", n_classes=N_CLASSES, n_mels=N_MELS)
    config = TrainConfig(epochs=6, batch_size=16, lr=3e-3, amp=True, patience=None, device="cuda", seed=0)

    seen = {"input_device": set(), "stem_dtype": set()}
    h1 = model.register_forward_pre_hook(lambda m, args: seen["input_device"].add(args[0].device.type))
    h2 = model.stem.register_forward_hook(lambda m, args, out: seen["stem_dtype"].add(out.dtype))
    try:
        result = fit(model, train, valid, config=config, score_fn=accuracy, progress=False)
    finally:
        h1.remove()
        h2.remove()

    assert result.device.startswith("cuda"), result.device
    assert next(model.parameters()).device.type == "cuda"  # left on the training device, as documented
    # Batches reached the model on the GPU, and the convolutions ran in half precision (autocast on).
    assert seen["input_device"] == {"cuda"}
    assert seen["stem_dtype"] and seen["stem_dtype"] <= {torch.float16, torch.bfloat16}, seen["stem_dtype"]
    losses = [row["train_loss"] for row in result.history]
    assert len(losses) == config.epochs and np.isfinite(losses).all(), losses
    assert losses[-1] < 0.7 * losses[0], losses  # the loss falls
    assert result.best_score > 1 / N_CLASSES + 0.2, result.history  # well above chance on validation

    probs = predict(model, valid, amp=True, batch_size=32)
    assert isinstance(probs, np.ndarray)  # a host array, not a CUDA tensor
    assert probs.shape == (len(va_ids), N_CLASSES) and probs.dtype == np.float64
    assert np.isfinite(probs).all() and (probs >= 0).all() and (probs <= 1).all()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-3)  # softmax rows (half-precision logits)
