# Two entry points: `make demo` (the smoke scenario on the local target) and `make test`.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: demo test lint install

demo: $(STAMP)
	$(VENV)/bin/cdcbench run scenarios/smoke.yaml

test: $(STAMP)
	$(VENV)/bin/pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	terraform fmt -check -recursive terraform

install: $(STAMP)

$(STAMP): pyproject.toml scripts/system-deps
	scripts/system-deps
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $(STAMP)
