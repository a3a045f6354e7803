"""Alarms (errors, throttles, DLQ depth, open unenforced revocations), their topic, and the dashboard; the metric
names and dimensions are checked against what the functions' Powertools code actually emits."""

from __future__ import annotations

import contextlib
import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from driftline.domain.drift import DriftType
from stacks.constants import METRICS_NAMESPACE
from stacks.constructs.monitoring import schedule_period
from tests.infrastructure.helpers import as_list, join, of_type, only, references
from tests.infrastructure.synth import ALARM_TOPIC_ARN, ROOT, Synthesized

pytestmark = pytest.mark.infra

FUNCTIONS = ("ReconcileFunction", "IamEventFunction", "RegistryChangeFunction")
QUEUES = ("ReconcileDeadLetterQueue", "IamEventDeadLetterQueue", "RegistryChangeDeadLetterQueue")
REPORT = ROOT / "functions" / "driftline" / "handlers" / "report.py"


def _alarms(synthesized: Synthesized) -> dict[str, dict[str, Any]]:
    """Alarm properties by the alarm's construct id."""
    return {
        name: synthesized.resources[synthesized.logical_id(alarm)]["Properties"]
        for name, alarm in synthesized.stack.monitoring.alarms.items()
    }


def test_there_is_an_alarm_per_function_error_throttle_queue_and_unenforced_revocations(
    synthesized: Synthesized,
) -> None:
    # Given the alarms
    alarms = _alarms(synthesized)
    # Then there is exactly one per function metric, per dead-letter queue, one for unenforced revocations and one
    # per failure the functions survive
    expected = {f"{f}{m}" for f in FUNCTIONS for m in ("Errors", "Throttles")} | {f"{q}Depth" for q in QUEUES}
    assert set(alarms) == expected | {"OpenUnenforcedRevocations"} | SILENT
    assert len(of_type(synthesized.resources, "AWS::CloudWatch::Alarm")) == len(alarms)


SILENT = {
    "PublishErrors",
    "FindingsFailed",
    "ReconcileErrors",
    "RejectedRegistryRecords",
    "LedgerProblems",
    "RegistryProblems",
}
HANDLERS = Path(__file__).resolve().parents[2] / "functions" / "driftline" / "handlers"


@pytest.mark.parametrize("name", sorted(SILENT))
def test_a_failure_the_functions_survive_alarms_on_its_first_occurrence(synthesized: Synthesized, name: str) -> None:
    """Each such alarm reads the metric the handlers emit (its name appears as ``name="<metric>"`` in the handler
    code, so a typo cannot leave an alarm on a metric nobody writes): namespace Driftline, the service dimension,
    Sum over 5 minutes, alarm at 1, missing data not breaching."""
    props = _alarms(synthesized)[name]
    emitted = " ".join(p.read_text(encoding="utf-8") for p in HANDLERS.glob("*.py"))
    assert f'name="{name}"' in emitted
    assert (props["MetricName"], props["Namespace"]) == (name, "Driftline")
    assert props["Dimensions"] == [{"Name": "service", "Value": "driftline"}]
    assert (props["Statistic"], props["Period"], props["Threshold"]) == ("Sum", 300, 1)
    assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert props["TreatMissingData"] == "notBreaching"


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("metric", ["Errors", "Throttles"])
def test_function_alarms_fire_on_the_first_error_or_throttle(synthesized: Synthesized, name: str, metric: str) -> None:
    # Given the function's alarm
    props = _alarms(synthesized)[f"{name}{metric}"]
    function_id = synthesized.logical_id(synthesized.stack.functions[name].function)
    # Then it watches the function's AWS/Lambda metric and fires on any occurrence within 5 minutes
    assert (props["Namespace"], props["MetricName"], props["Statistic"]) == ("AWS/Lambda", metric, "Sum")
    assert props["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": function_id}}]
    assert (props["Period"], props["EvaluationPeriods"], props["Threshold"]) == (300, 1, 1)
    assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert props["TreatMissingData"] == "notBreaching"


