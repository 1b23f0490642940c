"""The imbalance study's section of report.html (`section_study`): its tables (study.md / .csv / .tex,
study_per_rank.md / .csv) and figures (heatmap, line plot against the ratio, recall by class rank)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns

from benchmarks.report.base import Section
from benchmarks.report.figures import figure, heatmap, img, save
from benchmarks.report.load import RunData
from benchmarks.report.study_stats import (
    COLUMNS,
    DELTAS,
    LABELS,
    effective_ratios,
    findings,
    per_rank_table,
    per_seed_table,
    pooled_summary,
    sig_lookup,
    study_ratios,
    study_significance,
    study_summary,
    subset_parts,
)
from benchmarks.report.tables import Grid, grid_html, grid_latex, grid_markdown, paragraph, write
from benchmarks.runfolder import csv_text


def _colors(strategies: Sequence[str]) -> dict[str, str]:
    """One colour per strategy, the same in every figure; `none` in black."""
    others = [s for s in strategies if s != "none"]
    pal = sns.color_palette("colorblind", 10)
    return {"none": "black", **{s: pal[i % len(pal)] for i, s in enumerate(others)}}


def _legend(fig) -> None:
    seen = {}
    for ax in fig.axes:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            seen.setdefault(lab, h)
    if seen:
        fig.legend(list(seen.values()), list(seen), loc="outside right center", fontsize=7, title="strategy",
                   title_fontsize=8)


def _delta_cell(d: float, sig: tuple | None) -> str:
    if d is None or not np.isfinite(d):
        return "n/a"
    return f"{d:+.3f}" + ("*" if sig is not None and sig[2] else "")


def _fmt(mean: float, std: float) -> str:
    if not np.isfinite(mean):
        return "n/a"
    return f"{mean:.3f}" + (f" ± {std:.3f}" if np.isfinite(std) else "")


def _grids(run, summary: pd.DataFrame, pooled: pd.DataFrame, sig: pd.DataFrame, ratio_of: dict):
    task = run.task
    look = sig_lookup(sig)
    cols = [(m, h) for m, h in COLUMNS[task] if f"{m}_mean" in summary.columns]
    head = ["Ratio", "Model", "Strategy", "Seeds"]
    for m, h in cols:
        head.append(h)
        if m in DELTAS[task]:
            head.append(f"Δ {h}")
    g = Grid(head, [], ["l", "l", "l", "r"] + ["r"] * (len(head) - 4))
    for r in summary.to_dict("records"):
        ratio = ratio_of.get(r["label"])
        row = ["own" if ratio is None else f"{ratio:g}", r["model"], r["strategy"], str(r["n_seeds"])]
        for m, _ in cols:
            row.append(_fmt(r[f"{m}_mean"], r[f"{m}_std"]))
            if m in DELTAS[task]:
                s = look.get((r["label"], r["model"], r["strategy"], m))
                row.append("–" if r["strategy"] == "none" else _delta_cell(r.get(f"delta_{m}", np.nan), s))
        g.rows.append(row)
    ph = ["Model", "Strategy", "Pairs"]
    for m in DELTAS[task]:
        ph += [f"Δ {LABELS[m]} [95% CI]", "Seeds better"]
    pg = Grid(ph, [], ["l", "l"] + ["r"] * (len(ph) - 2))
    for r in pooled.to_dict("records"):
        if r["strategy"] == "none":
            continue
        row = [r["model"], r["strategy"], str(r["n_pairs"])]
        for m in DELTAS[task]:
            s = look.get(("pooled", r["model"], r["strategy"], m))
            cell = _delta_cell(r.get(f"delta_{m}", np.nan), s)
            if s is not None and np.isfinite(s[0]):
                cell += f" [{s[0]:+.3f}, {s[1]:+.3f}]"
            row += [cell, f"{r.get(f'n_better_{m}', 0)}/{r['n_pairs']}"]
        pg.rows.append(row)
    return g, pg


def _heatmap_figure(run, summary, pooled, sig, ratios, files):
    task = run.task
    look = sig_lookup(sig)
    models = list(dict.fromkeys(summary["model"]))
    strategies = [s for s in dict.fromkeys(summary["strategy"]) if s != "none"]
    if not strategies or not models:
        return None
    panels = [(label, f"ratio {ratio:g}" if ratio is not None else "own imbalance") for label, ratio in ratios]
    if len(panels) > 1:
        panels.append(("pooled", "all ratios"))
    stats_ = [m for m in DELTAS[task] if f"delta_{m}" in summary.columns]
    mats = {}
    for stat in stats_:
        for label, _ in panels:
            src = pooled if label == "pooled" else summary[summary["label"] == label]
            mat = np.full((len(strategies), len(models)), np.nan)
            for r in src.to_dict("records"):
                if r["strategy"] in strategies and r["model"] in models:
                    mat[strategies.index(r["strategy"]), models.index(r["model"])] = r.get(f"delta_{stat}", np.nan)
            mats[(stat, label)] = mat
    finite = np.concatenate([m[np.isfinite(m)] for m in mats.values()] + [np.zeros(1)])
    lim = max(0.05, float(np.abs(finite).max()))
    w = max(2.6, 0.62 * len(models) + 1.0)
    fig = figure(w * len(panels) + 1.2, (0.45 * len(strategies) + 1.6) * len(stats_))
    mesh = None
    for i, stat in enumerate(stats_):
        for j, (label, title) in enumerate(panels):
            ax = fig.add_subplot(len(stats_), len(panels), i * len(panels) + j + 1)
            mat = mats[(stat, label)]
            annot = [[("" if not np.isfinite(mat[a, b]) else f"{mat[a, b]:+.2f}"
                       + ("*" if (s := look.get((label, models[b], strategies[a], stat))) and s[2] else ""))
                      for b in range(len(models))] for a in range(len(strategies))]
            mesh = heatmap(ax, mat, strategies, models, annot, vmin=-lim, vmax=lim, cmap="RdBu", fontsize=8,
                           square=False, annot_fontsize=8)
            ax.set_xticklabels(models, rotation=30, ha="right", rotation_mode="anchor", fontsize=8)
            if j:
                ax.set_yticklabels([])
            ax.set_ylabel("strategy" if j == 0 else "", fontsize=8)
            ax.set_xlabel("model" if i == len(stats_) - 1 else "", fontsize=8)
            ax.set_title(f"Δ {LABELS[stat]}, {title}", fontsize=9)
    fig.colorbar(mesh, ax=fig.axes, shrink=0.7,
                 label="Δ against strategy none (mean over seeds)\n*: 95% interval excludes 0; n/a: not run")
    return save(fig, run, "study_heatmap", files)


def _ratio_figure(run, summary, ratios, files):
    task = run.task
    if sum(r is not None for _, r in ratios) < 2:
        return None
    main = DELTAS[task][0]
    stats_ = [m for m in (main, "tail_recall") if f"{m}_mean" in summary.columns]
    models = list(dict.fromkeys(summary["model"]))
    strategies = list(dict.fromkeys(summary["strategy"]))
    colors = _colors(strategies)
    ratio_of = dict(ratios)
    fig = figure(3.2 * len(models) + 1.6, 2.8 * len(stats_))
    for i, stat in enumerate(stats_):
        for j, model in enumerate(models):
            ax = fig.add_subplot(len(stats_), len(models), i * len(models) + j + 1)
            for k, strategy in enumerate(strategies):
                g = summary[(summary["model"] == model) & (summary["strategy"] == strategy)]
                if g.empty:
                    continue
                # a small sideways offset per strategy (log axis) so the error bars do not overlap
                dodge = 10 ** (0.015 * (k - (len(strategies) - 1) / 2))
                x = np.array([ratio_of[lbl] for lbl in g["label"]], dtype=np.float64) * dodge
                order = np.argsort(x)
                y, e = g[f"{stat}_mean"].to_numpy()[order], np.nan_to_num(g[f"{stat}_std"].to_numpy()[order])
                ax.errorbar(x[order], y, yerr=e, marker="o", ms=3, capsize=2, lw=1.2 if strategy != "none" else 2.2,
                            color=colors[strategy], label=strategy)
            ax.set_xscale("log")
            xs = sorted(r for _, r in ratios if r is not None)
            ax.set_xticks(xs, labels=[f"{r:g}" for r in xs])
            ax.minorticks_off()
            ax.set_title(model, fontsize=9)
            if j == 0:
                ax.set_ylabel(LABELS[stat], fontsize=9)
            if i == len(stats_) - 1:
                ax.set_xlabel("imbalance ratio (nominal)", fontsize=8)
    _legend(fig)
    fig.suptitle("Mean over seeds; error bars: ± one standard deviation over seeds", fontsize=9)
    return save(fig, run, "study_ratio", files)


def _rank_counts(run, label: str) -> np.ndarray | None:
    parts = subset_parts(run)
    seeds = [v for (lbl, _), v in parts.items() if lbl == label]
    if not seeds:
        return None
    C = len(run.classes)
    n = np.zeros(C)
    for v in seeds:
        n[v["rank"]] += v["n_train"]
    return n / len(seeds)


def _rank_figure(run, ranks: pd.DataFrame, ratios, files):
    if ranks.empty:
        return None
    label = max(ratios, key=lambda lr: -1 if lr[1] is None else lr[1])[0]
    df = ranks[ranks["label"] == label]
    if df.empty:
        return None
    C = len(run.classes)
    models = list(dict.fromkeys(df["model"]))
    strategies = list(dict.fromkeys(ranks["strategy"]))
    colors = _colors(strategies)
    counts = _rank_counts(run, label)
    fig = figure(3.2 * len(models) + 1.6, 3.2)
    for j, model in enumerate(models):
        ax = fig.add_subplot(1, len(models), j + 1)
        if counts is not None:
            ax2 = ax.twinx()
            ax2.bar(range(C), counts, color="#bbbbbb", alpha=0.35, width=0.8)
            ax2.set_yticks([])
            ax.set_zorder(ax2.get_zorder() + 1)
            ax.patch.set_visible(False)
        for strategy in strategies:
            g = df[(df["model"] == model) & (df["strategy"] == strategy)]
            if g.empty:
                continue
            y = g[[f"rank{r}" for r in range(C)]].to_numpy(dtype=np.float64)[0]
            ax.plot(range(C), y, marker=".", lw=2.2 if strategy == "none" else 1.1,
                    color=colors[strategy], label=strategy)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xticks(range(C))
        ax.set_xlabel("class rank (0 = head); bars: training tracks", fontsize=7)
        ax.set_title(model, fontsize=9)
        if j == 0:
            ax.set_ylabel("test recall (mean over seeds)", fontsize=8)
    _legend(fig)
    fig.suptitle(f"Recall by class rank, {label}", fontsize=10)
    return save(fig, run, "study_rank_recall", files)


def section_study(run: RunData) -> Section | None:
    """The study section of report.html and the study's tables and figures (see the module docstring);
    None for a run folder that is not an imbalance study."""
    if run.config.get("study") != "imbalance" or "imbalance" not in run.config:
        return None
    summary = study_summary(run)
    if summary.empty:
        return None
    files: list[Path] = []
    ratios = study_ratios(run)
    ratio_of = dict(ratios)
    per_seed = per_seed_table(run)
    pooled = pooled_summary(run, per_seed)
    sig = study_significance(run, n_boot=run.n_boot)
    grid, pgrid = _grids(run, summary, pooled, sig, ratio_of)
    eff = effective_ratios(run)
    found = findings(run, pooled, sig)
    main = DELTAS[run.task][0]
    method = (f"Δ: change against strategy none, paired on (ratio, seed): same training subset, same test tracks; "
              f"mean over seeds (pooled: over ratios and seeds). *: the 95% paired bootstrap interval "
              f"({run.n_boot} resamples of the test tracks, each with all its pairs) excludes 0; no correction "
              f"for the number of cells. Tail / head recall: mean test recall of the third of the classes with the "
              f"fewest / most training tracks in the subset.")
    thresholds = ("OvR F1: every class decided on its own probability, at 0.5 or at a per-class threshold tuned "
                  "on the validation split to maximise F1." if run.task == "single" else
                  "(0.5): tags predicted at probability 0.5; (tuned): at per-tag thresholds tuned on the "
                  "validation split to maximise F1.")
    notes = [method, thresholds]
    over = "pooled over ratios and seeds" if len(ratios) > 1 else "over seeds"
    if sig.empty:
        notes.append("No predictions.csv in the ratio folders: significance was not tested.")
    md = ("# Imbalance study\n\n" + "".join(f"- {e}\n" for e in eff) + ("\n" if eff else "")
          + f"## Which strategies help ({over})\n\n" + "".join(f"- {f}\n" for f in found)
          + "\n" + grid_markdown(pgrid) + "\n## Per ratio\n\n" + grid_markdown(grid)
          + "".join(f"\n{n}\n" for n in notes))
    write(run.path("study.md"), md, files)
    csv = summary.copy()
    csv.insert(1, "ratio", [ratio_of.get(lbl) for lbl in csv["label"]])
    for m in DELTAS[run.task]:
        for col in ("lo", "hi", "significant"):
            csv[f"delta_{m}_{col}"] = [
                sig_lookup(sig).get((r["label"], r["model"], r["strategy"], m), (np.nan, np.nan, False))[
                    ("lo", "hi", "significant").index(col)] for r in csv.to_dict("records")]
    pooled_csv = pooled.assign(label="pooled", ratio=np.nan)
    for m in DELTAS[run.task]:
        look = sig_lookup(sig)
        for col in ("lo", "hi", "significant"):
            pooled_csv[f"delta_{m}_{col}"] = [
                look.get(("pooled", r["model"], r["strategy"], m), (np.nan, np.nan, False))[
                    ("lo", "hi", "significant").index(col)] for r in pooled_csv.to_dict("records")]
    write(run.path("study.csv"), csv_text(pd.concat([csv, pooled_csv], ignore_index=True)), files)
    tex = (grid_latex(pgrid, caption=f"Change against no strategy, pooled over ratios and seeds. {method}",
                        label="tab:study-pooled")
           + grid_latex(grid, caption=f"Imbalance study, test split, mean ± std over seeds. {thresholds}",
                          label="tab:study"))
    write(run.path("study.tex"), tex, files)
    ranks = per_rank_table(run)
    if not ranks.empty:
        write(run.path("study_per_rank.csv"), csv_text(ranks), files)
        C = len(run.classes)
        rg = Grid(["Ratio", "Model", "Strategy", *[str(r) for r in range(C)]], [], ["l", "l", "l"] + ["r"] * C)
        for r in ranks.to_dict("records"):
            ratio = ratio_of.get(r["label"])
            rg.rows.append(["own" if ratio is None else f"{ratio:g}", r["model"], r["strategy"],
                            *[("n/a" if not np.isfinite(r[f"rank{k}"]) else f"{r[f'rank{k}']:.2f}") for k in range(C)]])
        head = (f"Test recall by class rank (0 = head, {C - 1} = tail), mean over seeds; "
                "the class at a rank differs by seed.")
        write(run.path("study_per_rank.md"), head + "\n\n" + grid_markdown(rg), files)
    body = "".join(paragraph(e) for e in eff)
    body += "<h3>Which strategies help</h3><ul>" + "".join(f"<li>{html.escape(f)}</li>" for f in found) + "</ul>"
    heat = _heatmap_figure(run, summary, pooled, sig, ratios, files)
    if heat is not None:
        body += img(heat, f"heatmap of the change in {LABELS[main]} against no strategy")
    else:
        body += paragraph("Only strategy none ran: nothing to compare.")
    line = _ratio_figure(run, summary, ratios, files)
    if line is not None:
        body += "<h3>Against the imbalance ratio</h3>" + img(line, f"{LABELS[main]} against imbalance ratio")
    else:
        body += paragraph("One imbalance level: no plot against the ratio.")
    rank = _rank_figure(run, ranks, ratios, files)
    if rank is not None:
        body += "<h3>Recall by class rank</h3>" + img(rank, "test recall by class rank")
    body += (f"<h3>{over.capitalize()}</h3>" + grid_html(pgrid, "results")
             + "<h3>Per ratio</h3>" + grid_html(grid, "results") + "".join(paragraph(n) for n in notes))
    return Section("study", "Imbalance study", body, files)
