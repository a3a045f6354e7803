"""Every drift type through ``service.reconcile`` with the real ``Boto3IamReader`` and ``DynamoRegistry`` on moto.

Each test seeds one situation in IAM and the registry, runs a whole-account reconcile, and checks the exact set of
drifts plus the drift's identity, owner and evidence.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from driftline.cli.sandbox import backdate_user, set_key, set_password_used, set_role
from driftline.domain.drift import DriftType, RevocationCheck, RevocationState, Severity
from driftline.service.pipeline import Evaluation
from tests.integration.support import Sandbox, ago, found, policy_arn, revoke_sessions_document, the_drift


def _revocation(evaluation: Evaluation, identity: str) -> RevocationCheck:
    checks = [r for r in evaluation.comparison.revocations if r.identity.key == identity]
    assert len(checks) == 1, evaluation.comparison.revocations
    return checks[0]


def _close(iso: object, expected: datetime) -> bool:
    """Evidence times are ISO strings; IAM and the credential report may round them to the second."""
    assert isinstance(iso, str)
    return abs(datetime.fromisoformat(iso) - expected) < timedelta(seconds=1)


# -- unregistered identities ---------------------------------------------------------------------------------------
def test_unregistered_user_is_reported_without_owner(sandbox: Sandbox) -> None:
    """A user that exists in IAM with no registry entry must be an unregistered-identity drift with no owner."""
    # Given a user nobody registered
    sandbox.user("mallory")

    # When the account is reconciled
    evaluation = sandbox.reconcile()

    # Then exactly that user is unregistered, ownerless, with its path and creation time as evidence
    assert found(evaluation) == {("unregistered-identity", "user#mallory")}
    drift = the_drift(evaluation, DriftType.UNREGISTERED_IDENTITY, "user#mallory")
    assert drift.owner is None
    assert drift.severity is Severity.MEDIUM
    assert drift.arn == "arn:aws:iam::123456789012:user/mallory"
    assert drift.evidence["path"] == "/"
    assert "created_at" in drift.evidence


def test_unregistered_role_is_reported(sandbox: Sandbox) -> None:
    """A role with no registry entry (not an AWS-owned one) must be an unregistered-identity drift."""
    # Given an ordinary role nobody registered, holding a policy
    sandbox.role("shadow-admin", policies=[sandbox.policy("AdminLike")])

    # When the account is reconciled
    evaluation = sandbox.reconcile()

    # Then the role is unregistered and has no owner
    assert found(evaluation) == {("unregistered-identity", "role#shadow-admin")}
    drift = the_drift(evaluation, DriftType.UNREGISTERED_IDENTITY, "role#shadow-admin")
    assert drift.owner is None
    assert drift.arn == "arn:aws:iam::123456789012:role/shadow-admin"
    assert drift.evidence["path"] == "/"


def test_unregistered_active_key_of_registered_user_names_the_users_owner(sandbox: Sandbox) -> None:
    """An active key with no entry, owned by a registered user: an unregistered-identity drift of severity HIGH whose
    owner is the user's owner (someone must answer for the secret)."""
    # Given a registered user with an unregistered active key
    key = sandbox.user("alice", key=True)
    assert key is not None
    sandbox.register_user("alice", owner="alice@example.com")

    # When the account is reconciled
    evaluation = sandbox.reconcile()

    # Then only the key is unregistered, and the drift names the user and the user's owner
    assert found(evaluation) == {("unregistered-identity", f"access_key#{key}")}
    drift = the_drift(evaluation, DriftType.UNREGISTERED_IDENTITY, f"access_key#{key}")
    assert drift.severity is Severity.HIGH
    assert drift.user == "alice"
    assert drift.owner == "alice@example.com"
    assert key in drift.summary  # people must be able to find the key from the finding
    assert "created_at" in drift.evidence


def test_inactive_unregistered_key_is_not_a_drift(sandbox: Sandbox) -> None:
    """An unregistered key that is Inactive cannot act, so it must not be reported as unregistered."""
    # Given a registered user whose only, unregistered key is Inactive
    key = sandbox.user("alice", key=True)
    assert key is not None
    sandbox.deactivate("alice", key)
    sandbox.register_user("alice")

    # When the account is reconciled
    evaluation = sandbox.reconcile()

    # Then nothing is reported
    assert found(evaluation) == set()


