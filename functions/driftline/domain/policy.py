"""Reading the few policy shapes driftline must recognise: deny-everything and session-revoking inline policies.

IAM policy fields are "a string or a list" (``Action``, ``Resource``) and condition keys are case-insensitive; both
are normalised here, in one place. Reference: AWS-FACTS section 3 and
https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_revoke-sessions.html
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from driftline.domain.observed import SessionDeny


def ensure_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


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


def session_deny(policy_name: str, document: Mapping[str, Any] | None) -> SessionDeny | None:
    """Return a SessionDeny when the policy denies every action on every resource, unconditionally or for tokens
    issued before a time; None for any other policy."""
    if not isinstance(document, Mapping):
        return None
    for statement in ensure_list(document.get("Statement")):
        if not isinstance(statement, Mapping) or statement.get("Effect") != "Deny":
            continue
        if "*" not in ensure_list(statement.get("Action")) or "*" not in ensure_list(statement.get("Resource")):
            continue
        cutoff = _token_issue_cutoff(statement.get("Condition") or {})
        if cutoff is True:
            return SessionDeny(policy_name=policy_name, issued_before=None)
        if isinstance(cutoff, datetime):
            return SessionDeny(policy_name=policy_name, issued_before=cutoff)
    return None
