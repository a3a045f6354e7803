"""Pure ledger transitions (``driftline.domain.ledger``): open -> pending -> unenforced -> enforced | cancelled, with
the evidence of how a revocation was enforced and the seconds it took, and no write when nothing changed."""

from __future__ import annotations

from datetime import timedelta
from itertools import permutations

import pytest

from driftline.domain.drift import RevocationState
from driftline.domain.ledger import (
    Enforcement,
    LedgerRecord,
    LedgerState,
    advance,
    cancel,
    just_enforced,
    log_action,
    open_record,
)
from tests.unit.revocations.support import (
    ACCOUNT,
    ENFORCED,
    GOVERNANCE,
    PENDING,
    REVOKED_AT,
    UNENFORCED,
    action,
    check,
    cloudtrail,
    opened,
    revoked_entry,
    transitions,
    unenforced,
)

SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def test_open_record_is_pending_with_the_registry_facts() -> None:
    """A revoked entry (revoked_at 09:30, ticket, reason, updated_by) opened at 09:32 must give a pending record
    whose requested_at is the registry's revoked_at (not the time it was opened), carrying who, ticket and reason."""
    # Given a revoked registry entry
    entry = revoked_entry("user#alice", ticket="SEC-7", reason="left the company")
    now = REVOKED_AT + 2 * MINUTE

    # When its ledger record is opened
    record = open_record(ACCOUNT, entry, now)

    # Then it is pending, requested at the registry's revoked_at, with the registry's who/ticket/reason
    assert record.state is LedgerState.PENDING
    assert record.is_open
    assert record.identity == "user#alice"
    assert record.account_id == ACCOUNT
    assert record.requested_at == REVOKED_AT
    assert (record.requested_by, record.ticket, record.reason) == (GOVERNANCE, "SEC-7", "left the company")
    assert record.opened_at == record.last_checked == now
    assert record.first_seen_unenforced is None and record.enforced is None and record.seconds_to_enforce is None
    assert transitions(record) == ["opened"]
    assert record.version == 0


def test_pending_within_grace_writes_nothing() -> None:
    """A pending record checked again (still pending) 30 minutes later must not change: advance returns None."""
    # Given a pending record
    record = opened()

    # When the identity is still pending within the grace period
    # Then there is nothing to write
    assert advance(record, check(PENDING), REVOKED_AT + 30 * MINUTE) is None


def test_pending_past_grace_becomes_unenforced_with_first_seen() -> None:
    """A pending record whose check says unenforced at revoked_at + 1 h 5 min must move to unenforced with
    first_seen_unenforced and last_checked at that time, and the transition in its history."""
    # Given a pending record
    record = opened()
    later = REVOKED_AT + HOUR + 5 * MINUTE

    # When the grace period has passed and IAM still allows the identity
    moved = advance(record, check(UNENFORCED), later)

    # Then it is unenforced since now
    assert moved is not None
    assert moved.state is LedgerState.UNENFORCED
    assert moved.is_open
    assert moved.first_seen_unenforced == later
    assert moved.last_checked == later
    assert transitions(moved) == ["opened", "pending -> unenforced"]
    assert moved.history[-1].startswith(later.isoformat())


def test_unenforced_to_enforced_with_cloudtrail_evidence() -> None:
    """An unenforced record enforced by a CloudTrail event at revoked_at + 2 h 17 min 5 s must be enforced with that
    event (id, name, actor) and seconds_to_enforce = event time - requested_at = 8225, not the time it was seen."""
    # Given an unenforced record
    record = unenforced()
    event_at = REVOKED_AT + timedelta(hours=2, minutes=17, seconds=5)
    seen_at = event_at + 40 * MINUTE
    evidence = cloudtrail(event_at)

    # When a check with that evidence says enforced
    moved = advance(record, check(ENFORCED), seen_at, evidence)

    # Then the record holds the event and the seconds from the request to the event
    assert moved is not None
    assert moved.state is LedgerState.ENFORCED
    assert not moved.is_open
    assert moved.enforced == evidence
    assert moved.seconds_to_enforce == 8225.0
    assert moved.last_checked == seen_at
    assert moved.first_seen_unenforced == record.first_seen_unenforced
    assert transitions(moved) == ["opened", "pending -> unenforced", "unenforced -> enforced"]


