"""Report rendering on fake run folders built from seeded random predictions scored with benchmarks.metrics."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmarks import metrics as M
from benchmarks import report as R

SINGLE_CLASSES = ["blues", "hip_hop", "r&b", "jazz", "metal"]
# name, family, input, skill (added to the true class's logit)
SINGLE_MODELS = [("lr", "classical", "features:all", 1.2), ("cnn_3", "deep", "mel", 3.0),
                 ("knn", "classical", "features:all", 0.2)]
TAGS = ["rock", "guitar", "drums", "piano", "classical", "vocal", "techno", "sitar"]


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def _keys(model, family, inp, split, seed, dataset):
    return dict(dataset=dataset, split=split, model=model, family=family, input=inp, strategy="none", seed=seed)


def write_single_run(run_dir: Path, seeds=(0, 1), models=SINGLE_MODELS, n_test=150, n_valid=60) -> Path:
    """A GTZAN-like single-label run folder: metrics.csv from single_label_metrics, predictions.csv,
    config.json, skipped.csv, curves.csv and timings.csv."""
    run_dir.mkdir(parents=True, exist_ok=True)
    C = len(SINGLE_CLASSES)
    rng = np.random.default_rng(123)
    truth = {"valid": rng.integers(0, C, n_valid), "test": rng.integers(0, C, n_test)}
    ids = {"valid": [f"v{i:04d}" for i in range(n_valid)], "test": [f"{i:06d}" for i in range(n_test)]}
    mrows, prows = [], []
    for seed in seeds:
        for m, (name, family, inp, skill) in enumerate(models):
            r = np.random.default_rng(1000 * seed + m)
            for split in ("valid", "test"):
                y = truth[split]
                z = r.normal(size=(len(y), C))
                z[np.arange(len(y)), y] += skill
                P = _softmax(z)
                mrows.append(M.metrics_frame(M.single_label_metrics(y, P, SINGLE_CLASSES),
                                             **_keys(name, family, inp, split, seed, "fakegtzan")))
                df = pd.DataFrame({"track_id": ids[split], "split": split, "model": name, "family": family,
                                   "input": inp, "strategy": "none", "seed": seed,
                                   "label": [SINGLE_CLASSES[i] for i in y],
                                   "pred": [SINGLE_CLASSES[i] for i in P.argmax(1)]})
                prows.append(pd.concat([df, pd.DataFrame(P, columns=[f"p:{c}" for c in SINGLE_CLASSES])], axis=1))
    pd.concat(mrows).to_csv(run_dir / "metrics.csv", index=False)
    pd.concat(prows).to_csv(run_dir / "predictions.csv", index=False)
    config = {"dataset": "fakegtzan", "task": "single", "classes": SINGLE_CLASSES, "seeds": list(seeds),
              "models": [m[0] for m in models], "notes": ["strategy smote skipped for cnn_3"],
              "environment": {"python": "3.11.0", "libraries": {"numpy": "2.4.0"}, "git_commit": "abc123"}}
    (run_dir / "config.json").write_text(json.dumps(config, indent=2))
    pd.DataFrame({"path": ["/data/genres/jazz/jazz.00054.wav", "/data/genres/rock/rock.00001.wav"],
                  "stage": ["dataset", "features"],
                  "reason": ["known-bad file (corrupt header)", "decode failed: truncated"]}).to_csv(
        run_dir / "skipped.csv", index=False)
    epochs = np.arange(1, 6)
    pd.concat([pd.DataFrame({"model": "cnn_3", "strategy": "none", "seed": s, "epoch": epochs,
                             "train_loss": 2.0 / epochs + 0.1 * s, "valid_score": 0.5 + 0.05 * epochs})
               for s in seeds]).to_csv(run_dir / "curves.csv", index=False)
    pd.DataFrame({"stage": ["dataset", "features", "fit+predict"], "model": ["", "", "lr/none/seed0"],
                  "seconds": [1.5, 20.25, 3.0]}).to_csv(run_dir / "timings.csv", index=False)
    return run_dir


def write_multi_run(run_dir: Path, seeds=(0, 1), n_test=160, n_valid=80) -> Path:
    """A tagging run folder; the tag 'sitar' never occurs in the test split."""
    run_dir.mkdir(parents=True, exist_ok=True)
    C = len(TAGS)
    rng = np.random.default_rng(7)
    rates = np.array([0.5, 0.4, 0.35, 0.2, 0.15, 0.3, 0.1, 0.05])
    truth = {s: (rng.random((n, C)) < rates).astype(np.int64) for s, n in (("valid", n_valid), ("test", n_test))}
    truth["test"][:, TAGS.index("sitar")] = 0
    truth["test"][:, TAGS.index("guitar")] |= truth["test"][:, TAGS.index("rock")]   # correlated pair
    mrows, prows = [], []
    for seed in seeds:
        for m, (name, family, inp, skill) in enumerate([("musicnn", "deep", "mel", 2.5),
                                                        ("rf", "classical", "features:all", 0.8)]):
            r = np.random.default_rng(50 + 10 * seed + m)
            probs = {s: 1 / (1 + np.exp(-(skill * (2 * y - 1) + r.normal(size=y.shape) * 1.5)))
                     for s, y in truth.items()}
            th = M.tune_thresholds(truth["valid"], probs["valid"])
            for split, y in truth.items():
                P = probs[split]
                values = M.multi_label_metrics(y, P, TAGS, thresholds=th if split == "test" else None)
                mrows.append(M.metrics_frame(values, **_keys(name, family, inp, split, seed, "faketags")))
                df = pd.DataFrame({"track_id": [f"{split}{i}" for i in range(len(y))], "split": split,
                                   "model": name, "family": family, "input": inp, "strategy": "none", "seed": seed,
                                   "labels": ["|".join(t for t, on in zip(TAGS, row, strict=True) if on) for row in y],
                                   "pred": ["|".join(t for t, on in zip(TAGS, row, strict=True) if on)
                                            for row in P >= 0.5]})
                prows.append(pd.concat([df, pd.DataFrame(P, columns=[f"p:{t}" for t in TAGS])], axis=1))
    pd.concat(mrows).to_csv(run_dir / "metrics.csv", index=False)
    pd.concat(prows).to_csv(run_dir / "predictions.csv", index=False)
    (run_dir / "config.json").write_text(json.dumps({"dataset": "faketags", "task": "multi", "classes": TAGS}))
    pd.DataFrame(columns=["path", "stage", "reason"]).to_csv(run_dir / "skipped.csv", index=False)
    return run_dir


def _md_rows(text: str) -> tuple[list[str], list[list[str]]]:
    """Header and body cells of the first markdown table in text."""
    lines = [ln for ln in text.splitlines() if ln.startswith("|")]
    split = [[c.strip() for c in re.split(r"(?<!\\)\|", ln)[1:-1]] for ln in lines]
    return split[0], split[2:]


@pytest.fixture(scope="module")
def single_run(tmp_path_factory):
    run_dir = write_single_run(tmp_path_factory.mktemp("single") / "results" / "fakegtzan" / "run1")
    files = R.render(run_dir)
    return run_dir, files


@pytest.fixture(scope="module")
def multi_run(tmp_path_factory):
    run_dir = write_multi_run(tmp_path_factory.mktemp("multi") / "results" / "faketags" / "run1")
    files = R.render(run_dir)
    return run_dir, files


def test_single_run_writes_every_output(single_run):
    run_dir, files = single_run
    expected = ["table.md", "table.csv", "table.tex", "per_class.md", "significance.md", "significance.csv",
                "confusion_grid.png", "curves.png", "report.html", "confusion_lr_features-all_none.png",
                "confusion_cnn_3_mel_none.png", "confusion_knn_features-all_none.png"]
    for name in expected:
        assert (run_dir / name).is_file(), name
        assert run_dir / name in files
    assert all(f.is_file() and f.stat().st_size > 0 for f in files)
    assert files[-1].name == "report.html"
    for png in run_dir.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_table_md_matches_pandas_and_bolds_best(single_run):
    run_dir, _ = single_run
    raw = pd.read_csv(run_dir / "metrics.csv")
    test = raw[raw["split"] == "test"]
    stats = test.groupby(["model", "metric"])["value"].agg(["mean", "std"])
    header, rows = _md_rows((run_dir / "table.md").read_text())
    assert header[:5] == ["Model", "Family", "Input", "Strategy", "Seeds"]
    assert header[5:] == [R.metric_label(m) for m in R.TABLE_METRICS["single"]]
    # rows sorted by accuracy, best first
    by_acc = stats.xs("accuracy", level="metric")["mean"].sort_values(ascending=False)
    assert [r[0] for r in rows] == list(by_acc.index)
    for j, metric in enumerate(R.TABLE_METRICS["single"]):
        col = stats.xs(metric, level="metric")
        best = col["mean"].idxmin() if metric == "log_loss" else col["mean"].idxmax()
        for r in rows:
            cell = r[5 + j]
            mean, std = col.loc[r[0], "mean"], col.loc[r[0], "std"]
            text = f"{mean:.3f} ± {std:.3f}"
            assert cell.strip("*").replace(" †", "") == text, (metric, r[0], cell)
            assert cell.startswith("**") == (r[0] == best), (metric, r[0], cell)
    assert all(r[4] == "2" for r in rows)


def test_significantly_worse_model_is_marked(single_run):
    run_dir, _ = single_run
    text = (run_dir / "table.md").read_text()
    _, rows = _md_rows(text)
    knn = next(r for r in rows if r[0] == "knn")
    assert knn[5].endswith("†")                       # accuracy far below the best model's
    best = rows[0]
    assert "†" not in "".join(best)
    assert ("† significantly worse in accuracy or macro-F1 than the reference model, cnn_3 (mel, none), the best "
            "in validation accuracy") in text
    sig = pd.read_csv(run_dir / "significance.csv")
    row = sig[sig["model"] == "knn"].iloc[0]
    assert row["significant"] and row["accuracy_hi"] < 0 and row["mcnemar_p"] < 0.05
    assert sig.iloc[0]["model"] == "cnn_3" and sig.iloc[0]["is_reference"]


def test_table_csv_holds_numbers(single_run):
    run_dir, _ = single_run
    tab = pd.read_csv(run_dir / "table.csv")
    raw = pd.read_csv(run_dir / "metrics.csv")
    acc = raw[(raw["split"] == "test") & (raw["metric"] == "accuracy")].groupby("model")["value"]
    for _, r in tab.iterrows():
        assert r["accuracy_mean"] == pytest.approx(acc.mean()[r["model"]], abs=1e-9)
        assert r["accuracy_std"] == pytest.approx(acc.std()[r["model"]], abs=1e-9)
    assert tab.set_index("model").loc["knn", "accuracy_worse_than_reference"]


def test_table_tex_is_booktabs_and_escaped(single_run):
    run_dir, _ = single_run
    tex = (run_dir / "table.tex").read_text()
    for cmd in ("\\toprule", "\\midrule", "\\bottomrule", "\\begin{tabular}", "\\textbf{"):
        assert cmd in tex
    assert "cnn\\_3" in tex and "cnn_3" not in tex.replace("cnn\\_3", "")
    assert "$\\pm$" in tex and "±" not in tex and "†" not in tex
    body = tex.split("\\midrule")[1].split("\\bottomrule")[0]
    assert body.count("\\\\") == len(SINGLE_MODELS)
    assert all(line.count("&") == 4 + len(R.TABLE_METRICS["single"]) for line in body.strip().splitlines())


def test_tex_escape_specials():
    assert R.tex_escape("a_b & 50% #1 {x} ~^\\ ±") == (
        "a\\_b \\& 50\\% \\#1 \\{x\\} \\textasciitilde{}\\textasciicircum{}\\textbackslash{} $\\pm$")


def test_per_class_md(single_run):
    run_dir, _ = single_run
    text = (run_dir / "per_class.md").read_text()
    assert "## F1 per class" in text and "## Precision per class" in text and "## Recall per class" in text
    raw = pd.read_csv(run_dir / "metrics.csv")
    f1 = raw[(raw["split"] == "test") & (raw["metric"] == "f1[r&b]")].groupby("model")["value"]
    header, rows = _md_rows(text.split("## F1 per class")[1])
    assert header[:2] == ["Class", "Support"]
    row = next(r for r in rows if r[0] == "r&b")
    preds = pd.read_csv(run_dir / "predictions.csv")
    support = preds[(preds["split"] == "test")].drop_duplicates("track_id")["label"].eq("r&b").sum()
    assert row[1] == str(support)
    for j, model in enumerate(header[2:]):
        assert row[2 + j].strip("*") == f"{f1.mean()[model]:.3f} ± {f1.std()[model]:.3f}"


def test_rerender_is_byte_identical(tmp_path):
    run_dir = write_single_run(tmp_path / "run", seeds=(0, 1), models=SINGLE_MODELS[:2], n_test=60, n_valid=30)
    first = {p.name: p.read_bytes() for p in R.render(run_dir)}
    second = {p.name: p.read_bytes() for p in R.render(run_dir)}
    assert first.keys() == second.keys()
    for name in ("table.md", "table.csv", "table.tex", "per_class.md", "significance.md", "report.html"):
        assert first[name] == second[name], name
    assert all(first[n] == second[n] for n in first if n.endswith(".png"))


def test_report_html_is_self_contained(single_run):
    run_dir, _ = single_run
    page = (run_dir / "report.html").read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page)
    srcs = re.findall(r"""src\s*=\s*["']([^"']*)""", page)
    assert srcs and all(s.startswith("data:image/png;base64,") for s in srcs)
    assert len(srcs) == len(list(run_dir.glob("*.png")))
    assert "/data/genres/jazz/jazz.00054.wav" in page and "decode failed: truncated" in page
    assert "Skipped files (2)" in page
    assert "abc123" in page and "libraries.numpy" in page          # environment table
    assert "strategy smote skipped for cnn_3" in page              # run notes
    assert "McNemar" in page and "†" in page
    assert "fit+predict" in page                                   # timings
    assert "Training curves" in page


def test_one_seed_omits_std(tmp_path):
    run_dir = write_single_run(tmp_path / "run", seeds=(0,), models=SINGLE_MODELS[:2], n_test=50, n_valid=20)
    R.render(run_dir, n_boot=200)
    _, rows = _md_rows((run_dir / "table.md").read_text())
    assert rows and all("±" not in c for r in rows for c in r)
    assert all(re.fullmatch(r"\**\d\.\d{3}\**( †)?", c) for r in rows for c in r[5:])


def test_format_table_bolds_lower_is_better():
    rows = []
    for model, acc, loss in (("a", 0.9, 0.5), ("b", 0.8, 0.3)):
        for seed, jitter in ((0, 0.01), (1, -0.01)):
            rows += [{"dataset": "d", "split": "test", "model": model, "family": "deep", "input": "mel",
                      "strategy": "none", "seed": seed, "metric": m, "value": v + jitter}
                     for m, v in (("accuracy", acc), ("log_loss", loss))]
    text = R.format_table(M.summarize(pd.DataFrame(rows)), "single")
    header, body = _md_rows(text)
    acc_j, loss_j = header.index("Accuracy"), header.index("Log-loss ↓")
    assert [r[0] for r in body] == ["a", "b"]
    assert body[0][acc_j] == "**0.900 ± 0.014**" and body[1][acc_j] == "0.800 ± 0.014"
    assert body[1][loss_j] == "**0.300 ± 0.014**" and body[0][loss_j] == "0.500 ± 0.014"


def test_main_exit_codes(tmp_path, capsys):
    assert R.main([str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "metrics.csv" in err
    run_dir = write_single_run(tmp_path / "run", seeds=(0,), models=SINGLE_MODELS[:2], n_test=40, n_valid=20)
    assert R.main([str(run_dir), "--n-boot", "100"]) == 0
    assert (run_dir / "report.html").is_file()


def test_multi_run_renders_tagging_figures(multi_run):
    run_dir, files = multi_run
    for name in ("label_frequencies.png", "tag_correlation.png", "label_confusion.png", "per_class_ap.png",
                 "cooccurrence_musicnn_mel_none.png", "cooccurrence_rf_features-all_none.png", "table.md",
                 "table.tex", "per_class.md", "significance.md", "report.html"):
        assert (run_dir / name).is_file(), name
    header, rows = _md_rows((run_dir / "table.md").read_text())
    assert header[5:] == [R.metric_label(m) for m in R.TABLE_METRICS["multi"]]
    assert [r[0] for r in rows] == ["musicnn", "rf"]
    raw = pd.read_csv(run_dir / "metrics.csv")
    m = raw[(raw["split"] == "test") & (raw["metric"] == "map")].groupby("model")["value"]
    assert rows[0][5] == f"**{m.mean()['musicnn']:.3f} ± {m.std()['musicnn']:.3f}**"
    assert rows[1][5] == f"{m.mean()['rf']:.3f} ± {m.std()['rf']:.3f} †"
    page = (run_dir / "report.html").read_text()
    for title in ("Label frequencies", "Tag correlation", "Most correlated tag pairs", "Co-occurrence confusion",
                  "Per-label 2x2 confusion matrices", "Per-class AP"):
        assert title in page, title
    assert "Confusion matrices" not in page                      # the single-label section stays out
    assert "Macro averages (mAP, ROC-AUC, F1) cover 7 of 8 tags" in page
    # the strongest pair is the one made correlated on purpose
    pairs = page.split("Most correlated tag pairs")[1]
    first = re.findall(r"<td class=\"l\">([^<]*)</td>", pairs)[:2]
    assert sorted(first) == ["guitar", "rock"]
    text = (run_dir / "per_class.md").read_text()
    assert "## AP per class" in text
    _, ap_rows = _md_rows(text.split("## AP per class")[1])
    sitar = next(r for r in ap_rows if r[0] == "sitar")
    assert sitar[1] == "0" and sitar[2:] == ["n/a", "n/a"]


def test_multi_significance_uses_map(multi_run):
    run_dir, _ = multi_run
    sig = pd.read_csv(run_dir / "significance.csv")
    assert {"delta_map", "map_lo", "map_hi"} <= set(sig.columns) and "mcnemar_p" not in sig.columns
    raw = pd.read_csv(run_dir / "metrics.csv")
    per_seed = raw[(raw["split"] == "test") & (raw["metric"] == "map")].pivot(index="seed", columns="model",
                                                                             values="value")
    rf = sig[sig["model"] == "rf"].iloc[0]
    assert rf["delta_map"] == pytest.approx((per_seed["rf"] - per_seed["musicnn"]).mean(), abs=1e-9)
    assert rf["map_lo"] <= rf["delta_map"] <= rf["map_hi"] < 0 and rf["significant"]


def test_sections_are_extensible(tmp_path):
    run_dir = write_single_run(tmp_path / "run", seeds=(0,), models=SINGLE_MODELS[:2], n_test=40, n_valid=20)

    def study(run):
        models = ", ".join(run.short[k] for k in run.keys)
        return R.Section("study", "Imbalance study", f"<p>study of {models} on {len(run.classes)} classes</p>")

    files = R.render(run_dir, sections=[R.section_results, study, R.section_skipped], n_boot=100)
    page = (run_dir / "report.html").read_text()
    assert "Imbalance study" in page and "study of lr, cnn_3 on 5 classes" in page
    assert page.index("Results") < page.index("Imbalance study") < page.index("Skipped files")
    assert "Per-class results" not in page
    assert [f.name for f in files] == ["table.md", "table.csv", "table.tex", "report.html"]


def test_read_predictions_keeps_text_columns(tmp_path):
    run_dir = write_single_run(tmp_path / "run", seeds=(0,), models=SINGLE_MODELS[:1], n_test=12, n_valid=5)
    preds = R.read_predictions(run_dir / "predictions.csv", SINGLE_CLASSES)
    assert preds.loc[preds["split"] == "test", "track_id"].iloc[7] == "000007"
    assert preds["seed"].dtype == np.int64 and preds["p:r&b"].dtype == np.float64
    metrics = R.read_metrics(run_dir / "metrics.csv")
    assert metrics["value"].dtype == np.float64 and set(metrics["metric"]) >= set(M.metric_names("single",
                                                                                               SINGLE_CLASSES))


def test_malformed_side_file_is_left_out(tmp_path, caplog):
    run_dir = write_single_run(tmp_path / "run", seeds=(0,), models=SINGLE_MODELS[:2], n_test=30, n_valid=10)
    (run_dir / "curves.csv").write_text("model,epoch\ncnn_3,1\n")
    with caplog.at_level("WARNING", logger="benchmarks.report"):
        files = R.render(run_dir, n_boot=100)
    assert "curves.csv left out" in caplog.text
    assert "curves.png" not in {f.name for f in files} and (run_dir / "table.md").is_file()
