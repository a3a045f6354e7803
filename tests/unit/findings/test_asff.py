"""findings/asff.py: every drift type mapped to an ASFF finding Security Hub accepts (AWS-FACTS section 4).

moto accepts findings without Severity or Types, or about another account, so these checks run on what our mapping
produces, not on what a mock lets through.
"""

from __future__ import annotations

import json
from datetime import timedelta, timezone
from typing import Any

import pytest

from driftline.domain.drift import DriftType
from driftline.domain.identity import IdentityRef, Kind
from driftline.domain.registry import RegistryEntry
from driftline.domain.rules import RULES, severity_of
from driftline.findings.asff import (
    FINDING_MAX_BYTES,
    Place,
    content_digest,
    finding_id,
    resolved,
    to_asff,
    with_reason,
)
from driftline.findings.catalog import CATALOG
from tests.unit.domain.builders import days_ago, inventory, observed_user, policy_arn
from tests.unit.findings.support import (
    ACCOUNT,
    GONE_KEY,
    KEY,
    KIND_OF,
    NOW,
    PLACE,
    REGION,
    drift,
    full_inventory,
    problems,
)

CREATED = NOW - timedelta(days=3)

# Every (type, kind) pair compare() can report, so each resource type is mapped for each drift type that uses it.
PAIRS = [
    (DriftType.UNREGISTERED_IDENTITY, Kind.USER),
    (DriftType.UNREGISTERED_IDENTITY, Kind.ROLE),
    (DriftType.UNREGISTERED_IDENTITY, Kind.ACCESS_KEY),
    (DriftType.UNENFORCED_REVOCATION, Kind.USER),
    (DriftType.UNENFORCED_REVOCATION, Kind.ROLE),
    (DriftType.UNENFORCED_REVOCATION, Kind.ACCESS_KEY),
    (DriftType.REVOKED_CREDENTIAL_USED, Kind.USER),
    (DriftType.REVOKED_CREDENTIAL_USED, Kind.ACCESS_KEY),
    (DriftType.EXPIRED_BUT_ACTIVE, Kind.USER),
    (DriftType.EXPIRED_BUT_ACTIVE, Kind.ROLE),
    (DriftType.EXCESS_ENTITLEMENT, Kind.USER),
    (DriftType.EXCESS_ENTITLEMENT, Kind.ROLE),
    (DriftType.MISSING_ENTITLEMENT, Kind.USER),
    (DriftType.MISSING_ENTITLEMENT, Kind.ROLE),
    (DriftType.EXCESS_TRUST, Kind.ROLE),
    (DriftType.MISSING_TRUST, Kind.ROLE),
    (DriftType.MISSING_IDENTITY, Kind.USER),
    (DriftType.MISSING_IDENTITY, Kind.ROLE),
    (DriftType.STALE_CREDENTIAL, Kind.ROLE),
    (DriftType.STALE_CREDENTIAL, Kind.ACCESS_KEY),
]


def _finding(drift_type: DriftType, kind: Kind | None = None, **fields: Any) -> dict[str, Any]:
    return to_asff(drift(drift_type, kind, **fields), PLACE, full_inventory(), created_at=CREATED, updated_at=NOW)


def test_pairs_cover_every_drift_type() -> None:
    """The parametrisation below must not silently skip a drift type added later."""
    # Given the (type, kind) pairs the mapping tests run over
    # Then every DriftType appears, and the catalog has advice for each
    assert {t for t, _ in PAIRS} == set(DriftType)
    assert set(CATALOG) == set(DriftType) == set(KIND_OF)


@pytest.mark.parametrize(("drift_type", "kind"), PAIRS, ids=lambda v: str(v))
def test_every_drift_type_maps_to_a_complete_asff_finding(drift_type: DriftType, kind: Kind) -> None:
    """Input: one drift of each type (on each kind it applies to). Must produce a finding with the ten API-required
    fields valid, Severity and Types only in FindingProviderFields, the custom-product ARN and our account."""
    # Given a drift of this type on an identity of this kind
    # When it is mapped to ASFF
    finding = _finding(drift_type, kind)

    # Then Security Hub's rules all hold
    assert problems(finding) == []
    assert finding["SchemaVersion"] == "2018-10-08"
    assert finding["ProductArn"] == f"arn:aws:securityhub:{REGION}:{ACCOUNT}:product/{ACCOUNT}/default"
    assert finding["GeneratorId"] == f"driftline/{drift_type.value}"
    assert finding["AwsAccountId"] == ACCOUNT
    assert finding["CreatedAt"] == "2026-05-29T12:00:00.000Z"
    assert finding["UpdatedAt"] == "2026-06-01T12:00:00.000Z"
    assert "Severity" not in finding and "Types" not in finding
    # And the console names driftline, not "Personal"/"Default"
    assert (finding["CompanyName"], finding["ProductName"]) == ("driftline", "driftline")
    # And severity is the rule's (with the kind override), in Label and Original alike; types come from the catalog
    provider = finding["FindingProviderFields"]
    assert provider["Severity"]["Label"] == severity_of(drift_type, kind).value
    assert provider["Severity"]["Original"] == provider["Severity"]["Label"]
    assert provider["Types"] == list(CATALOG[drift_type].types)
    assert finding["Title"].startswith(RULES[drift_type].title)
    assert finding["RecordState"] == "ACTIVE"


