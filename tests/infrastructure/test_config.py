"""The driftline:* context: cdk.json's defaults, command-line overrides, and clear errors for bad values."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App
from aws_cdk.assertions import Template

from driftline.settings import RuntimeSettings
from stacks.assembly import build, environment_from
from stacks.config import ConfigError, DriftlineConfig, cdk_json_context
from tests.infrastructure.helpers import only
from tests.infrastructure.synth import ROOT, new_app

pytestmark = pytest.mark.infra

DEFAULTS = {
    "driftline:scheduleExpression": "rate(1 hour)",
    "driftline:gracePeriodMinutes": 60,
    "driftline:maxKeyAgeDays": 90,
    "driftline:maxUnusedDays": 90,
    "driftline:excludedNamePatterns": [],
    "driftline:excludedPathPrefixes": [],
}


def _with(**overrides: Any) -> dict[str, Any]:
    return {**DEFAULTS, **{f"driftline:{key}": value for key, value in overrides.items()}}


def test_cdk_json_holds_the_documented_defaults() -> None:
    # Given cdk.json
    context = cdk_json_context(ROOT / "cdk.json")
    # Then its driftline:* context is exactly the documented defaults, and they validate
    assert {k: v for k, v in context.items() if k.startswith("driftline:")} == DEFAULTS
    config = DriftlineConfig.from_context(context)
    assert (config.grace_period_minutes, config.excluded_name_patterns) == (60, ())


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
    ],
)
def test_bad_context_is_rejected_naming_the_key(overrides: dict[str, Any], key: str) -> None:
    # Given context with one bad or unknown driftline:* value
    context = _with(**overrides)
    # When validating it
    with pytest.raises(ConfigError) as raised:
        DriftlineConfig.from_context(context)
    # Then the error names the offending key
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
        gracePeriodMinutes="30", excludedNamePatterns="ci-*, legacy-?", excludedPathPrefixes='["/service/"]'
    )
    # When validating them
    config = DriftlineConfig.from_context(context)
    # Then numbers and lists are parsed
    assert config.grace_period_minutes == 30
    assert config.excluded_name_patterns == ("ci-*", "legacy-?")
    assert config.excluded_path_prefixes == ("/service/",)


def test_bad_context_stops_the_synth_before_any_stack_exists(tmp_path: Path) -> None:
    # Given an app whose context has a negative grace period
    app = new_app(tmp_path, **{"driftline:gracePeriodMinutes": -5})
    # When building the stack
    with pytest.raises(ConfigError, match=r"driftline:gracePeriodMinutes = -5"):
        build(app, env=None)
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
    template = Template.from_stack(build(app, env=None))
    resources = template.to_json()["Resources"]
    _, function = only(resources, "AWS::Lambda::Function")
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
    ("environ", "expected"),
    [
        ({}, None),
        ({"CDK_DEFAULT_ACCOUNT": "111122223333", "CDK_DEFAULT_REGION": "eu-west-1"}, ("111122223333", "eu-west-1")),
        ({"CDK_DEFAULT_REGION": "eu-west-1", "CDK_DEFAULT_ACCOUNT": ""}, (None, "eu-west-1")),
    ],
)
def test_environment_comes_from_cdk_default_variables(
    environ: dict[str, str], expected: tuple[str | None, str | None] | None
) -> None:
    # Given the variables the CDK CLI sets (or none, for `python app.py`)
    # When deriving the stack environment
    env = environment_from(environ)
    # Then it is environment-agnostic without them, and uses exactly what is set otherwise
    assert (None if env is None else (env.account, env.region)) == expected


def test_stack_is_environment_agnostic_without_cdk_defaults(tmp_path: Path) -> None:
    # Given no CDK_DEFAULT_ACCOUNT/REGION (a plain `python app.py`)
    # When building the app the way app.py does
    stack = build(App(context=cdk_json_context(ROOT / "cdk.json"), outdir=str(tmp_path)), env=None)
    # Then the stack is environment-agnostic: account and region stay CloudFormation pseudo parameters
    assert stack.resolve(stack.region) == {"Ref": "AWS::Region"}
    assert stack.resolve(stack.account) == {"Ref": "AWS::AccountId"}
