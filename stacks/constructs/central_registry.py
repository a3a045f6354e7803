"""A registry the organisation's accounts can read: each member's driftline roles read their own partition only.

DynamoDB's resource policies do not let other accounts read a table encrypted with the AWS managed key
(``aws/dynamodb``; AWS-FACTS), so the central table gets its own customer managed key. Three policies, each the
narrowest that works:

- the **key policy** lets driftline's roles in the organisation decrypt (and describe the key) only through DynamoDB
  in this Region: they can read the table, never use the key for anything else, and never encrypt;
- the **table policy** allows the registry read actions to driftline's roles in the organisation, only on the items
  whose partition key is the caller's own account id (``dynamodb:LeadingKeys`` = ``${aws:PrincipalAccount}``):
  account A cannot read account B's identity names. No write action: operators change the registry;
- the **stream policy** lets the members' registry-change functions read the stream (a stream policy cannot limit by
  partition; the handler ignores other accounts' records, and the records hold names and statuses, never secrets).
"""

from __future__ import annotations

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from ..constants import REGISTRY_READ_ACTIONS, REGISTRY_STREAM_READ_ACTIONS

# driftline's function roles in every member: CloudFormation names them "<stack name>-<logical id>-<suffix>", and
# the stack names start with "Driftline" (stacks/constants.py STACK_ID).
MEMBER_ROLES = "arn:{partition}:iam::*:role/Driftline*"
OWN_PARTITION = "${aws:PrincipalAccount}"  # an IAM policy variable: the calling principal's account id
KEY_ACTIONS = ("kms:Decrypt", "kms:DescribeKey")


def _members(organization_id: str) -> dict[str, dict[str, str]]:
    return {
        "StringEquals": {"aws:PrincipalOrgID": organization_id},
        "ArnLike": {"aws:PrincipalArn": MEMBER_ROLES.format(partition=Aws.PARTITION)},
    }


def registry_key(scope: Construct, organization_id: str) -> kms.Key:
    key = kms.Key(
        scope,
        "Key",
        description="driftline central registry: readable by driftline's roles in the organisation through DynamoDB",
        enable_key_rotation=True,
        removal_policy=RemovalPolicy.RETAIN,
        pending_window=Duration.days(30),
    )
    conditions = _members(organization_id)
    conditions["StringEquals"] = conditions["StringEquals"] | {"kms:ViaService": f"dynamodb.{Aws.REGION}.amazonaws.com"}
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="MemberFunctionsDecryptThroughDynamoDB",
            principals=[iam.AnyPrincipal()],
            actions=list(KEY_ACTIONS),
            resources=["*"],
            conditions=conditions,
        )
    )
    return key


def table_policy(organization_id: str) -> iam.PolicyDocument:
    """Reads of the caller's own partition by driftline's roles in the organisation; nothing else."""
    conditions = _members(organization_id) | {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [OWN_PARTITION]}}
    return iam.PolicyDocument(
        statements=[
            iam.PolicyStatement(
                sid="MembersReadTheirOwnPartition",
                principals=[iam.AnyPrincipal()],
                actions=list(REGISTRY_READ_ACTIONS),
                resources=["*"],  # the table itself: a table policy cannot name its own ARN before it exists
                conditions=conditions,
            )
        ]
    )


def stream_policy(organization_id: str) -> iam.PolicyDocument:
    return iam.PolicyDocument(
        statements=[
            iam.PolicyStatement(
                sid="MembersReadTheStream",
                principals=[iam.AnyPrincipal()],
                actions=[a for a in REGISTRY_STREAM_READ_ACTIONS if a != "dynamodb:ListStreams"],
                resources=["*"],
                conditions=_members(organization_id),
            )
        ]
    )


def central_table_settings(scope: Construct, organization_id: str) -> dict[str, object]:
    """The ``TableV2`` properties that open a registry to the organisation (see the module's docstring)."""
    key = registry_key(scope, organization_id)
    return {
        "encryption": dynamodb.TableEncryptionV2.customer_managed_key(key),
        "resource_policy": table_policy(organization_id),
        "stream_resource_policy": stream_policy(organization_id),
    }
