"""The one place that turns a drift into an ASFF finding (AWS-FACTS section 4).

The finding ``Id`` depends only on account, region, drift type and identity, so the same drift updates one finding
for as long as it lasts and a returning drift reactivates it. Severity and Types go through
``FindingProviderFields`` (always present; the API would accept them missing, Security Hub's guide requires them).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from driftline.domain.bounds import bounded_json
from driftline.domain.drift import Drift, DriftType
from driftline.domain.identity import IdentityRef, Kind
from driftline.domain.observed import Inventory, ObservedKey, ObservedRole, ObservedUser
from driftline.domain.rules import RULES
from driftline.findings.catalog import CATALOG

SCHEMA_VERSION = "2018-10-08"
TITLE_MAX = 256
DESCRIPTION_MAX = 1024
FINDING_MAX_BYTES = 240 * 1024
EVIDENCE_MAX = 2000
PRODUCT_FIELD_MAX = 2048


class Place(BaseModel):
    """Where findings are imported: Security Hub only accepts findings about the importing account."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    account_id: str
    region: str
    partition: str = "aws"

    @property
    def product_arn(self) -> str:
        return f"arn:{self.partition}:securityhub:{self.region}:{self.account_id}:product/{self.account_id}/default"


def finding_id(place: Place, drift_type: DriftType, identity: IdentityRef) -> str:
    """Stable per drift: user and role names folded to lower case (IAM ignores their case), so every spelling of an
    identity updates one finding."""
    kind, _, name = identity.key.partition("#")
    return f"driftline/{place.account_id}/{place.region}/{drift_type.value}/{kind}/{name}"


