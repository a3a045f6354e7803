"""Alarms and the dashboard.

Alarms: every function's Errors and Throttles, every dead-letter queue's depth, and open unenforced revocations (the
custom metric the scheduled reconcile emits through Powertools: namespace ``Driftline``, dimension
``service=driftline``).
Their actions go to an SNS topic: a new one encrypted with its own KMS key (``driftline:alarmEmail``, subscribed by
e-mail) or yours (``driftline:alarmTopicArn``). Without either, the alarms still change state in the console.

Paging: with Security Hub on and a topic, an EventBridge rule sends driftline's CRITICAL findings to the same topic
when Security Hub imports them new or reactivated (``Security Hub Findings - Imported``, one finding per event), so a
``revoked-credential-used`` reaches a person; the daily refreshes and the resolution of the same finding do not.
The rule's failed deliveries are alarmed.

The dashboard shows drift counts by type, unenforced revocations, the oldest unenforced age, time to enforce,
reconcile duration, findings published/failed, function errors and dead-letter queue depth.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from driftline.domain.drift import DriftType, Severity
from driftline.findings.asff import GENERATOR_PREFIX, IMPORT_REASON

from ..config import RATE_EXPRESSION, DriftlineConfig
from ..constants import (
    EVENT_TARGET_MAX_EVENT_AGE_HOURS,
    EVENT_TARGET_RETRY_ATTEMPTS,
    METRIC_DIMENSIONS,
    METRIC_DRIFT_DETECTED,
    METRIC_DRIFT_TYPE_DIMENSION,
    METRIC_ENFORCEMENT_ACTIONS,
    METRIC_ENFORCEMENT_FAILURES,
    METRIC_FINDINGS_FAILED,
    METRIC_FINDINGS_PUBLISHED,
    METRIC_FINDINGS_RESOLVED,
    METRIC_LEDGER_PROBLEMS,
    METRIC_OLDEST_UNENFORCED,
    METRIC_OPEN_UNENFORCED,
    METRIC_PUBLISH_ERRORS,
    METRIC_RECONCILE_ERRORS,
    METRIC_REGISTRY_PROBLEMS,
    METRIC_REJECTED_REGISTRY_RECORDS,
    METRIC_TIME_TO_ENFORCE,
    METRICS_NAMESPACE,
)
from .function import DriftlineFunction

FIVE_MINUTES = Duration.minutes(5)
ONE_HOUR = Duration.hours(1)
_UNIT_MINUTES = {"minute": 1, "hour": 60, "day": 24 * 60}


def schedule_period(expression: str) -> Duration:
    """The reconcile's interval (a ``rate``; one hour for a ``cron``), between 5 minutes and a day.

    Only the reconcile emits OpenUnenforcedRevocations and OldestUnenforcedRevocationSeconds (the whole account's
    figures; the event functions evaluate a few identities and emit neither), so a period that holds one reconcile,
    read with Maximum, is the account's count; a period without one is missing data, not zero."""
    rate = RATE_EXPRESSION.match(expression)
    if rate is None:
        return ONE_HOUR
    minutes = int(rate["value"]) * _UNIT_MINUTES[rate["unit"].removesuffix("s")]
    return Duration.minutes(min(max(minutes, 5), 24 * 60))


def driftline_metric(
    name: str, *, statistic: str, period: Duration = ONE_HOUR, label: str | None = None
) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map=dict(METRIC_DIMENSIONS),
        statistic=statistic,
        period=period,
        label=label,
    )


def drift_type_metrics() -> list[cloudwatch.Metric]:
    """DriftDetected per DriftType (``handlers/report.py`` ``single_metric``: DriftType plus service)."""
    return [
        cloudwatch.Metric(
            namespace=METRICS_NAMESPACE,
            metric_name=METRIC_DRIFT_DETECTED,
            dimensions_map={METRIC_DRIFT_TYPE_DIMENSION: drift_type.value, **METRIC_DIMENSIONS},
            statistic="Sum",
            period=ONE_HOUR,
            label=drift_type.value,
        )
        for drift_type in DriftType
    ]


