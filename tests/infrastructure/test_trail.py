"""The optional trail (``driftline:createTrail``): its log files are encrypted with a customer managed, rotated,
retained KMS key; log file validation is on; and the key and the bucket admit CloudTrail only on behalf of this trail
in this account (``aws:SourceArn`` and ``aws:SourceAccount`` on every statement that names CloudTrail).

tests/infrastructure/test_events.py covers what the trail logs (multi-Region, write management events) and the
buckets' common protections; test_nist.py runs NIST 800-53 rev 5 over it.
"""

from __future__ import annotations

from typing import Any

import pytest

from stacks.constructs.trail import AuditTrail
from tests.infrastructure.helpers import as_list, of_type
from tests.infrastructure.synth import Synthesized

pytestmark = pytest.mark.infra

CLOUDTRAIL = {"Service": "cloudtrail.amazonaws.com"}
# The trail's ARN as the template spells it: built from the trail's name (the stack's name and "-trail"), in the
# home Region (eu-west-1 for the enforcing deployment) and this account.
TRAIL_NAME = {"Fn::Join": ["", [{"Ref": "AWS::StackName"}, "-trail"]]}
TRAIL_ARN = {
    "Fn::Join": [
        "",
        ["arn:aws:cloudtrail:eu-west-1:", {"Ref": "AWS::AccountId"}, ":trail/", {"Ref": "AWS::StackName"}, "-trail"],
    ]
}
THIS_TRAIL = {"aws:SourceArn": TRAIL_ARN, "aws:SourceAccount": {"Ref": "AWS::AccountId"}}


@pytest.fixture(scope="module")
def trail(enforcing: Synthesized) -> AuditTrail:
    # The enforcing deployment sets driftline:createTrail=true (tests/infrastructure/synth.py)
    assert enforcing.stack.trail is not None
    return enforcing.stack.trail


def _resource(enforcing: Synthesized, construct: Any) -> dict[str, Any]:
    found: dict[str, Any] = enforcing.resources[enforcing.logical_id(construct)]
    return found


def _cloudtrail_statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in as_list(document["Statement"]) if s.get("Principal") == CLOUDTRAIL]


def test_the_trail_encrypts_with_its_own_key_and_validates_log_files(enforcing: Synthesized, trail: AuditTrail) -> None:
    # Given the trail resource
    props = _resource(enforcing, trail.trail)["Properties"]
    # Then CloudTrail encrypts its log files with the trail's key, signs digests, and carries the name that the
    # policies' aws:SourceArn conditions spell out
    assert props["KMSKeyId"] == {"Fn::GetAtt": [enforcing.logical_id(trail.key), "Arn"]}
    assert props["EnableLogFileValidation"] is True
    assert props["TrailName"] == TRAIL_NAME


def test_the_key_is_rotated_and_outlives_the_stack(enforcing: Synthesized, trail: AuditTrail) -> None:
    # Given the trail's key
    key = _resource(enforcing, trail.key)
    # Then it rotates yearly and is retained with the logs it protects (deleting it would make them unreadable)
    assert key["Type"] == "AWS::KMS::Key"
    assert key["Properties"]["EnableKeyRotation"] is True
    assert (key["DeletionPolicy"], key["UpdateReplacePolicy"]) == ("Retain", "Retain")


def test_the_key_admits_cloudtrail_only_for_this_trail_in_this_account(
    enforcing: Synthesized, trail: AuditTrail
) -> None:
    # Given the key policy's statements for the CloudTrail service principal
    statements = _cloudtrail_statements(_resource(enforcing, trail.key)["Properties"]["KeyPolicy"])
    by_action = {s["Action"]: s for s in statements}
    # Then CloudTrail may only generate data keys (to encrypt) and describe the key: never decrypt
    assert sorted(by_action) == ["kms:DescribeKey", "kms:GenerateDataKey*"]
    assert all(s["Effect"] == "Allow" for s in statements)
    # And both only on behalf of this trail, in this account
    for statement in statements:
        assert statement["Condition"]["StringEquals"] == THIS_TRAIL
    # And the data keys only with CloudTrail's encryption context naming one of this account's trails
    assert by_action["kms:GenerateDataKey*"]["Condition"]["StringLike"] == {
        "kms:EncryptionContext:aws:cloudtrail:arn": {
            "Fn::Join": ["", ["arn:aws:cloudtrail:*:", {"Ref": "AWS::AccountId"}, ":trail/*"]]
        }
    }


def test_the_bucket_admits_cloudtrail_only_for_this_trail_in_this_account(
    enforcing: Synthesized, trail: AuditTrail
) -> None:
    # Given the trail bucket's policy
    bucket_id = enforcing.logical_id(trail.bucket)
    (policy,) = [
        p
        for p in of_type(enforcing.resources, "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": bucket_id}
    ]
    statements = _cloudtrail_statements(policy["Properties"]["PolicyDocument"])
    by_action = {s["Action"]: s for s in statements}
    # Then CloudTrail may read the ACL and write log files under AWSLogs/<account>/ only
    assert sorted(by_action) == ["s3:GetBucketAcl", "s3:PutObject"]
    assert by_action["s3:GetBucketAcl"]["Resource"] == {"Fn::GetAtt": [bucket_id, "Arn"]}
    assert by_action["s3:PutObject"]["Resource"] == {
        "Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, "/AWSLogs/", {"Ref": "AWS::AccountId"}, "/*"]]
    }
    # And each only on behalf of this trail, in this account (the object writes with the bucket owner in control)
    assert by_action["s3:GetBucketAcl"]["Condition"] == {"StringEquals": THIS_TRAIL}
    assert by_action["s3:PutObject"]["Condition"] == {
        "StringEquals": {**THIS_TRAIL, "s3:x-amz-acl": "bucket-owner-full-control"}
    }


def test_the_trail_is_created_after_the_bucket_policy(enforcing: Synthesized, trail: AuditTrail) -> None:
    # Given the trail resource: CloudTrail refuses to create a trail it may not yet write to
    trail_resource = _resource(enforcing, trail.trail)
    policy = trail.bucket.policy
    assert policy is not None
    # Then CloudFormation creates the bucket policy first
    assert enforcing.logical_id(policy) in as_list(trail_resource.get("DependsOn", []))


def test_no_trail_key_without_the_trail(synthesized: Synthesized) -> None:
    # Given cdk.json's defaults (no trail)
    # Then the stack has no KMS key for one (a customer managed key costs a monthly fee)
    keys = of_type(synthesized.resources, "AWS::KMS::Key")
    assert not any("cloudtrail" in str(k["Properties"].get("Description", "")).lower() for k in keys.values())
