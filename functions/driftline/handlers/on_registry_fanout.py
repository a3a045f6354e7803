"""The central registry's stream, handed to each member account's default event bus (triggers/registry_fanout.py).

One PutEvents per record, so a member's bus refusing (its policy missing, throttling) fails that record alone:
Powertools reports it as a partial batch failure and the stream retries it. A record that is no registry record is
bad input: logged, counted, never retried.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from driftline.compose import ContainerClients
from driftline.observability import logger, metrics
from driftline.triggers.registry_fanout import fanout_entry
from driftline.triggers.registry_stream import BadRegistryImage

processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
CLIENTS = ContainerClients()


class FanOutFailed(Exception):
    """A member's bus did not take the record: the stream retries it."""


def _record_handler(record: DynamoDBRecord) -> dict[str, Any] | None:
    clients = CLIENTS()
    try:
        entry = fanout_entry(record.raw_event, partition=clients.partition, region=clients.region)
    except BadRegistryImage as exc:
        metrics.add_metric(name="RejectedRegistryRecords", unit=MetricUnit.Count, value=1)
        logger.error("registry stream record rejected", extra={"reason": str(exc)})
        return None
    if entry is None:
        return None
    answer = clients.events().put_events(Entries=[entry])  # type: ignore[list-item]
    if answer.get("FailedEntryCount", 0):
        failed = answer["Entries"][0]
        raise FanOutFailed(f"{entry['EventBusName']}: {failed.get('ErrorCode')}: {failed.get('ErrorMessage')}")
    metrics.add_metric(name="RegistryChangesForwarded", unit=MetricUnit.Count, value=1)
    return {"bus": entry["EventBusName"]}


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dict(
        process_partial_response(event=event, record_handler=_record_handler, processor=processor, context=context)
    )
