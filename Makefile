# `make test` and `make run` work on a fresh machine: they install the system
# packages (Debian nginx + stream module) and a virtual environment on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# Test tools kept out of the project's environment: real Helm (helm-sdkpy, 120 MB).
TOOLS_VENV ?= .venv-tools
TOOLS_STAMP := $(TOOLS_VENV)/.installed-stamp
BUILD := $(CURDIR)/build

.PHONY: test lint typecheck unit run bench system-deps clean manifests

$(STAMP): pyproject.toml devtools/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]' -e devtools
	touch $@

$(TOOLS_STAMP): tests/tools-requirements.txt
	$(PYTHON) -m venv $(TOOLS_VENV)
	$(TOOLS_VENV)/bin/pip install -q --ignore-requires-python --no-deps -r tests/tools-requirements.txt
	touch $@

system-deps:
	scripts/install-system-deps

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP) $(TOOLS_STAMP) system-deps
	$(BIN)/pytest -q

test: lint typecheck unit

# The local run: the local API server, the controller and a real NGINX on this
# machine, serving examples/cafe with its small backends, until Ctrl-C (see
# docs/devrun.md). More flags for `nginx-ingress dev`: make run DEV_FLAGS="--http-port 9080".
DEV_FLAGS ?=
run: $(STAMP)
	@scripts/install-system-deps --run
	$(BIN)/nginx-ingress dev --backends --state-dir $(BUILD)/dev $(DEV_FLAGS)

# deploy/: the plain manifests, regenerated from the chart's defaults with real Helm.
manifests: $(STAMP) $(TOOLS_STAMP)
	$(BIN)/python scripts/regenerate_manifests.py

bench: $(STAMP) system-deps
	$(BIN)/python bench/render_main.py
	$(BIN)/python bench/build_render.py
	$(BIN)/python bench/reload.py
	$(BIN)/python bench/endpoints.py
	$(BIN)/python bench/devcluster.py
	$(BIN)/python bench/reflector.py
	$(BIN)/python bench/import_time.py
	$(BIN)/python bench/status.py

clean:
	rm -rf $(BUILD) .mypy_cache .pytest_cache .ruff_cache .hypothesis
