"""The published numbers (benchmarks.recipes.published) against the studies' texts and REFERENCES.md.

Every cell must be printed in its source file (so a transcription typo shows), and every figure REFERENCES.md
quotes must be a cell of the matching recipe (so a typo in either shows). The texts live in shared/ (the
repository's own, or the one beside it); the tests that read them are skipped where neither exists.
"""

import dataclasses
import os
import re
from pathlib import Path

import pytest

from benchmarks.recipes import published as P

RECIPES = {"gtzan-cnn-study", "jamendo-mood-resampling", "fma-k2c2", "mtat-won2020", "mtat-fcn-study",
           "mtat-top10", "mtat-shallow"}
# a note holding one of these marks a cell that is not printed as a number in its source on purpose
NOT_IN_TEXT = ("read off a figure", "not printed in the text")


def _shared() -> Path | None:
    root = Path(__file__).resolve().parents[2]
    for cand in (os.environ.get("MIRBENCH_SHARED"), root / "shared", root.parent / "shared"):
        if cand and (Path(cand) / "studies").is_dir():
            return Path(cand)
    return None


SHARED = _shared()
needs_texts = pytest.mark.skipif(SHARED is None, reason="shared/studies (the study texts) not found")


def _text(name: str) -> str:
    return (SHARED / "studies" / name).read_text(encoding="utf-8")


def _references() -> str:
    return (SHARED / "REFERENCES.md").read_text(encoding="utf-8")


def spellings(value: float) -> set[str]:
    """The ways a study may print `value`: 0.866, .866, 0.8660, 86.6, 86.60 (at least the digits it has)."""
    digits = len(repr(value).split(".")[1]) if "." in repr(value) else 0
    out = set()
    for d in range(max(digits, 1), 5):
        s = f"{value:.{d}f}"
        out |= {s, s[1:] if s.startswith("0.") else s}
        if d >= 3:
            out.add(f"{value * 100:.{d - 2}f}")
    return out


def printed(value: float, text: str) -> bool:
    """Whether `value` appears in `text` as a whole number token (not inside a longer number)."""
    for s in spellings(value):
        if re.search(rf"(?<![\d.]){re.escape(s)}(?![\d])", text):
            return True
    return False


def _value_of(recipe: str, row: str, metric: str, table: str | None = None) -> float:
    found = [c.value for c in P.cells(recipe) if c.row == row and c.metric == metric
             and (table is None or c.table == table)]
    assert len(found) == 1, (recipe, row, metric, table, found)
    return found[0]


# ---- the data's shape ----------------------------------------------------------------------------------

def test_recipe_names():
    assert set(P.PUBLISHED) == RECIPES
    assert set(P.STUDY_SETTINGS) == RECIPES


def test_every_recipe_has_cells_and_settings():
    for name in RECIPES:
        if name in P.NO_PUBLISHED_NUMBERS:
            assert P.cells(name) == ()
        else:
            assert len(P.cells(name)) > 0, name
        s = P.STUDY_SETTINGS[name]
        assert isinstance(s, P.StudySettings)
        for f in dataclasses.fields(s):
            v = getattr(s, f.name)
            if f.name == "not_stated":
                assert isinstance(v, tuple) and all(isinstance(x, str) and x for x in v), name
            else:
                assert isinstance(v, str) and v.strip(), (name, f.name)
        assert s.file in P.FILES.values()


def test_values_are_fractions():
    for name in RECIPES:
        for c in P.cells(name):
            assert isinstance(c.value, float), c
            assert 0.0 < c.value <= 1.0, c


def test_metrics_are_known():
    for key in ("accuracy", "macro_f1", "roc_auc", "roc_auc_macro", "roc_auc_micro", "roc_auc_samples",
                "pr_auc_macro", "map", "f1_macro", "f1_micro", "ranking_loss", "recall@3"):
        assert key in P.METRICS
    for name in RECIPES:
        for c in P.cells(name):
            assert c.metric in P.METRICS, c


