"""What importing a registry file would change: ``registry_diff.diff`` and ``changed_fields`` (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftline.domain.registry import RegistryEntry
from driftline.domain.registry_diff import changed_fields, diff, same
from tests.unit.domain.builders import key_entry, key_id, policy_arn, role_entry, user_entry

READ = policy_arn("ReadOnlyAccess")
AUDIT = policy_arn("SecurityAudit")
WHEN = datetime(2026, 1, 1, tzinfo=UTC)


def keys(entries: list[RegistryEntry]) -> list[str]:
    return [e.ref.key for e in entries]


def test_added_changed_unchanged_and_removed() -> None:
    """Current: alice, bob, carol-app. Desired: alice with another owner, bob as is, dave. With prune: dave added,
    alice changed (pair current/desired), bob unchanged, carol-app removed; writes == 3."""
    # Given a current registry and a desired one that differs in every way
    alice, bob, carol = user_entry("alice"), user_entry("bob"), role_entry("carol-app")
    new_alice = user_entry("alice", owner="someone-else")
    dave = user_entry("dave")
    # When they are diffed with prune
    result = diff([alice, bob, carol], [new_alice, bob, dave], prune=True)
    # Then each entry lands in its bucket
    assert keys(result.added) == ["user#dave"]
    assert result.changed == [(alice, new_alice)]
    assert keys(result.unchanged) == ["user#bob"]
    assert keys(result.removed) == ["role#carol-app"]
    assert result.writes == 3


def test_without_prune_nothing_is_removed() -> None:
    """Current alice, carol-app; desired alice, dave; without prune: removed is empty and only dave is written."""
    # Given a current entry the desired registry does not hold
    # When diffed without prune
    result = diff(
        [user_entry("alice"), role_entry("carol-app")], [user_entry("alice"), user_entry("dave")], prune=False
    )
    # Then it stays
    assert result.removed == []
    assert result.writes == 1


def test_bookkeeping_fields_do_not_count_as_changes() -> None:
    """An entry that differs only in version, updated_at and updated_by is unchanged (no write)."""
    # Given the same entry as stored (v7, written by someone) and as a file states it
    stored = user_entry("alice", version=7, updated_at=WHEN, updated_by="arn:aws:sts::123456789012:user/x")
    declared = user_entry("alice")
    # When diffed
    result = diff([stored], [declared], prune=True)
    # Then nothing is to be written
    assert result.writes == 0 and result.unchanged == [declared]
    assert same(stored, declared)


@pytest.mark.parametrize(
    ("current", "desired", "fields"),
    [
        (user_entry("a"), user_entry("a", owner="x"), ["owner"]),
        (user_entry("a"), user_entry("a", managed_policies=[]), ["managed_policies"]),  # not governed -> none approved
        (user_entry("a", groups=["g"]), user_entry("a", groups=[]), ["groups"]),
        (
            user_entry("a"),
            user_entry("a", status="revoked", revoked_at=WHEN, ticket="T"),
            ["revoked_at", "status", "ticket"],
        ),
        (role_entry("r", expires_at=WHEN), role_entry("r", max_unused_days=5), ["expires_at", "max_unused_days"]),
        (key_entry(key_id(1), "alice"), key_entry(key_id(1), "bob", purpose="ci"), ["purpose", "user"]),
    ],
    ids=["owner", "none-vs-empty", "groups-emptied", "revoked", "role-thresholds", "key-user"],
)
def test_changed_fields_names_exactly_what_differs(
    current: RegistryEntry, desired: RegistryEntry, fields: list[str]
) -> None:
    """changed_fields lists the declared fields that differ, sorted; 'not governed' (None) vs 'nothing approved' (())
    is a change; bookkeeping is never listed."""
    # Given two versions of one entry
    # When their changed fields are listed
    # Then exactly the differing fields are named
    assert changed_fields(current, desired) == fields
    assert diff([current], [desired], prune=False).changed == [(current, desired)]


def test_buckets_are_sorted_by_kind_and_name() -> None:
    """Inputs in arbitrary order come out sorted by kind#name in every bucket."""
    # Given unsorted inputs
    current = [user_entry("zed"), role_entry("b-role"), user_entry("m", owner="x"), role_entry("a-role")]
    desired = [user_entry("m"), key_entry(key_id(2), "zed"), user_entry("b"), key_entry(key_id(1), "zed")]
    # When diffed with prune
    result = diff(current, desired, prune=True)
    # Then each bucket is sorted
    assert keys(result.added) == [f"access_key#{key_id(1)}", f"access_key#{key_id(2)}", "user#b"]
    assert keys(result.removed) == ["role#a-role", "role#b-role", "user#zed"]
    assert [n.ref.key for _, n in result.changed] == ["user#m"]


