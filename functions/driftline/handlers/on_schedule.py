"""Scheduled full reconcile of the function's own account: read the registry and IAM, compare, keep the ledger in
step, enforce in enforce mode, publish to Security Hub."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from driftline.compose import ContainerClients, account_of, compose, remaining_seconds
from driftline.domain.errors import DriftlineError
from driftline.handlers.report import record
from driftline.observability import logger, metrics

CLIENTS = ContainerClients()  # built by the first invocation of an execution environment, then reused


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    clients = CLIENTS()
    try:
        evaluation = compose(account_of(context), clients, remaining=remaining_seconds(context)).detector.reconcile()
    except DriftlineError:
        metrics.add_metric(name="ReconcileErrors", unit=MetricUnit.Count, value=1)
        logger.exception("reconcile failed")
        raise  # the schedule's retry policy and DLQ take it from here
    return record(evaluation, clients.counter.snapshot())