def test_no_duplicate_cells():
    for name in RECIPES:
        keys = [(c.table, c.row, c.metric) for c in P.cells(name)]
        assert len(keys) == len(set(keys)), name


def test_sources_name_the_settings_file():
    for name in RECIPES:
        for c in P.cells(name):
            assert c.source.split(",")[0] == P.STUDY_SETTINGS[name].file, c
            assert c.table in c.source


def test_cells_and_rows():
    with pytest.raises(KeyError, match="valid names: .*gtzan-cnn-study"):
        P.cells("no-such-recipe")
    with pytest.raises(KeyError):
        P.rows("no-such-recipe")
    r = P.rows("gtzan-cnn-study")
    assert r[0] == "CNN-3, Mel spectrogram (experiment I)" and r[-1] == "K-Nearest Neighbors (KNN)"
    assert len(r) == len(set(r)) == 14
    assert P.rows("mtat-shallow") == []
    assert P.rows("mtat-fcn-study")[:2] == ["Control: 1-D FCN, n_fft 1024, hidden 64, n_mels 48, layers 3",
                                            "Type A: 1-D FCN, n_fft 2048"]


def test_cell_counts():
    counts = {name: len(P.cells(name)) for name in RECIPES}
    assert counts == {"gtzan-cnn-study": 42, "jamendo-mood-resampling": 9, "fma-k2c2": 72, "mtat-won2020": 24,
                      "mtat-fcn-study": 60, "mtat-top10": 72, "mtat-shallow": 0}


def _sweep(note: str) -> dict[str, int]:
    m = re.search(r"sweep: ([^;]+)", note)
    assert m, note
    return {k.strip(): int(v) for k, v in (kv.split("=") for kv in m.group(1).split(","))}


def test_sweep_notes_parse():
    table1 = [c for c in P.cells("mtat-fcn-study") if c.table == "Table 1"]
    assert len(table1) == 24
    for c in table1:
        s = _sweep(c.note)
        assert set(s) == {"n_fft", "n_mels", "hidden", "layers"}, c
        assert c.row.startswith(("Control", "Type ")) and "1-D FCN" in c.row


# ---- the matcher ---------------------------------------------------------------------------------------

def test_printed_matcher():
    assert printed(0.866, "CNN-3\t0.866\t0.866")
    assert printed(0.866, "acc .866 / .700")
    assert printed(0.892, "an accuracy of 89.2%")
    assert printed(0.5, "Upsample, 1\t0.500")
    assert printed(0.046, "| 0.0460 |")
    assert not printed(0.866, "0.8661")
    assert not printed(0.866, "10.866")
    assert not printed(0.9, "0.95")


# ---- against the study texts ---------------------------------------------------------------------------

@needs_texts
def test_every_cell_is_printed_in_its_source():
    missing = []
    for name in RECIPES:
        for c in P.cells(name):
            if any(m in c.note for m in NOT_IN_TEXT):
                continue
            if not printed(c.value, _text(c.source.split(",")[0])):
                missing.append((name, c.table, c.row, c.metric, c.value))
    assert not missing


@needs_texts
def test_study_files_exist():
    for name in RECIPES:
        assert (SHARED / "studies" / P.STUDY_SETTINGS[name].file).is_file()


@needs_texts
def test_shallow_study_prints_no_results():
    """003 reports its per-tag accuracy and recall as figures only: no metric value is printed."""
    assert not re.search(r"(?<![\d.])0\.\d{2,}", _text(P.STUDY_SETTINGS["mtat-shallow"].file))


@needs_texts
def test_sweep_matches_table_1():
    """The sweep settings in the notes are the study's Table 1 columns (layers, FFT size, hidden, mels)."""
    text = _text(P.FILES["fcn"])
    printed_rows = {}
    for m in re.finditer(r"(Control|Type [A-G])\t(\d+)\t(\d+)\t(\d+)\t(\d+)\t", text):
        printed_rows[m.group(1)] = dict(zip(("layers", "n_fft", "hidden", "n_mels"), map(int, m.groups()[1:]),
                                            strict=True))
    assert len(printed_rows) == 8
    for c in P.cells("mtat-fcn-study"):
        if c.table == "Table 1":
            assert _sweep(c.note) == printed_rows[c.row.split(":")[0]], c


