"""IAM changes as they happen: CloudTrail "AWS API Call via CloudTrail" events for the IAM calls driftline handles.

IAM is global and its CloudTrail events reach only the us-east-1 default bus (AWS-FACTS section 1). The rule here
sits on the home Region's default bus: in us-east-1 it receives the events directly; elsewhere the forwarder stack
(``stacks/forwarder_stack.py``) sends them from us-east-1 to this bus with the same pattern. Failed calls carry
``errorCode``: only those of enforcing calls pass (the ledger keeps them as denied attempts on a revoked identity).
An event that names no identity asks the reconcile function for a whole-account run (``lambda:InvokeFunction``
on that one function, ``DRIFTLINE_RECONCILE_FUNCTION``). EventBridge retries delivery, then dead-letters; Lambda
retries the invocation, then sends it to the same queue. The handler is idempotent on the CloudTrail event id
(Powertools, state table).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from constructs import Construct

from driftline.triggers.cloudtrail import DETAIL_TYPE, ENFORCING_EVENT_NAMES, EVENT_RULES

from ..config import DriftlineConfig
from ..constants import (
    ENV_RECONCILE_FUNCTION,
    EVENT_ASYNC_RETRY_ATTEMPTS,
    EVENT_MAX_EVENT_AGE_HOURS,
    EVENT_MEMORY_MB,
    EVENT_TIMEOUT_SECONDS,
    IAM_EVENT_HANDLER,
)
from .delivery import event_target
from .function import DriftlineFunction
from .permissions import (
    acknowledge_iam_reads,
    function_statements,
    iam_read_statements,
)
from .queues import dead_letter_queue


def iam_event_detail() -> dict[str, Any]:
    """The ``detail`` part of the pattern: successful IAM calls of the handled event names (``events.EVENT_RULES``),
    and failed calls of the enforcing ones (``events.ENFORCING_EVENT_NAMES``), in one ``$or``."""
    return {
        "eventSource": ["iam.amazonaws.com"],
        "$or": [
            {"eventName": sorted(EVENT_RULES), "errorCode": [{"exists": False}]},
            {"eventName": sorted(ENFORCING_EVENT_NAMES), "errorCode": [{"exists": True}]},
        ],
    }


def iam_event_pattern() -> events.EventPattern:
    """The pattern shared by the us-east-1 forwarder and the home Region rule (forwarded events keep their source)."""
    return events.EventPattern(source=["aws.iam"], detail_type=[DETAIL_TYPE], detail=iam_event_detail())


def iam_event_statements(
    config: DriftlineConfig, *, registry_table_arn: str, state_table_arn: str
) -> list[iam.PolicyStatement]:
    """Single user/role reads and group members, registry reads, state (ledger, findings, idempotency) read/write."""
    return function_statements(
        config,
        iam_reads=iam_read_statements(account_wide=False, groups=True),
        registry_table_arn=registry_table_arn,
        state_table_arn=state_table_arn,
        function="IamEventFunction",
    )


class IamEvents(Construct):
    """The IAM event function, the rule on the home Region's default bus, and their dead-letter queue."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DriftlineConfig,
        environment: dict[str, str],
        registry_table_arn: str,
        state_table_arn: str,
        reconcile: DriftlineFunction,
    ) -> None:
        super().__init__(scope, construct_id)
        self.dead_letter_queue = dead_letter_queue(
            self, "IamEventDeadLetterQueue", holds="IAM events EventBridge could not deliver or Lambda gave up on"
        )
        self.handler = DriftlineFunction(
            self,
            "IamEventFunction",
            handler=IAM_EVENT_HANDLER,
            description="driftline: evaluates the identities an IAM API call touched, as CloudTrail reports it",
            environment=environment,
            memory_size=EVENT_MEMORY_MB,
            timeout=Duration.seconds(EVENT_TIMEOUT_SECONDS),
            failure_queue=self.dead_letter_queue,
            retry_attempts=EVENT_ASYNC_RETRY_ATTEMPTS,
            max_event_age=Duration.hours(EVENT_MAX_EVENT_AGE_HOURS),
        )
        self.handler.add_to_role(
            *iam_event_statements(config, registry_table_arn=registry_table_arn, state_table_arn=state_table_arn)
        )
        acknowledge_iam_reads(
            self.handler.role,
            kinds=("user", "role", "group"),
            function="IAM event",
            central_registry=config.registry_table_arn,
        )
        self.handler.function.add_environment(ENV_RECONCILE_FUNCTION, reconcile.function.function_name)
        self.handler.add_to_role(
            iam.PolicyStatement(
                sid="RequestReconcile", actions=["lambda:InvokeFunction"], resources=[reconcile.function.function_arn]
            )
        )
        self.rule = events.Rule(
            self,
            "IamEventRule",
            description="driftline: successful IAM API calls (CloudTrail) that can change what the registry allows",
            event_pattern=iam_event_pattern(),
            targets=[event_target(self.handler.function, self.dead_letter_queue)],
        )
