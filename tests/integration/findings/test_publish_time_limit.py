"""Security Hub throttling every call, for as long as the function runs: the import stops before the function's
time limit, says so, and leaves what it did not send for the next run (never remembered as sent).

Each call goes through botocore's real retry handler (standard mode, the Security Hub client's attempts from
adapters/aws.py): a ``before-send`` hook answers every HTTP request with a 400 ThrottlingException, and botocore's
backoff sleeps on the same fake clock as the importer. Before this bound, 8 attempts × 4 rounds took 173–182 s per
batch, beyond the event function's 60 s, and the handler returned success.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from driftline.adapters.aws import SECURITY_HUB_CONFIG
from driftline.adapters.securityhub import RESERVE, SecurityHubImporter
from tests.integration.findings.conftest import Publisher
from tests.integration.findings.helpers import FakeClock, findings
from tests.integration.findings.test_lifecycle import seed_demo
from tests.integration.support import Sandbox

TIMEOUT = 60.0  # the IAM event function's


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body


def throttled_client(clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, list[float]]:
    """A securityhub client whose every HTTP request is answered 400 ThrottlingException, 0.2 s after it is sent."""
    client = boto3.client("securityhub", region_name="us-east-1", config=SECURITY_HUB_CONFIG)
    sent: list[float] = []
    body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()

    def answer(request: Any, **_: Any) -> AWSResponse:
        sent.append(clock())
        clock.sleep(0.2)
        return AWSResponse(request.url, 400, {"x-amzn-ErrorType": "ThrottlingException"}, _Raw(body))

    client.meta.events.register("before-send.securityhub.BatchImportFindings", answer)
    monkeypatch.setattr("botocore.endpoint.time.sleep", clock.sleep)  # botocore's own backoff, on the fake clock
    # botocore's jitter draws each backoff in [0, cap); the cap itself (the worst case) makes the run repeatable
    backoffs = _backoffs(client)
    assert backoffs, "botocore's standard retry handler not found"
    for backoff in backoffs:
        monkeypatch.setattr(backoff, "_random", lambda: 1.0)
    return client, sent


def _backoffs(client: Any) -> list[Any]:
    """The client's botocore ExponentialBackoff objects (standard retry mode)."""
    from botocore.retries.standard import ExponentialBackoff

    found = []
    for handler in client.meta.events._emitter._handlers.prefix_search("needs-retry.securityhub.BatchImportFindings"):
        owner = getattr(handler, "__self__", None)
        policy = getattr(owner, "_retry_policy", None)
        backoff = getattr(policy, "_retry_backoff", None)
        if isinstance(backoff, ExponentialBackoff):
            found.append(backoff)
    return found


def test_persistent_throttling_stops_before_the_time_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """350 findings (four batches), every request throttled, 60 s to run. The import must return with at least
    RESERVE seconds left, send nothing as succeeded, report the batches it tried as failed and the rest as deferred
    (every finding in exactly one of the two), and say it stopped at the time limit."""
    clock = FakeClock()
    started = clock()
    client, sent = throttled_client(clock, monkeypatch)
    importer = SecurityHubImporter(
        client, sleep=clock.sleep, clock=clock, remaining=lambda: TIMEOUT - (clock() - started)
    )
    batch = findings(350)
    # When they are imported under persistent throttling
    result = importer.import_findings(batch)
    # Then it stopped in time, and every finding is either failed or deferred
    elapsed = clock() - started
    assert elapsed <= TIMEOUT - RESERVE, f"ran {elapsed:.1f}s of {TIMEOUT}s"
    assert result.succeeded == []
    assert result.deferred, "nothing deferred: it did not stop early"
    assert set(result.failed).isdisjoint(result.deferred)
    assert set(result.failed) | set(result.deferred) == {f["Id"] for f in batch}
    assert result.error is not None and "time limit" in result.error
    assert len(sent) >= 3, "botocore's attempts did not run"


def test_without_a_limit_the_same_throttling_runs_past_the_function_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """The control: the same 350 findings with no time limit (the CLI) try every batch and round, taking longer
    than 60 s of (fake) time; nothing is deferred. This is what the event function did before."""
    clock = FakeClock()
    started = clock()
    client, _sent = throttled_client(clock, monkeypatch)
    result = SecurityHubImporter(client, sleep=clock.sleep, clock=clock).import_findings(findings(350))
    assert clock() - started > TIMEOUT
    assert result.deferred == [] and len(result.failed) == 350


def test_findings_deferred_at_the_time_limit_are_published_by_the_next_run(
    publisher: Publisher, sandbox: Sandbox
) -> None:
    """The demo account's 15 drifts, reconciled with 12 s left (less than a call needs): nothing is sent, the
    report says 15 deferred with the time-limit error, no finding state is remembered. The next reconcile, with
    time, publishes all 15."""
    seed_demo(sandbox)
    late = SecurityHubImporter(
        publisher.securityhub, sleep=publisher.clock.sleep, clock=publisher.clock, remaining=lambda: 12.0
    )
    # When the reconcile publishes with too little time
    first = publisher.reconcile(publisher.sink(late))
    # Then nothing was sent or remembered, and the report says so
    assert first.publish.deferred == 15 and first.publish.published == 0
    assert first.publish.error is not None and "time limit" in first.publish.error
    assert publisher.hub() == {} and publisher.remembered() == {}
    # When the next reconcile has time
    second = publisher.reconcile()
    # Then all 15 are published
    assert second.publish.published == 15 and len(publisher.active()) == 15
