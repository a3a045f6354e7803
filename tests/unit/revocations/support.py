"""Builders for the pure revocation tests: revoked registry entries, revocation checks and ledger records at fixed
times, and an in-memory ledger that behaves like ``DynamoLedger`` (versioned, conditional) and counts its writes."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from driftline.domain.credit import CredentialChange
from driftline.domain.drift import RevocationCheck, RevocationState
from driftline.domain.errors import VersionConflict
from driftline.domain.identity import IdentityRef
from driftline.domain.ledger import ActionLog, Enforcement, LedgerRecord, advance, open_record
from driftline.domain.registry import RegistryEntry
from driftline.domain.times import iso
from driftline.service.ports import RecordEdit

ACCOUNT = "123456789012"
GOVERNANCE = "arn:aws:iam::123456789012:role/identity-governance"
REVOKED_AT = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
GRACE = timedelta(hours=1)


def revoked_entry(key: str = "user#alice", at: datetime = REVOKED_AT, **fields: Any) -> RegistryEntry:
    """A revoked registry entry for ``key`` (``user#…``, ``role#…`` or ``access_key#AKIA…``)."""
    ref = IdentityRef.parse(key)
    data: dict[str, Any] = {
        "kind": ref.kind,
        "name": ref.name,
        "owner": "security@example.com",
        "status": "revoked",
        "revoked_at": at,
        "ticket": "SEC-1042",
        "reason": "left the company",
        "updated_by": GOVERNANCE,
    }
    if ref.kind.value == "access_key":
        data["user"] = fields.pop("user", "alice")
    data.update(fields)
    return RegistryEntry.model_validate(data)


KEY_ID = "AKIAQWERTYUIOPASDFGH"
KEY_TOKEN = f"access_key:{KEY_ID}"


def check(
    state: RevocationState,
    key: str = "user#alice",
    at: datetime = REVOKED_AT,
    still_active: tuple[str, ...] = (),
    credentials: tuple[str, ...] | None = None,
) -> RevocationCheck:
    """A revocation check; an open one sees the key ``KEY_ID`` usable unless ``credentials`` says otherwise."""
    if state is not RevocationState.ENFORCED and not still_active:
        still_active = (f"access key {KEY_ID} is Active",)
    if credentials is None:
        credentials = (KEY_TOKEN,) if state is not RevocationState.ENFORCED else ()
    return RevocationCheck(
        identity=IdentityRef.parse(key),
        revoked_at=at,
        state=state,
        still_active=still_active,
        credentials=credentials,
        grace_ends_at=at + GRACE,
    )


PENDING = RevocationState.PENDING
UNENFORCED = RevocationState.UNENFORCED
ENFORCED = RevocationState.ENFORCED


def opened(now: datetime | None = None, key: str = "user#alice") -> LedgerRecord:
    """A freshly opened (pending) record, opened two minutes after the revocation unless told otherwise."""
    return open_record(ACCOUNT, revoked_entry(key), now or REVOKED_AT + timedelta(minutes=2))


def unenforced(at: datetime | None = None) -> LedgerRecord:
    """A record that went unenforced when the grace period passed (at ``at``, default revoked_at + 1 h 5 min)."""
    moved = advance(opened(), check(UNENFORCED), at or REVOKED_AT + timedelta(hours=1, minutes=5))
    assert moved is not None
    return moved


ACTOR = "arn:aws:iam::123456789012:user/secops-oncall"


def cloudtrail(
    at: datetime,
    event_id: str = "8c0f6e9a-1b2c-4d3e-9f8a-7b6c5d4e3f2a",
    credential: str = KEY_TOKEN,
    effect: str = "disable",
    event_name: str = "UpdateAccessKey",
) -> CredentialChange:
    """A confirmed credential change from a CloudTrail event (default: ``KEY_ID`` deactivated)."""
    return CredentialChange.model_validate(
        {
            "credential": credential,
            "effect": effect,
            "at": at,
            "event_id": event_id,
            "event_name": event_name,
            "actor_arn": ACTOR,
        }
    )


def evidence_of(change: CredentialChange) -> Enforcement:
    """The ledger's Enforcement that crediting ``change`` gives."""
    return Enforcement.of(change)


def action(step: str, status: str, at: datetime, target: str = "AKIAQWERTYUIOPASDFGH", **kw: Any) -> ActionLog:
    return ActionLog.model_validate({"step": step, "target": target, "status": status, "at": at, **kw})


def transitions(record: LedgerRecord) -> list[str]:
    """The history without timestamps: ``["opened", "pending -> unenforced", …]``."""
    return [line.split(" ", 1)[1] for line in record.history]


class MemoryLedger:
    """The ``revocations.Ledger`` protocol in memory, with DynamoLedger's versioning; counts reads and writes."""

    def __init__(self, records: Iterable[LedgerRecord] = ()) -> None:
        self.items: dict[tuple[str, str, str], LedgerRecord] = {}
        self.problems: list[str] = []
        self.writes = 0
        self.updates = 0
        for record in records:
            self.put(record, None)
        self.writes = 0

    def _key(self, record: LedgerRecord) -> tuple[str, str, str]:
        return (record.account_id, record.identity, iso(record.requested_at))

    def put(self, record: LedgerRecord, expected: int | None) -> LedgerRecord:
        key = self._key(record)
        current = self.items.get(key)
        if (current is None) != (expected is None) or (current is not None and current.version != expected):
            raise VersionConflict(f"{key} changed")
        stored = record.model_copy(update={"version": 1 if expected is None else expected + 1})
        self.items[key] = stored
        self.writes += 1
        return stored

    def records(self, account_id: str, identities: Iterable[str] | None = None) -> list[LedgerRecord]:
        wanted = None if identities is None else set(identities)
        return [r for (a, i, _), r in sorted(self.items.items()) if a == account_id and (wanted is None or i in wanted)]

    def update(self, account_id: str, identity: str, requested_at_iso: str, change: RecordEdit) -> LedgerRecord | None:
        self.updates += 1
        current = self.items.get((account_id, identity, requested_at_iso))
        new = change(current)
        if new is None:
            return None
        return self.put(new, None if current is None else current.version)

    def one(self) -> LedgerRecord:
        assert len(self.items) == 1, f"expected one ledger record, found {sorted(self.items)}"
        return next(iter(self.items.values()))