def test_pending_to_enforced_directly_with_evidence() -> None:
    """A pending record enforced by an event 20 minutes after the request (within grace) must go straight to
    enforced with 1200 seconds, never having been unenforced."""
    # Given a pending record
    record = opened()

    # When the key is deactivated 20 minutes after the request
    moved = advance(record, check(ENFORCED), REVOKED_AT + 25 * MINUTE, cloudtrail(REVOKED_AT + 20 * MINUTE))

    # Then it is enforced with the event's timing and no first_seen_unenforced
    assert moved is not None
    assert moved.state is LedgerState.ENFORCED
    assert moved.seconds_to_enforce == 1200.0
    assert moved.first_seen_unenforced is None
    assert transitions(moved) == ["opened", "pending -> enforced"]


def test_enforced_by_driftline_when_its_own_steps_are_done() -> None:
    """An unenforced record whose actions hold intended/done steps (and one failed step) and no CloudTrail evidence
    must be enforced with source "driftline", at the latest *done* step, naming the done steps only."""
    # Given an unenforced record with driftline's own steps logged
    record = unenforced()
    t1, t2 = REVOKED_AT + 2 * HOUR, REVOKED_AT + 2 * HOUR + 3 * MINUTE
    for item in (
        action("deactivate-access-key", "intended", t1),
        action("deactivate-access-key", "done", t1),
        action("delete-login-profile", "intended", t2, target="alice"),
        action("delete-login-profile", "failed", t2, target="alice", error="IAM DeleteLoginProfile failed"),
        action("deny-user-sessions-issued-before", "intended", t2, target="alice"),
        action("deny-user-sessions-issued-before", "done", t2, target="alice"),
    ):
        record = log_action(record, item)

    # When a check without evidence says enforced
    moved = advance(record, check(ENFORCED), t2 + 5 * MINUTE)

    # Then driftline's own steps are the evidence
    assert moved is not None and moved.enforced is not None
    assert moved.enforced.source == "driftline"
    assert moved.enforced.at == t2
    assert moved.enforced.event_name == "deactivate-access-key, deny-user-sessions-issued-before"
    assert moved.enforced.event_id is None
    assert moved.seconds_to_enforce == (t2 - REVOKED_AT).total_seconds()


def test_enforced_without_evidence_or_own_steps_is_observed() -> None:
    """An unenforced record with only a *failed* action and no evidence, seen enforced at revoked_at + 3 h, must be
    enforced with source "observed" at that time (the latest it can have happened)."""
    # Given an unenforced record where driftline's one step failed
    record = log_action(unenforced(), action("deactivate-access-key", "failed", REVOKED_AT + 2 * HOUR, error="denied"))
    seen = REVOKED_AT + 3 * HOUR

    # When a reconcile sees it enforced, with no event
    moved = advance(record, check(ENFORCED), seen)

    # Then it was "observed" no later than now
    assert moved is not None and moved.enforced is not None
    assert moved.enforced.source == "observed"
    assert moved.enforced.at == seen
    assert moved.seconds_to_enforce == 3 * 3600.0


