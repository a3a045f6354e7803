"""Every event driftline handles, end to end on moto: make the real IAM change with boto3 first, then deliver the
CloudTrail event. The handler must evaluate exactly the identities the event touched and publish the finding the
change caused, or resolve (archive) the one it ended."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from driftline.triggers.cloudtrail import EVENT_RULES
from tests.integration.events.conftest import EventAccount
from tests.integration.support import READ_ONLY, TRUST, ago, policy_arn

ALICE, ROLE, GROUP = "alice", "app-role", "developers"
POLICY, INLINE = "read-only", "s3-read"
UNREGISTERED, EXCESS, UNENFORCED = "unregistered-identity", "excess-entitlement", "unenforced-revocation"
MISSING, MISSING_ENTITLEMENT = "missing-identity", "missing-entitlement"
RENAMED = "alice-renamed"


@dataclass
class Case:
    """``prepare`` makes the IAM change (after any earlier change and event it needs) and returns the placeholder
    values of the event, e.g. the new key's id."""

    event: str
    prepare: Callable[[EventAccount], dict[str, Any]]
    evaluated: set[str]
    finding: tuple[str, str]  # (drift type, identity key)
    record_state: str  # ACTIVE: published by this event; ARCHIVED: resolved by it


# -- preparations -------------------------------------------------------------------------------------------------
def new_user(a: EventAccount, *, register: bool = False, **entry: Any) -> dict[str, Any]:
    a.iam.create_user(UserName=ALICE)
    if register:
        a.sandbox.register_user(ALICE, **entry)
    return {}


def new_role(a: EventAccount, *, register: bool = False, **entry: Any) -> dict[str, Any]:
    a.iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=TRUST)
    if register:
        a.sandbox.register_role(ROLE, **entry)
    return {}


def then(
    first: Callable[[EventAccount], dict[str, Any]], event: str, change: Callable[[EventAccount, dict[str, Any]], None]
) -> Callable[[EventAccount], dict[str, Any]]:
    """Prepare with ``first``, deliver ``event`` (so a finding exists), then make the drift-ending ``change``."""

    def prepare(a: EventAccount) -> dict[str, Any]:
        values = first(a)
        _, result = a.send(event, **values)
        assert result["status"] == "evaluated"
        change(a, values)
        return values

    return prepare


def user_with_key(a: EventAccount) -> dict[str, Any]:
    new_user(a, register=True)
    return {"key_id": a.sandbox.key(ALICE)}


def revoked_user(a: EventAccount) -> dict[str, Any]:
    new_user(a, register=True, status="revoked", revoked_at=ago(hours=2), ticket="SEC-1")
    return {}


def attach_user_policy(a: EventAccount) -> None:
    a.iam.attach_user_policy(UserName=ALICE, PolicyArn=policy_arn(POLICY))


def member_group(a: EventAccount) -> dict[str, Any]:
    a.iam.create_group(GroupName=GROUP)
    for name in ("bob", "carol"):
        a.iam.create_user(UserName=name)
        a.iam.add_user_to_group(GroupName=GROUP, UserName=name)
    return {}


def with_policy(prepare: Callable[[EventAccount], dict[str, Any]]) -> Callable[[EventAccount], dict[str, Any]]:
    def wrapped(a: EventAccount) -> dict[str, Any]:
        a.sandbox.policy(POLICY)
        return prepare(a)

    return wrapped


def steps(
    first: Callable[[EventAccount], dict[str, Any]], *changes: Callable[[EventAccount], object]
) -> Callable[[EventAccount], dict[str, Any]]:
    """Prepare with ``first`` (which gives the event's values), then make each change in turn."""

    def prepare(a: EventAccount) -> dict[str, Any]:
        values = first(a)
        for change in changes:
            change(a)
        return values

    return prepare


USER, KEY = f"user#{ALICE}", "access_key#{key_id}"
MEMBERS = {"user#bob", "user#carol"}

