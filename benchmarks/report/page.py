"""report.html and the command line: `render` runs the section functions over a loaded run folder (an
imbalance study's ratio folders first) and writes the page; `main` is `python -m benchmarks.report`."""

from __future__ import annotations

import argparse
import html
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from benchmarks import metrics as M
from benchmarks.report.base import Section, SectionFn
from benchmarks.report.figures import DPI, FIG_FORMATS
from benchmarks.report.load import RunData, load_run
from benchmarks.report.reproduction import section_reproduction
from benchmarks.report.sections import SECTIONS, section_config
from benchmarks.report.tables import write
from benchmarks.runfolder import METRICS_FILE
from features.errors import DatasetError, ToolkitError

log = logging.getLogger("benchmarks.report")

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2em auto;max-width:1200px;
padding:0 1em;color:#222;line-height:1.4}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table.results{border-collapse:collapse;margin:.6em 0;font-size:.88em}
table.results th,table.results td{padding:.25em .6em;border-bottom:1px solid #e4e4e4}
table.results thead th{border-bottom:2px solid #444}
td.r,th.r{text-align:right;font-variant-numeric:tabular-nums}td.l,th.l{text-align:left}
figure{margin:1em 0}img{max-width:100%;height:auto}
pre{background:#f6f6f6;padding:.8em;overflow-x:auto;font-size:.85em}
dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dt{font-weight:600}dd{margin:0}
nav ul{columns:2}
"""


def _page(run: RunData, sections: list[Section]) -> str:
    title = f"mirbench report: {run.dataset} / {run.run_dir.name}"
    toc = "<nav><ul>" + "".join(f'<li><a href="#{s.id}">{html.escape(s.title)}</a></li>' for s in sections)
    toc += "</ul></nav>"
    parts = [f'<section id="{s.id}"><h2>{html.escape(s.title)}</h2>{s.body}</section>' for s in sections]
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
            f"<h1>{html.escape(title)}</h1>\n{toc}\n" + "\n".join(parts) + "\n</body>\n</html>\n")


def _render_run(run: RunData, sections: Sequence[SectionFn]) -> list[Path]:
    done: list[Section] = []
    for fn in sections:
        sec = fn(run)
        if sec is not None:
            done.append(sec)
    files = [f for s in done for f in s.files]
    write(run.path("report.html"), _page(run, done), files)
    log.info("rendered %d files into %s", len(files), run.run_dir)
    return files


def sub_folders(run: RunData) -> list[Path]:
    """The ordinary run folders inside a run folder, in the order listed: an imbalance study's ratio folders
    (config.json's "imbalance": {"runs": [{"dir": ...}, ...]}) or a cross-validation's fold folders
    ("crossval": {"runs": [...]}) or a recipe's group folders ("recipe": {"runs": [...]}); [] for any other."""
    out = []
    for kind in ("imbalance", "crossval", "recipe"):
        info = run.config.get(kind)
        runs = info.get("runs") if isinstance(info, dict) else None
        if isinstance(runs, list):
            out += [run.run_dir / str(r["dir"]) for r in runs if isinstance(r, dict) and r.get("dir")]
    return out


def check_options(run: RunData, fig_formats: Sequence[str], dpi: int, tex_metrics: Sequence[str] | None) -> None:
    """Raise DatasetError for a figure format other than png / pdf / svg, a dpi below 1 or a table.tex
    metric the run folder does not hold (listing the valid ones); set them on `run`."""
    formats = tuple(dict.fromkeys(str(f).strip().lower().lstrip(".") for f in fig_formats))
    bad = [f for f in formats if f not in FIG_FORMATS]
    if not formats or bad:
        raise DatasetError(f"figure format(s) {', '.join(bad) or '(none)'} not supported; choose from "
                           f"{', '.join(FIG_FORMATS)}")
    if int(dpi) < 1:
        raise DatasetError(f"dpi={dpi} must be a positive integer")
    if tex_metrics is not None:
        valid = tex_metric_names(run)
        wanted = tuple(dict.fromkeys(str(m).strip() for m in tex_metrics))
        unknown = [m for m in wanted if m not in valid]
        if unknown or not wanted:
            raise DatasetError(f"table.tex metric(s) {', '.join(unknown) or '(none)'} not in {run.run_dir}; "
                               f"valid: {', '.join(valid)}")
        run.tex_metrics = wanted
    run.fig_formats, run.dpi = formats, int(dpi)


def tex_metric_names(run: RunData) -> list[str]:
    """The metrics table.tex can show for this run: the task's metrics present on the report's split."""
    canon = M.SINGLE_METRICS if run.task == "single" else M.MULTI_METRICS
    present = set(run.summary.loc[run.summary["split"] == run.split, "metric"])
    return [m for m in canon if m in present and m not in M.COUNT_METRICS]


def render(run_dir: Path, *, sections: Sequence[SectionFn] | None = None, n_boot: int = 2000,
           fig_formats: Sequence[str] = ("png",), dpi: int = DPI, tex_metrics: Sequence[str] | None = None
           ) -> list[Path]:
    """Render every table, figure and report.html of a run folder from its CSV files.

    run_dir: results/<dataset>/<run-id> holding at least metrics.csv. sections: the section functions
    to run (default `SECTIONS`). n_boot: bootstrap resamples of the significance tests. fig_formats: each
    figure is written once per format (png, pdf, svg; same stem); report.html embeds the PNG, else the SVG,
    else links the PDF. dpi: the PNGs' resolution. tex_metrics: the columns of table.tex, in that order
    (default: those of table.md). An imbalance study's ratio folders or a cross-validation's fold folders
    (ordinary run folders, listed in its config.json) are rendered first, with the default sections and the
    same options. Returns the paths written, theirs first, the folder's own report.html last. Raises
    DatasetError for a missing or malformed file or an unknown format or table.tex metric (nothing is
    written then).
    """
    run = load_run(Path(run_dir), n_boot=n_boot)
    check_options(run, fig_formats, dpi, tex_metrics)
    subs = [load_run(sub, n_boot=n_boot) for sub in sub_folders(run)]
    for sub in subs:
        check_options(sub, fig_formats, dpi, None)
        sub.tex_metrics = run.tex_metrics
    files: list[Path] = []
    for sub in subs:
        files += _render_run(sub, SECTIONS)
    if sections is None:  # a recipe folder's own page: the published numbers beside ours, and its settings
        sections = [section_reproduction, section_config] if isinstance(run.config.get("recipe"), dict) else SECTIONS
    files += _render_run(run, sections)
    return files


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m benchmarks.report RUN_DIR [--fig-format png,pdf] [--dpi 300] [--tex-metrics a,b]`: re-render a
    run folder; exit code 2 if it is not one or an option is invalid."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.report",
        description="Re-render the tables, figures and report.html of a run folder from its metrics.csv and "
                    "predictions.csv, without retraining.")
    parser.add_argument("run_dir", metavar="RUN_DIR", type=Path, help="results/<dataset>/<run-id>")
    parser.add_argument("--n-boot", type=int, default=2000, help="bootstrap resamples for significance (default 2000)")
    parser.add_argument("--fig-format", default="png", metavar="FORMATS",
                        help="comma-separated figure formats among png, pdf, svg (default png); each figure is "
                             "written once per format, e.g. --fig-format png,pdf")
    parser.add_argument("--dpi", type=int, default=DPI, help=f"resolution of the PNG figures (default {DPI})")
    parser.add_argument("--tex-metrics", default=None, metavar="METRICS",
                        help="comma-separated metrics for table.tex's columns, in order (default: table.md's), "
                             "e.g. --tex-metrics accuracy,macro_f1")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress")
    ns = parser.parse_args(argv)
    prog = parser.prog
    if not (ns.run_dir / METRICS_FILE).is_file():
        print(f"{prog}: error: {ns.run_dir} has no metrics.csv (expected a run folder results/<dataset>/<run-id>)",
              file=sys.stderr)
        return 2
    if ns.n_boot < 1:
        print(f"{prog}: error: --n-boot={ns.n_boot} must be a positive integer", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO if ns.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        tex = None if ns.tex_metrics is None else [m for m in ns.tex_metrics.split(",") if m.strip()]
        files = render(ns.run_dir, n_boot=ns.n_boot, fig_formats=[f for f in ns.fig_format.split(",") if f.strip()],
                       dpi=ns.dpi, tex_metrics=tex)
    except DatasetError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
    except ToolkitError as e:
        print(f"{prog}: failed: {e}", file=sys.stderr)
        return 1
    for f in files:
        print(f)
    return 0
