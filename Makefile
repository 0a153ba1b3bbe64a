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
export TF_CPP_MIN_LOG_LEVEL ?= 3

NAME       := $(basename $(notdir $(CONFIG)))
WORK       := $(OUT)/$(NAME)
DATA       ?= $(OUT)/synth_200k.npz
EPOCHS     ?=
WEIGHTS    ?= programmable
SIM        ?= icarus
VECTORS    ?= 2000
PIPELINE   ?= 0
CLOCK      ?= 25
LIBERTY    ?= sky130hd

.PHONY: help setup tools demo test faults bench clean clean-all data train export golden rtl synth sim sim-long sim-extreme seu sim-gates sim-reuse synth-reuse synth-reuse-sky130 study study-training findings econt-check data-compare signoff

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

tools: $(TOOLSTAMP)  ## install iverilog, yosys and opensta (apt-get) when missing

demo: setup  ## the main job end to end on built-in synthetic data
	@bash tools/demo.sh $(DEMO)

test: setup  ## the whole test suite
	$(PY) -m pytest -q -n $(JOBS) --dist loadfile tests

faults: setup  ## fault campaign: bad inputs, collisions, kills and interrupts against the CLI (class counts)
	$(PY) tools/fault_campaign.py

bench: setup  ## run every benchmark script and print its figures
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

$(DATA): | setup
	$(ENC) data synth --modules 200000 --seed 1 --out $@

data: $(DATA)  ## built-in synthetic data set (200k modules, seed 1)

REAL_CSV   ?= data/cms/calq_ttbar_6050.csv
$(OUT)/real.npz: | setup
	$(ENC) data import $(REAL_CSV) --units-per-mip 35 --out $@ --force

$(OUT)/synth20k.npz: | setup
	$(ENC) data synth --modules 20000 --seed 1 --out $@ --force

data-compare: $(OUT)/synth20k.npz $(OUT)/real.npz  ## synthetic vs real CMS data: table and plot
	$(ENC) data compare $^ --plot $(OUT)/data_compare.png --force

$(WORK)/run/encoder.h5: $(CONFIG) $(DATA) | setup
	$(ENC) train --config $(CONFIG) --data $(DATA) --out $(WORK)/run $(if $(EPOCHS),--epochs $(EPOCHS)) --seed 1 --force

train: $(WORK)/run/encoder.h5  ## train CONFIG (default configs/econt_8x8.yaml) on DATA until it converges (EPOCHS=N caps it)

$(WORK)/ir.json: $(WORK)/run/encoder.h5
	$(ENC) export $(WORK)/run --out $@ --force

export: $(WORK)/ir.json  ## export the trained encoder to the IR

golden: $(WORK)/ir.json  ## run the golden model on DATA
	$(ENC) golden $(WORK)/ir.json --data $(DATA) --out $(WORK)/golden.npz --force

rtl: $(WORK)/ir.json  ## config -> trained model -> IR -> Verilog in OUT/NAME/rtl_WEIGHTS (PIPELINE=N|auto, CLOCK=ns)
	$(ENC) rtl $(WORK)/ir.json --out $(WORK)/rtl_$(WEIGHTS) --weights $(WEIGHTS) --pipeline $(PIPELINE) --clock $(CLOCK) --force

synth: rtl  ## area (mm^2), timing (fmax) and power (mW, nJ) of the generated design in LIBERTY (sky130hd) at CLOCK
	$(ENC) synth $(WORK)/rtl_$(WEIGHTS) --out $(WORK)/synth_$(WEIGHTS) --liberty $(LIBERTY) --clock $(CLOCK) --data $(DATA) --force

sim: rtl  ## cocotb simulation of the generated design against the golden model
	$(ENC) sim $(WORK)/rtl_$(WEIGHTS) --sim $(SIM) --vectors $(VECTORS) --data $(DATA) --jobs $(JOBS) --out $(WORK)/sim_$(WEIGHTS) --force

sim-long: setup  ## 1,000,000 vectors on econt_8x8 with Verilator in bulk mode, build included (target: 60 s plus the build)
	$(PY) benchmarks/bench_sim.py --long

sim-extreme: setup  ## econt_8x8 at the weight formats' limits (max, min, alternating, uniform): both simulators, both weight modes, VECTORS each
	$(PY) benchmarks/bench_sim_extreme.py --vectors $(VECTORS)

sim-reuse: setup  ## --reuse R in {1,2,4,8}: econt_8x8 and econt_4x4x3, both weight modes, 2,000 vectors each, zero mismatches
	$(PY) benchmarks/bench_reuse.py --reuse 1,2,4,8 --vectors 2000

synth-reuse: setup  ## --reuse R cost table (generic yosys estimate; minutes per design) and docs/reuse_cost_generic.png
	$(PY) benchmarks/bench_reuse.py --synth --reuse 1,2,4,8

