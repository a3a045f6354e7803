"""compare(): revoked registry entries, whether IAM enforces them, and use after revocation."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from driftline.domain.drift import DriftType, RevocationState, Severity
from driftline.domain.settings import CompareSettings
from tests.unit.domain.builders import (
    NOW,
    OWNER,
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
    revoke_sessions,
    revoked,
    role_arn,
    role_entry,
    run,
    user_arn,
    user_entry,
)

UNENFORCED = DriftType.UNENFORCED_REVOCATION
USED = DriftType.REVOKED_CREDENTIAL_USED
KEY = key_id(1)
REVOKED_AT = hours_ago(5)  # well past the default one-hour grace period
BEFORE = hours_ago(6)  # a use before the revocation


# --- access keys -----------------------------------------------------------------------------------------------


def test_revoked_key_still_active_after_grace_is_unenforced() -> None:
    """Key revoked 5 h ago, grace 1 h, key still Active: HIGH unenforced-revocation with evidence; check UNENFORCED."""
    # Given a revoked key entry whose key IAM still has Active
    inv = inventory(users=[observed_user("alice")], keys=[observed_key(KEY, "alice", last_used_at=BEFORE)])
    entries = [user_entry("alice"), revoked(key_entry(KEY, "alice", ticket="SEC-9"), REVOKED_AT)]
    # When compared
    result = run(entries, inv)
    # Then one unenforced revocation for the key, and the revocation check says so
    drift = only(result)
    assert (drift.type, drift.identity.key, drift.severity) == (UNENFORCED, f"access_key#{KEY}", Severity.HIGH)
    assert drift.owner == OWNER
    assert drift.ticket == "SEC-9"
    assert drift.user == "alice"
    assert drift.arn == user_arn("alice")
    assert drift.evidence == {
        "revoked_at": REVOKED_AT.isoformat(),
        "still_active": [f"access key {KEY} is Active"],
        "grace_period_seconds": 3600,
    }
    assert drift.since == REVOKED_AT + timedelta(hours=1)
    (check,) = result.revocations
    assert check.state is RevocationState.UNENFORCED
    assert check.identity.key == f"access_key#{KEY}"
    assert check.grace_ends_at == REVOKED_AT + timedelta(hours=1)
    assert check.still_active == (f"access key {KEY} is Active",)


def test_revocation_within_grace_is_pending_not_drift() -> None:
    """Key revoked 30 min ago with a 1 h grace and still Active: no drift yet, revocation check PENDING."""
    # Given a fresh revocation
    inv = inventory(users=[observed_user("alice")], keys=[observed_key(KEY, "alice", last_used_at=BEFORE)])
    entries = [user_entry("alice"), revoked(key_entry(KEY, "alice"), NOW - timedelta(minutes=30))]
    # When compared
    result = run(entries, inv)
    # Then it is pending, not a drift
    assert result.drifts == ()
    assert [c.state for c in result.revocations] == [RevocationState.PENDING]


def test_revocation_becomes_unenforced_exactly_when_grace_ends() -> None:
    """now == revoked_at + grace: the grace is over, the revocation is unenforced."""
    # Given a revocation whose grace ends exactly now
    inv = inventory(users=[observed_user("alice")], keys=[observed_key(KEY, "alice", last_used_at=BEFORE)])
    entries = [user_entry("alice"), revoked(key_entry(KEY, "alice"), NOW - timedelta(hours=1))]
    # When / Then
    assert kinds_and_names(run(entries, inv)) == [(UNENFORCED, f"access_key#{KEY}")]


def test_grace_period_comes_from_settings() -> None:
    """With a 6 h grace period a 5 h old revocation is still pending."""
    inv = inventory(users=[observed_user("alice")], keys=[observed_key(KEY, "alice", last_used_at=BEFORE)])
    entries = [user_entry("alice"), revoked(key_entry(KEY, "alice"), REVOKED_AT)]
    result = run(entries, inv, CompareSettings(grace_period=timedelta(hours=6)))
    assert result.drifts == ()
    assert result.revocations[0].state is RevocationState.PENDING


@pytest.mark.parametrize("key_present", [True, False], ids=["inactive", "deleted"])
def test_revoked_key_inactive_or_deleted_is_enforced(key_present: bool) -> None:
    """A revoked key that is Inactive, or gone from IAM, is enforced: no drift, check ENFORCED."""
    # Given the key deactivated (or deleted)
    keys = [inactive(observed_key(KEY, "alice", last_used_at=BEFORE))] if key_present else []
    inv = inventory(users=[observed_user("alice")], keys=keys)
    entries = [user_entry("alice"), revoked(key_entry(KEY, "alice"), REVOKED_AT)]
    # When compared
    result = run(entries, inv)
    # Then
    assert result.drifts == ()
    assert [(c.state, c.still_active) for c in result.revocations] == [(RevocationState.ENFORCED, ())]


def test_revoked_key_used_after_revocation_is_critical() -> None:
    """A revoked key (already Inactive) last used 2 h ago, revoked 5 h ago: CRITICAL revoked-credential-used."""
    # Given an enforced revocation, but the key was used after it was decided
    used = hours_ago(2)
    inv = inventory(users=[observed_user("alice")], keys=[inactive(observed_key(KEY, "alice", last_used_at=used))])
    entries = [user_entry("alice"), revoked(key_entry(KEY, "alice"), REVOKED_AT)]
    # When compared
    drift = only(run(entries, inv))
    # Then
    assert (drift.type, drift.severity, drift.identity.key) == (USED, Severity.CRITICAL, f"access_key#{KEY}")
    assert drift.evidence == {"revoked_at": REVOKED_AT.isoformat(), "key_last_used_at": used.isoformat()}
    assert drift.since == used


@pytest.mark.parametrize("last_used", [BEFORE, REVOKED_AT, None], ids=["before", "at", "never"])
def test_revoked_key_used_before_or_at_revocation_is_not_used_after(last_used: datetime | None) -> None:
    """Use before (or exactly at) revoked_at, or no use at all, is not revoked-credential-used."""
    inv = inventory(users=[observed_user("alice")], keys=[inactive(observed_key(KEY, "alice", last_used_at=last_used))])
    entries = [user_entry("alice"), revoked(key_entry(KEY, "alice"), REVOKED_AT)]
    assert run(entries, inv).drifts == ()


# --- users -----------------------------------------------------------------------------------------------------


def test_revoked_user_with_password_and_active_key_is_unenforced() -> None:
    """A revoked user still holding a console password and an Active key: unenforced, listing both."""
    # Given
    user = observed_user("alice", password_enabled=True, password_last_used_at=BEFORE)
    inv = inventory(users=[user], keys=[observed_key(KEY, "alice", last_used_at=BEFORE)])
    # When
    result = run([revoked(user_entry("alice"), REVOKED_AT)], inv)
    # Then
    drift = only(result)
    assert (drift.type, drift.identity.key) == (UNENFORCED, "user#alice")
    assert drift.evidence["still_active"] == [f"access key {KEY} is Active", "console password is enabled"]
    assert drift.arn == user_arn("alice")


@pytest.mark.parametrize("user_present", [True, False], ids=["no-password-inactive-keys", "deleted"])
def test_revoked_user_without_password_or_active_keys_is_enforced(user_present: bool) -> None:
    """A revoked user with no password and only Inactive keys (or deleted) is enforced: no drift."""
    users = [observed_user("alice", password_enabled=False)] if user_present else []
    inv = inventory(users=users, keys=[inactive(observed_key(KEY, "alice", last_used_at=BEFORE))])
    result = run([revoked(user_entry("alice"), REVOKED_AT)], inv)
    assert result.drifts == ()
    assert result.revocations[0].state is RevocationState.ENFORCED


def test_revoked_user_password_used_after_revocation() -> None:
    """A revoked user's console password used 1 h ago (revoked 5 h ago): revoked-credential-used on the user."""
    used = hours_ago(1)
    inv = inventory(users=[observed_user("alice", password_enabled=True, password_last_used_at=used)])
    result = run([revoked(user_entry("alice"), REVOKED_AT)], inv)
    assert kinds_and_names(result) == [(USED, "user#alice"), (UNENFORCED, "user#alice")]
    assert result.drifts[0].evidence["password_last_used_at"] == used.isoformat()