CASES = [
    Case("iam.CreateUser", new_user, {USER}, (UNREGISTERED, USER), "ACTIVE"),
    Case(
        "iam.DeleteUser",
        then(new_user, "iam.CreateUser", lambda a, v: a.iam.delete_user(UserName=ALICE)),
        {USER},
        (UNREGISTERED, USER),
        "ARCHIVED",
    ),
    Case("iam.CreateAccessKey", user_with_key, {USER, KEY}, (UNREGISTERED, KEY), "ACTIVE"),
    Case(
        "iam.UpdateAccessKey",
        then(user_with_key, "iam.CreateAccessKey", lambda a, v: a.sandbox.deactivate(ALICE, v["key_id"])),
        {USER, KEY},
        (UNREGISTERED, KEY),
        "ARCHIVED",
    ),
    Case(
        "iam.DeleteAccessKey",
        then(
            user_with_key,
            "iam.CreateAccessKey",
            lambda a, v: a.iam.delete_access_key(UserName=ALICE, AccessKeyId=v["key_id"]),
        ),
        {USER, KEY},
        (UNREGISTERED, KEY),
        "ARCHIVED",
    ),
    Case(
        "iam.CreateLoginProfile",
        steps(revoked_user, lambda a: a.iam.create_login_profile(UserName=ALICE, Password="Not-A-Real-Passw0rd!")),
        {USER},
        (UNENFORCED, USER),
        "ACTIVE",
    ),
    Case(
        "iam.DeleteLoginProfile",
        then(
            steps(revoked_user, lambda a: a.iam.create_login_profile(UserName=ALICE, Password="Not-A-Real-Passw0rd!")),
            "iam.CreateLoginProfile",
            lambda a, v: a.iam.delete_login_profile(UserName=ALICE),
        ),
        {USER},
        (UNENFORCED, USER),
        "ARCHIVED",
    ),
    Case(
        "iam.AttachUserPolicy",
        with_policy(steps(lambda a: new_user(a, register=True, managed_policies=()), attach_user_policy)),
        {USER},
        (EXCESS, USER),
        "ACTIVE",
    ),
    Case(
        "iam.DetachUserPolicy",
        with_policy(
            then(
                steps(lambda a: new_user(a, register=True, managed_policies=()), attach_user_policy),
                "iam.AttachUserPolicy",
                lambda a, v: a.iam.detach_user_policy(UserName=ALICE, PolicyArn=policy_arn(POLICY)),
            )
        ),
        {USER},
        (EXCESS, USER),
        "ARCHIVED",
    ),
    Case(
        "iam.PutUserPolicy",
        steps(
            lambda a: new_user(a, register=True, inline_policies=()),
            lambda a: a.iam.put_user_policy(UserName=ALICE, PolicyName=INLINE, PolicyDocument=READ_ONLY),
        ),
        {USER},
        (EXCESS, USER),
        "ACTIVE",
    ),
    Case(
        "iam.DeleteUserPolicy",
        then(
            steps(
                lambda a: new_user(a, register=True, inline_policies=()),
                lambda a: a.iam.put_user_policy(UserName=ALICE, PolicyName=INLINE, PolicyDocument=READ_ONLY),
            ),
            "iam.PutUserPolicy",
            lambda a, v: a.iam.delete_user_policy(UserName=ALICE, PolicyName=INLINE),
        ),
        {USER},
        (EXCESS, USER),
        "ARCHIVED",
    ),
    Case(
        "iam.AddUserToGroup",
        steps(
            lambda a: new_user(a, register=True, groups=()),
            lambda a: a.iam.create_group(GroupName=GROUP),
            lambda a: a.iam.add_user_to_group(GroupName=GROUP, UserName=ALICE),
        ),
        {USER},
        (EXCESS, USER),
        "ACTIVE",
    ),
    Case(
        "iam.RemoveUserFromGroup",
        then(
            steps(
                lambda a: new_user(a, register=True, groups=()),
                lambda a: a.iam.create_group(GroupName=GROUP),
                lambda a: a.iam.add_user_to_group(GroupName=GROUP, UserName=ALICE),
            ),
            "iam.AddUserToGroup",
            lambda a, v: a.iam.remove_user_from_group(GroupName=GROUP, UserName=ALICE),
        ),
        {USER},
        (EXCESS, USER),
        "ARCHIVED",
    ),
    Case(
        "iam.TagUser",
        steps(new_user, lambda a: a.iam.tag_user(UserName=ALICE, Tags=[{"Key": "team", "Value": "payments"}])),
        {USER},
        (UNREGISTERED, USER),
        "ACTIVE",
    ),
    Case(
        "iam.UntagUser",
        steps(new_user, lambda a: a.iam.untag_user(UserName=ALICE, TagKeys=["team"])),
        {USER},
        (UNREGISTERED, USER),
        "ACTIVE",
    ),
]

