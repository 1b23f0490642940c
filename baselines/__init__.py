"""Classical baselines (LR, RF, XGBoost, SVM, KNN, MLP) as scikit-learn estimators in imbalanced-learn pipelines."""

from baselines.models import BASELINES, PROFILES, make_pipeline, param_grid, predict_proba_full, set_model_params

__all__ = ["BASELINES", "PROFILES", "make_pipeline", "param_grid", "predict_proba_full", "set_model_params"]