# -- revocations ---------------------------------------------------------------------------------------------------
def test_unenforced_revocation_of_a_key(sandbox: Sandbox) -> None:
    """A key revoked two days ago that is still Active must be an unenforced-revocation with the key's owner, ticket
    and what still lets it act."""
    # Given a key the registry revoked two days ago, still Active in IAM
    key = sandbox.user("dave", key=True)
    assert key is not None
    revoked_at = ago(days=2)
    sandbox.register_user("dave")
    sandbox.register_key(
        key, "dave", owner="dave@example.com", status="revoked", revoked_at=revoked_at, ticket="SEC-1043"
    )

    # When the account is reconciled
    evaluation = sandbox.reconcile()

    # Then the key's revocation is unenforced
    assert found(evaluation) == {("unenforced-revocation", f"access_key#{key}")}
    drift = the_drift(evaluation, DriftType.UNENFORCED_REVOCATION, f"access_key#{key}")
    assert drift.owner == "dave@example.com"
    assert drift.ticket == "SEC-1043"
    assert drift.user == "dave"
    assert drift.evidence["still_active"] == [f"access key {key} is Active"]
    assert drift.evidence["grace_period_seconds"] == 3600
    assert _close(drift.evidence["revoked_at"], revoked_at)
    assert _revocation(evaluation, f"access_key#{key}").state is RevocationState.UNENFORCED


def test_unenforced_revocation_of_a_user_lists_key_and_password(sandbox: Sandbox) -> None:
    """A user revoked three days ago that still has an Active key and a console password must be an
    unenforced-revocation listing both; the key itself is judged by the user's revocation (not unregistered)."""
    # Given a revoked user with an active key and a login profile
    key = sandbox.user("carol", key=True, password=True)
    sandbox.register_user("carol", owner="security@example.com", status="revoked", revoked_at=ago(days=3))

    # When the account is reconciled
    evaluation = sandbox.reconcile()

    # Then the user's revocation is unenforced and names both credentials
    assert found(evaluation) == {("unenforced-revocation", "user#carol")}
    drift = the_drift(evaluation, DriftType.UNENFORCED_REVOCATION, "user#carol")
    assert drift.owner == "security@example.com"
    assert set(drift.evidence["still_active"]) == {  # type: ignore[arg-type]
        f"access key {key} is Active",
        "console password is enabled",
    }


def test_unenforced_revocation_of_a_role(sandbox: Sandbox) -> None:
    """A role revoked five days ago with no session-revoking deny must be an unenforced-revocation."""
    # Given a revoked role without any deny policy
    sandbox.role("contractor-access")
    sandbox.register_role(
        "contractor-access", owner="vendor-mgmt@example.com", status="revoked", revoked_at=ago(days=5)
    )

    # When the account is reconciled
    evaluation = sandbox.reconcile()

    # Then the role's revocation is unenforced
    assert found(evaluation) == {("unenforced-revocation", "role#contractor-access")}
    drift = the_drift(evaluation, DriftType.UNENFORCED_REVOCATION, "role#contractor-access")
    assert drift.owner == "vendor-mgmt@example.com"
    assert drift.evidence["still_active"] == ["role can still be assumed by Service:lambda.amazonaws.com"]


def test_revocation_within_grace_period_is_pending_not_a_drift(sandbox: Sandbox) -> None:
    """A key revoked ten minutes ago (grace period one hour) and still Active must be pending: no drift yet."""
    # Given a key revoked ten minutes ago, still Active
    key = sandbox.user("grace", key=True)
    assert key is not None
    revoked_at = ago(minutes=10)
    sandbox.register_user("grace")
    sandbox.register_key(key, "grace", status="revoked", revoked_at=revoked_at)

    # When the account is reconciled
    evaluation = sandbox.reconcile()

    # Then there is no drift, and the revocation is pending until the grace period ends
    assert found(evaluation) == set()
    check = _revocation(evaluation, f"access_key#{key}")
    assert check.state is RevocationState.PENDING
    assert check.still_active == (f"access key {key} is Active",)
    assert check.grace_ends_at == revoked_at + timedelta(hours=1)


