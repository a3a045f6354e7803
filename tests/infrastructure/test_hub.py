"""Hub and spoke (``driftline:topology=hub``): the hub reconciles every member through a Distributed Map that
isolates failures; it can enter members through driftline's two roles only and write nothing in them but their own
findings; the spokes' roles trust the hub's driftline roles only and allow reads. The state machine definition is
validated against the Amazon States Language schema (asl-validator), the templates with cdk-nag and cfn-lint."""

from __future__ import annotations

import copy
import json
import re
import subprocess
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import lint_file  # type: ignore[import-untyped]

from driftline.adapters.member_access import FINDINGS_PUBLISHER_ACTIONS, MEMBER_READ_ACTIONS
from driftline.settings import env_names
from stacks.assembly import HubDeployment, build
from stacks.constants import ENV_RECONCILE_FUNCTION
from tests.infrastructure.helpers import actions, as_list, of_type, only, statements
from tests.infrastructure.synth import ROOT, new_app

pytestmark = pytest.mark.infra

ORG = "o-abcdefghij"
HUB = "222233334444"
TARGETS = ["r-ab12"]
HUB_CONTEXT = {
    "driftline:topology": "hub",
    "driftline:homeRegion": "eu-west-1",
    "driftline:organizationId": ORG,
    "driftline:deploymentTargets": TARGETS,
    "driftline:hubAccount": HUB,
    "driftline:hubConcurrency": 7,
}
ASL_VALIDATOR = ROOT / ".venv" / "asl" / "node_modules" / ".bin" / "asl-validator"


@dataclass(frozen=True)
class Hub:
    deployment: HubDeployment
    outdir: Path

    def template(self, name: str) -> dict[str, Any]:
        return dict(json.loads((self.outdir / name).read_text()))

    @property
    def hub(self) -> dict[str, Any]:
        return self.template("DriftlineHub.template.json")

    @property
    def spoke(self) -> dict[str, Any]:
        (path,) = self.outdir.glob("DriftlineSpokes*.stackset.template.json")
        return dict(json.loads(path.read_text()))

    def function(self, handler_module: str) -> dict[str, Any]:
        (found,) = [
            f
            for f in of_type(self.hub["Resources"], "AWS::Lambda::Function").values()
            if f["Properties"]["Handler"].startswith(f"driftline.handlers.{handler_module}.")
        ]
        return found

    def role_statements(self, handler_module: str) -> list[dict[str, Any]]:
        role = self.function(handler_module)["Properties"]["Role"]["Fn::GetAtt"][0]
        resources = self.hub["Resources"]
        policies = {
            lid: res
            for lid, res in of_type(resources, "AWS::IAM::Policy").items()
            if {"Ref": role} in res["Properties"]["Roles"]
        }
        return statements(policies)

    def definition(self) -> dict[str, Any]:
        """The state machine's definition, its function ARNs filled in as a deployment would."""
        _, machine = only(self.hub["Resources"], "AWS::StepFunctions::StateMachine")
        parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
        text = "".join(
            part if isinstance(part, str) else f"arn:aws:lambda:eu-west-1:{HUB}:function:{part['Fn::GetAtt'][0]}"
            for part in parts
        )
        return dict(json.loads(text))


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Hub:
    outdir = tmp_path_factory.mktemp("cdk.out.hub")
    app = new_app(outdir, **HUB_CONTEXT)
    deployment = build(app, environ={})
    assert isinstance(deployment, HubDeployment)
    app.synth()  # cdk-nag (AwsSolutions) runs here: an unacknowledged finding raises ValidationFailed
    return Hub(deployment, outdir)


def _asl_errors(definition: dict[str, Any], path: Path) -> str:
    path.write_text(json.dumps(definition))
    result = subprocess.run(
        [str(ASL_VALIDATOR), "--json-path", str(path)], capture_output=True, text=True, timeout=120, check=False
    )
    return "" if result.returncode == 0 else result.stdout + result.stderr


