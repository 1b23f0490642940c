"""The deep model zoo: `DEEP_MODELS`, one `ModelSpec` per architecture, each a factory.

    model = DEEP_MODELS["k2c2"](n_classes=12, n_mels=128)   # or get_model("k2c2", n_classes=12)
    logits = model(mel)    # mel: (batch, n_mels, time) or (batch, 1, n_mels, time) -> (batch, n_classes)

Waveform models take (batch, samples) or (batch, 1, samples) and ignore `n_mels`. Every model
returns logits (no sigmoid or softmax), uses global pooling so any input at or above its
`min_frames` works, and exposes `min_frames`, `n_bins`, `input_kind` and `head`.
"""

from __future__ import annotations

from torch import nn

from deep.models.blocks import ZooModel
from deep.models.choi import FCN4_CHANNELS, FCN4_POOLS, FCN5_CHANNELS, FCN5_POOLS, ChoiCRNN, ChoiFCN
from deep.models.fma import (
    FULL,
    K1C2_CHANNELS,
    K1C2_POOLS,
    K2C1_CHANNELS,
    K2C1_POOLS,
    K2C2_CHANNELS,
    K2C2_POOLS,
    K2C2_WIDE_CHANNELS,
    FMAConvNet,
)
from deep.models.gtzan import FFNN, GTZAN_MIN_FRAMES, GTZANCNN, GTZANCNN1d
from deep.models.shortchunk import ShortChunkCNN, ShortChunkResNet
from deep.models.small import SmallCNN
from deep.models.spec import ModelSpec, factory
from deep.models.tagging import FCN1d, FCN2d
from deep.models.waveform import ChunkCRNN, SampleCNN
from features.errors import ConfigError

__all__ = ["DEEP_MODELS", "ModelSpec", "ZooModel", "get_model", "get_spec"]

_CHOI16 = "Choi, Fazekas & Sandler 2016, Automatic tagging using deep convolutional neural networks (ISMIR)"
_CHOI17 = "Choi, Fazekas, Sandler & Cho 2017, Convolutional recurrent neural networks for music classification"
_FMA = "FMA multi-label top-genre study, k2c2 family after Choi et al. 2017 (REFERENCES.md B)"
_GTZAN = "GTZAN genre study: CNN-3..7 vs feature-engineered classifiers (REFERENCES.md A)"
_MTAT_HP = "MagnaTagATune hyper-parameter study of 1-D/2-D FCNs on 96x911 mel (REFERENCES.md C)"
_WON = "Won, Ferraro, Bogdanov & Serra 2020, Evaluation of CNN-based automatic music tagging models (SMC)"
_LEE = "Lee, Park, Kim & Nam 2017, Sample-level deep CNNs for music auto-tagging using raw waveforms (SMC)"
_TOP10 = "MagnaTagATune top-10 study: chunk-based 1-D CNN with a GRU over chunks (REFERENCES.md C)"

_CHOI_FRONT = {"default_chunk_s": 29.1, "paper_sr": 12000, "paper_hop": 256, "paper_n_bins": 96}
_FMA_FRONT = {"default_chunk_s": 30.0, "paper_sr": 32000, "paper_hop": 320, "paper_n_bins": 128}
_GTZAN_FRONT = {"default_chunk_s": 3.0, "paper_sr": 22050, "paper_hop": 512, "paper_n_bins": 128}
_MTAT_FRONT = {"default_chunk_s": 29.1, "paper_sr": 16000, "paper_hop": 512, "paper_n_bins": 96}
_WON_FRONT = {"default_chunk_s": 3.69, "paper_sr": 16000, "paper_hop": 256, "paper_n_bins": 128}


