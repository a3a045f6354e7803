"""compare(): identities IAM holds that the registry does not know about."""

from __future__ import annotations

from driftline.domain.drift import DriftType, Severity
from tests.unit.domain.builders import (
    NOW,
    days_ago,
    hours_ago,
    inactive,
    inventory,
    key_entry,
    key_id,
    kinds_and_names,
    observed_key,
    observed_role,
    observed_user,
    only,
    revoked,
    role_entry,
    run,
    user_arn,
    user_entry,
)

UNREGISTERED = DriftType.UNREGISTERED_IDENTITY


def test_registry_that_matches_iam_gives_no_drift() -> None:
    """A user with a registered key and a role, all registered and recently used: no drift, no revocations."""
    # Given IAM and a registry that agree
    inv = inventory(
        users=[observed_user("alice")], roles=[observed_role("deployer")], keys=[observed_key(key_id(1), "alice")]
    )
    entries = [user_entry("alice"), role_entry("deployer"), key_entry(key_id(1), "alice")]
    # When compared
    result = run(entries, inv)
    # Then nothing drifts
    assert result.drifts == ()
    assert result.revocations == ()
    assert result.compared_at == NOW


def test_unregistered_user_is_reported_medium_without_owner() -> None:
    """A user 'mallory' in IAM with no entry: one MEDIUM unregistered-identity with arn, path, created_at, no owner."""
    # Given a user nobody registered
    created = days_ago(3)
    inv = inventory(users=[observed_user("mallory", created_at=created, path="/contractors/")])
    # When compared with an empty registry
    drift = only(run([], inv))
    # Then it is reported as unregistered, with its evidence
    assert drift.type is UNREGISTERED
    assert drift.severity is Severity.MEDIUM
    assert drift.identity.key == "user#mallory"
    assert drift.key == "unregistered-identity/user#mallory"
    assert drift.arn == user_arn("mallory")
    assert drift.owner is None
    assert drift.evidence == {"path": "/contractors/", "created_at": created.isoformat()}
    assert drift.since == created


def test_unregistered_role_is_reported() -> None:
    """A role in IAM with no entry is an unregistered-identity for role#<name>."""
    # Given an unregistered role
    inv = inventory(roles=[observed_role("shadow-admin")])
    # When compared
    result = run([], inv)
    # Then
    assert kinds_and_names(result) == [(UNREGISTERED, "role#shadow-admin")]
    assert result.drifts[0].severity is Severity.MEDIUM


def test_unregistered_active_key_of_registered_user_is_high_with_users_owner() -> None:
    """A registered user's Active key with no entry: HIGH unregistered-identity, owner and arn from its user."""
    # Given a registered user holding an unregistered Active key
    inv = inventory(users=[observed_user("alice")], keys=[observed_key(key_id(1), "alice")])
    entries = [user_entry("alice", owner="alice-team", ticket="SEC-1")]
    # When compared
    drift = only(run(entries, inv))
    # Then the key is reported, answered for by its user's owner
    assert drift.type is UNREGISTERED
    assert drift.severity is Severity.HIGH
    assert drift.identity.key == f"access_key#{key_id(1)}"
    assert drift.user == "alice"
    assert drift.owner == "alice-team"
    assert drift.ticket == "SEC-1"
    assert drift.arn == user_arn("alice")


def test_inactive_unregistered_key_is_not_reported() -> None:
    """An Inactive key with no entry cannot act: no unregistered-identity (and no stale drift either)."""
    # Given an unregistered but Inactive, old key
    key = inactive(observed_key(key_id(1), "alice", created_at=days_ago(400), last_used_at=None))
    inv = inventory(users=[observed_user("alice")], keys=[key])
    # When compared
    result = run([user_entry("alice")], inv)
    # Then nothing is reported
    assert result.drifts == ()


def test_keys_of_a_revoked_user_are_not_unregistered() -> None:
    """A revoked user's Active key without its own entry is judged by the user's revocation, not as unregistered."""
    # Given a user revoked 5 h ago whose key is still Active (used before the revocation)
    key = observed_key(key_id(1), "alice", last_used_at=hours_ago(10))
    inv = inventory(users=[observed_user("alice")], keys=[key])
    entries = [revoked(user_entry("alice"), hours_ago(5))]
    # When compared
    result = run(entries, inv)
    # Then only the user's unenforced revocation is reported
    assert kinds_and_names(result) == [(DriftType.UNENFORCED_REVOCATION, "user#alice")]


def test_unregistered_user_and_its_unregistered_key_are_both_reported() -> None:
    """An unregistered user with an Active key: the key (HIGH) and the user (MEDIUM), key first, neither owned."""
    # Given
    inv = inventory(users=[observed_user("ghost")], keys=[observed_key(key_id(9), "ghost")])
    # When
    result = run([], inv)
    # Then
    assert kinds_and_names(result) == [(UNREGISTERED, f"access_key#{key_id(9)}"), (UNREGISTERED, "user#ghost")]
    assert [d.owner for d in result.drifts] == [None, None]


def test_registered_key_of_unregistered_user_reports_only_the_user() -> None:
    """A key with its own entry is registered even when its user is not: only the user is unregistered."""
    # Given
    inv = inventory(users=[observed_user("ghost")], keys=[observed_key(key_id(9), "ghost")])
    # When
    result = run([key_entry(key_id(9), "ghost")], inv)
    # Then
    assert kinds_and_names(result) == [(UNREGISTERED, "user#ghost")]
