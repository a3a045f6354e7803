"""One driftline Lambda function with everything it always needs: own role, log group, Powertools layer, tracing.

Every driftline function shares the asset (the runtime package alone: stacks/asset.py), runtime, architecture,
layer, JSON logging and X-Ray tracing. The role starts with nothing but write access to the function's own log
group; callers add precisely the statements the handler needs (no managed policies).

The layer is Powertools' public layer of the pinned release, for the function's runtime and architecture, read by
CloudFormation from Powertools' public SSM parameter at deploy time (stacks/constants.py says where the name comes
from); ``driftline:powertoolsLayerArn`` replaces it in a Region where that parameter does not exist.
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
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from .. import nag
from ..asset import staged_asset_root
from ..config import DriftlineConfig
from ..constants import (
    ARCHITECTURE,
    LOG_LEVEL,
    LOG_WRITE_ACTIONS,
    METRICS_NAMESPACE,
    RUNTIME,
    SERVICE_NAME,
    powertools_layer_parameter,
)

LOG_RETENTION = logs.RetentionDays.ONE_YEAR
LAYER_OVERRIDE_KEY = "driftline:powertoolsLayerArn"


def powertools_layer_arn(scope: Construct) -> str:
    """``driftline:powertoolsLayerArn`` when set (validated with the rest of the context: a bad ARN is a
    ``ConfigError``); otherwise a reference to the template parameter of type ``AWS::SSM::Parameter::Value<String>``
    whose default is Powertools' parameter name, so CloudFormation reads the layer ARN in the target Region at
    deploy time. One such parameter per stack, shared by its functions; nothing is looked up at synth."""
    if scope.node.try_get_context(LAYER_OVERRIDE_KEY) is not None:
        override = DriftlineConfig.from_scope(scope).powertools_layer_arn
        if override is not None:
            return override
    return ssm.StringParameter.value_for_string_parameter(Stack.of(scope), powertools_layer_parameter())


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
        self._acknowledge_nist(reserved_concurrency)

    def _acknowledge_nist(self, reserved_concurrency: int | None) -> None:
        """The NIST 800-53 rev 5 rules every driftline function answers the same way (stacks/nag.py)."""
        nag.acknowledge(
            self.function,
            "NIST.800.53.R5-LambdaInsideVPC",
            "The functions call only AWS service APIs (IAM, DynamoDB, Security Hub, STS, Lambda, EventBridge) and "
            "reach no private resource; a VPC would need a NAT gateway or an interface endpoint per service and "
            "isolate nothing the least-privilege role does not already confine.",
        )
        nag.acknowledge(
            self.function,
            "NIST.800.53.R5-LambdaDLQ",
            "Failures are kept where the function is invoked: asynchronous invocations go to an SQS on-failure "
            "destination (DeadLetterConfig's successor, which also records the error), stream records to the event "
            "source mapping's own on-failure queue, and synchronous callers (Step Functions) see the error.",
        )
        if reserved_concurrency is None:
            nag.acknowledge(
                self.function,
                "NIST.800.53.R5-LambdaConcurrency",
                "Reserving concurrency takes it from the account's unreserved pool and fails the deployment in "
                "accounts whose limit is still 10; IAM throttling is absorbed by the SDK's retries "
                "(stacks/constants.py).",
            )
        nag.acknowledge(
            self.log_group,
            "NIST.800.53.R5-CloudWatchLogGroupEncrypted",
            "CloudWatch Logs encrypts every log group at rest with keys it manages; these logs hold IAM identity names "
            "and drift types, never a credential, and a customer managed key would add a KMS key and key policy for "
            "each log group.",
        )
        nag.acknowledge(
            self.role,
            "NIST.800.53.R5-IAMNoInlinePolicy",
            "The role's statements live in its CDK default policy, attached to this role alone and written for this "
            "function's handler; a customer managed policy would hold the same statements as a separate object that "
            "other principals could be given.",
        )

    def add_to_role(self, *statements: iam.PolicyStatement) -> None:
        for statement in statements:
            self.role.add_to_policy(statement)

    def metric(self, name: str, *, statistic: str = "Sum", period: Duration | None = None) -> cloudwatch.Metric:
        """One of the function's AWS/Lambda metrics (Errors, Throttles, Duration, ...)."""
        return self.function.metric(name, statistic=statistic, period=period or Duration.minutes(5))
