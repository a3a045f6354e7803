"""``revocations.sync_ledger`` on an in-memory versioned ledger: what an evaluation writes, and what it must not."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from driftline.domain.credit import CredentialChange
from driftline.domain.drift import Comparison, RevocationCheck
from driftline.domain.identity import IdentityRef
from driftline.domain.ledger import LedgerRecord, LedgerState
from driftline.domain.registry import RegistryEntry
from driftline.domain.times import iso
from driftline.service.ledger_sync import LedgerSummary, sync_ledger
from tests.unit.revocations.support import (
    ACCOUNT,
    ENFORCED,
    KEY_TOKEN,
    PENDING,
    REVOKED_AT,
    UNENFORCED,
    MemoryLedger,
    check,
    cloudtrail,
    evidence_of,
    revoked_entry,
    transitions,
)

HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
SECOND = timedelta(seconds=1)


def run(
    ledger: MemoryLedger,
    checks: list[RevocationCheck],
    entries: list[RegistryEntry],
    now: datetime,
    *,
    changes: dict[str, list[CredentialChange]] | None = None,
    whole_account: bool = False,
) -> LedgerSummary:
    comparison = Comparison(revocations=tuple(checks), compared_at=now)
    by_ref = {e.ref: e for e in entries}
    told = {IdentityRef.parse(k): v for k, v in (changes or {}).items()}
    return sync_ledger(ledger, ACCOUNT, comparison, by_ref, now, changes=told, whole_account=whole_account)


def test_hourly_reconciles_write_only_on_transitions_and_daily_refresh() -> None:
    """Hourly evaluations of one revocation (pending at +10 min and +40 min, unenforced from +1 h 10 min for 30 hours,
    enforced by an event, then enforced again) must write exactly: open, -> unenforced, one daily refresh, ->
    enforced; the quiet runs in between must not even call update (no read-modify-write round trip)."""
    # Given a revoked entry and an empty ledger
    entry = revoked_entry("access_key#AKIAQWERTYUIOPASDFGH")
    key = entry.ref.key
    ledger = MemoryLedger()

    # When evaluations run through the revocation's life
    run(ledger, [check(PENDING, key)], [entry], REVOKED_AT + 10 * MINUTE)
    assert ledger.writes == 1  # opened
    run(ledger, [check(PENDING, key)], [entry], REVOKED_AT + 40 * MINUTE)
    assert (ledger.writes, ledger.updates) == (1, 1)  # quiet: no write, no update call
    first_unenforced = REVOKED_AT + HOUR + 10 * MINUTE
    for hour in range(31):
        summary = run(ledger, [check(UNENFORCED, key)], [entry], first_unenforced + hour * HOUR)
    # Then one transition and exactly one daily refresh happened in those 31 hourly runs
    assert ledger.writes == 3
    record = ledger.one()
    assert record.state is LedgerState.UNENFORCED
    assert record.first_seen_unenforced == first_unenforced
    assert record.last_checked == first_unenforced + 24 * HOUR
    assert summary.open_unenforced == 1
    assert summary.oldest_unenforced_seconds == (first_unenforced + 30 * HOUR - REVOKED_AT).total_seconds()

    # When an event proves the key was deactivated
    event_at = first_unenforced + 31 * HOUR
    summary = run(ledger, [check(ENFORCED, key)], [entry], event_at + HOUR, changes={key: [cloudtrail(event_at)]})

    # Then the record is enforced with that event, reported as enforced now, and nothing is open
    assert ledger.writes == 4
    assert [r.identity for r in summary.enforced_now] == [key]
    assert summary.open_unenforced == 0 and summary.oldest_unenforced_seconds == 0.0
    record = ledger.one()
    assert record.enforced == evidence_of(cloudtrail(event_at))
    assert record.seconds_to_enforce == (event_at - REVOKED_AT).total_seconds()
    assert record.version == 4
    assert transitions(record) == ["opened", "pending -> unenforced", "unenforced -> enforced"]

    # When it is seen enforced again
    updates = ledger.updates
    summary = run(ledger, [check(ENFORCED, key)], [entry], event_at + 2 * HOUR)

    # Then nothing is written
    assert ledger.writes == 4 and ledger.updates == updates
    assert summary.changed == []


def test_already_enforced_at_first_sight_opens_enforced() -> None:
    """A revocation already enforced when first evaluated must be stored once, as enforced ("observed"), with the
    history showing it was opened and enforced."""
    # Given a revoked entry whose user is already gone from IAM
    entry = revoked_entry("user#bob")
    ledger = MemoryLedger()
    now = REVOKED_AT + 5 * MINUTE

    # When the first evaluation sees it enforced
    summary = run(ledger, [check(ENFORCED, "user#bob")], [entry], now)

    # Then one write stores the enforced record
    assert ledger.writes == 1
    record = ledger.one()
    assert record.state is LedgerState.ENFORCED
    assert record.enforced is not None and record.enforced.source == "observed" and record.enforced.at == now
    assert record.seconds_to_enforce == 300.0
    assert transitions(record) == ["opened", "pending -> enforced"]
    assert summary.enforced_now == [record]


def test_whole_account_cancels_records_of_restored_entries_only() -> None:
    """A whole-account evaluation where alice's entry is active again and bob's entry was deleted must cancel both
    open records; carol's record, still revoked in the registry, stays; a scoped evaluation cancels nothing."""
    # Given three open records
    alice, bob, carol = (revoked_entry(f"user#{n}") for n in ("alice", "bob", "carol"))
    ledger = MemoryLedger()
    t0 = REVOKED_AT + 10 * MINUTE
    run(ledger, [check(PENDING, e.ref.key) for e in (alice, bob, carol)], [alice, bob, carol], t0)
    restored = RegistryEntry.model_validate(
        {**alice.model_dump(), "status": "active", "revoked_at": None, "ticket": None, "reason": None}
    )

    # When a scoped evaluation sees carol only
    run(ledger, [check(PENDING, "user#carol")], [restored, carol], t0 + HOUR)
    # Then nothing is cancelled
    assert all(r.state is LedgerState.PENDING for r in ledger.items.values())

    # When a whole-account evaluation sees alice restored and bob gone
    summary = run(ledger, [check(PENDING, "user#carol")], [restored, carol], t0 + HOUR, whole_account=True)

    # Then alice and bob are cancelled, carol still pending
    states = {r.identity: r.state for r in ledger.items.values()}
    assert states == {
        "user#alice": LedgerState.CANCELLED,
        "user#bob": LedgerState.CANCELLED,
        "user#carol": LedgerState.PENDING,
    }
    assert sorted(r.identity for r in summary.changed) == ["user#alice", "user#bob"]


