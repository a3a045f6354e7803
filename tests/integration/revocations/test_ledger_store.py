"""The ledger's items in the state table outlive Security Hub's finding retention: whatever state a record reaches,
its item never carries the table's TTL attribute (``expiration``, which expires idempotency records and archived
finding states)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from driftline.domain.credit import CredentialChange
from driftline.domain.drift import RevocationCheck, RevocationState
from driftline.domain.identity import IdentityRef
from driftline.domain.ledger import LedgerRecord, advance, cancel, open_record
from driftline.domain.registry import RegistryEntry
from driftline.domain.times import iso
from tests.integration.revocations.support import ledger_of
from tests.integration.support import ACCOUNT, STATE_TABLE, Sandbox

TTL_ATTRIBUTE = "expiration"  # the state table's TimeToLiveSpecification (tests/infrastructure/test_tables.py)
REVOKED_AT = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)  # older than Security Hub keeps a finding (90 days)


def _check(identity: str, state: RevocationState) -> RevocationCheck:
    return RevocationCheck(
        identity=IdentityRef.parse(identity),
        revoked_at=REVOKED_AT,
        state=state,
        still_active=() if state is RevocationState.ENFORCED else ("access key is Active",),
        grace_ends_at=REVOKED_AT + timedelta(hours=1),
    )


def test_ledger_items_never_expire(sandbox: Sandbox) -> None:
    """Three revocations taken through the ledger's states on the DynamoDB adapter (one enforced by a CloudTrail
    event, one cancelled, one left unenforced) must each be stored as one item with no ``expiration`` attribute,
    and read back whole: a TTL on any of them would let DynamoDB delete the auditors' evidence."""
    # Given three revocations and the ledger in the state table
    ledger = ledger_of(sandbox)
    now = REVOKED_AT + timedelta(hours=2)
    event = CredentialChange(credential="*", effect="disable", at=REVOKED_AT + timedelta(minutes=90), event_id="ev-1")

    def moved(identity: str, state: RevocationState, proof: CredentialChange | None = None) -> LedgerRecord | None:
        entry = RegistryEntry(
            kind="user", name=identity.split("#")[1], owner="o@example.com", status="revoked", revoked_at=REVOKED_AT
        )

        def change(current: LedgerRecord | None) -> LedgerRecord | None:
            base = current or open_record(ACCOUNT, entry, now)
            told = [proof] if proof else []
            return advance(base, _check(identity, state), now, told) or (base if current is None else None)

        return ledger.update(ACCOUNT, identity, iso(REVOKED_AT), change)

    # When they reach enforced, cancelled and unenforced
    moved("user#ann", RevocationState.ENFORCED, event)
    moved("user#ben", RevocationState.PENDING)
    ledger.update(ACCOUNT, "user#ben", iso(REVOKED_AT), lambda current: current and cancel(current, now))
    moved("user#cat", RevocationState.UNENFORCED)

    # Then every ledger item is stored without a TTL attribute, and reads back with its state
    items = sandbox.dynamodb.query(
        TableName=STATE_TABLE,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"ledger#{ACCOUNT}"}},
    )["Items"]
    assert sorted(item["state"]["S"] for item in items) == ["cancelled", "enforced", "unenforced"]
    assert all(TTL_ATTRIBUTE not in item for item in items)
    assert {r.identity: r.state.value for r in ledger.records(ACCOUNT)} == {
        "user#ann": "enforced",
        "user#ben": "cancelled",
        "user#cat": "unenforced",
    }
