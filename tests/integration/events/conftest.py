"""The IAM event handler against a moto account: settings from the environment as the stack sets them, Security
Hub enabled, and every ``Clients`` the handler builds captured (its call counter, and the keys it wrote).

The handler builds a new ``Clients`` per invocation, as deployed; only the botocore clients inside are the test
account's own, built once per test (client construction would otherwise dominate the tier's run time)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest

from driftline.adapters.aws import Clients
from driftline.adapters.ledger import DynamoLedger
from driftline.domain.identity import IdentityRef
from driftline.domain.ledger import LedgerRecord
from driftline.domain.scope import Scope
from driftline.handlers import on_iam_event
from driftline.service.detector import Detector
from driftline.settings import get_settings
from tests.events import corpus
from tests.integration.support import ACCOUNT, REGISTRY_TABLE, STATE_TABLE, Sandbox

REGION = "us-east-1"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:driftline-iam-event"
RECONCILE_FUNCTION = "driftline-reconcile"
_REQUESTS = itertools.count(1)


def lambda_context() -> Any:
    return SimpleNamespace(
        function_name="driftline-iam-event",
        memory_limit_in_mb=512,
        invoked_function_arn=FUNCTION_ARN,
        aws_request_id=f"00000000-0000-4000-8000-{next(_REQUESTS):012d}",
        get_remaining_time_in_millis=lambda: 30000,
    )


def finding_id(drift_type: str, identity: str) -> str:
    """The Security Hub Id of a driftline finding: ``identity`` is ``kind#name`` (names folded, as in IAM)."""
    kind, _, name = IdentityRef.parse(identity).key.partition("#")
    return f"driftline/{ACCOUNT}/{REGION}/{drift_type}/{kind}/{name}"


@dataclass
class Invocation:
    """What one handler call built: its clients (with their call counter) and the items it wrote to DynamoDB."""

    clients: Clients
    writes: list[tuple[str, str]] = field(default_factory=list)  # (operation, pk)

    @property
    def calls(self) -> dict[str, int]:
        return self.clients.counter.snapshot()


class _PooledClients(Clients):
    """A real ``Clients`` (session, region, partition, its own ``CallCounter``) handing out already built clients."""

    def __init__(self, shared: Clients) -> None:
        super().__init__(shared.session)
        self._cache = {
            "iam": shared.iam(),
            "dynamodb": shared.dynamodb(),
            "securityhub": shared.securityhub(),
            "lambda": shared.lambda_(),
        }


