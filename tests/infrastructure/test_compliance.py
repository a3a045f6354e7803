"""cdk-nag (AwsSolutions) and cfn-lint over the synthesized stack; every acknowledgment is justified and needed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack, Validations
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Annotations, Match, Template
from cfnlint.api import lint_file  # type: ignore[import-untyped]

import stacks.constructs.detection as detection
from stacks.nag import acknowledge, add_checks
from tests.infrastructure.synth import Synthesized, synthesize

pytestmark = pytest.mark.infra

ACKNOWLEDGED = {
    "AwsSolutions::AwsSolutions-SQS3": "Driftline/Detection/ReconcileDeadLetterQueue",
    "AwsSolutions::AwsSolutions-IAM5[Resource::*]": "Driftline/Detection/ReconcileFunction/Role",
    **{
        f"AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:{kind}/*]": (
            "Driftline/Detection/ReconcileFunction/Role"
        )
        for kind in ("user", "role", "group")
    },
}


def _acknowledgments(synthesized: Synthesized) -> dict[str, tuple[str, Any]]:
    found: dict[str, tuple[str, Any]] = {}
    for construct in synthesized.stack.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
                for rule_id, reason in entry.data.items():
                    found[rule_id] = (construct.node.path, reason)
    return found


def test_stack_passes_aws_solutions_checks(synthesized: Synthesized) -> None:
    # Given the stack, synthesized with AwsSolutions registered (the fixture would have raised ValidationFailed)
    # Then no construct carries an error annotation either
    Annotations.from_stack(synthesized.stack).has_no_error("*", Match.any_value())


def test_acknowledgments_are_the_expected_ones_each_with_a_reason(synthesized: Synthesized) -> None:
    # Given every acknowledgment recorded in the construct tree
    found = _acknowledgments(synthesized)
    # Then they are exactly the reviewed ones, each on the narrowest construct (never the whole stack)
    assert {rule_id: path for rule_id, (path, _) in found.items()} == ACKNOWLEDGED
    # And each explains itself in a real sentence
    for rule_id, (_, reason) in found.items():
        assert isinstance(reason, str) and len(reason.split()) >= 10, f"{rule_id} needs a reason"


def test_every_acknowledgment_suppresses_a_real_finding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the same stack built without any acknowledgment
    monkeypatch.setattr(detection, "acknowledge", lambda *_args, **_kwargs: None)
    # When synthesizing it
    with pytest.raises(Exception, match="ValidationFailed"):
        synthesize(tmp_path)
    report = json.loads((tmp_path / "validation-report.json").read_text())
    violated = {
        f"{plugin['pluginName']}::{violation['ruleName']}"
        for plugin in report["pluginReports"]
        for violation in plugin["violations"]
    }
    # Then cdk-nag reports exactly the acknowledged findings: none is stale, none is missing
    assert violated == set(ACKNOWLEDGED)


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


def test_cfn_lint_reports_no_errors(synthesized: Synthesized, tmp_path: Path) -> None:
    # Given the synthesized template written to disk
    path = tmp_path / "Driftline.template.json"
    path.write_text(json.dumps(synthesized.template.to_json()))
    # When linting it with cfn-lint (its bundled resource specifications; no network)
    matches = lint_file(path)
    # Then there are no errors (warnings such as W3005 on CDK's explicit DependsOn are tolerated)
    errors = [f"{m.rule.id} {m.message}" for m in matches if m.rule.id.startswith("E")]
    assert errors == []
