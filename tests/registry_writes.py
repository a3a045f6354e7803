"""A raw registry write for tests: what *another* writer (a script, another tool, a racing operator) does to the
table, conditional on the version but without driftline's change log. driftline itself writes only through
``driftline.adapters.registry_log.RegistryLog``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from driftline.adapters.dynamo import condition_failed
from driftline.adapters.registry import to_item
from driftline.domain.errors import RegistryError, VersionConflict
from driftline.domain.registry import RegistryEntry

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class RawRegistryWriter:
    """Versioned writes of entries, with no change log."""

    def __init__(self, dynamodb: DynamoDBClient, table_name: str) -> None:
        self._db = dynamodb
        self.table_name = table_name

    def put(self, account_id: str, entry: RegistryEntry, *, expected_version: int | None) -> RegistryEntry:
        """Write ``entry`` as version ``expected_version + 1``; ``None`` means the entry must not exist yet."""
        new_version = 1 if expected_version is None else expected_version + 1
        stored = entry.model_copy(update={"version": new_version})
        if expected_version is None:
            condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(sk)"}
        else:
            condition = {
                "ConditionExpression": "#v = :expected",
                "ExpressionAttributeNames": {"#v": "version"},
                "ExpressionAttributeValues": {":expected": {"N": str(expected_version)}},
            }
        try:
            self._db.put_item(TableName=self.table_name, Item=to_item(account_id, stored), **condition)
        except ClientError as exc:
            if condition_failed(exc):
                raise VersionConflict(
                    f"{entry.ref} changed since version {expected_version} was read; read it again and retry"
                ) from exc
            raise RegistryError(f"writing {entry.ref} to {self.table_name} failed: {exc}") from exc
        return stored
