"""Racing writers on one ledger record against moto: ``DynamoLedger.update`` must never lose an update.

Two threads read the same version (a Barrier holds both inside their first ``change`` until each has read), then
both write conditionally: one wins, the other gets ConditionalCheckFailed, reads again and re-applies its change.

moto's in-process DynamoDB is *not* atomic here: ``Table.put_item`` evaluates the condition and then stores the
item with no lock, so two threads can both pass ``version = :v`` and the second silently overwrites the first (seen
in about one round in ten without the lock below). DynamoDB itself evaluates a condition and writes an item as one
atomic step, so ``atomic_moto_puts`` serializes moto's PutItem the same way; everything driftline does (reads,
retries, re-applying) still runs concurrently.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from moto.dynamodb.models import DynamoDBBackend

from driftline.adapters.ledger import DynamoLedger
from driftline.domain.drift import RevocationCheck, RevocationState
from driftline.domain.identity import IdentityRef
from driftline.domain.ledger import ActionLog, LedgerRecord, LedgerState, advance, log_action, open_record
from driftline.domain.registry import RegistryEntry
from driftline.domain.times import iso
from tests.integration.revocations.support import ledger_of, transitions
from tests.integration.support import ACCOUNT, Sandbox

REVOKED_AT = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
ENTRY = RegistryEntry(
    kind="user", name="alice", owner="alice@example.com", status="revoked", revoked_at=REVOKED_AT, ticket="SEC-1"
)
KEY = ("user#alice", iso(REVOKED_AT))
Change = Callable[[LedgerRecord | None], LedgerRecord | None]


@pytest.fixture(autouse=True)
def atomic_moto_puts(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Make moto's conditional PutItem one atomic step, as DynamoDB's is."""
    lock = threading.Lock()
    real = DynamoDBBackend.put_item

    def put_item(self: DynamoDBBackend, *args: object, **kwargs: object) -> object:
        with lock:
            return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(DynamoDBBackend, "put_item", put_item)
    yield


def race(ledger: DynamoLedger, changes: list[Change]) -> tuple[list[LedgerRecord | None], list[BaseException], int]:
    """Run each change in its own thread through ``ledger.update``, all reading before any writes on the first
    attempt; return the stored records, the errors, and how many times the changes were applied in all."""
    barrier = threading.Barrier(len(changes), timeout=10)
    applied = 0
    lock = threading.Lock()
    results: list[LedgerRecord | None] = [None] * len(changes)
    errors: list[BaseException] = []

    def racing(change: Change) -> Change:
        first = True

        def wrapped(current: LedgerRecord | None) -> LedgerRecord | None:
            nonlocal first, applied
            with lock:
                applied += 1
            if first:
                first = False
                barrier.wait()  # every writer has read the same version before anyone writes
            return change(current)

        return wrapped

    def run(i: int, change: Change) -> None:
        try:
            results[i] = ledger.update(ACCOUNT, KEY[0], KEY[1], racing(change))
        except BaseException as exc:  # reported by the test, not swallowed
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(changes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(t.is_alive() for t in threads), "a racing writer hung"
    return results, errors, applied


def logging(step: str, target: str, at: datetime) -> Change:
    item = ActionLog(step=step, target=target, status="done", at=at)
    return lambda current: log_action(current, item) if current is not None else None


def opened(sandbox: Sandbox) -> DynamoLedger:
    ledger = ledger_of(sandbox)
    ledger.update(ACCOUNT, *KEY, lambda current: current or open_record(ACCOUNT, ENTRY, REVOKED_AT))
    return ledger


def test_two_threads_appending_actions_lose_nothing(sandbox: Sandbox) -> None:
    """Two threads each appending a distinct ActionLog to the same record (version 1), 10 rounds in a row, must
    leave all 20 actions in the record, version == 1 + 20 successful writes, and at least one conflict retried per
    round (3 applications of a change for 2 writes)."""
    # Given an opened record
    ledger = opened(sandbox)
    t0 = REVOKED_AT + timedelta(hours=2)

    for n in range(10):
        # When two writers race on it
        results, errors, applied = race(
            ledger,
            [
                logging("deactivate-access-key", f"AKIA{n:016d}", t0 + timedelta(seconds=n)),
                logging("delete-login-profile", f"alice-{n}", t0 + timedelta(seconds=n)),
            ],
        )

        # Then both wrote, one of them after a conflict
        assert errors == []
        assert all(r is not None for r in results)
        assert applied == 3, f"round {n}: expected one lost race re-applied, applied {applied} times"

    # And the final record holds every action, with one version per write
    final = ledger.get(ACCOUNT, *KEY)
    assert final is not None
    targets = sorted(a.target for a in final.actions)
    assert targets == sorted([f"AKIA{n:016d}" for n in range(10)] + [f"alice-{n}" for n in range(10)])
    assert final.version == 1 + 20
    assert sorted(r.version for r in results if r is not None) == [20, 21]


def test_state_move_and_action_log_racing_both_survive(sandbox: Sandbox) -> None:
    """One thread moving the record pending -> unenforced (a reconcile) while another appends an ActionLog (the
    enforcer) must end with the record unenforced *and* holding the action, at version 3 (open + 2 writes)."""
    # Given an opened, pending record
    ledger = opened(sandbox)
    now = REVOKED_AT + timedelta(hours=2)
    check = RevocationCheck(
        identity=IdentityRef.parse("user#alice"),
        revoked_at=REVOKED_AT,
        state=RevocationState.UNENFORCED,
        still_active=("console password is enabled",),
        grace_ends_at=REVOKED_AT + timedelta(hours=1),
    )

    def move(current: LedgerRecord | None) -> LedgerRecord | None:
        return advance(current, check, now) if current is not None else None

    # When both race
    results, errors, applied = race(ledger, [move, logging("delete-login-profile", "alice", now)])

    # Then nothing was lost
    assert errors == [] and applied == 3
    final = ledger.get(ACCOUNT, *KEY)
    assert final is not None
    assert final.state is LedgerState.UNENFORCED
    assert [a.target for a in final.actions] == ["alice"]
    assert transitions(final) == ["opened", "pending -> unenforced"]
    assert final.version == 3


def test_two_threads_opening_the_same_record_store_it_once(sandbox: Sandbox) -> None:
    """Two threads opening the same (absent) record at once — the stream handler and the reconcile — must store it
    once: the loser's create fails on attribute_not_exists, it re-reads and finds the record, and writes nothing."""
    # Given no record
    ledger = ledger_of(sandbox)

    def open_if_absent(current: LedgerRecord | None) -> LedgerRecord | None:
        return None if current is not None else open_record(ACCOUNT, ENTRY, REVOKED_AT + timedelta(minutes=1))

    # When both open it
    results, errors, applied = race(ledger, [open_if_absent, open_if_absent])

    # Then one stored it, the other found it
    assert errors == [] and applied == 3
    assert sorted(r is None for r in results) == [False, True]
    final = ledger.get(ACCOUNT, *KEY)
    assert final is not None and final.version == 1 and transitions(final) == ["opened"]
    assert len(ledger.records(ACCOUNT)) == 1
