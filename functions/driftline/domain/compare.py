"""The comparison: registry entries x observed identities x settings -> drifts. Every entry point ends here.

Pure: no I/O, no clock (``now`` is an argument), no logging. Only identities inside the inventory's scope are judged,
so an event-scoped evaluation never concludes anything about identities it did not look at.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from driftline.domain.context import Context
from driftline.domain.drift import CREDENTIAL_DRIFTS, ENTITLEMENT_DRIFTS, Comparison, Drift, DriftType, RevocationCheck
from driftline.domain.entitlements import check_active_entry
from driftline.domain.hygiene import check_hygiene, unjudged
from driftline.domain.identity import IdentityRef, Kind
from driftline.domain.observed import ALL_FACETS, Facet, Inventory
from driftline.domain.registry import RegistryEntry
from driftline.domain.revocation import check_key_of_revoked_user, check_revocation
from driftline.domain.settings import CompareSettings


def compare(
    entries: Iterable[RegistryEntry] | Mapping[IdentityRef, RegistryEntry],
    inventory: Inventory,
    settings: CompareSettings,
    now: datetime,
    undecided: frozenset[IdentityRef] = frozenset(),
    known_ids: Mapping[IdentityRef, str] | None = None,
) -> Comparison:
    """Compare the registry with what IAM holds and return every drift, sorted worst first.

    Parameters
    ----------
    entries
        Registry entries of the inventory's account; entries outside the inventory's scope are ignored.
    inventory
        The observed identities, whole-account or scoped to a few identities.
    settings
        Grace period, default thresholds and exclusions.
    now
        The time the comparison judges at (timezone-aware).
    undecided
        Identities whose registry items could not be read: no drift is raised about them (or their keys), since
        nothing about them can be decided; their findings and ledger records are left as they are.
    known_ids
        IAM's unique ids of revoked users and roles, as the ledger last saw them: a revoked identity whose name is
        gone but whose id lives on under another name was renamed, not deleted, and is judged under its new name.
    """
    registry = dict(entries) if isinstance(entries, Mapping) else {e.ref: e for e in entries}
    ctx = Context(registry=registry, inventory=inventory, settings=settings, now=now, known_ids=known_ids or {})
    drifts: list[Drift] = []
    revocations: list[RevocationCheck] = []
    for entry in registry.values():
        if not inventory.covers(entry.ref, entry.user):
            continue
        if entry.is_revoked:
            check, found = check_revocation(ctx, entry)
            revocations.append(check)
            drifts.extend(found)
        else:
            drifts.extend(check_active_entry(ctx, entry))
    drifts.extend(_unregistered(ctx))
    drifts.extend(check_hygiene(ctx))
    for key_id in inventory.keys:
        drifts.extend(check_key_of_revoked_user(ctx, key_id))
    if undecided:
        drifts = [d for d in drifts if not _about(d, undecided)]
    drifts.sort(key=lambda d: (-d.severity.rank, d.type.value, d.identity.key))
    judged = judged_types(inventory.facets)
    if unjudged(settings):
        judged = (frozenset(DriftType) if judged is None else judged) - unjudged(settings)
    if judged is None:
        return Comparison(drifts=tuple(drifts), revocations=tuple(revocations), compared_at=now, undecided=undecided)
    # What the facets not read would decide is left out: a guess from an empty login profile or policy list would
    # raise or resolve findings wrongly.
    kept = tuple(d for d in drifts if d.type in judged)
    verdicts = tuple(revocations) if Facet.CREDENTIALS in inventory.facets else ()
    return Comparison(drifts=kept, revocations=verdicts, compared_at=now, judged=judged, undecided=undecided)


def _about(drift: Drift, refs: frozenset[IdentityRef]) -> bool:
    """Whether ``drift`` concerns one of ``refs`` (a key's drift concerns its user too)."""
    user = IdentityRef(kind=Kind.USER, name=drift.user) if drift.user else None
    return drift.identity in refs or (user is not None and user in refs)


def judged_types(facets: frozenset[Facet]) -> frozenset[DriftType] | None:
    """The drift types an observation with ``facets`` can judge; None for every type (a whole read)."""
    if facets >= ALL_FACETS:
        return None
    judged = frozenset(DriftType)
    if Facet.CREDENTIALS not in facets:
        judged -= CREDENTIAL_DRIFTS
    if Facet.ENTITLEMENTS not in facets:
        judged -= ENTITLEMENT_DRIFTS
    return judged


def _unregistered(ctx: Context) -> list[Drift]:
    found: list[Drift] = []
    principals = [*ctx.inventory.users.values(), *ctx.inventory.roles.values()]
    for principal in principals:
        ref = principal.ref
        if ref in ctx.registry or ctx.excluded(ref):
            continue
        found.append(
            ctx.drift(
                DriftType.UNREGISTERED_IDENTITY,
                ref,
                f"{ref.kind.label} {ref.name} exists in IAM (created {principal.created_at:%Y-%m-%d}) "
                "and has no registry entry, so nobody owns it",
                path=principal.path,
                created_at=principal.created_at,
                since=principal.created_at,
            )
        )
    for key in ctx.inventory.keys.values():
        if not key.active or key.ref in ctx.registry or ctx.excluded(key.ref) or ctx.key_revocation(key):
            continue  # a revoked user's keys are judged by the user's revocation
        found.append(
            ctx.drift(
                DriftType.UNREGISTERED_IDENTITY,
                key.ref,
                f"active access key {key.access_key_id} of user {key.user_name} has no registry entry",
                created_at=key.created_at,
                since=key.created_at,
            )
        )
    return found