def test_key_revocation_enforced_after_deactivation(sandbox: Sandbox) -> None:
    """A revoked key set Inactive with UpdateAccessKey must be enforced: no drift at all."""
    # Given a key revoked two days ago that the responder deactivated
    key = sandbox.user("dave", key=True)
    assert key is not None
    sandbox.register_user("dave")
    sandbox.register_key(key, "dave", status="revoked", revoked_at=ago(days=2))
    sandbox.deactivate("dave", key)

    # When the account is reconciled
    evaluation = sandbox.reconcile()

    # Then the revocation is enforced and nothing is reported
    assert found(evaluation) == set()
    check = _revocation(evaluation, f"access_key#{key}")
    assert check.state is RevocationState.ENFORCED
    assert check.still_active == ()


def test_user_revocation_enforced_when_key_inactive_and_password_removed(sandbox: Sandbox) -> None:
    """A revoked user whose key is Inactive and whose login profile was deleted must be enforced."""
    # Given a revoked user after enforcement
    key = sandbox.user("carol", key=True, password=True)
    assert key is not None
    sandbox.register_user("carol", status="revoked", revoked_at=ago(days=3))
    sandbox.deactivate("carol", key)
    sandbox.iam.delete_login_profile(UserName="carol")

    # When the account is reconciled
    evaluation = sandbox.reconcile()

    # Then the user's revocation is enforced
    assert found(evaluation) == set()
    assert _revocation(evaluation, "user#carol").state is RevocationState.ENFORCED


def test_role_with_only_the_revoke_older_sessions_policy_stays_unenforced(sandbox: Sandbox) -> None:
    """A revoked role carrying the AWSRevokeOlderSessions deny (cut-off after the revocation) kills old sessions but
    lets the trust policy's principals start new ones: unenforced, saying who, and the deny is not counted as an
    inline entitlement."""
    # Given a role revoked five days ago, then denied every session issued before now
    revoked_at = ago(days=5)
    sandbox.role("contractor-access")
    sandbox.register_role("contractor-access", status="revoked", revoked_at=revoked_at)
    sandbox.iam.put_role_policy(
        RoleName="contractor-access",
        PolicyName="AWSRevokeOlderSessions",
        PolicyDocument=revoke_sessions_document(ago(minutes=1)),
    )

    # When the account is reconciled
    evaluation = sandbox.reconcile()

    # Then the revocation is unenforced, and the finding names who can still assume the role
    assert found(evaluation) == {("unenforced-revocation", "role#contractor-access")}
    drift = the_drift(evaluation, DriftType.UNENFORCED_REVOCATION, "role#contractor-access")
    (reason,) = drift.evidence["still_active"]  # type: ignore[misc]
    assert "Service:lambda.amazonaws.com" in reason and "stops no new session" in reason


def test_role_whose_trust_policy_admits_nobody_is_enforced(sandbox: Sandbox) -> None:
    """A revoked role whose trust policy was changed to an explicit deny of everyone: nobody can assume it, enforced
    (GAAD's trust document read by driftline; moto evaluates nothing)."""
    sandbox.role("contractor-access")
    sandbox.register_role("contractor-access", status="revoked", revoked_at=ago(days=5))
    nobody = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": ["sts:AssumeRole", "sts:AssumeRoleWithSAML", "sts:AssumeRoleWithWebIdentity"],
                }
            ],
        }
    )
    sandbox.iam.update_assume_role_policy(RoleName="contractor-access", PolicyDocument=nobody)

    evaluation = sandbox.reconcile()

    assert found(evaluation) == set()
    assert _revocation(evaluation, "role#contractor-access").state is RevocationState.ENFORCED


def test_role_deny_dated_before_the_revocation_does_not_enforce_it(sandbox: Sandbox) -> None:
    """A session-revoking deny whose cut-off predates the revocation leaves sessions issued in between valid, so the
    revocation must stay unenforced."""
    # Given a role revoked two days ago, with a deny for sessions issued before three days ago
    sandbox.role("contractor-access")
    sandbox.register_role("contractor-access", status="revoked", revoked_at=ago(days=2))
    sandbox.iam.put_role_policy(
        RoleName="contractor-access",
        PolicyName="AWSRevokeOlderSessions",
        PolicyDocument=revoke_sessions_document(ago(days=3)),
    )

    # When the account is reconciled
    evaluation = sandbox.reconcile()

    # Then the revocation is unenforced
    assert found(evaluation) == {("unenforced-revocation", "role#contractor-access")}