@pytest.mark.parametrize(
    ("name", "construct"),
    [
        ("ReconcileDeadLetterQueue", "detection"),
        ("IamEventDeadLetterQueue", "iam_events"),
        ("RegistryChangeDeadLetterQueue", "registry_changes"),
    ],
)
def test_queue_alarms_fire_on_the_first_message(synthesized: Synthesized, name: str, construct: str) -> None:
    # Given the queue's alarm
    props = _alarms(synthesized)[f"{name}Depth"]
    queue_id = synthesized.logical_id(getattr(synthesized.stack, construct).dead_letter_queue)
    # Then any visible message raises it
    assert (props["Namespace"], props["MetricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert props["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}]
    assert (props["Statistic"], props["Threshold"], props["EvaluationPeriods"]) == ("Maximum", 1, 1)


def test_unenforced_revocations_alarm_watches_the_functions_metric(synthesized: Synthesized) -> None:
    # Given the unenforced revocations alarm
    props = _alarms(synthesized)["OpenUnenforcedRevocations"]
    # Then it reads the custom metric with the dimension Powertools adds, over one reconcile interval (hourly)
    assert (props["Namespace"], props["MetricName"]) == ("Driftline", "OpenUnenforcedRevocations")
    assert props["Dimensions"] == [{"Name": "service", "Value": "driftline"}]
    assert (props["Statistic"], props["Period"], props["Threshold"]) == ("Maximum", 3600, 1)
    # And it stays in alarm until a reconcile reports zero, however rarely the schedule runs
    assert props["TreatMissingData"] == "ignore"


def _ledger_emf(*, whole_account: bool) -> dict[str, Any]:
    """The EMF blob ``handlers/report.py`` emits (through the functions' Powertools Metrics) for an evaluation whose
    ledger holds one unenforced revocation: the reconcile's (whole account) or a scoped handler's."""
    from driftline.domain.drift import Comparison, RevocationCheck, RevocationState
    from driftline.domain.identity import IdentityRef
    from driftline.domain.ledger import advance, open_record
    from driftline.domain.registry import RegistryEntry
    from driftline.domain.times import iso
    from driftline.handlers import report
    from driftline.observability import metrics
    from driftline.service.ledger_sync import sync_ledger
    from driftline.service.pipeline import Evaluation
    from driftline.service.ports import PublishReport

    revoked_at = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
    now = revoked_at + timedelta(hours=3)
    entry = RegistryEntry(kind="user", name="alice", owner="a@example.com", status="revoked", revoked_at=revoked_at)
    check = RevocationCheck(
        identity=IdentityRef.parse("user#alice"),
        revoked_at=revoked_at,
        state=RevocationState.UNENFORCED,
        still_active=("access key AKIAQWERTYUIOPASDFGH is Active",),
        grace_ends_at=revoked_at + timedelta(hours=1),
    )
    stored = advance(open_record("123456789012", entry, now), check, now)

    class OneRecord:  # the ledger port holding alice's unenforced record
        problems: list[str] = []

        def records(self, account_id: str, identities: Any = None) -> list[Any]:
            return [stored]

        def update(self, account_id: str, identity: str, requested_at_iso: str, change: Any) -> Any:
            assert requested_at_iso == iso(revoked_at)
            return change(stored)

    comparison = Comparison(revocations=(check,), compared_at=now)
    summary = sync_ledger(OneRecord(), "123456789012", comparison, {entry.ref: entry}, now, whole_account=whole_account)
    evaluation = Evaluation(
        account_id="123456789012",
        comparison=comparison,
        identities_observed=1,
        registry_entries=1,
        registry_problems=[],
        publish=PublishReport(),
        ledger=summary,
    )
    metrics.clear_metrics()
    with contextlib.redirect_stdout(io.StringIO()):  # report's single_metric lines
        report.record(evaluation, {})
    emitted = metrics.serialize_metric_set()
    metrics.clear_metrics()
    return emitted


