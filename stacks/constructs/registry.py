"""The registry: the authoritative list of IAM identities an account is allowed to have.

Items are keyed by account id (``pk``) and ``kind#name`` (``sk``). Its stream (new and old images) lets a later
component react to registry edits. Operators write it (CLI); the detection functions only read it.
"""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from stacks.constructs.tables import durable_table


class RegistryTable(Construct):
    """The registry table; ``table`` is the ``TableV2``."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.table = durable_table(self, "Resource", dynamo_stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES)
