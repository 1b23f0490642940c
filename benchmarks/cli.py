"""The `mirbench` console script: one command for the toolkit's command lines, the top floor with `run`.

    mirbench run --dataset gtzan ...     = python -m benchmarks.run ...
    mirbench report RUN_DIR ...          = python -m benchmarks.report ...
    mirbench speed ...                   = python -m benchmarks.speed ...
    mirbench analyze --dataset NAME ...  = python -m benchmarks.analyze ...
    mirbench synthetic --check ...       = python -m benchmarks.datasets.synthetic ...
    mirbench cache info|clear ...        = python -m features.cache ...
    mirbench --version                   the distribution's version and the git commit

Each subcommand hands the rest of the command line to that module's `main` (the same parser, flags and
exit codes); the modules are imported only when their subcommand runs.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from importlib import metadata

from benchmarks.runfolder import git_commit

DISTRIBUTION = "mirbench-toolkit"
PROG = "mirbench"
# subcommand -> (module whose `main(argv)` runs it, one line of help)
COMMANDS = {
    "run": ("benchmarks.run", "run a comparison, a study or a cross-validation (python -m benchmarks.run)"),
    "report": ("benchmarks.report", "re-render a run folder's tables, figures and report.html "
                                         "(python -m benchmarks.report)"),
    "speed": ("benchmarks.speed", "speed benchmarks (python -m benchmarks.speed)"),
    "analyze": ("benchmarks.analyze", "the dataset analysis: distributions, log-mel statistics, embeddings and "
                                      "feature importances from the caches (python -m benchmarks.analyze)"),
    "synthetic": ("benchmarks.datasets.synthetic.check", "generate the synthetic corpora, --check their difficulty "
                                                         "(python -m benchmarks.datasets.synthetic)"),
    "cache": ("features.cache", "inspect or clear the feature and spectrogram cache (python -m features.cache)"),
    "track": ("benchmarks.tracking", "log a finished run folder to MLflow or TensorBoard "
                                     "(python -m benchmarks.tracking)"),
}


def version() -> str:
    """'mirbench-toolkit 0.1.0 (git 1a2b3c4)'; 'unknown' for what cannot be found (no install, no checkout)."""
    try:
        v = metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        v = "unknown"
    sha = git_commit()
    if sha is None:
        commit = "unknown"
    else:
        commit = sha.removesuffix("-dirty")[:7] + ("-dirty" if sha.endswith("-dirty") else "")
    return f"{DISTRIBUTION} {v} (git {commit})"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=f"'{PROG} COMMAND -h' shows a command's own flags.")
    p.add_argument("--version", action="version", version=version())
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, text) in COMMANDS.items():
        sub.add_parser(name, help=text, add_help=False)
    return p


def _exit_code(e: SystemExit) -> int:
    if e.code is None:
        return 0
    if isinstance(e.code, int):
        return e.code
    print(e.code, file=sys.stderr)
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    """Run `mirbench` with `argv` (default: sys.argv[1:]); its exit status. No command: the help, exit 2."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in COMMANDS:
            module = importlib.import_module(COMMANDS[argv[0]][0])
            return int(module.main(argv[1:]) or 0)
        parser = build_parser()
        parser.parse_args(argv)  # --version, -h and unknown commands or flags exit here
        parser.print_help(sys.stderr)
        return 2
    except SystemExit as e:  # argparse's -h, --version and errors, from this parser or a command's
        return _exit_code(e)


if __name__ == "__main__":
    sys.exit(main())
