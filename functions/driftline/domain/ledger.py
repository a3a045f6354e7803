"""The revocation ledger: one record per revocation, proving when it was enforced and by what.

Pure transitions; the adapter stores records with conditional (versioned) writes. A record moves
``pending`` -> ``unenforced`` (grace period passed) -> ``enforced`` | ``cancelled``. An enforced revocation that
IAM undoes (a key re-activated) goes back to ``pending`` or ``unenforced`` and loses its evidence; every transition
is kept in ``history`` (``"<time> <from> -> <to>"``), which also dates the last regression and the time the record was
last seen becoming enforced.

Which change enforced a revocation (``credit.enforcing_change``): the record keeps every credential change it was
told of (CloudTrail events and driftline's own steps) and every way to act it saw usable since the revocation; the
enforcing change follows from those sets alone, so events arriving in any order, or hours late, give the same answer.
A complete answer replaces "observed" (enforced no later than the sighting); an answer after the sighting is no
answer (IAM was enforced already). Failed enforcing calls are kept as ``attempts``: who tried, when, and AWS's error.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from driftline.domain.credit import WHOLE, CredentialChange, enforcing_change, merge
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
    by a reconcile (then ``at`` is the latest time it can have happened). ``actor_arn`` is the caller's ARN when it
    has one; ``actor`` says who it was in every case (the root user, an AWS service, an Identity Center user…)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: Literal["cloudtrail", "driftline", "observed"]
    at: AwareDatetime
    event_id: str | None = None
    event_name: str | None = None
    actor_arn: str | None = None
    actor: str | None = None

    @classmethod
    def of(cls, change: CredentialChange) -> Enforcement:
        """The evidence a credited change gives."""
        return cls(
            source=change.source,
            at=change.at,
            event_id=change.event_id,
            event_name=change.event_name,
            actor_arn=change.actor_arn,
            actor=change.actor,
        )


class ActionLog(BaseModel):
    """One enforcement step driftline took, written before (``intended``) and after (``done`` / ``failed``), and
    ``undone`` when an operator reversed it. ``credential`` is the token the step disables (``*``: the identity);
    ``user``, ``kind``, ``policy_arn`` and ``previous`` are what the undo needs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    step: str
    target: str
    status: Literal["intended", "done", "failed", "undone"]
    at: AwareDatetime
    error: str | None = None
    note: str | None = None
    credential: str | None = None
    user: str | None = None
    kind: str | None = None
    policy_arn: str | None = None
    previous: str | None = None


