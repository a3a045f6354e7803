"""What "enforced" means, one test per definition (README, "What enforced means"; issue #12).

A revocation is enforced only when nobody can act as the identity. These tests pin AWS's semantics on literal
observations, never moto's behaviour (moto evaluates no policy): an explicit deny of everything in the identity's own
policies or boundary stops every request, sessions included; a deny of sessions issued before a time stops no new
session; IAM names ignore case.
"""

from __future__ import annotations

from typing import Any

import pytest

from driftline.domain.drift import DriftType, RevocationState
from driftline.domain.observed import OtherCredential, SessionDeny
from tests.unit.domain.builders import (
    hours_ago,
    inactive,
    inventory,
    key_entry,
    key_id,
    kinds_and_names,
    observed_key,
    observed_role,
    observed_user,
    revoke_sessions,
    revoked,
    role_entry,
    run,
    user_entry,
)

REVOKED_AT = hours_ago(5)
KEY = key_id(7)
UNENFORCED = DriftType.UNENFORCED_REVOCATION
DENY_ARN = "arn:aws:iam::123456789012:policy/driftline/DriftlineRevoked"

INLINE_DENY = SessionDeny(policy_name="quarantine", via="inline")
MANAGED_DENY = SessionDeny(policy_name=DENY_ARN, via="managed")
BOUNDARY_DENY = SessionDeny(policy_name="arn:aws:iam::123456789012:policy/nothing", via="boundary")


def state_of(entries: list[Any], inv: Any) -> RevocationState:
    result = run(entries, inv)
    assert len(result.revocations) == 1
    return result.revocations[0].state


# --- roles ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("deny", [INLINE_DENY, MANAGED_DENY, BOUNDARY_DENY], ids=["inline", "managed", "boundary"])
def test_role_denied_everything_by_its_own_policy_or_boundary_is_enforced(deny: SessionDeny) -> None:
    """A role whose inline policy, attached managed policy or boundary denies everything unconditionally: enforced,
    although its trust policy still admits a principal (new sessions can do nothing)."""
    inv = inventory(roles=[observed_role("ops", session_denies=(deny,))])
    assert state_of([revoked(role_entry("ops"), REVOKED_AT)], inv) is RevocationState.ENFORCED


def test_role_whose_trust_policy_admits_nobody_is_enforced() -> None:
    """A trust policy that lets no principal assume the role: enforced."""
    inv = inventory(roles=[observed_role("ops", assumable_by=())])
    assert state_of([revoked(role_entry("ops"), REVOKED_AT)], inv) is RevocationState.ENFORCED


def test_role_with_only_a_session_revoking_deny_names_everyone_who_can_still_assume_it() -> None:
    """AWSRevokeOlderSessions after the revocation and a trust policy admitting an account and a service: unenforced,
    and the finding lists both principals."""
    trust = ("AWS:arn:aws:iam::111122223333:root", "Service:ec2.amazonaws.com")
    role = observed_role("ops", assumable_by=trust, session_denies=(revoke_sessions(REVOKED_AT),))
    result = run([revoked(role_entry("ops"), REVOKED_AT)], inventory(roles=[role]))
    assert result.revocations[0].state is RevocationState.UNENFORCED
    (reason,) = result.drifts[0].evidence["still_active"]  # type: ignore[misc]
    assert "AWS:arn:aws:iam::111122223333:root" in reason and "Service:ec2.amazonaws.com" in reason


def test_role_whose_trust_policy_was_not_read_is_not_called_enforced() -> None:
    """Trust unknown (None): nothing proves the role cannot be assumed, so the revocation is unenforced."""
    inv = inventory(roles=[observed_role("ops", assumable_by=None)])
    assert state_of([revoked(role_entry("ops"), REVOKED_AT)], inv) is RevocationState.UNENFORCED


# --- users ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("deny", [INLINE_DENY, MANAGED_DENY, BOUNDARY_DENY], ids=["inline", "managed", "boundary"])
def test_user_denied_everything_is_enforced_whatever_credentials_it_holds(deny: SessionDeny) -> None:
    """A user with a console password and an Active key, denied everything by its own policy or boundary: enforced
    (the credentials authenticate, every request is denied)."""
    user = observed_user("carol", password_enabled=True, session_denies=(deny,))
    inv = inventory(users=[user], keys=[observed_key(KEY, "carol")])
    assert state_of([revoked(user_entry("carol"), REVOKED_AT)], inv) is RevocationState.ENFORCED


