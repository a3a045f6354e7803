"""Enforcement steps a run wrote as ``intended`` and never finished: the run stopped (timeout, crash) between the
IAM call and its ``done`` line. The next reconcile settles each one with what IAM shows:

* the step's effect is in IAM (the key is inactive or gone, the deny policy attached or set as boundary) and no
  recorded change by anyone else did it later: ``done``, dated when it was intended, with a note saying it was
  confirmed from IAM. The credit then goes to driftline's step, not to "observed", and ``restore-access`` undoes it;
* the effect is in IAM but a recorded change by someone else (a CloudTrail event) did it after the step was
  intended: ``failed`` with that reason; the credit stays with that change, and driftline claims nothing;
* the effect is not in IAM: ``failed`` ("stopped before the step completed"), and the next plan proposes it again;
* IAM cannot tell (the credential or principal is gone, which driftline never does; the user's other credentials
  were not read): left as it is. The credit then goes to the change that deleted it, or to "observed".

A step is dangling only when it is older than any run lasts, so a run in progress is never settled by another.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from driftline.domain.credit import CredentialChange
from driftline.domain.enforcement import CREDENTIAL_STEPS, Step
from driftline.domain.identity import IdentityRef, Kind
from driftline.domain.ledger import ActionLog, LedgerRecord
from driftline.domain.observed import Inventory, KeyStatus

STALE_AFTER = timedelta(minutes=15)  # the reconcile's timeout is 5 minutes; the CLI's enforce is shorter
CONFIRMED = "confirmed from IAM at {now}: the run that took this step stopped before recording it"
NOT_DONE = "the run stopped before the step completed; IAM at {now} does not show it"
OTHERS = "the run stopped before recording it; IAM shows it in place, but {event} at {at} did it: credited to that"
_OTHER_CREDENTIAL_KINDS = {step: kind for kind, step in CREDENTIAL_STEPS.items()}


def dangling(record: LedgerRecord, now: datetime) -> list[ActionLog]:
    """The ``intended`` lines with no later line for the same step and target, older than ``STALE_AFTER``."""
    last: dict[tuple[str, str], ActionLog] = {}
    for item in record.actions:
        last[(item.step, item.target)] = item
    return [i for i in last.values() if i.status == "intended" and now - i.at >= STALE_AFTER]


def in_place(item: ActionLog, inventory: Inventory) -> bool | None:
    """Whether IAM shows the step's effect; None when this inventory cannot tell (the target is gone: it was
    deleted by someone, since driftline deletes nothing, before or after the step)."""
    step = Step(item.step)
    if step is Step.DEACTIVATE_KEY:
        key = inventory.keys.get(item.target)
        return None if key is None else key.status is KeyStatus.INACTIVE
    if step in _OTHER_CREDENTIAL_KINDS:
        user = inventory.user(item.user or "")
        if user is None or user.other_credentials is None:
            return None
        same = [c for c in user.other_credentials if c.credential_id == item.target]
        return not same[0].active if same else None
    kind = Kind(item.kind) if item.kind else Kind.USER
    principal = inventory.principal(IdentityRef(kind=kind, name=item.target))
    if principal is None:
        return None  # gone: nothing tells whether the step ran before it was deleted
    if step is Step.ATTACH_DENY_POLICY:
        return item.policy_arn in principal.managed_policies
    return principal.permissions_boundary == item.policy_arn


def _done_by_others(item: ActionLog, changes: Iterable[CredentialChange]) -> CredentialChange | None:
    credential = item.credential or "*"
    later = [
        c
        for c in changes
        if c.source != "driftline" and c.effect == "disable" and c.credential == credential and c.at >= item.at
    ]
    return min(later, key=lambda c: c.at) if later else None


def settle(record: LedgerRecord, inventory: Inventory, now: datetime) -> LedgerRecord | None:
    """The record with a closing line for each dangling step IAM can tell about; None when there is none."""
    lines = []
    for item in dangling(record, now):
        shown = in_place(item, inventory)
        if shown is None:
            continue
        stamp = now.isoformat()
        other = _done_by_others(item, record.changes) if shown else None
        if not shown:
            lines.append(item.model_copy(update={"status": "failed", "at": now, "error": NOT_DONE.format(now=stamp)}))
        elif other is not None:
            reason = OTHERS.format(event=other.event_name or "a change", at=other.at.isoformat())
            lines.append(item.model_copy(update={"status": "failed", "at": now, "error": reason}))
        else:
            lines.append(item.model_copy(update={"status": "done", "note": CONFIRMED.format(now=stamp)}))
    if not lines:
        return None
    return record.model_copy(update={"actions": (*record.actions, *lines)})
