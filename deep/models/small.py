"""A tiny CNN for CPU demos and smoke tests: trains on a few hundred clips in seconds per epoch."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from deep.models.blocks import ConvBlock2d, FitMaxPool2d, ZooModel, input_norm, positive_ints
from features.errors import ConfigError


class SmallCNN(ZooModel):
    """Four 3x3 conv -> BN -> ReLU -> max-pool blocks (16, 32, 64, 64), global average + max pool,
    dropout and a dense output layer; about 62k parameters.

    As in a ResNet stem, the first conv has stride 2 and is followed by a (2, 4) pool, so no
    full-resolution map is stored (on a CPU the element-wise layers at full resolution cost more
    than the convolutions) and the next convs run on maps 32 times smaller than the input.
    Any number of mel bands; in_channels input channels (2: log-mel and CQT). Minimum input:
    2 ** (2 + len(channels)) = 64 frames.
    """

    def __init__(
        self,
        n_classes: int,
        n_mels: int = 128,
        *,
        channels: Sequence[int] = (16, 32, 64, 64),
        dropout: float = 0.2,
        input_bn: bool = True,
        in_channels: int = 1,
    ):
        channels = positive_ints("channels", channels)
        if len(channels) < 2:
            raise ConfigError(f"channels={channels} must have at least 2 widths")
        # stride-2 stem (ceil(time / 2)) and a (2, 4) pool, then one 2x2 pool per further width
        super().__init__(min_frames=2 ** (2 + len(channels)), in_channels=in_channels)
        self.input_bn = input_norm(input_bn, self.in_channels)
        self.stem = nn.Sequential(
            nn.Conv2d(self.in_channels, channels[0], 3, stride=2, padding=1),
            nn.BatchNorm2d(channels[0]),
            nn.ReLU(),
            FitMaxPool2d((2, 4)),
        )
        self.blocks = nn.Sequential(
            *(ConvBlock2d(channels[i], channels[i + 1], 3, 2) for i in range(len(channels) - 1))
        )
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(2 * channels[-1], n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Last conv map. x: (batch, [in_channels,] n_mels, time) -> (batch, 64, n_mels / 32, time / 64)."""
        x = self._as_image(x)  # (batch, in_channels, n_mels, time)
        x = self.input_bn(x)  # (batch, in_channels, n_mels, time)
        x = self.stem(x)  # (batch, 16, n_mels / 4, time / 8)
        return self.blocks(x)  # (batch, 64, n_mels / 32, time / 64)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)  # (batch, 64, freq', time')
        x = torch.cat([x.mean(dim=(2, 3)), x.amax(dim=(2, 3))], dim=1)  # (batch, 128)
        x = self.dropout(x)  # (batch, 128)
        return self.head(x)  # (batch, n_classes) logits
