"""Turning IAM's answers into observed identities: GetAccountAuthorizationDetails entries and the credential report.

Pure functions over the dicts boto3 returns (boto3 already decodes the URL-encoded policy documents, AWS-FACTS
section 2), so they are tested with literal responses.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, NamedTuple

from driftline.domain.observed import (
    CredentialKind,
    ObservedPrincipal,
    ObservedRole,
    ObservedUser,
    OtherCredential,
    SessionDeny,
)
from driftline.domain.policy import assumable_by, boundary_deny, session_deny, trusted_principals

# Values the credential report uses for "nothing here" (AWS-FACTS section 2).
_EMPTY = {"", "N/A", "no_information", "not_supported"}


def aware(value: datetime) -> datetime:
    """boto3 returns tz-aware datetimes; moto and old stubs sometimes do not. Treat naive values as UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def report_time(value: str) -> datetime | None:
    if value in _EMPTY:
        return None
    return aware(datetime.fromisoformat(value.replace("Z", "+00:00")))


def _denies(policies: list[Mapping[str, Any]]) -> tuple[SessionDeny, ...]:
    found = (session_deny(p["PolicyName"], p.get("PolicyDocument")) for p in policies)
    return tuple(d for d in found if d is not None)


def _boundary(detail: Mapping[str, Any]) -> str | None:
    arn = (detail.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
    return arn if isinstance(arn, str) and arn else None


def _tags(detail: Mapping[str, Any]) -> dict[str, str]:
    return {t["Key"]: t.get("Value", "") for t in detail.get("Tags") or []}


def user_from_details(detail: Mapping[str, Any], report: ReportRow | None) -> ObservedUser:
    """A user from a ``UserDetailList`` item, with console-password facts from its credential report row."""
    inline = detail.get("UserPolicyList") or []
    return ObservedUser(
        name=detail["UserName"],
        arn=detail["Arn"],
        principal_id=detail["UserId"],
        path=detail.get("Path", "/"),
        created_at=aware(detail["CreateDate"]),
        managed_policies=frozenset(p["PolicyArn"] for p in detail.get("AttachedManagedPolicies") or []),
        inline_policies=frozenset(p["PolicyName"] for p in inline),
        groups=frozenset(detail.get("GroupList") or []),
        tags=_tags(detail),
        session_denies=_denies(inline),
        permissions_boundary=_boundary(detail),
        password_enabled=report.password_enabled if report else False,
        password_last_used_at=report.password_last_used if report else None,
    )


def role_from_details(detail: Mapping[str, Any]) -> ObservedRole:
    """A role from a ``RoleDetailList`` item (or a GetRole answer with its policies merged in)."""
    inline = detail.get("RolePolicyList") or []
    last_used = (detail.get("RoleLastUsed") or {}).get("LastUsedDate")
    trust = _document(detail.get("AssumeRolePolicyDocument"))
    trusted = trusted_principals(trust)
    return ObservedRole(
        name=detail["RoleName"],
        arn=detail["Arn"],
        principal_id=detail["RoleId"],
        path=detail.get("Path", "/"),
        created_at=aware(detail["CreateDate"]),
        managed_policies=frozenset(p["PolicyArn"] for p in detail.get("AttachedManagedPolicies") or []),
        inline_policies=frozenset(p["PolicyName"] for p in inline),
        tags=_tags(detail),
        session_denies=_denies(inline),
        permissions_boundary=_boundary(detail),
        last_used_at=aware(last_used) if last_used else None,
        assumable_by=assumable_by(trust),
        trusted_by=tuple(trusted),
        trusted_unconditionally=frozenset(p for p, unconditioned in trusted.items() if unconditioned),
    )


def _document(value: Any) -> Mapping[str, Any] | None:
    """A policy document as boto3 hands it over (already decoded into a dict; AWS-FACTS section 2)."""
    return value if isinstance(value, Mapping) else None


def with_managed_denies(
    principal: ObservedPrincipal, documents: Mapping[str, Mapping[str, Any] | None]
) -> ObservedPrincipal:
    """``principal`` with the attached managed policies and permissions boundary that deny it everything, read from
    ``documents`` (policy ARN -> default version's document; a missing one proves nothing)."""
    found = [
        deny
        for arn in sorted(principal.managed_policies)
        if (deny := session_deny(arn, documents.get(arn), via="managed")) is not None
    ]
    if principal.permissions_boundary and (
        deny := boundary_deny(principal.permissions_boundary, documents.get(principal.permissions_boundary))
    ):
        found.append(deny)
    known = set(principal.session_denies)
    new = [d for d in found if d not in known]
    return principal.model_copy(update={"session_denies": (*principal.session_denies, *new)}) if new else principal


def other_credential(kind: CredentialKind, item: Mapping[str, Any]) -> OtherCredential:
    """An SSH public key, service-specific credential or signing certificate from its List* answer."""
    ids = {
        "ssh-public-key": "SSHPublicKeyId",
        "service-specific-credential": "ServiceSpecificCredentialId",
        "signing-certificate": "CertificateId",
    }
    return OtherCredential(
        kind=kind,
        credential_id=str(item[ids[kind]]),
        active=item.get("Status") == "Active",
        service=item.get("ServiceName"),
    )


class KeySlot(NamedTuple):
    """One ``access_key_N_*`` group of a credential report row. ``created_at`` is the key's CreateDate to the second."""

    active: bool
    created_at: datetime
    last_used_at: datetime | None


class ReportRow(NamedTuple):
    user: str
    password_enabled: bool
    password_last_used: datetime | None
    key_slots: tuple[KeySlot, ...]
    active_certificates: int = 0  # cert_1_active / cert_2_active (the report names no certificate ids)


def parse_credential_report(content: bytes) -> dict[str, ReportRow]:
    """Parse the credential report CSV into rows by user name. The root account's row is left out."""
    reader = csv.DictReader(io.StringIO(content.decode("utf-8")))
    rows: dict[str, ReportRow] = {}
    for raw in reader:
        if raw["user"] == "<root_account>":
            continue
        slots = []
        for n in (1, 2):
            rotated = report_time(raw.get(f"access_key_{n}_last_rotated", "N/A"))
            if rotated is None:
                continue
            slots.append(
                KeySlot(
                    active=raw.get(f"access_key_{n}_active") == "true",
                    created_at=rotated,
                    last_used_at=report_time(raw.get(f"access_key_{n}_last_used_date", "N/A")),
                )
            )
        rows[raw["user"]] = ReportRow(
            user=raw["user"],
            password_enabled=raw.get("password_enabled") == "true",
            password_last_used=report_time(raw.get("password_last_used", "N/A")),
            key_slots=tuple(slots),
            active_certificates=sum(raw.get(f"cert_{n}_active") == "true" for n in (1, 2)),
        )
    return rows


def key_fingerprint(pairs: list[tuple[datetime, bool]]) -> tuple[tuple[str, bool], ...]:
    """What the credential report can tell about a user's keys: creation second and active flag of each."""
    return tuple(sorted((aware(t).replace(microsecond=0).isoformat(), active) for t, active in pairs))


def slot_for(created_at: datetime, slots: tuple[KeySlot, ...]) -> KeySlot | None:
    """The credential report slot of a key, matched on its creation second (the report carries no key ids)."""
    second = aware(created_at).replace(microsecond=0)
    return next((s for s in slots if s.created_at.replace(microsecond=0) == second), None)
