"""The key cache in the detector's state table: one item per user (``pk`` = ``keyset#<account>``, ``sk`` = user), and
the other-credentials cache of revoked and expired users (``pk`` = ``others#<account>``, ``sk`` = user, folded).

Only users whose key set changed are written, so a quiet reconcile writes nothing. Unprocessed batch items are
retried (botocore retries throttling per call; DynamoDB may still hand items back as unprocessed).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from driftline.adapters.dynamo import query_all
from driftline.adapters.dynamo_batch import MAX_ROUNDS, write_all
from driftline.domain.errors import StateStoreError
from driftline.domain.observed import OtherCredential
from driftline.service.ports import KnownKey, KnownOthers

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# The AWS actions this module calls, by what they act on: stacks/constants.py grants them from here, and
# tests/infrastructure/test_code_calls_are_granted.py checks them against the calls in this file.
PERMISSIONS: Final[dict[str, tuple[str, ...]]] = {"state": ("dynamodb:Query", "dynamodb:BatchWriteItem")}

BATCH = 25  # BatchWriteItem's limit


class DynamoKeyCache:
    """Implements ``ports.KeyCache`` on the state table."""

    def __init__(
        self, dynamodb: DynamoDBClient, table_name: str, *, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self._db = dynamodb
        self._table = table_name
        self._sleep = sleep

    @staticmethod
    def _pk(account_id: str) -> str:
        return f"keyset#{account_id}"

    def _items(self, pk: str) -> list[dict[str, Any]]:
        try:
            return list(
                query_all(
                    self._db,
                    TableName=self._table,
                    KeyConditionExpression="pk = :pk",
                    ExpressionAttributeValues={":pk": {"S": pk}},
                )
            )
        except (ClientError, BotoCoreError) as exc:
            raise StateStoreError(f"loading the key cache from {self._table} failed: {exc}") from exc

    def load(self, account_id: str) -> dict[str, list[KnownKey]]:
        return {
            item["sk"]["S"]: [
                KnownKey(k["M"]["id"]["S"], datetime.fromisoformat(k["M"]["created"]["S"]), k["M"]["status"]["S"])
                for k in item.get("keys", {}).get("L", [])
            ]
            for item in self._items(self._pk(account_id))
        }

    def load_others(self, account_id: str) -> dict[str, KnownOthers]:
        found: dict[str, KnownOthers] = {}
        for item in self._items(f"others#{account_id}"):
            try:
                credentials = tuple(
                    OtherCredential.model_validate_json(c["S"]) for c in item.get("credentials", {}).get("L", [])
                )
                found[item["sk"]["S"]] = KnownOthers(credentials, datetime.fromisoformat(item["read_at"]["S"]))
            except (KeyError, ValueError):
                continue  # an unreadable cache item is a cache miss: the user is read again
        return found

    def save_others(self, account_id: str, found: Mapping[str, KnownOthers]) -> None:
        pk = {"S": f"others#{account_id}"}
        requests: list[dict[str, Any]] = [
            {
                "PutRequest": {
                    "Item": {
                        "pk": pk,
                        "sk": {"S": user},
                        "credentials": {"L": [{"S": c.model_dump_json()} for c in known.credentials]},
                        "read_at": {"S": known.read_at.isoformat()},
                    }
                }
            }
            for user, known in found.items()
        ]
        for start in range(0, len(requests), BATCH):
            self._write(requests[start : start + BATCH])

    def save(self, account_id: str, changed: Mapping[str, list[KnownKey]], removed: Iterable[str]) -> None:
        pk = {"S": self._pk(account_id)}
        requests: list[dict[str, Any]] = [
            {
                "PutRequest": {
                    "Item": {
                        "pk": pk,
                        "sk": {"S": user},
                        "keys": {"L": [_key_item(k) for k in keys]},
                    }
                }
            }
            for user, keys in changed.items()
        ]
        requests += [{"DeleteRequest": {"Key": {"pk": pk, "sk": {"S": user}}}} for user in removed]
        for start in range(0, len(requests), BATCH):
            self._write(requests[start : start + BATCH])

    def _write(self, batch: list[dict[str, Any]]) -> None:
        try:
            left = write_all(self._db, self._table, batch, sleep=self._sleep)
        except (ClientError, BotoCoreError) as exc:
            raise StateStoreError(f"writing the key cache to {self._table} failed: {exc}") from exc
        if left:
            raise StateStoreError(f"{left} key cache item(s) stayed unprocessed after {MAX_ROUNDS} rounds")


def _key_item(key: KnownKey) -> dict[str, Any]:
    return {
        "M": {
            "id": {"S": key.access_key_id},
            "created": {"S": key.created_at.isoformat()},
            "status": {"S": key.status},
        }
    }
