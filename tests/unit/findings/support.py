"""Builders for the findings tests: one drift per (type, kind), the inventory that holds its identities, and the
ASFF rules (AWS-FACTS section 4) that moto does not enforce, written as reusable checks."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from driftline.domain.drift import Drift, DriftType
from driftline.domain.identity import IdentityRef, Kind
from driftline.domain.observed import Inventory
from driftline.domain.rules import severity_of
from driftline.findings.asff import Place
from tests.unit.domain.builders import (
    ACCOUNT,
    NOW,
    days_ago,
    inventory,
    key_id,
    observed_key,
    observed_role,
    observed_user,
    policy_arn,
)

REGION = "eu-west-1"
PLACE = Place(account_id=ACCOUNT, region=REGION)
KEY = key_id(7)
GONE_KEY = key_id(8)  # a key the inventory does not hold

# The five ASFF type namespaces; a type is namespace/category[/classifier].
NAMESPACES = {
    "Software and Configuration Checks",
    "TTPs",
    "Effects",
    "Unusual Behaviors",
    "Sensitive Data Identifications",
}
REQUIRED = (
    "SchemaVersion",
    "Id",
    "ProductArn",
    "GeneratorId",
    "AwsAccountId",
    "CreatedAt",
    "UpdatedAt",
    "Title",
    "Description",
    "Resources",
)
# Fields a provider must not set at the top level (FindingProviderFields holds them) or cannot change.
NOT_FROM_PROVIDER = (
    "Severity",
    "Types",
    "Confidence",
    "Criticality",
    "RelatedFindings",
    "Note",
    "UserDefinedFields",
    "VerificationState",
    "Workflow",
)
ASFF_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")

# The identity kind each drift type is mapped with in the "every type" tests (missing-identity: not in IAM).
KIND_OF: dict[DriftType, Kind] = {
    DriftType.UNREGISTERED_IDENTITY: Kind.ACCESS_KEY,
    DriftType.UNENFORCED_REVOCATION: Kind.USER,
    DriftType.REVOKED_CREDENTIAL_USED: Kind.ACCESS_KEY,
    DriftType.EXPIRED_BUT_ACTIVE: Kind.USER,
    DriftType.EXCESS_ENTITLEMENT: Kind.ROLE,
    DriftType.MISSING_ENTITLEMENT: Kind.ROLE,
    DriftType.MISSING_IDENTITY: Kind.USER,
    DriftType.STALE_CREDENTIAL: Kind.ACCESS_KEY,
    DriftType.EXCESS_TRUST: Kind.ROLE,
    DriftType.MISSING_TRUST: Kind.ROLE,
}


def full_inventory(scope: frozenset[IdentityRef] | None = None) -> Inventory:
    """alice (policies, group, inline policy, key KEY), bob, role ops (path /service/). No frank, no GONE_KEY."""
    inv = inventory(
        users=[
            observed_user(
                "alice",
                path="/people/",
                created_at=days_ago(30),
                managed_policies=frozenset({policy_arn("ReadOnlyAccess"), policy_arn("AdministratorAccess")}),
                inline_policies=frozenset({"extra"}),
                groups=frozenset({"devs", "admins"}),
            ),
            observed_user("bob"),
        ],
        roles=[
            observed_role(
                "ops",
                path="/service/",
                created_at=days_ago(400),
                managed_policies=frozenset({policy_arn("PowerUserAccess")}),
                inline_policies=frozenset({"AWSRevokeOlderSessions"}),
            )
        ],
        keys=[observed_key(KEY, "alice", created_at=days_ago(200))],
    )
    return inv if scope is None else inv.model_copy(update={"scope": scope})


def name_for(kind: Kind, drift_type: DriftType) -> str:
    if drift_type is DriftType.MISSING_IDENTITY:
        return {Kind.USER: "frank", Kind.ROLE: "gone-role", Kind.ACCESS_KEY: GONE_KEY}[kind]
    return {Kind.USER: "alice", Kind.ROLE: "ops", Kind.ACCESS_KEY: KEY}[kind]


def drift(
    drift_type: DriftType,
    kind: Kind | None = None,
    *,
    name: str | None = None,
    summary: str | None = None,
    evidence: dict[str, Any] | None = None,
    owner: str | None = "team-identity@example.com",
    ticket: str | None = "SEC-1",
    since: datetime | None = None,
) -> Drift:
    """A drift as compare() would report it (severity from domain/rules.py, a key's user filled in)."""
    kind = kind or KIND_OF[drift_type]
    name = name or name_for(kind, drift_type)
    return Drift(
        type=drift_type,
        severity=severity_of(drift_type, kind),
        identity=IdentityRef(kind=kind, name=name),
        user="alice" if kind is Kind.ACCESS_KEY else None,
        owner=owner,
        ticket=ticket,
        summary=summary or f"{kind.label} {name}: {drift_type.value}",
        evidence={"policies": ["arn:aws:iam::aws:policy/AdministratorAccess"]} if evidence is None else evidence,
        since=since,
    )


def problems(finding: dict[str, Any], place: Place = PLACE) -> list[str]:
    """Every ASFF rule of AWS-FACTS section 4 that ``finding`` breaks (empty: Security Hub would accept it)."""
    found: list[str] = [f"missing {field}" for field in REQUIRED if not finding.get(field)]
    found += [f"top-level {field} set by the provider" for field in NOT_FROM_PROVIDER if field in finding]
    if found:
        return found
    if finding["SchemaVersion"] != "2018-10-08":
        found.append(f"SchemaVersion {finding['SchemaVersion']}")
    if len(finding["Id"]) > 512:
        found.append("Id over 512 characters")
    if (
        finding["ProductArn"]
        != f"arn:aws:securityhub:{place.region}:{place.account_id}:product/{place.account_id}/default"
    ):
        found.append(f"ProductArn {finding['ProductArn']}")
    if finding["AwsAccountId"] != place.account_id:
        found.append(f"AwsAccountId {finding['AwsAccountId']} is not the importing account {place.account_id}")
    for field in ("CreatedAt", "UpdatedAt"):
        if not ASFF_TIME.match(finding[field]):
            found.append(f"{field} {finding[field]!r} is not RFC 3339 UTC with milliseconds")
    if len(finding["Title"]) > 256:
        found.append("Title over 256 characters")
    if len(finding["Description"]) > 1024:
        found.append("Description over 1024 characters")
    fields = finding.get("ProductFields", {})
    if len(fields) > 50 or any(len(k) > 128 or len(v) > 2048 for k, v in fields.items()):
        found.append("ProductFields over 50 pairs, a key over 128 or a value over 2048 characters")
    if len(finding.get("Remediation", {}).get("Recommendation", {}).get("Text", "")) > 512:
        found.append("Remediation.Recommendation.Text over 512 characters")
    provider = finding.get("FindingProviderFields", {})
    if provider.get("Severity", {}).get("Label") not in {"INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"}:
        found.append("FindingProviderFields.Severity.Label missing or invalid")
    types = provider.get("Types") or []
    if not types or len(types) > 50:
        found.append("FindingProviderFields.Types empty or over 50")
    for finding_type in types:
        parts = finding_type.split("/")
        if not 2 <= len(parts) <= 3 or parts[0] not in NAMESPACES or not all(parts):
            found.append(f"type {finding_type!r} is not namespace/category[/classifier]")
    return found


__all__ = ["ACCOUNT", "NOW", "PLACE", "REGION", "KEY", "GONE_KEY", "full_inventory", "drift", "problems"]
