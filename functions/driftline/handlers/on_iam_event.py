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

from driftline.adapters.aws import Clients
from driftline.domain.identity import IdentityRef
from driftline.domain.ledger import Attempt, LedgerRecord, log_attempt, open_record
from driftline.domain.observed import ALL_FACETS
from driftline.domain.registry import RegistryEntry
from driftline.domain.times import iso
from driftline.handlers.report import record
from driftline.handlers.wiring import ContainerClients, Wiring, account_of, remaining_seconds, wire
from driftline.observability import logger, metrics
from driftline.service.pipeline import evaluate_identities
from driftline.service.registry_memo import RegistryMemo
from driftline.triggers import cloudtrail as events
from driftline.triggers.event_changes import attempted, credential_changes
from driftline.triggers.triage import Triage, triage

# EventBridge retries delivery for up to 24 h (AWS-FACTS section 1): remember processed events as long.
IDEMPOTENCY_SECONDS = 24 * 3600
CLIENTS = ContainerClients()


def _idempotency(clients: Clients, table: str) -> tuple[DynamoDBPersistenceLayer, IdempotencyConfig]:
    store = DynamoDBPersistenceLayer(
        table_name=table,
        key_attr="pk",
        sort_key_attr="sk",
        static_pk_value="idempotency#iam-event",
        boto3_client=clients.dynamodb(),
    )
    return store, IdempotencyConfig(event_key_jmespath="eventID", expires_after_seconds=IDEMPOTENCY_SECONDS)


def evaluate_event(wiring: Wiring, decision: Triage) -> dict[str, Any]:
    """Evaluate the identities one accepted event touched (group members and revoked callers included)."""
    assert decision.detail is not None and decision.touched is not None
    detail = decision.detail
    refs = set(decision.touched.refs)
    for group in sorted(decision.touched.groups):
        refs.update(events.group_member_refs(wiring.iam.group_members(group) or []))
    registry = RegistryMemo(wiring.registry, wiring.account_id)
    registry.prefetch(refs | events.caller_refs(detail))  # one batch for everything known before reading IAM
    used = events.revoked_callers(detail, lambda ref: _revoked(registry, wiring.account_id, ref))
    refs.update(used)
    refs -= _unregistered_excluded(registry, wiring, refs - set(used))
    if not refs:
        metrics.add_metric(name="SkippedEvents", unit=MetricUnit.Count, value=1)
        logger.info("event touches only excluded identities", extra={"event_name": detail.eventName})
        return {"status": "skipped", "reason": "excluded identities"}
    rule = events.EVENT_RULES[detail.eventName]
    # An event re-reads only what it could change of a user (its rule's facets), unless someone revoked is involved:
    # then everything, as the ledger and the revoked-credential-used check need the whole identity.
    revoked_involved = any(_revoked(registry, wiring.account_id, r) for r in refs)  # revoked callers included
    evaluation = evaluate_identities(
        wiring.account_id,
        sorted(refs, key=lambda r: r.key),
        iam=wiring.iam,
        registry=registry,
        sink=wiring.sink,
        settings=wiring.compare_settings,
        now=wiring.now(),
        ledger=wiring.ledger,
        changes=credential_changes(detail),
        observe=events.mark_use(used, detail) if used else None,
        facets=ALL_FACETS if revoked_involved else rule.reads,
    )
    summary = record(evaluation, wiring.clients.counter.snapshot())
    return {"status": "evaluated", "event_id": detail.eventID, "event_name": detail.eventName} | summary


def widen(wiring: Wiring, decision: Triage) -> dict[str, Any]:
    """An event that cannot say whom it changed: ask for a whole-account reconcile (coalesced), count it."""
    assert decision.detail is not None
    detail = decision.detail
    metrics.add_metric(name="TruncatedEvents", unit=MetricUnit.Count, value=1)
    requests = wiring.reconcile_requests
    if requests is None:  # a deployment always sets it; without it the scheduled reconcile is the only net
        logger.error(
            "event names no identity and no reconcile function is configured", extra={"reason": decision.reason}
        )
        return {
            "status": "widened",
            "event_id": detail.eventID,
            "reason": decision.reason,
            "reconcile_requested": False,
        }
    reason = f"{detail.eventName} {detail.eventID}: {decision.reason}"
    asked = requests.request(wiring.account_id, reason, wiring.now())
    logger.warning(
        "event names no identity: whole-account reconcile requested",
        extra={"event_name": detail.eventName, "event_id": detail.eventID, "reason": decision.reason, "new": asked},
    )
    return {"status": "widened", "event_id": detail.eventID, "reason": decision.reason, "reconcile_requested": asked}


