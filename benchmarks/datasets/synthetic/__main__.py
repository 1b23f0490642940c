"""Entry point of `python -m benchmarks.datasets.synthetic` (see `check.main` for its flags)."""

import sys

from benchmarks.datasets.synthetic.check import main

if __name__ == "__main__":
    sys.exit(main())
