"""The MagnaTagATune hyper-parameter study's fully convolutional nets: 1-D (over mel frames) and 2-D.

The study fixes the input (96 mel bands x 911 frames, FFT 1024, 16 kHz), the number of conv layers
C (3, 4 or 5; 3 was best for the 1-D model), the width (hidden 128), BN before ReLU and dropout
0.5. It does not fix kernel or pool sizes; here each block is conv(3) -> BN -> ReLU -> max-pool 3
along time (2-D: 3x3 conv and a (2, 3) pool), so a 5-layer stack still fits 911 frames, followed
by global average pooling, dropout 0.5 and a dense output layer. Widths are `hidden` in every layer
by default; `growth=2` doubles them per layer, as the study's layer lists do (128, 256, ... 2048).
"""

from __future__ import annotations

import torch
from torch import nn

from deep.models.blocks import ConvBlock1d, ConvBlock2d, ZooModel, input_norm, pair
from features.errors import ConfigError


def _check_layers(layers: int) -> int:
    if not 1 <= layers <= 8:
        raise ConfigError(f"layers={layers} must be between 1 and 8 (the study used 3, 4 and 5)")
    return int(layers)


def layer_widths(hidden: int, growth: float, layers: int) -> tuple[int, ...]:
    """The width of each conv layer: hidden, hidden * growth, hidden * growth ** 2, ... (rounded)."""
    given = growth
    try:
        growth = float(growth)
    except (TypeError, ValueError):
        growth = float("nan")
    if not growth > 0:
        raise ConfigError(f"growth={given!r} must be a positive number (1: every layer {hidden} wide, 2: doubling)")
    widths = tuple(int(round(hidden * growth**i)) for i in range(layers))
    if min(widths) < 1:
        raise ConfigError(f"hidden={hidden} with growth={growth:g} gives widths {widths}; each must be >= 1")
    return widths


class FCN1d(ZooModel):
    """1-D FCN: mel bands are the input channels of conv1d blocks over time.

    Bound to `n_mels` bands; with in_channels C (2: log-mel and CQT) the first conv reads C * n_mels
    input channels, the spectrograms' bands side by side. Layer i is hidden * growth ** i wide (growth 1:
    constant; 2: study 002's 128-256-512-...). Minimum input: pool ** layers frames (27 / 81 / 243 for
    C = 3 / 4 / 5).
    """

    def __init__(
        self,
        n_classes: int,
        n_mels: int = 96,
        *,
        layers: int = 3,
        hidden: int = 128,
        growth: float = 1.0,
        kernel: int = 3,
        pool: int = 3,
        dropout: float = 0.5,
        input_bn: bool = True,
        in_channels: int = 1,
    ):
        layers = _check_layers(layers)
        if kernel < 1 or kernel % 2 == 0 or pool < 1:
            raise ConfigError(f"kernel={kernel} must be a positive odd int and pool={pool} a positive int")
        super().__init__(min_frames=pool**layers, n_bins=n_mels, in_channels=in_channels)
        self.input_bn = input_norm(input_bn, self.in_channels)
        widths = (self.in_channels * n_mels, *layer_widths(hidden, growth, layers))
        self.blocks = nn.Sequential(
            *(ConvBlock1d(widths[i], widths[i + 1], kernel, pool, activation="relu") for i in range(layers))
        )
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(widths[-1], n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Last conv map. x: (batch, [in_channels,] n_mels, time) -> (batch, W, time / pool ** layers), W the
        last width."""
        x = self._as_image(x)  # (batch, in_channels, n_mels, time)
        x = self.input_bn(x).flatten(1, 2)  # (batch, in_channels * n_mels, time)
        return self.blocks(x)  # (batch, W, time / pool ** layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)  # (batch, W, time')
        x = x.mean(dim=-1)  # (batch, W)
        x = self.dropout(x)  # (batch, W)
        return self.head(x)  # (batch, n_classes) logits


class FCN2d(ZooModel):
    """2-D FCN: 3x3 conv -> BN -> ReLU -> max-pool (2, 3) blocks, layer i hidden * growth ** i channels wide.

    Any number of mel bands; in_channels input channels (2: log-mel and CQT). Minimum input:
    3 ** layers frames (27 / 81 / 243 for C = 3 / 4 / 5).
    """

    def __init__(
        self,
        n_classes: int,
        n_mels: int = 96,
        *,
        layers: int = 5,
        hidden: int = 128,
        growth: float = 1.0,
        pool: int | tuple[int, int] = (2, 3),
        dropout: float = 0.5,
        input_bn: bool = True,
        in_channels: int = 1,
    ):
        layers = _check_layers(layers)
        pool = pair(pool)
        super().__init__(min_frames=pool[1] ** layers, in_channels=in_channels)
        self.input_bn = input_norm(input_bn, self.in_channels)
        widths = (self.in_channels, *layer_widths(hidden, growth, layers))
        self.blocks = nn.Sequential(
            *(ConvBlock2d(widths[i], widths[i + 1], 3, pool, activation="relu") for i in range(layers))
        )
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(widths[-1], n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Last conv map. x: (batch, [in_channels,] n_mels, time) -> (batch, W, n_mels / 2^C, time / 3^C), W the
        last width."""
        x = self._as_image(x)  # (batch, in_channels, n_mels, time)
        x = self.input_bn(x)  # (batch, in_channels, n_mels, time)
        return self.blocks(x)  # (batch, W, n_mels / 2^C, time / 3^C)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)  # (batch, W, freq', time')
        x = x.mean(dim=(2, 3))  # (batch, W)
        x = self.dropout(x)  # (batch, W)
        return self.head(x)  # (batch, n_classes) logits
