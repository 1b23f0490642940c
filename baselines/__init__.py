"""Classical baselines (LR, RF, XGBoost, SVM, KNN, MLP) as scikit-learn estimators in imbalanced-learn pipelines."""

from baselines.models import (
    BASELINES,
    PROFILES,
    full_columns,
    make_pipeline,
    param_grid,
    predict_proba_full,
    set_model_params,
)
from baselines.validation import CalibratedSVC, EarlyStoppingMLP, ValidatedPipeline, uses_validation

__all__ = ["BASELINES", "PROFILES", "CalibratedSVC", "EarlyStoppingMLP", "ValidatedPipeline", "full_columns",
           "make_pipeline", "param_grid", "predict_proba_full", "set_model_params", "uses_validation"]
