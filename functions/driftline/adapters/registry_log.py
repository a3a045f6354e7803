"""Registry writes with a change log: each change writes the entry (conditional on the version read, where there is
one) and appends a history item, so nothing about an entry's past is lost when it is overwritten.

History items live in the registry table under their own partition (``<account>#history``), which the detector's
account Query never reads. An entry and its history item are two writes: the history item follows the entry.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict

from driftline.adapters.dynamo_batch import MAX_ROUNDS, write_all
from driftline.adapters.registry import from_item, to_item
from driftline.domain.errors import RegistryError, VersionConflict
from driftline.domain.identity import IdentityRef
from driftline.domain.registry import RegistryEntry

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BATCH = 25  # BatchWriteItem's limit


class Change(BaseModel):
    """One intended registry change: write ``entry`` over version ``expected_version`` (None: must not exist), or
    delete the entry at ``expected_version``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    action: Literal["put", "delete"]
    ref: IdentityRef
    entry: RegistryEntry | None = None
    expected_version: int | None = None
    note: str = ""


class HistoryRecord(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    at: datetime
    by: str
    action: str
    note: str = ""
    version: int
    entry: RegistryEntry | None = None


def _history_pk(account_id: str) -> str:
    return f"{account_id}#history"


class RegistryLog:
    def __init__(
        self, dynamodb: DynamoDBClient, table_name: str, *, actor: str, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self._db = dynamodb
        self._table = table_name
        self._actor = actor
        self._sleep = sleep

    def _stored(self, change: Change, now: datetime) -> RegistryEntry | None:
        if change.action == "delete":
            return None
        assert change.entry is not None
        version = 1 if change.expected_version is None else change.expected_version + 1
        return change.entry.model_copy(update={"version": version, "updated_at": now, "updated_by": self._actor})

    def _history_item(
        self, account_id: str, change: Change, stored: RegistryEntry | None, now: datetime
    ) -> dict[str, Any]:
        version = (change.expected_version or 0) + 1
        record = HistoryRecord(
            at=now, by=self._actor, action=change.action, note=change.note, version=version, entry=stored
        )
        return {
            "pk": {"S": _history_pk(account_id)},
            "sk": {"S": f"{change.ref.key}#{now.isoformat(timespec='microseconds')}#{version}"},
            "record": {"S": record.model_dump_json()},
        }

    def _conditional(self, account_id: str, change: Change, stored: RegistryEntry | None) -> bool:
        """One versioned write; False when the entry changed since it was read."""
        condition: dict[str, Any] = {
            "ConditionExpression": "#v = :v",
            "ExpressionAttributeNames": {"#v": "version"},
            "ExpressionAttributeValues": {":v": {"N": str(change.expected_version)}},
        }
        if change.expected_version is None:
            condition = {"ConditionExpression": "attribute_not_exists(sk)"}
        try:
            if stored is not None:
                self._db.put_item(TableName=self._table, Item=to_item(account_id, stored), **condition)
            else:
                key = {"pk": {"S": account_id}, "sk": {"S": change.ref.key}}
                self._db.delete_item(TableName=self._table, Key=key, **condition)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise RegistryError(f"writing {change.ref} failed: {exc}") from exc
        except BotoCoreError as exc:
            raise RegistryError(f"writing {change.ref} failed: {exc}") from exc
        return True

    def _batch(self, items: list[dict[str, Any]]) -> None:
        """BatchWriteItem puts in 25s, retrying what DynamoDB hands back unprocessed."""
        for start in range(0, len(items), BATCH):
            requests = [{"PutRequest": {"Item": i}} for i in items[start : start + BATCH]]
            try:
                left = write_all(self._db, self._table, requests, sleep=self._sleep)
            except (ClientError, BotoCoreError) as exc:
                raise RegistryError(f"writing the registry failed: {exc}") from exc
            if left:
                raise RegistryError(f"{left} registry item(s) stayed unprocessed after {MAX_ROUNDS} rounds")

    def apply(
        self,
        account_id: str,
        changes: Sequence[Change],
        *,
        progress: Callable[[int], None] | None = None,
    ) -> list[str]:
        """Write ``changes`` with their change-log items; return the conflicts (entries changed by someone else since
        they were read), which are not written. New entries go in batches (BatchWriteItem cannot be conditional);
        changes and deletions of existing entries are conditional on the version read. Safe to re-run."""
        now = datetime.now(UTC)
        conflicts: list[str] = []
        history: list[dict[str, Any]] = []
        fresh = [c for c in changes if c.action == "put" and c.expected_version is None]
        for start in range(0, len(fresh), BATCH * 4):
            chunk = fresh[start : start + BATCH * 4]
            stored = [self._stored(c, now) for c in chunk]
            self._batch([to_item(account_id, e) for e in stored if e is not None])
            history += [self._history_item(account_id, c, e, now) for c, e in zip(chunk, stored, strict=True)]
            if progress is not None:
                progress(len(chunk))
        for change in changes:
            if change.action == "put" and change.expected_version is None:
                continue
            entry = self._stored(change, now)
            if self._conditional(account_id, change, entry):
                history.append(self._history_item(account_id, change, entry, now))
            else:
                conflicts.append(change.ref.key)
            if progress is not None:
                progress(1)
        self._batch(history)
        return conflicts

    def put_one(self, account_id: str, change: Change) -> None:
        """One versioned change, with a clear VersionConflict when someone else changed the entry since it was read."""
        now = datetime.now(UTC)
        entry = self._stored(change, now)
        if not self._conditional(account_id, change, entry):
            raise VersionConflict(
                f"{change.ref} changed since version {change.expected_version} was read: read it again and retry"
            )
        self._batch([self._history_item(account_id, change, entry, now)])

    def history(self, account_id: str, ref: IdentityRef) -> list[HistoryRecord]:
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :ref)",
            "ExpressionAttributeValues": {":pk": {"S": _history_pk(account_id)}, ":ref": {"S": f"{ref.key}#"}},
        }
        records: list[HistoryRecord] = []
        while True:
            page = self._db.query(**kwargs)
            records.extend(HistoryRecord.model_validate_json(i["record"]["S"]) for i in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return sorted(records, key=lambda r: (r.at, r.version))
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def current(dynamodb: DynamoDBClient, table: str, account_id: str, ref: IdentityRef) -> RegistryEntry | None:
    item = dynamodb.get_item(
        TableName=table, Key={"pk": {"S": account_id}, "sk": {"S": ref.key}}, ConsistentRead=True
    ).get("Item")
    return from_item(item) if item else None
