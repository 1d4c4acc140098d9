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

# Options of `python -m localcloud run` through RUN_ARGS, e.g. raised rate limits or the function logs:
#   make run RUN_ARGS="--parameter StandardTierRateLimit=100 --parameter StandardTierBurstLimit=200"
run: setup
	$(BIN)/python -m localcloud run $(RUN_ARGS)

# Two pytest runs: tests that start the local runtime in-process (tests/local, tests/e2e) patch
# moto and trading's process-wide caches, so they never share a process with the other tests.
# Each run has its own --basetemp: a concurrent pytest elsewhere must not rotate our data dirs.
PYTEST := $(BIN)/python -m pytest -n 2 --dist loadgroup
test: setup lint typecheck browser
	@mkdir -p .pytest-tmp
	$(PYTEST) --basetemp=$(CURDIR)/.pytest-tmp/unit tests --ignore=tests/local --ignore=tests/e2e
	$(PYTEST) --basetemp=$(CURDIR)/.pytest-tmp/runtime tests/local tests/e2e

# Schemathesis against the OpenAPI document a local runtime serves: every operation, 50 examples
# each, fixed seed, signed at the transport; `make test` runs the same suite with 5 examples.
.PHONY: fuzz
fuzz: setup
	@mkdir -p .pytest-tmp
	FUZZ_EXAMPLES=50 $(BIN)/python -m pytest -p no:cacheprovider --basetemp=$(CURDIR)/.pytest-tmp/fuzz \
		-rA tests/e2e/test_fuzz.py

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

# First deploy of an environment: `make baseline` (once per account/region, optional parts),
# `make bootstrap ENV=...` (ECR repository), then `make deploy ENV=...` (docs/deploy.md).
# deploy builds and pushes the matcher image and passes its digest (never a tag) with samconfig's
# parameter overrides: the task definition then changes with every new image.
DEPLOY_REGION ?= us-east-1
BASELINE_PARAMS ?= CreateApiGatewayAccountRole=true CreateGuardDutyDetector=false CreateCloudTrail=false
deploy: build image
	@repo=$$(aws cloudformation describe-stacks --region $(DEPLOY_REGION) --stack-name trading-$(ENV)-bootstrap \
		--query "Stacks[0].Outputs[?OutputKey=='MatcherRepositoryUri'].OutputValue" --output text) && \
	uri=$$(AWS_REGION=$(DEPLOY_REGION) scripts/image.sh push "$$repo") && \
	overrides=$$($(PYTHON) scripts/deploy_params.py $(ENV) "MatcherImageUri=$$uri") && \
	echo "deploying trading-$(ENV) with $$uri" && \
	$(SAM) deploy --config-env $(ENV) --parameter-overrides $$overrides

.PHONY: baseline bootstrap preflight
baseline:
	aws cloudformation deploy --region $(DEPLOY_REGION) --template-file baseline.yaml \
		--stack-name trading-baseline --capabilities CAPABILITY_IAM --no-fail-on-empty-changeset \
		--parameter-overrides $(BASELINE_PARAMS)

bootstrap:
	aws cloudformation deploy --region $(DEPLOY_REGION) --template-file bootstrap.yaml \
		--stack-name trading-$(ENV)-bootstrap --no-fail-on-empty-changeset

# Read-only checks of the target account before a first deploy (scripts/preflight.py).
preflight: setup
	$(BIN)/python scripts/preflight.py --region $(DEPLOY_REGION)

# checkov (pinned) on template.yaml with the committed skip list (.checkov.yaml: one reason per
# skip); like aws-sam-cli it pins its own dependencies, so it has its own venv.
CHECKOV_VERSION ?= 3.2.533
CHECKOV_VENV := .checkov-venv
.PHONY: checkov
$(CHECKOV_VENV)/.installed-stamp:
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install -q checkov==$(CHECKOV_VERSION)
	@touch $@

checkov: $(CHECKOV_VENV)/.installed-stamp
	$(CHECKOV_VENV)/bin/checkov --config-file .checkov.yaml -f template.yaml

# --- matcher image (scripts/image.sh): Docker where a daemon answers, else Debian's buildah on a
# base of Debian packages (mmdebstrap). Like `browser`, the tools are installed with apt-get as
# root or under CI (a failed install fails then); elsewhere only a notice.
IMAGE ?= trading-matcher:$(shell git rev-parse --short HEAD 2>/dev/null || echo dev)
.PHONY: image-tools image image-test
image-tools:
	@if ! { command -v docker >/dev/null && docker info >/dev/null 2>&1; } \
		&& ! { command -v buildah >/dev/null && command -v mmdebstrap >/dev/null; }; then \
		if command -v apt-get >/dev/null && { [ "$$(id -u)" = 0 ] || [ -n "$$CI" ]; }; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq buildah mmdebstrap >/dev/null; \
		elif [ -n "$$CI" ]; then \
			echo "no Docker daemon and buildah cannot be installed here (no apt-get)" >&2; exit 1; \
		else \
			echo "no Docker daemon and no buildah: the image tests will be skipped (Debian: apt-get install buildah mmdebstrap)"; \
		fi; \
	fi

image: image-tools
	IMAGE=$(IMAGE) scripts/image.sh build

# The image built here and run (`buildah run`) against the local runtime: /health answers 200 and
# an order placed through the REST API matches (tests/image; several minutes, not in `make test`).
image-test: setup image-tools
	RUN_IMAGE_TEST=1 $(BIN)/python -m pytest -p no:cacheprovider -q tests/image/test_matcher_image.py
