"""The three functions: one construct pattern (runtime, layer, tracing, JSON logs, retention), sizing per function,
asynchronous failure handling, and an environment that is exactly what the runtime settings model reads."""

from __future__ import annotations

import json
from importlib.metadata import version
from typing import Any

import pytest

from driftline.settings import RuntimeSettings, env_names
from stacks.constants import HUB_ONLY_ENV, POWERTOOLS_RELEASE
from tests.infrastructure.helpers import of_type, references
from tests.infrastructure.synth import REGISTRY_TABLE_ARN, Synthesized

pytestmark = pytest.mark.infra

FUNCTIONS = ("ReconcileFunction", "IamEventFunction", "RegistryChangeFunction")
# name: (handler, memory MB, timeout s, reserved concurrency)
SIZING = {
    "ReconcileFunction": ("driftline.handlers.on_schedule.handler", 512, 300, 1),
    "IamEventFunction": ("driftline.handlers.on_iam_event.handler", 256, 60, None),
    "RegistryChangeFunction": ("driftline.handlers.on_registry_change.handler", 256, 60, None),
}


def test_the_stack_has_exactly_the_three_functions(synthesized: Synthesized) -> None:
    # Given the synthesized stack
    functions = of_type(synthesized.resources, "AWS::Lambda::Function")
    # Then its functions are the reconcile, IAM event and registry-change functions
    assert sorted(functions) == sorted(synthesized.logical_id(f.function) for f in synthesized.stack.functions.values())
    assert sorted(synthesized.stack.functions) == sorted(FUNCTIONS)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_function_handler_runtime_architecture_and_sizing(synthesized: Synthesized, name: str) -> None:
    # Given one function
    props = synthesized.function_props(name)
    handler, memory, timeout, reserved = SIZING[name]
    # Then it runs its handler on python3.14/arm64 with its memory, timeout and concurrency, traced by X-Ray
    assert props["Handler"] == handler
    assert (props["Runtime"], props["Architectures"]) == ("python3.14", ["arm64"])
    assert (props["MemorySize"], props["Timeout"]) == (memory, timeout)
    assert props.get("ReservedConcurrentExecutions") == reserved
    assert props["TracingConfig"] == {"Mode": "Active"}


@pytest.mark.parametrize("name", FUNCTIONS)
def test_function_logs_json_to_its_own_retained_log_group(synthesized: Synthesized, name: str) -> None:
    # Given the function and the log group of its construct
    construct = synthesized.stack.functions[name]
    group_id = synthesized.logical_id(construct.log_group)
    group = synthesized.resources[group_id]
    logging = synthesized.function_props(name)["LoggingConfig"]
    # Then logs are JSON, go to that log group, which keeps them for a year and survives stack deletion
    assert logging["LogFormat"] == "JSON"
    assert logging["ApplicationLogLevel"] == "INFO"
    assert logging["LogGroup"] == {"Ref": group_id}
    assert group["Properties"]["RetentionInDays"] == 365
    assert group["DeletionPolicy"] == "Retain"


@pytest.mark.parametrize("name", FUNCTIONS)
def test_function_uses_the_pinned_powertools_layer_for_its_runtime_and_architecture(
    synthesized: Synthesized, name: str
) -> None:
    # Given the function's layers and the template's parameters
    props = synthesized.function_props(name)
    (layer,) = props["Layers"]
    parameters = synthesized.template.to_json()["Parameters"]
    # Then the layer is the value of a template parameter that CloudFormation reads from SSM at deploy time: the
    # public Powertools v3 parameter of the pinned release for this function's runtime and architecture (no layer
    # version number is written anywhere: tests/infrastructure/test_layer.py has the details)
    assert set(layer) == {"Ref"}
    parameter = parameters[layer["Ref"]]
    assert parameter["Type"] == "AWS::SSM::Parameter::Value<String>"
    runtime, (architecture,) = props["Runtime"], props["Architectures"]
    assert parameter["Default"] == f"/aws/service/powertools/python/{architecture}/{runtime}/{POWERTOOLS_RELEASE}"


