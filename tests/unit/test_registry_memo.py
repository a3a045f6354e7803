"""RegistryMemo: the event path's per-invocation registry view asks for each ref once, in batches."""

from __future__ import annotations

from collections.abc import Iterable

from driftline.cli.file_registry import FileRegistry
from driftline.domain.identity import IdentityRef, Kind
from driftline.domain.registry import RegistryEntry, RegistrySnapshot
from driftline.service.registry_memo import RegistryMemo

ACCOUNT, OTHER = "123456789012", "210987654321"


def user(name: str) -> IdentityRef:
    return IdentityRef(kind=Kind.USER, name=name)


class CountingRegistry(FileRegistry):
    """A file registry that records every batch and single read it is asked for."""

    def __init__(self, snapshot: RegistrySnapshot) -> None:
        super().__init__(snapshot)
        self.batches: list[set[IdentityRef]] = []
        self.singles: list[IdentityRef] = []

    def get_many(self, account_id: str, refs: Iterable[IdentityRef]) -> dict[IdentityRef, RegistryEntry]:
        refs = set(refs)
        self.batches.append(refs)
        return super().get_many(account_id, refs)

    def get(self, account_id: str, ref: IdentityRef) -> RegistryEntry | None:
        self.singles.append(ref)
        return super().get(account_id, ref)


def registry() -> CountingRegistry:
    snapshot = RegistrySnapshot.model_validate(
        {"account_id": ACCOUNT, "entries": [{"kind": "user", "name": "alice", "owner": "a@example.com"}]}
    )
    return CountingRegistry(snapshot)


def test_each_ref_is_fetched_once_and_misses_are_remembered() -> None:
    """Prefetch alice (registered) and bob (not), then get both and get_many both plus carol: exactly two batches
    ({alice, bob}, then {carol}), no single reads; bob stays None without asking again."""
    inner = registry()
    memo = RegistryMemo(inner, ACCOUNT)

    memo.prefetch([user("alice"), user("bob")])
    alice, bob = memo.get(ACCOUNT, user("alice")), memo.get(ACCOUNT, user("bob"))
    many = memo.get_many(ACCOUNT, [user("alice"), user("bob"), user("carol")])

    assert alice is not None and alice.owner == "a@example.com"
    assert bob is None
    assert set(many) == {user("alice")}
    assert inner.batches == [{user("alice"), user("bob")}, {user("carol")}]
    assert inner.singles == []


def test_another_accounts_refs_go_straight_to_the_registry() -> None:
    """A ref of another account is never answered from (or stored in) this account's memo."""
    inner = registry()
    memo = RegistryMemo(inner, ACCOUNT)
    memo.prefetch([user("alice")])

    assert memo.get(OTHER, user("alice")) is None
    assert memo.get_many(OTHER, [user("alice")]) == {}
    assert inner.singles == [user("alice")]
    assert inner.batches == [{user("alice")}, {user("alice")}]
