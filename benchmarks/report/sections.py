"""The sections of report.html, one function each, taking the loaded `RunData` and returning a `Section`
(or None to leave itself out) after writing the files it renders; `SECTIONS` lists them in page order."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks import metrics as M
from benchmarks.report.analysis import section_analysis
from benchmarks.report.base import Section, SectionFn, ranked_keys, split_predictions, unique_truth
from benchmarks.report.class_bars import recall_bars
from benchmarks.report.crossval import section_crossval
from benchmarks.report.curves import section_curves
from benchmarks.report.figures import confusion_figure, confusion_grid, img
from benchmarks.report.gallery import section_gallery
from benchmarks.report.load import RunData
from benchmarks.report.study import section_study
from benchmarks.report.tables import (
    PER_CLASS_LABELS,
    TABLE_METRICS,
    Grid,
    fmt,
    grid_html,
    grid_latex,
    grid_markdown,
    main_grid,
    n_comparisons,
    paragraph,
    reference_basis,
    significance_marks,
    table_csv,
    write,
)
from benchmarks.report.tagging import section_tagging
from benchmarks.runfolder import MODEL_KEYS, SKIPPED_COLUMNS, csv_text


def section_overview(run: RunData) -> Section:
    cfg = run.config
    items = [("Dataset", run.dataset), ("Run", run.run_dir.name),
             ("Task", "single-label classification" if run.task == "single" else "multi-label tagging"),
             ("Classes", f"{len(run.classes)}: {', '.join(run.classes[:60])}{' ...' if len(run.classes) > 60 else ''}"),
             ("Models", ", ".join(run.short[k] for k in ranked_keys(run))),
             ("Seeds", ", ".join(str(s) for s in sorted(set(run.metrics["seed"])))),
             ("Splits in metrics.csv", ", ".join(dict.fromkeys(run.summary["split"]))),
             ("Tables report", f"the {run.split} split")]
    if isinstance(cfg.get("n_tracks"), dict):
        items.append(("Tracks per split", ", ".join(f"{k}: {v}" for k, v in cfg["n_tracks"].items())))
    if run.skipped is not None:
        items.append(("Skipped files", str(len(run.skipped))))
    body = "<dl>" + "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(str(v))}</dd>" for k, v in items) + "</dl>"
    notes = cfg.get("notes")
    if isinstance(notes, list) and notes:
        body += "<h3>Notes from the run</h3><ul>" + "".join(f"<li>{html.escape(str(n))}</li>" for n in notes) + "</ul>"
    return Section("overview", "Overview", body)


def _auc_note(run: RunData, split: str) -> list[str]:
    name = "n_auc_classes" if run.task == "single" else "n_eval_labels"
    vals = run.summary[(run.summary["split"] == split) & (run.summary["metric"] == name)]["mean"]
    if len(vals) and vals.min() < len(run.classes):
        if run.task == "single":
            what, unit = "ROC-AUC and PR-AUC average", "classes: a class"
        else:
            what, unit = "Macro averages (mAP, ROC-AUC, F1) cover", "tags: a tag"
        return [f"{what} {int(vals.min())} of {len(run.classes)} {unit} with only positives or only "
                f"negatives in the {split} split is left out."]
    return []


def _unit_note(run: RunData) -> list[str]:
    """What the items of an excerpt-unit run are (`benchmarks.excerpt_items`), under every table of it: the leak of
    excerpts dealt at random, or excerpts that stay in their track's split."""
    unit = run.config.get("split_unit")
    if unit == "excerpt":
        return ["Items are EXCERPTS dealt at random, not tracks (split_unit='excerpt'): excerpts of one track are "
                "in training and in the evaluated split, a leak by design, as in the study this run reproduces; "
                "these scores do not estimate accuracy on unseen songs."]
    if unit == "excerpt-in-track":
        trim = float(run.config.get("excerpt_trim") or 0.0)
        cut = f", after dropping {trim:g} s at both ends of every track" if trim else ""
        return [f"Items are EXCERPTS of tracks{cut}, each in its track's split (split_unit='excerpt-in-track'): "
                "every excerpt is scored on its own, and a track counts once per excerpt."]
    return []


