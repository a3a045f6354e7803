"""Revoked registry entries: is the revocation enforced in IAM, and was the identity used after it?

A revocation is enforced when nobody can act as the identity (README, "What enforced means"):
- access key: deleted or ``Inactive``, or its user cannot act at all (deleted, or denied everything);
- user: deleted; or one of its own policies (inline, attached managed, or its permissions boundary allowing nothing)
  denies every action unconditionally; or it holds no usable credential: no ``Active`` access key, no console
  password, no active SSH public key, service-specific credential or signing certificate;
- role: deleted; or denied everything as above; or its trust policy lets nobody assume it. A deny of sessions issued
  before a time (``aws:TokenIssueTime``, the console's "revoke active sessions") is *not* enforcement: whoever the
  trust policy names can start a new session the next second.

``still_active`` answers with ``Access`` items: a stable token per way to act (``access_key:AKIA…``, ``password``,
``ssh-public-key:APKA…``, ``role-session`` …, which the ledger uses to credit each credential's disabling change)
and a sentence for people. Anything not read counts as a way to act: silence is never proof.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from driftline.domain.bounds import named
from driftline.domain.context import Context, stamp
from driftline.domain.drift import Drift, DriftType, RevocationCheck, RevocationState
from driftline.domain.identity import Kind
from driftline.domain.observed import ObservedPrincipal, ObservedRole, ObservedUser
from driftline.domain.registry import RegistryEntry

PASSWORD = "password"
ROLE_SESSION = "role-session"
UNREAD = "credentials-not-read"


class Access(NamedTuple):
    """One way an identity can still act: a stable credential token and why, in words."""

    credential: str
    reason: str


def key_token(key_id: str) -> str:
    return f"access_key:{key_id}"


def user_access(user: ObservedUser, ctx: Context) -> list[Access]:
    """Every way ``user`` can act (empty when it cannot act at all)."""
    if user.denied_everything is not None:
        return []
    found = [
        Access(key_token(k.access_key_id), f"access key {k.access_key_id} is Active")
        for k in ctx.inventory.keys_of(user.name)
        if k.active
    ]
    if user.password_enabled:
        found.append(Access(PASSWORD, "console password is enabled"))
    if user.other_credentials is None:
        found.append(
            Access(UNREAD, "its SSH public keys, service-specific credentials and signing certificates were not read")
        )
    else:
        found += [
            Access(f"{c.kind}:{c.credential_id}", f"{c.description} is Active")
            for c in user.other_credentials
            if c.active
        ]
    return found


def role_access(role: ObservedRole, revoked_at: datetime | None) -> list[Access]:
    """How ``role`` can still be used: by anyone its trust policy admits, unless a policy denies it everything."""
    if role.denied_everything is not None or role.assumable_by == ():
        return []
    who = named(role.assumable_by) if role.assumable_by is not None else "whoever its trust policy names (not read)"
    reason = f"role can still be assumed by {who}"
    if revoked_at is not None and role.sessions_revoked_since(revoked_at):
        reason += " (a deny of sessions issued before a time stops no new session)"
    return [Access(ROLE_SESSION, reason)]


def still_active(ctx: Context, entry: RegistryEntry) -> tuple[Access, ...]:
    """What still lets a revoked (or expired) identity act; empty when nobody can act as it (or it is gone)."""
    if entry.kind is Kind.ACCESS_KEY:
        key = ctx.inventory.keys.get(entry.name)
        if key is None or not key.active:
            return ()
        user = ctx.inventory.user(key.user_name)
        if user is not None and user.denied_everything is not None:
            return ()
        return (Access(key_token(key.access_key_id), f"access key {key.access_key_id} is Active"),)
    principal, renamed = ctx.revoked_principal(entry.ref)
    if principal is None:
        return ()
    if isinstance(principal, ObservedUser):
        found = user_access(principal, ctx)
    else:
        assert isinstance(principal, ObservedRole)
        found = role_access(principal, entry.revoked_at)
    if renamed is None:
        return tuple(found)
    # Renamed, not deleted: the same principal acts on under its new name.
    return tuple(Access(a.credential, f"renamed to {renamed[:64]}: {a.reason}") for a in found)


def enforced_basis(ctx: Context, entry: RegistryEntry) -> str:
    """Why nobody can act as a revoked identity, for the ledger and the auditor (called when ``still_active`` is
    empty). A trust policy that admits nobody stops new sessions only: the note says so."""
    if entry.kind is Kind.ACCESS_KEY:
        key = ctx.inventory.keys.get(entry.name)
        if key is None:
            return "the access key is deleted"
        user = ctx.inventory.user(key.user_name)
        deny = user.denied_everything if user is not None and key.active else None
        return f"its user is denied everything by {deny.description}" if deny else "the access key is Inactive"
    principal, renamed = ctx.revoked_principal(entry.ref)
    if principal is None:
        return f"the {entry.kind.label} is deleted"
    if renamed is not None:
        return f"renamed to {renamed[:64]}, and {_shut(entry, principal)}"
    return _shut(entry, principal)


def _shut(entry: RegistryEntry, principal: ObservedPrincipal) -> str:
    """Why nobody can act as ``principal``, which IAM still holds."""
    if (deny := principal.denied_everything) is not None:
        return f"denied everything by {deny.description}"
    if entry.kind is Kind.ROLE:
        return (
            "its trust policy admits nobody (sessions issued before that change stay valid until they expire, at "
            "most 12 hours)"
        )
    return "it holds no usable credential"


def check_revocation(ctx: Context, entry: RegistryEntry) -> tuple[RevocationCheck, list[Drift]]:
    assert entry.revoked_at is not None  # guaranteed by RegistryEntry validation for revoked entries
    grace_ends = entry.revoked_at + ctx.settings.grace_period
    access = still_active(ctx, entry)
    active = tuple(a.reason for a in access)
    if not active:
        state = RevocationState.ENFORCED
    elif ctx.now < grace_ends:
        state = RevocationState.PENDING
    else:
        state = RevocationState.UNENFORCED
    principal = ctx.revoked_principal(entry.ref)[0] if entry.kind is not Kind.ACCESS_KEY else None
    check = RevocationCheck(
        identity=entry.ref,
        principal_id=principal.principal_id if principal is not None else None,
        revoked_at=entry.revoked_at,
        state=state,
        still_active=active,
        credentials=tuple(a.credential for a in access),
        grace_ends_at=grace_ends,
        basis=enforced_basis(ctx, entry) if state is RevocationState.ENFORCED else None,
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
        role = ctx.inventory.role(entry.name)
        if role and role.last_used_at:
            return "role_last_used_at", role.last_used_at, role.last_use_event
    else:
        user = ctx.inventory.user(entry.name)
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
