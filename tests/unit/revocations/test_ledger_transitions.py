"""Pure ledger transitions (``driftline.domain.ledger``): open -> pending -> unenforced -> enforced | cancelled, with
the evidence of how a revocation was enforced and the seconds it took, and no write when nothing changed."""

from __future__ import annotations

from datetime import timedelta
from itertools import permutations

import pytest

from driftline.domain.credit import CredentialChange
from driftline.domain.drift import RevocationState
from driftline.domain.ledger import (
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
    KEY_TOKEN,
    PENDING,
    REVOKED_AT,
    UNENFORCED,
    action,
    check,
    cloudtrail,
    evidence_of,
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
    """A pending record checked again (still pending, the same credential usable) 30 minutes later must not change:
    advance returns None. Its first check writes once, to remember what it saw usable."""
    # Given a pending record that has been checked once
    first = advance(opened(), check(PENDING), REVOKED_AT + 3 * MINUTE)
    assert first is not None and first.usable_seen == (KEY_TOKEN,) and first.state is LedgerState.PENDING

    # When the identity is still pending within the grace period
    # Then there is nothing to write
    assert advance(first, check(PENDING), REVOKED_AT + 30 * MINUTE) is None


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
    """An unenforced record (its key seen Active) whose key a CloudTrail event deactivated at revoked_at + 2 h 17 min
    5 s must be enforced with that event (id, name, actor) and seconds_to_enforce = event time - requested_at = 8225,
    not the time it was seen."""
    # Given an unenforced record
    record = unenforced()
    event_at = REVOKED_AT + timedelta(hours=2, minutes=17, seconds=5)
    seen_at = event_at + 40 * MINUTE
    change = cloudtrail(event_at)

    # When a check with that change says enforced
    moved = advance(record, check(ENFORCED), seen_at, [change])

    # Then the record holds the event and the seconds from the request to the event
    assert moved is not None
    assert moved.state is LedgerState.ENFORCED
    assert not moved.is_open
    assert moved.enforced == evidence_of(change)
    assert moved.seconds_to_enforce == 8225.0
    assert moved.last_checked == seen_at
    assert moved.first_seen_unenforced == record.first_seen_unenforced
    assert moved.changes == (change,)
    assert transitions(moved) == ["opened", "pending -> unenforced", "unenforced -> enforced"]


def test_pending_to_enforced_directly_with_evidence() -> None:
    """A pending record enforced by an event 20 minutes after the request (within grace) must go straight to
    enforced with 1200 seconds, never having been unenforced."""
    # Given a pending record that saw the key usable
    record = advance(opened(), check(PENDING), REVOKED_AT + 3 * MINUTE) or opened()
    assert record.usable_seen == (KEY_TOKEN,)

    # When the key is deactivated 20 minutes after the request
    moved = advance(record, check(ENFORCED), REVOKED_AT + 25 * MINUTE, [cloudtrail(REVOKED_AT + 20 * MINUTE)])

    # Then it is enforced with the event's timing and no first_seen_unenforced
    assert moved is not None
    assert moved.state is LedgerState.ENFORCED
    assert moved.seconds_to_enforce == 1200.0
    assert moved.first_seen_unenforced is None
    assert transitions(moved) == ["opened", "pending -> enforced"]


def test_an_allow_or_other_change_is_never_credited() -> None:
    """An event that changed something else (another credential, or an enabling change) is no evidence for the key
    seen usable: enforced, but "observed" at the sighting."""
    record = unenforced()
    seen = REVOKED_AT + 3 * HOUR
    others = [
        cloudtrail(REVOKED_AT + 2 * HOUR, "ev-other", credential="ssh-public-key:APKA1"),
        cloudtrail(REVOKED_AT + 2 * HOUR, "ev-enable", effect="enable"),
    ]
    moved = advance(record, check(ENFORCED), seen, others)
    assert moved is not None and moved.enforced is not None
    assert (moved.enforced.source, moved.enforced.at) == ("observed", seen)


def test_enforced_by_driftline_when_its_own_steps_are_done() -> None:
    """An unenforced record whose actions hold driftline's steps (the key deactivated at t1, the deny policy attached
    at t2, one step failed) and no CloudTrail event must be enforced by driftline at t1: the step that removed the
    last way to act (the key, the only credential seen usable), not a later one."""
    # Given an unenforced record with driftline's own steps logged
    record = unenforced()
    t1, t2 = REVOKED_AT + 2 * HOUR, REVOKED_AT + 2 * HOUR + 3 * MINUTE
    for item in (
        action("deactivate-access-key", "intended", t1, credential=KEY_TOKEN),
        action("deactivate-access-key", "done", t1, credential=KEY_TOKEN),
        action("deactivate-ssh-public-key", "failed", t2, target="APKA1", error="IAM UpdateSSHPublicKey failed"),
        action("attach-deny-policy", "intended", t2, target="alice", credential="*"),
        action("attach-deny-policy", "done", t2, target="alice", credential="*"),
    ):
        record = log_action(record, item)

    # When a check without events says enforced
    moved = advance(record, check(ENFORCED), t2 + 5 * MINUTE)

    # Then driftline's own step is the evidence
    assert moved is not None and moved.enforced is not None
    assert moved.enforced.source == "driftline"
    assert moved.enforced.at == t1
    assert moved.enforced.event_name == "deactivate-access-key"
    assert moved.enforced.event_id is None
    assert moved.seconds_to_enforce == (t1 - REVOKED_AT).total_seconds()


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
    enforcement then adds a third transition, credited to a change after the regression only."""
    # Given a record enforced by an event
    enforced = advance(unenforced(), check(ENFORCED), REVOKED_AT + 3 * HOUR, [cloudtrail(REVOKED_AT + 2 * HOUR)])
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
    again = advance(regressed, check(ENFORCED), REVOKED_AT + 7 * HOUR, [cloudtrail(REVOKED_AT + 6 * HOUR, "ev-2")])
    assert again is not None and again.enforced is not None
    assert again.enforced.event_id == "ev-2"
    assert again.seconds_to_enforce == 6 * 3600.0
    assert transitions(again)[-2:] == ["enforced -> unenforced", "unenforced -> enforced"]


def test_enforced_stays_put_when_still_enforced() -> None:
    """An enforced record checked again as enforced (even a day later, even with a later disabling change of the same
    key, e.g. its deletion) must not move its evidence: the key's first disabling stays the credit."""
    # Given an enforced record
    change = cloudtrail(REVOKED_AT + 30 * MINUTE)
    enforced = advance(opened(), check(PENDING), REVOKED_AT + 3 * MINUTE)
    assert enforced is not None
    enforced = advance(enforced, check(ENFORCED), REVOKED_AT + HOUR, [change])
    assert enforced is not None

    # When it is checked again as enforced
    # Then nothing is written, and a later deletion of the same key is kept but credits nothing
    assert advance(enforced, check(ENFORCED), REVOKED_AT + 2 * DAY) is None
    later = advance(enforced, check(ENFORCED), REVOKED_AT + 2 * DAY, [cloudtrail(REVOKED_AT + 2 * HOUR, "later")])
    assert later is not None and later.enforced == evidence_of(change)
    assert transitions(later) == transitions(enforced)


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
    # Given an open record in ``state`` that saw its credential, last checked at t0
    record = advance(opened(), check(PENDING), REVOKED_AT + 3 * MINUTE) if state is PENDING else unenforced()
    assert record is not None
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


def test_a_change_before_the_request_is_no_evidence() -> None:
    """A key deactivated one minute *before* the registry said revoked did not enforce the revocation (nothing was
    requested yet): the record is enforced, "observed", never credited to it nor given a negative time."""
    moved = advance(opened(), check(ENFORCED), REVOKED_AT + MINUTE, [cloudtrail(REVOKED_AT - MINUTE)])
    assert moved is not None and moved.enforced is not None
    assert moved.enforced.source == "observed"
    assert moved.seconds_to_enforce == 60.0


def test_enforced_back_to_pending_clears_evidence() -> None:
    """A record enforced 10 minutes after the request whose key is re-activated within the grace period (check
    pending at +20 min) must be pending *without* enforcement evidence: a pending revocation has not been enforced,
    and the evidence export would otherwise show a pending row with an enforced_at and a time to enforce."""
    # Given a record enforced within the grace period
    enforced = advance(opened(), check(ENFORCED), REVOKED_AT + 12 * MINUTE, [cloudtrail(REVOKED_AT + 10 * MINUTE)])
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
    record = log_action(unenforced(), action("deactivate-access-key", "intended", done_at, credential=KEY_TOKEN))
    record = log_action(record, action("deactivate-access-key", "done", done_at, credential=KEY_TOKEN))
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
    """driftline deactivated the key at +2 h; someone re-activated it; the reconcile at +6 h saw the regression,
    attached the deny policy (its step stamped with the run's time, +6 h) and saw it enforced: the evidence must be
    driftline at +6 h naming only the +6 h step."""
    # Given a revocation driftline enforced, then undone in IAM and seen undone by the +6 h run
    rerun = REVOKED_AT + 6 * HOUR
    record = log_action(
        unenforced(), action("deactivate-access-key", "done", REVOKED_AT + 2 * HOUR, credential=KEY_TOKEN)
    )
    enforced = advance(record, check(ENFORCED), REVOKED_AT + 2 * HOUR)
    assert enforced is not None
    regressed = advance(enforced, check(UNENFORCED), rerun)
    assert regressed is not None

    # When the same run enforces it again
    regressed = log_action(regressed, action("attach-deny-policy", "done", rerun, target="alice", credential="*"))
    again = advance(regressed, check(ENFORCED), rerun)

    # Then only the new step is the evidence
    assert again is not None and again.enforced is not None
    assert again.enforced.source == "driftline"
    assert again.enforced.at == rerun
    assert again.enforced.event_name == "attach-deny-policy"
    assert again.seconds_to_enforce == 6 * 3600.0


PASSWORD, SSH = "password", "ssh-public-key:APKAEXAMPLE"


def _two_credentials_record() -> LedgerRecord:
    """An unenforced record that saw the key and the console password usable."""
    moved = advance(opened(), check(UNENFORCED, credentials=(KEY_TOKEN, PASSWORD)), REVOKED_AT + 65 * MINUTE)
    assert moved is not None
    return moved


def _enforced_then_recredited() -> tuple[CredentialChange, CredentialChange, LedgerRecord, LedgerRecord | None]:
    """Key deactivated at +2 h (ev-1) and password deleted at +2 h 40 s (ev-2); ev-1 processed first and the record
    seen enforced at +3 h (the password event not in yet), then ev-2 arriving at +3 h 1 min."""
    first = cloudtrail(REVOKED_AT + 2 * HOUR, "ev-1")
    completing = cloudtrail(REVOKED_AT + 2 * HOUR + 40 * SECOND, "ev-2", PASSWORD, event_name="DeleteLoginProfile")
    enforced = advance(_two_credentials_record(), check(ENFORCED), REVOKED_AT + 3 * HOUR, [first])
    assert enforced is not None
    return first, completing, enforced, advance(enforced, check(ENFORCED), REVOKED_AT + 3 * HOUR + MINUTE, [completing])


def test_late_event_recredits_the_enforcement_it_completed() -> None:
    """The record saw key and password usable; the key event alone proves nothing complete, so the first sighting is
    "observed". The password event (later in time, arriving later) completes the evidence: the record is re-credited
    to it, stays enforced with one history line added, and then ignores the same events again."""
    # Given a record seen enforced with incomplete evidence, When the completing event arrives afterwards
    _first, completing, enforced, recredited = _enforced_then_recredited()
    assert enforced.enforced is not None and enforced.enforced.source == "observed"

    # Then it is the evidence, and nothing else about the record moved
    assert recredited is not None
    assert recredited.state is LedgerState.ENFORCED
    assert recredited.enforced == evidence_of(completing)
    assert recredited.seconds_to_enforce == (2 * HOUR + 40 * SECOND).total_seconds()
    assert recredited.first_seen_unenforced == enforced.first_seen_unenforced
    assert recredited.last_checked == REVOKED_AT + 3 * HOUR + MINUTE
    assert transitions(recredited)[:-1] == transitions(enforced)
    assert transitions(recredited)[-1].startswith("re-credited: observed at")
    assert transitions(recredited)[-1].endswith(f"replaced by DeleteLoginProfile ev-2 at {completing.at.isoformat()}")

    # And the same events again change nothing
    assert advance(recredited, check(ENFORCED), REVOKED_AT + 4 * HOUR, [completing, _first]) is None


@pytest.mark.parametrize(
    ("offset", "recredited"),
    [(-SECOND, True), (timedelta(0), True), (SECOND, False), (DAY, False)],
    ids=["before-sighting", "at-sighting", "after-sighting", "a-day-after"],
)
def test_recredit_only_for_events_up_to_when_enforcement_was_seen(offset: timedelta, recredited: bool) -> None:
    """Key event at +2 h, record seen enforced at +3 h (password event missing): the password event completes the
    evidence only if it happened no later than +3 h; after that IAM was already enforced, so it completed nothing."""
    # Given a record seen enforced at +3 h with the key's event only
    seen = REVOKED_AT + 3 * HOUR
    enforced = advance(_two_credentials_record(), check(ENFORCED), seen, [cloudtrail(REVOKED_AT + 2 * HOUR, "ev-1")])
    assert enforced is not None

    # When the password event arrives
    late = cloudtrail(seen + offset, "ev-2", PASSWORD, event_name="DeleteLoginProfile")
    moved = advance(enforced, check(ENFORCED), seen + 2 * DAY, [late])

    # Then it re-credits the record only when it happened up to the sighting
    assert moved is not None  # the change is kept either way
    assert moved.enforced is not None
    assert (moved.enforced.event_id == "ev-2") is recredited
    assert (moved.enforced.source == "observed") is not recredited


def test_an_event_that_proves_an_earlier_disable_replaces_observed_and_own_steps() -> None:
    """driftline deactivated the key at +3 h and the record was credited to that step; an event shows someone had
    deactivated it at +2 h 59 min already: that event was the enforcing change (driftline's step changed nothing)."""
    record = log_action(
        unenforced(), action("deactivate-access-key", "done", REVOKED_AT + 3 * HOUR, credential=KEY_TOKEN)
    )
    enforced = advance(record, check(ENFORCED), REVOKED_AT + 3 * HOUR)
    assert enforced is not None and enforced.enforced is not None and enforced.enforced.source == "driftline"
    earlier = cloudtrail(REVOKED_AT + 179 * MINUTE, "ev-earlier")
    moved = advance(enforced, check(ENFORCED), REVOKED_AT + 4 * HOUR, [earlier])
    assert moved is not None and moved.enforced == evidence_of(earlier)


@pytest.mark.parametrize("order", list(permutations(range(3))), ids=lambda o: "".join(map(str, o)))
def test_out_of_order_events_end_credited_to_the_last_credential_to_go(order: tuple[int, ...]) -> None:
    """Key, password and SSH key seen usable; disabled at +2 h, +2 h 10 s, +2 h 20 s; all made before any was
    processed, processed in any order from +3 h on: the record ends credited to the +2 h 20 s change (the last way to
    act that went), whatever the order."""
    events = [
        cloudtrail(REVOKED_AT + 2 * HOUR + i * 10 * SECOND, f"ev-{i}", credential)
        for i, credential in enumerate((KEY_TOKEN, PASSWORD, SSH))
    ]
    record = advance(opened(), check(UNENFORCED, credentials=(KEY_TOKEN, PASSWORD, SSH)), REVOKED_AT + 65 * MINUTE)
    assert record is not None

    for n, i in enumerate(order):
        record = advance(record, check(ENFORCED), REVOKED_AT + 3 * HOUR + n * MINUTE, [events[i]]) or record

    assert record.enforced == evidence_of(events[2])
    assert record.seconds_to_enforce == (2 * HOUR + 20 * SECOND).total_seconds()


def test_key_deactivated_early_and_deleted_late_is_credited_to_the_deactivation() -> None:
    """The issue's case: the key deactivated at +1.4 h and deleted at +29 h, both events processed late (+30 h),
    deletion first: the credit is the deactivation (1.4 h to enforce), not the deletion."""
    deactivated = cloudtrail(REVOKED_AT + timedelta(hours=1.4), "ev-deactivate")
    deleted = cloudtrail(REVOKED_AT + 29 * HOUR, "ev-delete", event_name="DeleteAccessKey")
    record = unenforced()
    record = advance(record, check(ENFORCED), REVOKED_AT + 30 * HOUR, [deleted]) or record
    record = advance(record, check(ENFORCED), REVOKED_AT + 30 * HOUR + MINUTE, [deactivated]) or record
    assert record.enforced == evidence_of(deactivated)
    assert record.seconds_to_enforce == 1.4 * 3600


def test_a_reactivation_moves_the_credit_to_the_disable_after_it() -> None:
    """Key deactivated at +2 h, re-activated at +3 h, deactivated again at +4 h, processed in reverse order: the
    credit is the +4 h change (the one after the last enable)."""
    changes = [
        cloudtrail(REVOKED_AT + 2 * HOUR, "ev-1"),
        cloudtrail(REVOKED_AT + 3 * HOUR, "ev-2", effect="enable"),
        cloudtrail(REVOKED_AT + 4 * HOUR, "ev-3"),
    ]
    record = unenforced()
    for n, change in enumerate(reversed(changes)):
        record = advance(record, check(ENFORCED), REVOKED_AT + 5 * HOUR + n * MINUTE, [change]) or record
    assert record.enforced == evidence_of(changes[2])


def test_time_to_enforce_is_counted_on_the_move_into_enforced_only() -> None:
    """``just_enforced`` gates the TimeToEnforceSeconds metric: true right after the move into enforced, false after a
    re-credit of the same enforcement (one data point per enforcement), false for a record still unenforced."""
    _, _, enforced, recredited = _enforced_then_recredited()
    assert recredited is not None

    assert just_enforced(enforced) is True
    assert just_enforced(recredited) is False
    assert just_enforced(unenforced()) is False


def test_the_record_keeps_why_it_is_enforced_and_forgets_it_on_a_regression() -> None:
    enforced_check = check(ENFORCED).model_copy(update={"basis": "denied everything by managed policy X"})
    enforced = advance(unenforced(), enforced_check, REVOKED_AT + 3 * HOUR)
    assert enforced is not None and enforced.enforced_basis == "denied everything by managed policy X"
    regressed = advance(enforced, check(UNENFORCED), REVOKED_AT + 4 * HOUR)
    assert regressed is not None and regressed.enforced_basis is None
