"""Evaluation metrics of the benchmark: point metrics of one model on one split and their aggregation over
seeds, the paired bootstrap, significance tests between models, and the imbalance study's metrics.

Modules: `point` (single- and multi-label metrics, thresholds, confusion matrices, `summarize`, the metric
names and conventions), `bootstrap` (the paired bootstrap of a difference between two models, its p-value
and Holm's adjustment), `significance` (McNemar's test and every model against a reference model, the best
on validation, from a predictions table) and `imbalance` (head / tail parts of the classes and the study's
extra metrics). Every public name is re-exported here;
the run folder's columns (`METRIC_COLUMNS`, `MODEL_KEYS`, `TASKS`) and `decode_predictions` come from
`benchmarks.runfolder`.
"""

from benchmarks.metrics.bootstrap import (
    Pair,
    WeightedMAP,
    accuracy_diff,
    bootstrap_p,
    bootstrap_tests,
    bootstrap_weights,
    holm,
    macro_f1_diff,
    map_diff,
    paired_bootstrap,
    run_bootstrap,
    weighted_macro_f1,
)
from benchmarks.metrics.imbalance import (
    STUDY_METRICS,
    TAIL_SHARE,
    class_parts,
    decisions,
    mean_recall,
    onehot,
    paired_diff_fn,
    study_metrics,
    weighted_f1_macro_multi,
    weighted_part_recall,
)
from benchmarks.metrics.point import (
    COUNT_METRICS,
    GROUP_KEYS,
    LOWER_IS_BETTER,
    MAIN_METRIC,
    MULTI_METRICS,
    PER_CLASS_METRICS,
    SINGLE_METRICS,
    SINGLE_TOP_K,
    TOP_K,
    ap_columns,
    ap_order,
    check_labels,
    check_task,
    confusion,
    cooccurrence_matrix,
    main_score,
    metric_names,
    metrics_frame,
    multi_label_metrics,
    multilabel_confusion,
    nanmean,
    safe_div,
    single_label_metrics,
    summarize,
    tune_thresholds,
)
from benchmarks.metrics.significance import mcnemar, significance
from benchmarks.runfolder import METRIC_COLUMNS, MODEL_KEYS, TASKS, decode_predictions

__all__ = [
    # point
    "COUNT_METRICS", "GROUP_KEYS", "LOWER_IS_BETTER", "MAIN_METRIC", "MULTI_METRICS", "PER_CLASS_METRICS",
    "SINGLE_METRICS", "SINGLE_TOP_K", "TOP_K", "ap_columns", "ap_order", "check_labels", "check_task", "confusion",
    "cooccurrence_matrix", "main_score", "metric_names", "metrics_frame", "multi_label_metrics",
    "multilabel_confusion", "nanmean", "safe_div", "single_label_metrics", "summarize", "tune_thresholds",
    # bootstrap
    "Pair", "WeightedMAP", "accuracy_diff", "bootstrap_p", "bootstrap_tests", "bootstrap_weights", "holm",
    "macro_f1_diff", "map_diff", "paired_bootstrap", "run_bootstrap", "weighted_macro_f1",
    # significance
    "mcnemar", "significance",
    # imbalance
    "STUDY_METRICS", "TAIL_SHARE", "class_parts", "decisions", "mean_recall", "onehot", "paired_diff_fn",
    "study_metrics", "weighted_f1_macro_multi", "weighted_part_recall",
    # the run folder (benchmarks.runfolder)
    "METRIC_COLUMNS", "MODEL_KEYS", "TASKS", "decode_predictions",
]
