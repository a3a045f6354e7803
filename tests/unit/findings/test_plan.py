"""findings/plan.py: what a run sends to Security Hub, decided from the remembered states only.

Security Hub ignores an update whose UpdatedAt is not later than the stored one, while moto overwrites (AWS-FACTS
sections 4 and 8), so every planned update is checked here to move UpdatedAt strictly forward.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

import pytest

from driftline.domain.drift import Drift, DriftType
from driftline.domain.identity import IdentityRef, Kind
from driftline.findings.asff import timestamp
from driftline.findings.plan import REFRESH_AFTER, FindingState, Planned, plan
from tests.unit.findings.support import KEY, NOW, PLACE, drift, full_inventory, problems

ALICE = IdentityRef(kind=Kind.USER, name="alice")
BOB = IdentityRef(kind=Kind.USER, name="bob")
OPS = IdentityRef(kind=Kind.ROLE, name="ops")


def remembered(planned: Iterable[Planned]) -> dict[str, FindingState]:
    """The states the sink saves once Security Hub accepted every planned finding."""
    return {p.state.finding_id: p.state for p in planned}


def excess(policies: list[str], name: str = "alice") -> Drift:
    return drift(
        DriftType.EXCESS_ENTITLEMENT,
        Kind.USER,
        name=name,
        summary=f"user {name} has {len(policies)} unapproved policies",
        evidence={"policies": policies},
    )


def test_new_drifts_are_planned_as_new() -> None:
    """Input: two drifts and no remembered state. Must plan both as "new", ACTIVE, CreatedAt == UpdatedAt == now,
    each a valid ASFF finding with its state ready to remember."""
    # Given two drifts never published
    drifts = [excess(["a"]), drift(DriftType.STALE_CREDENTIAL, Kind.ACCESS_KEY)]

    # When planned
    planned = plan(drifts, full_inventory(), PLACE, {}, NOW)

    # Then both are new
    assert [p.reason for p in planned] == ["new", "new"]
    for item in planned:
        assert problems(item.finding) == []
        assert item.finding["RecordState"] == "ACTIVE"
        assert item.finding["CreatedAt"] == item.finding["UpdatedAt"] == timestamp(NOW)
        assert item.state.finding_id == item.finding["Id"]
        assert item.state.record_state == "ACTIVE"
        assert item.state.created_at == item.state.updated_at == NOW
        assert item.state.finding == item.finding
    # And the key's state remembers its user (so it sorts under the user)
    key_state = planned[1].state
    assert key_state.user == "alice"
    assert key_state.sort_key == f"user#alice|access_key#{KEY}|stale-credential"


@pytest.mark.parametrize("drift_type", list(DriftType), ids=str)
def test_same_drift_again_plans_nothing(drift_type: DriftType) -> None:
    """Input: a drift of each type published an hour ago, reported again unchanged. Must plan nothing."""
    # Given the drift was published an hour ago
    d = drift(drift_type)
    states = remembered(plan([d], full_inventory(), PLACE, {}, NOW - timedelta(hours=1)))

    # When the same drift is planned again
    planned = plan([d], full_inventory(), PLACE, states, NOW)

    # Then nothing is sent
    assert planned == []


@pytest.mark.parametrize(
    ("now_offset", "label"),
    [(timedelta(hours=1), "later"), (timedelta(0), "same instant"), (-timedelta(minutes=5), "clock behind")],
)
def test_changed_evidence_updates_the_same_id_with_a_later_updated_at(now_offset: timedelta, label: str) -> None:
    """Input: alice's excess entitlement published with one policy, then reported with two, at a ``now`` later than,
    equal to, or 5 minutes before the remembered UpdatedAt (clock skew). Must plan "changed" for the same Id with an
    UpdatedAt strictly later than the remembered one (Security Hub ignores anything else) and the original
    CreatedAt."""
    # Given the one-policy drift was published at NOW
    first = plan([excess(["a"])], full_inventory(), PLACE, {}, NOW)
    states = remembered(first)
    old = first[0].state

    # When the drift now shows two policies
    (item,) = plan([excess(["a", "b"])], full_inventory(), PLACE, states, NOW + now_offset)

    # Then the same finding is updated, forward in time
    assert item.reason == "changed", label
    assert item.finding["Id"] == old.finding_id
    assert item.state.updated_at > old.updated_at
    assert item.finding["UpdatedAt"] > old.finding["UpdatedAt"]  # the ASFF text, as Security Hub compares it
    assert item.finding["CreatedAt"] == old.finding["CreatedAt"]
    assert item.state.created_at == old.created_at
    assert item.state.digest != old.digest
    assert '"b"' in item.finding["ProductFields"]["driftline/Evidence"]


def test_sub_millisecond_remembered_update_still_moves_the_asff_text_forward() -> None:
    """Input: a remembered UpdatedAt with microseconds (12:00:00.000900) and a change at the same instant. ASFF
    timestamps carry milliseconds, so the new UpdatedAt text must still be later (not 12:00:00.000Z twice)."""
    # Given a state updated at a sub-millisecond instant
    at = NOW + timedelta(microseconds=900)
    states = remembered(plan([excess(["a"])], full_inventory(), PLACE, {}, at))

    # When it changes at that same instant
    (item,) = plan([excess(["a", "b"])], full_inventory(), PLACE, states, at)

    # Then the rendered UpdatedAt moved forward
    assert item.finding["UpdatedAt"] > timestamp(at)


def test_a_state_a_day_old_less_the_slack_is_refreshed_and_a_younger_one_is_not() -> None:
    """Input: an unchanged drift whose state is 23 hours old (the day's period less its one-hour slack), and one a
    minute younger. Must plan "refresh" for the first, re-sent with LastObservedAt moved to now, and nothing for the
    second."""
    # Given the drift was published 23 hours ago, and (separately) 22 h 59 min ago
    d = excess(["a"])
    due_at = REFRESH_AFTER - timedelta(hours=1)
    old = remembered(plan([d], full_inventory(), PLACE, {}, NOW - due_at))
    young = remembered(plan([d], full_inventory(), PLACE, {}, NOW - due_at + timedelta(minutes=1)))

    # When planned now
    refreshed = plan([d], full_inventory(), PLACE, old, NOW)
    quiet = plan([d], full_inventory(), PLACE, young, NOW)

    # Then only the old one is re-imported, with the same Id and CreatedAt and a later UpdatedAt
    assert REFRESH_AFTER.total_seconds() == 24 * 3600  # the default period: a day
    assert [p.reason for p in refreshed] == ["refresh"]
    (previous,) = old.values()
    assert refreshed[0].finding["Id"] == previous.finding_id
    assert refreshed[0].finding["CreatedAt"] == previous.finding["CreatedAt"]
    assert refreshed[0].finding["UpdatedAt"] == timestamp(NOW)
    assert refreshed[0].finding["RecordState"] == "ACTIVE"
    # And it says it is current: observed now, imported as a refresh, same content as before
    assert previous.finding["LastObservedAt"] == timestamp(NOW - due_at)
    assert refreshed[0].finding["LastObservedAt"] == timestamp(NOW)
    assert refreshed[0].finding["ProductFields"]["driftline/ImportReason"] == "refresh"
    assert refreshed[0].state.digest == previous.digest
    assert quiet == []


@pytest.mark.parametrize("now_offset", [timedelta(hours=2), -timedelta(minutes=1)], ids=["later", "clock-behind"])
def test_drift_gone_in_scope_is_resolved(now_offset: timedelta) -> None:
    """Input: alice's drift was published; now no drift, whole-account inventory (also with the clock a minute
    behind). Must plan "resolved": the same Id, ARCHIVED, Compliance PASSED, later UpdatedAt, CreatedAt kept."""
    # Given alice's drift is remembered as active
    states = remembered(plan([excess(["a"])], full_inventory(), PLACE, {}, NOW))
    (previous,) = states.values()

    # When a whole-account evaluation finds no drift
    (item,) = plan([], full_inventory(), PLACE, states, NOW + now_offset)

    # Then the finding is archived
    assert item.reason == "resolved"
    assert item.finding["Id"] == previous.finding_id
    assert item.finding["RecordState"] == "ARCHIVED"
    assert item.finding["Compliance"]["Status"] == "PASSED"
    assert item.finding["UpdatedAt"] > previous.finding["UpdatedAt"]
    assert item.finding["CreatedAt"] == previous.finding["CreatedAt"]
    assert item.state.record_state == "ARCHIVED"
    assert item.state.updated_at > previous.updated_at
    assert problems(item.finding) == []


def test_drift_gone_outside_the_scope_is_not_resolved() -> None:
    """Input: alice's and ops's drifts remembered; an event-scoped evaluation of bob only finds no drift. Must plan
    nothing: an evaluation never resolves findings of identities it did not look at."""
    # Given two active findings
    states = remembered(
        plan([excess(["a"]), drift(DriftType.STALE_CREDENTIAL, Kind.ROLE)], full_inventory(), PLACE, {}, NOW)
    )
    assert len(states) == 2

    # When an evaluation scoped to bob reports no drift
    planned = plan([], full_inventory(scope=frozenset({BOB})), PLACE, states, NOW + timedelta(hours=1))

    # Then nothing is resolved
    assert planned == []


def test_scoped_evaluation_resolves_only_its_own_identities() -> None:
    """Input: alice's user drift, alice's key drift and ops's drift remembered; an evaluation scoped to alice finds
    nothing. Must resolve alice's and her key's findings (a user's scope covers its keys) and leave ops's alone."""
    # Given three active findings
    drifts = [
        excess(["a"]),
        drift(DriftType.STALE_CREDENTIAL, Kind.ACCESS_KEY),
        drift(DriftType.STALE_CREDENTIAL, Kind.ROLE),
    ]
    states = remembered(plan(drifts, full_inventory(), PLACE, {}, NOW))

    # When alice alone is evaluated, without drift
    planned = plan([], full_inventory(scope=frozenset({ALICE})), PLACE, states, NOW + timedelta(hours=1))

    # Then only alice's two findings are archived
    assert sorted(p.state.identity for p in planned) == [f"access_key#{KEY}", "user#alice"]
    assert {p.reason for p in planned} == {"resolved"}


def test_archived_state_whose_drift_returns_is_reactivated_with_the_original_created_at() -> None:
    """Input: a drift published on day 0, resolved on day 1, back on day 2. Must plan "reactivated": same Id,
    RecordState ACTIVE, Compliance FAILED, the day-0 CreatedAt and an UpdatedAt later than the archive's."""
    # Given the drift was published then resolved
    d = excess(["a"])
    published = remembered(plan([d], full_inventory(), PLACE, {}, NOW))
    original = next(iter(published.values()))
    resolved = remembered(plan([], full_inventory(), PLACE, published, NOW + timedelta(days=1)))
    archived_state = next(iter(resolved.values()))
    assert archived_state.record_state == "ARCHIVED"

    # When the drift returns (even with the clock behind the archive)
    (item,) = plan([d], full_inventory(), PLACE, resolved, NOW + timedelta(hours=20))

    # Then the same finding is active again, created when it first appeared
    assert item.reason == "reactivated"
    assert item.finding["Id"] == original.finding_id
    assert item.finding["RecordState"] == "ACTIVE"
    assert item.finding["Compliance"]["Status"] == "FAILED"
    assert item.finding["CreatedAt"] == timestamp(NOW)
    assert item.state.created_at == original.created_at
    assert item.finding["UpdatedAt"] > archived_state.finding["UpdatedAt"]
    assert item.state.record_state == "ACTIVE"


def test_archived_state_without_drift_plans_nothing() -> None:
    """Input: an archived state and still no drift. Must plan nothing (no repeated archiving)."""
    # Given a resolved finding
    published = remembered(plan([excess(["a"])], full_inventory(), PLACE, {}, NOW))
    resolved = remembered(plan([], full_inventory(), PLACE, published, NOW + timedelta(days=1)))

    # When the next run also finds no drift, even long after
    planned = plan([], full_inventory(), PLACE, resolved, NOW + REFRESH_AFTER * 3)

    # Then nothing is sent
    assert planned == []


def test_a_full_lifecycle_keeps_one_id_and_monotonic_updates() -> None:
    """Input: new → same → changed → resolved → returned, each a plan on the states remembered by the one before.
    Must yield the reasons new, (nothing), changed, resolved, reactivated on one Id, each UpdatedAt later."""
    # Given a sequence of observations of alice, an hour apart
    sequence = [[excess(["a"])], [excess(["a"])], [excess(["a", "b"])], [], [excess(["a"])]]
    states: dict[str, FindingState] = {}
    reasons, ids, updates = [], set(), []

    # When each is planned on what the previous one remembered
    for hour, drifts in enumerate(sequence):
        planned = plan(drifts, full_inventory(), PLACE, states, NOW + timedelta(hours=hour))
        reasons.append([p.reason for p in planned])
        for p in planned:
            ids.add(p.finding["Id"])
            updates.append(p.finding["UpdatedAt"])
        states |= remembered(planned)

    # Then
    assert reasons == [["new"], [], ["changed"], ["resolved"], ["reactivated"]]
    assert len(ids) == 1
    assert updates == sorted(updates) and len(set(updates)) == len(updates)