def record_attempt(wiring: Wiring, decision: Triage) -> dict[str, Any]:
    """A failed enforcing call: kept on the ledger record of every revoked identity it aimed at."""
    assert decision.detail is not None
    detail = decision.detail
    aim = attempted(detail)
    if aim is None:
        metrics.add_metric(name="SkippedEvents", unit=MetricUnit.Count, value=1)
        return {"status": "skipped", "reason": f"{detail.eventName} would not have enforced anything"}
    refs, target = aim
    attempt = Attempt(
        at=detail.eventTime,
        event_name=detail.eventName,
        error_code=detail.errorCode or "Unknown",
        event_id=detail.eventID,
        actor_arn=detail.userIdentity.arn,
        target=target,
    )
    recorded = []
    now = wiring.now()
    for entry in wiring.registry.get_many(wiring.account_id, refs).values():
        if not entry.is_revoked or entry.revoked_at is None:
            continue

        def change(current: LedgerRecord | None, entry: RegistryEntry = entry) -> LedgerRecord | None:
            return log_attempt(current or open_record(wiring.account_id, entry, now), attempt)

        if wiring.ledger.update(wiring.account_id, entry.ref.key, iso(entry.revoked_at), change) is not None:
            recorded.append(entry.ref.key)
    metrics.add_metric(name="DeniedEnforcementAttempts", unit=MetricUnit.Count, value=len(recorded))
    if recorded:
        logger.warning("enforcing call denied", extra={"identities": recorded, "attempt": attempt.description})
    return {"status": "attempt", "event_id": detail.eventID, "recorded": recorded}


def _unregistered_excluded(registry: RegistryMemo, wiring: Wiring, refs: set[IdentityRef]) -> set[IdentityRef]:
    """Touched identities driftline leaves alone: excluded by name (the event carries no path) and not registered.
    A registered one is judged like any other, as the reconcile does."""
    exclusions = wiring.compare_settings.exclusions
    named = {r for r in refs if exclusions.excludes(r.name, kind=r.kind)}
    return {r for r in named if registry.get(wiring.account_id, r) is None}


def _revoked(registry: RegistryMemo, account_id: str, ref: IdentityRef) -> bool:
    entry = registry.get(account_id, ref)
    return entry is not None and entry.is_revoked


@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE, log_event=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    decision = triage(event)
    if decision.status == "rejected":
        metrics.add_metric(name="RejectedEvents", unit=MetricUnit.Count, value=1)
        logger.warning("event rejected", extra={"reason": decision.reason})
        return {"status": "rejected", "reason": decision.reason}
    if decision.status == "skipped":
        metrics.add_metric(name="SkippedEvents", unit=MetricUnit.Count, value=1)
        logger.debug("event skipped", extra={"reason": decision.reason})
        return {"status": "skipped", "reason": decision.reason}
    assert decision.detail is not None
    own = account_of(context)
    foreign = decision.foreign_to(own)
    if foreign is not None:
        # An event of another account (a shared bus, a misrouted rule) says nothing about this account's IAM.
        metrics.add_metric(name="SkippedEvents", unit=MetricUnit.Count, value=1)
        logger.warning("event of another account skipped", extra={"event_account": foreign, "account": own})
        return {"status": "skipped", "reason": f"event of account {foreign}, this deployment watches {own}"}
    clients = CLIENTS()
    wiring = wire(own, clients, remaining=remaining_seconds(context))
    store, config = _idempotency(clients, wiring.settings.state_table)
    config.register_lambda_context(context)

    step = {"widen": widen, "attempt": record_attempt}.get(decision.status, evaluate_event)

    @idempotent_function(data_keyword_argument="detail", persistence_store=store, config=config)  # type: ignore[untyped-decorator]
    def process(detail: dict[str, Any]) -> dict[str, Any]:
        return step(wiring, decision)

    result: dict[str, Any] = process(detail=decision.raw_detail)
    return result
