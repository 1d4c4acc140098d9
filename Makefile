# The only entry point: `make run` and `make test` set everything up on a fresh machine.
SHELL := /bin/bash
# The interpreter behind .venv: the distribution's CPython 3.11 when there is one. Debian's (like
# the python:3.11 image the matcher runs on) is built with PGO and LTO; pyenv's default build is
# not and runs the engine bench about 12% slower. Override with PYTHON=...; an existing .venv
# keeps its interpreter until it is removed.
PYTHON ?= $(shell /usr/bin/python3.11 -c 'import ensurepip' 2>/dev/null && echo /usr/bin/python3.11 || echo python3.11)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PKG_SOURCES := requirements/constraints.txt requirements/dev.txt layers/trading/pyproject.toml \
               matcher/pyproject.toml local/pyproject.toml
PY_DIRS := $(wildcard layers/trading/trading matcher local functions tests bench scripts)

.PHONY: setup run test lint fmt typecheck unit bench soak validate build deploy reset lock clean

$(STAMP): $(PKG_SOURCES)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c requirements/constraints.txt -r requirements/dev.txt \
		-e layers/trading -e matcher -e local
	@touch $@

# Optional mypyc build of the matching engine's hot modules (pure Python stays the fallback).
NATIVE_STAMP := layers/trading/trading/engine/_native_sources.txt
NATIVE_SOURCES := $(addprefix layers/trading/trading/engine/,values.py commands.py events.py rules.py fast_book.py codec.py engine.py) \
                  layers/trading/build_native.py

$(NATIVE_STAMP): $(STAMP) $(NATIVE_SOURCES)
	cd layers/trading && ../../$(BIN)/python build_native.py

setup: $(STAMP) $(NATIVE_STAMP)

run: setup
	$(BIN)/python -m localcloud run

# Two pytest runs: tests that start the local runtime in-process (tests/local, tests/e2e) patch
# moto and trading's process-wide caches, so they never share a process with the other tests.
# Each run has its own --basetemp: a concurrent pytest elsewhere must not rotate our data dirs.
PYTEST := $(BIN)/python -m pytest -n 2 --dist loadgroup
test: setup lint typecheck browser
	@mkdir -p .pytest-tmp
	$(PYTEST) --basetemp=$(CURDIR)/.pytest-tmp/unit tests --ignore=tests/local --ignore=tests/e2e
	$(PYTEST) --basetemp=$(CURDIR)/.pytest-tmp/runtime tests/local tests/e2e

# Headless Chromium for the web UI tests (tests/e2e/test_web_ui.py; never `playwright install`).
# Installed with apt-get as root or under CI (a failed install fails then); elsewhere only a notice.
.PHONY: browser
browser:
	@if ! command -v chromium >/dev/null; then \
		if command -v apt-get >/dev/null && { [ "$$(id -u)" = 0 ] || [ -n "$$CI" ]; }; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
		elif [ -n "$$CI" ]; then \
			echo "chromium is missing and cannot be installed here (no apt-get)" >&2; exit 1; \
		else \
			echo "chromium not installed: the web UI tests will be skipped (Debian: apt-get install chromium)"; \
		fi; \
	fi

unit: setup
	$(BIN)/python -m pytest tests/unit

lint: setup
	$(BIN)/ruff check $(PY_DIRS)
	$(BIN)/ruff format --check $(PY_DIRS)

fmt: setup
	$(BIN)/ruff check --fix $(PY_DIRS)
	$(BIN)/ruff format $(PY_DIRS)

typecheck: setup
	$(BIN)/mypy layers/trading/trading matcher/matcher_service local/localcloud

bench: setup
	$(BIN)/python -m bench

# The soak (docs/local.md, "Soak"): a seeded randomized workload through the whole local runtime
# while the matcher is SIGKILLed twice and SIGSTOPped once, then every invariant checked against
# the stores; one JSON summary line, non-zero exit if a check fails.
SOAK_ARGS ?= --seed 1 --requests 1500 --kills 2 --stops 1
soak: setup
	$(BIN)/python -m bench.soak $(SOAK_ARGS)

lock:
	rm -rf /tmp/lock-venv && $(PYTHON) -m venv /tmp/lock-venv
	/tmp/lock-venv/bin/pip install -q -r requirements/dev.txt -e layers/trading -e matcher -e local
	( echo '# Full lock of the development environment (pip freeze of a fresh .venv). Regenerate with `make lock`.'; \
	  /tmp/lock-venv/bin/pip freeze --exclude-editable ) > requirements/constraints.txt

reset:
	rm -rf .local-data

clean: reset
	rm -rf $(VENV) .aws-sam .mypy_cache .ruff_cache .pytest_cache .pytest-tmp

# --- infrastructure (template.yaml): aws-sam-cli pins its own boto3/cfn-lint, so it lives in a
# separate tools venv that `make test` never needs.
TOOLS_VENV := .tools-venv
TOOLS_STAMP := $(TOOLS_VENV)/.installed-stamp
SAM_CLI_VERSION ?= 1.170.0
SAM := SAM_CLI_TELEMETRY=0 $(TOOLS_VENV)/bin/sam
ENV ?= dev

$(TOOLS_STAMP):
	@test -x $(TOOLS_VENV)/bin/python || $(PYTHON) -m venv $(TOOLS_VENV)
	$(TOOLS_VENV)/bin/pip install -q --upgrade pip
	$(TOOLS_VENV)/bin/pip install -q aws-sam-cli==$(SAM_CLI_VERSION)
	@touch $@

.tools-venv: $(TOOLS_STAMP)

validate: $(TOOLS_STAMP)
	$(SAM) validate --lint
	$(SAM) build

build: $(TOOLS_STAMP)
	$(SAM) build

deploy: build
	$(SAM) deploy --config-env $(ENV)
