"""A registry read from a file instead of DynamoDB (``driftline scan --registry-file``)."""

from __future__ import annotations

from collections.abc import Iterable

from driftline.domain.identity import IdentityRef
from driftline.domain.registry import RegistryEntry, RegistrySnapshot
from driftline.domain.registry_load import RegistryLoad


class FileRegistry:
    """Implements ``ports.RegistryReader`` over a validated snapshot."""

    def __init__(self, snapshot: RegistrySnapshot) -> None:
        self._snapshot = snapshot

    def load(self, account_id: str) -> RegistryLoad:
        entries = list(self._snapshot.entries) if account_id == self._snapshot.account_id else []
        return RegistryLoad(account_id=account_id, entries=entries)

    def get(self, account_id: str, ref: IdentityRef) -> RegistryEntry | None:
        if account_id != self._snapshot.account_id:
            return None
        return self._snapshot.by_ref().get(ref)

    def get_many(self, account_id: str, refs: Iterable[IdentityRef]) -> dict[IdentityRef, RegistryEntry]:
        if account_id != self._snapshot.account_id:
            return {}
        by_ref = self._snapshot.by_ref()
        return {ref: by_ref[ref] for ref in refs if ref in by_ref}
