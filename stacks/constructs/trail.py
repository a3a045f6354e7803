"""An optional CloudTrail trail (``driftline:createTrail``) for accounts that have none: EventBridge receives IAM's
"AWS API Call via CloudTrail" events only while a trail logs management events (AWS-FACTS section 1).

Multi-Region (so it covers us-east-1, where IAM's events are recorded), global service events included, write
management events (all driftline needs), log file validation on. CloudTrail encrypts the log files with a customer
managed KMS key (rotated yearly, retained with the logs). Logs go to a versioned, TLS-only, private bucket that is
retained when the stack is deleted; S3 server access logs of that bucket go to a second one.

Whom the key and the bucket admit: the CloudTrail service principal, and only on behalf of this trail in this account
(``aws:SourceArn`` is the trail's ARN, ``aws:SourceAccount`` the account), the conditions AWS's CloudTrail guide
gives for bucket and key policies ("Amazon S3 bucket policy for CloudTrail"; "Configure AWS KMS key policies for
CloudTrail"). The trail's ARN is built from its name, which the template sets (``<stack name>-trail``): a reference
to the trail itself would make the key and the trail depend on each other. The trail is a CloudFormation resource
(``CfnTrail``) because the CDK ``Trail`` writes its own bucket statements, without those conditions.

cdk-nag's NIST 800-53 rev 5 pack (run by tests/infrastructure/test_nist.py) still reports three rules that
driftline declines on purpose (CloudWatch Logs delivery, replication, KMS default encryption of the buckets); each
is acknowledged below with its reason.
"""

from __future__ import annotations

from aws_cdk import Aws, Fn, RemovalPolicy, Stack
from aws_cdk import aws_cloudtrail as cloudtrail
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from .. import nag

CLOUDTRAIL = "cloudtrail.amazonaws.com"
TRAIL_NAME_SUFFIX = "-trail"


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
    """``trail`` (whose default child ``cfn_trail`` is the trail resource, at the path the CDK ``Trail`` used), its
    ``bucket``, its ``key`` and ``access_logs`` (the bucket's server access log bucket); ``trail_name`` and
    ``trail_arn`` are what the policies' ``aws:SourceArn`` conditions name."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.trail_name = Fn.join("", [Aws.STACK_NAME, TRAIL_NAME_SUFFIX])
        self.trail_arn = stack.format_arn(service="cloudtrail", resource="trail", resource_name=self.trail_name)
        this_trail = {"aws:SourceArn": self.trail_arn, "aws:SourceAccount": Aws.ACCOUNT_ID}

        # Receives the trail bucket's server access logs (cdk-nag's S1 exempts a bucket that is a log target).
        self.access_logs = _private_bucket(self, "AccessLogsBucket")
        self.bucket = _private_bucket(
            self, "Bucket", server_access_logs_bucket=self.access_logs, server_access_logs_prefix="trail-bucket/"
        )
        self.key = kms.Key(
            self,
            "Key",
            description="driftline: encrypts the log files of the driftline CloudTrail trail",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,  # the retained logs stay readable after the stack is deleted
        )
        cloudtrail_principal = iam.ServicePrincipal(CLOUDTRAIL)
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudTrailEncryptsThisTrailsLogFiles",
                principals=[cloudtrail_principal],
                actions=["kms:GenerateDataKey*"],
                resources=["*"],
                conditions={
                    "StringEquals": this_trail,
                    # CloudTrail's encryption context names the trail; only this account's trails.
                    "StringLike": {
                        "kms:EncryptionContext:aws:cloudtrail:arn": stack.format_arn(
                            service="cloudtrail", region="*", resource="trail", resource_name="*"
                        )
                    },
                },
            )
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudTrailDescribesTheKey",
                principals=[cloudtrail_principal],
                actions=["kms:DescribeKey"],
                resources=["*"],
                conditions={"StringEquals": this_trail},
            )
        )
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudTrailChecksTheBucketAcl",
                principals=[cloudtrail_principal],
                actions=["s3:GetBucketAcl"],
                resources=[self.bucket.bucket_arn],
                conditions={"StringEquals": this_trail},
            )
        )
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudTrailWritesThisTrailsLogFiles",
                principals=[cloudtrail_principal],
                actions=["s3:PutObject"],
                resources=[self.bucket.arn_for_objects(f"AWSLogs/{Aws.ACCOUNT_ID}/*")],
                conditions={"StringEquals": {**this_trail, "s3:x-amz-acl": "bucket-owner-full-control"}},
            )
        )
        self.trail = Construct(self, "Trail")
        self.cfn_trail = cloudtrail.CfnTrail(
            self.trail,
            "Resource",
            trail_name=self.trail_name,
            is_logging=True,
            s3_bucket_name=self.bucket.bucket_name,
            kms_key_id=self.key.key_arn,
            is_multi_region_trail=True,
            include_global_service_events=True,
            enable_log_file_validation=True,
            event_selectors=[
                cloudtrail.CfnTrail.EventSelectorProperty(include_management_events=True, read_write_type="WriteOnly")
            ],
        )
        # CloudTrail checks at creation that it may write to the bucket: the bucket policy must exist first.
        policy = self.bucket.policy
        assert policy is not None  # enforce_ssl and the statements above created it
        self.cfn_trail.node.add_dependency(policy)
        self._acknowledge_nist()

    def _acknowledge_nist(self) -> None:
        """The NIST 800-53 rev 5 findings that do not apply to a trail kept only so EventBridge gets IAM's events."""
        nag.acknowledge(
            self.trail,
            "NIST.800.53.R5-CloudTrailCloudWatchLogsEnabled",
            "The trail exists so that EventBridge receives IAM's management events, which it does without CloudWatch "
            "Logs; the KMS-encrypted, validated S3 copy is the record, and CloudWatch Logs delivery would bill "
            "ingestion for every management event of every Region.",
        )
        for bucket in (self.bucket, self.access_logs):
            nag.acknowledge(
                bucket,
                "NIST.800.53.R5-S3BucketReplicationEnabled",
                "Replication needs a second bucket in a Region and account each organisation chooses, and a "
                "replication role; these logs are versioned and retained, and organisations that keep a second copy "
                "usually do so with an organisation trail in a log archive account.",
            )
        nag.acknowledge(
            self.bucket,
            "NIST.800.53.R5-S3DefaultEncryptionKMS",
            "CloudTrail encrypts every log file it writes with the trail's customer managed key (the trail's "
            "KMSKeyId); the bucket default only covers objects written without an encryption header, and a KMS "
            "default would have to admit CloudTrail to the key without the trail's encryption-context condition.",
        )
        nag.acknowledge(
            self.access_logs,
            "NIST.800.53.R5-S3DefaultEncryptionKMS",
            "This bucket holds S3 server access logs of the trail bucket (request metadata, not log content); a key "
            "for S3's log delivery could be conditioned on the account only, since naming the trail bucket in the "
            "key policy would make the key and both buckets depend on each other.",
        )
