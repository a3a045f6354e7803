"""Reading the few policy shapes a revocation verdict depends on: deny-everything statements, session revocation,
permissions boundaries that allow nothing, and who a role's trust policy lets assume it.

IAM policy fields are "a string or a list" (``Action``, ``Resource``, ``Principal`` values) and condition operators
and keys are case-insensitive; both are normalised here, in one place. Every reading errs towards "can still act":
a shape this module does not recognise never counts as a lockout. References (IAM User Guide):
reference_policies_evaluation-logic.html (an explicit deny in an identity policy or boundary overrides any allow),
access_policies_boundaries.html (effective permissions are the intersection of identity policies and boundary),
id_roles_use_revoke-sessions.html (the ``aws:TokenIssueTime`` deny affects only sessions issued before its time),
reference_policies_elements_principal.html.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from fnmatch import fnmatchcase
from typing import Any, Literal

from driftline.domain.observed import SessionDeny
from driftline.domain.principals import ANYONE, SUBJECT, canonical

# What makes a role's session: the three AssumeRole* actions (sts:TagSession and the like only decorate one).
ASSUME_ACTIONS = ("sts:assumerole", "sts:assumerolewithsaml", "sts:assumerolewithwebidentity")
PRINCIPAL_TYPES = ("AWS", "Service", "Federated", "CanonicalUser")


def ensure_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _statements(document: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    if not isinstance(document, Mapping):
        return []
    return [s for s in ensure_list(document.get("Statement")) if isinstance(s, Mapping)]


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _token_issue_cutoff(condition: Mapping[str, Any]) -> datetime | None | bool:
    """The cutoff of a ``DateLessThan aws:TokenIssueTime`` condition; True when there is no condition at all;
    False when the condition is anything else (then the statement is not a clean session revocation)."""
    if not condition:
        return True
    if len(condition) != 1:
        return False
    ((operator, clauses),) = condition.items()
    if operator.lower() != "datelessthan" or not isinstance(clauses, Mapping) or len(clauses) != 1:
        return False
    ((key, value),) = clauses.items()
    if key.lower() != "aws:tokenissuetime":
        return False
    values = ensure_list(value)
    return _parse_time(values[0]) if len(values) == 1 else False


def _denies_every_action(statement: Mapping[str, Any]) -> bool:
    """``Effect: Deny`` on ``Action: *`` and ``Resource: *`` (``NotAction``/``NotResource`` never qualify: they leave
    something out)."""
    if statement.get("Effect") != "Deny" or "NotAction" in statement or "NotResource" in statement:
        return False
    return "*" in ensure_list(statement.get("Action")) and "*" in ensure_list(statement.get("Resource"))


def session_deny(
    policy_name: str, document: Mapping[str, Any] | None, via: Literal["inline", "managed"] = "inline"
) -> SessionDeny | None:
    """A SessionDeny when the policy denies every action on every resource, unconditionally (preferred when both
    appear) or for tokens issued before a time; None for any other policy."""
    cutoffs: list[datetime] = []
    for statement in _statements(document):
        if not _denies_every_action(statement):
            continue
        cutoff = _token_issue_cutoff(statement.get("Condition") or {})
        if cutoff is True:
            return SessionDeny(policy_name=policy_name, issued_before=None, via=via)
        if isinstance(cutoff, datetime):
            cutoffs.append(cutoff)
    return SessionDeny(policy_name=policy_name, issued_before=max(cutoffs), via=via) if cutoffs else None


def boundary_allows_nothing(document: Mapping[str, Any] | None) -> bool:
    """Whether a permissions boundary leaves the principal no permission at all: it has no ``Allow`` statement, or it
    denies every action unconditionally. An unreadable document allows (we cannot prove otherwise)."""
    statements = _statements(document)
    if not isinstance(document, Mapping) or "Statement" not in document:
        return False
    if not any(s.get("Effect") == "Allow" for s in statements):
        return True
    return any(_denies_every_action(s) and not s.get("Condition") for s in statements)


def boundary_deny(boundary_arn: str, document: Mapping[str, Any] | None) -> SessionDeny | None:
    return SessionDeny(policy_name=boundary_arn, via="boundary") if boundary_allows_nothing(document) else None


# -- trust policies --------------------------------------------------------------------------------------------------
def _action_matches(patterns: list[Any], action: str) -> bool:
    return any(isinstance(p, str) and fnmatchcase(action, p.lower()) for p in patterns)


def _grants_assume(statement: Mapping[str, Any]) -> bool:
    """Whether the statement's actions cover at least one AssumeRole* action (``NotAction`` covers what it omits)."""
    if "NotAction" in statement:
        excluded = ensure_list(statement.get("NotAction"))
        return any(not _action_matches(excluded, a) for a in ASSUME_ACTIONS)
    return any(_action_matches(ensure_list(statement.get("Action")), a) for a in ASSUME_ACTIONS)


