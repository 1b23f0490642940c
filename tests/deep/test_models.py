"""Tests of the deep model zoo: every registry entry on tiny inputs, plus hand-counted parameters and
the feature-map sizes the papers state."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from deep.models import DEEP_MODELS, ModelSpec, ZooModel, get_model, get_spec
from deep.models.blocks import FitMaxPool1d, FitMaxPool2d, RecurrentSummary
from features.errors import ConfigError

N_MELS = 16  # small band count for the registry-wide tests; every mel model must accept it
N_MFCC = 13
BATCH = 2

ISSUE_NAMES = {
    "fcn4", "fcn5", "k2c2", "k2c2-wide", "k5-all", "k5-early", "k7-early", "k1c2", "k2c1",
    "crnn", "crnn-lstm", "crnn-rnn", "cnn3", "cnn4", "cnn5", "cnn6", "cnn7",
    "cnn3-mfcc", "cnn4-mfcc", "cnn5-mfcc", "cnn6-mfcc", "cnn7-mfcc",
    "fcn1d-3", "fcn1d-4", "fcn1d-5", "fcn2d-3", "fcn2d-4", "fcn2d-5",
    "shortchunk", "shortchunk-res", "samplecnn", "chunk-crnn", "ffnn", "small-cnn",
}  # fmt: skip


def _input(spec: ModelSpec, length: int, *, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    if spec.input == "waveform":
        return torch.randn(BATCH, length, generator=g)
    bins = N_MFCC if spec.input == "mfcc" else N_MELS
    return torch.randn(BATCH, bins, length, generator=g)


def _build(spec: ModelSpec, n_classes: int) -> ZooModel:
    torch.manual_seed(0)
    return spec(n_classes=n_classes, n_mels=N_MELS, n_mfcc=N_MFCC)


def _first_layer(model: nn.Module) -> nn.Module:
    return next(m for m in model.modules() if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Linear)))


def test_registry_has_every_model_of_the_issue():
    assert ISSUE_NAMES <= set(DEEP_MODELS)
    for name, spec in DEEP_MODELS.items():
        assert spec.name == name and spec.cite and spec.input in ("mel", "mfcc", "waveform")


@pytest.mark.parametrize("name", sorted(DEEP_MODELS))
def test_model_shapes_gradients_and_raw_logits(name):
    spec = DEEP_MODELS[name]
    model = _build(spec, n_classes=3)
    assert model.min_frames == spec.min_frames, "registry metadata disagrees with the built model"
    assert model.input_kind == spec.input

    # At the minimum size, in training mode: shape, and a gradient that reaches the first layer.
    x = _input(spec, spec.min_frames).requires_grad_()
    out = model.train()(x)
    assert out.shape == (BATCH, 3)
    (out**2).sum().backward()
    first = _first_layer(model)
    assert first.weight.grad is not None and first.weight.grad.abs().sum() > 0
    assert x.grad.abs().sum() > 0

    # Another width at a longer, non-divisible length, in eval mode. Logits are affine in the output
    # layer's bias; a softmax (shift-invariant) or a sigmoid (saturating) would not be.
    other = _build(spec, n_classes=5).eval()
    x = _input(spec, spec.min_frames + spec.min_frames // 2 + 1, seed=1)
    with torch.no_grad():
        before = other(x)
        other.output_layer.bias += 3.0
        after = other(x)
    assert before.shape == (BATCH, 5) and torch.isfinite(before).all()
    torch.testing.assert_close(after - before, torch.full_like(before, 3.0), rtol=0, atol=1e-4)


@pytest.mark.parametrize("name", ["k2c2", "cnn3", "cnn3-mfcc", "crnn", "samplecnn", "chunk-crnn-mel", "ffnn"])
def test_input_below_minimum_is_rejected(name):
    spec = DEEP_MODELS[name]
    model = _build(spec, 2).eval()
    with pytest.raises(ConfigError, match=f"at least {spec.min_frames}"):
        model(_input(spec, spec.min_frames - 1))


@pytest.mark.parametrize("name", ["crnn", "k2c1", "cnn4", "fcn1d-3", "small-cnn", "chunk-crnn"])
def test_both_input_layouts_give_the_same_logits(name):
    spec = DEEP_MODELS[name]
    model = _build(spec, 4).eval()
    x = _input(spec, spec.min_frames + 7)
    with torch.no_grad():
        torch.testing.assert_close(model(x), model(x.unsqueeze(1)))
    with pytest.raises(ConfigError, match="must be"):
        model(x.unsqueeze(1).unsqueeze(1))


@pytest.mark.parametrize("name", ["k2c1", "cnn3", "cnn3-mfcc", "ffnn", "fcn1d-3", "chunk-crnn-mel"])
def test_models_bound_to_a_band_count_reject_another(name):
    spec = DEEP_MODELS[name]
    model = _build(spec, 2).eval()
    x = torch.randn(BATCH, (N_MFCC if spec.input == "mfcc" else N_MELS) + 1, spec.min_frames)
    with pytest.raises(ConfigError, match="was built for"):
        model(x)


# Hand counts: conv = cin * cout * kh * kw + cout; BatchNorm = 2 * channels; dense = in * out + out.
def _conv(cin, cout, kh, kw=1):
    return cin * cout * kh * kw + cout


def _bn(c):
    return 2 * c


def _dense(i, o):
    return i * o + o


def _n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_k2c2_parameter_count_by_hand():
    widths = [1, 64, 128, 128, 256, 256]
    expected = _bn(1)  # input normalisation
    expected += sum(_conv(widths[i], widths[i + 1], 3, 3) + _bn(widths[i + 1]) for i in range(5))
    expected += _conv(256, 12, 1, 1)  # 1x1 head
    assert _n_params(get_model("k2c2", n_classes=12, n_mels=128)) == expected


def test_k2c1_parameter_count_by_hand():
    widths = [32, 64, 128, 256, 256]
    expected = _bn(1) + _conv(1, 32, 128, 1) + _bn(32)  # the full-frequency first layer
    expected += sum(_conv(widths[i], widths[i + 1], 1, 4) + _bn(widths[i + 1]) for i in range(4))
    expected += _conv(256, 12, 1, 1)
    assert _n_params(get_model("k2c1", n_classes=12, n_mels=128)) == expected


def test_cnn3_parameter_count_by_hand():
    # 128 bands pooled by 2, 4 and 2 leave 8; the dense layer reads 32 channels x 8 bands.
    expected = _bn(1) + _conv(1, 32, 3, 3) + _bn(32) + 2 * (_conv(32, 32, 3, 3) + _bn(32)) + _dense(32 * 8, 10)
    assert _n_params(get_model("cnn3", n_classes=10, n_mels=128)) == expected


def test_cnn7_parameter_count_by_hand():
    expected = _bn(1) + _conv(1, 32, 3, 3) + 2 * _conv(32, 32, 3, 3) + 3 * _bn(32)
    expected += _conv(32, 64, 3, 3) + _conv(64, 64, 3, 3) + 2 * _bn(64)
    expected += _conv(64, 128, 1, 1) + _conv(128, 128, 1, 1) + 2 * _bn(128)
    expected += _dense(128 * 1, 10)  # 128 bands -> 8 -> 4 -> 1
    assert _n_params(get_model("cnn7", n_classes=10, n_mels=128)) == expected


def test_samplecnn_parameter_count_by_hand():
    widths = [128, 128, 128, 256, 256, 256, 256, 256, 256, 512]
    expected = _conv(1, 128, 3) + _bn(128)  # strided first conv
    expected += sum(_conv(widths[i], widths[i + 1], 3) + _bn(widths[i + 1]) for i in range(9))
    expected += _conv(512, 512, 1) + _bn(512) + _dense(512, 50)
    assert _n_params(get_model("samplecnn", n_classes=50)) == expected


def test_ffnn_parameter_count_by_hand():
    expected = _bn(1) + _dense(128 * 130, 512) + _dense(512, 256) + _dense(256, 64) + _dense(64, 10)
    assert _n_params(get_model("ffnn", n_classes=10, n_mels=128)) == expected


def test_shortchunk_parameter_count_by_hand():
    w = [1, 128, 128, 256, 256, 256, 256, 512]
    convs = sum(_conv(w[i], w[i + 1], 3, 3) + _bn(w[i + 1]) for i in range(7))
    head = _dense(512, 512) + _bn(512) + _dense(512, 50)
    assert _n_params(get_model("shortchunk", n_classes=50)) == _bn(1) + convs + head
    # residual blocks: two 3x3 convs and a strided 3x3 shortcut conv, each with BN (all 7 change size)
    res = sum(
        _conv(w[i], w[i + 1], 3, 3) + _conv(w[i + 1], w[i + 1], 3, 3) + _conv(w[i], w[i + 1], 3, 3)
        + 3 * _bn(w[i + 1])
        for i in range(7)
    )  # fmt: skip
    assert _n_params(get_model("shortchunk-res", n_classes=50)) == _bn(1) + res + head


def _narrow(name: str, **kw) -> ZooModel:
    return get_model(name, n_classes=2, **kw).eval()


@pytest.mark.parametrize(
    ("name", "kw", "shape", "expected"),
    [
        # Choi et al. 2016: 96 x 1366 -> 1 x 1 after the last pool (widths narrowed to keep it fast)
        ("fcn5", {"n_mels": 96, "channels": (4, 4, 4, 4, 4)}, (1, 96, 1366), (4, 1, 1)),
        ("fcn4", {"n_mels": 96, "channels": (4, 4, 4, 4)}, (1, 96, 1366), (4, 1, 1)),
        # GTZAN study: 128 x 130 -> 8 bands x 1 step after CNN-3; CNN-5's last pools adapt to 1 x 1
        ("cnn3", {"n_mels": 128}, (1, 128, 130), (32, 8, 1)),
        ("cnn5", {"n_mels": 128}, (1, 128, 130), (64, 1, 1)),
        ("cnn3-mfcc", {}, (1, 20, 130), (32, 1)),
        # FMA study: 128 x 3000 -> 1 x 2 (k2c2), 2 steps (k1c2: bands are conv1d channels), 1 x 1 (k2c1)
        ("k2c2", {"n_mels": 128, "channels": (4, 4, 4, 4, 4)}, (1, 128, 3000), (4, 1, 2)),
        ("k1c2", {"n_mels": 128, "channels": (4, 4, 4, 4)}, (1, 128, 3000), (4, 2)),
        ("k2c1", {"n_mels": 128, "channels": (4, 4, 4, 4, 4)}, (1, 128, 3000), (4, 1, 1)),
        # Won et al. 2020: 128 x 231 (3.69 s at 16 kHz, hop 256) -> 1 x 1
        ("shortchunk", {"n_channels": 4}, (1, 128, 231), (16, 1, 1)),
        ("shortchunk-res", {"n_channels": 4}, (1, 128, 231), (16, 1, 2)),  # stride-2 convs round up
        # Lee et al. 2017: 59,049 samples -> 19,683 frames after the strided conv -> 1 frame
        ("samplecnn", {"stem": 4, "channels": (4,) * 8 + (8,)}, (1, 3**10), (8, 1)),
    ],
)
def test_feature_map_sizes_match_the_papers(name, kw, shape, expected):
    model = _narrow(name, **kw)
    with torch.no_grad():
        assert tuple(model.features(torch.randn(*shape)).shape[1:]) == expected


def test_samplecnn_strided_conv_leaves_3_to_the_9_frames():
    model = _narrow("samplecnn", stem=4, channels=(4,) * 9)
    with torch.no_grad():
        assert model.stem(torch.randn(1, 1, 3**10)).shape == (1, 4, 3**9)


def test_fit_max_pool_matches_max_pool_and_pools_whole_short_sides():
    x = torch.randn(2, 3, 17, 40)
    torch.testing.assert_close(FitMaxPool2d((2, 4))(x), nn.MaxPool2d((2, 4))(x))
    small = torch.randn(2, 3, 3, 40)
    torch.testing.assert_close(FitMaxPool2d((4, 4))(small), nn.MaxPool2d((3, 4))(small))
    torch.testing.assert_close(FitMaxPool2d((4, 8))(small[..., :5]), small[..., :5].amax(dim=(2, 3), keepdim=True))
    seq = torch.randn(2, 3, 2)
    torch.testing.assert_close(FitMaxPool1d(3)(seq), seq.amax(dim=-1, keepdim=True))


@pytest.mark.parametrize("cell", ["gru", "lstm", "rnn"])
def test_recurrent_summary_is_the_last_step_of_the_stacked_rnn(cell):
    torch.manual_seed(0)
    summary = RecurrentSummary(5, hidden=7, layers=2, cell=cell)
    reference = {"gru": nn.GRU, "lstm": nn.LSTM, "rnn": nn.RNN}[cell](5, 7, num_layers=2, batch_first=True)
    reference.load_state_dict(summary.rnn.state_dict())
    x = torch.randn(3, 11, 5)
    torch.testing.assert_close(summary(x), reference(x)[0][:, -1])


def test_crnn_cells_follow_the_registry_name_and_overrides():
    assert isinstance(get_model("crnn", n_classes=2).rnn.rnn, nn.GRU)
    assert isinstance(get_model("crnn-lstm", n_classes=2).rnn.rnn, nn.LSTM)
    assert isinstance(get_model("crnn-rnn", n_classes=2).rnn.rnn, nn.RNN)
    assert isinstance(get_model("crnn", n_classes=2, cell="lstm").rnn.rnn, nn.LSTM)
    with pytest.raises(ConfigError, match="cell='transformer'"):
        get_model("crnn", n_classes=2, cell="transformer")


@pytest.mark.parametrize("name", ["chunk-crnn", "chunk-crnn-mel"])
def test_chunk_crnn_drops_only_the_trailing_remainder(name):
    spec = DEEP_MODELS[name]
    model = _build(spec, 3).eval()
    x = _input(spec, 3 * spec.min_frames + spec.min_frames // 2)
    with torch.no_grad():
        torch.testing.assert_close(model(x), model(x[..., : 3 * spec.min_frames]))
        assert not torch.allclose(model(x), model(x[..., : 2 * spec.min_frames]))


def test_ffnn_pools_longer_inputs_to_its_frames():
    model = get_model("ffnn", n_classes=3, n_mels=N_MELS, n_frames=10).eval()
    x = torch.randn(BATCH, N_MELS, 30)
    pooled = x.reshape(BATCH, N_MELS, 10, 3).mean(-1)  # 30 frames -> 10 averages of 3
    with torch.no_grad():
        torch.testing.assert_close(model(x), model(pooled))


def test_get_model_rejects_unknown_names_and_bad_sizes():
    with pytest.raises(ConfigError, match="k2c2.*samplecnn"):
        get_model("resnet-9000", n_classes=3)
    with pytest.raises(ConfigError, match="n_classes=0"):
        get_model("cnn3", n_classes=0)
    with pytest.raises(ConfigError, match="n_mels=2.5"):
        get_model("cnn3", n_classes=2, n_mels=2.5)
    assert get_spec("k2c2") is DEEP_MODELS["k2c2"]


def test_factories_ignore_irrelevant_keywords():
    model = DEEP_MODELS["samplecnn"](n_classes=3, n_mels=96, sample_rate=16000, hop_length=256)
    assert isinstance(model, ZooModel) and model.head.out_features == 3
    assert DEEP_MODELS["cnn3-mfcc"](n_classes=3, n_mels=128, n_mfcc=20).n_bins == 20


def test_chunk_lengths_from_the_papers_front_ends():
    assert DEEP_MODELS["cnn3"].chunk_length(22050, 512) == 130
    assert DEEP_MODELS["shortchunk"].chunk_length(16000, 256) == 231
    assert DEEP_MODELS["k2c2"].chunk_length(32000, 320) == 3001
    assert DEEP_MODELS["samplecnn"].chunk_length(22050) == 59049
    assert DEEP_MODELS["samplecnn"].chunk_length(16000) == 59049  # 2.68 s at 16 kHz is shorter: clamped
    assert DEEP_MODELS["k2c2"].chunk_length(22050, 512, seconds=3.0) == 1280  # clamped to the minimum
    with pytest.raises(ConfigError, match="hop_length"):
        DEEP_MODELS["cnn3"].chunk_length(22050)
    # every paper's own excerpt must be long enough for its model without padding
    for spec in DEEP_MODELS.values():
        if spec.paper_sr and (spec.paper_hop or spec.input == "waveform"):
            n = round(spec.default_chunk_s * spec.paper_sr)
            n = n if spec.input == "waveform" else 1 + n // spec.paper_hop
            assert n >= spec.min_frames, spec.name
