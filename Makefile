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

.PHONY: demo test test-slow lint format bench clean

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	@# A local CPU wheel (found without any index) goes in first and PyPI then supplies its
	@# dependencies; with none, the official CPU index supplies torch itself.
	@$(PY) -c "import torch" 2>/dev/null || \
	  { $(PY) -m pip install -q --no-index --no-deps "torch==$(TORCH_VERSION)" 2>/dev/null && \
	    $(PY) -m pip install -q "torch==$(TORCH_VERSION)"; } || \
	  $(PY) -m pip install -q "torch==$(TORCH_VERSION)" --index-url $(TORCH_CPU_INDEX)
	$(PY) -m pip install -q -e ".[dev]"
	@touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/classicnets train

test: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(PY) -m pytest

# Every registered model trained through the CLI on digits and CIFAR-10 (about 2 minutes).
test-slow: $(STAMP)
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