def test_enforced_goes_back_to_unenforced_when_iam_regresses() -> None:
    """An enforced record whose key is re-activated (check unenforced) must go back to unenforced: enforcement
    evidence and seconds cleared, first_seen_unenforced kept, and the history keeping both transitions; a second
    enforcement then adds a third transition."""
    # Given a record enforced by an event
    enforced = advance(unenforced(), check(ENFORCED), REVOKED_AT + 3 * HOUR, cloudtrail(REVOKED_AT + 2 * HOUR))
    assert enforced is not None
    first_seen = enforced.first_seen_unenforced

    # When the key is re-activated
    regressed = advance(enforced, check(UNENFORCED), REVOKED_AT + 5 * HOUR)

    # Then the record is open again, without stale evidence
    assert regressed is not None
    assert regressed.state is LedgerState.UNENFORCED
    assert regressed.enforced is None and regressed.seconds_to_enforce is None
    assert regressed.first_seen_unenforced == first_seen
    assert transitions(regressed) == [
        "opened",
        "pending -> unenforced",
        "unenforced -> enforced",
        "enforced -> unenforced",
    ]

    # And when it is enforced again, by a new event
    again = advance(regressed, check(ENFORCED), REVOKED_AT + 7 * HOUR, cloudtrail(REVOKED_AT + 6 * HOUR, "ev-2"))
    assert again is not None and again.enforced is not None
    assert again.enforced.event_id == "ev-2"
    assert again.seconds_to_enforce == 6 * 3600.0
    assert transitions(again)[-2:] == ["enforced -> unenforced", "unenforced -> enforced"]


def test_enforced_stays_put_when_still_enforced() -> None:
    """An enforced record checked again as enforced (even a day later, even with a new event as evidence) must not
    be written: advance returns None, so the first enforcement's evidence is kept."""
    # Given an enforced record
    enforced = advance(opened(), check(ENFORCED), REVOKED_AT + HOUR, cloudtrail(REVOKED_AT + 30 * MINUTE))
    assert enforced is not None

    # When it is checked again as enforced
    # Then nothing is written
    assert advance(enforced, check(ENFORCED), REVOKED_AT + 2 * DAY) is None
    assert advance(enforced, check(ENFORCED), REVOKED_AT + 2 * DAY, cloudtrail(REVOKED_AT + 2 * DAY, "later")) is None


@pytest.mark.parametrize("state", [PENDING, UNENFORCED, ENFORCED])
def test_cancelled_is_terminal(state: RevocationState) -> None:
    """A cancelled record checked as pending, unenforced or enforced must never move again (advance returns None)."""
    # Given a cancelled record
    cancelled = cancel(opened(), REVOKED_AT + 10 * MINUTE)
    assert cancelled is not None

    # When any check arrives
    # Then nothing is written
    assert advance(cancelled, check(state), REVOKED_AT + 3 * DAY) is None


def test_cancel_from_open_states_only() -> None:
    """cancel() on a pending or unenforced record must give cancelled with cancelled_at and the transition; on an
    enforced or already cancelled record it must return None (an enforced revocation cannot be undone by a restore)."""
    now = REVOKED_AT + 2 * HOUR
    # Given records in each state
    pending, still_open = opened(), unenforced()
    enforced = advance(unenforced(), check(ENFORCED), REVOKED_AT + 90 * MINUTE)
    assert enforced is not None

    # When they are cancelled
    from_pending, from_unenforced = cancel(pending, now), cancel(still_open, now)

    # Then only the open ones move
    assert from_pending is not None and from_unenforced is not None
    for record, before in ((from_pending, "pending"), (from_unenforced, "unenforced")):
        assert record.state is LedgerState.CANCELLED
        assert not record.is_open
        assert record.cancelled_at == now == record.last_checked
        assert transitions(record)[-1] == f"{before} -> cancelled"
    assert cancel(enforced, now) is None
    assert cancel(from_pending, now + HOUR) is None


@pytest.mark.parametrize("state", [PENDING, UNENFORCED])
def test_last_checked_refreshed_at_most_daily(state: RevocationState) -> None:
    """An open record checked again in the same state must not be written before a day has passed since
    last_checked (23 h 59 min: None), and at exactly one day must get only a new last_checked (no transition)."""
    # Given an open record in ``state``, last checked at t0
    record = opened() if state is PENDING else unenforced()
    t0 = record.last_checked

    # When it is checked again within the day
    # Then there is nothing to write
    assert advance(record, check(state), t0 + DAY - MINUTE) is None

    # When a day has passed
    refreshed = advance(record, check(state), t0 + DAY)

    # Then only last_checked moved
    assert refreshed is not None
    assert refreshed.last_checked == t0 + DAY
    assert refreshed.state is record.state
    assert refreshed.history == record.history
    assert refreshed.model_dump(exclude={"last_checked"}) == record.model_dump(exclude={"last_checked"})


