"""compare(): AWS-owned identities are excluded unless registered, and a scoped inventory judges only its scope."""

from __future__ import annotations

import pytest

from driftline.domain.drift import CREDENTIAL_DRIFTS, DriftType, RevocationState
from driftline.domain.observed import Facet
from driftline.domain.settings import CompareSettings, Exclusions
from tests.unit.domain.builders import (
    days_ago,
    hours_ago,
    inventory,
    key_entry,
    key_id,
    kinds_and_names,
    observed_key,
    observed_role,
    observed_user,
    policy_arn,
    ref,
    revoked,
    role_entry,
    run,
    user_entry,
)

UNREGISTERED = DriftType.UNREGISTERED_IDENTITY
ANCIENT = {"created_at": days_ago(1000), "last_used_at": None}  # would be stale if judged


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("AWSServiceRoleForSupport", "/aws-service-role/support.amazonaws.com/"),
        ("custom-named-slr", "/aws-service-role/elasticbeanstalk.amazonaws.com/"),
        ("AWSReservedSSO_Admin_0123456789abcdef", "/aws-reserved/sso.amazonaws.com/"),
        ("AWSReservedSSO_ReadOnly_fedcba9876543210", "/aws-reserved/sso.amazonaws.com/eu-west-1/"),
        ("AWSReservedSSO_Dev_00112233", "/"),
        ("cdk-hnb659fds-deploy-role-123456789012-us-east-1", "/"),
        ("cdk-hnb659fds-file-publishing-role-123456789012-us-east-1", "/"),
        ("cdk-hnb659fds-image-publishing-role-123456789012-us-east-1", "/"),
        ("cdk-hnb659fds-lookup-role-123456789012-us-east-1", "/"),
        ("cdk-myqual-cfn-exec-role-123456789012-eu-west-1", "/"),
    ],
)
def test_aws_owned_roles_are_neither_unregistered_nor_stale(name: str, path: str) -> None:
    """An unregistered role {name} at path {path}, never used for 1000 days: excluded, so no drift at all."""
    # Given an AWS-owned role nobody registered
    inv = inventory(roles=[observed_role(name, path=path, **ANCIENT)])
    # When compared with an empty registry
    # Then it is not reported
    assert run([], inv).drifts == ()


@pytest.mark.parametrize(
    "name", ["cdk-deploy", "my-AWSReservedSSO_x", "awsservicerolefor-lowercase", "cdkhnb-lookup-role"]
)
def test_look_alike_names_are_not_excluded(name: str) -> None:
    """A role whose name merely resembles an AWS-owned pattern (wrong prefix, case) is unregistered."""
    inv = inventory(roles=[observed_role(name)])
    assert kinds_and_names(run([], inv)) == [(UNREGISTERED, f"role#{name}")]


def test_custom_exclusions_by_name_and_path() -> None:
    """Exclusions(name_patterns=['breakglass-*'], path_prefixes=['/vendor/']) hides those, and only those."""
    # Given custom exclusions that replace the defaults
    custom = CompareSettings(exclusions=Exclusions(name_patterns=("breakglass-*",), path_prefixes=("/vendor/",)))
    inv = inventory(
        users=[observed_user("breakglass-admin"), observed_user("tool", path="/vendor/acme/"), observed_user("bob")],
        roles=[observed_role("AWSServiceRoleForSupport", path="/")],
    )
    # When compared
    result = run([], inv, custom)
    # Then the excluded users are skipped; a default-pattern name is no longer excluded
    assert sorted(kinds_and_names(result)) == [
        (UNREGISTERED, "role#AWSServiceRoleForSupport"),
        (UNREGISTERED, "user#bob"),
    ]


def test_keys_of_an_excluded_user_are_excluded() -> None:
    """An Active, unregistered, 1000-day-old key of an excluded user: neither unregistered nor stale."""
    custom = CompareSettings(exclusions=Exclusions(name_patterns=("breakglass-*",)))
    key = observed_key(key_id(1), "breakglass-admin", **ANCIENT)
    inv = inventory(users=[observed_user("breakglass-admin")], keys=[key])
    assert run([], inv, custom).drifts == ()


def test_registered_excluded_role_that_is_missing_is_missing_identity() -> None:
    """An explicit entry for an excluded CDK role that IAM lacks: missing-identity (the entry wins)."""
    name = "cdk-hnb659fds-deploy-role-123456789012-us-east-1"
    assert kinds_and_names(run([role_entry(name)], inventory())) == [(DriftType.MISSING_IDENTITY, f"role#{name}")]


