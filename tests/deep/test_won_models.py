"""Tests of Won et al.'s re-implemented models (deep/models/won.py): parameter counts against the public
code, shapes at the paper's excerpt lengths, raw logits, gradients, minimum lengths, and the harmonic
filterbank's response to pure tones."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import torch
from torch import nn

from deep.models import DEEP_MODELS, WON_FE
from deep.models.won import (
    CNNSA,
    WON_PAPER_FRONTEND,
    HarmonicCNN,
    HarmonicSTFT,
    Musicnn,
    SampleCNNSE,
    WonFCN,
    cls_token,
    harmonic_centres,
)
from features.errors import ConfigError

SR, HOP = 16000, 256
BATCH = 2
SPECS = {name: DEEP_MODELS[name] for name in ("won-fcn", "musicnn", "samplecnn-se", "cnnsa", "harmonic-cnn")}


# Hand counts: conv = cin * cout * kh * kw + cout; BatchNorm / LayerNorm = 2 * channels; dense = in * out + out.
def _conv(cin, cout, kh, kw=1):
    return cin * cout * kh * kw + cout


def _bn(c):
    return 2 * c


def _dense(i, o):
    return i * o + o


def _n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# Sum of p.numel() over the public code's models for n_class=50 (minzwon/sota-music-tagging-models,
# training/model.py and modules.py at commit 3abe8be), counted from a transcription of their layer
# definitions; torchaudio's MelSpectrogram and AmplitudeToDB hold no parameters. Each is re-derived
# by hand in the tests below.
SOTA_COUNTS = {
    "won-fcn": 447_732,  # FCN()
    "musicnn": 784_300,  # Musicnn(dataset="mtat")
    "samplecnn-se": 6_951_858,  # SampleCNNSE()
    "cnnsa": 10_521_652,  # CNNSA()
    "harmonic-cnn": 3_631_551,  # HarmonicCNN() with learn_bw="only_Q"
}
PAPER_N_MELS = {"won-fcn": 96, "musicnn": 96, "cnnsa": 128}
# input_length in the code's training/main.py and eval.py, as frames (1 + samples // 256) or samples
PAPER_LENGTHS = {"won-fcn": 1813, "musicnn": 188, "samplecnn-se": 59049, "cnnsa": 938, "harmonic-cnn": 80000}


def _build(name: str, n_classes: int = 50, n_mels: int | None = None) -> nn.Module:
    torch.manual_seed(0)
    return SPECS[name](n_classes=n_classes, n_mels=n_mels or PAPER_N_MELS.get(name, 128))


def _input(name: str, length: int, n_mels: int | None = None, *, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    if SPECS[name].input == "waveform":
        return torch.randn(BATCH, length, generator=g) * 0.1
    return torch.randn(BATCH, n_mels or PAPER_N_MELS[name], length, generator=g) * 10 - 40


def test_fcn_parameter_count_by_hand():
    # conv 1->64, 64->128, 128->128, 128->128, 128->64 (3x3), each with BN; input BN; dense 64->50
    expected = _bn(1)
    expected += _conv(1, 64, 3, 3) + _bn(64)  # 640 + 128
    expected += _conv(64, 128, 3, 3) + _bn(128)  # 73,856 + 256
    expected += 2 * (_conv(128, 128, 3, 3) + _bn(128))  # 2 x (147,584 + 256)
    expected += _conv(128, 64, 3, 3) + _bn(64)  # 73,792 + 128
    expected += _dense(64, 50)  # 3,250
    assert expected == SOTA_COUNTS["won-fcn"] == 447_732
    assert _n_params(WonFCN(50, 96)) == expected
    assert _n_params(WonFCN(50, 128)) == expected  # no layer depends on the band count


def _resse(cin, cout, k, shortcut):
    # conv(k) -> BN -> conv(k) -> BN, SE dense cout->cout twice, [conv(k) -> BN shortcut]
    n = _conv(cin, cout, k) + _bn(cout) + _conv(cout, cout, k) + _bn(cout) + 2 * _dense(cout, cout)
    return n + (_conv(cin, cout, k) + _bn(cout) if shortcut else 0)


def test_samplecnn_se_parameter_count_by_hand():
    expected = _resse(1, 128, 3, True)  # stride-3 first block
    widths = [128, 128, 128, 256, 256, 256, 256, 256, 256, 512]
    expected += sum(_resse(widths[i], widths[i + 1], 3, widths[i] != widths[i + 1]) for i in range(9))
    expected += _resse(512, 512, 1, False)  # 1x1 block, identity shortcut
    expected += _dense(512, 512) + _bn(512) + _dense(512, 50)
    # first block: convs 512 + 49,280, SE 2 x 16,512, shortcut conv 512, three BNs 3 x 256
    assert _resse(1, 128, 3, True) == 512 + 49_280 + 2 * 16_512 + 512 + 3 * 256 == 84_096
    assert expected == SOTA_COUNTS["samplecnn-se"] == 6_951_858
    assert _n_params(SampleCNNSE(50)) == expected


def test_musicnn_parameter_count_by_hand():
    expected = _bn(1)
    expected += _conv(1, 204, 67, 7) + _conv(1, 204, 38, 7) + 2 * _bn(204)  # vertical: int(0.7*96), int(0.4*96)
    expected += sum(_conv(1, 51, k) + _bn(51) for k in (129, 65, 33))  # horizontal
    expected += _conv(561, 64, 7) + 2 * _conv(64, 64, 7) + 3 * _bn(64)  # mid-end
    expected += _dense(2 * (561 + 3 * 64), 200) + _bn(200) + _dense(200, 50)  # max + mean of 753 channels
    assert expected == SOTA_COUNTS["musicnn"]
    assert _n_params(Musicnn(50, 96)) == _n_params(Musicnn(50, 128)) == expected


def test_cnnsa_parameter_count_by_hand():
    w = [1, 128, 128, 256, 256, 256, 256, 256]
    # every block strides, so every block has a conv shortcut: three 3x3 convs and three BNs
    res = sum(2 * _conv(w[i], w[i + 1], 3, 3) + _conv(w[i + 1], w[i + 1], 3, 3) + 3 * _bn(w[i + 1]) for i in range(7))
    bert = 4 * _dense(256, 256) + _dense(256, 1024) + _dense(1024, 256) + 2 * _bn(256)  # q, k, v, out; FF; 2 LN
    expected = _bn(1) + res + 2 * bert + _dense(256, 256) + _dense(256, 50)  # pooler, output
    assert expected == SOTA_COUNTS["cnnsa"]
    assert _n_params(CNNSA(50)) == expected
    # torch's TransformerEncoderLayer has the same parameters (it differs in where dropout goes)
    layer = nn.TransformerEncoderLayer(256, 8, 1024, batch_first=True)
    assert _n_params(layer) == bert


def test_harmonic_cnn_parameter_count_by_hand():
    res = lambda c: 2 * _conv(c, c, 3, 3) + 2 * _bn(c)  # noqa: E731
    expected = 1 + _bn(6)  # Q, the harmonic BatchNorm
    expected += _conv(6, 128, 3, 3) + _bn(128) + 3 * res(128) + _conv(128, 256, 3, 3) + _bn(256) + 2 * res(256)
    expected += _dense(256, 256) + _bn(256) + _dense(256, 50)
    assert expected == SOTA_COUNTS["harmonic-cnn"]
    assert _n_params(HarmonicCNN(50)) == expected
    assert _n_params(HarmonicCNN(50, learn_q=False)) == expected - 1


def test_won_crnn_is_the_codes_crnn():
    """model.py CRNN: conv 1->64->128->128->128 (3x3, BN, ReLU, pools 2/3/4/4), GRU 128->32 x 2 layers, the
    last step, dropout 0.5, dense 32->50 (dense to 50 outputs hard-coded there); its input BN; 96 mels, 29 s."""
    gru = lambda i, h: 3 * (h * i + h * h + 2 * h)  # noqa: E731  torch: W_ih, W_hh, b_ih, b_hh per gate
    expected = _bn(1) + _conv(1, 64, 3, 3) + _bn(64) + _conv(64, 128, 3, 3) + _bn(128)
    expected += 2 * (_conv(128, 128, 3, 3) + _bn(128)) + gru(128, 32) + gru(32, 32) + _dense(32, 50)
    assert expected == 394_100
    spec = DEEP_MODELS["won-crnn"]
    assert spec.paper_params == expected and spec.frontend.n_mels == 96 and spec.frontend.sr == SR
    assert spec.chunk_length(SR, HOP) == 1 + 29 * SR // HOP == 1813
    model = spec(n_classes=50, n_mels=96)
    assert _n_params(model) == expected
    assert not any(isinstance(m, nn.Dropout) for m in model.blocks.modules())  # no block dropout
    assert [type(m) for m in model.blocks.modules() if isinstance(m, (nn.ReLU, nn.ELU))] == [nn.ReLU] * 4
    assert model.dropout.p == 0.5 and model.rnn_steps(1813) == 1813 // 96
    torch.manual_seed(0)
    assert model(torch.randn(2, 96, 1813)).shape == (2, 50)


def test_won_samplecnn_is_the_codes_samplecnn_at_16_khz():
    """model.py SampleCNN: conv(3, stride 3) 1->128, conv3 blocks 128, 128, 256, 256 x 5, 512, a 1x1 conv 512, each
    with BN; dense 512->50; fed 59,049 samples of 16 kHz audio (Lee et al.'s registry entry reads 22,050 Hz)."""
    widths = [128, 128, 128, 256, 256, 256, 256, 256, 256, 512]
    expected = _conv(1, 128, 3) + _bn(128)
    expected += sum(_conv(widths[i], widths[i + 1], 3) + _bn(widths[i + 1]) for i in range(9))
    expected += _conv(512, 512, 1) + _bn(512) + _dense(512, 50)
    assert expected == 1_869_874
    spec = DEEP_MODELS["won-samplecnn"]
    assert spec.paper_params == expected and spec.paper_sr == SR and spec.chunk_length(SR, None) == 3**10
    assert _n_params(spec(n_classes=50)) == expected == _n_params(DEEP_MODELS["samplecnn"](n_classes=50))
    assert DEEP_MODELS["samplecnn"].paper_sr == 22050


def test_specs_metadata_matches_the_built_models_and_the_paper():
    assert list(SPECS) == ["won-fcn", "musicnn", "samplecnn-se", "cnnsa", "harmonic-cnn"]
    assert WON_PAPER_FRONTEND["n_fft"] == 512 and WON_PAPER_FRONTEND["hop_length"] == HOP
    for name, spec in SPECS.items():
        model = _build(name)
        assert model.min_frames == spec.min_frames and model.input_kind == spec.input
        assert spec.chunk_length(SR, HOP) == PAPER_LENGTHS[name]
        assert spec.paper_n_bins == PAPER_N_MELS.get(name) and spec.cite
        if spec.input == "mel":  # the registry's front-end is the code's torchaudio settings
            fe = spec.frontend
            assert (fe.sr, fe.n_fft, fe.hop_length, fe.fmax, fe.htk, fe.norm, fe.pad_mode) == (
                WON_FE.sr, 512, HOP, 8000.0, True, None, "reflect")
            assert fe.n_mels == PAPER_N_MELS[name]


@pytest.mark.parametrize("name", list(SPECS))
def test_paper_length_forward_backward_and_raw_logits(name):
    model = _build(name).train()
    x = _input(name, PAPER_LENGTHS[name]).requires_grad_()
    out = model(x)
    assert out.shape == (BATCH, 50)
    (out**2).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert model.output_layer.weight.grad.abs().sum() > 0

    # Logits are affine in the output bias (a sigmoid would saturate, a softmax would cancel the shift).
    model.eval()
    short = _input(name, max(model.min_frames, 64), seed=1)
    with torch.no_grad():
        before = model(short)
        model.output_layer.bias += 3.0
        after = model(short)
    torch.testing.assert_close(after - before, torch.full_like(before, 3.0), rtol=0, atol=1e-4)
    assert (after > 1).any()


@pytest.mark.parametrize("name", ["won-fcn", "samplecnn-se", "harmonic-cnn"])
def test_input_below_minimum_is_rejected(name):
    model = _build(name).eval()
    with pytest.raises(ConfigError, match=f"at least {model.min_frames}"):
        model(_input(name, model.min_frames - 1))


@pytest.mark.parametrize("name", ["musicnn", "cnnsa"])
def test_padded_models_take_any_length_and_few_bands(name):
    # documented min_frames 1: "same"-padded (Musicnn) or rounding-up strided (CNNSA) convs
    model = _build(name, n_classes=3, n_mels=16).eval()
    assert model.min_frames == 1
    with torch.no_grad():
        assert model(_input(name, 1, n_mels=16)).shape == (BATCH, 3)


def test_musicnn_rejects_fewer_bands_than_its_tallest_filter():
    model = Musicnn(3, 96).eval()
    with torch.no_grad():
        assert model(torch.randn(BATCH, 67, 20)).shape == (BATCH, 3)
    with pytest.raises(ConfigError, match="at least 67"):
        model(torch.randn(BATCH, 66, 20))


def test_cnnsa_cls_vector_is_the_codes():
    np.random.seed(0)  # noqa: NPY002 - the code's own call
    expected = np.random.random((1, 256))[0]  # noqa: NPY002
    np.testing.assert_array_equal(cls_token(256).numpy(), expected.astype(np.float32))
    assert "cls" not in dict(CNNSA(2).named_parameters())


def test_harmonic_centres_follow_the_code():
    centres, level = harmonic_centres(sr=SR, n_harmonic=6, semitone_scale=2)
    assert level == 2 * (librosa.note_to_midi("E6") - librosa.note_to_midi("C1")) == 128
    pitches = centres.reshape(6, level)
    np.testing.assert_allclose(pitches[0, 0], librosa.note_to_hz("C1"))
    np.testing.assert_allclose(pitches[0, 2], librosa.note_to_hz("C#1"))  # two steps per semitone
    np.testing.assert_allclose(pitches, np.arange(1, 7)[:, None] * pitches[0])
    assert pitches.max() < SR / 2


def test_harmonic_filterbank_matches_the_codes_formula():
    hstft = HarmonicSTFT(bw_q=1.5)
    fb = hstft.filterbank().detach()
    f = torch.linspace(0, SR // 2, 257)[:, None]
    c = hstft.centres[None]
    bw = (0.1079 * c + 24.7) / 1.5
    up, down = 2 * (f - c) / bw + 1, -2 * (f - c) / bw + 1  # the code's rising and falling slopes
    torch.testing.assert_close(fb, torch.clamp(torch.minimum(up, down), min=0), rtol=0, atol=1e-5)


@pytest.mark.parametrize("freq", [500.0, 1000.0, 1750.0, 2500.0, 4000.0])
def test_pure_tone_peaks_in_the_filter_nearest_its_frequency(freq):
    # Tones on an FFT bin (multiples of 16000 / 512 = 31.25 Hz). In every harmonic channel whose
    # centres span the tone, the strongest pitch is the one whose harmonic centre is nearest.
    hstft = HarmonicSTFT()
    t = torch.arange(SR // 2) / SR
    with torch.no_grad():
        out = hstft(torch.sin(2 * torch.pi * freq * t)[None])[0, :, :, 15]  # (6, 128), a middle frame
    centres = hstft.centres.reshape(6, hstft.level)
    checked = 0
    for h in range(6):
        if centres[h, 0] <= freq <= centres[h, -1]:
            assert out[h].argmax() == (centres[h] - freq).abs().argmin(), f"harmonic {h + 1}"
            checked += 1
    assert checked >= 2


def test_harmonic_stft_is_float32_under_autocast_and_learns_q():
    hstft = HarmonicSTFT()
    wav = torch.randn(BATCH, 4096)
    reference = hstft(wav)
    with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
        out = hstft(wav.to(torch.bfloat16))
    assert out.dtype == torch.float32 and out.shape == (BATCH, 6, 128, 1 + 4096 // HOP)
    torch.testing.assert_close(out, hstft(wav.to(torch.bfloat16).float()))
    assert torch.isfinite(reference).all()
    reference.mean().backward()
    assert hstft.bw_q.grad is not None and hstft.bw_q.grad.abs() > 0
