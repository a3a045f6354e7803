"""Safe enforcement of unenforced revocations (opt-in): a plan of reversible IAM steps that leave nobody able to act
as the identity. Never a deletion, never a policy document of driftline's choosing.

- a revoked access key: deactivate exactly that key (never the user's other keys);
- a revoked user: attach the deployment's deny-everything managed policy (``DriftlineRevoked``), and deactivate its
  active access keys, SSH public keys, service-specific credentials and signing certificates. Its console password is
  left in place: a password cannot be restored once deleted, and the deny stops every console action;
- a revoked role: attach the same policy (it also stops sessions already issued: a session's permissions are the
  role's current policies).

Where the identity's managed-policy quota is full, the enforcer falls back to setting the same policy as the
permissions boundary (``fallback_boundary``), keeping the previous boundary in the ledger for the undo.

Protected principals are never touched and appear in the plan as skipped, with the reason: the break-glass list,
AWS-owned and driftline's own identities (the exclusions), the account's administrative and deployment roles, and the
caller itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from fnmatch import fnmatchcase

from pydantic import BaseModel, ConfigDict

from driftline.domain.drift import Comparison, RevocationState
from driftline.domain.identity import IdentityRef, Kind, fold
from driftline.domain.observed import Inventory, ObservedPrincipal
from driftline.domain.settings import CompareSettings

DENY_POLICY_NAME = "DriftlineRevoked"
DENY_POLICY_PATH = "/driftline/"
# Administrative and deployment roles of an account: losing them locks operators out, so enforce never touches them
# unless an operator removes them from the list (``Protections.admin_roles``).
ADMIN_ROLE_PATTERNS: tuple[str, ...] = (
    "OrganizationAccountAccessRole",
    "AWSControlTowerExecution",
    "AWSCloudFormationStackSetExecutionRole",
    "stacksets-exec-*",
    "cdk-*",
)
# driftline's own users and roles (CloudFormation names them after the stack): the stack's enforce policy denies
# acting on them, so a plan that included them would fail every run.
OWN_PATTERNS: tuple[str, ...] = ("Driftline*",)


def deny_policy_arn(account_id: str, partition: str = "aws") -> str:
    """The ARN of the deny-everything policy the stack creates in every account it is deployed to."""
    return f"arn:{partition}:iam::{account_id}:policy{DENY_POLICY_PATH}{DENY_POLICY_NAME}"


class Step(StrEnum):
    DEACTIVATE_KEY = "deactivate-access-key"
    DEACTIVATE_SSH_KEY = "deactivate-ssh-public-key"
    DEACTIVATE_SERVICE_CREDENTIAL = "deactivate-service-specific-credential"
    DEACTIVATE_SIGNING_CERTIFICATE = "deactivate-signing-certificate"
    ATTACH_DENY_POLICY = "attach-deny-policy"
    SET_DENY_BOUNDARY = "set-deny-boundary"  # the fallback when the managed-policy quota is full


CREDENTIAL_STEPS = {
    "ssh-public-key": Step.DEACTIVATE_SSH_KEY,
    "service-specific-credential": Step.DEACTIVATE_SERVICE_CREDENTIAL,
    "signing-certificate": Step.DEACTIVATE_SIGNING_CERTIFICATE,
}


class Action(BaseModel):
    """One reversible IAM step, or a step driftline refuses to take (``skipped`` says why).

    ``target`` is the credential id (deactivations) or the principal's name (the deny); ``user`` names the user of a
    credential; ``kind`` the principal kind of a deny; ``policy_arn`` the deny policy; ``previous`` the boundary a
    ``set-deny-boundary`` replaced (restored by the undo)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    revocation: IdentityRef
    step: Step
    target: str
    user: str | None = None
    kind: Kind | None = None
    policy_arn: str | None = None
    previous: str | None = None
    skipped: str | None = None

    @property
    def description(self) -> str:
        what = f"{self.step.value} {self.target}"
        if self.policy_arn:
            what += f" ({self.policy_arn})"
        return f"SKIP {what}: {self.skipped}" if self.skipped else what

    @property
    def credential(self) -> str:
        """The ledger token of what this step disables (``*``: the whole identity)."""
        if self.step is Step.DEACTIVATE_KEY:
            return f"access_key:{self.target}"
        for kind, step in CREDENTIAL_STEPS.items():
            if self.step is step:
                return f"{kind}:{self.target}"
        return "*"

    def fallback_boundary(self, previous: str | None) -> Action:
        """The same deny as a permissions boundary (the managed-policy quota was full)."""
        return self.model_copy(update={"step": Step.SET_DENY_BOUNDARY, "previous": previous})


