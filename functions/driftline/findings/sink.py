"""The Security Hub sink: plan from the remembered states, import, and remember only what Security Hub accepted.

A finding that still fails after retries is reported with its error code and is *not* remembered, so the next run
plans it again: nothing is lost and nothing is sent twice once accepted.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from driftline.adapters.finding_state import DynamoFindingStates
from driftline.adapters.securityhub import SecurityHubImporter, SecurityHubUnavailable
from driftline.domain.drift import Comparison
from driftline.domain.identity import IdentityRef
from driftline.domain.observed import Inventory
from driftline.findings.asff import Place
from driftline.findings.plan import REFRESH_AFTER, plan
from driftline.service.ports import PublishReport


class SecurityHubSink:
    """Implements ``ports.DriftSink``."""

    def __init__(
        self,
        importer: SecurityHubImporter,
        states: DynamoFindingStates,
        place: Place,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        refresh_after: timedelta = REFRESH_AFTER,
    ) -> None:
        self._importer = importer
        self._states = states
        self._place = place
        self._now = now
        self._refresh_after = refresh_after

    def publish(self, comparison: Comparison, inventory: Inventory) -> PublishReport:
        scope = None if inventory.scope is None else _scope_with_keys(inventory)
        previous = self._states.load(self._place.account_id, self._place.region, scope)
        planned = plan(
            comparison.drifts,
            inventory,
            self._place,
            previous,
            self._now(),
            refresh_after=self._refresh_after,
            judged=comparison.judged,
            undecided=comparison.undecided,
        )
        report = PublishReport(unchanged=len(comparison.drifts) - sum(p.reason != "resolved" for p in planned))
        if not planned:
            return report
        try:
            result = self._importer.import_findings([p.finding for p in planned])
        except SecurityHubUnavailable as exc:
            report.error = str(exc)
            report.failed = {p.finding["Id"]: "SecurityHubUnavailable" for p in planned}
            return report
        accepted = set(result.succeeded)
        for item in planned:
            if item.finding["Id"] not in accepted:
                continue
            self._states.save(self._place.account_id, self._place.region, item.state)
            if item.reason == "resolved":
                report.resolved += 1
            else:
                report.published += 1
        report.failed = result.failed
        report.calls = result.calls
        report.error = result.error
        report.deferred = len(result.deferred)
        return report


def _scope_with_keys(inventory: Inventory) -> list[IdentityRef]:
    """The identities an event-scoped evaluation looked at (a user's prefix also loads its keys' states)."""
    return sorted(set(inventory.scope or ()), key=lambda r: r.key)
