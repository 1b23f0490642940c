"""One run's work: features and spectrograms once, then every (seed, strategy, model) fit and scored.

Every model is scored on the same tracks: a track that failed in any stage a requested model needs
is dropped for all models and listed in skipped.csv with the stage and the reason.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, average_precision_score

from baselines import BASELINES
from benchmarks import metrics as M
from benchmarks.config import RunConfig
from benchmarks.datasets.base import SKIPPED_COLUMNS, LoadedDataset
from features.errors import DatasetError

log = logging.getLogger(__name__)


def main_score(task: str, y: np.ndarray, probs: np.ndarray) -> float:
    """The validation score used for tuning and early stopping: accuracy, or mAP over labels with positives."""
    if task == "single":
        return float(accuracy_score(y, probs.argmax(1)))
    keep = (y.sum(0) > 0) & (y.sum(0) < len(y))
    return float(average_precision_score(y[:, keep], probs[:, keep], average="macro")) if keep.any() else 0.0


class Experiment:
    def __init__(self, cfg: RunConfig, ds: LoadedDataset, timer, *, inputs=None, label: str | None = None):
        """inputs: (feature matrix or None, spectrogram store or None) computed beforehand for a superset
        of ds.table's tracks (the imbalance study computes them once for all its training subsets);
        label: the `dataset` column of the metric rows (default cfg.dataset)."""
        self.cfg = cfg
        self.ds = ds
        self.timer = timer
        self.inputs = inputs
        self.label = label or cfg.dataset
        self.table = ds.table
        self.skipped = ds.skipped.copy()
        self.notes: list[str] = []
        self.classical = [m for m in cfg.models if m in BASELINES]
        self.deep = [m for m in cfg.models if m not in BASELINES]

    # -- inputs -----------------------------------------------------------------------------------
    def note(self, msg: str) -> None:
        log.info(msg)
        if msg not in self.notes:
            self.notes.append(msg)

    def _add_skipped(self, df: pd.DataFrame | None) -> None:
        if df is not None and len(df):
            # One row per file: the first stage that failed on it says why (later stages repeat the cause).
            both = pd.concat([self.skipped, pd.DataFrame(df[SKIPPED_COLUMNS])], ignore_index=True)
            self.skipped = both.drop_duplicates(subset="path", keep="first", ignore_index=True)

    def features(self) -> pd.DataFrame:
        import features

        fconf = features.FEATURE_SETS[self.cfg.features]()
        excerpts = None
        if self.cfg.excerpts:
            excerpts = features.ExcerptConfig(length=self.cfg.excerpts, overlap=self.cfg.excerpt_overlap)
        with self.timer("features"):
            feats = features.extract(self.table, fconf, backend=self.cfg.backend, n_jobs=self.cfg.n_jobs,
                                     cache=self.cfg.cache, cache_dir=self.cfg.cache_dir, excerpts=excerpts)
        self._add_skipped(feats.attrs.get("skipped"))
        return feats

    def spectrograms(self):
        from benchmarks.deeprun import spectrogram_store

        with self.timer("spectrograms"):
            store = spectrogram_store(self.cfg, self.table)
        self._add_skipped(store.skipped)
        return store

    # -- the loop ---------------------------------------------------------------------------------
    def run(self) -> tuple[list[dict], pd.DataFrame, pd.DataFrame | None]:
        cfg, ds = self.cfg, self.ds
        if self.inputs is not None:
            feats, store = self.inputs
        else:
            feats = self.features() if self.classical else None
            store = self.spectrograms() if self.deep else None
        ok = pd.Series(True, index=self.table.index)
        if feats is not None:
            have = set(feats.index.get_level_values(0))
            ok &= self.table["track_id"].isin(have)
        if store is not None:
            ok &= self.table["track_id"].map(lambda t: t in store)
        if not ok.all():
            log.warning("%d track(s) dropped for every model (see skipped.csv)", int((~ok).sum()))
        self.table = self.table[ok].reset_index(drop=True)
        from benchmarks.run import encode_targets

        y_all = encode_targets(ds, self.table)
        split_col = self.table["split"].astype(str)
        splits = {s: self.table.loc[split_col == s, "track_id"].tolist() for s in ("train", "valid", "test")}
        targets = {s: y_all[(split_col == s).to_numpy()] for s in splits}
        if not splits["train"] or not splits["test"]:
            raise DatasetError("no training or no test track left after skipping bad files")
        self.splits, self.targets = splits, targets

        metric_rows: list[dict] = []
        pred_frames: list[pd.DataFrame] = []
        curve_frames: list[pd.DataFrame] = []
        for seed in cfg.seeds:
            for strategy in cfg.strategies:
                for model in cfg.models:
                    family = "classical" if model in BASELINES else "deep"
                    with self.timer("fit+predict", f"{model}/{strategy}/seed{seed}"):
                        if family == "classical":
                            res = self._classical(model, feats, strategy, seed)
                            input_name = f"features:{cfg.features}" + (f"@{cfg.excerpts:g}s" if cfg.excerpts else "")
                        else:
                            from benchmarks.deeprun import deep_input_name

                            res = self._deep(model, store, strategy, seed)
                            input_name = deep_input_name(cfg, model)
                    if res is None:
                        continue
                    probs, info = res
                    key = {"dataset": self.label, "model": model, "family": family, "input": input_name,
                           "strategy": strategy, "seed": seed}
                    metric_rows += self._score(key, probs)
                    pred_frames += [self._predictions(key, s, probs[s]) for s in ("valid", "test") if s in probs]
                    if info.get("curves") is not None:
                        curve_frames.append(info["curves"].assign(model=model, strategy=strategy, seed=seed))
        preds = pd.concat(pred_frames, ignore_index=True) if pred_frames else pd.DataFrame()
        curves = pd.concat(curve_frames, ignore_index=True) if curve_frames else None
        return metric_rows, preds, curves

    def _classical(self, model, feats, strategy, seed):
        from benchmarks.classical import fit_predict

        cfg, task = self.cfg, self.ds.task
        sampler_factory, class_weight = None, None
        if strategy == "class-weight":
            if not BASELINES[model].class_weight:
                self.note(f"strategy class-weight skipped for {model}: the model takes no class weights")
                return None
            class_weight = "balanced" if task == "single" else None
            if task == "multi":
                self.note(f"strategy class-weight skipped for {model}: multi-label class weights apply to losses")
                return None
        elif strategy != "none":
            from resampling import SAMPLERS

            if strategy not in SAMPLERS:
                self.note(f"strategy {strategy} skipped for {model}: it applies to deep models only")
                return None
            spec = SAMPLERS[strategy]
            if task not in spec.tasks:
                self.note(f"strategy {strategy} skipped: it does not support {task}-label targets")
                return None
            sampler_factory = lambda: spec(random_state=seed)  # noqa: E731
        n_jobs = max(1, cfg.n_jobs) if cfg.n_jobs != -1 else -1
        return fit_predict(
            model, feats, self.splits, self.targets, task=task, n_classes=len(self.ds.classes), profile=cfg.profile,
            seed=seed, sampler_factory=sampler_factory, class_weight=class_weight, tune=cfg.tune,
            score_fn=lambda y, p: main_score(task, y, p), n_jobs=n_jobs,
        )

    def _deep(self, model, store, strategy, seed):
        from benchmarks.deeprun import fit_predict_deep

        return fit_predict_deep(self, model, store, strategy, seed)

    # -- scoring ----------------------------------------------------------------------------------
    def _score(self, key: dict, probs: dict[str, np.ndarray]) -> list[dict]:
        classes, task = self.ds.classes, self.ds.task
        rows = []
        thresholds = None
        if task == "multi" and "valid" in probs:
            thresholds = M.tune_thresholds(self.targets["valid"], probs["valid"], classes=classes)
        for split, p in probs.items():
            y = self.targets[split]
            if task == "single":
                values = M.single_label_metrics(y, p, classes)
            else:
                values = M.multi_label_metrics(y, p, classes, thresholds=thresholds if split == "test" else None)
            rows += [{**key, "split": split, "metric": k, "value": float(v)} for k, v in values.items()]
        return rows

    def _predictions(self, key: dict, split: str, p: np.ndarray) -> pd.DataFrame:
        classes, task = self.ds.classes, self.ds.task
        ids = self.splits[split]
        rows = self.table.set_index("track_id").loc[ids]
        df = pd.DataFrame({"track_id": ids, "split": split, "model": key["model"], "family": key["family"],
                           "input": key["input"], "strategy": key["strategy"], "seed": key["seed"]})
        if task == "single":
            df["label"] = rows["label"].to_numpy()
            df["pred"] = [classes[i] for i in p.argmax(1)]
        else:
            df["labels"] = ["|".join(t) for t in rows["labels"]]
            df["pred"] = ["|".join(c for c, on in zip(classes, r, strict=True) if on) for r in p >= 0.5]
        probs = pd.DataFrame(p, columns=[f"p:{c}" for c in classes])
        return pd.concat([df, probs], axis=1)
