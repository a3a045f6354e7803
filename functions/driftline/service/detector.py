"""One front door for the core: a ``Detector`` bound to one account, its adapters and one clock.

Every trigger ends here: the schedule calls ``reconcile()``; a CloudTrail event or an operator's scan builds a
``Scope`` and calls ``evaluate``; a registry stream record calls ``apply_registry_change``; a refused enforcing call
calls ``record_attempt``. Each runs the one pipeline (read -> observe -> entries -> compare -> ledger -> [enforce,
whole account] -> publish) of service/pipeline.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from driftline.domain.errors import DriftlineError
from driftline.domain.identity import IdentityRef
from driftline.domain.ledger import Attempt, LedgerRecord, cancel, ended_by, log_attempt, open_record, opens
from driftline.domain.registry import RegistryEntry
from driftline.domain.scope import Scope
from driftline.domain.settings import CompareSettings
from driftline.domain.times import iso
from driftline.service.enforcement import EnforcementSettings
from driftline.service.pipeline import Evaluation, evaluate_identities, reconcile
from driftline.service.ports import DriftSink, IamReader, Ledger, RegistryReader


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Detector:
    account_id: str
    iam: IamReader
    registry: RegistryReader
    sink: DriftSink
    ledger: Ledger | None
    settings: CompareSettings
    enforcement: EnforcementSettings | None = None
    clock: Callable[[], datetime] = field(default=utc_now)

    def _ledger(self) -> Ledger:
        if self.ledger is None:
            raise DriftlineError("this detector keeps no ledger (no state table)")
        return self.ledger

    def reconcile(self) -> Evaluation:
        """The whole account: compare, keep the ledger in step, enforce (in enforce mode), publish."""
        return reconcile(
            self.account_id,
            iam=self.iam,
            registry=self.registry,
            sink=self.sink,
            settings=self.settings,
            now=self.clock(),
            ledger=self.ledger,
            enforcement=self.enforcement,
        )

    def evaluate(self, scope: Scope, *, registry: RegistryReader | None = None) -> Evaluation:
        """Only ``scope``'s identities: their drifts, ledger records and findings. ``registry`` replaces the
        detector's for this evaluation (an invocation's memo of entries already fetched)."""
        return evaluate_identities(
            self.account_id,
            scope.refs,
            iam=self.iam,
            registry=registry or self.registry,
            sink=self.sink,
            settings=self.settings,
            now=self.clock(),
            ledger=self.ledger,
            changes=scope.changes,
            observe=scope.observe,
            facets=scope.facets,
        )

    def apply_registry_change(
        self, identity: IdentityRef, old: RegistryEntry | None, new: RegistryEntry | None
    ) -> Evaluation:
        """A registry entry changed from ``old`` to ``new``: close the revocation the change ended, open the one it
        started (from the new image, before IAM is read, so the request is on record even when the registry moves
        on or the IAM check fails), then evaluate the identity."""
        ledger = self._ledger()
        now = self.clock()
        cancelled = None
        if old is not None and old.revoked_at is not None and ended_by(old, new):
            newer = new.revoked_at if new is not None and new.is_revoked else None
            cancelled = ledger.update(
                self.account_id,
                identity.key,
                iso(old.revoked_at),
                lambda current: cancel(current, now, superseded_by=newer) if current is not None else None,
            )
        opened = None
        if new is not None and new.revoked_at is not None and opens(old, new):
            entry, at = new, new.revoked_at
            opened = ledger.update(
                self.account_id,
                identity.key,
                iso(at),
                lambda current: open_record(self.account_id, entry, now) if current is None else None,
            )
        evaluation = self.evaluate(Scope(refs=(identity,)))
        return _with_changed(evaluation, [r for r in (cancelled, opened) if r is not None])

    def record_attempt(self, refs: Iterable[IdentityRef], attempt: Attempt) -> list[str]:
        """A refused enforcing call, kept on the ledger record of every revoked identity among ``refs`` (opened if
        need be); the identities it was recorded for."""
        ledger = self._ledger()
        recorded = []
        now = self.clock()
        for entry in self.registry.get_many(self.account_id, refs).values():
            if not entry.is_revoked or entry.revoked_at is None:
                continue

            def change(current: LedgerRecord | None, entry: RegistryEntry = entry) -> LedgerRecord | None:
                return log_attempt(current or open_record(self.account_id, entry, now), attempt)

            if ledger.update(self.account_id, entry.ref.key, iso(entry.revoked_at), change) is not None:
                recorded.append(entry.ref.key)
        return recorded


def _with_changed(evaluation: Evaluation, records: list[LedgerRecord]) -> Evaluation:
    """The evaluation's ledger summary counting the records the change itself closed or opened (the evaluation only
    saw them), so they are logged with the rest."""
    if not records or evaluation.ledger is None:
        return evaluation
    ledger = evaluation.ledger.model_copy(update={"changed": [*records, *evaluation.ledger.changed]})
    return evaluation.model_copy(update={"ledger": ledger})
