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
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from driftline.domain.identity import IdentityRef, Kind
from driftline.domain.ledger import Enforcement
from driftline.domain.observed import ALL_FACETS, Facet, Inventory

DETAIL_TYPE = "AWS API Call via CloudTrail"


class SessionIssuer(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: str | None = None
    userName: str | None = None  # noqa: N815 - CloudTrail's field name
    arn: str | None = None


class SessionContext(BaseModel):
    model_config = ConfigDict(extra="ignore")

    sessionIssuer: SessionIssuer | None = None  # noqa: N815


class UserIdentity(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: str | None = None
    arn: str | None = None
    userName: str | None = None  # noqa: N815
    accessKeyId: str | None = None  # noqa: N815
    accountId: str | None = None  # noqa: N815
    invokedBy: str | None = None  # noqa: N815
    sessionContext: SessionContext | None = None  # noqa: N815


class CloudTrailDetail(BaseModel):
    model_config = ConfigDict(extra="ignore")

    eventName: str = Field(min_length=1, max_length=128)  # noqa: N815
    eventID: str = Field(min_length=1, max_length=128)  # noqa: N815
    eventTime: AwareDatetime  # noqa: N815
    eventSource: str  # noqa: N815
    userIdentity: UserIdentity = Field(default_factory=UserIdentity)  # noqa: N815
    requestParameters: dict[str, Any] | None = None  # noqa: N815
    responseElements: dict[str, Any] | None = None  # noqa: N815
    errorCode: str | None = None  # noqa: N815
    recipientAccountId: str | None = None  # noqa: N815


class IamApiCall(EventBridgeModel):
    """An EventBridge event of detail-type "AWS API Call via CloudTrail" (the parser keeps unknown fields out)."""

    detail: CloudTrailDetail


Target = Literal["user", "role", "group", "caller_user"]


@dataclass(frozen=True)
class EventRule:
    """How one event names what it touched: the request parameter that names the principal, and the key id."""

    target: Target
    param: str
    key_param: str | None = None
    enforcing: bool = False  # can enforce a revocation (deactivate, delete, add a deny)
    # what of a user the event can change, so what must be re-read and can be judged (roles are read whole)
    reads: frozenset[Facet] = ALL_FACETS


def _user(param: str = "userName", **kw: Any) -> EventRule:
    return EventRule("user", param, **kw)


def _key(key_param: str, **kw: Any) -> EventRule:
    """An access key event: the user named (or, with no userName, the caller itself) and the key."""
    return EventRule("caller_user", "userName", key_param=key_param, reads=CREDENTIALS, **kw)


def _role(**kw: Any) -> EventRule:
    return EventRule("role", "roleName", **kw)


def _group() -> EventRule:
    return EventRule("group", "groupName", reads=ENTITLEMENTS)


ENTITLEMENTS = frozenset({Facet.ENTITLEMENTS})  # policies and groups changed: no login profile or key reads
CREDENTIALS = frozenset({Facet.CREDENTIALS})  # a key or password changed: no policy or group reads

# A table, not a chain of ifs: supporting an event is one row and one test.
EVENT_RULES: dict[str, EventRule] = {
    "CreateUser": _user(),
    "DeleteUser": _user(enforcing=True),
    "CreateAccessKey": EventRule(
        "caller_user", "userName", key_param="responseElements.accessKey.accessKeyId", reads=CREDENTIALS
    ),
    "UpdateAccessKey": EventRule("caller_user", "userName", key_param="accessKeyId", enforcing=True, reads=CREDENTIALS),
    "DeleteAccessKey": EventRule("caller_user", "userName", key_param="accessKeyId", enforcing=True, reads=CREDENTIALS),
    "CreateLoginProfile": _user(reads=CREDENTIALS),
    "DeleteLoginProfile": _user(enforcing=True, reads=CREDENTIALS),
    "AttachUserPolicy": _user(reads=ENTITLEMENTS),
    "DetachUserPolicy": _user(reads=ENTITLEMENTS),
    "PutUserPolicy": _user(enforcing=True),
    "DeleteUserPolicy": _user(reads=ENTITLEMENTS),
    "AddUserToGroup": _user(reads=ENTITLEMENTS),
    "RemoveUserFromGroup": _user(reads=ENTITLEMENTS),
    "TagUser": _user(),
    "UntagUser": _user(),
    "CreateRole": _role(),
    "DeleteRole": _role(enforcing=True),
    "AttachRolePolicy": _role(),
    "DetachRolePolicy": _role(),
    "PutRolePolicy": _role(enforcing=True),
    "DeleteRolePolicy": _role(),
    "UpdateAssumeRolePolicy": _role(),
    "TagRole": _role(),
    "UntagRole": _role(),
    "AttachGroupPolicy": _group(),
    "DetachGroupPolicy": _group(),
    "PutGroupPolicy": _group(),
    "DeleteGroupPolicy": _group(),
}


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
    """What one event asks the detector to evaluate."""

    refs: frozenset[IdentityRef]
    groups: frozenset[str] = frozenset()


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
    refs: set[IdentityRef] = set()
    groups: set[str] = set()
    name = _lookup(detail, rule.param)
    if rule.target == "group":
        if name:
            groups.add(name)
    elif rule.target == "role":
        if name:
            refs.add(IdentityRef(kind=Kind.ROLE, name=name))
    elif name:
        refs.add(IdentityRef(kind=Kind.USER, name=name))
    elif rule.target == "caller_user" and (who := caller(detail)) is not None and who.kind is Kind.USER:
        refs.add(who)  # a user acting on its own keys: no userName in the request
    if rule.key_param and (key := _lookup(detail, rule.key_param)):
        refs.add(IdentityRef(kind=Kind.ACCESS_KEY, name=key))
    return Touched(refs=frozenset(refs), groups=frozenset(groups))


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


def enforcement_evidence(detail: CloudTrailDetail) -> Enforcement:
    return Enforcement(
        source="cloudtrail",
        at=detail.eventTime,
        event_id=detail.eventID,
        event_name=detail.eventName,
        actor_arn=detail.userIdentity.arn,
    )


def group_member_refs(users: list[str]) -> list[IdentityRef]:
    """A group policy change touches every member of the group."""
    return [IdentityRef(kind=Kind.USER, name=name) for name in users]
