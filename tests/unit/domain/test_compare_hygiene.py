"""compare(): stale credentials: old or unused keys, unused console passwords, unused roles."""

from __future__ import annotations

from datetime import datetime

import pytest

from driftline.domain.context import Context
from driftline.domain.drift import ENTITLEMENT_DRIFTS, DriftType, Severity
from driftline.domain.hygiene import check_hygiene
from driftline.domain.observed import Facet, Inventory
from driftline.domain.registry import RegistryEntry
from driftline.domain.settings import CompareSettings
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
    user_entry,
)

STALE = DriftType.STALE_CREDENTIAL
UNENFORCED = DriftType.UNENFORCED_REVOCATION
KEY = key_id(1)


def _key_account(
    key_created_days: float, key_used_days: float | None, **key_entry_fields: object
) -> tuple[list[RegistryEntry], Inventory]:
    """alice, registered, with one registered Active key of the given age and last use."""
    last_used = days_ago(key_used_days) if key_used_days is not None else None
    key = observed_key(KEY, "alice", created_at=days_ago(key_created_days), last_used_at=last_used)
    inv = inventory(users=[observed_user("alice")], keys=[key])
    return [user_entry("alice"), key_entry(KEY, "alice", **key_entry_fields)], inv


# --- keys ------------------------------------------------------------------------------------------------------


def test_key_older_than_max_age_is_stale() -> None:
    """A key created 91 days ago, used yesterday, default max age 90: MEDIUM stale-credential with evidence."""
    # Given
    entries, inv = _key_account(91, 1)
    # When
    drift = only(run(entries, inv))
    # Then
    assert (drift.type, drift.severity, drift.identity.key) == (STALE, Severity.MEDIUM, f"access_key#{KEY}")
    assert "90-day" in drift.summary
    assert drift.evidence == {
        "created_at": days_ago(91).isoformat(),
        "last_used_at": days_ago(1).isoformat(),
        "max_age_days": 90,
        "max_unused_days": 90,
    }
    assert drift.user == "alice"


def test_key_exactly_at_max_age_is_not_stale() -> None:
    """A key exactly 90 days (and a few hours short of 91) old is not older than the 90-day maximum."""
    entries, inv = _key_account(90.9, 1)
    assert run(entries, inv).drifts == ()


def test_key_unused_too_long_is_stale() -> None:
    """A key created 50 days ago and last used 40 days ago, max_unused 30: stale, naming the 30-day limit."""
    entries, inv = _key_account(50, 40)
    drift = only(run(entries, inv, CompareSettings(max_unused_days=30)))
    assert drift.type is STALE
    assert "30-day" in drift.summary
    assert drift.evidence["last_used_at"] == days_ago(40).isoformat()


def test_key_unused_exactly_the_limit_is_not_stale() -> None:
    """Last used 30 days ago with a 30-day limit is not *longer* than the limit: no drift."""
    entries, inv = _key_account(50, 30)
    assert run(entries, inv, CompareSettings(max_unused_days=30)).drifts == ()


def test_never_used_key_ages_from_creation() -> None:
    """A never-used key created 100 days ago is stale as unused (max_age raised so only unused applies)."""
    entries, inv = _key_account(100, None, max_key_age_days=365)
    drift = only(run(entries, inv))
    assert "90-day" in drift.summary
    assert "last_used_at" not in drift.evidence
    assert drift.evidence["created_at"] == days_ago(100).isoformat()


def test_recent_never_used_key_is_not_stale() -> None:
    """A never-used key created 10 days ago is fine."""
    entries, inv = _key_account(10, None)
    assert run(entries, inv).drifts == ()


def test_old_and_unused_key_is_one_drift_with_both_reasons() -> None:
    """A key 200 days old and unused for 150 (max age 60, max unused 30): one stale drift naming both limits."""
    entries, inv = _key_account(200, 150)
    drift = only(run(entries, inv, CompareSettings(max_key_age_days=60, max_unused_days=30)))
    assert "60-day" in drift.summary
    assert "30-day" in drift.summary


def test_inactive_key_is_not_stale() -> None:
    """An Inactive key 400 days old and never used cannot act: not stale."""
    key = inactive(observed_key(KEY, "alice", created_at=days_ago(400), last_used_at=None))
    inv = inventory(users=[observed_user("alice")], keys=[key])
    assert run([user_entry("alice"), key_entry(KEY, "alice")], inv).drifts == ()


def test_unregistered_old_key_is_both_unregistered_and_stale() -> None:
    """Hygiene covers unregistered keys too: a 100-day-old unregistered key gives unregistered (HIGH) and stale."""
    key = observed_key(KEY, "alice", created_at=days_ago(100))
    inv = inventory(users=[observed_user("alice")], keys=[key])
    assert kinds_and_names(run([user_entry("alice")], inv)) == [
        (DriftType.UNREGISTERED_IDENTITY, f"access_key#{KEY}"),
        (STALE, f"access_key#{KEY}"),
    ]


