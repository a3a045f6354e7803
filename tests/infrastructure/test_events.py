"""IAM events: the CloudTrail pattern, its placement (us-east-1 directly, or a us-east-1 forwarder to the home bus),
the function target's retries and dead-letter queue, and the optional CloudTrail trail."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match

from driftline.triggers.cloudtrail import ENFORCING_EVENT_NAMES, EVENT_RULES
from tests.infrastructure.helpers import as_list, join, of_type, only, references
from tests.infrastructure.synth import Synthesized

pytestmark = pytest.mark.infra

PATTERN = {
    "source": ["aws.iam"],
    "detail-type": ["AWS API Call via CloudTrail"],
    "detail": {
        "eventSource": ["iam.amazonaws.com"],
        "$or": [
            {"eventName": sorted(EVENT_RULES), "errorCode": [{"exists": False}]},
            {"eventName": sorted(ENFORCING_EVENT_NAMES), "errorCode": [{"exists": True}]},
        ],
    },
}


def _matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    """EventBridge's matching for the operators the pattern uses: a list of values (any of them), ``exists``, nested
    objects, and ``$or`` over alternative sub-patterns (Amazon EventBridge User Guide, content filtering)."""
    for key, wanted in pattern.items():
        if key == "$or":
            if not any(_matches(alternative, event) for alternative in wanted):
                return False
        elif isinstance(wanted, dict):
            if not isinstance(event.get(key), dict) or not _matches(wanted, event[key]):
                return False
        elif wanted and isinstance(wanted[0], dict) and "exists" in wanted[0]:
            if (key in event) is not wanted[0]["exists"]:
                return False
        elif event.get(key) not in wanted:
            return False
    return True


def _iam_event(name: str, error: str | None = None) -> dict[str, Any]:
    detail: dict[str, Any] = {"eventSource": "iam.amazonaws.com", "eventName": name}
    if error:
        detail["errorCode"] = error
    return {"source": "aws.iam", "detail-type": "AWS API Call via CloudTrail", "detail": detail}


@pytest.mark.parametrize(
    ("name", "error", "delivered"),
    [
        ("UpdateAccessKey", None, True),
        ("CreateUser", None, True),
        ("SetDefaultPolicyVersion", None, True),
        ("UpdateAccessKey", "AccessDenied", True),  # a refused enforcing call: kept as an attempt
        ("AttachRolePolicy", "AccessDenied", True),
        ("CreateUser", "AccessDenied", False),  # a refused call that would have enforced nothing
        ("TagUser", "EntityAlreadyExists", False),
        ("UpdateUser", None, True),  # issue 17's rows: a rename, a role's session duration, a service-linked role
        ("UpdateRole", None, True),
        ("CreateServiceLinkedRole", None, True),
        ("UpdateRole", "AccessDenied", False),
        ("DeleteSigningCertificate", "AccessDenied", True),
        ("ListUsers", None, False),
        ("GetUser", None, False),
    ],
)
def test_the_pattern_delivers_handled_calls_and_refused_enforcing_calls_only(
    name: str, error: str | None, delivered: bool
) -> None:
    assert _matches(PATTERN, _iam_event(name, error)) is delivered


def _iam_rule(synthesized: Synthesized) -> dict[str, Any]:
    rule: dict[str, Any] = synthesized.resources[synthesized.logical_id(synthesized.stack.iam_events.rule)]
    return rule


def test_pattern_matches_successful_calls_of_every_handled_iam_event(synthesized: Synthesized) -> None:
    # Given the IAM event rule
    props = _iam_rule(synthesized)["Properties"]
    # Then it matches CloudTrail's IAM API calls of exactly the event names the handler knows, without errorCode
    assert props["EventPattern"] == PATTERN
    assert props["State"] == "ENABLED"
    assert "EventBusName" not in props  # the default bus, where AWS service events arrive


# EventBridge's quota "Event pattern size": 2,048 characters by default (adjustable to 4,096 on request).
EVENT_PATTERN_MAX = 2048


def test_pattern_fits_eventbridges_default_pattern_size(synthesized: Synthesized) -> None:
    # Given the IAM rule's pattern as synthesized (every handled event name, then the enforcing ones)
    pattern = _iam_rule(synthesized)["Properties"]["EventPattern"]
    # Then its JSON text, even with spaces after separators, stays within the default quota: a row added to the
    # event table cannot make the deployment fail on a pattern EventBridge refuses
    assert len(json.dumps(pattern)) <= EVENT_PATTERN_MAX, len(json.dumps(pattern))


def test_pattern_names_only_write_calls(synthesized: Synthesized) -> None:
    # Given the event names of the pattern
    alternatives = _iam_rule(synthesized)["Properties"]["EventPattern"]["detail"]["$or"]
    names = [n for alternative in alternatives for n in alternative["eventName"]]
    # Then they are writes: a plain ENABLED rule never receives read-only calls (Get*/List*), so none may be listed
    assert names and not [n for n in names if n.startswith(("Get", "List", "Describe"))]


def test_default_home_region_receives_iam_events_directly_in_us_east_1(synthesized: Synthesized) -> None:
    # Given cdk.json's defaults (no home Region, no CDK_DEFAULT_REGION)
    # Then the only stack is in us-east-1, where IAM's CloudTrail events arrive, and there is no forwarder
    assert synthesized.stack.region == "us-east-1"
    assert synthesized.deployment.forwarder is None
    assert [s.stack_name for s in synthesized.deployment.stacks] == ["Driftline"]


def test_rule_targets_the_event_function_with_retries_and_a_dead_letter_queue(synthesized: Synthesized) -> None:
    # Given the rule, the IAM event function and its dead-letter queue
    events = synthesized.stack.iam_events
    function_id = synthesized.logical_id(events.handler.function)
    queue_id = synthesized.logical_id(events.dead_letter_queue)
    (target,) = _iam_rule(synthesized)["Properties"]["Targets"]
    # Then EventBridge retries delivery to the function for a while, then dead-letters the event
    assert target["Arn"] == {"Fn::GetAtt": [function_id, "Arn"]}
    assert references(target["DeadLetterConfig"]["Arn"], queue_id)
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 8, "MaximumEventAgeInSeconds": 6 * 3600}


def test_only_the_iam_rule_may_invoke_the_event_function(synthesized: Synthesized) -> None:
    # Given the IAM event function
    events = synthesized.stack.iam_events
    function_id = synthesized.logical_id(events.handler.function)
    rule_id = synthesized.logical_id(events.rule)
    # When reading its resource policy
    permissions = [
        p["Properties"]
        for p in of_type(synthesized.resources, "AWS::Lambda::Permission").values()
        if references(p["Properties"]["FunctionName"], function_id)
    ]
    # Then EventBridge may invoke it for this rule only
    assert [(p["Principal"], p["SourceArn"]) for p in permissions] == [
        ("events.amazonaws.com", {"Fn::GetAtt": [rule_id, "Arn"]})
    ]


def test_another_home_region_gets_a_forwarder_in_us_east_1(enforcing: Synthesized) -> None:
    # Given home Region eu-west-1
    forwarder = enforcing.deployment.forwarder
    # Then the main stack is in eu-west-1 and a second stack sits in us-east-1, deployed after the main one
    assert enforcing.stack.region == "eu-west-1"
    assert forwarder is not None
    assert (forwarder.stack_name, forwarder.region) == ("DriftlineIamForwarder", "us-east-1")
    assert enforcing.stack in forwarder.dependencies


def test_forwarder_sends_the_same_pattern_to_the_home_default_bus(enforcing: Synthesized) -> None:
    # Given the forwarder's only rule
    forwarder = enforcing.deployment.forwarder
    assert forwarder is not None
    resources = enforcing.resources_of(forwarder)
    _, rule = only(resources, "AWS::Events::Rule")
    (target,) = rule["Properties"]["Targets"]
    # Then it matches the IAM pattern and targets eu-west-1's default bus in the same account
    assert rule["Properties"]["EventPattern"] == PATTERN
    assert join(target["Arn"]) == "arn:${AWS::Partition}:events:eu-west-1:${AWS::AccountId}:event-bus/default"
    # Through a role EventBridge assumes, allowed to put events on that bus only
    role_id = target["RoleArn"]["Fn::GetAtt"][0]
    trust = resources[role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "events.amazonaws.com"}]
    (policy,) = [
        p for p in of_type(resources, "AWS::IAM::Policy").values() if {"Ref": role_id} in p["Properties"]["Roles"]
    ]
    (statement,) = as_list(policy["Properties"]["PolicyDocument"]["Statement"])
    assert (statement["Effect"], statement["Action"]) == ("Allow", "events:PutEvents")
    assert statement["Resource"] == target["Arn"]
    # And events it cannot deliver go to its own dead-letter queue, watched by an alarm
    queue_id, _ = only(resources, "AWS::SQS::Queue")
    assert references(target["DeadLetterConfig"]["Arn"], queue_id)
    expected_alarm = {"Namespace": "AWS/SQS", "MetricName": "ApproximateNumberOfMessagesVisible", "Threshold": 1}
    _, alarm = only(resources, "AWS::CloudWatch::Alarm")
    assert {k: alarm["Properties"][k] for k in expected_alarm} == expected_alarm
    assert references(alarm["Properties"]["Dimensions"], queue_id)


def test_home_region_rule_has_the_same_pattern_and_targets_the_function(enforcing: Synthesized) -> None:
    # Given the eu-west-1 stack
    props = _iam_rule(enforcing)["Properties"]
    # Then its rule on the home default bus matches the forwarded events (they keep source aws.iam)
    assert props["EventPattern"] == PATTERN
    (target,) = props["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [enforcing.logical_id(enforcing.stack.iam_events.handler.function), "Arn"]}


def test_no_trail_by_default(synthesized: Synthesized) -> None:
    # Given cdk.json's defaults (driftline:createTrail false: most accounts have a trail already)
    # Then the stack creates no trail and no bucket
    assert of_type(synthesized.resources, "AWS::CloudTrail::Trail") == {}
    assert of_type(synthesized.resources, "AWS::S3::Bucket") == {}


def test_trail_is_multi_region_with_validated_management_events(enforcing: Synthesized) -> None:
    # Given driftline:createTrail=true
    trail = enforcing.stack.trail
    assert trail is not None
    props = enforcing.resources[enforcing.logical_id(trail.trail)]["Properties"]
    # Then the trail covers every Region (so us-east-1's IAM events), includes global service events, logs (write)
    # management events, validates log files and writes to its bucket
    assert props["IsMultiRegionTrail"] is True
    assert props["IncludeGlobalServiceEvents"] is True
    assert props["EnableLogFileValidation"] is True
    assert props["IsLogging"] is True
    assert props["EventSelectors"] == [{"IncludeManagementEvents": True, "ReadWriteType": "WriteOnly"}]
    assert props["S3BucketName"] == {"Ref": enforcing.logical_id(trail.bucket)}


def test_trail_bucket_is_encrypted_private_tls_only_and_retained(enforcing: Synthesized) -> None:
    # Given the trail bucket
    trail = enforcing.stack.trail
    assert trail is not None
    bucket_id = enforcing.logical_id(trail.bucket)
    bucket = enforcing.resources[bucket_id]
    props = bucket["Properties"]
    # Then it is encrypted, versioned, blocks public access, logs access to a second bucket, and is retained
    assert props["BucketEncryption"] == {
        "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
    }
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert references(props["LoggingConfiguration"], enforcing.logical_id(trail.access_logs))
    assert (bucket["DeletionPolicy"], bucket["UpdateReplacePolicy"]) == ("Retain", "Retain")
    # And its policy denies plain HTTP and lets CloudTrail write
    (policy,) = [
        p
        for p in of_type(enforcing.resources, "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": bucket_id}
    ]
    statements = as_list(policy["Properties"]["PolicyDocument"]["Statement"])
    assert any(
        s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}} for s in statements
    )
    assert any(s.get("Principal") == {"Service": "cloudtrail.amazonaws.com"} for s in statements)


def test_both_trail_buckets_have_the_same_protections(enforcing: Synthesized) -> None:
    # Given every bucket of the stack (trail bucket and its access log bucket)
    # Then each is encrypted, versioned and retained
    enforcing.template.all_resources(
        "AWS::S3::Bucket",
        {
            "Properties": Match.object_like(
                {"BucketEncryption": Match.any_value(), "VersioningConfiguration": {"Status": "Enabled"}}
            ),
            "DeletionPolicy": "Retain",
        },
    )
