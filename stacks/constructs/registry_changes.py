"""Registry changes: the registry table's stream feeds the registry-change function through an event source mapping.

The mapping reports partial batch failures (the handler uses Powertools ``BatchProcessor``), retries a bounded
number of times, bisects a failing batch, gives up on records older than the configured age, and sends what still
fails to an SQS on-failure destination (for a stream, the message describes the failed batch: shard and sequence
numbers, which stay readable in the stream for 24 h). There are no filter criteria: whether a status changed needs
both images compared, which a filter cannot do (AWS-FACTS section 7), so the handler decides in code.
"""

from __future__ import annotations

from aws_cdk import Aws, Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from ..config import DriftlineConfig
from ..constants import (
    EVENT_ASYNC_RETRY_ATTEMPTS,
    EVENT_MAX_EVENT_AGE_HOURS,
    EVENT_MEMORY_MB,
    EVENT_TIMEOUT_SECONDS,
    REGISTRY_CHANGE_HANDLER,
    REGISTRY_EVENT_DETAIL_TYPE,
    REGISTRY_EVENT_HANDLER,
    REGISTRY_EVENT_SOURCE,
)
from .delivery import event_target, stream_mapping
from .function import DriftlineFunction
from .permissions import (
    acknowledge_iam_reads,
    function_statements,
    iam_read_statements,
    registry_stream_read_statement,
)
from .queues import dead_letter_queue


def registry_change_statements(
    config: DriftlineConfig, *, registry_table_arn: str, registry_stream_arn: str | None, state_table_arn: str
) -> list[iam.PolicyStatement]:
    """Single user/role reads, registry (and its stream, when read here) reads, state read/write, Security Hub."""
    return function_statements(
        config,
        iam_reads=iam_read_statements(account_wide=False, groups=False),
        registry_table_arn=registry_table_arn,
        state_table_arn=state_table_arn,
        function="RegistryChangeFunction",
        extra=[registry_stream_read_statement(registry_stream_arn)] if registry_stream_arn else [],
    )


def central_account(registry_table_arn: str) -> str:
    return registry_table_arn.split(":")[4]


class RegistryChanges(Construct):
    """The registry-change function, its stream event source mapping and the mapping's on-failure queue."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DriftlineConfig,
        environment: dict[str, str],
        registry_table_arn: str,
        registry_stream_arn: str | None,
        state_table_arn: str,
    ) -> None:
        """With ``registry_stream_arn`` the function reads the registry's stream; without it (a member of a central
        registry that forwards its stream) an EventBridge rule on the default bus feeds it the forwarded records."""
        super().__init__(scope, construct_id)
        forwarded = registry_stream_arn is None
        self.dead_letter_queue = dead_letter_queue(
            self,
            "RegistryChangeDeadLetterQueue",
            holds="forwarded registry changes Lambda gave up on"
            if forwarded
            else "registry stream batches that still failed after retries",
        )
        self.handler = DriftlineFunction(
            self,
            "RegistryChangeFunction",
            handler=REGISTRY_EVENT_HANDLER if forwarded else REGISTRY_CHANGE_HANDLER,
            description="driftline: opens, cancels and checks revocations as the registry changes"
            + (" (forwarded by the central registry)" if forwarded else " (table stream)"),
            environment=environment,
            memory_size=EVENT_MEMORY_MB,
            timeout=Duration.seconds(EVENT_TIMEOUT_SECONDS),
            failure_queue=self.dead_letter_queue if forwarded else None,
            retry_attempts=EVENT_ASYNC_RETRY_ATTEMPTS if forwarded else None,
            max_event_age=Duration.hours(EVENT_MAX_EVENT_AGE_HOURS) if forwarded else None,
        )
        self.handler.add_to_role(
            *registry_change_statements(
                config,
                registry_table_arn=registry_table_arn,
                registry_stream_arn=registry_stream_arn,
                state_table_arn=state_table_arn,
            )
        )
        acknowledge_iam_reads(
            self.handler.role,
            kinds=("user", "role"),
            function="registry-change",
            central_registry=config.registry_table_arn,
        )
        self.mapping: lambda_.EventSourceMapping | None = None
        self.rule: events.Rule | None = None
        if registry_stream_arn is None:
            self._forwarded(registry_table_arn)
            return
        self.mapping = stream_mapping(self.handler.function, registry_stream_arn, self.dead_letter_queue)

    def _forwarded(self, registry_table_arn: str) -> None:
        """The central account may put driftline's registry events on this account's default bus, and a rule
        takes exactly those (that source, that account) to the function."""
        central = central_account(registry_table_arn)
        events.CfnEventBusPolicy(
            self,
            "CentralRegistryMayForward",
            event_bus_name="default",
            statement_id="DriftlineCentralRegistry",
            statement={
                "Sid": "DriftlineCentralRegistry",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:{Aws.PARTITION}:iam::{central}:root"},
                "Action": "events:PutEvents",
                "Resource": f"arn:{Aws.PARTITION}:events:{Aws.REGION}:{Aws.ACCOUNT_ID}:event-bus/default",
                "Condition": {"StringEquals": {"events:source": REGISTRY_EVENT_SOURCE}},
            },
        )
        self.rule = events.Rule(
            self,
            "ForwardedRegistryChanges",
            description="driftline: registry changes the central registry forwards to this account",
            event_pattern=events.EventPattern(
                source=[REGISTRY_EVENT_SOURCE], detail_type=[REGISTRY_EVENT_DETAIL_TYPE], account=[central]
            ),
            targets=[event_target(self.handler.function, self.dead_letter_queue)],
        )
