"""What one IAM event did to the ways its identities can act, as the ledger's credential changes.

An event counts as enforcing only by its *content* and only when the re-read confirms it: ``UpdateAccessKey`` with
``status: Inactive`` (not ``Active``) and the key not Active now; a policy attached or put that IAM now shows denying
the principal everything (an ordinary ``Allow`` never counts); a boundary that now allows nothing; a trust policy that
now admits nobody; a user or role that is gone. Enabling changes (a key created or re-activated, a password created,
a deny detached) are recorded too, so a credential's *last* disabling is known whatever order events arrive in.

Credential tokens follow ``domain.revocation``: ``access_key:<id>``, ``password``, ``ssh-public-key:<id>``,
``service-specific-credential:<id>``, ``signing-certificate:<id>``, ``role-session``; ``*`` is the whole identity.
A user's changes apply to its keys' revocations too (a deny on the user stops its keys).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Literal

from driftline.domain.credit import WHOLE, CredentialChange
from driftline.domain.identity import IdentityRef, Kind
from driftline.domain.observed import Inventory, ObservedPrincipal
from driftline.domain.policy import session_deny
from driftline.domain.revocation import PASSWORD, ROLE_SESSION, key_token
from driftline.triggers.callers import caller_of, clipped_arn
from driftline.triggers.cloudtrail import CloudTrailDetail, caller

Effect = Literal["disable", "enable"]
# (credential token, effect) an event proposes, before the re-read is asked to confirm it.
Proposal = tuple[str, Effect]

# Request parameter names of other credentials (CloudTrail lower-cases the first letter of the API's name, which
# turns SSHPublicKeyId into sSHPublicKeyId; both spellings are accepted).
_OTHER_IDS = {
    "ssh-public-key": ("sSHPublicKeyId", "sshPublicKeyId"),
    "service-specific-credential": ("serviceSpecificCredentialId",),
    "signing-certificate": ("certificateId",),
}
_CREATED = {
    "UploadSSHPublicKey": ("ssh-public-key", ("sSHPublicKey", "sshPublicKey")),
    "CreateServiceSpecificCredential": ("service-specific-credential", ("serviceSpecificCredential",)),
    "UploadSigningCertificate": ("signing-certificate", ("certificate",)),
}


def _param(detail: CloudTrailDetail, *names: str) -> str | None:
    params = detail.requestParameters or {}
    return next((v for n in names if isinstance(v := params.get(n), str) and v), None)


def _status_effect(detail: CloudTrailDetail) -> Effect | None:
    status = _param(detail, "status")
    return "disable" if status == "Inactive" else "enable" if status == "Active" else None


def _created_id(detail: CloudTrailDetail, containers: tuple[str, ...], kind: str) -> str | None:
    answer = detail.responseElements or {}
    for container in containers:
        node = answer.get(container)
        if isinstance(node, Mapping):
            value = next((node.get(n) for n in _OTHER_IDS[kind] if isinstance(node.get(n), str)), None)
            if value:
                return str(value)
    return None


def _deny_document(detail: CloudTrailDetail) -> bool | None:
    """Whether the event's own policy document denies everything unconditionally; None when CloudTrail left it out
    (then only the re-read can tell)."""
    document = (detail.requestParameters or {}).get("policyDocument")
    if not isinstance(document, str):
        return None
    try:
        parsed = json.loads(document)
    except ValueError:
        return None
    found = session_deny("event", parsed)
    return found is not None and found.unconditional


def _proposals(detail: CloudTrailDetail) -> list[Proposal]:  # noqa: C901 - one branch per event family, flat
    name = detail.eventName
    if name in ("UpdateAccessKey", "DeleteAccessKey", "CreateAccessKey"):
        key = _param(detail, "accessKeyId") or _created_key(detail)
        effect = {"DeleteAccessKey": "disable", "CreateAccessKey": "enable"}.get(name) or _status_effect(detail)
        return [(key_token(key), effect)] if key and effect else []  # type: ignore[list-item]
    if name in ("DeleteLoginProfile", "CreateLoginProfile"):
        return [(PASSWORD, "disable" if name.startswith("Delete") else "enable")]
    if name in _CREATED:
        kind, containers = _CREATED[name]
        created = _created_id(detail, containers, kind)
        return [(f"{kind}:{created}", "enable")] if created else []
    for kind, params in _OTHER_IDS.items():
        if name.endswith(_credential_noun(kind)) and (credential := _param(detail, *params)):
            effect = "disable" if name.startswith("Delete") else _status_effect(detail)
            return [(f"{kind}:{credential}", effect)] if effect else []
    if name in ("DeleteUser", "DeleteRole", "AttachUserPolicy", "AttachRolePolicy"):
        return [(WHOLE, "disable")]
    if name in ("PutUserPolicy", "PutRolePolicy"):
        return [] if _deny_document(detail) is False else [(WHOLE, "disable")]
    if name in ("PutUserPermissionsBoundary", "PutRolePermissionsBoundary"):
        return [(WHOLE, "disable")]
    if name in _REOPENING:
        return [(WHOLE, "enable")]
    if name == "UpdateAssumeRolePolicy":
        return [(ROLE_SESSION, "disable"), (ROLE_SESSION, "enable")]  # the re-read says which
    return []


_REOPENING = frozenset(
    {
        "DetachUserPolicy",
        "DetachRolePolicy",
        "DeleteUserPolicy",
        "DeleteRolePolicy",
        "DeleteUserPermissionsBoundary",
        "DeleteRolePermissionsBoundary",
    }
)


def _credential_noun(kind: str) -> str:
    return {
        "ssh-public-key": "SSHPublicKey",
        "service-specific-credential": "ServiceSpecificCredential",
        "signing-certificate": "SigningCertificate",
    }[kind]


def _created_key(detail: CloudTrailDetail) -> str | None:
    node = (detail.responseElements or {}).get("accessKey")
    value = node.get("accessKeyId") if isinstance(node, Mapping) else None
    return value if isinstance(value, str) else None


# -- confirmation by the re-read ---------------------------------------------------------------------------------
def _subject(detail: CloudTrailDetail) -> IdentityRef | None:
    """The principal the event changed: the user or role it names, else the calling user."""
    if (role := _param(detail, "roleName")) is not None:
        return IdentityRef(kind=Kind.ROLE, name=role)
    if (user := _param(detail, "userName")) is not None:
        return IdentityRef(kind=Kind.USER, name=user)
    who = caller(detail)
    return who if who is not None and who.kind is Kind.USER else None


def _confirmed(token: str, effect: Effect, principal: ObservedPrincipal | None, inventory: Inventory) -> bool:
    """Whether IAM, read after the event, shows what the change claims."""
    if token == WHOLE:
        denied = principal is None or principal.denied_everything is not None
        return denied if effect == "disable" else not denied
    if token == ROLE_SESSION:
        nobody = principal is None or getattr(principal, "assumable_by", None) == ()
        return nobody if effect == "disable" else not nobody
    if effect == "enable":
        return True  # an enabling change is recorded as the event says: it can only reduce credit, never add it
    if token == PASSWORD:
        return principal is None or not getattr(principal, "password_enabled", False)
    kind, _, credential = token.partition(":")
    if kind == "access_key":
        key = inventory.keys.get(credential)
        return key is None or not key.active
    others = getattr(principal, "other_credentials", None) or ()
    return not any(c.credential_id == credential and c.active for c in others)


def credential_changes(detail: CloudTrailDetail) -> Callable[[Inventory], dict[IdentityRef, list[CredentialChange]]]:
    """For the re-read inventory: the confirmed changes this event made, per identity (the principal, and for a user
    its keys that the change concerns)."""

    who = caller_of(detail.userIdentity)

    def changes(inventory: Inventory) -> dict[IdentityRef, list[CredentialChange]]:
        subject = _subject(detail)
        if subject is None:
            return {}
        principal = inventory.principal(subject)
        found: dict[IdentityRef, list[CredentialChange]] = {}
        for token, effect in _proposals(detail):
            if not _confirmed(token, effect, principal, inventory):
                continue
            change = CredentialChange(
                credential=token,
                effect=effect,
                at=detail.eventTime,
                event_id=detail.eventID,
                event_name=detail.eventName,
                actor_arn=clipped_arn(detail.userIdentity),
                actor=who.display,
            )
            for ref in _affected(subject, token, inventory):
                found.setdefault(ref, []).append(change)
        return found

    return changes


def _affected(subject: IdentityRef, token: str, inventory: Inventory) -> list[IdentityRef]:
    refs = [subject]
    if subject.kind is Kind.USER:
        if token.startswith("access_key:"):
            refs.append(IdentityRef(kind=Kind.ACCESS_KEY, name=token.partition(":")[2]))
        elif token == WHOLE:
            refs += [k.ref for k in inventory.keys_of(subject.name)]
    return refs


def attempted(detail: CloudTrailDetail) -> tuple[list[IdentityRef], str] | None:
    """For a *failed* call: the identities an enforcing call tried to act on (a key's user and the key), and what it
    tried to disable; None when the call would not have enforced anything (e.g. ``UpdateAccessKey`` to ``Active``, or
    an ``Allow`` policy)."""
    tokens = [t for t, e in _proposals(detail) if e == "disable"]
    subject = _subject(detail)
    if not tokens or subject is None:
        return None
    token = tokens[0]
    if token.startswith("access_key:") and subject.kind is Kind.USER:
        key = token.partition(":")[2]
        return [subject, IdentityRef(kind=Kind.ACCESS_KEY, name=key)], f"access key {key}"
    return [subject], subject.label if token in (WHOLE, ROLE_SESSION) else token.replace(":", " ")
