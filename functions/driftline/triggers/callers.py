"""Who made an IAM call: CloudTrail's ``userIdentity`` element, and a small pure ``Caller`` read from it.

Every documented ``userIdentity.type`` has a kind (CloudTrail User Guide, "CloudTrail userIdentity element"):
``IAMUser``, ``AssumedRole`` (the role behind the session is ``sessionContext.sessionIssuer``), ``Role``, ``Root``
(``userName`` is the account alias when one is set), ``FederatedUser`` (``GetFederationToken``: the issuer is an IAM
user or the root user), ``Directory``, ``AWSAccount`` (another account), ``AWSService`` (``invokedBy`` names the
service), ``IdentityCenterUser`` (``onBehalfOf.userId`` in ``onBehalfOf.identityStoreArn``), ``SAMLUser`` and
``WebIdentityUser`` (``identityProvider``), ``Unknown``; any other value is ``Unknown`` too. ``invokedBy`` may also
accompany a user or a role session (a service acting with its credentials, e.g. CloudFormation): it is kept as
``via``.

Reading a caller never fails: a field of an unexpected type is treated as absent, and every string kept is clipped,
so whatever a caller carries, what the ledger and a finding say about it stays bounded.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

FIELD_MAX = 256  # characters kept of one caller field (an IAM ARN with a long path still fits in most cases)
DISPLAY_MAX = 500  # characters of the whole display string


class SessionIssuer(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: str | None = None
    userName: str | None = None  # noqa: N815 - CloudTrail's field name
    arn: str | None = None


class SessionContext(BaseModel):
    model_config = ConfigDict(extra="ignore")

    sessionIssuer: SessionIssuer | None = None  # noqa: N815


class UserIdentity(BaseModel):
    """The ``userIdentity`` element. The fields the detector relies on (a user or role that may be revoked, the key
    that signed) are typed strictly; the ones only said to people are read leniently (``Any``), so an odd shape of
    one of them never turns a real IAM change away."""

    model_config = ConfigDict(extra="ignore")

    type: str | None = None
    arn: str | None = None
    userName: str | None = None  # noqa: N815
    accessKeyId: str | None = None  # noqa: N815
    accountId: str | None = None  # noqa: N815
    invokedBy: str | None = None  # noqa: N815
    sessionContext: SessionContext | None = None  # noqa: N815
    principalId: Any = None  # noqa: N815
    onBehalfOf: Any = None  # noqa: N815 - IdentityCenterUser: {"userId", "identityStoreArn"}
    identityProvider: Any = None  # noqa: N815 - SAMLUser / WebIdentityUser


class CallerKind(StrEnum):
    """``userIdentity.type``, as CloudTrail spells it."""

    IAM_USER = "IAMUser"
    ASSUMED_ROLE = "AssumedRole"
    ROLE = "Role"
    ROOT = "Root"
    FEDERATED_USER = "FederatedUser"
    DIRECTORY = "Directory"
    AWS_ACCOUNT = "AWSAccount"
    AWS_SERVICE = "AWSService"
    IDENTITY_CENTER_USER = "IdentityCenterUser"
    SAML_USER = "SAMLUser"
    WEB_IDENTITY_USER = "WebIdentityUser"
    UNKNOWN = "Unknown"


_BY_TYPE = {kind.value: kind for kind in CallerKind}
_LABELS = {
    CallerKind.IAM_USER: "IAM user",
    CallerKind.ASSUMED_ROLE: "role",
    CallerKind.ROLE: "role",
    CallerKind.ROOT: "root user",
    CallerKind.FEDERATED_USER: "federated user",
    CallerKind.DIRECTORY: "directory user",
    CallerKind.AWS_ACCOUNT: "AWS account",
    CallerKind.AWS_SERVICE: "AWS service",
    CallerKind.IDENTITY_CENTER_USER: "IAM Identity Center user",
    CallerKind.SAML_USER: "SAML user",
    CallerKind.WEB_IDENTITY_USER: "web identity user",
    CallerKind.UNKNOWN: "unknown caller",
}


@dataclass(frozen=True)
class Caller:
    """Who acted. ``name`` and ``arn`` are the identity answerable for the call: the IAM user; the role behind an
    assumed-role session (its session issuer); the IAM user or root user that issued a federated session; the
    service (``AWSService``); the Identity Center user id and its identity store's ARN. ``session`` is a temporary
    session's own name (the role session name, the federated user's name); ``via`` the AWS service that made the
    call on the caller's behalf (``invokedBy``) or the identity provider of a SAML or web identity user."""

    kind: CallerKind
    name: str | None = None
    arn: str | None = None
    account: str | None = None
    session: str | None = None
    via: str | None = None

    @property
    def display(self) -> str:
        """One line for people, e.g. ``role ops-admin, session alice@example.com (arn:aws:iam::…:role/ops-admin)``;
        at most ``DISPLAY_MAX`` characters."""
        return _clip(_describe(self), DISPLAY_MAX)


