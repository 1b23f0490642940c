"""End-to-end and chunked models: Lee et al. 2017's sample-level CNN on raw waveform, and a chunked
1-D CNN whose per-chunk embeddings a recurrent layer summarises (waveform or mel chunks)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from deep.models.blocks import ConvBlock1d, RecurrentSummary, ZooModel, input_norm, positive_ints
from features.errors import ConfigError

# Lee et al. 2017, Table 1 (3^9 model): a stride-3 conv, then nine conv3 + max-pool-3 blocks.
SAMPLECNN_STEM = 128
SAMPLECNN_CHANNELS = (128, 128, 256, 256, 256, 256, 256, 256, 512)


class SampleCNN(ZooModel):
    """Sample-level CNN: conv(3, stride 3) then conv3 -> BN -> ReLU -> max-pool 3 blocks.

    The 3^9 model reads 3^10 = 59,049 samples (2.68 s at 22,050 Hz; 3.69 s at 16 kHz): the strided
    conv (no padding) leaves 3^9 = 19,683 frames, which nine pools of 3 reduce to one. Then a
    1x1 conv (512) -> BN -> ReLU, global max pool over what is left (one step at 59,049 samples),
    dropout 0.5 and a dense output layer. Minimum input: 3 ** (1 + len(channels)) samples.
    """

    input_kind = "waveform"

    def __init__(
        self,
        n_classes: int,
        *,
        stem: int = SAMPLECNN_STEM,
        channels: Sequence[int] = SAMPLECNN_CHANNELS,
        dropout: float = 0.5,
    ):
        channels = positive_ints("channels", channels)
        super().__init__(min_frames=3 ** (1 + len(channels)))
        self.stem = ConvBlock1d(1, stem, 3, stride=3, padding=0)
        widths = (stem, *channels)
        self.blocks = nn.Sequential(*(ConvBlock1d(widths[i], widths[i + 1], 3, 3) for i in range(len(channels))))
        self.mix = ConvBlock1d(channels[-1], channels[-1], 1)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(channels[-1], n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Last conv map. x: (batch, [1,] samples) -> (batch, 512, samples / 59049)."""
        x = self._as_wave(x)  # (batch, 1, samples)
        x = self.stem(x)  # (batch, 128, samples / 3)
        x = self.blocks(x)  # (batch, 512, samples / 3^10)
        return self.mix(x)  # (batch, 512, samples / 3^10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)  # (batch, 512, samples / 59049)
        x = x.amax(dim=-1)  # (batch, 512)
        x = self.dropout(x)  # (batch, 512)
        return self.head(x)  # (batch, n_classes) logits