def test_layer_release_matches_the_locally_installed_powertools() -> None:
    # Given the Powertools release the layer version was chosen for
    # When comparing it with the aws-lambda-powertools that tests and the CLI run against
    installed = version("aws-lambda-powertools")
    # Then they are the same release (move both together: see stacks/constants.py and docs/DEPLOYMENT.md)
    assert installed == POWERTOOLS_RELEASE


def test_functions_share_one_asset(synthesized: Synthesized) -> None:
    # Given the three functions' code
    keys = {json.dumps(synthesized.function_props(name)["Code"], sort_keys=True) for name in FUNCTIONS}
    # Then they run the same asset (one zip of functions/, each with its own handler)
    assert len(keys) == 1


@pytest.mark.parametrize(
    ("name", "queue_attr", "retries", "max_age"),
    [
        ("ReconcileFunction", ("detection", "dead_letter_queue"), 2, 3600),
        ("IamEventFunction", ("iam_events", "dead_letter_queue"), 2, 6 * 3600),
    ],
)
def test_async_failures_are_retried_then_dead_lettered(
    synthesized: Synthesized, name: str, queue_attr: tuple[str, str], retries: int, max_age: int
) -> None:
    # Given the function's dead-letter queue
    construct, attribute = queue_attr
    queue_id = synthesized.logical_id(getattr(getattr(synthesized.stack, construct), attribute))
    function_id = synthesized.logical_id(synthesized.stack.functions[name].function)
    # When reading the function's async invocation config
    (config,) = [
        res
        for res in of_type(synthesized.resources, "AWS::Lambda::EventInvokeConfig").values()
        if res["Properties"]["FunctionName"] == {"Ref": function_id}
    ]
    props = config["Properties"]
    # Then Lambda retries, drops stale events, and sends failures to the function's DLQ
    assert props["MaximumRetryAttempts"] == retries
    assert props["MaximumEventAgeInSeconds"] == max_age
    assert references(props["DestinationConfig"]["OnFailure"]["Destination"], queue_id)


def test_the_stream_function_fails_over_in_its_mapping_not_async(synthesized: Synthesized) -> None:
    # Given the registry-change function (invoked synchronously by its event source mapping)
    function_id = synthesized.logical_id(synthesized.stack.functions["RegistryChangeFunction"].function)
    # Then it has no async invocation config: the mapping's on-failure destination handles failures
    configs = of_type(synthesized.resources, "AWS::Lambda::EventInvokeConfig").values()
    assert [c for c in configs if c["Properties"]["FunctionName"] == {"Ref": function_id}] == []


@pytest.mark.parametrize("name", FUNCTIONS)
def test_environment_sets_exactly_the_runtime_settings(every: Synthesized, name: str) -> None:
    # Given the function's environment, in every configuration
    variables = every.function_props(name)["Environment"]["Variables"]
    # Then its DRIFTLINE_ variables are exactly the ones driftline.settings reads (the reconcile function to ask for a
    # whole-account run is the IAM event function's alone)
    # (and the hub's member roles and units are the hub's functions' alone)
    expected = env_names() - HUB_ONLY_ENV
    if name != "IamEventFunction":
        expected -= {"DRIFTLINE_RECONCILE_FUNCTION"}
    assert {n for n in variables if n.startswith("DRIFTLINE_")} == expected
    assert "AWS_RETRY_MODE" not in variables


def test_every_function_gets_the_same_environment(every: Synthesized) -> None:
    # Given the three environments, the IAM event function's without its one extra variable
    environments = [dict(every.function_props(name)["Environment"]["Variables"]) for name in FUNCTIONS]
    extra = [env.pop("DRIFTLINE_RECONCILE_FUNCTION", None) for env in environments]
    # Then they are identical: the functions share RuntimeSettings
    assert environments[1:] == environments[:1] * 2
    assert [e is not None for e in extra] == [name == "IamEventFunction" for name in FUNCTIONS]


