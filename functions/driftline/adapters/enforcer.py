"""Carrying out enforcement steps in IAM. Each method is one reversible call; failures raise IamReadError-style
errors naming the operation (the caller records them in the ledger and retries on the next evaluation)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from driftline.adapters.iam_errors import absent_if_missing, iam_call
from driftline.domain.enforcement import SESSION_DENY_POLICY, Action, Step

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient


class Boto3Enforcer:
    def __init__(self, iam: IAMClient) -> None:
        self._iam = iam

    def apply(self, action: Action) -> None:
        if action.skipped:
            raise ValueError(f"refusing a skipped action: {action.description}")
        if action.step is Step.DEACTIVATE_KEY:
            with iam_call("UpdateAccessKey"):
                self._iam.update_access_key(UserName=action.user or "", AccessKeyId=action.target, Status="Inactive")
        elif action.step is Step.DELETE_LOGIN_PROFILE:
            # Already gone is fine: the goal (no console password) holds.
            absent_if_missing(lambda: self._iam.delete_login_profile(UserName=action.target), "DeleteLoginProfile")
        elif action.step is Step.DENY_USER_SESSIONS:
            with iam_call("PutUserPolicy"):
                self._iam.put_user_policy(
                    UserName=action.target, PolicyName=SESSION_DENY_POLICY, PolicyDocument=action.policy_document or ""
                )
        else:
            with iam_call("PutRolePolicy"):
                self._iam.put_role_policy(
                    RoleName=action.target, PolicyName=SESSION_DENY_POLICY, PolicyDocument=action.policy_document or ""
                )