def test_revoked_key_used_after_revocation(sandbox: Sandbox) -> None:
    """A key revoked two days ago, used one day ago and deactivated since, must be a CRITICAL
    revoked-credential-used drift (and no unenforced-revocation, since it is now Inactive)."""
    # Given a revoked key that IAM recorded in use after the revocation, then deactivated
    key = sandbox.user("dave", key=True)
    assert key is not None
    revoked_at, used_at = ago(days=2), ago(days=1)
    sandbox.register_user("dave")
    sandbox.register_key(key, "dave", owner="dave@example.com", status="revoked", revoked_at=revoked_at)
    set_key(key, last_used=used_at)
    sandbox.deactivate("dave", key)

    # When the account is reconciled
    evaluation = sandbox.reconcile()

    # Then the use after revocation is reported with both times
    assert found(evaluation) == {("revoked-credential-used", f"access_key#{key}")}
    drift = the_drift(evaluation, DriftType.REVOKED_CREDENTIAL_USED, f"access_key#{key}")
    assert drift.severity is Severity.CRITICAL
    assert drift.owner == "dave@example.com"
    assert _close(drift.evidence["key_last_used_at"], used_at)
    assert _close(drift.evidence["revoked_at"], revoked_at)


def test_key_of_revoked_user_used_after_the_users_revocation(sandbox: Sandbox) -> None:
    """A key with no entry of its own whose user was revoked three days ago and which was used one day ago must be a
    revoked-credential-used drift on the key, next to the user's unenforced revocation."""
    # Given a revoked user whose (unregistered) key was used after the revocation
    key = sandbox.user("carol", key=True)
    assert key is not None
    sandbox.register_user("carol", owner="security@example.com", status="revoked", revoked_at=ago(days=3))
    set_key(key, last_used=ago(days=1))

    # When the account is reconciled
    evaluation = sandbox.reconcile()

    # Then both the use and the unenforced revocation are reported, attributed to the user's owner
    assert found(evaluation) == {
        ("revoked-credential-used", f"access_key#{key}"),
        ("unenforced-revocation", "user#carol"),
    }
    drift = the_drift(evaluation, DriftType.REVOKED_CREDENTIAL_USED, f"access_key#{key}")
    assert drift.owner == "security@example.com"
    assert drift.user == "carol"


def test_revoked_users_console_password_used_after_revocation(sandbox: Sandbox) -> None:
    """A revoked user whose console password was used after the revocation must be a revoked-credential-used drift
    on the user with the password's last use as evidence."""
    # Given a user revoked three days ago whose console password was used two days ago
    sandbox.user("carol", password=True)
    sandbox.register_user("carol", status="revoked", revoked_at=ago(days=3))
    used_at = ago(days=2)
    set_password_used("carol", used_at)

    # When the account is reconciled
    evaluation = sandbox.reconcile()

    # Then the password use is reported (and the password still works, so the revocation is unenforced too)
    assert found(evaluation) == {("revoked-credential-used", "user#carol"), ("unenforced-revocation", "user#carol")}
    drift = the_drift(evaluation, DriftType.REVOKED_CREDENTIAL_USED, "user#carol")
    assert _close(drift.evidence["password_last_used_at"], used_at)


# -- expiry --------------------------------------------------------------------------------------------------------
def test_expired_user_that_can_still_act(sandbox: Sandbox) -> None:
    """A user whose entry expired ten days ago and who still has an Active key must be expired-but-active."""
    # Given an expired contractor with a working key
    key = sandbox.user("erin", key=True)
    assert key is not None
    expires_at = ago(days=10)
    sandbox.register_user("erin", owner="vendor-mgmt@example.com", expires_at=expires_at)
    sandbox.register_key(key, "erin", owner="vendor-mgmt@example.com")

    # When the account is reconciled
    evaluation = sandbox.reconcile()

    # Then the user is expired but active
    assert found(evaluation) == {("expired-but-active", "user#erin")}
    drift = the_drift(evaluation, DriftType.EXPIRED_BUT_ACTIVE, "user#erin")
    assert drift.owner == "vendor-mgmt@example.com"
    assert _close(drift.evidence["expires_at"], expires_at)


