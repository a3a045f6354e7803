"""The Powertools layer cannot be a wrong one: every function's layer is read by CloudFormation at deploy time from
the public SSM parameter Powertools publishes for the pinned release, runtime and architecture, and
``driftline:powertoolsLayerArn`` replaces it (validated) in a Region that lacks that parameter.

What would make these fail: a layer version number written into the template again, a parameter for another
release, runtime or architecture (or ``latest``), a lookup at synth time (``valueFromLookup`` puts the value in
``cdk.context.json`` and reports missing context), an override that is ignored or accepted when malformed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from stacks.assembly import HubDeployment, OrganizationDeployment, build
from stacks.config import ConfigError
from tests.infrastructure.helpers import of_type
from tests.infrastructure.synth import Synthesized, new_app, synthesize

pytestmark = pytest.mark.infra

# Written out, not derived from stacks/constants.py: the test must fail if the runtime, the architecture or the
# release moves without the parameter following it (and if anyone switches to ".../latest").
PARAMETER = "/aws/service/powertools/python/arm64/python3.14/3.37.0"
SSM_TYPE = "AWS::SSM::Parameter::Value<String>"
OVERRIDE = "arn:aws:lambda:us-east-1:123456789012:layer:powertools-python314-arm64-copy:3"


def _layer_parameters(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The template's SSM-typed parameters that name a Powertools layer parameter."""
    return {
        pid: p
        for pid, p in template.get("Parameters", {}).items()
        if p["Type"] == SSM_TYPE and p["Default"].startswith("/aws/service/powertools/")
    }


def _function_layers(template: dict[str, Any]) -> list[Any]:
    """The layers of driftline's functions (not of CDK's own helpers, such as the StackSet asset copier)."""
    functions = of_type(template["Resources"], "AWS::Lambda::Function").values()
    return [f["Properties"].get("Layers") for f in functions if f["Properties"]["Handler"].startswith("driftline.")]


def _assert_layers_come_from_the_parameter(template: dict[str, Any]) -> None:
    layers = _function_layers(template)
    assert layers, "expected the template to hold functions"
    # exactly one layer parameter, of that exact name, resolved by CloudFormation (an SSM parameter type)
    ((parameter_id, parameter),) = _layer_parameters(template).items()
    assert parameter == {"Type": SSM_TYPE, "Default": PARAMETER}
    # every function has that one layer, by reference to the parameter
    assert layers == [[{"Ref": parameter_id}]] * len(layers)
    # and no driftline layer ARN is written anywhere in the template
    assert ":layer:AWSLambdaPowertools" not in json.dumps(template)


@pytest.mark.parametrize("name", ["default", "enforcing", "existing"])
def test_every_function_takes_its_layer_from_powertools_public_parameter(
    request: pytest.FixtureRequest, name: str
) -> None:
    # Given each configuration of the account topology, synthesized offline
    synthesized: Synthesized = request.getfixturevalue({"default": "synthesized"}.get(name, name))
    # When reading the main stack's template
    template = synthesized.template.to_json()
    # Then its functions' one layer is the value of Powertools' parameter for 3.37.0, python3.14, arm64
    _assert_layers_come_from_the_parameter(template)


def test_nothing_is_looked_up_at_synth(synthesized: Synthesized) -> None:
    # Given the default deployment synthesized without credentials (tests/infrastructure/synth.py)
    manifest = json.loads((synthesized.outdir / "manifest.json").read_text())
    # Then the cloud assembly asks for no context lookup (a synth-time SSM lookup would be listed as missing)
    assert "missing" not in manifest
    assert not any(key.startswith("ssm:") for key in synthesized.app.node.get_all_context())


def test_the_override_replaces_the_parameter(tmp_path: Path) -> None:
    # Given a Region without Powertools' parameter: the operator passes the layer version ARN
    synthesized = synthesize(tmp_path, {"driftline:powertoolsLayerArn": OVERRIDE})
    template = synthesized.template.to_json()
    # Then every function uses exactly that ARN, and no SSM parameter is left to resolve
    layers = _function_layers(template)
    assert layers and layers == [[OVERRIDE]] * len(layers)
    assert _layer_parameters(template) == {}


def test_an_empty_override_means_unset(tmp_path: Path) -> None:
    # Given `-c driftline:powertoolsLayerArn=` (the context's spelling of "not set")
    synthesized = synthesize(tmp_path, {"driftline:powertoolsLayerArn": ""})
    # Then the layer comes from Powertools' parameter, as without the key
    _assert_layers_come_from_the_parameter(synthesized.template.to_json())


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("AWSLambdaPowertoolsPythonV3-python314-arm64:40", "expected a layer version ARN"),  # a name, not an ARN
        ("arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python314-arm64", "layer version"),
        ("arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python314-arm64:0", "layer version"),
        ("arn:aws:lambda:us-east-1:017000801446:function:AWSLambdaPowertools:3", "layer version"),  # a function
        ("arn:aws-cn:lambda:cn-north-1:498634801083:layer:AWSLambdaPowertoolsPythonV3-python314-arm64:3", "layer"),
        (["arn:aws:lambda:us-east-1:017000801446:layer:x:3"], "expected text"),  # a list
        # a valid ARN in another Region: Lambda attaches layers of the function's own Region only
        ("arn:aws:lambda:eu-west-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python314-arm64:3", "home Region"),
    ],
)
def test_a_bad_override_is_a_config_error(tmp_path: Path, value: object, message: str) -> None:
    # Given an override that is no usable layer version ARN for a us-east-1 deployment
    app = new_app(tmp_path, **{"driftline:powertoolsLayerArn": value})
    # When building the app
    # Then the synth stops with a ConfigError naming the key and what is wrong
    with pytest.raises(ConfigError, match="driftline:powertoolsLayerArn") as raised:
        build(app, environ={})
    assert message in str(raised.value)


def test_the_stackset_and_hub_templates_resolve_the_layer_in_each_member_and_hub(tmp_path: Path) -> None:
    # Given the organisation rollout (member template deployed by a StackSet in every account) and the hub
    organization = {
        "driftline:topology": "organization",
        "driftline:homeRegion": "eu-west-1",
        "driftline:organizationId": "o-abcdefghij",
        "driftline:deploymentTargets": ["ou-ab12-cdefgh12"],
        "driftline:registryTableArn": "arn:aws:dynamodb:eu-west-1:111122223333:table/driftline-registry",
        "driftline:registryEvents": True,
    }
    hub = {
        "driftline:topology": "hub",
        "driftline:homeRegion": "eu-west-1",
        "driftline:organizationId": "o-abcdefghij",
        "driftline:deploymentTargets": ["r-ab12"],
        "driftline:hubAccount": "222233334444",
    }
    for name, context, kind in (("org", organization, OrganizationDeployment), ("hub", hub, HubDeployment)):
        outdir = tmp_path / name
        app = new_app(outdir, **context)
        assert isinstance(build(app, environ={}), kind)
        app.synth()
        # When reading every template that holds functions (the member StackSet template; the hub stack)
        templates = [json.loads(p.read_text()) for p in outdir.glob("*.template.json")]
        with_functions = [t for t in templates if _function_layers(t)]
        assert with_functions, f"{name}: no template with functions"
        # Then each resolves the layer from Powertools' parameter in the account and Region it is deployed to
        for template in with_functions:
            _assert_layers_come_from_the_parameter(template)