# --- thresholds ------------------------------------------------------------------------------------------------


def test_key_entry_threshold_overrides_default() -> None:
    """Key entry max_key_age_days 30, key 45 days old (default 90 would pass): stale, evidence says 30."""
    entries, inv = _key_account(45, 1, max_key_age_days=30)
    drift = only(run(entries, inv))
    assert drift.evidence["max_age_days"] == 30


def test_user_entry_threshold_applies_to_its_keys() -> None:
    """The user's entry sets max_key_age_days 30 and the key entry none: the key (45 days) is stale under 30."""
    key = observed_key(KEY, "alice", created_at=days_ago(45))
    inv = inventory(users=[observed_user("alice")], keys=[key])
    drift = only(run([user_entry("alice", max_key_age_days=30), key_entry(KEY, "alice")], inv))
    assert drift.evidence["max_age_days"] == 30


def test_user_entry_threshold_applies_to_unregistered_keys() -> None:
    """The user's threshold also governs a key with no entry of its own."""
    key = observed_key(KEY, "alice", created_at=days_ago(45))
    inv = inventory(users=[observed_user("alice")], keys=[key])
    result = run([user_entry("alice", max_key_age_days=30)], inv)
    assert only(result, STALE).evidence["max_age_days"] == 30


def test_key_entry_threshold_wins_over_user_entry() -> None:
    """User says 30 days, key entry says 365: the key entry wins, a 45-day key is not stale."""
    key = observed_key(KEY, "alice", created_at=days_ago(45))
    inv = inventory(users=[observed_user("alice")], keys=[key])
    entries = [user_entry("alice", max_key_age_days=30), key_entry(KEY, "alice", max_key_age_days=365)]
    assert run(entries, inv).drifts == ()


def test_default_thresholds_come_from_settings() -> None:
    """With settings max_key_age_days 30 a 45-day key is stale; with the default 90 it is not."""
    entries, inv = _key_account(45, 1)
    assert run(entries, inv).drifts == ()
    assert kinds_and_names(run(entries, inv, CompareSettings(max_key_age_days=30))) == [(STALE, f"access_key#{KEY}")]


# --- passwords and roles ---------------------------------------------------------------------------------------


def test_console_password_unused_is_stale() -> None:
    """A console password last used 120 days ago (default 90): stale on the user, evidence has the last use."""
    user = observed_user("alice", created_at=days_ago(300), password_enabled=True, password_last_used_at=days_ago(120))
    drift = only(run([user_entry("alice")], inventory(users=[user])))
    assert (drift.type, drift.identity.key) == (STALE, "user#alice")
    assert "console password" in drift.summary
    assert "90-day" in drift.summary
    assert drift.evidence == {"password_last_used_at": days_ago(120).isoformat(), "max_unused_days": 90}


def test_never_used_console_password_ages_from_user_creation() -> None:
    """A password never used on a user created 100 days ago is stale; created 80 days ago it is not."""
    user = observed_user("alice", created_at=days_ago(100), password_enabled=True)
    drift = only(run([user_entry("alice")], inventory(users=[user])))
    assert (drift.type, drift.identity.key) == (STALE, "user#alice")
    assert drift.evidence == {"max_unused_days": 90}
    younger = observed_user("alice", created_at=days_ago(80), password_enabled=True)
    assert run([user_entry("alice")], inventory(users=[younger])).drifts == ()


def test_user_without_password_is_not_stale() -> None:
    """A user created years ago without a console password is not judged for password use."""
    user = observed_user("alice", created_at=days_ago(1000), password_enabled=False)
    assert run([user_entry("alice")], inventory(users=[user])).drifts == ()


def test_user_max_unused_days_overrides_default_for_password() -> None:
    """User entry max_unused_days 200: a password unused for 120 days is fine."""
    user = observed_user("alice", created_at=days_ago(300), password_enabled=True, password_last_used_at=days_ago(120))
    assert run([user_entry("alice", max_unused_days=200)], inventory(users=[user])).drifts == ()


@pytest.mark.parametrize("last_used", [days_ago(95), None], ids=["used-95-days-ago", "never-used"])
def test_role_unused_is_stale(last_used: datetime | None) -> None:
    """A role created 200 days ago and last used 95 days ago (or never): stale on the role."""
    role = observed_role("ops", created_at=days_ago(200), last_used_at=last_used)
    drift = only(run([role_entry("ops")], inventory(roles=[role])))
    assert (drift.type, drift.identity.key) == (STALE, "role#ops")
    assert drift.evidence.get("role_last_used_at") == (last_used.isoformat() if last_used else None)
    assert drift.evidence["max_unused_days"] == 90


def test_never_used_recent_role_is_not_stale() -> None:
    """A role created 30 days ago and never used is within the 90-day limit."""
    role = observed_role("ops", created_at=days_ago(30), last_used_at=None)
    assert run([role_entry("ops")], inventory(roles=[role])).drifts == ()


