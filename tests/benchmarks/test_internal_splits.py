"""Every internal split of a classical model is the run's validation split.

The imbalance study is run on a small generated corpus (long-tailed training subset, so that random
over-sampling copies rows and SMOTE builds points) with the MLP and the SVM under no strategy, ROS and
SMOTE, then in excerpt mode (several feature rows per track) and with --tune. Inside every pipeline
`fit`, everything the models' inner learners are fitted on and everything they are scored on while
fitting is recorded: MLPClassifier.fit / partial_fit and SVC.fit rows (the fit side); MLPClassifier
predict_proba and SVC decision_function rows during the fit (early stopping, calibration: the held-out
side); both sides of every scikit-learn splitter used inside the fit (e.g. the MLP's own
`early_stopping=True` split); and the rows of an SVC fitted with `probability=True` (libsvm's Platt
scaling cross-validates on them, so they are on both sides). Every recorded row is traced back, through
the scaler that fit fitted, to the track and excerpt it is; a row that is no track's (a SMOTE point) may
only be on the fit side. The held-out side must be exactly the validation split's rows (the same track
and excerpt identities), the fit side only training rows or copies of them: no track on both sides.
"""

from __future__ import annotations

import hashlib
import inspect

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import _split
from sklearn.neighbors import NearestNeighbors
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

import features
from baselines import make_pipeline
from benchmarks.config import RunConfig
from benchmarks.datasets import get_dataset
from benchmarks.families.classical import rows_for
from benchmarks.run import run
from resampling.samplers import SafeSMOTE

TINY = (("genres", "blues,classical,metal,pop"), ("tracks_per_genre", "30"), ("artists_per_genre", "15"),
        ("duration", "1.5"), ("jobs", "1"))
MODELS = ("mlp", "svm")


class Recorder:
    """Rows seen inside each pipeline fit, by side ('fit' / 'held'), deduplicated by content."""

    def __init__(self):
        self.events: list[dict] = []
        self.current: dict | None = None
        self.arrays: dict[str, np.ndarray] = {}

    def add(self, side, X, how):
        if self.current is None:
            return
        X = np.asarray(X, dtype=np.float64)
        key = hashlib.sha1(np.ascontiguousarray(X).tobytes()).hexdigest()
        self.arrays.setdefault(key, X.copy())
        self.current[side].append((key, how))


def instrument(monkeypatch) -> Recorder:
    rec = Recorder()
    pipe_cls = type(make_pipeline("lr"))
    orig = {"pipe": pipe_cls.fit, "mlp_fit": MLPClassifier.fit, "mlp_pfit": MLPClassifier.partial_fit,
            "mlp_proba": MLPClassifier.predict_proba, "svc_fit": SVC.fit, "svc_dec": SVC.decision_function,
            "smote": SafeSMOTE.fit_resample, "scaler": StandardScaler.fit}

    def pipe_fit(self, X, y=None, **kw):
        ev = {"fit": [], "held": [], "sampler": [], "scaler": []}
        rec.current = ev
        try:
            return orig["pipe"](self, X, y, **kw)
        finally:
            rec.current = None
            rec.events.append(ev)

    def scaler_fit(self, X, y=None, **kw):
        out = orig["scaler"](self, X, y, **kw)
        if rec.current is not None:
            rec.current["scaler"].append((self.mean_.copy(), self.scale_.copy()))
        return out

    def mlp_fit(self, X, y, *a, **kw):
        if not self.early_stopping:  # with early stopping, the splitter spy records both sides
            rec.add("fit", X, "MLPClassifier.fit")
        return orig["mlp_fit"](self, X, y, *a, **kw)

    def mlp_pfit(self, X, y, *a, **kw):
        rec.add("fit", X, "MLPClassifier.partial_fit")
        return orig["mlp_pfit"](self, X, y, *a, **kw)

    def mlp_proba(self, X):
        rec.add("held", X, "MLPClassifier.predict_proba")
        return orig["mlp_proba"](self, X)

    def svc_fit(self, X, y, *a, **kw):
        rec.add("fit", X, "SVC.fit")
        if getattr(self, "probability", False) is True:  # libsvm's Platt scaling: 5-fold CV on these rows
            rec.add("held", X, "SVC(probability=True) internal CV")
        return orig["svc_fit"](self, X, y, *a, **kw)

    def svc_dec(self, X):
        rec.add("held", X, "SVC.decision_function")
        return orig["svc_dec"](self, X)

    def smote(self, X, y, **kw):
        rec.add("sampler", X, "SMOTE input")
        return orig["smote"](self, X, y, **kw)

    monkeypatch.setattr(pipe_cls, "fit", pipe_fit)
    monkeypatch.setattr(StandardScaler, "fit", scaler_fit)
    monkeypatch.setattr(MLPClassifier, "fit", mlp_fit)
    monkeypatch.setattr(MLPClassifier, "partial_fit", mlp_pfit)
    monkeypatch.setattr(MLPClassifier, "predict_proba", mlp_proba)
    monkeypatch.setattr(SVC, "fit", svc_fit)
    monkeypatch.setattr(SVC, "decision_function", svc_dec)
    monkeypatch.setattr(SafeSMOTE, "fit_resample", smote)

    # Any scikit-learn splitter used inside a fit: its train side is fitted on, its test side held out
    # (recorded once, by the most derived class's split).
    for _, cls in inspect.getmembers(_split, inspect.isclass):
        if "split" in cls.__dict__:
            def spy(self, X, y=None, groups=None, _orig=cls.__dict__["split"], _cls=cls):
                outer = next(c for c in type(self).__mro__ if "split" in c.__dict__) is _cls
                for tr, te in _orig(self, X, y, groups):
                    if outer and X is not None:
                        rec.add("fit", np.asarray(X)[tr], f"{type(self).__name__} train side")
                        rec.add("held", np.asarray(X)[te], f"{type(self).__name__} held-out side")
                    yield tr, te
            monkeypatch.setattr(cls, "split", spy)
    return rec


