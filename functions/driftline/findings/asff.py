"""The one place that turns a drift into an ASFF finding (AWS-FACTS section 4).

The finding ``Id`` depends only on account, region, drift type and identity, so the same drift updates one finding
for as long as it lasts and a returning drift reactivates it. Severity and Types go through
``FindingProviderFields`` (always present; the API would accept them missing, Security Hub's guide requires them).

What a provider may set, and what it may not (Security Hub CSPM user guide, "BatchImportFindings for finding
providers" and "Optional top-level ASFF attributes"):

- ``CompanyName``/``ProductName``: Security Hub fills them in and ignores them on import, except for a custom
  integration (the account's ``product/<account>/default``), which may name itself; otherwise the console shows
  "Personal" and "Default".
- ``Workflow``, ``Note``, ``UserDefinedFields``, ``VerificationState``: never sent. After creation an import cannot
  change them; they belong to the people triaging (``BatchUpdateFindings``).
- ``Severity``, ``Types``: only in ``FindingProviderFields``; Security Hub copies them to the top level unless a
  customer changed them there.
- ``RecordState``, ``Compliance.Status``: ours. A resolution is ``ARCHIVED`` with ``PASSED`` and a title and
  description that say it is resolved (``resolved``); an open drift is ``ACTIVE`` with ``FAILED``.

Resources name the identity the way other AWS producers do, so Security Hub's views group them with their findings:
users and roles by ARN (as Security Hub's own IAM controls do), an access key as ``AWS::IAM::AccessKey:<key id>``
(the form GuardDuty's findings use in Security Hub), followed by the key's user as a second resource.
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
COMPANY_NAME = "driftline"
PRODUCT_NAME = "driftline"
GENERATOR_PREFIX = "driftline/"
ACCESS_KEY_ID_PREFIX = "AWS::IAM::AccessKey:"
# Why this import was sent (new, changed, refresh, reactivated, resolved): product data, left out of the digest, so
# an EventBridge rule can page on new and reactivated findings and not on every refresh.
IMPORT_REASON = "driftline/ImportReason"
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


def _tags(tags: dict[str, str]) -> dict[str, str]:
    """The principal's IAM tags for ``Resources[].Tags`` (ASFF wants non-blank keys and values; IAM allows an empty
    value, which is left out)."""
    return {k: v for k, v in sorted(tags.items()) if k.strip() and v.strip()}


def _with_tags(body: dict[str, Any], tags: dict[str, str]) -> dict[str, Any]:
    kept = _tags(tags)
    return body | {"Tags": kept} if kept else body


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
    body = {"Type": "AwsIamUser", "Id": arn, "Details": {"AwsIamUser": details}}
    return _with_tags(body, user.tags) if user else body


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
    body = {"Type": "AwsIamRole", "Id": arn, "Details": {"AwsIamRole": details}}
    return _with_tags(body, role.tags) if role else body


def _key_resource(
    place: Place, key_id: str, user: str | None, key: ObservedKey | None, owner: ObservedUser | None
) -> dict[str, Any]:
    details: dict[str, Any] = {"AccessKeyId": key_id, "AccountId": place.account_id}
    if user:
        details |= {"PrincipalName": user, "PrincipalType": "IAMUser"}
    if owner is not None:
        details["PrincipalId"] = owner.principal_id
    if key is not None:
        details |= {"Status": key.status.value, "CreatedAt": timestamp(key.created_at)}
    return {"Type": "AwsIamAccessKey", "Id": ACCESS_KEY_ID_PREFIX + key_id, "Details": {"AwsIamAccessKey": details}}


def resources(place: Place, identity: IdentityRef, user: str | None, inventory: Inventory) -> list[dict[str, Any]]:
    """The identity as IAM holds it now (only its name when IAM no longer has it); an access key is followed by its
    user, so the finding also lists under the user, beside Security Hub's own IAM.3/IAM.8 findings about them."""
    name = identity.name
    if identity.kind is Kind.USER:
        found = [_user_resource(place, name, inventory.user(name))]
    elif identity.kind is Kind.ROLE:
        found = [_role_resource(place, name, inventory.role(name))]
    else:
        owner = inventory.user(user) if user else None
        found = [_key_resource(place, name, user, inventory.keys.get(name), owner)]
        if user:
            found.append(_user_resource(place, owner.name if owner else user, owner))
    return [body | {"Partition": place.partition, "Region": place.region} for body in found]


