# Fresh-machine entry points: `make demo` and `make test` each build .venv if needed.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install demo demo-check test lint speed gpu-check clean-cache

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# The CPU build of torch first, so no requirement pulls a multi-GB CUDA build.
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e ".[dev,essentia,tracking,distributed]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) -m benchmarks.run --dataset synthetic

# The demo from a fresh cache (no checkpoint to resume), compared byte for byte with the reference.
demo-check: $(STAMP)
	rm -rf results/demo-check
	$(PY) -m benchmarks.run --dataset synthetic --out results/demo-check --run-id run --cache-dir results/demo-check/cache
	cmp results/demo-check/synthetic/run/metrics.csv results/reference/synthetic-demo/metrics.csv && echo "demo-check: metrics.csv matches the reference"

test: $(STAMP)
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .

speed: $(STAMP)
	$(PY) -m benchmarks.speed features

# The prepared GPU check (one GPU, under 8 minutes; benchmarks/gpu_check.py): training throughput and data wait
# of one model per deep family on its paper front-end (AMP on, and off for three), then one --smoke recipe per
# deep family on generated fixtures of the datasets' layouts (mtat-won2020 with AMP on and off). Figures land in
# results/gpu-check/ (summary.json, summary.md for the README) and on stdout; exits 2 without a CUDA device.
GPU_OUT := results/gpu-check
gpu-check: $(STAMP)
	$(PY) -m benchmarks.gpu_check --out $(GPU_OUT)

clean-cache:
	rm -rf .cache/mirbench