def section_results(run: RunData) -> Section:
    files: list[Path] = []
    g, td, notes = main_grid(run.summary, run.task, run.split, run.significance)
    notes = _unit_note(run) + notes + _auc_note(run, run.split)
    write(run.path("table.md"), grid_markdown(g) + "".join(f"\n{n}\n" for n in notes), files)
    marks, _ = significance_marks(run.significance, run.task)
    write(run.path("table.csv"), csv_text(table_csv(td, marks, run.task)), files)
    label = "tab:" + re.sub(r"[^A-Za-z0-9]+", "-", f"{run.dataset}-{run.split}").strip("-")
    if run.tex_metrics is not None:
        tg, _, tnotes = main_grid(run.summary, run.task, run.split, run.significance, list(run.tex_metrics))
        tnotes = _unit_note(run) + tnotes + _auc_note(run, run.split)
    else:
        tg, tnotes = g, notes
    write(run.path("table.tex"), grid_latex(tg, caption=" ".join(tnotes), label=label), files)

    body = grid_html(g, "results") + "".join(paragraph(n) for n in notes)
    shown = set(TABLE_METRICS[run.task]) | M.COUNT_METRICS
    canon = M.SINGLE_METRICS if run.task == "single" else M.MULTI_METRICS
    others = [m for m in canon if m not in shown]
    present = set(run.summary.loc[run.summary["split"] == run.split, "metric"])
    if [m for m in others if m in present]:
        g2, _, _ = main_grid(run.summary, run.task, run.split, None, others)
        body += f"<h3>Further metrics ({html.escape(run.split)} split)</h3>" + grid_html(g2, "results")
    for split in dict.fromkeys(run.summary["split"]):
        if split == run.split:
            continue
        g3, _, n3 = main_grid(run.summary, run.task, split, None)
        body += (f"<h3>{html.escape(str(split))} split</h3>" + grid_html(g3, "results")
                 + "".join(paragraph(n) for n in n3))
    return Section("results", "Results", body, files)


def _sig_grid(sig: pd.DataFrame, task: str, short: dict[tuple, str], split: str) -> Grid:
    def ci(d, lo, hi):
        return "n/a" if not np.isfinite(d) else f"{d:+.3f} [{lo:+.3f}, {hi:+.3f}]"

    def pval(p):
        return "n/a" if not np.isfinite(p) else ("<0.001" if p < 0.001 else f"{p:.3f}")

    def ptxt(r, sfx):
        p, q = r[f"p_boot{sfx}"], r[f"p_holm{sfx}"]
        return "–" if r["is_reference"] else f"{pval(p)} / {pval(q)}"

    def verdict(r, flags):
        out = [f"{name} ({'worse' if r[d] < 0 else 'better'})" for name, f, d in flags if r[f]]
        return ", ".join(out) or "no"

    sel = str(sig["selection_split"].iloc[0])
    what = "accuracy" if task == "single" else "mAP"
    sel_col = [f"{'Validation' if sel == 'valid' else sel} {what}"] if sel != str(split) else []
    if task == "single":
        head = ["Model", "Tracks", "Seed pairs", *sel_col, "Accuracy", "Δ accuracy [95% CI]", "p boot / Holm",
                "Macro-F1", "Δ macro-F1 [95% CI]", "p boot / Holm", "McNemar b/c", "McNemar p", "Significant"]
    else:
        head = ["Model", "Tracks", "Seed pairs", *sel_col, "mAP", "Δ mAP [95% CI]", "p boot / Holm", "Significant"]
    g = Grid(head, [], ["l"] + ["r"] * (len(head) - 2) + ["l"])
    for i, r in enumerate(sig.to_dict("records")):
        key = tuple(str(r[c]) for c in MODEL_KEYS)
        name = short.get(key, key[0]) + (" (reference)" if r["is_reference"] else "")
        lead = [name, str(r["n_tracks"]), str(r["n_seeds"])] + ([fmt(r["selection_score"])] if sel_col else [])
        if task == "single":
            row = lead + [fmt(r["accuracy"]), ci(r["delta_accuracy"], r["accuracy_lo"], r["accuracy_hi"]),
                          ptxt(r, ""), fmt(r["macro_f1"]),
                          ci(r["delta_macro_f1"], r["macro_f1_lo"], r["macro_f1_hi"]), ptxt(r, "_macro_f1"),
                          f"{r['mcnemar_b']}/{r['mcnemar_c']}", pval(r["mcnemar_p"]),
                          verdict(r, (("accuracy", "significant", "delta_accuracy"),
                                      ("macro-F1", "significant_macro_f1", "delta_macro_f1")))]
        else:
            row = lead + [fmt(r["map"]), ci(r["delta_map"], r["map_lo"], r["map_hi"]), ptxt(r, ""),
                          verdict(r, (("mAP", "significant", "delta_map"),))]
        if r["is_reference"]:
            g.bold.add((i, 0))
        g.rows.append(row)
    return g


