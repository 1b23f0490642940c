"""The hand-crafted-feature side of the dataset analysis, read from the run's feature matrix: the waveform
sample variance per class, 2-D embeddings (PCA, t-SNE) of the standardized feature vectors, and which feature
families the run's classical models rely on (permutation importance by family on the validation split, and the
trees' own importances)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from sklearn.preprocessing import StandardScaler

from baselines import full_columns, make_pipeline, predict_proba_full, set_model_params
from benchmarks.analysis.labels import main_class, target_matrix
from benchmarks.families.classical import rows_for, track_mean
from benchmarks.metrics import main_score

log = logging.getLogger(__name__)

# Feature family -> the column-name prefixes it covers (features.config's naming scheme); "other" takes the rest.
FEATURE_FAMILIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("mfcc", ("mfcc_",)),
    ("chroma", ("chroma_",)),
    ("spectral contrast", ("spectral_contrast_",)),
    ("spectral shape", ("spectral_centroid", "spectral_bandwidth", "spectral_rolloff", "spectral_flatness")),
    ("rms", ("rms_",)),
    ("zcr", ("zcr_",)),
    ("rhythm", ("tempo",)),
    ("moments", ("moment_",)),
)
OTHER = "other"
VARIANCE_COLUMN = "moment_var"
N_REPEATS = 5
TOP_FEATURES = 20
TSNE_ITER = 500  # converged for a few hundred tracks, at half the default's time


def feature_family(column: str) -> str:
    """The feature family of a column name (FEATURE_FAMILIES), OTHER when no prefix matches."""
    for name, prefixes in FEATURE_FAMILIES:
        if column.startswith(prefixes):
            return name
    return OTHER


def families_of(columns: Sequence[str]) -> dict[str, np.ndarray]:
    """Feature family -> column indices, in FEATURE_FAMILIES order, families without a column left out."""
    fam = np.array([feature_family(c) for c in columns])
    order = [n for n, _ in FEATURE_FAMILIES] + [OTHER]
    return {n: np.flatnonzero(fam == n) for n in order if (fam == n).any()}


def per_track(feats: pd.DataFrame) -> pd.DataFrame:
    """One row per track: the matrix as is, or the mean of a track's excerpt rows (a (track_id, excerpt) index)."""
    if isinstance(feats.index, pd.MultiIndex):
        return feats.groupby(level=0, sort=False).mean()
    return feats