def _declared(emitted: dict[str, Any]) -> dict[str, list[list[str]]]:
    """Metric name -> the dimension sets its directive declares."""
    return {m["Name"]: d["Dimensions"] for d in emitted["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}


def test_alarm_and_dashboard_read_the_reconciles_metric_with_its_emitted_dimensions(synthesized: Synthesized) -> None:
    """The OpenUnenforcedRevocations alarm and the open/oldest dashboard widgets must name exactly the metric the
    reconcile's report emits (namespace, name, every dimension and its value: Powertools' service=driftline), and a
    scoped handler's report (IAM event, registry stream) must emit neither metric, so nothing but the reconcile's
    whole-account figure reaches them. Tried: one unenforced revocation reported both ways."""
    # Given what the reconcile and a scoped handler emit for one unenforced revocation
    account, scoped = _ledger_emf(whole_account=True), _ledger_emf(whole_account=False)
    declared = _declared(account)
    # Then the scoped handler emits no account gauge
    gauges = {"OpenUnenforcedRevocations", "OldestUnenforcedRevocationSeconds"}
    assert gauges.isdisjoint(_declared(scoped)) and gauges.isdisjoint(scoped)
    # And the alarm reads the reconcile's metric with exactly its dimensions and values
    props = _alarms(synthesized)["OpenUnenforcedRevocations"]
    (directive,) = account["_aws"]["CloudWatchMetrics"]
    assert (props["Namespace"], props["MetricName"]) == (directive["Namespace"], "OpenUnenforcedRevocations")
    assert declared["OpenUnenforcedRevocations"] == [[d["Name"] for d in props["Dimensions"]]]
    assert {d["Name"]: d["Value"] for d in props["Dimensions"]} == {"service": account["service"]}
    assert account["OpenUnenforcedRevocations"] == [1.0]
    # And so do the dashboard's open and oldest widgets
    for title, name in (
        ("Open unenforced revocations", "OpenUnenforcedRevocations"),
        ("Oldest unenforced revocation (seconds)", "OldestUnenforcedRevocationSeconds"),
    ):
        (metric,) = _metrics(_widget(synthesized, title))
        assert metric[:2] == [directive["Namespace"], name]
        pairs = metric[2:-1] if isinstance(metric[-1], dict) else metric[2:]
        shown = dict(zip(pairs[::2], pairs[1::2], strict=True))
        assert [sorted(shown)] == declared[name]
        assert shown == {dimension: account[dimension] for dimension in declared[name][0]}


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [
        ("rate(1 hour)", 3600),
        ("rate(15 minutes)", 900),
        ("rate(1 minute)", 300),
        ("rate(3 days)", 86400),
        ("cron(0 * * * ? *)", 3600),
    ],
)
def test_unenforced_alarm_period_follows_the_schedule(expression: str, seconds: int) -> None:
    # Given a reconcile schedule
    # Then the alarm period holds one reconcile, between five minutes and a day
    assert schedule_period(expression).to_seconds() == seconds


def test_alarms_have_no_action_without_a_topic(synthesized: Synthesized) -> None:
    # Given cdk.json's defaults (no alarm e-mail, no topic)
    # Then there is no topic, and alarms only change state
    assert of_type(synthesized.resources, "AWS::SNS::Topic") == {}
    assert all("AlarmActions" not in props for props in _alarms(synthesized).values())


def test_alarm_email_creates_an_encrypted_topic(enforcing: Synthesized) -> None:
    # Given driftline:alarmEmail
    topic_id, topic = only(enforcing.resources, "AWS::SNS::Topic")
    # (the deployment's trail has a key of its own: the topic's is the one it names)
    (key_id,) = [k for k in of_type(enforcing.resources, "AWS::KMS::Key") if references(topic["Properties"], k)]
    key = enforcing.resources[key_id]
    # Then every alarm notifies the topic
    assert all(props["AlarmActions"] == [{"Ref": topic_id}] for props in _alarms(enforcing).values())
    # Which is encrypted with a rotated customer managed key that CloudWatch may use (aws/sns would refuse it)
    assert references(topic["Properties"]["KmsMasterKeyId"], key_id)
    assert key["Properties"]["EnableKeyRotation"] is True
    cloudwatch = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}
    ]
    assert [sorted(as_list(s["Action"])) for s in cloudwatch] == [["kms:Decrypt", "kms:GenerateDataKey*"]]
    # And accepts TLS only, with the e-mail subscribed
    _, policy = only(enforcing.resources, "AWS::SNS::TopicPolicy")
    denies = [s for s in as_list(policy["Properties"]["PolicyDocument"]["Statement"]) if s["Effect"] == "Deny"]
    assert [s["Condition"] for s in denies] == [{"Bool": {"aws:SecureTransport": "false"}}]
    enforcing.template.has_resource_properties(
        "AWS::SNS::Subscription",
        {"Protocol": "email", "Endpoint": "security@example.com", "TopicArn": {"Ref": topic_id}},
    )


