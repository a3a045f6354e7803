"""Safe enforcement of unenforced revocations (opt-in): a plan of reversible IAM steps, never a deletion.

- a revoked access key: deactivate exactly that key (never the user's other keys);
- a revoked user: deactivate its active keys, delete its console login profile, and deny its temporary sessions
  issued before now (``aws:TokenIssueTime``);
- a revoked role: deny its sessions issued before now (the ``AWSRevokeOlderSessions`` pattern, AWS-FACTS section 3).

Protected principals are never touched: AWS-owned and driftline's own identities (the exclusions) and the
configured break-glass list. They appear in the plan as skipped, with the reason.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import StrEnum
from fnmatch import fnmatchcase

from pydantic import BaseModel, ConfigDict

from driftline.domain.drift import Comparison, RevocationState
from driftline.domain.identity import IdentityRef, Kind
from driftline.domain.observed import Inventory
from driftline.domain.settings import CompareSettings

SESSION_DENY_POLICY = "DriftlineRevokeOlderSessions"


class Step(StrEnum):
    DEACTIVATE_KEY = "deactivate-access-key"
    DELETE_LOGIN_PROFILE = "delete-login-profile"
    DENY_USER_SESSIONS = "deny-user-sessions-issued-before"
    DENY_ROLE_SESSIONS = "deny-role-sessions-issued-before"


class Action(BaseModel):
    """One reversible IAM step, or a step driftline refuses to take (``skipped`` says why)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    revocation: IdentityRef
    step: Step
    target: str
    user: str | None = None
    policy_document: str | None = None
    skipped: str | None = None

    @property
    def description(self) -> str:
        what = f"{self.step.value} {self.target}"
        return f"SKIP {what}: {self.skipped}" if self.skipped else what


def session_deny_document(before: datetime) -> str:
    cutoff = before.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DriftlineRevokeOlderSessions",
                    "Effect": "Deny",
                    "Action": "*",
                    "Resource": "*",
                    "Condition": {"DateLessThan": {"aws:TokenIssueTime": cutoff}},
                }
            ],
        }
    )


def protected_reason(
    ref: IdentityRef, path: str, settings: CompareSettings, break_glass: tuple[str, ...]
) -> str | None:
    if any(fnmatchcase(ref.name, pattern) for pattern in break_glass):
        return "break-glass principal"
    if settings.exclusions.excludes(ref.name, path, ref.kind):
        return "protected principal (AWS-owned or driftline's own)"
    return None


def _user_actions(ref: IdentityRef, inventory: Inventory, now: datetime) -> list[Action]:
    user = inventory.users.get(ref.name)
    if user is None:
        return []
    actions = [
        Action(revocation=ref, step=Step.DEACTIVATE_KEY, target=k.access_key_id, user=user.name)
        for k in inventory.keys_of(user.name)
        if k.active
    ]
    if user.password_enabled:
        actions.append(Action(revocation=ref, step=Step.DELETE_LOGIN_PROFILE, target=user.name))
    actions.append(
        Action(
            revocation=ref, step=Step.DENY_USER_SESSIONS, target=user.name, policy_document=session_deny_document(now)
        )
    )
    return actions


def plan_enforcement(
    comparison: Comparison,
    inventory: Inventory,
    settings: CompareSettings,
    now: datetime,
    break_glass: tuple[str, ...] = (),
) -> list[Action]:
    """The steps that would enforce every unenforced revocation of ``comparison``."""
    actions: list[Action] = []
    for check in comparison.revocations:
        if check.state is not RevocationState.UNENFORCED:
            continue
        ref = check.identity
        if ref.kind is Kind.ACCESS_KEY:
            key = inventory.keys.get(ref.name)
            if key is None or not key.active:
                continue
            owner = IdentityRef(kind=Kind.USER, name=key.user_name)
            owner_path = inventory.users[key.user_name].path if key.user_name in inventory.users else "/"
            found = [Action(revocation=ref, step=Step.DEACTIVATE_KEY, target=key.access_key_id, user=key.user_name)]
            reason = protected_reason(owner, owner_path, settings, break_glass)
        elif ref.kind is Kind.USER:
            found = _user_actions(ref, inventory, now)
            user = inventory.users.get(ref.name)
            reason = protected_reason(ref, user.path if user else "/", settings, break_glass)
        else:
            role = inventory.roles.get(ref.name)
            if role is None:
                continue
            found = [
                Action(
                    revocation=ref,
                    step=Step.DENY_ROLE_SESSIONS,
                    target=role.name,
                    policy_document=session_deny_document(now),
                )
            ]
            reason = protected_reason(ref, role.path, settings, break_glass)
        actions.extend(a.model_copy(update={"skipped": reason}) if reason else a for a in found)
    return actions
