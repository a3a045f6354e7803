"""Registry writes with a change log: every write of an entry is conditional (a new entry must not exist, a changed
or deleted one must still be at the version read) and every change has a history item, so nothing about an entry's
past is lost when it is overwritten and a concurrent writer's work is never silently replaced.

History items live in the registry table under their own partition (``<account>#history``), which the detector's
account Query never reads. DynamoDB can only make an entry and its history item one atomic write in a transaction,
and transactions cost twice the write capacity and are capped at 100 items; instead the order makes a stop at any
point recoverable:

* a put writes the entry (conditional), then its history item. A run that stops in between leaves an entry whose
  history item is missing; its key is known from the entry (identity, ``updated_at``, ``version``), so the next
  import or revoke finds it (``complete``) and writes it, noting that it was completed;
* a delete writes its history item first, then deletes (conditional). A lost race removes the history item again; a
  run that stops in between leaves a deletion record for an entry that still exists at an earlier version (visible
  as such in ``registry history``), never a deletion without a record.

Sizes are checked before the first write: one entry too large for DynamoDB stops the whole change, not the tail
of it. Conditional writes go out on a few threads (DynamoDB has no conditional batch write); history items, which
no one else writes, go in batches of 25.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict

from driftline.adapters.dynamo import condition_failed, query_all
from driftline.adapters.dynamo_batch import MAX_ROUNDS, get_all, write_all
from driftline.adapters.dynamo_size import MAX_ITEM_BYTES, item_size
from driftline.adapters.registry import from_item, to_item
from driftline.domain.errors import RegistryError, VersionConflict
from driftline.domain.identity import IdentityRef
from driftline.domain.registry import RegistryEntry
from driftline.domain.times import iso

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BATCH = 25  # BatchWriteItem's limit
BATCH_GET = 100  # BatchGetItem's limit
WORKERS = 10  # botocore's default connection pool holds 10
COMPLETED_NOTE = "record completed by a later run: the run that wrote this version stopped before logging it"


class RegistryWrite(BaseModel):
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


@dataclass(frozen=True, slots=True, eq=False)
class _Write:
    """A change made ready: the entry as stored (None for a delete), its item and its history item."""

    change: RegistryWrite
    stored: RegistryEntry | None
    item: dict[str, Any] | None
    history: dict[str, Any]


def _history_pk(account_id: str) -> str:
    return f"{account_id}#history"


def history_sort_key(key: str, at: datetime, version: int) -> str:
    """The history item's sort key: ``<identity key>#<time, microseconds>#<version>``."""
    return f"{key}#{iso(at)}#{version}"


def _history_item(account_id: str, key: str, record: HistoryRecord) -> dict[str, Any]:
    return {
        "pk": {"S": _history_pk(account_id)},
        "sk": {"S": history_sort_key(key, record.at, record.version)},
        "record": {"S": record.model_dump_json()},
    }


def _too_large(writes: Iterable[_Write]) -> list[str]:
    """'user#x: 461,003 bytes' for every entry whose item or history item passes DynamoDB's 400 KB."""
    found = []
    for write in writes:
        size = max(item_size(write.history), item_size(write.item) if write.item is not None else 0)
        if size > MAX_ITEM_BYTES:
            found.append(f"{write.change.ref.label}: {size:,} bytes")
    return found