@dataclass(frozen=True)
class Protections:
    """Who enforce never touches, besides the exclusions: name globs matched without case (IAM names ignore case)."""

    deny_policy_arn: str
    break_glass: tuple[str, ...] = ()
    admin_roles: tuple[str, ...] = ADMIN_ROLE_PATTERNS
    caller: IdentityRef | None = None

    def reason(self, ref: IdentityRef, path: str, settings: CompareSettings) -> str | None:
        if self.caller is not None and ref == self.caller:
            return "the caller itself"
        if _matches(ref.name, self.break_glass):
            return "break-glass principal"
        if ref.kind is Kind.ROLE and _matches(ref.name, self.admin_roles):
            return "administrative or deployment role of the account"
        if _matches(ref.name, OWN_PATTERNS):
            return "protected principal (AWS-owned or driftline's own)"
        if settings.exclusions.excludes(ref.name, path, ref.kind):
            return "protected principal (AWS-owned or driftline's own)"
        return None


def _matches(name: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatchcase(fold(name), fold(pattern)) for pattern in patterns)


ALREADY_ATTACHED = (
    "the deny policy is attached already, yet the identity can still act: check that the policy's default version "
    "still denies everything"
)


def _deny(ref: IdentityRef, principal: ObservedPrincipal, protections: Protections) -> Action:
    """Attach the deny policy; planned as skipped (so the plan says why nothing more can be done) when it is attached
    already and still the identity can act."""
    attached = protections.deny_policy_arn in principal.managed_policies
    return Action(
        revocation=ref,
        step=Step.ATTACH_DENY_POLICY,
        target=principal.name,
        kind=principal.kind,
        policy_arn=protections.deny_policy_arn,
        skipped=ALREADY_ATTACHED if attached else None,
    )


def _user_actions(ref: IdentityRef, inventory: Inventory, protections: Protections) -> list[Action]:
    user = inventory.user(ref.name)
    if user is None:
        return []
    actions = [_deny(ref, user, protections)]
    actions += [
        Action(revocation=ref, step=Step.DEACTIVATE_KEY, target=k.access_key_id, user=user.name)
        for k in inventory.keys_of(user.name)
        if k.active
    ]
    actions += [
        Action(revocation=ref, step=CREDENTIAL_STEPS[c.kind], target=c.credential_id, user=user.name)
        for c in user.other_credentials or ()
        if c.active
    ]
    return actions


def _key_actions(ref: IdentityRef, inventory: Inventory) -> tuple[list[Action], IdentityRef, str]:
    key = inventory.keys.get(ref.name)
    if key is None or not key.active:
        return [], ref, "/"
    owner = inventory.user(key.user_name)
    step = Action(revocation=ref, step=Step.DEACTIVATE_KEY, target=key.access_key_id, user=key.user_name)
    return [step], IdentityRef(kind=Kind.USER, name=key.user_name), owner.path if owner else "/"


def plan_enforcement(
    comparison: Comparison, inventory: Inventory, settings: CompareSettings, protections: Protections
) -> list[Action]:
    """The steps that would enforce every unenforced revocation of ``comparison`` (protected ones marked skipped)."""
    actions: list[Action] = []
    for check in comparison.revocations:
        if check.state is not RevocationState.UNENFORCED:
            continue
        ref = check.identity
        if ref.kind is Kind.ACCESS_KEY:
            found, subject, path = _key_actions(ref, inventory)
        elif ref.kind is Kind.USER:
            user = inventory.user(ref.name)
            found, subject, path = _user_actions(ref, inventory, protections), ref, user.path if user else "/"
        else:
            role = inventory.role(ref.name)
            if role is None:
                continue
            found, subject, path = [_deny(ref, role, protections)], ref, role.path
        reason = protections.reason(subject, path, settings)
        actions.extend(a.model_copy(update={"skipped": reason}) if reason else a for a in found)
    return actions


def caller_ref(arn: str) -> IdentityRef | None:
    """The IAM user or role behind an STS caller ARN (``…:user/path/name``, ``…:assumed-role/name/session``)."""
    resource = arn.split(":", 5)[-1] if arn.count(":") >= 5 else ""
    kind, _, rest = resource.partition("/")
    if kind == "user" and rest:
        return IdentityRef(kind=Kind.USER, name=rest.rsplit("/", 1)[-1])
    if kind == "assumed-role" and rest:
        return IdentityRef(kind=Kind.ROLE, name=rest.split("/", 1)[0])
    return None
