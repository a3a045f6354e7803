"""The one composition root: the adapters behind every port, joined into a ``Detector``.

The Lambda handlers call ``compose`` (settings from the environment, as the stack sets it); the CLI's scan and
enforce, the demo, the tests and the benchmarks call ``detector`` with what they choose (a registry file instead of
the table, no state table, publishing off). Nothing else builds adapters for the core.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
from pydantic import ValidationError

from driftline.adapters.aws import Clients
from driftline.adapters.enforcer import Boto3Enforcer
from driftline.adapters.finding_state import DynamoFindingStates
from driftline.adapters.iam_account import Boto3IamReader
from driftline.adapters.key_cache import DynamoKeyCache
from driftline.adapters.ledger import DynamoLedger
from driftline.adapters.member_access import (
    PUBLISH_SESSION,
    READ_SESSION,
    assume_member_role,
    reading_member,
    role_arn,
)
from driftline.adapters.member_access import MemberUnreachable as MemberUnreachable  # the hub handler catches it
from driftline.adapters.organization import Member, members
from driftline.adapters.reconcile_request import REQUEST_SOURCE, LambdaReconcileRequests
from driftline.adapters.registry import DynamoRegistry
from driftline.adapters.securityhub import SecurityHubImporter
from driftline.domain.enforcement import Protections, deny_policy_arn
from driftline.domain.errors import DriftlineError
from driftline.domain.settings import CompareSettings
from driftline.findings.asff import Place
from driftline.findings.plan import REFRESH_AFTER
from driftline.findings.sink import SecurityHubSink
from driftline.service.detector import Detector
from driftline.service.enforcement import EnforcementSettings
from driftline.service.pipeline import Evaluation
from driftline.service.ports import DriftSink, KeyCache, Ledger, NullSink, ReconcileRequests, RegistryReader
from driftline.settings import RuntimeSettings, get_settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def now() -> datetime:
    """The detectors' clock (tests replace it here)."""
    return datetime.now(UTC)


class ContainerClients:
    """The clients of one Lambda execution environment: built by its first invocation (session, service models,
    connection pool: hundreds of milliseconds) and reused by every later one. Invocations of one environment never
    overlap, so the call counter simply restarts with each."""

    def __init__(self, factory: Callable[[], Clients] = Clients) -> None:
        self._factory = factory
        self._clients: Clients | None = None

    def __call__(self) -> Clients:
        if self._clients is None:
            self._clients = self._factory()
        self._clients.counter.calls.clear()
        return self._clients


def account_of(context: object) -> str:
    """The account id from a Lambda context's function ARN (arn:aws:lambda:region:account:function:name)."""
    arn: str = getattr(context, "invoked_function_arn")  # noqa: B009 - LambdaContext is not imported here
    return arn.split(":")[4]


def remaining_seconds(context: object) -> Callable[[], float]:
    """The invocation's time left, for work that must stop before the function's timeout."""
    left: Callable[[], int] = getattr(context, "get_remaining_time_in_millis")  # noqa: B009
    return lambda: left() / 1000


def security_hub_sink(
    clients: Clients,
    account_id: str,
    state_table: str,
    *,
    remaining: Callable[[], float] | None = None,
    publisher: Clients | None = None,
    refresh_after: timedelta = REFRESH_AFTER,
) -> DriftSink:
    """Findings of ``account_id`` imported with ``publisher`` (default ``clients``: the account's own function),
    their states remembered in ``state_table`` through ``clients``; an unchanged open finding is re-imported every
    ``refresh_after``."""
    importing = publisher or clients
    return SecurityHubSink(
        SecurityHubImporter(importing.securityhub(), remaining=remaining),
        DynamoFindingStates(clients.dynamodb(), state_table),
        Place(account_id=account_id, region=importing.region, partition=importing.partition),
        refresh_after=refresh_after,
    )


def detector(
    account_id: str,
    clients: Clients,
    *,
    registry: RegistryReader,
    settings: CompareSettings,
    key_cache: KeyCache | None = None,
    ledger: Ledger | None = None,
    sink: DriftSink | None = None,
    enforcement: EnforcementSettings | None = None,
    report_wait_seconds: int = 60,
) -> Detector:
    """A detector of ``account_id`` on ``clients``: IAM through boto3, the rest as given."""
    return Detector(
        account_id=account_id,
        iam=Boto3IamReader(clients.iam(), key_cache=key_cache, report_wait_seconds=report_wait_seconds),
        registry=registry,
        sink=sink or NullSink(),
        ledger=ledger,
        settings=settings,
        enforcement=enforcement,
        clock=lambda: now(),
    )


