"""The README's "Python API" example, run as written: it must stay complete, fast and correct.

The code between the markers is the README's example verbatim (a later test compares them).
"""

from __future__ import annotations

import numpy as np


def test_readme_example(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # the example's relative paths (data, ./.cache/mirbench) land here
    monkeypatch.delenv("MIRBENCH_CACHE", raising=False)
    monkeypatch.delenv("MIRBENCH_SYNTHETIC_DIR", raising=False)
    # --- README example start ---
    from imblearn.pipeline import Pipeline
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import GridSearchCV
    from sklearn.preprocessing import StandardScaler

    from benchmarks.datasets import get_dataset
    from deep import DEEP_MODELS, ChunkDataset, TrainConfig, fit, predict
    from features import FeatureExtractor, SpecConfig, spectrogram
    from resampling import get_sampler

    # A TrackTable (track_id, path, label, group, split); the synthetic corpus is generated on first use.
    data = get_dataset("synthetic", "data/synthetic", genres="blues,classical,metal", tracks_per_genre=20,
                       artists_per_genre=10, duration=1.5).load()
    train, valid, test = (data.split(s) for s in ("train", "valid", "test"))
    y_train, y_valid, y_test = (t["label"].map(data.classes.index).to_numpy() for t in (train, valid, test))

    # Hand-crafted features -> scaling -> SMOTE -> logistic regression, grid-searched over n_mfcc.
    pipe = Pipeline([
        ("features", FeatureExtractor(groups=("mfcc", "spectral_centroid", "rms"))),  # cached features
        ("scale", StandardScaler()),
        ("smote", get_sampler("smote", random_state=0)),
        ("model", LogisticRegression(max_iter=1000)),
    ])
    search = GridSearchCV(pipe, {"features__n_mfcc": [13, 20]}, cv=3).fit(train["path"], y_train)
    print(search.best_params_, balanced_accuracy_score(y_test, search.predict(test["path"])))

    # A small CNN on 64-frame chunks of cached log-mels, early-stopped on the validation tracks.
    mels = spectrogram(data.table, SpecConfig(n_mels=64))
    train_ds, valid_ds, test_ds = (ChunkDataset(mels, t["track_id"], y, chunk_frames=64, mode=m) for t, y, m in
                                   ((train, y_train, "random"), (valid, y_valid, "eval"), (test, y_test, "eval")))
    model = DEEP_MODELS["small-cnn"](n_classes=len(data.classes), n_mels=64)
    fit(model, train_ds, valid_ds, config=TrainConfig(epochs=2, batch_size=16),
        score_fn=lambda y, p: balanced_accuracy_score(y, p.argmax(1)))
    probs = predict(model, test_ds)  # (n_test_tracks, n_classes), rows in test_ds.track_ids order
    print(balanced_accuracy_score(y_test, probs.argmax(1)))
    # --- README example end ---
    assert search.best_params_["features__n_mfcc"] in (13, 20)
    assert probs.shape == (len(test), 3) and np.allclose(probs.sum(1), 1)
    assert len(capsys.readouterr().out.strip().splitlines()) == 2
    assert any((tmp_path / ".cache").rglob("*")), "features and log-mels are cached under ./.cache/mirbench"


def test_readme_example_is_marked():
    from pathlib import Path

    text = Path(__file__).read_text()
    start, end = text.index("# --- README example start ---"), text.index("# --- README example end ---")
    body = text[start:end].splitlines()[1:]
    assert 25 <= len(body) <= 45, f"the example has {len(body)} lines"


def test_readme_shows_the_example_this_test_runs():
    import textwrap
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    me = Path(__file__).read_text()
    a = me.index("    # --- README example start ---\n") + len("    # --- README example start ---\n")
    block = textwrap.dedent(me[a:me.index("    # --- README example end ---")]).rstrip() + "\n"
    readme = (root / "README.md").read_text()
    assert "```python\n" + block + "```" in readme
