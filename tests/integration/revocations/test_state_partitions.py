"""The integration tier's state-partition check (tests/integration/state_partitions.py) is live: it sees each
handler's state-table calls, and it reports a call outside the function's partitions. Without these, the check could
silently do nothing and every handler test would still pass."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from driftline.adapters import ledger
from driftline.domain.registry import Status
from driftline.handlers import on_registry_change, on_schedule
from tests.integration.revocations.support import lambda_context
from tests.integration.state_partitions import Watch, leading_keys
from tests.integration.support import STATE_TABLE, Sandbox
from tests.integration.test_on_schedule_handler import FakeLambdaContext, seed
from tests.unit.revocations.stream_events import batch, stream_record


def test_each_handler_is_watched(state_partitions: Watch, handler_env: Sandbox) -> None:
    """A scheduled reconcile of an account with a revoked user, and a registry stream revocation: the watch counts
    state-table calls under ReconcileFunction and RegistryChangeFunction, with no violation (the IAM event
    function is covered by every test under tests/integration/events)."""
    seed(handler_env)
    on_schedule.handler({"source": "aws.events", "detail-type": "Scheduled Event"}, FakeLambdaContext())
    key = str(handler_env.user("quinn", key=True))
    entry = handler_env.register_user("quinn")
    handler_env.register_key(key, "quinn")
    revoked = entry.model_copy(
        update={"status": Status.REVOKED, "revoked_at": datetime.now(UTC) - timedelta(minutes=5), "version": 2}
    )
    on_registry_change.handler(batch(stream_record("MODIFY", old=entry, new=revoked)), lambda_context())
    assert state_partitions.seen.get("ReconcileFunction", 0) > 0
    assert state_partitions.seen.get("RegistryChangeFunction", 0) > 0
    assert state_partitions.violations == []


def test_a_call_outside_the_partitions_is_a_violation(
    state_partitions: Watch, handler_env: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ledger adapter writing under another account's partition (``ledger#999999999999``) during a reconcile
    is recorded as a violation naming ReconcileFunction; the list is then emptied so this test itself passes."""

    def elsewhere(account: str, identity: str, at: str) -> dict[str, Any]:
        return {"pk": {"S": "ledger#999999999999"}, "sk": {"S": f"{identity}#{at}"}}

    monkeypatch.setattr(ledger, "record_key", elsewhere)
    seed(handler_env)
    on_schedule.handler({"source": "aws.events", "detail-type": "Scheduled Event"}, FakeLambdaContext())
    found = list(state_partitions.violations)
    state_partitions.violations.clear()
    assert {(f, k) for f, _, k in found} == {("ReconcileFunction", "ledger#999999999999")}


@pytest.mark.parametrize(
    ("operation", "params", "expected"),
    [
        (
            "Query",
            {
                "KeyConditionExpression": "#p = :v AND begins_with(sk, :s)",
                "ExpressionAttributeNames": {"#p": "pk"},
                "ExpressionAttributeValues": {":v": {"S": "ledger#1"}, ":s": {"S": "x"}},
            },
            ["ledger#1"],
        ),
        (
            "BatchWriteItem",
            {"RequestItems": {STATE_TABLE: [{"DeleteRequest": {"Key": {"pk": {"S": "others#1"}}}}]}},
            ["others#1"],
        ),
        ("Scan", {"TableName": STATE_TABLE}, None),
    ],
)
def test_leading_keys_are_read_from_every_call_shape(operation: str, params: dict[str, Any], expected: Any) -> None:
    assert leading_keys(operation, params) == expected
