"""The driftline:* context: cdk.json's defaults, command-line overrides, and clear errors for bad values."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stage
from aws_cdk.assertions import Template

from driftline.settings import RuntimeSettings
from stacks.assembly import build, environments
from stacks.config import DEFAULT_CONTEXT, ConfigError, DriftlineConfig, cdk_json_context
from tests.infrastructure.synth import ROOT, new_app

pytestmark = pytest.mark.infra

DEFAULTS = {
    "driftline:scheduleExpression": "rate(1 hour)",
    "driftline:gracePeriodMinutes": 60,
    "driftline:maxKeyAgeDays": 90,
    "driftline:maxUnusedDays": 90,
    "driftline:excludedNamePatterns": [],
    "driftline:excludedPathPrefixes": [],
    "driftline:mode": "report",
    "driftline:breakGlassPrincipals": [],
    "driftline:createTrail": False,
    "driftline:securityHub": True,
}
TABLE_ARN = "arn:aws:dynamodb:eu-west-1:111122223333:table/driftline-registry"
STREAM_ARN = f"{TABLE_ARN}/stream/2026-01-15T10:00:00.000"
OTHER_REGION_TABLE_ARN = "arn:aws:dynamodb:us-east-1:111122223333:table/registry"


def _with(**overrides: Any) -> dict[str, Any]:
    return {**DEFAULTS, **{f"driftline:{key}": value for key, value in overrides.items()}}


def test_cdk_json_holds_the_documented_defaults() -> None:
    # Given cdk.json
    context = cdk_json_context(ROOT / "cdk.json")
    # Then its driftline:* context is exactly the documented defaults, and they validate
    assert {k: v for k, v in context.items() if k.startswith("driftline:")} == DEFAULTS
    config = DriftlineConfig.from_context(context)
    assert (config.grace_period_minutes, config.excluded_name_patterns) == (60, ())
    # And the optional keys are absent: no home Region (the CLI's Region decides), a new registry, no alarm topic
    assert (config.home_region, config.registry_table_arn, config.alarm_email, config.alarm_topic_arn) == (None,) * 4
    assert (config.mode, config.security_hub, config.create_trail) == ("report", True, False)


def test_the_packaged_defaults_are_cdk_json_s_context() -> None:
    # Given the context an installed driftline offers apps with their own cdk.json
    # Then it is exactly this repository's cdk.json context (defaults and feature flags), so both synthesize alike
    assert dict(DEFAULT_CONTEXT) == cdk_json_context(ROOT / "cdk.json")


def test_cdk_json_runs_the_app_with_the_project_python() -> None:
    # Given cdk.json
    document = json.loads((ROOT / "cdk.json").read_text())
    # Then the CLI runs app.py with the project's virtualenv, and watch ignores tests
    assert document["app"] == ".venv/bin/python app.py"
    assert "tests/**" in document["watch"]["exclude"]


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"gracePeriodMinutes": -5}, "driftline:gracePeriodMinutes"),
        ({"gracePeriodMinutes": "abc"}, "driftline:gracePeriodMinutes"),
        ({"gracePeriodMinutes": True}, "driftline:gracePeriodMinutes"),
        ({"maxKeyAgeDays": 0}, "driftline:maxKeyAgeDays"),
        ({"maxUnusedDays": 1.5}, "driftline:maxUnusedDays"),
        ({"scheduleExpression": "every hour"}, "driftline:scheduleExpression"),
        ({"scheduleExpression": "rate(1 hours)"}, "driftline:scheduleExpression"),
        ({"scheduleExpression": "rate(5 minute)"}, "driftline:scheduleExpression"),
        ({"excludedPathPrefixes": ["service-role/"]}, "driftline:excludedPathPrefixes"),
        ({"excludedNamePatterns": ["a,b"]}, "driftline:excludedNamePatterns"),
        ({"excludedNamePatterns": [""]}, "driftline:excludedNamePatterns"),
        ({"gracePeriod": 5}, "driftline:gracePeriod"),
        ({"mode": "audit"}, "driftline:mode"),
        ({"mode": True}, "driftline:mode"),
        ({"homeRegion": "europe"}, "driftline:homeRegion"),
        ({"homeRegion": "cn-north-1"}, "driftline:homeRegion"),
        ({"homeRegion": "us-gov-west-1"}, "driftline:homeRegion"),
        ({"createTrail": "maybe"}, "driftline:createTrail"),
        ({"createTrail": 1}, "driftline:createTrail"),
        ({"securityHub": "nope"}, "driftline:securityHub"),
        ({"breakGlassPrincipals": ["ops admin"]}, "driftline:breakGlassPrincipals"),
        ({"breakGlassPrincipals": ["admin[12]"]}, "driftline:breakGlassPrincipals"),
        ({"breakGlassPrincipals": "a,,b,"}, None),  # empty items are dropped, not an error
        ({"excludedNamePatterns": ["ci-[ab]*"]}, "driftline:excludedNamePatterns"),
        ({"excludedPathPrefixes": ["/has space/"]}, "driftline:excludedPathPrefixes"),
        ({"registryTableArn": "driftline-registry"}, "driftline:registryTableArn"),
        ({"registryTableArn": TABLE_ARN, "registryStreamArn": TABLE_ARN}, "driftline:registryStreamArn"),
        ({"registryTableArn": TABLE_ARN}, "driftline:registryStreamArn"),
        ({"registryStreamArn": STREAM_ARN}, "driftline:registryTableArn"),
        (
            {"registryTableArn": TABLE_ARN, "registryStreamArn": STREAM_ARN.replace("driftline-registry", "other")},
            "must be the stream of driftline:registryTableArn",
        ),
        ({"alarmEmail": "not-an-address"}, "driftline:alarmEmail"),
        ({"alarmEmail": "a@example.com,b@example.com"}, "driftline:alarmEmail"),
        ({"alarmTopicArn": "arn:aws:sqs:us-east-1:111122223333:q"}, "driftline:alarmTopicArn"),
        (
            {"alarmEmail": "a@example.com", "alarmTopicArn": "arn:aws:sns:us-east-1:111122223333:t"},
            "not both",
        ),
    ],
)
def test_bad_context_is_rejected_naming_the_key(overrides: dict[str, Any], key: str | None) -> None:
    # Given context with one bad or unknown driftline:* value
    context = _with(**overrides)
    if key is None:
        DriftlineConfig.from_context(context)
        return
    # When validating it
    with pytest.raises(ConfigError) as raised:
        DriftlineConfig.from_context(context)
    # Then the error names the offending key (or, for a rule across keys, says what is wrong)
    assert key in str(raised.value)


def test_missing_context_says_where_defaults_live() -> None:
    # Given context without the driftline:* keys (cdk.json not loaded)
    # When validating it
    with pytest.raises(ConfigError) as raised:
        DriftlineConfig.from_context({})
    # Then the error names a missing key and points at cdk.json
    assert "driftline:scheduleExpression: missing" in str(raised.value)
    assert "cdk.json" in str(raised.value)


def test_command_line_strings_are_parsed() -> None:
    # Given values as `cdk synth -c key=value` passes them: always strings
    context = _with(
        gracePeriodMinutes="30",
        excludedNamePatterns="ci-*, legacy-?",
        excludedPathPrefixes='["/service/"]',
        mode="Enforce",
        breakGlassPrincipals="breakglass-admin,oncall-*",
        createTrail="true",
        securityHub="false",
        homeRegion="eu-west-1",
        alarmEmail="",
    )
    # When validating them
    config = DriftlineConfig.from_context(context)
    # Then numbers, booleans and lists are parsed, and an empty optional value means "not set"
    assert config.grace_period_minutes == 30
    assert config.excluded_name_patterns == ("ci-*", "legacy-?")
    assert config.excluded_path_prefixes == ("/service/",)
    assert config.mode == "enforce"
    assert config.break_glass_principals == ("breakglass-admin", "oncall-*")
    assert (config.create_trail, config.security_hub) == (True, False)
    assert (config.home_region, config.alarm_email) == ("eu-west-1", None)


def test_bad_context_stops_the_synth_before_any_stack_exists(tmp_path: Path) -> None:
    # Given an app whose context has a negative grace period
    app = new_app(tmp_path, **{"driftline:gracePeriodMinutes": -5})
    # When building the stack
    with pytest.raises(ConfigError, match=r"driftline:gracePeriodMinutes = -5"):
        build(app, environ={})
    # Then nothing was added to the app
    assert app.node.children == []


def test_app_py_fails_clearly_on_a_bad_cli_value(tmp_path: Path) -> None:
    # Given the CLI's way of passing `-c driftline:gracePeriodMinutes=abc` to the app
    env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps({"driftline:gracePeriodMinutes": "abc"})}
    env["CDK_OUTDIR"] = str(tmp_path)
    # When running app.py
    result = subprocess.run(
        [sys.executable, str(ROOT / "app.py")], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    # Then it fails, naming the key and the value (the CLI value overrode cdk.json's default)
    assert result.returncode != 0
    assert "driftline:gracePeriodMinutes = 'abc'" in result.stderr
    assert not (tmp_path / "manifest.json").exists()


def test_custom_context_reaches_the_rule_and_the_environment(tmp_path: Path) -> None:
    # Given overrides for the schedule, thresholds and exclusions
    app = new_app(
        tmp_path,
        **{
            "driftline:scheduleExpression": "cron(15 */2 * * ? *)",
            "driftline:gracePeriodMinutes": "15",
            "driftline:maxKeyAgeDays": 30,
            "driftline:excludedNamePatterns": ["ci-*", "legacy-?"],
            "driftline:excludedPathPrefixes": ["/service/", "/batch/"],
        },
    )
    # When synthesizing
    stack = build(app, environ={}).main
    template = Template.from_stack(stack)
    resources = template.to_json()["Resources"]
    function = resources[stack.resolve(stack.get_logical_id(stack.detection.reconcile.function.node.default_child))]
    variables = function["Properties"]["Environment"]["Variables"]
    # Then the rule fires on the cron expression
    template.has_resource_properties("AWS::Events::Rule", {"ScheduleExpression": "cron(15 */2 * * ? *)"})
    # And the runtime reads the same values back from the environment
    resolved = {k: v if isinstance(v, str) else "table-name" for k, v in variables.items()}
    settings = RuntimeSettings.from_env(resolved)
    assert variables["DRIFTLINE_EXCLUDED_NAME_PATTERNS"] == "ci-*,legacy-?"
    assert settings.excluded_name_patterns == ("ci-*", "legacy-?")
    assert settings.excluded_path_prefixes == ("/service/", "/batch/")
    assert (settings.grace_period_minutes, settings.max_key_age_days, settings.max_unused_days) == (15, 30, 90)


@pytest.mark.parametrize(
    ("context", "environ", "expected"),
    [
        ({}, {}, (None, "us-east-1")),
        ({}, {"CDK_DEFAULT_ACCOUNT": "111122223333", "CDK_DEFAULT_REGION": "eu-west-1"}, ("111122223333", "eu-west-1")),
        ({}, {"CDK_DEFAULT_REGION": "eu-west-1", "CDK_DEFAULT_ACCOUNT": ""}, (None, "eu-west-1")),
        ({"homeRegion": "ap-southeast-2"}, {"CDK_DEFAULT_REGION": "eu-west-1"}, (None, "ap-southeast-2")),
    ],
)
def test_home_region_comes_from_context_then_the_cli_then_us_east_1(
    context: dict[str, Any], environ: dict[str, str], expected: tuple[str | None, str]
) -> None:
    # Given driftline:homeRegion (or not) and the variables the CDK CLI sets (or none, for `python app.py`)
    config = DriftlineConfig.from_context(_with(**context))
    # When deriving the account and the home Region
    # Then the context wins, then the CLI's Region, then us-east-1; the account is the CLI's or left to deploy time
    assert environments(config, environ) == expected


def test_stacks_are_account_agnostic_without_cdk_defaults(tmp_path: Path) -> None:
    # Given no CDK_DEFAULT_ACCOUNT/REGION (a plain `python app.py`)
    # When building the app the way app.py does
    stack = build(App(context=cdk_json_context(ROOT / "cdk.json"), outdir=str(tmp_path)), environ={}).main
    # Then the account stays a CloudFormation pseudo parameter, and the Region is the home Region (us-east-1)
    assert stack.resolve(stack.account) == {"Ref": "AWS::AccountId"}
    assert stack.region == "us-east-1"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {
                "driftline:homeRegion": "eu-west-1",
                "driftline:registryTableArn": OTHER_REGION_TABLE_ARN,
                "driftline:registryStreamArn": f"{OTHER_REGION_TABLE_ARN}/stream/2026-01-01T00:00:00.000",
            },
            "driftline:registryTableArn",
        ),
        ({"driftline:alarmTopicArn": "arn:aws:sns:eu-west-1:111122223333:alerts"}, "driftline:alarmTopicArn"),
    ],
)
def test_resources_outside_the_home_region_are_refused(tmp_path: Path, overrides: dict[str, Any], message: str) -> None:
    # Given an existing registry or alarm topic in another Region than the home Region
    app = new_app(tmp_path, **overrides)
    # When building
    with pytest.raises(ConfigError, match=message) as raised:
        build(app, environ={})
    # Then the error says it must be in the home Region, and nothing was built
    assert "must be in the home Region" in str(raised.value)
    assert app.node.children == []


def test_stack_names_stay_driftline_inside_a_pipeline_stage(tmp_path: Path) -> None:
    # Given the deployment built inside a CDK Pipelines-style stage (which would prefix stack names)
    app = new_app(tmp_path, **{"driftline:homeRegion": "eu-west-1"})
    stage = Stage(app, "Member111122223333")
    deployment = build(stage, environ={"CDK_DEFAULT_ACCOUNT": "111122223333"})
    # Then the stacks keep their names, so the roles CloudFormation names after them start with "Driftline"
    assert [s.stack_name for s in deployment.stacks] == ["Driftline", "DriftlineIamForwarder"]
    assert [(s.account, s.region) for s in deployment.stacks] == [
        ("111122223333", "eu-west-1"),
        ("111122223333", "us-east-1"),
    ]