def timestamp(value: datetime) -> str:
    """ASFF timestamps: RFC 3339 in UTC with milliseconds (UpdatedAt must strictly increase per finding)."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _iam_arn(place: Place, kind: str, name: str) -> str:
    return f"arn:{place.partition}:iam::{place.account_id}:{kind}/{name}"


def _policies(arns: frozenset[str]) -> list[dict[str, str]]:
    return [{"PolicyArn": arn, "PolicyName": arn.rsplit("/", 1)[-1]} for arn in sorted(arns)]


def _user_resource(place: Place, name: str, user: ObservedUser | None) -> dict[str, Any]:
    details: dict[str, Any] = {"UserName": name}
    if user is not None:
        details |= {
            "UserId": user.principal_id,
            "Path": user.path,
            "CreateDate": timestamp(user.created_at),
            "AttachedManagedPolicies": _policies(user.managed_policies),
            "GroupList": sorted(user.groups),
            "UserPolicyList": [{"PolicyName": n} for n in sorted(user.inline_policies)],
        }
    arn = user.arn if user else _iam_arn(place, "user", name)
    return {"Type": "AwsIamUser", "Id": arn, "Details": {"AwsIamUser": details}}


def _role_resource(place: Place, name: str, role: ObservedRole | None) -> dict[str, Any]:
    details: dict[str, Any] = {"RoleName": name}
    if role is not None:
        details |= {
            "RoleId": role.principal_id,
            "Path": role.path,
            "CreateDate": timestamp(role.created_at),
            "AttachedManagedPolicies": _policies(role.managed_policies),
            "RolePolicyList": [{"PolicyName": n} for n in sorted(role.inline_policies)],
        }
    arn = role.arn if role else _iam_arn(place, "role", name)
    return {"Type": "AwsIamRole", "Id": arn, "Details": {"AwsIamRole": details}}


def _key_resource(place: Place, drift: Drift, key: ObservedKey | None, owner: ObservedUser | None) -> dict[str, Any]:
    details: dict[str, Any] = {"AccessKeyId": drift.identity.name, "AccountId": place.account_id}
    if drift.user:
        details |= {"PrincipalName": drift.user, "PrincipalType": "IAMUser"}
    if owner is not None:
        details["PrincipalId"] = owner.principal_id
    if key is not None:
        details |= {"Status": key.status.value, "CreatedAt": timestamp(key.created_at)}
    return {"Type": "AwsIamAccessKey", "Id": drift.identity.name, "Details": {"AwsIamAccessKey": details}}


def resource(place: Place, drift: Drift, inventory: Inventory) -> dict[str, Any]:
    name = drift.identity.name
    if drift.identity.kind is Kind.USER:
        body = _user_resource(place, name, inventory.user(name))
    elif drift.identity.kind is Kind.ROLE:
        body = _role_resource(place, name, inventory.role(name))
    else:
        owner = inventory.user(drift.user) if drift.user else None
        body = _key_resource(place, drift, inventory.keys.get(name), owner)
    return body | {"Partition": place.partition, "Region": place.region}


def _description(drift: Drift) -> str:
    owner = drift.owner or "nobody (not in the registry)"
    text = f"{drift.summary}. Owner: {owner}."
    if drift.ticket:
        text += f" Ticket: {drift.ticket}."
    return _clip(text, DESCRIPTION_MAX)


def to_asff(
    drift: Drift, place: Place, inventory: Inventory, *, created_at: datetime, updated_at: datetime
) -> dict[str, Any]:
    """An ACTIVE, FAILED finding for ``drift``. ``created_at`` is when driftline first reported it."""
    rule, advice = RULES[drift.type], CATALOG[drift.type]
    evidence = bounded_json(drift.evidence, EVIDENCE_MAX)  # still valid JSON when clipped
    product_fields = {
        "driftline/DriftType": drift.type.value,
        "driftline/Identity": drift.identity.key,
        "driftline/Owner": drift.owner or "",
        "driftline/Ticket": drift.ticket or "",
        "driftline/Evidence": evidence,
    }
    finding: dict[str, Any] = {
        "SchemaVersion": SCHEMA_VERSION,
        "Id": finding_id(place, drift.type, drift.identity),
        "ProductArn": place.product_arn,
        "GeneratorId": f"driftline/{drift.type.value}",
        "AwsAccountId": place.account_id,
        "CreatedAt": timestamp(created_at),
        "UpdatedAt": timestamp(updated_at),
        "Title": _clip(f"{rule.title}: {drift.identity.kind.label} {drift.identity.name}", TITLE_MAX),
        "Description": _description(drift),
        "FindingProviderFields": {
            "Severity": {"Label": drift.severity.value, "Original": drift.type.value},
            "Types": list(advice.types),
        },
        "Resources": [resource(place, drift, inventory)],
        "Remediation": {"Recommendation": {"Text": advice.recommendation, "Url": advice.url}},
        "Compliance": {"Status": "FAILED", "RelatedRequirements": list(advice.requirements)},
        "ProductFields": {k: _clip(v, PRODUCT_FIELD_MAX) for k, v in product_fields.items() if v},
        "RecordState": "ACTIVE",
    }
    if drift.since is not None:
        finding["FirstObservedAt"] = timestamp(drift.since)
    check_size(finding)
    return finding


def archived(previous: dict[str, Any], *, updated_at: datetime) -> dict[str, Any]:
    """The same finding, resolved: ARCHIVED with Compliance PASSED and a later UpdatedAt."""
    finding = dict(previous)
    finding["UpdatedAt"] = timestamp(updated_at)
    finding["RecordState"] = "ARCHIVED"
    finding["Compliance"] = dict(previous.get("Compliance", {})) | {"Status": "PASSED"}
    return finding


def check_size(finding: dict[str, Any]) -> None:
    size = len(json.dumps(finding).encode())
    if size > FINDING_MAX_BYTES:  # cannot happen with clipped fields; a guard against future fields
        raise ValueError(f"finding {finding['Id']} is {size} bytes, over Security Hub's {FINDING_MAX_BYTES}")


def content_digest(finding: dict[str, Any]) -> str:
    """What decides "changed": everything except the timestamps Security Hub bookkeeps."""
    stable = {k: v for k, v in finding.items() if k not in ("CreatedAt", "UpdatedAt")}
    return hashlib.sha256(json.dumps(stable, sort_keys=True, default=str).encode()).hexdigest()