def test_iam_event_function_asks_exactly_the_reconcile_function(synthesized: Synthesized) -> None:
    """An event that names nobody asks the reconcile function for a run: the variable names that function, and the
    role may invoke that one function only."""
    variables = synthesized.function_props("IamEventFunction")["Environment"]["Variables"]
    reconcile = synthesized.logical_id(synthesized.stack.functions["ReconcileFunction"].function)
    assert variables["DRIFTLINE_RECONCILE_FUNCTION"] == {"Ref": reconcile}


def test_environment_validates_against_runtime_settings(synthesized: Synthesized) -> None:
    # Given the default environment, with each table reference resolved to a stand-in table name
    variables = synthesized.function_props("IamEventFunction")["Environment"]["Variables"]
    resolved = {name: _resolve(value) for name, value in variables.items()}
    # When the runtime parses it, as on a cold start
    settings = RuntimeSettings.from_env(resolved)
    # Then it holds cdk.json's defaults
    assert settings.grace_period_minutes == 60
    assert (settings.max_key_age_days, settings.max_unused_days) == (90, 90)
    assert (settings.excluded_name_patterns, settings.excluded_path_prefixes) == ((), ())
    assert settings.credential_report_wait_seconds * 2 < 300  # waiting for a report leaves time to reconcile
    # And findings go to Security Hub (the roles may import them), and nothing is enforced
    assert settings.publish_findings is True
    assert settings.mode == "report"
    assert settings.break_glass_principals == ()


def test_enforcing_environment_follows_the_context(enforcing: Synthesized) -> None:
    # Given the enforcing deployment's environment, parsed by the runtime
    variables = enforcing.function_props("ReconcileFunction")["Environment"]["Variables"]
    settings = RuntimeSettings.from_env({name: _resolve(value) for name, value in variables.items()})
    # Then mode, break-glass principals and exclusions are the context's
    assert settings.mode == "enforce"
    assert settings.break_glass_principals == ("breakglass-admin", "oncall-*")
    assert settings.excluded_name_patterns == ("ci-*",)
    assert settings.excluded_path_prefixes == ("/service/",)


def test_security_hub_off_stops_publishing(existing: Synthesized) -> None:
    # Given a deployment with driftline:securityHub=false
    variables = existing.function_props("ReconcileFunction")["Environment"]["Variables"]
    # Then the functions are told not to publish (their roles cannot)
    assert variables["DRIFTLINE_PUBLISH_FINDINGS"] == "false"
    assert RuntimeSettings.from_env({n: _resolve(v) for n, v in variables.items()}).publish_findings is False


def test_table_variables_point_at_the_right_tables(synthesized: Synthesized) -> None:
    # Given the environment and the two tables' logical ids
    variables = synthesized.function_props("ReconcileFunction")["Environment"]["Variables"]
    registry = synthesized.logical_id(synthesized.stack.registry.table)
    state = synthesized.logical_id(synthesized.stack.state.table)
    # Then the registry variable names the registry table, and the state variable the state table
    assert variables["DRIFTLINE_REGISTRY_TABLE"] == {"Ref": registry}
    assert variables["DRIFTLINE_STATE_TABLE"] == {"Ref": state}


def test_an_existing_registry_is_named_by_its_arn(existing: Synthesized) -> None:
    # Given a deployment that reads an existing (central) registry
    variables = existing.function_props("RegistryChangeFunction")["Environment"]["Variables"]
    # Then the functions get its ARN: DynamoDB resolves a bare name in the caller's own account
    assert variables["DRIFTLINE_REGISTRY_TABLE"] == REGISTRY_TABLE_ARN


@pytest.mark.parametrize("name", FUNCTIONS)
def test_powertools_is_configured_through_the_environment(synthesized: Synthesized, name: str) -> None:
    # Given the function's environment
    variables = synthesized.function_props(name)["Environment"]["Variables"]
    # Then Powertools gets its service, namespace and log level
    assert variables["POWERTOOLS_SERVICE_NAME"] == "driftline"
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "Driftline"
    assert variables["POWERTOOLS_LOG_LEVEL"] == "INFO"


def _resolve(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return f"table-{value['Ref']}"
    raise AssertionError(f"unexpected intrinsic in the function environment: {value!r}")
