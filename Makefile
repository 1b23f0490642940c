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

# The prepared GPU check (one GPU, under 8 minutes): training throughput and data wait of k2c2, FCN-5 and
# the short-chunk ResNet on the device (AMP, pinned memory), then the demo's small CNN trained on the GPU
# end to end. Figures land in results/gpu-check/ (JSON) and on stdout.
GPU_OUT := results/gpu-check
gpu-check: $(STAMP)
	mkdir -p $(GPU_OUT)
	$(PY) -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'no CUDA device: gpu-check needs one')"
	$(PY) -m benchmarks.speed train --model k2c2 --device cuda --n-clips 256 --json $(GPU_OUT)/k2c2.json
	$(PY) -m benchmarks.speed train --model fcn5 --device cuda --n-clips 256 --json $(GPU_OUT)/fcn5.json
	$(PY) -m benchmarks.speed train --model shortchunk-res --device cuda --n-clips 256 --json $(GPU_OUT)/shortchunk-res.json
	$(PY) -m benchmarks.run --dataset synthetic --models lr,small-cnn --device cuda --out $(GPU_OUT) --run-id smoke

clean-cache:
	rm -rf .cache/mirbench
