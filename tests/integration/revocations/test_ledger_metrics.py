"""The ledger's CloudWatch metrics as the deployed handlers print them (EMF on stdout, through Powertools): the
scheduled reconcile reports the account's open unenforced revocations; the registry-stream handler, which evaluates
one identity, never reports its partial count under the same metric."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from driftline.domain.ledger import LedgerState
from driftline.handlers import on_registry_change, on_schedule
from tests.integration.revocations.support import lambda_context, records, revoke
from tests.integration.support import Sandbox, ago
from tests.unit.revocations.stream_events import batch, stream_record

SCHEDULED_EVENT = Path(__file__).resolve().parents[2] / "events" / "scheduled_reconcile.json"
GAUGES = ("OpenUnenforcedRevocations", "OldestUnenforcedRevocationSeconds")


def emf_documents(stdout: str) -> list[dict[str, Any]]:
    """Every CloudWatch embedded-metric-format document printed to stdout."""
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{") and '"_aws"' in line]


def carrying(documents: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    """The documents whose metric directive declares ``name``."""
    return [
        doc
        for doc in documents
        if any(m["Name"] == name for d in doc["_aws"]["CloudWatchMetrics"] for m in d["Metrics"])
    ]


def test_scheduled_reconcile_emits_the_accounts_count_and_age(
    handler_env: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    """The scheduled handler on an account where carol (revoked 2 days ago) and dan (revoked 3 hours ago) still have
    active keys must print OpenUnenforcedRevocations = [2] and OldestUnenforcedRevocationSeconds ~ 2 days, in
    namespace Driftline with the dimension set [service] (service=driftline): exactly what the alarm reads."""
    # Given two unenforced revocations
    sandbox = handler_env
    for name, revoked_at in (("carol", ago(days=2)), ("dan", ago(hours=3))):
        sandbox.user(name, key=True)
        sandbox.register_user(name, status="revoked", revoked_at=revoked_at, ticket="SEC-7")
    sandbox.iam.generate_credential_report()
    capsys.readouterr()

    # When the schedule invokes the reconcile
    on_schedule.handler(json.loads(SCHEDULED_EVENT.read_text()), lambda_context("driftline-reconcile"))

    # Then the account's gauges went out once, with the service dimension only
    documents = emf_documents(capsys.readouterr().out)
    (doc,) = carrying(documents, "OpenUnenforcedRevocations")
    (directive,) = doc["_aws"]["CloudWatchMetrics"]
    assert (directive["Namespace"], directive["Dimensions"], doc["service"]) == (
        "Driftline",
        [["service"]],
        "driftline",
    )
    assert doc["OpenUnenforcedRevocations"] == [2.0]
    (oldest,) = doc["OldestUnenforcedRevocationSeconds"]
    assert timedelta(days=2) <= timedelta(seconds=oldest) < timedelta(days=2, minutes=5)
    assert {r.state for r in records(sandbox).values()} == {LedgerState.UNENFORCED}


def test_registry_stream_handler_never_emits_the_accounts_gauges(
    stream_env: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    """The registry-stream handler given erin's revocation 2 hours ago (her key still active: her record becomes
    unenforced in this invocation) must print no OpenUnenforcedRevocations and no OldestUnenforcedRevocationSeconds:
    it evaluated erin alone, and a count of her records would read as the account's (and a 0 would clear the alarm)."""
    # Given erin with an active key, revoked two hours ago
    sandbox = stream_env
    sandbox.user("erin", key=True)
    entry = sandbox.register_user("erin")
    revoked = revoke(sandbox, entry, datetime.now(UTC) - timedelta(hours=2))
    capsys.readouterr()

    # When the stream delivers the revocation
    response = on_registry_change.handler(
        batch(stream_record("MODIFY", old=entry, new=revoked)), lambda_context("driftline-registry-change")
    )

    # Then the revocation is unenforced in the ledger, but no account gauge was printed
    assert response == {"batchItemFailures": []}
    assert records(sandbox)["user#erin"].state is LedgerState.UNENFORCED
    documents = emf_documents(capsys.readouterr().out)
    assert carrying(documents, "Drifts"), "the handler printed its metrics"
    assert all(not carrying(documents, name) for name in GAUGES)
