# Every target sets up what it needs on a fresh machine (a local virtualenv in .venv), then runs.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
ORDERS ?= 1000
SEED ?= 42
# WORKERS=1: Lambda handlers in worker processes of their own (decision 0030)
WORKERS ?= 0
COVERAGE_FLOOR ?= 80
# Test processes: one per core (each with its own embedded AWS), test files kept together.
TEST_WORKERS ?= auto
# The infrastructure-as-code tools pin their own boto3 (checkov 1.35, the SAM CLI 1.43): each gets a
# virtualenv of its own, from a pinned requirements file; the SAM CLI runs on the functions' runtime Python.
CHECKOV_VENV := .venv-checkov
SAM_VENV := .venv-sam
RUNTIME_PYTHON ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.12.*/bin/python3.12) $(shell command -v python3.12))
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-$(shell sha1sum tools/iac/requirements-checkov.txt | cut -c1-12)
SAM_STAMP := $(SAM_VENV)/.installed-$(shell sha1sum tools/iac/requirements-sam.txt | cut -c1-12)
SAM := PATH=$(dir $(RUNTIME_PYTHON)):$$PATH SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam

.PHONY: help setup setup-iac demo chaos test lint typecheck template-check iac-check unit integration e2e bench bench-smoke serve openapi clean

help:
	@echo "make demo    - replay a business day ($(ORDERS) signed webhooks) on the embedded AWS; output in ./out"
	@echo "make chaos   - the business day fault-free and under injected AWS faults; every order compared, invariants checked"
	@echo "make test    - lint, type check, template checks and the whole test suite with a coverage gate"
	@echo "make bench   - benchmarks and the cost model; results in out/bench/results.json"
	@echo "make serve   - the OMS on the embedded AWS as a local stack (HTTP API 127.0.0.1:3000, AWS 127.0.0.1:4566)"

$(STAMP):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

setup: $(STAMP)

$(CHECKOV_STAMP):
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet -r tools/iac/requirements-checkov.txt
	rm -f $(CHECKOV_VENV)/.installed-*
	touch $(CHECKOV_STAMP)

$(SAM_STAMP):
	@test -n "$(RUNTIME_PYTHON)" || { echo "python3.12 (the functions' runtime) is needed: pyenv install 3.12"; exit 1; }
	$(RUNTIME_PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet -r tools/iac/requirements-sam.txt
	rm -f $(SAM_VENV)/.installed-*
	touch $(SAM_STAMP)

setup-iac: $(CHECKOV_STAMP) $(SAM_STAMP)

demo: $(STAMP)
	$(PY) -m demo --orders $(ORDERS) --seed $(SEED) --out out $(if $(filter 1,$(WORKERS)),--workers,)

chaos: $(STAMP)
	$(PY) -m demo.chaos --orders $(ORDERS) --seed $(SEED) --out out/chaos

serve: $(STAMP)
	$(PY) -m demo.serve --port 3000 --endpoint-port 4566

lint: $(STAMP)
	$(PY) -m ruff check functions infra demo ops bench tools tests
	$(PY) -m ruff format --check functions infra demo ops bench tools tests

typecheck: $(STAMP)
	$(PY) -m mypy

template-check: $(STAMP)
	$(VENV)/bin/cfn-lint --include-checks I --append-rules cfn_lint_serverless.rules -- template.yaml
	$(PY) -m infra check-template template.yaml

# checkov against the committed baseline of accepted findings; sam validate --lint; the deployable build.
# (tests/integration/test_built_artifact.py imports every handler from a build of the same template.)
iac-check: $(STAMP) setup-iac
	$(PY) -m tools.iac.checkov_gate --checkov $(CHECKOV_VENV)/bin/checkov template.yaml
	$(SAM) validate --lint --template-file template.yaml
	$(SAM) build --template-file template.yaml --build-dir .aws-sam/build

test: lint typecheck template-check iac-check
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --durations=15 \
		--cov --cov-branch --cov-report=term --cov-fail-under=$(COVERAGE_FLOOR) tests

unit: $(STAMP)
	$(PY) -m pytest tests/unit -q

integration: $(STAMP) setup-iac
	$(PY) -m pytest tests/integration -q

e2e: $(STAMP)
	$(PY) -m pytest tests/e2e -q

bench: $(STAMP)
	$(PY) -m bench --orders $(ORDERS) --out out/bench

bench-smoke: $(STAMP)
	$(PY) -m bench --orders 20 --scaling 10,20 --out out/bench-smoke

openapi: $(STAMP)
	$(PY) -m tools.openapi

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) $(SAM_VENV) .aws-sam out .pytest_cache .mypy_cache .ruff_cache .coverage
