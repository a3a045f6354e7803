"""A revoked user's other credentials: SSH public keys, service-specific credentials (CodeCommit/Keyspaces Git
credentials, Bedrock API keys) and signing certificates. moto implements no ListServiceSpecificCredentials, so the
read is tested with botocore's Stubber (paging included), and the reconcile end to end with moto answering that one
operation as a real account holding a Bedrock API key would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from driftline.adapters.iam_access import other_credentials
from driftline.domain.drift import DriftType, RevocationState
from driftline.domain.errors import IamReadError
from tests.integration.support import Sandbox, ago, the_drift

CREATED = datetime(2026, 10, 1, tzinfo=UTC)


def _iam() -> Any:
    return boto3.client("iam", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")


def _credential(credential_id: str, service: str, status: str) -> dict[str, Any]:
    return {
        "UserName": "carol",
        "Status": status,
        "ServiceUserName": f"carol-at-{credential_id}",
        "CreateDate": CREATED,
        "ServiceSpecificCredentialId": credential_id,
        "ServiceName": service,
    }


def test_every_credential_kind_is_read_across_pages() -> None:
    """An inactive SSH key, an inactive CodeCommit credential on page 1 and an active Bedrock API key on page 2 (the
    operation pages with Marker, without a botocore paginator), an active signing certificate: every kind comes back
    with its status."""
    iam = _iam()
    with Stubber(iam) as stub:
        stub.add_response(
            "list_ssh_public_keys",
            {
                "SSHPublicKeys": [
                    {
                        "UserName": "carol",
                        "SSHPublicKeyId": "APKAOLDKEY0123456789",
                        "Status": "Inactive",
                        "UploadDate": CREATED,
                    }
                ]
            },
            {"UserName": "carol"},
        )
        stub.add_response(
            "list_service_specific_credentials",
            {
                "ServiceSpecificCredentials": [
                    _credential("ACCAGITCREDENTIAL012", "codecommit.amazonaws.com", "Inactive")
                ],
                "IsTruncated": True,
                "Marker": "page-2",
            },
            {"UserName": "carol"},
        )
        stub.add_response(
            "list_service_specific_credentials",
            {
                "ServiceSpecificCredentials": [_credential("ACCABEDROCKAPIKEY012", "bedrock.amazonaws.com", "Active")],
                "IsTruncated": False,
            },
            {"UserName": "carol", "Marker": "page-2"},
        )
        stub.add_response(
            "list_signing_certificates",
            {
                "Certificates": [
                    {
                        "UserName": "carol",
                        "CertificateId": "CERTIFICATEIDEXAMPLE0123456789",
                        "CertificateBody": "-----BEGIN CERTIFICATE-----",
                        "Status": "Active",
                    }
                ]
            },
            {"UserName": "carol"},
        )

        found = other_credentials(iam, "carol")

        stub.assert_no_pending_responses()
    assert [(c.kind, c.credential_id, c.active, c.service) for c in found] == [
        ("ssh-public-key", "APKAOLDKEY0123456789", False, None),
        ("service-specific-credential", "ACCAGITCREDENTIAL012", False, "codecommit.amazonaws.com"),
        ("service-specific-credential", "ACCABEDROCKAPIKEY012", True, "bedrock.amazonaws.com"),
        ("signing-certificate", "CERTIFICATEIDEXAMPLE0123456789", True, None),
    ]


def test_a_refused_read_is_an_error_never_an_empty_list() -> None:
    """AccessDenied on ListServiceSpecificCredentials must fail the read (naming the operation): an unread credential
    list taken as empty would call an unenforced revocation enforced."""
    iam = _iam()
    with Stubber(iam) as stub:
        stub.add_response("list_ssh_public_keys", {"SSHPublicKeys": []}, {"UserName": "carol"})
        stub.add_client_error("list_service_specific_credentials", "AccessDenied", "not authorized")
        with pytest.raises(IamReadError, match="ListServiceSpecificCredentials failed with AccessDenied"):
            other_credentials(iam, "carol")


def _bedrock_key(active: bool) -> str:
    status = "Active" if active else "Inactive"
    return (
        '<ListServiceSpecificCredentialsResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
        "<ListServiceSpecificCredentialsResult><ServiceSpecificCredentials><member>"
        f"<UserName>carol</UserName><Status>{status}</Status><ServiceUserName>carol-api-key</ServiceUserName>"
        "<CreateDate>2026-10-01T00:00:00Z</CreateDate><ServiceSpecificCredentialId>ACCABEDROCKKEY01</ServiceSpecificCredentialId>"
        "<ServiceName>bedrock.amazonaws.com</ServiceName></member></ServiceSpecificCredentials>"
        "<IsTruncated>false</IsTruncated></ListServiceSpecificCredentialsResult>"
        "<ResponseMetadata><RequestId>test</RequestId></ResponseMetadata></ListServiceSpecificCredentialsResponse>"
    )


@pytest.mark.parametrize(("active", "state"), [(True, RevocationState.UNENFORCED), (False, RevocationState.ENFORCED)])
def test_a_revoked_user_holding_only_a_bedrock_api_key(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, active: bool, state: RevocationState
) -> None:
    """carol, revoked two hours ago, holds no key and no password, only a Bedrock API key: Active, the revocation is
    unenforced and the finding names the key; Inactive, it is enforced."""
    from moto.iam.responses import IamResponse

    monkeypatch.setattr(
        IamResponse, "list_service_specific_credentials", lambda self: _bedrock_key(active), raising=False
    )
    sandbox.user("carol")
    sandbox.register_user("carol", status="revoked", revoked_at=ago(hours=2))

    evaluation = sandbox.reconcile(now=datetime.now(UTC) + timedelta(seconds=1))

    (check,) = evaluation.comparison.revocations
    assert check.state is state
    if active:
        drift = the_drift(evaluation, DriftType.UNENFORCED_REVOCATION, "user#carol")
        assert "service specific credential ACCABEDROCKKEY01 (bedrock.amazonaws.com) is Active" in drift.summary
