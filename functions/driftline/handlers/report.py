"""What every handler says about an evaluation: one log line per drift, the metrics, and a summary."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from driftline.domain.ledger import just_enforced
from driftline.observability import logger, metrics
from driftline.service.pipeline import Evaluation
from driftline.triggers.triage import Triage


def _counted(name: str, dimension: str, counts: dict[str, int]) -> None:
    for value, count in counts.items():
        with single_metric(name=name, unit=MetricUnit.Count, value=count, namespace="Driftline") as metric:
            metric.add_dimension(name=dimension, value=value)


def _publish(evaluation: Evaluation) -> None:
    report = evaluation.publish
    if report.error:
        logger.error("findings not published", extra={"error": report.error})
        metrics.add_metric(name="PublishErrors", unit=MetricUnit.Count, value=1)
    for finding_id, error in report.failed.items():
        logger.error("finding import failed", extra={"finding_id": finding_id, "error": error})
    metrics.add_metric(name="FindingsPublished", unit=MetricUnit.Count, value=report.published)
    metrics.add_metric(name="FindingsResolved", unit=MetricUnit.Count, value=report.resolved)
    metrics.add_metric(name="FindingsFailed", unit=MetricUnit.Count, value=len(report.failed))
    metrics.add_metric(name="FindingsDeferred", unit=MetricUnit.Count, value=report.deferred)


def _ledger(evaluation: Evaluation) -> dict[str, Any]:
    """Log every ledger change and count each move into enforced (TimeToEnforceSeconds, from whichever handler saw
    it). The account's gauges (OpenUnenforcedRevocations, OldestUnenforcedRevocationSeconds) come from a
    whole-account evaluation only: a handler that evaluated a few identities knows only their records, and its
    count (often 0) under the same metric would read as the account's and could clear the alarm."""
    ledger = evaluation.ledger
    if ledger is None:
        return {}
    for problem in ledger.problems:
        logger.error("unreadable ledger item skipped", extra={"problem": problem})
    metrics.add_metric(name="LedgerProblems", unit=MetricUnit.Count, value=len(ledger.problems))
    for record in ledger.changed:
        logger.info(
            "revocation ledger",
            extra={
                "identity": record.identity,
                "state": record.state.value,
                "ticket": record.ticket,
                "enforced_by": record.enforced.model_dump(mode="json") if record.enforced else None,
                "seconds_to_enforce": record.seconds_to_enforce,
            },
        )
        if record.seconds_to_enforce is not None and just_enforced(record):
            metrics.add_metric(name="TimeToEnforceSeconds", unit=MetricUnit.Seconds, value=record.seconds_to_enforce)
    if ledger.scope == "account":
        metrics.add_metric(name="OpenUnenforcedRevocations", unit=MetricUnit.Count, value=ledger.open_unenforced)
        metrics.add_metric(
            name="OldestUnenforcedRevocationSeconds", unit=MetricUnit.Seconds, value=ledger.oldest_unenforced_seconds
        )
    return {
        "ledger_scope": ledger.scope,
        "ledger_changes": len(ledger.changed),
        "ledger_problems": len(ledger.problems),
        "open_unenforced_revocations": ledger.open_unenforced,
    }


def _enforcement(evaluation: Evaluation) -> dict[str, Any]:
    report = evaluation.enforcement
    if report is None:
        return {}
    applied = set(report.applied)
    for step in report.planned:
        if step in applied:
            logger.warning("enforced", extra={"step": step})
        elif step in report.failed:
            logger.error("enforcement failed", extra={"step": step, "error": report.failed[step]})
        else:
            logger.info("enforcement plan (not applied)", extra={"step": step})
    metrics.add_metric(name="EnforcementActions", unit=MetricUnit.Count, value=len(report.applied))
    metrics.add_metric(name="EnforcementFailures", unit=MetricUnit.Count, value=len(report.failed))
    return {
        "enforcement": {"planned": len(report.planned), "applied": len(report.applied), "failed": len(report.failed)}
    }


def record(evaluation: Evaluation, api_calls: dict[str, int]) -> dict[str, Any]:
    """Log one line per drift decision, emit metrics, and return the summary the invocation answers with."""
    for problem in evaluation.registry_problems:
        logger.error("invalid registry entry", extra={"problem": problem})
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
    _counted("DriftDetected", "DriftType", by_type)
    _counted("DriftDetected", "Severity", by_severity)
    _publish(evaluation)
    metrics.add_metric(name="Drifts", unit=MetricUnit.Count, value=evaluation.drift_count)
    metrics.add_metric(name="IdentitiesScanned", unit=MetricUnit.Count, value=evaluation.identities_observed)
    metrics.add_metric(name="RegistryProblems", unit=MetricUnit.Count, value=len(evaluation.registry_problems))
    metrics.add_metric(name="ApiCalls", unit=MetricUnit.Count, value=sum(api_calls.values()))
    publish = evaluation.publish
    summary = (
        {
            "account_id": evaluation.account_id,
            "drifts": evaluation.drift_count,
            "drifts_by_type": by_type,
            "drifts_by_severity": by_severity,
            "identities_observed": evaluation.identities_observed,
            "registry_entries": evaluation.registry_entries,
            "registry_problems": len(evaluation.registry_problems),
            "findings": publish.model_dump(exclude={"failed"}) | {"failed": len(publish.failed)},
            "api_calls": api_calls,
        }
        | _ledger(evaluation)
        | _enforcement(evaluation)
    )
    logger.info("evaluation finished", extra=summary)
    return summary


def report_turned_away(decision: Triage, own: str) -> dict[str, Any] | None:
    """Rejected, skipped, or another account's event: the answer, logged and counted; None to go on."""
    if decision.status == "rejected":
        metrics.add_metric(name="RejectedEvents", unit=MetricUnit.Count, value=1)
        logger.warning("event rejected", extra={"reason": decision.reason})
        return {"status": "rejected", "reason": decision.reason}
    if decision.status == "skipped":
        metrics.add_metric(name="SkippedEvents", unit=MetricUnit.Count, value=1)
        logger.debug("event skipped", extra={"reason": decision.reason})
        return {"status": "skipped", "reason": decision.reason}
    foreign = decision.foreign_to(own)
    if foreign is not None:
        # An event of another account (a shared bus, a misrouted rule) says nothing about this account's IAM.
        metrics.add_metric(name="SkippedEvents", unit=MetricUnit.Count, value=1)
        logger.warning("event of another account skipped", extra={"event_account": foreign, "account": own})
        return {"status": "skipped", "reason": f"event of account {foreign}, this deployment watches {own}"}
    return None
