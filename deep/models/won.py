"""Won et al. 2020's re-implementations of five tagging models (sota-music-tagging-models, MTAT setting):
the FCN, Musicnn, the sample-level CNN with squeeze-and-excitation, the self-attention CNN and the
Harmonic CNN with its learnable harmonic filterbank. Layer sizes, and so parameter counts, equal the
public code's (`training/model.py`, `training/modules.py`) for 50 tags.

The public code computes the mel spectrogram inside `forward`; here the mel models (FCN, Musicnn,
CNNSA) take a log-mel batch that the toolkit computes with `WON_PAPER_FRONTEND`, and keep the code's
input BatchNorm (`spec_bn`). The Harmonic CNN takes waveforms: its filterbank is part of the model.
"""

from __future__ import annotations

import librosa
import numpy as np
import torch
from torch import nn

from deep.frontend import power_to_db
from deep.models.blocks import (
    ConvBlock1d,
    ConvBlock2d,
    FitMaxPool1d,
    FitMaxPool2d,
    ResBlock2d,
    Size2,
    ZooModel,
    input_norm,
    pair,
    product,
)
from deep.models.choi import FCN5_POOLS, ChoiFCN
from deep.models.waveform import SAMPLECNN_CHANNELS, SAMPLECNN_STEM
from features.errors import ConfigError

# torchaudio.transforms.MelSpectrogram(sample_rate=16000, n_fft=512, f_min=0, f_max=8000) as the code
# builds it: hop n_fft // 2, HTK mel scale, no filter normalisation, power 2, then AmplitudeToDB
# (10 * log10(max(power, 1e-10)), no top_db), which is the toolkit's dB convention. Per-model exception:
# the code's FCN, Musicnn and CRNN keep torchaudio's n_mels default of 96 (each spec's paper_n_bins),
# CNNSA and the short-chunk models use 128. torchaudio pads centred frames by reflection, the toolkit
# by zeros: only the first and last frame differ.
WON_PAPER_FRONTEND = dict(
    sr=16000, n_fft=512, hop_length=256, n_mels=128, fmin=0.0, fmax=8000.0, htk=True, norm=None, power=2.0
)
WON_PAPER_HOP = WON_PAPER_FRONTEND["hop_length"]

# model.py FCN: Choi et al.'s FCN-5 pools with narrower widths.
WON_FCN_CHANNELS = (64, 128, 128, 128, 64)

# model.py Musicnn (dataset="mtat"): vertical filters int(0.7 * 96) and int(0.4 * 96) bands high and 7
# frames wide, horizontal filters over the band-averaged spectrogram; back-end and dense widths
# (the code uses 512 and 500 for the MSD).
MUSICNN_TIMBRAL_HEIGHTS = (int(0.7 * 96), int(0.4 * 96))  # (67, 38)
MUSICNN_TIMBRAL_FILTERS = 204
MUSICNN_TEMPORAL_LENGTHS = (129, 65, 33)
MUSICNN_TEMPORAL_FILTERS = 51
MUSICNN_BACKEND = 64
MUSICNN_DENSE = 200

# modules.py HarmonicSTFT: bandwidth of a filter centred at f Hz, (ALPHA * f + BETA) / Q (the
# equivalent rectangular bandwidth, Glasberg & Moore, scaled by the learnable Q).
HARMONIC_BW_ALPHA = 0.1079
HARMONIC_BW_BETA = 24.7
# model.py HarmonicCNN: the max-pools of its seven layers, (pitch, time).
HARMONIC_POOLS = ((2, 2), (2, 2), (2, 2), (2, 2), (2, 2), (2, 3), (2, 3))


def _dense_head(width: int, hidden: int, n_classes: int, dropout: float) -> nn.Sequential:
    """dense -> BN -> ReLU -> dropout -> dense. (batch, width) -> (batch, n_classes) logits."""
    return nn.Sequential(
        nn.Linear(width, hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, n_classes)
    )


