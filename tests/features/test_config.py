"""FeatureConfig, ExcerptConfig and FEATURE_SETS: validation, column names, cache keys, excerpt windows."""

import pytest

from features import FEATURE_SETS, ExcerptConfig, FeatureConfig, feature_set
from features.config import FEATURE_GROUPS, STATS
from features.errors import ConfigError


def test_default_columns_follow_the_documented_scheme():
    cols = FeatureConfig().columns()
    assert len(cols) == len(set(cols))
    # 4 moments + tempo + (zcr, rms, centroid, bandwidth, rolloff, flatness) + 20 mfcc + 12 chroma + 7 contrast
    assert len(cols) == 4 + 1 + 2 * (6 + 20 + 12 + 7)
    assert cols[:4] == ["moment_mean", "moment_var", "moment_skew", "moment_kurt"]
    for name in ("mfcc_01_mean", "mfcc_03_mean", "mfcc_20_std", "spectral_centroid_std", "tempo", "chroma_07_mean",
                 "chroma_12_std", "spectral_contrast_02_mean", "spectral_contrast_07_std", "zcr_mean", "rms_std",
                 "moment_skew", "spectral_rolloff_mean", "spectral_flatness_std", "spectral_bandwidth_mean"):
        assert name in cols
    assert cols.index("mfcc_01_mean") + 1 == cols.index("mfcc_01_std")


def test_options_extend_the_columns():
    c = FeatureConfig(mfcc_deltas=2, stats=STATS, n_mfcc=13)
    cols = c.columns()
    assert "mfcc_delta_13_kurt" in cols and "mfcc_delta2_01_median" in cols and "mfcc_14_mean" not in cols
    assert len([x for x in cols if x.startswith("mfcc")]) == 3 * 13 * len(STATS)


def test_feature_sets_registry():
    assert {"all", "reference", "mfcc"} <= set(FEATURE_SETS)
    assert FEATURE_SETS["all"]() == FeatureConfig()
    mfcc = FEATURE_SETS["mfcc"]()
    assert mfcc.columns() == [f"mfcc_{i:02d}_{s}" for i in range(1, 21) for s in ("mean", "std")]
    assert not any(c.startswith("spectral_flatness") for c in FEATURE_SETS["reference"]().columns())
    assert feature_set("all", n_mfcc=13).n_mfcc == 13
    with pytest.raises(ConfigError, match="choose from"):
        feature_set("nope")


def test_key_changes_with_every_setting_and_is_stable():
    base = FeatureConfig()
    assert base.key() == FeatureConfig().key()
    for change in ({"sr": 16000}, {"n_fft": 1024}, {"hop_length": 256}, {"tuning": "estimate"}, {"top_db": 60.0},
                   {"stats": ("mean",)}, {"groups": ("mfcc",)}, {"duration": 10.0}, {"tempo_interpolate": False}):
        assert base.replace(**change).key() != base.key(), change
    assert FeatureConfig.from_dict(base.to_dict()) == base


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"hop_length": 0}, "hop_length=0 must be a positive integer"),
        ({"n_fft": 1023}, "n_fft=1023 must be an even"),
        ({"hop_length": 4096}, "must not exceed n_fft"),
        ({"n_mfcc": 200}, "n_mfcc=200 must not exceed n_mels"),
        ({"tuning": 0.7}, "tuning=0.7"),
        ({"tuning": "auto"}, "tuning='auto'"),
        ({"stats": ("mean", "mode")}, "stats="),
        ({"groups": ("mfcc", "loudness")}, "groups="),
        ({"roll_percent": 1.0}, "roll_percent=1.0"),
        ({"sr": 8000}, "Nyquist"),
        ({"mfcc_deltas": 3}, "mfcc_deltas=3"),
        ({"duration": 0}, "duration=0"),
    ],
)
def test_invalid_settings_name_the_value(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        FeatureConfig(**kwargs)


def test_from_dict_rejects_unknown_fields():
    with pytest.raises(ConfigError, match="unknown FeatureConfig field"):
        FeatureConfig.from_dict({"n_mfccs": 20})


@pytest.mark.parametrize("overlap, expected", [(0.5, 19), (0.0, 10)])
def test_excerpt_counts_of_a_30_s_clip_are_the_reference_studys(overlap, expected):
    starts = ExcerptConfig(3.0, overlap).starts(30 * 22050, 22050, 512)
    assert len(starts) == expected
    assert all(s % 512 == 0 for s in starts)
    assert starts[-1] + 3 * 22050 <= 30 * 22050
    assert starts[1] == (int(3 * 22050 * (1 - overlap)) // 512) * 512


def test_excerpts_of_a_short_clip_and_bad_settings():
    assert ExcerptConfig(3.0, 0.5).starts(1000, 22050, 512) == [0]
    with pytest.raises(ConfigError, match="overlap=1.0"):
        ExcerptConfig(3.0, 1.0)
    with pytest.raises(ConfigError, match="length=-1"):
        ExcerptConfig(-1, 0.5)
    with pytest.raises(ConfigError, match="shorter than one hop"):
        ExcerptConfig(0.01, 0.5).starts(22050, 22050, 512)


def test_every_group_can_stand_alone():
    for g in FEATURE_GROUPS:
        cols = FeatureConfig(groups=(g,)).columns()
        assert cols and all(g.split("_")[0] in c or c.startswith("moment") for c in cols), g