SSH_BODY = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDDriftlineEventCaseNotReal alice@laptop"


def revoked_user_with_ssh_key(a: EventAccount) -> dict[str, Any]:
    revoked_user(a)
    uploaded = a.iam.upload_ssh_public_key(UserName=ALICE, SSHPublicKeyBody=SSH_BODY)["SSHPublicKey"]
    return {"ssh_key_id": uploaded["SSHPublicKeyId"]}


def deny_policy(a: EventAccount) -> str:
    return a.sandbox.deny_policy()


# Credentials besides passwords and keys. moto implements neither service-specific credentials nor user permissions
# boundaries, and takes only real X.509 certificates: those events are shown evaluating the user they name (an
# unregistered user's finding); what such credentials mean for a revocation is tested on literal observations
# (tests/unit/domain/test_enforced_definitions.py) and, for reading them, with botocore's Stubber.
CASES += [
    Case("iam.UploadSSHPublicKey", revoked_user_with_ssh_key, {USER}, (UNENFORCED, USER), "ACTIVE"),
    Case(
        "iam.UpdateSSHPublicKey",
        then(
            revoked_user_with_ssh_key,
            "iam.UploadSSHPublicKey",
            lambda a, v: a.iam.update_ssh_public_key(UserName=ALICE, SSHPublicKeyId=v["ssh_key_id"], Status="Inactive"),
        ),
        {USER},
        (UNENFORCED, USER),
        "ARCHIVED",
    ),
    Case(
        "iam.DeleteSSHPublicKey",
        then(
            revoked_user_with_ssh_key,
            "iam.UploadSSHPublicKey",
            lambda a, v: a.iam.delete_ssh_public_key(UserName=ALICE, SSHPublicKeyId=v["ssh_key_id"]),
        ),
        {USER},
        (UNENFORCED, USER),
        "ARCHIVED",
    ),
    Case(
        "iam.UpdateLoginProfile",
        steps(new_user, lambda a: a.iam.create_login_profile(UserName=ALICE, Password="Not-A-Real-Passw0rd!")),
        {USER},
        (UNREGISTERED, USER),
        "ACTIVE",
    ),
    *(
        Case(f"iam.{name}", new_user, {USER}, (UNREGISTERED, USER), "ACTIVE")
        for name in (
            "CreateServiceSpecificCredential",
            "UpdateServiceSpecificCredential",
            "ResetServiceSpecificCredential",
            "DeleteServiceSpecificCredential",
            "UploadSigningCertificate",
            "UpdateSigningCertificate",
            "DeleteSigningCertificate",
            "PutUserPermissionsBoundary",
            "DeleteUserPermissionsBoundary",
        )
    ),
]