def test_same_name_of_different_kinds_are_different_entries() -> None:
    """user#app in the table and role#app in the file: the role is added and (with prune) the user removed."""
    # Given a user and a role sharing a name
    # When diffed
    result = diff([user_entry("app")], [role_entry("app")], prune=True)
    # Then they are not confused
    assert keys(result.added) == ["role#app"] and keys(result.removed) == ["user#app"]


def test_reordered_entitlements_are_unchanged() -> None:
    """Stored managed_policies (Read, Audit) vs file (Audit, Read), and groups (g1, g2) vs (g2, g1): unchanged (the
    same approvals: the registry compares entitlements as sets), not '~ user#a: managed_policies, groups'."""
    # Given the same approvals listed in another order
    stored = user_entry("a", managed_policies=[READ, AUDIT], groups=["g1", "g2"])
    declared = user_entry("a", managed_policies=[AUDIT, READ], groups=["g2", "g1"])
    # When diffed
    result = diff([stored], [declared], prune=False)
    # Then nothing is to be written
    assert result.writes == 0, changed_fields(stored, declared)


NAMES = st.lists(st.sampled_from(["a", "b", "c", "d", "e", "f"]), unique=True, max_size=6)


@settings(max_examples=50, deadline=None)
@given(current=NAMES, desired=NAMES, owners=st.dictionaries(st.sampled_from("abcdef"), st.sampled_from(["o1", "o2"])))
def test_buckets_partition_the_inputs(current: list[str], desired: list[str], owners: dict[str, str]) -> None:
    """For any current/desired user sets (owners drawn per name, so some differ): added ∪ changed ∪ unchanged is the
    desired set, removed is current minus desired, and applying the diff to current yields desired."""
    # Given two registries
    have = [user_entry(n, owner="o1") for n in current]
    want = [user_entry(n, owner=owners.get(n, "o1")) for n in desired]
    # When diffed with prune
    result = diff(have, want, prune=True)
    # Then the buckets partition the inputs and applying them gives the desired registry
    assert sorted(keys(result.added) + [n.ref.key for _, n in result.changed] + keys(result.unchanged)) == sorted(
        keys(want)
    )
    assert sorted(keys(result.removed)) == sorted(set(keys(have)) - set(keys(want)))
    applied = {e.ref.key: e for e in have}
    for e in result.removed:
        del applied[e.ref.key]
    applied |= {e.ref.key: e for e in result.added} | {n.ref.key: n for _, n in result.changed}
    assert {k: e.owner for k, e in applied.items()} == {e.ref.key: e.owner for e in want}
    assert all(not same(o, n) for o, n in result.changed)


def test_trusted_principals_compare_as_a_set_in_canonical_form() -> None:
    """Tried: a role trusting [lambda, account 111122223333] against the same two in the other order with the
    account as its root ARN; then against [] and against an omitted field. Must: the first pair is the same (an
    import writes nothing); [] (nobody) and omitted (not governed) each differ from it and from each other, and
    changed_fields names trusted_principals."""
    current = role_entry("ci", trusted_principals=["Service:lambda.amazonaws.com", "111122223333"])
    reordered = role_entry("ci", trusted_principals=["arn:aws:iam::111122223333:root", "Service:lambda.amazonaws.com"])
    nobody, ungoverned = role_entry("ci", trusted_principals=[]), role_entry("ci")
    assert same(current, reordered)
    assert not same(current, nobody) and not same(current, ungoverned) and not same(nobody, ungoverned)
    assert "trusted_principals" in changed_fields(current, nobody)
