"""compare(): active registry entries: entitlements, missing identities and expiry."""

from __future__ import annotations

from typing import Any

import pytest

from driftline.domain.drift import DriftType, Severity
from tests.unit.domain.builders import (
    OWNER,
    days_ago,
    inactive,
    inventory,
    key_entry,
    key_id,
    kinds_and_names,
    observed_key,
    observed_role,
    observed_user,
    only,
    policy_arn,
    revoke_sessions,
    role_arn,
    role_entry,
    run,
    user_entry,
)

EXCESS = DriftType.EXCESS_ENTITLEMENT
MISSING = DriftType.MISSING_ENTITLEMENT
READ = policy_arn("ReadOnlyAccess")
ADMIN = policy_arn("AdministratorAccess")

# (dimension, what IAM holds for the user, entry field) per entitlement dimension
DIMENSIONS = [
    ("managed_policies", {"managed_policies": frozenset({READ, ADMIN})}, [READ]),
    ("groups", {"groups": frozenset({"devs", "admins"})}, ["devs"]),
    ("inline_policies", {"inline_policies": frozenset({"s3-read", "backdoor"})}, ["s3-read"]),
]
NEVER_GRANTED = {"managed_policies": policy_arn("ZzNeverGranted"), "groups": "zz-ops", "inline_policies": "zz-inline"}


# --- entitlements ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("dimension", "held", "approved"), DIMENSIONS, ids=[d[0] for d in DIMENSIONS])
def test_excess_entitlement_per_dimension(dimension: str, held: dict[str, Any], approved: list[str]) -> None:
    """The user holds two items in {dimension} and the registry approves one: HIGH excess-entitlement naming the
    other in evidence."""
    # Given
    inv = inventory(users=[observed_user("alice", **held)])
    # When
    drift = only(run([user_entry("alice", **{dimension: approved})], inv))
    # Then
    extra = sorted(set(held[dimension]) - set(approved))
    assert (drift.type, drift.severity, drift.identity.key) == (EXCESS, Severity.HIGH, "user#alice")
    assert drift.evidence == {"excess": {dimension: extra}}
    assert drift.owner == OWNER


@pytest.mark.parametrize(("dimension", "held", "approved"), DIMENSIONS, ids=[d[0] for d in DIMENSIONS])
def test_missing_entitlement_per_dimension(dimension: str, held: dict[str, Any], approved: list[str]) -> None:
    """The registry approves an item in {dimension} that IAM never applied: LOW missing-entitlement."""
    # Given the user holds only what is approved, and the registry approves one more
    inv = inventory(users=[observed_user("alice", **{dimension: frozenset(approved)})])
    # When
    drift = only(run([user_entry("alice", **{dimension: [*approved, NEVER_GRANTED[dimension]]})], inv))
    # Then
    assert (drift.type, drift.severity, drift.identity.key) == (MISSING, Severity.LOW, "user#alice")
    assert drift.evidence == {"missing": {dimension: [NEVER_GRANTED[dimension]]}}
    assert held[dimension] >= set(approved)  # the parametrisation is consistent


def test_none_means_not_governed() -> None:
    """An entry with every dimension None does not judge what the user holds: no drift."""
    inv = inventory(
        users=[
            observed_user(
                "alice", managed_policies=frozenset({ADMIN}), groups=frozenset({"g"}), inline_policies=frozenset({"i"})
            )
        ]
    )
    assert run([user_entry("alice")], inv).drifts == ()


def test_empty_list_means_nothing_approved() -> None:
    """An entry with [] in every dimension makes everything the user holds excess, in one drift, items sorted."""
    inv = inventory(
        users=[
            observed_user(
                "alice",
                managed_policies=frozenset({READ, ADMIN}),
                groups=frozenset({"g2", "g1"}),
                inline_policies=frozenset({"i"}),
            )
        ]
    )
    entry = user_entry("alice", managed_policies=[], groups=[], inline_policies=[])
    drift = only(run([entry], inv))
    assert drift.evidence == {
        "excess": {"managed_policies": sorted([READ, ADMIN]), "groups": ["g1", "g2"], "inline_policies": ["i"]}
    }


def test_excess_and_missing_in_one_identity_are_two_drifts() -> None:
    """Holding ADMIN while READ is approved: one excess (ADMIN) and one missing (READ), excess first."""
    inv = inventory(roles=[observed_role("app", managed_policies=frozenset({ADMIN}))])
    result = run([role_entry("app", managed_policies=[READ])], inv)
    assert kinds_and_names(result) == [(EXCESS, "role#app"), (MISSING, "role#app")]
    assert result.drifts[0].evidence == {"excess": {"managed_policies": [ADMIN]}}
    assert result.drifts[1].evidence == {"missing": {"managed_policies": [READ]}}
    assert result.drifts[0].arn == role_arn("app")


@pytest.mark.parametrize("principal", ["user", "role"])
def test_session_deny_inline_policy_is_not_excess(principal: str) -> None:
    """An AWSRevokeOlderSessions inline policy is a revocation, not an entitlement: not excess under inline []."""
    # Given an identity whose only inline policy is a session deny, and no inline policy approved
    fields = {
        "inline_policies": frozenset({"AWSRevokeOlderSessions"}),
        "session_denies": (revoke_sessions(days_ago(1)),),
    }
    inv = (
        inventory(users=[observed_user("x", **fields)])
        if principal == "user"
        else inventory(roles=[observed_role("x", **fields)])
    )
    entry = user_entry("x", inline_policies=[]) if principal == "user" else role_entry("x", inline_policies=[])
    # When / Then
    assert run([entry], inv).drifts == ()


