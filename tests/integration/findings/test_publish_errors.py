"""Security Hub disabled (or the role may not import): nothing is published or remembered, the drifts are still
reported, and the scheduled handler's ``record`` says so in its log and its PublishErrors metric."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from driftline.handlers import on_schedule
from driftline.observability import logger, metrics
from tests.integration.findings.conftest import Publisher
from tests.integration.support import Sandbox


@pytest.fixture
def disabled_hub() -> Iterator[Any]:
    """A real securityhub client whose BatchImportFindings answers InvalidAccessException (hub not enabled)."""
    client = boto3.client("securityhub", region_name="us-east-1")
    with Stubber(client) as stub:
        stub.add_client_error(
            "batch_import_findings",
            "InvalidAccessException",
            "Account 123456789012 is not subscribed to AWS Security Hub",
            http_status_code=401,
        )
        yield client
        stub.assert_no_pending_responses()


def stdout_json(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_security_hub_disabled_sets_the_error_and_keeps_the_drifts(
    publisher: Publisher, sandbox: Sandbox, disabled_hub: Any
) -> None:
    """Input: an unregistered user mallory; BatchImportFindings fails with InvalidAccessException. Must return the
    Evaluation with the drift, PublishReport.error mentioning Security Hub, the finding listed as failed, nothing
    published and no state remembered (so the next run tries again)."""
    # Given an unregistered user and a Security Hub that is not enabled
    sandbox.user("mallory")

    # When the account is reconciled with publishing
    evaluation = publisher.reconcile(sink=publisher.sink(publisher.importer(disabled_hub)))

    # Then the drift is reported, publishing failed as a whole, and nothing is remembered
    assert [(d.type.value, d.identity.key) for d in evaluation.comparison.drifts] == [
        ("unregistered-identity", "user#mallory")
    ]
    report = evaluation.publish
    assert report.error is not None and "Security Hub" in report.error and "enabled" in report.error
    assert report.published == 0 and report.resolved == 0
    assert len(report.failed) == 1
    assert publisher.remembered() == {}
    assert publisher.last_calls["states.save"] == 0


def test_record_logs_and_counts_a_publish_error(
    publisher: Publisher, sandbox: Sandbox, disabled_hub: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """Input: the evaluation of a reconcile whose Security Hub is disabled, given to ``on_schedule.record``. Must log
    "findings not published" at ERROR with the error, emit PublishErrors = 1 (EMF on stdout), and still count the
    drift in the summary it returns."""
    # Given a reconcile that could not publish
    sandbox.user("mallory")
    evaluation = publisher.reconcile(sink=publisher.sink(publisher.importer(disabled_hub)))
    handler = logger.registered_handler
    previous = handler.setStream(sys.stdout)  # type: ignore[attr-defined]  # the logger's stream was bound at import
    metrics.clear_metrics()
    capsys.readouterr()
    try:
        # When the handler records it
        summary = on_schedule.record(evaluation, {"securityhub.BatchImportFindings": 1})
        metrics.flush_metrics()
    finally:
        handler.setStream(previous)  # type: ignore[attr-defined]
        metrics.clear_metrics()
    lines = stdout_json(capsys.readouterr().out)

    # Then the error is logged
    errors = [line for line in lines if line.get("message") == "findings not published"]
    assert len(errors) == 1
    assert errors[0]["level"] == "ERROR"
    assert errors[0]["error"] == evaluation.publish.error
    # And the PublishErrors metric is emitted with value 1
    emf = [line for line in lines if "_aws" in line and "PublishErrors" in line]
    assert len(emf) == 1 and emf[0]["PublishErrors"] == [1.0]
    names = {m["Name"] for d in emf[0]["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}
    assert "PublishErrors" in names
    # And the summary still counts the drift
    assert summary["drifts"] == 1
    assert summary["findings"]["error"] == evaluation.publish.error
