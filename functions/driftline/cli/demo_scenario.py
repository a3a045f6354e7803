"""The demo account: IAM identities and a registry that together hold every drift type, plus what they should show.

``EXPECTED`` is what a correct reconcile reports; the demo test checks the real output against it.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from driftline.cli.sandbox import DEFAULT_ACCOUNT, set_key, set_password_used, set_role
from driftline.domain.registry import RegistryEntry

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient

ACCOUNT = DEFAULT_ACCOUNT
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)
READ = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": "*"}]}
)
ADMIN = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})


def policy_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:policy/{name}"


# (drift type, identity) pairs the reconcile must report for this scenario; keys are named by their user.
EXPECTED = {
    ("excess-entitlement", "user#alice"),
    ("missing-entitlement", "user#bob"),
    ("unenforced-revocation", "user#carol"),
    ("revoked-credential-used", "access_key@carol"),
    ("unenforced-revocation", "access_key@dave"),
    # only AWSRevokeOlderSessions: old sessions die, but its trust policy lets lambda start new ones
    ("unenforced-revocation", "role#contractor-access"),
    ("expired-but-active", "user#erin"),
    ("stale-credential", "access_key@ci-deployer"),
    ("stale-credential", "role#legacy-batch"),
    ("unregistered-identity", "user#mallory"),
    ("unregistered-identity", "access_key@mallory"),
    ("unregistered-identity", "role#shadow-admin"),
    ("missing-identity", "user#frank"),
    # a partner account slipped into the trust policy; the approved CodeBuild trust was dropped
    ("excess-trust", "role#release-bot"),
    ("missing-trust", "role#release-bot"),
}
PARTNER = "444455556666"


def _user(
    iam: IAMClient,
    name: str,
    *,
    policies: tuple[str, ...] = (),
    groups: tuple[str, ...] = (),
    key: bool = False,
    password: bool = False,
) -> str | None:
    iam.create_user(UserName=name, Tags=[{"Key": "team", "Value": "platform"}])
    for policy in policies:
        iam.attach_user_policy(UserName=name, PolicyArn=policy_arn(policy))
    for group in groups:
        iam.add_user_to_group(GroupName=group, UserName=name)
    if password:
        iam.create_login_profile(UserName=name, Password="Demo-Passw0rd-Not-Real!")
    return iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"] if key else None


def _role(iam: IAMClient, name: str, path: str = "/", policies: tuple[str, ...] = ()) -> None:
    iam.create_role(RoleName=name, Path=path, AssumeRolePolicyDocument=TRUST)
    for policy in policies:
        iam.attach_role_policy(RoleName=name, PolicyArn=policy_arn(policy))


def seed_iam(iam: IAMClient, now: datetime) -> dict[str, str]:
    """Create the demo identities; return each seeded access key id by its user's name."""
    for name, document in (("DevRead", READ), ("Deploy", READ), ("AdminLike", ADMIN)):
        iam.create_policy(PolicyName=name, PolicyDocument=document)
    iam.create_group(GroupName="developers")
    keys = {
        "alice": _user(iam, "alice", policies=("DevRead", "AdminLike"), groups=("developers",), key=True),
        "carol": _user(iam, "carol", key=True, password=True),
        "dave": _user(iam, "dave", key=True),
        "erin": _user(iam, "erin", key=True),
        "ci-deployer": _user(iam, "ci-deployer", policies=("Deploy",), key=True),
        "mallory": _user(iam, "mallory", policies=("AdminLike",), key=True),
        "grace": _user(iam, "grace", key=True),
    }
    _user(iam, "bob", policies=("DevRead",))
    _role(iam, "app-runtime", policies=("DevRead",))
    _role(iam, "legacy-batch")
    _role(iam, "shadow-admin", policies=("AdminLike",))
    _role(iam, "contractor-access")
    trust = json.loads(TRUST)
    trust["Statement"].append(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{PARTNER}:root"}, "Action": "sts:AssumeRole"}
    )
    iam.create_role(RoleName="release-bot", AssumeRolePolicyDocument=json.dumps(trust))
    deny_before = (now - timedelta(days=4)).strftime("%Y-%m-%dT%H:%M:%SZ")
    iam.put_role_policy(
        RoleName="contractor-access",
        PolicyName="AWSRevokeOlderSessions",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Deny",
                        "Action": "*",
                        "Resource": "*",
                        "Condition": {"DateLessThan": {"aws:TokenIssueTime": deny_before}},
                    }
                ],
            }
        ),
    )
    _role(iam, "AWSServiceRoleForSupport", path="/aws-service-role/support.amazonaws.com/")
    _role(iam, "AWSReservedSSO_AdministratorAccess_0123456789abcdef", path="/aws-reserved/sso.amazonaws.com/")
    _role(iam, f"cdk-hnb659fds-deploy-role-{ACCOUNT}-us-east-1")
    found = {user: key for user, key in keys.items() if key}
    # Time IAM cannot be asked to fake: old keys, recorded use.
    set_key(found["ci-deployer"], created=now - timedelta(days=200), last_used=now - timedelta(days=1))
    set_key(found["carol"], last_used=now - timedelta(days=1))
    set_key(found["alice"], last_used=now - timedelta(hours=2))
    set_password_used("carol", now - timedelta(days=5))
    set_role("legacy-batch", created=now - timedelta(days=400), last_used=now - timedelta(days=200))
    set_role("app-runtime", last_used=now - timedelta(hours=1))
    set_role("release-bot", last_used=now - timedelta(hours=3))
    return found


