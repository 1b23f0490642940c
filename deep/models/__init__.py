"""The deep model zoo: `DEEP_MODELS`, one `ModelSpec` per architecture, each a factory.

    model = DEEP_MODELS["k2c2"](n_classes=12, n_mels=128)   # or get_model("k2c2", n_classes=12)
    logits = model(mel)    # mel: (batch, n_mels, time) or (batch, 1, n_mels, time) -> (batch, n_classes)

Every log-mel model also takes `in_channels` (default 1): built with in_channels=2 it reads
(batch, 2, n_mels, time), e.g. the aligned log-mel and CQT of ``--deep-input mel+cqt``; waveform and
MFCC models refuse it with a ConfigError (`ModelSpec.channels_refusal`).
Waveform models take (batch, samples) or (batch, 1, samples) and ignore `n_mels`. Every model
returns logits (no sigmoid or softmax), uses global pooling so any input at or above its
`min_frames` works, and exposes `min_frames`, `n_bins`, `input_kind` and `head`.

Each log-mel entry declares its paper's front-end (`ModelSpec.frontend`, a `FrontEnd`; its
`spec_config()` is the matching `features.spectrogram.SpecConfig`) and input length
(`default_chunk_s`); `python -m deep.models --check` tabulates shapes, parameter counts and receptive
fields under them.
"""

from __future__ import annotations

import dataclasses

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
    FMAConvNet1d,
)
from deep.models.gtzan import FFNN, GTZAN_MIN_FRAMES, GTZANCNN, GTZANCNN1d
from deep.models.shortchunk import ShortChunkCNN, ShortChunkResNet
from deep.models.small import SmallCNN
from deep.models.spec import FrontEnd, ModelSpec, factory, frontend_label
from deep.models.tagging import FCN1d, FCN2d
from deep.models.waveform import ChunkCNN, ChunkCRNN, SampleCNN
from deep.models.won import CNNSA, WON_PAPER_HOP, HarmonicCNN, Musicnn, SampleCNNSE, WonFCN
from features.errors import ConfigError

__all__ = ["DEEP_MODELS", "FrontEnd", "ModelSpec", "ZooModel", "frontend_label", "get_model", "get_spec"]

_CHOI16 = "Choi, Fazekas & Sandler 2016, Automatic tagging using deep convolutional neural networks (ISMIR)"
_CHOI17 = "Choi, Fazekas, Sandler & Cho 2017, Convolutional recurrent neural networks for music classification"
_FMA = "FMA multi-label top-genre study, k2c2 family after Choi et al. 2017 (REFERENCES.md B)"
_GTZAN = "GTZAN genre study: CNN-3..7 vs feature-engineered classifiers (REFERENCES.md A)"
_MTAT_HP = "MagnaTagATune hyper-parameter study of 1-D/2-D FCNs on 96x911 mel (REFERENCES.md C)"
_WON = "Won, Ferraro, Bogdanov & Serra 2020, Evaluation of CNN-based automatic music tagging models (SMC)"
_LEE = "Lee, Park, Kim & Nam 2017, Sample-level deep CNNs for music auto-tagging using raw waveforms (SMC)"
_TOP10 = "MagnaTagATune top-10 study: chunk-based 1-D CNN with a GRU over chunks (REFERENCES.md C)"

# The papers' front-ends (check a number against the file and section named in `source`). Where a study
# does not state a setting, the closest documented one is used and the comment says so.
# Choi et al. 2016 / 2017: not in /work/shared; 12 kHz, n_fft 512, hop 256, 96 mels, 29.1 s (96 x 1366)
# as the papers report them (Choi computed them with librosa: Slaney filters, power, dB re 1).
CHOI_FE = FrontEnd(12000, 512, 256, 96, source="Choi et al. 2016, 2017 (papers not in /work/shared); "
                   "filterbank and dB: librosa defaults")
