"""The per-account topology rolled out to an organisation (``driftline:topology=organization``): StackSets that are
service-managed and deploy themselves to new accounts, member templates that need no CDK bootstrap, roles that keep
driftline's name, a code bucket only the organisation reads, and templates that pass cdk-nag and cfn-lint."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import lint_file  # type: ignore[import-untyped]

from stacks.assembly import OrganizationDeployment, build
from stacks.config import ConfigError, DriftlineConfig
from stacks.organization_stack import OrganizationStack
from stacks.stackset import LONGEST_REGION, ROLE_NAME_LIMIT, role_name_stem
from tests.infrastructure.helpers import as_list, of_type, only
from tests.infrastructure.synth import ROOT, new_app

pytestmark = pytest.mark.infra

ORG = "o-abcdefghij"
OU = "ou-ab12-cdefgh12"
CENTRAL = "arn:aws:dynamodb:eu-west-1:111122223333:table/driftline-registry"
ORGANIZATION = {
    "driftline:topology": "organization",
    "driftline:homeRegion": "eu-west-1",
    "driftline:organizationId": ORG,
    "driftline:deploymentTargets": [OU],
    "driftline:registryTableArn": CENTRAL,
    "driftline:registryEvents": True,
}


@dataclass(frozen=True)
class Rollout:
    stack: OrganizationStack
    outdir: Path

    def template(self, construct: Any = None) -> dict[str, Any]:
        """The organisation stack's template, or the StackSet template of ``construct`` (a StackSetStack)."""
        name = f"{self.stack.artifact_id}.template.json"
        if construct is not None:
            (path,) = [p for p in self.outdir.glob("*.stackset.template.json") if construct.node.id in p.name]
            return dict(json.loads(path.read_text()))
        return dict(json.loads((self.outdir / name).read_text()))


def _rollout(outdir: Path, **overrides: Any) -> Rollout:
    app = new_app(outdir, **{**ORGANIZATION, **overrides})
    deployment = build(app, environ={})
    assert isinstance(deployment, OrganizationDeployment)
    app.synth()  # runs cdk-nag (AwsSolutions): an unacknowledged finding raises ValidationFailed here
    return Rollout(deployment.organization, outdir)


@pytest.fixture(scope="module")
def rollout(tmp_path_factory: pytest.TempPathFactory) -> Rollout:
    return _rollout(tmp_path_factory.mktemp("cdk.out.organization"))


def _stack_sets(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        res["Properties"]["StackSetName"]: res["Properties"]
        for res in of_type(template["Resources"], "AWS::CloudFormation::StackSet").values()
    }


def test_the_rollout_is_service_managed_and_reaches_accounts_created_later(rollout: Rollout) -> None:
    # Given the organisation stack of a eu-west-1 home Region
    stack_sets = _stack_sets(rollout.template())
    # Then it holds the member stacks (home Region) and the IAM event forwarders (us-east-1)
    assert {name: [g["Regions"] for g in p["StackInstancesGroup"]] for name, p in stack_sets.items()} == {
        "Driftline": [["eu-west-1"]],
        "DriftlineIamForwarder": [["us-east-1"]],
    }
    for props in stack_sets.values():
        # And each is service-managed with automatic deployment (accounts that join the OU get it; leavers lose it)
        assert props["PermissionModel"] == "SERVICE_MANAGED"
        assert props["AutoDeployment"] == {"Enabled": True, "RetainStacksOnAccountRemoval": False}
        assert props["StackInstancesGroup"][0]["DeploymentTargets"]["OrganizationalUnitIds"] == [OU]
        assert props["CallAs"] == "SELF"
        assert set(props["Capabilities"]) == {"CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"}
        # And a failing account stops the rollout after a tenth of the accounts, not after all of them
        assert props["OperationPreferences"]["FailureTolerancePercentage"] == 10


def test_a_delegated_administrator_creates_the_stack_sets_as_such(tmp_path: Path) -> None:
    # Given the rollout deployed from a CloudFormation delegated administrator account
    rollout = _rollout(tmp_path, **{"driftline:delegatedAdmin": True})
    # Then CloudFormation is told to act as the delegated administrator
    assert {p["CallAs"] for p in _stack_sets(rollout.template()).values()} == {"DELEGATED_ADMIN"}


def test_a_home_region_of_us_east_1_needs_no_forwarder_stack_set(tmp_path: Path) -> None:
    central = CENTRAL.replace("eu-west-1", "us-east-1")
    rollout = _rollout(tmp_path, **{"driftline:homeRegion": "us-east-1", "driftline:registryTableArn": central})
    assert set(_stack_sets(rollout.template())) == {"Driftline"}


