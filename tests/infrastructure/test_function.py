"""The reconcile function: runtime, layer, sizing, tracing, logging, async failure handling and its environment."""

from __future__ import annotations

import json
from importlib.metadata import version
from typing import Any

import pytest
from aws_cdk.assertions import Match

from driftline.settings import RuntimeSettings, env_names
from stacks.constants import POWERTOOLS_RELEASE
from tests.infrastructure.helpers import only, references
from tests.infrastructure.synth import Synthesized

pytestmark = pytest.mark.infra

HANDLER = "driftline.handlers.on_schedule.handler"


def _function(synthesized: Synthesized) -> dict[str, Any]:
    _, function = only(synthesized.resources, "AWS::Lambda::Function")
    props: dict[str, Any] = function["Properties"]
    return props


def test_function_runtime_architecture_handler_and_sizing(synthesized: Synthesized) -> None:
    # Given the synthesized stack
    # Then the reconcile function runs the schedule handler on python3.14/arm64 with 512 MB, 5 min, one at a time
    synthesized.template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": HANDLER,
            "Runtime": "python3.14",
            "Architectures": ["arm64"],
            "MemorySize": 512,
            "Timeout": 300,
            "ReservedConcurrentExecutions": 1,
            "TracingConfig": {"Mode": "Active"},
        },
    )


def test_function_logs_json_to_its_own_retained_log_group(synthesized: Synthesized) -> None:
    # Given the function and the log group
    group_id, group = only(synthesized.resources, "AWS::Logs::LogGroup")
    logging = _function(synthesized)["LoggingConfig"]
    # Then logs are JSON, go to that log group, which keeps them for a year and survives stack deletion
    assert logging["LogFormat"] == "JSON"
    assert logging["ApplicationLogLevel"] == "INFO"
    assert logging["LogGroup"] == {"Ref": group_id}
    assert group["Properties"]["RetentionInDays"] == 365
    assert group["DeletionPolicy"] == "Retain"


def test_function_uses_the_pinned_powertools_layer_for_its_runtime_and_architecture(synthesized: Synthesized) -> None:
    # Given the function's layers
    props = _function(synthesized)
    (layer,) = props["Layers"]
    rendered = json.dumps(layer)
    # Then it is the public Powertools v3 layer in the deployment Region, matching python3.14 and arm64
    assert {"Ref": "AWS::Region"} in layer["Fn::Join"][1]
    assert "arn:aws:lambda:" in rendered
    assert ":017000801446:layer:AWSLambdaPowertoolsPythonV3-python314-arm64:40" in rendered
    assert props["Runtime"].replace(".", "") in rendered
    assert props["Architectures"][0] in rendered


def test_layer_release_matches_the_locally_installed_powertools() -> None:
    # Given the Powertools release the layer version was chosen for
    # When comparing it with the aws-lambda-powertools that tests and the CLI run against
    installed = version("aws-lambda-powertools")
    # Then they are the same release (move both together: see stacks/constants.py)
    assert installed == POWERTOOLS_RELEASE


def test_async_failures_are_retried_then_dead_lettered(synthesized: Synthesized) -> None:
    # Given the dead-letter queue
    queue_id, _ = only(synthesized.resources, "AWS::SQS::Queue")
    # When reading the function's async invocation config
    _, config = only(synthesized.resources, "AWS::Lambda::EventInvokeConfig")
    props = config["Properties"]
    # Then Lambda retries twice, drops events older than an hour, and sends failures to the DLQ
    assert props["MaximumRetryAttempts"] == 2
    assert props["MaximumEventAgeInSeconds"] == 3600
    assert references(props["DestinationConfig"]["OnFailure"]["Destination"], queue_id)


def test_environment_sets_exactly_the_runtime_settings(synthesized: Synthesized) -> None:
    # Given the function's environment
    variables = _function(synthesized)["Environment"]["Variables"]
    # Then its DRIFTLINE_ variables are exactly the ones driftline.settings reads
    assert {name for name in variables if name.startswith("DRIFTLINE_")} == env_names()
    assert "AWS_RETRY_MODE" not in variables


def test_environment_validates_against_runtime_settings(synthesized: Synthesized) -> None:
    # Given the environment, with each table reference resolved to a stand-in table name
    variables = _function(synthesized)["Environment"]["Variables"]
    resolved = {name: _resolve(value) for name, value in variables.items()}
    # When the runtime parses it, as on a cold start
    settings = RuntimeSettings.from_env(resolved)
    # Then it holds cdk.json's defaults
    assert settings.grace_period_minutes == 60
    assert settings.max_key_age_days == 90
    assert settings.max_unused_days == 90
    assert settings.excluded_name_patterns == ()
    assert settings.excluded_path_prefixes == ()
    assert settings.credential_report_wait_seconds * 2 < 300  # waiting for a report leaves time to reconcile
    # And it only detects: no Security Hub publishing and no enforcement, which this role has no permissions for
    assert settings.publish_findings is False
    assert settings.mode == "report"


def test_table_variables_point_at_the_right_tables(synthesized: Synthesized) -> None:
    # Given the environment and the two tables' logical ids
    variables = _function(synthesized)["Environment"]["Variables"]
    registry = synthesized.logical_id(synthesized.stack.registry.table)
    state = synthesized.logical_id(synthesized.stack.state.table)
    # Then the registry variable names the registry table, and the state variable the state table
    assert variables["DRIFTLINE_REGISTRY_TABLE"] == {"Ref": registry}
    assert variables["DRIFTLINE_STATE_TABLE"] == {"Ref": state}


def test_powertools_is_configured_through_the_environment(synthesized: Synthesized) -> None:
    # Given the synthesized stack
    # Then Powertools gets its service, namespace and log level
    synthesized.template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Environment": {
                "Variables": Match.object_like(
                    {
                        "POWERTOOLS_SERVICE_NAME": "driftline",
                        "POWERTOOLS_METRICS_NAMESPACE": "Driftline",
                        "POWERTOOLS_LOG_LEVEL": "INFO",
                    }
                )
            }
        },
    )


def _resolve(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return f"table-{value['Ref']}"
    raise AssertionError(f"unexpected intrinsic in the function environment: {value!r}")