ROLE_KEY = f"role#{ROLE}"
CASES += [
    Case("iam.CreateRole", new_role, {ROLE_KEY}, (UNREGISTERED, ROLE_KEY), "ACTIVE"),
    Case(
        "iam.DeleteRole",
        then(new_role, "iam.CreateRole", lambda a, v: a.iam.delete_role(RoleName=ROLE)),
        {ROLE_KEY},
        (UNREGISTERED, ROLE_KEY),
        "ARCHIVED",
    ),
    Case(
        "iam.AttachRolePolicy",
        with_policy(
            steps(
                lambda a: new_role(a, register=True, managed_policies=()),
                lambda a: a.iam.attach_role_policy(RoleName=ROLE, PolicyArn=policy_arn(POLICY)),
            )
        ),
        {ROLE_KEY},
        (EXCESS, ROLE_KEY),
        "ACTIVE",
    ),
    Case(
        "iam.DetachRolePolicy",
        with_policy(
            then(
                steps(
                    lambda a: new_role(a, register=True, managed_policies=()),
                    lambda a: a.iam.attach_role_policy(RoleName=ROLE, PolicyArn=policy_arn(POLICY)),
                ),
                "iam.AttachRolePolicy",
                lambda a, v: a.iam.detach_role_policy(RoleName=ROLE, PolicyArn=policy_arn(POLICY)),
            )
        ),
        {ROLE_KEY},
        (EXCESS, ROLE_KEY),
        "ARCHIVED",
    ),
    Case(
        "iam.PutRolePolicy",
        steps(
            lambda a: new_role(a, register=True, inline_policies=()),
            lambda a: a.iam.put_role_policy(RoleName=ROLE, PolicyName=INLINE, PolicyDocument=READ_ONLY),
        ),
        {ROLE_KEY},
        (EXCESS, ROLE_KEY),
        "ACTIVE",
    ),
    Case(
        "iam.DeleteRolePolicy",
        then(
            steps(
                lambda a: new_role(a, register=True, inline_policies=()),
                lambda a: a.iam.put_role_policy(RoleName=ROLE, PolicyName=INLINE, PolicyDocument=READ_ONLY),
            ),
            "iam.PutRolePolicy",
            lambda a, v: a.iam.delete_role_policy(RoleName=ROLE, PolicyName=INLINE),
        ),
        {ROLE_KEY},
        (EXCESS, ROLE_KEY),
        "ARCHIVED",
    ),
    Case(
        "iam.UpdateAssumeRolePolicy",
        steps(new_role, lambda a: a.iam.update_assume_role_policy(RoleName=ROLE, PolicyDocument=TRUST)),
        {ROLE_KEY},
        (UNREGISTERED, ROLE_KEY),
        "ACTIVE",
    ),
    Case(
        "iam.TagRole",
        steps(new_role, lambda a: a.iam.tag_role(RoleName=ROLE, Tags=[{"Key": "team", "Value": "payments"}])),
        {ROLE_KEY},
        (UNREGISTERED, ROLE_KEY),
        "ACTIVE",
    ),
    Case(
        "iam.UntagRole",
        steps(new_role, lambda a: a.iam.untag_role(RoleName=ROLE, TagKeys=["team"])),
        {ROLE_KEY},
        (UNREGISTERED, ROLE_KEY),
        "ACTIVE",
    ),
]


def renamed_user(a: EventAccount) -> dict[str, Any]:
    """alice, registered, renamed: her entry now describes nothing, and alice-renamed is nobody's."""
    new_user(a, register=True)
    a.iam.update_user(UserName=ALICE, NewUserName=RENAMED)
    return {"new_user": RENAMED}


def linked_role(a: EventAccount) -> dict[str, Any]:
    """A service-linked role (excluded by default: registered here, approving a policy IAM never attached)."""
    name = a.iam.create_service_linked_role(AWSServiceName="elasticfilesystem.amazonaws.com")["Role"]["RoleName"]
    a.sandbox.register_role(name, managed_policies=(policy_arn(POLICY),))
    return {"linked_role": name, "linked_key": name.lower()}


CASES += [
    Case("iam.UpdateUser", renamed_user, {USER, f"user#{RENAMED}"}, (MISSING, USER), "ACTIVE"),
    Case(
        "iam.UpdateRole",
        steps(new_role, lambda a: a.iam.update_role(RoleName=ROLE, MaxSessionDuration=43200)),
        {ROLE_KEY},
        (UNREGISTERED, ROLE_KEY),
        "ACTIVE",
    ),
    Case(
        "iam.CreateServiceLinkedRole",
        linked_role,
        {"role#{linked_key}"},
        (MISSING_ENTITLEMENT, "role#{linked_key}"),
        "ACTIVE",
    ),
]

