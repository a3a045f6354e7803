"""The schedule and its dead-letter queue; the stack's tags."""

from __future__ import annotations

import pytest

from tests.infrastructure.helpers import as_list, only, references
from tests.infrastructure.synth import Synthesized

pytestmark = pytest.mark.infra


def test_rule_runs_the_reconcile_on_the_configured_schedule(synthesized: Synthesized) -> None:
    # Given the function and the dead-letter queue
    function_id, _ = only(synthesized.resources, "AWS::Lambda::Function")
    queue_id, _ = only(synthesized.resources, "AWS::SQS::Queue")
    # When reading the only rule
    _, rule = only(synthesized.resources, "AWS::Events::Rule")
    props = rule["Properties"]
    (target,) = props["Targets"]
    # Then it fires on cdk.json's schedule, targets the function, retries, and dead-letters into the DLQ
    assert props["ScheduleExpression"] == "rate(1 hour)"
    assert props["State"] == "ENABLED"
    assert "EventPattern" not in props
    assert target["Arn"] == {"Fn::GetAtt": [function_id, "Arn"]}
    assert references(target["DeadLetterConfig"]["Arn"], queue_id)
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 4, "MaximumEventAgeInSeconds": 3600}


def test_only_the_rule_may_invoke_the_function(synthesized: Synthesized) -> None:
    # Given the rule
    rule_id, _ = only(synthesized.resources, "AWS::Events::Rule")
    # When reading the function's resource policy
    _, permission = only(synthesized.resources, "AWS::Lambda::Permission")
    props = permission["Properties"]
    # Then EventBridge may invoke it, for this rule only
    assert props["Action"] == "lambda:InvokeFunction"
    assert props["Principal"] == "events.amazonaws.com"
    assert props["SourceArn"] == {"Fn::GetAtt": [rule_id, "Arn"]}


def test_dead_letter_queue_is_encrypted_and_retains_two_weeks(synthesized: Synthesized) -> None:
    # Given the synthesized stack
    # Then the DLQ uses SQS-managed encryption (which EventBridge can write to) and keeps messages 14 days
    synthesized.template.has_resource_properties(
        "AWS::SQS::Queue", {"SqsManagedSseEnabled": True, "MessageRetentionPeriod": 14 * 24 * 3600}
    )


def test_dead_letter_queue_enforces_tls_and_accepts_only_the_rule(synthesized: Synthesized) -> None:
    # Given the rule and the queue's policy
    rule_id, _ = only(synthesized.resources, "AWS::Events::Rule")
    _, policy = only(synthesized.resources, "AWS::SQS::QueuePolicy")
    statements = as_list(policy["Properties"]["PolicyDocument"]["Statement"])
    # When splitting it into denies and allows
    denies = [s for s in statements if s["Effect"] == "Deny"]
    allows = [s for s in statements if s["Effect"] == "Allow"]
    # Then plain-HTTP access is denied to everyone
    assert [s["Condition"] for s in denies] == [{"Bool": {"aws:SecureTransport": "false"}}]
    # And EventBridge may send messages only on behalf of this rule
    (allow,) = allows
    assert allow["Principal"] == {"Service": "events.amazonaws.com"}
    assert allow["Action"] == "sqs:SendMessage"
    assert allow["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [rule_id, "Arn"]}}}


def test_stack_is_tagged_with_the_app(synthesized: Synthesized) -> None:
    # Given the stack
    # Then CloudFormation tags the stack (and so every taggable resource) with app=driftline
    assert synthesized.stack.tags.tag_values() == {"app": "driftline"}
