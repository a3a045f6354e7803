"""Revoked registry entries: is the revocation enforced in IAM, and was the identity used after it?

Enforcement means (AWS-FACTS section 3):
- access key: the key is deleted or Inactive;
- user: the user is deleted, or has no console password and no Active access key;
- role: the role is deleted, or an inline policy denies every action for sessions issued before a time at or after
  ``revoked_at`` (the ``AWSRevokeOlderSessions`` pattern), or denies everything unconditionally.
"""

from __future__ import annotations

from datetime import datetime

from driftline.domain.context import Context, stamp
from driftline.domain.drift import Drift, DriftType, RevocationCheck, RevocationState
from driftline.domain.identity import Kind
from driftline.domain.registry import RegistryEntry


def still_active(ctx: Context, entry: RegistryEntry) -> tuple[str, ...]:
    """What still lets a revoked identity act; empty when the revocation is enforced (or the identity is gone)."""
    if entry.kind is Kind.ACCESS_KEY:
        key = ctx.inventory.keys.get(entry.name)
        return (f"access key {key.access_key_id} is Active",) if key and key.active else ()
    if entry.kind is Kind.USER:
        user = ctx.inventory.users.get(entry.name)
        if user is None:
            return ()
        left = [f"access key {k.access_key_id} is Active" for k in ctx.inventory.keys_of(user.name) if k.active]
        if user.password_enabled:
            left.append("console password is enabled")
        return tuple(left)
    role = ctx.inventory.roles.get(entry.name)
    if role is None or (entry.revoked_at is not None and role.sessions_revoked_since(entry.revoked_at)):
        return ()
    return ("role exists with no session-revoking deny issued at or after the revocation",)


def check_revocation(ctx: Context, entry: RegistryEntry) -> tuple[RevocationCheck, list[Drift]]:
    assert entry.revoked_at is not None  # guaranteed by RegistryEntry validation for revoked entries
    grace_ends = entry.revoked_at + ctx.settings.grace_period
    active = still_active(ctx, entry)
    if not active:
        state = RevocationState.ENFORCED
    elif ctx.now < grace_ends:
        state = RevocationState.PENDING
    else:
        state = RevocationState.UNENFORCED
    check = RevocationCheck(
        identity=entry.ref, revoked_at=entry.revoked_at, state=state, still_active=active, grace_ends_at=grace_ends
    )
    drifts: list[Drift] = []
    if state is RevocationState.UNENFORCED:
        drifts.append(
            ctx.drift(
                DriftType.UNENFORCED_REVOCATION,
                entry.ref,
                f"{entry.kind.label} {entry.name} was revoked at {stamp(entry.revoked_at)} "
                f"(ticket {entry.ticket or 'none'}) and IAM still allows it: {'; '.join(active)}",
                revoked_at=entry.revoked_at,
                still_active=list(active),
                grace_period_seconds=int(ctx.settings.grace_period.total_seconds()),
                since=grace_ends,
            )
        )
    drifts.extend(_used_after_revocation(ctx, entry))
    return check, drifts


def _used_after_revocation(ctx: Context, entry: RegistryEntry) -> list[Drift]:
    revoked_at = entry.revoked_at
    assert revoked_at is not None
    found = _last_use(ctx, entry)
    if found is None or found[1] <= revoked_at:
        return []
    what, when, event_id = found
    return [
        ctx.drift(
            DriftType.REVOKED_CREDENTIAL_USED,
            entry.ref,
            f"{entry.kind.label} {entry.name} was used at {stamp(when)}, after its revocation at {stamp(revoked_at)}",
            revoked_at=revoked_at,
            **{what: when},
            event_id=event_id,
            since=when,
        )
    ]


def _last_use(ctx: Context, entry: RegistryEntry) -> tuple[str, datetime, str | None] | None:
    """(evidence name, last use, CloudTrail event id if an event proved it) of a revoked identity."""
    if entry.kind is Kind.ACCESS_KEY:
        key = ctx.inventory.keys.get(entry.name)
        if key and key.last_used_at:
            return "key_last_used_at", key.last_used_at, key.last_use_event
    elif entry.kind is Kind.ROLE:
        role = ctx.inventory.roles.get(entry.name)
        if role and role.last_used_at:
            return "role_last_used_at", role.last_used_at, role.last_use_event
    else:
        user = ctx.inventory.users.get(entry.name)
        if user and user.password_last_used_at:
            return "password_last_used_at", user.password_last_used_at, user.last_use_event
    return None


def check_key_of_revoked_user(ctx: Context, key_id: str) -> list[Drift]:
    """A key with no revoked entry of its own whose user is revoked: report its use after the user's revocation."""
    key = ctx.inventory.keys.get(key_id)
    own = ctx.entry(key.ref) if key is not None else None
    if key is None or (own is not None and own.is_revoked):
        return []  # a key revoked in its own right is judged by its own entry
    user_entry = ctx.user_entry(key.user_name)
    if user_entry is None or not user_entry.is_revoked or user_entry.revoked_at is None:
        return []
    if key.last_used_at is None or key.last_used_at <= user_entry.revoked_at:
        return []
    return [
        ctx.drift(
            DriftType.REVOKED_CREDENTIAL_USED,
            key.ref,
            f"access key {key.access_key_id} of revoked user {key.user_name} was used at {stamp(key.last_used_at)}, "
            f"after the user's revocation at {stamp(user_entry.revoked_at)}",
            revoked_at=user_entry.revoked_at,
            key_last_used_at=key.last_used_at,
            event_id=key.last_use_event,
            since=key.last_used_at,
        )
    ]