def test_seconds_to_enforce_never_negative() -> None:
    """Evidence older than the request (a key deactivated before the registry said revoked) must give 0 seconds,
    never a negative time to enforce."""
    # Given a pending record and an event one minute before the request
    moved = advance(opened(), check(ENFORCED), REVOKED_AT + MINUTE, cloudtrail(REVOKED_AT - MINUTE))

    # Then the time to enforce is zero
    assert moved is not None
    assert moved.seconds_to_enforce == 0.0


def test_enforced_back_to_pending_clears_evidence() -> None:
    """A record enforced 10 minutes after the request whose key is re-activated within the grace period (check
    pending at +20 min) must be pending *without* enforcement evidence: a pending revocation has not been enforced,
    and the evidence export would otherwise show a pending row with an enforced_at and a time to enforce."""
    # Given a record enforced within the grace period
    enforced = advance(opened(), check(ENFORCED), REVOKED_AT + 12 * MINUTE, cloudtrail(REVOKED_AT + 10 * MINUTE))
    assert enforced is not None

    # When IAM regresses while still within the grace period
    regressed = advance(enforced, check(PENDING), REVOKED_AT + 20 * MINUTE)

    # Then it is pending again, and not claimed enforced
    assert regressed is not None
    assert regressed.state is LedgerState.PENDING
    assert regressed.enforced is None
    assert regressed.seconds_to_enforce is None


def test_reenforcement_after_regression_is_not_credited_to_old_driftline_steps() -> None:
    """driftline deactivated the key at +2 h (enforced, source driftline); someone re-activated it at +5 h
    (unenforced); a reconcile at +8 h sees it enforced again with no event. The new enforcement must not be credited
    to the +2 h step (which the +5 h regression undid): expected source "observed" at +8 h and 8 h to enforce."""
    # Given a revocation driftline enforced, then undone in IAM
    done_at = REVOKED_AT + 2 * HOUR
    record = log_action(unenforced(), action("deactivate-access-key", "intended", done_at))
    record = log_action(record, action("deactivate-access-key", "done", done_at))
    enforced = advance(record, check(ENFORCED), done_at + MINUTE)
    assert enforced is not None and enforced.enforced is not None and enforced.enforced.source == "driftline"
    regressed = advance(enforced, check(UNENFORCED), REVOKED_AT + 5 * HOUR)
    assert regressed is not None

    # When a reconcile later sees it enforced again, without any event
    seen = REVOKED_AT + 8 * HOUR
    again = advance(regressed, check(ENFORCED), seen)

    # Then the evidence is not the step that the regression undid
    assert again is not None and again.enforced is not None
    assert again.enforced.at >= REVOKED_AT + 5 * HOUR
    assert again.enforced.source == "observed"
    assert again.seconds_to_enforce == 8 * 3600.0


def test_regressed_record_is_credited_to_driftlines_new_steps_only() -> None:
    """driftline deactivated the key at +2 h; someone re-activated it; the reconcile at +6 h saw the regression, then
    deleted the login profile (its step stamped with the run's time, +6 h) and saw it enforced: the evidence must be
    driftline at +6 h naming only the +6 h step."""
    # Given a revocation driftline enforced, then undone in IAM and seen undone by the +6 h run
    rerun = REVOKED_AT + 6 * HOUR
    record = log_action(unenforced(), action("deactivate-access-key", "done", REVOKED_AT + 2 * HOUR))
    enforced = advance(record, check(ENFORCED), REVOKED_AT + 2 * HOUR)
    assert enforced is not None
    regressed = advance(enforced, check(UNENFORCED), rerun)
    assert regressed is not None

    # When the same run enforces it again
    regressed = log_action(regressed, action("delete-login-profile", "done", rerun, target="alice"))
    again = advance(regressed, check(ENFORCED), rerun)

    # Then only the new step is the evidence
    assert again is not None and again.enforced is not None
    assert again.enforced.source == "driftline"
    assert again.enforced.at == rerun
    assert again.enforced.event_name == "delete-login-profile"
    assert again.seconds_to_enforce == 6 * 3600.0


