"""The registry in DynamoDB: ``pk`` = account id, ``sk`` = ``kind#name``, so one Query returns an account's entries.

Reads are for everyone. Writes go through ``adapters/registry_log.RegistryLog`` only (the CLI and the demo): the
detector's roles cannot write the table, and its code never constructs a writer.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from driftline.adapters.dynamo import query_all
from driftline.adapters.dynamo_batch import get_all
from driftline.domain.errors import RegistryError
from driftline.domain.identity import IdentityRef
from driftline.domain.registry import RegistryEntry
from driftline.domain.registry_load import RegistryLoad

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# The AWS actions this module calls, by what they act on: stacks/constants.py grants them from here, and
# tests/infrastructure/test_code_calls_are_granted.py checks them against the calls in this file.
PERMISSIONS: Final[dict[str, tuple[str, ...]]] = {
    "registry": ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query")
}

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
    """The entry an item holds. The sort key is the identity: an item whose body describes another identity (sort
    key ``user#zed``, body ``bob``) is rejected, never judged as either."""
    data = {k: _plain(_DES.deserialize(v)) for k, v in item.items() if k not in KEY_FIELDS}
    entry = RegistryEntry.model_validate(data)
    sort_key = item.get("sk", {}).get("S") if isinstance(item.get("sk"), Mapping) else None
    if sort_key is not None and not _names(entry, sort_key):
        raise ValueError(f"its sort key {sort_key} and its body ({entry.ref.label}) name different identities")
    return entry


def _names(entry: RegistryEntry, sort_key: str) -> bool:
    """Whether ``sort_key`` is the entry's key: canonical (lower-case name) or as written before keys were folded."""
    return sort_key in (entry.ref.key, entry.ref.label)


def _one_per_identity(entries: list[RegistryEntry], problems: list[str]) -> list[RegistryEntry]:
    """Items whose names differ only in case describe one IAM identity (IAM names ignore case). Each such group is a
    problem naming every item; the revoked one (earliest revocation) is judged, so a duplicate never hides a
    revocation, else the first."""
    groups: dict[IdentityRef, list[RegistryEntry]] = {}
    for entry in entries:
        groups.setdefault(entry.ref, []).append(entry)
    kept: list[RegistryEntry] = []
    for group in groups.values():
        if len(group) > 1:
            labels = ", ".join(e.ref.label for e in group)
            problems.append(f"registry items {labels} are the same IAM identity (IAM names ignore case)")
            revoked = sorted((e for e in group if e.revoked_at is not None), key=lambda e: e.revoked_at or 0)
            group = revoked or group
        kept.append(group[0])
    return kept


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
        unreadable: set[IdentityRef] = set()
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": account_id}},
            "ConsistentRead": True,
        }
        try:
            for item in query_all(self._db, **kwargs):
                try:
                    entries.append(from_item(item))
                except (ValidationError, ValueError, TypeError, KeyError) as exc:
                    sort_key = _sort_key(item)
                    problems.append(f"registry item {sort_key}: {_first_error(exc)}")
                    unreadable.update(_ref_of(sort_key))
        except (ClientError, BotoCoreError) as exc:
            raise RegistryError(f"reading registry table {self.table_name} failed: {_describe(exc)}") from exc
        return RegistryLoad(
            account_id=account_id,
            entries=_one_per_identity(entries, problems),
            problems=problems,
            unreadable=frozenset(unreadable),
        )

    def get_many(self, account_id: str, refs: Iterable[IdentityRef]) -> dict[IdentityRef, RegistryEntry]:
        """The entries of ``refs`` that exist, in one BatchGetItem per 100 (consistent reads, like ``get``).

        Keys DynamoDB hands back unprocessed (throttling, size) are asked again with backoff; if some are still
        unprocessed after ``MAX_BATCH_ROUNDS``, that is an error, never a silent "not registered"."""
        # The canonical key, and the name as spelled where it differs (items written before keys were folded).
        wanted = sorted({form for ref in refs for form in (ref.key, ref.label)})
        found: dict[IdentityRef, RegistryEntry] = {}
        for start in range(0, len(wanted), BATCH_GET):
            keys = [{"pk": {"S": account_id}, "sk": {"S": sk}} for sk in wanted[start : start + BATCH_GET]]
            for item in self._batch_get(keys):
                entry = from_item(item)
                if entry.ref not in found or entry.is_revoked:  # two spellings: the revocation is never hidden
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
        return self.get_many(account_id, [ref]).get(ref)


def _sort_key(item: Mapping[str, Any]) -> str:
    key = item.get("sk")
    value = key.get("S") if isinstance(key, Mapping) else None
    return value if isinstance(value, str) else "?"


def _ref_of(sort_key: str) -> list[IdentityRef]:
    """The identity a sort key names, if it names one."""
    try:
        return [IdentityRef.parse(sort_key)]
    except ValueError:
        return []


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "entry"
        return f"{where}: {err['msg']}"
    return str(exc)