# FMA study (studies/000, "Audio preprocessing", lines 82-101): 32 kHz, 25-ms window 800 / 10-ms hop 320,
# 128 mels, dB, 128 x 3000 from 30-s tracks. Mel scale, filter norm, power and dB reference are not
# stated: librosa's defaults (Slaney, power 2, ref 1).
FMA_FE = FrontEnd(32000, 800, 320, 128, source="studies/000 lines 82-101; mel scale/norm/power not stated")
# GTZAN study (studies/004 section 3.1.2, lines 126-136): sr 22050, n_fft 1024, hop 512, Hann, fmax sr/2,
# 128 mels, 128 x 130 per 3-s excerpt. Mel scale, norm, power and dB reference not stated: librosa's.
GTZAN_FE = FrontEnd(22050, 1024, 512, 128, source="studies/004 lines 126-136; mel scale/norm/power not stated")
# Mood study (studies/004 section 4.1, lines 342-358): tracks downsampled to 12 kHz, n_fft 2048, hop 1024
# ("increased ... due to memory limitations"), 96 mels, "log-amplitude mel", 96 x 341 per 29.1-s frame. Mel
# scale, norm, power and dB reference not stated: librosa's.
MOOD_FE = FrontEnd(12000, 2048, 1024, 96, source="studies/004 lines 342-358; mel scale/norm/power not stated")
# The mood study's FCN (studies/004 Table 6, lines 389-401): 3x3 convs of 32-64-128-256-512, BN, ReLU, max-pool,
# dropout 0.5 after every pool, sigmoid output, pools "adjusted" to 96 x 341. Its pool list prints MP(2,4) three
# times, then output sizes 4 x . and 1 x 1; (3, 2) and (4, 2) after the three (2, 4) take 96 x 341 to exactly
# 1 x 1 (96/2/2/2/3/4, 341/4/4/4/2/2), a reconstruction: the printed 4th and 5th pools contradict the printed
# outputs.
MOOD_FCN_CHANNELS = (32, 64, 128, 256, 512)
MOOD_FCN_POOLS = ((2, 4), (2, 4), (2, 4), (3, 2), (4, 2))
# MTAT hyper-parameter study (studies/002 section 2.1, Table 1 type E, Supplementary 1-2): 16 kHz, FFT
# 1024, 96 mels, "log-amplitude mel", 96 x 911. The hop is not stated: 512 gives 911 frames for the
# 29.12-s clips (910 for 29.1 s). fmax, mel scale, norm: not stated, librosa's defaults.
MTAT_HP_FE = FrontEnd(16000, 1024, 512, 96, source="studies/002 sections 2.1-2.3, Table 1, Supp. 1-2; "
                      "hop 512 inferred from 911 frames")
# Won et al. 2020 (REFERENCES.md C; minzwon/sota-music-tagging-models training/model.py):
# torchaudio.transforms.MelSpectrogram(sample_rate=16000, n_fft=512, f_min=0, f_max=8000, n_mels=128)
# with its defaults (win_length n_fft, hop n_fft // 2 = 256, periodic Hann, center=True with reflect
# padding, power 2, HTK mel scale, norm None), then AmplitudeToDB() (10 * log10(max(x, 1e-10)), ref 1,
# top_db None). Input: 59,049 samples (3.69 s).
WON_FE = FrontEnd(16000, 512, 256, 128, fmax=8000.0, htk=True, norm=None, pad_mode="reflect",
                  source="REFERENCES.md C; torchaudio MelSpectrogram + AmplitudeToDB defaults in Won's code")
WON_CHUNK_S = 59049 / 16000  # 3.69 s
# The code's FCN, Musicnn and CRNN keep their constructors' n_mels=96 (deep.models.won); CNNSA uses 128.
WON_FE96 = dataclasses.replace(WON_FE, n_mels=96, source=WON_FE.source + "; n_mels 96 as the code's FCN/Musicnn")
_SOTA = "as re-implemented in Won, Ferraro, Bogdanov & Serra 2020 (sota-music-tagging-models)"

