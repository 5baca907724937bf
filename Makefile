# Two commands for a fresh machine:
#   make demo   creates .venv, installs tsz-otel with the examples' extras, runs the monitoring
#               demo (inline engine, no network)
#   make test   creates .venv with the dev extras, installs system packages the tests need,
#               then runs lint, type check, the test suite and a seconds-long benchmark smoke
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
BASE_STAMP := $(VENV)/.installed-base
DEV_STAMP  := $(VENV)/.installed-dev

.PHONY: demo test lint typecheck unit bench bench-smoke system-deps clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(BASE_STAMP): pyproject.toml | $(PY)
	$(PIP) install --quiet -e '.[examples]'
	touch $@

$(DEV_STAMP): pyproject.toml | $(PY)
	$(PIP) install --quiet -e '.[dev]'
	touch $@ $(BASE_STAMP)

demo: $(BASE_STAMP)
	$(PY) examples/monitoring-demo/main.py

system-deps:
	@bash scripts/system-deps.sh

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check tsz_otel

typecheck: $(DEV_STAMP)
	$(VENV)/bin/mypy

unit: $(DEV_STAMP) system-deps
	$(VENV)/bin/pytest -q

bench-smoke: $(DEV_STAMP)
	$(PY) benchmarks/run_all.py --smoke

test: $(DEV_STAMP) system-deps lint typecheck unit bench-smoke

bench: $(DEV_STAMP)
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
