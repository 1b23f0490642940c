"""The imbalance study (`--study imbalance`): every selected model under every selected imbalance strategy,
trained on long-tailed subsets of the training split at several imbalance ratios, over several seeds, and
scored on the untouched, balanced validation and test splits.

    python -m benchmarks.run --dataset synthetic --study imbalance --imbalance-ratio 10,50,100 \\
        --imbalance-profile exponential --strategies none,class-weight,ros,rus,smote,focal,cb-focal --seeds 0,1

Design
------
- Single-label data: features and spectrograms are computed once for every track; then, for each ratio and
  seed, `resampling.longtail_subset` draws a long-tailed subset of the *training* tracks (exponential or step
  profile, whole groups at a time, the head class whole, the tail class about 1/ratio of it). The class
  order (head to tail) is a permutation seeded by the training seed alone, so a seed has the same head and
  tail classes at every ratio and, over seeds, no class is always the tail. Validation and test tracks are
  never subsampled. Whole groups make the achievable ratio coarse: with the generated corpus's 4-track
  artists and 32 training tracks per class, every class keeps at least one artist (4 tracks), so nominal
  ratios of 10, 50 and 100 all give an effective head/tail ratio of 8 (32/4), with 3 classes at the floor at
  ratio 10 and 6 at ratios 50 and 100, whose subsets coincide. A (subset, seed) already trained is not
  trained again: its results are reused for the later ratio (noted) and counted once when pooling.
  `subsets.csv` records what was drawn and the report states the effective ratios.
- Multi-label data: the imbalance is the data's own (the ratios are ignored, with a note); the same
  comparison runs on the full training split with the multi-label strategies given (ml-ros, ml-rus,
  mlsmote, focal, cb-focal, asymmetric, ...).
- Strategies that do not apply to a model family are skipped with a note (e.g. focal losses for the
  classical models, SMOTE for spectrograms); `none` is always run, as the reference.
- Extra metrics per (model, strategy, seed), test split: `tail_recall` / `head_recall`, the mean recall
  of the third of the classes with the fewest / most training tracks in that subset (ties broken by the
  long-tail rank); single-label: `ovr_f1_macro` and `ovr_f1_macro@tuned`, one-vs-rest macro-F1 with every
  class scored on its own probability at 0.5 and at per-class thresholds tuned on the validation split to
  maximise F1; multi-label: `tail_recall@tuned` next to the existing `f1_macro` / `f1_macro@tuned`.

The run folder `results/<dataset>/<run-id>/`
-------------------------------------------
- `metrics.csv`: the usual tidy columns; the ratio is part of the `dataset` column, "<dataset>@ir<ratio>"
  ("synthetic@ir10"), or "<dataset>@natural" for a multi-label study, so the usual tables list one row per
  (ratio, model, strategy).
- `subsets.csv`: one row per (label, ratio, seed, class): rank (0 = head), n_train, n_groups, target
  (the profile's count), part (head / middle / tail).
- `ir<ratio>/` (or `natural/`): one ordinary run folder per ratio (config.json, metrics.csv,
  predictions.csv, curves.csv, skipped.csv and its rendered report), re-renderable on its own.
- rendered by the report's study section (`benchmarks.report.study`): `study.md` / `study.csv` /
  `study.tex` (per ratio and pooled), `study_per_rank.md` / `.csv` (recall by class rank),
  `study_heatmap.png`, `study_ratio.png`, `study_rank_recall.png`, and the study section of `report.html`.

The package: `subsets.py` draws the subsets and says what was drawn; `loop.py` runs the ratio x seed loop
and writes the run folder. Significance and the study's tables and figures are the report's
(`benchmarks.report.study`).
"""

from benchmarks.config import STUDY_MODELS
from benchmarks.study.loop import STUDY_QUICK_EPOCHS, run, study_config, study_rows
from benchmarks.study.subsets import (
    class_order,
    draw_subset,
    ratio_dir,
    ratio_label,
    subset_id,
    subset_rows,
    target_counts,
)

__all__ = ["STUDY_MODELS", "STUDY_QUICK_EPOCHS", "class_order", "draw_subset", "ratio_dir", "ratio_label", "run",
           "study_config", "study_rows", "subset_id", "subset_rows", "target_counts"]
