"""``domain.adopt.adopt``: today's IAM as the registry's starting truth (pure: inventories built in memory)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from driftline.domain.adopt import adopt
from driftline.domain.drift import DriftType
from driftline.domain.observed import Inventory
from driftline.domain.registry import RegistryEntry, Status
from driftline.domain.settings import Exclusions
from tests.unit.domain.builders import (
    inactive,
    inventory,
    key_id,
    observed_key,
    observed_role,
    observed_user,
    policy_arn,
    revoke_sessions,
    run,
)

READ = policy_arn("ReadOnlyAccess")
AUDIT = policy_arn("SecurityAudit")
DEFAULT = "platform@example.com"
JUDGED = {
    DriftType.UNREGISTERED_IDENTITY,
    DriftType.EXCESS_ENTITLEMENT,
    DriftType.MISSING_ENTITLEMENT,
    DriftType.EXCESS_TRUST,
    DriftType.MISSING_TRUST,
}


def adopted(inv: Inventory, owner_tag: str | None = "owner") -> dict[str, RegistryEntry]:
    return {e.ref.key: e for e in adopt(inv, Exclusions(), owner_tag=owner_tag, default_owner=DEFAULT)}


def test_aws_owned_roles_are_not_adopted() -> None:
    """Service-linked (path /aws-service-role/…), Identity Center (path /aws-reserved/sso.amazonaws.com/…, also with
    a region), CDK bootstrap roles (deploy, file-publishing, lookup, cfn-exec) and Driftline's own roles are excluded;
    an ordinary role and a role merely *named* like a service path are adopted."""
    # Given AWS-owned roles next to ordinary ones
    owned = [
        observed_role("AWSServiceRoleForECS", path="/aws-service-role/ecs.amazonaws.com/"),
        observed_role("custom-linked", path="/aws-service-role/custom.amazonaws.com/"),
        observed_role("AWSReservedSSO_Admin_0123456789abcdef", path="/aws-reserved/sso.amazonaws.com/"),
        observed_role("regional-sso", path="/aws-reserved/sso.amazonaws.com/eu-west-1/"),
        observed_role("cdk-hnb659fds-deploy-role-123456789012-us-east-1"),
        observed_role("cdk-hnb659fds-file-publishing-role-123456789012-us-east-1"),
        observed_role("cdk-hnb659fds-lookup-role-123456789012-us-east-1"),
        observed_role("cdk-hnb659fds-cfn-exec-role-123456789012-us-east-1"),
        observed_role("DriftlineReconcileRole"),
    ]
    mine = [observed_role("app-runtime"), observed_role("aws-service-role-lookalike", path="/apps/")]
    # When the inventory is adopted
    result = adopted(inventory(roles=owned + mine))
    # Then only the ordinary roles are entries
    assert sorted(result) == ["role#app-runtime", "role#aws-service-role-lookalike"]


def test_owner_comes_from_the_tag_else_the_default() -> None:
    """alice tagged owner=alice@x (padded with spaces), bob tagged with a blank owner, carol untagged, a role tagged:
    alice -> 'alice@x' (stripped), bob and carol -> the default, the role -> its tag; each key takes its user's
    owner."""
    # Given principals with and without a usable owner tag
    inv = inventory(
        users=[
            observed_user("alice", tags={"owner": "  alice@x  "}),
            observed_user("bob", tags={"owner": "   "}),
            observed_user("carol", tags={"team": "payments"}),
        ],
        roles=[observed_role("app", tags={"owner": "app-team"})],
        keys=[observed_key(key_id(1), "alice"), observed_key(key_id(2), "carol")],
    )
    # When adopted with the 'owner' tag
    result = adopt(inv, Exclusions(), owner_tag="owner", default_owner=DEFAULT)
    # Then the owners are the tag's or the default
    owners = {e.ref.key: e.owner for e in result}
    assert owners == {
        "user#alice": "alice@x",
        "user#bob": DEFAULT,
        "user#carol": DEFAULT,
        "role#app": "app-team",
        f"access_key#{key_id(1)}": "alice@x",
        f"access_key#{key_id(2)}": DEFAULT,
    }
    # and without an owner tag every owner is the default
    assert {e.owner for e in adopt(inv, Exclusions(), owner_tag=None, default_owner=DEFAULT)} == {DEFAULT}


def test_current_entitlements_become_the_approved_ones() -> None:
    """alice holds Audit and Read, groups dev and ops, inline 'extra' and a session-revoking deny; the role holds
    Read and nothing inline: the entries approve exactly that (sorted: ReadOnlyAccess before SecurityAudit), the deny
    is no entitlement, a role gets no groups dimension, and a principal holding nothing approves empty lists (not
    None)."""
    # Given principals with entitlements
    inv = inventory(
        users=[
            observed_user(
                "alice",
                managed_policies=frozenset({READ, AUDIT}),
                groups=frozenset({"ops", "dev"}),
                inline_policies=frozenset({"extra", "AWSRevokeOlderSessions"}),
                session_denies=(revoke_sessions(None),),
            ),
            observed_user("bare"),
        ],
        roles=[observed_role("app", managed_policies=frozenset({READ}))],
    )
    # When adopted
    result = adopted(inv)
    # Then the approvals are what each holds
    alice, bare, app = result["user#alice"], result["user#bare"], result["role#app"]
    assert (alice.managed_policies, alice.groups, alice.inline_policies) == ((READ, AUDIT), ("dev", "ops"), ("extra",))
    assert (bare.managed_policies, bare.groups, bare.inline_policies) == ((), (), ())
    assert (app.managed_policies, app.groups, app.inline_policies) == ((READ,), None, ())
    assert {(e.status, e.version, e.purpose) for e in result.values()} == {(Status.ACTIVE, 0, "adopted from IAM")}


def test_todays_trust_becomes_the_approved_trust() -> None:
    """Tried: a role whose trust policy admits an account and a service, one that admits nobody, and one whose trust
    policy was not read (trusted_by None). Must: the first approves exactly those two, the second [] (nobody), the
    third leaves trust not governed (None); a user never gets trusted_principals."""
    # Given roles with read and unread trust policies
    inv = inventory(
        users=[observed_user("alice")],
        roles=[
            observed_role("app", trusted_by=("AWS:111122223333", "Service:lambda.amazonaws.com")),
            observed_role("sealed", trusted_by=()),
            observed_role("unread", trusted_by=None),
        ],
    )
    # When adopted
    result = adopted(inv)
    # Then today's trust is what each role approves
    assert result["role#app"].trusted_principals == ("AWS:111122223333", "Service:lambda.amazonaws.com")
    assert result["role#sealed"].trusted_principals == ()
    assert result["role#unread"].trusted_principals is None
    assert result["user#alice"].trusted_principals is None


def test_todays_permissions_boundary_becomes_the_approved_one() -> None:
    """Tried: a user with boundary SecurityAudit, a role with none, and an access key. Must: the user approves that
    ARN, the role 'none' (no boundary approved, not "not governed"), the key no boundary field at all."""
    inv = inventory(
        users=[observed_user("alice", permissions_boundary=AUDIT)],
        roles=[observed_role("app")],
        keys=[observed_key(key_id(1), "alice")],
    )
    result = adopted(inv)
    assert result["user#alice"].permissions_boundary == AUDIT
    assert result["role#app"].permissions_boundary == "none"
    assert result[f"access_key#{key_id(1)}"].permissions_boundary is None


def test_inactive_keys_and_keys_of_excluded_users_are_not_adopted() -> None:
    """alice's Active key is adopted (naming its user); her Inactive key is not; the key of a user under an
    excluded path (/aws-reserved/sso.amazonaws.com/) is not, and neither is that user."""
    # Given active and inactive keys, and a key of an excluded user
    inv = inventory(
        users=[observed_user("alice"), observed_user("DriftlineBreakGlass", path="/aws-reserved/sso.amazonaws.com/")],
        keys=[
            observed_key(key_id(1), "alice"),
            inactive(observed_key(key_id(2), "alice")),
            observed_key(key_id(3), "DriftlineBreakGlass"),
        ],
    )
    # When adopted
    result = adopted(inv)
    # Then only alice and her active key are entries
    assert sorted(result) == [f"access_key#{key_id(1)}", "user#alice"]
    assert result[f"access_key#{key_id(1)}"].user == "alice"


def test_entries_are_sorted_by_kind_and_name() -> None:
    """The adopted entries come out sorted by kind#name (keys, then roles, then users)."""
    # Given principals in arbitrary order
    inv = inventory(
        users=[observed_user("zed"), observed_user("amy")],
        roles=[observed_role("mid")],
        keys=[observed_key(key_id(9), "zed"), observed_key(key_id(1), "amy")],
    )
    # When adopted
    keys = [e.ref.key for e in adopt(inv, Exclusions(), owner_tag=None, default_owner=DEFAULT)]
    # Then the order is by key
    assert keys == sorted(keys) and len(keys) == 5