class RegistryLog:
    def __init__(
        self,
        dynamodb: DynamoDBClient,
        table_name: str,
        *,
        actor: str,
        sleep: Callable[[float], None] = time.sleep,
        workers: int = WORKERS,
    ) -> None:
        self._db = dynamodb
        self._table = table_name
        self._actor = actor
        self._sleep = sleep
        self._workers = workers

    def _prepare(self, account_id: str, change: RegistryWrite, now: datetime) -> _Write:
        version = (change.expected_version or 0) + 1
        stored = None
        if change.action == "put":
            if change.entry is None:
                raise RegistryError(f"a put of {change.ref} has no entry")
            stored = change.entry.model_copy(update={"version": version, "updated_at": now, "updated_by": self._actor})
        record = HistoryRecord(
            at=now, by=self._actor, action=change.action, note=change.note, version=version, entry=stored
        )
        return _Write(
            change=change,
            stored=stored,
            item=to_item(account_id, stored) if stored is not None else None,
            history=_history_item(account_id, change.ref.key, record),
        )

    def _conditional(self, account_id: str, write: _Write) -> bool:
        """One conditional write; False when the entry exists (new) or changed since it was read."""
        change = write.change
        condition: dict[str, Any] = {
            "ConditionExpression": "#v = :v",
            "ExpressionAttributeNames": {"#v": "version"},
            "ExpressionAttributeValues": {":v": {"N": str(change.expected_version)}},
        }
        if change.expected_version is None:
            condition = {"ConditionExpression": "attribute_not_exists(sk)"}
        try:
            if write.item is not None:
                self._db.put_item(TableName=self._table, Item=write.item, **condition)
            else:
                key = {"pk": {"S": account_id}, "sk": {"S": change.ref.key}}
                self._db.delete_item(TableName=self._table, Key=key, **condition)
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise RegistryError(f"writing {change.ref} failed: {exc}") from exc
        except BotoCoreError as exc:
            raise RegistryError(f"writing {change.ref} failed: {exc}") from exc
        return True

    def _conditionals(
        self, account_id: str, writes: Sequence[_Write], progress: Callable[[int], None] | None
    ) -> tuple[list[_Write], list[_Write], list[tuple[_Write, RegistryError]]]:
        """Every write attempted, on threads: (written, lost to a concurrent change, failed). One failure never
        stops the others, so the caller can log everything that was written before it reports the failure."""
        written: list[_Write] = []
        lost: list[_Write] = []
        failed: list[tuple[_Write, RegistryError]] = []
        if not writes:
            return written, lost, failed
        with ThreadPoolExecutor(max_workers=min(self._workers, len(writes))) as pool:
            futures = {pool.submit(self._conditional, account_id, w): w for w in writes}
            for future in as_completed(futures):
                try:
                    (written if future.result() else lost).append(futures[future])
                except RegistryError as exc:
                    failed.append((futures[future], exc))
                if progress is not None:
                    progress(1)
        return written, lost, failed

    def _batch(self, requests: list[dict[str, Any]]) -> None:
        """BatchWriteItem in 25s, retrying what DynamoDB hands back unprocessed."""
        for start in range(0, len(requests), BATCH):
            try:
                left = write_all(self._db, self._table, requests[start : start + BATCH], sleep=self._sleep)
            except (ClientError, BotoCoreError) as exc:
                raise RegistryError(f"writing the registry's change log failed: {exc}") from exc
            if left:
                raise RegistryError(f"{left} change-log item(s) stayed unprocessed after {MAX_ROUNDS} rounds")

    def _log(self, writes: Iterable[_Write]) -> None:
        self._batch([{"PutRequest": {"Item": w.history}} for w in writes])

    def _unlog(self, writes: Iterable[_Write]) -> None:
        self._batch([{"DeleteRequest": {"Key": {k: w.history[k] for k in ("pk", "sk")}}} for w in writes])

    def apply(
        self,
        account_id: str,
        changes: Sequence[RegistryWrite],
        *,
        progress: Callable[[int], None] | None = None,
    ) -> list[str]:
        """Write ``changes`` with their change-log items; return the conflicts (entries created or changed by
        someone else since they were read), which are not written. Nothing is written when one entry is too large
        for DynamoDB. Safe to re-run: what was written is unchanged, a missing history item is completed by
        ``complete``."""
        now = datetime.now(UTC)
        writes = [self._prepare(account_id, c, now) for c in changes]
        too_large = _too_large(writes)
        if too_large:
            raise RegistryError(
                f"{len(too_large)} entr{'y is' if len(too_large) == 1 else 'ies are'} larger than DynamoDB's "
                f"{MAX_ITEM_BYTES:,}-byte item limit; nothing was written: " + "; ".join(too_large[:10])
            )
        deletes = [w for w in writes if w.stored is None]
        puts = [w for w in writes if w.stored is not None]
        self._log(deletes)  # a deletion is recorded before it happens
        deleted, kept, delete_failed = self._conditionals(account_id, deletes, progress)
        # A deletion DynamoDB refused (or lost to a concurrent change) did not happen: its record goes. One whose
        # outcome is unknown (the connection broke) keeps its record: a record too many, never a deletion too few.
        self._unlog(kept + [w for w, exc in delete_failed if isinstance(exc.__cause__, ClientError)])
        written, lost, put_failed = self._conditionals(account_id, puts, progress)
        self._log(written)
        failed = delete_failed + put_failed
        if failed:
            raise RegistryError(
                f"{len(failed)} write(s) failed ({len(deleted) + len(written)} written and logged); the first: "
                f"{failed[0][1]}"
            )
        return sorted(w.change.ref.key for w in kept + lost)

    def put_one(self, account_id: str, change: RegistryWrite) -> None:
        """One versioned change, with a clear VersionConflict when someone else changed the entry since it was read."""
        conflicts = self.apply(account_id, [change])
        if conflicts:
            raise VersionConflict(
                f"{change.ref} changed since version {change.expected_version} was read: read it again and retry"
            )

    def complete(self, account_id: str, entries: Sequence[RegistryEntry], *, dry_run: bool = False) -> list[str]:
        """The entries whose change-log record is missing (a run stopped between the entry and its record), each
        recorded now from the entry itself unless ``dry_run``. Entries not written by driftline (no ``updated_at``)
        have no record to look for."""
        expected: dict[str, RegistryEntry] = {}
        for entry in entries:
            if entry.updated_at is None or entry.version < 1:
                continue
            for key in {entry.ref.key, entry.ref.label}:  # records written before keys were folded
                expected[history_sort_key(key, entry.updated_at, entry.version)] = entry
        found: set[str] = set()
        wanted = sorted(expected)
        for start in range(0, len(wanted), BATCH_GET):
            keys = [{"pk": {"S": _history_pk(account_id)}, "sk": {"S": sk}} for sk in wanted[start : start + BATCH_GET]]
            try:
                items, left = get_all(self._db, self._table, keys, sleep=self._sleep, projection="sk")
            except (ClientError, BotoCoreError) as exc:
                raise RegistryError(f"reading the registry's change log failed: {exc}") from exc
            if left:
                raise RegistryError(f"reading the registry's change log: {left} keys still unprocessed, try again")
            found.update(i["sk"]["S"] for i in items)
        logged = {expected[sk].ref for sk in found}
        missing = {e.ref: e for e in expected.values() if e.ref not in logged}
        if missing and not dry_run:
            self._batch([{"PutRequest": {"Item": self._completion(account_id, e)}} for e in missing.values()])
        return sorted(ref.key for ref in missing)

    def _completion(self, account_id: str, entry: RegistryEntry) -> dict[str, Any]:
        assert entry.updated_at is not None
        record = HistoryRecord(
            at=entry.updated_at,
            by=entry.updated_by or "unknown",
            action="put",
            note=f"{COMPLETED_NOTE} ({self._actor}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC)",
            version=entry.version,
            entry=entry,
        )
        return _history_item(account_id, entry.ref.key, record)

    def history(self, account_id: str, ref: IdentityRef) -> list[HistoryRecord]:
        items = query_all(
            self._db,
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :ref)",
            ExpressionAttributeValues={":pk": {"S": _history_pk(account_id)}, ":ref": {"S": f"{ref.key}#"}},
        )
        records = [HistoryRecord.model_validate_json(i["record"]["S"]) for i in items]
        return sorted(records, key=lambda r: (r.at, r.version))


def current(dynamodb: DynamoDBClient, table: str, account_id: str, ref: IdentityRef) -> RegistryEntry | None:
    item = dynamodb.get_item(
        TableName=table, Key={"pk": {"S": account_id}, "sk": {"S": ref.key}}, ConsistentRead=True
    ).get("Item")
    return from_item(item) if item else None