def _covers_every_assume(statement: Mapping[str, Any]) -> bool:
    if "NotAction" in statement:
        return False
    actions = ensure_list(statement.get("Action"))
    return all(_action_matches(actions, a) for a in ASSUME_ACTIONS)


def _principals(value: Any, *, deny: bool = False) -> set[str]:
    """``"*"``, or ``Type:value`` for each principal of a ``Principal`` element (account ids and ARNs kept as
    written). Services may read ``{"AWS": "*"}`` differently from ``"*"`` (CDK's AnyPrincipal note), so each reading
    errs towards access: in an Allow it is everyone (``*``), in a Deny only AWS principals (``AWS:*``)."""
    if value == "*":
        return {"*"}
    found: set[str] = set()
    if isinstance(value, Mapping):
        for kind in PRINCIPAL_TYPES:
            for item in ensure_list(value.get(kind)):
                if isinstance(item, str):
                    found.add("*" if item == "*" and kind == "AWS" and not deny else f"{kind}:{item}")
    return found


def assumable_by(trust: Mapping[str, Any] | None) -> tuple[str, ...]:
    """Who the trust policy lets assume the role, sorted; empty when nobody can.

    An ``Allow`` of an AssumeRole* action names principals (a condition narrows, it does not remove: they are still
    listed); ``NotPrincipal`` in an ``Allow`` lets everyone else in (``*``). An unconditional ``Deny`` of every
    AssumeRole* action to ``*`` shuts everyone out; one that names principals removes exactly those. A trust policy
    that cannot be read is answered with ``*``: nothing proves the role cannot be assumed."""
    if not isinstance(trust, Mapping):
        return ("*",)
    allowed: set[str] = set()
    denied: set[str] = set()
    for statement in _statements(trust):
        effect = statement.get("Effect")
        if effect == "Allow" and _grants_assume(statement):
            allowed |= {"*"} if "NotPrincipal" in statement else _principals(statement.get("Principal"))
        elif (
            effect == "Deny"
            and not statement.get("Condition")
            and "NotPrincipal" not in statement
            and _covers_every_assume(statement)
        ):
            denied |= _principals(statement.get("Principal"), deny=True)
    if "*" in denied:
        return ()
    left = allowed - denied
    if "AWS:*" in denied:
        left = {p for p in left if not p.startswith("AWS:")}
    return tuple(sorted(left))


# -- trust policies, principal by principal (trust drift) -------------------------------------------------------------
_NARROWING = ("stringequals", "stringlike")


def _provider_host(provider: str) -> str:
    """The prefix of a provider's condition keys: the OIDC provider's URL without scheme (from its ARN), or the
    provider's own name (``cognito-identity.amazonaws.com``, ``accounts.google.com``)."""
    _, marker, host = provider.partition(":oidc-provider/")
    return (host if marker else provider).lower()


def _subjects(provider: str, condition: Any) -> list[str]:
    """The subject patterns a ``StringEquals``/``StringLike`` (or ``ForAnyValue:``) condition on ``<provider>:sub``
    allows; empty when nothing narrows the subject (``...IfExists`` or a negated operator never narrow)."""
    if not isinstance(condition, Mapping):
        return []
    wanted = f"{_provider_host(provider)}:sub"
    found: set[str] = set()
    for operator, clauses in condition.items():
        name = str(operator).lower().removeprefix("foranyvalue:")
        if name not in _NARROWING or not isinstance(clauses, Mapping):
            continue
        for key, value in clauses.items():
            if isinstance(key, str) and key.lower() == wanted:
                found |= {v for v in ensure_list(value) if isinstance(v, str)}
    return sorted(found)