def test_user_without_any_usable_credential_is_enforced() -> None:
    """No password, keys Inactive, other credentials read and all inactive: enforced."""
    others = (OtherCredential(kind="ssh-public-key", credential_id="APKAOLD", active=False),)
    inv = inventory(
        users=[observed_user("carol", other_credentials=others)], keys=[inactive(observed_key(KEY, "carol"))]
    )
    assert state_of([revoked(user_entry("carol"), REVOKED_AT)], inv) is RevocationState.ENFORCED


@pytest.mark.parametrize(
    ("kind", "credential_id", "service"),
    [
        ("ssh-public-key", "APKAEXAMPLE1", None),
        ("service-specific-credential", "ACCAEXAMPLE1", "codecommit.amazonaws.com"),
        ("service-specific-credential", "ACCAEXAMPLE2", "bedrock.amazonaws.com"),
        ("signing-certificate", "CERTEXAMPLE1", None),
    ],
    ids=["ssh-key", "git-credential", "bedrock-api-key", "signing-certificate"],
)
def test_user_with_one_active_other_credential_is_unenforced(kind: Any, credential_id: str, service: Any) -> None:
    """No password, no Active key, but one active SSH key / service-specific credential / signing certificate: the
    user can still act through it, so the revocation is unenforced and the finding names that credential."""
    others = (OtherCredential(kind=kind, credential_id=credential_id, active=True, service=service),)
    inv = inventory(users=[observed_user("carol", other_credentials=others)])
    result = run([revoked(user_entry("carol"), REVOKED_AT)], inv)
    assert result.revocations[0].state is RevocationState.UNENFORCED
    assert result.revocations[0].credentials == (f"{kind}:{credential_id}",)
    assert credential_id in result.drifts[0].summary


def test_user_whose_other_credentials_were_not_read_is_not_called_enforced() -> None:
    """No password, no key, but SSH keys / service credentials / certificates unknown (None): unenforced, saying
    what was not read, never enforced on silence."""
    inv = inventory(users=[observed_user("carol", other_credentials=None)])
    result = run([revoked(user_entry("carol"), REVOKED_AT)], inv)
    assert result.revocations[0].state is RevocationState.UNENFORCED
    assert "were not read" in result.drifts[0].summary


def test_user_with_only_a_console_password_is_unenforced() -> None:
    """The console password alone lets the user sign in and act: unenforced."""
    inv = inventory(users=[observed_user("carol", password_enabled=True)])
    assert state_of([revoked(user_entry("carol"), REVOKED_AT)], inv) is RevocationState.UNENFORCED


def test_user_with_a_session_revoking_deny_only_is_still_unenforced() -> None:
    """A TokenIssueTime deny on a user with an Active key stops old sessions, not the key: unenforced."""
    user = observed_user("carol", session_denies=(revoke_sessions(REVOKED_AT),))
    inv = inventory(users=[user], keys=[observed_key(KEY, "carol")])
    assert state_of([revoked(user_entry("carol"), REVOKED_AT)], inv) is RevocationState.UNENFORCED


# --- access keys ------------------------------------------------------------------------------------------------


def test_active_key_of_a_user_denied_everything_is_enforced() -> None:
    """A revoked key still Active, but its user is denied everything: the key can sign nothing that is allowed."""
    user = observed_user("carol", session_denies=(MANAGED_DENY,))
    inv = inventory(users=[user], keys=[observed_key(KEY, "carol")])
    assert (
        state_of([user_entry("carol"), revoked(key_entry(KEY, "carol"), REVOKED_AT)], inv) is RevocationState.ENFORCED
    )


def test_active_key_is_unenforced_and_inactive_key_enforced() -> None:
    """The key itself decides when its user is not denied: Active is unenforced, Inactive enforced."""
    entries = [user_entry("carol"), revoked(key_entry(KEY, "carol"), REVOKED_AT)]
    live = inventory(users=[observed_user("carol")], keys=[observed_key(KEY, "carol")])
    off = inventory(users=[observed_user("carol")], keys=[inactive(observed_key(KEY, "carol"))])
    assert (state_of(entries, live), state_of(entries, off)) == (RevocationState.UNENFORCED, RevocationState.ENFORCED)