class Attempt(BaseModel):
    """An enforcing call on the revoked identity that AWS refused (e.g. an SCP denied ``UpdateAccessKey``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    at: AwareDatetime
    event_name: str
    error_code: str
    event_id: str | None = None
    actor_arn: str | None = None
    target: str | None = None
    actor: str | None = None  # who tried, for people (records written before it carry only ``actor_arn``)

    @property
    def description(self) -> str:
        who = self.actor or self.actor_arn or "an unknown caller"
        what = f"{self.event_name}" + (f" on {self.target}" if self.target else "")
        return f"an attempt by {who} at {self.at.isoformat()} to {what} was denied ({self.error_code})"


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
    enforced_basis: str | None = None  # why nobody can act as it (deleted, denied everything, no credential, ...)
    seconds_to_enforce: float | None = None
    cancelled_at: AwareDatetime | None = None
    history: tuple[str, ...] = ()
    actions: tuple[ActionLog, ...] = ()
    usable_seen: tuple[str, ...] = ()
    # IAM's unique id of the revoked user or role, once seen: a rename keeps it, so the name vanishing is not a
    # deletion while the id lives on (domain/context.py ``revoked_principal``).
    principal_id: str | None = None
    changes: tuple[CredentialChange, ...] = ()
    attempts: tuple[Attempt, ...] = ()
    dropped: dict[str, int] = Field(default_factory=dict, description="lines left out by ``bounded``, by list")
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
    record: LedgerRecord, check: RevocationCheck, now: datetime, changes: Sequence[CredentialChange] = ()
) -> LedgerRecord | None:
    """The record after ``check`` and the credential ``changes`` an event brought; None when nothing worth writing
    changed (quiet runs do not write)."""
    if record.state is LedgerState.CANCELLED:
        return None
    learned = _learn(record, check, changes)
    base = learned or record
    target = _FROM_CHECK[check.state]
    if target is record.state is LedgerState.ENFORCED:
        return _recredit(base, now) or learned
    if target is record.state:
        # Still open: refresh "last checked" once a day, not on every run (quiet runs should not write).
        due = record.is_open and now - record.last_checked >= CHECK_REFRESH
        return base.model_copy(update={"last_checked": now}) if due or learned else None
    if target is LedgerState.ENFORCED:
        how = _credit(base, now) or Enforcement(source="observed", at=now)
        return _moved(
            base, target, now, enforced=how, enforced_basis=check.basis, seconds_to_enforce=_seconds(record, how)
        )
    # Open again (first time, or IAM undid the enforcement): an open revocation has no enforcement evidence.
    if target is LedgerState.UNENFORCED:
        first = record.first_seen_unenforced or now
        return _moved(
            base,
            target,
            now,
            first_seen_unenforced=first,
            enforced=None,
            enforced_basis=None,
            seconds_to_enforce=None,
        )
    return _moved(base, target, now, enforced=None, enforced_basis=None, seconds_to_enforce=None)


def _learn(record: LedgerRecord, check: RevocationCheck, changes: Sequence[CredentialChange]) -> LedgerRecord | None:
    """The record with the new changes and the ways to act this check saw usable; None when it knew them all."""
    merged = merge(record.changes, changes)
    usable = tuple(sorted(set(record.usable_seen) | set(check.credentials)))
    principal_id = check.principal_id or record.principal_id
    if merged == record.changes and usable == record.usable_seen and principal_id == record.principal_id:
        return None
    return record.model_copy(update={"changes": merged, "usable_seen": usable, "principal_id": principal_id})


def _seconds(record: LedgerRecord, how: Enforcement) -> float:
    return max(0.0, (how.at - record.requested_at).total_seconds())


def own_changes(record: LedgerRecord) -> list[CredentialChange]:
    """driftline's completed steps as credential changes (an undone step enabled its credential again)."""
    found = []
    for action in record.actions:
        if action.status in ("done", "undone"):
            found.append(
                CredentialChange(
                    credential=action.credential or WHOLE,
                    effect="disable" if action.status == "done" else "enable",
                    at=action.at,
                    source="driftline",
                    event_name=action.step,
                )
            )
    return found


def _credit(record: LedgerRecord, until: datetime) -> Enforcement | None:
    """The enforcing change the record's evidence proves, as the ledger's Enforcement; None if it proves none."""
    regressed = _last_move(record, out_of=LedgerState.ENFORCED)
    since = max(record.requested_at, regressed) if regressed else record.requested_at
    change = enforcing_change([*record.changes, *own_changes(record)], record.usable_seen, since=since, until=until)
    return Enforcement.of(change) if change is not None else None