def test_registered_excluded_role_is_judged_for_entitlements_and_hygiene() -> None:
    """A registered SSO role holding an unapproved policy, unused for 1000 days: excess and stale are reported."""
    name = "AWSReservedSSO_Admin_0123"
    role = observed_role(
        name, path="/aws-reserved/sso.amazonaws.com/", managed_policies=frozenset({policy_arn("X")}), **ANCIENT
    )
    result = run([role_entry(name, managed_policies=[])], inventory(roles=[role]))
    assert kinds_and_names(result) == [
        (DriftType.EXCESS_ENTITLEMENT, f"role#{name}"),
        (DriftType.STALE_CREDENTIAL, f"role#{name}"),
    ]


# --- scope -----------------------------------------------------------------------------------------------------


def test_scoped_inventory_judges_nothing_outside_its_scope() -> None:
    """scope={user#alice}: entries for bob, a role and bob's key (none observed) give no missing-identity or
    revocation check; alice is still judged (an excess policy on her is reported)."""
    # Given an event-scoped observation of alice only
    inv = inventory(
        users=[observed_user("alice", managed_policies=frozenset({policy_arn("X")}))], scope=[ref("user#alice")]
    )
    entries = [
        user_entry("alice", managed_policies=[]),
        user_entry("bob"),
        role_entry("ops"),
        key_entry(key_id(2), "bob"),
        revoked(user_entry("carol"), hours_ago(5)),
    ]
    # When compared
    result = run(entries, inv)
    # Then only alice is judged
    assert kinds_and_names(result) == [(DriftType.EXCESS_ENTITLEMENT, "user#alice")]
    assert result.revocations == ()


def test_scope_covers_the_keys_of_a_scoped_user() -> None:
    """scope={user#alice}: a registered key of alice that IAM lacks is judged (missing-identity)."""
    inv = inventory(users=[observed_user("alice")], scope=[ref("user#alice")])
    result = run([user_entry("alice"), key_entry(key_id(1), "alice")], inv)
    assert kinds_and_names(result) == [(DriftType.MISSING_IDENTITY, f"access_key#{key_id(1)}")]


def test_scoped_identity_that_iam_lacks_is_missing() -> None:
    """scope={user#carol} and IAM has no carol: the observation looked and found nothing, so carol is missing."""
    result = run([user_entry("carol"), user_entry("dave")], inventory(scope=[ref("user#carol")]))
    assert kinds_and_names(result) == [(DriftType.MISSING_IDENTITY, "user#carol")]


def test_scoped_revocation_is_checked() -> None:
    """scope={role#ops}, ops revoked and deleted: its revocation check is ENFORCED; other revocations not checked."""
    entries = [revoked(role_entry("ops"), hours_ago(5)), revoked(role_entry("other"), hours_ago(5))]
    result = run(entries, inventory(scope=[ref("role#ops")]))
    assert [(c.identity.key, c.state) for c in result.revocations] == [("role#ops", RevocationState.ENFORCED)]


def test_observation_without_credentials_judges_only_what_principals_show() -> None:
    """Users read without credentials: alice (an unapproved policy, an expiry passed, a registered key not read),
    unregistered bob, revoked carol. Out come alice's excess-entitlement and bob's unregistered-identity; not
    alice's expiry (can she act? unread), not her key (outside the scope: no missing-identity), and no revocation
    verdict for carol."""
    inv = inventory(
        users=[
            observed_user("alice", managed_policies=frozenset({policy_arn("X")}), created_at=days_ago(400)),
            observed_user("bob"),
            observed_user("carol"),
        ],
        scope=[ref("user#alice"), ref("user#bob"), ref("user#carol")],
    ).model_copy(update={"facets": frozenset({Facet.ENTITLEMENTS})})
    entries = [
        user_entry("alice", managed_policies=[], expires_at=days_ago(1)),
        key_entry(key_id(1), "alice"),
        revoked(user_entry("carol"), hours_ago(5)),
    ]

    result = run(entries, inv)

    assert sorted(kinds_and_names(result)) == [
        (DriftType.EXCESS_ENTITLEMENT, "user#alice"),
        (DriftType.UNREGISTERED_IDENTITY, "user#bob"),
    ]
    assert result.judged == frozenset(DriftType) - CREDENTIAL_DRIFTS
    assert result.revocations == ()
    assert not result.judges(DriftType.EXPIRED_BUT_ACTIVE)
    assert not inv.covers(ref(f"access_key#{key_id(1)}"), "alice")