@dataclass(frozen=True)
class Composed:
    """What a Lambda invocation works with: the detector, and the few things a handler needs beside it."""

    detector: Detector
    clients: Clients
    settings: RuntimeSettings

    def idempotency_store(self) -> DynamoDBPersistenceLayer:
        """Powertools idempotency records of the IAM event function, in the state table's own partition."""
        return _idempotency_store(self.settings, self.clients, "idempotency#iam-event")

    @property
    def reconcile_requests(self) -> ReconcileRequests | None:
        """How an event that names nobody asks for a whole-account reconcile (the IAM event function only)."""
        return _reconcile_requests(self.settings, self.clients)

    def calls(self) -> dict[str, int]:
        """The invocation's AWS calls, by operation."""
        return self.clients.counter.snapshot()


class Judging(Protocol):
    """What the IAM event steps (handlers/on_iam_event.py) work with: a function's own account (``Composed``) or a
    member account judged from the hub (``ComposedMember``)."""

    @property
    def detector(self) -> Detector: ...

    @property
    def reconcile_requests(self) -> ReconcileRequests | None: ...

    def calls(self) -> dict[str, int]: ...


def _idempotency_store(settings: RuntimeSettings, clients: Clients, partition: str) -> DynamoDBPersistenceLayer:
    return DynamoDBPersistenceLayer(
        table_name=settings.state_table,
        key_attr="pk",
        sort_key_attr="sk",
        static_pk_value=partition,
        boto3_client=clients.dynamodb(),
    )


def _reconcile_requests(settings: RuntimeSettings, clients: Clients) -> ReconcileRequests | None:
    function = settings.reconcile_function
    if not function:
        return None
    return LambdaReconcileRequests(clients.dynamodb(), settings.state_table, clients.lambda_(), function)


def _enforcement(settings: RuntimeSettings, clients: Clients, account_id: str) -> EnforcementSettings:
    """Enforcement permissions exist only in enforce mode (the stack adds them), and so does the enforcer."""
    enforcer = Boto3Enforcer(clients.iam()) if settings.mode == "enforce" else None
    policy = settings.deny_policy_arn or deny_policy_arn(account_id, clients.partition)
    protections = Protections(deny_policy_arn=policy, break_glass=settings.break_glass_principals)
    return EnforcementSettings(protections=protections, mode=settings.mode, enforcer=enforcer)


def _deployed(
    account_id: str,
    iam_clients: Clients,
    db: DynamoDBClient,
    settings: RuntimeSettings,
    *,
    sink: DriftSink | None,
    enforcement: EnforcementSettings | None,
) -> Detector:
    """A deployed detector: IAM through ``iam_clients`` (the account's own, or a member's read role), the registry,
    key cache and ledger in the tables the settings name, through ``db``."""
    return detector(
        account_id,
        iam_clients,
        registry=DynamoRegistry(db, settings.registry_table),
        settings=settings.compare_settings(),
        key_cache=DynamoKeyCache(db, settings.state_table),
        ledger=DynamoLedger(db, settings.state_table),
        sink=sink,
        enforcement=enforcement,
        report_wait_seconds=settings.credential_report_wait_seconds,
    )


def compose(account_id: str, clients: Clients, *, remaining: Callable[[], float] | None = None) -> Composed:
    """The deployed detector: settings from the environment; ``remaining`` (seconds left) bounds publishing."""
    settings = get_settings()
    db = clients.dynamodb()
    sink = (
        security_hub_sink(
            clients, account_id, settings.state_table, remaining=remaining, refresh_after=settings.finding_refresh
        )
        if settings.publish_findings
        else None
    )
    return Composed(
        detector=_deployed(
            account_id, clients, db, settings, sink=sink, enforcement=_enforcement(settings, clients, account_id)
        ),
        clients=clients,
        settings=settings,
    )


# --- hub and spoke: the hub's functions judge the organisation's member accounts --------------------------------


class HubMisconfigured(DriftlineError):
    """The hub's settings ask for something the hub never does (enforcing in a member account)."""


class BadMemberItem(DriftlineError, ValueError):
    """The hub account function's input is not one member account item."""