def _enforced_then_recredited() -> tuple[Enforcement, Enforcement, LedgerRecord, LedgerRecord | None]:
    """A record enforced by an event at +2 h (seen at +3 h), then the event at +2 h 40 s that completed the
    enforcement arriving at +3 h 1 min: (first event, completing event, enforced record, what advance made of it)."""
    first, completing = (
        cloudtrail(REVOKED_AT + 2 * HOUR, "ev-1"),
        cloudtrail(REVOKED_AT + 2 * HOUR + 40 * SECOND, "ev-2"),
    )
    enforced = advance(unenforced(), check(ENFORCED), REVOKED_AT + 3 * HOUR, first)
    assert enforced is not None
    return first, completing, enforced, advance(enforced, check(ENFORCED), REVOKED_AT + 3 * HOUR + MINUTE, completing)


def test_late_event_recredits_the_enforcement_it_completed() -> None:
    """Enforced by an event at +2 h (seen at +3 h); an event at +2 h 40 s arrives later: the record must be
    re-credited to it (seconds from the request to it), stay enforced with one history line added, and then ignore
    the same event again and the older one."""
    # Given a record credited to the first-processed event, When the later event arrives afterwards
    first, completing, enforced, recredited = _enforced_then_recredited()

    # Then it is the evidence, and nothing else about the record moved
    assert recredited is not None
    assert recredited.state is LedgerState.ENFORCED
    assert recredited.enforced == completing
    assert recredited.seconds_to_enforce == (2 * HOUR + 40 * SECOND).total_seconds()
    assert recredited.first_seen_unenforced == enforced.first_seen_unenforced
    assert recredited.last_checked == REVOKED_AT + 3 * HOUR + MINUTE
    assert transitions(recredited) == [
        *transitions(enforced),
        f"re-credited: UpdateAccessKey ev-1 at {first.at.isoformat()} replaced by UpdateAccessKey ev-2 at "
        f"{completing.at.isoformat()}",
    ]

    # And the same event again, or the older one, changes nothing
    assert advance(recredited, check(ENFORCED), REVOKED_AT + 4 * HOUR, completing) is None
    assert advance(recredited, check(ENFORCED), REVOKED_AT + 4 * HOUR, first) is None


@pytest.mark.parametrize(
    ("offset", "recredited"),
    [(-SECOND, True), (timedelta(0), True), (SECOND, False), (DAY, False)],
    ids=["before-sighting", "at-sighting", "after-sighting", "a-day-after"],
)
def test_recredit_only_for_events_up_to_when_enforcement_was_seen(offset: timedelta, recredited: bool) -> None:
    """Enforced by an event at +2 h, seen enforced at +3 h: a later event re-credits it only if it happened no later
    than +3 h; after that IAM was already enforced, so that event completed nothing."""
    # Given a record seen enforced at +3 h
    seen = REVOKED_AT + 3 * HOUR
    enforced = advance(unenforced(), check(ENFORCED), seen, cloudtrail(REVOKED_AT + 2 * HOUR, "ev-1"))
    assert enforced is not None

    # When a later event arrives
    moved = advance(enforced, check(ENFORCED), seen + 2 * DAY, cloudtrail(seen + offset, "ev-2"))

    # Then it re-credits the record only when it happened up to the sighting
    assert (moved is not None) is recredited
    if moved is not None:
        assert moved.enforced is not None and moved.enforced.event_id == "ev-2"


