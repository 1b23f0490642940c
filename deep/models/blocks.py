"""Building blocks shared by the model zoo: the base class with input checks, convolution blocks,
max-pooling that adapts to small feature maps, a residual block and a recurrent summariser.

Layout conventions: mel models see (batch, in_channels, n_mels, time) images (frequency first, as in the
papers' "MP(freq, time)" notation; in_channels is 1, or 2 for aligned log-mel and CQT); 1-D models see
(batch, channels, time).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from features.errors import ConfigError

logger = logging.getLogger(__name__)

ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "elu": nn.ELU, "leaky_relu": nn.LeakyReLU}
CELLS: dict[str, type[nn.RNNBase]] = {"gru": nn.GRU, "lstm": nn.LSTM, "rnn": nn.RNN}

Size2 = int | tuple[int, int]


def make_activation(name: str) -> nn.Module:
    """A fresh activation module by name (one of `ACTIVATIONS`)."""
    try:
        return ACTIVATIONS[name]()
    except KeyError:
        raise ConfigError(f"activation={name!r} must be one of {sorted(ACTIVATIONS)}") from None


def pair(value: Size2) -> tuple[int, int]:
    """(freq, time) from an int or a pair; both must be positive."""
    out = (value, value) if isinstance(value, int) else tuple(int(v) for v in value)
    if len(out) != 2 or min(out) < 1:
        raise ConfigError(f"size={value!r} must be a positive int or a pair of positive ints")
    return out  # type: ignore[return-value]


def fit_pooled_size(size: int, pools: Sequence[int]) -> int:
    """Length of one axis after a chain of `FitMaxPool` windows (each clipped to the axis length)."""
    for p in pools:
        size //= min(p, size)
    return size


def positive_ints(name: str, values: Sequence[int]) -> tuple[int, ...]:
    """Validate a non-empty sequence of positive ints (channel widths, pool sizes)."""
    out = tuple(int(v) for v in values)
    if not out or min(out) < 1:
        raise ConfigError(f"{name}={values!r} must be a non-empty sequence of positive ints")
    return out


class FitMaxPool2d(nn.Module):
    """Max-pooling with a (freq, time) window and equal stride, the window clipped to the map.

    On a map at least as large as the window this is exactly `nn.MaxPool2d(kernel)`. Where one side
    of the map is shorter than the window, that side is pooled whole instead of failing, so a model
    built for 96 or 128 mel bands also runs on fewer bands, and late pools of a deep stack adapt
    when the time axis is already down to a few steps (CNN-4..7 on 130-frame excerpts).

    x: (batch, channels, freq, time) -> (batch, channels, freq // kf, time // kt) with
    kf = min(kernel[0], freq), kt = min(kernel[1], time).
    """

    def __init__(self, kernel: Size2):
        super().__init__()
        self.kernel = pair(kernel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kf, kt = min(self.kernel[0], x.shape[-2]), min(self.kernel[1], x.shape[-1])
        if kf == 1 and kt == 1:
            return x
        return F.max_pool2d(x, (kf, kt))  # (batch, channels, freq // kf, time // kt)

    def extra_repr(self) -> str:
        return f"kernel={self.kernel}"


class FitMaxPool1d(nn.Module):
    """1-D counterpart of `FitMaxPool2d`. x: (batch, channels, time) -> (batch, channels, time // k')."""

    def __init__(self, kernel: int):
        super().__init__()
        self.kernel = int(kernel)
        if self.kernel < 1:
            raise ConfigError(f"kernel={kernel!r} must be a positive int")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k = min(self.kernel, x.shape[-1])
        return x if k == 1 else F.max_pool1d(x, k)  # (batch, channels, time // k)

    def extra_repr(self) -> str:
        return f"kernel={self.kernel}"


def same_conv2d(cin: int, cout: int, kernel: Size2) -> nn.Module:
    """Stride-1 2-D convolution whose output keeps the input's (freq, time) size.

    Odd kernels pad symmetrically; even kernels (the 1x4 kernels of k1c2/k2c1) pad one more step on
    the far side, as Keras' `padding="same"` does. Weight shape (cout, cin, kf, kt), with a bias.
    """
    kf, kt = pair(kernel)
    if kf % 2 and kt % 2:
        return nn.Conv2d(cin, cout, (kf, kt), padding=(kf // 2, kt // 2))
    # ZeroPad2d takes (left, right, top, bottom) = (time before, time after, freq before, freq after)
    pad = ((kt - 1) // 2, kt // 2, (kf - 1) // 2, kf // 2)
    return nn.Sequential(nn.ZeroPad2d(pad), nn.Conv2d(cin, cout, (kf, kt)))


def same_conv1d(cin: int, cout: int, kernel: int, *, stride: int = 1, padding: int | None = None) -> nn.Module:
    """1-D convolution; with padding None a stride-1 one keeps the length ("same"): odd kernels pad
    kernel // 2 on both sides, even kernels (k1c2's 4) one more step after, as Keras' `padding="same"`.
    Weight shape (cout, cin, kernel), with a bias."""
    if padding is not None or kernel % 2:
        return nn.Conv1d(cin, cout, kernel, stride=stride, padding=kernel // 2 if padding is None else padding)
    return nn.Sequential(nn.ConstantPad1d(((kernel - 1) // 2, kernel // 2), 0.0), nn.Conv1d(cin, cout, kernel))


class ConvBlock2d(nn.Sequential):
    """conv -> BN -> activation -> max-pool -> dropout, the block most mel CNNs are made of.

    `bn_after_pool=True` gives conv -> activation -> max-pool -> BN (the GTZAN study's order).
    `kernel` is (freq, time) or an int; "same" padding. pool (1, 1) means no pooling.
    x: (batch, cin, freq, time) -> (batch, cout, freq // pool[0], time // pool[1]).
    """

    def __init__(
        self,
        cin: int,
        cout: int,
        kernel: Size2 = 3,
        pool: Size2 = 2,
        *,
        activation: str = "relu",
        dropout: float = 0.0,
        bn_after_pool: bool = False,
    ):
        layers: list[nn.Module] = [same_conv2d(cin, cout, kernel)]
        if not bn_after_pool:
            layers.append(nn.BatchNorm2d(cout))
        layers.append(make_activation(activation))
        if pair(pool) != (1, 1):
            layers.append(FitMaxPool2d(pool))
        if bn_after_pool:
            layers.append(nn.BatchNorm2d(cout))
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        super().__init__(*layers)


class ConvBlock1d(nn.Sequential):
    """conv1d ("same" padding, see `same_conv1d`) -> BN -> activation -> max-pool -> dropout.

    `bn_after_pool=True` gives conv -> activation -> pool -> BN. pool 1 means no pooling.
    x: (batch, cin, time) -> (batch, cout, time // pool).
    """

    def __init__(
        self,
        cin: int,
        cout: int,
        kernel: int = 3,
        pool: int = 1,
        *,
        stride: int = 1,
        padding: int | None = None,
        activation: str = "relu",
        dropout: float = 0.0,
        bn_after_pool: bool = False,
    ):
        if padding is None and stride != 1:
            padding = kernel // 2
        layers: list[nn.Module] = [same_conv1d(cin, cout, kernel, stride=stride, padding=padding)]
        if not bn_after_pool:
            layers.append(nn.BatchNorm1d(cout))
        layers.append(make_activation(activation))
        if pool > 1:
            layers.append(FitMaxPool1d(pool))
        if bn_after_pool:
            layers.append(nn.BatchNorm1d(cout))
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        super().__init__(*layers)


class ResBlock2d(nn.Module):
    """Two-conv residual block with a strided first conv (the short-chunk ResNet's `Res_2d`).

    main: conv(3x3, stride) -> BN -> ReLU -> conv(3x3) -> BN; shortcut: conv(3x3, stride) -> BN when
    the stride or width changes, identity otherwise; output ReLU(main + shortcut).
    x: (batch, cin, freq, time) -> (batch, cout, ceil(freq / stride), ceil(time / stride)).
    """

    def __init__(self, cin: int, cout: int, kernel: int = 3, stride: int = 2):
        super().__init__()
        pad = kernel // 2
        self.conv_1 = nn.Conv2d(cin, cout, kernel, stride=stride, padding=pad)
        self.bn_1 = nn.BatchNorm2d(cout)
        self.conv_2 = nn.Conv2d(cout, cout, kernel, padding=pad)
        self.bn_2 = nn.BatchNorm2d(cout)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(
                nn.Conv2d(cin, cout, kernel, stride=stride, padding=pad), nn.BatchNorm2d(cout)
            )
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn_1(self.conv_1(x)))  # (batch, cout, freq / stride, time / stride)
        out = self.bn_2(self.conv_2(out))  # (batch, cout, freq / stride, time / stride)
        return self.relu(out + self.shortcut(x))  # (batch, cout, freq / stride, time / stride)


class RecurrentSummary(nn.Module):
    """A stacked GRU, LSTM or plain (tanh) RNN that summarises a sequence by its last step's output.

    x: (batch, steps, features) -> (batch, hidden).
    """

    def __init__(self, features: int, hidden: int = 32, layers: int = 2, cell: str = "gru"):
        super().__init__()
        if cell not in CELLS:
            raise ConfigError(f"cell={cell!r} must be one of {sorted(CELLS)}")
        if hidden < 1 or layers < 1:
            raise ConfigError(f"hidden={hidden} and layers={layers} must be positive ints")
        self.cell = cell
        self.rnn = CELLS[cell](features, hidden, num_layers=layers, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)  # (batch, steps, hidden)
        return out[:, -1]  # (batch, hidden)


class ZooModel(nn.Module):
    """Base of every model in the zoo: input-layout checks and the attributes trainers read.

    Attributes set by subclasses:
        input_kind: "mel", "mfcc" or "waveform" (what `forward` expects).
        min_frames: shortest input accepted, in frames (samples for waveform models).
        n_bins: number of mel bands / MFCCs the model is bound to, or None where any number works.
        in_channels: spectrogram channels of the input image (1; 2 for the aligned log-mel and CQT of
            ``--deep-input mel+cqt``): 2-D models widen their first layer, 1-D models take
            in_channels * n_bins input channels.
        head: the layer that produces the logits (replace it to fine-tune on new classes).
    `forward` returns logits (batch, n_classes); never a sigmoid or softmax.
    """

    input_kind: str = "mel"

    def __init__(self, min_frames: int, n_bins: int | None = None, in_channels: int = 1):
        super().__init__()
        if min_frames < 1:
            raise ConfigError(f"min_frames={min_frames} must be a positive int")
        if isinstance(in_channels, bool) or not isinstance(in_channels, int) or in_channels < 1:
            raise ConfigError(f"in_channels={in_channels!r} must be a positive int")
        self.min_frames = int(min_frames)
        self.n_bins = n_bins
        self.in_channels = int(in_channels)

    def rnn_steps(self, length: int) -> int | None:
        """Time steps a recurrent layer reads for an input of `length` frames (samples), or None when
        the model has no recurrent layer. Recurrent models override it."""
        return None

    @property
    def output_layer(self) -> nn.Module:
        """The last dense or conv layer of `head`: the one whose output is the logits."""
        layers = [m for m in self.head.modules() if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d))]
        return layers[-1]

    def _check_bins_and_length(self, bins: int, length: int) -> None:
        name = type(self).__name__
        if self.n_bins is not None and bins != self.n_bins:
            arg = "n_mfcc" if self.input_kind == "mfcc" else "n_mels"
            raise ConfigError(
                f"{name} was built for {self.n_bins} {self.input_kind} bins but the input has {bins}; "
                f"build it with {arg}={bins}"
            )
        if length < self.min_frames:
            unit = "samples" if self.input_kind == "waveform" else "frames"
            raise ConfigError(f"{name} input has {length} {unit}; it needs at least {self.min_frames}")

    def _as_image(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, n_mels, time) or (batch, 1, n_mels, time) -> (batch, 1, n_mels, time), checked; a model
        built with in_channels=C > 1 takes (batch, C, n_mels, time) only."""
        c = getattr(self, "in_channels", 1)
        if x.dim() == 3 and c == 1:
            x = x.unsqueeze(1)
        elif not (x.dim() == 4 and x.shape[1] == c):
            if c == 1:
                raise ConfigError(
                    f"input shape {tuple(x.shape)} must be (batch, n_mels, time) or (batch, 1, n_mels, time)"
                )
            raise ConfigError(f"input shape {tuple(x.shape)} must be (batch, {c}, n_mels, time): "
                              f"{type(self).__name__} was built with in_channels={c}")
        self._check_bins_and_length(x.shape[-2], x.shape[-1])
        return x

    def _as_sequence(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, bins, time) or (batch, C, bins, time) -> (batch, C * bins, time): bins become channels."""
        return self._as_image(x).flatten(1, 2)

    def _as_wave(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, samples) or (batch, 1, samples) -> (batch, 1, samples), checked."""
        if x.dim() == 2:
            x = x.unsqueeze(1)
        elif not (x.dim() == 3 and x.shape[1] == 1):
            raise ConfigError(f"input shape {tuple(x.shape)} must be (batch, samples) or (batch, 1, samples)")
        self._check_bins_and_length(1, x.shape[-1])
        return x


def input_norm(enabled: bool, channels: int = 1) -> nn.Module:
    """BatchNorm over the input channels (2 parameters per channel: 2 for one log-mel), or identity.

    Standardises dB-scaled spectrograms inside the model, as the reference implementations of
    Choi et al. and Won et al. do; the papers' layer lists do not count it. With two channels
    (log-mel and CQT) each is standardised on its own.
    """
    return nn.BatchNorm2d(channels) if enabled else nn.Identity()


def product(values: Sequence[int]) -> int:
    """Product of ints (1 for an empty sequence)."""
    return math.prod(int(v) for v in values)
