"""Synthesizes the driftline app once per test session (offline: no credentials, no lookups, no network).

``Template.from_stack`` runs the registered validation plugins, so with cdk-nag 3 an unacknowledged AwsSolutions
error makes this fixture raise ``ValidationFailed``: every test that uses it also proves the stack passes cdk-nag.
"""

from __future__ import annotations

import pytest

from tests.infrastructure.synth import Synthesized, synthesize


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("cdk.out"))