def test_forwarder_alarm_gets_its_own_topic_in_us_east_1(enforcing: Synthesized) -> None:
    # Given the us-east-1 forwarder (alarm actions are regional)
    forwarder = enforcing.deployment.forwarder
    assert forwarder is not None
    resources = enforcing.resources_of(forwarder)
    topic_id, _ = only(resources, "AWS::SNS::Topic")
    _, alarm = only(resources, "AWS::CloudWatch::Alarm")
    # Then its alarm notifies a topic of its own, encrypted like the home one
    assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic_id}]
    only(resources, "AWS::KMS::Key")


def test_an_existing_topic_receives_the_alarms(existing: Synthesized) -> None:
    # Given driftline:alarmTopicArn
    # Then no topic is created and every alarm notifies the given one
    assert of_type(existing.resources, "AWS::SNS::Topic") == {}
    assert all(props["AlarmActions"] == [ALARM_TOPIC_ARN] for props in _alarms(existing).values())


def _dashboard(synthesized: Synthesized) -> dict[str, Any]:
    _, dashboard = only(synthesized.resources, "AWS::CloudWatch::Dashboard")
    body: dict[str, Any] = json.loads(join(dashboard["Properties"]["DashboardBody"]))
    return body


def _metrics(widget: dict[str, Any]) -> list[list[Any]]:
    return list(widget.get("properties", {}).get("metrics", []))


def _widget(synthesized: Synthesized, title: str) -> dict[str, Any]:
    (widget,) = [w for w in _dashboard(synthesized)["widgets"] if w.get("properties", {}).get("title") == title]
    return widget


def test_dashboard_is_named_for_the_region(synthesized: Synthesized) -> None:
    # Given the dashboard
    _, dashboard = only(synthesized.resources, "AWS::CloudWatch::Dashboard")
    # Then its name says which deployment it shows (dashboards are per account, not per Region)
    assert dashboard["Properties"]["DashboardName"] == "Driftline-us-east-1"


def test_dashboard_shows_drift_counts_by_type(synthesized: Synthesized) -> None:
    # Given the drift widget
    metrics = _metrics(_widget(synthesized, "Drifts detected by type (per hour)"))
    # Then it sums DriftDetected for every drift type the runtime knows, with the dimensions it emits them with
    assert [m[:6] for m in metrics] == [
        [METRICS_NAMESPACE, "DriftDetected", "DriftType", t.value, "service", "driftline"] for t in DriftType
    ]
    assert {m[6]["stat"] for m in metrics} == {"Sum"}


