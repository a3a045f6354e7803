"""Registry changes from the table's DynamoDB stream: a revocation opens its ledger record and the identity is
checked at once; a restore before enforcement cancels the record; any other change re-evaluates the identity.

Powertools batch processing reports partial batch failures, so one failing record never blocks the others (the
stack bounds retries, bisects on error and sends what still fails to an SQS destination). Processing is idempotent:
Lambda re-delivers every record after the lowest failed one, and re-evaluating or re-applying a ledger transition
changes nothing the second time. A record whose image is not a valid entry is bad input: logged, counted, skipped.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from driftline.adapters.aws import Clients
from driftline.domain.ledger import cancel
from driftline.handlers.report import record as report
from driftline.handlers.wiring import Wiring, account_of, wire
from driftline.observability import logger, metrics
from driftline.registry_changes import BadRegistryImage, RegistryChange, classify
from driftline.revocations import iso
from driftline.service import evaluate_identities

processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def apply_change(wiring: Wiring, change: RegistryChange) -> dict[str, Any]:
    """Act on one registry change; raise on real failures so the record is retried."""
    if change.change == "unchanged":
        return {"identity": change.identity.key, "change": change.change}
    if change.change in ("restored", "deleted") and change.old is not None and change.old.revoked_at is not None:
        stored = wiring.ledger.update(
            wiring.account_id,
            change.identity.key,
            iso(change.old.revoked_at),
            lambda current: cancel(current, wiring.now()) if current is not None else None,
        )
        if stored is not None:
            logger.info("revocation cancelled", extra={"identity": stored.identity, "ticket": stored.ticket})
    evaluation = evaluate_identities(
        wiring.account_id,
        [change.identity],
        iam=wiring.iam,
        registry=wiring.registry,
        sink=wiring.sink,
        settings=wiring.compare_settings,
        now=wiring.now(),
        ledger=wiring.ledger,
    )
    summary = report(evaluation, wiring.clients.counter.snapshot())
    return {"identity": change.identity.key, "change": change.change, "drifts": summary["drifts"]}


def _handler_for(wiring: Wiring) -> Any:
    def record_handler(record: DynamoDBRecord) -> dict[str, Any] | None:
        try:
            change = classify(record.raw_event)
        except BadRegistryImage as exc:
            metrics.add_metric(name="RejectedRegistryRecords", unit=MetricUnit.Count, value=1)
            logger.error("registry stream record rejected", extra={"reason": str(exc)})
            return None
        if change is None or change.account_id != wiring.account_id:
            return None  # not a registry entry, or another account's entry in a central registry
        logger.info("registry change", extra={"identity": change.identity.key, "change": change.change})
        return apply_change(wiring, change)

    return record_handler


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    wiring = wire(account_of(context), Clients())
    response = process_partial_response(
        event=event, record_handler=_handler_for(wiring), processor=processor, context=context
    )
    return dict(response)
