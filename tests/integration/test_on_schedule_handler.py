"""The scheduled reconcile Lambda handler end to end on moto: settings from the environment, a real EventBridge
"Scheduled Event", the returned summary, the structured log lines and the EMF metrics printed to stdout."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from driftline.adapters.iam_account import Boto3IamReader
from driftline.domain.errors import IamReadError, RegistryError
from driftline.handlers import on_schedule
from driftline.settings import get_settings
from tests.integration.support import ACCOUNT, REGISTRY_TABLE, STATE_TABLE, Sandbox, ago

EVENT_FILE = Path(__file__).resolve().parents[1] / "events" / "scheduled_reconcile.json"
LogLines = Callable[[], list[dict[str, Any]]]


@dataclass
class FakeLambdaContext:
    function_name: str = "driftline-reconcile"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:driftline-reconcile"
    aws_request_id: str = "6f2b1c1e-8a0d-4b55-9d3a-1f0c2e7b9a11"

    def get_remaining_time_in_millis(self) -> int:
        return 290_000  # a 5-minute function, 10 s in


@pytest.fixture
def event() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(EVENT_FILE.read_text())
    assert loaded["detail-type"] == "Scheduled Event"
    return loaded


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, sandbox: Sandbox) -> Iterator[Sandbox]:
    """The function's environment as the stack sets it, with Security Hub publishing off (tests that publish turn it
    back on); settings are re-read for this test only. The credential report is generated ahead so the handler's own
    (unstubbed) poll never has to sleep."""
    monkeypatch.setenv("DRIFTLINE_REGISTRY_TABLE", REGISTRY_TABLE)
    monkeypatch.setenv("DRIFTLINE_STATE_TABLE", STATE_TABLE)
    monkeypatch.setenv("DRIFTLINE_PUBLISH_FINDINGS", "false")
    get_settings.cache_clear()
    sandbox.iam.generate_credential_report()
    yield sandbox
    get_settings.cache_clear()


def emf_documents(stdout: str) -> list[dict[str, Any]]:
    """Every CloudWatch embedded-metric-format document printed to stdout."""
    documents = []
    for line in stdout.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            documents.append(json.loads(line))
    return documents


def metric_value(documents: list[dict[str, Any]], name: str, **dimensions: str) -> Any:
    """The value of metric ``name`` in the one document carrying it with ``dimensions``."""
    matches = [
        doc
        for doc in documents
        if any(m["Name"] == name for d in doc["_aws"]["CloudWatchMetrics"] for m in d["Metrics"])
        and all(doc.get(k) == v for k, v in dimensions.items())
    ]
    assert len(matches) == 1, f"{name} {dimensions}: {len(matches)} documents in {documents}"
    value = matches[0][name]
    return sum(value) if isinstance(value, list) else value  # Metrics prints lists, single_metric may not


def seed(sandbox: Sandbox) -> None:
    """alice is registered and quiet; mallory (with a key) is unregistered; carol was revoked two days ago and still
    has an active key."""
    alice_key = str(sandbox.user("alice", key=True))
    sandbox.register_user("alice")
    sandbox.register_key(alice_key, "alice")
    sandbox.user("mallory", key=True)
    sandbox.user("carol", key=True)
    sandbox.register_user("carol", owner="security@example.com", status="revoked", revoked_at=ago(days=2))


def test_scheduled_reconcile_returns_summary_and_emits_metrics(
    environment: Sandbox, event: dict[str, Any], capsys: pytest.CaptureFixture[str], log_lines: LogLines
) -> None:
    """A scheduled invocation on an account with two unregistered identities and one unenforced revocation must
    answer a summary with counts by type, identities, registry entries and API calls; print DriftDetected (per drift
    type) and Drifts metrics; and log one line per drift."""
    # Given the seeded account
    seed(environment)

    # When EventBridge invokes the function
    summary = on_schedule.handler(event, FakeLambdaContext())

    # Then the summary counts what was found and what it cost
    assert summary["account_id"] == ACCOUNT
    assert summary["drifts"] == 3
    assert summary["drifts_by_type"] == {"unregistered-identity": 2, "unenforced-revocation": 1}
    assert summary["identities_observed"] == 6  # 3 users, 3 keys
    assert summary["registry_entries"] == 3
    assert summary["registry_problems"] == 0
    assert summary["findings"]["published"] == 0  # publishing is off
    calls = summary["api_calls"]
    assert calls["iam.GetAccountAuthorizationDetails"] == 1
    assert calls["iam.GetCredentialReport"] == 1
    assert calls["dynamodb.Query"] >= 2  # at least the registry and the key cache
    assert calls["dynamodb.BatchWriteItem"] >= 1  # the key cache is filled on the first run

    # And the metrics went out as EMF on stdout
    documents = emf_documents(capsys.readouterr().out)
    assert metric_value(documents, "DriftDetected", DriftType="unregistered-identity") == 2
    assert metric_value(documents, "DriftDetected", DriftType="unenforced-revocation") == 1
    assert metric_value(documents, "Drifts") == 3
    assert metric_value(documents, "RegistryProblems") == 0

    # And every drift and the outcome were logged with the invocation's context
    logs = log_lines()
    drifts = [line for line in logs if line["message"] == "drift"]
    assert sorted(line["drift_type"] for line in drifts) == [
        "unenforced-revocation",
        "unregistered-identity",
        "unregistered-identity",
    ]
    finished = [line for line in logs if "drifts_by_type" in line]  # the summary line, whatever its wording
    assert len(finished) == 1
    assert finished[0]["drifts"] == 3
    assert finished[0]["function_request_id"] == FakeLambdaContext.aws_request_id


def test_scheduled_reconcile_publishes_findings_by_default(
    environment: Sandbox,
    event: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With DRIFTLINE_PUBLISH_FINDINGS unset (publishing on, as deployed), the three drifts of the seeded account must
    be imported into Security Hub in the function's own account, and counted in the summary and metrics."""
    # Given the seeded account and the default publishing setting
    monkeypatch.delenv("DRIFTLINE_PUBLISH_FINDINGS")
    get_settings.cache_clear()
    seed(environment)

    # When EventBridge invokes the function
    summary = on_schedule.handler(event, FakeLambdaContext())

    # Then one finding per drift was imported, none failed
    assert (summary["findings"]["published"], summary["findings"]["failed"]) == (3, 0)
    findings = environment.clients.securityhub().get_findings()["Findings"]
    assert len(findings) == 3
    assert {f["AwsAccountId"] for f in findings} == {ACCOUNT}
    assert metric_value(emf_documents(capsys.readouterr().out), "FindingsPublished") == 3