synth-reuse-sky130: setup  ## --reuse R in SKY130 HD, chip configuration, both weight modes (15-60 min per design) and docs/reuse_cost.png
	$(PY) benchmarks/bench_reuse.py --synth --liberty sky130hd --reuse 1,2,4,8

seu: setup  ## upset campaigns on econt_8x8, bulk mode on Verilator: 1,000 single upsets in the configuration bank with --tmr none and config, 1,000 over every register with --tmr full; plus synth cost
	$(PY) benchmarks/bench_seu.py --synth

sim-gates: setup  ## econt_8x8 mapped to SKY130 HD cells, both weight modes, VECTORS gate-level vectors each (IR=... for trained weights)
	$(PY) benchmarks/bench_gates.py --vectors $(VECTORS) --sim $(SIM) --jobs $(JOBS) $(if $(IR),--ir $(IR))

MUTANTS    ?= 20
signoff: setup  ## sign-off on econt_8x8, both weight modes: coverage, mutation score (MUTANTS each), formal equivalence; one table (13 min here at 66a86e1; NETLIST=1 adds the mapping and RTL vs SKY130 netlist: 34 min in all at e14dfe3, every module proven)
	nice -n 10 $(PY) -m encoder.verify.signoff --out $(OUT)/signoff --mutants $(MUTANTS) $(if $(NETLIST),--netlist)

STUDY      ?= configs/study_elinks.yaml
study: setup  ## e-link study: autoencoder at 2-5 e-links vs threshold/STC/best choice (about an hour)
	$(ENC) study --config $(STUDY) --out $(OUT)/$(basename $(notdir $(STUDY))) --jobs $(JOBS)

study-training: setup  ## what limits the AE: loss, data, encoder and decoder capacity (about 2 hours)
	$(ENC) study --config configs/study_training.yaml --out $(OUT)/study_training --jobs $(JOBS)

findings: study study-training  ## both studies, then the figures and tables of docs/training_findings.md
	$(PY) tools/training_findings.py --elinks $(OUT)/study_elinks --training $(OUT)/study_training --out docs

ECONT      := tests/data/econt
ECONT_ALGORITHMS := BC_5eTx STC_type0_eTx3 TS_Thr47_5eTx_MRL
econt-check: setup  ## reproduce the ECON-T chip's test vectors bit for bit (golden model, then RTL on Icarus)
	@mkdir -p $(OUT)/econt
	$(ENC) econt import $(ECONT)/AE/init.yaml --out $(OUT)/econt/chip_ir.json --force
	$(ENC) econt decode-input $(ECONT)/testInput.csv --config $(ECONT)/AE/init.yaml --ir $(OUT)/econt/chip_ir.json --out $(OUT)/econt/data.npz --force
	$(ENC) golden $(OUT)/econt/chip_ir.json --data $(OUT)/econt/data.npz --out $(OUT)/econt/latents.npz --force
	$(ENC) econt frames $(OUT)/econt/latents.npz --config $(ECONT)/AE/init.yaml --data $(OUT)/econt/data.npz --out $(OUT)/econt/testOutput.csv --force
	cmp $(OUT)/econt/testOutput.csv $(ECONT)/AE/testOutput.csv && echo "econt: all 3564 BX equal the chip's output words"
	$(ENC) econt check-rtl --config $(ECONT)/AE/init.yaml --input $(ECONT)/testInput.csv --expected $(ECONT)/AE/testOutput.csv --out $(OUT)/econt/rtl --force
	@for alg in $(ECONT_ALGORITHMS); do \
	  $(ENC) econt run --config $(ECONT)/algorithms/$$alg/init.yaml --input $(ECONT)/testInput.csv --out $(OUT)/econt/$$alg.csv --force && \
	  cmp $(OUT)/econt/$$alg.csv $(ECONT)/algorithms/$$alg/testOutput.csv && echo "econt run $$alg: all 3564 BX equal the chip's output words" || exit 1; \
	done

clean:  ## remove what the targets regenerate quickly (keeps .venv, data, trained runs, IRs, studies)
	rm -rf sim/build .pytest_cache $(DEMO) $(OUT)/econt $(OUT)/*/rtl_* $(OUT)/*/synth_* $(OUT)/*/sim_* \
	       $(OUT)/*/golden.npz $(OUT)/data_compare.png

clean-all:  ## remove OUT whole, trained runs included (asks for CONFIRM=1)
	@if [ "$(CONFIRM)" != 1 ]; then \
	  echo "clean-all deletes $(OUT)/ with every trained run and study in it; run 'make clean-all CONFIRM=1'" >&2; \
	  exit 1; fi
	rm -rf $(OUT) sim/build .pytest_cache
