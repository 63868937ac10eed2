# Marsad — two commands on a fresh machine: `make demo` and `make test`. Both install what they need.
VENV   ?= .venv
PYTHON ?= python3
BIN    := $(VENV)/bin

.PHONY: install demo test unit lint stop status clean-state

$(BIN)/.marsad-installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[airflow,dev]'
	touch $@

install: $(BIN)/.marsad-installed

## make demo: local Kafka + Elasticsearch, crawl the bundled Arabic pages with Airflow, index, search
demo: install
	$(BIN)/marsad demo

## make test: lint (ruff, rules in pyproject.toml), type-check src/ (mypy, [tool.mypy] in pyproject.toml), then unit +
## integration/e2e tests against the real local Kafka and Elasticsearch
test: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/marsad stack up
	$(BIN)/pytest

## make unit: ruff and mypy, then only the tests that need no services
unit: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest tests/unit

## make lint: only ruff and mypy
lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

stop:
	$(BIN)/marsad stack down

status:
	$(BIN)/marsad stack status
