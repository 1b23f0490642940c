"""deep.inspect: Grad-CAM against a hand computation, mode and hook restoration, the head's input as the
embedding, weight snapshots over training, and a map for every log-mel model of the zoo."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from deep.inspect import Snapshots, embed, grad_cam, last_conv
from deep.models import DEEP_MODELS
from deep.models.small import SmallCNN
from features.errors import ConfigError


class Tiny(nn.Module):
    """Conv2d(1, 2, 3) -> global average pool -> Linear(2, 3): d logit_c / d A_k = W[c, k] / (F' T')."""

    input_kind = "mel"

    def __init__(self, stride: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3, stride=stride, padding=1)
        self.head = nn.Linear(2, 3)

    def forward(self, x):
        a = self.conv(x.unsqueeze(1))  # (batch, 2, F', T')
        return self.head(a.mean(dim=(2, 3)))  # (batch, 3)


def _conv_numpy(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int) -> np.ndarray:
    """Cross-correlation with zero padding 1, by hand. x (F, T), w (K, 1, 3, 3) -> (K, F', T')."""
    xp = np.pad(x, 1)
    rows = range(0, x.shape[0], stride)
    cols = range(0, x.shape[1], stride)
    out = np.zeros((w.shape[0], len(rows), len(cols)))
    for k in range(w.shape[0]):
        for i, f in enumerate(rows):
            for j, t in enumerate(cols):
                out[k, i, j] = (xp[f : f + 3, t : t + 3] * w[k, 0]).sum() + b[k]
    return out


@pytest.mark.parametrize("stride", [1, 2])
def test_grad_cam_matches_a_hand_computation(stride):
    torch.manual_seed(0)
    model = Tiny(stride)
    x = torch.randn(2, 8, 12)
    targets = [0, 2]
    maps = grad_cam(model, x, targets)
    W = model.head.weight.detach().numpy().astype(np.float64)
    cw, cb = model.conv.weight.detach().numpy(), model.conv.bias.detach().numpy()
    for i, c in enumerate(targets):
        A = _conv_numpy(x[i].numpy().astype(np.float64), cw, cb, stride)  # (2, F', T')
        weights = W[c] / (A.shape[1] * A.shape[2])  # spatial mean of the gradient
        cam = np.maximum((weights[:, None, None] * A).sum(0), 0)
        if stride > 1:  # bilinear upsampling to the input's (n_bins, frames)
            cam = F.interpolate(torch.from_numpy(cam)[None, None], size=(8, 12), mode="bilinear",
                                align_corners=False)[0, 0].numpy()
        expected = cam / cam.max() if cam.max() > 0 else cam
        np.testing.assert_allclose(maps[i], expected, atol=1e-5)
    assert maps.dtype == np.float32 and maps.shape == (2, 8, 12)


def test_grad_cam_restores_mode_and_hooks_and_runs_without_grad():
    torch.manual_seed(1)
    model = SmallCNN(4, n_mels=32)
    x = torch.randn(3, 32, 64)
    model.train()
    ref = grad_cam(model, x, 1)
    assert model.training
    assert all(not m._forward_hooks and not m._forward_pre_hooks and not m._backward_hooks for m in model.modules())
    with torch.no_grad():
        np.testing.assert_allclose(grad_cam(model, x, 1), ref, atol=1e-6)
    with torch.inference_mode():
        np.testing.assert_allclose(grad_cam(model, x.numpy(), [1, 1, 1]), ref, atol=1e-6)
    model.eval()
    grad_cam(model, x.unsqueeze(1), 0)  # (batch, 1, n_bins, frames) works too
    assert not model.training
    assert all(p.grad is None for p in model.parameters())


def test_grad_cam_errors_name_the_problem():
    from deep.models.waveform import SampleCNN

    with pytest.raises(ConfigError, match="waveforms"):
        grad_cam(SampleCNN(3), torch.zeros(1, 3**10), 0)
    res = DEEP_MODELS["shortchunk-res"](n_classes=3, n_mels=16)
    assert last_conv(res) is res.blocks[-1].conv_2  # not the residual shortcut's conv
    with pytest.raises(ConfigError, match="no convolution"):
        last_conv(DEEP_MODELS["ffnn"](n_classes=3, n_mels=16))
    with pytest.raises(ConfigError, match="targets"):
        grad_cam(Tiny(), torch.zeros(2, 4, 4), [0, 1, 2])


def test_embed_is_the_heads_input():
    torch.manual_seed(2)
    model = SmallCNN(5, n_mels=32).train()
    x = torch.randn(4, 32, 64)
    got = embed(model, x, batch_size=3)
    model.eval()
    with torch.no_grad():
        a = model.features(x)
        expected = torch.cat([a.mean(dim=(2, 3)), a.amax(dim=(2, 3))], dim=1).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    model.train()
    embed(model, x)
    assert model.training and not model.head._forward_pre_hooks


def test_embed_of_a_conv_head_is_pooled_over_positions():
    torch.manual_seed(3)
    model = DEEP_MODELS["k2c2"](n_classes=3, n_mels=16)
    assert isinstance(model.head, nn.Conv2d)
    x = torch.randn(2, 16, 1280)
    got = embed(model, x)
    with torch.no_grad():
        model.eval()
        expected = model.features(x).mean(dim=(2, 3)).numpy()  # (batch, C): the 1x1 head's input, pooled
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def _feed(snaps: Snapshots, model: nn.Module, epochs, improved):
    for e in epochs:
        with torch.no_grad():
            model.weight.fill_(float(e))
        snaps(e, model, {"epoch": e, "improved": e in improved})


def test_snapshots_pick_early_middle_best():
    model = nn.Linear(2, 2, bias=False)
    snaps = Snapshots()
    _feed(snaps, model, range(1, 11), improved={1, 3, 7})
    picked = snaps.pick(7)
    assert [e for e, _ in picked] == [1, 4, 7]
    assert [float(s["weight"][0, 0]) for _, s in picked] == [1.0, 4.0, 7.0]  # copies, not the live weights
    assert [e for e, _ in snaps.pick(2)] == [1, 2]
    assert [e for e, _ in snaps.pick(1)] == [1]
    best = {"weight": torch.full((2, 2), 99.0)}
    assert float(snaps.pick(7, best)[-1][1]["weight"][0, 0]) == 99.0


def test_snapshots_thin_under_the_memory_cap():
    model = nn.Linear(4, 4, bias=False)  # 64 bytes per copy
    snaps = Snapshots(max_bytes=5 * 64)
    _feed(snaps, model, range(1, 21), improved={1, 6})
    kept = snaps.epochs
    assert len(kept) == 5 and {1, 6, 20} <= set(kept)
    assert snaps.nbytes <= 5 * 64
    early, middle, best = (e for e, _ in snaps.pick(6))
    assert (early, best) == (1, 6) and 1 < middle < 6


def test_snapshots_after_a_resume_use_what_exists():
    model = nn.Linear(2, 2, bias=False)
    snaps = Snapshots()
    _feed(snaps, model, range(5, 9), improved=set())  # resumed after epoch 4, whose best was epoch 3
    with pytest.raises(ConfigError, match="best_state"):
        snaps.pick(3)
    best = {"weight": torch.zeros(2, 2)}
    assert [e for e, _ in snaps.pick(3, best)] == [3]
    _feed(snaps, model, [9], improved={9})
    assert [e for e, _ in snaps.pick(9)] == [5, 7, 9]


MEL_MODELS = [name for name, spec in DEEP_MODELS.items() if spec.input == "mel" and name != "ffnn"]


@pytest.mark.parametrize("name", MEL_MODELS)
def test_every_mel_model_gets_a_map(name):
    spec = DEEP_MODELS[name]
    torch.manual_seed(0)
    model = spec(n_classes=3, n_mels=24)
    frames = max(model.min_frames, 2 * getattr(model, "chunk", 0) + 5)  # the chunked CRNN: two chunks and a rest
    x = torch.randn(2, 24, frames)
    maps = grad_cam(model, x, [0, 2])
    assert maps.shape == (2, 24, frames) and maps.dtype == np.float32
    assert np.isfinite(maps).all() and maps.min() >= 0 and maps.max() <= 1 + 1e-6
    for m in maps:
        assert m.max() == 0 or m.max() == pytest.approx(1.0)
