"""Building the adapters a handler needs from the runtime settings and one set of clients."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from aws_lambda_powertools.utilities.typing import LambdaContext

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
from driftline.service.enforcement import EnforcementSettings
from driftline.service.ports import DriftSink, NullSink, ReconcileRequests
from driftline.settings import RuntimeSettings, get_settings


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


def account_of(context: LambdaContext) -> str:
    """The account id from the invoked function's ARN (arn:aws:lambda:region:account:function:name)."""
    return context.invoked_function_arn.split(":")[4]


@dataclass(frozen=True)
class Wiring:
    account_id: str
    clients: Clients
    settings: RuntimeSettings
    iam: Boto3IamReader
    registry: DynamoRegistry
    ledger: DynamoLedger
    sink: DriftSink

    @property
    def compare_settings(self) -> CompareSettings:
        return self.settings.compare_settings()

    @property
    def enforcement(self) -> EnforcementSettings:
        """Enforcement permissions exist only in enforce mode (the stack adds them), and so does the enforcer."""
        enforcer = Boto3Enforcer(self.clients.iam()) if self.settings.mode == "enforce" else None
        policy = self.settings.deny_policy_arn or deny_policy_arn(self.account_id, self.clients.partition)
        protections = Protections(deny_policy_arn=policy, break_glass=self.settings.break_glass_principals)
        return EnforcementSettings(protections=protections, mode=self.settings.mode, enforcer=enforcer)

    @property
    def reconcile_requests(self) -> ReconcileRequests | None:
        """How an event that names nobody asks for a whole-account reconcile (the IAM event function only)."""
        function = self.settings.reconcile_function
        if not function:
            return None
        return LambdaReconcileRequests(
            self.clients.dynamodb(), self.settings.state_table, self.clients.lambda_(), function
        )

    @staticmethod
    def now() -> datetime:
        return datetime.now(UTC)


def remaining_seconds(context: LambdaContext) -> Callable[[], float]:
    """The invocation's time left, for work that must stop before the function's timeout."""
    return lambda: context.get_remaining_time_in_millis() / 1000


def wire(account_id: str, clients: Clients, *, remaining: Callable[[], float] | None = None) -> Wiring:
    """The adapters of one invocation; ``remaining`` (seconds left) bounds the Security Hub import."""
    settings = get_settings()
    db = clients.dynamodb()
    sink: DriftSink = NullSink()
    if settings.publish_findings:
        sink = SecurityHubSink(
            SecurityHubImporter(clients.securityhub(), remaining=remaining),
            DynamoFindingStates(db, settings.state_table),
            Place(account_id=account_id, region=clients.region, partition=clients.partition),
        )
    return Wiring(
        account_id=account_id,
        clients=clients,
        settings=settings,
        iam=Boto3IamReader(
            clients.iam(),
            key_cache=DynamoKeyCache(db, settings.state_table),
            report_wait_seconds=settings.credential_report_wait_seconds,
        ),
        registry=DynamoRegistry(db, settings.registry_table),
        ledger=DynamoLedger(db, settings.state_table),
        sink=sink,
    )
