"""The us-east-1 forwarder, deployed only when the home Region is another one.

IAM's CloudTrail events reach EventBridge only in us-east-1 (AWS-FACTS section 1). This stack's rule matches the
same pattern as the home rule and sends the events to the home Region's default event bus (same account: the
default bus accepts them without a bus policy; CDK creates the role with events:PutEvents on that bus). Events that
cannot be delivered go to a dead-letter queue here, watched by an alarm (CloudWatch alarm actions are regional: with
``driftline:alarmEmail`` this stack gets its own encrypted topic; an existing topic in the home Region cannot be used).
"""

from __future__ import annotations

from typing import cast

from aws_cdk import Aws, Duration, Environment, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from constructs import Construct

from . import nag
from .config import DriftlineConfig
from .constants import APP_TAGS, FORWARDER_STACK_DESCRIPTION
from .constructs.iam_events import iam_event_pattern
from .constructs.monitoring import alarm_topic
from .constructs.queues import dead_letter_queue


def home_bus_arn(home_region: str) -> str:
    return f"arn:{Aws.PARTITION}:events:{home_region}:{Aws.ACCOUNT_ID}:event-bus/default"


class IamEventForwarder:
    """Built into ``self`` (a ``Stack``, or a ``StackSetStack`` in the organisation's rollout): ``rule`` forwards to
    ``home_region``'s default bus; ``dead_letter_queue``, its ``alarm`` and ``topic``."""

    def _build(self, config: DriftlineConfig, home_region: str) -> None:
        scope = cast("Stack", self)
        self.home_region = home_region
        self.dead_letter_queue = dead_letter_queue(
            scope, "ForwardDeadLetterQueue", holds=f"IAM events that could not be forwarded to {home_region}"
        )
        home_bus = events.EventBus.from_event_bus_arn(scope, "HomeBus", home_bus_arn(home_region))
        self.rule = events.Rule(
            scope,
            "IamEventForwardRule",
            description=f"driftline: forward successful IAM API calls (CloudTrail) to the {home_region} default bus",
            event_pattern=iam_event_pattern(),
            targets=[targets.EventBus(home_bus, dead_letter_queue=self.dead_letter_queue)],
        )
        nag.acknowledge(
            self.rule,
            "NIST.800.53.R5-IAMNoInlinePolicy",
            "CDK writes the target role's one statement (events:PutEvents on the home Region's default bus) into that "
            "role's default policy, attached to it alone; a customer managed policy would be a separate object that "
            "other principals could be given.",
        )
        self.topic = None if config.alarm_topic_arn else alarm_topic(scope, config)
        self.alarm = cloudwatch.Alarm(
            scope,
            "ForwardDeadLetterQueueDepth",
            alarm_description=(
                f"driftline: IAM events could not be forwarded to {home_region}; the next reconcile still sees the "
                "changes, but not as they happened."
            ),
            metric=self.dead_letter_queue.metric_approximate_number_of_messages_visible(
                statistic="Maximum", period=Duration.minutes(5)
            ),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        if self.topic is not None:
            self.alarm.add_alarm_action(actions.SnsAction(self.topic))


class IamEventForwarderStack(IamEventForwarder, Stack):
    """The forwarder as a stack of its own (see ``IamEventForwarder``)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DriftlineConfig,
        home_region: str,
        env: Environment,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            stack_name=construct_id,  # role names start with it (see DriftlineStack)
            env=env,
            description=FORWARDER_STACK_DESCRIPTION,
            tags=dict(APP_TAGS),
        )
        self._build(config, home_region)