class Identities:
    """Traces feature rows, scaled by one fit's scaler, back to (split, track_id, excerpt)."""

    def __init__(self, feats, splits):
        rows, self.ids = [], []
        multi = feats.index.nlevels > 1
        for s, tids in splits.items():
            X, owner = rows_for(feats, tids)
            sub = feats[feats.index.get_level_values(0).isin(tids)] if multi else feats.loc[tids]
            excerpt = sub.index.get_level_values(1) if multi else np.zeros(len(sub), dtype=int)
            rows.append(X)
            self.ids += [(s, tids[o], int(e)) for o, e in zip(owner, excerpt, strict=True)]
        self.raw = np.vstack(rows)
        self.by_split = {s: sorted(i for i in self.ids if i[0] == s) for s in splits}

    def matcher(self, scaler):
        mean, scale = scaler
        nn = NearestNeighbors(n_neighbors=1).fit((self.raw - mean) / scale)

        def of(X) -> list:
            """Per row: its (split, track_id, excerpt), or None for a row that is no track's (synthetic)."""
            d, j = nn.kneighbors(X)
            return [self.ids[k] if dist < 1e-6 else None for dist, k in zip(d[:, 0], j[:, 0], strict=True)]

        return of


def run_and_record(tmp_path, monkeypatch, *, strategies, excerpts=None, tune=False):
    root = tmp_path / "data"
    rec = instrument(monkeypatch)
    cfg = RunConfig(dataset="synthetic", data_dir=str(root), dataset_options=TINY, study="imbalance",
                    imbalance_ratios=(4.0,), models=MODELS, strategies=strategies, seeds=(0,), excerpts=excerpts,
                    tune=tune, out=str(tmp_path / "out"), run_id="r", n_jobs=1, cache_dir=str(tmp_path / "cache"))
    run(cfg)
    monkeypatch.undo()
    table = get_dataset("synthetic", root, **dict(TINY)).load().table
    splits = {s: table.loc[table["split"] == s, "track_id"].tolist() for s in ("train", "valid", "test")}
    ex = features.ExcerptConfig(length=excerpts, overlap=0.5) if excerpts else None
    feats = features.extract(table, features.FEATURE_SETS["all"](), n_jobs=1, cache_dir=tmp_path / "cache",
                             excerpts=ex)
    return rec, Identities(feats, splits), splits


