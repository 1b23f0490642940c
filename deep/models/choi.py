"""Choi et al.'s tagging models: the fully convolutional FCN-4/FCN-5 (2016) and the CRNN (2017).

Both were designed for 96 mel bands x 1366 frames (29.1 s at 12 kHz, hop 256).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import torch
from torch import nn

from deep.models.blocks import (
    ConvBlock2d,
    RecurrentSummary,
    ZooModel,
    fit_pooled_size,
    input_norm,
    pair,
    positive_ints,
    product,
)
from features.errors import ConfigError

# Choi, Fazekas & Sandler 2016, Table 1: widths and (freq, time) max-pools.
FCN4_CHANNELS = (128, 384, 768, 2048)
FCN4_POOLS = ((2, 4), (4, 5), (3, 8), (4, 8))
FCN5_CHANNELS = (128, 256, 512, 1024, 2048)
FCN5_POOLS = ((2, 4), (2, 4), (2, 4), (3, 5), (4, 4))

# Choi et al. 2017 CRNN as released with the paper: 4 conv blocks, then two GRU layers of 32 units.
CRNN_CHANNELS = (64, 128, 128, 128)
CRNN_POOLS = ((2, 2), (3, 3), (4, 4), (4, 4))


def layer_widths(channels: str | Sequence[int], n_layers: int) -> tuple[int, ...]:
    """One positive width per conv layer, from a sequence or a dash- or comma-separated string (a model
    option: `channels=32-64-128-256-512`); ConfigError naming the value and the depth otherwise."""
    given = channels
    if isinstance(channels, str):
        parts = [p.strip() for p in re.split(r"[-,]", channels.strip())]
        channels = [int(p) if p.isdigit() else 0 for p in parts]
    try:
        channels = positive_ints("channels", channels)
    except (ConfigError, TypeError, ValueError):
        raise ConfigError(f"channels={given!r} must be positive integers, as a sequence or separated by '-' or "
                          "',', e.g. 32-64-128-256-512") from None
    if len(channels) != n_layers:
        raise ConfigError(f"channels={given!r} gives {len(channels)} width(s); this model has {n_layers} conv "
                          f"layers, one width each")
    return channels


class ChoiFCN(ZooModel):
    """Fully convolutional network of 3x3 conv -> BN -> activation -> max-pool blocks (FCN-4/FCN-5).

    `channels`: one width per pool (a sequence, or a string such as "32-64-128-256-512", as a model option).

    The paper's pools reduce 96 x 1366 to 1 x 1; here any remaining map is max-pooled globally, so
    longer inputs and other band counts work. The output layer is a dense layer on the last width.
    Minimum input: the product of the time pools (1280 frames for both FCN-4 and FCN-5); any number
    of mel bands (frequency pools clip to what is left); in_channels input channels (2: log-mel and CQT).
    """

    def __init__(
        self,
        n_classes: int,
        n_mels: int = 96,
        *,
        channels: Sequence[int] = FCN5_CHANNELS,
        pools: Sequence[tuple[int, int]] = FCN5_POOLS,
        activation: str = "relu",
        dropout: float = 0.0,
        input_bn: bool = True,
        in_channels: int = 1,
    ):
        pools = tuple(pair(p) for p in pools)
        channels = layer_widths(channels, len(pools))
        super().__init__(min_frames=product(p[1] for p in pools), in_channels=in_channels)
        self.input_bn = input_norm(input_bn, self.in_channels)
        widths = (self.in_channels, *channels)
        self.blocks = nn.Sequential(
            *(
                ConvBlock2d(widths[i], widths[i + 1], 3, pools[i], activation=activation, dropout=dropout)
                for i in range(len(channels))
            )
        )
        self.head = nn.Linear(channels[-1], n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Last conv map. x: (batch, [in_channels,] n_mels, time) -> (batch, C, n_mels / 96, time / 1280)."""
        x = self._as_image(x)  # (batch, in_channels, n_mels, time)
        x = self.input_bn(x)  # (batch, in_channels, n_mels, time)
        return self.blocks(x)  # (batch, C, n_mels / 96, time / 1280), (1, 1) at 96 x 1366

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)  # (batch, C, n_mels / 96, time / 1280)
        x = x.amax(dim=(2, 3))  # (batch, C)
        return self.head(x)  # (batch, n_classes) logits


class ChoiCRNN(ZooModel):
    """Convolutional recurrent network: 3x3 conv blocks summarise frequency, a 2-layer RNN summarises time.

    conv -> BN -> ELU -> max-pool -> dropout 0.1 blocks (64, 128, 128, 128; pools 2x2, 3x3, 4x4,
    4x4), the remaining frequency axis averaged (it is 1 for 96 or 128 bands), then a GRU, LSTM or
    plain RNN (`cell`) of two layers x 32 units over the remaining time steps, the last step's
    output, dropout 0.3 and a dense output layer.
    Minimum input: the product of the time pools (96 frames); any number of mel bands; in_channels
    input channels (2: log-mel and CQT).
    """

    def __init__(
        self,
        n_classes: int,
        n_mels: int = 96,
        *,
        channels: Sequence[int] = CRNN_CHANNELS,
        pools: Sequence[tuple[int, int]] = CRNN_POOLS,
        hidden: int = 32,
        rnn_layers: int = 2,
        cell: str = "gru",
        activation: str = "elu",
        dropout: float = 0.1,
        rnn_dropout: float = 0.3,
        input_bn: bool = True,
        in_channels: int = 1,
    ):
        pools = tuple(pair(p) for p in pools)
        channels = layer_widths(channels, len(pools))
        super().__init__(min_frames=product(p[1] for p in pools), in_channels=in_channels)
        self.input_bn = input_norm(input_bn, self.in_channels)
        widths = (self.in_channels, *channels)
        self.blocks = nn.Sequential(
            *(
                ConvBlock2d(widths[i], widths[i + 1], 3, pools[i], activation=activation, dropout=dropout)
                for i in range(len(channels))
            )
        )
        self.time_pools = tuple(p[1] for p in pools)
        self.rnn = RecurrentSummary(channels[-1], hidden, rnn_layers, cell)
        self.dropout = nn.Dropout(rnn_dropout)
        self.head = nn.Linear(hidden, n_classes)

    def rnn_steps(self, length: int) -> int:
        """Steps the RNN reads: `length` frames through the time pools (14 at 1366 frames, 1 at 130)."""
        return fit_pooled_size(int(length), self.time_pools)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self._as_image(x)  # (batch, in_channels, n_mels, time)
        x = self.input_bn(x)  # (batch, in_channels, n_mels, time)
        x = self.blocks(x)  # (batch, C, n_mels / 96, time / 96)
        x = x.mean(dim=2)  # (batch, C, time / 96)
        x = x.transpose(1, 2)  # (batch, time / 96, C)
        x = self.rnn(x)  # (batch, hidden)
        x = self.dropout(x)  # (batch, hidden)
        return self.head(x)  # (batch, n_classes) logits