def test_drift_metric_dimensions_are_the_ones_single_metric_emits(
    synthesized: Synthesized, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the functions' environment (POWERTOOLS_SERVICE_NAME) and the report module's per-type metric
    from driftline.handlers import report

    variables = synthesized.function_props("ReconcileFunction")["Environment"]["Variables"]
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", variables["POWERTOOLS_SERVICE_NAME"])
    out = io.StringIO()
    # When it emits DriftDetected for one type, as in Lambda
    with contextlib.redirect_stdout(out):
        report._counted("DriftDetected", "DriftType", {"unregistered-identity": 2})
    emitted = json.loads(out.getvalue())
    (directive,) = emitted["_aws"]["CloudWatchMetrics"]
    # Then the dashboard's metric carries exactly those dimensions (single_metric adds service from the environment)
    (metric,) = [
        m
        for m in _metrics(_widget(synthesized, "Drifts detected by type (per hour)"))
        if m[3] == "unregistered-identity"
    ]
    assert directive["Namespace"] == metric[0]
    assert sorted(directive["Dimensions"][0]) == sorted(metric[2:6:2])
    assert {name: emitted[name] for name in metric[2:6:2]} == dict(zip(metric[2:6:2], metric[3:6:2], strict=True))


@pytest.mark.parametrize(
    ("title", "metric_names"),
    [
        ("Open unenforced revocations", {"OpenUnenforcedRevocations"}),
        ("Oldest unenforced revocation (seconds)", {"OldestUnenforcedRevocationSeconds"}),
        ("Time to enforce (seconds)", {"TimeToEnforceSeconds", "EnforcementActions", "EnforcementFailures"}),
        ("Security Hub findings", {"FindingsPublished", "FindingsResolved", "FindingsFailed", "PublishErrors"}),
    ],
)
def test_dashboard_shows_the_revocation_and_findings_metrics(
    synthesized: Synthesized, title: str, metric_names: set[str]
) -> None:
    # Given one of the custom-metric widgets
    metrics = _metrics(_widget(synthesized, title))
    # Then it shows those Driftline metrics with the service dimension
    assert {m[1] for m in metrics} == metric_names
    assert all(m[0] == "Driftline" and m[2:4] == ["service", "driftline"] for m in metrics)


def test_every_custom_metric_is_one_the_functions_emit(synthesized: Synthesized) -> None:
    # Given every Driftline metric name on the dashboard, and the names report.py emits
    names = {m[1] for w in _dashboard(synthesized)["widgets"] for m in _metrics(w) if m and m[0] == METRICS_NAMESPACE}
    emitted = set(re.findall(r'name="(\w+)"', REPORT.read_text())) | set(
        re.findall(r'_counted\("(\w+)"', REPORT.read_text())
    )
    # Then each one is emitted (a renamed metric would leave an empty graph)
    assert names <= emitted, names - emitted


def test_dashboard_shows_reconcile_duration(synthesized: Synthesized) -> None:
    # Given the duration widget
    metrics = _metrics(_widget(synthesized, "Reconcile duration (ms)"))
    function_id = synthesized.logical_id(synthesized.stack.functions["ReconcileFunction"].function)
    # Then it shows the reconcile function's Lambda Duration
    assert {tuple(m[:4]) for m in metrics} == {("AWS/Lambda", "Duration", "FunctionName", "${" + function_id + "}")}


def test_dashboard_shows_errors_queues_and_alarm_states(synthesized: Synthesized) -> None:
    # Given the dashboard
    widgets = _dashboard(synthesized)["widgets"]
    # Then it also shows function errors/throttles, queue depth, and the state of every alarm
    errors = _metrics(_widget(synthesized, "Function errors and throttles"))
    assert {m[1] for m in errors} == {"Errors", "Throttles"} and len(errors) == 6
    assert len(_metrics(_widget(synthesized, "Dead-letter queue depth"))) == 3
    (status,) = [w for w in widgets if w["type"] == "alarm"]
    assert len(status["properties"]["alarms"]) == len(synthesized.stack.monitoring.alarms)


def test_report_module_is_where_the_metrics_come_from() -> None:
    # Given the runtime's report module
    # Then it exists where the dashboard test reads it (a move would silently skip the check above)
    assert Path(REPORT).is_file()
