"""Exclusions on the event path. AWS-owned roles (service-linked, IAM Identity Center, CDK bootstrap) and
driftline's own roles are never called unregistered (README, "Identities to exclude"; AWS-FACTS section 3), but
an exclusion must neither hide a *user* that merely borrows such a name, nor override an explicit registry entry
(``Exclusions``: "An explicit registry entry still covers any of them")."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from driftline.service.pipeline import reconcile
from driftline.service.ports import NullSink
from driftline.settings import get_settings
from tests.integration.events.conftest import EventAccount
from tests.integration.support import ACCOUNT, TRUST, policy_arn

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")

ROLE_NAMES = [
    "AWSServiceRoleForSupport",
    "AWSReservedSSO_AdministratorAccess_0123456789abcdef",
    "cdk-hnb659fds-deploy-role-123456789012-us-east-1",
    "DriftlineIamEventFunctionRole",
]


@pytest.mark.parametrize("name", ROLE_NAMES)
def test_unregistered_aws_owned_role_is_skipped(account: EventAccount, name: str) -> None:
    account.iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)

    _, result = account.send("iam.CreateRole", role=name)

    assert result == {"status": "skipped", "reason": "excluded identities"}
    assert account.findings() == {}


@pytest.mark.parametrize("name", ["DriftlineBackdoor", "AWSServiceRoleForSupport", ROLE_NAMES[2]])
def test_user_borrowing_a_role_exclusion_name_is_still_reported(account: EventAccount, name: str) -> None:
    account.sandbox.policy("admin-ish")
    account.iam.create_user(UserName=name)
    account.iam.attach_user_policy(UserName=name, PolicyArn=policy_arn("admin-ish"))
    key = account.sandbox.key(name)

    _, created = account.send("iam.CreateUser", user=name)
    _, keyed = account.send("iam.CreateAccessKey", user=name, key_id=key)

    assert created["status"] == "evaluated", created
    assert account.state_of("unregistered-identity", f"user#{name}") == "ACTIVE"
    assert keyed["status"] == "evaluated", keyed
    assert account.state_of("unregistered-identity", f"access_key#{key}") == "ACTIVE"
    whole = reconcile(
        ACCOUNT,
        iam=account.sandbox.reader(),
        registry=account.sandbox.registry,
        sink=NullSink(),
        settings=get_settings().compare_settings(),
        now=datetime.now(UTC),
    )
    assert ("unregistered-identity", f"user#{name}") in {
        (d.type.value, d.identity.label) for d in whole.comparison.drifts
    }


def test_registered_excluded_role_is_judged_on_the_event_path_too(account: EventAccount) -> None:
    role = ROLE_NAMES[2]
    account.sandbox.policy("admin-ish")
    account.iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST)
    account.sandbox.register_role(role, managed_policies=())
    account.iam.attach_role_policy(RoleName=role, PolicyArn=policy_arn("admin-ish"))

    # the reconcile judges the registered role
    evaluation = reconcile(
        ACCOUNT,
        iam=account.sandbox.reader(),
        registry=account.sandbox.registry,
        sink=NullSink(),
        settings=get_settings().compare_settings(),
        now=datetime.now(UTC),
    )
    assert ("excess-entitlement", f"role#{role}") in {
        (d.type.value, d.identity.key) for d in evaluation.comparison.drifts
    }

    # and so must the event of the change
    _, result = account.send("iam.AttachRolePolicy", role=role, policy_arn=policy_arn("admin-ish"))

    assert result["status"] == "evaluated", result
    assert account.state_of("excess-entitlement", f"role#{role}") == "ACTIVE"