def held_table(feats: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """The rows of `table` whose track has feature rows."""
    have = set(map(str, feats.index.get_level_values(0)))
    return table[np.array([str(t) in have for t in table["track_id"]], dtype=bool)].reset_index(drop=True)


def waveform_variance(feats: pd.DataFrame, table: pd.DataFrame, classes: Sequence[str], task: str
                      ) -> pd.DataFrame | None:
    """Rows (track_id, split, class, variance): the `moment_var` column (the waveform sample variance) of every
    track, once per class it carries (multi: per tag); None without that column."""
    if VARIANCE_COLUMN not in feats.columns:
        return None
    ft = per_track(feats)
    tab = held_table(feats, table)
    var = ft.loc[tab["track_id"].astype(str).tolist(), VARIANCE_COLUMN].to_numpy(dtype=np.float64)
    Y = target_matrix(tab, classes, task)
    rows = []
    for c, name in enumerate(classes):
        for i in np.flatnonzero(Y[:, c]):
            rows.append({"track_id": str(tab["track_id"].iloc[i]), "split": str(tab["split"].iloc[i]),
                         "class": name, "variance": float(var[i])})
    return pd.DataFrame(rows, columns=["track_id", "split", "class", "variance"])


def embeddings(feats: pd.DataFrame, table: pd.DataFrame, classes: Sequence[str], task: str, seed: int = 0
               ) -> tuple[pd.DataFrame, dict]:
    """2-D PCA and t-SNE of the standardized feature vectors of every track of `table` (all splits; columns
    with a non-finite value left out; the standardization and the PCA fitted on the training tracks). Returns
    (rows track_id, split, class, pca_1, pca_2, tsne_1, tsne_2 with
    class the track's label or most frequent tag; tsne NaN with fewer than 5 tracks) and facts (explained
    variance ratios, perplexity, columns used)."""
    ft = per_track(feats)
    tab = held_table(feats, table)
    X = ft.loc[tab["track_id"].astype(str).tolist()].to_numpy(dtype=np.float64)
    finite = np.isfinite(X).all(0)
    X = X[:, finite]
    # The scaler and the PCA are fitted on the training tracks (as every fitted step of the toolkit) and map
    # every track; t-SNE, which fits no reusable map, places all tracks together.
    train = (tab["split"].astype(str) == "train").to_numpy()
    fit_rows = X[train] if train.sum() >= 2 else X
    if len(X):
        X = StandardScaler().fit(fit_rows).transform(X)
        fit_rows = X[train] if train.sum() >= 2 else X
    n = len(X)
    pca_xy = np.full((n, 2), np.nan)
    ratio = np.full(2, np.nan)
    k = min(2, len(fit_rows), X.shape[1])
    if k >= 1 and n >= 2:
        pca = PCA(n_components=k, svd_solver="full").fit(fit_rows)
        pca_xy[:, :k] = pca.transform(X)
        ratio[:k] = pca.explained_variance_ratio_
    tsne_xy = np.full((n, 2), np.nan)
    perplexity = min(30.0, (n - 1) / 3.0)
    if n >= 5 and X.shape[1]:
        tsne_xy = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed, max_iter=TSNE_ITER,
                       n_jobs=1).fit_transform(X)
    df = pd.DataFrame({"track_id": tab["track_id"].astype(str), "split": tab["split"].astype(str),
                       "class": main_class(tab, classes, task), "pca_1": pca_xy[:, 0], "pca_2": pca_xy[:, 1],
                       "tsne_1": tsne_xy[:, 0], "tsne_2": tsne_xy[:, 1]})
    facts = {"pca_explained_1": ratio[0], "pca_explained_2": ratio[1], "tsne_perplexity": perplexity,
             "embedding_columns": int(finite.sum()), "embedding_columns_dropped": int((~finite).sum())}
    return df, facts


# -- which features the models use ---------------------------------------------------------------------
def fit_model(name: str, feats: pd.DataFrame, splits: dict[str, list[str]], targets: dict[str, np.ndarray], *,
              task: str, n_classes: int, profile: str, seed: int, n_jobs: int = 1):
    """The classical family's pipeline of `name` (scaler -> estimator, strategy none), fit on the training
    rows as `benchmarks.families.classical.fit_pipeline` fits it (the validation rows as the MLP's and SVM's
    held-out rows), returned fitted."""
    Xtr, own = rows_for(feats, splits["train"])
    pipe = make_pipeline(name, profile=profile, task=task, random_state=seed, n_jobs=n_jobs)
    k = pipe.named_steps["model"].get_params().get("n_neighbors")
    if k is not None and k > len(Xtr):
        pipe = set_model_params(pipe, {"n_neighbors": len(Xtr)})
    fit_kw: dict = {}
    if splits.get("valid"):
        Xva, own_va = rows_for(feats, splits["valid"])
        n_valid = len(splits["valid"])

        def valid_score(p, classes):
            return main_score(task, targets["valid"], track_mean(full_columns(p, classes, n_classes), own_va, n_valid))

        fit_kw = {"X_valid": Xva, "y_valid": targets["valid"][own_va], "valid_score": valid_score}
    return pipe.fit(Xtr, targets["train"][own], **fit_kw)


def score_rows(pipe, X: np.ndarray, owner: np.ndarray, y: np.ndarray, task: str, n_classes: int) -> float:
    """The run's main score (accuracy, or mAP) of `pipe` on feature rows X of tracks `owner`."""
    p = track_mean(predict_proba_full(pipe, X, n_classes), owner, len(y))
    return float(main_score(task, y, p))