class WonFCN(ChoiFCN):
    """The code's FCN: five 3x3 conv -> BN -> ReLU -> max-pool blocks (64, 128, 128, 128, 64; FCN-5's
    pools (2,4), (2,4), (2,4), (3,5), (4,4)), global max pool, dropout 0.5, dense output layer.

    96 bands x 1813 frames (29 s at 16 kHz) pool to 1 x 1, as in the code, which flattens that map;
    global max pooling lets 128 bands and longer inputs through. Minimum input: 1280 frames.
    in_channels: input channels (2: log-mel and CQT), as `ChoiFCN`.
    """

    def __init__(self, n_classes: int, n_mels: int = 96, *, dropout: float = 0.5, input_bn: bool = True,
                 in_channels: int = 1):
        super().__init__(
            n_classes, n_mels, channels=WON_FCN_CHANNELS, pools=FCN5_POOLS, activation="relu", input_bn=input_bn,
            in_channels=in_channels,
        )
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)  # (batch, 64, n_mels / 96, time / 1280)
        x = x.amax(dim=(2, 3))  # (batch, 64)
        x = self.dropout(x)  # (batch, 64)
        return self.head(x)  # (batch, n_classes) logits


class Musicnn(ZooModel):
    """Pons et al.'s musicnn as the code has it: a musically motivated front-end, dense 1-D mid-end,
    max + mean pooled back-end.

    front-end: two vertical (timbral) filter banks, conv (h x 7) -> BN -> ReLU -> max over bands, and
        three horizontal (temporal) banks, mean over bands -> conv1d (129, 65 or 33) -> BN -> ReLU:
        204 + 204 + 3 x 51 = 561 channels per frame.
    mid-end: three conv1d(7) -> BN -> ReLU layers of 64, the second and third with a residual.
    back-end: front-end and mid-end outputs concatenated (561 + 3 x 64 = 753), max and mean over time
        (1506), dense 200 -> BN -> ReLU -> dropout 0.5 -> dense output layer.
    The code fixes the filter heights for 96 bands (67 and 38) whatever the band count; a model built
    for fewer bands clips them to n_mels, and an input with fewer bands than the tallest filter is
    rejected. Any length works (every conv is "same" padded): min_frames is 1.
    in_channels C (2: log-mel and CQT): the vertical filters span the C channels, the horizontal ones
    read the C band-averaged channels.
    """

    def __init__(
        self,
        n_classes: int,
        n_mels: int = 96,
        *,
        timbral_heights: tuple[int, ...] = MUSICNN_TIMBRAL_HEIGHTS,
        timbral_filters: int = MUSICNN_TIMBRAL_FILTERS,
        temporal_lengths: tuple[int, ...] = MUSICNN_TEMPORAL_LENGTHS,
        temporal_filters: int = MUSICNN_TEMPORAL_FILTERS,
        backend: int = MUSICNN_BACKEND,
        dense: int = MUSICNN_DENSE,
        dropout: float = 0.5,
        input_bn: bool = True,
        in_channels: int = 1,
    ):
        super().__init__(min_frames=1, in_channels=in_channels)
        if any(k % 2 == 0 for k in temporal_lengths):
            raise ConfigError(f"temporal_lengths={temporal_lengths} must be odd to keep the frame count")
        heights = tuple(min(int(h), n_mels) for h in timbral_heights)
        self.min_bins = max(heights)
        self.input_bn = input_norm(input_bn, self.in_channels)
        c = self.in_channels
        self.timbral = nn.ModuleList(
            nn.Sequential(nn.Conv2d(c, timbral_filters, (h, 7), padding=(0, 3)), nn.BatchNorm2d(timbral_filters),
                          nn.ReLU())
            for h in heights
        )  # fmt: skip
        self.temporal = nn.ModuleList(ConvBlock1d(c, temporal_filters, k) for k in temporal_lengths)
        front = len(heights) * timbral_filters + len(temporal_lengths) * temporal_filters
        self.mid = nn.ModuleList(ConvBlock1d(front if i == 0 else backend, backend, 7) for i in range(3))
        self.head = _dense_head(2 * (front + 3 * backend), dense, n_classes, dropout)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled back-end vector. x: (batch, [in_channels,] n_mels, time) -> (batch, 2 * (561 + 3 * 64))."""
        x = self._as_image(x)  # (batch, in_channels, n_mels, time)
        if x.shape[-2] < self.min_bins:
            raise ConfigError(
                f"Musicnn input has {x.shape[-2]} mel bands; its tallest filter needs at least {self.min_bins}"
            )
        x = self.input_bn(x)  # (batch, in_channels, n_mels, time)
        timbral = [conv(x).amax(dim=2) for conv in self.timbral]  # each (batch, 204, time)
        band_mean = x.mean(dim=2)  # (batch, in_channels, time)
        temporal = [conv(band_mean) for conv in self.temporal]  # each (batch, 51, time)
        front = torch.cat(timbral + temporal, dim=1)  # (batch, 561, time)
        mid = [self.mid[0](front)]  # (batch, 64, time)
        for layer in self.mid[1:]:
            mid.append(layer(mid[-1]) + mid[-1])  # (batch, 64, time), residual
        x = torch.cat([front, *mid], dim=1)  # (batch, 753, time)
        return torch.cat([x.amax(dim=-1), x.mean(dim=-1)], dim=1)  # (batch, 1506)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))  # (batch, n_classes) logits


class ResSE1d(nn.Module):
    """The code's `ResSE_1d`: two-conv residual block with squeeze-and-excitation, then max-pool.

    main: conv(k, stride) -> BN -> ReLU -> conv(k) -> BN, scaled per channel by
    sigmoid(dense(ReLU(dense(mean over time)))) (both dense layers cout -> cout, as in the code);
    shortcut: conv(k, stride) -> BN when the stride or width changes; ReLU(main + shortcut) -> pool.
    x: (batch, cin, time) -> (batch, cout, ceil(time / stride) // pool).
    """

    def __init__(self, cin: int, cout: int, kernel: int = 3, stride: int = 1, pool: int = 3):
        super().__init__()
        pad = kernel // 2
        self.conv_1 = nn.Conv1d(cin, cout, kernel, stride=stride, padding=pad)
        self.bn_1 = nn.BatchNorm1d(cout)
        self.conv_2 = nn.Conv1d(cout, cout, kernel, padding=pad)
        self.bn_2 = nn.BatchNorm1d(cout)
        self.excite = nn.Sequential(nn.Linear(cout, cout), nn.ReLU(), nn.Linear(cout, cout), nn.Sigmoid())
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(
                nn.Conv1d(cin, cout, kernel, stride=stride, padding=pad), nn.BatchNorm1d(cout)
            )
        self.relu = nn.ReLU()
        self.pool: nn.Module = FitMaxPool1d(pool) if pool > 1 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn_1(self.conv_1(x)))  # (batch, cout, time / stride)
        out = self.bn_2(self.conv_2(out))  # (batch, cout, time / stride)
        scale = self.excite(out.mean(dim=-1))  # (batch, cout)
        out = out * scale.unsqueeze(-1)  # (batch, cout, time / stride)
        return self.pool(self.relu(out + self.shortcut(x)))  # (batch, cout, time / stride / pool)


class SampleCNNSE(ZooModel):
    """Kim et al. 2018's sample-level CNN with residual squeeze-and-excitation blocks (the code's
    `SampleCNNSE`): SampleCNN's widths (128, then 128 .. 512) with each conv block replaced by `ResSE1d`.

    59,049 = 3^10 samples: the stride-3 first block leaves 3^9 steps, nine blocks pooling by 3 leave
    one, a last 1x1 block (512), global max pool (the code squeezes the single step), then dense 512 ->
    BN -> ReLU -> dropout 0.5 -> dense output layer. Minimum input: 3^10 samples.
    """

    input_kind = "waveform"

    def __init__(self, n_classes: int, *, dropout: float = 0.5):
        super().__init__(min_frames=3 ** (1 + len(SAMPLECNN_CHANNELS)))
        widths = (SAMPLECNN_STEM, *SAMPLECNN_CHANNELS)
        self.stem = ResSE1d(1, SAMPLECNN_STEM, 3, stride=3, pool=1)
        self.blocks = nn.Sequential(*(ResSE1d(widths[i], widths[i + 1], 3) for i in range(len(widths) - 1)))
        self.mix = ResSE1d(widths[-1], widths[-1], 1, pool=1)
        self.head = _dense_head(widths[-1], widths[-1], n_classes, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self._as_wave(x)  # (batch, 1, samples)
        x = self.stem(x)  # (batch, 128, samples / 3)
        x = self.blocks(x)  # (batch, 512, samples / 3^10)
        x = self.mix(x)  # (batch, 512, samples / 3^10)
        return self.head(x.amax(dim=-1))  # (batch, n_classes) logits


class BertLayer(nn.Module):
    """A BERT encoder layer as the code's `attention_modules.BertLayer` has it (post-norm).

    x = LN(x + dropout(attention(x))); x = LN(x + dropout(dense(GELU(dense(x))))), with dropout on the
    attention probabilities (`attn_dropout`) and none inside the feed-forward, LayerNorm eps 1e-12.
    `nn.TransformerEncoderLayer` has the same parameters but one dropout rate for all three places and
    an extra one after the GELU, hence this class. x: (batch, tokens, width) -> same shape.
    """

    def __init__(
        self, width: int = 256, heads: int = 8, ff: int = 1024, *, attn_dropout: float = 0.5, dropout: float = 0.4
    ):
        super().__init__()
        if width % heads:
            raise ConfigError(f"width={width} must be a multiple of heads={heads}")
        self.attention = nn.MultiheadAttention(width, heads, dropout=attn_dropout, batch_first=True)
        self.norm_1 = nn.LayerNorm(width, eps=1e-12)
        self.ff = nn.Sequential(nn.Linear(width, ff), nn.GELU(), nn.Linear(ff, width))
        self.norm_2 = nn.LayerNorm(width, eps=1e-12)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        attended, _ = self.attention(x, x, x, need_weights=False)  # (batch, tokens, width)
        x = self.norm_1(x + self.dropout(attended))  # (batch, tokens, width)
        return self.norm_2(x + self.dropout(self.ff(x)))  # (batch, tokens, width)


def cls_token(width: int, seed: int = 0) -> torch.Tensor:
    """The code's fixed (not learned) [CLS] vector: `np.random.seed(0); np.random.random(width)`."""
    return torch.from_numpy(np.random.RandomState(seed).random_sample(width).astype(np.float32))


