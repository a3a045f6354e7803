"""Shared test set-up: fake credentials, no real AWS endpoint, no network.

Every tier runs with fake credentials and a region; nothing here can reach AWS. Unit tests additionally run with
sockets disabled (tests/unit/conftest.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from driftline.cli.sandbox import fill_moto_gaps, moto_server

FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    "AWS_EC2_METADATA_DISABLED": "true",
    "POWERTOOLS_SERVICE_NAME": "driftline",
    "POWERTOOLS_METRICS_NAMESPACE": "Driftline",
    "POWERTOOLS_TRACE_DISABLED": "true",
}

for _name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL"):
    os.environ.pop(_name, None)
os.environ.update(FAKE_ENV)
fill_moto_gaps()


@pytest.fixture(autouse=True)
def _fake_aws_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in FAKE_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    yield


def reset_moto() -> None:
    """Forget every moto resource of this process (moto's backends are process-global, shared by all its servers)."""
    from moto.moto_api import _internal

    _internal.moto_api_backend.reset()


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """The one moto server of a test run, on loopback (tiers that use it reset moto per test)."""
    with moto_server() as endpoint:
        yield endpoint
