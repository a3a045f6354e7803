"""The whole revocation story on moto, through the real entry points: the registry stream handler, the reconcile
(``service.reconcile`` with the DynamoDB ledger and the Security Hub sink) and the IAM event handler.

revoke in the registry -> stream record -> ledger pending -> past grace: unenforced + finding -> the key is
deactivated and CloudTrail's UpdateAccessKey event arrives -> enforced with that event id and the right seconds ->
finding archived.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from driftline.domain.ledger import LedgerState
from driftline.handlers import on_iam_event, on_registry_change
from tests.events import corpus
from tests.integration.revocations.conftest import Clock
from tests.integration.revocations.support import (
    hub_findings,
    lambda_context,
    records,
    restore,
    revoke,
    run_reconcile,
    security_hub_sink,
    transitions,
    unenforced_finding_id,
)
from tests.integration.support import Sandbox
from tests.unit.revocations.stream_events import batch, stream_record

EVENT_ID = "5b0e7c1a-9d3f-4e2b-8a6c-1f2e3d4c5b6a"
ACTOR = "arn:aws:iam::123456789012:user/secops-oncall"


def metric_values(stdout: str, name: str) -> list[Any]:
    values: list[Any] = []
    for line in stdout.splitlines():
        if line.startswith("{") and '"_aws"' in line and name in (doc := json.loads(line)):
            values.extend(doc[name] if isinstance(doc[name], list) else [doc[name]])
    return values


def test_revocation_from_registry_to_enforced_by_cloudtrail_event(
    hub: Any, stream_env: Sandbox, clock: Clock, capsys: Any
) -> None:
    """Access key K of alice revoked at R (3 h ago, whole seconds): the stream handler at R+5 min must open a pending
    record (no finding); a reconcile at R+1 h 10 min must make it unenforced (first seen then) with an ACTIVE
    unenforced-revocation finding; after K is deactivated and its UpdateAccessKey event (eventTime R+2 h 17 min 5 s,
    by secops-oncall) reaches on_iam_event, the record must be enforced by that event id and actor with
    seconds_to_enforce 8225, TimeToEnforceSeconds 8225 emitted, and the finding ARCHIVED; a later reconcile must not
    write the record again."""
    sandbox = stream_env
    # Given alice with a registered active key
    key = str(sandbox.user("alice", key=True))
    sandbox.register_user("alice")
    entry = sandbox.register_key(key, "alice")
    identity = f"access_key#{key}"
    revoked_at = (datetime.now(UTC) - timedelta(hours=3)).replace(microsecond=0)

    # When the registry revokes the key and the stream delivers the change five minutes later
    revoked = revoke(sandbox, entry, revoked_at, ticket="SEC-3001", reason="key leaked in a public repository")
    clock.now = revoked_at + timedelta(minutes=5)
    response = on_registry_change.handler(
        batch(stream_record("MODIFY", old=entry, new=revoked, sequence="140000000000000000000001")), lambda_context()
    )

    # Then the ledger holds a pending record and there is no finding yet
    assert response == {"batchItemFailures": []}
    record = records(sandbox)[identity]
    assert record.state is LedgerState.PENDING
    assert record.requested_at == revoked_at
    assert record.ticket == "SEC-3001"
    assert unenforced_finding_id(identity) not in hub_findings(hub)

    # When the reconcile runs after the grace period (1 h)
    unenforced_at = revoked_at + timedelta(hours=1, minutes=10)
    evaluation = run_reconcile(sandbox, unenforced_at, sink=security_hub_sink(sandbox, hub))

    # Then the record is unenforced since then, and the finding is active
    record = records(sandbox)[identity]
    assert record.state is LedgerState.UNENFORCED
    assert record.first_seen_unenforced == unenforced_at
    assert evaluation.ledger is not None
    assert evaluation.ledger.open_unenforced == 1
    assert evaluation.ledger.oldest_unenforced_seconds == 70 * 60
    finding = hub_findings(hub)[unenforced_finding_id(identity)]
    assert finding["RecordState"] == "ACTIVE"
    assert finding["Compliance"]["Status"] == "FAILED"

    # When someone deactivates the key and CloudTrail's event reaches the IAM event handler
    sandbox.deactivate("alice", key)
    event_at = revoked_at + timedelta(hours=2, minutes=17, seconds=5)
    event = corpus.load(
        "iam.UpdateAccessKey",
        user="alice",
        key_id=key,
        status="Inactive",
        event_time=event_at,
        event_id=EVENT_ID,
        caller="secops-oncall",
    )
    clock.now = event_at + timedelta(seconds=40)
    capsys.readouterr()
    result = on_iam_event.handler(event, lambda_context("driftline-iam-event"))

    # Then the record is enforced by that event, with the seconds from the request to the event
    assert result["status"] == "evaluated" and result["event_id"] == EVENT_ID
    record = records(sandbox)[identity]
    assert record.state is LedgerState.ENFORCED
    assert record.enforced is not None
    assert (record.enforced.source, record.enforced.event_id) == ("cloudtrail", EVENT_ID)
    assert (record.enforced.event_name, record.enforced.actor_arn) == ("UpdateAccessKey", ACTOR)
    assert record.enforced.at == event_at
    assert record.seconds_to_enforce == 8225.0
    assert transitions(record) == ["opened", "pending -> unenforced", "unenforced -> enforced"]
    assert metric_values(capsys.readouterr().out, "TimeToEnforceSeconds") == [8225.0]

    # And the finding was archived on that evidence
    finding = hub_findings(hub)[unenforced_finding_id(identity)]
    assert finding["RecordState"] == "ARCHIVED"
    assert finding["Compliance"]["Status"] == "PASSED"

    # When a later reconcile sees the key inactive
    version = record.version
    later = run_reconcile(sandbox, event_at + timedelta(hours=1), sink=security_hub_sink(sandbox, hub))

    # Then the enforced record is not written again, and nothing is open
    assert records(sandbox)[identity].version == version
    assert later.ledger is not None and later.ledger.changed == [] and later.ledger.open_unenforced == 0
    assert hub_findings(hub)[unenforced_finding_id(identity)]["RecordState"] == "ARCHIVED"


def test_restore_before_enforcement_cancels_and_a_reconcile_keeps_it_cancelled(
    stream_env: Sandbox, clock: Clock
) -> None:
    """A role revoked at R (pending after the stream), then restored in the registry before any enforcement, must
    be cancelled by the restore's stream record; a reconcile at R+2 h (the role still without a deny) must neither
    reopen it nor raise an unenforced revocation."""
    sandbox = stream_env
    # Given a registered role, revoked and delivered
    sandbox.role("deploy-bot")
    entry = sandbox.register_role("deploy-bot")
    revoked_at = (datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0)
    revoked = revoke(sandbox, entry, revoked_at)
    clock.now = revoked_at + timedelta(minutes=1)
    on_registry_change.handler(batch(stream_record("MODIFY", old=entry, new=revoked)), lambda_context())
    assert records(sandbox)["role#deploy-bot"].state is LedgerState.PENDING

    # When the registry restores it and the stream delivers that
    restored = restore(sandbox, revoked)
    clock.now = revoked_at + timedelta(minutes=20)
    on_registry_change.handler(
        batch(stream_record("MODIFY", old=revoked, new=restored, sequence="140000000000000000000002")),
        lambda_context(),
    )

    # Then the record is cancelled, and a reconcile leaves it so
    assert records(sandbox)["role#deploy-bot"].state is LedgerState.CANCELLED
    evaluation = run_reconcile(sandbox, revoked_at + timedelta(hours=2))
    record = records(sandbox)["role#deploy-bot"]
    assert record.state is LedgerState.CANCELLED
    assert record.cancelled_at == revoked_at + timedelta(minutes=20)
    assert transitions(record) == ["opened", "pending -> cancelled"]
    assert not [d for d in evaluation.comparison.drifts if d.type.value == "unenforced-revocation"]