@pytest.mark.parametrize("source", ["observed", "driftline"])
def test_event_older_than_observed_or_own_evidence_does_not_recredit(source: str) -> None:
    """A record enforced as "observed" (or by driftline's own step) at +3 h must keep that evidence when an event from
    +2 h 59 min arrives: an older event never overwrites newer evidence."""
    # Given a record enforced without an event at +3 h
    record = unenforced()
    if source == "driftline":
        record = log_action(record, action("deactivate-access-key", "done", REVOKED_AT + 3 * HOUR))
    enforced = advance(record, check(ENFORCED), REVOKED_AT + 3 * HOUR)
    assert enforced is not None and enforced.enforced is not None and enforced.enforced.source == source

    # When an older event arrives
    # Then nothing is written
    assert advance(enforced, check(ENFORCED), REVOKED_AT + 4 * HOUR, cloudtrail(REVOKED_AT + 179 * MINUTE)) is None


@pytest.mark.parametrize("order", list(permutations(range(3))), ids=lambda o: "".join(map(str, o)))
def test_out_of_order_events_end_credited_to_the_latest(order: tuple[int, ...]) -> None:
    """Three enforcing events (+2 h, +2 h 10 s, +2 h 20 s), all made before any was processed, processed in any
    order from +3 h on: the record must end credited to the +2 h 20 s event, whatever the order."""
    # Given an unenforced record and three events
    events = [cloudtrail(REVOKED_AT + 2 * HOUR + i * 10 * SECOND, f"ev-{i}") for i in range(3)]
    record = unenforced()

    # When they are processed in ``order``
    for n, i in enumerate(order):
        record = advance(record, check(ENFORCED), REVOKED_AT + 3 * HOUR + n * MINUTE, events[i]) or record

    # Then the latest one is the evidence
    assert record.enforced == events[2]
    assert record.seconds_to_enforce == (2 * HOUR + 20 * SECOND).total_seconds()


def test_recredit_window_is_the_latest_enforcement() -> None:
    """Enforced at +3 h (event at +2 h), regressed at +4 h, enforced again at +7 h (event at +5 h): a late event at
    +6 h belongs to the second enforcement and re-credits it; a late event at +2 h 30 min (before the regression)
    does not."""
    # Given a record enforced twice, with a regression between
    first = advance(unenforced(), check(ENFORCED), REVOKED_AT + 3 * HOUR, cloudtrail(REVOKED_AT + 2 * HOUR, "ev-1"))
    assert first is not None
    regressed = advance(first, check(UNENFORCED), REVOKED_AT + 4 * HOUR)
    assert regressed is not None
    second = advance(regressed, check(ENFORCED), REVOKED_AT + 7 * HOUR, cloudtrail(REVOKED_AT + 5 * HOUR, "ev-3"))
    assert second is not None

    # When late events arrive
    # Then only the one within the second enforcement's window re-credits it
    assert advance(second, check(ENFORCED), REVOKED_AT + 8 * HOUR, cloudtrail(REVOKED_AT + 150 * MINUTE)) is None
    late = advance(second, check(ENFORCED), REVOKED_AT + 8 * HOUR, cloudtrail(REVOKED_AT + 6 * HOUR, "ev-4"))
    assert late is not None and late.enforced is not None and late.enforced.event_id == "ev-4"
    assert late.seconds_to_enforce == 6 * 3600.0


def test_time_to_enforce_is_counted_on_the_move_into_enforced_only() -> None:
    """``just_enforced`` gates the TimeToEnforceSeconds metric: true right after the move into enforced, false after a
    re-credit of the same enforcement (one data point per enforcement), false for a record still unenforced."""
    _, _, enforced, recredited = _enforced_then_recredited()
    assert recredited is not None

    assert just_enforced(enforced) is True
    assert just_enforced(recredited) is False
    assert just_enforced(unenforced()) is False
