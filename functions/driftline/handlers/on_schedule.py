"""Scheduled full reconcile of the function's own account: read the registry and IAM, compare, publish."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.typing import LambdaContext

from driftline.adapters.aws import Clients
from driftline.adapters.finding_state import DynamoFindingStates
from driftline.adapters.iam_account import Boto3IamReader
from driftline.adapters.key_cache import DynamoKeyCache
from driftline.adapters.registry import DynamoRegistry
from driftline.adapters.securityhub import SecurityHubImporter
from driftline.domain.errors import DriftlineError
from driftline.findings.asff import Place
from driftline.findings.sink import SecurityHubSink
from driftline.observability import logger, metrics
from driftline.ports import DriftSink, NullSink
from driftline.service import Evaluation, reconcile
from driftline.settings import get_settings


def account_of(context: LambdaContext) -> str:
    """The account id from the invoked function's ARN (arn:aws:lambda:region:account:function:name)."""
    return context.invoked_function_arn.split(":")[4]


def sink_for(account_id: str, clients: Clients) -> DriftSink:
    """Security Hub in the function's own account and region, unless publishing is turned off."""
    settings = get_settings()
    if not settings.publish_findings:
        return NullSink()
    return SecurityHubSink(
        SecurityHubImporter(clients.securityhub()),
        DynamoFindingStates(clients.dynamodb(), settings.state_table),
        Place(account_id=account_id, region=clients.region, partition=clients.partition),
    )


def run(account_id: str, clients: Clients, sink: DriftSink) -> Evaluation:
    settings = get_settings()
    return reconcile(
        account_id,
        iam=Boto3IamReader(
            clients.iam(),
            key_cache=DynamoKeyCache(clients.dynamodb(), settings.state_table),
            report_wait_seconds=settings.credential_report_wait_seconds,
        ),
        registry=DynamoRegistry(clients.dynamodb(), settings.registry_table),
        sink=sink,
        settings=settings.compare_settings(),
        now=datetime.now(UTC),
    )


def record(evaluation: Evaluation, api_calls: dict[str, int]) -> dict[str, Any]:
    """Log one line per drift decision, emit metrics, and return the summary the invocation answers with."""
    for problem in evaluation.registry_problems:
        logger.error("invalid registry entry", extra={"problem": problem})
    report = evaluation.publish
    if report.error:
        logger.error("findings not published", extra={"error": report.error})
        metrics.add_metric(name="PublishErrors", unit=MetricUnit.Count, value=1)
    for finding_id, error in report.failed.items():
        logger.error("finding import failed", extra={"finding_id": finding_id, "error": error})
    metrics.add_metric(name="FindingsPublished", unit=MetricUnit.Count, value=report.published)
    metrics.add_metric(name="FindingsResolved", unit=MetricUnit.Count, value=report.resolved)
    metrics.add_metric(name="FindingsFailed", unit=MetricUnit.Count, value=len(report.failed))
    for drift in evaluation.comparison.drifts:
        logger.info(
            "drift",
            extra={
                "drift_type": drift.type.value,
                "severity": drift.severity.value,
                "identity": drift.identity.key,
                "owner": drift.owner,
                "summary": drift.summary,
            },
        )
    by_type = {t.value: n for t, n in evaluation.comparison.by_type().items()}
    by_severity: dict[str, int] = {}
    for drift in evaluation.comparison.drifts:
        by_severity[drift.severity.value] = by_severity.get(drift.severity.value, 0) + 1
    for dimension, counts in (("DriftType", by_type), ("Severity", by_severity)):
        for value, count in counts.items():
            with single_metric(name="DriftDetected", unit=MetricUnit.Count, value=count, namespace="Driftline") as m:
                m.add_dimension(name=dimension, value=value)
    metrics.add_metric(name="Drifts", unit=MetricUnit.Count, value=evaluation.drift_count)
    metrics.add_metric(name="IdentitiesScanned", unit=MetricUnit.Count, value=evaluation.identities_observed)
    metrics.add_metric(name="RegistryProblems", unit=MetricUnit.Count, value=len(evaluation.registry_problems))
    metrics.add_metric(name="ApiCalls", unit=MetricUnit.Count, value=sum(api_calls.values()))
    summary = {
        "account_id": evaluation.account_id,
        "drifts": evaluation.drift_count,
        "drifts_by_type": by_type,
        "drifts_by_severity": by_severity,
        "identities_observed": evaluation.identities_observed,
        "registry_entries": evaluation.registry_entries,
        "registry_problems": len(evaluation.registry_problems),
        "findings": evaluation.publish.model_dump(exclude={"failed"}) | {"failed": len(evaluation.publish.failed)},
        "api_calls": api_calls,
    }
    logger.info("reconcile finished", extra=summary)
    return summary


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    clients = Clients()
    try:
        account_id = account_of(context)
        evaluation = run(account_id, clients, sink_for(account_id, clients))
    except DriftlineError:
        metrics.add_metric(name="ReconcileErrors", unit=MetricUnit.Count, value=1)
        logger.exception("reconcile failed")
        raise  # the schedule's retry policy and DLQ take it from here
    return record(evaluation, clients.counter.snapshot())