def _recredit(record: LedgerRecord, now: datetime) -> LedgerRecord | None:
    """An enforced record whose evidence now proves another (or a complete) enforcing change: changes arrive out of
    order and late. The answer is computed up to the moment the record was seen becoming enforced; an answer that
    equals the recorded evidence, or none at all, leaves the record as it is."""
    current, seen = record.enforced, _last_move(record, into=LedgerState.ENFORCED)
    if current is None or seen is None:
        return None
    better = _credit(record, seen)
    if better is None or better == current:
        return None
    entry = f"{now.isoformat()} re-credited: {_described(current)} replaced by {_described(better)}"
    return record.model_copy(
        update={
            "enforced": better,
            "seconds_to_enforce": _seconds(record, better),
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


def log_action(record: LedgerRecord, action: ActionLog) -> LedgerRecord:
    return record.model_copy(update={"actions": (*record.actions, action)})


def log_attempt(record: LedgerRecord, attempt: Attempt) -> LedgerRecord | None:
    """The record with a refused enforcing call added; None when it is known already (a redelivered event)."""
    if any(a == attempt for a in record.attempts):
        return None
    return record.model_copy(update={"attempts": (*record.attempts, attempt)})


def ended_by(old: RegistryEntry | None, new: RegistryEntry | None) -> bool:
    """Whether a registry change ends the revocation the old entry held: restored, deleted, or revoked again at
    another time (which opens a record of its own)."""
    if old is None or not old.is_revoked or old.revoked_at is None:
        return False
    return new is None or not new.is_revoked or new.revoked_at != old.revoked_at


def opens(old: RegistryEntry | None, new: RegistryEntry | None) -> bool:
    """Whether a registry change starts a revocation: the new entry is revoked at a time the old one was not."""
    if new is None or not new.is_revoked or new.revoked_at is None:
        return False
    return old is None or not old.is_revoked or old.revoked_at != new.revoked_at


def cancel(record: LedgerRecord, now: datetime, *, superseded_by: datetime | None = None) -> LedgerRecord | None:
    """The registry restored the identity before the revocation was enforced, or (``superseded_by``) an operator
    dated the revocation anew (``registry revoke --at``): that revocation has its own record, and this one stays,
    closed, with the reason in its history."""
    if not record.is_open:
        return None
    moved = _moved(record, LedgerState.CANCELLED, now, cancelled_at=now)
    if superseded_by is None:
        return moved
    note = f"{now.isoformat()} superseded by the revocation dated {superseded_by.isoformat()}"
    return moved.model_copy(update={"history": (*moved.history, note)})


# A record must stay far below DynamoDB's 400 KB item limit whatever happens to it (a step failing every hour for
# months, a key toggled by an attacker): each list keeps its head and its tail, and counts what it left out.
HISTORY_HEAD, HISTORY_TAIL = 20, 80
RETRIES_KEPT = 40  # intended/failed action lines (done and undone lines are all kept: the credit and undo need them)
ATTEMPTS_HEAD, ATTEMPTS_TAIL = 5, 15
CHANGES_PER_CREDENTIAL = 20


def bounded(record: LedgerRecord) -> LedgerRecord:
    """``record`` within its size bounds; what is left out is counted in ``dropped``. The state, the evidence and
    every line the credit and the undo read are kept: the latest history lines (regressions and sightings), every
    done/undone step, the latest changes of each credential."""
    dropped = dict(record.dropped)
    update: dict[str, object] = {}

    def keep(name: str, kept: tuple[Any, ...], before: tuple[Any, ...]) -> None:
        if len(kept) < len(before):
            dropped[name] = dropped.get(name, 0) + len(before) - len(kept)
            update[name] = kept

    keep("history", _head_tail(record.history, HISTORY_HEAD, HISTORY_TAIL), record.history)
    keep("attempts", _head_tail(record.attempts, ATTEMPTS_HEAD, ATTEMPTS_TAIL), record.attempts)
    retries = [i for i, a in enumerate(record.actions) if a.status in ("intended", "failed")]
    cut = set(retries[: max(0, len(retries) - RETRIES_KEPT)])
    keep("actions", tuple(a for i, a in enumerate(record.actions) if i not in cut), record.actions)
    by_credential: dict[str, list[CredentialChange]] = {}
    for change in record.changes:
        by_credential.setdefault(change.credential, []).append(change)
    latest = {c.identity_key for group in by_credential.values() for c in group[-CHANGES_PER_CREDENTIAL:]}
    keep("changes", tuple(c for c in record.changes if c.identity_key in latest), record.changes)
    if not update:
        return record
    return record.model_copy(update={**update, "dropped": dropped})


def _head_tail(items: tuple[Any, ...], head: int, tail: int) -> tuple[Any, ...]:
    return items if len(items) <= head + tail else (*items[:head], *items[-tail:])
