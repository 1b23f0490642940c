"""Two-channel spectrogram input (mel+cqt) in the zoo: every log-mel model takes `in_channels=2`, and is the
one-channel model when the second channel's weights are zero; waveform and MFCC models refuse it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deep.inspect import embed, grad_cam
from deep.models import DEEP_MODELS
from deep.models.small import SmallCNN
from features.errors import ConfigError

N_MELS = 16
BATCH = 2
TWO_CHANNEL = sorted(name for name, spec in DEEP_MODELS.items() if spec.input == "mel")
REFUSING = sorted(name for name, spec in DEEP_MODELS.items() if spec.input != "mel")


def _frames(model) -> int:
    return max(model.min_frames, 2 * getattr(model, "chunk", 0) + 3)  # the chunked CRNN: two chunks and a rest


def _widen(one: torch.nn.Module, two: torch.nn.Module) -> None:
    """Load `one`'s weights into the two-channel `two`: where a tensor grew (first layer, input norm), `one`'s
    values fill the leading slice (channel 0: the log-mel) and the rest is zero, so channel 1 cannot matter."""
    state = {}
    for key, wide in two.state_dict().items():
        narrow = one.state_dict()[key]
        if wide.shape == narrow.shape:
            state[key] = narrow.clone()
            continue
        (axis,) = [i for i, (a, b) in enumerate(zip(wide.shape, narrow.shape, strict=True)) if a != b]
        grown = torch.zeros_like(wide)
        grown.narrow(axis, 0, narrow.shape[axis]).copy_(narrow)
        state[key] = grown
    two.load_state_dict(state)


@pytest.mark.parametrize("name", TWO_CHANNEL)
def test_a_two_channel_model_with_a_silent_second_channel_is_the_one_channel_model(name):
    spec = DEEP_MODELS[name]
    torch.manual_seed(0)
    one = spec(n_classes=3, n_mels=N_MELS).eval()
    two = spec(n_classes=3, n_mels=N_MELS, in_channels=2).eval()
    assert two.in_channels == 2 and one.in_channels == 1
    assert sum(p.numel() for p in two.parameters()) > sum(p.numel() for p in one.parameters())
    g = torch.Generator().manual_seed(1)
    x = torch.randn(BATCH, 2, N_MELS, _frames(two), generator=g) * 10 - 40  # dB-like log-mel and CQT

    # Trained-looking weights everywhere: the second channel reaches the logits.
    x.requires_grad_(True)
    logits = two(x)
    assert logits.shape == (BATCH, 3) and torch.isfinite(logits).all()
    (grad,) = torch.autograd.grad(logits.sum(), x)
    assert grad[:, 1].abs().sum() > 0

    # Second channel's weights zero: exactly the one-channel model on channel 0, whatever channel 1 holds.
    _widen(one, two)
    with torch.no_grad():
        expected = one(x[:, :1].detach())
        torch.testing.assert_close(two(x.detach()), expected, rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(two(torch.stack([x[:, 0], -x[:, 1]], 1).detach()), expected, rtol=1e-4, atol=1e-4)

    with pytest.raises(ConfigError, match="in_channels=2"):
        two(x[:, 0].detach())  # a one-channel batch given to a two-channel model


@pytest.mark.parametrize("name", REFUSING)
def test_waveform_and_mfcc_models_refuse_two_channels_by_name(name):
    spec = DEEP_MODELS[name]
    why = "raw waveforms" if spec.input == "waveform" else "MFCCs"
    with pytest.raises(ConfigError, match=rf"^{name} cannot take in_channels=2 .*{why}"):
        spec(n_classes=3, n_mels=N_MELS, n_mfcc=13, in_channels=2)
    assert spec(n_classes=3, n_mels=N_MELS, n_mfcc=13, in_channels=1).in_channels == 1  # the default is fine


def test_in_channels_must_be_a_positive_int():
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ConfigError, match="in_channels="):
            SmallCNN(3, in_channels=bad)


def test_the_second_channel_adds_the_first_layers_weights_by_hand():
    # SmallCNN: stem conv 3x3 -> 16 (+ 16 * 9 weights) and the input BatchNorm (+ 2)
    one, two = SmallCNN(3), SmallCNN(3, in_channels=2)
    n = [sum(p.numel() for p in m.parameters()) for m in (one, two)]
    assert n[1] - n[0] == 16 * 3 * 3 + 2
    # k1c2: the first 1-D conv reads 2 * 128 bands (+ 128 * 32 * 4 weights), input BatchNorm (+ 2)
    one, two = DEEP_MODELS["k1c2"](3, n_mels=128), DEEP_MODELS["k1c2"](3, n_mels=128, in_channels=2)
    n = [sum(p.numel() for p in m.parameters()) for m in (one, two)]
    assert n[1] - n[0] == 128 * 32 * 4 + 2


def test_grad_cam_and_embed_of_a_two_channel_model_match_the_one_channel_model():
    torch.manual_seed(3)
    one, two = SmallCNN(4, n_mels=24).eval(), SmallCNN(4, n_mels=24, in_channels=2).eval()
    x = torch.randn(3, 2, 24, 64) * 10 - 40
    maps = grad_cam(two, x, [0, 1, 3])
    assert maps.shape == (3, 24, 64) and maps.dtype == np.float32 and 0 <= maps.min() and maps.max() <= 1 + 1e-6
    assert embed(two, x).shape == (3, 128)
    _widen(one, two)
    np.testing.assert_allclose(grad_cam(two, x, [0, 1, 3]), grad_cam(one, x[:, 0], [0, 1, 3]), atol=1e-5)
    np.testing.assert_allclose(embed(two, x), embed(one, x[:, 0]), rtol=1e-5, atol=1e-5)
