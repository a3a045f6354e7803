"""Fixtures of the revocation integration tests (moto in-process, from tests/integration/conftest.py): the handlers'
environment as the stack sets it, and Security Hub enabled when a test wants findings."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import botocore.loaders
import botocore.session
import pytest

from driftline import compose
from driftline.adapters.aws import Clients
from driftline.handlers import on_iam_event, on_registry_change, on_schedule
from driftline.settings import get_settings
from tests.integration.support import REGISTRY_TABLE, STATE_TABLE, Sandbox

_MODELS = botocore.loaders.create_loader()


def _fast_clients() -> Clients:
    """What the handler's ``Clients()`` builds, on a session sharing the already loaded service models."""
    session = botocore.session.get_session()
    session.register_component("data_loader", _MODELS)
    return Clients(boto3.Session(botocore_session=session))


@pytest.fixture
def handler_env(monkeypatch: pytest.MonkeyPatch, sandbox: Sandbox) -> Iterator[Sandbox]:
    """The handlers' environment (report mode, publishing off unless ``hub`` turns it on); settings re-read."""
    monkeypatch.setenv("DRIFTLINE_REGISTRY_TABLE", REGISTRY_TABLE)
    monkeypatch.setenv("DRIFTLINE_STATE_TABLE", STATE_TABLE)
    monkeypatch.setenv("DRIFTLINE_PUBLISH_FINDINGS", "false")
    monkeypatch.setattr(on_registry_change, "CLIENTS", _fast_clients)
    monkeypatch.setattr(on_iam_event, "CLIENTS", _fast_clients)
    monkeypatch.setattr(on_schedule, "CLIENTS", _fast_clients)
    get_settings.cache_clear()
    yield sandbox
    get_settings.cache_clear()


@pytest.fixture
def hub(handler_env: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Security Hub enabled in the moto account and the handlers publishing to it; returns the client."""
    monkeypatch.setenv("DRIFTLINE_PUBLISH_FINDINGS", "true")
    get_settings.cache_clear()
    client = handler_env.clients.securityhub()
    client.enable_security_hub()
    return client


@pytest.fixture
def stream_env(handler_env: Sandbox) -> Sandbox:
    """``handler_env`` for the registry stream handler, called exactly as Lambda calls it (Powertools' BatchProcessor
    passes each record as ``record=``; ``test_powertools_calls_the_record_handler_with_record_kwarg`` guards that)."""
    return handler_env


class Clock:
    """The handlers' clock (``compose.now``): real time until a test sets ``now``."""

    def __init__(self) -> None:
        self.now: datetime | None = None

    def __call__(self) -> datetime:
        return self.now or datetime.now(UTC)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    found = Clock()
    monkeypatch.setattr(compose, "now", found)
    return found