def test_re_revocation_is_a_new_record() -> None:
    """An identity revoked again at a new revoked_at must get a second record (keyed by identity and requested_at),
    and a whole-account evaluation must cancel the first (its revoked_at no longer matches the entry)."""
    # Given a record for the first revocation
    again_at = REVOKED_AT + 48 * HOUR
    first, second = revoked_entry("role#deploy-bot"), revoked_entry("role#deploy-bot", at=again_at)
    ledger = MemoryLedger()
    run(ledger, [check(PENDING, "role#deploy-bot")], [first], REVOKED_AT + 10 * MINUTE)

    # When the entry is revoked again and a reconcile runs
    run(ledger, [check(PENDING, "role#deploy-bot", at=again_at)], [second], again_at + 10 * MINUTE, whole_account=True)

    # Then there are two records, the old one closed as superseded by the new one (not as a restore)
    by_time = {key[2]: record.state for key, record in ledger.items.items()}
    assert by_time == {iso(REVOKED_AT): LedgerState.CANCELLED, iso(again_at): LedgerState.PENDING}
    old = next(r for r in ledger.items.values() if r.requested_at == REVOKED_AT)
    assert transitions(old)[-1] == f"superseded by the revocation dated {again_at.isoformat()}"


def test_scope_reads_only_the_checked_identities() -> None:
    """A scoped evaluation that checked no revocation must not read the ledger at all, and one that checked
    user#alice must read only alice's records."""

    class Spy(MemoryLedger):
        def __init__(self) -> None:
            super().__init__()
            self.reads: list[list[str] | None] = []

        def records(self, account_id: str, identities: Iterable[str] | None = None) -> list[LedgerRecord]:
            wanted = None if identities is None else list(identities)
            self.reads.append(wanted)
            return super().records(account_id, wanted)

    # Given a ledger that records its reads
    ledger = Spy()

    # When a scoped evaluation checked nothing, then one that checked alice
    run(ledger, [], [], REVOKED_AT)
    run(ledger, [check(PENDING, "user#alice")], [revoked_entry("user#alice")], REVOKED_AT + HOUR / 2)

    # Then only alice's records were read
    assert ledger.reads == [["user#alice"]]
    assert IdentityRef.parse("user#alice").key == ledger.one().identity


def test_late_enforcing_event_recredits_once() -> None:
    """carol's key and password were seen usable; her key event (+2 h) was processed and the record seen enforced at
    +3 h ("observed": the password's event was missing). The password event (+2 h 40 s), processed by a scoped
    evaluation, must be written once, re-credit the record and be reported as changed; the same event delivered again
    must not even call update."""
    # Given a record seen enforced with incomplete evidence
    entry = revoked_entry("user#carol")
    key = entry.ref.key
    ledger = MemoryLedger()
    run(ledger, [check(UNENFORCED, key, credentials=(KEY_TOKEN, "password"))], [entry], REVOKED_AT + 65 * MINUTE)
    first = cloudtrail(REVOKED_AT + 2 * HOUR, "ev-1")
    completing = cloudtrail(REVOKED_AT + 2 * HOUR + 40 * SECOND, "ev-2", "password", event_name="DeleteLoginProfile")
    run(ledger, [check(ENFORCED, key)], [entry], REVOKED_AT + 3 * HOUR, changes={key: [first]})
    writes = ledger.writes

    # When the completing event is processed afterwards
    summary = run(ledger, [check(ENFORCED, key)], [entry], REVOKED_AT + 3 * HOUR + MINUTE, changes={key: [completing]})

    # Then one write re-credits the record
    assert ledger.writes == writes + 1
    record = ledger.one()
    assert record.enforced == evidence_of(completing)
    assert record.seconds_to_enforce == (2 * HOUR + 40 * SECOND).total_seconds()
    assert summary.changed == [record]

    # When it is delivered again
    updates = ledger.updates
    summary = run(
        ledger, [check(ENFORCED, key)], [entry], REVOKED_AT + 3 * HOUR + 2 * MINUTE, changes={key: [completing]}
    )

    # Then nothing is read-modify-written
    assert (ledger.writes, ledger.updates) == (writes + 1, updates)
    assert summary.changed == []
