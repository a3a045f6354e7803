"""Integration tier: driftline's adapters against moto's in-process AWS, and against botocore Stubbers.

Every test gets a fresh moto account (function scope), so nothing leaks between tests. The detector reads IAM through
the real boto3 adapters; only facts IAM has no API for (key age, recorded use) are set on moto's backend through
``driftline.cli.sandbox``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import botocore.loaders
import botocore.session
import pytest
from moto import mock_aws

from driftline.adapters.aws import Clients
from driftline.cli.sandbox import create_tables
from driftline.handlers import (
    on_hub_account,
    on_hub_accounts,
    on_hub_event,
    on_iam_event,
    on_registry_change,
    on_schedule,
)
from driftline.observability import logger
from tests.integration.state_partitions import Watch
from tests.integration.support import REGISTRY_TABLE, STATE_TABLE, Sandbox

# Loading botocore's service models is most of a fresh session's cost; every test's session shares one loader.
_MODELS = botocore.loaders.create_loader()


@pytest.fixture(autouse=True)
def state_partitions(monkeypatch: pytest.MonkeyPatch) -> Iterator[Watch]:
    """Every state-table call a handler makes must stay in its granted partitions (tests/integration/
    state_partitions.py); a test that made one outside fails here, naming the function, call and key."""
    watch = Watch()
    original = Clients.__init__

    def init(self: Clients, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.session.events.register(
            "provide-client-params.dynamodb", watch.hook, unique_id="driftline-state-partitions"
        )

    monkeypatch.setattr(Clients, "__init__", init)
    for module, entry, function in (
        (on_schedule, "handler", "ReconcileFunction"),
        (on_iam_event, "handler", "IamEventFunction"),
        (on_registry_change, "handler", "RegistryChangeFunction"),
        (on_registry_change, "handle_event", "RegistryChangeFunction"),  # the central registry's forwarded records
        (on_hub_accounts, "handler", "HubAccountsFunction"),  # hub and spoke
        (on_hub_account, "handler", "HubAccountFunction"),
        (on_hub_event, "handler", "HubEventFunction"),
    ):
        monkeypatch.setattr(module, entry, watch.wrap(function, getattr(module, entry)))
    yield watch
    assert watch.violations == [], f"state-table calls outside the function's granted partitions: {watch.violations}"


@pytest.fixture
def clients() -> Iterator[Clients]:
    """A moto account with the registry and state tables; the Clients' counter starts at zero."""
    with mock_aws():
        session = botocore.session.get_session()
        session.register_component("data_loader", _MODELS)
        aws = Clients(boto3.Session(botocore_session=session))
        create_tables(aws.dynamodb(), REGISTRY_TABLE, STATE_TABLE)
        aws.counter.calls.clear()
        yield aws


@pytest.fixture
def sandbox(clients: Clients) -> Sandbox:
    """Helpers to seed IAM and the registry, and to run the use cases against them."""
    return Sandbox(clients)


@pytest.fixture
def log_lines() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """Powertools' logger writes to the stream it captured at import time; point it at a buffer for one test and
    return a function that parses every JSON log line written so far."""
    handler = logger.registered_handler
    buffer = io.StringIO()
    previous = handler.setStream(buffer)  # type: ignore[attr-defined]

    def lines() -> list[dict[str, Any]]:
        return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]

    yield lines
    handler.setStream(previous)  # type: ignore[attr-defined]