@pytest.mark.parametrize("drift_type", list(DriftType), ids=str)
def test_compliance_remediation_and_product_fields(drift_type: DriftType) -> None:
    """Input: one drift of each type with an owner. Must carry Compliance FAILED with 1..32 requirement strings,
    a remediation text and https URL, and ProductFields naming the drift type and owner (all string values)."""
    # Given a drift owned by team-identity@example.com
    # When it is mapped
    finding = _finding(drift_type)

    # Then compliance, remediation and product fields are filled
    compliance = finding["Compliance"]
    assert compliance["Status"] == "FAILED"
    assert 1 <= len(compliance["RelatedRequirements"]) <= 32
    assert all(isinstance(r, str) and r for r in compliance["RelatedRequirements"])
    recommendation = finding["Remediation"]["Recommendation"]
    assert 1 <= len(recommendation["Text"]) <= 512  # the API's limit for Recommendation.Text
    assert recommendation["Url"].startswith("https://")
    fields = finding["ProductFields"]
    assert fields["driftline/DriftType"] == drift_type.value
    assert fields["driftline/Owner"] == "team-identity@example.com"
    assert all(isinstance(v, str) and len(v) <= 2048 for v in fields.values())


def test_unregistered_unknown_owner_is_said_in_the_description() -> None:
    """Input: an unregistered identity (owner None). Must say nobody owns it rather than print "None"."""
    # Given an ownerless drift
    finding = _finding(DriftType.UNREGISTERED_IDENTITY, Kind.USER, owner=None, ticket=None)

    # Then the description names no owner and no product field holds an empty or "None" value
    assert "Owner: nobody (not in the registry)." in finding["Description"]
    assert "None" not in finding["Description"]
    assert all(v not in ("", "None") for v in finding["ProductFields"].values())


def test_user_resource_details_come_from_the_inventory() -> None:
    """Input: an excess-entitlement drift on alice, who is in the inventory. Must produce one AwsIamUser resource
    whose Id is alice's ARN and whose details list her id, path, creation time, policies, groups, inline policies."""
    # Given alice with two managed policies, two groups and an inline policy
    # When her drift is mapped
    finding = _finding(DriftType.EXCESS_ENTITLEMENT, Kind.USER)

    # Then the resource describes her
    (resource,) = finding["Resources"]
    assert resource["Type"] == "AwsIamUser"
    assert resource["Id"] == f"arn:aws:iam::{ACCOUNT}:user/alice"
    assert resource["Partition"] == "aws" and resource["Region"] == REGION
    details = resource["Details"]["AwsIamUser"]
    user = full_inventory().users["alice"]
    assert details["UserName"] == "alice"
    assert details["UserId"] == user.principal_id
    assert details["Path"] == "/people/"
    assert details["CreateDate"] == "2026-05-02T12:00:00.000Z"
    assert [p["PolicyArn"] for p in details["AttachedManagedPolicies"]] == sorted(user.managed_policies)
    assert {p["PolicyName"] for p in details["AttachedManagedPolicies"]} == {"ReadOnlyAccess", "AdministratorAccess"}
    assert details["GroupList"] == ["admins", "devs"]
    assert details["UserPolicyList"] == [{"PolicyName": "extra"}]


