"""The table settings every driftline table shares: durable, recoverable, encrypted, never deleted by a stack update."""

from __future__ import annotations

from typing import Any

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from ..constants import PARTITION_KEY, SORT_KEY


def durable_table(scope: Construct, construct_id: str, **overrides: Any) -> dynamodb.TableV2:
    """An on-demand ``TableV2`` keyed ``pk``/``sk`` (both strings) with PITR, deletion protection and RETAIN,
    encrypted with the AWS managed key unless ``overrides`` gives another ``encryption``.

    ``overrides`` adds table-specific properties such as a stream or a TTL attribute.
    """
    overrides.setdefault("encryption", dynamodb.TableEncryptionV2.aws_managed_key())
    return dynamodb.TableV2(
        scope,
        construct_id,
        partition_key=dynamodb.Attribute(name=PARTITION_KEY, type=dynamodb.AttributeType.STRING),
        sort_key=dynamodb.Attribute(name=SORT_KEY, type=dynamodb.AttributeType.STRING),
        billing=dynamodb.Billing.on_demand(),
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        deletion_protection=True,
        removal_policy=RemovalPolicy.RETAIN,
        **overrides,
    )
