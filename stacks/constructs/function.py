"""One driftline Lambda function with everything it always needs: own role, log group, Powertools layer, tracing.

Every driftline function shares the asset (the runtime package alone: stacks/asset.py), runtime, architecture,
layer, JSON logging and X-Ray tracing. The role starts with nothing but write access to the function's own log
group; callers add precisely the statements the handler needs (no managed policies).
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from ..asset import staged_asset_root
from ..constants import (
    ARCHITECTURE,
    LOG_LEVEL,
    LOG_WRITE_ACTIONS,
    METRICS_NAMESPACE,
    POWERTOOLS_ACCOUNT,
    POWERTOOLS_LAYER_VERSION,
    RUNTIME,
    SERVICE_NAME,
    powertools_layer_name,
)

LOG_RETENTION = logs.RetentionDays.ONE_YEAR


def powertools_layer_arn(scope: Construct) -> str:
    region = Stack.of(scope).region
    return f"arn:aws:lambda:{region}:{POWERTOOLS_ACCOUNT}:layer:{powertools_layer_name()}:{POWERTOOLS_LAYER_VERSION}"


class DriftlineFunction(Construct):
    """A Python function on the shared runtime; ``function``, ``role`` and ``log_group`` are exposed for wiring."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handler: str,
        description: str,
        environment: Mapping[str, str],
        memory_size: int,
        timeout: Duration,
        reserved_concurrency: int | None = None,
        failure_queue: sqs.IQueue | None = None,
        retry_attempts: int | None = None,
        max_event_age: Duration | None = None,
    ) -> None:
        """``failure_queue``, ``retry_attempts`` and ``max_event_age`` configure asynchronous invocations (schedule,
        EventBridge); a function fed by an event source mapping leaves them out and fails over in the mapping."""
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(self, "LogGroup", retention=LOG_RETENTION, removal_policy=RemovalPolicy.RETAIN)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"driftline {construct_id}: least-privilege execution role",
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="WriteOwnLogGroup", actions=list(LOG_WRITE_ACTIONS), resources=[self.log_group.log_group_arn]
            )
        )
        layer = lambda_.LayerVersion.from_layer_version_arn(self, "PowertoolsLayer", powertools_layer_arn(self))
        self.function = lambda_.Function(
            self,
            "Resource",
            description=description,
            code=lambda_.Code.from_asset(staged_asset_root()),
            handler=handler,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            layers=[layer],
            memory_size=memory_size,
            timeout=timeout,
            reserved_concurrent_executions=reserved_concurrency,
            tracing=lambda_.Tracing.ACTIVE,
            role=self.role,
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=lambda_.ApplicationLogLevel(LOG_LEVEL),
            system_log_level_v2=lambda_.SystemLogLevel.WARN,
            environment={
                **environment,
                "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
                "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                "POWERTOOLS_LOG_LEVEL": LOG_LEVEL,
            },
            retry_attempts=retry_attempts,
            max_event_age=max_event_age,
            on_failure=destinations.SqsDestination(failure_queue) if failure_queue is not None else None,
        )

    def add_to_role(self, *statements: iam.PolicyStatement) -> None:
        for statement in statements:
            self.role.add_to_policy(statement)

    def metric(self, name: str, *, statistic: str = "Sum", period: Duration | None = None) -> cloudwatch.Metric:
        """One of the function's AWS/Lambda metrics (Errors, Throttles, Duration, ...)."""
        return self.function.metric(name, statistic=statistic, period=period or Duration.minutes(5))
