"""The revocation ledger in the state table: ``pk`` = ``ledger#<account>``, ``sk`` = ``<identity>#<requested_at>``.

Every write is conditional on the version read (or on the record not existing yet), so two evaluations racing on
the same record never lose an update: the loser reads again and re-applies its change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from driftline.adapters.dynamo import condition_failed, query_all
from driftline.domain.errors import LedgerItemUnreadable, StateStoreError, VersionConflict
from driftline.domain.ledger import LedgerRecord, bounded
from driftline.domain.times import iso

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# The AWS actions this module calls, by what they act on: stacks/constants.py grants them from here, and
# tests/infrastructure/test_code_calls_are_granted.py checks them against the calls in this file.
PERMISSIONS: Final[dict[str, tuple[str, ...]]] = {"state": ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query")}

MAX_ATTEMPTS = 6


def record_key(account_id: str, identity: str, requested_at_iso: str) -> dict[str, Any]:
    return {"pk": {"S": f"ledger#{account_id}"}, "sk": {"S": f"{identity}#{requested_at_iso}"}}


def _record(item: dict[str, Any]) -> LedgerRecord:
    """The record an item holds; LedgerItemUnreadable naming the item when it is not a valid record."""
    try:
        return LedgerRecord.model_validate_json(item["record"]["S"])
    except (ValidationError, KeyError, TypeError) as exc:
        sort_key = item.get("sk", {}).get("S", "?") if isinstance(item.get("sk"), dict) else "?"
        detail = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else f"no record attribute ({exc})"
        raise LedgerItemUnreadable(f"ledger item {sort_key} is not a valid record: {detail}") from exc


class DynamoLedger:
    """The ledger on the state table. An unreadable item (hand-edited, truncated, written by another version) is
    skipped by ``records`` and listed in ``problems``, so one bad item never stops the account; ``update`` refuses
    to overwrite it (the evidence it holds is not ours to lose)."""

    def __init__(self, dynamodb: DynamoDBClient, table_name: str) -> None:
        self._db = dynamodb
        self._table = table_name
        self.problems: list[str] = []

    def _query(self, values: dict[str, Any], condition: str) -> Iterator[LedgerRecord]:
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "ConsistentRead": True,
        }
        try:
            for item in query_all(self._db, **kwargs):
                try:
                    yield _record(item)
                except LedgerItemUnreadable as exc:
                    self.problems.append(str(exc))
        except (ClientError, BotoCoreError) as exc:
            raise StateStoreError(f"reading the revocation ledger from {self._table} failed: {exc}") from exc

    def records(self, account_id: str, identities: Iterable[str] | None = None) -> list[LedgerRecord]:
        """Every ledger record of the account, or of the given identity keys (``user#alice``…)."""
        pk = {":pk": {"S": f"ledger#{account_id}"}}
        if identities is None:
            return list(self._query(pk, "pk = :pk"))
        found: list[LedgerRecord] = []
        for identity in sorted(set(identities)):
            found.extend(self._query(pk | {":id": {"S": f"{identity}#"}}, "pk = :pk AND begins_with(sk, :id)"))
        return found

    def get(self, account_id: str, identity: str, requested_at_iso: str) -> LedgerRecord | None:
        try:
            item = self._db.get_item(
                TableName=self._table, Key=record_key(account_id, identity, requested_at_iso), ConsistentRead=True
            ).get("Item")
        except (ClientError, BotoCoreError) as exc:
            raise StateStoreError(f"reading ledger record {identity} failed: {exc}") from exc
        return _record(item) if item else None

    def put(self, record: LedgerRecord, expected_version: int | None) -> LedgerRecord:
        """Store ``record`` as the next version; VersionConflict when the stored version is not the one read."""
        stored = bounded(record).model_copy(update={"version": 1 if expected_version is None else expected_version + 1})
        item = record_key(record.account_id, record.identity, iso(record.requested_at)) | {
            "state": {"S": stored.state.value},
            "version": {"N": str(stored.version)},
            "record": {"S": stored.model_dump_json()},
        }
        condition: dict[str, Any]
        if expected_version is None:
            condition = {"ConditionExpression": "attribute_not_exists(sk)"}
        else:
            condition = {
                "ConditionExpression": "#v = :v",
                "ExpressionAttributeNames": {"#v": "version"},
                "ExpressionAttributeValues": {":v": {"N": str(expected_version)}},
            }
        try:
            self._db.put_item(TableName=self._table, Item=item, **condition)
        except ClientError as exc:
            if condition_failed(exc):
                raise VersionConflict(f"ledger record {record.identity} changed concurrently") from exc
            raise StateStoreError(f"writing ledger record {record.identity} failed: {exc}") from exc
        except BotoCoreError as exc:
            raise StateStoreError(f"writing ledger record {record.identity} failed: {exc}") from exc
        return stored

    def update(
        self,
        account_id: str,
        identity: str,
        requested_at_iso: str,
        change: Callable[[LedgerRecord | None], LedgerRecord | None],
    ) -> LedgerRecord | None:
        """Read, apply ``change``, write conditionally; on a lost race read again and re-apply. Returns the stored
        record, or None when ``change`` had nothing to write."""
        for _ in range(MAX_ATTEMPTS):
            current = self.get(account_id, identity, requested_at_iso)
            new = change(current)
            if new is None:
                return None
            try:
                return self.put(new, None if current is None else current.version)
            except VersionConflict:
                continue
        raise StateStoreError(f"ledger record {identity} kept changing under {MAX_ATTEMPTS} attempts to update it")
