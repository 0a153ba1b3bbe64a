# Design kit for on-detector autoencoder compression ASICs.
# `make demo` and `make test` set everything up on a fresh machine.

SHELL      := /bin/bash
PYTHON     ?= python3
VENV       := .venv
PY         := $(VENV)/bin/python
ENC        := $(VENV)/bin/encoder
STAMP      := $(VENV)/.installed.stamp
TOOLSTAMP  := $(VENV)/.tools.stamp
CONFIG     ?= configs/econt_8x8.yaml
OUT        ?= out
DEMO       ?= $(OUT)/demo
JOBS       ?= 2
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: help setup tools demo test bench clean

help:  ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

setup: $(STAMP) $(TOOLSTAMP)  ## create .venv, install the package and the HDL tools

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "setup: $(PYTHON) not found; install Python >= 3.10" >&2; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || { echo "setup: cannot create $(VENV); install the python3-venv package" >&2; exit 1; }
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	@touch $@

$(TOOLSTAMP): tools/setup_tools.sh
	@bash tools/setup_tools.sh
	@touch $@

tools: $(TOOLSTAMP)  ## install iverilog and yosys (apt-get) when missing

demo: setup  ## the main job end to end on built-in synthetic data
	@bash tools/demo.sh $(DEMO)

test: setup  ## the whole test suite
	$(PY) -m pytest -q -n $(JOBS) --dist loadgroup tests

bench: setup  ## run every benchmark script and print its figures
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:  ## remove generated outputs (keeps .venv)
	rm -rf $(OUT) sim/build .pytest_cache
