"""Each log-mel model's paper front-end: the settings the studies state, the values against independent
references (torchaudio's defaults written out in numpy for Won et al.; librosa for the others), the
parameter counts the papers fix, and chunks that are padded, never looped."""

from __future__ import annotations

import hashlib
import json

import librosa
import numpy as np
import pytest
import torch

from deep.data import ChunkDataset
from deep.models import CHOI_FE, DEEP_MODELS, FMA_FE, GTZAN_FE, MTAT_HP_FE, WON_FE, FrontEnd, ModelSpec, get_model
from deep.models.small import SmallCNN
from deep.models.spec import factory
from features.errors import ConfigError
from features.spectrogram import SpecConfig, log_mel


def _tone(sr: int, seconds: float = 0.5, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(sr * seconds)) / sr
    y = 0.5 * np.sin(2 * np.pi * 440 * t) + 0.2 * np.sin(2 * np.pi * 1830 * t) + 0.05 * rng.standard_normal(len(t))
    return y.astype(np.float32)


# -- the settings -----------------------------------------------------------------------------------
# name -> (sr, n_fft, hop, n_mels, fmax, htk, norm, pad_mode, paper input in seconds)
EXPECTED = {
    "fcn4": (12000, 512, 256, 96, None, False, "slaney", "constant", 29.1),
    "crnn": (12000, 512, 256, 96, None, False, "slaney", "constant", 29.1),
    "k2c2": (32000, 800, 320, 128, None, False, "slaney", "constant", 30.0),
    "k1c2": (32000, 800, 320, 128, None, False, "slaney", "constant", 30.0),
    "k2c1": (32000, 800, 320, 128, None, False, "slaney", "constant", 30.0),
    "cnn3": (22050, 1024, 512, 128, None, False, "slaney", "constant", 3.0),
    "cnn7-mfcc": (22050, 1024, 512, 128, None, False, "slaney", "constant", 3.0),
    "ffnn": (22050, 1024, 512, 128, None, False, "slaney", "constant", 3.0),
    "fcn1d-3": (16000, 1024, 512, 96, None, False, "slaney", "constant", 29.1),
    "fcn2d-5": (16000, 1024, 512, 96, None, False, "slaney", "constant", 29.1),
    "shortchunk": (16000, 512, 256, 128, 8000.0, True, None, "reflect", 59049 / 16000),
    "shortchunk-res": (16000, 512, 256, 128, 8000.0, True, None, "reflect", 59049 / 16000),
    "chunk-crnn-mel": (16000, 512, 256, 128, 8000.0, True, None, "reflect", 29.1),
    # studies/004 lines 342-358: 12 kHz, n_fft 2048, hop 1024, 96 mels, 29.1-s frames
    "fcn5-mood": (12000, 2048, 1024, 96, None, False, "slaney", "constant", 29.1),
    # Won et al.'s code: torchaudio's MelSpectrogram at 16 kHz with its 96-band default, 29-s input
    "won-crnn": (16000, 512, 256, 96, 8000.0, True, None, "reflect", 29.0),
    "won-fcn": (16000, 512, 256, 96, 8000.0, True, None, "reflect", 29.0),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_model_declares_its_paper_front_end_and_input_length(name):
    spec = DEEP_MODELS[name]
    fe = spec.frontend
    got = (fe.sr, fe.n_fft, fe.hop_length, fe.n_mels, fe.fmax, fe.htk, fe.norm, fe.pad_mode, spec.default_chunk_s)
    assert got == EXPECTED[name]
    assert fe.power == 2.0 and fe.ref == 1.0 and fe.top_db is None and fe.source


@pytest.mark.parametrize("name, sr, seconds", [
    ("won-samplecnn", 16000, 59049 / 16000), ("samplecnn", 22050, 59049 / 22050), ("chunk-crnn", 16000, 29.1),
    ("chunk-crnn-rnn", 16000, 29.1), ("chunk-crnn-lstm", 16000, 29.1), ("chunk-cnn", 16000, 29.1)])
def test_waveform_models_read_their_papers_rate_and_length(name, sr, seconds):
    spec = DEEP_MODELS[name]
    assert spec.input == "waveform" and spec.frontend is None
    assert (spec.paper_sr, spec.default_chunk_s) == (sr, pytest.approx(seconds))


def test_paper_sr_hop_and_bins_agree_with_the_front_end():
    for spec in DEEP_MODELS.values():
        if spec.frontend is None:
            assert spec.input == "waveform" or spec.name == "small-cnn"
            continue
        assert (spec.paper_sr, spec.paper_hop) == (spec.frontend.sr, spec.frontend.hop_length), spec.name
        assert spec.paper_n_bins == (20 if spec.input == "mfcc" else spec.frontend.n_mels), spec.name
        sc = spec.spec_config()
        assert (sc.sr, sc.n_fft, sc.hop_length, sc.n_mels) == (spec.paper_sr, spec.frontend.n_fft, spec.paper_hop,
                                                             spec.frontend.n_mels)
    with pytest.raises(ConfigError, match="paper_hop=512 disagrees"):
        ModelSpec("x", factory(SmallCNN), frontend=WON_FE, paper_hop=512)


def test_paper_input_shapes():
    # Won: 59,049 samples at hop 256 -> 231 frames; FMA: 30 s -> 3001; GTZAN: 3 s -> 130; Choi: 29.1 s -> 1365
    assert DEEP_MODELS["shortchunk"].chunk_length(16000, 256) == 1 + 59049 // 256 == 231
    assert FMA_FE.n_frames(30.0) == 3001 and GTZAN_FE.n_frames(3.0) == 130
    assert CHOI_FE.n_frames(29.1) == 1365 and MTAT_HP_FE.n_frames(29.12) == 911


def test_default_settings_keep_their_cache_key_and_silence_is_minus_100_db():
    sc = SpecConfig()
    legacy = {"version": 1, "sr": 22050, "n_fft": 1024, "hop_length": 512, "n_mels": 128, "fmin": 0.0, "fmax": None,
              "htk": False, "norm": "slaney", "power": 2.0, "log": "db", "amin": 1e-10, "top_db": None,
              "log_c": 10000.0, "offset": 0.0, "duration": None}  # the fields before win_length and pad_mode
    assert sc.key() == hashlib.sha256(json.dumps(legacy, sort_keys=True).encode()).hexdigest()[:16]
    assert sc.floor() == pytest.approx(-100.0) and WON_FE.spec_config().floor() == pytest.approx(-100.0)
    assert GTZAN_FE.spec_config().key() == sc.key()  # the GTZAN study's front-end is the default
    assert WON_FE.spec_config().key() != SpecConfig(sr=16000, n_fft=512, hop_length=256, fmax=8000.0).key()


# -- the values against independent references ---------------------------------------------------------
def _torchaudio_defaults_db(y: np.ndarray, *, sr: int, n_fft: int, n_mels: int, f_min: float, f_max: float):
    """torchaudio.transforms.MelSpectrogram(sr, n_fft, f_min=, f_max=, n_mels=) then AmplitudeToDB(), written
    out: win_length = n_fft, hop = n_fft // 2, periodic Hann, center=True with reflect padding, onesided,
    power 2, HTK mel scale, norm None (triangles of peak 1 on linspace(0, sr // 2, n_freqs)), then
    10 * log10(max(x, 1e-10)) (ref 1, top_db None)."""
    hop = n_fft // 2
    n = np.arange(n_fft)
    window = 0.5 - 0.5 * np.cos(2 * np.pi * n / n_fft)  # torch.hann_window(periodic=True)
    yp = np.pad(y.astype(np.float64), n_fft // 2, mode="reflect")
    n_frames = 1 + (len(yp) - n_fft) // hop
    frames = np.stack([yp[i * hop: i * hop + n_fft] for i in range(n_frames)])
    power = np.abs(np.fft.rfft(frames * window, axis=1)) ** 2  # (frames, n_freqs)
    all_freqs = np.linspace(0, sr // 2, n_fft // 2 + 1)
    mel = lambda f: 2595.0 * np.log10(1.0 + f / 700.0)  # noqa: E731 - HTK
    f_pts = 700.0 * (10 ** (np.linspace(mel(f_min), mel(f_max), n_mels + 2) / 2595.0) - 1.0)
    f_diff = f_pts[1:] - f_pts[:-1]
    slopes = f_pts[None, :] - all_freqs[:, None]
    down = -slopes[:, :-2] / f_diff[:-1]
    up = slopes[:, 2:] / f_diff[1:]
    fb = np.maximum(0.0, np.minimum(down, up))  # (n_freqs, n_mels)
    return 10.0 * np.log10(np.maximum(power @ fb, 1e-10)).T  # (n_mels, frames)


def test_won_front_end_equals_torchaudio_defaults():
    y = _tone(16000)
    ours = log_mel(y, WON_FE.spec_config())
    ref = _torchaudio_defaults_db(y, sr=16000, n_fft=512, n_mels=128, f_min=0.0, f_max=8000.0)
    assert ours.shape == ref.shape == (128, 1 + len(y) // 256)
    loud = ref > ref.max() - 80  # float32 against float64: compare where there is signal
    assert np.abs(ours - ref)[loud].max() < 0.02
    assert np.abs(ours - ref).max() < 0.5


@pytest.mark.parametrize("fe", [CHOI_FE, FMA_FE, GTZAN_FE, MTAT_HP_FE], ids=["choi", "fma", "gtzan", "mtat-hp"])
def test_librosa_style_front_ends_equal_librosa(fe: FrontEnd):
    y = _tone(fe.sr, seed=1)
    ours = log_mel(y, fe.spec_config())
    S = librosa.feature.melspectrogram(y=y, sr=fe.sr, n_fft=fe.n_fft, hop_length=fe.hop_length, n_mels=fe.n_mels,
                                       fmin=fe.fmin, fmax=fe.fmax, htk=fe.htk, norm=fe.norm, power=fe.power,
                                       center=True, pad_mode="constant")
    ref = librosa.power_to_db(S, ref=1.0, amin=1e-10, top_db=None)
    assert ours.shape == ref.shape
    assert np.abs(ours - ref).max() < 0.02


def test_a_window_shorter_than_the_frame_is_centred_as_in_torch_stft():
    y = _tone(16000, seed=2)
    sc = SpecConfig(sr=16000, n_fft=512, hop_length=160, win_length=400, n_mels=40, htk=True, norm=None)
    spec = torch.stft(torch.from_numpy(y).double(), 512, 160, 400, torch.hann_window(400, dtype=torch.float64),
                      center=True, pad_mode="constant", return_complex=True).abs() ** 2
    ref = 10 * np.log10(np.maximum(sc.mel_basis().astype(np.float64) @ spec.numpy(), 1e-10))
    assert np.abs(log_mel(y, sc) - ref).max() < 0.02
    assert "win_length" in sc.to_dict() and "win_length" not in SpecConfig().to_dict()


# -- parameter counts the papers fix --------------------------------------------------------------------
def _conv(cin, cout, *k):
    return cin * cout * int(np.prod(k)) + cout


def _n(model):
    return sum(p.numel() for p in model.parameters())


def test_fcn4_and_fcn5_widths_and_counts():
    # Choi et al. 2016, Table 1 (not in /work/shared): FCN-4 128-384-768-2048, FCN-5 128-256-512-1024-2048,
    # 3x3 convs with BN; 50 MTAT tags; plus the 2-parameter input BatchNorm.
    for name, widths in (("fcn4", (128, 384, 768, 2048)), ("fcn5", (128, 256, 512, 1024, 2048))):
        w = (1, *widths)
        expected = 2 + sum(_conv(w[i], w[i + 1], 3, 3) + 2 * w[i + 1] for i in range(len(widths)))
        expected += 2048 * 50 + 50
        assert _n(get_model(name, n_classes=50, n_mels=96)) == expected
    assert _n(get_model("fcn4", n_classes=50, n_mels=96)) == 17_365_940
    assert _n(get_model("fcn5", n_classes=50, n_mels=96)) == 25_183_028


def test_k1c2_is_a_1d_convolution_with_the_bands_as_channels():
    model = get_model("k1c2", n_classes=12, n_mels=128)
    first = next(m for m in model.modules() if isinstance(m, torch.nn.Conv1d))
    assert tuple(first.weight.shape) == (32, 128, 4)  # every band enters every first-layer kernel
    widths = (128, 32, 64, 128, 256)
    expected = 2 + sum(_conv(widths[i], widths[i + 1], 4) + 2 * widths[i + 1] for i in range(4)) + _conv(256, 12, 1)
    assert _n(model) == expected == 192_942
    with torch.no_grad():
        assert model.eval()(torch.randn(2, 128, 1280)).shape == (2, 12)
        assert model.features(torch.randn(1, 128, 3000)).shape == (1, 256, 2)  # 3000 / (4 * 5 * 8 * 8)


def test_ffnn_exposes_the_studys_l2_for_the_trainer():
    spec = DEEP_MODELS["ffnn"]
    assert spec.l2 == 1e-3 and spec.weight_decay == pytest.approx(2e-3)  # d/dw of 1e-3 * w**2
    assert all(s.l2 is None for n, s in DEEP_MODELS.items() if n != "ffnn")


# -- no loops -------------------------------------------------------------------------------------------
def test_a_short_track_is_padded_with_its_stores_silence():
    class Store(dict):
        config = WON_FE.spec_config(amin=1e-8)  # a store whose floor is -80 dB

    store = Store(a=np.zeros((4, 5), np.float16) + 3, b=np.zeros((4, 40), np.float16))
    x, _, _ = ChunkDataset(store, ["a", "b"], np.array([0, 1]), 12, mode="eval", n_eval_chunks=1)[0]
    assert np.allclose(x[0].numpy(), [3.0] * 5 + [-80.0] * 7)


@pytest.mark.parametrize("fe", [WON_FE, FMA_FE], ids=["won", "fma"])
def test_the_device_front_end_computes_what_the_cache_stores(fe: FrontEnd):
    from deep.frontend import LogMel

    y = _tone(fe.sr, seed=3)
    device = LogMel.from_config(fe.spec_config())(torch.from_numpy(y)[None])[0].numpy()
    assert np.abs(device - log_mel(y, fe.spec_config())).max() < 0.02
