"""``driftline registry adopt``: bootstrap the registry from a moto account's live IAM.

The account (seeded through boto3 IAM): user alice (tag owner=alice@example.com; policy Read, group developers,
inline policy extra, one Active key), user bob (no tag, one Inactive key), role app-runtime (policy Read), and three
AWS-owned roles that must never be adopted: a service-linked role (path /aws-service-role/…), an IAM Identity Center
role (path /aws-reserved/sso.amazonaws.com/…) and a CDK bootstrap role (cdk-hnb659fds-deploy-role-…).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from driftline.adapters.aws import Clients
from tests.cli.conftest import ACCOUNT, RunCli
from tests.cli.registry.conftest import Cli
from tests.cli.registry.support import ACTOR, Registry, entry, json_of

POLICY = f"arn:aws:iam::{ACCOUNT}:policy/Read"
DOC = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}]})
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
)
CDK_ROLE = f"cdk-hnb659fds-deploy-role-{ACCOUNT}-us-east-1"
SSO_ROLE = "AWSReservedSSO_AdministratorAccess_0123456789abcdef"
DEFAULT_OWNER = "platform@example.com"
ADOPT = ("adopt", "--owner-tag", "owner", "--default-owner", DEFAULT_OWNER, "--report-wait", "10")


@dataclass(frozen=True)
class Account:
    alice_key: str
    bob_key: str
    aws_owned: tuple[str, ...]


@pytest.fixture
def account(registry: Registry, aws: Clients) -> Account:
    iam = aws.iam()
    iam.create_policy(PolicyName="Read", PolicyDocument=DOC)
    iam.create_group(GroupName="developers")
    iam.create_user(UserName="alice", Tags=[{"Key": "owner", "Value": "alice@example.com"}])
    iam.attach_user_policy(UserName="alice", PolicyArn=POLICY)
    iam.add_user_to_group(UserName="alice", GroupName="developers")
    iam.put_user_policy(UserName="alice", PolicyName="extra", PolicyDocument=DOC)
    alice_key = iam.create_access_key(UserName="alice")["AccessKey"]["AccessKeyId"]
    iam.create_user(UserName="bob", Tags=[{"Key": "team", "Value": "payments"}])
    bob_key = iam.create_access_key(UserName="bob")["AccessKey"]["AccessKeyId"]
    iam.update_access_key(UserName="bob", AccessKeyId=bob_key, Status="Inactive")
    iam.create_role(RoleName="app-runtime", AssumeRolePolicyDocument=TRUST)
    iam.attach_role_policy(RoleName="app-runtime", PolicyArn=POLICY)
    linked = iam.create_service_linked_role(AWSServiceName="autoscaling.amazonaws.com")["Role"]
    assert linked["Path"].startswith("/aws-service-role/")
    iam.create_role(RoleName=SSO_ROLE, Path="/aws-reserved/sso.amazonaws.com/", AssumeRolePolicyDocument=TRUST)
    iam.create_role(RoleName=CDK_ROLE, AssumeRolePolicyDocument=TRUST)
    return Account(alice_key=alice_key, bob_key=bob_key, aws_owned=(linked["RoleName"], SSO_ROLE, CDK_ROLE))


def expected_keys(account: Account) -> list[str]:
    return sorted([f"access_key#{account.alice_key}", "role#app-runtime", "user#alice", "user#bob"])


def test_dry_run_lists_what_it_would_adopt_and_writes_nothing(account: Account, registry: Registry, cli: Cli) -> None:
    """adopt --dry-run: 'adopting 4 identities (0 already registered)', one '+' line per identity with its owner
    (alice and her key from the tag, bob and the role from the default), no AWS-owned role and not bob's inactive
    key; the table stays empty."""
    # Given the seeded account and an empty registry
    # When adopt runs as a dry run
    result = cli(*ADOPT, "--dry-run")
    # Then it lists exactly the four identities it would adopt and writes nothing
    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        "adopting 4 identities (0 already registered)",
        f"  + access_key#{account.alice_key} (owner alice@example.com)",
        f"  + role#app-runtime (owner {DEFAULT_OWNER})",
        "  + user#alice (owner alice@example.com)",
        f"  + user#bob (owner {DEFAULT_OWNER})",
    ]
    assert not any(name in result.out for name in account.aws_owned)
    assert account.bob_key not in result.out
    assert registry.scan() == []


def test_adopt_registers_current_entitlements_as_approved(account: Account, registry: Registry, cli: Cli) -> None:
    """adopt writes 4 active entries (version 1, updated_by the caller): alice approves exactly policy Read, group
    developers and inline policy extra; bob approves nothing (empty lists, not None); app-runtime approves Read and
    no inline policy; alice's key names its user. No AWS-owned role and no inactive key is in the table."""
    # Given the seeded account
    # When adopt runs
    result = cli(*ADOPT)
    # Then the four identities are registered as they are today
    assert result.code == 0, result.err
    assert result.out.endswith("wrote 4 change(s)\n")
    stored = registry.entries()
    assert sorted(stored) == expected_keys(account)
    alice, bob, role = stored["user#alice"], stored["user#bob"], stored["role#app-runtime"]
    assert (alice.owner, alice.managed_policies, alice.groups, alice.inline_policies) == (
        "alice@example.com",
        (POLICY,),
        ("developers",),
        ("extra",),
    )
    assert (bob.owner, bob.managed_policies, bob.groups, bob.inline_policies) == (DEFAULT_OWNER, (), (), ())
    assert (role.owner, role.managed_policies, role.inline_policies, role.groups) == (
        DEFAULT_OWNER,
        (POLICY,),
        (),
        None,
    )
    key = stored[f"access_key#{account.alice_key}"]
    assert (key.user, key.owner) == ("alice", "alice@example.com")
    assert {(e.status.value, e.version, e.updated_by, e.purpose) for e in stored.values()} == {
        ("active", 1, ACTOR, "adopted from IAM")
    }
    assert [r.note for r in registry.history("user#alice")] == ["adopted from IAM"]