def test_expired_user_without_credentials_is_not_a_drift(sandbox: Sandbox) -> None:
    """An expired user with no password and only an Inactive key cannot act: no expired-but-active."""
    # Given an expired user whose key is Inactive
    key = sandbox.user("erin", key=True)
    assert key is not None
    sandbox.register_user("erin", expires_at=ago(days=10))
    sandbox.register_key(key, "erin")
    sandbox.deactivate("erin", key)

    # When the account is reconciled
    evaluation = sandbox.reconcile()

    # Then nothing is reported
    assert found(evaluation) == set()


# -- entitlements --------------------------------------------------------------------------------------------------
def _as_iam(dimension: str, names: list[str]) -> list[str]:
    """Registry and IAM name managed policies by ARN, groups and inline policies by name."""
    return [policy_arn(n) for n in names] if dimension == "managed_policies" else list(names)


@pytest.mark.parametrize(
    ("dimension", "held", "approved", "drift_type", "evidence"),
    [
        ("managed_policies", ["DevRead", "AdminLike"], ["DevRead"], "excess", ["AdminLike"]),
        ("managed_policies", ["DevRead"], ["DevRead", "Deploy"], "missing", ["Deploy"]),
        ("groups", ["developers", "admins"], ["developers"], "excess", ["admins"]),
        ("groups", ["developers"], ["developers", "on-call"], "missing", ["on-call"]),
        ("inline_policies", ["scratch-s3"], [], "excess", ["scratch-s3"]),
        ("inline_policies", [], ["team-s3"], "missing", ["team-s3"]),
    ],
)
def test_entitlement_drift_per_dimension(
    sandbox: Sandbox, dimension: str, held: list[str], approved: list[str], drift_type: str, evidence: list[str]
) -> None:
    """For each dimension (managed policy, group, inline policy), IAM holding more than the registry approves must be
    excess-entitlement and less must be missing-entitlement, naming exactly the difference."""
    # Given a user holding ``held`` in one dimension while the registry approves ``approved``
    for name in {*held, *approved}:  # every policy and group exists in the account
        if dimension == "managed_policies":
            sandbox.policy(name)
        elif dimension == "groups":
            sandbox.group(name)
    sandbox.user(
        "bob",
        policies=_as_iam(dimension, held) if dimension == "managed_policies" else (),
        groups=held if dimension == "groups" else (),
        inline=held if dimension == "inline_policies" else (),
    )
    sandbox.register_user("bob", owner="bob@example.com", **{dimension: _as_iam(dimension, approved)})

    # When the account is reconciled
    evaluation = sandbox.reconcile()

    # Then exactly one drift names exactly the difference in that dimension
    kind = DriftType.EXCESS_ENTITLEMENT if drift_type == "excess" else DriftType.MISSING_ENTITLEMENT
    assert found(evaluation) == {(kind.value, "user#bob")}
    drift = the_drift(evaluation, kind, "user#bob")
    assert drift.owner == "bob@example.com"
    assert drift.evidence == {drift_type: {dimension: _as_iam(dimension, evidence)}}


def test_role_entitlements_ignore_session_revoking_deny(sandbox: Sandbox) -> None:
    """An active role approved with no inline policies that carries an AWSRevokeOlderSessions deny plus one real
    inline policy must report only the real one as excess."""
    # Given a role with a session deny and an unapproved inline policy
    sandbox.role("app-runtime", inline=["extra-read"])
    sandbox.iam.put_role_policy(
        RoleName="app-runtime",
        PolicyName="AWSRevokeOlderSessions",
        PolicyDocument=revoke_sessions_document(ago(days=1)),
    )
    sandbox.register_role("app-runtime", owner="platform@example.com", inline_policies=[])

    # When the account is reconciled
    evaluation = sandbox.reconcile()

    # Then only the real inline policy is excess
    drift = the_drift(evaluation, DriftType.EXCESS_ENTITLEMENT, "role#app-runtime")
    assert drift.evidence == {"excess": {"inline_policies": ["extra-read"]}}
    assert drift.owner == "platform@example.com"


