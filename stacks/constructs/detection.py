"""Detection: the scheduled reconcile that compares the account's live IAM state with the registry.

An EventBridge rule invokes the reconcile function on the configured schedule. Whatever cannot run ends up in one
encrypted dead-letter queue: events EventBridge could not deliver, and invocations Lambda gave up on. The function
reads IAM and the registry, reads and writes only its own state table, and imports findings into Security Hub.

In enforce mode (and only then) the reconcile function also gets ``EnforcementPolicy``: the reversible IAM writes of
``adapters/enforcer.py`` (deactivate credentials; attach, or set as boundary, only the stack's deny policy), and in
the same policy explicit denies of those writes on protected principals.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from constructs import Construct

from .. import nag
from ..config import DriftlineConfig
from ..constants import (
    RECONCILE_ASYNC_RETRY_ATTEMPTS,
    RECONCILE_HANDLER,
    RECONCILE_MAX_EVENT_AGE_MINUTES,
    RECONCILE_MEMORY_MB,
    RECONCILE_RESERVED_CONCURRENCY,
    RECONCILE_TIMEOUT_MINUTES,
    SCHEDULE_MAX_EVENT_AGE_MINUTES,
    SCHEDULE_RETRY_ATTEMPTS,
)
from .function import DriftlineFunction
from .permissions import (
    acknowledge_iam_reads,
    enforcement_statements,
    function_statements,
    iam_read_statements,
)
from .queues import dead_letter_queue


def reconcile_statements(
    config: DriftlineConfig, *, registry_table_arn: str, state_table_arn: str
) -> list[iam.PolicyStatement]:
    """IAM reads, registry reads, state reads/writes and (optionally) Security Hub: what the handler calls."""
    return function_statements(
        config,
        iam_reads=iam_read_statements(account_wide=True, groups=False),
        registry_table_arn=registry_table_arn,
        state_table_arn=state_table_arn,
        function="ReconcileFunction",
    )


class Detection(Construct):
    """The reconcile function, its schedule, its dead-letter queue, and in enforce mode its enforcement policy."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DriftlineConfig,
        environment: dict[str, str],
        registry_table_arn: str,
        state_table_arn: str,
        deny_policy_arn: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.dead_letter_queue = dead_letter_queue(
            self, "ReconcileDeadLetterQueue", holds="the reconcile schedule and function"
        )
        self.reconcile = DriftlineFunction(
            self,
            "ReconcileFunction",
            handler=RECONCILE_HANDLER,
            description="driftline: scheduled full reconcile of live IAM against the registry",
            environment=environment,
            memory_size=RECONCILE_MEMORY_MB,
            timeout=Duration.minutes(RECONCILE_TIMEOUT_MINUTES),
            reserved_concurrency=RECONCILE_RESERVED_CONCURRENCY,
            failure_queue=self.dead_letter_queue,
            retry_attempts=RECONCILE_ASYNC_RETRY_ATTEMPTS,
            max_event_age=Duration.minutes(RECONCILE_MAX_EVENT_AGE_MINUTES),
        )
        self.reconcile.add_to_role(
            *reconcile_statements(config, registry_table_arn=registry_table_arn, state_table_arn=state_table_arn)
        )
        acknowledge_iam_reads(
            self.reconcile.role,
            kinds=("user", "role"),
            function="reconcile",
            central_registry=config.registry_table_arn,
        )
        self.enforcement_policy: iam.Policy | None = None
        if config.mode == "enforce":
            self.enforcement_policy = iam.Policy(
                self,
                "EnforcementPolicy",
                statements=enforcement_statements(config, deny_policy_arn),
                roles=[self.reconcile.role],
            )
            for kind in ("user", "role"):
                nag.acknowledge(
                    self.enforcement_policy,
                    f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:{kind}/*]",
                    f"Enforce mode acts on whichever {kind} of this account the registry revoked, so the allowed "
                    f"{kind} writes cannot name their targets in advance; the same policy denies them explicitly on "
                    "every protected principal (AWS-owned, CDK, driftline's own, break-glass, excluded).",
                )
            nag.acknowledge(
                self.enforcement_policy,
                "NIST.800.53.R5-IAMNoInlinePolicy",
                "The enforcement statements are attached to the reconcile function's role alone and exist only in "
                "enforce mode; a customer managed policy would be a separate object that other principals could be "
                "given.",
            )
        self.schedule = events.Rule(
            self,
            "ReconcileSchedule",
            description="driftline: run the full reconcile",
            schedule=events.Schedule.expression(config.schedule_expression),
            targets=[
                targets.LambdaFunction(
                    self.reconcile.function,
                    dead_letter_queue=self.dead_letter_queue,
                    retry_attempts=SCHEDULE_RETRY_ATTEMPTS,
                    max_event_age=Duration.minutes(SCHEDULE_MAX_EVENT_AGE_MINUTES),
                )
            ],
        )