# --- names ignore case --------------------------------------------------------------------------------------------


def test_revoked_user_matches_its_iam_user_whatever_the_case() -> None:
    """Registry user#bob revoked; IAM holds Bob with an Active key. IAM names ignore case, so this is Bob's
    revocation, unenforced; not "enforced (the user is gone)" with an unregistered Bob beside it."""
    inv = inventory(users=[observed_user("Bob")], keys=[observed_key(KEY, "Bob")])
    result = run([revoked(user_entry("bob"), REVOKED_AT)], inv)
    assert result.revocations[0].state is RevocationState.UNENFORCED
    assert kinds_and_names(result) == [(UNENFORCED, "user#bob")]


def test_revoked_role_matches_its_iam_role_whatever_the_case() -> None:
    """Registry role#DEPLOY revoked, IAM role deploy still assumable: unenforced, and no unregistered role."""
    result = run([revoked(role_entry("DEPLOY"), REVOKED_AT)], inventory(roles=[observed_role("deploy")]))
    assert kinds_and_names(result) == [(UNENFORCED, "role#DEPLOY")]


def test_key_of_a_revoked_user_is_judged_by_the_revocation_whatever_the_case() -> None:
    """Registry user#bob revoked, IAM key of Bob with no entry of its own: it is the revoked user's key (no
    HIGH unregistered key beside the unenforced revocation)."""
    inv = inventory(users=[observed_user("Bob")], keys=[observed_key(KEY, "Bob")])
    result = run([revoked(user_entry("bob"), REVOKED_AT)], inv)
    assert DriftType.UNREGISTERED_IDENTITY not in {d.type for d in result.drifts}


def test_group_names_ignore_case_in_entitlements() -> None:
    """Registry approves group developers; IAM user is in Developers: neither excess nor missing."""
    inv = inventory(users=[observed_user("alice", groups=frozenset({"Developers"}))])
    assert run([user_entry("alice", groups=("developers",))], inv).drifts == ()


# --- why it is enforced, for the auditor ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entries", "inv", "basis"),
    [
        ([revoked(user_entry("carol"), REVOKED_AT)], inventory(), "the user is deleted"),
        (
            [revoked(user_entry("carol"), REVOKED_AT)],
            inventory(
                users=[observed_user("carol", session_denies=(MANAGED_DENY,))], keys=[observed_key(KEY, "carol")]
            ),
            f"denied everything by managed policy {DENY_ARN}",
        ),
        (
            [revoked(user_entry("carol"), REVOKED_AT)],
            inventory(users=[observed_user("carol")], keys=[inactive(observed_key(KEY, "carol"))]),
            "it holds no usable credential",
        ),
        (
            [revoked(role_entry("ops"), REVOKED_AT)],
            inventory(roles=[observed_role("ops", assumable_by=())]),
            "its trust policy admits nobody (sessions issued before that change stay valid until they expire, at most "
            "12 hours)",
        ),
        (
            [user_entry("carol"), revoked(key_entry(KEY, "carol"), REVOKED_AT)],
            inventory(users=[observed_user("carol")], keys=[inactive(observed_key(KEY, "carol"))]),
            "the access key is Inactive",
        ),
    ],
    ids=["deleted", "managed-deny", "no-credential", "trust-nobody", "key-inactive"],
)
def test_an_enforced_revocation_says_why(entries: list[Any], inv: Any, basis: str) -> None:
    """The check of an enforced revocation carries the reason nobody can act as the identity (the ledger keeps it
    for the evidence export); a trust policy that admits nobody says old sessions may outlive it."""
    (check,) = run(entries, inv).revocations
    assert (check.state, check.basis) == (RevocationState.ENFORCED, basis)


def test_an_unenforced_revocation_has_no_basis() -> None:
    (check,) = run([revoked(role_entry("ops"), REVOKED_AT)], inventory(roles=[observed_role("ops")])).revocations
    assert check.state is RevocationState.UNENFORCED and check.basis is None