# -- missing identities --------------------------------------------------------------------------------------------
def test_registered_identities_absent_from_iam_are_missing(sandbox: Sandbox) -> None:
    """A registry user and role that IAM does not have must each be a missing-identity drift with their owner."""
    # Given registry entries for a user and a role that were never created
    sandbox.register_user("frank", owner="frank@example.com", purpose="new hire")
    sandbox.register_role("batch-etl", owner="data@example.com")

    # When the account is reconciled
    evaluation = sandbox.reconcile()

    # Then both are missing, as INFORMATIONAL drifts carrying the registry status
    assert found(evaluation) == {("missing-identity", "user#frank"), ("missing-identity", "role#batch-etl")}
    user = the_drift(evaluation, DriftType.MISSING_IDENTITY, "user#frank")
    role = the_drift(evaluation, DriftType.MISSING_IDENTITY, "role#batch-etl")
    assert (user.owner, role.owner) == ("frank@example.com", "data@example.com")
    assert user.severity is Severity.INFORMATIONAL
    assert user.evidence == {"registry_status": "active"}


# -- stale credentials ---------------------------------------------------------------------------------------------
def test_old_access_key_is_stale(sandbox: Sandbox) -> None:
    """A registered key created 200 days ago (used yesterday) exceeds the 90-day maximum age: stale-credential."""
    # Given a key created 200 days ago, still in use
    key = sandbox.user("ci-deployer", key=True)
    assert key is not None
    created, used = ago(days=200), ago(days=1)
    set_key(key, created=created, last_used=used)
    sandbox.register_user("ci-deployer", owner="platform@example.com")
    sandbox.register_key(key, "ci-deployer", owner="platform@example.com")

    # When the account is reconciled
    evaluation = sandbox.reconcile()

    # Then the key is stale because of its age only
    assert found(evaluation) == {("stale-credential", f"access_key#{key}")}
    drift = the_drift(evaluation, DriftType.STALE_CREDENTIAL, f"access_key#{key}")
    assert drift.owner == "platform@example.com"
    assert drift.evidence["max_age_days"] == 90
    assert _close(drift.evidence["created_at"], created)
    assert _close(drift.evidence["last_used_at"], used)  # used yesterday: only its age makes it stale


def test_unused_role_is_stale(sandbox: Sandbox) -> None:
    """A role created 400 days ago and last used 200 days ago exceeds the 90-day unused limit: stale-credential."""
    # Given a long-idle registered role
    sandbox.role("legacy-batch")
    last_used = ago(days=200)
    set_role("legacy-batch", created=ago(days=400), last_used=last_used)
    sandbox.register_role("legacy-batch", owner="data@example.com")

    # When the account is reconciled
    evaluation = sandbox.reconcile()

    # Then the role is stale with its last use as evidence
    assert found(evaluation) == {("stale-credential", "role#legacy-batch")}
    drift = the_drift(evaluation, DriftType.STALE_CREDENTIAL, "role#legacy-batch")
    assert drift.owner == "data@example.com"
    assert drift.evidence["max_unused_days"] == 90
    assert _close(drift.evidence["role_last_used_at"], last_used)


def test_registry_threshold_overrides_the_default_for_a_role(sandbox: Sandbox) -> None:
    """The same idle role with ``max_unused_days=365`` in its entry must not be stale."""
    # Given a role idle for 200 days whose entry allows a year
    sandbox.role("legacy-batch")
    set_role("legacy-batch", created=ago(days=400), last_used=ago(days=200))
    sandbox.register_role("legacy-batch", max_unused_days=365)

    # When the account is reconciled
    evaluation = sandbox.reconcile()

    # Then nothing is reported
    assert found(evaluation) == set()


def test_unused_console_password_is_stale(sandbox: Sandbox) -> None:
    """A registered user whose console password was last used 120 days ago must be stale-credential on the user."""
    # Given a user created 200 days ago whose password was last used 120 days ago
    sandbox.user("olga", password=True)
    backdate_user("olga", ago(days=200))
    used = ago(days=120)
    set_password_used("olga", used)
    sandbox.register_user("olga", owner="olga@example.com")

    # When the account is reconciled
    evaluation = sandbox.reconcile()

    # Then the user is stale because of the password
    assert found(evaluation) == {("stale-credential", "user#olga")}
    drift = the_drift(evaluation, DriftType.STALE_CREDENTIAL, "user#olga")
    assert drift.owner == "olga@example.com"
    assert drift.evidence["max_unused_days"] == 90
    assert _close(drift.evidence["password_last_used_at"], used)
