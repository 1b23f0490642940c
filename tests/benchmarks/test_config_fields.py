"""Every FeatureConfig, SpecConfig and TrainConfig field settable in TOML (flat, or in the tables [features],
[spec], [train]); the report's figure and table settings of RunConfig."""

import re

import pytest

from benchmarks.config import RunConfig, from_sources
from benchmarks.families import deep as deep_family
from benchmarks.families.classical import feature_config
from benchmarks.run import parse, report_options
from features.errors import ConfigError


def toml(tmp_path, text: str) -> str:
    p = tmp_path / "run.toml"
    p.write_text(text)
    return str(p)


def mfcc_indices(columns) -> set[str]:
    return {m.group(1) for c in columns if (m := re.match(r"mfcc_(\d+)_", c))}


def test_a_flat_feature_key_reaches_the_feature_matrix(tmp_path):
    cfg = from_sources({}, toml(tmp_path, "n_mfcc = 40\n"))
    assert cfg.feature_options == (("n_mfcc", 40),)
    assert cfg.to_dict()["feature_options"] == {"n_mfcc": 40}
    assert len(mfcc_indices(feature_config(cfg).columns())) == 40
    assert len(mfcc_indices(feature_config(RunConfig()).columns())) == 20  # the default is unchanged


def test_spec_and_train_tables_reach_the_deep_family(tmp_path):
    text = "[spec]\nn_mels = 64\n[train]\nweight_decay = 0.01\noptimizer = 'adam-plateau'\n"
    cfg = from_sources({}, toml(tmp_path, text))
    assert deep_family.spec_config(cfg).n_mels == 64
    tc = deep_family.train_config(cfg, seed=0, chunk_frames=64)
    assert tc.weight_decay == 0.01 and tc.optimizer == "adam-plateau"
    assert deep_family.spec_config(RunConfig()).n_mels == 128
    assert deep_family.train_config(RunConfig(), seed=0, chunk_frames=64).weight_decay == 1e-4


def test_run_fields_win_over_train_fields(tmp_path):
    cfg = from_sources({}, toml(tmp_path, "[train]\nlr = 0.002\nepochs = 3\n"))
    assert cfg.lr == 0.002 and cfg.epochs == 3 and cfg.train_options == ()
    tc = deep_family.train_config(cfg, seed=0, chunk_frames=64)
    assert tc.lr == 0.002 and tc.epochs == 3
    assert from_sources({"lr": 0.01}, toml(tmp_path, "[train]\nlr = 0.002\n")).lr == 0.01  # the flag wins


def test_a_name_of_two_configs_needs_a_table(tmp_path):
    with pytest.raises(ConfigError, match=r"n_fft is a setting of FeatureConfig and SpecConfig; put it in a table"):
        from_sources({}, toml(tmp_path, "n_fft = 4096\n"))
    cfg = from_sources({}, toml(tmp_path, "[features]\nn_fft = 4096\n[spec]\nn_fft = 2048\n"))
    assert feature_config(cfg).n_fft == 4096 and deep_family.spec_config(cfg).n_fft == 2048


@pytest.mark.parametrize("text, says", [
    ("bogus = 1\n", r"unknown setting\(s\) \['bogus'\]"),
    ("[spec]\nn_mfcc = 40\n", r"\[spec\] n_mfcc is no SpecConfig field"),
    ("[train]\nseed = 3\n", r"\[train\] seed is set by the run; use seeds"),
    ("n_mfcc = 500\n", r"n_mfcc=500 must not exceed n_mels=128"),  # FeatureConfig's own check
    ("[spec]\nlog = 'ln'\n", r"log='ln' must be one of"),
    ("weight_decay = -1.0\n", r"weight_decay=-1.0 must be non-negative"),
    ("fig_format = ['png', 'gif']\n", r"fig_format='png,gif' must be distinct formats from png, pdf, svg"),
    ("dpi = 20\n", r"dpi=20 must be an integer of at least 50"),
])
def test_a_wrong_setting_stops(tmp_path, text, says):
    with pytest.raises(ConfigError, match=says):
        from_sources({}, toml(tmp_path, text))


def test_report_flags(tmp_path):
    cfg, _ = parse(["--fig-format", "png,pdf", "--dpi", "300", "--tex-metrics", "accuracy,macro_f1"])
    assert cfg.fig_format == ("png", "pdf") and cfg.dpi == 300 and cfg.tex_metrics == ("accuracy", "macro_f1")
    default, _ = parse([])
    assert default.fig_format == ("png",) and default.dpi == 200 and default.tex_metrics == ()
    opts = report_options(cfg)  # only the keywords report.render takes
    assert set(opts) <= {"fig_formats", "dpi", "tex_metrics"}
    assert report_options(default).get("tex_metrics", None) is None
    with pytest.raises(ConfigError, match="fig_format"):
        parse(["--fig-format", "jpg"])


def test_front_end_flags_set_the_spec_settings_over_the_config_file(tmp_path):
    path = toml(tmp_path, "[spec]\nn_mels = 64\nsr = 22050\n")
    cfg, _ = parse(["--dataset", "synthetic", "--models", "small-cnn", "--config", path, "--sr", "16000",
                    "--n-fft", "512", "--hop-length", "256", "--fmax", "8000", "--mel-scale", "htk"])
    sc = deep_family.spec_config(cfg)
    assert (sc.sr, sc.n_fft, sc.hop_length, sc.n_mels, sc.fmax, sc.htk, sc.norm) == (16000, 512, 256, 64, 8000.0,
                                                                                     True, None)
    slaney = deep_family.spec_config(parse(["--dataset", "synthetic", "--models", "small-cnn", "--n-mels", "96",
                                            "--mel-scale", "slaney"])[0])
    assert (slaney.n_mels, slaney.htk, slaney.norm, slaney.sr) == (96, False, "slaney", 22050)
    with pytest.raises(ConfigError, match="has no effect"):  # a front-end setting without a deep model
        from benchmarks.registry import validate

        validate(parse(["--dataset", "synthetic", "--models", "lr", "--n-mels", "96"])[0])


def test_model_options_reach_the_deep_models_and_unknown_ones_are_refused(tmp_path):
    from benchmarks.registry import validate
    from deep.models import DEEP_MODELS

    cfg = RunConfig(models=("fcn1d-3",), model_options=(("hidden", 64),))
    assert validate(cfg).model_options == (("hidden", 64),) and cfg.to_dict()["model_options"] == {"hidden": 64}
    narrow, wide = (sum(p.numel() for p in DEEP_MODELS["fcn1d-3"](50, n_mels=48, hidden=h).parameters())
                    for h in (64, 128))
    assert narrow < wide  # the option changes the network the family builds
    (tmp_path / "config.json").write_text('{"dataset": "synthetic", "models": ["fcn1d-3"], '
                                          '"model_options": {"hidden": 64}}')
    assert from_sources({}, str(tmp_path / "config.json")).model_options == (("hidden", 64),)
    with pytest.raises(ConfigError, match="model option 'widths' is not a parameter of fcn1d-3"):
        validate(RunConfig(models=("fcn1d-3",), model_options=(("widths", 3),)))
    with pytest.raises(ConfigError, match="has no effect"):
        validate(RunConfig(models=("lr",), model_options=(("hidden", 64),)))
