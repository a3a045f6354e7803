"""The per-account topology rolled out to an organisation: one ``cdk deploy`` in the management account (or a
CloudFormation delegated administrator) puts driftline into every account under ``driftline:deploymentTargets``,
including accounts created or moved there later.

Two service-managed StackSets with automatic deployment: ``Driftline`` (the stack each account would otherwise
deploy, in the home Region, reading the central registry) and, when the home Region is not us-east-1,
``DriftlineIamForwarder`` (the us-east-1 rule that forwards IAM events home). Member accounts need no CDK bootstrap:
the Lambda code is copied (by cdk-stacksets) into one bucket in the home Region that the organisation can read.
"""

from __future__ import annotations

from aws_cdk import CfnOutput, Environment, RemovalPolicy, Stack, Tags
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from cdk_stacksets import StackSetStack
from constructs import Construct

from . import nag
from .config import DriftlineConfig
from .constants import APP_TAGS, IAM_EVENTS_REGION
from .driftline_stack import DriftlineResources
from .forwarder_stack import IamEventForwarder
from .stackset import driftline_stack_set, name_roles

ORGANIZATION_STACK_ID = "DriftlineOrganization"
MEMBER_STACK_SET = "Driftline"
FORWARDER_STACK_SET = "DriftlineIamForwarder"


def asset_bucket_prefix(organization_id: str) -> str:
    """Bucket names are global: the organisation's id makes ours unique; cdk-stacksets appends ``-<Region>``."""
    return f"driftline-assets-{organization_id}"


class MemberTemplate(DriftlineResources, StackSetStack):
    """The template of each member's ``Driftline`` stack instance."""

    def __init__(self, scope: Construct, construct_id: str, *, config: DriftlineConfig, bucket: s3.IBucket) -> None:
        assert config.organization_id is not None  # checked with the topology
        super().__init__(
            scope,
            construct_id,
            asset_buckets=[bucket],
            asset_bucket_prefix=asset_bucket_prefix(config.organization_id),
        )
        self._build(config.member_config())
        _driftline_named(self)


class ForwarderTemplate(IamEventForwarder, StackSetStack):
    """The template of each member's us-east-1 forwarder."""

    def __init__(self, scope: Construct, construct_id: str, *, config: DriftlineConfig, home_region: str) -> None:
        super().__init__(scope, construct_id)
        self._build(config.member_config(), home_region)
        _driftline_named(self)


def _driftline_named(template: StackSetStack) -> None:
    name_roles(template)
    for key, value in APP_TAGS.items():
        Tags.of(template).add(key, value)


class OrganizationStack(Stack):
    """``members`` and ``forwarders`` (StackSets), ``member_template`` and ``forwarder_template``, ``asset_bucket``."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: DriftlineConfig, home_region: str, env: Environment
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            stack_name=construct_id,
            env=env,
            description="driftline: the per-account stacks, rolled out to the organisation by StackSets",
            tags=dict(APP_TAGS),
        )
        assert config.organization_id is not None
        self.asset_bucket = self._asset_bucket(config.organization_id, home_region)
        self.member_template = MemberTemplate(self, "MemberTemplate", config=config, bucket=self.asset_bucket)
        self.members = driftline_stack_set(
            self,
            "Members",
            template=self.member_template,
            name=MEMBER_STACK_SET,
            description="driftline in each member account: IAM drift against the central registry",
            regions=[home_region],
            targets=config.deployment_targets,
            delegated_admin=config.delegated_admin,
        )
        self.forwarder_template: ForwarderTemplate | None = None
        if home_region != IAM_EVENTS_REGION:
            self.forwarder_template = ForwarderTemplate(
                self, "ForwarderTemplate", config=config, home_region=home_region
            )
            self.forwarders = driftline_stack_set(
                self,
                "Forwarders",
                template=self.forwarder_template,
                name=FORWARDER_STACK_SET,
                description=f"driftline: IAM events of each member, from us-east-1 to {home_region}",
                regions=[IAM_EVENTS_REGION],
                targets=config.deployment_targets,
                delegated_admin=config.delegated_admin,
            )
        CfnOutput(self, "AssetBucketName", value=self.asset_bucket.bucket_name, description="driftline code assets")
        self._acknowledge_asset_copy(home_region)

    def _acknowledge_asset_copy(self, home_region: str) -> None:
        """cdk-stacksets copies the Lambda code with aws-s3-deployment's provider (a CDK singleton, deploy time only);
        its role is CDK's: the managed basic execution role and the grants CDK writes for BucketDeployment."""
        bucket = self.get_logical_id(self.asset_bucket.node.default_child)  # type: ignore[arg-type]
        findings = [
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
            *(f"AwsSolutions-IAM5[Action::{a}]" for a in ("s3:GetObject*", "s3:GetBucket*", "s3:List*")),
            *(f"AwsSolutions-IAM5[Action::{a}]" for a in ("s3:DeleteObject*", "s3:Abort*")),
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-"
            f"{home_region}/*]",
            f"AwsSolutions-IAM5[Resource::<{bucket}.Arn>/*]",
            "AwsSolutions-L1",
        ]
        for finding in findings:
            nag.acknowledge(
                self,
                finding,
                "aws-s3-deployment's provider (used by cdk-stacksets to copy driftline's code into the asset bucket "
                "at deploy time): CDK's own role and grants, from the CDK asset bucket to the asset bucket only",
            )

    def _asset_bucket(self, organization_id: str, home_region: str) -> s3.Bucket:
        """One bucket in the home Region, named as cdk-stacksets expects, readable by the organisation's accounts."""
        bucket = s3.Bucket(
            self,
            "AssetBucket",
            bucket_name=f"{asset_bucket_prefix(organization_id)}-{home_region}",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="OrganizationReadsDriftlineCode",
                actions=["s3:GetObject", "s3:GetObjectVersion"],
                resources=[bucket.arn_for_objects("*")],
                principals=[iam.OrganizationPrincipal(organization_id)],
            )
        )
        nag.acknowledge(
            bucket,
            "AwsSolutions-S1",
            "holds copies of driftline's Lambda code only, written at deploy time; object reads by the members' "
            "StackSet deployments are in their CloudTrail",
        )
        return bucket
