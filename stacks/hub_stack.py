"""The hub of the hub-and-spoke topology: one account reconciles every member account, none of which runs a
function.

A schedule starts a state machine: a Lambda lists the organisation's accounts (or those under the deployment
targets), and a Step Functions Distributed Map reconciles each, a bounded number at a time
(``driftline:hubConcurrency``). Each item assumes the member's ``DriftlineReadOnly`` role for IAM and its
``DriftlineFindingsPublisher`` role to import the member's findings into the member's own Security Hub (an import
with the default product ARN must come from the account it names; the Security Hub administrator then sees them
all). One account's failure (role missing, SCP) is that item's result and never stops the others: the map
tolerates every item failing, and the failures are counted (``AccountsFailed``) and alarmed.

The hub keeps the registry (every account's entries in its own partition) and the state (ledger, finding state)
of all members. It never enforces: the spokes' roles are read-only.
"""

from __future__ import annotations

from aws_cdk import Aws, CfnOutput, Duration, Environment, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from driftline.adapters.member_access import (
    ASSUME_MEMBER_ROLE_ACTIONS,
    FINDINGS_PUBLISHER_ROLE,
    MEMBER_READ_ROLE,
    ORGANIZATION_READ_ACTIONS,
)

from . import nag
from .config import DriftlineConfig
from .constants import (
    APP_TAGS,
    ENV_FINDINGS_ROLE_NAME,
    ENV_MEMBER_ROLE_NAME,
    ENV_ORGANIZATION_UNITS,
    ENV_RECONCILE_FUNCTION,
    EVENT_MEMORY_MB,
    EVENT_TIMEOUT_SECONDS,
    HUB_ACCOUNT_HANDLER,
    HUB_ACCOUNT_MEMORY_MB,
    HUB_ACCOUNT_TIMEOUT_MINUTES,
    HUB_ACCOUNTS_HANDLER,
    HUB_EVENT_HANDLER,
)
from .constructs.delivery import event_target
from .constructs.environment import runtime_environment
from .constructs.function import DriftlineFunction
from .constructs.iam_events import iam_event_pattern
from .constructs.monitoring import alarm_topic, driftline_metric
from .constructs.permissions import registry_read_statement, state_read_write_statement
from .constructs.queues import dead_letter_queue
from .constructs.registry import RegistryTable
from .constructs.registry_writer import RegistryWriterPolicy
from .constructs.state import StateTable

HUB_STACK_ID = "DriftlineHub"


def member_role_arns() -> list[str]:
    """The two roles of any member account (the trust side in the spokes limits them to this hub)."""
    return [f"arn:{Aws.PARTITION}:iam::*:role/{name}" for name in (MEMBER_READ_ROLE, FINDINGS_PUBLISHER_ROLE)]


def _enter_members(organization_id: str) -> iam.PolicyStatement:
    return iam.PolicyStatement(
        sid="EnterMemberAccounts",
        actions=list(ASSUME_MEMBER_ROLE_ACTIONS),
        resources=member_role_arns(),
        conditions={"StringEquals": {"aws:ResourceOrgID": organization_id}},
    )


def _acknowledge_member_roles(function: DriftlineFunction) -> None:
    for arn in member_role_arns():
        nag.acknowledge(
            function.role,
            f"AwsSolutions-IAM5[Resource::{arn.replace(Aws.PARTITION, '<AWS::Partition>')}]",
            "The hub enters every member account of the organisation (aws:ResourceOrgID) through driftline's two "
            "fixed member roles only; which accounts exist is the organisation's, and each role trusts this hub.",
        )
    nag.acknowledge(
        function.role,
        "AwsSolutions-IAM5[Resource::*]",
        "X-Ray's PutTraceSegments and PutTelemetryRecords (added for active tracing) accept only '*'.",
    )


