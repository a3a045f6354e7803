"""``scan --format asff``: the findings ``--publish`` would import, built by the same code (findings/asff.py), printed
as the input of Security Hub's ``BatchImportFindings`` (``{"Findings": [...]}``) so they can be reviewed before
anything is published (``aws securityhub batch-import-findings --cli-input-json file://...`` takes it as it is, up to
100 findings per call).

The findings need what IAM answered (ARNs, principal ids, key status): ``Capture`` wraps the scan's sink and keeps
the inventory the reconcile hands it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from driftline.domain.drift import Comparison, Drift
from driftline.domain.observed import Inventory
from driftline.findings.asff import Place, to_asff, with_reason
from driftline.service.ports import DriftSink, PublishReport


class Capture:
    """A sink that remembers the inventory of the comparison it is handed, then passes both on."""

    def __init__(self, inner: DriftSink) -> None:
        self.inner = inner
        self.inventory: Inventory | None = None

    def publish(self, comparison: Comparison, inventory: Inventory) -> PublishReport:
        self.inventory = inventory
        return self.inner.publish(comparison, inventory)


def asff_findings(drifts: tuple[Drift, ...], place: Place, inventory: Inventory, now: datetime) -> dict[str, Any]:
    """``BatchImportFindings``' input for ``drifts``: each finding as the sink would first import it."""
    # Labelled as the sink's first import of each would be ("new"), so a reviewed file matches what gets published.
    return {
        "Findings": [with_reason(to_asff(d, place, inventory, created_at=now, updated_at=now), "new") for d in drifts]
    }
