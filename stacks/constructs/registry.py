"""The registry: the authoritative list of IAM identities an account is allowed to have.

Items are keyed by account id (``pk``) and ``kind#name`` (``sk``). Its stream (new and old images) feeds the
registry-change function. Operators write it (CLI); the detection functions only read it.

The stack creates the table, or uses an existing one given by ARN (``driftline:registryTableArn`` and
``driftline:registryStreamArn``), for example a central registry in another account that grants the member
accounts' driftline roles read access through its resource policy (docs/DEPLOYMENT.md).
"""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from ..config import DriftlineConfig
from .central_registry import central_table_settings
from .tables import durable_table


class RegistryTable(Construct):
    """``table`` is the ``TableV2`` (created) or an ``ITableV2`` reference (existing); ``created`` tells which."""

    def __init__(self, scope: Construct, construct_id: str, *, config: DriftlineConfig) -> None:
        super().__init__(scope, construct_id)
        self.table: dynamodb.ITableV2
        self.stream_arn: str | None
        if config.registry_table_arn:
            self.created = False
            self.table = dynamodb.TableV2.from_table_attributes(
                self,
                "Existing",
                table_arn=config.registry_table_arn,
                table_stream_arn=config.registry_stream_arn,
            )
            # The ARN, not the name: DynamoDB resolves a bare table name in the caller's own account.
            self.reference = config.registry_table_arn
            self.stream_arn = config.registry_stream_arn  # None: the central account forwards changes as events
        else:
            self.created = True
            central = central_table_settings(self, config.organization_id) if config.organization_id else {}
            table = durable_table(self, "Resource", dynamo_stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES, **central)
            self.table = table
            self.reference = table.table_name
            stream_arn = table.table_stream_arn
            assert stream_arn is not None  # the table has a stream
            self.stream_arn = stream_arn

    @property
    def table_arn(self) -> str:
        return self.table.table_arn
