"""Small builders for literal registry entries, observed identities and inventories used by the domain tests.

Every builder takes keyword overrides so a test states only what matters to it. Times are relative to ``NOW``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from driftline.domain.compare import compare
from driftline.domain.drift import Comparison, Drift, DriftType
from driftline.domain.identity import IdentityRef, Kind
from driftline.domain.observed import Inventory, KeyStatus, ObservedKey, ObservedRole, ObservedUser, SessionDeny
from driftline.domain.registry import RegistryEntry, Status
from driftline.domain.settings import CompareSettings

ACCOUNT = "123456789012"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
RECENT = NOW - timedelta(days=1)
OWNER = "team-identity"
TRUSTED = "Service:lambda.amazonaws.com"  # who a built role's trust policy admits, unless a test says otherwise


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def hours_ago(hours: float) -> datetime:
    return NOW - timedelta(hours=hours)


def key_id(n: int) -> str:
    """A syntactically valid access key id, distinct per ``n``."""
    return f"AKIA{n:016d}"


def user_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:user/{name}"


def role_arn(name: str, path: str = "/") -> str:
    return f"arn:aws:iam::{ACCOUNT}:role{path}{name}"


def policy_arn(name: str) -> str:
    return f"arn:aws:iam::aws:policy/{name}"


def observed_user(name: str, **overrides: Any) -> ObservedUser:
    fields: dict[str, Any] = {
        "name": name,
        "arn": user_arn(name),
        "principal_id": f"AIDA{name.upper()[:12]:X<16}",
        "created_at": RECENT,
        "other_credentials": (),  # read, and none held (SSH keys, service-specific credentials, certificates)
    }
    fields.update(overrides)
    return ObservedUser(**fields)


def observed_role(name: str, **overrides: Any) -> ObservedRole:
    path = overrides.get("path", "/")
    fields: dict[str, Any] = {
        "name": name,
        "arn": role_arn(name, path),
        "principal_id": f"AROA{name.upper()[:12]:X<16}",
        "created_at": RECENT,
        "last_used_at": RECENT,
        "assumable_by": (TRUSTED,),
    }
    fields.update(overrides)
    return ObservedRole(**fields)


def observed_key(access_key_id: str, user_name: str, **overrides: Any) -> ObservedKey:
    fields: dict[str, Any] = {
        "access_key_id": access_key_id,
        "user_name": user_name,
        "status": KeyStatus.ACTIVE,
        "created_at": RECENT,
        "last_used_at": RECENT,
    }
    fields.update(overrides)
    return ObservedKey(**fields)


def inactive(key: ObservedKey) -> ObservedKey:
    return key.model_copy(update={"status": KeyStatus.INACTIVE})


def revoke_sessions(issued_before: datetime | None, policy_name: str = "AWSRevokeOlderSessions") -> SessionDeny:
    return SessionDeny(policy_name=policy_name, issued_before=issued_before)


def inventory(
    users: Iterable[ObservedUser] = (),
    roles: Iterable[ObservedRole] = (),
    keys: Iterable[ObservedKey] = (),
    scope: Iterable[IdentityRef] | None = None,
) -> Inventory:
    return Inventory(
        account_id=ACCOUNT,
        observed_at=NOW,
        users={u.name: u for u in users},
        roles={r.name: r for r in roles},
        keys={k.access_key_id: k for k in keys},
        scope=frozenset(scope) if scope is not None else None,
    )


def user_entry(name: str, **overrides: Any) -> RegistryEntry:
    fields: dict[str, Any] = {"kind": Kind.USER, "name": name, "owner": OWNER}
    fields.update(overrides)
    return RegistryEntry(**fields)


def role_entry(name: str, **overrides: Any) -> RegistryEntry:
    fields: dict[str, Any] = {"kind": Kind.ROLE, "name": name, "owner": OWNER}
    fields.update(overrides)
    return RegistryEntry(**fields)


def key_entry(access_key_id: str, user: str, **overrides: Any) -> RegistryEntry:
    fields: dict[str, Any] = {"kind": Kind.ACCESS_KEY, "name": access_key_id, "user": user, "owner": OWNER}
    fields.update(overrides)
    return RegistryEntry(**fields)


def revoked(entry: RegistryEntry, at: datetime) -> RegistryEntry:
    """The same entry, revoked at ``at`` (re-validated, so the result is a legal registry entry)."""
    return RegistryEntry(**{**entry.model_dump(), "status": Status.REVOKED, "revoked_at": at})


def ref(text: str) -> IdentityRef:
    return IdentityRef.parse(text)


def settings(**overrides: Any) -> CompareSettings:
    return CompareSettings(**overrides)


def run(
    entries: Iterable[RegistryEntry],
    inv: Inventory,
    compare_settings: CompareSettings | None = None,
    now: datetime = NOW,
) -> Comparison:
    return compare(list(entries), inv, compare_settings or CompareSettings(), now)


def kinds_and_names(result: Comparison) -> list[tuple[DriftType, str]]:
    """(type, identity key) of every drift, in output order: the compact form most assertions compare."""
    return [(d.type, d.identity.label) for d in result.drifts]


def only(result: Comparison, drift_type: DriftType | None = None) -> Drift:
    """The single drift of ``result`` (optionally of one type); fails loudly when there is not exactly one."""
    drifts = [d for d in result.drifts if drift_type is None or d.type is drift_type]
    assert len(drifts) == 1, f"expected exactly one {drift_type or 'drift'}, got {kinds_and_names(result)}"
    return drifts[0]
