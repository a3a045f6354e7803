"""One invocation's view of the registry: entries asked for in batches, each fetched once, misses remembered too.

The event path needs registry entries at three moments (is the caller revoked? is an excluded name registered?
which entries cover the identities IAM answered for?); asking for them together turns a GetItem per entry into a
BatchGetItem or two. Implements ``ports.RegistryReader``; another account's refs go straight to the registry.
"""

from __future__ import annotations

from collections.abc import Iterable

from driftline.domain.identity import IdentityRef
from driftline.domain.registry import RegistryEntry
from driftline.domain.registry_load import RegistryLoad
from driftline.service.ports import RegistryReader


class RegistryMemo:
    def __init__(self, registry: RegistryReader, account_id: str) -> None:
        self._registry = registry
        self._account = account_id
        self._known: dict[IdentityRef, RegistryEntry | None] = {}

    def prefetch(self, refs: Iterable[IdentityRef]) -> None:
        """Fetch every ref not asked for yet, in one batch."""
        missing = set(refs) - self._known.keys()
        if missing:
            found = self._registry.get_many(self._account, missing)
            self._known.update((ref, found.get(ref)) for ref in missing)

    def get(self, account_id: str, ref: IdentityRef) -> RegistryEntry | None:
        if account_id != self._account:
            return self._registry.get(account_id, ref)
        self.prefetch([ref])
        return self._known[ref]

    def get_many(self, account_id: str, refs: Iterable[IdentityRef]) -> dict[IdentityRef, RegistryEntry]:
        if account_id != self._account:
            return self._registry.get_many(account_id, refs)
        wanted = set(refs)
        self.prefetch(wanted)
        return {ref: entry for ref in wanted if (entry := self._known[ref]) is not None}

    def load(self, account_id: str) -> RegistryLoad:
        return self._registry.load(account_id)
