"""`python -m deep.models --check [--out FILE]`: print the zoo's check table (Markdown) and write it to FILE
(default /tmp/zoo_table.md)."""

from __future__ import annotations

import argparse
import sys

from deep.models import DEEP_MODELS
from deep.models.zoo_check import markdown_table, zoo_row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deep.models", description=__doc__)
    parser.add_argument("--check", action="store_true", help="print each model's paper input, size and fields")
    parser.add_argument("--out", default="/tmp/zoo_table.md", help="where the table is written too")
    args = parser.parse_args(argv)
    if not args.check:
        parser.print_help()
        return 0
    table = markdown_table([zoo_row(spec) for spec in DEEP_MODELS.values()])
    sys.stdout.write(table)
    with open(args.out, "w") as f:
        f.write(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
