# The two commands: `make demo` and `make test`. Both work on a fresh clone with nothing installed.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# torch's CPU build: a local wheel if pip can find one offline, else the official CPU index.
TORCH_VERSION   ?= 2.13.0
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu

# Tests and benchmarks read the real datasets from ../shared/data when it is there.
ifneq ($(wildcard ../shared/data),)
export CLASSICNETS_DATA ?= $(abspath ../shared/data)
endif

.PHONY: demo test test-slow test-packages lint format bench clean

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	@# A local CPU wheel (found without any index) goes in first and PyPI then supplies its
	@# dependencies; with none, the official CPU index supplies torch itself.
	@$(PY) -c "import torch" 2>/dev/null || \
	  { $(PY) -m pip install -q --no-index --no-deps "torch==$(TORCH_VERSION)" 2>/dev/null && \
	    $(PY) -m pip install -q "torch==$(TORCH_VERSION)"; } || \
	  $(PY) -m pip install -q "torch==$(TORCH_VERSION)" --index-url $(TORCH_CPU_INDEX)
	$(PY) -m pip install -q -e ".[dev,export,tensorboard]"
	@touch $(STAMP)

# torchvision and timm, for the tests that load their models' weights into ours
# (tests/test_models_weights.py, tests/test_runs_custom_module.py) only: installed without
# dependencies beside, not into, the venv's site-packages, because torchvision's PyPI wheel is
# built for CUDA torch. The tests put the folder on sys.path. 0.28 goes with torch 2.13.
TEST_PACKAGES       := $(VENV)/test-packages
TORCHVISION_VERSION ?= 0.28.0
TIMM_VERSION        ?= 1.0.31

$(TEST_PACKAGES)/.installed: $(STAMP)
	$(PY) -m pip install -q --no-deps --upgrade --target $(TEST_PACKAGES) \
	  "torchvision==$(TORCHVISION_VERSION)" "timm==$(TIMM_VERSION)"
	@touch $@

test-packages: $(TEST_PACKAGES)/.installed

demo: $(STAMP)
	$(VENV)/bin/classicnets train

test: $(STAMP) $(TEST_PACKAGES)/.installed
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(PY) -m pytest

# Every registered model trained through the CLI on digits and CIFAR-10 (about 2 minutes).
test-slow: $(STAMP) $(TEST_PACKAGES)/.installed
	$(PY) -m pytest -m slow

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks

format: $(STAMP)
	$(VENV)/bin/ruff format src tests benchmarks
	$(VENV)/bin/ruff check --fix src tests benchmarks

bench: $(STAMP)
	$(PY) benchmarks/mnist_lenet.py

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache .hypothesis
