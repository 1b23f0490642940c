"""The reference studies' published numbers and settings, as data.

`PUBLISHED[recipe]` holds every cell of every results table of one study (`Cell`: the study's table and row
label, our metric key, the value as a fraction, where it is printed, and what a reader must know about it);
`STUDY_SETTINGS[recipe]` what the study states about its data, front end, training, selection and evaluation,
and what it leaves out. Each value was checked against the study's own text in shared/studies/ (REFERENCES.md
summarises them and may round or omit; where the two differ the text is used and the cell's note says so).
The studies' files: 000 FMA k2c2 family, 001 MTAT top-10 (quoting Won et al. 2020's table), 002 MTAT
hyper-parameter study, 003 MTAT shallow CNN, 004 GTZAN genre CNNs and MTG-Jamendo mood resampling.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

__all__ = ["Cell", "FILES", "METRICS", "NO_PUBLISHED_NUMBERS", "PUBLISHED", "STUDY_SETTINGS", "StudySettings", "cells",
           "rows", "settings_of"]

FILES = {
    "fma": "000_234d89df0c2092ae.txt",
    "mtat10": "001_e7f37039a9ba72e3.txt",
    "fcn": "002_f6406260543b1765.txt",
    "shallow": "003_4bbddb6df01a2bc6.txt",
    "gtzan": "004_ba8c76d8e5f8b2fc.txt",
}


@dataclass(frozen=True)
class Cell:
    table: str  # the study's own table name, e.g. "Table 3"
    row: str  # the row label as the study prints it (made unique within the study)
    metric: str  # one of METRICS
    value: float  # as a fraction: 0.866, not 86.6
    source: str  # "004_ba8c76d8e5f8b2fc.txt, Table 4" (file and table or section)
    note: str = ""  # the metric's definition in the study if it differs from ours, rounding, "read off a figure"


METRICS = {
    "accuracy": "single-label accuracy: share of test examples whose top-scoring class is the true class",
    "macro_f1": "single-label F1 per class, averaged over classes with equal weight",
    "roc_auc": "single-label ROC-AUC, one-vs-rest per class, macro average over classes",
    "roc_auc_macro": "multi-label ROC-AUC per tag, averaged over tags with equal weight",
    "roc_auc_micro": "multi-label ROC-AUC over all (track, tag) pairs pooled",
    "roc_auc_samples": "multi-label ROC-AUC per track (over its tags), averaged over tracks (sklearn 'samples')",
    "pr_auc_macro": "multi-label average precision per tag, averaged over tags (macro AP; the same as our 'map')",
    "map": "mean average precision: average precision per tag, averaged over tags (= pr_auc_macro)",
    "f1_macro": "multi-label F1 per tag at a decision threshold, averaged over tags",
    "f1_micro": "multi-label F1 over all (track, tag) decisions pooled, at a decision threshold",
    "ranking_loss": "label ranking loss: per track, share of (true, false) tag pairs ranked in the wrong order, "
    "averaged over tracks (lower is better)",
    "recall@3": "per track, share of its true tags among its 3 top-scoring tags, averaged over tracks",
    "hit_rate@3": "share of tracks with at least one true tag among their 3 top-scoring tags",
    "binary_accuracy": "multi-label accuracy over all (track, tag) decisions at a threshold: (TP + TN) / (P + N)",
    "binary_accuracy_train": "binary_accuracy on the training data (as logged during training)",
    "binary_accuracy_val": "binary_accuracy on the validation data (as logged during training)",
    "precision": "multi-label precision TP / (TP + FP) at a threshold; averaging as the study states",
    "recall": "multi-label recall TP / (TP + FN) at a threshold; averaging as the study states",
    "bce_loss_train": "mean binary cross-entropy on the training data (lower is better)",
    "bce_loss_val": "mean binary cross-entropy on the validation data (lower is better)",
}


def _table(table: str, file: str, metrics: tuple[str, ...], body, note: str = "", notes=None) -> tuple[Cell, ...]:
    """Cells of one table: `body` rows are (label, values in `metrics` order[, row note]); `notes` maps a
    metric to a note added to its cells."""
    out = []
    for line in body:
        label, values = line[0], line[1]
        row_note = line[2] if len(line) > 2 else ""
        if len(values) != len(metrics):
            raise ValueError(f"{table} {label}: {len(values)} values for {len(metrics)} metrics")
        for metric, value in zip(metrics, values, strict=True):
            if value is None:
                continue
            text = "; ".join(t for t in (row_note, (notes or {}).get(metric, ""), note) if t)
            out.append(Cell(table, label, metric, value, f"{FILES[file]}, {table}", text))
    return tuple(out)


# ---- 004, Section 3: GTZAN genre classification (Table 4) ------------------------------------------------
_GTZAN_NOTE = ("test split of 3-s excerpts (split by excerpt file names; whether the excerpts of one song stay "
               "together is not stated)")
_GTZAN = _table(
    "Table 4", "gtzan", ("accuracy", "macro_f1", "roc_auc"),
    [
        ("CNN-3, Mel spectrogram (experiment I)", (0.866, 0.866, 0.987), "10 non-overlapping excerpts per song"),
        ("CNN-3, Spectrogram (experiment I)", (0.700, 0.686, 0.951), "10 non-overlapping excerpts per song"),
        ("CNN-3, MFCC (experiment I)", (0.611, 0.608, 0.920), "10 non-overlapping excerpts per song; 1-D (time) convs"),
        ("CNN-3, Mel spectrogram (experiment II)", (0.856, 0.855, 0.985), "19 excerpts per song, 50% overlap"),
        ("CNN-4 (experiment II)", (0.890, 0.889, 0.990), "printed 'CNN-4, —': mel spectrogram, as above"),
        ("CNN-5 (experiment II)", (0.878, 0.878, 0.990), "printed 'CNN-5, —': mel spectrogram, as above"),
        ("CNN-6 (experiment II)", (0.888, 0.887, 0.993), "printed 'CNN-6, —': mel spectrogram, as above"),
        ("CNN-7 (experiment II)", (0.892, 0.891, 0.991), "printed 'CNN-7, —': mel spectrogram, as above"),
        ("Feedforward NN Baseline", (0.200, 0.080, 0.681), "flattened 128x130 mel; listed under Experiment II"),
        ("Logistic Regression (LR)", (0.743, 0.745, 0.857), "hand-crafted features, one-vs-rest"),
        ("Random Forest (RF)", (0.730, 0.730, 0.850), "hand-crafted features"),
        ("Gradient Boosting (XGB)", (0.776, 0.775, 0.875), "hand-crafted features"),
        ("Support Vector Machine (SVM)", (0.746, 0.748, 0.859), "hand-crafted features, RBF, one-vs-rest"),
        ("K-Nearest Neighbors (KNN)", (0.720, 0.723, 0.844), "hand-crafted features, k=7"),
    ],
    note=_GTZAN_NOTE,
    notes={
        "macro_f1": "the study's 'F1-score' (harmonic mean of precision and recall); its class averaging is not "
        "stated (macro assumed)",
        "roc_auc": "the study's 'AUC' (area under the ROC curve); its multi-class averaging is not stated "
        "(one-vs-rest macro assumed)",
    },
)
# REFERENCES.md omits the Experiment II F1 column (.855/.889/.878/.887/.891); the text has it.

# ---- 004, Section 4: MTG-Jamendo mood, resampled training sets (Table 7) ---------------------------------
_JAMENDO = _table(
    "Table 7", "gtzan", ("roc_auc_samples",),
    [
        ("Base", (0.619,), "unmodified training set"),
        ("Upsample, 0.25", (0.565,)),
        ("Upsample, 0.5", (0.505,)),
        ("Upsample, 0.75", (0.522,)),
        ("Upsample, 1", (0.500,)),
        ("Downsample, 0.25", (0.506,)),
        ("Downsample, 0.5", (0.499,), "REFERENCES.md's range '0.50-0.57' rounds this 0.499 (and 0.565)"),
        ("Downsample, 0.75", (0.512,)),
        ("Downsample, 1", (0.500,)),
    ],
    note="the study's 'AUC': sklearn ROC-AUC with average='samples' computed on predictions binarised at 0.9 "
    "(not on scores), per 29.1-s frame of the test split",
)

# ---- 000: FMA, 12 top-level genres, k2c2 family ('Results' table of section 4) ---------------------------
_FMA_METRICS = ("map", "f1_macro", "f1_micro", "ranking_loss", "recall@3", "bce_loss_train", "bce_loss_val",
                "roc_auc_macro", "roc_auc_micro")
_FMA = _table(
    "Results", "fma", _FMA_METRICS,
    [
        ("paper k2c2", (0.5066, 0.4657, 0.5955, 0.1018, 0.8098, 0.0460, 0.2930, 0.8538, 0.9015),
         "Choi et al. 2017's k2c2 as published (channels 64,128,128,256,256); train loss far below val loss"),
        ("paper k2c2 regularized + finetuned", (0.5274, 0.4350, 0.6095, 0.0843, 0.8393, 0.1931, 0.2102, 0.8757,
                                                0.9195), "dropout + weight decay + tuned one-cycle"),
        ("improved k2c2-k3-all", (0.5336, 0.4430, 0.6067, 0.0838, 0.8411, 0.1901, 0.2105, 0.8766, 0.9197),
         "channels 32,64,128,256,512, 3x3 kernels; REFERENCES.md calls it 'wide k3' and gives only its mAP"),
        ("improved k2c2-k5-all", (0.5461, 0.4570, 0.6148, 0.0825, 0.8437, 0.1820, 0.2090, 0.8800, 0.9216),
         "5x5 kernels in all blocks; best row (bold in the study)"),
        ("improved k2c2-k5-early", (0.5314, 0.4409, 0.6090, 0.0834, 0.8400, 0.1906, 0.2099, 0.8777, 0.9200),
         "5x5 in blocks 1-2, 3x3 after; REFERENCES.md gives only its mAP"),
        ("improved k2c2-k7-early", (0.5327, 0.4426, 0.6100, 0.0839, 0.8403, 0.1905, 0.2101, 0.8769, 0.9199),
         "7x7 in block 1, 3x3 after (the text's experiment list calls it 'k2c2-k7-all'); REFERENCES.md gives only "
         "its mAP"),
        ("k1c2", (0.4121, 0.2636, 0.5242, 0.1055, 0.8022, 0.2391, 0.2353, 0.8310, 0.8943), "1x4 kernels only"),
        ("k2c1", (0.4554, 0.3394, 0.5673, 0.0960, 0.8202, 0.2270, 0.2237, 0.8501, 0.9061),
         "128x1 first layer, then 1x4"),
    ],
    note="evaluation split not stated (the table also reports 'Loss Val')",
    notes={
        "map": "the study's mAP ('how well the model ranks correct genres ... across all labels')",
        "f1_macro": "decision threshold not stated",
        "f1_micro": "decision threshold not stated",
        "recall@3": "the study defines Recall@3 as 'how often at least one of the top-3 predicted genres is "
        "correct', i.e. our hit_rate@3, not tag recall; its code is not published",
        "bce_loss_train": "the study's 'Loss Train'; loss function not named (multi-label: BCE presumed)",
        "bce_loss_val": "the study's 'Loss Val'; loss function not named (multi-label: BCE presumed)",
    },
)

# ---- 001, Literature review: Won et al. 2020's MTAT table --------------------------------------------------
_WON = _table(
    "Won et al. 2020 table (quoted in 001)", "mtat10", ("roc_auc_macro", "pr_auc_macro"),
    [
        ("FCN (Choi et al.)", (0.9005, 0.4295)),
        ("FCN (w/ 128 Mel bins)", (0.8994, 0.4236), "omitted by REFERENCES.md"),
        ("Musicnn (Pons et al.)", (0.9106, 0.4493)),
        ("Musicnn (w/ 128 Mel bins)", (0.9092, 0.4546), "omitted by REFERENCES.md"),
        ("Sample-level (Lee et al.)", (0.9058, 0.4422)),
        ("Sample-level+SE (Kim et al.)", (0.9103, 0.4520)),
        ("CRNN (Choi et al.)", (0.8722, 0.3625)),
        ("CRNN (w/ 128 Mel bins)", (0.8703, 0.3601), "omitted by REFERENCES.md"),
        ("Self-attention (Won et al.)", (0.9077, 0.4445)),
        ("Harmonic CNN (Won et al.)", (0.9127, 0.4611)),
        ("Short-chunk CNN", (0.9126, 0.4590)),
        ("Short-chunk CNN + Res", (0.9129, 0.4614)),
    ],
    note="MTAT top-50 test set; per track the sigmoid outputs of 16 evenly spaced chunks are averaged "
    "(public code, eval.py); macro over tags (sklearn roc_auc_score / average_precision_score, average='macro')",
)

# ---- 002: MTAT top-50 hyper-parameter sweep (Table 1) and architectures (Tables 2, 3) ----------------------
_FCN_METRICS = ("binary_accuracy", "pr_auc_macro", "roc_auc_macro")
_FCN_NOTES = {
    "binary_accuracy": "the study's 'Accuracy' = (TP + TN) / (P + N) over all clip-tag decisions; threshold "
    "not stated",
    "pr_auc_macro": "the study's 'PR-AUC'; averaging over tags not stated (the text wrongly says it ranges in "
    "[0, 0.5])",
    "roc_auc_macro": "the study's 'ROC-AUC'; averaging over tags not stated",
}


def _sweep(label: str, layers: int, n_fft: int, hidden: int, n_mels: int, values, extra: str = ""):
    note = f"sweep: n_fft={n_fft}, n_mels={n_mels}, hidden={hidden}, layers={layers}"
    return (label, values, "; ".join(t for t in (note, extra) if t))


_FCN = (
    _table(
        "Table 1", "fcn", _FCN_METRICS,
        [
            _sweep("Control: 1-D FCN, n_fft 1024, hidden 64, n_mels 48, layers 3", 3, 1024, 64, 48,
                   (0.9393, 0.3353, 0.8568)),
            _sweep("Type A: 1-D FCN, n_fft 2048", 3, 2048, 64, 48, (0.9391, 0.3350, 0.8556)),
            _sweep("Type B: 1-D FCN, hidden 128", 3, 1024, 128, 48, (0.9403, 0.3986, 0.8791),
                   "bold in the study; the text calls it the best, but Type E scores higher"),
            _sweep("Type C: 1-D FCN, n_mels 96", 3, 1024, 64, 96, (0.9391, 0.3388, 0.8588)),
            _sweep("Type D: 1-D FCN, layers 4", 4, 1024, 64, 48, (0.9392, 0.3097, 0.8374)),
            _sweep("Type E: 1-D FCN, hidden 128, n_mels 96", 3, 1024, 128, 96, (0.9417, 0.4166, 0.8846),
                   "best of the sweep (bold); REFERENCES.md's 'best 3 layers, FFT 1024, hidden 128, 96 mels'"),
            _sweep("Type F: 1-D FCN, hidden 128, n_mels 96, layers 4", 4, 1024, 128, 96, (0.9408, 0.3998, 0.8821)),
            _sweep("Type G: 1-D FCN, hidden 128, n_mels 96, layers 5", 5, 1024, 128, 96, (0.9404, 0.3958, 0.8839)),
        ],
        note="validation set; 1-D (time-axis) convolutions; 'hidden' is the study's 'Hidden size' (undefined: "
        "presumably the first layer's channel count)",
        notes=_FCN_NOTES,
    )
    + _table(
        "Table 2", "fcn", _FCN_METRICS,
        [
            ("1D FCN, C=3", (0.9443, 0.4779, 0.9018)),
            ("1D FCN, C=4", (0.9448, 0.4906, 0.9069)),
            ("1D FCN, C=5", (0.9438, 0.4870, 0.9063)),
            ("2D FCN, C=3", (0.9492, 0.4433, 0.8963)),
            ("2D FCN, C=4", (0.9457, 0.5048, 0.9160)),
            ("2D FCN, C=5", (0.9460, 0.5161, 0.9191)),
            ("2D CRNN, C=3", (0.9406, 0.3773, 0.8749)),
            ("2D CRNN, C=4", (0.9444, 0.4851, 0.9093)),
            ("2D CRNN, C=5", (0.8520, 0.3952, 0.8897)),
        ],
        note="validation set; C = number of conv layers; the header prints 11 column labels for 9 value "
        "columns, read as 1D FCN / 2D FCN / 2D CRNN x C = 3, 4, 5 (the C=4 CRNN and C=5 2D FCN columns match "
        "Table 3's choices)",
        notes=_FCN_NOTES,
    )
    + _table(
        "Table 3", "fcn", _FCN_METRICS,
        [
            ("1D FCN (C=4)", (0.9423, 0.4949, 0.9075)),
            ("2D FCN (C=5)", (0.9425, 0.5207, 0.9182), "best row (bold)"),
            ("2D CRNN (C=4)", (0.9419, 0.4863, 0.9102)),
        ],
        note="test set, each architecture's best depth from Table 2",
        notes=_FCN_NOTES,
    )
)

# ---- 001: MTAT top-10 (Table 4.1 and the unnamed 'Experimental results - metrics' table) ------------------
_TOP10_ROWS = (
    ("(a) 1-D CNN", "a"),
    ("(b-RNN) 1-D CNN + RNN", "b-RNN"),
    ("(b-LSTM) 1-D CNN + LSTM", "b-LSTM"),
    ("(b-GRU) 1-D CNN + GRU", "b-GRU"),
    ("(c) chunk-based 1-D CNN", "c"),
    ("(d-RNN) 2-D CNN + RNN", "d-RNN"),
    ("(d-LSTM) 2-D CNN + LSTM", "d-LSTM"),
    ("(d-GRU) 2-D CNN + GRU", "d-GRU"),
)
_T41 = ((0.3315, 0.3888, 0.8514, 0.8126), (0.3978, 0.3507, 0.8262, 0.8365), (0.4728, 0.4226, 0.8175, 0.8063),
        (0.2867, 0.2590, 0.8705, 0.8821), (0.3311, 0.2991, 0.8528, 0.8584), (0.3638, 0.3227, 0.8350, 0.8478),
        (0.3062, 0.2772, 0.8602, 0.8708), (0.2649, 0.2729, 0.8813, 0.8728))
# the metrics table is printed transposed (metrics as rows, models as columns)
_AVG = {
    "binary_accuracy": (0.8125, 0.8364, 0.8062, 0.8820, 0.8583, 0.8477, 0.8707, 0.8727),
    "precision": (0.8658, 0.8551, 0.8062, 0.9057, 0.8906, 0.8489, 0.8888, 0.8963),
    "recall": (0.9019, 0.9307, 1.0000, 0.9176, 0.8855, 0.9376, 0.9192, 0.9176),
    "roc_auc_macro": (0.8399, 0.7222, 0.3855, 0.9032, 0.8572, 0.8244, 0.8735, 0.9016),
    "pr_auc_macro": (0.5271, 0.3456, 0.3079, 0.6253, 0.5755, 0.4990, 0.5745, 0.6508),
}
_TOP10 = _table(
    "Table 4.1", "mtat10", ("bce_loss_train", "bce_loss_val", "binary_accuracy_train", "binary_accuracy_val"),
    [(label, values, f"printed '({short.replace('-', '–')})'") for (label, short), values in zip(_TOP10_ROWS, _T41,
                                                                                                strict=True)],
    note="at the end of the last (10th) epoch; 9:1 train/validation split; Keras binary cross-entropy and "
    "binary accuracy",
) + _table(
    "Experimental results - metrics", "mtat10", tuple(_AVG),
    [(label, tuple(col[i] for col in _AVG.values()),
      f"printed '{short}'" + ("; 'produces only 0 labels' (failed run)" if short == "b-LSTM" else ""))
     for i, (label, short) in enumerate(_TOP10_ROWS)],
    note="the table is headed 'Avg. Metric' (averaging over the 10 tags presumed, not defined) and has no "
    "table number; evaluated on the validation split (no test set is stated; accuracy matches Table 4.1's "
    "val acc. to 1e-4); threshold not stated",
    notes={"binary_accuracy": "the study's 'Accuracy' (Keras 'Binary Accuracy')",
           "roc_auc_macro": "the study's 'AUC-ROC'", "pr_auc_macro": "the study's 'AUC-PR'"},
)

PUBLISHED: dict[str, tuple[Cell, ...]] = {
    "gtzan-cnn-study": _GTZAN,
    "jamendo-mood-resampling": _JAMENDO,
    "fma-k2c2": _FMA,
    "mtat-won2020": _WON,
    "mtat-fcn-study": _FCN,
    "mtat-top10": _TOP10,
    # 003 prints no number: its per-tag accuracy and recall are figures only (images/accuracy.png, Recall.png)
    "mtat-shallow": (),
}

# recipes whose study text prints no results table (nothing to transcribe)
NO_PUBLISHED_NUMBERS = frozenset({"mtat-shallow"})


@dataclass(frozen=True)
class StudySettings:
    study: str  # full citation line as the text gives it (title, authors if stated)
    file: str  # the studies/ file name
    dataset: str
    split: str
    classes: str
    front_end: str  # sample rate, n_fft, window, hop, mels, f range, log, as stated
    input_length: str  # what one example is (3-s excerpt, 29.1-s clip, random chunk ...)
    optimizer: str
    lr_schedule: str
    weight_decay: str
    batch_size: str
    epochs: str
    selection: str  # how the model kept is chosen
    evaluation: str  # aggregation (excerpt-level, track-level mean of N chunks ...)
    metrics: str  # each metric's definition as the study gives it
    not_stated: tuple[str, ...]  # settings the text does not state


_CHIN = ("Elise Chin, 'Convolutional Neural Networks for Music Classification Tasks', Bachelor Internship, "
         "Université Paris-Dauphine (Informatique et mathématiques pour la décision et les données), supervised by "
         "Tristan Cazenave, July 25, 2020")

STUDY_SETTINGS: dict[str, StudySettings] = {
    "gtzan-cnn-study": StudySettings(
        study=_CHIN + " (Section 3, music genre classification)",
        file=FILES["gtzan"],
        dataset="GTZAN (Tzanetakis and Cook): 1000 tracks of 30 s, 22,050 Hz mono 16-bit WAV, 10 genres x 100",
        split="train / validation / test split files of excerpt file names (3.3.1), shared by all models; "
        "ratio not stated; whether the excerpts of a song stay in one split not stated",
        classes="10 genres, single-label: Blues, Classical, Country, Disco, Hip Hop, Jazz, Metal, Popular, "
        "Reggae, Rock",
        front_end="22,050 Hz; STFT n_fft 1024, hop 512, Hann window, fmax sr/2 -> spectrogram 513x130 (dB); "
        "log-amplitude mel spectrogram, same STFT, 128 mels -> 128x130; MFCC n_mfcc 20, same STFT -> 20x130; "
        "hand-crafted features for LR/RF/XGB/SVM/KNN: central moments, ZCR, RMSE, tempo, MFCC, chroma, spectral "
        "centroid, bandwidth, contrast, roll-off",
        input_length="one 3-s excerpt (130 frames). Experiment I: 10 non-overlapping excerpts per song (10,000 "
        "per input type); Experiment II: 50% overlap, 19 excerpts per song (19,000 mel spectrograms)",
        optimizer="Adam, initial learning rate 0.001 ('in all experiments')",
        lr_schedule="ReduceLROnPlateau, factor 0.1 when validation accuracy does not improve",
        weight_decay="none for the CNNs (one dropout 0.3 before the dense output; batch norm after each "
        "max-pooling; pooling strides 2); FFNN 512-256-64: L2 lambda 0.001 and dropout 0.3",
        batch_size="128",
        epochs="20",
        selection="ModelCheckpoint saves every epoch; 'the best models are then picked out across the different "
        "epochs' (criterion not stated; validation accuracy is what the schedule monitors)",
        evaluation="per excerpt on the test split; no song-level aggregation stated",
        metrics="Accuracy: percentage of correctly classified test samples; F1-score: harmonic mean of "
        "precision TP/(TP+FP) and recall TP/(TP+FN); AUC: area under the ROC curve (TPR vs FPR over "
        "thresholds). Class averaging of F1 and AUC not stated",
        not_stated=("split ratio and whether the split is by song or by excerpt", "ReduceLROnPlateau patience",
                    "epoch-selection criterion", "F1 and AUC multi-class averaging",
                    "how hand-crafted features are aggregated (per excerpt or per song) and scaled",
                    "SVM C and gamma, LR regularisation, KNN weighting",
                    "FFNN optimiser, epochs and batch size (presumably as the CNNs)",
                    "random seeds and number of runs (single runs presumed)"),
    ),
    "jamendo-mood-resampling": StudySettings(
        study=_CHIN + " (Section 4, music mood classification)",
        file=FILES["gtzan"],
        dataset="MTG-Jamendo moodtheme subset (18,486 tracks, 59 tags): 992 tracks (8.4 GB, 320 kbps MP3) "
        "downloaded",
        split="train / validation / test 80/10/10 (base); eight extra training sets resampled with sklearn's "
        "resample (Table 5): upsampling_size or downsampling_size 0.25, 0.5, 0.75, 1; validation and test not "
        "resampled",
        classes="35 mood tags, multi-label: theme tags discarded, synonyms merged (fun/funny), rare tags removed",
        front_end="12 kHz (tracks downsampled); n_fft 2048, hop 1024 (raised from the MTG-Jamendo paper's for "
        "memory), Hann window, 96 mels, fmax sr/2; log-amplitude mel -> 96x341 per frame",
        input_length="29.1-s frame: the first and last 20 s of each track are dropped and the rest cut into "
        "non-overlapping 29.1-s frames (an incomplete last frame dropped), so a variable number per track",
        optimizer="Adam, initial learning rate 1e-3",
        lr_schedule="ReduceLROnPlateau, factor 0.1 when validation AUC does not improve",
        weight_decay="none stated (batch norm after every conv and activation; dropout 0.5 after every "
        "max-pooling)",
        batch_size="128",
        epochs="15",
        selection="ModelCheckpoint saves every epoch; 'the best models are then choose across the different "
        "epochs' (criterion not stated; validation AUC monitored)",
        evaluation="per 29.1-s frame of the test split (no track-level aggregation stated); Keras predict "
        "probabilities binarised at 0.9 before scoring",
        metrics="AUC: sklearn roc_auc_score(average='samples') on the 0/1 predictions (threshold 0.9), not on "
        "the scores",
        not_stated=("which 992 tracks", "whether frames of one track stay in one split",
                    "the final 35-tag list", "ReduceLROnPlateau patience", "epoch-selection criterion",
                    "random seeds and number of runs"),
    ),
    "fma-k2c2": StudySettings(
        study="Alexander Philipp Seibel and Tobias Morris Fuchs (ITU), 'Music Tagging with CNN Architectures: "
        "Deep Learning for Multi-Label Music Classification' (after Choi et al. 2017, 'Convolutional Recurrent "
        "Neural Networks for Music Classification')",
        file=FILES["fma"],
        dataset="FMA (Free Music Archive), ~107,000 MP3 tracks of 30 s; tracks without genre and non-musical "
        "top-level categories (e.g. Experimental) removed: 90,086 tracks",
        split="not stated (the results table reports a validation loss)",
        classes="12 top-level musical genres, multi-label (named in the text: Rock, Pop, Electronic, HipHop, "
        "Folk, Country, Blues, Jazz, SoulRnB, Instrumental, Classical)",
        front_end="resampled from 44.1 to 32 kHz; STFT window 800 samples (25 ms), hop 320 (10 ms); 128 mels; "
        "power_to_db (max 0 dB, min about -80 dB); 128 x 3000 frames",
        input_length="the whole 30-s clip as one 128 x 3000 log-mel spectrogram",
        optimizer="AdamW",
        lr_schedule="One-Cycle policy ('tuned'; maximum learning rate not stated)",
        weight_decay="1e-4 (AdamW); dropout 0.2 in all convolutional blocks; ELU",
        batch_size="32",
        epochs="20 for every experiment",
        selection="not stated (which epoch's values the table reports is not said)",
        evaluation="one spectrogram per track; split used for the table not stated",
        metrics="mAP: ranks correct genres above incorrect ones across all labels, threshold-independent; F1 "
        "macro: per-class F1 averaged; F1 micro: all predictions pooled; ranking loss: fraction of times a true "
        "label is ranked below a false label; Recall@3: how often at least one of the top-3 predicted genres is "
        "correct (our hit_rate@3); AUC macro / micro; Loss Train / Loss Val",
        not_stated=("train / validation / test split and its ratio", "F1 decision threshold",
                    "maximum learning rate of the one-cycle schedule", "loss function (BCE presumed)",
                    "which epoch is reported", "random seeds and number of runs",
                    "the full list of the 12 genres"),
    ),
    "mtat-won2020": StudySettings(
        study="M. Won et al., 'Evaluation of CNN-based Automatic Music Tagging Models', SMC 2020 (its MTAT table "
        "quoted in 001; settings from its public code, minzwon/sota-music-tagging-models, training/)",
        file=FILES["mtat10"],
        dataset="MagnaTagATune, top-50 tags",
        split="the code's fixed split files split/mtat/{train,valid,test}.npy (REFERENCES.md: the usual folder "
        "split); not described in 001",
        classes="50 most frequent MTAT tags, multi-label",
        front_end="16 kHz waveform in; torchaudio MelSpectrogram n_fft 512, hop 256 (torchaudio's default "
        "n_fft // 2), Hann (default), f_min 0, f_max 8000, AmplitudeToDB, batch norm on the input; 96 mels for "
        "FCN, Musicnn, CRNN; 128 for short-chunk CNN / ResNet and self-attention; sample-level models take the "
        "raw waveform",
        input_length="a random crop per training example (mtat_loader): FCN and CRNN 29 s (464,000 samples), "
        "Musicnn 3 s, sample-level, +SE and short-chunk models 59,049 samples (3.69 s), harmonic CNN 80,000 "
        "(5 s), self-attention 15 s",
        optimizer="Adam, lr 1e-4 (main.py default), then SGD (momentum 0.9, Nesterov, weight decay 1e-4)",
        lr_schedule="Adam until the 80th epoch, then reload the best model and SGD lr 1e-3 for 20 epochs, reload "
        "the best and lr 1e-4 for 20 epochs, reload the best and lr 1e-5 to the end (solver.opt_schedule); the "
        "Adam phase is 80 epochs, not 200: 200 is the total",
        weight_decay="1e-4 (Adam and SGD)",
        batch_size="16",
        epochs="200 in all (main.py --n_epochs default)",
        selection="best validation loss: each epoch, score = 1 - mean BCE over validation tracks (16 chunks "
        "each); best_model.pth kept and reloaded at each phase change and for testing",
        evaluation="per test track, 16 (= batch_size) chunks of the model's input length at evenly spaced "
        "offsets (hop = (length - input_length) // 16); the chunks' sigmoid outputs averaged",
        metrics="ROC-AUC: sklearn roc_auc_score(average='macro'); PR-AUC: sklearn average_precision_score("
        "average='macro'), over the 50 tags",
        not_stated=("001 quotes only the table: every setting above is from the public code, not the text",
                    "which code version produced the published table",
                    "whether the figures are single runs or means over seeds"),
    ),
    "mtat-fcn-study": StudySettings(
        study="'Music Auto-Tagging' (MTAT hyper-parameter and architecture study after Choi et al. 2016 FCN and "
        "2017 CRNN; author not given in the text)",
        file=FILES["fcn"],
        dataset="MagnaTagATune: 25,863 clips of 29 s, 16 kHz MP3, 446 albums of 230 artists, 188 tags",
        split="train / validation / test (Tables 1 and 2 validation, Table 3 test); which folders or ratio not "
        "stated",
        classes="the 50 most frequent tags, multi-label",
        front_end="log-amplitude mel spectrogram; FFT size 1024 or 2048 and 48 or 96 mel bins (Table 1); input "
        "96 x 911 (supplementary architectures); sample rate presumably 16 kHz; hop, window and f range not "
        "stated",
        input_length="presumably the whole 29-s clip (911 frames); not stated",
        optimizer="Adam (learning rate not stated); BCE loss; batch norm before ReLU; dropout 0.5; sigmoid out",
        lr_schedule="not stated",
        weight_decay="not stated",
        batch_size="not stated",
        epochs="not stated",
        selection="not stated; Table 3's architectures are each one's best depth on validation (Table 2)",
        evaluation="per clip; Table 1 and 2 on the validation set, Table 3 on the test set",
        metrics="Accuracy = (TP + TN) / (P + N); PR-AUC: area under the precision-recall curve (the text says its "
        "range is [0, 0.5], which is wrong); ROC-AUC from TPR and FPR; averaging over tags and thresholds not "
        "stated; F1 mentioned but not reported",
        not_stated=("split", "sample rate, hop length, window, f range", "learning rate, schedule, weight decay",
                    "batch size, epochs", "model selection", "metric averaging and threshold",
                    "'Hidden size' meaning (channel count presumed)", "pooling sizes of the Table 1 sweep"),
    ),
    "mtat-top10": StudySettings(
        study="Liviu-Ștefan Neacșu-Miclea (ICA 246/2), 'Music Genre Classification Using 1D and 2D CNN Models' "
        "(slides)",
        file=FILES["mtat10"],
        dataset="MagnaTagATune: 25,863 clips, 30 s (as stated), 16 kHz 32 kbps MP3, 188 tags",
        split="9:1 train / validation; no test set stated",
        classes="top 10 tags with at least 2000 clips, redundancies removed, multi-label: guitar (4852), "
        "classical (4274), slow (3547), techno (2954), strings (2729), drums (2598), electronic (2519), rock "
        "(2371), fast (2306), piano (2056)",
        front_end="raw waveform for all models ('on 1D samples', model d included); how model d forms its 2-D "
        "input not stated",
        input_length="not stated (model c processes small chunks and pools them globally)",
        optimizer="Adam, lr 0.001; binary cross-entropy loss",
        lr_schedule="not stated",
        weight_decay="not stated (dropout and optional batch norm in the CNN stack)",
        batch_size="16",
        epochs="10",
        selection="the model at the end of the last epoch (Table 4.1 'at the end of last epoch')",
        evaluation="validation split (9:1); clip-level",
        metrics="Binary Crossentropy loss and Binary Accuracy (Keras); Accuracy, Precision, Recall, AUC-ROC, "
        "AUC-PR headed 'Avg. Metric' (averaging and threshold not defined)",
        not_stated=("input length and sample rate fed to the models", "layer sizes", "metric averaging and "
                    "threshold", "learning-rate schedule", "random seeds and number of runs"),
    ),
    "mtat-shallow": StudySettings(
        study="'Development of a Convolutional Neural Network for multi label auto tagging of music audio files' "
        "(project README; authors not given)",
        file=FILES["shallow"],
        dataset="MagnaTagATune: almost 26,000 clips of 29 s, MP3 ('32 mbps' as printed), 188 binary tags",
        split="not stated",
        classes="synonym and similar tags merged, then the 50 most popular merged tags kept (multi-hot of 50)",
        front_end="mel spectrogram or MFCCs per window of a uniform sample rate (value, n_fft, hop, mels not "
        "stated)",
        input_length="the whole clip as one 2-D feature matrix (presumed; not stated)",
        optimizer="Adam; sigmoid cross-entropy with logits; ReLU; 2-3 conv layers (with or without max pooling) "
        "and one fully connected layer",
        lr_schedule="not stated",
        weight_decay="not stated",
        batch_size="not stated",
        epochs="not stated",
        selection="not stated",
        evaluation="probabilities thresholded at 0.5 to give the tag set",
        metrics="ROC AUC (described, no value printed); per-tag accuracy and true positive rate (recall), shown "
        "only as figures (images/accuracy.png, images/Recall.png)",
        not_stated=("any numeric result", "split", "sample rate and front-end parameters", "layer sizes",
                    "learning rate, batch size, epochs", "model selection", "the merged tag list"),
    ),
}


def _check(name: str) -> None:
    if name not in PUBLISHED:
        raise KeyError(f"unknown recipe {name!r}; valid names: {', '.join(sorted(PUBLISHED))}")


def cells(recipe: str) -> tuple[Cell, ...]:
    """Every published cell of `recipe`, in table order; KeyError (listing the valid names) for an unknown one."""
    _check(recipe)
    return PUBLISHED[recipe]


def rows(recipe: str) -> list[str]:
    """The row labels of `recipe` in table order (each once, first appearance)."""
    return list(dict.fromkeys(c.row for c in cells(recipe)))


def settings_of(recipe: str) -> dict[str, object]:
    """The study's stated settings (`STUDY_SETTINGS[recipe]`) as a dict, for config.json and the report."""
    _check(recipe)
    return dataclasses.asdict(STUDY_SETTINGS[recipe])
