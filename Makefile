# Two entry points for a fresh machine: `make demo` (install + main job) and `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CUDA build of torch 2.14.1 runs on CPUs too and matches torchvision 0.29.1 (needed by lpips).
TORCH_PIN ?= torch==2.14.1 torchvision==0.29.1
OUT ?= results/demo

.PHONY: install demo test test-slow test-browser bench notebooks clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q $(TORCH_PIN)
	$(BIN)/pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/fpkit demo --out $(OUT)

test: install
	$(BIN)/python -m pytest -q

test-slow: install
	$(BIN)/python -m pytest -q -m slow

# Debian's chromium driven by playwright (never `playwright install`: no browser downloads here).
test-browser: install
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)
	$(BIN)/pip install -q -e '.[test,browser]'
	$(BIN)/python -m pytest -q -m browser

# Open the notebooks in JupyterLab (the [notebooks] extra: jupyterlab, ipykernel).
notebooks: install
	$(BIN)/pip install -q -e '.[notebooks]'
	$(BIN)/jupyter lab notebooks/

bench: install
	$(BIN)/python benchmarks/bench_sampler.py

clean:
	rm -rf $(VENV) build *.egg-info
