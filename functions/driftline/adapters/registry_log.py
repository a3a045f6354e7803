"""Registry writes with a change log: each change is one transaction that writes the entry (conditional on the
version read) and appends a history item, so nothing about an entry's past is lost when it is overwritten.

History items live in the registry table under their own partition (``<account>#history``), which the detector's
account Query never reads. Transactions carry up to 100 items: 50 entries with their history items.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict

from driftline.adapters.registry import from_item, to_item
from driftline.domain.errors import RegistryError, VersionConflict
from driftline.domain.identity import IdentityRef
from driftline.domain.registry import RegistryEntry

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

PER_TRANSACTION = 50


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
    def __init__(self, dynamodb: DynamoDBClient, table_name: str, *, actor: str) -> None:
        self._db = dynamodb
        self._table = table_name
        self._actor = actor

    def _ops(self, account_id: str, change: Change, now: datetime) -> tuple[list[dict[str, Any]], int]:
        key = {"pk": {"S": account_id}, "sk": {"S": change.ref.key}}
        if change.expected_version is None:
            condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(sk)"}
        else:
            condition = {
                "ConditionExpression": "#v = :v",
                "ExpressionAttributeNames": {"#v": "version"},
                "ExpressionAttributeValues": {":v": {"N": str(change.expected_version)}},
            }
        version = 1 if change.expected_version is None else change.expected_version + 1
        ops: list[dict[str, Any]]
        stored: RegistryEntry | None = None
        if change.action == "put":
            assert change.entry is not None
            stored = change.entry.model_copy(update={"version": version, "updated_at": now, "updated_by": self._actor})
            ops = [{"Put": {"TableName": self._table, "Item": to_item(account_id, stored), **condition}}]
        else:
            ops = [{"Delete": {"TableName": self._table, "Key": key, **condition}}]
        record = HistoryRecord(
            at=now, by=self._actor, action=change.action, note=change.note, version=version, entry=stored
        )
        ops.append(
            {
                "Put": {
                    "TableName": self._table,
                    "Item": {
                        "pk": {"S": _history_pk(account_id)},
                        "sk": {"S": f"{change.ref.key}#{now.isoformat(timespec='microseconds')}#{version}"},
                        "record": {"S": record.model_dump_json()},
                    },
                }
            }
        )
        return ops, len(ops)

    def apply(
        self,
        account_id: str,
        changes: Sequence[Change],
        *,
        progress: Callable[[int], None] | None = None,
    ) -> list[str]:
        """Apply ``changes`` in transactions of 50; return the conflicts (refs changed by someone else meanwhile),
        which are not written. Safe to re-run: a re-run sees the new versions and has nothing left to do."""
        conflicts: list[str] = []
        for start in range(0, len(changes), PER_TRANSACTION):
            batch = changes[start : start + PER_TRANSACTION]
            conflicts.extend(self._transact(account_id, batch))
            if progress is not None:
                progress(len(batch))
        return conflicts

    def _transact(self, account_id: str, batch: Sequence[Change]) -> list[str]:
        now = datetime.now(UTC)
        ops: list[dict[str, Any]] = []
        for change in batch:
            ops.extend(self._ops(account_id, change, now)[0])
        try:
            self._db.transact_write_items(TransactItems=ops)  # type: ignore[arg-type]
            return []
        except ClientError as exc:
            reasons = exc.response.get("CancellationReasons") or []
            if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException" or not reasons:
                raise RegistryError(f"writing the registry failed: {exc}") from exc
        except BotoCoreError as exc:
            raise RegistryError(f"writing the registry failed: {exc}") from exc
        # Some items conflicted: write the rest one change at a time, so one conflict does not block 49 others.
        conflicts: list[str] = []
        for change in batch:
            try:
                self._db.transact_write_items(TransactItems=self._ops(account_id, change, now)[0])  # type: ignore[arg-type]
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                    raise RegistryError(f"writing {change.ref} failed: {exc}") from exc
                conflicts.append(change.ref.key)
        return conflicts

    def put_one(self, account_id: str, change: Change) -> None:
        """One change, with a clear VersionConflict when someone else changed the entry since it was read."""
        if self._transact(account_id, [change]):
            raise VersionConflict(
                f"{change.ref} changed since version {change.expected_version} was read: read it again and retry"
            )

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
