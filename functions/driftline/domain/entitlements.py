"""Active registry entries: does the identity exist, is it past its expiry, and does IAM grant what was approved?"""

from __future__ import annotations

from driftline.domain.bounds import named
from driftline.domain.context import Context, stamp
from driftline.domain.drift import Drift, DriftType
from driftline.domain.identity import fold
from driftline.domain.observed import ObservedPrincipal, ObservedRole, ObservedUser
from driftline.domain.registry import NO_BOUNDARY, RegistryEntry
from driftline.domain.revocation import still_active
from driftline.domain.trust import check_trust


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
        if isinstance(principal, ObservedRole):
            drifts.extend(check_trust(ctx, entry, principal))
    return drifts


def _expired(ctx: Context, entry: RegistryEntry) -> list[Drift]:
    """An expired identity must not be able to act: the same test as an enforced revocation."""
    if entry.expires_at is None or not entry.expired(ctx.now):
        return []
    access = still_active(ctx, entry)
    if not access:
        return []
    return [
        ctx.drift(
            DriftType.EXPIRED_BUT_ACTIVE,
            entry.ref,
            f"{entry.kind.label} {entry.name} expired at {stamp(entry.expires_at)} and can still act in IAM: "
            + "; ".join(a.reason for a in access),
            expires_at=entry.expires_at,
            still_active=[a.reason for a in access],
            since=entry.expires_at,
        )
    ]


def held_entitlements(principal: ObservedPrincipal) -> dict[str, frozenset[str]]:
    """What a principal holds, by dimension. Deny-everything policies grant nothing and are left out."""
    inline_denies = {d.policy_name for d in principal.session_denies if d.via == "inline"}
    managed_denies = {d.policy_name for d in principal.session_denies if d.via == "managed"}
    held = {
        "managed_policies": frozenset(principal.managed_policies - managed_denies),
        "inline_policies": frozenset(principal.inline_policies - inline_denies),
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
        same = fold if dimension != "managed_policies" else str  # group and policy names ignore case in IAM
        approved_forms, held_forms = {same(a) for a in approved}, {same(h) for h in held}
        if extra := sorted(h for h in held if same(h) not in approved_forms):
            excess[dimension] = extra
        if lacking := sorted(a for a in approved if same(a) not in held_forms):
            missing[dimension] = lacking
    _boundary(entry, principal, excess, missing)
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


def _boundary(
    entry: RegistryEntry, principal: ObservedPrincipal, excess: dict[str, list[str]], missing: dict[str, list[str]]
) -> None:
    """A boundary removed or replaced widens what the principal may do: excess; one where none is approved: missing
    (the approval no longer describes it). ``none`` stands for "no boundary" on either side."""
    if entry.permissions_boundary is None:
        return  # not governed by this entry
    approved = None if entry.permissions_boundary == NO_BOUNDARY else entry.permissions_boundary
    held = principal.permissions_boundary
    if held == approved:
        return
    if approved is None:
        missing["permissions_boundary"] = [f"{NO_BOUNDARY} (IAM has {held})"]
    else:
        excess["permissions_boundary"] = [f"{held or NO_BOUNDARY} (approved {approved})"]


def _describe(items: dict[str, list[str]]) -> str:
    return "; ".join(f"{dim.replace('_', ' ')} {named(values)}" for dim, values in items.items())
