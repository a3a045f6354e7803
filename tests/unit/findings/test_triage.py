"""Findings that triage themselves: who made them, what a resolution says, what a severity is, evidence that stays
JSON, the context a triager needs (trust policy principals, tags, a key's user), resource ids other AWS producers
use, why each import was sent, and how fresh an open finding is.

Each test names the input it tries and what must happen; each fails if the mapping or the plan regresses.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta
from typing import Any

import pytest

from driftline.domain.compare import compare
from driftline.domain.drift import Drift, DriftType
from driftline.domain.identity import IdentityRef, Kind
from driftline.domain.observed import Inventory
from driftline.domain.settings import CompareSettings
from driftline.findings.asff import EVIDENCE_MAX, PRODUCT_FIELD_MAX, resolved, to_asff
from driftline.findings.plan import REFRESH_AFTER, FindingState, Planned, plan
from tests.unit.domain.builders import (
    days_ago,
    inactive,
    inventory,
    key_entry,
    observed_key,
    observed_role,
    observed_user,
    revoked,
    user_entry,
)
from tests.unit.findings.support import KEY, NOW, PLACE, drift, full_inventory, problems

CREATED = NOW - timedelta(days=3)


def remembered(planned: list[Planned]) -> dict[str, FindingState]:
    return {p.state.finding_id: p.state for p in planned}


def _map(d: Drift, inv: Inventory | None = None) -> dict[str, Any]:
    return to_asff(d, PLACE, inv or full_inventory(), created_at=CREATED, updated_at=NOW)


# --- who made it -------------------------------------------------------------------------------------------------


def test_company_and_product_name_survive_a_resolution() -> None:
    """Input: a finding planned new, then resolved by a run that finds no drift. Must name driftline as company and
    product on both imports (Security Hub's console otherwise shows "Personal" / "Default")."""
    # Given a published drift, then a run without it
    states = remembered(plan([drift(DriftType.EXCESS_ENTITLEMENT, Kind.USER)], full_inventory(), PLACE, {}, NOW))
    (item,) = plan([], full_inventory(), PLACE, states, NOW + timedelta(hours=1))

    # Then both the first import and the resolution carry the names
    for finding in (next(iter(states.values())).finding, item.finding):
        assert (finding["CompanyName"], finding["ProductName"]) == ("driftline", "driftline")


# --- what a severity is --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("drift_type", list(DriftType), ids=str)
def test_severity_original_is_a_severity_not_the_drift_type(drift_type: DriftType) -> None:
    """Input: one drift of each type. Must set FindingProviderFields.Severity.Original to the severity label
    (CRITICAL..INFORMATIONAL, as Security Hub's own controls do), never to the drift type."""
    # When mapped
    severity = _map(drift(drift_type))["FindingProviderFields"]["Severity"]

    # Then Original is the label
    assert severity["Original"] == severity["Label"]
    assert severity["Original"] in {"CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL"}
    assert severity["Original"] != drift_type.value


# --- evidence that stays JSON -------------------------------------------------------------------------------------


OVERSIZED: dict[str, dict[str, Any]] = {
    "long list": {"policies": [f"arn:aws:iam::123456789012:policy/p{i:05d}" for i in range(5000)]},
    "many keys": {f"field{i:04d}": "v" * 400 for i in range(300)},
    "long strings": {"a": "x" * 100_000, "b": ["y" * 10_000] * 3},
    "non-ascii": {"owners": ["équipe-sécurité-" + "é" * 300] * 40},
    "nested": {"outer": [{"inner": [{"deep": ["z" * 300] * 60}] * 10}] * 10},
}


@pytest.mark.parametrize("evidence", list(OVERSIZED.values()), ids=list(OVERSIZED))
def test_oversized_evidence_stays_valid_json_within_the_product_field_limit(evidence: dict[str, Any]) -> None:
    """Input: evidence far over the 2,048-character ProductFields value limit (a 5,000-item list, 300 long fields, a
    100,000-character string, non-ASCII text, deep nesting). Must produce driftline/Evidence that json.loads reads,
    within EVIDENCE_MAX (and so the ASFF limit), and that says it was shortened."""
    # Given a drift with oversized evidence
    d = drift(DriftType.EXCESS_ENTITLEMENT, Kind.USER, evidence=evidence)

    # When mapped
    text = _map(d)["ProductFields"]["driftline/Evidence"]

    # Then it is JSON, within the limits, and marked as shortened
    parsed = json.loads(text)
    assert len(text) <= EVIDENCE_MAX <= PRODUCT_FIELD_MAX
    assert isinstance(parsed, dict)
    assert "more" in text or "clipped" in text or "…" in text


# --- context a triager needs --------------------------------------------------------------------------------------


def test_role_finding_carries_the_trust_policys_principals_and_the_roles_tags() -> None:
    """Input: role deploy trusted by an account root and a service, tagged team=payments, env=prod and an empty
    value. Must list the principals (sorted JSON) in driftline/TrustedPrincipals and the non-empty tags in the
    role resource's Tags."""
    # Given the role
    role = observed_role(
        "deploy",
        assumable_by=("Service:codebuild.amazonaws.com", "AWS:arn:aws:iam::111122223333:root"),
        tags={"team": "payments", "env": "prod", "note": ""},
    )
    d = drift(DriftType.UNREGISTERED_IDENTITY, Kind.ROLE, name="deploy", owner=None)

    # When mapped
    finding = _map(d, inventory(roles=[role]))

    # Then the principals and tags are there
    assert json.loads(finding["ProductFields"]["driftline/TrustedPrincipals"]) == [
        "AWS:arn:aws:iam::111122223333:root",
        "Service:codebuild.amazonaws.com",
    ]
    (resource,) = finding["Resources"]
    assert resource["Tags"] == {"env": "prod", "team": "payments"}
    assert problems(finding) == []


@pytest.mark.parametrize(
    ("assumable_by", "expected"),
    [((), "[]"), (None, None)],
    ids=["nobody", "not-read"],
)
def test_trust_principals_say_nobody_or_are_left_out_when_unknown(
    assumable_by: tuple[str, ...] | None, expected: str | None
) -> None:
    """Input: a role whose trust policy admits nobody, and one whose trust policy was not read. Must write "[]" for
    the first and leave the field out for the second (unknown is not "nobody")."""
    # Given the role
    role = observed_role("deploy", assumable_by=assumable_by)

    # When its drift is mapped
    fields = _map(drift(DriftType.STALE_CREDENTIAL, Kind.ROLE, name="deploy"), inventory(roles=[role]))["ProductFields"]

    # Then
    assert fields.get("driftline/TrustedPrincipals") == expected


def test_key_finding_names_the_owning_user_as_a_second_resource_with_tags() -> None:
    """Input: a stale-credential drift on carol's key; carol is tagged team=data. Must list the key first (its id
    in the form GuardDuty uses, AWS::IAM::AccessKey:<id>) and carol second, by her ARN, with her id and tags."""
    # Given carol and her key
    carol = observed_user("carol", tags={"team": "data"})
    inv = inventory(users=[carol], keys=[observed_key(KEY, "carol", created_at=days_ago(200))])
    d = drift(DriftType.STALE_CREDENTIAL, Kind.ACCESS_KEY).model_copy(update={"user": "carol"})

    # When mapped
    key, user = _map(d, inv)["Resources"]

    # Then
    assert (key["Type"], key["Id"]) == ("AwsIamAccessKey", f"AWS::IAM::AccessKey:{KEY}")
    assert key["Details"]["AwsIamAccessKey"]["PrincipalName"] == "carol"
    assert (user["Type"], user["Id"]) == ("AwsIamUser", carol.arn)
    assert user["Details"]["AwsIamUser"]["UserId"] == carol.principal_id
    assert user["Tags"] == {"team": "data"}


def test_user_and_role_resources_are_identified_by_arn() -> None:
    """Input: drifts on user alice and role ops. Must identify them by ARN, the form Security Hub's IAM controls
    use for AwsIamUser/AwsIamRole, so views group driftline's findings with theirs."""
    # When mapped
    user = _map(drift(DriftType.EXCESS_ENTITLEMENT, Kind.USER))["Resources"][0]
    role = _map(drift(DriftType.EXCESS_ENTITLEMENT, Kind.ROLE))["Resources"][0]

    # Then
    assert user["Id"] == full_inventory().users["alice"].arn
    assert role["Id"] == full_inventory().roles["ops"].arn
    assert all(r["Id"].startswith("arn:aws:iam::") for r in (user, role))


# --- a resolution says it is resolved ------------------------------------------------------------------------------


def _revoked_key_world() -> tuple[list[Any], Inventory]:
    """alice's key revoked two days ago in the registry and still Active in IAM."""
    entries = [user_entry("alice"), revoked(key_entry(KEY, "alice"), days_ago(2))]
    return entries, inventory(users=[observed_user("alice")], keys=[observed_key(KEY, "alice")])


def test_a_resolved_revocation_says_resolved_and_shows_the_key_inactive() -> None:
    """Input: the unenforced revocation of alice's key ("IAM still allows it: access key ... is Active"), published,
    then the key deactivated and the account compared again. Must import the same finding ARCHIVED, Compliance
    PASSED, titled and described as resolved (the old text only after "Last reported:"), the key resource Inactive,
    no Workflow, LastObservedAt unchanged, and why it was sent (resolved) with the time."""
    # Given the published unenforced revocation
    entries, before = _revoked_key_world()
    first = compare(entries, before, CompareSettings(), NOW)
    (open_drift,) = [d for d in first.drifts if d.type is DriftType.UNENFORCED_REVOCATION]
    assert "IAM still allows it" in open_drift.summary
    states = remembered(plan(first.drifts, before, PLACE, {}, NOW))
    opened = states[next(fid for fid in states if "unenforced-revocation" in fid)].finding

    # When the key is deactivated and the account compared an hour later
    after = inventory(users=[observed_user("alice")], keys=[inactive(observed_key(KEY, "alice"))])
    later = NOW + timedelta(hours=1)
    second = compare(entries, after, CompareSettings(), later)
    (item,) = [p for p in plan(second.drifts, after, PLACE, states, later) if p.finding["Id"] == opened["Id"]]
    finding = item.finding

    # Then the resolution is consistent and says so
    assert item.reason == "resolved"
    assert (finding["RecordState"], finding["Compliance"]["Status"]) == ("ARCHIVED", "PASSED")
    assert finding["Title"] == f"Resolved: {opened['Title']}"
    assert finding["Description"].startswith("Resolved 2026-06-01 13:00 UTC: driftline evaluated the identity again")
    head, _, last = finding["Description"].partition("Last reported: ")
    assert "still allows" not in head and "still allows" in last
    (key_resource, _owner) = finding["Resources"]
    assert key_resource["Details"]["AwsIamAccessKey"]["Status"] == "Inactive"
    assert "Workflow" not in finding
    assert finding["LastObservedAt"] == opened["LastObservedAt"]
    assert finding["ProductFields"]["driftline/ImportReason"] == "resolved"
    assert finding["ProductFields"]["driftline/ResolvedAt"] == finding["UpdatedAt"]
    assert problems(finding) == []


def test_a_key_deleted_since_keeps_its_resources_without_a_stale_status() -> None:
    """Input: a finding about alice's Active key, resolved after the key was deleted from IAM (the inventory no
    longer has it). Must keep the key and its user as resources but drop the key's Status, no longer true."""
    # Given the finding as sent while the key was Active
    entries, before = _revoked_key_world()
    (d,) = [x for x in compare(entries, before, CompareSettings(), NOW).drifts if x.identity.name == KEY][:1]
    active = to_asff(d, PLACE, before, created_at=NOW, updated_at=NOW)
    assert active["Resources"][0]["Details"]["AwsIamAccessKey"]["Status"] == "Active"

    # When resolved with the key gone
    done = resolved(
        active,
        place=PLACE,
        identity=IdentityRef(kind=Kind.ACCESS_KEY, name=KEY),
        user="alice",
        inventory=inventory(users=[observed_user("alice")]),
        updated_at=NOW + timedelta(hours=1),
    )

    # Then the key is still named, without a status
    key_resource, owner = done["Resources"]
    assert key_resource["Id"] == f"AWS::IAM::AccessKey:{KEY}"
    assert "Status" not in key_resource["Details"]["AwsIamAccessKey"]
    assert owner["Type"] == "AwsIamUser"


def test_a_reactivated_finding_reads_as_open_again() -> None:
    """Input: a drift published, resolved, then back. Must import it ACTIVE/FAILED with the original title (no
    "Resolved:"), no ResolvedAt, and reason reactivated."""
    # Given a published then resolved drift
    d = drift(DriftType.EXCESS_ENTITLEMENT, Kind.USER)
    states = remembered(plan([d], full_inventory(), PLACE, {}, NOW))
    states = remembered(plan([], full_inventory(), PLACE, states, NOW + timedelta(hours=1)))

    # When it returns
    (item,) = plan([d], full_inventory(), PLACE, states, NOW + timedelta(hours=2))

    # Then
    assert item.reason == "reactivated"
    assert (item.finding["RecordState"], item.finding["Compliance"]["Status"]) == ("ACTIVE", "FAILED")
    assert not item.finding["Title"].startswith("Resolved")
    assert "driftline/ResolvedAt" not in item.finding["ProductFields"]
    assert item.finding["ProductFields"]["driftline/ImportReason"] == "reactivated"


# --- why each import was sent -------------------------------------------------------------------------------------


def test_every_planned_import_says_why_it_was_sent() -> None:
    """Input: new, then changed, then a day quiet (refresh), then gone (resolved), then back (reactivated). Must label
    each finding's driftline/ImportReason with the plan's reason (an EventBridge rule pages on new/reactivated)."""
    sequence: list[tuple[datetime, list[Drift]]] = [
        (NOW, [drift(DriftType.EXCESS_ENTITLEMENT, Kind.USER, evidence={"policies": ["a"]})]),
        (NOW + timedelta(hours=1), [drift(DriftType.EXCESS_ENTITLEMENT, Kind.USER, evidence={"policies": ["b"]})]),
        (
            NOW + timedelta(days=1, hours=1),
            [drift(DriftType.EXCESS_ENTITLEMENT, Kind.USER, evidence={"policies": ["b"]})],
        ),
        (NOW + timedelta(days=1, hours=2), []),
        (NOW + timedelta(days=1, hours=3), [drift(DriftType.EXCESS_ENTITLEMENT, Kind.USER)]),
    ]
    states: dict[str, FindingState] = {}
    labels = []
    for at, drifts in sequence:
        (item,) = plan(drifts, full_inventory(), PLACE, states, at)
        labels.append((item.reason, item.finding["ProductFields"]["driftline/ImportReason"]))
        states |= remembered([item])

    assert labels == [(r, r) for r in ("new", "changed", "refresh", "resolved", "reactivated")]


# --- how fresh an open finding is ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "quiet_for", "refreshed"),
    [
        (timedelta(hours=6), timedelta(hours=5, minutes=24), True),  # 6 h less a tenth (36 min)
        (timedelta(hours=6), timedelta(hours=5, minutes=23), False),
        (timedelta(days=14), timedelta(days=2), False),
        (timedelta(days=14), timedelta(days=13, hours=23), True),  # 14 days less the one-hour cap
    ],
    ids=["6h-due", "6h-early", "14d-early", "14d-due"],
)
def test_the_refresh_period_is_configurable(period: timedelta, quiet_for: timedelta, refreshed: bool) -> None:
    """Input: an unchanged drift, published, then planned again after ``quiet_for`` with refresh period ``period``.
    Must refresh exactly when the period (less a tenth of it, at most an hour) has passed."""
    # Given a published drift
    d = drift(DriftType.EXCESS_ENTITLEMENT, Kind.USER)
    states = remembered(plan([d], full_inventory(), PLACE, {}, NOW, refresh_after=period))

    # When planned again later
    planned = plan([d], full_inventory(), PLACE, states, NOW + quiet_for, refresh_after=period)

    # Then
    assert [p.reason for p in planned] == (["refresh"] if refreshed else [])