def test_second_scheduled_run_is_served_from_the_key_cache(environment: Sandbox, event: dict[str, Any]) -> None:
    """Two scheduled invocations with nothing changed: the second must list keys only for the revoked user (read
    fresh) and write nothing to the state table, with the same verdict."""
    # Given the seeded account, reconciled once
    seed(environment)
    first = on_schedule.handler(event, FakeLambdaContext())

    # When the schedule fires again
    second = on_schedule.handler(event, FakeLambdaContext())

    # Then only carol's keys were listed and nothing was written
    assert first["api_calls"]["iam.ListAccessKeys"] == 3
    assert second["api_calls"].get("iam.ListAccessKeys") == 1
    assert "dynamodb.BatchWriteItem" not in second["api_calls"]
    assert second["drifts_by_type"] == first["drifts_by_type"]


def _delete_registry_table(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    sandbox.dynamodb.delete_table(TableName=REGISTRY_TABLE)


def _deny_iam(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(self: Boto3IamReader, account_id: str, *, access: frozenset[Any] = frozenset()) -> None:
        raise IamReadError("IAM GetAccountAuthorizationDetails failed with AccessDenied: not authorized")

    monkeypatch.setattr(Boto3IamReader, "read_account", denied)


@pytest.mark.parametrize(
    ("break_it", "error"),
    [
        pytest.param(_delete_registry_table, RegistryError, id="registry-table-missing"),
        pytest.param(_deny_iam, IamReadError, id="iam-access-denied"),
    ],
)
def test_failed_reconcile_raises_logs_and_counts_the_error(
    environment: Sandbox,
    event: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
    log_lines: LogLines,
    monkeypatch: pytest.MonkeyPatch,
    break_it: Callable[[Sandbox, pytest.MonkeyPatch], None],
    error: type[Exception],
) -> None:
    """When the registry or IAM cannot be read, the handler must raise (so Lambda retries and the DLQ sees it), log
    "reconcile failed" at ERROR with the exception, and emit a ReconcileErrors metric of 1."""
    # Given an account whose registry or IAM cannot be read
    seed(environment)
    break_it(environment, monkeypatch)

    # When the schedule fires, Then the invocation fails with the driftline error
    with pytest.raises(error):
        on_schedule.handler(event, FakeLambdaContext())

    # And the failure was logged and counted
    failures = [line for line in log_lines() if line["message"] == "reconcile failed"]
    assert len(failures) == 1
    assert failures[0]["level"] == "ERROR"
    assert failures[0]["exception_name"] == error.__name__
    assert metric_value(emf_documents(capsys.readouterr().out), "ReconcileErrors") == 1


def test_invalid_registry_item_is_logged_and_counted(
    environment: Sandbox, event: dict[str, Any], capsys: pytest.CaptureFixture[str], log_lines: LogLines
) -> None:
    """A registry item that fails validation must not fail the run: the handler logs "invalid registry entry" at
    ERROR naming the item, answers registry_problems == 1, and emits RegistryProblems 1."""
    # Given the seeded account plus one invalid raw item
    seed(environment)
    environment.dynamodb.put_item(
        TableName=REGISTRY_TABLE,
        Item={
            "pk": {"S": ACCOUNT},
            "sk": {"S": "user#bad name"},
            "kind": {"S": "user"},
            "name": {"S": "bad name"},
            "owner": {"S": "x@example.com"},
        },
    )

    # When the schedule fires
    summary = on_schedule.handler(event, FakeLambdaContext())

    # Then the problem is reported, and the valid entries were still judged
    assert summary["registry_problems"] == 1
    assert summary["registry_entries"] == 3
    assert summary["drifts_by_type"] == {"unregistered-identity": 2, "unenforced-revocation": 1}
    problems = [line for line in log_lines() if line["message"] == "invalid registry entry"]
    assert len(problems) == 1
    assert problems[0]["level"] == "ERROR"
    assert "user#bad name" in problems[0]["problem"]
    assert metric_value(emf_documents(capsys.readouterr().out), "RegistryProblems") == 1