# A group policy change touches every member: each unregistered member gets its finding.
CASES += [
    Case(
        "iam.PutRolePermissionsBoundary",
        then(
            lambda a: new_role(a, register=True, status="revoked", revoked_at=ago(hours=2)),
            "iam.CreateRole",
            lambda a, v: a.iam.put_role_permissions_boundary(RoleName=ROLE, PermissionsBoundary=deny_policy(a)),
        ),
        {ROLE_KEY},
        (UNENFORCED, ROLE_KEY),
        "ARCHIVED",
    ),
    Case(
        "iam.DeleteRolePermissionsBoundary",
        then(
            steps(
                lambda a: new_role(a, register=True, status="revoked", revoked_at=ago(hours=2)),
                lambda a: a.iam.put_role_permissions_boundary(RoleName=ROLE, PermissionsBoundary=deny_policy(a)),
            ),
            "iam.CreateRole",
            lambda a, v: a.iam.delete_role_permissions_boundary(RoleName=ROLE),
        ),
        {ROLE_KEY},
        (UNENFORCED, ROLE_KEY),
        "ACTIVE",
    ),
    Case(
        "iam.AttachGroupPolicy",
        with_policy(
            steps(member_group, lambda a: a.iam.attach_group_policy(GroupName=GROUP, PolicyArn=policy_arn(POLICY)))
        ),
        MEMBERS,
        (UNREGISTERED, "user#carol"),
        "ACTIVE",
    ),
    Case(
        "iam.DetachGroupPolicy",
        with_policy(
            steps(
                member_group,
                lambda a: a.iam.attach_group_policy(GroupName=GROUP, PolicyArn=policy_arn(POLICY)),
                lambda a: a.iam.detach_group_policy(GroupName=GROUP, PolicyArn=policy_arn(POLICY)),
            )
        ),
        MEMBERS,
        (UNREGISTERED, "user#bob"),
        "ACTIVE",
    ),
    Case(
        "iam.PutGroupPolicy",
        steps(
            member_group,
            lambda a: a.iam.put_group_policy(GroupName=GROUP, PolicyName=INLINE, PolicyDocument=READ_ONLY),
        ),
        MEMBERS,
        (UNREGISTERED, "user#bob"),
        "ACTIVE",
    ),
    Case(
        "iam.DeleteGroupPolicy",
        steps(
            member_group,
            lambda a: a.iam.put_group_policy(GroupName=GROUP, PolicyName=INLINE, PolicyDocument=READ_ONLY),
            lambda a: a.iam.delete_group_policy(GroupName=GROUP, PolicyName=INLINE),
        ),
        MEMBERS,
        (UNREGISTERED, "user#carol"),
        "ACTIVE",
    ),
]


def test_every_handled_event_name_has_a_case() -> None:
    """Every event that names identities has a case; the managed policy version events name none (they widen to a
    whole-account reconcile: test_delivery)."""
    widened = {name for name, rule in EVENT_RULES.items() if rule.target == "policy"}
    assert widened == {"CreatePolicyVersion", "SetDefaultPolicyVersion"}
    assert {case.event.split(".")[1] for case in CASES} == set(EVENT_RULES) - widened


@pytest.mark.parametrize("case", CASES, ids=[case.event.removeprefix("iam.") for case in CASES])
def test_event_evaluates_what_it_touched_and_publishes_or_resolves(account: EventAccount, case: Case) -> None:
    # Given the real IAM change (and whatever came before it)
    values = case.prepare(account)
    account.evaluated.clear()

    # When its CloudTrail event arrives
    event, result = account.send(case.event, **values)

    # Then exactly the touched identities were evaluated, once
    assert result["status"] == "evaluated", result
    assert (result["event_id"], result["event_name"]) == (event["detail"]["eventID"], event["detail"]["eventName"])
    assert account.evaluated == [{ref.format(**values) for ref in case.evaluated}]

    # And the finding the change caused is published, or the one it ended is resolved
    drift_type, identity = case.finding
    finding = account.finding(drift_type, identity.format(**values))
    assert finding["RecordState"] == case.record_state
    if case.record_state == "ACTIVE":
        assert result["findings"]["published"] >= 1
        assert finding["Compliance"]["Status"] == "FAILED"
    else:
        assert result["findings"]["resolved"] >= 1
        assert finding["Compliance"]["Status"] == "PASSED"
    assert result["findings"]["failed"] == 0