class HubStack(Stack):
    """``registry``, ``state``, ``list_function``, ``member_function``, ``state_machine``, ``schedule``, ``alarms``."""

    def __init__(self, scope: Construct, construct_id: str, *, config: DriftlineConfig, env: Environment) -> None:
        super().__init__(
            scope,
            construct_id,
            stack_name=construct_id,
            env=env,
            description="driftline hub: reconciles every member account through its read-only role",
            tags=dict(APP_TAGS),
        )
        assert config.organization_id is not None  # checked with the topology
        self.config = config
        # The registry and state of every member, in this account only (no cross-account readers).
        self.registry = RegistryTable(self, "RegistryTable", config=config.member_config())
        self.registry_writer = RegistryWriterPolicy(self, "RegistryWriterPolicy", table_arn=self.registry.table_arn)
        self.state = StateTable(self, "StateTable")
        environment = {
            **runtime_environment(
                config.model_copy(update={"mode": "report"}),
                registry_table=self.registry.reference,
                state_table=self.state.table.table_name,
                deny_policy_arn="",
            ),
            ENV_MEMBER_ROLE_NAME: MEMBER_READ_ROLE,
            ENV_FINDINGS_ROLE_NAME: FINDINGS_PUBLISHER_ROLE,
            ENV_ORGANIZATION_UNITS: ",".join(config.deployment_targets),
        }
        self.list_function = self._accounts_function(environment)
        self.member_function = self._account_function(environment, config.organization_id)
        self.state_machine = self._state_machine(config.hub_concurrency)
        self.dead_letter_queue = dead_letter_queue(self, "ScheduleDeadLetterQueue", holds="the hub's schedule")
        self.schedule = events.Rule(
            self,
            "Schedule",
            description="driftline hub: reconcile every member account",
            schedule=events.Schedule.expression(config.schedule_expression),
            targets=[targets.SfnStateMachine(self.state_machine, dead_letter_queue=self.dead_letter_queue)],
        )
        self.event_function, self.event_dead_letter_queue = self._event_path(environment, config.organization_id)
        self.alarms = self._alarms()
        for key, value, description in (
            ("RegistryTableReference", self.registry.reference, "registry table of every member"),
            ("StateTableName", self.state.table.table_name, "state table: every member's ledger"),
            ("StateMachineArn", self.state_machine.state_machine_arn, "start it to reconcile every member now"),
            ("RegistryWriterPolicyArn", self.registry_writer.policy.managed_policy_arn, "registry writer policy"),
        ):
            CfnOutput(self, key, value=value, description=f"driftline hub {description}")

    def _accounts_function(self, environment: dict[str, str]) -> DriftlineFunction:
        function = DriftlineFunction(
            self,
            "HubAccountsFunction",
            handler=HUB_ACCOUNTS_HANDLER,
            description="driftline hub: the organisation's active accounts, the items of the reconcile map",
            environment=environment,
            memory_size=EVENT_MEMORY_MB,
            timeout=Duration.minutes(1),
        )
        function.add_to_role(
            iam.PolicyStatement(sid="ListAccounts", actions=list(ORGANIZATION_READ_ACTIONS), resources=["*"])
        )
        nag.acknowledge(
            function.role,
            "AwsSolutions-IAM5[Resource::*]",
            "organizations:ListAccounts and ListAccountsForParent (read-only; the account listing accepts no "
            "narrower Resource here) and X-Ray's PutTraceSegments/PutTelemetryRecords, which accept only '*'.",
        )
        return function

    def _account_function(self, environment: dict[str, str], organization_id: str) -> DriftlineFunction:
        function = DriftlineFunction(
            self,
            "HubAccountFunction",
            handler=HUB_ACCOUNT_HANDLER,
            description="driftline hub: reconcile one member account through its roles",
            environment=environment,
            memory_size=HUB_ACCOUNT_MEMORY_MB,
            timeout=Duration.minutes(HUB_ACCOUNT_TIMEOUT_MINUTES),
        )
        function.add_to_role(
            registry_read_statement(self.registry.table_arn),
            state_read_write_statement(self.state.table.table_arn, "HubAccountFunction"),
            _enter_members(organization_id),
        )
        _acknowledge_member_roles(function)
        return function

    def _event_path(self, environment: dict[str, str], organization_id: str) -> tuple[DriftlineFunction, sqs.Queue]:
        """Each spoke forwards its IAM events (us-east-1) to this account's default bus; the organisation's accounts
        may put IAM events there, nothing else, and a rule gives them to the event function, which judges the
        identities they touched in that member at once. An event naming nobody asks for the member's reconcile."""
        dead_letters = dead_letter_queue(self, "HubEventDeadLetterQueue", holds="members' IAM events")
        function = DriftlineFunction(
            self,
            "HubEventFunction",
            handler=HUB_EVENT_HANDLER,
            description="driftline hub: a member's IAM event, judged in that member at once",
            environment={**environment, ENV_RECONCILE_FUNCTION: self.member_function.function.function_name},
            memory_size=EVENT_MEMORY_MB,
            timeout=Duration.seconds(EVENT_TIMEOUT_SECONDS),
        )
        function.add_to_role(
            registry_read_statement(self.registry.table_arn),
            state_read_write_statement(self.state.table.table_arn, "HubEventFunction"),
            _enter_members(organization_id),
            iam.PolicyStatement(
                sid="AskForAMembersReconcile",
                actions=["lambda:InvokeFunction"],
                resources=[self.member_function.function.function_arn],
            ),
        )
        _acknowledge_member_roles(function)
        events.CfnEventBusPolicy(
            self,
            "SpokesMayForwardIamEvents",
            event_bus_name="default",
            statement_id="DriftlineSpokes",
            statement={
                "Sid": "DriftlineSpokes",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "events:PutEvents",
                "Resource": f"arn:{Aws.PARTITION}:events:{Aws.REGION}:{Aws.ACCOUNT_ID}:event-bus/default",
                "Condition": {"StringEquals": {"aws:PrincipalOrgID": organization_id, "events:source": "aws.iam"}},
            },
        )
        events.Rule(
            self,
            "MembersIamEvents",
            description="driftline hub: successful IAM API calls of the member accounts (forwarded by each spoke)",
            event_pattern=iam_event_pattern(),
            targets=[event_target(function.function, dead_letters)],
        )
        return function, dead_letters

    def _state_machine(self, concurrency: int) -> sfn.StateMachine:
        list_accounts = tasks.LambdaInvoke(
            self,
            "ListAccounts",
            lambda_function=self.list_function.function,
            payload_response_only=True,
            retry_on_service_exceptions=True,
        )
        reconcile = tasks.LambdaInvoke(
            self,
            "ReconcileAccount",
            lambda_function=self.member_function.function,
            payload_response_only=True,
            retry_on_service_exceptions=True,
        )
        # Lambda's own throttling of a burst of items: wait and retry, as for its service errors.
        reconcile.add_retry(
            errors=["Lambda.TooManyRequestsException"],
            interval=Duration.seconds(5),
            max_attempts=5,
            backoff_rate=2,
        )
        each = sfn.DistributedMap(
            self,
            "EachAccount",
            items_path=sfn.JsonPath.string_at("$.accounts"),
            max_concurrency=concurrency,
            # One account's failure is its item's; the others go on. AccountsFailed and the Lambda's Errors say so.
            tolerated_failure_percentage=100,
            result_path=sfn.JsonPath.DISCARD,
            label="EachAccount",
        )
        each.item_processor(reconcile)
        log_group = logs.LogGroup(
            self, "StateMachineLogs", retention=logs.RetentionDays.ONE_YEAR, removal_policy=RemovalPolicy.RETAIN
        )
        machine = sfn.StateMachine(
            self,
            "ReconcileEveryAccount",
            definition_body=sfn.DefinitionBody.from_chainable(list_accounts.next(each)),
            timeout=Duration.hours(6),
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
        )
        self._acknowledge_machine_grants(machine)
        return machine

    def _acknowledge_machine_grants(self, machine: sfn.StateMachine) -> None:
        """The wildcards CDK writes into the state machine's role: function versions (``<arn>:*``) and the
        Distributed Map's own child executions."""

        def logical(construct: Construct) -> str:
            return self.get_logical_id(construct.node.default_child)  # type: ignore[arg-type]

        region = self.region
        executions = (
            f"arn:aws:states:{region}:<AWS::AccountId>:execution:"
            f'{{"Fn::Select":[6,{{"Fn::Split":[":",{{"Ref":"{logical(machine)}"}}]}}]}}'
        )
        findings = {
            f"AwsSolutions-IAM5[Resource::<{logical(f.function)}.Arn>:*]": "invokes a hub function (any version)"
            for f in (self.list_function, self.member_function)
        } | {
            f"AwsSolutions-IAM5[Resource::{executions}:*]": "the Distributed Map runs its items as child executions",
            f"AwsSolutions-IAM5[Resource::{executions}/EachAccount:*]": "the map's own child executions",
            "AwsSolutions-IAM5[Resource::*]": "X-Ray tracing and CloudWatch Logs delivery accept only '*'",
        }
        for finding, reason in findings.items():
            nag.acknowledge(machine, finding, f"Step Functions grant written by CDK: {reason}.")

    def _alarms(self) -> dict[str, cloudwatch.Alarm]:
        topic = alarm_topic(self, self.config)
        watched = {
            "AccountsFailed": (
                driftline_metric("AccountsFailed", statistic="Sum"),
                "driftline hub: a member account could not be entered or read (role missing, SCP); the other "
                "accounts were reconciled. The item's result and the function's log name it.",
            ),
            "HubAccountErrors": (
                self.member_function.metric("Errors"),
                "driftline hub: reconciling a member account failed unexpectedly; see the function's log.",
            ),
            "HubEventErrors": (
                self.event_function.metric("Errors"),
                "driftline hub: a member's IAM event could not be judged; it waits in the dead-letter queue.",
            ),
            "HubEventDeadLetterQueueDepth": (
                self.event_dead_letter_queue.metric_approximate_number_of_messages_visible(statistic="Maximum"),
                "driftline hub: members' IAM events wait unjudged; the next run still sees the changes.",
            ),
            "HubAccountsErrors": (
                self.list_function.metric("Errors"),
                "driftline hub: the organisation's accounts could not be listed; no member was reconciled.",
            ),
            "ExecutionsFailed": (
                self.state_machine.metric_failed(period=Duration.hours(1)),
                "driftline hub: a whole run failed (listing the accounts, or the run timed out).",
            ),
            "ScheduleDeadLetterQueueDepth": (
                self.dead_letter_queue.metric_approximate_number_of_messages_visible(statistic="Maximum"),
                "driftline hub: the schedule could not start a run.",
            ),
        }
        alarms = {}
        for name, (metric, description) in watched.items():
            alarm = cloudwatch.Alarm(
                self,
                name,
                alarm_description=description,
                metric=metric,
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            if topic is not None:
                alarm.add_alarm_action(actions.SnsAction(topic))
            alarms[name] = alarm
        return alarms
