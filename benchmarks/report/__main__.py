"""`python -m benchmarks.report RUN_DIR [--n-boot N] [--fig-format png,pdf] [--dpi N] [--tex-metrics a,b] [-v]`:
re-render a run folder (see `page.main`)."""

import sys

from benchmarks.report.page import main

if __name__ == "__main__":
    sys.exit(main())
