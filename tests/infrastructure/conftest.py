"""Synthesizes each driftline configuration once per test session (offline: no credentials, lookups or network).

``Template.from_stack`` runs the registered validation plugins, so with cdk-nag 3 an unacknowledged AwsSolutions
error makes these fixtures raise ``ValidationFailed``: every test that uses one also proves its stacks pass cdk-nag.
"""

from __future__ import annotations

import pytest

from tests.infrastructure.synth import DEFAULT, ENFORCING, EXISTING, Synthesized, synthesize


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """cdk.json's defaults: home Region us-east-1, report mode, a new registry, Security Hub on."""
    return synthesize(tmp_path_factory.mktemp("cdk.out"), DEFAULT)


@pytest.fixture(scope="session")
def enforcing(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """Home Region eu-west-1 (plus the us-east-1 forwarder), enforce mode, break-glass, trail, alarm e-mail."""
    return synthesize(tmp_path_factory.mktemp("cdk.out.enforcing"), ENFORCING)


@pytest.fixture(scope="session")
def existing(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """An existing central registry by ARN, Security Hub off, an existing alarm topic."""
    return synthesize(tmp_path_factory.mktemp("cdk.out.existing"), EXISTING)


@pytest.fixture(scope="session", params=["default", "enforcing", "existing"])
def every(request: pytest.FixtureRequest) -> Synthesized:
    """Each configuration in turn, for properties that must hold in all of them."""
    synthesized: Synthesized = request.getfixturevalue({"default": "synthesized"}.get(request.param, request.param))
    return synthesized
