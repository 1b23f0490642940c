"""The essentia back-end agrees with the librosa one column by column, within the tolerances its docstring states.

Skips where essentia is not installed (it is an optional extra; CI installs it).
"""

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("essentia")

import features  # noqa: E402
from features import ExcerptConfig, FeatureConfig  # noqa: E402
from features.extract import compute  # noqa: E402
from tests.features.signals import SR, clicks, mix, noise, sine, table  # noqa: E402

# prefix: (rtol, atol) as documented in features/essentia_backend.py
TOL = {
    "moment": (1e-4, 1e-9),
    "zcr": (0.0, 1e-3),
    "rms": (1e-4, 1e-7),
    "spectral_centroid": (1e-4, 1e-2),
    "spectral_bandwidth": (1e-4, 1e-2),
    "spectral_rolloff": (0.0, SR / 2048),  # one bin
    "spectral_flatness": (1e-4, 1e-7),
    "spectral_contrast": (0.0, 5e-2),
    "chroma": (0.0, 1e-4),
    "mfcc": (0.0, 1e-2),
}


def both(y, cfg=None, excerpts=None):
    cfg = cfg or FeatureConfig()
    lib = pd.DataFrame(compute(y, cfg, excerpts=excerpts), columns=cfg.columns())
    ess = pd.DataFrame(compute(y, cfg, backend="essentia", excerpts=excerpts), columns=cfg.columns())
    return lib, ess


@pytest.mark.parametrize("signal", ["mix", "noise", "tone"])
def test_columns_agree_with_librosa(signal):
    y = {"mix": mix(5.0, seed=4), "noise": noise(3.0, seed=1), "tone": sine(660.0, 3.0) + noise(3.0, amp=1e-4)}[signal]
    lib, ess = both(y)
    for col in lib.columns:
        if col == "tempo":
            continue
        rtol, atol = next(v for k, v in TOL.items() if col.startswith(k))
        assert ess[col].iloc[0] == pytest.approx(lib[col].iloc[0], rel=rtol, abs=atol), col


@pytest.mark.parametrize("bpm", [70.0, 90.0, 120.0, 140.0])
def test_tempo_agrees_on_click_trains(bpm):
    cfg = FeatureConfig(groups=("tempo",))
    lib, ess = both(clicks(bpm, 12.0), cfg)
    assert lib["tempo"].iloc[0] == pytest.approx(bpm, abs=2.0)
    assert ess["tempo"].iloc[0] == pytest.approx(bpm, abs=2.0)


def test_silence_gives_the_same_finite_values():
    lib, ess = both(np.zeros(2 * SR, dtype=np.float32))
    assert np.isfinite(ess.to_numpy()).all()
    assert ess["tempo"].iloc[0] == lib["tempo"].iloc[0]
    np.testing.assert_allclose(ess.to_numpy(), lib.to_numpy(), atol=1e-3)


def test_extract_with_essentia_keeps_names_index_and_excerpts(tmp_path):
    t = table(tmp_path, {"a": mix(7.0, seed=2), "b": noise(2.0)})
    ex = ExcerptConfig(3.0, 0.5)
    lib = features.extract(t, n_jobs=1, cache=False, excerpts=ex, progress=False)
    ess = features.extract(t, backend="essentia", n_jobs=2, cache=False, excerpts=ex, progress=False)
    assert list(ess.columns) == list(lib.columns) and ess.index.equals(lib.index)
    for col in ("spectral_centroid_mean", "mfcc_02_mean", "rms_std", "chroma_05_mean"):
        rtol, atol = next(v for k, v in TOL.items() if col.startswith(k))
        np.testing.assert_allclose(ess[col], lib[col], rtol=rtol, atol=atol, err_msg=col)
    assert ess.attrs["backend"] == "essentia"
