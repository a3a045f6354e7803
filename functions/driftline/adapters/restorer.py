"""Undoing driftline's enforcement steps (``driftline restore-access``): each step's exact reverse, one IAM call.

Operators run it with their own credentials; no driftline function holds these permissions (reactivate, detach,
restore or delete a boundary).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from driftline.adapters.enforcer import run
from driftline.domain.enforcement import Action, Step
from driftline.domain.identity import Kind

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient

ACTIVE: Literal["Active"] = "Active"


class Boto3Restorer:
    def __init__(self, iam: IAMClient) -> None:
        self._iam = iam

    def undo(self, action: Action) -> None:  # noqa: C901 - one branch per step, flat
        iam, user, target, name = self._iam, action.user or "", action.target, action.target
        role = action.kind is Kind.ROLE
        if action.step is Step.DEACTIVATE_KEY:
            run("UpdateAccessKey", lambda: iam.update_access_key(UserName=user, AccessKeyId=target, Status=ACTIVE))
        elif action.step is Step.DEACTIVATE_SSH_KEY:
            run(
                "UpdateSSHPublicKey",
                lambda: iam.update_ssh_public_key(UserName=user, SSHPublicKeyId=target, Status=ACTIVE),
            )
        elif action.step is Step.DEACTIVATE_SERVICE_CREDENTIAL:
            run(
                "UpdateServiceSpecificCredential",
                lambda: iam.update_service_specific_credential(
                    UserName=user, ServiceSpecificCredentialId=target, Status=ACTIVE
                ),
            )
        elif action.step is Step.DEACTIVATE_SIGNING_CERTIFICATE:
            run(
                "UpdateSigningCertificate",
                lambda: iam.update_signing_certificate(UserName=user, CertificateId=target, Status=ACTIVE),
            )
        elif action.step is Step.ATTACH_DENY_POLICY and role:
            run("DetachRolePolicy", lambda: iam.detach_role_policy(RoleName=name, PolicyArn=action.policy_arn or ""))
        elif action.step is Step.ATTACH_DENY_POLICY:
            run("DetachUserPolicy", lambda: iam.detach_user_policy(UserName=name, PolicyArn=action.policy_arn or ""))
        else:
            self._boundary(action, role)

    def _boundary(self, action: Action, role: bool) -> None:
        """Put the boundary the deny replaced back, or remove the boundary when there was none."""
        iam, name, previous = self._iam, action.target, action.previous
        if previous and role:
            run(
                "PutRolePermissionsBoundary",
                lambda: iam.put_role_permissions_boundary(RoleName=name, PermissionsBoundary=previous),
            )
        elif previous:
            run(
                "PutUserPermissionsBoundary",
                lambda: iam.put_user_permissions_boundary(UserName=name, PermissionsBoundary=previous),
            )
        elif role:
            run("DeleteRolePermissionsBoundary", lambda: iam.delete_role_permissions_boundary(RoleName=name))
        else:
            run("DeleteUserPermissionsBoundary", lambda: iam.delete_user_permissions_boundary(UserName=name))
