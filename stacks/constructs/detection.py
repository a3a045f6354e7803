"""Detection: the scheduled reconcile that compares the account's live IAM state with the registry.

An EventBridge rule invokes the reconcile function on the configured schedule. Whatever cannot run ends up in one
encrypted dead-letter queue: events EventBridge could not deliver, and invocations Lambda gave up on. The function
reads IAM and the registry, and reads and writes only its own state table.
"""

from __future__ import annotations

from aws_cdk import Aws, Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from stacks.config import DriftlineConfig
from stacks.constants import (
    BREAK_GLASS_PRINCIPALS,
    CREDENTIAL_REPORT_WAIT_SECONDS,
    DLQ_RETENTION_DAYS,
    ENV_BREAK_GLASS_PRINCIPALS,
    ENV_CREDENTIAL_REPORT_WAIT_SECONDS,
    ENV_EXCLUDED_NAME_PATTERNS,
    ENV_EXCLUDED_PATH_PREFIXES,
    ENV_GRACE_PERIOD_MINUTES,
    ENV_MAX_KEY_AGE_DAYS,
    ENV_MAX_UNUSED_DAYS,
    ENV_MODE,
    ENV_PUBLISH_FINDINGS,
    ENV_REGISTRY_TABLE,
    ENV_STATE_TABLE,
    IAM_ACCOUNT_READ_ACTIONS,
    IAM_GROUP_READ_ACTIONS,
    IAM_ROLE_READ_ACTIONS,
    IAM_USER_READ_ACTIONS,
    MODE,
    PUBLISH_FINDINGS,
    RECONCILE_ASYNC_RETRY_ATTEMPTS,
    RECONCILE_HANDLER,
    RECONCILE_MAX_EVENT_AGE_MINUTES,
    RECONCILE_MEMORY_MB,
    RECONCILE_RESERVED_CONCURRENCY,
    RECONCILE_TIMEOUT_MINUTES,
    REGISTRY_READ_ACTIONS,
    SCHEDULE_MAX_EVENT_AGE_MINUTES,
    SCHEDULE_RETRY_ATTEMPTS,
    STATE_READ_WRITE_ACTIONS,
)
from stacks.constructs.function import DriftlineFunction
from stacks.nag import acknowledge


def reconcile_environment(
    config: DriftlineConfig, registry: dynamodb.ITableV2, state: dynamodb.ITableV2
) -> dict[str, str]:
    """The ``DRIFTLINE_*`` variables ``driftline.settings.RuntimeSettings`` reads, and no others."""
    return {
        ENV_REGISTRY_TABLE: registry.table_name,
        ENV_STATE_TABLE: state.table_name,
        ENV_GRACE_PERIOD_MINUTES: str(config.grace_period_minutes),
        ENV_MAX_KEY_AGE_DAYS: str(config.max_key_age_days),
        ENV_MAX_UNUSED_DAYS: str(config.max_unused_days),
        ENV_EXCLUDED_NAME_PATTERNS: ",".join(config.excluded_name_patterns),
        ENV_EXCLUDED_PATH_PREFIXES: ",".join(config.excluded_path_prefixes),
        ENV_CREDENTIAL_REPORT_WAIT_SECONDS: str(CREDENTIAL_REPORT_WAIT_SECONDS),
        ENV_PUBLISH_FINDINGS: str(PUBLISH_FINDINGS).lower(),
        ENV_MODE: MODE,
        ENV_BREAK_GLASS_PRINCIPALS: ",".join(BREAK_GLASS_PRINCIPALS),
    }


def reconcile_statements(registry: dynamodb.ITableV2, state: dynamodb.ITableV2) -> list[iam.PolicyStatement]:
    """IAM reads, registry reads and state reads/writes: everything the reconcile handler calls, nothing more."""
    own = f"arn:{Aws.PARTITION}:iam::{Aws.ACCOUNT_ID}"
    return [
        iam.PolicyStatement(sid="ReadIamAccountWide", actions=list(IAM_ACCOUNT_READ_ACTIONS), resources=["*"]),
        iam.PolicyStatement(sid="ReadIamUsers", actions=list(IAM_USER_READ_ACTIONS), resources=[f"{own}:user/*"]),
        iam.PolicyStatement(sid="ReadIamRoles", actions=list(IAM_ROLE_READ_ACTIONS), resources=[f"{own}:role/*"]),
        iam.PolicyStatement(sid="ReadIamGroups", actions=list(IAM_GROUP_READ_ACTIONS), resources=[f"{own}:group/*"]),
        iam.PolicyStatement(sid="ReadRegistry", actions=list(REGISTRY_READ_ACTIONS), resources=[registry.table_arn]),
        iam.PolicyStatement(sid="ReadWriteState", actions=list(STATE_READ_WRITE_ACTIONS), resources=[state.table_arn]),
    ]


class Detection(Construct):
    """The reconcile function, its schedule and its dead-letter queue."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DriftlineConfig,
        registry: dynamodb.ITableV2,
        state: dynamodb.ITableV2,
    ) -> None:
        super().__init__(scope, construct_id)
        self.dead_letter_queue = sqs.Queue(
            self,
            "ReconcileDeadLetterQueue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(DLQ_RETENTION_DAYS),
        )
        acknowledge(
            self.dead_letter_queue,
            "AwsSolutions-SQS3",
            "This queue is itself the dead-letter queue of the reconcile schedule and function; "
            "a dead-letter queue of a dead-letter queue would only move the problem.",
        )
        self.reconcile = DriftlineFunction(
            self,
            "ReconcileFunction",
            handler=RECONCILE_HANDLER,
            description="driftline: scheduled full reconcile of live IAM against the registry",
            environment=reconcile_environment(config, registry, state),
            memory_size=RECONCILE_MEMORY_MB,
            timeout=Duration.minutes(RECONCILE_TIMEOUT_MINUTES),
            reserved_concurrency=RECONCILE_RESERVED_CONCURRENCY,
            failure_queue=self.dead_letter_queue,
            retry_attempts=RECONCILE_ASYNC_RETRY_ATTEMPTS,
            max_event_age=Duration.minutes(RECONCILE_MAX_EVENT_AGE_MINUTES),
        )
        self.reconcile.add_to_role(*reconcile_statements(registry, state))
        acknowledge(
            self.reconcile.role,
            "AwsSolutions-IAM5[Resource::*]",
            "iam:GetAccountAuthorizationDetails, iam:GenerateCredentialReport and iam:GetCredentialReport are "
            "account-level reads without resource-level permissions, and X-Ray's PutTraceSegments and "
            "PutTelemetryRecords (added for active tracing) likewise accept only Resource '*'. All are read-only "
            "or telemetry writes.",
        )
        for kind in ("user", "role", "group"):
            acknowledge(
                self.reconcile.role,
                f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:{kind}/*]",
                f"The reconcile reads every IAM {kind} of its own account to compare it with the registry; "
                f"the statement is limited to read-only {kind} actions on this account's {kind}s.",
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