def _describe(who: Caller) -> str:
    label = _LABELS[who.kind]
    if who.kind is CallerKind.ROOT:
        text = f"root user of account {who.account or '(unknown)'}" + (f" (alias {who.name})" if who.name else "")
    elif who.kind is CallerKind.AWS_SERVICE:
        text = f"AWS service {who.name or '(unnamed)'}"
    elif who.kind is CallerKind.AWS_ACCOUNT:
        text = f"AWS account {who.account or '(unknown)'}" + (f" (principal {who.name})" if who.name else "")
    elif who.kind is CallerKind.FEDERATED_USER:
        issuer = f"IAM user {who.name}" if who.name else "the root user" if _is_root(who.arn) else "an unknown issuer"
        text = f"federated user {who.session or '(unnamed)'}, issued by {issuer}" + _paren(who.arn)
    elif who.kind is CallerKind.IDENTITY_CENTER_USER:
        text = f"{label} {who.name or '(unknown)'}" + (f" (identity store {who.arn})" if who.arn else "")
    elif who.kind is CallerKind.UNKNOWN and not (who.name or who.arn):
        text = "an unknown caller"
    else:
        session = f", session {who.session}" if who.session else ""
        text = f"{label} {who.name or '(unnamed)'}{session}" + _paren(who.arn)
    if who.via and who.kind is not CallerKind.AWS_SERVICE:
        text += f" via {who.via}"
    if who.account and who.kind not in (CallerKind.ROOT, CallerKind.AWS_ACCOUNT) and not who.arn:
        text += f" in account {who.account}"
    return text


def _paren(text: str | None) -> str:
    return f" ({text})" if text else ""


def _is_root(arn: str | None) -> bool:
    return bool(arn) and str(arn).endswith(":root")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _text(value: Any) -> str | None:
    """A non-empty string, clipped; anything else (absent, empty, a number, a list) is absent."""
    if not isinstance(value, str) or not value.strip():
        return None
    return _clip(value, FIELD_MAX)


def _arn_part(arn: str | None, resource: str, index: int) -> str | None:
    """Part ``index`` after ``resource/`` in an STS ARN (``assumed-role/ROLE/SESSION``, ``federated-user/NAME``),
    or None."""
    _, found, tail = (arn or "").partition(f":{resource}/")
    parts = tail.split("/") if found else []
    return _text(parts[index]) if index < len(parts) else None


def caller_of(identity: UserIdentity) -> Caller:
    """The caller of one CloudTrail record, whatever its ``userIdentity`` holds."""
    raw_type = _text(identity.type)
    kind = _BY_TYPE.get(raw_type or "", CallerKind.UNKNOWN)
    issuer = identity.sessionContext.sessionIssuer if identity.sessionContext else None
    arn, account, via = _text(identity.arn), _text(identity.accountId), _text(identity.invokedBy)
    user_name = _text(identity.userName)
    if kind is CallerKind.ASSUMED_ROLE:
        return Caller(
            kind=kind,
            name=_text(issuer.userName if issuer else None) or _arn_part(arn, "assumed-role", 0),
            arn=_text(issuer.arn if issuer else None) or arn,
            account=account,
            session=_arn_part(arn, "assumed-role", 1) or _after_colon(identity.principalId),
            via=via,
        )
    if kind is CallerKind.FEDERATED_USER:
        from_user = issuer is not None and issuer.type == "IAMUser"
        return Caller(
            kind=kind,
            name=_text(issuer.userName) if issuer is not None and from_user else None,
            arn=_text(issuer.arn if issuer else None),
            account=account,
            session=_arn_part(arn, "federated-user", 0) or _after_colon(identity.principalId),
            via=via,
        )
    if kind is CallerKind.AWS_SERVICE:
        return Caller(kind=kind, name=via, account=account)
    if kind is CallerKind.AWS_ACCOUNT:
        return Caller(kind=kind, name=_text(identity.principalId), account=account, via=via)
    if kind is CallerKind.IDENTITY_CENTER_USER:
        behalf = identity.onBehalfOf if isinstance(identity.onBehalfOf, dict) else {}
        return Caller(
            kind=kind,
            name=_text(behalf.get("userId")),
            arn=_text(behalf.get("identityStoreArn")),
            account=account,
            via=via,
        )
    if kind in (CallerKind.SAML_USER, CallerKind.WEB_IDENTITY_USER):
        return Caller(kind=kind, name=user_name, account=account, via=_text(identity.identityProvider) or via)
    if kind is CallerKind.ROOT:
        return Caller(kind=kind, name=user_name, arn=arn, account=account or _account_of(arn), via=via)
    name = user_name or (_text(identity.principalId) if kind is CallerKind.UNKNOWN else None)
    return Caller(kind=kind, name=name, arn=arn, account=account, via=via)


def clipped_arn(identity: UserIdentity) -> str | None:
    """``userIdentity.arn`` as the ledger keeps it (``actor_arn``): the caller's own ARN (an assumed-role session's
    ``arn:aws:sts::…:assumed-role/ROLE/SESSION``), clipped like every other caller field."""
    return _text(identity.arn)


def _after_colon(principal_id: Any) -> str | None:
    text = _text(principal_id)
    return _text(text.partition(":")[2]) if text and ":" in text else None


def _account_of(arn: str | None) -> str | None:
    """The account field of an ARN (``arn:aws:iam::123456789012:root``)."""
    parts = arn.split(":") if arn else []
    return _text(parts[4]) if len(parts) > 5 else None
