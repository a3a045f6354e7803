"""The inputs of one comparison bundled together, with the look-ups every check needs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from driftline.domain.bounds import clipped
from driftline.domain.drift import Drift, DriftType
from driftline.domain.identity import IdentityRef, Kind, fold
from driftline.domain.observed import Inventory, ObservedKey, ObservedPrincipal
from driftline.domain.registry import RegistryEntry
from driftline.domain.rules import severity_of
from driftline.domain.settings import CompareSettings


@dataclass(frozen=True)
class Context:
    registry: Mapping[IdentityRef, RegistryEntry]
    inventory: Inventory
    settings: CompareSettings
    now: datetime
    # The IAM unique ids (AIDA…/AROA…) the ledger saw revoked users and roles hold: a rename keeps the id.
    known_ids: Mapping[IdentityRef, str] = field(default_factory=dict)

    def revoked_principal(self, ref: IdentityRef) -> tuple[ObservedPrincipal | None, str | None]:
        """The user or role a revoked entry names, and its new name when IAM holds it under another one. The unique
        id the ledger saw decides first (UpdateUser/UpdateRole keep it): a vanished name whose id lives on is a
        rename, not a deletion, and a new identity created under the old name (a decoy with nothing to act with)
        does not stand in for the renamed original. Without a known id, or once that id is gone, the name decides."""
        known = self.known_ids.get(ref)
        original = self.inventory.by_principal_id(ref.kind, known) if known else None
        if original is not None:
            return original, (None if fold(original.name) == fold(ref.name) else original.name)
        return self.inventory.principal(ref), None

    def entry(self, ref: IdentityRef) -> RegistryEntry | None:
        return self.registry.get(ref)

    def user_entry(self, user_name: str) -> RegistryEntry | None:  # registry refs compare without case
        return self.registry.get(IdentityRef(kind=Kind.USER, name=user_name))

    def key_revocation(self, key: ObservedKey) -> RegistryEntry | None:
        """The entry whose revocation applies to a key: the key's own, else its user's."""
        own = self.entry(key.ref)
        if own is not None and own.is_revoked:
            return own
        user = self.user_entry(key.user_name)
        return user if user is not None and user.is_revoked else None

    def principal(self, ref: IdentityRef) -> ObservedPrincipal | None:
        return self.inventory.principal(ref)

    def excluded(self, ref: IdentityRef) -> bool:
        if ref.kind is Kind.ACCESS_KEY:
            key = self.inventory.keys.get(ref.name)
            return key is not None and self.excluded(IdentityRef(kind=Kind.USER, name=key.user_name))
        principal = self.principal(ref)
        path = principal.path if principal is not None else "/"
        return self.settings.exclusions.excludes(ref.name, path, ref.kind)

    def arn_of(self, ref: IdentityRef) -> str | None:
        principal = self.principal(ref)
        if principal is not None:
            return principal.arn
        if ref.kind is Kind.ACCESS_KEY:
            key = self.inventory.keys.get(ref.name)
            user = self.inventory.user(key.user_name) if key else None
            return user.arn if user else None
        return None

    def drift(self, drift_type: DriftType, ref: IdentityRef, summary: str, **evidence: Any) -> Drift:
        """Build a drift for ``ref`` with owner, ticket, ARN and user filled from the registry and the inventory."""
        entry = self.entry(ref)
        key = self.inventory.keys.get(ref.name) if ref.kind is Kind.ACCESS_KEY else None
        user = key.user_name if key else (entry.user if entry else None)
        if entry is None and user is not None:
            entry = self.user_entry(user)  # an unregistered key of a registered user: its user's owner answers
        since = evidence.pop("since", None)
        return Drift(
            type=drift_type,
            severity=severity_of(drift_type, ref.kind),
            identity=ref,
            arn=self.arn_of(ref),
            user=user,
            owner=entry.owner if entry else None,
            ticket=entry.ticket if entry else None,
            summary=summary,
            evidence={k: clipped(_jsonable(v)) for k, v in evidence.items() if v is not None},
            since=since,
        )


def stamp(value: datetime | object) -> str:
    """A time as people read it in a finding: ``2026-11-24 21:21 UTC``."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return str(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, frozenset | set):
        return sorted(_jsonable(v) for v in value)
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
