"""Credential hygiene for every observed identity that is not revoked: old keys, unused keys, passwords and roles.

These are the checks Cloud Custodian and Prowler make (key age, key/password/role unused); driftline makes them with
the registry's per-identity thresholds where the registry sets them. Never-used credentials age from creation.

They repeat Security Hub CSPM controls IAM.3 (key age), IAM.8 and IAM.22 (unused credentials) and IAM Access
Analyzer's unused-access findings, so a deployment (``driftline:hygieneChecks``) or a scan (``--no-hygiene``) can
turn them off (``CompareSettings.hygiene``). Off, the comparison does not judge ``stale-credential`` at all: no such
drift is raised, and no finding of that type is resolved by the silence.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from driftline.domain.context import Context
from driftline.domain.drift import Drift, DriftType
from driftline.domain.identity import IdentityRef
from driftline.domain.observed import ObservedKey, ObservedRole, ObservedUser
from driftline.domain.settings import CompareSettings


def _thresholds(ctx: Context, ref: IdentityRef, user: str | None = None) -> tuple[int, int]:
    """(max key age, max unused days): the identity's entry, then its user's entry, then the defaults."""
    candidates = [ctx.entry(ref)]
    if user is not None:
        candidates.append(ctx.user_entry(user))
    age, unused = ctx.settings.max_key_age_days, ctx.settings.max_unused_days
    for entry in reversed([c for c in candidates if c is not None]):
        age = entry.max_key_age_days or age
        unused = entry.max_unused_days or unused
    return age, unused


def _days(now: datetime, then: datetime) -> int:
    return (now - then) // timedelta(days=1)


def _use(last_used: datetime | None, created: datetime) -> str:
    return f"last used {last_used:%Y-%m-%d}" if last_used else f"never used since its creation on {created:%Y-%m-%d}"


def _stale(ctx: Context, ref: IdentityRef, reasons: list[str], **evidence: object) -> list[Drift]:
    if not reasons:
        return []
    return [
        ctx.drift(DriftType.STALE_CREDENTIAL, ref, f"{ref.kind.label} {ref.name}: {'; '.join(reasons)}", **evidence)
    ]


def check_key(ctx: Context, key: ObservedKey) -> list[Drift]:
    if not key.active:
        return []
    max_age, max_unused = _thresholds(ctx, key.ref, key.user_name)
    reasons = []
    if _days(ctx.now, key.created_at) > max_age:
        reasons.append(f"created {key.created_at:%Y-%m-%d}, older than the {max_age}-day maximum age")
    if _days(ctx.now, key.last_used_at or key.created_at) > max_unused:
        reasons.append(f"{_use(key.last_used_at, key.created_at)}, idle longer than the {max_unused}-day limit")
    return _stale(
        ctx,
        key.ref,
        reasons,
        created_at=key.created_at,
        last_used_at=key.last_used_at,
        max_age_days=max_age,
        max_unused_days=max_unused,
    )


def check_user(ctx: Context, user: ObservedUser) -> list[Drift]:
    if not user.password_enabled:
        return []
    _, max_unused = _thresholds(ctx, user.ref)
    if _days(ctx.now, user.password_last_used_at or user.created_at) <= max_unused:
        return []
    used = _use(user.password_last_used_at, user.created_at)
    return _stale(
        ctx,
        user.ref,
        [f"console password {used}, idle longer than the {max_unused}-day limit"],
        password_last_used_at=user.password_last_used_at,
        max_unused_days=max_unused,
    )


def check_role(ctx: Context, role: ObservedRole) -> list[Drift]:
    _, max_unused = _thresholds(ctx, role.ref)
    if _days(ctx.now, role.last_used_at or role.created_at) <= max_unused:
        return []
    return _stale(
        ctx,
        role.ref,
        [f"{_use(role.last_used_at, role.created_at)}, idle longer than the {max_unused}-day limit"],
        role_last_used_at=role.last_used_at,
        max_unused_days=max_unused,
    )


# The drift types only the hygiene checks raise.
HYGIENE_DRIFTS = frozenset({DriftType.STALE_CREDENTIAL})


def unjudged(settings: CompareSettings) -> frozenset[DriftType]:
    """The drift types a comparison with ``settings`` does not judge: the hygiene checks' when they are off."""
    return frozenset() if settings.hygiene else HYGIENE_DRIFTS


def check_hygiene(ctx: Context) -> list[Drift]:
    """Stale-credential drifts for every observed identity that is neither excluded nor revoked (none when the
    settings turn the hygiene checks off)."""
    if not ctx.settings.hygiene:
        return []
    drifts: list[Drift] = []
    for user in ctx.inventory.users.values():
        if _judged(ctx, user.ref):
            drifts.extend(check_user(ctx, user))
    for role in ctx.inventory.roles.values():
        if _judged(ctx, role.ref):
            drifts.extend(check_role(ctx, role))
    for key in ctx.inventory.keys.values():
        if _judged(ctx, key.ref) and ctx.key_revocation(key) is None:
            drifts.extend(check_key(ctx, key))
    return drifts


def _judged(ctx: Context, ref: IdentityRef) -> bool:
    entry = ctx.entry(ref)
    return not entry.is_revoked if entry is not None else not ctx.excluded(ref)
