"""Hand-summed parameter counts of the registry models that tests/deep/test_models.py, test_won_models.py,
test_recurrent_counts.py and test_model_widths.py do not cover: the k2c2 family's width and kernel variants, the
GTZAN CNN-4..6 and the MFCC CNNs, the demo CNN, study 002's FCNs at their constant default width, the mel
chunk CRNN and k1c2 (the layer sums: tests/deep/hand_counts.py)."""

import pytest

from deep.models import DEEP_MODELS
from deep.models.fma import K2C2_POOLS, K2C2_WIDE_CHANNELS
from deep.models.gtzan import GTZAN_LAYERS
from tests.deep.hand_counts import bn, conv, dense


def n_params(name, **kw):
    return sum(p.numel() for p in DEEP_MODELS[name](**kw).parameters())


@pytest.mark.parametrize("name, kernels", [("k2c2-wide", (3,) * 5), ("k5-all", (5,) * 5), ("k5-early", (5, 5, 3, 3, 3)),
                                           ("k7-early", (7, 3, 3, 3, 3))])
def test_k2c2_variants(name, kernels):
    assert K2C2_WIDE_CHANNELS == (32, 64, 128, 256, 512) and len(K2C2_POOLS) == 5
    w = (1, 32, 64, 128, 256, 512)
    expected = bn(1) + sum(conv(w[i], w[i + 1], kernels[i], kernels[i]) + bn(w[i + 1]) for i in range(5))
    expected += conv(512, 12, 1, 1)  # the 1x1 output conv
    assert n_params(name, n_classes=12, n_mels=128) == expected


@pytest.mark.parametrize("depth", [3, 4, 5, 6, 7])
def test_gtzan_cnns_on_the_log_mel_and_on_mfccs(depth):
    layers = GTZAN_LAYERS[:depth]
    assert [w for w, _, _ in GTZAN_LAYERS] == [32, 32, 32, 64, 64, 128, 128]
    widths = (1, *(w for w, _, _ in layers))
    bands = 128
    for _, _, (fpool, _) in layers:
        bands //= fpool  # 128 -> 64 -> 16 -> 8 -> 4 -> 1 -> 1 -> 1
    mel = bn(1) + sum(conv(widths[i], w, k, k) + bn(w) for i, (w, k, _) in enumerate(layers))
    mel += dense(widths[-1] * bands, 10)  # the dense layer reads the last width x the bands left
    assert n_params(f"cnn{depth}", n_classes=10, n_mels=128) == mel
    widths = (20, *(w for w, _, _ in layers))  # 20 MFCCs as the input channels of 1-D convs over time
    mfcc = sum(conv(widths[i], w, k) + bn(w) for i, (w, k, _) in enumerate(layers)) + dense(widths[-1], 10)
    assert n_params(f"cnn{depth}-mfcc", n_classes=10) == mfcc


def test_small_cnn():
    # input BN; stride-2 stem conv 1 -> 16 + BN; 3x3 blocks 16 -> 32 -> 64 -> 64 + BN; dense on mean + max (128)
    expected = bn(1) + conv(1, 16, 3, 3) + bn(16) + conv(16, 32, 3, 3) + bn(32) + conv(32, 64, 3, 3) + bn(64)
    expected += conv(64, 64, 3, 3) + bn(64) + dense(2 * 64, 10)
    assert n_params("small-cnn", n_classes=10, n_mels=128) == expected


@pytest.mark.parametrize("layers", [3, 4, 5])
def test_study_002_fcns_at_the_constant_default_width(layers):
    # 1-D: the 96 bands are the first conv's input channels; 2-D: 3x3 convs from one channel; 128 wide throughout
    one_d = bn(1) + conv(96, 128, 3) + bn(128) + (layers - 1) * (conv(128, 128, 3) + bn(128)) + dense(128, 50)
    two_d = bn(1) + conv(1, 128, 3, 3) + bn(128) + (layers - 1) * (conv(128, 128, 3, 3) + bn(128)) + dense(128, 50)
    assert n_params(f"fcn1d-{layers}", n_classes=50, n_mels=96) == one_d
    assert n_params(f"fcn2d-{layers}", n_classes=50, n_mels=96) == two_d


def test_mel_chunk_crnn():
    # input BN; 1-D convs over 16-frame chunks, the 128 bands as channels: 128 -> 128 -> 128 -> 256 -> 256;
    # GRU 256 -> 128 x 2 layers (3 gates: W_ih, W_hh, b_ih, b_hh each); dense 128 -> 10
    w = (128, 128, 128, 256, 256)
    gru = 3 * (128 * 256 + 128 * 128 + 256) + 3 * (128 * 128 + 128 * 128 + 256)
    expected = bn(1) + sum(conv(w[i], w[i + 1], 3) + bn(w[i + 1]) for i in range(4)) + gru + dense(128, 10)
    assert n_params("chunk-crnn-mel", n_classes=10, n_mels=128) == expected


def test_k1c2_treats_the_bands_as_channels():
    # input BN; 1-D convs of kernel 4 over time, the 128 bands as the first conv's channels: 128 -> 32 -> 64 ->
    # 128 -> 256, each with BN; a 1x1 conv to the 12 genres
    w = (128, 32, 64, 128, 256)
    expected = bn(1) + sum(conv(w[i], w[i + 1], 4) + bn(w[i + 1]) for i in range(4)) + conv(256, 12, 1)
    assert n_params("k1c2", n_classes=12, n_mels=128) == expected == 192_942