class EventAccount:
    """A moto account wired for the IAM event handler."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.iam = sandbox.iam
        self.securityhub = sandbox.clients.securityhub()
        self.invocations: list[Invocation] = []
        self.evaluated: list[set[str]] = []  # identity keys of every evaluate_identities call
        self.reconcile_requests: list[dict[str, Any]] = []  # payloads of the asynchronous reconcile invocations
        self._in_handler = False
        self._hook()
        # moto runs no Lambda functions without Docker: answer Invoke (asynchronous, 202) and keep the payload.
        lambda_events = sandbox.clients.lambda_().meta.events
        lambda_events.register("provide-client-params.lambda.Invoke", self._invoked)
        lambda_events.register("before-call.lambda.Invoke", self._accepted)

    def _invoked(self, params: dict[str, Any], **_: Any) -> None:
        self.reconcile_requests.append(
            {"function": params["FunctionName"], "type": params["InvocationType"], **json.loads(params["Payload"])}
        )

    @staticmethod
    def _accepted(**_: Any) -> Any:
        return SimpleNamespace(status_code=202, headers={}, raw=None), {"StatusCode": 202, "ResponseMetadata": {}}

    # -- the handler -------------------------------------------------------------------------------------------
    def make_clients(self) -> Clients:
        """The ``Clients`` of one handler invocation: a real ``Clients`` whose botocore clients are the test
        account's own (building botocore clients is most of an invocation's cost in moto), with its own call
        counter and write log, fed by hooks on those clients."""
        clients = _PooledClients(self.sandbox.clients)
        self.invocations.append(Invocation(clients))
        return clients

    def _hook(self) -> None:
        """Route every call of the shared botocore clients to the current invocation's counter and write log."""

        def count(event_name: str = "before-send.unknown.unknown", **kwargs: Any) -> None:
            if self._in_handler and self.invocations:
                self.invocations[-1].clients.counter._count(event_name=event_name, **kwargs)

        def wrote(params: dict[str, Any], event_name: str = "", **_: Any) -> None:
            pk = params.get("Item", params.get("Key", {})).get("pk", {}).get("S", "")
            if self._in_handler and self.invocations:
                self.invocations[-1].writes.append((event_name.rsplit(".", 1)[-1], pk))

        shared = self.sandbox.clients
        for client in (shared.iam(), shared.dynamodb(), shared.securityhub()):
            client.meta.events.register("before-send", count)
        for operation in ("PutItem", "UpdateItem", "DeleteItem"):
            shared.dynamodb().meta.events.register(f"before-parameter-build.dynamodb.{operation}", wrote)

    def deliver(self, event: dict[str, Any]) -> dict[str, Any]:
        """Invoke the handler; the test's own calls (seeding, reading findings) are never counted as its calls."""
        self._in_handler = True
        try:
            result: dict[str, Any] = on_iam_event.handler(event, lambda_context())
        finally:
            self._in_handler = False
        return result

    def send(self, name: str, **values: object) -> tuple[dict[str, Any], dict[str, Any]]:
        """Deliver corpus event ``name`` filled with ``values``; return (event, handler result)."""
        event = corpus.load(name, **values)
        return event, self.deliver(event)

    @property
    def last(self) -> Invocation:
        return self.invocations[-1]

    # -- Security Hub ------------------------------------------------------------------------------------------
    def findings(self) -> dict[str, dict[str, Any]]:
        """Every finding by Id (moto ignores GetFindings filters: filtered here)."""
        found: dict[str, dict[str, Any]] = {}
        for page in self.securityhub.get_paginator("get_findings").paginate():
            for finding in page["Findings"]:
                if finding["Id"].startswith(f"driftline/{ACCOUNT}/"):
                    found[finding["Id"]] = finding
        return found

    def findings_of(self, identity: str) -> dict[str, dict[str, Any]]:
        """The findings whose Id names ``identity`` (``kind#name``)."""
        kind, _, name = IdentityRef.parse(identity).key.partition("#")
        return {i: f for i, f in self.findings().items() if i.endswith(f"/{kind}/{name}")}

    def finding(self, drift_type: str, identity: str) -> dict[str, Any]:
        found = self.findings()
        wanted = finding_id(drift_type, identity)
        assert wanted in found, f"no finding {wanted}; have {sorted(found)}"
        return found[wanted]

    def state_of(self, drift_type: str, identity: str) -> str:
        return str(self.finding(drift_type, identity)["RecordState"])

    # -- the revocation ledger ---------------------------------------------------------------------------------
    def ledger(self, identity: str) -> list[LedgerRecord]:
        return DynamoLedger(self.sandbox.dynamodb, STATE_TABLE).records(ACCOUNT, [identity])


@pytest.fixture
def account(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[EventAccount]:
    monkeypatch.setenv("DRIFTLINE_REGISTRY_TABLE", REGISTRY_TABLE)
    monkeypatch.setenv("DRIFTLINE_STATE_TABLE", STATE_TABLE)
    monkeypatch.setenv("DRIFTLINE_RECONCILE_FUNCTION", RECONCILE_FUNCTION)
    monkeypatch.delenv("DRIFTLINE_PUBLISH_FINDINGS", raising=False)
    get_settings.cache_clear()
    helper = EventAccount(sandbox)
    helper.securityhub.enable_security_hub()
    monkeypatch.setattr(on_iam_event, "CLIENTS", helper.make_clients)
    real_evaluate = Detector.evaluate

    def spy(self: Detector, scope: Scope, **kwargs: Any) -> Any:
        helper.evaluated.append({ref.key for ref in scope.refs if isinstance(ref, IdentityRef)})
        return real_evaluate(self, scope, **kwargs)

    monkeypatch.setattr(Detector, "evaluate", spy)
    yield helper
    get_settings.cache_clear()


def emf_metrics(stdout: str) -> dict[str, float]:
    """Every metric value in the CloudWatch EMF documents printed to stdout, summed by name."""
    totals: dict[str, float] = {}
    for line in stdout.splitlines():
        if not (line.startswith("{") and '"_aws"' in line):
            continue
        document = json.loads(line)
        for directive in document["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                value = document[metric["Name"]]
                totals[metric["Name"]] = totals.get(metric["Name"], 0) + (
                    sum(value) if isinstance(value, list) else value
                )
    return totals
