"""IAM changes, evaluated at once: CloudTrail "AWS API Call via CloudTrail" events from EventBridge.

Each event is turned into the identities it touched (``events.EVENT_RULES``), those identities alone are re-read
from IAM and compared with the registry, and only their findings are published or resolved. Processing is
idempotent on ``detail.eventID`` (Powertools Idempotency, state table), so a redelivered event writes nothing twice.

An event that cannot say whom it changed (CloudTrail truncated its request, a managed policy's document changed) is
never dropped: it asks for a whole-account reconcile (coalesced) and is counted (``TruncatedEvents``). A *failed*
enforcing call on a revoked identity (an SCP denied ``UpdateAccessKey``, say) is kept on its ledger record as an
attempt, with who, when and AWS's error code.

Bad input never raises: it is rejected with a log line and a metric. Real failures (IAM, DynamoDB, Security Hub
errors) raise, so Lambda retries and, after that, the dead-letter queue keeps the event.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from driftline.compose import ContainerClients, Judging, account_of, compose, remaining_seconds
from driftline.handlers.report import record, report_turned_away
from driftline.observability import logger, metrics
from driftline.service.registry_memo import RegistryMemo
from driftline.triggers.event_scope import event_scope, refused_attempt
from driftline.triggers.triage import Triage, triage

# EventBridge retries delivery for up to 24 h (AWS-FACTS section 1): remember processed events as long.
IDEMPOTENCY_SECONDS = 24 * 3600
CLIENTS = ContainerClients()


def evaluate_event(composed: Judging, decision: Triage) -> dict[str, Any]:
    """Evaluate the identities one accepted event touched (group members and revoked callers included)."""
    assert decision.detail is not None
    detector = composed.detector
    memo = RegistryMemo(detector.registry, detector.account_id)
    scope = event_scope(
        decision,
        account_id=detector.account_id,
        iam=detector.iam,
        registry=memo,
        exclusions=detector.settings.exclusions,
    )
    if scope is None:
        metrics.add_metric(name="SkippedEvents", unit=MetricUnit.Count, value=1)
        logger.info("event touches only excluded identities", extra={"event_name": decision.detail.eventName})
        return {"status": "skipped", "reason": "excluded identities"}
    summary = record(detector.evaluate(scope, registry=memo), composed.calls())
    return {"status": "evaluated", "event_id": decision.detail.eventID, "event_name": decision.detail.eventName} | (
        summary
    )


def widen(composed: Judging, decision: Triage) -> dict[str, Any]:
    """An event that cannot say whom it changed: ask for a whole-account reconcile (coalesced), count it."""
    assert decision.detail is not None
    detail = decision.detail
    metrics.add_metric(name="TruncatedEvents", unit=MetricUnit.Count, value=1)
    result = {"status": "widened", "event_id": detail.eventID, "reason": decision.reason}
    requests = composed.reconcile_requests
    if requests is None:  # a deployment always sets it; without it the scheduled reconcile is the only net
        logger.error(
            "event names no identity and no reconcile function is configured", extra={"reason": decision.reason}
        )
        return result | {"reconcile_requested": False}
    reason = f"{detail.eventName} {detail.eventID}: {decision.reason}"
    asked = requests.request(composed.detector.account_id, reason, composed.detector.clock())
    logger.warning(
        "event names no identity: whole-account reconcile requested",
        extra={"event_name": detail.eventName, "event_id": detail.eventID, "reason": decision.reason, "new": asked},
    )
    return result | {"reconcile_requested": asked}


def record_attempt(composed: Judging, decision: Triage) -> dict[str, Any]:
    """A failed enforcing call: kept on the ledger record of every revoked identity it aimed at."""
    assert decision.detail is not None
    refused = refused_attempt(decision)
    if refused is None:
        metrics.add_metric(name="SkippedEvents", unit=MetricUnit.Count, value=1)
        return {"status": "skipped", "reason": f"{decision.detail.eventName} would not have enforced anything"}
    refs, attempt = refused
    recorded = composed.detector.record_attempt(refs, attempt)
    metrics.add_metric(name="DeniedEnforcementAttempts", unit=MetricUnit.Count, value=len(recorded))
    if recorded:
        logger.warning("enforcing call denied", extra={"identities": recorded, "attempt": attempt.description})
    return {"status": "attempt", "event_id": decision.detail.eventID, "recorded": recorded}


def judge_once(
    composed: Judging, store: DynamoDBPersistenceLayer, decision: Triage, context: LambdaContext
) -> dict[str, Any]:
    """An accepted event's step (evaluate, widen, or record a refused attempt), at most once per ``eventID``: a
    redelivered event answers what the first delivery did. Shared with the hub's event function (on_hub_event.py)."""
    config = IdempotencyConfig(event_key_jmespath="eventID", expires_after_seconds=IDEMPOTENCY_SECONDS)
    config.register_lambda_context(context)
    step = {"widen": widen, "attempt": record_attempt}.get(decision.status, evaluate_event)

    @idempotent_function(data_keyword_argument="detail", persistence_store=store, config=config)  # type: ignore[untyped-decorator]
    def process(detail: dict[str, Any]) -> dict[str, Any]:
        return step(composed, decision)

    result: dict[str, Any] = process(detail=decision.raw_detail)
    return result


@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE, log_event=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    decision = triage(event)
    own = account_of(context)
    turned_away = report_turned_away(decision, own)
    if turned_away is not None:
        return turned_away
    composed = compose(own, CLIENTS(), remaining=remaining_seconds(context))
    return judge_once(composed, composed.idempotency_store(), decision, context)
