"""The revocation ledger: one record per revocation, proving when it was enforced and by what.

Pure transitions; the adapter stores records with conditional (versioned) writes. A record moves
``pending`` -> ``unenforced`` (grace period passed) -> ``enforced`` | ``cancelled``. An enforced revocation that
IAM undoes (a key re-activated) goes back to ``pending`` or ``unenforced`` and loses its evidence; every transition
is kept in ``history`` (``"<time> <from> -> <to>"``), which also dates the last regression and the time the record was
last seen becoming enforced.

Which change enforced a revocation: the latest enforcing change IAM had made when the record was seen becoming
enforced. Events can arrive out of order, so an enforced record is re-credited to a later-arriving event whose time
is after the recorded evidence and not after that sighting; an older event, or one after the sighting (IAM was
already enforced then), changes nothing.
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


_STATES = frozenset(s.value for s in LedgerState)


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
    """The record after ``check``; None when nothing worth writing changed (an enforced record stays as it is unless
    ``evidence`` re-credits it, see ``_recredit``)."""
    target = _FROM_CHECK[check.state]
    if record.state is LedgerState.CANCELLED:
        return None
    if target is record.state is LedgerState.ENFORCED:
        return _recredit(record, evidence, now)
    if target is record.state:
        # Still open: refresh "last checked" once a day, not on every run (quiet runs should not write).
        due = record.is_open and now - record.last_checked >= CHECK_REFRESH
        return record.model_copy(update={"last_checked": now}) if due else None
    if target is LedgerState.ENFORCED:
        how = evidence or _own_action(record) or Enforcement(source="observed", at=now)
        return _moved(record, target, now, enforced=how, seconds_to_enforce=_seconds(record, how))
    # Open again (first time, or IAM undid the enforcement): an open revocation has no enforcement evidence.
    if target is LedgerState.UNENFORCED:
        first = record.first_seen_unenforced or now
        return _moved(record, target, now, first_seen_unenforced=first, enforced=None, seconds_to_enforce=None)
    return _moved(record, target, now, enforced=None, seconds_to_enforce=None)


def _seconds(record: LedgerRecord, how: Enforcement) -> float:
    return max(0.0, (how.at - record.requested_at).total_seconds())


def _recredit(record: LedgerRecord, evidence: Enforcement | None, now: datetime) -> LedgerRecord | None:
    """An enforced record credited to a later enforcing change that arrived late (events come out of order).

    When the record was seen becoming enforced, the change that completed the enforcement had already happened: the
    latest enforcing change up to that sighting is the best evidence. So ``evidence`` replaces the recorded one only
    when it is strictly later than it and not later than the sighting. The same event again, an older one, or one
    after the sighting (IAM was enforced already, so it completed nothing) gives None. Evidence of a record only
    ``observed`` is never replaced (its time is the sighting itself)."""
    current, seen = record.enforced, _last_move(record, into=LedgerState.ENFORCED)
    if evidence is None or current is None or seen is None or not current.at < evidence.at <= seen:
        return None
    entry = f"{now.isoformat()} re-credited: {_described(current)} replaced by {_described(evidence)}"
    return record.model_copy(
        update={
            "enforced": evidence,
            "seconds_to_enforce": _seconds(record, evidence),
            "last_checked": now,
            "history": (*record.history, entry),
        }
    )


def just_enforced(record: LedgerRecord) -> bool:
    """Whether the record's latest change was its move into enforced (a re-credit, say, is not): the moment to count
    its time to enforce, once per enforcement."""
    move = _move(record.history[-1]) if record.history else None
    return move is not None and move[2] == LedgerState.ENFORCED.value


def _described(how: Enforcement) -> str:
    return " ".join(filter(None, (how.event_name or how.source, how.event_id, "at", how.at.isoformat())))


def _last_move(
    record: LedgerRecord, *, into: LedgerState | None = None, out_of: LedgerState | None = None
) -> datetime | None:
    """When the record last moved into (or out of) a state, from its history; None if it never did."""
    for line in reversed(record.history):
        move = _move(line)
        if move is None:
            continue  # "opened", a re-credit
        stamp, before, after = move
        if (into is None or after == into.value) and (out_of is None or before == out_of.value):
            return datetime.fromisoformat(stamp)
    return None


def _move(line: str) -> tuple[str, str, str] | None:
    """(time, from, to) of a history line "<time> <from> -> <to>"; None for any other line."""
    stamp, _, text = line.partition(" ")
    before, arrow, after = text.partition(" -> ")
    return (stamp, before, after) if arrow and before in _STATES and after in _STATES else None


def _own_action(record: LedgerRecord) -> Enforcement | None:
    """driftline's own completed steps, if it enforced the revocation itself: only steps done since the last time
    IAM undid an enforcement (a step that a regression undid enforces nothing)."""
    since = _last_move(record, out_of=LedgerState.ENFORCED)
    done = [a for a in record.actions if a.status == "done" and (since is None or a.at >= since)]
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