def _trusted(value: Any, condition: Any = None, *, deny: bool = False) -> set[str]:
    """The canonical principals (``domain/principals.py``) of a ``Principal`` element; federated providers carry the
    subject patterns ``condition`` narrows them to. ``{"AWS": "*"}`` is anyone (``*``) in an Allow, and only every AWS
    principal (``AWS:*``) in a Deny: each reading errs towards access, as ``_principals`` above."""
    if value == ANYONE:
        return {ANYONE}
    found: set[str] = set()
    if not isinstance(value, Mapping):
        return found
    for kind in PRINCIPAL_TYPES:
        for item in ensure_list(value.get(kind)):
            if not isinstance(item, str) or not item.strip():
                continue
            item = item.strip()
            if deny and kind == "AWS" and item == ANYONE:
                found.add("AWS:*")
            elif kind == "Federated" and (subjects := _subjects(item, condition)):
                found |= {canonical(kind, item, s) for s in subjects}
            else:
                found.add(canonical(kind, item))
    return found


def _removed_by(denied: str, principal: str) -> bool:
    """Whether an unconditional Deny of ``denied`` shuts ``principal`` out (a provider denied for every subject
    removes each of its subjects; ``AWS:*`` only as ``*`` above)."""
    if denied == "AWS:*":
        return principal.startswith("AWS:")
    return principal == denied or (SUBJECT not in denied and principal.startswith(denied + SUBJECT))


def trusted_principals(trust: Mapping[str, Any] | None) -> dict[str, bool]:
    """Who the trust policy lets assume the role, in canonical form, each with whether some statement admits it
    without any ``Condition`` (True) or only under one (False). Empty: nobody.

    An ``Allow`` of an AssumeRole* action admits its principals whatever other conditions say (a conditional allow
    still admits: only a web-identity ``sub`` condition is kept, as the subject pattern); ``NotPrincipal`` in an
    ``Allow`` admits anyone. A ``Deny`` counts only when it is unconditional and covers every AssumeRole* action:
    of ``*`` it leaves nobody, of named principals it removes exactly those (an account denied does not remove the
    ARNs inside it), with ``NotPrincipal`` it leaves only the principals listed there. A document that cannot be
    read admits anyone, under a condition we could not read (``*``, False)."""
    if not isinstance(trust, Mapping):
        return {ANYONE: False}
    allowed: dict[str, bool] = {}
    denied: set[str] = set()
    only: list[set[str]] = []
    for statement in _statements(trust):
        effect, condition = statement.get("Effect"), statement.get("Condition")
        if effect == "Allow" and _grants_assume(statement):
            found = {ANYONE} if "NotPrincipal" in statement else _trusted(statement.get("Principal"), condition)
            for principal in found:
                allowed[principal] = allowed.get(principal, False) or not condition
        elif effect == "Deny" and not condition and _covers_every_assume(statement):
            if "NotPrincipal" in statement:
                only.append(_trusted(statement.get("NotPrincipal")))
            else:
                denied |= _trusted(statement.get("Principal"), deny=True)
    if ANYONE in denied:
        return {}
    left = {p: u for p, u in allowed.items() if not any(_removed_by(d, p) for d in denied)}
    for kept in only:
        left = _only(left, kept)
    return dict(sorted(left.items()))


def _only(left: dict[str, bool], kept: set[str]) -> dict[str, bool]:
    """What a Deny with ``NotPrincipal`` (every principal but ``kept``) leaves of ``left``."""
    if ANYONE in kept:
        return left
    narrowed = {p: u for p, u in left.items() if p != ANYONE and any(_removed_by(k, p) for k in kept)}
    if ANYONE in left:  # anyone, less everyone but the listed: the listed
        narrowed |= {k: left[ANYONE] or narrowed.get(k, False) for k in kept}
    return narrowed
