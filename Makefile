# Two entry points: `make demo` (the smoke scenario on the local target) and `make test`.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
# checkov pins older boto3/botocore than moto needs: it gets a virtualenv of its own.
CHECKOV := .tools/checkov/bin/checkov

.PHONY: demo test lint install

demo: $(STAMP)
	$(VENV)/bin/cdcbench run scenarios/smoke.yaml

test: $(STAMP) $(CHECKOV)
	$(VENV)/bin/pytest

lint: $(STAMP) $(CHECKOV)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	terraform fmt -check -recursive terraform
	$(CHECKOV) --config-file .checkov.yaml --quiet

install: $(STAMP) $(CHECKOV)

$(STAMP): pyproject.toml scripts/system-deps
	scripts/system-deps
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(CHECKOV):
	$(PYTHON) -m venv .tools/checkov
	.tools/checkov/bin/pip install --quiet --upgrade pip
	.tools/checkov/bin/pip install --quiet 'checkov>=3.2,<4'