def test_role_resource_details_come_from_the_inventory() -> None:
    """Input: a stale-credential drift on role ops (path /service/). Must produce an AwsIamRole resource with the
    role's ARN (path included), id, path, creation time and policies."""
    # Given role ops in the inventory
    # When its drift is mapped
    finding = _finding(DriftType.STALE_CREDENTIAL, Kind.ROLE)

    # Then the resource describes the role
    (resource,) = finding["Resources"]
    assert resource["Type"] == "AwsIamRole"
    assert resource["Id"] == f"arn:aws:iam::{ACCOUNT}:role/service/ops"
    details = resource["Details"]["AwsIamRole"]
    assert details["RoleName"] == "ops"
    assert details["RoleId"] == full_inventory().roles["ops"].principal_id
    assert details["Path"] == "/service/"
    assert details["CreateDate"] == "2025-04-27T12:00:00.000Z"
    assert details["AttachedManagedPolicies"] == [
        {"PolicyArn": "arn:aws:iam::aws:policy/PowerUserAccess", "PolicyName": "PowerUserAccess"}
    ]
    assert details["RolePolicyList"] == [{"PolicyName": "AWSRevokeOlderSessions"}]


def test_access_key_resource_names_key_status_creation_and_principal() -> None:
    """Input: a stale-credential drift on alice's key (Active, 200 days old). Must produce an AwsIamAccessKey with
    AccessKeyId, Status, CreatedAt, PrincipalName alice, PrincipalType IAMUser, PrincipalId and the account, followed
    by alice herself as the second resource."""
    # Given alice's key in the inventory
    # When its drift is mapped
    finding = _finding(DriftType.STALE_CREDENTIAL, Kind.ACCESS_KEY)

    # Then the access key details are complete
    resource, owner = finding["Resources"]
    assert resource["Type"] == "AwsIamAccessKey"
    assert resource["Id"] == f"AWS::IAM::AccessKey:{KEY}"
    assert (owner["Type"], owner["Id"]) == ("AwsIamUser", full_inventory().users["alice"].arn)
    details = resource["Details"]["AwsIamAccessKey"]
    assert details["AccessKeyId"] == KEY
    assert details["Status"] == "Active"
    assert details["CreatedAt"] == "2025-11-13T12:00:00.000Z"
    assert details["PrincipalName"] == "alice"
    assert details["PrincipalType"] == "IAMUser"
    assert details["PrincipalId"] == full_inventory().users["alice"].principal_id
    assert details["AccountId"] == ACCOUNT
    assert "UserName" not in details  # deprecated in ASFF


@pytest.mark.parametrize(
    ("kind", "name", "resource_type", "resource_id"),
    [
        (Kind.USER, "frank", "AwsIamUser", f"arn:aws:iam::{ACCOUNT}:user/frank"),
        (Kind.ROLE, "gone-role", "AwsIamRole", f"arn:aws:iam::{ACCOUNT}:role/gone-role"),
    ],
)
def test_missing_identity_still_gets_a_resource_with_a_constructed_arn(
    kind: Kind, name: str, resource_type: str, resource_id: str
) -> None:
    """Input: a missing-identity drift on a user/role IAM does not have. Must still carry one resource of the right
    type, identified by the ARN the identity would have, with only its name in the details."""
    # Given a registry identity absent from the inventory
    assert name not in full_inventory().users and name not in full_inventory().roles

    # When its drift is mapped
    finding = _finding(DriftType.MISSING_IDENTITY, kind, name=name)

    # Then the resource is built from the name alone
    (resource,) = finding["Resources"]
    assert resource["Type"] == resource_type
    assert resource["Id"] == resource_id
    assert list(resource["Details"][resource_type].values()) == [name]
    assert problems(finding) == []


def test_key_absent_from_inventory_still_gets_a_resource() -> None:
    """Input: a drift on an access key the inventory does not hold. Must still carry an AwsIamAccessKey resource
    with the key id and its user (no Status/CreatedAt can be known)."""
    # When a drift on a vanished key is mapped
    finding = _finding(DriftType.MISSING_IDENTITY, Kind.ACCESS_KEY, name=GONE_KEY)

    # Then the resource names the key and its user
    resource, owner = finding["Resources"]
    details = resource["Details"]["AwsIamAccessKey"]
    assert resource["Id"] == f"AWS::IAM::AccessKey:{GONE_KEY}"
    assert owner["Id"] == full_inventory().users["alice"].arn
    assert details["AccessKeyId"] == GONE_KEY and details["PrincipalName"] == "alice"
    assert "Status" not in details