def test_a_run_lists_the_accounts_then_reconciles_each_in_a_bounded_distributed_map(hub: Hub) -> None:
    definition = hub.definition()
    # Given the state machine: first the account listing, then a map over its "accounts"
    assert definition["StartAt"] == "ListAccounts"
    listing, each = definition["States"]["ListAccounts"], definition["States"]["EachAccount"]
    assert listing["Next"] == "EachAccount"
    assert "HubAccountsFunction" in listing["Resource"]
    # Then the map is distributed, at most hubConcurrency accounts at a time, tolerating every item's failure
    assert each["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    assert each["ItemsPath"] == "$.accounts"
    assert each["MaxConcurrency"] == 7
    assert each["ToleratedFailurePercentage"] == 100
    assert each["ResultPath"] is None  # thousands of item results never hit the 256 KB state limit
    # And each item reconciles one account with the member function, retrying Lambda's throttling
    (task,) = each["ItemProcessor"]["States"].values()
    assert "HubAccountFunction" in task["Resource"]
    assert any("Lambda.TooManyRequestsException" in r["ErrorEquals"] for r in task["Retry"])


@pytest.mark.skipif(not ASL_VALIDATOR.exists(), reason="make installs asl-validator (npm) with the test targets")
def test_the_definition_is_valid_states_language_and_the_validator_catches_a_broken_one(
    hub: Hub, tmp_path: Path
) -> None:
    definition = hub.definition()
    # When validating the definition as synthesized
    assert _asl_errors(definition, tmp_path / "hub.asl.json") == ""
    # Then mutations the schema forbids are reported (the check can fail)
    over = copy.deepcopy(definition)
    over["States"]["EachAccount"]["ToleratedFailurePercentage"] = 150
    assert "ToleratedFailurePercentage" in _asl_errors(over, tmp_path / "over.asl.json")
    lost = copy.deepcopy(definition)
    lost["States"]["ListAccounts"]["Next"] = "Nowhere"
    assert "Nowhere" in _asl_errors(lost, tmp_path / "lost.asl.json")


def test_the_hub_enters_members_only_through_driftline_s_two_roles_in_its_organisation(hub: Hub) -> None:
    grants = hub.role_statements("on_hub_account")
    (assume,) = [s for s in grants if "sts:AssumeRole" in actions(s)]
    # Given the member function's AssumeRole grant: the two role names in any account of the organisation
    resources = sorted(json.dumps(r) for r in as_list(assume["Resource"]))
    assert len(resources) == 2
    assert "DriftlineReadOnly" in resources[1] and "DriftlineFindingsPublisher" in resources[0]
    assert assume["Condition"] == {"StringEquals": {"aws:ResourceOrgID": ORG}}
    # Then the hub itself holds no IAM write, no enforcement and no Security Hub permission: findings are imported
    # through each member's own role, and the hub never enforces
    every = {a for s in grants for a in actions(s)}
    assert not [a for a in every if a.startswith("securityhub:")]
    assert not [a for a in every if a.startswith("iam:") and not re.match(r"iam:(Get|List|Generate)", a)]
    # And DynamoDB writes reach the state table only
    writes = [s for s in grants if any(re.match(r"dynamodb:(Put|Update|Delete|BatchWrite)", a) for a in actions(s))]
    assert writes and all("StateTable" in json.dumps(s["Resource"]) for s in writes)


def test_the_hub_keeps_every_member_s_state_and_reads_the_registry_only(hub: Hub) -> None:
    grants = hub.role_statements("on_hub_account")
    (state,) = [s for s in grants if s.get("Sid") == "ReadWriteState"]
    # Given the member function's state grant: every member's ledger, finding and cache partitions, by pattern
    keys = state["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
    rendered = [k if isinstance(k, str) else json.dumps(k) for k in keys]
    assert rendered[0] == "ledger#*" and "keyset#*" in rendered and "others#*" in rendered
    # Then the registry is read, never written
    (registry,) = [s for s in grants if s.get("Sid") == "ReadRegistry"]
    assert not [a for a in actions(registry) if re.search(r"Put|Update|Delete|Write", a)]


def test_the_hub_functions_run_in_report_mode_with_the_member_roles_and_targets(hub: Hub) -> None:
    variables = hub.function("on_hub_account")["Properties"]["Environment"]["Variables"]
    # Then the environment is exactly what RuntimeSettings reads (no whole-account reconcile request here)
    assert {n for n in variables if n.startswith("DRIFTLINE_")} == env_names() - {ENV_RECONCILE_FUNCTION}
    assert variables["DRIFTLINE_MODE"] == "report"
    assert variables["DRIFTLINE_MEMBER_ROLE_NAME"] == "DriftlineReadOnly"
    assert variables["DRIFTLINE_FINDINGS_ROLE_NAME"] == "DriftlineFindingsPublisher"
    assert variables["DRIFTLINE_ORGANIZATION_UNITS"] == ",".join(TARGETS)


def test_the_hub_bus_takes_iam_events_from_the_organisation_only(hub: Hub) -> None:
    resources = hub.hub["Resources"]
    (policy,) = of_type(resources, "AWS::Events::EventBusPolicy").values()
    statement = policy["Properties"]["Statement"]
    # Given the hub's default bus policy: PutEvents from any principal of the organisation, IAM events only
    assert statement["Principal"] == "*" and statement["Action"] == "events:PutEvents"
    assert statement["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": ORG, "events:source": "aws.iam"}}
    # Then the rule on that bus sends IAM events to the hub's event function, with a dead-letter queue
    (rule,) = [r for r in of_type(resources, "AWS::Events::Rule").values() if "EventPattern" in r["Properties"]]
    assert rule["Properties"]["EventPattern"]["source"] == ["aws.iam"]
    (target,) = rule["Properties"]["Targets"]
    event_function = next(
        lid
        for lid, f in of_type(resources, "AWS::Lambda::Function").items()
        if f["Properties"]["Handler"] == "driftline.handlers.on_hub_event.handler"
    )
    assert target["Arn"] == {"Fn::GetAtt": [event_function, "Arn"]}
    assert "DeadLetterConfig" in target


def test_an_event_naming_nobody_can_ask_for_that_member_s_reconcile_only(hub: Hub) -> None:
    variables = hub.function("on_hub_event")["Properties"]["Environment"]["Variables"]
    # Then the event function names the member function as its reconcile, may invoke that one only, and its
    # environment is exactly what RuntimeSettings reads
    member_function = next(
        lid
        for lid, f in of_type(hub.hub["Resources"], "AWS::Lambda::Function").items()
        if f["Properties"]["Handler"] == "driftline.handlers.on_hub_account.handler"
    )
    assert variables["DRIFTLINE_RECONCILE_FUNCTION"] == {"Ref": member_function}
    assert {n for n in variables if n.startswith("DRIFTLINE_")} == env_names()
    invokes = [s for s in hub.role_statements("on_hub_event") if "lambda:InvokeFunction" in actions(s)]
    assert [s["Resource"] for s in invokes] == [{"Fn::GetAtt": [member_function, "Arn"]}]


def test_each_spoke_forwards_its_iam_events_to_the_hub_bus(hub: Hub) -> None:
    resources = hub.spoke["Resources"]
    (rule,) = of_type(resources, "AWS::Events::Rule").values()
    (target,) = rule["Properties"]["Targets"]
    # Then the target is the hub account's default bus in the hub's Region, through a role, with a DLQ
    arn = "".join(p if isinstance(p, str) else "{" + p["Ref"] + "}" for p in target["Arn"]["Fn::Join"][1])
    assert arn == f"arn:{{AWS::Partition}}:events:eu-west-1:{HUB}:event-bus/default"
    assert "RoleArn" in target and "DeadLetterConfig" in target
    assert rule["Properties"]["EventPattern"]["source"] == ["aws.iam"]


def test_the_hub_alarms_on_a_member_it_could_not_read(hub: Hub) -> None:
    alarms = of_type(hub.hub["Resources"], "AWS::CloudWatch::Alarm").values()
    # Then one alarm watches driftline's AccountsFailed metric, and one the state machine's failed runs
    assert {a["Properties"].get("MetricName") for a in alarms} >= {"AccountsFailed", "ExecutionsFailed"}


def _trust_admits(role: dict[str, Any], principal_arn: str) -> bool:
    """The spoke role's trust policy, as IAM evaluates this grammar: an account principal and an ArnLike on the
    caller's role ARN (both must hold)."""
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow" and statement["Action"] == "sts:AssumeRole"
    account_arn = json.dumps(statement["Principal"]["AWS"])
    if principal_arn.split(":")[4] not in account_arn:
        return False
    (pattern,) = statement["Condition"]["ArnLike"].values()
    text = (
        pattern
        if isinstance(pattern, str)
        else "".join(p if isinstance(p, str) else "aws" for p in pattern["Fn::Join"][1])
    )
    return fnmatchcase(principal_arn, text)


@pytest.mark.parametrize(
    ("caller", "admitted"),
    [
        (f"arn:aws:iam::{HUB}:role/DriftlineHub-HubAccountFunctionRole-ABC", True),
        (f"arn:aws:iam::{HUB}:role/DriftlineAuditor", True),  # an operator's scan --org role in the hub
        (f"arn:aws:iam::{HUB}:role/Admin", False),  # the hub account, but not driftline
        ("arn:aws:iam::999988887777:role/DriftlineHub-HubAccountFunctionRole-ABC", False),  # another account
    ],
    ids=["hub-function", "hub-auditor", "hub-admin", "foreign-driftline"],
)
def test_the_spoke_roles_trust_the_hub_s_driftline_roles_only(hub: Hub, caller: str, admitted: bool) -> None:
    roles = of_type(hub.spoke["Resources"], "AWS::IAM::Role").values()
    named = {r["Properties"]["RoleName"]: r for r in roles if isinstance(r["Properties"]["RoleName"], str)}
    assert set(named) == {"DriftlineReadOnly", "DriftlineFindingsPublisher"}
    for role in named.values():
        assert _trust_admits(role, caller) is admitted


def test_the_spoke_allows_reads_and_its_own_findings_import_only(hub: Hub) -> None:
    resources = hub.spoke["Resources"]
    roles = {
        lid: json.dumps(r["Properties"]["RoleName"]).strip('"')
        for lid, r in of_type(resources, "AWS::IAM::Role").items()
    }
    by_role: dict[str, set[str]] = {}
    product_arns = []
    for policy in of_type(resources, "AWS::IAM::Policy").values():
        (role,) = policy["Properties"]["Roles"]
        for statement in as_list(policy["Properties"]["PolicyDocument"]["Statement"]):
            by_role.setdefault(roles[role["Ref"]], set()).update(actions(statement))
            if roles[role["Ref"]] == "DriftlineFindingsPublisher":
                product_arns += as_list(statement["Resource"])
    # Then the read-only role allows exactly the IAM reads driftline's adapters declare, all of them reads
    assert by_role["DriftlineReadOnly"] == set(MEMBER_READ_ACTIONS)
    assert all(re.match(r"iam:(Get|List|Generate)", a) for a in by_role["DriftlineReadOnly"])
    # And the third role (EventBridge's, for the forwarding rule) may only put events
    (forwarding,) = [name for name in by_role if name not in ("DriftlineReadOnly", "DriftlineFindingsPublisher")]
    assert "Driftline-" in forwarding and by_role[forwarding] == {"events:PutEvents"}
    # And the publisher imports only into the member's own default product, in the hub's Region
    assert by_role["DriftlineFindingsPublisher"] == set(FINDINGS_PUBLISHER_ACTIONS)
    (arn,) = product_arns
    text = "".join(p if isinstance(p, str) else "{" + p.get("Ref", "?") + "}" for p in arn["Fn::Join"][1])
    assert text == "arn:{AWS::Partition}:securityhub:eu-west-1:{AWS::AccountId}:product/{AWS::AccountId}/default"


def test_the_spoke_template_deploys_on_its_own_in_the_management_account(hub: Hub) -> None:
    # Given the spoke template (StackSets never reach the management account: docs/DEPLOYMENT.md has the operator
    # deploy this same file there with `aws cloudformation deploy`)
    template = hub.spoke
    # Then it asks for no parameter and points at no asset (no CDK bootstrap bucket, no S3 key)
    assert "Parameters" not in template
    assert "S3Key" not in json.dumps(template) and "cdk-hnb659fds" not in json.dumps(template)


def test_the_spokes_roll_out_to_every_target_account_automatically(hub: Hub) -> None:
    _, stack_set = only(hub.template("DriftlineSpokes.template.json")["Resources"], "AWS::CloudFormation::StackSet")
    props = stack_set["Properties"]
    assert props["PermissionModel"] == "SERVICE_MANAGED"
    assert props["AutoDeployment"]["Enabled"] is True
    assert props["StackInstancesGroup"] == [
        {"DeploymentTargets": {"AccountFilterType": "NONE", "OrganizationalUnitIds": TARGETS}, "Regions": ["us-east-1"]}
    ]


def test_the_hub_and_spoke_templates_pass_cfn_lint(hub: Hub) -> None:
    files = [hub.outdir / "DriftlineHub.template.json", hub.outdir / "DriftlineSpokes.template.json"]
    files += list(hub.outdir.glob("*.stackset.template.json"))
    assert len(files) == 3
    errors = []
    for path in files:
        regions = ["us-east-1"] if "stackset" in path.name else ["eu-west-1"]
        errors += [f"{path.name}: {m.rule.id} {m.message}" for m in lint_file(path, config={"regions": regions})]
    assert [e for e in errors if re.search(r": E\d", e)] == []
