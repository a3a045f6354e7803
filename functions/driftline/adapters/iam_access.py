"""The reads a revocation verdict needs beyond GAAD and the credential report: the documents of managed policies and
permissions boundaries (does one deny everything?) and a user's other credentials (SSH public keys, service-specific
credentials, signing certificates), which no bulk source lists.

Both are read only for identities whose verdict depends on them (revoked or expired entries), and policy documents
once per ARN per evaluation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final

from driftline.adapters.iam_errors import absent_if_missing, iam_call
from driftline.adapters.iam_parse import other_credential, with_managed_denies
from driftline.domain.observed import ObservedPrincipal, ObservedUser, OtherCredential

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient

# The AWS actions this module calls, by what they act on: stacks/constants.py grants them from here, and
# tests/infrastructure/test_code_calls_are_granted.py checks them against the calls in this file.
PERMISSIONS: Final[dict[str, tuple[str, ...]]] = {
    "user": ("iam:ListSSHPublicKeys", "iam:ListServiceSpecificCredentials", "iam:ListSigningCertificates"),
    "policy": ("iam:GetPolicy", "iam:GetPolicyVersion"),
}


class PolicyDocuments:
    """Default-version documents of managed policies, each read once (GetPolicy, then GetPolicyVersion)."""

    def __init__(self, iam: IAMClient) -> None:
        self._iam = iam
        self._known: dict[str, Mapping[str, Any] | None] = {}

    def document(self, arn: str) -> Mapping[str, Any] | None:
        if arn not in self._known:
            self._known[arn] = self._read(arn)
        return self._known[arn]

    def _read(self, arn: str) -> Mapping[str, Any] | None:
        policy = absent_if_missing(lambda: self._iam.get_policy(PolicyArn=arn), "GetPolicy")
        if policy is None:
            return None
        version = policy["Policy"].get("DefaultVersionId")
        if not version:
            return None
        got = absent_if_missing(
            lambda: self._iam.get_policy_version(PolicyArn=arn, VersionId=version), "GetPolicyVersion"
        )
        document = got["PolicyVersion"].get("Document") if got else None
        return document if isinstance(document, Mapping) else None

    def denies(self, principal: ObservedPrincipal) -> ObservedPrincipal:
        """``principal`` with the managed policies and boundary that deny it everything recognised."""
        arns: Iterable[str] = sorted(principal.managed_policies | {principal.permissions_boundary or ""} - {""})
        return with_managed_denies(principal, {arn: self.document(arn) for arn in arns})


def other_credentials(iam: IAMClient, user: str) -> tuple[OtherCredential, ...]:
    """The user's SSH public keys, service-specific credentials and signing certificates (three List calls)."""
    found: list[OtherCredential] = []
    with iam_call("ListSSHPublicKeys"):
        for page in iam.get_paginator("list_ssh_public_keys").paginate(UserName=user):
            found += [other_credential("ssh-public-key", k) for k in page.get("SSHPublicKeys", [])]
    with iam_call("ListServiceSpecificCredentials"):
        # Marker-paged since Bedrock API keys joined the Git credentials, but botocore has no paginator for it.
        kwargs: dict[str, Any] = {"UserName": user}
        while True:
            answer = iam.list_service_specific_credentials(**kwargs)
            found += [other_credential("service-specific-credential", c) for c in answer["ServiceSpecificCredentials"]]
            if not answer.get("IsTruncated") or not answer.get("Marker"):
                break
            kwargs["Marker"] = answer["Marker"]
    with iam_call("ListSigningCertificates"):
        for certificates in iam.get_paginator("list_signing_certificates").paginate(UserName=user):
            found += [other_credential("signing-certificate", c) for c in certificates.get("Certificates", [])]
    return tuple(found)


def with_other_credentials(iam: IAMClient, user: ObservedUser) -> ObservedUser:
    return user.model_copy(update={"other_credentials": other_credentials(iam, user.name)})


def could_act(principal: ObservedPrincipal, active_keys: int = 0) -> bool:
    """Whether anything besides a deny could still let the principal act, by what has been read so far: a reason to
    read the documents of its managed policies and boundary (a deny there settles the verdict)."""
    if principal.denied_everything is not None:
        return False
    if isinstance(principal, ObservedUser):
        others = principal.other_credentials
        return bool(active_keys or principal.password_enabled or others is None or any(c.active for c in others))
    return getattr(principal, "assumable_by", None) != ()