# What pages: driftline's own findings at this severity, when Security Hub imports them for these reasons (a refresh or
# a resolution of an open CRITICAL finding is not news).
PAGE_SEVERITY = Severity.CRITICAL
PAGE_REASONS = ("new", "reactivated")
FINDINGS_IMPORTED = "Security Hub Findings - Imported"


def critical_findings_pattern(product_arn: str) -> events.EventPattern:
    """Security Hub's import events for driftline's CRITICAL findings that are new or open again. The severity is
    driftline's own (``FindingProviderFields``), which a customer's edit of the top-level severity does not change."""
    return events.EventPattern(
        source=["aws.securityhub"],
        detail_type=[FINDINGS_IMPORTED],
        detail={
            "findings": {
                "ProductArn": [product_arn],
                "GeneratorId": [{"prefix": GENERATOR_PREFIX}],
                "FindingProviderFields": {"Severity": {"Label": [PAGE_SEVERITY.value]}},
                "RecordState": ["ACTIVE"],
                "ProductFields": {IMPORT_REASON: list(PAGE_REASONS)},
            }
        },
    )


def page_message() -> events.RuleTargetInput:
    """What the page says: the finding's title, account, Region and id (each event holds one finding). Only fields
    driftline writes from IAM names and its own text, never the owner or ticket, which may hold quotes."""
    finding = "$.detail.findings[0]"
    return events.RuleTargetInput.from_text(
        f"driftline CRITICAL finding: {events.EventField.from_path(f'{finding}.Title')} "
        f"(account {events.EventField.from_path(f'{finding}.AwsAccountId')}, "
        f"Region {events.EventField.from_path('$.region')}). "
        f"Security Hub CSPM finding id: {events.EventField.from_path(f'{finding}.Id')}"
    )


def alarm_topic(scope: Construct, config: DriftlineConfig) -> sns.ITopic | None:
    """A new encrypted topic with an e-mail subscription, an existing topic, or none."""
    if config.alarm_topic_arn:
        return sns.Topic.from_topic_arn(scope, "AlarmTopic", config.alarm_topic_arn)
    if not config.alarm_email:
        return None
    # CloudWatch cannot publish to a topic encrypted with the AWS managed key aws/sns (its key policy does not let
    # CloudWatch use it), so the topic gets a customer managed key that allows exactly that.
    key = kms.Key(
        scope,
        "AlarmTopicKey",
        description="driftline: encrypts the alarm topic; CloudWatch may use it to publish alarms",
        enable_key_rotation=True,
    )
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="AllowCloudWatchAlarmsToPublish",
            principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
            actions=["kms:Decrypt", "kms:GenerateDataKey*"],
            resources=["*"],
        )
    )
    topic = sns.Topic(scope, "AlarmTopic", display_name="driftline alarms", master_key=key, enforce_ssl=True)
    topic.add_subscription(subscriptions.EmailSubscription(config.alarm_email))
    return topic


# Failures a function survives (it returns, so its Errors metric stays 0) that would otherwise look like a quiet,
# clean account: each is a metric the handlers emit, alarmed on the first occurrence.
SILENT_FAILURES: dict[str, str] = {
    METRIC_PUBLISH_ERRORS: "driftline: findings could not be published (Security Hub refused, or the time limit "
    "came first); they are retried next run. See the log line 'findings not published'.",
    METRIC_FINDINGS_FAILED: "driftline: Security Hub rejected findings after retries; see 'finding import failed'.",
    METRIC_RECONCILE_ERRORS: "driftline: a scheduled reconcile failed (AWS error, credential report not ready); the "
    "account was not judged this time.",
    METRIC_REJECTED_REGISTRY_RECORDS: "driftline: registry stream records were rejected as malformed (see 'registry "
    "stream record rejected'); their identities are judged by the next reconcile.",
    METRIC_LEDGER_PROBLEMS: "driftline: an unreadable ledger item was skipped (see 'unreadable ledger item "
    "skipped'); its revocation's evidence needs a person.",
    METRIC_REGISTRY_PROBLEMS: "driftline: the registry table holds invalid items (see 'invalid registry entry'); "
    "their identities stay undecided until the items are fixed.",
}


