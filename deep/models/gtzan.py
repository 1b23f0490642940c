"""The GTZAN genre study's models: CNN-3..CNN-7 on 3-s mel (or MFCC) excerpts and the FFNN baseline.

Designed for 128 mel bands (or 20 MFCCs) x 130 frames: 3 s at 22,050 Hz, hop 512.
Reference layer list: conv 3x3x32, MP(2,4); conv 3x3x32, MP(4,4); conv 3x3x32, MP(2,5) (CNN-3);
CNN-4/5 add conv 3x3x64 MP(2,4) and conv 3x3x64 MP(4,4); CNN-6/7 add one/two 1x1x128 convs.
ReLU, batch norm after each max-pooling, one dropout 0.3 before the dense output layer.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from deep.models.blocks import ConvBlock1d, ConvBlock2d, ZooModel, fit_pooled_size, input_norm, product
from features.errors import ConfigError

# (width, kernel, (freq pool, time pool)) of the seven conv layers; CNN-n uses the first n.
GTZAN_LAYERS: tuple[tuple[int, int, tuple[int, int]], ...] = (
    (32, 3, (2, 4)),
    (32, 3, (4, 4)),
    (32, 3, (2, 5)),
    (64, 3, (2, 4)),
    (64, 3, (4, 4)),
    (128, 1, (1, 1)),
    (128, 1, (1, 1)),
)
# 130 frames are reduced to 1 by the first three time pools (4 * 4 * 5 = 80 <= 130 < 160);
# the later time pools of CNN-4/5 meet a single step and adapt (see FitMaxPool2d).
GTZAN_MIN_FRAMES = product(p[1] for _, _, p in GTZAN_LAYERS[:3])


def _gtzan_layers(depth: int) -> tuple[tuple[int, int, tuple[int, int]], ...]:
    if not 3 <= depth <= len(GTZAN_LAYERS):
        raise ConfigError(f"depth={depth} must be between 3 and {len(GTZAN_LAYERS)} (CNN-3 .. CNN-7)")
    return GTZAN_LAYERS[:depth]


class GTZANCNN(ZooModel):
    """CNN-n (n = `depth`, 3..7) on a mel spectrogram: conv -> ReLU -> max-pool -> BN blocks.

    The dense output layer reads the flattened (channels x remaining bands) map; remaining time
    steps (one at 130 frames, so the paper's flatten) are averaged, so longer excerpts work too.
    Bound to `n_mels` bands (the dense layer's width depends on it); in_channels input channels (2:
    log-mel and CQT). Minimum input: 80 frames.
    """

    def __init__(self, n_classes: int, n_mels: int = 128, *, depth: int = 3, dropout: float = 0.3,
                 input_bn: bool = True, in_channels: int = 1):
        layers = _gtzan_layers(depth)
        super().__init__(min_frames=GTZAN_MIN_FRAMES, n_bins=n_mels, in_channels=in_channels)
        self.input_bn = input_norm(input_bn, self.in_channels)
        widths = (self.in_channels, *(w for w, _, _ in layers))
        self.blocks = nn.Sequential(
            *(
                ConvBlock2d(widths[i], w, k, pool, activation="relu", bn_after_pool=True)
                for i, (w, k, pool) in enumerate(layers)
            )
        )
        self.out_bands = fit_pooled_size(n_mels, [p[0] for _, _, p in layers])
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(widths[-1] * self.out_bands, n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Last conv map. x: (batch, [in_channels,] n_mels, time) -> (batch, C, out_bands, time')."""
        x = self._as_image(x)  # (batch, in_channels, n_mels, time)
        x = self.input_bn(x)  # (batch, in_channels, n_mels, time)
        return self.blocks(x)  # (batch, C, out_bands, time'); (batch, 32, 8, 1) for CNN-3 on 128 x 130

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)  # (batch, C, out_bands, time')
        x = x.flatten(1, 2)  # (batch, C * out_bands, time')
        x = x.mean(dim=-1)  # (batch, C * out_bands)
        x = self.dropout(x)  # (batch, C * out_bands)
        return self.head(x)  # (batch, n_classes) logits


class GTZANCNN1d(ZooModel):
    """CNN-n on MFCCs: the same widths and time pools as `GTZANCNN`, as 1-D convolutions over time.

    The coefficients are the input channels (conv1d kernel 3, or 1 for the 1x1x128 layers);
    conv -> ReLU -> max-pool (the time part of each pool) -> BN; remaining steps are averaged,
    dropout 0.3, dense output. Bound to `n_mfcc` coefficients (20 in the study); `n_mels` is
    ignored. Minimum input: 80 frames.
    """

    input_kind = "mfcc"

    def __init__(self, n_classes: int, n_mfcc: int = 20, *, depth: int = 3, dropout: float = 0.3):
        layers = _gtzan_layers(depth)
        super().__init__(min_frames=GTZAN_MIN_FRAMES, n_bins=n_mfcc)
        widths = (n_mfcc, *(w for w, _, _ in layers))
        self.blocks = nn.Sequential(
            *(
                ConvBlock1d(widths[i], w, k, pool[1], activation="relu", bn_after_pool=True)
                for i, (w, k, pool) in enumerate(layers)
            )
        )
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(widths[-1], n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Last conv map. x: (batch, [1,] n_mfcc, time) -> (batch, C, time')."""
        x = self._as_sequence(x)  # (batch, n_mfcc, time)
        return self.blocks(x)  # (batch, C, time'); (batch, 32, 1) for CNN-3 on 20 x 130

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)  # (batch, C, time')
        x = x.mean(dim=-1)  # (batch, C)
        x = self.dropout(x)  # (batch, C)
        return self.head(x)  # (batch, n_classes) logits


class FFNN(ZooModel):
    """Feed-forward baseline on the flattened mel excerpt: 512-256-64, ReLU, dropout 0.3.

    Bound to `n_mels` x `n_frames` (128 x 130 in the study). Longer inputs are average-pooled along
    time to `n_frames` first (exactly the identity at `n_frames`); shorter ones are rejected. The
    study's L2 penalty (0.001) belongs to the optimiser's weight decay, not the model. With
    in_channels C (2: log-mel and CQT) the first dense layer reads C * n_mels * n_frames values.
    """

    def __init__(
        self,
        n_classes: int,
        n_mels: int = 128,
        *,
        n_frames: int = 130,
        hidden: Sequence[int] = (512, 256, 64),
        dropout: float = 0.3,
        input_bn: bool = True,
        in_channels: int = 1,
    ):
        super().__init__(min_frames=n_frames, n_bins=n_mels, in_channels=in_channels)
        self.n_frames = int(n_frames)
        self.input_bn = input_norm(input_bn, self.in_channels)
        widths = (self.in_channels * n_mels * self.n_frames, *hidden)
        layers: list[nn.Module] = []
        for i in range(len(hidden)):
            layers += [nn.Linear(widths[i], widths[i + 1]), nn.ReLU(), nn.Dropout(dropout)]
        self.mlp = nn.Sequential(*layers)
        self.head = nn.Linear(widths[-1], n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self._as_image(x)  # (batch, in_channels, n_mels, time)
        x = self.input_bn(x)  # (batch, in_channels, n_mels, time)
        if x.shape[-1] != self.n_frames:
            x = F.adaptive_avg_pool2d(x, (x.shape[-2], self.n_frames))  # (batch, in_channels, n_mels, n_frames)
        x = x.flatten(1)  # (batch, in_channels * n_mels * n_frames)
        x = self.mlp(x)  # (batch, hidden[-1])
        return self.head(x)  # (batch, n_classes) logits
