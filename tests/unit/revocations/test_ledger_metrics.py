"""The ledger metrics as ``handlers/report.py`` emits them through Powertools (the EMF blob the functions print):
the account's gauges only from a whole-account evaluation, time to enforce from whichever evaluation saw it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from driftline.domain.drift import Comparison, RevocationCheck
from driftline.domain.identity import IdentityRef
from driftline.domain.registry import RegistryEntry
from driftline.handlers import report
from driftline.observability import metrics
from driftline.service.ledger_sync import sync_ledger
from driftline.service.pipeline import Evaluation
from driftline.service.ports import PublishReport
from tests.unit.revocations.support import (
    ACCOUNT,
    ENFORCED,
    REVOKED_AT,
    UNENFORCED,
    MemoryLedger,
    check,
    cloudtrail,
    revoked_entry,
    unenforced,
)

GAUGES = {"OpenUnenforcedRevocations", "OldestUnenforcedRevocationSeconds"}
NOW = REVOKED_AT + timedelta(hours=3)


@pytest.fixture(autouse=True)
def _fresh_metrics() -> Iterator[None]:
    """Powertools keeps one metric set per process: start and end every test with it empty."""
    metrics.clear_metrics()
    yield
    metrics.clear_metrics()


def evaluate(
    ledger: MemoryLedger,
    checks: list[RevocationCheck],
    entries: list[RegistryEntry],
    *,
    whole_account: bool,
    changes: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Sync the ledger as the reconcile (whole account) or a scoped handler would, report the evaluation, and
    return (the invocation's summary, the EMF blob Powertools would print)."""
    comparison = Comparison(revocations=tuple(checks), compared_at=NOW)
    summary = sync_ledger(
        ledger,
        ACCOUNT,
        comparison,
        {e.ref: e for e in entries},
        NOW,
        changes={IdentityRef.parse(k): v for k, v in (changes or {}).items()},
        whole_account=whole_account,
    )
    evaluation = Evaluation(
        account_id=ACCOUNT,
        comparison=comparison,
        identities_observed=len(entries),
        registry_entries=len(entries),
        registry_problems=[],
        publish=PublishReport(),
        ledger=summary,
    )
    answered = report.record(evaluation, {})
    return answered, metrics.serialize_metric_set()


def metric_names(blob: dict[str, Any]) -> set[str]:
    (directive,) = blob["_aws"]["CloudWatchMetrics"]
    return {m["Name"] for m in directive["Metrics"]}


def test_reconcile_emits_the_accounts_open_unenforced_gauges_with_the_service_dimension() -> None:
    """A whole-account evaluation whose ledger holds two unenforced revocations (alice's open since revoked_at, and
    bob's seen now) must emit OpenUnenforcedRevocations = 2 and OldestUnenforcedRevocationSeconds = 3 h (alice's age)
    in namespace Driftline with exactly the dimension set [service] = driftline, which the alarm reads."""
    # Given two unenforced revocations, one already in the ledger
    ledger = MemoryLedger([unenforced()])
    alice, bob = revoked_entry("user#alice"), revoked_entry("user#bob")

    # When the reconcile reports its evaluation
    summary, blob = evaluate(
        ledger, [check(UNENFORCED, "user#alice"), check(UNENFORCED, "user#bob")], [alice, bob], whole_account=True
    )

    # Then the account's gauges are emitted with the service dimension only
    (directive,) = blob["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "Driftline"
    assert directive["Dimensions"] == [["service"]] and blob["service"] == "driftline"
    assert metric_names(blob) >= GAUGES
    assert blob["OpenUnenforcedRevocations"] == [2.0]
    assert blob["OldestUnenforcedRevocationSeconds"] == [timedelta(hours=3).total_seconds()]
    assert (summary["ledger_scope"], summary["open_unenforced_revocations"]) == ("account", 2)


def test_scoped_evaluation_never_emits_the_accounts_gauges() -> None:
    """A scoped evaluation (the IAM-event or registry-stream handler) of alice alone, whose record is unenforced,
    must emit neither OpenUnenforcedRevocations nor OldestUnenforcedRevocationSeconds (its count, 1 here and often 0,
    is only alice's and would read as the account's); its summary says the count is the identities' scope."""
    # Given alice's unenforced revocation
    ledger = MemoryLedger([unenforced()])

    # When a scoped handler reports its evaluation of alice
    summary, blob = evaluate(ledger, [check(UNENFORCED, "user#alice")], [revoked_entry()], whole_account=False)

    # Then no account gauge was emitted
    assert metric_names(blob).isdisjoint(GAUGES)
    assert not GAUGES & set(blob)
    assert (summary["ledger_scope"], summary["open_unenforced_revocations"]) == ("identities", 1)


def test_scoped_evaluation_still_emits_time_to_enforce() -> None:
    """A scoped evaluation that sees alice's unenforced revocation enforced by an event 2 h after revoked_at must
    still emit TimeToEnforceSeconds = 7200 (one value per enforcement, whichever handler saw it), and no gauge."""
    # Given alice's unenforced revocation, and the event that deactivated her key
    ledger = MemoryLedger([unenforced()])
    event = cloudtrail(REVOKED_AT + timedelta(hours=2))

    # When the event path reports its evaluation
    _summary, blob = evaluate(
        ledger, [check(ENFORCED, "user#alice")], [revoked_entry()], whole_account=False, changes={"user#alice": [event]}
    )

    # Then the time to enforce is counted, and the account's gauges are not
    assert blob["TimeToEnforceSeconds"] == [7200.0]
    assert metric_names(blob).isdisjoint(GAUGES)


def test_reconcile_with_nothing_unenforced_reports_zero() -> None:
    """A whole-account evaluation of an empty ledger must still emit OpenUnenforcedRevocations = 0 and
    OldestUnenforcedRevocationSeconds = 0 (the zero that returns the alarm to OK)."""
    # Given an empty ledger
    ledger = MemoryLedger()

    # When the reconcile reports
    _summary, blob = evaluate(ledger, [], [], whole_account=True)

    # Then the gauges say zero
    assert (blob["OpenUnenforcedRevocations"], blob["OldestUnenforcedRevocationSeconds"]) == ([0.0], [0.0])