def check_fits(rec: Recorder, ident: Identities, order: list[tuple[str, str]]):
    """Every pipeline fit of `order` ((strategy, model) per fit, each model's `none` first): the held-out side
    is exactly the validation rows; the fit side is the long-tailed training subset's rows (under `none`),
    copies of them (ROS) or them and points SMOTE built from them alone; no track is on both sides."""
    assert len(rec.events) == len(order)
    valid = ident.by_split["valid"]
    subset: dict[str, list] = {}  # per model: the training rows of its `none` fit
    for ev, (strategy, model) in zip(rec.events, order, strict=True):
        where = f"{model}/{strategy}"
        assert ev["fit"] and ev["held"], f"{where}: no internal fit recorded"
        assert len(ev["scaler"]) == 1, where
        of = ident.matcher(ev["scaler"][0])
        memo: dict[str, list] = {}

        def ids(key, of=of, memo=memo):
            if key not in memo:
                memo[key] = of(rec.arrays[key])
            return memo[key]

        held_tracks = set()
        for key, how in ev["held"]:
            got = ids(key)
            assert None not in got, f"{where}: {how} scores rows that are no track's (resampled points)"
            assert sorted(got) == valid, (f"{where}: {how} held out {len(got)} rows of the splits "
                                          f"{sorted({i[0] for i in got})}, not the {len(valid)} validation rows")
            held_tracks |= {i[1] for i in got}
        fit_tracks = set()
        for key, how in ev["fit"]:
            got = ids(key)
            known = [i for i in got if i is not None]
            assert {i[0] for i in known} == {"train"}, f"{where}: {how} fits on held-out rows"
            fit_tracks |= {i[1] for i in known}
            if strategy == "none":
                assert None not in got and len(set(got)) == len(got), f"{where}: {how}"
                subset.setdefault(model, sorted(got))
                assert sorted(got) == subset[model], f"{where}: {how} is not the training subset"
            elif strategy == "ros":
                assert None not in got and set(got) == set(subset[model]), f"{where}: {how}"
                assert len(got) > len(subset[model]), f"{where}: {how}: no copies (not long-tailed?)"
            elif strategy == "smote":
                assert None in got and set(known) == set(subset[model]), f"{where}: {how}"
        assert not fit_tracks & held_tracks, f"{where}: tracks on both sides: {sorted(fit_tracks & held_tracks)[:5]}"
        for key, _ in ev["sampler"]:  # SMOTE builds its points from the training rows only
            assert sorted(ids(key)) == subset[model], where


def test_internal_splits_are_the_validation_split(tmp_path, monkeypatch):
    strategies = ("none", "ros", "smote")
    rec, ident, _ = run_and_record(tmp_path, monkeypatch, strategies=strategies)
    check_fits(rec, ident, [(s, m) for s in strategies for m in MODELS])


def test_internal_splits_in_excerpt_mode_keep_tracks_whole(tmp_path, monkeypatch):
    """Excerpts of one track are never split apart: the held-out side is every excerpt of the validation
    tracks, and nothing else."""
    strategies = ("none", "ros")
    rec, ident, splits = run_and_record(tmp_path, monkeypatch, strategies=strategies, excerpts=0.5)
    assert len(ident.by_split["valid"]) > len(splits["valid"])  # several excerpts per track
    check_fits(rec, ident, [(s, m) for s in strategies for m in MODELS])


def test_tuning_fits_every_candidate_on_the_validation_split(tmp_path, monkeypatch):
    """With --tune every candidate's early stopping / calibration is part of its fit, on the validation rows."""
    from baselines import param_grid

    rec, ident, _ = run_and_record(tmp_path, monkeypatch, strategies=("none", "ros"), tune=True)
    check_fits(rec, ident, [(s, m) for s in ("none", "ros") for m in MODELS for _ in param_grid(m)])


@pytest.mark.parametrize("name", ["lr", "rf", "xgb", "svm", "knn", "mlp"])
def test_a_tag_on_every_or_no_training_track_gets_that_constant(name):
    """Multi-label fit_pipeline: tag 0 is on every training track (1.0 from every model), tag 1 on none (0.0),
    though validation and test tracks have both."""
    from sklearn.datasets import make_multilabel_classification

    from benchmarks.families.classical import fit_pipeline
    from benchmarks.metrics import main_score

    X, Y = make_multilabel_classification(n_samples=120, n_features=8, n_classes=5, random_state=2)
    ids = [f"t{i:03d}" for i in range(120)]
    feats = pd.DataFrame(X, index=pd.Index(ids, name="track_id"), columns=[f"f{j}" for j in range(8)])
    splits = {"train": ids[:80], "valid": ids[80:100], "test": ids[100:]}
    Y[:80, 0], Y[:80, 1] = 1, 0
    Y[80:, 0], Y[80:, 1] = np.arange(40) % 2, 1 - np.arange(40) % 2
    targets = {"train": Y[:80], "valid": Y[80:100], "test": Y[100:]}
    out, _ = fit_pipeline(name, feats, splits, targets, task="multi", n_classes=5, profile="quick", seed=0,
                          score_fn=lambda y, p: main_score("multi", y, p))
    for split in ("valid", "test"):
        P = out[split]
        assert (P[:, 0] == 1.0).all() and (P[:, 1] == 0.0).all(), (split, P[:3, :2])
        assert P[:, 2:].std(0).min() > 0