def _sig_notes(run: RunData) -> list[str]:
    sig = run.significance
    what = "accuracy" if run.task == "single" else "mAP"
    families = " within each metric (accuracy and macro-F1 are separate families)" if run.task == "single" else ""
    label, basis = reference_basis(sig, run.task, run.split)
    why = (f", so that choosing it does not use the {run.split} tracks it is compared on"
           if str(sig["selection_split"].iloc[0]) != str(run.split) else "")
    common = (f"Reference: {label}, {basis}{why}. "
              "Δ = model − reference, pooled over seeds: predictions are paired on (track, seed) and the seed-mean "
              f"{what if run.task == 'multi' else 'metric'} is compared; the 95% interval (unadjusted) is a "
              f"percentile bootstrap ({run.n_boot} resamples of the {run.split} tracks, each track with all its "
              "seeds). p boot: two-sided bootstrap p-value, 2 × min(share of resampled Δ ≤ 0, share ≥ 0), at least "
              f"1/{run.n_boot}. Holm: the Holm–Bonferroni adjustment over the {n_comparisons(sig)} with "
              f"the reference{families}. Significant: Holm p ≤ 0.05, worse or better than the reference; the "
              "tables mark † only where worse.")
    if run.task == "single":
        return [common, "McNemar: b = tracks the model gets right and the reference gets wrong, c = the reverse, "
                "summed over seed pairs; exact binomial test when b + c < 25, chi-square with continuity "
                "correction otherwise. Shown for information, not used for the marks or the Significant column: "
                "with several seeds the pairs are not independent and its p-value is optimistic."]
    return [common, "McNemar's test needs one right/wrong decision per track and is not computed for tagging."]


def section_significance(run: RunData) -> Section | None:
    if run.significance is None:
        return None
    files: list[Path] = []
    g = _sig_grid(run.significance, run.task, run.short, run.split)
    notes = _sig_notes(run)
    write(run.path("significance.md"), grid_markdown(g) + "".join(f"\n{n}\n" for n in notes), files)
    write(run.path("significance.csv"), csv_text(run.significance), files)
    return Section("significance", "Significance against the reference model",
                   grid_html(g, "results") + "".join(paragraph(n) for n in notes), files)


def _support(run: RunData) -> np.ndarray | None:
    y = unique_truth(run)
    if y is None:
        return None
    return np.bincount(y, minlength=len(run.classes)) if run.task == "single" else y.sum(0)


def _per_class_grids(run: RunData) -> list[tuple[str, Grid]]:
    df = run.summary[run.summary["split"] == run.split]
    keys = ranked_keys(run)
    cell = {}
    for r in df[[*MODEL_KEYS, "metric", "mean", "std"]].itertuples(index=False):
        cell[(tuple(str(v) for v in r[:4]), r.metric)] = (float(r.mean), float(r.std))
    support = _support(run)
    out = []
    for kind in M.PER_CLASS_METRICS[run.task]:
        names = [f"{kind}[{c}]" for c in run.classes]
        if not any((k, n) in cell for k in keys for n in names):
            continue
        head = ["Class"] + (["Support"] if support is not None else []) + [run.short[k] for k in keys]
        lead = 2 if support is not None else 1
        g = Grid(head, [], ["l"] + ["r"] * (len(head) - 1))
        for i, (c, n) in enumerate(zip(run.classes, names, strict=True)):
            vals = [cell.get((k, n), (np.nan, np.nan)) for k in keys]
            g.rows.append([c] + ([str(int(support[i]))] if support is not None else []) + [fmt(*v) for v in vals])
            rounded = [round(v[0], 3) for v in vals]
            finite = [v for v in rounded if np.isfinite(v)]
            if finite and len(keys) > 1:
                g.bold |= {(i, lead + j) for j, v in enumerate(rounded) if v == max(finite)}
        out.append((f"{PER_CLASS_LABELS[kind]} per class", g))
    return out