POLICIES = st.frozensets(st.sampled_from([READ, AUDIT, policy_arn("Billing")]), max_size=3)
INLINE = st.frozensets(st.sampled_from(["a", "b", "c"]), max_size=3)
GROUPS = st.frozensets(st.sampled_from(["dev", "ops"]), max_size=2)
USER_NAMES = st.lists(st.sampled_from(["alice", "bob", "carol", "DriftlineOps"]), unique=True, max_size=4)
TRUST = st.lists(
    st.sampled_from(
        [
            "*",
            "AWS:111122223333",
            "Service:lambda.amazonaws.com",
            "Federated:arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com#sub=repo:o/r:*",
        ]
    ),
    unique=True,
    max_size=3,
).map(tuple)
ROLE_PATHS = st.sampled_from(["/", "/apps/", "/aws-service-role/x.amazonaws.com/", "/aws-reserved/sso.amazonaws.com/"])


@st.composite
def inventories(draw: st.DrawFn) -> Inventory:
    users = [
        observed_user(
            n,
            managed_policies=draw(POLICIES),
            inline_policies=draw(INLINE),
            groups=draw(GROUPS),
            permissions_boundary=draw(st.none() | st.just(AUDIT)),
        )
        for n in draw(USER_NAMES)
    ]
    roles = [
        observed_role(
            f"role-{i}",
            path=draw(ROLE_PATHS),
            managed_policies=draw(POLICIES),
            inline_policies=draw(INLINE),
            trusted_by=draw(TRUST),
        )
        for i in range(draw(st.integers(0, 3)))
    ]
    keys = []
    for i, user in enumerate(users):
        for j in range(draw(st.integers(0, 2))):
            key = observed_key(key_id(10 * i + j), user.name)
            keys.append(key if draw(st.booleans()) else inactive(key))
    return inventory(users=users, roles=roles, keys=keys)


@settings(max_examples=50, deadline=None)
@given(inv=inventories())
def test_comparing_an_adopted_registry_with_its_account_finds_nothing_to_judge(inv: Inventory) -> None:
    """For any inventory (users with policies/groups/inline policies, roles on ordinary and AWS-owned paths, active
    and inactive keys, excluded names): comparing the adopted registry with the same inventory gives no unregistered
    identity, no excess and no missing entitlement, no excess or missing trust (roles trusting anyone, an account, a
    service, a GitHub subject, or nobody)."""
    # Given an account and the registry adopted from it
    entries = adopt(inv, Exclusions(), owner_tag="owner", default_owner=DEFAULT)
    # When the registry is compared with the account
    comparison = run(entries, inv)
    # Then nothing is unregistered, excess or missing
    assert [d for d in comparison.drifts if d.type in JUDGED] == []
