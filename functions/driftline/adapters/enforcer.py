"""Carrying out enforcement steps in IAM: each step is exactly one reversible call (the undo, for operators only,
is ``adapters/restorer.py``: the functions' roles hold none of its permissions).

Failures raise ``EnforcementError`` with AWS's error code (the caller records them in the ledger and plans the step
again on the next evaluation); ``LimitExceeded`` on an attach raises ``PolicyQuotaFull`` so the caller can fall back to
the permissions boundary. The IAM permissions these calls need are in ``stacks/constants.py`` (``ENFORCE_*``); the
enforce role may attach exactly one policy ARN (an ``iam:PolicyARN`` condition) and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, Literal

from botocore.exceptions import BotoCoreError, ClientError

from driftline.adapters.iam_errors import error_code
from driftline.domain.enforcement import Action, Step
from driftline.domain.errors import EnforcementError, PolicyQuotaFull
from driftline.domain.identity import Kind

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient

# The AWS actions this module calls, by what they act on: stacks/constants.py grants them from here, and
# tests/infrastructure/test_code_calls_are_granted.py checks them against the calls in this file.
PERMISSIONS: Final[dict[str, tuple[str, ...]]] = {
    "credential": (
        "iam:UpdateAccessKey",
        "iam:UpdateSSHPublicKey",
        "iam:UpdateServiceSpecificCredential",
        "iam:UpdateSigningCertificate",
    ),
    "attach": ("iam:AttachUserPolicy", "iam:AttachRolePolicy"),
    "boundary": ("iam:PutUserPermissionsBoundary", "iam:PutRolePermissionsBoundary"),
}

INACTIVE: Literal["Inactive"] = "Inactive"


class Boto3Enforcer:
    def __init__(self, iam: IAMClient) -> None:
        self._iam = iam

    def apply(self, action: Action) -> None:
        """Carry out one planned step: deactivate a credential, or attach (or set as boundary) the deny policy."""
        if action.skipped:
            raise ValueError(f"refusing a skipped action: {action.description}")
        iam, user, target, name, arn = self._iam, action.user or "", action.target, action.target, action.policy_arn
        role = action.kind is Kind.ROLE
        if action.step is Step.DEACTIVATE_KEY:
            call = lambda: iam.update_access_key(UserName=user, AccessKeyId=target, Status=INACTIVE)  # noqa: E731
        elif action.step is Step.DEACTIVATE_SSH_KEY:
            call = lambda: iam.update_ssh_public_key(UserName=user, SSHPublicKeyId=target, Status=INACTIVE)  # noqa: E731
        elif action.step is Step.DEACTIVATE_SERVICE_CREDENTIAL:
            call = lambda: iam.update_service_specific_credential(  # noqa: E731
                UserName=user, ServiceSpecificCredentialId=target, Status=INACTIVE
            )
        elif action.step is Step.DEACTIVATE_SIGNING_CERTIFICATE:
            call = lambda: iam.update_signing_certificate(UserName=user, CertificateId=target, Status=INACTIVE)  # noqa: E731
        elif action.step is Step.ATTACH_DENY_POLICY and role:
            call = lambda: iam.attach_role_policy(RoleName=name, PolicyArn=arn or "")  # noqa: E731
        elif action.step is Step.ATTACH_DENY_POLICY:
            call = lambda: iam.attach_user_policy(UserName=name, PolicyArn=arn or "")  # noqa: E731
        elif role:
            call = lambda: iam.put_role_permissions_boundary(RoleName=name, PermissionsBoundary=arn or "")  # noqa: E731
        else:
            call = lambda: iam.put_user_permissions_boundary(UserName=name, PermissionsBoundary=arn or "")  # noqa: E731
        run(OPERATIONS[action.step, role], call)


OPERATIONS = {
    (Step.DEACTIVATE_KEY, False): "UpdateAccessKey",
    (Step.DEACTIVATE_SSH_KEY, False): "UpdateSSHPublicKey",
    (Step.DEACTIVATE_SERVICE_CREDENTIAL, False): "UpdateServiceSpecificCredential",
    (Step.DEACTIVATE_SIGNING_CERTIFICATE, False): "UpdateSigningCertificate",
    (Step.ATTACH_DENY_POLICY, False): "AttachUserPolicy",
    (Step.ATTACH_DENY_POLICY, True): "AttachRolePolicy",
    (Step.SET_DENY_BOUNDARY, False): "PutUserPermissionsBoundary",
    (Step.SET_DENY_BOUNDARY, True): "PutRolePermissionsBoundary",
}


def run(operation: str, call: Callable[[], Any]) -> None:
    """One IAM write; its failure as an EnforcementError with AWS's error code (``PolicyQuotaFull`` for a full
    managed-policy quota on an attach)."""
    try:
        call()
    except ClientError as exc:
        code = error_code(exc)
        message = f"IAM {operation} failed with {code}: {exc.response.get('Error', {}).get('Message', '')}"
        if code == "LimitExceeded" and operation.startswith("Attach"):
            raise PolicyQuotaFull(message, code) from exc
        raise EnforcementError(message, code) from exc
    except BotoCoreError as exc:
        raise EnforcementError(f"IAM {operation} failed: {exc}") from exc
