"""The reconcile schedule and its dead-letter queue; the stacks' tags."""

from __future__ import annotations

import pytest

from tests.infrastructure.helpers import as_list, of_type, references
from tests.infrastructure.synth import Synthesized

pytestmark = pytest.mark.infra


def _ids(synthesized: Synthesized) -> tuple[str, str, str]:
    detection = synthesized.stack.detection
    return (
        synthesized.logical_id(detection.schedule),
        synthesized.logical_id(detection.reconcile.function),
        synthesized.logical_id(detection.dead_letter_queue),
    )


def test_rule_runs_the_reconcile_on_the_configured_schedule(synthesized: Synthesized) -> None:
    # Given the schedule rule, the reconcile function and its dead-letter queue
    rule_id, function_id, queue_id = _ids(synthesized)
    props = synthesized.resources[rule_id]["Properties"]
    (target,) = props["Targets"]
    # Then it fires on cdk.json's schedule, targets the function, retries, and dead-letters into the DLQ
    assert props["ScheduleExpression"] == "rate(1 hour)"
    assert props["State"] == "ENABLED"
    assert "EventPattern" not in props
    assert target["Arn"] == {"Fn::GetAtt": [function_id, "Arn"]}
    assert references(target["DeadLetterConfig"]["Arn"], queue_id)
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 4, "MaximumEventAgeInSeconds": 3600}


def test_only_the_rule_may_invoke_the_reconcile(synthesized: Synthesized) -> None:
    # Given the schedule rule and the reconcile function
    rule_id, function_id, _ = _ids(synthesized)
    # When reading the function's resource policy
    permissions = [
        p["Properties"]
        for p in of_type(synthesized.resources, "AWS::Lambda::Permission").values()
        if references(p["Properties"]["FunctionName"], function_id)
    ]
    # Then EventBridge may invoke it, for this rule only
    assert [(p["Action"], p["Principal"], p["SourceArn"]) for p in permissions] == [
        ("lambda:InvokeFunction", "events.amazonaws.com", {"Fn::GetAtt": [rule_id, "Arn"]})
    ]


def test_dead_letter_queues_are_encrypted_and_retain_two_weeks(every: Synthesized) -> None:
    # Given every queue of every stack (all of them dead-letter queues)
    queues = [
        q for stack in every.deployment.stacks for q in of_type(every.resources_of(stack), "AWS::SQS::Queue").values()
    ]
    # Then each uses SQS-managed encryption (which EventBridge and Lambda can write to) and keeps messages 14 days
    assert queues
    for queue in queues:
        assert queue["Properties"]["SqsManagedSseEnabled"] is True
        assert queue["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600


def test_every_queue_enforces_tls(every: Synthesized) -> None:
    # Given every queue and the queue policies of every stack
    for stack in every.deployment.stacks:
        resources = every.resources_of(stack)
        for queue_id in of_type(resources, "AWS::SQS::Queue"):
            (policy,) = [
                p
                for p in of_type(resources, "AWS::SQS::QueuePolicy").values()
                if {"Ref": queue_id} in p["Properties"]["Queues"]
            ]
            statements = as_list(policy["Properties"]["PolicyDocument"]["Statement"])
            # Then plain-HTTP access is denied to everyone
            denies = [s for s in statements if s["Effect"] == "Deny"]
            assert [s["Condition"] for s in denies] == [{"Bool": {"aws:SecureTransport": "false"}}], queue_id


def test_reconcile_dead_letter_queue_accepts_only_the_schedule(synthesized: Synthesized) -> None:
    # Given the schedule rule and the reconcile DLQ's policy
    rule_id, _, queue_id = _ids(synthesized)
    (policy,) = [
        p
        for p in of_type(synthesized.resources, "AWS::SQS::QueuePolicy").values()
        if {"Ref": queue_id} in p["Properties"]["Queues"]
    ]
    allows = [s for s in as_list(policy["Properties"]["PolicyDocument"]["Statement"]) if s["Effect"] == "Allow"]
    # Then EventBridge may send messages only on behalf of this rule
    (allow,) = allows
    assert allow["Principal"] == {"Service": "events.amazonaws.com"}
    assert allow["Action"] == "sqs:SendMessage"
    assert allow["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [rule_id, "Arn"]}}}


def test_stacks_are_tagged_with_the_app(enforcing: Synthesized) -> None:
    # Given both stacks
    # Then CloudFormation tags each stack (and so every taggable resource) with app=driftline
    assert [stack.tags.tag_values() for stack in enforcing.deployment.stacks] == [{"app": "driftline"}] * 2
