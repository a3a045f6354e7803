"""Deciding what to send to Security Hub: only what is new, changed, due for a refresh, or resolved.

Pure. The last published state of each finding comes from the state table (never from Security Hub reads), so a
quiet run plans nothing. ``UpdatedAt`` always moves forward for a finding: Security Hub silently ignores an
update whose ``UpdatedAt`` is not later than the stored one (AWS-FACTS section 4).

Freshness: an open finding that did not change is re-imported once per refresh period (default a day,
``driftline:findingRefreshHours``) with ``LastObservedAt`` set to the evaluation's time. So ``LastObservedAt`` of an
ACTIVE driftline finding is never older than the period plus one schedule interval while driftline still sees the
drift; an older one is stale (driftline stopped looking: the stack is gone, publishing fails, or its check is
off). The refresh also keeps Security Hub from deleting the finding (it deletes those not updated for 90 days). Cost:
one BatchImportFindings call per 100 open findings per period, and every other quiet run still makes none.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict

from driftline.domain.drift import Drift, DriftType
from driftline.domain.identity import IdentityRef, Kind
from driftline.domain.observed import Inventory
from driftline.findings.asff import Place, content_digest, finding_id, resolved, to_asff, with_reason

# How often an unchanged open finding is re-imported (its LastObservedAt moved to the evaluation's time). Security Hub
# deletes an active finding 90 days after its last update, so the period must stay well below that.
REFRESH_AFTER = timedelta(days=1)
REFRESH_MAX = timedelta(days=60)
# A refresh is due this much before the period ends (a tenth of it, an hour at most), so a run that starts a little
# earlier than the last one did (schedule jitter, a shorter IAM read) does not postpone it by a whole run.
REFRESH_SLACK_MAX = timedelta(hours=1)
TICK = timedelta(milliseconds=1)


def refresh_due(age: timedelta, refresh_after: timedelta) -> bool:
    """Whether an unchanged open finding last imported ``age`` ago is re-imported now."""
    return age >= refresh_after - min(refresh_after / 10, REFRESH_SLACK_MAX)


class FindingState(BaseModel):
    """What driftline last sent for one finding id."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    finding_id: str
    identity: str
    user: str | None = None
    drift_type: str
    digest: str
    created_at: AwareDatetime
    updated_at: AwareDatetime
    record_state: Literal["ACTIVE", "ARCHIVED"]
    finding: dict[str, Any]

    @property
    def ref(self) -> IdentityRef:
        return IdentityRef.parse(self.identity)

    @property
    def sort_key(self) -> str:
        """``<identity>|<type>``; a key's state sorts under its user (``user#u|access_key#id|type``), so loading
        a user's states also loads its keys'."""
        ref = self.ref
        if ref.kind is Kind.ACCESS_KEY and self.user:
            return f"user#{self.user}|{ref.key}|{self.drift_type}"
        return f"{ref.key}|{self.drift_type}"


Reason = Literal["new", "changed", "refresh", "reactivated", "resolved"]


class Planned(BaseModel):
    """One finding to import, and the state to remember once Security Hub accepted it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    finding: dict[str, Any]
    state: FindingState
    reason: Reason


def _next_update(now: datetime, previous: FindingState | None) -> datetime:
    return now if previous is None else max(now, previous.updated_at + TICK)


def _reason(previous: FindingState | None, digest: str, now: datetime, refresh_after: timedelta) -> Reason | None:
    if previous is None:
        return "new"
    if previous.record_state == "ARCHIVED":
        return "reactivated"
    if previous.digest != digest:
        return "changed"
    if refresh_due(now - previous.updated_at, refresh_after):
        return "refresh"
    return None


def plan(
    drifts: tuple[Drift, ...] | list[Drift],
    inventory: Inventory,
    place: Place,
    states: dict[str, FindingState],
    now: datetime,
    refresh_after: timedelta = REFRESH_AFTER,
    judged: frozenset[DriftType] | None = None,
    undecided: frozenset[IdentityRef] = frozenset(),
) -> list[Planned]:
    """The imports that bring Security Hub in line with ``drifts``, within the inventory's scope only, and (when
    ``judged`` is given) only for the drift types the comparison could judge. Each finding carries its reason
    (``driftline/ImportReason``)."""
    if not TICK <= refresh_after <= REFRESH_MAX:
        raise ValueError(f"refresh period {refresh_after} is outside 1 ms..{REFRESH_MAX.days} days")
    planned: list[Planned] = []
    current: set[str] = set()
    for drift in drifts:
        fid = finding_id(place, drift.type, drift.identity)
        current.add(fid)
        previous = states.get(fid)
        created = previous.created_at if previous is not None else now
        finding = to_asff(
            drift, place, inventory, created_at=created, updated_at=_next_update(now, previous), observed_at=now
        )
        digest = content_digest(finding)  # timestamps and the reason left out: an unchanged drift digests the same
        reason = _reason(previous, digest, now, refresh_after)
        if reason is None:
            continue
        finding = with_reason(finding, reason)
        state = FindingState(
            finding_id=fid,
            identity=drift.identity.key,
            user=drift.user,
            drift_type=drift.type.value,
            digest=digest,
            created_at=created,
            updated_at=_next_update(now, previous),
            record_state="ACTIVE",
            finding=finding,
        )
        planned.append(Planned(finding=finding, state=state, reason=reason))
    judged_values = None if judged is None else {t.value for t in judged}
    for fid, previous in sorted(states.items()):
        if fid in current or previous.record_state != "ACTIVE":
            continue
        if not inventory.covers(previous.ref, previous.user):
            continue  # this evaluation did not look at that identity: it cannot say the drift ended
        if judged_values is not None and previous.drift_type not in judged_values:
            continue  # nor at what this drift is about (e.g. the keys, on an entitlement-only read)
        if previous.ref in undecided or (
            previous.user and IdentityRef(kind=Kind.USER, name=previous.user) in undecided
        ):
            continue  # its registry item could not be read: the drift may well go on

        updated = _next_update(now, previous)
        finding = resolved(
            previous.finding,
            place=place,
            identity=previous.ref,
            user=previous.user,
            inventory=inventory,
            updated_at=updated,
        )
        state = previous.model_copy(
            update={
                "updated_at": updated,
                "record_state": "ARCHIVED",
                "finding": finding,
                "digest": content_digest(finding),
            }
        )
        planned.append(Planned(finding=finding, state=state, reason="resolved"))
    return planned
