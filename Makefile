# Every target bootstraps its own virtual environment: a fresh clone needs nothing but python3 (and node for synth).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The Amazon States Language validator (npm), for the hub's state machine definition (tests/infrastructure/test_hub.py).
ASL_VALIDATOR_VERSION := 4.0.0
ASL_VALIDATOR := $(VENV)/asl/node_modules/.bin/asl-validator

# moto intercepts DynamoDB Streams only without botocore's account-id endpoints (AWS-FACTS section 8);
# jsii warns about Node 20 on every synth; no AWS credentials or network are ever needed.
export AWS_ACCOUNT_ID_ENDPOINT_MODE := disabled
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION := 1
export AWS_EC2_METADATA_DISABLED := true

.PHONY: install test test-fast lint typecheck test-unit test-integration test-infra wheel-check demo bench synth clean

# .[dev] is everything: the package, its [demo] (moto server) and [cdk] extras, the test and lint tools.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

test-unit: $(STAMP)
	$(BIN)/pytest tests/unit

test-integration: $(STAMP)
	$(BIN)/pytest tests/integration tests/cli

test-infra: $(STAMP) $(ASL_VALIDATOR)
	$(BIN)/pytest tests/infrastructure

## The whole gate: lint, types, the wheel in a clean environment, then every test tier.
test: lint typecheck wheel-check $(ASL_VALIDATOR)
	$(BIN)/pytest

# The wheel as a user gets it: built the way pip builds a release (isolated, from pyproject's build-system),
# installed with its dependencies (`pip install driftline`: no extras) into a new virtual environment, run from
# outside the repository. Every module but the CDK constructs imports; `scan --help` answers; `demo`, whose moto is
# the [demo] extra, exits 3 with the one line naming it. Like `make install` it uses the package index; no test does.
WHEEL_CHECK := $(VENV)/wheel-check
PIP_QUIET := --quiet --disable-pip-version-check
wheel-check: $(STAMP)
	rm -rf $(WHEEL_CHECK)
	$(BIN)/python -m pip wheel $(PIP_QUIET) --no-deps --wheel-dir $(WHEEL_CHECK)/dist .
	$(PYTHON) -m venv $(WHEEL_CHECK)/venv
	$(WHEEL_CHECK)/venv/bin/python -m pip install $(PIP_QUIET) $(WHEEL_CHECK)/dist/driftline-*.whl
	cd $(WHEEL_CHECK) && venv/bin/python -c "import importlib, pkgutil, driftline; \
		[importlib.import_module(m.name) for m in pkgutil.walk_packages(driftline.__path__, 'driftline.') \
		 if not m.name.startswith('driftline.cdk')]"
	cd $(WHEEL_CHECK) && venv/bin/driftline scan --help > /dev/null
	cd $(WHEEL_CHECK) && { venv/bin/driftline demo 2> demo.err; test $$? -eq 3; } && cat demo.err \
		&& test $$(wc -l < demo.err) -eq 1 && grep -qF 'pip install "driftline[demo]"' demo.err
	@cd $(WHEEL_CHECK) && packages=$$(venv/bin/python -m pip list --disable-pip-version-check --format=freeze \
		--exclude pip --exclude setuptools --exclude driftline | wc -l) \
		&& size=$$(du -sh venv/lib/python3*/site-packages | cut -f1) \
		&& echo "wheel-check: passed; pip install driftline brings $$packages packages ($$size site-packages, pip included)"

## The inner loop: everything but the slow smoke, fuzz and large-size tests (make test runs those too).
test-fast: $(STAMP) $(ASL_VALIDATOR)
	$(BIN)/pytest -m "not slow"

## The main job on an embedded AWS account (a moto server on loopback).
demo: $(STAMP)
	$(BIN)/driftline demo

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run
	$(BIN)/python -m benchmarks.event_path
	$(BIN)/python -m benchmarks.registry_import
	$(BIN)/python -m benchmarks.accuracy

# The CDK CLI from npm, pinned, installed into the venv folder (no global install, no lockfile, no telemetry).
CDK_CLI_VERSION := 2.1148.1
CDK := $(VENV)/cdk/node_modules/.bin/cdk

$(CDK):
	npm install --prefix $(VENV)/cdk --no-save --no-audit --no-fund --no-package-lock aws-cdk@$(CDK_CLI_VERSION)

$(ASL_VALIDATOR):
	npm install --prefix $(VENV)/asl --silent --no-save --no-audit --no-fund --no-package-lock asl-validator@$(ASL_VALIDATOR_VERSION)

synth: $(STAMP) $(CDK)
	$(CDK) synth --all --app "$(BIN)/python app.py"

clean:
	rm -rf $(VENV) cdk.out .mypy_cache .ruff_cache .pytest_cache