def test_id_is_stable_across_summary_and_evidence() -> None:
    """Input: the same drift (type + identity) with different summary, evidence, owner and since. Must map to the
    same Id (one finding for the life of the drift), and to a different Id for another type or identity."""
    # Given two reports of alice's excess entitlement, worded differently, and other drifts
    first = _finding(DriftType.EXCESS_ENTITLEMENT, Kind.USER, summary="one policy", evidence={"policies": ["a"]})
    second = _finding(
        DriftType.EXCESS_ENTITLEMENT,
        Kind.USER,
        summary="two policies now",
        evidence={"policies": ["a", "b"]},
        owner="someone-else",
        since=days_ago(2),
    )
    other_type = _finding(DriftType.EXPIRED_BUT_ACTIVE, Kind.USER)
    other_user = _finding(DriftType.EXCESS_ENTITLEMENT, Kind.USER, name="bob")

    # Then the Id depends only on account, region, type and identity
    assert first["Id"] == second["Id"]
    assert first["Id"] == f"driftline/{ACCOUNT}/{REGION}/excess-entitlement/user/alice"
    assert first["Id"] == finding_id(PLACE, DriftType.EXCESS_ENTITLEMENT, IdentityRef(kind=Kind.USER, name="alice"))
    assert len({first["Id"], other_type["Id"], other_user["Id"]}) == 3
    # And the content differs, so the plan can tell a change
    assert content_digest(first) != content_digest(second)


def test_id_differs_per_account_and_region() -> None:
    """Input: the same drift mapped for two regions and two accounts. Must give distinct Ids (findings of one place
    never overwrite another's)."""
    # Given the same drift
    d = drift(DriftType.EXCESS_ENTITLEMENT, Kind.USER)
    places = [PLACE, Place(account_id=ACCOUNT, region="us-east-1"), Place(account_id="210987654321", region=REGION)]

    # When it is mapped for each place
    ids = {to_asff(d, p, full_inventory(), created_at=CREATED, updated_at=NOW)["Id"] for p in places}

    # Then every place has its own id
    assert len(ids) == 3


def test_long_summary_and_name_are_clipped() -> None:
    """Input: a 2,000-character identity name and summary, and 50 KB of evidence. Must clip Title to 256 and
    Description to 1024 characters (ending with an ellipsis) and keep the finding under 240 KB."""
    # Given an oversized drift
    long_name = "n" * 2000
    finding = _finding(
        DriftType.MISSING_IDENTITY,
        Kind.USER,
        name=long_name,
        summary="s" * 2000,
        evidence={"blob": "x" * 50_000},
    )

    # Then text fields are clipped to the ASFF limits
    assert len(finding["Title"]) == 256 and finding["Title"].endswith("…")
    assert len(finding["Description"]) == 1024 and finding["Description"].endswith("…")
    assert len(finding["ProductFields"]["driftline/Evidence"]) <= 2048
    assert len(json.dumps(finding).encode()) <= FINDING_MAX_BYTES


def test_realistic_longest_names_keep_the_id_under_512() -> None:
    """Input: a 128-character name (the longest the registry accepts) in the longest region name. Must keep the
    Id within ASFF's 512 characters."""
    # Given the longest identity name the registry validates
    place = Place(account_id=ACCOUNT, region="ap-southeast-7-long-region")
    d = drift(DriftType.MISSING_IDENTITY, Kind.USER, name="u" * 128)

    # When mapped
    finding = to_asff(d, place, full_inventory(), created_at=CREATED, updated_at=NOW)

    # Then
    assert len(finding["Id"]) <= 512
    assert problems(finding, place) == []


def test_a_big_inventory_identity_stays_under_240_kb() -> None:
    """Input: a user with 20 managed policies, 10 groups and 500 inline policy names of 128 characters. Must map to
    a finding under Security Hub's 240 KB limit."""
    # Given a maximal user
    big = observed_user(
        "alice",
        managed_policies=frozenset(policy_arn(f"P{i:03d}" + "p" * 100) for i in range(20)),
        groups=frozenset(f"g{i}" + "g" * 100 for i in range(10)),
        inline_policies=frozenset(f"{i:03d}" + "i" * 125 for i in range(500)),
    )

    # When its drift is mapped
    finding = to_asff(
        drift(DriftType.EXCESS_ENTITLEMENT, Kind.USER),
        PLACE,
        inventory(users=[big]),
        created_at=CREATED,
        updated_at=NOW,
    )

    # Then the size is within the limit
    assert len(json.dumps(finding).encode()) <= FINDING_MAX_BYTES


