"""Per-identity reads (the event path) on moto: ``Boto3IamReader.read_identities`` and
``service.evaluate_identities``."""

from __future__ import annotations

from driftline.cli.sandbox import set_key, set_password_used, set_role
from driftline.domain.drift import DriftType
from driftline.domain.identity import IdentityRef, Kind
from driftline.domain.observed import KeyStatus
from tests.integration.support import ACCOUNT, Sandbox, ago, found, revoke_sessions_document, the_drift


def user(name: str) -> IdentityRef:
    return IdentityRef(kind=Kind.USER, name=name)


def role(name: str) -> IdentityRef:
    return IdentityRef(kind=Kind.ROLE, name=name)


def key(key_id: str) -> IdentityRef:
    return IdentityRef(kind=Kind.ACCESS_KEY, name=key_id)


def seed_alice(sandbox: Sandbox) -> tuple[str, str]:
    """alice: two keys (the second Inactive, the first used yesterday), two groups, a managed and an inline policy,
    and a console password used two days ago."""
    dev_read = sandbox.policy("DevRead")
    sandbox.group("developers")
    sandbox.group("on-call")
    sandbox.user("alice", policies=[dev_read], groups=["developers", "on-call"], inline=["alice-s3"], password=True)
    first, second = sandbox.key("alice"), sandbox.key("alice")
    set_key(first, last_used=ago(days=1))
    sandbox.deactivate("alice", second)
    set_password_used("alice", ago(days=2))
    return first, second


def test_user_is_read_with_everything_it_holds(sandbox: Sandbox) -> None:
    """Reading one user must observe its managed and inline policies, groups, console password (and its use) and
    both access keys with their status and last use, and scope the inventory to that user."""
    # Given alice with two keys, groups, policies and a password
    first, second = seed_alice(sandbox)
    sandbox.user("bob", key=True)  # not asked for

    # When alice alone is read
    inventory = sandbox.reader().read_identities(ACCOUNT, [user("alice")])

    # Then everything alice holds is observed, and nothing else
    alice = inventory.users["alice"]
    assert alice.managed_policies == {"arn:aws:iam::123456789012:policy/DevRead"}
    assert alice.groups == {"developers", "on-call"}
    assert alice.inline_policies == {"alice-s3"}
    assert alice.password_enabled is True
    assert alice.password_last_used_at is not None
    assert abs((alice.password_last_used_at - ago(days=2)).total_seconds()) < 60
    assert sorted(inventory.keys) == sorted([first, second])
    assert inventory.keys[first].status is KeyStatus.ACTIVE
    assert inventory.keys[first].last_used_at is not None
    assert inventory.keys[second].status is KeyStatus.INACTIVE
    assert inventory.keys[second].last_used_at is None
    assert list(inventory.users) == ["alice"]
    assert inventory.scope == frozenset({user("alice")})


def test_key_ref_resolves_its_user(sandbox: Sandbox) -> None:
    """Reading only an access key id must find its user through GetAccessKeyLastUsed and observe that user with all
    of its keys; the user joins the scope."""
    # Given alice's keys
    first, second = seed_alice(sandbox)
    counter = sandbox.clients.counter
    counter.calls.clear()

    # When only the second key is read
    inventory = sandbox.reader().read_identities(ACCOUNT, [key(second)])

    # Then alice was resolved from the key and read with both keys
    assert counter.calls["iam.GetAccessKeyLastUsed"] >= 1
    assert list(inventory.users) == ["alice"]
    assert sorted(inventory.keys) == sorted([first, second])
    assert inventory.scope == frozenset({key(second), user("alice")})


def test_role_is_read_with_policies_and_session_deny(sandbox: Sandbox) -> None:
    """Reading one role must observe its managed and inline policies, its last use and a session-revoking deny."""
    # Given a role with a managed policy, an inline policy and the AWSRevokeOlderSessions deny
    sandbox.role("app-runtime", policies=[sandbox.policy("DevRead")], inline=["extra-read"])
    cutoff = ago(hours=1).replace(microsecond=0)
    sandbox.iam.put_role_policy(
        RoleName="app-runtime", PolicyName="AWSRevokeOlderSessions", PolicyDocument=revoke_sessions_document(cutoff)
    )
    set_role("app-runtime", last_used=ago(days=3))

    # When the role is read
    inventory = sandbox.reader().read_identities(ACCOUNT, [role("app-runtime")])

    # Then all of it is observed
    observed = inventory.roles["app-runtime"]
    assert observed.managed_policies == {"arn:aws:iam::123456789012:policy/DevRead"}
    assert observed.inline_policies == {"extra-read", "AWSRevokeOlderSessions"}
    assert [(d.policy_name, d.issued_before) for d in observed.session_denies] == [("AWSRevokeOlderSessions", cutoff)]
    assert observed.last_used_at is not None


