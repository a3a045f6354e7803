"""An optional CloudTrail trail (``driftline:createTrail``) for accounts that have none: EventBridge receives IAM's
"AWS API Call via CloudTrail" events only while a trail logs management events (AWS-FACTS section 1).

Multi-Region (so it covers us-east-1, where IAM's events are recorded), global service events included, write
management events (all driftline needs), log file validation on. Logs go to a versioned, encrypted, TLS-only,
private bucket that is retained when the stack is deleted; S3 server access logs of that bucket go to a second one.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_cloudtrail as cloudtrail
from aws_cdk import aws_s3 as s3
from constructs import Construct


def _private_bucket(scope: Construct, construct_id: str, **overrides: object) -> s3.Bucket:
    return s3.Bucket(
        scope,
        construct_id,
        encryption=s3.BucketEncryption.S3_MANAGED,
        enforce_ssl=True,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        versioned=True,
        removal_policy=RemovalPolicy.RETAIN,
        **overrides,  # type: ignore[arg-type]
    )


class AuditTrail(Construct):
    """``trail`` and its ``bucket`` (plus ``access_logs``, the bucket's server access log bucket)."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        # Receives the trail bucket's server access logs (cdk-nag's S1 exempts a bucket that is a log target).
        self.access_logs = _private_bucket(self, "AccessLogsBucket")
        self.bucket = _private_bucket(
            self, "Bucket", server_access_logs_bucket=self.access_logs, server_access_logs_prefix="trail-bucket/"
        )
        self.trail = cloudtrail.Trail(
            self,
            "Trail",
            bucket=self.bucket,
            is_multi_region_trail=True,
            include_global_service_events=True,
            management_events=cloudtrail.ReadWriteType.WRITE_ONLY,
            enable_file_validation=True,
        )
