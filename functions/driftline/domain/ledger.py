"""The revocation ledger: one record per revocation, proving when it was enforced and by what.

Pure transitions; the adapter stores records with conditional (versioned) writes. A record moves
``pending`` -> ``unenforced`` (grace period passed) -> ``enforced`` | ``cancelled``. An enforced revocation that
IAM undoes (a key re-activated) goes back to ``unenforced``; every transition is kept in ``history``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from driftline.domain.drift import RevocationCheck, RevocationState
from driftline.domain.registry import RegistryEntry


class LedgerState(StrEnum):
    PENDING = "pending"
    UNENFORCED = "unenforced"
    ENFORCED = "enforced"
    CANCELLED = "cancelled"


OPEN_STATES = frozenset({LedgerState.PENDING, LedgerState.UNENFORCED})
CHECK_REFRESH = timedelta(days=1)


class Enforcement(BaseModel):
    """How a revocation was enforced: a CloudTrail event (with its actor), driftline's own action, or only observed
    by a reconcile (then ``at`` is the latest time it can have happened)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: Literal["cloudtrail", "driftline", "observed"]
    at: AwareDatetime
    event_id: str | None = None
    event_name: str | None = None
    actor_arn: str | None = None


class ActionLog(BaseModel):
    """One enforcement step driftline took, written before (``intended``) and after (``done`` / ``failed``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    step: str
    target: str
    status: Literal["intended", "done", "failed"]
    at: AwareDatetime
    error: str | None = None


class LedgerRecord(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    account_id: str
    identity: str
    requested_at: AwareDatetime
    requested_by: str | None = None
    ticket: str | None = None
    reason: str | None = None
    state: LedgerState
    opened_at: AwareDatetime
    first_seen_unenforced: AwareDatetime | None = None
    last_checked: AwareDatetime
    enforced: Enforcement | None = None
    seconds_to_enforce: float | None = None
    cancelled_at: AwareDatetime | None = None
    history: tuple[str, ...] = ()
    actions: tuple[ActionLog, ...] = ()
    version: int = Field(default=0, ge=0)

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


_FROM_CHECK = {
    RevocationState.PENDING: LedgerState.PENDING,
    RevocationState.UNENFORCED: LedgerState.UNENFORCED,
    RevocationState.ENFORCED: LedgerState.ENFORCED,
}


def _moved(record: LedgerRecord, state: LedgerState, now: datetime, **changes: object) -> LedgerRecord:
    entry = f"{now.isoformat()} {record.state.value} -> {state.value}"
    return record.model_copy(
        update={"state": state, "last_checked": now, "history": (*record.history, entry), **changes}
    )


def open_record(account_id: str, entry: RegistryEntry, now: datetime) -> LedgerRecord:
    assert entry.revoked_at is not None
    return LedgerRecord(
        account_id=account_id,
        identity=entry.ref.key,
        requested_at=entry.revoked_at,
        requested_by=entry.updated_by,
        ticket=entry.ticket,
        reason=entry.reason,
        state=LedgerState.PENDING,
        opened_at=now,
        last_checked=now,
        history=(f"{now.isoformat()} opened",),
    )


def advance(
    record: LedgerRecord, check: RevocationCheck, now: datetime, evidence: Enforcement | None = None
) -> LedgerRecord | None:
    """The record after ``check``; None when nothing worth writing changed (an enforced record stays as it is)."""
    target = _FROM_CHECK[check.state]
    if record.state is LedgerState.CANCELLED or (target is record.state and target is LedgerState.ENFORCED):
        return None
    if target is record.state:
        # Still open: refresh "last checked" once a day, not on every run (quiet runs should not write).
        due = record.is_open and now - record.last_checked >= CHECK_REFRESH
        return record.model_copy(update={"last_checked": now}) if due else None
    if target is LedgerState.ENFORCED:
        how = evidence or _own_action(record) or Enforcement(source="observed", at=now)
        seconds = max(0.0, (how.at - record.requested_at).total_seconds())
        return _moved(record, target, now, enforced=how, seconds_to_enforce=seconds)
    if target is LedgerState.UNENFORCED:
        first = record.first_seen_unenforced or now
        return _moved(record, target, now, first_seen_unenforced=first, enforced=None, seconds_to_enforce=None)
    return _moved(record, target, now)


def _own_action(record: LedgerRecord) -> Enforcement | None:
    """driftline's own completed steps, if it enforced the revocation itself."""
    done = [a for a in record.actions if a.status == "done"]
    if not done:
        return None
    steps = ", ".join(sorted({a.step for a in done}))
    return Enforcement(source="driftline", at=max(a.at for a in done), event_name=steps)


def log_action(record: LedgerRecord, action: ActionLog) -> LedgerRecord:
    return record.model_copy(update={"actions": (*record.actions, action)})


def cancel(record: LedgerRecord, now: datetime) -> LedgerRecord | None:
    """The registry restored the identity before the revocation was enforced."""
    if not record.is_open:
        return None
    return _moved(record, LedgerState.CANCELLED, now, cancelled_at=now)
