# Two entry points: `make demo` (the smoke scenario on the local target) and `make test`.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
# checkov pins older boto3/botocore than moto needs: it gets a virtualenv of its own.
CHECKOV := .tools/checkov/bin/checkov

.PHONY: demo test lint install

demo: $(STAMP)
	$(VENV)/bin/cdcbench run scenarios/smoke.yaml

# Two passes: every test but the `serial` ones two at a time (most of their time is waiting
# on Terraform's sleeps and the emulators), a test file per worker; then the tests with
# timing bounds alone. Both run, whatever the first gives.
test: $(STAMP) $(CHECKOV)
	export PYTHONDONTWRITEBYTECODE=1; \
	$(VENV)/bin/pytest -n 2 --dist loadfile -m "not serial"; parallel=$$?; \
	$(VENV)/bin/pytest -m serial; alone=$$?; \
	test $$parallel -eq 0 -a $$alone -eq 0

lint: $(STAMP) $(CHECKOV)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	terraform fmt -check -recursive terraform
	$(CHECKOV) --config-file .checkov.yaml --quiet

install: $(STAMP) $(CHECKOV)

# constraints.txt pins moto and the packages whose internals its fixes touch (on the command
# line, -c adds to any constraint file in pip's own configuration).
$(STAMP): pyproject.toml constraints.txt scripts/system-deps
	scripts/system-deps
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

$(CHECKOV):
	$(PYTHON) -m venv .tools/checkov
	.tools/checkov/bin/pip install --quiet --upgrade pip
	.tools/checkov/bin/pip install --quiet 'checkov>=3.2,<4'