@pytest.mark.parametrize("period", [timedelta(0), timedelta(days=61)], ids=["zero", "over-60-days"])
def test_a_refresh_period_outside_the_safe_range_is_refused(period: timedelta) -> None:
    """Input: a refresh period of zero (every run would import everything) and one of 61 days (too close to Security
    Hub's 90-day deletion). Must raise ValueError."""
    with pytest.raises(ValueError, match="refresh period"):
        plan([], full_inventory(), PLACE, {}, NOW, refresh_after=period)


def test_hourly_quiet_runs_refresh_once_a_day_and_cost_one_call_per_100_findings() -> None:
    """Input: 250 open, unchanged drifts and 72 hourly runs whose start drifts by a few minutes (5, 2, 9, 0, 7 past
    the hour...). Must import all 250 once per day (3 BatchImportFindings calls of <= 100) and nothing in every other
    run: LastObservedAt is then never more than a day and an hour old."""
    # Given 250 drifts published at the first run
    drifts = [drift(DriftType.UNREGISTERED_IDENTITY, Kind.USER, name=f"user{i:03d}", owner=None) for i in range(250)]
    jitter = [5, 2, 9, 0, 7, 3, 8, 1, 6, 4]
    states: dict[str, FindingState] = {}
    calls: list[int] = []
    oldest_observation = timedelta(0)

    # When the account is reconciled every hour for three days
    for hour in range(72):
        at = NOW + timedelta(hours=hour, minutes=jitter[hour % len(jitter)])
        planned = plan(drifts, inventory(), PLACE, states, at)
        calls.append(math.ceil(len(planned) / 100))  # the importer's batches of at most 100
        states |= remembered(planned)
        oldest_observation = max(oldest_observation, at - min(s.updated_at for s in states.values()))

    # Then the first run and one run a day import everything (3 calls each); every other run makes no call
    busy = [hour for hour, count in enumerate(calls) if count]
    assert [calls[h] for h in busy] == [3, 3, 3]
    assert busy[0] == 0
    assert all(22 <= later - earlier <= 25 for earlier, later in zip(busy, busy[1:], strict=False))
    assert sum(calls) == 9 and calls.count(0) == 69
    # And no open finding's LastObservedAt is ever more than the period and one run old
    assert oldest_observation <= REFRESH_AFTER + timedelta(hours=1)


