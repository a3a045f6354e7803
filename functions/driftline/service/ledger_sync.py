"""Keeping the revocation ledger in step with what an evaluation observed.

Each revoked registry entry in the evaluation's scope opens or advances its ledger record; the credential changes an
event brought (``credit.CredentialChange``) are added to it, so the record can name the change that enforced it. A
whole-account evaluation also cancels open records whose registry entry is no longer revoked.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from driftline.domain.credit import CredentialChange
from driftline.domain.drift import Comparison, DriftType, RevocationCheck
from driftline.domain.errors import LedgerItemUnreadable
from driftline.domain.identity import IdentityRef
from driftline.domain.ledger import LedgerRecord, LedgerState, advance, cancel, open_record
from driftline.domain.registry import RegistryEntry
from driftline.domain.times import iso
from driftline.service.ports import Ledger, RecordEdit

Scope = Literal["account", "identities"]


class LedgerSummary(BaseModel):
    """What the ledger says after an evaluation (the figures behind the revocation metrics).

    ``open_unenforced`` and ``oldest_unenforced_seconds`` count the records the evaluation read: the whole account's
    when ``scope`` is ``account`` (the reconcile), only the evaluated identities' when it is ``identities`` (the event
    and registry-stream handlers), which is no figure for the account."""

    model_config = ConfigDict(extra="forbid")

    scope: Scope = "identities"
    changed: list[LedgerRecord] = Field(default_factory=list)
    open_unenforced: int = 0
    oldest_unenforced_seconds: float = 0.0
    attempts: dict[str, list[str]] = Field(
        default_factory=dict, description="identity key -> refused enforcing calls of its open revocation"
    )
    problems: list[str] = Field(default_factory=list, description="ledger items that could not be read (skipped)")

    @property
    def enforced_now(self) -> list[LedgerRecord]:
        return [r for r in self.changed if r.state is LedgerState.ENFORCED]


Settle = Callable[[LedgerRecord], LedgerRecord | None]


def _advance_with(
    account_id: str,
    entry: RegistryEntry,
    check: RevocationCheck,
    now: datetime,
    changes: Sequence[CredentialChange],
    settle: Settle | None = None,
) -> RecordEdit:
    def change(current: LedgerRecord | None) -> LedgerRecord | None:
        settled = settle(current) if settle is not None and current is not None else None
        base = settled or current or open_record(account_id, entry, now)
        moved = advance(base, check, now, changes)
        if moved is not None:
            return moved
        return settled if current is not None else base

    return change


def _cancel_at(now: datetime, superseded_by: datetime | None = None) -> RecordEdit:
    return lambda current: cancel(current, now, superseded_by=superseded_by) if current is not None else None


def sync_ledger(
    ledger: Ledger,
    account_id: str,
    comparison: Comparison,
    entries: Mapping[IdentityRef, RegistryEntry],
    now: datetime,
    *,
    changes: Mapping[IdentityRef, Sequence[CredentialChange]] | None = None,
    whole_account: bool = False,
    settle: Settle | None = None,
    records: Sequence[LedgerRecord] | None = None,
) -> LedgerSummary:
    """Open, advance (and for a whole-account evaluation, cancel) ledger records; return what changed. ``settle``
    closes enforcement steps a stopped run left ``intended`` (domain.dangling), before the record advances, so the
    credit sees them. ``records``: the whole account's records when the caller has just read them (not read again)."""
    summary = LedgerSummary(scope="account" if whole_account else "identities")
    latest: dict[tuple[str, str], LedgerRecord] = {}
    identities = None if whole_account else sorted({c.identity.key for c in comparison.revocations})
    if identities is None or identities:
        found = records if records is not None and identities is None else ledger.records(account_id, identities)
        latest = {(r.identity, iso(r.requested_at)): r for r in found}
    checked: set[tuple[str, str]] = set()
    for check in comparison.revocations:
        key = (check.identity.key, iso(check.revoked_at))
        checked.add(key)
        told = (changes or {}).get(check.identity, ())
        change = _advance_with(account_id, entries[check.identity], check, now, told, settle)
        if key in latest and change(latest[key]) is None:
            continue  # nothing to write: no read-modify-write round trip either
        try:
            stored = ledger.update(account_id, key[0], key[1], change)
        except LedgerItemUnreadable as exc:
            summary.problems.append(str(exc))  # its evidence is not overwritten; the rest goes on
            continue
        if stored is not None:
            summary.changed.append(stored)
            latest[key] = stored
    if whole_account:
        for key, record in list(latest.items()):
            if not record.is_open or key in checked or _kept(record, entries, comparison.undecided):
                continue
            entry = entries.get(IdentityRef.parse(record.identity))
            newer = entry.revoked_at if entry is not None and entry.is_revoked else None
            if (stored := ledger.update(account_id, key[0], key[1], _cancel_at(now, newer))) is not None:
                summary.changed.append(stored)
                latest[key] = stored
    summary.problems = sorted({*ledger.problems, *summary.problems})
    return _with_figures(summary, list(latest.values()), now)


def _with_figures(summary: LedgerSummary, records: list[LedgerRecord], now: datetime) -> LedgerSummary:
    unenforced = [r for r in records if r.state is LedgerState.UNENFORCED]
    summary.attempts = {r.identity: [a.description for a in r.attempts] for r in records if r.is_open and r.attempts}
    summary.open_unenforced = len(unenforced)
    if unenforced:
        summary.oldest_unenforced_seconds = max((now - r.requested_at).total_seconds() for r in unenforced)
    return summary


def _kept(
    record: LedgerRecord, entries: Mapping[IdentityRef, RegistryEntry], undecided: frozenset[IdentityRef]
) -> bool:
    """Whether an open record the evaluation did not check stays open: its entry still holds this revocation, or
    its registry item could not be read (a registry problem, never a restore)."""
    ref = IdentityRef.parse(record.identity)
    entry = entries.get(ref)
    still = entry is not None and entry.is_revoked and entry.revoked_at == record.requested_at
    return still or ref in undecided


def with_attempts(comparison: Comparison, summary: LedgerSummary | None) -> Comparison:
    """The comparison with every unenforced revocation's refused enforcing calls in its finding: "an attempt by X at
    T to UpdateAccessKey on access key K was denied (AccessDenied)" tells the responder the block is an SCP or a
    permission, not neglect."""
    if summary is None or not summary.attempts:
        return comparison
    drifts = []
    for drift in comparison.drifts:
        tried = summary.attempts.get(drift.identity.key) if drift.type is DriftType.UNENFORCED_REVOCATION else None
        if tried:
            drift = drift.model_copy(
                update={
                    "summary": f"{drift.summary}; {'; '.join(tried)}",
                    "evidence": {**drift.evidence, "denied_attempts": list(tried)},
                }
            )
        drifts.append(drift)
    return comparison.model_copy(update={"drifts": tuple(drifts)})
