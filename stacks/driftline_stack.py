"""The driftline stack (home Region): registry and state tables, the three functions (scheduled reconcile, IAM
events, registry stream), an optional CloudTrail trail, alarms and the dashboard.

The functions share one construct (``DriftlineFunction``: asset, runtime, layer, logging, tracing) and one runtime
environment; each gets its own role with exactly the statements its handler needs (``constructs/permissions.py``).
"""

from __future__ import annotations

from typing import cast

from aws_cdk import CfnOutput, Environment, Stack
from constructs import Construct

from .config import DriftlineConfig
from .constants import APP_TAGS, STACK_DESCRIPTION
from .constructs.detection import Detection
from .constructs.enforcement import EnforcementResources
from .constructs.environment import runtime_environment
from .constructs.function import DriftlineFunction
from .constructs.iam_events import IamEvents
from .constructs.monitoring import Monitoring
from .constructs.registry import RegistryTable
from .constructs.registry_changes import RegistryChanges
from .constructs.registry_fanout import RegistryFanOut
from .constructs.registry_writer import RegistryWriterPolicy
from .constructs.state import StateTable
from .constructs.trail import AuditTrail


class DriftlineResources:
    """One account's driftline, built into ``self``: a ``Stack`` here, a ``StackSetStack`` in the organisation's
    rollout (stacks/organization_stack.py). Each construct is exposed (``registry``, ``state``, ``detection``,
    ``iam_events``, ``registry_changes``, ``trail``, ``monitoring``) for tests and extensions."""

    def _build(self, config: DriftlineConfig) -> None:
        scope = cast("Stack", self)
        self.config = config
        self.registry = RegistryTable(scope, "RegistryTable", config=config)
        self.registry_writer = RegistryWriterPolicy(scope, "RegistryWriterPolicy", table_arn=self.registry.table_arn)
        self.state = StateTable(scope, "StateTable")
        self.enforcement = EnforcementResources(scope, "Enforcement", config=config)
        deny_policy_arn = self.enforcement.deny_policy.managed_policy_arn
        environment = runtime_environment(
            config,
            registry_table=self.registry.reference,
            state_table=self.state.table.table_name,
            deny_policy_arn=deny_policy_arn,
        )
        tables = {"registry_table_arn": self.registry.table_arn, "state_table_arn": self.state.table.table_arn}
        self.detection = Detection(
            scope, "Detection", config=config, environment=environment, deny_policy_arn=deny_policy_arn, **tables
        )
        self.iam_events = IamEvents(
            scope,
            "IamEvents",
            config=config,
            environment=environment,
            reconcile=self.detection.reconcile,
            **tables,
        )
        self.registry_changes = RegistryChanges(
            scope,
            "RegistryChanges",
            config=config,
            environment=environment,
            registry_stream_arn=self.registry.stream_arn,
            **tables,
        )
        self.registry_fanout: RegistryFanOut | None = None
        if config.organization_id and self.registry.created and self.registry.stream_arn:
            self.registry_fanout = RegistryFanOut(
                scope,
                "RegistryFanOut",
                environment=environment,
                registry_stream_arn=self.registry.stream_arn,
                organization_id=config.organization_id,
            )
        self.trail = AuditTrail(scope, "AuditTrail") if config.create_trail else None
        queues = {
            "ReconcileDeadLetterQueue": self.detection.dead_letter_queue,
            "IamEventDeadLetterQueue": self.iam_events.dead_letter_queue,
            "RegistryChangeDeadLetterQueue": self.registry_changes.dead_letter_queue,
        }
        functions = dict(self.functions)
        if self.registry_fanout is not None:
            functions["RegistryFanOutFunction"] = self.registry_fanout.handler
            queues["RegistryFanOutDeadLetterQueue"] = self.registry_fanout.dead_letter_queue
        self.monitoring = Monitoring(
            scope,
            "Monitoring",
            config=config,
            functions=functions,
            queues=queues,
            reconcile=self.detection.reconcile,
        )
        self._outputs(scope)

    def _outputs(self, scope: Stack) -> None:
        """What an operator needs after a deploy: the tables for the CLI, the functions, the dashboard."""
        values = {
            "RegistryTableReference": (self.registry.reference, "registry table (name, or ARN of an existing one)"),
            "RegistryWriterPolicyArn": (
                self.registry_writer.policy.managed_policy_arn,
                "registry writer policy: attach it to the role that runs `driftline registry`",
            ),
            "StateTableName": (self.state.table.table_name, "state table: ledger, finding state (driftline evidence)"),
            **{
                f"{name}Name": (function.function.function_name, f"{name} name")
                for name, function in self.functions.items()
            },
            "DashboardName": (self.monitoring.dashboard.dashboard_name, "CloudWatch dashboard"),
        }
        for key, (value, description) in values.items():
            CfnOutput(scope, key, value=value, description=f"driftline {description}")

    @property
    def functions(self) -> dict[str, DriftlineFunction]:
        """The three functions by construct id."""
        return {
            "ReconcileFunction": self.detection.reconcile,
            "IamEventFunction": self.iam_events.handler,
            "RegistryChangeFunction": self.registry_changes.handler,
        }


class DriftlineStack(DriftlineResources, Stack):
    """The driftline stack of one account (see ``DriftlineResources``)."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: DriftlineConfig, env: Environment | None = None
    ) -> None:
        # Stack tags (not Tags.of): CloudFormation applies them to every taggable resource it creates. The stack
        # name is the construct id even inside a CDK Pipelines stage (which would prefix it): role names must start
        # with "Driftline", which the exclusions and the enforcement policy's denies protect.
        super().__init__(
            scope,
            construct_id,
            stack_name=construct_id,
            env=env,
            description=STACK_DESCRIPTION,
            tags=dict(APP_TAGS),
        )
        self._build(config)
