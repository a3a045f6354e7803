"""What each spoke role must allow, gathered from the adapters that make the calls: the read-only role every IAM
read of the reconcile and the event path and no write; the findings publisher the import alone."""

from __future__ import annotations

from driftline.adapters import credential_report, iam_access, iam_account, iam_identity, member_access, organization
from driftline.cli import org_scan
from driftline.settings import RuntimeSettings

READERS = (iam_account, credential_report, iam_identity, iam_access)


def test_the_read_only_role_allows_every_iam_read_the_adapters_declare() -> None:
    declared = {a for module in READERS for actions in module.PERMISSIONS.values() for a in actions}
    assert set(member_access.MEMBER_READ_ACTIONS) == declared
    assert len(member_access.MEMBER_READ_ACTIONS) == len(declared)  # each once
    by_target = member_access.MEMBER_READ_ACTIONS_BY_TARGET
    assert {a for actions in by_target.values() for a in actions} == declared
    assert by_target["account"] == (
        "iam:GetAccountAuthorizationDetails",
        "iam:GenerateCredentialReport",
        "iam:GetCredentialReport",
    )
    assert "iam:GetGroup" in by_target["group"] and "iam:GetPolicyVersion" in by_target["policy"]


def test_the_read_only_role_allows_no_write() -> None:
    """Only reads (Get/List, and generating the credential report, which changes nothing in IAM)."""
    verbs = ("iam:Get", "iam:List", "iam:GenerateCredentialReport")
    assert all(a.startswith(verbs) for a in member_access.MEMBER_READ_ACTIONS), member_access.MEMBER_READ_ACTIONS


def test_the_findings_publisher_imports_only() -> None:
    assert member_access.FINDINGS_PUBLISHER_ACTIONS == ("securityhub:BatchImportFindings",)


def test_the_hubs_own_calls() -> None:
    assert member_access.ORGANIZATION_READ_ACTIONS == (
        "organizations:ListAccounts",
        "organizations:ListAccountsForParent",
        "organizations:ListOrganizationalUnitsForParent",
    )
    assert organization.PERMISSIONS["organization"] == member_access.ORGANIZATION_READ_ACTIONS
    assert member_access.ASSUME_MEMBER_ROLE_ACTIONS == ("sts:AssumeRole",)


def test_one_name_for_each_role_everywhere() -> None:
    """The settings' defaults and ``driftline scan --org``'s role are the constants the stack uses."""
    settings = RuntimeSettings(registry_table="registry", state_table="state")
    assert settings.member_role_name == member_access.MEMBER_READ_ROLE == org_scan.DEFAULT_ROLE == "DriftlineReadOnly"
    assert settings.findings_role_name == member_access.FINDINGS_PUBLISHER_ROLE == "DriftlineFindingsPublisher"
    assert settings.organization_units == ()
