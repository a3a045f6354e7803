"""The seams between the core and the outside world, as structural Protocols (fakes need no inheritance)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import NamedTuple, Protocol

from pydantic import BaseModel, ConfigDict, Field

from driftline.domain.drift import Comparison
from driftline.domain.enforcement import Action
from driftline.domain.identity import IdentityRef
from driftline.domain.ledger import LedgerRecord
from driftline.domain.observed import ALL_FACETS, Facet, Inventory, OtherCredential
from driftline.domain.registry import RegistryEntry
from driftline.domain.registry_load import RegistryLoad


class KnownKey(NamedTuple):
    """An access key as last listed by ListAccessKeys: enough to recognise it in the credential report."""

    access_key_id: str
    created_at: datetime
    status: str


class KnownOthers(NamedTuple):
    """A user's SSH public keys, service-specific credentials and signing certificates, as read at ``read_at``."""

    credentials: tuple[OtherCredential, ...]
    read_at: datetime


class IamReader(Protocol):
    def read_account(self, account_id: str, *, access: frozenset[IdentityRef] = frozenset()) -> Inventory:
        """Every user, role and access key of the account. For the ``access`` identities (revoked or expired
        entries: users and roles), every way to act is read: other credentials, the documents of managed policies and
        boundaries, and credentials directly from IAM wherever the credential report still shows one usable."""
        ...

    def read_identities(
        self,
        account_id: str,
        refs: Iterable[IdentityRef],
        *,
        facets: frozenset[Facet] = ALL_FACETS,
        access: frozenset[IdentityRef] = frozenset(),
    ) -> Inventory:
        """Only the named identities (a user's keys come with the user), read directly from IAM; of users, only the
        ``facets`` asked for (roles are read whole); of the ``access`` identities, every way to act."""
        ...

    def group_members(self, group: str) -> list[str] | None:
        """The users in a group, or None when the group does not exist."""
        ...


class RegistryReader(Protocol):
    def load(self, account_id: str) -> RegistryLoad:
        """Every entry of the account, with the problems of entries that failed validation."""
        ...

    def get(self, account_id: str, ref: IdentityRef) -> RegistryEntry | None: ...

    def get_many(self, account_id: str, refs: Iterable[IdentityRef]) -> dict[IdentityRef, RegistryEntry]:
        """The entries of ``refs`` that exist (absent refs are simply not in the answer)."""
        ...


class KeyCache(Protocol):
    """Remembers each user's key ids between reconciles, so a quiet account needs no per-user ListAccessKeys."""

    def load(self, account_id: str) -> dict[str, list[KnownKey]]: ...

    def save(self, account_id: str, changed: Mapping[str, list[KnownKey]], removed: Iterable[str]) -> None: ...

    def load_others(self, account_id: str) -> dict[str, KnownOthers]:
        """Other credentials per user (user names folded to lower case), as last read directly."""
        ...

    def save_others(self, account_id: str, found: Mapping[str, KnownOthers]) -> None: ...


class PublishReport(BaseModel):
    """What a sink did with one comparison."""

    model_config = ConfigDict(extra="forbid")

    published: int = Field(default=0, description="findings imported because new, changed, reactivated or refreshed")
    resolved: int = Field(default=0, description="findings archived because their drift ended")
    unchanged: int = 0
    failed: dict[str, str] = Field(default_factory=dict, description="finding id -> error; retried next run")
    calls: int = 0
    deferred: int = Field(default=0, description="findings not sent: the time limit came first; planned next run")
    error: str | None = Field(default=None, description="why nothing (or not everything) could be published")


class DriftSink(Protocol):
    """Receives every comparison (Security Hub publishing plugs in here)."""

    def publish(self, comparison: Comparison, inventory: Inventory) -> PublishReport:
        """Publish the comparison's drifts for the inventory's scope, resolving only findings inside that scope."""
        ...


class ReconcileRequests(Protocol):
    """Asks for a whole-account reconcile when an event cannot say which identities it changed."""

    def request(self, account_id: str, reason: str, now: datetime) -> bool:
        """Ask for one; False when one was asked for recently enough to cover this (requests are coalesced)."""
        ...


class NoKeyCache:
    """A cache that remembers nothing: every user with keys is listed (the CLI without a state table)."""

    def load(self, account_id: str) -> dict[str, list[KnownKey]]:
        return {}

    def save(self, account_id: str, changed: Mapping[str, list[KnownKey]], removed: Iterable[str]) -> None:
        return None

    def load_others(self, account_id: str) -> dict[str, KnownOthers]:
        return {}

    def save_others(self, account_id: str, found: Mapping[str, KnownOthers]) -> None:
        return None


class MemoryKeyCache:
    """An in-process cache (tests, benchmarks, a long-lived CLI process)."""

    def __init__(self) -> None:
        self.data: dict[str, dict[str, list[KnownKey]]] = {}
        self.others: dict[str, dict[str, KnownOthers]] = {}

    def load_others(self, account_id: str) -> dict[str, KnownOthers]:
        return dict(self.others.get(account_id, {}))

    def save_others(self, account_id: str, found: Mapping[str, KnownOthers]) -> None:
        self.others.setdefault(account_id, {}).update(found)

    def load(self, account_id: str) -> dict[str, list[KnownKey]]:
        return {user: list(keys) for user, keys in self.data.get(account_id, {}).items()}

    def save(self, account_id: str, changed: Mapping[str, list[KnownKey]], removed: Iterable[str]) -> None:
        account = self.data.setdefault(account_id, {})
        account.update({user: list(keys) for user, keys in changed.items()})
        for user in removed:
            account.pop(user, None)


class NullSink:
    """Publishes nothing (``driftline scan`` without ``--publish``)."""

    def publish(self, comparison: Comparison, inventory: Inventory) -> PublishReport:
        return PublishReport()


# -- the revocation ledger and enforcement ---------------------------------------------------------------------
RecordEdit = Callable[[LedgerRecord | None], LedgerRecord | None]
"""How a ledger update changes a record (None: no record, or nothing to write)."""


class Ledger(Protocol):
    """The revocation ledger: records keyed by identity and revocation time, every write conditional on the version
    read (``update`` re-reads and re-applies ``change`` when another writer came first)."""

    # Items ``records`` skipped because they are not valid records (named, for the log, the metric and the CLI).
    problems: list[str]

    def records(self, account_id: str, identities: Iterable[str] | None = None) -> list[LedgerRecord]: ...

    def update(
        self, account_id: str, identity: str, requested_at_iso: str, change: RecordEdit
    ) -> LedgerRecord | None: ...


class Enforcer(Protocol):
    """Carries out one reversible enforcement step in IAM."""

    def apply(self, action: Action) -> None: ...


class Restorer(Protocol):
    """Reverses one enforcement step driftline took."""

    def undo(self, action: Action) -> None: ...
