"""The FMA multi-label study's fully convolutional family (k2c2 and its variants, k1c2, k2c1).

k1c2 is Choi et al. 2017's "1D convolution" model: the mel bands are the input channels of 1-D
convolutions over time, so its first layer is fully connected in frequency (`FMAConvNet1d`); the
others are 2-D (`FMAConvNet`).

Built on Choi et al. 2017: blocks of conv -> BN -> ELU -> max-pool -> dropout 0.2, then a 1x1
convolution to the classes and global average pooling. Designed for 128 mel bands x 3000 frames
(30 s at 32 kHz, hop 320). The 1x1 head before the pooling makes `class_maps` a direct class
activation map for Grad-CAM-style figures.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from deep.models.blocks import ConvBlock1d, ConvBlock2d, ZooModel, input_norm, pair, positive_ints, product
from features.errors import ConfigError

K2C2_CHANNELS = (64, 128, 128, 256, 256)
K2C2_WIDE_CHANNELS = (32, 64, 128, 256, 512)
K2C2_POOLS = ((2, 4), (2, 4), (2, 4), (3, 5), (4, 4))
K1C2_CHANNELS = (32, 64, 128, 256)
K1C2_POOLS = ((1, 4), (1, 5), (1, 8), (1, 8))
K2C1_CHANNELS = (32, 64, 128, 256, 256)
K2C1_POOLS = ((1, 4), (1, 4), (1, 5), (1, 5), (1, 5))

FULL = "full"  # a first-layer kernel spanning every mel band (k2c1's 128x1)


class FMAConvNet(ZooModel):
    """Fully convolutional conv -> BN -> ELU -> max-pool -> dropout stack with a 1x1 head and GAP.

    channels: widths of the blocks. kernels: one per block, an int (square), a (freq, time) pair, or
        "full" for a kernel of (n_mels, 1) without frequency padding (then the model is bound to
        n_mels bands). An int or pair alone applies to every block.
    pools: (freq, time) max-pool per block (clipped where the map is smaller).
    in_channels: input channels (1; 2 for log-mel and CQT): the first conv's input width.
    Minimum input: the product of the time pools (1280 frames for k2c2 and k1c2, 2000 for k2c1).
    """

    def __init__(
        self,
        n_classes: int,
        n_mels: int = 128,
        *,
        channels: Sequence[int] = K2C2_CHANNELS,
        kernels: int | Sequence[int | tuple[int, int] | str] = 3,
        pools: Sequence[tuple[int, int]] = K2C2_POOLS,
        dropout: float = 0.2,
        activation: str = "elu",
        input_bn: bool = True,
        in_channels: int = 1,
    ):
        channels = positive_ints("channels", channels)
        pools = tuple(pair(p) for p in pools)
        kernels = (kernels,) * len(channels) if isinstance(kernels, int) else tuple(kernels)
        if not len(channels) == len(pools) == len(kernels):
            raise ConfigError(
                f"channels={channels}, kernels={kernels} and pools={pools} must have the same length"
            )
        if FULL in kernels[1:]:
            raise ConfigError(f"kernels={kernels}: only the first block may span every band ('full')")
        full_first = kernels[0] == FULL
        super().__init__(min_frames=product(p[1] for p in pools), n_bins=n_mels if full_first else None,
                         in_channels=in_channels)
        self.input_bn = input_norm(input_bn, self.in_channels)
        widths = (self.in_channels, *channels)
        blocks: list[nn.Module] = []
        for i, (kernel, pool) in enumerate(zip(kernels, pools, strict=True)):
            if kernel == FULL:
                block = ConvBlock2d(widths[0], channels[0], 1, pool, activation=activation, dropout=dropout)
                block[0] = nn.Conv2d(widths[0], channels[0], (n_mels, 1))  # valid in frequency: n_mels -> 1
            else:
                block = ConvBlock2d(
                    widths[i], widths[i + 1], pair(kernel), pool, activation=activation, dropout=dropout
                )
            blocks.append(block)
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Conv2d(channels[-1], n_classes, 1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Last conv map. x: (batch, [in_channels,] n_mels, time) -> (batch, C, n_mels / 96, time / 1280) for k2c2."""
        x = self._as_image(x)  # (batch, in_channels, n_mels, time)
        x = self.input_bn(x)  # (batch, in_channels, n_mels, time)
        return self.blocks(x)  # (batch, C, freq', time'), e.g. (batch, 256, 1, 2) at 128 x 3000

    def class_maps(self, x: torch.Tensor) -> torch.Tensor:
        """Per-class evidence before pooling: (batch, n_classes, freq', time'); its mean is the logit."""
        return self.head(self.features(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)  # (batch, C, freq', time')
        x = self.head(x)  # (batch, n_classes, freq', time')
        return x.mean(dim=(2, 3))  # (batch, n_classes) logits


class FMAConvNet1d(ZooModel):
    """k1c2: conv1d (mel bands as input channels, kernel 4 over time, "same") -> BN -> ELU -> max-pool
    -> dropout blocks, a 1x1 conv head and global average pooling over time.

    The first layer sees every band at once (frequency fully connected), later ones the previous
    widths; so it is bound to `n_mels`. pools: time max-pool per block, ints or (1, t) pairs as
    the study writes them. in_channels: spectrogram channels (2: log-mel and CQT), laid side by
    side as in_channels * n_mels input channels of the first 1-D conv (which is fully connected in
    frequency anyway). Minimum input: the product of the pools (1280 frames).
    """

    def __init__(
        self,
        n_classes: int,
        n_mels: int = 128,
        *,
        channels: Sequence[int] = K1C2_CHANNELS,
        kernel: int = 4,
        pools: Sequence[int | tuple[int, int]] = K1C2_POOLS,
        dropout: float = 0.2,
        activation: str = "elu",
        input_bn: bool = True,
        in_channels: int = 1,
    ):
        channels = positive_ints("channels", channels)
        pools = tuple(p if isinstance(p, int) else pair(p)[1] for p in pools)
        if len(channels) != len(pools):
            raise ConfigError(f"channels={channels} and pools={pools} must have the same length")
        super().__init__(min_frames=product(pools), n_bins=n_mels, in_channels=in_channels)
        self.input_bn = input_norm(input_bn, self.in_channels)
        widths = (self.in_channels * n_mels, *channels)
        self.blocks = nn.Sequential(
            *(
                ConvBlock1d(widths[i], widths[i + 1], kernel, pools[i], activation=activation, dropout=dropout)
                for i in range(len(channels))
            )
        )
        self.head = nn.Conv1d(channels[-1], n_classes, 1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Last conv map. x: (batch, [in_channels,] n_mels, time) -> (batch, C, time / 1280)."""
        x = self._as_image(x)  # (batch, in_channels, n_mels, time)
        x = self.input_bn(x).flatten(1, 2)  # (batch, in_channels * n_mels, time)
        return self.blocks(x)  # (batch, C, time'), (batch, 256, 2) at 128 x 3000

    def class_maps(self, x: torch.Tensor) -> torch.Tensor:
        """Per-class evidence before pooling: (batch, n_classes, time'); its mean is the logit."""
        return self.head(self.features(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)  # (batch, C, time')
        x = self.head(x)  # (batch, n_classes, time')
        return x.mean(dim=-1)  # (batch, n_classes) logits
