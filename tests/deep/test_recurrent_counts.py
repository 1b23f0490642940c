"""Parameter counts of the registry's recurrent and chunked models against hand sums: Choi et al.'s CRNN with
its three cells (Won et al.'s code gives the GRU one 394,100 parameters for 50 tags), and the MTAT top-10 study's
chunked 1-D CNNs with a plain RNN, LSTM or GRU over the chunks, or a global max pool (model (c))."""

import pytest
import torch

from deep.models import DEEP_MODELS
from tests.deep.hand_counts import bn, conv, rnn


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def choi_crnn(cell, n_classes=50):
    # input BN; 3x3 conv + BN blocks 1 -> 64 -> 128 -> 128 -> 128; 2-layer RNN of 32; dense 32 -> classes
    blocks = conv(1, 64, 3, 3) + bn(64) + conv(64, 128, 3, 3) + bn(128) + 2 * (conv(128, 128, 3, 3) + bn(128))
    return bn(1) + blocks + rnn(cell, 128, 32) + 32 * n_classes + n_classes


def chunk_encoder():
    # conv(3, stride 3) 1 -> 64, then conv3 blocks 64, 64, 128, 128, 128, 256, 256, each with BN
    w = (64, 64, 64, 128, 128, 128, 256, 256)
    return conv(1, 64, 3) + bn(64) + sum(conv(w[i], w[i + 1], 3) + bn(w[i + 1]) for i in range(7))


@pytest.mark.parametrize("name, cell", [("crnn", "gru"), ("crnn-lstm", "lstm"), ("crnn-rnn", "rnn"),
                                        ("won-crnn", "gru")])
def test_choi_crnn_counts(name, cell):
    assert n_params(DEEP_MODELS[name](n_classes=50, n_mels=96)) == choi_crnn(cell)
    assert choi_crnn("gru") == 394_100  # Won et al.'s code's CRNN


@pytest.mark.parametrize("name, cell", [("chunk-crnn", "gru"), ("chunk-crnn-lstm", "lstm"), ("chunk-crnn-rnn", "rnn")])
def test_chunked_1d_cnn_with_a_recurrent_layer(name, cell):
    expected = chunk_encoder() + rnn(cell, 256, 128) + 128 * 10 + 10
    model = DEEP_MODELS[name](n_classes=10)
    assert n_params(model) == expected and model.rnn.cell == cell
    assert model.rnn_steps(6561 * 5) == 5  # whole 3^8-sample chunks


def test_chunk_cnn_pools_the_chunks_instead():
    model = DEEP_MODELS["chunk-cnn"](n_classes=10).eval()
    assert n_params(model) == chunk_encoder() + 256 * 10 + 10 and not hasattr(model, "rnn")
    torch.manual_seed(0)
    x = torch.randn(2, 6561 * 3)
    with torch.no_grad():  # the chunk order does not matter to a global max pool
        swapped = torch.cat([x[:, 6561 * 2:], x[:, :6561 * 2]], dim=1)
        torch.testing.assert_close(model(x), model(swapped))
    assert model.rnn_steps is None  # no recurrent layer: the 4-step minimum does not apply
