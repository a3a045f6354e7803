"""The stack's side of findings that triage themselves: the CRITICAL page (an EventBridge rule on Security Hub's
import events to the alarm topic), the hygiene switch and the refresh period as context keys that reach the
functions' environment."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from driftline.domain.drift import DriftType
from driftline.domain.identity import Kind
from driftline.findings.plan import FindingState, plan
from driftline.settings import RuntimeSettings
from stacks.assembly import build
from stacks.config import ConfigError, DriftlineConfig
from tests.infrastructure.helpers import as_list, join, of_type, references
from tests.infrastructure.synth import ALARM_TOPIC_ARN, Synthesized, new_app
from tests.infrastructure.test_config import DEFAULTS
from tests.unit.findings.support import NOW, drift, full_inventory
from tests.unit.findings.support import PLACE as UNIT_PLACE

pytestmark = pytest.mark.infra

ACCOUNT = "123456789012"
REGION = "eu-west-1"  # the enforcing deployment's home Region
PRODUCT_ARN = f"arn:aws:securityhub:{REGION}:{ACCOUNT}:product/{ACCOUNT}/default"


def _rule(synthesized: Synthesized) -> dict[str, Any]:
    rule = synthesized.stack.monitoring.critical_findings
    assert rule is not None
    found: dict[str, Any] = synthesized.resources[synthesized.logical_id(rule)]
    return found


def _resolved(value: Any) -> Any:
    """The pattern with the account and Region tokens of the product ARN filled in."""
    if isinstance(value, dict) and "Fn::Join" in value:
        return join(value).replace("${AWS::AccountId}", ACCOUNT)
    if isinstance(value, dict):
        return {k: _resolved(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolved(v) for v in value]
    return value


def _matches(pattern: Any, event: Any) -> bool:
    """EventBridge's matching for what the rule uses: value lists, ``prefix``, nested objects, and arrays in the
    event (an array matches when one element does) (Amazon EventBridge User Guide, event patterns)."""
    if isinstance(event, list):
        return any(_matches(pattern, item) for item in event)
    if isinstance(pattern, dict):
        return isinstance(event, dict) and all(k in event and _matches(v, event[k]) for k, v in pattern.items())
    for wanted in pattern:
        if isinstance(wanted, dict) and "prefix" in wanted:
            if isinstance(event, str) and event.startswith(wanted["prefix"]):
                return True
        elif event == wanted:
            return True
    return False


def _event(finding: dict[str, Any]) -> dict[str, Any]:
    """Security Hub's import event for one finding (each event holds a single finding)."""
    return {
        "source": "aws.securityhub",
        "detail-type": "Security Hub Findings - Imported",
        "region": REGION,
        "detail": {"findings": [finding]},
    }


def _imports(drift_type: DriftType, kind: Kind) -> dict[str, dict[str, Any]]:
    """One drift's imports by reason (new, refresh, resolved, reactivated), as the plan makes them, in the
    enforcing deployment's account and Region."""
    place = UNIT_PLACE.model_copy(update={"account_id": ACCOUNT, "region": REGION})
    d = drift(drift_type, kind)
    states: dict[str, FindingState] = {}
    found: dict[str, dict[str, Any]] = {}
    for at, drifts in (
        (NOW, [d]),
        (NOW + timedelta(days=1), [d]),
        (NOW + timedelta(days=2), []),
        (NOW + timedelta(days=3), [d]),
    ):
        for item in plan(drifts, full_inventory(), place, states, at):
            found[item.reason] = item.finding
            states[item.state.finding_id] = item.state
    return found


# --- the page ---------------------------------------------------------------------------------------------------


def test_a_critical_rule_sends_security_hub_imports_to_the_alarm_topic(enforcing: Synthesized) -> None:
    """Input: the enforcing deployment (Security Hub on, an alarm e-mail topic). Must have one rule on Security Hub's
    "Findings - Imported" events for driftline's product, GeneratorId prefix driftline/, severity CRITICAL, ACTIVE,
    new or reactivated, targeting the alarm topic with retries and a readable message."""
    # Given the rule
    props = _rule(enforcing)["Properties"]
    pattern = _resolved(props["EventPattern"])
    # Then it matches Security Hub's import events of driftline's CRITICAL findings only
    assert pattern == {
        "source": ["aws.securityhub"],
        "detail-type": ["Security Hub Findings - Imported"],
        "detail": {
            "findings": {
                "ProductArn": [PRODUCT_ARN],
                "GeneratorId": [{"prefix": "driftline/"}],
                "FindingProviderFields": {"Severity": {"Label": ["CRITICAL"]}},
                "RecordState": ["ACTIVE"],
                "ProductFields": {"driftline/ImportReason": ["new", "reactivated"]},
            }
        },
    }
    # And it sends them to the alarm topic, retried, as a sentence naming the finding
    topic = enforcing.logical_id(enforcing.stack.monitoring.topic)
    (target,) = props["Targets"]
    assert target["Arn"] == {"Ref": topic}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] >= 1
    paths = target["InputTransformer"]["InputPathsMap"]
    assert set(paths.values()) >= {"$.detail.findings[0].Title", "$.detail.findings[0].Id"}
    assert target["InputTransformer"]["InputTemplate"].startswith('"driftline CRITICAL finding: <')