_CHOI_FRONT = {"default_chunk_s": 29.1, "frontend": CHOI_FE}
_FMA_FRONT = {"default_chunk_s": 30.0, "frontend": FMA_FE, "paper_classes": 12}
_GTZAN_FRONT = {"default_chunk_s": 3.0, "frontend": GTZAN_FE, "paper_classes": 10}
_MTAT_FRONT = {"default_chunk_s": 29.1, "frontend": MTAT_HP_FE, "paper_classes": 50}
_WON_FRONT = {"default_chunk_s": WON_CHUNK_S, "frontend": WON_FE, "paper_classes": 50}
# The MTAT top-10 study (studies/001) states no mel settings: Won et al.'s, the MTAT front-end it cites.
_TOP10_MEL_FRONT = {"default_chunk_s": 29.1, "frontend": WON_FE, "paper_classes": 10}
# Study 002's layer lists (Supplementary 1 and 2) give each conv layer's parameters; their sums.
# Supp. 2 prints 1.2e7 and 4.7e7 for the 512- and 1024-wide layers where Supp. 3 (and 9 * cin * cout)
# give 1.2e6 and 4.7e6: the sums use the latter. The lists' widths double per layer from 128: the model option
# growth=2 builds them, and its conv layers sum to within 4% of these (the registry's default is a constant width).
_MTAT_HP_PARAMS = {
    "fcn1d": {3: 37_000 + 99_000 + 400_000, 4: 2_036_000, 5: 8_336_000},
    "fcn2d": {3: 1_500 + 290_000 + 1_200_000, 4: 6_191_500, 5: 24_191_500},
}


