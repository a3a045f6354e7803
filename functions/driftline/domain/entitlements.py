"""Active registry entries: does the identity exist, is it past its expiry, and does IAM grant what was approved?"""

from __future__ import annotations

from driftline.domain.context import Context, stamp
from driftline.domain.drift import Drift, DriftType
from driftline.domain.identity import Kind
from driftline.domain.observed import ObservedPrincipal, ObservedUser
from driftline.domain.registry import RegistryEntry


def check_active_entry(ctx: Context, entry: RegistryEntry) -> list[Drift]:
    if not ctx.inventory.exists(entry.ref):
        return [
            ctx.drift(
                DriftType.MISSING_IDENTITY,
                entry.ref,
                f"the registry says {entry.kind.label} {entry.name} is active (owner {entry.owner}); IAM has none",
                registry_status=entry.status.value,
            )
        ]
    drifts = _expired(ctx, entry)
    principal = ctx.principal(entry.ref)
    if principal is not None:
        drifts.extend(_entitlements(ctx, entry, principal))
    return drifts


def _can_act(ctx: Context, entry: RegistryEntry) -> bool:
    if entry.kind is Kind.ACCESS_KEY:
        key = ctx.inventory.keys.get(entry.name)
        return key is not None and key.active
    if entry.kind is Kind.USER:
        user = ctx.inventory.users.get(entry.name)
        return user is not None and (user.password_enabled or any(k.active for k in ctx.inventory.keys_of(user.name)))
    role = ctx.inventory.roles.get(entry.name)
    return role is not None and not role.sessions_revoked_since(ctx.now)


def _expired(ctx: Context, entry: RegistryEntry) -> list[Drift]:
    if entry.expires_at is None or not entry.expired(ctx.now) or not _can_act(ctx, entry):
        return []
    return [
        ctx.drift(
            DriftType.EXPIRED_BUT_ACTIVE,
            entry.ref,
            f"{entry.kind.label} {entry.name} expired at {stamp(entry.expires_at)} and can still act in IAM",
            expires_at=entry.expires_at,
            since=entry.expires_at,
        )
    ]


def held_entitlements(principal: ObservedPrincipal) -> dict[str, frozenset[str]]:
    """What a principal holds, by dimension. Session-revoking denies are not entitlements and are left out."""
    denies = {d.policy_name for d in principal.session_denies}
    held = {
        "managed_policies": principal.managed_policies,
        "inline_policies": frozenset(principal.inline_policies - denies),
    }
    if isinstance(principal, ObservedUser):
        held["groups"] = principal.groups
    return held


def _entitlements(ctx: Context, entry: RegistryEntry, principal: ObservedPrincipal) -> list[Drift]:
    excess: dict[str, list[str]] = {}
    missing: dict[str, list[str]] = {}
    for dimension, held in held_entitlements(principal).items():
        approved = getattr(entry, dimension)
        if approved is None:
            continue  # not governed by this entry
        if extra := sorted(held - set(approved)):
            excess[dimension] = extra
        if lacking := sorted(set(approved) - held):
            missing[dimension] = lacking
    drifts = []
    if excess:
        drifts.append(
            ctx.drift(
                DriftType.EXCESS_ENTITLEMENT,
                entry.ref,
                f"{entry.kind.label} {entry.name} holds what the registry does not approve: {_describe(excess)}",
                excess=excess,
            )
        )
    if missing:
        drifts.append(
            ctx.drift(
                DriftType.MISSING_ENTITLEMENT,
                entry.ref,
                f"{entry.kind.label} {entry.name} lacks approved entitlements: {_describe(missing)}",
                missing=missing,
            )
        )
    return drifts


def _describe(items: dict[str, list[str]]) -> str:
    return "; ".join(f"{dim.replace('_', ' ')} {', '.join(values)}" for dim, values in items.items())
