"""Hub and spoke: one member account reconciled from the hub, one item of the state machine's Distributed Map.

The item is ``{"account_id": "<12 digits>", "name": "..."}`` (handlers/on_hub_accounts.py lists them); anything else
raises ``BadMemberItem``, so the Map item fails visibly. The member's IAM is read as its ``DriftlineReadOnly`` role;
its registry entries come from the hub's registry table (partition = the member's id), its ledger, key cache and
finding states live in the hub's state table under the member's partitions, and its findings are imported into the
member's own Security Hub as its ``DriftlineFindingsPublisher`` role (the default product of the account the
findings name). Report mode only: the hub never enforces.

A member that cannot be entered or read (role missing or not trusting the hub, an SCP denying AssumeRole or an IAM
read) is an ``error`` result and an ``AccountsFailed`` metric, never an exception: the Map goes on with the others.
Any other failure raises.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from driftline.compose import (
    BadMemberItem,
    ContainerClients,
    MemberUnreachable,
    enter_member,
    member_item,
    remaining_seconds,
)
from driftline.handlers.report import record
from driftline.observability import logger, metrics

CLIENTS = ContainerClients()  # the hub's own clients: built by the first invocation, then reused


@logger.inject_lambda_context(log_event=False, clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    try:
        member = member_item(event)
    except BadMemberItem as exc:
        metrics.add_metric(name="RejectedAccountItems", unit=MetricUnit.Count, value=1)
        logger.error("member account item rejected", extra={"reason": str(exc)})
        raise
    logger.append_keys(member_account=member.account_id)
    hub = CLIENTS()
    try:
        composed = enter_member(member.account_id, hub, remaining=remaining_seconds(context))
        evaluation = composed.reconcile()
    except MemberUnreachable as exc:
        metrics.add_metric(name="AccountsFailed", unit=MetricUnit.Count, value=1)
        logger.error("member account not reconciled", extra={"error": str(exc), "role": exc.role_arn})
        return {"account_id": member.account_id, "name": member.name, "status": "error", "error": str(exc)}
    summary = record(evaluation, composed.calls())
    metrics.add_metric(name="AccountsReconciled", unit=MetricUnit.Count, value=1)
    return {
        "account_id": member.account_id,
        "name": member.name,
        "status": "reconciled",
        "drifts": summary["drifts"],
        "by_type": summary["drifts_by_type"],
        "by_severity": summary["drifts_by_severity"],
        "registry_problems": summary["registry_problems"],
        "open_unenforced_revocations": summary.get("open_unenforced_revocations", 0),
        "findings": summary["findings"],
        "calls": sum(summary["api_calls"].values()),
        "api_calls": summary["api_calls"],
    }
