"""Enforce mode: carry out a plan of reversible steps, writing each to the ledger before and after it runs; and the
operator's undo of those steps (``restore_access``).

A failed step leaves the revocation unenforced with the error in the ledger; the next evaluation plans it again. When
the identity's managed-policy quota is full, the deny policy is set as its permissions boundary instead, with the
previous boundary kept in the ledger so the undo can put it back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from driftline.domain.enforcement import Action, Protections, Step
from driftline.domain.errors import DriftlineError, PolicyQuotaFull
from driftline.domain.identity import IdentityRef, Kind
from driftline.domain.ledger import ActionLog, LedgerRecord, log_action
from driftline.domain.observed import Inventory
from driftline.domain.registry import RegistryEntry
from driftline.domain.times import iso
from driftline.service.ports import Enforcer, Ledger, Restorer


@dataclass(frozen=True)
class EnforcementSettings:
    """How a deployment enforces: ``report`` only plans (and logs the plan); ``enforce`` acts."""

    protections: Protections
    mode: Literal["report", "enforce"] = "report"
    enforcer: Enforcer | None = None


class EnforcementReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    planned: list[str] = Field(default_factory=list)
    applied: list[str] = Field(default_factory=list)
    failed: dict[str, str] = Field(default_factory=dict)
    skipped: list[str] = Field(default_factory=list)


Status = Literal["intended", "done", "failed", "undone"]


def action_log(action: Action, status: Status, at: datetime, **kw: str) -> ActionLog:
    return ActionLog(
        step=action.step.value,
        target=action.target,
        status=status,
        at=at,
        credential=action.credential,
        user=action.user,
        kind=action.kind.value if action.kind else None,
        policy_arn=action.policy_arn,
        previous=action.previous,
        **kw,
    )


def action_of(record: LedgerRecord, item: ActionLog) -> Action:
    """The step a ledger line describes, rebuilt for the undo."""
    return Action(
        revocation=IdentityRef.parse(record.identity),
        step=Step(item.step),
        target=item.target,
        user=item.user,
        kind=Kind(item.kind) if item.kind else None,
        policy_arn=item.policy_arn,
        previous=item.previous,
    )


def _log(ledger: Ledger, account_id: str, entry: RegistryEntry, item: ActionLog) -> None:
    assert entry.revoked_at is not None

    def change(current: LedgerRecord | None) -> LedgerRecord | None:
        return log_action(current, item) if current is not None else None

    if ledger.update(account_id, entry.ref.key, iso(entry.revoked_at), change) is None:
        raise DriftlineError(f"no ledger record for {entry.ref}: refusing to act without writing the intent first")


def _run(enforcer: Enforcer, action: Action, inventory: Inventory) -> Action:
    """Apply ``action``; on a full managed-policy quota, the same deny as a permissions boundary. Returns the step
    that was carried out."""
    try:
        enforcer.apply(action)
    except PolicyQuotaFull:
        principal = inventory.principal(action.revocation) if action.kind else None
        fallback = action.fallback_boundary(principal.permissions_boundary if principal else None)
        enforcer.apply(fallback)
        return fallback
    return action


def enforce(
    account_id: str,
    actions: list[Action],
    entries: dict[str, RegistryEntry],
    *,
    enforcer: Enforcer,
    ledger: Ledger,
    inventory: Inventory,
    now: datetime,
) -> EnforcementReport:
    """Apply every action that is not skipped; ``entries`` maps identity keys to their (revoked) entries."""
    report = EnforcementReport(planned=[a.description for a in actions])
    for action in actions:
        if action.skipped:
            report.skipped.append(action.description)
            continue
        entry = entries[action.revocation.key]
        _log(ledger, account_id, entry, action_log(action, "intended", now))
        try:
            done = _run(enforcer, action, inventory)
        except DriftlineError as exc:
            _log(ledger, account_id, entry, action_log(action, "failed", now, error=str(exc)))
            report.failed[action.description] = str(exc)
            continue
        _log(ledger, account_id, entry, action_log(done, "done", now))
        report.applied.append(action.description)
    return report


# -- the undo ----------------------------------------------------------------------------------------------------
def undo_command(action: Action) -> str:
    """The ``aws iam`` call that reverses one step, for operators who undo by hand (README, "Undo")."""
    user = f"--user-name {action.user}"
    principal = "role" if action.kind is Kind.ROLE else "user"
    if action.step is Step.DEACTIVATE_KEY:
        return f"aws iam update-access-key {user} --access-key-id {action.target} --status Active"
    if action.step is Step.DEACTIVATE_SSH_KEY:
        return f"aws iam update-ssh-public-key {user} --ssh-public-key-id {action.target} --status Active"
    if action.step is Step.DEACTIVATE_SERVICE_CREDENTIAL:
        return (
            f"aws iam update-service-specific-credential {user} "
            f"--service-specific-credential-id {action.target} --status Active"
        )
    if action.step is Step.DEACTIVATE_SIGNING_CERTIFICATE:
        return f"aws iam update-signing-certificate {user} --certificate-id {action.target} --status Active"
    if action.step is Step.ATTACH_DENY_POLICY:
        return f"aws iam detach-{principal}-policy --{principal}-name {action.target} --policy-arn {action.policy_arn}"
    if action.previous:
        return (
            f"aws iam put-{principal}-permissions-boundary --{principal}-name {action.target} "
            f"--permissions-boundary {action.previous}"
        )
    return f"aws iam delete-{principal}-permissions-boundary --{principal}-name {action.target}"


def steps_to_undo(record: LedgerRecord) -> list[ActionLog]:
    """driftline's completed steps on the record that no later ``undone`` line reversed, newest first."""
    open_steps: list[ActionLog] = []
    for item in record.actions:
        if item.status == "done":
            open_steps.append(item)
        elif item.status == "undone":
            open_steps = [a for a in open_steps if (a.step, a.target) != (item.step, item.target)]
    return list(reversed(open_steps))


def restore_access(
    account_id: str, record: LedgerRecord, *, restorer: Restorer | None, ledger: Ledger, now: datetime
) -> list[tuple[Action, str]]:
    """Reverse every step driftline took on the revocation of ``record`` (none when ``restorer`` is None: a dry
    run), each written to the ledger as ``undone``. Returns each step with its ``aws iam`` equivalent."""
    done: list[tuple[Action, str]] = []
    for item in steps_to_undo(record):
        action = action_of(record, item)
        if restorer is not None:
            restorer.undo(action)
            line = action_log(action, "undone", now)
            ledger.update(
                account_id,
                record.identity,
                iso(record.requested_at),
                lambda current, line=line: log_action(current, line) if current is not None else None,  # type: ignore[misc]
            )
        done.append((action, undo_command(action)))
    return done
