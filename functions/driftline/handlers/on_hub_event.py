"""Hub and spoke: a member account's IAM changes, evaluated at once from the hub.

Each member's EventBridge rule forwards its IAM "AWS API Call via CloudTrail" events onto the hub's bus, unchanged:
``account`` is the member. They are judged exactly as on_iam_event.py judges a function's own account (the same
triage, scope, steps and idempotency on ``detail.eventID``), but the member's IAM is read as its read-only role, its
registry entries, ledger and finding states are the hub's under the member's partitions, and findings go to the
member's own Security Hub as its findings publisher role. Report mode only.

An event whose ``account`` is not CloudTrail's ``recipientAccountId`` (or that names none) is rejected: the member
whose IAM is read must be the account the call was made in. A member that cannot be entered or read is an error
result and an ``AccountsFailed`` metric (a redelivery would fail the same way); other failures raise, so Lambda
retries and the dead-letter queue keeps the event.
"""

from __future__ import annotations

import re
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from driftline.compose import ContainerClients, MemberUnreachable, enter_member, remaining_seconds
from driftline.handlers.on_iam_event import judge_once
from driftline.handlers.report import report_turned_away
from driftline.observability import logger, metrics
from driftline.triggers.triage import Triage, triage

CLIENTS = ContainerClients()  # the hub's own clients: built by the first invocation, then reused
ACCOUNT_ID = re.compile(r"[0-9]{12}")


def _one_account(decision: Triage) -> Triage:
    """An accepted event of exactly one account: its envelope's ``account`` and its ``recipientAccountId`` agree;
    otherwise the decision becomes a rejection saying why."""
    if decision.status in ("rejected", "skipped") or decision.detail is None:
        return decision
    recipient = decision.detail.recipientAccountId
    if not recipient:
        why = "the event names no recipientAccountId: whose IAM it changed is unknown"
    elif len(decision.accounts) != 1:
        envelope = next(a for a in sorted(decision.accounts) if a != recipient)
        why = f"the event's account {envelope[:40]!r} is not its recipientAccountId {recipient[:40]!r}"
    elif not ACCOUNT_ID.fullmatch(recipient):
        why = f"the event's account {recipient[:40]!r} is no 12-digit account id"
    else:
        return decision
    return decision.model_copy(update={"status": "rejected", "reason": why})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE, log_event=False, clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    decision = _one_account(triage(event))
    member = next(iter(decision.accounts), "")
    turned_away = report_turned_away(decision, member)
    if turned_away is not None:
        return turned_away
    logger.append_keys(member_account=member)
    try:
        composed = enter_member(member, CLIENTS(), remaining=remaining_seconds(context))
        with composed.reading():
            return judge_once(composed, composed.idempotency_store(), decision, context)
    except MemberUnreachable as exc:
        metrics.add_metric(name="AccountsFailed", unit=MetricUnit.Count, value=1)
        logger.error("member account event not evaluated", extra={"error": str(exc), "role": exc.role_arn})
        return {"account_id": member, "status": "error", "error": str(exc)}