@pytest.mark.parametrize("last_used", [BEFORE, REVOKED_AT, None], ids=["before", "at", "never"])
def test_revoked_user_password_used_before_revocation_is_not_reported(last_used: datetime | None) -> None:
    """Password last used before (or exactly at) revoked_at, or never: only the unenforced revocation."""
    inv = inventory(users=[observed_user("alice", password_enabled=True, password_last_used_at=last_used)])
    result = run([revoked(user_entry("alice"), REVOKED_AT)], inv)
    assert kinds_and_names(result) == [(UNENFORCED, "user#alice")]


def test_key_of_revoked_user_used_after_users_revocation() -> None:
    """A key with no entry of its own, used 1 h ago, whose user was revoked 5 h ago: CRITICAL on the key, with the
    user's owner and revoked_at as evidence."""
    # Given
    used = hours_ago(1)
    inv = inventory(users=[observed_user("alice")], keys=[inactive(observed_key(KEY, "alice", last_used_at=used))])
    entries = [revoked(user_entry("alice", owner="hr-feed"), REVOKED_AT)]
    # When
    drift = only(run(entries, inv))
    # Then
    assert (drift.type, drift.identity.key, drift.severity) == (USED, f"access_key#{KEY}", Severity.CRITICAL)
    assert drift.user == "alice"
    assert drift.owner == "hr-feed"
    assert drift.evidence == {"revoked_at": REVOKED_AT.isoformat(), "key_last_used_at": used.isoformat()}


