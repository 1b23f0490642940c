"""The report's figures as a paper would use them: one file per requested format, the requested PNG
resolution, byte-identical re-renders, bootstrap intervals on the per-class bars, the best epoch marked
on the training curves, and table.tex's metric subset."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from benchmarks import metrics as M
from benchmarks import report as R
from benchmarks.metrics.bootstrap import bootstrap_weights
from benchmarks.report import class_bars
from benchmarks.report import figures as F
from benchmarks.report.curves import curve_data
from benchmarks.report.intervals import bootstrap_indices, per_class_ap_interval, per_class_recall_interval
from features.errors import DatasetError
from tests.benchmarks.test_report import write_multi_run, write_single_run

SINGLE_FIGURES = ["confusion_grid", "curves", "confusion_lr_features-all_none", "confusion_cnn_3_mel_none",
                  "confusion_knn_features-all_none", "per_class_recall"]
MULTI_FIGURES = ["label_frequencies", "tag_correlation", "label_confusion", "per_class_ap",
                 "cooccurrence_musicnn_mel_none", "cooccurrence_rf_features-all_none"]


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    root = tmp_path_factory.mktemp("figs")
    single = write_single_run(root / "single")
    multi = write_multi_run(root / "multi")
    R.render(single, n_boot=100, fig_formats=("png", "pdf"), dpi=150)
    R.render(multi, n_boot=100, fig_formats=("png", "pdf"), dpi=150)
    return single, multi


def _stems(run_dir: Path, ext: str) -> set[str]:
    return {p.stem for p in run_dir.glob(f"*.{ext}")}


def test_every_figure_in_every_format(both):
    for run_dir, expected in zip(both, (SINGLE_FIGURES, MULTI_FIGURES), strict=True):
        assert set(expected) <= _stems(run_dir, "png")
        assert _stems(run_dir, "png") == _stems(run_dir, "pdf")
        for p in run_dir.glob("*.pdf"):
            assert p.read_bytes()[:5] == b"%PDF-"
        assert not list(run_dir.glob("*.svg"))


def test_png_dpi_is_the_requested_one(both):
    for run_dir in both:
        for p in run_dir.glob("*.png"):
            with Image.open(p) as im:
                assert tuple(round(v) for v in im.info["dpi"]) == (150, 150), p.name
                assert "Software" not in im.info


def test_html_embeds_png_or_svg_and_links_pdf(tmp_path):
    run_dir = write_single_run(tmp_path / "svg", seeds=(0,))
    R.render(run_dir, n_boot=50, fig_formats=("svg", "pdf"))
    page = (run_dir / "report.html").read_text()
    srcs = re.findall(r'src="([^"]+)"', page)
    assert srcs and all(s.startswith("data:image/svg+xml;base64,") for s in srcs)
    assert not list(run_dir.glob("*.png"))
    R.render(run_dir, n_boot=50, fig_formats=("pdf",))
    page = (run_dir / "report.html").read_text()
    assert not re.findall(r"<img", page)
    assert 'href="confusion_grid.pdf"' in page and "PDF only" in page


def test_rerender_is_byte_identical_in_every_format(tmp_path):
    run_dir = write_single_run(tmp_path / "a", seeds=(0,))
    multi = write_multi_run(tmp_path / "m", seeds=(0,))
    fmts = ("png", "pdf", "svg")
    for d in (run_dir, multi):
        R.render(d, n_boot=50, fig_formats=fmts)
        first = {p.name: p.read_bytes() for ext in fmts for p in d.glob(f"*.{ext}")}
        copy = tmp_path / f"{d.name}-copy"
        shutil.copytree(d, copy)
        R.render(d, n_boot=50, fig_formats=fmts)
        R.render(copy, n_boot=50, fig_formats=fmts)
        for name, data in first.items():
            assert (d / name).read_bytes() == data, name
            assert (copy / name).read_bytes() == data, name
        assert {n.rsplit(".", 1)[1] for n in first} == set(fmts)


def test_unknown_format_or_bad_dpi_stops(tmp_path):
    run_dir = write_single_run(tmp_path / "x", seeds=(0,))
    with pytest.raises(DatasetError, match="png, pdf, svg"):
        R.render(run_dir, fig_formats=("png", "jpg"))
    with pytest.raises(DatasetError, match="dpi"):
        R.render(run_dir, dpi=0)
    assert not (run_dir / "report.html").exists()


def test_per_class_ap_interval_is_a_percentile_bootstrap():
    rng = np.random.default_rng(3)
    n, C = 80, 4
    Y = rng.random((n, C)) < [0.5, 0.3, 0.1, 0.0]
    seeds = [(Y, np.clip(Y * 0.4 + rng.random((n, C)) * 0.8, 0, 1)) for _ in range(2)]
    point, lo, hi = per_class_ap_interval(seeds, n_boot=300, seed=11)
    expect = np.mean([M.ap_columns(y, s) for y, s in seeds], axis=0)
    np.testing.assert_allclose(point[:3], expect[:3])
    assert np.isnan(point[3]) and np.isnan(lo[3]) and np.isnan(hi[3])
    assert np.all(lo[:3] <= point[:3]) and np.all(point[:3] <= hi[:3])
    # class 1 directly: resample the tracks, AP per seed, mean over seeds, 2.5 / 97.5 percentiles
    idx = bootstrap_indices(n, 300, seed=11)
    boot = []
    for b in range(300):
        aps = [M.ap_columns(y[idx[b]][:, [1]], s[idx[b]][:, [1]])[0] for y, s in seeds]
        boot.append(np.mean(aps))
    boot = np.array(boot)
    boot = boot[np.isfinite(boot)]
    np.testing.assert_allclose([lo[1], hi[1]], np.percentile(boot, [2.5, 97.5]), rtol=1e-12, atol=1e-12)


def test_curves_mark_the_best_validation_epoch(both):
    single, _ = both
    cv = pd.read_csv(single / "curves.csv")
    curves = curve_data(cv)
    assert curves
    for cur in curves:
        g = cv[(cv["model"] == cur.model) & (cv["strategy"] == cur.strategy)]
        mean = g.groupby("epoch")["valid_score"].mean()
        assert cur.best_epoch == int(mean.idxmax())
        assert isinstance(cur.best_epoch, int)
    # a hand-made curve whose best epoch is not the last
    cv2 = pd.DataFrame({"epoch": [1, 2, 3, 4] * 2, "train_loss": [1.0, 0.8, 0.6, 0.5] * 2,
                        "valid_score": [0.2, 0.6, 0.5, 0.4, 0.3, 0.7, 0.6, 0.5], "model": "m", "strategy": "none",
                        "seed": [0] * 4 + [1] * 4})
    assert curve_data(cv2)[0].best_epoch == 2


def test_tex_metrics_selects_and_orders_columns(tmp_path):
    run_dir = write_single_run(tmp_path / "t", seeds=(0, 1))
    R.render(run_dir, n_boot=50, tex_metrics=("macro_f1", "accuracy"))
    tex = (run_dir / "table.tex").read_text()
    head = tex.split("\\toprule")[1].split("\\midrule")[0]
    assert head.strip() == "Model & Family & Input & Strategy & Seeds & Macro-F1 & Accuracy \\\\"
    body = tex.split("\\midrule")[1].split("\\bottomrule")[0]
    assert all(line.count("&") == 6 for line in body.strip().splitlines())
    assert "\\begin{tabular}{llllrrr}" in tex
    # table.md keeps every main metric
    assert all(R.metric_label(m) in (run_dir / "table.md").read_text() for m in R.TABLE_METRICS["single"])
    with pytest.raises(DatasetError, match="valid: .*accuracy.*macro_f1"):
        R.render(run_dir, tex_metrics=("accuracy", "no_such_metric"))


def test_main_accepts_fig_format_dpi_tex_metrics(tmp_path, capsys):
    run_dir = write_single_run(tmp_path / "cli", seeds=(0,))
    assert R.main([str(run_dir), "--n-boot", "20", "--fig-format", "png,pdf", "--dpi", "120",
                   "--tex-metrics", "accuracy,macro_f1"]) == 0
    assert (run_dir / "curves.pdf").is_file()
    with Image.open(run_dir / "curves.png") as im:
        assert round(im.info["dpi"][0]) == 120
    assert R.main([str(run_dir), "--tex-metrics", "bogus"]) == 2
    assert "bogus" in capsys.readouterr().err


def test_per_class_recall_interval_is_a_percentile_bootstrap():
    rng = np.random.default_rng(5)
    n, C = 90, 4
    y = rng.choice(3, n, p=[0.5, 0.3, 0.2])                 # class 3 never occurs
    seeds = [(y, np.where(rng.random(n) < acc, y, rng.integers(0, C, n))) for acc in (0.7, 0.5)]
    point, lo, hi = per_class_recall_interval(seeds, C, n_boot=400, seed=7)
    expect = np.mean([[np.mean(p[y == c] == c) for c in range(3)] for y, p in seeds], axis=0)
    np.testing.assert_allclose(point[:3], expect)
    assert np.isnan(point[3]) and np.isnan(lo[3]) and np.isnan(hi[3])
    assert np.all(lo[:3] <= point[:3]) and np.all(point[:3] <= hi[:3]) and np.all(lo[:3] < hi[:3])
    # by hand: the same resamples (track counts from bootstrap_weights), the tracks repeated that often,
    # recall per seed, mean over seeds, 2.5 / 97.5 percentiles
    W = bootstrap_weights(np.random.default_rng(7), n, 400)
    for c in range(3):
        boot = []
        for w in W:
            idx = np.repeat(np.arange(n), w.astype(int))
            boot.append(np.mean([np.mean(p[idx][y[idx] == c] == c) for y, p in seeds]))
        np.testing.assert_allclose([lo[c], hi[c]], np.percentile(boot, [2.5, 97.5]), rtol=1e-12, atol=1e-12)
    again = per_class_recall_interval(seeds, C, n_boot=400, seed=7)
    assert all(np.array_equal(a, b, equal_nan=True) for a, b in zip(again, (point, lo, hi), strict=True))


def test_per_class_recall_bars_say_na_for_a_class_absent_from_the_test_split(tmp_path, monkeypatch):
    run_dir = write_single_run(tmp_path / "absent", seeds=(0, 1))
    preds = pd.read_csv(run_dir / "predictions.csv", keep_default_na=False)
    preds = preds[~((preds["split"] == "test") & (preds["label"] == "metal"))]
    preds.to_csv(run_dir / "predictions.csv", index=False)
    drawn = {}

    def keep(fig, run, stem, files):
        drawn[stem] = fig
        return F.save(fig, run, stem, files)

    monkeypatch.setattr(class_bars, "save", keep)
    R.render(run_dir, n_boot=60, fig_formats=("png", "pdf"))
    assert (run_dir / "per_class_recall.png").is_file() and (run_dir / "per_class_recall.pdf").is_file()
    ax = drawn["per_class_recall"].axes[0]
    texts = [t.get_text() for t in ax.texts]
    assert "n/a (no test track of this class)" in texts
    assert [t.get_text() for t in ax.get_yticklabels()] == ["blues", "hip_hop", "r&b", "jazz", "metal"]
    assert "recall" in ax.get_xlabel() and "per-class accuracy" in ax.get_xlabel()
    # one colour per model, the run's colours, and the legend outside the axes
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["cnn_3", "lr", "knn"]
    assert legend.get_bbox_to_anchor().x0 >= ax.get_window_extent().x1 - 1
    run = R.load_run(run_dir, n_boot=60)
    colors = F.model_colors(run)
    for name, bars in zip(["cnn_3", "lr", "knn"], ax.containers, strict=False):
        key = next(k for k in run.keys if run.short[k] == name)
        assert np.allclose(bars[0].get_facecolor()[:3], colors[key][:3])
    # the whiskers are the intervals of per_class_recall_interval on the pooled predictions
    page = (run_dir / "report.html").read_text()
    assert "Per-class recall" in page and page.index("Per-class recall") < page.index("confusion matrices of all")
