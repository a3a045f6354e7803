"""adapters/securityhub.py against a real boto3 securityhub client with a botocore Stubber (no moto).

moto accepts more than 100 findings per call and never reports FailedFindings, so batching, reading the HTTP-200
failures, retrying only the failed ones and pacing under 10 calls a second are checked here (AWS-FACTS section 4).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from driftline.adapters.securityhub import MIN_INTERVAL, ROUNDS, SecurityHubImporter, SecurityHubUnavailable
from tests.integration.findings.helpers import FakeClock, failing, findings, ok


@pytest.fixture
def client() -> Any:
    return boto3.client("securityhub", region_name="us-east-1")


@pytest.fixture
def stub(client: Any) -> Iterator[Stubber]:
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def importer(client: Any, clock: FakeClock) -> SecurityHubImporter:
    return SecurityHubImporter(client, sleep=clock.sleep, clock=clock)


def call_times(client: Any, clock: FakeClock) -> list[float]:
    """Record the fake time of every BatchImportFindings request the client builds."""
    times: list[float] = []
    client.meta.events.register(
        "before-parameter-build.securityhub.BatchImportFindings", lambda **_: times.append(clock())
    )
    return times


def test_250_findings_go_in_three_calls_of_100_100_50(stub: Stubber, importer: SecurityHubImporter) -> None:
    """Input: 250 findings, every call succeeding. Must make exactly 3 calls carrying findings 0-99, 100-199 and
    200-249 in order (Security Hub takes at most 100 per call), and report all 250 succeeded."""
    # Given 250 findings and three successful responses expecting exactly those batches
    batch = findings(250)
    for chunk in (batch[:100], batch[100:200], batch[200:]):
        stub.add_response("batch_import_findings", ok(len(chunk)), {"Findings": chunk})

    # When they are imported
    result = importer.import_findings(batch)

    # Then three calls were made and everything succeeded
    assert result.calls == 3
    assert sorted(result.succeeded) == sorted(f["Id"] for f in batch)
    assert len(result.succeeded) == 250
    assert result.failed == {}


def test_only_the_failed_findings_are_retried(stub: Stubber, importer: SecurityHubImporter, clock: FakeClock) -> None:
    """Input: 100 findings; the first response (HTTP 200) reports 3 FailedFindings. Must send exactly those 3 in the
    next call (after a backoff sleep) and then mark all 100 succeeded, each once."""
    # Given a response failing findings 5, 50 and 99, then one accepting them
    batch = findings(100)
    rejected = [batch[5], batch[50], batch[99]]
    stub.add_response(
        "batch_import_findings", failing(100, rejected, "LimitExceeded", "slow down"), {"Findings": batch}
    )
    stub.add_response("batch_import_findings", ok(3), {"Findings": rejected})

    # When imported
    result = importer.import_findings(batch)

    # Then the retry carried just the three, and every finding succeeded exactly once
    assert result.calls == 2
    assert len(result.succeeded) == 100
    assert set(result.succeeded) == {f["Id"] for f in batch}
    assert result.failed == {}
    assert clock.sleeps and clock.sleeps[0] > 0  # backed off before retrying


def test_findings_failing_every_round_are_reported_with_their_error(
    stub: Stubber, importer: SecurityHubImporter
) -> None:
    """Input: 10 findings of which 2 fail in every one of the ROUNDS calls with InvalidInput. Must stop after ROUNDS
    calls and report those 2 in ``failed`` as "ErrorCode: message", the other 8 in ``succeeded``."""
    # Given two findings Security Hub keeps rejecting
    batch = findings(10)
    bad = batch[:2]
    stub.add_response("batch_import_findings", failing(10, bad, "InvalidInput", "Resources[0].Id too long"))
    for _ in range(ROUNDS - 1):
        stub.add_response(
            "batch_import_findings", failing(2, bad, "InvalidInput", "Resources[0].Id too long"), {"Findings": bad}
        )

    # When imported
    result = importer.import_findings(batch)

    # Then they are reported failed with their error code and message, the rest succeeded
    assert result.calls == ROUNDS
    assert result.failed == {f["Id"]: "InvalidInput: Resources[0].Id too long" for f in bad}
    assert sorted(result.succeeded) == sorted(f["Id"] for f in batch[2:])


def test_a_whole_call_error_is_retried_then_reported(stub: Stubber, importer: SecurityHubImporter) -> None:
    """Input: 5 findings; the call fails as a whole with InternalException every round. Must retry ROUNDS times and
    report every finding as "InternalException: <message>" (not raise: the next run retries them)."""
    # Given a service that errors on every call
    batch = findings(5)
    for _ in range(ROUNDS):
        stub.add_client_error("batch_import_findings", "InternalException", "try later", http_status_code=500)

    # When imported
    result = importer.import_findings(batch)

    # Then
    assert result.calls == ROUNDS
    assert result.succeeded == []
    assert result.failed == {f["Id"]: "InternalException: try later" for f in batch}


def test_invalid_access_exception_means_security_hub_is_unavailable(
    stub: Stubber, importer: SecurityHubImporter
) -> None:
    """Input: BatchImportFindings answers InvalidAccessException (Security Hub not enabled). Must raise
    SecurityHubUnavailable at once (no retries), saying to enable Security Hub."""
    # Given Security Hub refuses the account
    stub.add_client_error(
        "batch_import_findings",
        "InvalidAccessException",
        "Account 123456789012 is not subscribed to AWS Security Hub",
        http_status_code=401,
    )

    # When importing, then it raises with an actionable message
    with pytest.raises(SecurityHubUnavailable) as raised:
        importer.import_findings(findings(3))
    message = str(raised.value)
    assert "enabled" in message and "Security Hub" in message
    assert "InvalidAccessException" in message


def test_every_finding_failing_with_invalid_access_means_unavailable(
    stub: Stubber, importer: SecurityHubImporter
) -> None:
    """Input: HTTP 200 where all 4 findings failed with ErrorCode InvalidAccess. Must raise SecurityHubUnavailable
    after that one call (retrying would not help)."""
    # Given a response rejecting every finding with InvalidAccess
    batch = findings(4)
    stub.add_response("batch_import_findings", failing(4, batch, "InvalidAccess", "not subscribed"))

    # Then the import raises, naming the error
    with pytest.raises(SecurityHubUnavailable, match="InvalidAccess"):
        importer.import_findings(batch)


def test_some_findings_with_invalid_access_are_failures_not_an_outage(
    stub: Stubber, importer: SecurityHubImporter
) -> None:
    """Input: 4 findings; the first call rejects one with InvalidAccess while three pass, the retry accepts it.
    Must treat the partial InvalidAccess as a per-finding failure (retry it), not as Security Hub being off."""
    # Given one finding rejected with InvalidAccess while three pass, then it is accepted on retry
    batch = findings(4)
    stub.add_response("batch_import_findings", failing(4, batch[:1], "InvalidAccess", "foreign account"))
    stub.add_response("batch_import_findings", ok(1), {"Findings": batch[:1]})

    # When imported
    result = importer.import_findings(batch)

    # Then it was a per-finding failure, retried, not an outage
    assert result.calls == 2
    assert set(result.succeeded) == {f["Id"] for f in batch}


def test_calls_are_paced_at_least_a_tenth_of_a_second_apart(
    stub: Stubber, client: Any, importer: SecurityHubImporter, clock: FakeClock
) -> None:
    """Input: 350 findings (4 calls) with a fake clock that only moves when the importer sleeps. Must sleep so that
    consecutive calls are at least MIN_INTERVAL (0.1 s, 10 TPS) apart, and never sleep before the first call."""
    # Given four successful responses and a recorder of call times
    times = call_times(client, clock)
    for size in (100, 100, 100, 50):
        stub.add_response("batch_import_findings", ok(size))

    # When imported
    importer.import_findings(findings(350))

    # Then the calls are spaced by the pacing sleeps
    assert len(times) == 4
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert all(gap >= MIN_INTERVAL - 1e-9 for gap in gaps), gaps
    assert len(clock.sleeps) == 3 and all(s <= MIN_INTERVAL + 1e-9 for s in clock.sleeps)


def test_no_pacing_sleep_when_time_already_passed(
    stub: Stubber, client: Any, importer: SecurityHubImporter, clock: FakeClock
) -> None:
    """Input: two imports, the clock advanced by 0.5 s between them. Must not sleep before the second call."""
    # Given two successful responses
    stub.add_response("batch_import_findings", ok(1))
    stub.add_response("batch_import_findings", ok(1))

    # When importing twice with time passing in between
    importer.import_findings(findings(1))
    clock.now += 0.5
    importer.import_findings(findings(1))

    # Then no sleep was needed
    assert clock.sleeps == []


def test_an_empty_import_makes_no_call(stub: Stubber, importer: SecurityHubImporter) -> None:
    """Input: no findings. Must make no call (the Stubber would fail on an unexpected one)."""
    # When nothing is imported
    result = importer.import_findings([])

    # Then
    assert result.calls == 0 and result.succeeded == [] and result.failed == {}


def test_no_backoff_after_the_last_round(stub: Stubber, importer: SecurityHubImporter, clock: FakeClock) -> None:
    """Input: 1 finding failing all ROUNDS rounds. Must back off only between rounds (ROUNDS - 1 sleeps: 0.2, 0.4,
    0.8 s), not once more after the last attempt, when nothing is retried."""
    # Given a finding that always fails
    batch = findings(1)
    for _ in range(ROUNDS):
        stub.add_response("batch_import_findings", failing(1, batch))

    # When imported
    result = importer.import_findings(batch)

    # Then it failed after ROUNDS calls, with ROUNDS - 1 backoffs
    assert result.calls == ROUNDS and list(result.failed) == [batch[0]["Id"]]
    assert clock.sleeps == [0.2, 0.4, 0.8]