# ---- against REFERENCES.md -----------------------------------------------------------------------------

def _floats(cell: str) -> list[float]:
    return [float(x) for x in re.findall(r"(?<![\d])\d*\.\d+", cell)]


GTZAN_REF_ROWS = {
    "CNN-3 mel / STFT / MFCC (exp. I)": ["CNN-3, Mel spectrogram (experiment I)", "CNN-3, Spectrogram (experiment I)",
                                         "CNN-3, MFCC (experiment I)"],
    "CNN-3 / 4 / 5 / 6 / 7 (exp. II)": ["CNN-3, Mel spectrogram (experiment II)", "CNN-4 (experiment II)",
                                        "CNN-5 (experiment II)", "CNN-6 (experiment II)", "CNN-7 (experiment II)"],
    "FFNN": ["Feedforward NN Baseline"],
    "LR / RF / XGB / SVM / KNN": ["Logistic Regression (LR)", "Random Forest (RF)", "Gradient Boosting (XGB)",
                                  "Support Vector Machine (SVM)", "K-Nearest Neighbors (KNN)"],
}


@needs_texts
def test_references_gtzan_table():
    ref = _references()
    header = re.search(r"^\s*\| model \| acc \| F1 \| AUC \|\s*$", ref, re.M)
    assert header
    seen = 0
    for line in ref[header.end():].splitlines()[2:]:
        if not line.strip().startswith("|"):
            break
        name, *cols = [x.strip() for x in line.strip().strip("|").split("|")]
        labels = GTZAN_REF_ROWS[name]
        for metric, col in zip(("accuracy", "macro_f1", "roc_auc"), cols, strict=True):
            values = _floats(col)
            if not values:
                continue  # REFERENCES.md leaves this column out (the study prints it)
            assert len(values) == len(labels), line
            for label, v in zip(labels, values, strict=True):
                assert _value_of("gtzan-cnn-study", label, metric) == pytest.approx(v, abs=1e-9), (label, metric)
                seen += 1
    assert seen == 37


FMA_REF_ROWS = {"k2c2 paper": "paper k2c2", "regularised": "paper k2c2 regularized + finetuned",
                "wide k3": "improved k2c2-k3-all", "k5-all": "improved k2c2-k5-all",
                "k5-early": "improved k2c2-k5-early", "k7-early": "improved k2c2-k7-early", "k1c2": "k1c2",
                "k2c1": "k2c1"}
FMA_REF_METRICS = {"mAP": "map", "F1 macro": "f1_macro", "F1 micro": "f1_micro", "ranking loss": "ranking_loss",
                   "Recall@3": "recall@3", "AUC macro": "roc_auc_macro", "AUC micro": "roc_auc_micro"}


@needs_texts
def test_references_fma_line():
    ref = _references()
    m = re.search(r"Reported \((mAP[^)]*)\):\s*(.*?)\n- ", ref, re.S)
    assert m and "k2c2 paper" in m.group(2)
    metrics = [FMA_REF_METRICS[x.strip()] for x in m.group(1).split("/")]
    body = " ".join(m.group(2).split())
    seen = set()
    for name, nums in re.findall(r"([A-Za-z][\w@-]*(?: [A-Za-z][\w-]*)?) ((?:\.\d+/?)+)", body):
        values = _floats(nums)
        assert name in FMA_REF_ROWS, name
        for metric, v in zip(metrics, values, strict=False):
            assert _value_of("fma-k2c2", FMA_REF_ROWS[name], metric) == pytest.approx(v, abs=1e-9), (name, metric)
        seen.add(name)
    assert seen == set(FMA_REF_ROWS)


