"""Scheduled full reconcile of the function's own account: read the registry and IAM, compare, keep the ledger in
step, publish to Security Hub."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from driftline.domain.errors import DriftlineError
from driftline.handlers.report import record
from driftline.handlers.wiring import ContainerClients, Wiring, account_of, remaining_seconds, wire
from driftline.observability import logger, metrics
from driftline.service.pipeline import Evaluation, reconcile

__all__ = ["account_of", "handler", "record", "run"]

CLIENTS = ContainerClients()  # built by the first invocation of an execution environment, then reused


def run(wiring: Wiring) -> Evaluation:
    return reconcile(
        wiring.account_id,
        iam=wiring.iam,
        registry=wiring.registry,
        sink=wiring.sink,
        settings=wiring.compare_settings,
        now=wiring.now(),
        ledger=wiring.ledger,
        enforcement=wiring.enforcement,
    )


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    clients = CLIENTS()
    try:
        evaluation = run(wire(account_of(context), clients, remaining=remaining_seconds(context)))
    except DriftlineError:
        metrics.add_metric(name="ReconcileErrors", unit=MetricUnit.Count, value=1)
        logger.exception("reconcile failed")
        raise  # the schedule's retry policy and DLQ take it from here
    return record(evaluation, clients.counter.snapshot())