def resource(place: Place, drift: Drift, inventory: Inventory) -> dict[str, Any]:
    """The drift's own identity (the first of ``resources``)."""
    return resources(place, drift.identity, drift.user, inventory)[0]


def _description(drift: Drift) -> str:
    owner = drift.owner or "nobody (not in the registry)"
    text = f"{drift.summary}. Owner: {owner}."
    if drift.ticket:
        text += f" Ticket: {drift.ticket}."
    return _clip(text, DESCRIPTION_MAX)


def _trusted_principals(drift: Drift, inventory: Inventory) -> str:
    """Who the role's trust policy lets assume it, as a JSON list (``[]``: nobody); empty when not known."""
    if drift.identity.kind is not Kind.ROLE:
        return ""
    role = inventory.role(drift.identity.name)
    if role is None or role.assumable_by is None:
        return ""
    return bounded_json(sorted(role.assumable_by), PRODUCT_FIELD_MAX)


def to_asff(
    drift: Drift,
    place: Place,
    inventory: Inventory,
    *,
    created_at: datetime,
    updated_at: datetime,
    observed_at: datetime | None = None,
) -> dict[str, Any]:
    """An ACTIVE, FAILED finding for ``drift``. ``created_at`` is when driftline first reported it; ``observed_at``
    (default ``updated_at``) when an evaluation last saw it (``LastObservedAt``)."""
    rule, advice = RULES[drift.type], CATALOG[drift.type]
    product_fields = {
        "driftline/DriftType": drift.type.value,
        "driftline/Identity": drift.identity.key,
        "driftline/Owner": _clip(drift.owner or "", PRODUCT_FIELD_MAX),
        "driftline/Ticket": _clip(drift.ticket or "", PRODUCT_FIELD_MAX),
        # Bounded as a whole, so it stays valid JSON however large the evidence (never cut by _clip).
        "driftline/Evidence": bounded_json(drift.evidence, EVIDENCE_MAX),
        "driftline/TrustedPrincipals": _trusted_principals(drift, inventory),
    }
    finding: dict[str, Any] = {
        "SchemaVersion": SCHEMA_VERSION,
        "Id": finding_id(place, drift.type, drift.identity),
        "ProductArn": place.product_arn,
        "ProductName": PRODUCT_NAME,
        "CompanyName": COMPANY_NAME,
        "GeneratorId": f"{GENERATOR_PREFIX}{drift.type.value}",
        "AwsAccountId": place.account_id,
        "CreatedAt": timestamp(created_at),
        "UpdatedAt": timestamp(updated_at),
        "FirstObservedAt": timestamp(drift.since or created_at),
        "LastObservedAt": timestamp(observed_at or updated_at),
        "Title": _clip(f"{rule.title}: {drift.identity.kind.label} {drift.identity.name}", TITLE_MAX),
        "Description": _description(drift),
        "FindingProviderFields": {
            # Original is the severity in driftline's own words (Security Hub's controls do the same); the drift type
            # is the GeneratorId and driftline/DriftType.
            "Severity": {"Label": drift.severity.value, "Original": drift.severity.value},
            "Types": list(advice.types),
        },
        "Resources": resources(place, drift.identity, drift.user, inventory),
        "Remediation": {"Recommendation": {"Text": advice.recommendation, "Url": advice.url}},
        "Compliance": {"Status": "FAILED", "RelatedRequirements": list(advice.requirements)},
        "ProductFields": {k: v for k, v in product_fields.items() if v},
        "RecordState": "ACTIVE",
    }
    check_size(finding)
    return finding


def with_reason(finding: dict[str, Any], reason: str) -> dict[str, Any]:
    """``finding`` labelled with why it is imported (``IMPORT_REASON``), a copy."""
    return finding | {"ProductFields": dict(finding.get("ProductFields", {})) | {IMPORT_REASON: reason}}