def _specs() -> list[ModelSpec]:
    specs = [
        ModelSpec("fcn4", factory(ChoiFCN, channels=FCN4_CHANNELS, pools=FCN4_POOLS),
                  min_frames=1280, cite=_CHOI16, paper_classes=50, **_CHOI_FRONT),
        ModelSpec("fcn5-mood", factory(ChoiFCN, channels=MOOD_FCN_CHANNELS, pools=MOOD_FCN_POOLS, dropout=0.5),
                  min_frames=256, default_chunk_s=29.1, frontend=MOOD_FE, paper_classes=35,
                  cite="GTZAN / MTG-Jamendo study (004), Table 6: the mood FCN after Choi et al. 2016"),
        ModelSpec("fcn5", factory(ChoiFCN, channels=FCN5_CHANNELS, pools=FCN5_POOLS),
                  min_frames=1280, cite=_CHOI16, paper_classes=50, **_CHOI_FRONT),
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
        ModelSpec("k1c2", factory(FMAConvNet1d, channels=K1C2_CHANNELS, kernel=4, pools=K1C2_POOLS),
                  min_frames=1280, cite=_FMA, **_FMA_FRONT),
        ModelSpec("k2c1", factory(FMAConvNet, channels=K2C1_CHANNELS, kernels=(FULL, *((1, 4),) * 4),
                                  pools=K2C1_POOLS),
                  min_frames=2000, cite=_FMA, **_FMA_FRONT),
    ]
    for cell, name in (("gru", "crnn"), ("lstm", "crnn-lstm"), ("rnn", "crnn-rnn")):
        specs.append(ModelSpec(name, factory(ChoiCRNN, cell=cell), min_frames=96, cite=_CHOI17,
                               paper_classes=50, **_CHOI_FRONT))
    for depth in range(3, 8):
        specs.append(ModelSpec(f"cnn{depth}", factory(GTZANCNN, depth=depth), min_frames=GTZAN_MIN_FRAMES,
                               cite=_GTZAN, **_GTZAN_FRONT))
        specs.append(ModelSpec(f"cnn{depth}-mfcc", factory(GTZANCNN1d, depth=depth), input="mfcc",
                               min_frames=GTZAN_MIN_FRAMES, cite=_GTZAN, paper_n_bins=20, **_GTZAN_FRONT))
    for layers in (3, 4, 5):
        specs.append(ModelSpec(f"fcn1d-{layers}", factory(FCN1d, layers=layers), min_frames=3**layers,
                               cite=_MTAT_HP, paper_params=_MTAT_HP_PARAMS["fcn1d"][layers], **_MTAT_FRONT))
        specs.append(ModelSpec(f"fcn2d-{layers}", factory(FCN2d, layers=layers), min_frames=3**layers,
                               cite=_MTAT_HP, paper_params=_MTAT_HP_PARAMS["fcn2d"][layers], **_MTAT_FRONT))
    specs += [
        ModelSpec("shortchunk", factory(ShortChunkCNN), min_frames=128, cite=_WON, **_WON_FRONT),
        ModelSpec("shortchunk-res", factory(ShortChunkResNet), min_frames=128, cite=_WON, **_WON_FRONT),
        ModelSpec("samplecnn", factory(SampleCNN), input="waveform", min_frames=3**10,
                  default_chunk_s=3**10 / 22050, cite=_LEE, paper_sr=22050, paper_classes=50),
        ModelSpec("chunk-crnn", factory(ChunkCRNN, source="waveform"), input="waveform", min_frames=3**8,
                  default_chunk_s=29.1, cite=_TOP10, paper_sr=16000, paper_classes=10),
        ModelSpec("chunk-crnn-mel", factory(ChunkCRNN, source="mel"), min_frames=16, cite=_TOP10,
                  **_TOP10_MEL_FRONT),
        # the study's (b-RNN) and (b-LSTM): model (b) with the other two cells; (c): the chunks max-pooled
        *(ModelSpec(f"chunk-crnn-{cell}", factory(ChunkCRNN, source="waveform", cell=cell), input="waveform",
                    min_frames=3**8, default_chunk_s=29.1, cite=_TOP10, paper_sr=16000, paper_classes=10)
          for cell in ("rnn", "lstm")),
        ModelSpec("chunk-cnn", factory(ChunkCNN, source="waveform"), input="waveform", min_frames=3**8,
                  default_chunk_s=29.1, cite=_TOP10, paper_sr=16000, paper_classes=10),
        # Won et al. 2020's models the registry lacked; input lengths: `input_length` in the code's training/main.py
        # and eval.py (29 * 16000, 3 * 16000, 59049, 15 * 16000 and 80000 samples).
        ModelSpec("won-fcn", factory(WonFCN), min_frames=1280, default_chunk_s=29.0, paper_classes=50,
                  paper_params=447_732, cite=f"Choi, Fazekas & Sandler 2016 FCN, {_SOTA}", frontend=WON_FE96),
        # model.py CRNN: Choi et al. 2017's layer sizes with ReLU, no block dropout, dropout 0.5 before the dense
        # layer, on the code's 16 kHz front-end with torchaudio's 96 mels, 29-s input.
        ModelSpec("won-crnn", factory(ChoiCRNN, activation="relu", dropout=0.0, rnn_dropout=0.5), min_frames=96,
                  default_chunk_s=29.0, paper_classes=50, paper_params=394_100, frontend=WON_FE96,
                  cite=f"Choi, Fazekas, Sandler & Cho 2017 CRNN, {_SOTA}"),
        ModelSpec("musicnn", factory(Musicnn), min_frames=1, default_chunk_s=3.0, paper_classes=50,
                  paper_params=784_300, frontend=WON_FE96,
                  cite=f"Pons et al. 2018, End-to-end learning for music audio tagging at scale, {_SOTA}"),
        # model.py SampleCNN: Lee et al.'s layers fed 16 kHz audio (59,049 samples: 3.69 s; Lee et al.: 22,050 Hz)
        ModelSpec("won-samplecnn", factory(SampleCNN), input="waveform", min_frames=3**10,
                  default_chunk_s=3**10 / 16000, paper_sr=16000, paper_classes=50, paper_params=1_869_874,
                  cite=f"Lee et al. 2017, Sample-level deep CNNs for music auto-tagging, {_SOTA}"),
        ModelSpec("samplecnn-se", factory(SampleCNNSE), input="waveform", min_frames=3**10,
                  default_chunk_s=3**10 / 16000, paper_sr=16000, paper_classes=50, paper_params=6_951_858,
                  cite=f"Kim, Lee & Nam 2018, Sample-level CNN architectures for music auto-tagging, {_SOTA}"),
        ModelSpec("cnnsa", factory(CNNSA), min_frames=1, default_chunk_s=15.0, paper_classes=50,
                  paper_params=10_521_652, frontend=WON_FE,
                  cite=f"Won, Chun & Serra 2019, Toward interpretable music tagging with self-attention, {_SOTA}"),
        ModelSpec("harmonic-cnn", factory(HarmonicCNN), input="waveform", min_frames=(288 - 1) * WON_PAPER_HOP,
                  default_chunk_s=5.0, paper_sr=16000, paper_classes=50, paper_params=3_631_551,
                  cite=f"Won, Chun, Nieto & Serra 2020, Data-driven harmonic filters (ICASSP), {_SOTA}"),
        # studies/004 line 209: "L2-Regularization with lambda = 0.001 and Dropout of 0.3"
        ModelSpec("ffnn", factory(FFNN), min_frames=130, cite=_GTZAN + ", FFNN baseline", l2=1e-3,
                  **_GTZAN_FRONT),
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