def test_other_inline_policy_next_to_session_deny_is_still_excess() -> None:
    """Only the session deny is excused: another unapproved inline policy on the same role is excess."""
    role = observed_role(
        "x",
        inline_policies=frozenset({"AWSRevokeOlderSessions", "backdoor"}),
        session_denies=(revoke_sessions(days_ago(1)),),
    )
    drift = only(run([role_entry("x", inline_policies=[])], inventory(roles=[role])))
    assert drift.evidence == {"excess": {"inline_policies": ["backdoor"]}}


# --- missing identity ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry_factory", "identity"),
    [
        (lambda: user_entry("alice"), "user#alice"),
        (lambda: role_entry("ops"), "role#ops"),
        (lambda: key_entry(key_id(5), "alice"), f"access_key#{key_id(5)}"),
    ],
    ids=["user", "role", "key"],
)
def test_active_entry_without_iam_identity_is_missing(entry_factory: Any, identity: str) -> None:
    """An active entry for an identity IAM does not have: INFORMATIONAL missing-identity with the entry's owner."""
    # Given an empty account
    # When compared with one active entry
    drift = only(run([entry_factory()], inventory()))
    # Then
    assert (drift.type, drift.severity, drift.identity.key) == (
        DriftType.MISSING_IDENTITY,
        Severity.INFORMATIONAL,
        identity,
    )
    assert drift.owner == OWNER
    assert drift.evidence == {"registry_status": "active"}
    assert drift.key == f"missing-identity/{identity}"


def test_missing_key_names_its_user() -> None:
    """A missing key drift carries the user named by its entry (there is no IAM key to read it from)."""
    drift = only(run([user_entry("alice"), key_entry(key_id(5), "alice")], inventory(users=[observed_user("alice")])))
    assert drift.user == "alice"
    assert drift.arn is None


def test_missing_identity_with_past_expiry_is_only_missing() -> None:
    """An expired entry whose identity does not exist is missing, not expired-but-active."""
    assert kinds_and_names(run([user_entry("alice", expires_at=days_ago(1))], inventory())) == [
        (DriftType.MISSING_IDENTITY, "user#alice")
    ]


# --- expiry ----------------------------------------------------------------------------------------------------

EXPIRED = DriftType.EXPIRED_BUT_ACTIVE


@pytest.mark.parametrize(
    ("entries", "inv", "identity"),
    [
        (
            [user_entry("alice", expires_at=days_ago(3))],
            inventory(users=[observed_user("alice", password_enabled=True, password_last_used_at=days_ago(1))]),
            "user#alice",
        ),
        (
            [user_entry("alice", expires_at=days_ago(3)), key_entry(key_id(1), "alice")],
            inventory(users=[observed_user("alice")], keys=[observed_key(key_id(1), "alice")]),
            "user#alice",
        ),
        (
            [user_entry("alice"), key_entry(key_id(1), "alice", expires_at=days_ago(3))],
            inventory(users=[observed_user("alice")], keys=[observed_key(key_id(1), "alice")]),
            f"access_key#{key_id(1)}",
        ),
        ([role_entry("ops", expires_at=days_ago(3))], inventory(roles=[observed_role("ops")]), "role#ops"),
    ],
    ids=["user-password", "user-key", "key", "role"],
)
def test_expired_entry_that_can_still_act_is_expired_but_active(entries: Any, inv: Any, identity: str) -> None:
    """expires_at 3 days ago and the identity can still act in IAM: HIGH expired-but-active with expires_at."""
    # Given / When
    drift = only(run(entries, inv))
    # Then
    assert (drift.type, drift.severity, drift.identity.key) == (EXPIRED, Severity.HIGH, identity)
    assert drift.evidence["expires_at"] == days_ago(3).isoformat()
    assert drift.evidence["still_active"], "the finding says what still lets the identity act"
    assert set(drift.evidence) == {"expires_at", "still_active"}
    assert drift.since == days_ago(3)


@pytest.mark.parametrize(
    ("entries", "inv"),
    [
        (
            [user_entry("alice"), key_entry(key_id(1), "alice", expires_at=days_ago(3))],
            inventory(users=[observed_user("alice")], keys=[inactive(observed_key(key_id(1), "alice"))]),
        ),
        (
            [user_entry("alice", expires_at=days_ago(3))],
            inventory(users=[observed_user("alice")], keys=[inactive(observed_key(key_id(1), "alice"))]),
        ),
        (
            [role_entry("ops", expires_at=days_ago(3))],
            inventory(roles=[observed_role("ops", session_denies=(revoke_sessions(None),))]),
        ),
    ],
    ids=["key-inactive", "user-no-password-no-active-key", "role-deny-everything"],
)
def test_expired_entry_that_cannot_act_is_not_reported(entries: Any, inv: Any) -> None:
    """Expired, but IAM no longer lets the identity act (key Inactive, user without credentials, role quarantined):
    no drift."""
    assert run(entries, inv).drifts == ()


def test_future_expiry_is_not_reported() -> None:
    """expires_at tomorrow: not expired, no drift."""
    inv = inventory(users=[observed_user("alice", password_enabled=True, password_last_used_at=days_ago(1))])
    assert run([user_entry("alice", expires_at=days_ago(-1))], inv).drifts == ()
