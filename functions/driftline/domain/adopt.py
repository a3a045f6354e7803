"""Adopting today's IAM as the registry's starting truth, so day one is not a wall of findings.

Every user, role and active access key that is not excluded becomes an active entry whose approved entitlements are
exactly what it holds now; the owner comes from a tag when present, else the default owner.
"""

from __future__ import annotations

from driftline.domain.entitlements import held_entitlements
from driftline.domain.identity import Kind
from driftline.domain.observed import Inventory, ObservedPrincipal
from driftline.domain.registry import RegistryEntry
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
        held = {k: tuple(sorted(v)) for k, v in held_entitlements(principal).items()}
        entries.append(
            RegistryEntry(
                kind=principal.kind,
                name=principal.name,
                owner=_owner(principal, owner_tag, default_owner),
                purpose="adopted from IAM",
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