def test_the_member_template_reads_the_central_registry_and_needs_no_bootstrap(rollout: Rollout) -> None:
    # Given a member's stack instance template
    template = rollout.template(rollout.stack.member_template)
    resources = template["Resources"]
    functions = of_type(resources, "AWS::Lambda::Function")
    # Then it has the account stack's three functions, configured for the central registry (no registry table)
    handlers = sorted(f["Properties"]["Handler"] for f in functions.values())
    assert handlers == [
        "driftline.handlers.on_iam_event.handler",
        "driftline.handlers.on_registry_change.handle_event",
        "driftline.handlers.on_schedule.handler",
    ]
    assert {f["Properties"]["Environment"]["Variables"]["DRIFTLINE_REGISTRY_TABLE"] for f in functions.values()} == {
        CENTRAL
    }
    assert len(of_type(resources, "AWS::DynamoDB::GlobalTable")) == 1  # the state table only
    # And its code comes from the organisation's bucket in the instance's Region, not from a CDK bootstrap bucket
    for function in functions.values():
        bucket = function["Properties"]["Code"]["S3Bucket"]
        assert bucket == {"Fn::Join": ["-", [f"driftline-assets-{ORG}", {"Ref": "AWS::Region"}]]}
    assert "BootstrapVersion" not in template.get("Parameters", {})
    assert "CheckBootstrapVersion" not in template.get("Rules", {})


def test_every_role_of_a_stack_set_keeps_driftline_s_name_and_fits_iam(rollout: Rollout) -> None:
    # Given the member and forwarder templates (CloudFormation would name roles "StackSet-Driftline-...")
    names = []
    for construct in (rollout.stack.member_template, rollout.stack.forwarder_template):
        for role in of_type(rollout.template(construct)["Resources"], "AWS::IAM::Role").values():
            name = role["Properties"]["RoleName"]
            assert name["Fn::Join"][1][1] == {"Ref": "AWS::Region"}
            names.append(name["Fn::Join"][1][0])
    # Then each starts with "Driftline" (the central registry admits role/Driftline*), is unique, and leaves room
    # for the longest Region name within IAM's 64 characters
    assert names and all(n.startswith("Driftline-") for n in names)
    assert len(set(names)) == len(names)
    assert max(len(n) for n in names) + 1 + LONGEST_REGION <= ROLE_NAME_LIMIT


@pytest.mark.parametrize("length", [1, 20, 39, 40, 41, 80, 255])
def test_role_name_stems_stay_short_and_distinct(length: int) -> None:
    # Given two logical ids of the same length that differ only in their last character
    first, second = "A" * (length - 1) + "x", "A" * (length - 1) + "y"
    # Then their stems differ and fit beside "-<Region>"
    stems = {role_name_stem(first), role_name_stem(second)}
    assert len(stems) == 2
    assert all(len(s) + 1 + LONGEST_REGION <= ROLE_NAME_LIMIT for s in stems)


def test_the_code_bucket_is_readable_by_the_organisation_only(rollout: Rollout) -> None:
    resources = rollout.template()["Resources"]
    _, bucket = only(resources, "AWS::S3::Bucket")
    # Given the asset bucket: named as cdk-stacksets looks it up, private, encrypted, versioned
    assert bucket["Properties"]["BucketName"] == f"driftline-assets-{ORG}-eu-west-1"
    assert bucket["Properties"]["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    _, policy = only(resources, "AWS::S3::BucketPolicy")
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    reads = [s for s in statements if s["Effect"] == "Allow"]
    # Then the only grant to anyone outside the account is object reads, conditioned on the organisation
    assert len(reads) == 1
    assert set(as_list(reads[0]["Action"])) == {"s3:GetObject", "s3:GetObjectVersion"}
    assert reads[0]["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": ORG}}
    # And plain HTTP is refused
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in statements
    )


def test_every_rollout_template_passes_cfn_lint(rollout: Rollout, tmp_path: Path) -> None:
    # Given the organisation template and both StackSet templates
    files = [
        rollout.outdir / f"{rollout.stack.artifact_id}.template.json",
        *rollout.outdir.glob("*.stackset.template.json"),
    ]
    assert len(files) == 3
    # When linting each (the StackSet templates in every Region they deploy to)
    errors = []
    for path in files:
        regions = ["us-east-1"] if "Forwarder" in path.name else ["eu-west-1"]
        errors += [f"{path.name}: {m.rule.id} {m.message}" for m in lint_file(path, config={"regions": regions})]
    # Then there are no errors
    assert [e for e in errors if re.search(r": E\d", e)] == []


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"driftline:deploymentTargets": []}, "driftline:deploymentTargets"),
        ({"driftline:organizationId": None}, "driftline:organizationId"),
        ({"driftline:registryTableArn": None, "driftline:registryEvents": False}, "registryTableArn"),
        ({"driftline:deploymentTargets": ["ou-nope"]}, "an OU"),
        ({"driftline:deploymentTargets": "r-ab12,ou-ab12-cdefgh12"}, None),
    ],
    ids=["no-targets", "no-organization", "no-central-registry", "bad-target", "comma-list"],
)
def test_the_organisation_topology_names_what_it_misses(overrides: dict[str, Any], message: str | None) -> None:
    context = {**json.loads((ROOT / "cdk.json").read_text())["context"], **ORGANIZATION, **overrides}
    context = {k: v for k, v in context.items() if v is not None}
    if message is None:
        # A comma-separated -c value is two targets
        assert DriftlineConfig.from_context(context).deployment_targets == ("r-ab12", "ou-ab12-cdefgh12")
        return
    with pytest.raises(ConfigError, match=re.escape(message)):
        DriftlineConfig.from_context(context)
