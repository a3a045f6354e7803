"""Adopting today's IAM as the registry's starting truth, so day one is not a wall of findings.

Every user, role and active access key that is not excluded becomes an active entry whose approved entitlements are
exactly what it holds now (for a role, also who its trust policy admits now); the owner comes from a tag when
present, else the default owner.
"""

from __future__ import annotations

from driftline.domain.entitlements import held_entitlements
from driftline.domain.identity import Kind
from driftline.domain.observed import Inventory, ObservedPrincipal, ObservedRole
from driftline.domain.registry import NO_BOUNDARY, RegistryEntry
from driftline.domain.settings import Exclusions


def _owner(principal: ObservedPrincipal | None, owner_tag: str | None, default_owner: str) -> str:
    if principal is not None and owner_tag and principal.tags.get(owner_tag, "").strip():
        return principal.tags[owner_tag].strip()
    return default_owner


def adopt(
    inventory: Inventory, exclusions: Exclusions, *, owner_tag: str | None, default_owner: str
) -> list[RegistryEntry]:
    entries: list[RegistryEntry] = []
    for principal in [*inventory.users.values(), *inventory.roles.values()]:
        if exclusions.excludes(principal.name, principal.path, principal.kind):
            continue
        held: dict[str, tuple[str, ...]] = {k: tuple(sorted(v)) for k, v in held_entitlements(principal).items()}
        boundary = principal.permissions_boundary or NO_BOUNDARY
        if isinstance(principal, ObservedRole) and principal.trusted_by is not None:
            held["trusted_principals"] = principal.trusted_by  # today's trust, approved as it stands
        entries.append(
            RegistryEntry(
                kind=principal.kind,
                name=principal.name,
                owner=_owner(principal, owner_tag, default_owner),
                purpose="adopted from IAM",
                permissions_boundary=boundary,
                **held,
            )
        )
    for key in inventory.keys.values():
        user = inventory.users.get(key.user_name)
        if not key.active or (user is not None and exclusions.excludes(user.name, user.path, Kind.USER)):
            continue
        entries.append(
            RegistryEntry(
                kind=Kind.ACCESS_KEY,
                name=key.access_key_id,
                user=key.user_name,
                owner=_owner(user, owner_tag, default_owner),
                purpose="adopted from IAM",
            )
        )
    return sorted(entries, key=lambda e: e.ref.key)