@pytest.mark.parametrize(
    ("drift_type", "kind", "reason", "pages"),
    [
        (DriftType.REVOKED_CREDENTIAL_USED, Kind.ACCESS_KEY, "new", True),
        (DriftType.REVOKED_CREDENTIAL_USED, Kind.USER, "reactivated", True),
        (DriftType.REVOKED_CREDENTIAL_USED, Kind.ACCESS_KEY, "refresh", False),
        (DriftType.REVOKED_CREDENTIAL_USED, Kind.ACCESS_KEY, "resolved", False),
        (DriftType.UNENFORCED_REVOCATION, Kind.USER, "new", False),  # HIGH
        (DriftType.UNREGISTERED_IDENTITY, Kind.ACCESS_KEY, "new", False),  # HIGH
    ],
)
def test_the_rule_pages_on_new_or_reactivated_critical_findings_only(
    enforcing: Synthesized, drift_type: DriftType, kind: Kind, reason: str, pages: bool
) -> None:
    """Input: the import events of driftline's own findings, as the plan makes them (new, daily refresh,
    resolution, reactivation), for a CRITICAL revoked-credential-used and for HIGH findings. Must page on a new or
    reactivated CRITICAL finding and on nothing else: a refresh or a resolution of an open page is not news."""
    # Given the rule's pattern and the event of this import
    pattern = _resolved(_rule(enforcing)["Properties"]["EventPattern"])
    finding = _imports(drift_type, kind)[reason]
    # Then it pages exactly when it should
    assert _matches(pattern, _event(finding)) is pages


def test_the_rule_ignores_other_products_critical_findings(enforcing: Synthesized) -> None:
    """Input: a CRITICAL finding as another product would send it (GuardDuty's product ARN, its own GeneratorId),
    and driftline's finding from another account. Must page on neither."""
    pattern = _resolved(_rule(enforcing)["Properties"]["EventPattern"])
    ours = _imports(DriftType.REVOKED_CREDENTIAL_USED, Kind.ACCESS_KEY)["new"]
    assert _matches(pattern, _event(ours))
    guardduty = ours | {
        "ProductArn": f"arn:aws:securityhub:{REGION}::product/aws/guardduty",
        "GeneratorId": "arn:aws:guardduty:eu-west-1:123456789012:detector/abc",
    }
    elsewhere = ours | {"ProductArn": PRODUCT_ARN.replace(ACCOUNT, "210987654321")}
    assert not _matches(pattern, _event(guardduty))
    assert not _matches(pattern, _event(elsewhere))