def _specs() -> list[ModelSpec]:
    specs = [
        ModelSpec("fcn4", factory(ChoiFCN, channels=FCN4_CHANNELS, pools=FCN4_POOLS),
                  min_frames=1280, cite=_CHOI16, **_CHOI_FRONT),
        ModelSpec("fcn5", factory(ChoiFCN, channels=FCN5_CHANNELS, pools=FCN5_POOLS),
                  min_frames=1280, cite=_CHOI16, **_CHOI_FRONT),
        ModelSpec("k2c2", factory(FMAConvNet, channels=K2C2_CHANNELS, kernels=3, pools=K2C2_POOLS),
                  min_frames=1280, cite=_FMA, **_FMA_FRONT),
        ModelSpec("k2c2-wide", factory(FMAConvNet, channels=K2C2_WIDE_CHANNELS, kernels=3, pools=K2C2_POOLS),
                  min_frames=1280, cite=_FMA, **_FMA_FRONT),
        ModelSpec("k5-all", factory(FMAConvNet, channels=K2C2_WIDE_CHANNELS, kernels=5, pools=K2C2_POOLS),
                  min_frames=1280, cite=_FMA, **_FMA_FRONT),
        ModelSpec("k5-early", factory(FMAConvNet, channels=K2C2_WIDE_CHANNELS, kernels=(5, 5, 3, 3, 3),
                                      pools=K2C2_POOLS),
                  min_frames=1280, cite=_FMA, **_FMA_FRONT),
        ModelSpec("k7-early", factory(FMAConvNet, channels=K2C2_WIDE_CHANNELS, kernels=(7, 3, 3, 3, 3),
                                      pools=K2C2_POOLS),
                  min_frames=1280, cite=_FMA, **_FMA_FRONT),
        ModelSpec("k1c2", factory(FMAConvNet, channels=K1C2_CHANNELS, kernels=((1, 4),) * 4, pools=K1C2_POOLS),
                  min_frames=1280, cite=_FMA, **_FMA_FRONT),
        ModelSpec("k2c1", factory(FMAConvNet, channels=K2C1_CHANNELS, kernels=(FULL, *((1, 4),) * 4),
                                  pools=K2C1_POOLS),
                  min_frames=2000, cite=_FMA, **_FMA_FRONT),
    ]
    for cell, name in (("gru", "crnn"), ("lstm", "crnn-lstm"), ("rnn", "crnn-rnn")):
        specs.append(ModelSpec(name, factory(ChoiCRNN, cell=cell), min_frames=96, cite=_CHOI17, **_CHOI_FRONT))
    for depth in range(3, 8):
        specs.append(ModelSpec(f"cnn{depth}", factory(GTZANCNN, depth=depth), min_frames=GTZAN_MIN_FRAMES,
                               cite=_GTZAN, **_GTZAN_FRONT))
        specs.append(ModelSpec(f"cnn{depth}-mfcc", factory(GTZANCNN1d, depth=depth), input="mfcc",
                               min_frames=GTZAN_MIN_FRAMES, cite=_GTZAN, **{**_GTZAN_FRONT, "paper_n_bins": 20}))
    for layers in (3, 4, 5):
        specs.append(ModelSpec(f"fcn1d-{layers}", factory(FCN1d, layers=layers), min_frames=3**layers,
                               cite=_MTAT_HP, **_MTAT_FRONT))
        specs.append(ModelSpec(f"fcn2d-{layers}", factory(FCN2d, layers=layers), min_frames=3**layers,
                               cite=_MTAT_HP, **_MTAT_FRONT))
    specs += [
        ModelSpec("shortchunk", factory(ShortChunkCNN), min_frames=128, cite=_WON, **_WON_FRONT),
        ModelSpec("shortchunk-res", factory(ShortChunkResNet), min_frames=128, cite=_WON, **_WON_FRONT),
        ModelSpec("samplecnn", factory(SampleCNN), input="waveform", min_frames=3**10,
                  default_chunk_s=3**10 / 22050, cite=_LEE, paper_sr=22050),
        ModelSpec("chunk-crnn", factory(ChunkCRNN, source="waveform"), input="waveform", min_frames=3**8,
                  default_chunk_s=29.1, cite=_TOP10, paper_sr=16000),
        ModelSpec("chunk-crnn-mel", factory(ChunkCRNN, source="mel"), min_frames=16, cite=_TOP10,
                  **_MTAT_FRONT),
        ModelSpec("ffnn", factory(FFNN), min_frames=130, cite=_GTZAN + ", FFNN baseline", **_GTZAN_FRONT),
        ModelSpec("small-cnn", factory(SmallCNN), min_frames=64, default_chunk_s=3.0,
                  cite="mirbench demo model (no paper): 4 conv blocks, ~62k parameters"),
    ]
    return specs


DEEP_MODELS: dict[str, ModelSpec] = {spec.name: spec for spec in _specs()}


def get_spec(name: str) -> ModelSpec:
    """The registry entry for `name`; ConfigError naming the valid choices otherwise."""
    try:
        return DEEP_MODELS[name]
    except (KeyError, TypeError):
        raise ConfigError(f"model={name!r} is not a deep model; choose one of {', '.join(DEEP_MODELS)}") from None


def get_model(name: str, n_classes: int, n_mels: int = 128, **kw) -> nn.Module:
    """Build `name` for `n_classes` outputs; see `ModelSpec.__call__`. Returns an nn.Module whose
    forward gives logits (batch, n_classes). The registry itself is `DEEP_MODELS` (name -> ModelSpec).

    >>> import torch
    >>> "small-cnn" in DEEP_MODELS
    True
    >>> model = get_model("small-cnn", n_classes=10, n_mels=128)
    >>> model(torch.zeros(2, 128, 64)).shape  # log-mel batch (batch, n_mels, frames) -> logits
    torch.Size([2, 10])
    """
    return get_spec(name)(n_classes=n_classes, n_mels=n_mels, **kw)
