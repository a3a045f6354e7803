"""cdk-nag (AwsSolutions) and cfn-lint over every synthesized stack of every configuration; every acknowledgment
names one finding, carries a reason, sits on the narrowest construct and suppresses a real finding."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack, Validations
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Annotations, Match, Template
from cfnlint.api import lint_file  # type: ignore[import-untyped]

from stacks import nag
from stacks.nag import acknowledge, add_checks
from tests.infrastructure.synth import DEFAULT, ENFORCING, EXISTING, Synthesized, synthesize

pytestmark = pytest.mark.infra

IAM5 = "AwsSolutions::AwsSolutions-IAM5"
OWN = "arn:<AWS::Partition>:iam::<AWS::AccountId>"
ROLES = {
    "reconcile": "Driftline/Detection/ReconcileFunction/Role",
    "event": "Driftline/IamEvents/IamEventFunction/Role",
    "stream": "Driftline/RegistryChanges/RegistryChangeFunction/Role",
}
BASE: set[tuple[str, str]] = {
    ("AwsSolutions::AwsSolutions-SQS3", "Driftline/Detection/ReconcileDeadLetterQueue"),
    ("AwsSolutions::AwsSolutions-SQS3", "Driftline/IamEvents/IamEventDeadLetterQueue"),
    ("AwsSolutions::AwsSolutions-SQS3", "Driftline/RegistryChanges/RegistryChangeDeadLetterQueue"),
    *{(f"{IAM5}[Resource::*]", role) for role in ROLES.values()},
    *{(f"{IAM5}[Resource::{OWN}:{kind}/*]", role) for kind in ("user", "role") for role in ROLES.values()},
    (f"{IAM5}[Resource::{OWN}:group/*]", ROLES["event"]),
    # documents of the managed policies and boundaries a revoked identity holds (own and AWS managed)
    *{(f"{IAM5}[Resource::{OWN}:policy/*]", role) for role in ROLES.values()},
    *{(f"{IAM5}[Resource::arn:<AWS::Partition>:iam::aws:policy/*]", role) for role in ROLES.values()},
    # the registry writer policy (attached to no function): adopt's account-wide IAM reads
    (f"{IAM5}[Resource::*]", "Driftline/RegistryWriterPolicy/Resource"),
}
# Enforce mode adds the enforcement policy's two wildcards; another home Region adds the forwarder's queue.
ENFORCING_EXTRA: set[tuple[str, str]] = {
    *{(f"{IAM5}[Resource::{OWN}:{kind}/*]", "Driftline/Detection/EnforcementPolicy") for kind in ("user", "role")},
    ("AwsSolutions::AwsSolutions-SQS3", "DriftlineIamForwarder/ForwardDeadLetterQueue"),
}
# A central registry's keys (the members' half of the cross-account decrypt, through DynamoDB only).
EXISTING_EXTRA: set[tuple[str, str]] = {
    (f"{IAM5}[Resource::arn:aws:kms:us-east-1:111122223333:key/*]", role) for role in ROLES.values()
}
CONFIGURATIONS = {
    "default": (DEFAULT, BASE),
    "enforcing": (ENFORCING, BASE | ENFORCING_EXTRA),
    "existing": (EXISTING, BASE | EXISTING_EXTRA),
}


def _acknowledgments(synthesized: Synthesized, plugin: str = nag.PLUGIN) -> list[tuple[str, str, Any]]:
    """The acknowledgments of one pack's findings (AwsSolutions here; NIST's are checked in test_nist.py)."""
    found = []
    for stack in synthesized.deployment.stacks:
        for construct in stack.node.find_all():
            for entry in construct.node.metadata:
                if entry.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
                    found += [
                        (rule_id, construct.node.path, reason)
                        for rule_id, reason in entry.data.items()
                        if rule_id.startswith(f"{plugin}::")
                    ]
    return found


def _configuration(request: pytest.FixtureRequest, name: str) -> Synthesized:
    synthesized: Synthesized = request.getfixturevalue({"default": "synthesized"}.get(name, name))
    return synthesized


@pytest.mark.parametrize("name", list(CONFIGURATIONS))
def test_every_stack_passes_aws_solutions_checks(request: pytest.FixtureRequest, name: str) -> None:
    # Given the configuration's stacks, synthesized with AwsSolutions registered (ValidationFailed would have raised)
    synthesized = _configuration(request, name)
    # Then no construct of any stack carries an error annotation either
    for stack in synthesized.deployment.stacks:
        Annotations.from_stack(stack).has_no_error("*", Match.any_value())


@pytest.mark.parametrize("name", list(CONFIGURATIONS))
def test_acknowledgments_are_the_expected_ones_each_with_a_reason(request: pytest.FixtureRequest, name: str) -> None:
    # Given every acknowledgment recorded in the construct trees of the configuration's stacks
    found = _acknowledgments(_configuration(request, name))
    # Then they are exactly the reviewed ones, each naming one finding on the narrowest construct (never a stack)
    assert {(rule_id, path) for rule_id, path, _ in found} == CONFIGURATIONS[name][1]
    assert len(found) == len(CONFIGURATIONS[name][1])
    # And each explains itself in a real sentence
    for rule_id, path, reason in found:
        assert isinstance(reason, str) and len(reason.split()) >= 10, f"{rule_id} on {path} needs a reason"


@pytest.mark.parametrize("name", list(CONFIGURATIONS))
def test_every_acknowledgment_suppresses_a_real_finding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    # Given the same configuration built without any acknowledgment
    monkeypatch.setattr(nag, "acknowledge", lambda *_args, **_kwargs: None)
    # When synthesizing it
    with pytest.raises(Exception, match="ValidationFailed"):
        synthesize(tmp_path, CONFIGURATIONS[name][0])
    report = json.loads((tmp_path / "validation-report.json").read_text())
    violated = {
        (f"{plugin['pluginName']}::{violation['ruleName']}", construct["constructPath"])
        for plugin in report["pluginReports"]
        for violation in plugin["violations"]
        for construct in violation["violatingConstructs"]
    }
    # Then cdk-nag reports exactly the acknowledged findings, on the acknowledged constructs: none is stale, none
    # is missing (a finding sits on the resource under the acknowledged construct)
    expected = CONFIGURATIONS[name][1]
    assert {
        (rule, path) for rule, path in expected if any(v[0] == rule and v[1].startswith(path + "/") for v in violated)
    } == expected
    assert all(any(rule == v[0] and v[1].startswith(path + "/") for rule, path in expected) for v in violated), violated


def test_checks_fail_a_non_compliant_stack(tmp_path: Path) -> None:
    # Given an app with the checks and a queue that has neither a DLQ nor TLS enforcement
    app = App(outdir=str(tmp_path))
    add_checks(app)
    stack = Stack(app, "NonCompliant")
    sqs.Queue(stack, "Queue")
    # When synthesizing it
    # Then synthesis fails with the AwsSolutions findings
    with pytest.raises(Exception, match="ValidationFailed"):
        Template.from_stack(stack)


def test_acknowledging_without_a_reason_is_refused(tmp_path: Path) -> None:
    # Given a construct
    stack = Stack(App(outdir=str(tmp_path)), "Any")
    # When acknowledging a finding with a blank reason
    # Then it is refused
    with pytest.raises(ValueError, match="needs a reason"):
        acknowledge(stack, "AwsSolutions-SQS3", "  ")


@pytest.mark.parametrize("name", list(CONFIGURATIONS))
def test_cfn_lint_reports_no_errors_on_any_template(request: pytest.FixtureRequest, name: str, tmp_path: Path) -> None:
    # Given every template of the configuration written to disk
    synthesized = _configuration(request, name)
    errors = []
    for stack_name, template in synthesized.templates.items():
        path = tmp_path / f"{stack_name}.template.json"
        path.write_text(json.dumps(template.to_json()))
        # When linting it with cfn-lint (its bundled resource specifications; no network), in the stack's Region
        region = next(s.region for s in synthesized.deployment.stacks if s.stack_name == stack_name)
        matches = lint_file(path, config={"regions": [region]})
        # Then there are no errors (warnings such as W3005 on CDK's explicit DependsOn are tolerated)
        errors += [f"{stack_name}: {m.rule.id} {m.message}" for m in matches if m.rule.id.startswith("E")]
    assert errors == []