@pytest.mark.parametrize("last_used", [BEFORE, REVOKED_AT, None], ids=["before", "at", "never"])
def test_key_of_revoked_user_used_before_users_revocation_is_not_reported(last_used: datetime | None) -> None:
    """The same key used before (or exactly at) the user's revoked_at, or never: nothing (the user's revocation is
    enforced)."""
    inv = inventory(users=[observed_user("alice")], keys=[inactive(observed_key(KEY, "alice", last_used_at=last_used))])
    assert run([revoked(user_entry("alice"), REVOKED_AT)], inv).drifts == ()


def test_key_with_active_entry_of_revoked_user_used_after_users_revocation() -> None:
    """A key with an *active* entry of its own, whose user was revoked 5 h ago, used 1 h ago: the user's revocation
    applies to it (Context.key_revocation), so its use is a CRITICAL revoked-credential-used."""
    # Given the registry revoked the user but left the key's own entry active
    used = hours_ago(1)
    inv = inventory(users=[observed_user("alice")], keys=[observed_key(KEY, "alice", last_used_at=used)])
    entries = [revoked(user_entry("alice"), REVOKED_AT), key_entry(KEY, "alice")]
    # When compared
    result = run(entries, inv)
    # Then the use after the user's revocation is reported on the key (as it is when the key has no entry)
    assert (USED, f"access_key#{KEY}") in kinds_and_names(result)


# --- roles -----------------------------------------------------------------------------------------------------


def test_revoked_role_without_any_deny_is_unenforced_and_says_who_can_assume_it() -> None:
    """A revoked role that still exists, no deny, trust admits lambda.amazonaws.com: unenforced-revocation naming the
    principal the trust policy admits."""
    inv = inventory(roles=[observed_role("ops", last_used_at=BEFORE)])
    drift = only(run([revoked(role_entry("ops"), REVOKED_AT)], inv))
    assert (drift.type, drift.identity.key) == (UNENFORCED, "role#ops")
    assert drift.arn == role_arn("ops")
    assert drift.evidence["still_active"] == ["role can still be assumed by Service:lambda.amazonaws.com"]


@pytest.mark.parametrize(
    "deny_at",
    [REVOKED_AT, REVOKED_AT + timedelta(minutes=10), REVOKED_AT - timedelta(minutes=1)],
    ids=["at-revoked_at", "after-revoked_at", "before-revoked_at"],
)
def test_revoked_role_with_only_a_session_revoking_deny_is_unenforced(deny_at: datetime) -> None:
    """AWSRevokeOlderSessions (deny for tokens issued before a time) kills old sessions only: whoever the trust policy
    names can start a new one a second later, so the revocation is unenforced, at any cutoff, and the finding says
    who can still assume the role and why the deny does not count."""
    inv = inventory(roles=[observed_role("ops", last_used_at=BEFORE, session_denies=(revoke_sessions(deny_at),))])
    result = run([revoked(role_entry("ops"), REVOKED_AT)], inv)
    assert result.revocations[0].state is RevocationState.UNENFORCED
    reason = only(result).evidence["still_active"]
    assert isinstance(reason, list)
    assert "Service:lambda.amazonaws.com" in reason[0]
    assert ("stops no new session" in reason[0]) is (deny_at >= REVOKED_AT)


def test_revoked_role_with_an_unconditional_deny_everything_is_enforced() -> None:
    """An inline policy denying * on * with no condition: nobody can act as the role, old sessions included."""
    inv = inventory(roles=[observed_role("ops", last_used_at=BEFORE, session_denies=(revoke_sessions(None),))])
    result = run([revoked(role_entry("ops"), REVOKED_AT)], inv)
    assert result.drifts == ()
    assert result.revocations[0].state is RevocationState.ENFORCED


def test_revoked_role_deleted_is_enforced() -> None:
    """A revoked role that IAM no longer has is enforced."""
    result = run([revoked(role_entry("ops"), REVOKED_AT)], inventory())
    assert result.drifts == ()
    assert result.revocations[0].state is RevocationState.ENFORCED


def test_revoked_role_used_after_revocation() -> None:
    """A revoked role last used 1 h ago (revoked 5 h ago, denied everything since): CRITICAL revoked-credential-used
    even though it is enforced now."""
    used = hours_ago(1)
    role = observed_role("ops", last_used_at=used, session_denies=(revoke_sessions(None),))
    drift = only(run([revoked(role_entry("ops"), REVOKED_AT)], inventory(roles=[role])))
    assert (drift.type, drift.severity, drift.identity.key) == (USED, Severity.CRITICAL, "role#ops")
    assert drift.evidence["role_last_used_at"] == used.isoformat()


@pytest.mark.parametrize("last_used", [BEFORE, REVOKED_AT, None], ids=["before", "at", "never"])
def test_revoked_role_used_before_revocation_is_not_reported(last_used: datetime | None) -> None:
    """A revoked (and enforced) role last used before (or exactly at) revoked_at, or never: no use-after drift."""
    role = observed_role("ops", last_used_at=last_used, session_denies=(revoke_sessions(None),))
    assert run([revoked(role_entry("ops"), REVOKED_AT)], inventory(roles=[role])).drifts == ()