def hub_settings() -> RuntimeSettings:
    """The hub functions' settings: report mode only. The hub enters member accounts with read-only and
    findings-only roles, so ``DRIFTLINE_MODE=enforce`` could never act: refused at cold start, not ignored."""
    settings = get_settings()
    if settings.mode == "enforce":
        raise HubMisconfigured(
            "DRIFTLINE_MODE=enforce is refused: the hub judges member accounts in report mode only (it assumes "
            "read-only and findings-only roles there); enforce in a member account with its own deployment"
        )
    return settings


def organization_members(clients: Clients, units: tuple[str, ...]) -> list[Member]:
    """The accounts the hub judges: the organisation's ACTIVE accounts, or those anywhere under ``units``."""
    return members(clients.organizations(), units)


def member_item(event: object) -> Member:
    """One item of the hub's account map, ``{"account_id": "<12 digits>", "name": "..."}``, validated; or the hub
    event function's request for a member's reconcile, ``{"source": "driftline.reconcile-request", "account": ...}``.
    """
    if not isinstance(event, dict):
        raise BadMemberItem(f"a member account item is a JSON object, not a {type(event).__name__}")
    if event.get("source") == REQUEST_SOURCE:
        event = {"account_id": event.get("account")}
    try:
        return Member.model_validate(event)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise BadMemberItem(f"not a member account item ({problems}): {json.dumps(event, default=str)[:200]}") from exc


@dataclass(frozen=True)
class ComposedMember:
    """One member account judged from the hub: IAM read as the member's read-only role, registry entries and state
    in the hub's tables under the member's partitions, findings imported as the member's publisher role."""

    detector: Detector
    hub: Clients
    reader: Clients
    publisher: Clients | None
    settings: RuntimeSettings
    read_role_arn: str

    def reconcile(self) -> Evaluation:
        """The whole member account; ``MemberUnreachable`` when IAM refuses the read-only role."""
        with self.reading():
            return self.detector.reconcile()

    def reading(self) -> AbstractContextManager[None]:
        """Around work that reads the member's IAM: IAM refusing the read-only role raises ``MemberUnreachable``."""
        return reading_member(self.read_role_arn)

    def idempotency_store(self) -> DynamoDBPersistenceLayer:
        """Powertools idempotency records of the hub's IAM event function (forwarded member events)."""
        return _idempotency_store(self.settings, self.hub, "idempotency#hub-event")

    @property
    def reconcile_requests(self) -> ReconcileRequests | None:
        """How a member's event that names nobody asks for a reconcile of that member: the hub's account function,
        invoked with ``{"source": "driftline.reconcile-request", "account": <member>}`` (``member_item`` takes it)."""
        return _reconcile_requests(self.settings, self.hub)

    def calls(self) -> dict[str, int]:
        """The invocation's AWS calls, the hub's own and those made as each member role."""
        total: dict[str, int] = {}
        for clients in (self.hub, self.reader, self.publisher):
            for name, count in (clients.counter.snapshot() if clients is not None else {}).items():
                total[name] = total.get(name, 0) + count
        return dict(sorted(total.items()))


def compose_member(
    member_id: str,
    hub: Clients,
    reader: Clients,
    publisher: Clients | None,
    *,
    settings: RuntimeSettings,
    read_role_arn: str = "",
    remaining: Callable[[], float] | None = None,
) -> ComposedMember:
    """A detector of member account ``member_id`` run by the hub: never enforcing (no enforcer, no plan)."""
    db = hub.dynamodb()
    sink = (
        security_hub_sink(
            hub,
            member_id,
            settings.state_table,
            remaining=remaining,
            publisher=publisher,
            refresh_after=settings.finding_refresh,
        )
        if settings.publish_findings and publisher is not None
        else None
    )
    return ComposedMember(
        detector=_deployed(member_id, reader, db, settings, sink=sink, enforcement=None),
        hub=hub,
        reader=reader,
        publisher=publisher,
        settings=settings,
        read_role_arn=read_role_arn,
    )


def enter_member(member_id: str, hub: Clients, *, remaining: Callable[[], float] | None = None) -> ComposedMember:
    """Assume the member's read-only role (and its findings publisher role when findings are published) and compose
    its detector. ``MemberUnreachable`` names the role STS refused."""
    settings = hub_settings()
    read_arn = role_arn(hub.partition, member_id, settings.member_role_name)
    reader = assume_member_role(hub, read_arn, READ_SESSION)
    publisher = None
    if settings.publish_findings:
        publisher = assume_member_role(
            hub, role_arn(hub.partition, member_id, settings.findings_role_name), PUBLISH_SESSION
        )
    return compose_member(
        member_id, hub, reader, publisher, settings=settings, read_role_arn=read_arn, remaining=remaining
    )