def permutation_by_family(pipe, X: np.ndarray, owner: np.ndarray, y: np.ndarray, columns: Sequence[str], *,
                          task: str, n_classes: int, seed: int, n_repeats: int = N_REPEATS
                          ) -> tuple[float, pd.DataFrame]:
    """(baseline score, rows feature_family, importance, std, n_columns): the drop of the main score when the
    rows of all of a family's columns are shuffled together (one row permutation per repeat, shared by the
    family's columns), mean and std over `n_repeats`, one seeded generator for the whole model."""
    base = score_rows(pipe, X, owner, y, task, n_classes)
    rng = np.random.default_rng(seed)
    rows = []
    for fam, cols in families_of(columns).items():
        drops = []
        for _ in range(n_repeats):
            Xp = X.copy()
            Xp[:, cols] = X[rng.permutation(len(X))][:, cols]
            drops.append(base - score_rows(pipe, Xp, owner, y, task, n_classes))
        rows.append({"feature_family": fam, "importance": float(np.mean(drops)), "std": float(np.std(drops)),
                     "n_columns": len(cols)})
    return base, pd.DataFrame(rows, columns=["feature_family", "importance", "std", "n_columns"])


def tree_importances(pipe) -> np.ndarray | None:
    """The fitted trees' `feature_importances_` (the random forest's, or the XGBoost booster's), None for any
    other model or a model without trees."""
    model = pipe.named_steps["model"]
    for est in (model, getattr(model, "model_", None)):
        imp = getattr(est, "feature_importances_", None) if est is not None else None
        if imp is not None:
            return np.asarray(imp, dtype=np.float64)
    return None


def importances(models: Sequence[str], feats: pd.DataFrame, splits: dict[str, list[str]],
                targets: dict[str, np.ndarray], *, task: str, n_classes: int, profile: str, seed: int,
                n_jobs: int = 1, n_repeats: int = N_REPEATS) -> tuple[pd.DataFrame, pd.DataFrame]:
    """For each classical model of `models`: (rows model, kind, feature_family, importance, std, n_columns,
    baseline with kind "permutation" (on the validation split; none without one) or "tree" (rf, xgb: the
    importances summed per family, std and baseline empty); rows model, rank, feature, feature_family,
    importance: the trees' top TOP_FEATURES single features)."""
    columns = [str(c) for c in feats.columns]
    fam_rows, top_rows = [], []
    for name in models:
        pipe = fit_model(name, feats, splits, targets, task=task, n_classes=n_classes, profile=profile, seed=seed,
                         n_jobs=n_jobs)
        if splits.get("valid"):
            X, owner = rows_for(feats, splits["valid"])
            base, df = permutation_by_family(pipe, X, owner, targets["valid"], columns, task=task,
                                             n_classes=n_classes, seed=seed, n_repeats=n_repeats)
            fam_rows += [{"model": name, "kind": "permutation", **r, "baseline": base} for r in df.to_dict("records")]
        imp = tree_importances(pipe)
        if imp is None:
            continue
        for fam, cols in families_of(columns).items():
            fam_rows.append({"model": name, "kind": "tree", "feature_family": fam, "importance": float(imp[cols].sum()),
                             "std": np.nan, "n_columns": len(cols), "baseline": np.nan})
        order = np.lexsort((np.arange(len(imp)), -imp))[:TOP_FEATURES]
        top_rows += [{"model": name, "rank": r + 1, "feature": columns[i], "feature_family": feature_family(columns[i]),
                      "importance": float(imp[i])} for r, i in enumerate(order)]
    fam = pd.DataFrame(fam_rows, columns=["model", "kind", "feature_family", "importance", "std", "n_columns",
                                          "baseline"])
    top = pd.DataFrame(top_rows, columns=["model", "rank", "feature", "feature_family", "importance"])
    return fam, top
