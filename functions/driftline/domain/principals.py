"""Principals that may assume a role, in one canonical text form shared by the registry and the trust reader.

Forms (``Type:value``, the ``Principal`` element's own type names):

- ``*``: anyone (``"Principal": "*"``, ``{"AWS": "*"}``, or an ``Allow`` with ``NotPrincipal``);
- ``AWS:123456789012``: an account (its root ARN ``arn:aws:iam::123456789012:root`` is the same principal);
- ``AWS:<arn>``: a role, user or session ARN, kept as written;
- ``Service:<service principal>``, lower case (``Service:lambda.amazonaws.com``);
- ``Federated:<provider>`` and ``Federated:<provider>#sub=<pattern>`` when a web-identity ``StringEquals`` or
  ``StringLike`` condition on ``<provider>:sub`` narrows who of that provider can assume the role (a GitHub OIDC
  ``repo:org/repo:ref:refs/heads/main``). ``Federated:<provider>`` without a subject admits every subject.

In the registry a bare 12-digit account id or an ARN may be written without ``AWS:`` (an ``oidc-provider/`` or
``saml-provider/`` ARN is read as ``Federated:``); service principals and other federated providers need their type,
since a name like ``cognito-identity.amazonaws.com`` is a provider and not a service.
"""

from __future__ import annotations

import re

ANYONE = "*"
SUBJECT = "#sub="
MAX_PRINCIPAL_CHARS = 1024
_ACCOUNT = re.compile(r"^\d{12}$")
_ROOT = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):root$")
_PROVIDER_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:(oidc|saml)-provider/.+$")
TYPES = {"aws": "AWS", "service": "Service", "federated": "Federated", "canonicaluser": "CanonicalUser"}


def canonical(kind: str, value: str, subject: str | None = None) -> str:
    """The canonical form of one principal of ``kind`` (a ``Principal`` element type) and its subject pattern."""
    if kind == "AWS":
        if value == ANYONE:
            return ANYONE
        root = _ROOT.match(value)
        return f"AWS:{root.group(1) if root else value}"
    if kind == "Service":
        return f"Service:{value.lower()}"
    if kind == "Federated":
        return f"Federated:{value}" + (f"{SUBJECT}{subject}" if subject is not None else "")
    return f"{kind}:{value}"


def parse_principal(text: str) -> str:
    """A registry-written principal in canonical form; ValueError with the reason when it is not one."""
    text = _bounded(text.strip())
    if text == ANYONE:
        return ANYONE
    base, has_subject, subject = text.partition(SUBJECT)
    prefix, colon, rest = base.partition(":")
    if colon and prefix.lower() in TYPES:
        kind, value = TYPES[prefix.lower()], rest.strip()
    elif _ACCOUNT.match(base) or base.startswith("arn:"):
        kind, value = ("Federated" if _PROVIDER_ARN.match(base) else "AWS"), base
    else:
        raise ValueError(
            f"trusted principal {text!r}: write AWS:<account id or ARN>, Service:<service principal>, "
            "Federated:<provider>[#sub=<subject pattern>] or *"
        )
    if not value:
        raise ValueError(f"trusted principal {text!r} names no {kind} principal")
    if has_subject:
        if kind != "Federated":
            raise ValueError(f"trusted principal {text!r}: only a Federated principal has a subject ({SUBJECT}...)")
        if not subject.strip():
            raise ValueError(f"trusted principal {text!r} has an empty subject pattern")
        return canonical(kind, value, subject.strip())
    return canonical(kind, value)


def _bounded(text: str) -> str:
    if not text:
        raise ValueError("a trusted principal is empty")
    if len(text) > MAX_PRINCIPAL_CHARS:
        raise ValueError(f"a trusted principal is longer than {MAX_PRINCIPAL_CHARS} characters: {text[:40]!r}...")
    if ";" in text:
        raise ValueError(f"trusted principal {text!r} contains ';', the CSV list separator (no IAM principal has one)")
    return text


def covers(approved: str, present: str) -> bool:
    """Whether an approved principal admits a present one: the same principal, ``*``, or a federated provider approved
    for every subject and present for one subject pattern. Subject patterns are compared as written (a pattern is
    never judged to contain another)."""
    return approved in (present, ANYONE) or (
        approved.startswith("Federated:") and SUBJECT not in approved and present.startswith(approved + SUBJECT)
    )


_ARN_ACCOUNT = re.compile(r"^arn:aws[a-z-]*:(?:iam|sts)::(\d{12}):")


def account_of(principal: str) -> str | None:
    """The account of an AWS principal in canonical form (``AWS:<id>`` or ``AWS:<ARN>``); None for anything else
    (services, providers, ``*``, or an ARN naming no account)."""
    if not principal.startswith("AWS:"):
        return None
    value = principal[4:]
    if _ACCOUNT.match(value):
        return value
    found = _ARN_ACCOUNT.match(value)
    return found.group(1) if found else None
