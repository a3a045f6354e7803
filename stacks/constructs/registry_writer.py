"""The registry writer policy: what a person or pipeline needs to run ``driftline registry …`` on this stack's
registry, as a customer managed policy to attach to the operators' role (never to a function).

docs/registry-writer-policy.json is the same policy with placeholders, for accounts that manage IAM elsewhere; the
tests check that both hold exactly the actions the commands call (stacks.constants).
"""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from constructs import Construct

from .. import nag
from ..constants import REGISTRY_WRITER_IAM_ACTIONS, REGISTRY_WRITER_TABLE_ACTIONS


class RegistryWriterPolicy(Construct):
    """``policy`` grants the registry commands on ``table_arn``; attached to nothing."""

    def __init__(self, scope: Construct, construct_id: str, *, table_arn: str) -> None:
        super().__init__(scope, construct_id)
        self.policy = iam.ManagedPolicy(
            self,
            "Resource",
            description="driftline registry writer: run `driftline registry` (import, adopt, revoke, restore, ...)",
            statements=[
                iam.PolicyStatement(
                    sid="ReadAndWriteTheRegistry", actions=list(REGISTRY_WRITER_TABLE_ACTIONS), resources=[table_arn]
                ),
                iam.PolicyStatement(sid="ReadIamForAdopt", actions=list(REGISTRY_WRITER_IAM_ACTIONS), resources=["*"]),
            ],
        )
        nag.acknowledge(
            self.policy,
            "AwsSolutions-IAM5[Resource::*]",
            "`driftline registry adopt` reads the whole account's IAM (GetAccountAuthorizationDetails and the "
            "credential report have no resource-level permissions; ListAccessKeys is asked for every user). "
            "Read-only.",
        )
