"""The central registry's stream read once and forwarded (handlers/on_registry_fanout.py) to each member's default
event bus, where the member's registry-change function takes it (on_registry_change.handle_event) exactly as a
stream record: a revocation forwarded opens the member's ledger record."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from driftline.adapters.aws import Clients
from driftline.domain.ledger import LedgerState
from driftline.domain.registry import RegistryEntry
from driftline.handlers import on_registry_change, on_registry_fanout
from driftline.triggers.registry_fanout import DETAIL_TYPE, MAX_DETAIL_BYTES, SOURCE, fanout_entry
from driftline.triggers.registry_stream import BadRegistryImage
from tests.integration.revocations.support import lambda_context, records, revoke
from tests.integration.support import ACCOUNT, Sandbox
from tests.unit.revocations.stream_events import batch, stream_record

CENTRAL = "999988887777"


def with_key(sandbox: Sandbox, name: str) -> RegistryEntry:
    key = str(sandbox.user(name, key=True))
    entry = sandbox.register_user(name)
    sandbox.register_key(key, name)
    return entry


class Bus:
    """Every PutEvents the fan-out sends (moto accepts any bus ARN); ``refuse`` answers FailedEntryCount 1."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, clients: Clients, *, refuse: bool = False) -> None:
        self.entries: list[dict[str, Any]] = []
        events = clients.events()
        events.meta.events.register("provide-client-params.events.PutEvents", self._sent)
        if refuse:
            events.meta.events.register("before-call.events.PutEvents", self._refused)
        monkeypatch.setattr(on_registry_fanout, "CLIENTS", lambda: clients)

    def _sent(self, params: dict[str, Any], **_: Any) -> None:
        self.entries.extend(params["Entries"])

    @staticmethod
    def _refused(**_: Any) -> Any:
        answer = {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "AccessDeniedException", "ErrorMessage": "no"}]}
        return SimpleNamespace(status_code=200, headers={}, raw=None), answer | {"ResponseMetadata": {}}


def as_delivered(entry: dict[str, Any]) -> dict[str, Any]:
    """The EventBridge event the member's rule hands its function for a PutEvents entry."""
    return {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": entry["DetailType"],
        "source": entry["Source"],
        "account": CENTRAL,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "us-east-1",
        "resources": [],
        "detail": json.loads(entry["Detail"]),
    }


def test_a_forwarded_revocation_opens_the_members_record(stream_env: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    """alice revoked in the central registry: the fan-out sends one event to her account's default bus (and none
    for the change-log item of the same write); delivered to the member's function, it opens her pending record as
    the stream record itself would."""
    sandbox = stream_env
    entry = with_key(sandbox, "alice")
    revoked = revoke(sandbox, entry, datetime.now(UTC) - timedelta(minutes=5))
    history = {"pk": {"S": f"{ACCOUNT}#history"}, "sk": {"S": "user#alice#2026#2"}, "record": {"S": "{}"}}
    bus = Bus(monkeypatch, sandbox.clients)
    # When the central stream delivers the revocation and its change-log item
    response = on_registry_fanout.handler(
        batch(stream_record("MODIFY", old=entry, new=revoked), stream_record("INSERT", new=history)), lambda_context()
    )
    # Then one event went to alice's account's bus
    assert response == {"batchItemFailures": []}
    assert [(e["Source"], e["DetailType"], e["EventBusName"]) for e in bus.entries] == [
        (SOURCE, DETAIL_TYPE, f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/default")
    ]
    # And the member's function, given it, opens the revocation's record
    result = on_registry_change.handle_event(as_delivered(bus.entries[0]), lambda_context())
    assert result["status"] == "applied" and result["result"]["change"] == "revoked"
    assert records(sandbox)["user#alice"].state is LedgerState.PENDING


def test_a_bus_that_refuses_fails_that_record_only(stream_env: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    """PutEvents answered FailedEntryCount 1 (the member's bus policy missing): that record is a batch item failure
    (the stream retries it); a malformed record beside it is rejected and not retried."""
    sandbox = stream_env
    entry = with_key(sandbox, "bob")
    Bus(monkeypatch, sandbox.clients, refuse=True)
    sequence = "140000000000000000000007"
    response = on_registry_fanout.handler(
        batch(stream_record("MODIFY", old=entry, new=entry, sequence=sequence), {"dynamodb": "not a record"}),
        lambda_context(),
    )
    assert response == {"batchItemFailures": [{"itemIdentifier": sequence}]}


def test_images_too_large_for_an_event_are_dropped_and_the_member_judges_the_registry_as_it_is(
    stream_env: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A revocation whose images exceed the event size: sent without them (images_dropped), under the limit; the
    member then evaluates carol from the registry as it is now (her current, revoked entry opens her record)."""
    sandbox = stream_env
    entry = with_key(sandbox, "carol")
    revoked = revoke(sandbox, entry, datetime.now(UTC) - timedelta(minutes=5), purpose="x" * 250_000)
    record = stream_record("MODIFY", old=entry, new=revoked)
    sent = fanout_entry(record, partition="aws", region="us-east-1")
    assert sent is not None and len(sent["Detail"].encode()) < MAX_DETAIL_BYTES
    detail = json.loads(sent["Detail"])
    assert detail["images_dropped"] is True and "NewImage" not in detail["record"]["dynamodb"]
    result = on_registry_change.handle_event(as_delivered(sent), lambda_context())
    assert result["status"] == "evaluated" and result["identity"] == "user#carol"
    assert records(sandbox)["user#carol"].state is LedgerState.PENDING


@pytest.mark.parametrize(
    "event",
    [{"source": "aws.iam", "detail": {"record": {}}}, {"source": SOURCE, "detail": "x"}, [], None],
    ids=["other-source", "no-record", "list", "none"],
)
def test_a_forwarded_event_that_is_not_ours_is_rejected(stream_env: Sandbox, event: Any) -> None:
    assert on_registry_change.handle_event(event, lambda_context()) == {"status": "rejected"}


def test_records_of_no_account_go_nowhere_and_garbage_is_rejected() -> None:
    history = stream_record("INSERT", new={"pk": {"S": f"{ACCOUNT}#history"}, "sk": {"S": "user#x#1"}})
    assert fanout_entry(history, partition="aws", region="us-east-1") is None
    with pytest.raises(BadRegistryImage):
        fanout_entry({"dynamodb": {"Keys": {}}}, partition="aws", region="us-east-1")
