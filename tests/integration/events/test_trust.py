"""Trust drift on the event path: an UpdateAssumeRolePolicy event re-reads the role (moto) and judges its trust
policy against the registry's ``trusted_principals``; reconcile and adopt see the same reading. Also the approved
permissions boundary, removed and put back by events."""

from __future__ import annotations

import json
from typing import Any

from driftline.domain.adopt import adopt
from driftline.domain.compare import compare
from driftline.domain.drift import DriftType
from driftline.domain.settings import CompareSettings, Exclusions
from tests.integration.events.conftest import EventAccount
from tests.integration.support import ACCOUNT, TRUST, the_drift

PARTNER = "999988887777"
GITHUB_HOST = "token.actions.githubusercontent.com"


def document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


LAMBDA = {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
PARTNER_ROOT = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{PARTNER}:root"}, "Action": "sts:AssumeRole"}
ANYONE = {"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}


def update_trust(a: EventAccount, role: str, policy: str) -> dict[str, Any]:
    """Change the role's trust policy in IAM and deliver the UpdateAssumeRolePolicy event; return the result."""
    a.iam.update_assume_role_policy(RoleName=role, PolicyDocument=policy)
    _, result = a.send("iam.UpdateAssumeRolePolicy", role=role, trust_policy=policy)
    return result


def test_a_partner_account_added_to_the_trust_policy_is_excess_trust_until_removed(account: EventAccount) -> None:
    """Tried: role deployer trusting lambda, approved to trust lambda only; the trust policy gains partner account
    999988887777 (as its root ARN), then loses it again, each change arriving as an UpdateAssumeRolePolicy event.
    Must: an ACTIVE excess-trust finding (HIGH) naming AWS:999988887777 after the first, ARCHIVED after the second."""
    account.iam.create_role(RoleName="deployer", AssumeRolePolicyDocument=TRUST)
    account.sandbox.register_role("deployer", trusted_principals=["Service:lambda.amazonaws.com"])

    update_trust(account, "deployer", document(LAMBDA, PARTNER_ROOT))

    finding = account.finding(DriftType.EXCESS_TRUST.value, "role#deployer")
    assert finding["RecordState"] == "ACTIVE"
    assert finding["FindingProviderFields"]["Severity"]["Label"] == "HIGH"
    assert f"AWS:{PARTNER}" in finding["Description"]

    update_trust(account, "deployer", TRUST)

    assert account.state_of(DriftType.EXCESS_TRUST.value, "role#deployer") == "ARCHIVED"


def test_a_trust_policy_opened_to_anyone_is_critical(account: EventAccount) -> None:
    """Tried: role deployer approved to trust lambda; its trust policy becomes Principal "*" with no condition.
    Must: an ACTIVE excess-trust finding with severity CRITICAL."""
    account.iam.create_role(RoleName="deployer", AssumeRolePolicyDocument=TRUST)
    account.sandbox.register_role("deployer", trusted_principals=["Service:lambda.amazonaws.com"])

    update_trust(account, "deployer", document(LAMBDA, ANYONE))

    finding = account.finding(DriftType.EXCESS_TRUST.value, "role#deployer")
    assert (finding["RecordState"], finding["FindingProviderFields"]["Severity"]["Label"]) == ("ACTIVE", "CRITICAL")


def test_a_github_subject_widened_is_excess_and_the_approved_one_missing(account: EventAccount) -> None:
    """Tried: role ci approved for the GitHub OIDC subject repo:org/app:ref:refs/heads/main; its trust policy is
    changed to StringLike repo:org/app:* (every branch). Must: ACTIVE excess-trust naming the wider pattern and
    ACTIVE missing-trust (LOW) naming the approved one."""
    provider = account.iam.create_open_id_connect_provider(
        Url=f"https://{GITHUB_HOST}", ClientIDList=["sts.amazonaws.com"], ThumbprintList=["a" * 40]
    )["OpenIDConnectProviderArn"]

    def github(operator: str, subject: str) -> str:
        return document(
            {
                "Effect": "Allow",
                "Principal": {"Federated": provider},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {operator: {f"{GITHUB_HOST}:sub": subject, f"{GITHUB_HOST}:aud": "sts.amazonaws.com"}},
            }
        )

    main = "repo:org/app:ref:refs/heads/main"
    account.iam.create_role(RoleName="ci", AssumeRolePolicyDocument=github("StringEquals", main))
    account.sandbox.register_role("ci", trusted_principals=[f"{provider}#sub={main}"])

    update_trust(account, "ci", github("StringLike", "repo:org/app:*"))

    excess = account.finding(DriftType.EXCESS_TRUST.value, "role#ci")
    missing = account.finding(DriftType.MISSING_TRUST.value, "role#ci")
    assert excess["RecordState"] == missing["RecordState"] == "ACTIVE"
    assert "#sub=repo:org/app:*" in excess["Description"]
    assert (missing["FindingProviderFields"]["Severity"]["Label"], f"#sub={main}" in missing["Description"]) == (
        "LOW",
        True,
    )


def test_reconcile_reads_trust_from_gaad_and_adopting_it_leaves_no_trust_drift(account: EventAccount) -> None:
    """Tried: a whole-account reconcile (GetAccountAuthorizationDetails, moto) of role deployer trusting lambda and
    partner account 999988887777 by its root ARN, approved for lambda only; then the registry entry adopted from
    that same read. Must: one excess-trust naming AWS:999988887777 (the root ARN read as the account); the adopted
    entry approves exactly what the role trusts, and judging the read against it finds no trust drift."""
    account.iam.create_role(RoleName="deployer", AssumeRolePolicyDocument=document(LAMBDA, PARTNER_ROOT))
    account.sandbox.register_role("deployer", trusted_principals=["Service:lambda.amazonaws.com"])

    evaluation = account.sandbox.reconcile()

    drift = the_drift(evaluation, DriftType.EXCESS_TRUST, "role#deployer")
    assert drift.evidence["excess"] == [f"AWS:{PARTNER}"]
    inventory = account.sandbox.reader().read_account(ACCOUNT)
    (entry,) = [e for e in adopt(inventory, Exclusions(), owner_tag=None, default_owner="o") if e.name == "deployer"]
    assert entry.trusted_principals == (f"AWS:{PARTNER}", "Service:lambda.amazonaws.com")
    again = compare([entry], inventory, CompareSettings(), evaluation.comparison.compared_at)
    assert [d for d in again.drifts if d.type in (DriftType.EXCESS_TRUST, DriftType.MISSING_TRUST)] == []


def test_a_removed_permissions_boundary_is_excess_entitlement_until_put_back(account: EventAccount) -> None:
    """Tried: role deployer with boundary DevBoundary, approved with that boundary; DeleteRolePermissionsBoundary
    (event delivered), then PutRolePermissionsBoundary with it again. Must: an ACTIVE excess-entitlement finding
    naming the approved boundary after the delete, ARCHIVED after the put."""
    boundary = account.sandbox.policy("DevBoundary")
    account.iam.create_role(RoleName="deployer", AssumeRolePolicyDocument=TRUST, PermissionsBoundary=boundary)
    account.sandbox.register_role("deployer", permissions_boundary=boundary)

    account.iam.delete_role_permissions_boundary(RoleName="deployer")
    account.send("iam.DeleteRolePermissionsBoundary", role="deployer")

    finding = account.finding(DriftType.EXCESS_ENTITLEMENT.value, "role#deployer")
    assert finding["RecordState"] == "ACTIVE"
    assert f"approved {boundary}" in finding["Description"]

    account.iam.put_role_permissions_boundary(RoleName="deployer", PermissionsBoundary=boundary)
    account.send("iam.PutRolePermissionsBoundary", role="deployer", policy_arn=boundary)

    assert account.state_of(DriftType.EXCESS_ENTITLEMENT.value, "role#deployer") == "ARCHIVED"
