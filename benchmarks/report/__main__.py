"""`python -m benchmarks.report RUN_DIR [--n-boot N] [-v]`: re-render a run folder (see `page.main`)."""

import sys

from benchmarks.report.page import main

if __name__ == "__main__":
    sys.exit(main())