def test_missing_identities_are_absent_but_in_scope(sandbox: Sandbox) -> None:
    """Reading a user, a role and a key id that IAM does not have must return an empty inventory whose scope still
    covers all three (so the comparison may conclude they are missing)."""
    # Given an account without those identities
    refs = [user("ghost"), role("ghost-role"), key("AKIAZZZZZZZZZZZZZZZZ")]

    # When they are read
    inventory = sandbox.reader().read_identities(ACCOUNT, refs)

    # Then nothing is observed, and every ref is covered
    assert (inventory.users, inventory.roles, inventory.keys) == ({}, {}, {})
    assert inventory.scope == frozenset(refs)
    assert all(inventory.covers(ref) for ref in refs)


def test_evaluating_one_user_reports_only_that_users_drifts(sandbox: Sandbox) -> None:
    """evaluate_identities for alice, in an account where bob also holds excess policies, a registered user is
    missing and a role is unregistered, must report alice's drifts only (her excess and her unregistered key)."""
    # Given several drifting identities
    admin = sandbox.policy("AdminLike")
    alice_key = str(sandbox.user("alice", key=True, policies=[admin]))
    sandbox.user("bob", policies=[admin])
    sandbox.role("shadow-admin")
    sandbox.register_user("alice", managed_policies=[])
    sandbox.register_user("bob", managed_policies=[])
    sandbox.register_user("frank")

    # When only alice is evaluated
    evaluation = sandbox.evaluate([user("alice")])

    # Then only alice's drifts are reported
    assert found(evaluation) == {
        ("excess-entitlement", "user#alice"),
        ("unregistered-identity", f"access_key#{alice_key}"),
    }
    assert the_drift(evaluation, DriftType.EXCESS_ENTITLEMENT, "user#alice").owner == "alice@example.com"
    assert evaluation.registry_entries == 1

    # And a whole-account reconcile of the same account does see the others
    assert {
        ("excess-entitlement", "user#bob"),
        ("missing-identity", "user#frank"),
        ("unregistered-identity", "role#shadow-admin"),
    } <= found(sandbox.reconcile())


def test_evaluating_a_missing_registered_user_reports_it_missing(sandbox: Sandbox) -> None:
    """evaluate_identities for a registered user that IAM does not have must report missing-identity for it alone."""
    # Given frank registered but never created, and an unregistered user elsewhere
    sandbox.register_user("frank", owner="frank@example.com")
    sandbox.user("mallory")

    # When frank is evaluated
    evaluation = sandbox.evaluate([user("frank")])

    # Then frank is missing, and mallory is not judged
    assert found(evaluation) == {("missing-identity", "user#frank")}
    assert the_drift(evaluation, DriftType.MISSING_IDENTITY, "user#frank").owner == "frank@example.com"


def test_evaluating_a_key_of_a_revoked_user_judges_the_users_revocation(sandbox: Sandbox) -> None:
    """evaluate_identities for an access key (as an IAM event would name it) whose user was revoked two days ago must
    report the user's unenforced revocation."""
    # Given carol, revoked, with an active key
    carol_key = str(sandbox.user("carol", key=True))
    sandbox.register_user("carol", owner="security@example.com", status="revoked", revoked_at=ago(days=2))

    # When the key is evaluated
    evaluation = sandbox.evaluate([key(carol_key)])

    # Then the user's revocation is unenforced
    assert found(evaluation) == {("unenforced-revocation", "user#carol")}
    drift = the_drift(evaluation, DriftType.UNENFORCED_REVOCATION, "user#carol")
    assert drift.evidence["still_active"] == [f"access key {carol_key} is Active"]
