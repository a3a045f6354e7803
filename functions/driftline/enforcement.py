"""Enforce mode: carry out a plan of reversible steps, writing each to the ledger before and after it runs.

A failed step leaves the revocation unenforced with the error in the ledger; the next evaluation plans it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from driftline.domain.enforcement import Action
from driftline.domain.errors import DriftlineError
from driftline.domain.ledger import ActionLog, LedgerRecord, log_action
from driftline.domain.registry import RegistryEntry
from driftline.revocations import Ledger, iso


class Enforcer(Protocol):
    def apply(self, action: Action) -> None: ...


@dataclass(frozen=True)
class EnforcementSettings:
    """How a deployment enforces: ``report`` only plans (and logs the plan); ``enforce`` acts."""

    mode: Literal["report", "enforce"] = "report"
    break_glass: tuple[str, ...] = ()
    enforcer: Enforcer | None = None


class EnforcementReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    planned: list[str] = Field(default_factory=list)
    applied: list[str] = Field(default_factory=list)
    failed: dict[str, str] = Field(default_factory=dict)
    skipped: list[str] = Field(default_factory=list)


def _log(ledger: Ledger, account_id: str, entry: RegistryEntry, item: ActionLog) -> None:
    assert entry.revoked_at is not None

    def change(current: LedgerRecord | None) -> LedgerRecord | None:
        return log_action(current, item) if current is not None else None

    if ledger.update(account_id, entry.ref.key, iso(entry.revoked_at), change) is None:
        raise DriftlineError(f"no ledger record for {entry.ref}: refusing to act without writing the intent first")


def enforce(
    account_id: str,
    actions: list[Action],
    entries: dict[str, RegistryEntry],
    *,
    enforcer: Enforcer,
    ledger: Ledger,
    now: datetime,
) -> EnforcementReport:
    """Apply every action that is not skipped; ``entries`` maps identity keys to their (revoked) entries."""
    report = EnforcementReport(planned=[a.description for a in actions])
    for action in actions:
        if action.skipped:
            report.skipped.append(action.description)
            continue
        entry = entries[action.revocation.key]
        _log(
            ledger,
            account_id,
            entry,
            ActionLog(step=action.step.value, target=action.target, status="intended", at=now),
        )
        try:
            enforcer.apply(action)
        except DriftlineError as exc:
            _log(
                ledger,
                account_id,
                entry,
                ActionLog(step=action.step.value, target=action.target, status="failed", at=now, error=str(exc)),
            )
            report.failed[action.description] = str(exc)
            continue
        _log(ledger, account_id, entry, ActionLog(step=action.step.value, target=action.target, status="done", at=now))
        report.applied.append(action.description)
    return report
