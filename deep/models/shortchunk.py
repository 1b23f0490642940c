"""Won et al. 2020's short-chunk CNN and short-chunk ResNet: VGG-ish 3x3 stacks on 3.69-s chunks.

Designed for 128 mel bands x ~230 frames (59,049 samples at 16 kHz, hop 256). Seven layers halve
both axes (2x2 max-pool, or a stride-2 residual block), then global max pooling and a dense
(width 4 * n_channels) -> BN -> ReLU -> dropout 0.5 -> dense output head.
"""

from __future__ import annotations

import torch
from torch import nn

from deep.models.blocks import ConvBlock2d, ResBlock2d, ZooModel, input_norm

N_LAYERS = 7


def _widths(n_channels: int, in_channels: int = 1) -> tuple[int, ...]:
    """in_channels (1; 2 for log-mel and CQT), then c, c, 2c, 2c, 2c, 2c, 4c (128 .. 512 for c = 128)."""
    c = n_channels
    return (in_channels, c, c, 2 * c, 2 * c, 2 * c, 2 * c, 4 * c)


class _DenseHead(nn.Module):
    """dense -> BN -> ReLU -> dropout -> dense. x: (batch, width) -> (batch, n_classes)."""

    def __init__(self, width: int, n_classes: int, dropout: float):
        super().__init__()
        self.dense = nn.Linear(width, width)
        self.bn = nn.BatchNorm1d(width)
        self.relu = nn.ReLU()
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(width, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.dropout(self.relu(self.bn(self.dense(x))))  # (batch, width)
        return self.out(x)  # (batch, n_classes)


class ShortChunkCNN(ZooModel):
    """Seven 3x3 conv -> BN -> ReLU -> 2x2 max-pool layers, global max pool, dense head.

    Any number of mel bands; in_channels input channels (2: log-mel and CQT). Minimum input: 2^7 = 128
    frames. The head's BatchNorm1d needs batches of at least 2 in training mode.
    """

    def __init__(self, n_classes: int, n_mels: int = 128, *, n_channels: int = 128, dropout: float = 0.5,
                 input_bn: bool = True, in_channels: int = 1):
        super().__init__(min_frames=2**N_LAYERS, in_channels=in_channels)
        self.input_bn = input_norm(input_bn, self.in_channels)
        w = _widths(n_channels, self.in_channels)
        self.blocks = nn.Sequential(*(ConvBlock2d(w[i], w[i + 1], 3, 2) for i in range(N_LAYERS)))
        self.head = _DenseHead(w[-1], n_classes, dropout)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Last conv map. x: (batch, [in_channels,] n_mels, time) -> (batch, 4c, n_mels / 128, time / 128)."""
        x = self._as_image(x)  # (batch, in_channels, n_mels, time)
        x = self.input_bn(x)  # (batch, in_channels, n_mels, time)
        return self.blocks(x)  # (batch, 4c, n_mels / 128, time / 128)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)  # (batch, 4c, freq', time')
        x = x.amax(dim=(2, 3))  # (batch, 4c)
        return self.head(x)  # (batch, n_classes) logits


class ShortChunkResNet(ZooModel):
    """Seven stride-2 residual two-conv blocks (`ResBlock2d`), global max pool, dense head.

    Any number of mel bands; in_channels input channels (2: log-mel and CQT). Minimum input: 128 frames
    (stride-2 convs round up, so this is where the last block is left with one time step, as for the
    plain short-chunk CNN).
    """

    def __init__(self, n_classes: int, n_mels: int = 128, *, n_channels: int = 128, dropout: float = 0.5,
                 input_bn: bool = True, in_channels: int = 1):
        super().__init__(min_frames=2**N_LAYERS, in_channels=in_channels)
        self.input_bn = input_norm(input_bn, self.in_channels)
        w = _widths(n_channels, self.in_channels)
        self.blocks = nn.Sequential(*(ResBlock2d(w[i], w[i + 1], 3, 2) for i in range(N_LAYERS)))
        self.head = _DenseHead(w[-1], n_classes, dropout)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Last residual map. x: (batch, [in_channels,] n_mels, time) -> (batch, 4c, n_mels / 128, time / 128)."""
        x = self._as_image(x)  # (batch, in_channels, n_mels, time)
        x = self.input_bn(x)  # (batch, in_channels, n_mels, time)
        return self.blocks(x)  # (batch, 4c, ceil(n_mels / 128), ceil(time / 128))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)  # (batch, 4c, freq', time')
        x = x.amax(dim=(2, 3))  # (batch, 4c)
        return self.head(x)  # (batch, n_classes) logits