def test_eventbridge_may_publish_to_the_topic_and_use_its_key(enforcing: Synthesized) -> None:
    """Input: the enforcing deployment's alarm topic (encrypted with its own key). Must let events.amazonaws.com
    publish to the topic and encrypt with the key, or every page would fail."""
    topic = enforcing.logical_id(enforcing.stack.monitoring.topic)
    policies = [
        p for p in of_type(enforcing.resources, "AWS::SNS::TopicPolicy").values() if references(p["Properties"], topic)
    ]
    statements = [s for p in policies for s in as_list(p["Properties"]["PolicyDocument"]["Statement"])]
    assert any(
        s["Effect"] == "Allow"
        and s.get("Principal") == {"Service": "events.amazonaws.com"}
        and "sns:Publish" in as_list(s["Action"])
        for s in statements
    )
    key_id = enforcing.resources[topic]["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0]
    key_statements = enforcing.resources[key_id]["Properties"]["KeyPolicy"]["Statement"]
    assert any(
        s.get("Principal") == {"Service": "events.amazonaws.com"}
        and {"kms:Decrypt", "kms:GenerateDataKey*"} <= set(as_list(s["Action"]))
        for s in key_statements
    )


def test_failed_pages_are_alarmed(enforcing: Synthesized) -> None:
    """Input: the enforcing deployment. Must alarm on the rule's first FailedInvocations (AWS/Events, by rule
    name), notifying the topic, so a page that cannot be delivered is seen."""
    alarm = enforcing.stack.monitoring.alarms["CriticalFindingsPageFailures"]
    props = enforcing.resources[enforcing.logical_id(alarm)]["Properties"]
    rule = enforcing.logical_id(enforcing.stack.monitoring.critical_findings)
    assert (props["Namespace"], props["MetricName"]) == ("AWS/Events", "FailedInvocations")
    assert references(props["Dimensions"], rule)
    assert (props["Threshold"], props["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")
    assert props["AlarmActions"] == [{"Ref": enforcing.logical_id(enforcing.stack.monitoring.topic)}]


def test_no_rule_without_a_topic_or_without_security_hub(synthesized: Synthesized, existing: Synthesized) -> None:
    """Input: the default deployment (no topic) and the existing-registry one (Security Hub off, a topic). Must have
    no page rule in either: nothing to page with, or no findings to page on."""
    for deployment in (synthesized, existing):
        assert deployment.stack.monitoring.critical_findings is None
        patterns = [
            r["Properties"].get("EventPattern", {}) for r in of_type(deployment.resources, "AWS::Events::Rule").values()
        ]
        assert all(p.get("source") != ["aws.securityhub"] for p in patterns)
    assert "CriticalFindingsPageFailures" not in existing.stack.monitoring.alarms
    # (the existing deployment does have a topic: Security Hub off is what leaves the rule out)
    assert existing.stack.monitoring.topic is not None
    assert existing.stack.resolve(existing.stack.monitoring.topic.topic_arn) == ALARM_TOPIC_ARN


# --- the hygiene switch and the refresh period -------------------------------------------------------------------


def _config(**overrides: Any) -> DriftlineConfig:
    return DriftlineConfig.from_context({**DEFAULTS, **{f"driftline:{k}": v for k, v in overrides.items()}})


def test_hygiene_and_refresh_default_to_on_and_a_day() -> None:
    """Input: cdk.json's defaults (neither key set). Must keep the hygiene checks on and refresh findings daily."""
    config = _config()
    assert (config.hygiene_checks, config.finding_refresh_hours) == (True, 24)


def test_command_line_strings_set_hygiene_and_refresh() -> None:
    """Input: -c driftline:hygieneChecks=false -c driftline:findingRefreshHours=6 (strings, as the CLI passes
    them). Must parse to hygiene off and a 6-hour refresh."""
    config = _config(hygieneChecks="false", findingRefreshHours="6")
    assert (config.hygiene_checks, config.finding_refresh_hours) == (False, 6)


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"hygieneChecks": "sometimes"}, "driftline:hygieneChecks"),
        ({"hygieneChecks": 0}, "driftline:hygieneChecks"),
        ({"findingRefreshHours": 0}, "driftline:findingRefreshHours"),
        ({"findingRefreshHours": 1441}, "driftline:findingRefreshHours"),
        ({"findingRefreshHours": True}, "driftline:findingRefreshHours"),
    ],
)
def test_bad_hygiene_or_refresh_values_are_refused_naming_the_key(overrides: dict[str, Any], key: str) -> None:
    """Input: hygieneChecks "sometimes" or 0; findingRefreshHours 0, 1441 (over 60 days) or true. Must stop with a
    ConfigError naming the key."""
    with pytest.raises(ConfigError) as raised:
        _config(**overrides)
    assert key in str(raised.value)


def test_hygiene_off_and_a_six_hour_refresh_reach_every_function(tmp_path: Path) -> None:
    """Input: a synth with driftline:hygieneChecks=false and driftline:findingRefreshHours=6. Must give every function
    DRIFTLINE_HYGIENE_CHECKS=false and DRIFTLINE_FINDING_REFRESH_HOURS=6, which the runtime reads back as hygiene
    off and a 6-hour refresh."""
    # Given the overrides
    app = new_app(tmp_path, **{"driftline:hygieneChecks": "false", "driftline:findingRefreshHours": 6})
    # When synthesizing
    stack = build(app, environ={}).main
    resources = Template.from_stack(stack).to_json()["Resources"]
    # Then each function's environment carries them, and the runtime reads them back
    for function in stack.functions.values():
        logical = stack.resolve(stack.get_logical_id(function.function.node.default_child))
        variables = resources[logical]["Properties"]["Environment"]["Variables"]
        assert (variables["DRIFTLINE_HYGIENE_CHECKS"], variables["DRIFTLINE_FINDING_REFRESH_HOURS"]) == ("false", "6")
        settings = RuntimeSettings.from_env({k: v if isinstance(v, str) else "table" for k, v in variables.items()})
        assert settings.compare_settings().hygiene is False
        assert settings.finding_refresh == timedelta(hours=6)


def test_the_default_environment_keeps_hygiene_on_and_a_daily_refresh(synthesized: Synthesized) -> None:
    """Input: the default deployment. Must set DRIFTLINE_HYGIENE_CHECKS=true and DRIFTLINE_FINDING_REFRESH_HOURS=24
    on the functions."""
    variables = synthesized.function_props("ReconcileFunction")["Environment"]["Variables"]
    assert (variables["DRIFTLINE_HYGIENE_CHECKS"], variables["DRIFTLINE_FINDING_REFRESH_HOURS"]) == ("true", "24")
