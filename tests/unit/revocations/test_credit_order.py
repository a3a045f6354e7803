"""The credit of a revocation does not depend on the order or the delay in which its events are processed.

A model of the world: the identity holds a few credentials, each seen usable when the revocation was opened. Each
credential is disabled by one or two events (deactivated, then perhaps deleted), and perhaps a deny policy disables
the whole identity. Every event reaches the ledger after a delay of its own (seconds to days: a backlog, a DLQ
redrive), and a reconcile may look at any moment. Whatever the delays, the record must end crediting the change that
left nobody able to act: the earlier of the deny and the last credential's *first* disabling, with its seconds.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from driftline.domain.credit import WHOLE, CredentialChange
from driftline.domain.drift import RevocationState
from driftline.domain.ledger import LedgerRecord, LedgerState, advance
from tests.unit.revocations.support import REVOKED_AT, check, cloudtrail, evidence_of, opened

CREDENTIALS = ("access_key:AKIAONE", "access_key:AKIATWO", "password", "ssh-public-key:APKAONE")


@st.composite
def worlds(draw: st.DrawFn) -> tuple[tuple[str, ...], list[CredentialChange], list[timedelta], list[timedelta]]:
    """(credentials seen usable, the enforcing changes, a processing delay per change, reconcile sightings)."""
    held = tuple(draw(st.lists(st.sampled_from(CREDENTIALS), min_size=1, max_size=4, unique=True)))
    minutes = st.integers(min_value=1, max_value=48 * 60)
    changes: list[CredentialChange] = []
    for n, credential in enumerate(held):
        first = draw(minutes)
        changes.append(cloudtrail(REVOKED_AT + timedelta(minutes=first), f"ev-{n}-a", credential))
        if draw(st.booleans()):  # deleted later: a second disabling change of the same credential
            later = first + draw(st.integers(min_value=0, max_value=24 * 60))
            changes.append(cloudtrail(REVOKED_AT + timedelta(minutes=later), f"ev-{n}-b", credential))
    if draw(st.booleans()):  # the deny policy attached at some point
        changes.append(cloudtrail(REVOKED_AT + timedelta(minutes=draw(minutes)), "ev-deny", WHOLE))
    delays = [timedelta(minutes=draw(st.integers(min_value=0, max_value=72 * 60))) for _ in changes]
    sightings = [timedelta(minutes=draw(minutes)) for _ in range(draw(st.integers(min_value=0, max_value=3)))]
    return held, changes, delays, sightings


def _enforced_at(held: tuple[str, ...], changes: list[CredentialChange], moment: datetime) -> bool:
    """IAM's state at ``moment``: nobody can act once the deny is in, or every held credential is disabled."""
    done = {c.credential for c in changes if c.at <= moment}
    return WHOLE in done or set(held) <= done


def _expected(held: tuple[str, ...], changes: list[CredentialChange]) -> CredentialChange:
    firsts = [min((c for c in changes if c.credential == h), key=CredentialChange.order) for h in held]
    last = max(firsts, key=CredentialChange.order)
    deny = [c for c in changes if c.credential == WHOLE]
    return min([last, *deny], key=CredentialChange.order)


@settings(max_examples=300, deadline=None)
@given(worlds())
def test_any_order_and_delay_of_the_events_gives_the_same_credit(
    world: tuple[tuple[str, ...], list[CredentialChange], list[timedelta], list[timedelta]],
) -> None:
    """Given a revocation opened with ``held`` usable, When its events arrive in the order their delays make (and
    reconciles look in between), Then the record ends enforced and credited to the expected change."""
    held, changes, delays, sightings = world
    record: LedgerRecord | None = advance(opened(), check(RevocationState.UNENFORCED, credentials=held), REVOKED_AT)
    assert record is not None
    arrivals = sorted(
        [(c.at + d, [c]) for c, d in zip(changes, delays, strict=True)] + [(REVOKED_AT + s, []) for s in sightings],
        key=lambda item: (item[0], [c.event_id for c in item[1]]),
    )
    for moment, told in arrivals:
        enforced = _enforced_at(held, changes, moment)
        state = RevocationState.ENFORCED if enforced else RevocationState.UNENFORCED
        seen = check(state, credentials=() if enforced else tuple(held))
        record = advance(record, seen, moment, told) or record

    expected = _expected(held, changes)
    assert record.state is LedgerState.ENFORCED
    assert record.enforced == evidence_of(expected)
    assert record.seconds_to_enforce == (expected.at - REVOKED_AT).total_seconds()
