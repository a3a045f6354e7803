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

.PHONY: install test test-fast lint typecheck test-unit test-integration test-infra demo bench synth clean

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

## The whole gate: lint, types, then every test tier.
test: lint typecheck $(ASL_VALIDATOR)
	$(BIN)/pytest

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
