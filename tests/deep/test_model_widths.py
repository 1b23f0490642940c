"""FCN widths as model options: fcn5's `channels` (study 004's 32-64-128-256-512) and the 1-D/2-D FCNs'
`growth` (study 002's widths doubling per layer), against parameter counts summed by hand."""

import pytest

from benchmarks.config import RunConfig, from_sources
from deep.models import DEEP_MODELS, get_model
from features.errors import ConfigError


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def conv_params(model):
    """Weights and biases of the conv layers, in order."""
    return [sum(p.numel() for p in m.parameters()) for m in model.modules() if type(m).__name__ in ("Conv1d", "Conv2d")]


def test_fcn5_with_the_jamendo_studys_widths():
    # studies/004 Table 6: 3x3 convs of 32, 64, 128, 256, 512 channels on one log-mel channel, 35 mood tags.
    # Each conv: 9 * cin * cout weights + cout biases; each BN: 2 * cout; the input BN: 2; the head: 512 * 35 + 35.
    conv = (9 * 1 * 32 + 32) + (9 * 32 * 64 + 64) + (9 * 64 * 128 + 128) + (9 * 128 * 256 + 256) + (9 * 256 * 512 + 512)
    bn = 2 * (32 + 64 + 128 + 256 + 512)
    expected = conv + bn + 2 + (512 * 35 + 35)
    assert (conv, expected) == (1_568_000, 1_587_941)
    cfg = RunConfig(models=("fcn5",), model_options=(("channels", "32-64-128-256-512"),))
    net = DEEP_MODELS["fcn5"](35, n_mels=96, **dict(cfg.model_options))
    assert n_params(net) == expected
    assert n_params(get_model("fcn5", n_classes=35, n_mels=96, channels="32,64,128,256,512")) == expected
    assert n_params(get_model("fcn5", n_classes=35, n_mels=96, channels=(32, 64, 128, 256, 512))) == expected
    assert n_params(get_model("fcn5", n_classes=35, n_mels=96)) > 10 * expected  # the default: Choi et al.'s


def test_the_mood_fcn_preset_fits_its_96_x_341_input():
    """fcn5-mood: the same widths with dropout 0.5 after every pool (no parameters), and pools that take the
    study's 96 x 341 (ours: 342 centred frames of 29.1 s at 12 kHz, hop 1024) to one value per channel."""
    import torch

    spec = DEEP_MODELS["fcn5-mood"]
    net = spec(n_classes=35, n_mels=96).eval()
    assert n_params(net) == 1_587_941  # the hand sum above
    fe = spec.frontend
    assert (fe.sr, fe.n_fft, fe.hop_length, fe.n_mels) == (12000, 2048, 1024, 96)
    assert spec.chunk_length(fe.sr, fe.hop_length) == 1 + int(29.1 * 12000) // 1024 == 342
    assert net.features(torch.zeros(1, 96, 341)).shape[2:] == (1, 1)  # 96/2/2/2/3/4, 341/4/4/4/2/2
    assert spec.min_frames == net.min_frames == 4 * 4 * 4 * 2 * 2
    drops = [m.p for m in net.modules() if isinstance(m, torch.nn.Dropout)]
    assert drops == [0.5] * 5


def test_a_toml_list_of_channels_is_kept_hashable(tmp_path):
    toml = tmp_path / "run.toml"
    toml.write_text('models = ["fcn5"]\n[model_options]\nchannels = [32, 64, 128, 256, 512]\n')
    cfg = from_sources({}, str(toml))
    assert cfg.model_options == (("channels", (32, 64, 128, 256, 512)),) and hash(cfg)


@pytest.mark.parametrize("channels, message", [
    ("32-64-128-256", r"channels='32-64-128-256' gives 4 width\(s\); this model has 5 conv layers"),
    ((32, 64, 128, 256, 512, 1024), "gives 6 width"),
    ("32-x-128-256-512", "channels='32-x-128-256-512' must be positive integers"),
    ("32-0-128-256-512", "must be positive integers"),
    ("", "channels='' must be positive integers"),
])
def test_wrong_channels_are_refused(channels, message):
    with pytest.raises(ConfigError, match=message):
        get_model("fcn5", n_classes=35, n_mels=96, channels=channels)


# Study 002, Supplementary 1 (1-D FCN, 96 mel bands in, kernel 3): each conv layer's stated parameter count.
SUPP1 = [3.7e4, 9.9e4, 4.0e5, 1.5e6, 6.3e6]
# The same layers by hand, widths doubling from 128: 3 * cin * cout weights + cout biases.
HAND_1D = [3 * 96 * 128 + 128, 3 * 128 * 256 + 256, 3 * 256 * 512 + 512, 3 * 512 * 1024 + 1024,
           3 * 1024 * 2048 + 2048]
# Supplementary 2/3 (2-D FCN, 3x3): 1.5e3, 2.9e5, 1.2e6 (Supp. 2 prints 1.2e7), 4.7e6 (4.7e7), 1.8e7 (1.8e8).
HAND_2D = [9 * 1 * 128 + 128, 9 * 128 * 256 + 256, 9 * 256 * 512 + 512, 9 * 512 * 1024 + 1024,
           9 * 1024 * 2048 + 2048]


@pytest.mark.parametrize("layers", [3, 4, 5])
def test_doubling_widths_give_study_002s_layers(layers):
    one = get_model(f"fcn1d-{layers}", n_classes=50, n_mels=96, growth=2)
    two = get_model(f"fcn2d-{layers}", n_classes=50, n_mels=96, growth=2)
    assert conv_params(one) == HAND_1D[:layers] and conv_params(two) == HAND_2D[:layers]
    widths = [128 * 2**i for i in range(layers)]
    # the whole model: convs, a BN (2 per channel) after each, the input BN and the 50-tag head
    assert n_params(one) == sum(HAND_1D[:layers]) + 2 * sum(widths) + 2 + widths[-1] * 50 + 50
    assert n_params(two) == sum(HAND_2D[:layers]) + 2 * sum(widths) + 2 + widths[-1] * 50 + 50
    # each layer within 5% of the study's two-digit figure; their sums within 4% of the registry's paper_params
    assert all(abs(ours / stated - 1) < 0.05 for ours, stated in zip(HAND_1D, SUPP1, strict=True))
    for net, name in ((one, f"fcn1d-{layers}"), (two, f"fcn2d-{layers}")):
        assert abs(sum(conv_params(net)) / DEEP_MODELS[name].paper_params - 1) < 0.04
        constant = get_model(name, n_classes=50, n_mels=96)  # the default: 128 channels in every layer
        assert sum(conv_params(constant)) < 0.3 * DEEP_MODELS[name].paper_params


def test_growth_keeps_the_constant_default_and_refuses_bad_values():
    constant = [3 * 96 * 128 + 128, 3 * 128 * 128 + 128, 3 * 128 * 128 + 128]
    assert conv_params(get_model("fcn1d-3", n_classes=50, n_mels=96)) == constant
    assert conv_params(get_model("fcn1d-3", n_classes=50, n_mels=96, hidden=64, growth=2)) == [
        3 * 96 * 64 + 64, 3 * 64 * 128 + 128, 3 * 128 * 256 + 256]
    for bad in (0, -1, "two"):
        with pytest.raises(ConfigError, match="growth=.* must be a positive number"):
            get_model("fcn2d-3", n_classes=50, n_mels=96, growth=bad)
    with pytest.raises(ConfigError, match="each must be >= 1"):
        get_model("fcn1d-5", n_classes=50, n_mels=96, hidden=4, growth=0.25)