# --- the hygiene switch does not resolve what it no longer judges -------------------------------------------------


def test_hygiene_off_neither_raises_nor_resolves_stale_credential_findings() -> None:
    """Input: alice's 200-day-old key published as stale-credential (hygiene on); then the account compared with
    hygiene off. Must raise no stale-credential drift, leave the open finding alone (not archive it: nothing
    judged it), and still resolve other types that ended."""
    # Given a stale key and an unregistered role, published with the hygiene checks on
    entries = [user_entry("alice"), key_entry(KEY, "alice")]
    inv = inventory(
        users=[observed_user("alice")],
        roles=[observed_role("stray")],
        keys=[observed_key(KEY, "alice", created_at=days_ago(200))],
    )
    first = compare(entries, inv, CompareSettings(), NOW)
    assert {d.type for d in first.drifts} == {DriftType.STALE_CREDENTIAL, DriftType.UNREGISTERED_IDENTITY}
    states = remembered(plan(first.drifts, inv, PLACE, {}, NOW, judged=first.judged))

    # When the role is gone and the account is compared with the hygiene checks off
    later = NOW + timedelta(hours=1)
    without_role = inv.model_copy(update={"roles": {}})
    second = compare(entries, without_role, CompareSettings(hygiene=False), later)
    planned = plan(second.drifts, without_role, PLACE, states, later, judged=second.judged)

    # Then no stale-credential drift, its finding untouched, and the role's finding resolved
    assert second.drifts == ()
    assert second.judged is not None and DriftType.STALE_CREDENTIAL not in second.judged
    assert [(p.state.drift_type, p.reason) for p in planned] == [("unregistered-identity", "resolved")]