class ChunkCRNN(ZooModel):
    """Chunked 1-D CNN with a recurrent summariser (the MTAT top-10 study's "1-D CNN + GRU").

    The input is cut into non-overlapping chunks (a trailing remainder shorter than a chunk is
    dropped); a 1-D CNN maps each chunk to one embedding (global max pool); a 2-layer GRU, LSTM or
    RNN (`cell`) reads the chunk sequence; its last output -> dropout -> dense output layer.

    source="waveform": chunks of 3^8 = 6,561 samples (0.41 s at 16 kHz); the CNN is a small
        sample-level stack (conv 3 stride 3, then seven conv3 + pool-3 blocks).
    source="mel": chunks of 16 frames; mel bands are the CNN's input channels (bound to n_mels),
        four conv3 + pool-2 blocks; with in_channels C (2: log-mel and CQT) C * n_mels input channels.
    Minimum input: one chunk.
    """

    def __init__(
        self,
        n_classes: int,
        n_mels: int = 128,
        *,
        source: str = "waveform",
        channels: Sequence[int] | None = None,
        hidden: int = 128,
        rnn_layers: int = 2,
        cell: str = "gru",
        dropout: float = 0.5,
        input_bn: bool = True,
        in_channels: int = 1,
    ):
        if source == "waveform" and in_channels != 1:
            raise ConfigError(f"ChunkCRNN(source='waveform') takes raw audio: in_channels={in_channels} applies "
                              "to spectrogram input only (source='mel')")
        if source == "waveform":
            channels = positive_ints("channels", channels or (64, 64, 64, 128, 128, 128, 256, 256))
            chunk, n_bins = 3 ** len(channels), None
        elif source == "mel":
            channels = positive_ints("channels", channels or (128, 128, 256, 256))
            chunk, n_bins = 2 ** len(channels), n_mels
        else:
            raise ConfigError(f"source={source!r} must be 'waveform' or 'mel'")
        super().__init__(min_frames=chunk, n_bins=n_bins, in_channels=in_channels)
        self.input_kind = source
        self.chunk = chunk
        if source == "waveform":
            self.input_bn: nn.Module = nn.Identity()
            stem = [ConvBlock1d(1, channels[0], 3, stride=3, padding=0)]
            blocks = [ConvBlock1d(channels[i], channels[i + 1], 3, 3) for i in range(len(channels) - 1)]
        else:
            self.input_bn = input_norm(input_bn, self.in_channels)
            widths = (self.in_channels * n_mels, *channels)
            stem = []
            blocks = [ConvBlock1d(widths[i], widths[i + 1], 3, 2) for i in range(len(channels))]
        self.encoder = nn.Sequential(*stem, *blocks)
        self.rnn = RecurrentSummary(channels[-1], hidden, rnn_layers, cell)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, n_classes)

    def rnn_steps(self, length: int) -> int:
        """Steps the RNN reads: whole chunks in `length` (frames or samples)."""
        return int(length) // self.chunk

    def _chunks(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, channels, length) -> (batch, n_chunks, channels, chunk)."""
        return x.unfold(-1, self.chunk, self.chunk).transpose(1, 2)

    def chunk_embeddings(self, x: torch.Tensor) -> torch.Tensor:
        """One CNN embedding per chunk: (batch, [1,] samples) or a log-mel batch -> (batch, n_chunks, C)."""
        if self.input_kind == "waveform":
            x = self._as_wave(x)  # (batch, 1, samples)
        else:
            x = self.input_bn(self._as_image(x)).flatten(1, 2)  # (batch, in_channels * n_mels, time)
        batch = x.shape[0]
        x = self._chunks(x)  # (batch, n_chunks, channels, chunk)
        n_chunks = x.shape[1]
        x = x.reshape(batch * n_chunks, x.shape[2], self.chunk)  # (batch * n_chunks, channels, chunk)
        x = self.encoder(x)  # (batch * n_chunks, C, 1)
        return x.amax(dim=-1).reshape(batch, n_chunks, -1)  # (batch, n_chunks, C)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.chunk_embeddings(x)  # (batch, n_chunks, C)
        x = self.rnn(x)  # (batch, hidden)
        x = self.dropout(x)  # (batch, hidden)
        return self.head(x)  # (batch, n_classes) logits


class ChunkCNN(ChunkCRNN):
    """Chunk-based 1-D CNN (the MTAT top-10 study's model (c)): ChunkCRNN's chunks and CNN, the chunk
    embeddings combined by a global max pool instead of a recurrent layer (the study says "a Global Pooling
    layer"; which pooling it does not say), then dropout and a dense output layer. Minimum input: one chunk.
    """

    rnn_steps = None  # no recurrent layer: no minimum number of steps

    def __init__(self, n_classes: int, n_mels: int = 128, *, source: str = "waveform",
                 channels: Sequence[int] | None = None, dropout: float = 0.5, input_bn: bool = True,
                 in_channels: int = 1):
        super().__init__(n_classes, n_mels, source=source, channels=channels, dropout=dropout, input_bn=input_bn,
                         in_channels=in_channels)
        width = self.rnn.rnn.input_size
        del self.rnn
        self.head = nn.Linear(width, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.chunk_embeddings(x).amax(dim=1)  # (batch, C)
        x = self.dropout(x)  # (batch, C)
        return self.head(x)  # (batch, n_classes) logits
