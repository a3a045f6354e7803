"""IAM API calls as CloudTrail delivers them through EventBridge, and which identities each one touches.

Field facts (AWS-FACTS section 1): identifiers are in ``detail.requestParameters`` / ``responseElements`` in
lowerCamelCase; ``userName`` is absent or null when a user acts on its own keys (then the target is the caller);
failed calls carry ``errorCode``; fields over CloudTrail's size limit are dropped with ``omitted: true``, so policy
documents are never trusted here: the handler re-reads IAM.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, ConfigDict, Field

from driftline.domain.identity import IdentityRef, Kind
from driftline.domain.observed import ALL_FACETS, Facet, Inventory
from driftline.domain.times import BoundedTime
from driftline.triggers.callers import UserIdentity

DETAIL_TYPE = "AWS API Call via CloudTrail"


class CloudTrailDetail(BaseModel):
    model_config = ConfigDict(extra="ignore")

    eventName: str = Field(min_length=1, max_length=128)  # noqa: N815
    eventID: str = Field(min_length=1, max_length=128)  # noqa: N815
    eventTime: BoundedTime  # noqa: N815
    eventSource: str  # noqa: N815
    userIdentity: UserIdentity = Field(default_factory=UserIdentity)  # noqa: N815
    requestParameters: dict[str, Any] | None = None  # noqa: N815
    responseElements: dict[str, Any] | None = None  # noqa: N815
    errorCode: str | None = None  # noqa: N815
    recipientAccountId: str | None = None  # noqa: N815


class IamApiCall(EventBridgeModel):
    """An EventBridge event of detail-type "AWS API Call via CloudTrail" (the parser keeps unknown fields out)."""

    detail: CloudTrailDetail


Target = Literal["user", "role", "group", "caller_user", "policy"]


@dataclass(frozen=True)
class EventRule:
    """How one event names what it touched: the request parameter that names the principal, and the key id.

    A ``policy`` event (a managed policy's default version changed) names no identity: whatever holds the policy
    may have changed, so it asks for a whole-account reconcile. ``param`` may start with ``responseElements.`` when
    only IAM's answer names the identity (``CreateServiceLinkedRole``: the service chooses the role's name).
    ``also`` is a second parameter naming an identity of the same kind: ``UpdateUser``'s ``newUserName``, since a
    rename touches both names (the old one's registry entry now describes nothing, the new one is unknown)."""

    target: Target
    param: str
    key_param: str | None = None
    also: str | None = None
    # what of a user the event can change, so what must be re-read and can be judged (roles are read whole)
    reads: frozenset[Facet] = ALL_FACETS


def _user(param: str = "userName", **kw: Any) -> EventRule:
    return EventRule("user", param, **kw)


def _own_credential() -> EventRule:
    """A credential event whose ``userName`` is optional: without it, the caller acts on its own credential."""
    return EventRule("caller_user", "userName", reads=CREDENTIALS)


def _role(**kw: Any) -> EventRule:
    return EventRule("role", "roleName", **kw)


def _group() -> EventRule:
    return EventRule("group", "groupName", reads=ENTITLEMENTS)


ENTITLEMENTS = frozenset({Facet.ENTITLEMENTS})  # policies and groups changed: no login profile or key reads
CREDENTIALS = frozenset({Facet.CREDENTIALS})  # a key or password changed: no policy or group reads

# A table, not a chain of ifs: supporting an event is one row and one test.
EVENT_RULES: dict[str, EventRule] = {
    "CreateUser": _user(),
    "DeleteUser": _user(),
    "UpdateUser": _user(also="newUserName"),  # a rename or a new path: both names, read whole
    "CreateAccessKey": EventRule(
        "caller_user", "userName", key_param="responseElements.accessKey.accessKeyId", reads=CREDENTIALS
    ),
    "UpdateAccessKey": EventRule("caller_user", "userName", key_param="accessKeyId", reads=CREDENTIALS),
    "DeleteAccessKey": EventRule("caller_user", "userName", key_param="accessKeyId", reads=CREDENTIALS),
    "CreateLoginProfile": _user(reads=CREDENTIALS),
    "UpdateLoginProfile": _user(reads=CREDENTIALS),
    "DeleteLoginProfile": _user(reads=CREDENTIALS),
    "UploadSSHPublicKey": _user(reads=CREDENTIALS),
    "UpdateSSHPublicKey": _user(reads=CREDENTIALS),
    "DeleteSSHPublicKey": _user(reads=CREDENTIALS),
    "CreateServiceSpecificCredential": _user(reads=CREDENTIALS),
    "UpdateServiceSpecificCredential": _own_credential(),
    "ResetServiceSpecificCredential": _own_credential(),
    "DeleteServiceSpecificCredential": _own_credential(),
    "UploadSigningCertificate": _own_credential(),
    "UpdateSigningCertificate": _own_credential(),
    "DeleteSigningCertificate": _own_credential(),
    "AttachUserPolicy": _user(reads=ENTITLEMENTS),
    "DetachUserPolicy": _user(reads=ENTITLEMENTS),
    "PutUserPolicy": _user(),
    "DeleteUserPolicy": _user(reads=ENTITLEMENTS),
    "PutUserPermissionsBoundary": _user(reads=ENTITLEMENTS),
    "DeleteUserPermissionsBoundary": _user(reads=ENTITLEMENTS),
    "AddUserToGroup": _user(reads=ENTITLEMENTS),
    "RemoveUserFromGroup": _user(reads=ENTITLEMENTS),
    "TagUser": _user(),
    "UntagUser": _user(),
    "CreateRole": _role(),
    "CreateServiceLinkedRole": EventRule("role", "responseElements.role.roleName"),
    "DeleteRole": _role(),
    "UpdateRole": _role(),  # description or maximum session duration
    "AttachRolePolicy": _role(),
    "DetachRolePolicy": _role(),
    "PutRolePolicy": _role(),
    "DeleteRolePolicy": _role(),
    "PutRolePermissionsBoundary": _role(),
    "DeleteRolePermissionsBoundary": _role(),
    "UpdateAssumeRolePolicy": _role(),
    "TagRole": _role(),
    "UntagRole": _role(),
    "AttachGroupPolicy": _group(),
    "DetachGroupPolicy": _group(),
    "PutGroupPolicy": _group(),
    "DeleteGroupPolicy": _group(),
    "CreatePolicyVersion": EventRule("policy", "policyArn"),
    "SetDefaultPolicyVersion": EventRule("policy", "policyArn"),
}

# Calls that would disable a way to act: when one fails (``errorCode``, e.g. an SCP denied it) on a revoked identity,
# the ledger keeps the attempt. The IAM event rule lets failures of these names through, and only these.
ENFORCING_EVENT_NAMES: frozenset[str] = frozenset(
    {
        "UpdateAccessKey",
        "DeleteAccessKey",
        "DeleteLoginProfile",
        "UpdateSSHPublicKey",
        "DeleteSSHPublicKey",
        "UpdateServiceSpecificCredential",
        "DeleteServiceSpecificCredential",
        "UpdateSigningCertificate",
        "DeleteSigningCertificate",
        "AttachUserPolicy",
        "AttachRolePolicy",
        "PutUserPolicy",
        "PutRolePolicy",
        "PutUserPermissionsBoundary",
        "PutRolePermissionsBoundary",
        "DeleteUser",
        "DeleteRole",
        "UpdateAssumeRolePolicy",
    }
)


# What IAM can hold: names of users, roles and groups, and access key ids (API reference patterns). Anything else
# cannot have come from IAM, so it is rejected here instead of failing an IAM call later.
_IAM_NAME = re.compile(r"[A-Za-z0-9+=,.@_-]{1,128}")
_KEY_ID = re.compile(r"[A-Z0-9]{16,128}")


def _lookup(detail: CloudTrailDetail, path: str) -> str | None:
    node: Any = detail.responseElements if path.startswith("responseElements.") else detail.requestParameters
    for part in path.removeprefix("responseElements.").split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    if not isinstance(node, str) or not node:
        return None
    pattern = _KEY_ID if path.endswith("accessKeyId") else _IAM_NAME
    return node if pattern.fullmatch(node) else None


@dataclass(frozen=True)
class Touched:
    """What one event asks the detector to evaluate; ``widen`` says why it needs the whole account instead (a
    truncated request, an identity that cannot be determined, a managed policy's document changed)."""

    refs: frozenset[IdentityRef]
    groups: frozenset[str] = frozenset()
    widen: str | None = None


def caller(detail: CloudTrailDetail) -> IdentityRef | None:
    """The IAM identity that made the call: a user, or the role behind an assumed-role session."""
    who = detail.userIdentity
    if who.type == "IAMUser" and who.userName:
        return IdentityRef(kind=Kind.USER, name=who.userName)
    if who.type == "AssumedRole" and who.sessionContext and who.sessionContext.sessionIssuer:
        issuer = who.sessionContext.sessionIssuer
        if issuer.type == "Role" and issuer.userName:
            return IdentityRef(kind=Kind.ROLE, name=issuer.userName)
    return None


def caller_key(detail: CloudTrailDetail) -> IdentityRef | None:
    """The caller's long-term access key (AKIA…), if it signed the call. Session keys (ASIA…) belong to roles."""
    key = detail.userIdentity.accessKeyId
    if detail.userIdentity.type == "IAMUser" and key and key.startswith("AKIA"):
        return IdentityRef(kind=Kind.ACCESS_KEY, name=key)
    return None


def touched(detail: CloudTrailDetail) -> Touched | None:
    """The identities ``detail`` touched, or None when driftline does not handle this event name."""
    rule = EVENT_RULES.get(detail.eventName)
    if rule is None:
        return None
    if _omitted(detail.requestParameters):
        return Touched(refs=frozenset(), widen="CloudTrail left out the request parameters (omitted: true)")
    if rule.target == "policy":
        return Touched(refs=frozenset(), widen="a managed policy's document may have changed for every holder")
    name = _lookup(detail, rule.param)
    if rule.target == "group":
        return _found(detail, set(), {name} if name else set())
    refs: set[IdentityRef] = set()
    kind = Kind.ROLE if rule.target == "role" else Kind.USER
    if name:
        refs.add(IdentityRef(kind=kind, name=name))
        if rule.also and (other := _lookup(detail, rule.also)):
            refs.add(IdentityRef(kind=kind, name=other))  # without the first name, the event is widened instead
    elif rule.target == "caller_user" and (who := caller(detail)) is not None and who.kind is Kind.USER:
        refs.add(who)  # a user acting on its own credential: no userName in the request
    if rule.key_param and (key := _lookup(detail, rule.key_param)):
        refs.add(IdentityRef(kind=Kind.ACCESS_KEY, name=key))
    return _found(detail, refs, set())


def _found(detail: CloudTrailDetail, refs: set[IdentityRef], groups: set[str]) -> Touched:
    if not refs and not groups:
        return Touched(refs=frozenset(), widen=f"{detail.eventName} names no identity driftline can determine")
    return Touched(refs=frozenset(refs), groups=frozenset(groups))


def _omitted(params: dict[str, Any] | None) -> bool:
    """CloudTrail replaced the request parameters (too large) with ``{"omitted": true, …}``."""
    return isinstance(params, dict) and params.get("omitted") is True


def caller_refs(detail: CloudTrailDetail) -> set[IdentityRef]:
    """The caller's identities the registry may know: its access key and its user or role."""
    return {ref for ref in (caller_key(detail), caller(detail)) if ref is not None}


def revoked_callers(detail: CloudTrailDetail, is_revoked: Callable[[IdentityRef], bool]) -> list[IdentityRef]:
    """The caller's identities (its key, its user or role) that the registry says are revoked."""
    found = []
    key, who = caller_key(detail), caller(detail)
    if key is not None and (is_revoked(key) or (who is not None and is_revoked(who))):
        found.append(key)
    if who is not None and is_revoked(who):
        found.append(who)
    return found


def mark_use(used: list[IdentityRef], detail: CloudTrailDetail) -> Callable[[Inventory], Inventory]:
    """What the event proves beyond IAM's last-used data (which lags): ``used`` acted at ``eventTime``."""
    when, event_id = detail.eventTime, detail.eventID
    console = caller_key(detail) is None

    def newer(last: datetime | None) -> bool:
        return last is None or last < when

    def observe(inventory: Inventory) -> Inventory:
        keys, users, roles = dict(inventory.keys), dict(inventory.users), dict(inventory.roles)
        stamp = {"last_use_event": event_id}
        for ref in used:
            if ref.kind is Kind.ACCESS_KEY and (k := keys.get(ref.name)) and newer(k.last_used_at):
                keys[ref.name] = k.model_copy(update={"last_used_at": when, **stamp})
            elif ref.kind is Kind.ROLE and (r := roles.get(ref.name)) and newer(r.last_used_at):
                roles[ref.name] = r.model_copy(update={"last_used_at": when, **stamp})
            elif ref.kind is Kind.USER and console and (u := users.get(ref.name)) and newer(u.password_last_used_at):
                users[ref.name] = u.model_copy(update={"password_last_used_at": when, **stamp})
        return inventory.model_copy(update={"keys": keys, "users": users, "roles": roles})

    return observe


def group_member_refs(users: list[str]) -> list[IdentityRef]:
    """A group policy change touches every member of the group."""
    return [IdentityRef(kind=Kind.USER, name=name) for name in users]
