"""Registry changes from the table's DynamoDB stream: a revocation opens its ledger record and the identity is
checked at once; a restore before enforcement cancels the record; any other change re-evaluates the identity.

Powertools batch processing reports partial batch failures, so one failing record never blocks the others (the
stack bounds retries, bisects on error and sends what still fails to an SQS destination). Processing is idempotent:
Lambda re-delivers every record after the lowest failed one, and re-evaluating or re-applying a ledger transition
changes nothing the second time. A record whose image is not a valid entry is bad input: logged, counted, skipped
(a valid entry written over an invalid one is processed, with a warning). Items of the table that are not entries
(the change log's history items) are ignored.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from driftline.compose import Composed, ContainerClients, account_of, compose, remaining_seconds
from driftline.domain.identity import IdentityRef
from driftline.domain.scope import Scope
from driftline.handlers.report import record as report
from driftline.observability import logger, metrics
from driftline.triggers.registry_fanout import SOURCE, member_of
from driftline.triggers.registry_stream import BadRegistryImage, classify

processor = BatchProcessor(event_type=EventType.DynamoDBStreams)

CLIENTS = ContainerClients()  # built by the first invocation of an execution environment, then reused


def _apply(composed: Composed, raw: Any) -> dict[str, Any] | None:
    """One registry stream record (from the table's stream, or forwarded by the central registry's fan-out)."""
    detector = composed.detector
    try:
        change = classify(raw)
    except BadRegistryImage as exc:
        metrics.add_metric(name="RejectedRegistryRecords", unit=MetricUnit.Count, value=1)
        logger.error("registry stream record rejected", extra={"reason": str(exc)})
        return None
    if change is None or change.account_id != detector.account_id:
        return None  # not a registry entry, or another account's entry in a central registry
    logger.info("registry change", extra={"identity": change.identity.key, "change": change.change})
    if change.unreadable_old:
        logger.warning("registry stream old image is no entry", extra={"reason": change.unreadable_old})
    if change.change == "unchanged":
        return {"identity": change.identity.key, "change": change.change}
    evaluation = detector.apply_registry_change(change.identity, change.old, change.new)
    summary = report(evaluation, composed.clients.counter.snapshot())
    return {"identity": change.identity.key, "change": change.change, "drifts": summary["drifts"]}


def _handler_for(composed: Composed) -> Any:
    def record_handler(record: DynamoDBRecord) -> dict[str, Any] | None:
        return _apply(composed, record.raw_event)

    return record_handler


def _forwarded(composed: Composed, event: Any) -> dict[str, Any]:
    """A stream record the central registry forwarded (triggers/registry_fanout.py). Without its images (too large
    for an event), the identity is judged from the registry as it is now."""
    detail = event.get("detail") if isinstance(event, dict) and event.get("source") == SOURCE else None
    record = detail.get("record") if isinstance(detail, dict) else None
    if not isinstance(detail, dict) or not isinstance(record, dict):
        metrics.add_metric(name="RejectedRegistryRecords", unit=MetricUnit.Count, value=1)
        logger.error("forwarded registry event rejected", extra={"reason": "not a driftline registry event"})
        return {"status": "rejected"}
    if not detail.get("images_dropped"):
        return {"status": "applied", "result": _apply(composed, record)}
    try:
        account = member_of(record)
        sort_key = record["dynamodb"]["Keys"]["sk"]["S"]
        identity = IdentityRef.parse(sort_key)
    except (BadRegistryImage, KeyError, TypeError, ValueError) as exc:
        metrics.add_metric(name="RejectedRegistryRecords", unit=MetricUnit.Count, value=1)
        logger.error("forwarded registry event rejected", extra={"reason": str(exc)})
        return {"status": "rejected"}
    if account != composed.detector.account_id:
        return {"status": "skipped"}
    summary = report(composed.detector.evaluate(Scope(refs=(identity,))), composed.clients.counter.snapshot())
    return {"status": "evaluated", "identity": identity.key, "drifts": summary["drifts"]}


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    composed = compose(account_of(context), CLIENTS(), remaining=remaining_seconds(context))
    response = process_partial_response(
        event=event, record_handler=_handler_for(composed), processor=processor, context=context
    )
    return dict(response)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE, log_event=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def handle_event(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """The central registry's fan-out: one forwarded stream record per EventBridge event. A real failure raises, so
    Lambda's async retries and the rule's dead-letter queue keep the event."""
    return _forwarded(compose(account_of(context), CLIENTS(), remaining=remaining_seconds(context)), event)
