"""AWS-owned identities on moto: never called unregistered (nor stale), unless the registry names them explicitly."""

from __future__ import annotations

import pytest

from driftline.cli.sandbox import set_role
from driftline.domain.drift import DriftType
from tests.integration.support import Sandbox, ago, found, the_drift

AWS_OWNED = [
    pytest.param("AWSServiceRoleForSupport", "/aws-service-role/support.amazonaws.com/", id="service-linked"),
    pytest.param(
        "AWSReservedSSO_AdministratorAccess_0123456789abcdef", "/aws-reserved/sso.amazonaws.com/", id="identity-center"
    ),
    pytest.param(
        "AWSReservedSSO_ReadOnly_fedcba9876543210", "/aws-reserved/sso.amazonaws.com/eu-west-1/", id="sso-regional"
    ),
    pytest.param("cdk-hnb659fds-deploy-role-123456789012-us-east-1", "/", id="cdk-deploy"),
    pytest.param("cdk-hnb659fds-cfn-exec-role-123456789012-us-east-1", "/", id="cdk-cfn-exec"),
]


@pytest.mark.parametrize(("name", "path"), AWS_OWNED)
def test_aws_owned_role_is_neither_unregistered_nor_stale(sandbox: Sandbox, name: str, path: str) -> None:
    """An unregistered AWS-owned role (by path or by CDK name), created 400 days ago and never used, must produce no
    drift at all: neither unregistered-identity nor stale-credential."""
    # Given an old, unused, unregistered AWS-owned role
    sandbox.role(name, path=path)
    set_role(name, created=ago(days=400))

    # When the account is reconciled
    evaluation = sandbox.reconcile()

    # Then it is not reported, though it was observed
    assert found(evaluation) == set()
    assert evaluation.identities_observed == 1


@pytest.mark.parametrize(
    ("name", "path"),
    [
        pytest.param("AWSServiceRoleLookalike", "/", id="name-prefix-without-For"),
        pytest.param("ops-role", "/aws-service-role-backup/", id="path-prefix-lookalike"),
        pytest.param("cdk-deploy-role", "/", id="cdk-without-qualifier"),
    ],
)
def test_lookalike_role_is_still_unregistered(sandbox: Sandbox, name: str, path: str) -> None:
    """Roles that only resemble AWS-owned names or paths must still be reported as unregistered (the exclusions are
    not broader than documented)."""
    # Given a role whose name or path merely looks AWS-owned
    sandbox.role(name, path=path)

    # When the account is reconciled
    evaluation = sandbox.reconcile()

    # Then it is unregistered
    assert found(evaluation) == {("unregistered-identity", f"role#{name}")}


def test_explicit_entry_for_identity_center_role_is_judged(sandbox: Sandbox) -> None:
    """An Identity Center role with a registry entry approving no managed policies, holding one, must be reported as
    excess-entitlement: an explicit entry overrides the exclusion."""
    # Given an SSO role holding a policy, registered with none approved
    name = "AWSReservedSSO_AdministratorAccess_0123456789abcdef"
    arn = sandbox.policy("AdminLike")
    sandbox.role(name, path="/aws-reserved/sso.amazonaws.com/", policies=[arn])
    sandbox.register_role(name, owner="identity-center@example.com", managed_policies=[])

    # When the account is reconciled
    evaluation = sandbox.reconcile()

    # Then the excess is reported with the entry's owner
    assert found(evaluation) == {("excess-entitlement", f"role#{name}")}
    drift = the_drift(evaluation, DriftType.EXCESS_ENTITLEMENT, f"role#{name}")
    assert drift.owner == "identity-center@example.com"
    assert drift.evidence == {"excess": {"managed_policies": [arn]}}


def test_explicit_revocation_of_cdk_role_is_judged(sandbox: Sandbox) -> None:
    """A CDK bootstrap role revoked in the registry two days ago with no session deny must be an
    unenforced-revocation, although the role is excluded from the unregistered check."""
    # Given a revoked CDK deploy role
    name = "cdk-hnb659fds-deploy-role-123456789012-us-east-1"
    sandbox.role(name)
    sandbox.register_role(name, owner="platform@example.com", status="revoked", revoked_at=ago(days=2))

    # When the account is reconciled
    evaluation = sandbox.reconcile()

    # Then the revocation is unenforced
    assert found(evaluation) == {("unenforced-revocation", f"role#{name}")}


def test_explicit_entry_for_service_linked_role_is_stale_checked(sandbox: Sandbox) -> None:
    """A registered service-linked role unused for 200 days must be stale-credential (hygiene applies to registered
    identities even under an excluded path)."""
    # Given a registered, long-unused service-linked role
    name = "AWSServiceRoleForSupport"
    sandbox.role(name, path="/aws-service-role/support.amazonaws.com/")
    set_role(name, created=ago(days=400), last_used=ago(days=200))
    sandbox.register_role(name, owner="cloud-team@example.com")

    # When the account is reconciled
    evaluation = sandbox.reconcile()

    # Then it is stale
    assert found(evaluation) == {("stale-credential", f"role#{name}")}
    assert the_drift(evaluation, DriftType.STALE_CREDENTIAL, f"role#{name}").owner == "cloud-team@example.com"
