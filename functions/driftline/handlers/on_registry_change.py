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

from driftline.domain.ledger import LedgerRecord, cancel, open_record
from driftline.domain.times import iso
from driftline.handlers.report import record as report
from driftline.handlers.wiring import ContainerClients, Wiring, account_of, remaining_seconds, wire
from driftline.observability import logger, metrics
from driftline.service.pipeline import Evaluation, evaluate_identities
from driftline.triggers.registry_stream import BadRegistryImage, RegistryChange, classify

processor = BatchProcessor(event_type=EventType.DynamoDBStreams)

CLIENTS = ContainerClients()  # built by the first invocation of an execution environment, then reused


def _ends_a_revocation(change: RegistryChange) -> bool:
    """The old image was revoked and the new one is not that revocation: restored, deleted, or revoked again at
    another time (which opens a record of its own)."""
    old, new = change.old, change.new
    if old is None or not old.is_revoked or old.revoked_at is None:
        return False
    return new is None or not new.is_revoked or new.revoked_at != old.revoked_at


def _cancel(wiring: Wiring, change: RegistryChange) -> None:
    """Close the open record of the revocation the old image held (restored, deleted, or superseded by a revocation
    at another time); a record that is missing or already closed is left as it is."""
    assert change.old is not None and change.old.revoked_at is not None
    now = wiring.now()
    newer = change.new.revoked_at if change.new is not None and change.new.is_revoked else None
    stored = wiring.ledger.update(
        wiring.account_id,
        change.identity.key,
        iso(change.old.revoked_at),
        lambda current: cancel(current, now, superseded_by=newer) if current is not None else None,
    )
    if stored is not None:
        logger.info("revocation cancelled", extra={"identity": stored.identity, "ticket": stored.ticket})


def _open(wiring: Wiring, change: RegistryChange) -> LedgerRecord | None:
    """Open the revocation's record from the stream's new image, before IAM is read: the request is then on record
    even when the registry has moved on by the time this record is processed (a restore later in the same batch
    finds it and cancels it), or when the IAM check fails and the record is retried. An existing record (a
    re-delivery, or an evaluation that opened it first) is left to the evaluation."""
    entry = change.new
    assert entry is not None and entry.revoked_at is not None
    now = wiring.now()
    return wiring.ledger.update(
        wiring.account_id,
        change.identity.key,
        iso(entry.revoked_at),
        lambda current: open_record(wiring.account_id, entry, now) if current is None else None,
    )


def _with_opened(evaluation: Evaluation, opened: LedgerRecord | None) -> Evaluation:
    """The evaluation's ledger summary counting the record this change opened (the evaluation only saw it)."""
    if opened is None or evaluation.ledger is None:
        return evaluation
    ledger = evaluation.ledger.model_copy(update={"changed": [opened, *evaluation.ledger.changed]})
    return evaluation.model_copy(update={"ledger": ledger})


def apply_change(wiring: Wiring, change: RegistryChange) -> dict[str, Any]:
    """Act on one registry change; raise on real failures so the record is retried."""
    if change.change == "unchanged":
        return {"identity": change.identity.key, "change": change.change}
    if _ends_a_revocation(change):
        _cancel(wiring, change)
    opened = _open(wiring, change) if change.change == "revoked" else None
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
    summary = report(_with_opened(evaluation, opened), wiring.clients.counter.snapshot())
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
        if change.unreadable_old:
            logger.warning("registry stream old image is no entry", extra={"reason": change.unreadable_old})
        return apply_change(wiring, change)

    return record_handler


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    wiring = wire(account_of(context), CLIENTS(), remaining=remaining_seconds(context))
    response = process_partial_response(
        event=event, record_handler=_handler_for(wiring), processor=processor, context=context
    )
    return dict(response)