class CNNSA(ZooModel):
    """Won et al. 2019's self-attention CNN: a residual front-end, a 2-layer BERT encoder over time.

    front-end: seven `ResBlock2d` (the code's `Res_2d`) of widths c, c, 2c, 2c, 2c, 2c, 2c (c = 128),
    the first three with stride 2, the rest with stride (2, 1): 128 bands x T frames become
    256 channels x 1 band x ceil(T / 8) steps. The steps, after the fixed [CLS] vector, go through
    two BERT layers (width 256, 8 heads, feed-forward 1024, dropout 0.4, attention dropout 0.5; no
    position embeddings, as in the code); the [CLS] output -> dense -> tanh (BERT's pooler) ->
    dropout 0.5 -> dense output layer.
    Other band counts: a remaining band axis is max-pooled (the code requires it to be 1). Any
    length works (stride-2 convs round up): min_frames is 1. in_channels: input channels (2: log-mel
    and CQT), the first residual block's input width.
    """

    def __init__(
        self,
        n_classes: int,
        n_mels: int = 128,
        *,
        n_channels: int = 128,
        layers: int = 2,
        heads: int = 8,
        ff: int = 1024,
        attn_dropout: float = 0.5,
        hidden_dropout: float = 0.4,
        dropout: float = 0.5,
        input_bn: bool = True,
        in_channels: int = 1,
    ):
        super().__init__(min_frames=1, in_channels=in_channels)
        c = n_channels
        widths = (self.in_channels, c, c, 2 * c, 2 * c, 2 * c, 2 * c, 2 * c)
        strides: tuple[Size2, ...] = (2, 2, 2, (2, 1), (2, 1), (2, 1), (2, 1))
        self.input_bn = input_norm(input_bn, self.in_channels)
        self.blocks = nn.Sequential(*(ResBlock2d(widths[i], widths[i + 1], 3, strides[i]) for i in range(7)))
        width = widths[-1]
        self.register_buffer("cls", cls_token(width), persistent=False)
        self.encoder = nn.Sequential(
            *(BertLayer(width, heads, ff, attn_dropout=attn_dropout, dropout=hidden_dropout) for _ in range(layers))
        )
        self.pooler = nn.Sequential(nn.Linear(width, width), nn.Tanh())
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(width, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self._as_image(x)  # (batch, in_channels, n_mels, time)
        x = self.input_bn(x)  # (batch, in_channels, n_mels, time)
        x = self.blocks(x)  # (batch, 256, n_mels / 128, time / 8)
        x = x.amax(dim=2).transpose(1, 2)  # (batch, time / 8, 256)
        cls = self.cls.to(x.dtype).expand(x.shape[0], 1, -1)  # (batch, 1, 256)
        x = self.encoder(torch.cat([cls, x], dim=1))  # (batch, 1 + time / 8, 256)
        x = self.pooler(x[:, 0])  # (batch, 256)
        return self.head(self.dropout(x))  # (batch, n_classes) logits


def harmonic_centres(*, sr: int = 16000, n_harmonic: int = 6, semitone_scale: int = 2) -> tuple[np.ndarray, int]:
    """Centre frequencies of the harmonic filterbank (the code's `initialize_filterbank`).

    `level` pitches from C1 upwards in steps of 1 / semitone_scale semitone, up to (excluded) the note
    nearest sr / (2 * n_harmonic), so that the top harmonic stays below Nyquist; 16 kHz, 6 harmonics,
    2 steps per semitone: C1 (32.7 Hz) .. E6, level = 2 * (88 - 24) = 128.
    Returns (centres, level): centres of shape (n_harmonic * level,), harmonic h (1-based) of every
    pitch in block h - 1, i.e. `centres.reshape(n_harmonic, level)[h - 1] == h * pitches`.
    """
    low = int(librosa.note_to_midi("C1"))
    high = int(librosa.note_to_midi(librosa.hz_to_note(sr / (2 * n_harmonic))))
    level = (high - low) * semitone_scale
    if level < 1:
        raise ConfigError(f"sr={sr} with n_harmonic={n_harmonic} leaves no pitch above C1")
    pitches = librosa.midi_to_hz(np.linspace(low, high, level + 1)[:-1])
    return np.concatenate([pitches * h for h in range(1, n_harmonic + 1)]), level


class HarmonicSTFT(nn.Module):
    """Power STFT -> triangular filters at harmonics 1..n of fixed pitches -> dB (the code's `HarmonicSTFT`).

    The filter centred at f Hz has the (learnable) bandwidth bw = (0.1079 f + 24.7) / Q and response
    max(0, 1 - 2 |freq - f| / bw) at each FFT bin: 1 at f, 0 from bw / 2 away. Q (one scalar,
    initialised to 1) is learned when `learn_q` (the code's learn_bw="only_Q", its default); the
    centres are fixed (`harmonic_centres`), as in the code. STFT as torchaudio's `Spectrogram`: periodic
    Hann window of n_fft, hop n_fft // 2, centred frames padded by reflection, power 2; computed in
    float32 even under autocast. dB: 10 log10(max(power, 1e-10)), as torchaudio's AmplitudeToDB.

    forward: wav (batch, samples) -> (batch, n_harmonic, level, 1 + samples // hop_length) dB.
    """

    def __init__(
        self,
        *,
        sr: int = 16000,
        n_fft: int = 512,
        hop_length: int | None = None,
        n_harmonic: int = 6,
        semitone_scale: int = 2,
        bw_q: float = 1.0,
        learn_q: bool = True,
        pad_mode: str = "reflect",
    ):
        super().__init__()
        self.n_fft, self.hop_length = int(n_fft), int(hop_length or n_fft // 2)
        self.n_harmonic, self.pad_mode = int(n_harmonic), pad_mode
        centres, self.level = harmonic_centres(sr=sr, n_harmonic=n_harmonic, semitone_scale=semitone_scale)
        self.register_buffer("centres", torch.from_numpy(centres.astype(np.float32)), persistent=False)
        self.register_buffer("fft_freqs", torch.linspace(0, sr // 2, self.n_fft // 2 + 1), persistent=False)
        self.register_buffer("window", torch.hann_window(self.n_fft), persistent=False)
        q = torch.tensor([float(bw_q)])
        if learn_q:
            self.bw_q = nn.Parameter(q)
        else:
            self.register_buffer("bw_q", q)

    def filterbank(self) -> torch.Tensor:
        """Triangular filters, shape (1 + n_fft // 2, n_harmonic * level), float32."""
        bw = (HARMONIC_BW_ALPHA * self.centres + HARMONIC_BW_BETA) / self.bw_q.float()  # (n_harmonic * level,)
        distance = (self.fft_freqs[:, None] - self.centres[None, :]).abs()  # (n_bins, n_harmonic * level)
        return torch.clamp(1.0 - 2.0 * distance / bw, min=0.0)

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        with torch.autocast(device_type=wav.device.type, enabled=False):
            spec = torch.stft(
                wav.float(),
                n_fft=self.n_fft,
                hop_length=self.hop_length,
                window=self.window,
                center=True,
                pad_mode=self.pad_mode,
                return_complex=True,
            )  # (batch, n_bins, frames)
            power = spec.abs().pow(2)  # (batch, n_bins, frames)
            harmonic = torch.matmul(self.filterbank().T, power)  # (batch, n_harmonic * level, frames)
            harmonic = harmonic.view(wav.shape[0], self.n_harmonic, self.level, -1)  # (batch, h, level, frames)
            return power_to_db(harmonic)


class ResPool2d(nn.Module):
    """The code's `Res_2d_mp`: conv3 -> BN -> ReLU -> conv3 -> BN, plus the input, ReLU, max-pool.
    x: (batch, channels, freq, time) -> (batch, channels, freq // pool[0], time // pool[1])."""

    def __init__(self, channels: int, pool: Size2 = 2):
        super().__init__()
        self.conv_1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.bn_1 = nn.BatchNorm2d(channels)
        self.conv_2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.bn_2 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU()
        self.pool = FitMaxPool2d(pool)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn_2(self.conv_2(self.relu(self.bn_1(self.conv_1(x)))))  # (batch, channels, freq, time)
        return self.pool(self.relu(out + x))  # (batch, channels, freq / pool[0], time / pool[1])


class HarmonicCNN(ZooModel):
    """Won et al. 2020's Harmonic CNN: `HarmonicSTFT` (harmonics as channels), BN, then a short-chunk
    CNN and a dense head.

    6 harmonics x 128 pitches x 313 frames (5 s at 16 kHz) -> BatchNorm2d(6) -> conv block (128, pool
    2) -> three `ResPool2d` (pool 2) -> conv block (256, pool 2) -> two `ResPool2d` (pool (2, 3)):
    1 pitch x 1 step; global max pool; dense 256 -> BN -> ReLU -> dropout 0.5 -> dense output layer.
    Minimum input: the samples giving 2^5 * 3^2 = 288 frames, (288 - 1) * 256 = 73,472.
    """

    input_kind = "waveform"

    def __init__(
        self,
        n_classes: int,
        *,
        n_channels: int = 128,
        sr: int = 16000,
        n_fft: int = 512,
        n_harmonic: int = 6,
        semitone_scale: int = 2,
        learn_q: bool = True,
        dropout: float = 0.5,
    ):
        # frames = 1 + samples // hop must reach the product of the time pools
        super().__init__(min_frames=(product(pair(p)[1] for p in HARMONIC_POOLS) - 1) * (n_fft // 2))
        self.hstft = HarmonicSTFT(
            sr=sr, n_fft=n_fft, n_harmonic=n_harmonic, semitone_scale=semitone_scale, learn_q=learn_q
        )
        self.hstft_bn = nn.BatchNorm2d(n_harmonic)
        c, p = n_channels, HARMONIC_POOLS
        self.blocks = nn.Sequential(
            ConvBlock2d(n_harmonic, c, 3, p[0]),
            *(ResPool2d(c, p[i]) for i in (1, 2, 3)),
            ConvBlock2d(c, 2 * c, 3, p[4]),
            *(ResPool2d(2 * c, p[i]) for i in (5, 6)),
        )
        self.head = _dense_head(2 * c, 2 * c, n_classes, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self._as_wave(x)[:, 0]  # (batch, samples)
        x = self.hstft_bn(self.hstft(x))  # (batch, 6, 128, frames)
        x = self.blocks(x)  # (batch, 256, 128 / 128, frames / 288)
        return self.head(x.amax(dim=(2, 3)))  # (batch, n_classes) logits