def test_role_entry_max_unused_days_overrides_default() -> None:
    """Role entry max_unused_days 10: a role last used 20 days ago is stale."""
    role = observed_role("ops", created_at=days_ago(200), last_used_at=days_ago(20))
    drift = only(run([role_entry("ops", max_unused_days=10)], inventory(roles=[role])))
    assert drift.evidence["max_unused_days"] == 10


# --- revoked identities are not double-reported ----------------------------------------------------------------


def test_revoked_user_with_stale_password_and_old_key_is_only_unenforced() -> None:
    """A revoked user with a stale password and a 200-day-old key: only the user's unenforced revocation."""
    user = observed_user("alice", created_at=days_ago(300), password_enabled=True, password_last_used_at=days_ago(200))
    key = observed_key(KEY, "alice", created_at=days_ago(200), last_used_at=days_ago(150))
    inv = inventory(users=[user], keys=[key])
    result = run([revoked(user_entry("alice"), hours_ago(5))], inv)
    assert kinds_and_names(result) == [(UNENFORCED, "user#alice")]


def test_revoked_old_key_is_only_unenforced() -> None:
    """A revoked, still Active 200-day-old key: unenforced revocation, not stale."""
    entries, inv = _key_account(200, 150)
    entries = [entries[0], revoked(entries[1], hours_ago(5))]
    assert kinds_and_names(run(entries, inv)) == [(UNENFORCED, f"access_key#{KEY}")]


def test_revoked_unused_role_is_only_unenforced() -> None:
    """A revoked role unused for 200 days: unenforced revocation, not stale."""
    role = observed_role("ops", created_at=days_ago(300), last_used_at=days_ago(200))
    assert kinds_and_names(run([revoked(role_entry("ops"), hours_ago(5))], inventory(roles=[role]))) == [
        (UNENFORCED, "role#ops")
    ]


# --- the switch (driftline:hygieneChecks, scan --no-hygiene) ------------------------------------------------------


def _stale_everything() -> tuple[list[RegistryEntry], Inventory]:
    """A 200-day-old unused key, a password unused for 200 days and a role unused for 200 days, plus an unregistered
    user (a drift the switch must not touch)."""
    user = observed_user("alice", created_at=days_ago(300), password_enabled=True, password_last_used_at=days_ago(200))
    key = observed_key(KEY, "alice", created_at=days_ago(200), last_used_at=days_ago(150))
    role = observed_role("ops", created_at=days_ago(300), last_used_at=days_ago(200))
    inv = inventory(users=[user, observed_user("stray")], roles=[role], keys=[key])
    return [user_entry("alice"), key_entry(KEY, "alice"), role_entry("ops")], inv


def test_hygiene_on_reports_every_stale_credential() -> None:
    """Input: a stale key, password and role, and an unregistered user, with the default settings. Must report the
    three stale credentials and the unregistered user, judging every drift type."""
    entries, inv = _stale_everything()
    result = run(entries, inv)
    assert kinds_and_names(result) == [
        (STALE, f"access_key#{KEY}"),
        (STALE, "role#ops"),
        (STALE, "user#alice"),
        (DriftType.UNREGISTERED_IDENTITY, "user#stray"),
    ]
    assert result.judges(STALE)


def test_hygiene_off_reports_no_stale_credential_and_does_not_judge_it() -> None:
    """Input: the same account with CompareSettings(hygiene=False). Must report only the unregistered user, and the
    comparison must say it did not judge stale-credential (so no finding of that type is resolved), while still
    judging every other type."""
    entries, inv = _stale_everything()
    result = run(entries, inv, CompareSettings(hygiene=False))
    assert kinds_and_names(result) == [(DriftType.UNREGISTERED_IDENTITY, "user#stray")]
    assert not result.judges(STALE)
    assert result.judged == frozenset(DriftType) - {STALE}


def test_hygiene_off_on_a_partial_read_keeps_the_facets_limits() -> None:
    """Input: an event-scoped read of alice's credentials only (no entitlements), hygiene off. Must judge neither
    stale-credential (switched off) nor the entitlement drifts (not read), and still judge the credential ones."""
    entries, inv = _stale_everything()
    partial = inv.model_copy(update={"facets": frozenset({Facet.CREDENTIALS})})
    result = run(entries, partial, CompareSettings(hygiene=False))
    assert result.judged is not None
    assert STALE not in result.judged
    assert not ENTITLEMENT_DRIFTS & result.judged
    assert DriftType.UNENFORCED_REVOCATION in result.judged


def test_check_hygiene_itself_does_no_work_when_off() -> None:
    """Input: check_hygiene on the stale account, with hygiene on and off. Must return the three stale drifts on,
    and nothing off (the checks are skipped, not run and filtered)."""
    entries, inv = _stale_everything()
    on = Context(registry={e.ref: e for e in entries}, inventory=inv, settings=CompareSettings(), now=NOW)
    off = Context(registry=on.registry, inventory=inv, settings=CompareSettings(hygiene=False), now=NOW)
    assert len(check_hygiene(on)) == 3
    assert check_hygiene(off) == []