def test_without_owner_tag_every_owner_is_the_default(account: Account, registry: Registry, cli: Cli) -> None:
    """adopt without --owner-tag: alice's 'owner' tag is not consulted, every entry is owned by the default owner."""
    # Given the seeded account
    # When adopt runs without an owner tag
    result = cli("adopt", "--default-owner", DEFAULT_OWNER, "--report-wait", "10")
    # Then every owner is the default
    assert result.code == 0, result.err
    assert {e.owner for e in registry.entries().values()} == {DEFAULT_OWNER}


def test_second_adopt_adopts_nothing(account: Account, registry: Registry, cli: Cli) -> None:
    """A second adopt after the first: 'adopting 0 identities (4 already registered)', no '+' line, and the table
    (entries and change log) is unchanged."""
    # Given an account already adopted
    assert cli(*ADOPT).code == 0
    before = registry.scan()
    # When adopt runs again
    result = cli(*ADOPT)
    # Then it adopts nothing
    assert result.code == 0, result.err
    assert result.out == "adopting 0 identities (4 already registered)\n"
    assert registry.scan() == before


def test_adopt_leaves_registered_identities_alone(account: Account, registry: Registry, cli: Cli) -> None:
    """alice is already registered (owner security@example.com, no approvals governed): adopt reports
    'adopting 3 identities (1 already registered)' and leaves alice's entry exactly as it was."""
    # Given a registry that already has alice, differently from IAM
    registry.put(entry("user", "alice", "security@example.com"))
    alice_before = registry.entries()["user#alice"]
    # When adopt runs
    result = cli(*ADOPT)
    # Then the other three are adopted and alice is untouched
    assert result.code == 0, result.err
    assert result.out.startswith("adopting 3 identities (1 already registered)\n")
    assert "user#alice" not in result.out
    stored = registry.entries()
    assert sorted(stored) == expected_keys(account)
    assert stored["user#alice"] == alice_before


def test_scan_after_adopt_reports_no_drift(account: Account, registry: Registry, cli: Cli, run_cli: RunCli) -> None:
    """After adopt, ``driftline scan --registry-table`` of the same account exits 0 with no drift at all (so no
    unregistered identity, no excess and no missing entitlement), over 8 identities observed and 4 entries."""
    # Given an adopted account
    assert cli(*ADOPT).code == 0
    # When it is scanned against the registry table
    result = run_cli(["scan", *registry.aws_args(), "--report-wait", "10", "--format", "json"])
    # Then nothing drifts
    assert result.code == 0, result.out + result.err
    data = json_of(result.out)
    assert data["drifts"] == []
    assert data["summary"]["registry_entries"] == 4
    assert data["summary"]["identities_observed"] == 8  # 2 users, 4 roles (3 AWS-owned), 2 keys (one inactive)


def test_scan_before_adopt_does_report_the_unregistered(account: Account, registry: Registry, run_cli: RunCli) -> None:
    """Control for the test above: the same scan on the empty registry reports the 4 adoptable identities as
    unregistered (and no AWS-owned role), so 'no drift after adopt' is adopt's doing."""
    # Given the seeded account and an empty registry
    # When it is scanned
    result = run_cli(["scan", *registry.aws_args(), "--report-wait", "10", "--format", "json"])
    # Then exactly the adoptable identities are unregistered
    assert result.code == 1, result.err
    found = sorted(
        f"{d['identity']['kind']}#{d['identity']['name']}"
        for d in json_of(result.out)["drifts"]
        if d["type"] == "unregistered-identity"
    )
    assert found == expected_keys(account)


def test_blank_default_owner_is_a_clear_error(account: Account, registry: Registry, cli: Cli) -> None:
    """adopt --default-owner ' ' on an account with an untagged user: a usage mistake, exit 2 with a message about the
    owner and nothing written (not pydantic's ValidationError escaping main() as a traceback)."""
    # Given an account with identities that have no owner tag
    # When adopt is given a blank default owner
    result = cli("adopt", "--default-owner", " ", "--report-wait", "10")
    # Then it is refused clearly and nothing is written
    assert result.code == 2
    assert "owner" in result.err
    assert registry.scan() == []
