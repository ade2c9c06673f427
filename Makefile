# Every target sets up what it needs on a fresh machine (a local virtualenv in .venv), then runs.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
ORDERS ?= 1000
SEED ?= 42
COVERAGE_FLOOR ?= 80

.PHONY: help setup demo chaos test lint typecheck template-check unit integration e2e bench bench-smoke serve openapi clean

help:
	@echo "make demo    - replay a business day ($(ORDERS) signed webhooks) on the embedded AWS; output in ./out"
	@echo "make chaos   - the business day fault-free and under injected AWS faults; every order compared, invariants checked"
	@echo "make test    - lint, type check, template checks and the whole test suite with a coverage gate"
	@echo "make bench   - benchmarks and the cost model; results in out/bench/results.json"
	@echo "make serve   - the embedded AWS as a long-running local server (HTTP API on 127.0.0.1:3000)"

$(STAMP):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(PY) -m demo --orders $(ORDERS) --seed $(SEED) --out out

chaos: $(STAMP)
	$(PY) -m demo.chaos --orders $(ORDERS) --seed $(SEED) --out out/chaos

serve: $(STAMP)
	$(PY) -m infra serve --port 3000 --seed demo.seed:seed_reference_data

lint: $(STAMP)
	$(PY) -m ruff check functions infra demo ops bench tools tests
	$(PY) -m ruff format --check functions infra demo ops bench tools tests

typecheck: $(STAMP)
	$(PY) -m mypy

template-check: $(STAMP)
	$(VENV)/bin/cfn-lint template.yaml
	$(PY) -m infra check-template template.yaml

test: lint typecheck template-check
	$(PY) -m pytest --cov --cov-branch --cov-report=term --cov-fail-under=$(COVERAGE_FLOOR) tests

unit: $(STAMP)
	$(PY) -m pytest tests/unit -q

integration: $(STAMP)
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
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache .coverage
