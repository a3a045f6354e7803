"""What importing a registry file would change: added, changed, unchanged and (with prune) removed entries."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict

from driftline.domain.identity import IdentityRef
from driftline.domain.registry import RegistryEntry

BOOKKEEPING = {"version", "updated_at", "updated_by"}
# sets: their order means nothing
ENTITLEMENTS = ("managed_policies", "groups", "inline_policies", "trusted_principals")


def _declared(entry: RegistryEntry) -> dict[str, Any]:
    fields = entry.model_dump(exclude=BOOKKEEPING)
    return fields | {k: frozenset(fields[k]) for k in ENTITLEMENTS if fields[k] is not None}


def same(a: RegistryEntry, b: RegistryEntry) -> bool:
    """Equal in everything a person declares (versions, who wrote it last and the order of entitlements do not
    count)."""
    return _declared(a) == _declared(b)


class RegistryDiff(BaseModel):
    model_config = ConfigDict(frozen=True)

    added: list[RegistryEntry]
    changed: list[tuple[RegistryEntry, RegistryEntry]]  # (current, desired)
    unchanged: list[RegistryEntry]
    removed: list[RegistryEntry]

    @property
    def writes(self) -> int:
        return len(self.added) + len(self.changed) + len(self.removed)


def diff(current: Iterable[RegistryEntry], desired: Iterable[RegistryEntry], *, prune: bool) -> RegistryDiff:
    have: dict[IdentityRef, RegistryEntry] = {e.ref: e for e in current}
    want: dict[IdentityRef, RegistryEntry] = {e.ref: e for e in desired}
    added = [e for ref, e in want.items() if ref not in have]
    changed = [(have[ref], e) for ref, e in want.items() if ref in have and not same(have[ref], e)]
    unchanged = [e for ref, e in want.items() if ref in have and same(have[ref], e)]
    removed = [e for ref, e in have.items() if ref not in want] if prune else []
    key = lambda e: e.ref.key  # noqa: E731
    return RegistryDiff(
        added=sorted(added, key=key),
        changed=sorted(changed, key=lambda pair: pair[1].ref.key),
        unchanged=sorted(unchanged, key=key),
        removed=sorted(removed, key=key),
    )


def changed_fields(current: RegistryEntry, desired: RegistryEntry) -> list[str]:
    a, b = _declared(current), _declared(desired)
    return sorted(k for k in a if a[k] != b.get(k))