def registry_entries(keys: dict[str, str], now: datetime) -> list[RegistryEntry]:
    by = {"updated_by": "arn:aws:iam::123456789012:role/identity-governance", "updated_at": now}

    def entry(**fields: object) -> RegistryEntry:
        return RegistryEntry.model_validate({**by, **fields})

    return [
        entry(
            kind="user",
            name="alice",
            owner="alice@example.com",
            purpose="developer",
            managed_policies=[policy_arn("DevRead")],
            groups=["developers"],
            inline_policies=[],
        ),
        entry(kind="access_key", name=keys["alice"], user="alice", owner="alice@example.com"),
        entry(
            kind="user",
            name="bob",
            owner="bob@example.com",
            managed_policies=[policy_arn("DevRead"), policy_arn("Deploy")],
        ),
        entry(
            kind="user",
            name="carol",
            owner="security@example.com",
            status="revoked",
            revoked_at=now - timedelta(days=3),
            ticket="SEC-1042",
            reason="left the company",
        ),
        entry(kind="user", name="dave", owner="dave@example.com"),
        entry(
            kind="access_key",
            name=keys["dave"],
            user="dave",
            owner="dave@example.com",
            status="revoked",
            revoked_at=now - timedelta(days=2),
            ticket="SEC-1043",
            reason="key posted in a chat channel",
        ),
        entry(
            kind="user",
            name="erin",
            owner="vendor-mgmt@example.com",
            purpose="contractor",
            expires_at=now - timedelta(days=10),
        ),
        entry(kind="access_key", name=keys["erin"], user="erin", owner="vendor-mgmt@example.com"),
        entry(
            kind="user",
            name="ci-deployer",
            owner="platform@example.com",
            purpose="CI deploys",
            managed_policies=[policy_arn("Deploy")],
        ),
        entry(kind="access_key", name=keys["ci-deployer"], user="ci-deployer", owner="platform@example.com"),
        entry(
            kind="user",
            name="grace",
            owner="grace@example.com",
            status="revoked",
            revoked_at=now - timedelta(minutes=10),
            ticket="SEC-1050",
            reason="role change",
        ),
        entry(kind="user", name="frank", owner="frank@example.com", purpose="new hire, not yet provisioned"),
        entry(kind="role", name="app-runtime", owner="platform@example.com", managed_policies=[policy_arn("DevRead")]),
        entry(
            kind="role",
            name="release-bot",
            owner="platform@example.com",
            purpose="release automation",
            trusted_principals=["Service:lambda.amazonaws.com", "Service:codebuild.amazonaws.com"],
        ),
        entry(kind="role", name="legacy-batch", owner="data@example.com", max_unused_days=90),
        entry(
            kind="role",
            name="contractor-access",
            owner="vendor-mgmt@example.com",
            status="revoked",
            revoked_at=now - timedelta(days=5),
            ticket="SEC-1001",
            reason="contract ended",
        ),
    ]