def test_timestamps_are_utc_with_milliseconds_from_any_offset() -> None:
    """Input: created/updated times with a +02:00 offset and microseconds. Must render as UTC ``...sss Z``."""
    # Given times in another offset
    local = NOW.astimezone(timezone(timedelta(hours=2))) + timedelta(microseconds=123_456)

    # When mapped
    finding = to_asff(drift(DriftType.EXCESS_ENTITLEMENT), PLACE, full_inventory(), created_at=local, updated_at=local)

    # Then both read in UTC, truncated to milliseconds
    assert finding["CreatedAt"] == finding["UpdatedAt"] == "2026-06-01T12:00:00.123Z"


def test_resolved_keeps_the_finding_and_moves_it_to_archived_with_a_later_update() -> None:
    """Input: an active finding resolved one minute later. Must keep the Id and CreatedAt, set RecordState
    ARCHIVED, Compliance PASSED (requirements kept), a later UpdatedAt, and leave the original untouched."""
    # Given an active finding
    active = _finding(DriftType.EXCESS_ENTITLEMENT, Kind.USER)
    before = json.dumps(active, sort_keys=True)

    # When it is resolved
    done = resolved(
        active,
        place=PLACE,
        identity=IdentityRef(kind=Kind.USER, name="alice"),
        user=None,
        inventory=full_inventory(),
        updated_at=NOW + timedelta(minutes=1),
    )

    # Then it is a resolution of the same finding
    assert done["Id"] == active["Id"]
    assert done["CreatedAt"] == active["CreatedAt"]
    assert done["RecordState"] == "ARCHIVED"
    assert done["Compliance"]["Status"] == "PASSED"
    assert done["Compliance"]["RelatedRequirements"] == active["Compliance"]["RelatedRequirements"]
    assert done["UpdatedAt"] > active["UpdatedAt"]
    assert problems(done) == []
    # And the active finding was not modified in place
    assert json.dumps(active, sort_keys=True) == before


def test_first_observed_at_is_when_the_drift_began() -> None:
    """Input: a drift with ``since`` two days ago, and one without. Must set FirstObservedAt to that time, and
    without it to when driftline first reported the drift (CreatedAt)."""
    # Given drifts with and without a start time
    with_since = _finding(DriftType.EXPIRED_BUT_ACTIVE, since=days_ago(2))
    without = _finding(DriftType.EXPIRED_BUT_ACTIVE)

    # Then
    assert with_since["FirstObservedAt"] == "2026-05-30T12:00:00.000Z"
    assert without["FirstObservedAt"] == without["CreatedAt"] == "2026-05-29T12:00:00.000Z"


def test_digest_ignores_only_the_timestamps_and_the_import_reason() -> None:
    """Input: one drift (begun two days ago) mapped at two different times with different observation times and
    import reasons, and once with a different summary. Must digest the same when only CreatedAt, UpdatedAt,
    LastObservedAt and driftline/ImportReason differ, differently when the content differs."""
    # Given the same drift mapped at two times, and a reworded one
    d = drift(DriftType.EXCESS_ENTITLEMENT, since=days_ago(2))
    a = with_reason(to_asff(d, PLACE, full_inventory(), created_at=CREATED, updated_at=NOW), "new")
    b = with_reason(
        to_asff(
            d,
            PLACE,
            full_inventory(),
            created_at=NOW,
            updated_at=NOW + timedelta(days=1),
            observed_at=NOW + timedelta(hours=23),
        ),
        "refresh",
    )
    c = to_asff(d.model_copy(update={"summary": "other"}), PLACE, full_inventory(), created_at=CREATED, updated_at=NOW)

    # Then
    assert a["LastObservedAt"] != b["LastObservedAt"]
    assert content_digest(a) == content_digest(b)
    assert content_digest(a) != content_digest(c)


def test_product_field_values_stay_within_2048_characters() -> None:
    """Input: a registry entry whose owner and ticket are 3,000 characters (the registry accepts them). Must still
    produce ProductFields values of at most 2048 characters (ASFF: up to 50 pairs, keys <= 128, values <= 2048)."""
    # Given an owner and a ticket the registry validates
    long_owner, long_ticket = "o" * 3000, "T" * 3000
    entry = RegistryEntry.model_validate({"kind": "user", "name": "alice", "owner": long_owner, "ticket": long_ticket})
    assert entry.owner == long_owner and entry.ticket == long_ticket

    # When a drift carrying them is mapped
    finding = _finding(DriftType.EXPIRED_BUT_ACTIVE, Kind.USER, owner=entry.owner, ticket=entry.ticket)

    # Then every product field value is within Security Hub's limit
    fields = finding["ProductFields"]
    assert len(fields) <= 50 and all(len(k) <= 128 for k in fields)
    assert {k: len(v) for k, v in fields.items() if len(v) > 2048} == {}