def section_per_class(run: RunData) -> Section | None:
    if run.summary["dataset"].nunique() > 1:
        # The grids key cells by model only; with several datasets (an imbalance study's ratios) they
        # would mix them. The study section and the per-ratio folders give per-class results instead.
        return None
    grids = _per_class_grids(run)
    if not grids:
        return None
    files: list[Path] = []
    note = (f"{run.dataset}, {run.split} split: mean ± std over seeds. Bold: best model per class. Support: "
            f"{run.split} tracks of the class. n/a: undefined (recall of a class absent from the split, AP of a tag "
            "with only one class present, F1 of a class neither present nor predicted).")
    if run.task == "multi":
        note += " Precision, recall and F1 at threshold 0.5."
    md = "".join(f"## {t}\n\n{grid_markdown(g)}\n" for t, g in grids) + note + "\n"
    write(run.path("per_class.md"), md, files)
    body = "".join(f"<h3>{html.escape(t)}</h3>{grid_html(g, 'results')}" for t, g in grids) + paragraph(note)
    return Section("per-class", "Per-class results", body, files)


def section_confusion(run: RunData) -> Section | None:
    if run.task != "single":
        return None
    preds = split_predictions(run)
    if not preds:
        return None
    files: list[Path] = []
    C = len(run.classes)
    cms = {}
    body = ""
    for key, seeds in preds.items():
        cms[key] = sum(M.confusion(y, P.argmax(1), C) for y, P in seeds)
        p = confusion_figure(run, key, cms[key], len(seeds), files)
        body += img(p, f"confusion matrix of {run.short[key]}")
    grid = confusion_grid(run, cms, files)
    note = paragraph(f"Rows: true class, columns: predicted class; colour: share of the true class, numbers: "
                     f"counts ({run.split} split, pooled over seeds).")
    body = (recall_bars(run, preds, files) + "<h3>Confusion matrices</h3>" + note
            + img(grid, "confusion matrices of all models") + body)
    return Section("confusion", "Per-class recall and confusion matrices", body, files)


def section_timings(run: RunData) -> Section | None:
    t = run.timings
    if t is None or t.empty:
        return None
    agg = t.groupby(["stage", "model"], sort=False)["seconds"].agg(["count", "sum", "mean"]).reset_index()
    g = Grid(["Stage", "Model", "Runs", "Total (s)", "Mean (s)"], [], ["l", "l", "r", "r", "r"])
    for r in agg.itertuples(index=False):
        g.rows.append([str(r.stage), str(r.model), str(r.count), f"{r.sum:.2f}", f"{r.mean:.2f}"])
    return Section("timings", "Timings", grid_html(g, "results") + paragraph(f"Total: {t['seconds'].sum():.1f} s."))


def section_skipped(run: RunData) -> Section:
    sk = run.skipped
    if sk is None:
        return Section("skipped", "Skipped files", paragraph("No skipped.csv in the run folder."))
    if sk.empty:
        return Section("skipped", "Skipped files", paragraph("No file was skipped."))
    g = Grid(["Path", "Stage", "Reason"], [[str(r.path), str(r.stage), str(r.reason)]
                                            for r in sk[SKIPPED_COLUMNS].itertuples(index=False)], ["l", "l", "l"])
    return Section("skipped", f"Skipped files ({len(sk)})", grid_html(g, "results"))


def _flatten(d: dict, prefix: str = "") -> list[tuple[str, str]]:
    out = []
    for k, v in d.items():
        name = f"{prefix}{k}"
        if isinstance(v, dict):
            out += _flatten(v, name + ".")
        else:
            out.append((name, "" if v is None else (json.dumps(v) if isinstance(v, list) else str(v))))
    return out


def section_config(run: RunData) -> Section:
    cfg = {k: v for k, v in run.config.items() if k != "environment"}
    body = ("<pre>" + html.escape(json.dumps(cfg, indent=2, default=str)) + "</pre>" if cfg
            else paragraph("No config.json."))
    env = run.config.get("environment")
    if isinstance(env, dict) and env:
        g = Grid(["Item", "Value"], [list(r) for r in _flatten(env)], ["l", "l"])
        body += "<h3>Environment</h3>" + grid_html(g, "results")
    return Section("config", "Configuration and environment", body)


SECTIONS: list[SectionFn] = [
    section_overview,
    section_study,  # None except in an imbalance study's folder, where it leads
    section_results,
    section_crossval,  # None except in a cross-validation's top folder
    section_significance,
    section_per_class,
    section_confusion,
    section_tagging,
    section_analysis,  # None without the run folder's analysis/
    section_gallery,  # None without gallery/
    section_curves,
    section_timings,
    section_skipped,
    section_config,
]