def _current_resources(
    previous: dict[str, Any], place: Place, identity: IdentityRef, user: str | None, inventory: Inventory
) -> list[dict[str, Any]]:
    """The identity's resources as IAM holds it now; for an identity IAM no longer has, the resources last sent
    without what is no longer true (a deleted key has no status)."""
    name = identity.name
    present: object | None
    if identity.kind is Kind.USER:
        present = inventory.user(name)
    elif identity.kind is Kind.ROLE:
        present = inventory.role(name)
    else:
        present = inventory.keys.get(name)
    if present is not None or not previous.get("Resources"):
        return resources(place, identity, user, inventory)
    kept: list[dict[str, Any]] = []
    for body in previous["Resources"]:
        details = body.get("Details", {})
        if "AwsIamAccessKey" in details:
            key = {k: v for k, v in details["AwsIamAccessKey"].items() if k != "Status"}
            body = body | {"Details": details | {"AwsIamAccessKey": key}}
        kept.append(body)
    return kept


def resolved(
    previous: dict[str, Any],
    *,
    place: Place,
    identity: IdentityRef,
    user: str | None,
    inventory: Inventory,
    updated_at: datetime,
) -> dict[str, Any]:
    """The finding ``previous`` (as last sent), resolved: ARCHIVED with Compliance PASSED, a later UpdatedAt, a title
    and description that say it is resolved and when, and the identity's resources as IAM holds them now (a key
    deactivated since is ``Inactive``; one deleted since has no status). ``LastObservedAt`` stays the last time the
    drift was seen; Workflow is the customers' and is not sent (an import cannot change it)."""
    finding = {k: v for k, v in previous.items() if k not in ("Workflow", "WorkflowState")}
    when = timestamp(updated_at)
    title = str(previous.get("Title", ""))
    description = str(previous.get("Description", ""))
    finding["UpdatedAt"] = when
    finding["RecordState"] = "ARCHIVED"
    finding["Compliance"] = dict(previous.get("Compliance", {})) | {"Status": "PASSED"}
    finding["Title"] = _clip(f"Resolved: {title.removeprefix('Resolved: ')}", TITLE_MAX)
    finding["Description"] = _clip(
        f"Resolved {when[:16].replace('T', ' ')} UTC: driftline evaluated the identity again and no longer finds "
        f"this drift. Last reported: {description.removeprefix('Resolved ')}",
        DESCRIPTION_MAX,
    )
    finding["Resources"] = _current_resources(previous, place, identity, user, inventory)
    finding["ProductName"], finding["CompanyName"] = PRODUCT_NAME, COMPANY_NAME
    fields = {k: v for k, v in dict(previous.get("ProductFields", {})).items() if k != IMPORT_REASON}
    finding["ProductFields"] = fields | {"driftline/ResolvedAt": when, IMPORT_REASON: "resolved"}
    severity = dict(finding.get("FindingProviderFields", {}).get("Severity", {}))
    if severity.get("Label"):  # findings sent before Original was a severity
        finding["FindingProviderFields"] = dict(finding["FindingProviderFields"]) | {
            "Severity": severity | {"Original": severity["Label"]}
        }
    check_size(finding)
    return finding


def check_size(finding: dict[str, Any]) -> None:
    size = len(json.dumps(finding).encode())
    if size > FINDING_MAX_BYTES:  # cannot happen with clipped fields; a guard against future fields
        raise ValueError(f"finding {finding['Id']} is {size} bytes, over Security Hub's {FINDING_MAX_BYTES}")


# Bookkeeping that changes with every import of the same drift: not content.
_NOT_CONTENT = ("CreatedAt", "UpdatedAt", "LastObservedAt")


def content_digest(finding: dict[str, Any]) -> str:
    """What decides "changed": everything except the timestamps Security Hub and driftline bookkeep and the import
    reason."""
    stable = {k: v for k, v in finding.items() if k not in _NOT_CONTENT}
    if IMPORT_REASON in stable.get("ProductFields", {}):
        stable["ProductFields"] = {k: v for k, v in stable["ProductFields"].items() if k != IMPORT_REASON}
    return hashlib.sha256(json.dumps(stable, sort_keys=True, default=str).encode()).hexdigest()