class Monitoring(Construct):
    """``alarms`` by construct id, the ``dashboard`` and the alarm ``topic`` (if any)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DriftlineConfig,
        functions: Mapping[str, DriftlineFunction],
        queues: Mapping[str, sqs.IQueue],
        reconcile: DriftlineFunction,
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = alarm_topic(self, config)
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        for name, function in functions.items():
            self._alarm(
                f"{name}Errors",
                function.metric("Errors"),
                f"driftline {name}: the function failed (see its log group); failed events go to its DLQ.",
            )
            self._alarm(
                f"{name}Throttles",
                function.metric("Throttles"),
                f"driftline {name}: invocations were throttled (account concurrency or the reserved limit).",
            )
        for name, queue in queues.items():
            self._alarm(
                f"{name}Depth",
                queue.metric_approximate_number_of_messages_visible(statistic="Maximum", period=FIVE_MINUTES),
                f"driftline {name}: messages are waiting; they describe work driftline could not do.",
            )
        self._alarm(
            "OpenUnenforcedRevocations",
            driftline_metric(
                METRIC_OPEN_UNENFORCED, statistic="Maximum", period=schedule_period(config.schedule_expression)
            ),
            "driftline: a revoked identity or key is still usable after the grace period (see the ledger: "
            "`driftline evidence`). In report mode a person must act; in enforce mode enforcement failed or was "
            "skipped for a protected principal.",
            # Kept in alarm until a reconcile reports zero, however rarely the schedule runs.
            missing=cloudwatch.TreatMissingData.IGNORE,
        )
        for metric, description in SILENT_FAILURES.items():
            self._alarm(metric, driftline_metric(metric, statistic="Sum", period=FIVE_MINUTES), description)
        self.critical_findings = self._page(config)
        self.dashboard = self._dashboard(config, functions, queues, reconcile)

    def _page(self, config: DriftlineConfig) -> events.Rule | None:
        """The rule that sends driftline's new or reactivated CRITICAL findings to the topic (Security Hub on and a
        topic only: without findings or a destination there is nothing to page with). For a topic created here, the
        target lets events.amazonaws.com publish to it and use its KMS key; an existing topic
        (``driftline:alarmTopicArn``) must allow both itself."""
        if not config.security_hub or self.topic is None:
            return None
        stack = Stack.of(self)
        product_arn = (
            f"arn:{stack.partition}:securityhub:{stack.region}:{stack.account}:product/{stack.account}/default"
        )
        rule = events.Rule(
            self,
            "CriticalFindings",
            description="driftline: page on CRITICAL findings Security Hub imports new or reactivated "
            "(revoked-credential-used)",
            event_pattern=critical_findings_pattern(product_arn),
        )
        rule.add_target(
            targets.SnsTopic(
                self.topic,
                message=page_message(),
                retry_attempts=EVENT_TARGET_RETRY_ATTEMPTS,
                max_event_age=Duration.hours(EVENT_TARGET_MAX_EVENT_AGE_HOURS),
            )
        )
        self._alarm(
            "CriticalFindingsPageFailures",
            cloudwatch.Metric(
                namespace="AWS/Events",
                metric_name="FailedInvocations",
                dimensions_map={"RuleName": rule.rule_name},
                statistic="Sum",
                period=FIVE_MINUTES,
            ),
            "driftline: a CRITICAL finding could not be sent to the alarm topic (may EventBridge publish to it, and "
            "use its KMS key?). See the finding in Security Hub.",
        )
        return rule

    def _alarm(
        self,
        construct_id: str,
        metric: cloudwatch.IMetric,
        description: str,
        *,
        missing: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING,
    ) -> None:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            alarm_description=description,
            metric=metric,
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=missing,
        )
        if self.topic is not None:
            alarm.add_alarm_action(actions.SnsAction(self.topic))
        self.alarms[construct_id] = alarm

    def _dashboard(
        self,
        config: DriftlineConfig,
        functions: Mapping[str, DriftlineFunction],
        queues: Mapping[str, sqs.IQueue],
        reconcile: DriftlineFunction,
    ) -> cloudwatch.Dashboard:
        region = Stack.of(self).region
        dashboard = cloudwatch.Dashboard(
            self, "Dashboard", dashboard_name=f"Driftline-{region}", default_interval=Duration.days(7)
        )
        dashboard.add_widgets(
            cloudwatch.TextWidget(
                markdown=(
                    f"# driftline ({region}, mode **{config.mode}**)\n"
                    f"Reconcile `{config.schedule_expression}`, grace period {config.grace_period_minutes} min. "
                    "Drift and revocation metrics: namespace `Driftline`, dimension `service=driftline`; open "
                    "and oldest unenforced revocations are the reconcile's whole-account figures."
                ),
                width=24,
                height=2,
            ),
            cloudwatch.GraphWidget(
                title="Drifts detected by type (per hour)",
                left=drift_type_metrics(),
                stacked=True,
                width=12,
                period=ONE_HOUR,
            ),
            cloudwatch.GraphWidget(
                title="Open unenforced revocations",
                left=[driftline_metric(METRIC_OPEN_UNENFORCED, statistic="Maximum", label="open unenforced")],
                width=12,
                period=ONE_HOUR,
            ),
            cloudwatch.GraphWidget(
                title="Oldest unenforced revocation (seconds)",
                left=[driftline_metric(METRIC_OLDEST_UNENFORCED, statistic="Maximum", label="oldest unenforced")],
                width=12,
                period=ONE_HOUR,
            ),
            cloudwatch.GraphWidget(
                title="Time to enforce (seconds)",
                left=[
                    driftline_metric(METRIC_TIME_TO_ENFORCE, statistic="Average", label="average"),
                    driftline_metric(METRIC_TIME_TO_ENFORCE, statistic="Maximum", label="maximum"),
                ],
                right=[
                    driftline_metric(METRIC_ENFORCEMENT_ACTIONS, statistic="Sum", label="enforcement actions"),
                    driftline_metric(METRIC_ENFORCEMENT_FAILURES, statistic="Sum", label="enforcement failures"),
                ],
                width=12,
                period=ONE_HOUR,
            ),
            cloudwatch.GraphWidget(
                title="Reconcile duration (ms)",
                left=[
                    reconcile.function.metric_duration(statistic="Maximum", period=ONE_HOUR, label="maximum"),
                    reconcile.function.metric_duration(statistic="Average", period=ONE_HOUR, label="average"),
                ],
                left_annotations=[
                    cloudwatch.HorizontalAnnotation(
                        value=reconcile.function.timeout.to_milliseconds() if reconcile.function.timeout else 0,
                        label="timeout",
                    )
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Security Hub findings",
                left=[
                    driftline_metric(METRIC_FINDINGS_PUBLISHED, statistic="Sum", label="published"),
                    driftline_metric(METRIC_FINDINGS_RESOLVED, statistic="Sum", label="resolved"),
                ],
                right=[
                    driftline_metric(METRIC_FINDINGS_FAILED, statistic="Sum", label="failed"),
                    driftline_metric(METRIC_PUBLISH_ERRORS, statistic="Sum", label="publish errors"),
                ],
                width=12,
                period=ONE_HOUR,
            ),
            cloudwatch.GraphWidget(
                title="Function errors and throttles",
                left=[f.metric("Errors", period=FIVE_MINUTES).with_(label=f"{n} errors") for n, f in functions.items()],
                right=[
                    f.metric("Throttles", period=FIVE_MINUTES).with_(label=f"{n} throttles")
                    for n, f in functions.items()
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Dead-letter queue depth",
                left=[
                    q.metric_approximate_number_of_messages_visible(statistic="Maximum", period=FIVE_MINUTES, label=n)
                    for n, q in queues.items()
                ],
                width=12,
            ),
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms.values()), width=24),
        )
        return dashboard