WON_REF_ROWS = {"FCN": "FCN (Choi et al.)", "Musicnn": "Musicnn (Pons et al.)",
                "sample-level": "Sample-level (Lee et al.)", "+SE": "Sample-level+SE (Kim et al.)",
                "CRNN": "CRNN (Choi et al.)", "self-attention": "Self-attention (Won et al.)",
                "harmonic CNN": "Harmonic CNN (Won et al.)", "short-chunk CNN": "Short-chunk CNN",
                "short-chunk ResNet": "Short-chunk CNN + Res"}


@needs_texts
def test_references_won_line():
    ref = _references()
    m = re.search(r"ROC-AUC / PR-AUC on MTAT:(.*?)Evaluation averages", ref, re.S)
    assert m
    found = re.findall(r"([+A-Za-z][\w +-]*?) (\.\d+)/(\.\d+)", " ".join(m.group(1).split()))
    assert {name.strip() for name, _, _ in found} == set(WON_REF_ROWS)
    for name, roc, pr in found:
        row = WON_REF_ROWS[name.strip()]
        assert _value_of("mtat-won2020", row, "roc_auc_macro") == pytest.approx(float(roc), abs=1e-9), name
        assert _value_of("mtat-won2020", row, "pr_auc_macro") == pytest.approx(float(pr), abs=1e-9), name


@needs_texts
def test_references_mtat_studies():
    ref = _references()
    # 002: the best sweep cell and the test architectures
    m = re.search(r"96 mels:\s*PR-AUC (\.\d+), ROC-AUC (\.\d+)", ref)
    assert m
    row = "Type E: 1-D FCN, hidden 128, n_mels 96"
    assert _value_of("mtat-fcn-study", row, "pr_auc_macro") == float(m.group(1))
    assert _value_of("mtat-fcn-study", row, "roc_auc_macro") == float(m.group(2))
    arch = re.findall(r"(1D FCN|2D FCN|CRNN) C=(\d) ROC (\.\d+) / PR (\.\d+)", " ".join(ref.split()))
    assert len(arch) == 3
    for kind, c, roc, pr in arch:
        label = f"{'2D CRNN' if kind == 'CRNN' else kind} (C={c})"
        assert _value_of("mtat-fcn-study", label, "roc_auc_macro", "Table 3") == float(roc)
        assert _value_of("mtat-fcn-study", label, "pr_auc_macro", "Table 3") == float(pr)
    # 001: the best AUC-ROC and AUC-PR
    m = re.search(r"best AUC-ROC (\.\d+) \(1-D CNN \+ GRU\), AUC-PR (\.\d+) \(2-D CNN \+ GRU\)", ref)
    assert m
    table = "Experimental results - metrics"
    assert _value_of("mtat-top10", "(b-GRU) 1-D CNN + GRU", "roc_auc_macro", table) == float(m.group(1))
    assert _value_of("mtat-top10", "(d-GRU) 2-D CNN + GRU", "pr_auc_macro", table) == float(m.group(2))
    best = {metric: max(c.value for c in P.cells("mtat-top10") if c.table == table and c.metric == metric)
            for metric in ("roc_auc_macro", "pr_auc_macro")}
    assert best == {"roc_auc_macro": float(m.group(1)), "pr_auc_macro": float(m.group(2))}


@needs_texts
def test_references_jamendo():
    ref = _references()
    m = re.search(r"scored\s+AUC (0\.\d+) on the base training set", ref)
    assert m
    assert _value_of("jamendo-mood-resampling", "Base", "roc_auc_samples") == float(m.group(1))
    lo, hi = (float(x) for x in re.search(r"and (0\.\d+)-(0\.\d+) with over/under-sampling", ref).groups())
    others = [c.value for c in P.cells("jamendo-mood-resampling") if c.row != "Base"]
    # REFERENCES.md rounds the range to 2 decimals (0.499 -> 0.50, 0.565 -> 0.57): within half a unit
    assert abs(min(others) - lo) <= 0.005 + 1e-9 and abs(max(others) - hi) <= 0.005 + 1e-9
