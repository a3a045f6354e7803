"""The registry in DynamoDB: ``pk`` = account id, ``sk`` = ``kind#name``, so one Query returns an account's entries.

Reads are for everyone; ``RegistryWriter`` is for the CLI and pipelines only (the detector's roles cannot write the
table, and its code never constructs a writer). Writes are versioned: each write states the version it replaces.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from driftline.adapters.dynamo_batch import get_all
from driftline.domain.errors import RegistryError, VersionConflict
from driftline.domain.identity import IdentityRef
from driftline.domain.registry import RegistryEntry
from driftline.domain.registry_load import RegistryLoad

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_SER = TypeSerializer()
_DES = TypeDeserializer()
KEY_FIELDS = ("pk", "sk")
BATCH_GET = 100  # BatchGetItem's limit
MAX_BATCH_ROUNDS = 6


def to_item(account_id: str, entry: RegistryEntry) -> dict[str, Any]:
    data = entry.model_dump(mode="json", exclude_none=True)
    data.update(pk=account_id, sk=entry.ref.key)
    return {k: _SER.serialize(v) for k, v in data.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def from_item(item: Mapping[str, Any]) -> RegistryEntry:
    data = {k: _plain(_DES.deserialize(v)) for k, v in item.items() if k not in KEY_FIELDS}
    return RegistryEntry.model_validate(data)


def _describe(exc: ClientError | BotoCoreError) -> str:
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        return f"{err.get('Code', 'Unknown')}: {err.get('Message', '')}"
    return str(exc)


class DynamoRegistry:
    """Reads the registry table. Implements ``ports.RegistryReader``."""

    def __init__(
        self, dynamodb: DynamoDBClient, table_name: str, *, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self._db = dynamodb
        self.table_name = table_name
        self._sleep = sleep

    def load(self, account_id: str) -> RegistryLoad:
        """Every entry of the account (all Query pages). Invalid items are reported in ``problems``, never dropped
        silently: the caller logs them and counts them, and the identity they meant to describe stays judged."""
        entries: list[RegistryEntry] = []
        problems: list[str] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": account_id}},
            "ConsistentRead": True,
        }
        try:
            while True:
                page = self._db.query(**kwargs)
                for item in page.get("Items", []):
                    try:
                        entries.append(from_item(item))
                    except (ValidationError, ValueError) as exc:
                        problems.append(f"registry item {item.get('sk', {}).get('S', '?')}: {_first_error(exc)}")
                if "LastEvaluatedKey" not in page:
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        except (ClientError, BotoCoreError) as exc:
            raise RegistryError(f"reading registry table {self.table_name} failed: {_describe(exc)}") from exc
        return RegistryLoad(account_id=account_id, entries=entries, problems=problems)

    def get_many(self, account_id: str, refs: Iterable[IdentityRef]) -> dict[IdentityRef, RegistryEntry]:
        """The entries of ``refs`` that exist, in one BatchGetItem per 100 (consistent reads, like ``get``).

        Keys DynamoDB hands back unprocessed (throttling, size) are asked again with backoff; if some are still
        unprocessed after ``MAX_BATCH_ROUNDS``, that is an error, never a silent "not registered"."""
        wanted = sorted({ref.key for ref in refs})
        found: dict[IdentityRef, RegistryEntry] = {}
        for start in range(0, len(wanted), BATCH_GET):
            keys = [{"pk": {"S": account_id}, "sk": {"S": sk}} for sk in wanted[start : start + BATCH_GET]]
            for item in self._batch_get(keys):
                entry = from_item(item)
                found[entry.ref] = entry
        return found

    def _batch_get(self, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
        try:
            items, left = get_all(self._db, self.table_name, keys, sleep=self._sleep, rounds=MAX_BATCH_ROUNDS)
        except (ClientError, BotoCoreError) as exc:
            raise RegistryError(f"reading entries from {self.table_name} failed: {_describe(exc)}") from exc
        if left:
            raise RegistryError(f"reading entries from {self.table_name}: {left} keys still unprocessed, try again")
        return items

    def get(self, account_id: str, ref: IdentityRef) -> RegistryEntry | None:
        try:
            item = self._db.get_item(
                TableName=self.table_name,
                Key={"pk": {"S": account_id}, "sk": {"S": ref.key}},
                ConsistentRead=True,
            ).get("Item")
        except (ClientError, BotoCoreError) as exc:
            raise RegistryError(f"reading {ref} from {self.table_name} failed: {_describe(exc)}") from exc
        return from_item(item) if item else None


class RegistryWriter:
    """Versioned writes for people and pipelines (the CLI). Not used by any Lambda function."""

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
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise VersionConflict(
                    f"{entry.ref} changed since version {expected_version} was read; read it again and retry"
                ) from exc
            raise RegistryError(f"writing {entry.ref} to {self.table_name} failed: {_describe(exc)}") from exc
        return stored


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "entry"
        return f"{where}: {err['msg']}"
    return str(exc)
