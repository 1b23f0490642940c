"""A recipe folder's section (`--recipe`): the published numbers beside ours, and every deviation.

Reads `reproduction.csv` and config.json's "recipe" entry (both described in `benchmarks.recipes.reproduce`)
and writes `reproduction.md` (one table per variant, then its deviations), `reproduction.tex` (booktabs, one
tabular per variant) and `reproduction_scatter` (ours against published, one colour per variant, the
diagonal where they agree, each point's whisker its bootstrap interval). Ours is the mean ± std over seeds
of the test-split value; the interval is the 95% percentile bootstrap of the seed mean over test tracks.
"""

from __future__ import annotations

import html
import logging

import numpy as np
import pandas as pd
import seaborn as sns

from benchmarks.report.base import Section
from benchmarks.report.figures import figure, img, save
from benchmarks.report.load import RunData
from benchmarks.report.tables import Grid, fmt, grid_html, grid_latex, grid_markdown, metric_label, paragraph, write
from benchmarks.runfolder import REPRODUCTION_COLUMNS, REPRODUCTION_FILE, read_optional

log = logging.getLogger("benchmarks.report")

NUMERIC = ["published", "ours_mean", "ours_std", "n_seeds", "ci_low", "ci_high", "diff"]


def _label(metric: str) -> str:
    return {"roc_auc_samples": "ROC-AUC (per track)", "pr_auc_macro": "PR-AUC macro"}.get(metric, metric_label(metric))


def _interval(lo: float, hi: float) -> str:
    return "n/a" if not (np.isfinite(lo) and np.isfinite(hi)) else f"[{lo:.3f}, {hi:.3f}]"


def variant_grid(df: pd.DataFrame) -> Grid:
    """One variant's rows: the study's table and row, metric, published, ours, interval, difference, status."""
    rows = []
    for r in df.itertuples(index=False):
        ok = str(r.status).startswith("ok")
        ours = fmt(r.ours_mean, r.ours_std) if ok else "—"
        diff = (f"{r.diff:+.3f}" if np.isfinite(r.diff) else "n/a") if ok else "—"
        rows.append([r.table, r.row, _label(r.metric), f"{r.published:.3f}", ours,
                     _interval(r.ci_low, r.ci_high) if ok else "—", diff,
                     f"{r.model} ({r.input})" if ok else r.status])
    return Grid(["Table", "Row", "Metric", "Published", "Ours", "95% CI", "Ours − published", "Model (input)"],
                rows, ["l", "l", "l", "r", "r", "r", "r", "l"])


def scatter(run: RunData, df: pd.DataFrame, files: list) -> str:
    ok = df[df["status"].astype(str).str.startswith("ok")]
    if ok.empty:
        return ""
    fig = figure(5.2, 4.6)
    ax = fig.add_subplot()
    lo = float(np.nanmin([ok["published"].min(), ok["ours_mean"].min(), ok["ci_low"].min()]))
    hi = float(np.nanmax([ok["published"].max(), ok["ours_mean"].max(), ok["ci_high"].max()]))
    pad = 0.03 * max(hi - lo, 0.05)
    ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="0.6", lw=1, ls="--", zorder=0, label="ours = published")
    variants = list(dict.fromkeys(ok["variant"]))
    palette = dict(zip(variants, sns.color_palette("colorblind", len(variants)), strict=True))
    for v in variants:
        d = ok[ok["variant"] == v]
        err = np.vstack([d["ours_mean"] - d["ci_low"], d["ci_high"] - d["ours_mean"]])
        err = np.where(np.isfinite(err), np.maximum(err, 0), 0)
        ax.errorbar(d["published"], d["ours_mean"], yerr=err, fmt="o", ms=4, color=palette[v], capsize=2,
                    elinewidth=0.8, label=v)
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_ylim(lo - pad, hi + pad)
    ax.set_xlabel("published")
    ax.set_ylabel("ours (mean over seeds, 95% bootstrap interval)")
    ax.set_title(f"{run.config.get('recipe', {}).get('name', 'recipe')}: every published cell")
    ax.legend(fontsize=8, loc="upper left", frameon=False)
    return img(save(fig, run, "reproduction_scatter", files), "ours against the published figures")


def section_reproduction(run: RunData) -> Section | None:
    info = run.config.get("recipe")
    df = read_optional(run.path(REPRODUCTION_FILE), REPRODUCTION_COLUMNS, NUMERIC, log=log)
    if not isinstance(info, dict) or df is None:
        return None
    files: list = []
    deviations = info.get("deviations") or {}
    md = [f"# Reproduction: {info.get('name')}\n", f"{info.get('what', '')}\n"]
    if info.get("smoke"):
        md.append("**Smoke run**: a tiny budget that checks the recipe runs end to end; these numbers say nothing "
                  "about the study.\n")
    tex, body = [], []
    for variant in dict.fromkeys(df["variant"]):
        d = df[df["variant"] == variant]
        g = variant_grid(d)
        devs = [str(x) for x in deviations.get(variant, [])]
        md += [f"## {variant}\n", grid_markdown(g), "\nDeviations from the study:\n"]
        md += [f"- {x}" for x in devs] or ["- none recorded"]
        md.append("")
        tex.append(grid_latex(g, caption=f"{info.get('name')} ({variant}): published and ours",
                              label=f"tab:{info.get('name')}-{variant}"))
        body.append(f"<h3>{html.escape(str(variant))}</h3>" + grid_html(g, "results")
                    + "<p>Deviations from the study:</p><ul>"
                    + "".join(f"<li>{html.escape(x)}</li>" for x in devs) + "</ul>")
    if info.get("not_run"):
        md += ["## Not run\n", *[f"- {x}" for x in info["not_run"]], ""]
        body.append("<h3>Not run</h3><ul>" + "".join(f"<li>{html.escape(str(x))}</li>" for x in info["not_run"])
                    + "</ul>")
    study = info.get("study_settings") or {}
    if study:
        items = [(k.replace("_", " "), ", ".join(map(str, v)) if isinstance(v, list) else str(v))
                 for k, v in study.items()]
        md += ["## The study's settings (as its text states them)\n", *[f"- **{k}**: {v}" for k, v in items], ""]
        body.append("<h3>The study's settings (as its text states them)</h3><dl>"
                    + "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in items) + "</dl>")
    write(run.path("reproduction.md"), "\n".join(md) + "\n", files)
    write(run.path("reproduction.tex"), "\n\n".join(tex) + "\n", files)
    head = paragraph("Ours: mean ± std over seeds of the test-split value; 95% CI: percentile bootstrap of the seed "
                     f"mean over test tracks ({info.get('n_boot')} resamples). Each group's own report is in its "
                     "sub-folder: " + ", ".join(str(r.get("dir")) for r in info.get("runs", [])) + ".")
    if info.get("smoke"):
        head += paragraph("Smoke run: a tiny budget; the numbers say nothing about the study.")
    return Section("reproduction", f"Reproduction: {info.get('name')}", head + scatter(run, df, files) + "".join(body),
                   files)
