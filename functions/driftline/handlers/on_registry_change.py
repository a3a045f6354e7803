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

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from driftline.compose import Composed, ContainerClients, account_of, compose, remaining_seconds
from driftline.handlers.report import record as report
from driftline.observability import logger, metrics
from driftline.triggers.registry_stream import BadRegistryImage, classify

processor = BatchProcessor(event_type=EventType.DynamoDBStreams)

CLIENTS = ContainerClients()  # built by the first invocation of an execution environment, then reused


def _handler_for(composed: Composed) -> Any:
    detector = composed.detector

    def record_handler(record: DynamoDBRecord) -> dict[str, Any] | None:
        try:
            change = classify(record.raw_event)
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

    return record_handler


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    composed = compose(account_of(context), CLIENTS(), remaining=remaining_seconds(context))
    response = process_partial_response(
        event=event, record_handler=_handler_for(composed), processor=processor, context=context
    )
    return dict(response)
