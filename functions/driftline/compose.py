"""The one composition root: the adapters behind every port, joined into a ``Detector``.

The Lambda handlers call ``compose`` (settings from the environment, as the stack sets it); the CLI's scan and
enforce, the demo, the tests and the benchmarks call ``detector`` with what they choose (a registry file instead of
the table, no state table, publishing off). Nothing else builds adapters for the core.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

from driftline.adapters.aws import Clients
from driftline.adapters.enforcer import Boto3Enforcer
from driftline.adapters.finding_state import DynamoFindingStates
from driftline.adapters.iam_account import Boto3IamReader
from driftline.adapters.key_cache import DynamoKeyCache
from driftline.adapters.ledger import DynamoLedger
from driftline.adapters.reconcile_request import LambdaReconcileRequests
from driftline.adapters.registry import DynamoRegistry
from driftline.adapters.securityhub import SecurityHubImporter
from driftline.domain.enforcement import Protections, deny_policy_arn
from driftline.domain.settings import CompareSettings
from driftline.findings.asff import Place
from driftline.findings.sink import SecurityHubSink
from driftline.service.detector import Detector
from driftline.service.enforcement import EnforcementSettings
from driftline.service.ports import DriftSink, KeyCache, Ledger, NullSink, ReconcileRequests, RegistryReader
from driftline.settings import RuntimeSettings, get_settings


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
    clients: Clients, account_id: str, state_table: str, *, remaining: Callable[[], float] | None = None
) -> DriftSink:
    return SecurityHubSink(
        SecurityHubImporter(clients.securityhub(), remaining=remaining),
        DynamoFindingStates(clients.dynamodb(), state_table),
        Place(account_id=account_id, region=clients.region, partition=clients.partition),
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
        return DynamoDBPersistenceLayer(
            table_name=self.settings.state_table,
            key_attr="pk",
            sort_key_attr="sk",
            static_pk_value="idempotency#iam-event",
            boto3_client=self.clients.dynamodb(),
        )

    @property
    def reconcile_requests(self) -> ReconcileRequests | None:
        """How an event that names nobody asks for a whole-account reconcile (the IAM event function only)."""
        function = self.settings.reconcile_function
        if not function:
            return None
        return LambdaReconcileRequests(
            self.clients.dynamodb(), self.settings.state_table, self.clients.lambda_(), function
        )


def _enforcement(settings: RuntimeSettings, clients: Clients, account_id: str) -> EnforcementSettings:
    """Enforcement permissions exist only in enforce mode (the stack adds them), and so does the enforcer."""
    enforcer = Boto3Enforcer(clients.iam()) if settings.mode == "enforce" else None
    policy = settings.deny_policy_arn or deny_policy_arn(account_id, clients.partition)
    protections = Protections(deny_policy_arn=policy, break_glass=settings.break_glass_principals)
    return EnforcementSettings(protections=protections, mode=settings.mode, enforcer=enforcer)


def compose(account_id: str, clients: Clients, *, remaining: Callable[[], float] | None = None) -> Composed:
    """The deployed detector: settings from the environment; ``remaining`` (seconds left) bounds publishing."""
    settings = get_settings()
    db = clients.dynamodb()
    sink = (
        security_hub_sink(clients, account_id, settings.state_table, remaining=remaining)
        if settings.publish_findings
        else None
    )
    return Composed(
        detector=detector(
            account_id,
            clients,
            registry=DynamoRegistry(db, settings.registry_table),
            settings=settings.compare_settings(),
            key_cache=DynamoKeyCache(db, settings.state_table),
            ledger=DynamoLedger(db, settings.state_table),
            sink=sink,
            enforcement=_enforcement(settings, clients, account_id),
            report_wait_seconds=settings.credential_report_wait_seconds,
        ),
        clients=clients,
        settings=settings,
    )
